//! ACM issuing, renewal and the certificate authority, through the control plane's
//! own entry points (JSON and REST-XML bodies as the SDKs send them).

use std::sync::Arc;

use fulmar_model::elbv2::Listener;
use fulmar_store::MemoryStore;
use serde_json::{json, Value};

use super::{ca, x509};
use crate::{Control, Service, Settings};

const NS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";
const DAY_MS: i64 = 86_400_000;

fn control() -> Control {
    let settings = Settings {
        account_id: "000000000000".into(),
        address_pool: "127.10.0.0/16".parse().unwrap(),
        cross_vpc_security_groups: false,
    };
    Control::open(Arc::new(MemoryStore::new()), settings).unwrap().0
}

fn acm(control: &Control, op: &str, body: Value) -> (u16, Value) {
    let target = format!("CertificateManager.{op}");
    let body = body.to_string();
    let reply = match control.handle_json_read("acm", "us-east-1", Some(&target), body.as_bytes()) {
        Some(reply) => reply,
        None => control.handle_json("acm", "us-east-1", Some(&target), body.as_bytes()),
    };
    (reply.status, serde_json::from_str(&reply.body).unwrap())
}

fn describe(control: &Control, arn: &str) -> Value {
    let (status, out) = acm(control, "DescribeCertificate", json!({ "CertificateArn": arn }));
    assert_eq!(status, 200, "{out}");
    out["Certificate"].clone()
}

fn route53(control: &Control, path: &str, body: String) -> String {
    let reply = control.handle_rest(Service::Route53, "us-east-1", "POST", path, None, body.as_bytes());
    assert!(reply.status < 300, "{}", reply.body);
    reply.body
}

/// A public zone for `domain` holding the certificate's validation CNAME.
fn publish_validation(control: &Control, domain: &str, cert: &Value) -> String {
    let body = format!(
        "<CreateHostedZoneRequest xmlns=\"{NS}\"><Name>{domain}</Name><CallerReference>{domain}</CallerReference></CreateHostedZoneRequest>"
    );
    let reply = route53(control, "/2013-04-01/hostedzone", body);
    let zone = reply
        .split("<Id>/hostedzone/")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    change_validation(control, &zone, "CREATE", cert);
    zone
}

/// Create or delete every validation record of a certificate.
fn change_validation(control: &Control, zone: &str, action: &str, cert: &Value) {
    let mut changes = String::new();
    let mut seen = Vec::new();
    for option in cert["DomainValidationOptions"].as_array().unwrap() {
        let rr = &option["ResourceRecord"];
        if seen.contains(rr) {
            continue;
        }
        seen.push(rr.clone());
        changes.push_str(&format!(
            "<Change><Action>{action}</Action><ResourceRecordSet><Name>{}</Name><Type>CNAME</Type><TTL>300</TTL>\
             <ResourceRecords><ResourceRecord><Value>{}</Value></ResourceRecord></ResourceRecords>\
             </ResourceRecordSet></Change>",
            rr["Name"].as_str().unwrap(),
            rr["Value"].as_str().unwrap()
        ));
    }
    let body = format!(
        "<ChangeResourceRecordSetsRequest xmlns=\"{NS}\"><ChangeBatch><Changes>{changes}</Changes></ChangeBatch>\
         </ChangeResourceRecordSetsRequest>"
    );
    route53(control, &format!("/2013-04-01/hostedzone/{zone}/rrset/"), body);
}

/// Change a stored certificate as time passing would (its NotAfter), and make a listener
/// use it, then publish, as a commit would.
fn age_and_use(control: &Control, arn: &str, not_after_ms: i64) {
    let mut current = control.lock();
    let mut cert = (*current.certificates[arn]).clone();
    cert.not_after_ms = Some(not_after_ms);
    current.certificates.insert(arn.into(), Arc::new(cert));
    let listener = Listener {
        arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/a/1/2".into(),
        load_balancer_arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/a/1".into(),
        port: 443,
        protocol: "HTTPS".into(),
        default_actions: Vec::new(),
        certificates: vec![arn.into()],
        ssl_policy: None,
        alpn_policy: Vec::new(),
        tags: Vec::new(),
        attributes: Default::default(),
        mutual_authentication: None,
    };
    current.listeners.insert(listener.arn.clone(), Arc::new(listener));
    control.publish.send_replace(Arc::new(current.clone()));
}

