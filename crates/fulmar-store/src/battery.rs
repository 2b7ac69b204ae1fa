//! One battery of tests, run against every backend.

use crate::{MemoryStore, Op, RedbStore, Store};

fn put(k: &str, v: &str) -> Op {
    Op::Put {
        key: k.into(),
        value: v.as_bytes().to_vec(),
    }
}

fn battery(store: &dyn Store) {
    assert_eq!(store.revision().unwrap(), 0);
    let r1 = store
        .commit(&[put("a/1", "x"), put("a/2", "y"), put("b/1", "z")])
        .unwrap();
    assert_eq!(r1, 1);
    let a = store.scan("a/").unwrap();
    assert_eq!(a, vec![("a/1".into(), b"x".to_vec()), ("a/2".into(), b"y".to_vec())]);
    let r2 = store
        .commit(&[Op::Delete { key: "a/1".into() }, put("a/2", "w")])
        .unwrap();
    assert_eq!(r2, 2);
    assert_eq!(store.scan("a/").unwrap(), vec![("a/2".into(), b"w".to_vec())]);
    assert_eq!(store.scan("").unwrap().len(), 2);
    assert_eq!(store.scan("c/").unwrap(), vec![]);
    let mut seen = Vec::new();
    store
        .scan_each("", &mut |k, v| seen.push((k.to_string(), v.to_vec())))
        .unwrap();
    assert_eq!(seen, store.scan("").unwrap());
    let mut seen = Vec::new();
    store.scan_each("b/", &mut |k, _| seen.push(k.to_string())).unwrap();
    assert_eq!(seen, vec!["b/1".to_string()]);
    assert_eq!(store.revision().unwrap(), 2);
}

#[test]
fn memory_backend() {
    battery(&MemoryStore::new());
}

#[test]
fn redb_backend() {
    let dir = std::env::temp_dir().join(format!("fulmar-store-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.redb");
    let _ = std::fs::remove_file(&path);
    battery(&RedbStore::open(&path).unwrap());
    // Reopening sees every committed batch.
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.revision().unwrap(), 2);
    assert_eq!(store.scan("a/").unwrap(), vec![("a/2".into(), b"w".to_vec())]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A copy of the store's files taken while no commit or checkpoint runs: what a crash
/// (kill -9) leaves on disk, since the page cache survives it.
fn crash_image(store: &RedbStore, from: &std::path::Path, to: &std::path::Path, files: &[&str]) {
    let _quiet = store.quiesce();
    for f in files {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
}

#[test]
fn redb_log_replays_acknowledged_commits() {
    let dir = std::env::temp_dir().join(format!("fulmar-store-log-{}", std::process::id()));
    let (live, crashed) = (dir.join("live"), dir.join("crashed"));
    std::fs::create_dir_all(&live).unwrap();
    std::fs::create_dir_all(&crashed).unwrap();
    let store = RedbStore::open(&live.join("t.redb")).unwrap();
    // The redb file as it was before any commit, with the log as it is after ten:
    // only the log holds them, and opening applies them again.
    crash_image(&store, &live, &crashed, &["t.redb"]);
    for i in 0..10 {
        assert_eq!(store.commit(&[put(&format!("k/{i:03}"), "v")]).unwrap(), i + 1);
    }
    crash_image(&store, &live, &crashed, &["t.wal"]);
    {
        let reopened = RedbStore::open(&crashed.join("t.redb")).unwrap();
        assert_eq!(reopened.revision().unwrap(), 10);
        assert_eq!(reopened.scan("k/").unwrap().len(), 10);
        assert_eq!(reopened.commit(&[put("after", "1")]).unwrap(), 11);
    }
    // Past several checkpoints (a full log is checkpointed in the background), and a
    // commit too big for the log: both files as they are, then reopened.
    for i in 10..300 {
        store.commit(&[put(&format!("k/{i:03}"), "v")]).unwrap();
    }
    let big = vec![7u8; 2 * 1024 * 1024];
    store
        .commit(&[Op::Put {
            key: "big".into(),
            value: big.clone(),
        }])
        .unwrap();
    store.commit(&[Op::Delete { key: "k/000".into() }]).unwrap();
    crash_image(&store, &live, &crashed, &["t.redb", "t.wal"]);
    let reopened = RedbStore::open(&crashed.join("t.redb")).unwrap();
    assert_eq!(reopened.revision().unwrap(), 302);
    assert_eq!(reopened.scan("k/").unwrap().len(), 299);
    assert_eq!(reopened.scan("big").unwrap(), vec![("big".to_string(), big)]);
    drop((store, reopened));
    // A clean close checkpoints: without its log, the file alone has everything.
    std::fs::remove_file(live.join("t.wal")).unwrap();
    let closed = RedbStore::open(&live.join("t.redb")).unwrap();
    assert_eq!(closed.revision().unwrap(), 302);
    assert_eq!(closed.scan("k/").unwrap().len(), 299);
    drop(closed);
    std::fs::remove_dir_all(&dir).unwrap();
}
