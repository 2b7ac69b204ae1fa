//! The embedded default [`Store`]: one redb file under the data directory, with a
//! write-ahead log beside it (`<name>.wal`, see the `wal` module). A commit returns
//! once its record is flushed to the log, which is what makes an acknowledged API write
//! survive a crash. The records are kept in memory and written to redb in batches, as
//! one durable redb commit (a checkpoint, which lets the log start again), by a
//! background thread that runs only when the CPU has nothing else to do.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use redb::backends::FileBackend;
use redb::{Database, Durability, ReadableTable, StorageBackend, TableDefinition, WriteTransaction};

use crate::wal::Log;
use crate::{Op, Store, StoreError};

const DOCS: TableDefinition<&str, &[u8]> = TableDefinition::new("documents");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const REVISION: &str = "revision";
/// redb's page cache (its default is 1 GiB, which a million-record zone fills: the
/// whole file ends up resident twice, once here and once in the OS page cache). Writes
/// touch few pages and a cold read is served by the OS page cache, so a small cache
/// costs little.
const CACHE_BYTES: usize = 64 * 1024 * 1024;
/// A log holding records is checkpointed after this long without a commit.
const IDLE_CHECKPOINT: Duration = Duration::from_secs(1);

pub struct RedbStore {
    shared: Arc<Shared>,
    applier: Option<JoinHandle<()>>,
}

struct Shared {
    db: Database,
    /// Held by whatever writes to redb, from taking the pending records to committing
    /// them: redb sees the records in revision order. Taken before `state`.
    redb: Mutex<()>,
    state: Mutex<State>,
    /// Wakes the applier thread (records to apply, or the store closing).
    wake: Condvar,
}

pub(crate) struct State {
    log: Log,
    /// The latest revision committed (flushed to the log).
    rev: u64,
    /// Records flushed to the log, not yet applied to redb, in revision order.
    pending: Vec<(u64, Vec<Op>)>,
    closing: bool,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Apply `ops` in `txn` as revision `rev`.
fn apply(txn: &WriteTransaction, ops: &[Op], rev: u64) -> Result<(), StoreError> {
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
    meta.insert(REVISION, rev).map_err(backend)?;
    Ok(())
}

fn revision_in(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let meta = txn.open_table(META).map_err(backend)?;
    let rev = meta.get(REVISION).map_err(backend)?.map(|v| v.value()).unwrap_or(0);
    Ok(rev)
}

impl Shared {
    /// Apply `records` to redb in one transaction, durable or not. The caller holds `redb`.
    fn write_redb(&self, records: &[(u64, Vec<Op>)], durable: bool) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(backend)?;
        if !durable {
            txn.set_durability(Durability::None);
        }
        let mut last = None;
        for (rev, ops) in records {
            apply(&txn, ops, *rev)?;
            last = Some(*rev);
        }
        if last.is_none() {
            // Nothing new: rewrite the revision, so that the commit is never empty.
            let rev = revision_in(&txn)?;
            apply(&txn, &[], rev)?;
        }
        txn.commit().map_err(backend)
    }

    /// Apply what is pending to redb; with `durable`, also persist everything applied
    /// so far and, if no record came meanwhile, let the log start again.
    fn drain(&self, durable: bool) -> Result<(), StoreError> {
        let _redb = lock(&self.redb);
        let (records, taken_at) = {
            let mut state = lock(&self.state);
            (std::mem::take(&mut state.pending), state.log.position())
        };
        if records.is_empty() && !durable {
            return Ok(());
        }
        if let Err(e) = self.write_redb(&records, durable) {
            // Put them back, in front of what came meanwhile: the next drain retries.
            let mut state = lock(&self.state);
            let newer = std::mem::replace(&mut state.pending, records);
            state.pending.extend(newer);
            return Err(e);
        }
        if durable {
            let mut state = lock(&self.state);
            if state.log.position() == taken_at {
                state.log.checkpointed();
            }
        }
        Ok(())
    }

