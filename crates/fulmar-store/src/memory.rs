//! An in-memory [`Store`] for tests: the same semantics, no durability.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::{Op, Store, StoreError};

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<(u64, BTreeMap<String, Vec<u8>>)>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn commit(&self, ops: &[Op]) -> Result<u64, StoreError> {
        let mut guard = self.inner.lock().map_err(|_| StoreError::Backend("poisoned".into()))?;
        let (rev, map) = &mut *guard;
        for op in ops {
            match op {
                Op::Put { key, value } => {
                    map.insert(key.clone(), value.clone());
                }
                Op::Delete { key } => {
                    map.remove(key);
                }
            }
        }
        *rev += 1;
        Ok(*rev)
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let guard = self.inner.lock().map_err(|_| StoreError::Backend("poisoned".into()))?;
        Ok(guard
            .1
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn revision(&self) -> Result<u64, StoreError> {
        let guard = self.inner.lock().map_err(|_| StoreError::Backend("poisoned".into()))?;
        Ok(guard.0)
    }
}
