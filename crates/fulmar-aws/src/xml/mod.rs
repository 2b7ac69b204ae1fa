//! Response documents: any `serde::Serialize` result, and [`AwsError`]s, as the
//! XML a flavour's clients parse.
//!
//! Query flavour (elbv2):
//! `<{Action}Response xmlns=..><{Action}Result>..</{Action}Result><ResponseMetadata><RequestId>..`
//! with lists of `<member>`; errors as `<ErrorResponse><Error><Type>Sender|Receiver..`.
//! Ec2 flavour: `<{Action}Response xmlns=..><requestId>..</requestId>..` with lists
//! of `<item>`; errors as `<Response><Errors><Error>..</Errors><RequestID>..`.
//! RestXml flavour (Route 53): `<{Operation}Response xmlns=..>` with the output's
//! members directly inside and list items named by their type's serde name
//! (`<HostedZones><HostedZone>..`); errors as the Query flavour's `<ErrorResponse>`.
//! Element names are serde names, so output types rename their fields to the
//! service's member names (`PascalCase` for elbv2 and Route 53, `camelCase` such as
//! `vpcSet` for ec2).

mod ser;
#[cfg(test)]
mod tests;

use crate::{AwsError, Flavour};
use ser::{ElementSer, Items};

const PROLOGUE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// The success document for `action`, carrying `result`'s fields.
///
/// A result that cannot be serialized (a `Serialize` impl that fails) yields the
/// `InternalFailure` error document instead; use [`try_response`] to tell.
pub fn response<T: serde::Serialize>(
    flavour: Flavour,
    action: &str,
    namespace: &str,
    request_id: &str,
    result: &T,
) -> String {
    try_response(flavour, action, namespace, request_id, result)
        .unwrap_or_else(|err| error_response(flavour, namespace, request_id, &err))
}

/// Like [`response`], but reports a result that cannot be serialized as an
/// `InternalFailure` error (status 500).
pub fn try_response<T: serde::Serialize>(
    flavour: Flavour,
    action: &str,
    namespace: &str,
    request_id: &str,
    result: &T,
) -> Result<String, AwsError> {
    let item = match flavour {
        Flavour::Query => Items::Named("member"),
        Flavour::Ec2 => Items::Named("item"),
        Flavour::RestXml => Items::ByType,
    };
    let mut body = String::new();
    result
        .serialize(ElementSer {
            out: &mut body,
            name: None,
            item,
            by_type: false,
        })
        .map_err(|e| AwsError::internal(format!("cannot render {action} result: {e}")))?;
    let mut out = String::with_capacity(body.len() + 256);
    out.push_str(PROLOGUE);
    out.push('\n');
    out.push_str(&format!("<{action}Response xmlns=\""));
    escape_into(&mut out, namespace);
    out.push_str("\">");
    match flavour {
        Flavour::Query => {
            if body.is_empty() {
                out.push_str(&format!("<{action}Result/>"));
            } else {
                // Pushed piece by piece: a large result is copied once, not through a format!.
                out.push('<');
                out.push_str(action);
                out.push_str("Result>");
                out.push_str(&body);
                out.push_str("</");
                out.push_str(action);
                out.push_str("Result>");
            }
            out.push_str("<ResponseMetadata><RequestId>");
            escape_into(&mut out, request_id);
            out.push_str("</RequestId></ResponseMetadata>");
        }
        Flavour::Ec2 => {
            out.push_str("<requestId>");
            escape_into(&mut out, request_id);
            out.push_str("</requestId>");
            out.push_str(&body);
        }
        Flavour::RestXml => out.push_str(&body),
    }
    out.push_str(&format!("</{action}Response>"));
    Ok(out)
}

/// The error document for `err`; send it with status `err.status`.
pub fn error_response(flavour: Flavour, namespace: &str, request_id: &str, err: &AwsError) -> String {
    let mut out = String::with_capacity(256 + err.message.len());
    out.push_str(PROLOGUE);
    out.push('\n');
    let code_and_message = |out: &mut String| {
        out.push_str("<Code>");
        escape_into(out, &err.code);
        out.push_str("</Code><Message>");
        escape_into(out, &err.message);
        out.push_str("</Message>");
    };
    match flavour {
        Flavour::Query | Flavour::RestXml => {
            out.push_str("<ErrorResponse xmlns=\"");
            escape_into(&mut out, namespace);
            out.push_str("\"><Error><Type>");
            out.push_str(if err.sender_fault { "Sender" } else { "Receiver" });
            out.push_str("</Type>");
            code_and_message(&mut out);
            out.push_str("</Error><RequestId>");
            escape_into(&mut out, request_id);
            out.push_str("</RequestId></ErrorResponse>");
        }
        Flavour::Ec2 => {
            out.push_str("<Response><Errors><Error>");
            code_and_message(&mut out);
            out.push_str("</Error></Errors><RequestID>");
            escape_into(&mut out, request_id);
            out.push_str("</RequestID></Response>");
        }
    }
    out
}

/// A fresh request id, shaped like a version-4 UUID
/// (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
pub fn request_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Appends `text` with XML's special characters escaped. `\r` becomes `&#13;` so
/// it survives parsing; other control characters, which XML 1.0 cannot carry
/// at all, become U+FFFD.
pub fn escape_into(out: &mut String, text: &str) {
    // Runs of bytes that need nothing are copied whole. Every byte the loop stops at
    // is ASCII or the lead byte of U+FFFE/U+FFFF, so each slice ends on a char boundary.
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    loop {
        while i < bytes.len() && !ATTENTION[bytes[i] as usize] {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let (replacement, len) = match bytes[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            b'\'' => ("&apos;", 1),
            b'\r' => ("&#13;", 1),
            0xef if bytes.get(i + 1) == Some(&0xbf) && matches!(bytes.get(i + 2), Some(0xbe | 0xbf)) => ("\u{fffd}", 3),
            0xef => ("", 0),
            _ => ("\u{fffd}", 1), // the other control characters
        };
        if len == 0 {
            i += 1;
            continue;
        }
        out.push_str(&text[start..i]);
        out.push_str(replacement);
        i += len;
        start = i;
    }
    out.push_str(&text[start..]);
}

/// The bytes [`escape_into`] looks at: XML's specials, control characters other than
/// tab and newline, and 0xEF (which starts U+FFFE and U+FFFF).
static ATTENTION: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b != b'\t' as usize && b != b'\n' as usize;
        b += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t[0xef] = true;
    t
};

/// A [`std::fmt::Write`] that escapes what is written into it as [`escape_into`]
/// does: scalars are formatted straight into the document, without a String each.
pub struct Escaping<'a>(pub &'a mut String);

impl std::fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        escape_into(self.0, s);
        Ok(())
    }
}
