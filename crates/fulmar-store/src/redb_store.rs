//! The embedded default [`Store`]: one redb file under the data directory. redb
//! commits are durable (fsync) by default, which is what makes an acknowledged API
//! write survive a crash.

use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};

use crate::{Op, Store, StoreError};

const DOCS: TableDefinition<&str, &[u8]> = TableDefinition::new("documents");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const REVISION: &str = "revision";

pub struct RedbStore {
    db: Database,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl RedbStore {
    /// Open (or create) the store file at `path`.
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        let db = Database::create(path).map_err(backend)?;
        let txn = db.begin_write().map_err(backend)?;
        {
            txn.open_table(DOCS).map_err(backend)?;
            txn.open_table(META).map_err(backend)?;
        }
        txn.commit().map_err(backend)?;
        Ok(RedbStore { db })
    }
}

impl Store for RedbStore {
    fn commit(&self, ops: &[Op]) -> Result<u64, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let rev;
        {
            let mut docs = txn.open_table(DOCS).map_err(backend)?;
            for op in ops {
                match op {
                    Op::Put { key, value } => {
                        docs.insert(key.as_str(), value.as_slice()).map_err(backend)?;
                    }
                    Op::Delete { key } => {
                        docs.remove(key.as_str()).map_err(backend)?;
                    }
                }
            }
            let mut meta = txn.open_table(META).map_err(backend)?;
            let current = meta.get(REVISION).map_err(backend)?.map(|v| v.value()).unwrap_or(0);
            rev = current + 1;
            meta.insert(REVISION, rev).map_err(backend)?;
        }
        txn.commit().map_err(backend)?;
        Ok(rev)
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let docs = txn.open_table(DOCS).map_err(backend)?;
        let mut out = Vec::new();
        for entry in docs.range(prefix..).map_err(backend)? {
            let (k, v) = entry.map_err(backend)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            out.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn revision(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let meta = txn.open_table(META).map_err(backend)?;
        Ok(meta.get(REVISION).map_err(backend)?.map(|v| v.value()).unwrap_or(0))
    }
}