    /// The applier thread: checkpoints (applies the pending records to redb in one
    /// durable commit) when the log asks for it, and at most `IDLE_CHECKPOINT` after a
    /// record was appended. It is woken only for the first, not by every commit: a wake-up
    /// per commit put it on the CPU between a commit and the answer to its call, however
    /// low its priority. It runs at the idle scheduling class (SCHED_IDLE), so it never
    /// delays a call being answered; if it falls behind, a commit that finds the log full
    /// does the work itself.
    fn run_applier(&self) {
        set_idle_priority();
        loop {
            {
                let mut state = lock(&self.state);
                loop {
                    if state.closing {
                        return;
                    }
                    if state.log.wants_checkpoint() {
                        break;
                    }
                    let (guard, waited) = self
                        .wake
                        .wait_timeout(state, IDLE_CHECKPOINT)
                        .unwrap_or_else(|p| p.into_inner());
                    state = guard;
                    if waited.timed_out() && !state.log.is_empty() {
                        break;
                    }
                }
            }
            if let Err(e) = self.drain(true) {
                eprintln!("fulmar-store: applying the log to the store failed: {e}");
                std::thread::sleep(IDLE_CHECKPOINT);
            }
        }
    }
}

/// Put the calling thread in the idle scheduling class: it gets the CPU only when no
/// other thread wants it.
fn set_idle_priority() {
    // SAFETY: sched_setscheduler on the calling thread (0) with a valid parameter block.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

impl RedbStore {
    /// Open (or create) the store file at `path`, and its log at `path` with the
    /// extension `wal`; the log's records newer than the file are applied again.
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        let file = crate::open_read_write(path)?;
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create_with_backend(WrittenFile::new(file)?)
            .map_err(backend)?;
        let (mut log, records) = Log::open(&path.with_extension("wal"))?;
        // The tables, and the records the log holds beyond the file's revision, in one
        // durable commit: the log then starts again.
        let txn = db.begin_write().map_err(backend)?;
        {
            txn.open_table(DOCS).map_err(backend)?;
            txn.open_table(META).map_err(backend)?;
        }
        let mut rev = revision_in(&txn)?;
        for record in records {
            if record.rev <= rev {
                continue;
            }
            if record.rev != rev + 1 {
                break; // a gap: nothing after it can be applied
            }
            apply(&txn, &record.ops, record.rev)?;
            rev = record.rev;
        }
        apply(&txn, &[], rev)?;
        txn.commit().map_err(backend)?;
        log.checkpointed();
        let shared = Arc::new(Shared {
            db,
            redb: Mutex::new(()),
            state: Mutex::new(State {
                log,
                rev,
                pending: Vec::new(),
                closing: false,
            }),
            wake: Condvar::new(),
        });
        let worker = shared.clone();
        let applier = std::thread::Builder::new()
            .name("store-apply".into())
            .spawn(move || worker.run_applier())?;
        Ok(RedbStore {
            shared,
            applier: Some(applier),
        })
    }

    /// Apply what is pending, so that redb holds every commit (before reading it).
    fn applied(&self) -> Result<(), StoreError> {
        self.shared.drain(false)
    }
}

#[cfg(test)]
impl RedbStore {
    /// Hold off every commit, apply and checkpoint while the guard lives.
    pub(crate) fn quiesce(&self) -> (MutexGuard<'_, ()>, MutexGuard<'_, State>) {
        let redb = lock(&self.shared.redb);
        (redb, lock(&self.shared.state))
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        lock(&self.shared.state).closing = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.applier.take() {
            let _ = t.join();
        }
        let _ = self.shared.drain(true);
    }
}

impl Store for RedbStore {
    fn commit(&self, ops: &[Op]) -> Result<u64, StoreError> {
        let shared = &*self.shared;
        {
            let mut state = lock(&shared.state);
            if state.log.fits(ops) {
                let rev = state.rev + 1;
                state.log.append(rev, ops)?;
                state.rev = rev;
                state.pending.push((rev, ops.to_vec()));
                if state.log.wants_checkpoint() {
                    shared.wake.notify_one();
                }
                return Ok(rev);
            }
        }
        // The log is full (the applier is behind) or the batch is too big for it: the
        // pending records and this batch go to redb in one durable commit, which is a
        // checkpoint too.
        let _redb = lock(&shared.redb);
        let mut state = lock(&shared.state);
        let rev = state.rev + 1;
        let mut records = std::mem::take(&mut state.pending);
        records.push((rev, ops.to_vec()));
        if let Err(e) = shared.write_redb(&records, true) {
            records.pop();
            state.pending = records;
            return Err(e);
        }
        state.rev = rev;
        state.log.checkpointed();
        Ok(rev)
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.applied()?;
        let txn = self.shared.db.begin_read().map_err(backend)?;
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
        self.applied()?;
        let txn = self.shared.db.begin_read().map_err(backend)?;
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
        Ok(lock(&self.shared.state).rev)
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