#[test]
fn the_authority_signs_each_key_algorithm_with_its_own_intermediate() {
    let now = crate::ids::now_ms();
    let authority = ca::ensure(None, None, now).unwrap().expect("a new root");
    assert!(authority.intermediates.is_empty());
    assert!(
        ca::ensure(Some(&authority), None, now).unwrap().is_none(),
        "nothing to add"
    );
    let root = x509::parse(&authority.root.certificate_pem).unwrap();
    assert_eq!(root.issuer, root.subject, "self-signed");
    assert_eq!(root.key_algorithm, "EC_secp384r1");
    let mut authority = authority;
    for (alg, signature, intermediate) in [
        ("EC_prime256v1", "SHA256WITHECDSA", "Fulmar ECDSA 256 M01"),
        ("EC_secp384r1", "SHA384WITHECDSA", "Fulmar ECDSA 384 M01"),
        ("RSA_2048", "SHA256WITHRSA", "Fulmar RSA 2048 M01"),
    ] {
        authority = ca::ensure(Some(&authority), Some(alg), now)
            .unwrap()
            .expect("a new intermediate");
        let names = vec!["a.example.com".to_string(), "*.b.example.com".to_string()];
        let leaf = ca::issue(&authority, &names, alg, now).unwrap();
        let parsed = x509::parse(&leaf.certificate_pem).unwrap();
        assert_eq!(parsed.key_algorithm, alg);
        assert_eq!(parsed.signature_algorithm, signature);
        assert_eq!(parsed.subject, "CN=a.example.com");
        assert_eq!(parsed.subject_alternative_names, names);
        assert_eq!(parsed.issuer, format!("CN={intermediate},O=Fulmar"));
        assert_eq!(parsed.not_before_ms % DAY_MS, 0, "NotBefore is midnight UTC");
        assert_eq!(parsed.not_after_ms - parsed.not_before_ms, 395 * DAY_MS - 1000);
        assert!(parsed.not_before_ms <= now && now < parsed.not_after_ms);
        x509::key_matches(&parsed, &leaf.private_key_pem).unwrap();
        // The chain: the intermediate (issued by the root), then the root.
        assert_eq!(x509::pem_labels(&leaf.chain_pem), ["CERTIFICATE", "CERTIFICATE"]);
        let first = leaf
            .chain_pem
            .split_inclusive("-----END CERTIFICATE-----\n")
            .next()
            .unwrap();
        let middle = x509::parse(first).unwrap();
        assert_eq!(middle.subject, parsed.issuer);
        assert_eq!(middle.issuer, root.subject);
        if alg == "RSA_2048" {
            continue; // an RSA key takes seconds in a debug build: one is enough
        }
        // Two leaves of the same family share the intermediate but not key or serial.
        let again = x509::parse(&ca::issue(&authority, &names, alg, now).unwrap().certificate_pem).unwrap();
        assert_eq!(again.issuer, parsed.issuer);
        assert_ne!(again.serial, parsed.serial);
    }
    assert_eq!(authority.intermediates.len(), 3);
}

