//! The embedded default [`Store`]: one redb file under the data directory. redb
//! commits are durable (fsync) by default, which is what makes an acknowledged API
//! write survive a crash.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use redb::backends::FileBackend;
use redb::{Database, ReadableTable, StorageBackend, TableDefinition};

use crate::{Op, Store, StoreError};

const DOCS: TableDefinition<&str, &[u8]> = TableDefinition::new("documents");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const REVISION: &str = "revision";
/// redb's page cache (its default is 1 GiB, which a million-record zone fills: the
/// whole file ends up resident twice, once here and once in the OS page cache). Writes
/// touch few pages and a cold read is served by the OS page cache, so a small cache
/// costs little.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

pub struct RedbStore {
    db: Database,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl RedbStore {
    /// Open (or create) the store file at `path`.
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create_with_backend(WrittenFile::new(file)?)
            .map_err(backend)?;
        let mut txn = db.begin_write().map_err(backend)?;
        // Creating the (empty) tables needs no fsync of its own: the first durable commit
        // persists them, and a crash before it leaves nothing that open would not redo.
        txn.set_durability(redb::Durability::None);
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

    fn scan_each(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let docs = txn.open_table(DOCS).map_err(backend)?;
        for entry in docs.range(prefix..).map_err(backend)? {
            let (k, v) = entry.map_err(backend)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            visit(k.value(), v.value());
        }
        Ok(())
    }

    fn revision(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let meta = txn.open_table(META).map_err(backend)?;
        Ok(meta.get(REVISION).map_err(backend)?.map(|v| v.value()).unwrap_or(0))
    }
}

/// redb's file backend, except that the file grows by written zeros instead of a hole.
///
/// redb extends its file with `set_len`, which leaves a hole: the first commit that puts
/// a page there makes the file system allocate its block, and that commit's fdatasync
/// then also writes the inode and the extent map, a second round trip to the disk.
/// Writing the zeros when the file grows (rarely, and in large steps) allocates every
/// block then, so a commit's fdatasync only writes its own pages.
#[derive(Debug)]
struct WrittenFile {
    inner: FileBackend,
    /// The same open file, for writing the zeros (`inner` keeps its own handle private).
    file: File,
}

impl WrittenFile {
    fn new(file: File) -> Result<WrittenFile, StoreError> {
        let writer = file.try_clone()?;
        Ok(WrittenFile {
            inner: FileBackend::new(file).map_err(backend)?,
            file: writer,
        })
    }
}

impl StorageBackend for WrittenFile {
    fn len(&self) -> Result<u64, io::Error> {
        self.inner.len()
    }

    fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, io::Error> {
        self.inner.read(offset, len)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        const CHUNK: usize = 256 * 1024;
        let old = self.inner.len()?;
        self.inner.set_len(len)?;
        let zeros = vec![0u8; CHUNK.min(len.saturating_sub(old) as usize)];
        let mut at = old;
        while at < len {
            let n = zeros.len().min((len - at) as usize);
            self.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        Ok(())
    }

    fn sync_data(&self, eventual: bool) -> Result<(), io::Error> {
        self.inner.sync_data(eventual)
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.inner.write(offset, data)
    }
}
