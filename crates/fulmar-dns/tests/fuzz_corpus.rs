//! Replays the fuzz target's committed seed corpus through the request path, so the
//! ordinary test run covers it even where cargo-fuzz is not installed.

use fulmar_dns::wire::{respond, Transport};
use fulmar_dns::{AllHealthy, Options, ZoneIndex};
use hickory_proto::op::Message;
use rand::SeedableRng;

#[test]
fn seed_corpus_is_answered_without_panics() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/query");
    let index = ZoneIndex::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("the corpus is committed") {
        let bytes = std::fs::read(entry.expect("readable entry").path()).expect("readable seed");
        for t in [Transport::Udp, Transport::Tcp] {
            let out = respond(
                &index,
                &bytes,
                "127.0.0.1".parse().unwrap(),
                t,
                &AllHealthy,
                &Options::default(),
                &mut rng,
            );
            if let Some(out) = out {
                Message::from_vec(&out).expect("every response decodes");
            }
        }
        seen += 1;
    }
    assert!(seen >= 5, "expected the seed corpus, found {seen} files");
}