#[test]
fn a_validated_certificate_is_signed_renewed_in_its_window_and_expires_without_records() {
    let control = control();
    let domain = "shop.example.com";
    let (status, out) = acm(
        &control,
        "RequestCertificate",
        json!({ "DomainName": domain, "ValidationMethod": "DNS", "KeyAlgorithm": "EC_prime256v1",
                "SubjectAlternativeNames": [format!("www.{domain}")] }),
    );
    assert_eq!(status, 200, "{out}");
    let arn = out["CertificateArn"].as_str().unwrap().to_string();
    let pending = describe(&control, &arn);
    assert_eq!(pending["Status"], "PENDING_VALIDATION");
    assert!(pending.get("Serial").is_none() && pending.get("RenewalSummary").is_none());
    assert!(
        control.config().certificate_authorities.is_empty(),
        "no authority before it is needed"
    );

    let zone = publish_validation(&control, domain, &pending);
    let issued = describe(&control, &arn);
    assert_eq!(issued["Status"], "ISSUED");
    assert_eq!(issued["KeyAlgorithm"], "EC-prime256v1");
    assert_eq!(issued["SignatureAlgorithm"], "SHA256WITHECDSA");
    assert_eq!(issued["Issuer"], "Fulmar");
    assert_eq!(issued["Subject"], format!("CN={domain}"));
    assert_eq!(issued["KeyUsages"], json!([{ "Name": "DIGITAL_SIGNATURE" }]));
    assert_eq!(issued["RenewalEligibility"], "INELIGIBLE");
    let (status, got) = acm(&control, "GetCertificate", json!({ "CertificateArn": arn }));
    assert_eq!(status, 200);
    let body = got["Certificate"].as_str().unwrap();
    let parsed = x509::parse(body).unwrap();
    assert_eq!(
        parsed.subject_alternative_names,
        [domain.to_string(), format!("www.{domain}")]
    );
    assert_eq!(Some(parsed.serial.as_str()), issued["Serial"].as_str());
    assert!(!got.to_string().contains("PRIVATE KEY") && !issued.to_string().contains("PRIVATE KEY"));
    let (status, err) = acm(
        &control,
        "ExportCertificate",
        json!({ "CertificateArn": arn, "Passphrase": "cGFzc3dvcmQ=" }),
    );
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("ValidationException")),
        "{err}"
    );

    // Outside the renewal window nothing happens.
    assert_eq!(control.renew_certificates(), 0);

    // 30 days before NotAfter, in use, records published: signed again, same ARN.
    let now = crate::ids::now_ms();
    let key_before = control.config().certificates[&arn].private_key_pem.clone();
    age_and_use(&control, &arn, now + 30 * DAY_MS);
    assert_eq!(control.renew_certificates(), 1);
    let renewed = describe(&control, &arn);
    assert_eq!(renewed["Status"], "ISSUED");
    assert_ne!(renewed["Serial"], issued["Serial"]);
    assert_eq!(renewed["RenewalEligibility"], "ELIGIBLE");
    assert_eq!(renewed["RenewalSummary"]["RenewalStatus"], "SUCCESS");
    assert_eq!(
        renewed["RenewalSummary"]["DomainValidationOptions"][0]["ValidationStatus"],
        "SUCCESS"
    );
    assert!(renewed["NotAfter"].as_f64().unwrap() * 1000.0 > (now + 390 * DAY_MS) as f64);
    assert_ne!(
        control.config().certificates[&arn].private_key_pem,
        key_before,
        "a new key"
    );

    // In the window again, but the records are gone: renewal waits, then the certificate expires.
    change_validation(&control, &zone, "DELETE", &pending);
    age_and_use(&control, &arn, now + 10 * DAY_MS);
    let waiting = describe(&control, &arn);
    assert_eq!(waiting["Status"], "ISSUED");
    assert_eq!(waiting["RenewalSummary"]["RenewalStatus"], "PENDING_AUTO_RENEWAL");
    assert_eq!(
        waiting["RenewalSummary"]["DomainValidationOptions"][0]["ValidationStatus"],
        "PENDING_VALIDATION"
    );
    age_and_use(&control, &arn, now - 1000);
    let expired = describe(&control, &arn);
    assert_eq!(expired["Status"], "EXPIRED");
    assert_eq!(expired["RenewalSummary"]["RenewalStatus"], "FAILED");
}

#[test]
fn the_root_is_made_once_and_survives_a_reset() {
    let control = control();
    let root = control.certificate_authority_pem().unwrap();
    assert_eq!(x509::pem_labels(&root), ["CERTIFICATE"]);
    assert_eq!(control.certificate_authority_pem().unwrap(), root);
    control.reset().unwrap();
    assert_eq!(control.certificate_authority_pem().unwrap(), root);
}
