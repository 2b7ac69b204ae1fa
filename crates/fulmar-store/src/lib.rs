//! Durable storage for Fulmar's configuration.
//!
//! The control plane keeps every resource as a JSON document under a key
//! (`elbv2/lb/<arn>`, `ec2/vpc/<id>`, ...). A [`Store`] applies a batch of puts and
//! deletes atomically and durably, and numbers each commit with a revision, so a
//! replicated backend (etcd: revisions + watch) can implement the same trait.
//! [`RedbStore`] is the embedded default; [`MemoryStore`] serves tests.

mod memory;
mod redb_store;
mod wal;

pub use memory::MemoryStore;
pub use redb_store::RedbStore;

/// Open the file at `path` for reading and writing, creating it if missing (the store
/// file and its log).
fn open_read_write(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// One change in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("storage backend: {0}")]
    Backend(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A transactional key-value store of configuration documents.
pub trait Store: Send + Sync {
    /// Apply every op or none, durably: when this returns `Ok`, the batch survives a
    /// crash. Returns the revision the batch created.
    fn commit(&self, ops: &[Op]) -> Result<u64, StoreError>;

    /// Every key and value whose key starts with `prefix`, in key order, as of one revision.
    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Call `visit` with every key and value whose key starts with `prefix`, in key
    /// order, as of one revision, without collecting them first: reading a million
    /// documents back on start holds one at a time, not all of them twice.
    fn scan_each(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError> {
        for (key, value) in self.scan(prefix)? {
            visit(&key, &value);
        }
        Ok(())
    }

    /// The revision of the latest commit (0 for an empty store).
    fn revision(&self) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod battery;
