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
