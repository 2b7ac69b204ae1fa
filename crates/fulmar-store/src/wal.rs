//! The write-ahead log in front of the redb file: what makes a commit durable with one
//! page written and flushed, instead of the five to seven pages of a durable redb commit.
//!
//! A commit is appended here as one record and flushed with fdatasync before it
//! returns; it is applied to redb afterwards, off the caller's path, in batches. A
//! checkpoint (a durable redb commit of every record not yet durable in redb) lets the
//! log start again from its beginning. On open, the records newer than redb's durable
//! revision are applied again.
//!
//! The file has a fixed size and is written with zeros when created, so an append
//! never changes the file's size or block map: its fdatasync writes only the pages the
//! record is on. A record:
//!
//! ```text
//! magic u32 | payload length u32 | revision u64 | crc32 of revision and payload u32 | 0 u32 | payload
//! payload: per op, tag u8 (1 put, 2 delete), key length u32, key, [value length u32, value]
//! ```
//!
//! little-endian, each record starting at a multiple of 8. Reading stops at the first
//! record whose magic, length or checksum is wrong (a torn append: it was never
//! acknowledged) or whose revision does not follow the one before (a record of an
//! earlier pass over the file, before a checkpoint).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::Op;

const MAGIC: u32 = 0x4c41_5746; // "FWAL"
const HEADER: usize = 24;
/// The log's size. A commit whose record does not fit in what is left is made durable
/// in redb directly (and empties the log).
pub(crate) const SIZE: u64 = 1024 * 1024;
/// A checkpoint is asked for once this much of the log is used.
pub(crate) const CHECKPOINT_BYTES: u64 = 128 * 1024;
/// ... or once this many records are in it (they wait in memory until then, and a
/// reopen applies them again).
pub(crate) const CHECKPOINT_RECORDS: u32 = 64;

pub(crate) struct Log {
    file: File,
    /// Where the next record goes.
    pos: u64,
    /// Records since the last checkpoint.
    records: u32,
}

/// One record read back: its revision and its ops.
pub(crate) struct Record {
    pub rev: u64,
    pub ops: Vec<Op>,
}

impl Log {
    /// Open the log at `path`, creating it (written with zeros and flushed) if it is
    /// missing or short. Returns the log, positioned at its start, and the records it holds.
    pub(crate) fn open(path: &Path) -> io::Result<(Log, Vec<Record>)> {
        let file = crate::open_read_write(path)?;
        let len = file.metadata()?.len();
        let mut records = Vec::new();
        if len < SIZE {
            // In small steps: one large temporary buffer would raise the allocator's
            // mmap threshold for the rest of the process.
            let zeros = vec![0u8; 64 * 1024];
            for at in (0..SIZE).step_by(zeros.len()) {
                file.write_all_at(&zeros, at)?;
            }
            file.sync_all()?;
            if let Some(dir) = path.parent() {
                // The new file's name, too, must survive a crash.
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                File::open(dir)?.sync_all()?;
            }
        } else {
            records = read_records_with(SIZE, &mut |at, buf| file.read_exact_at(buf, at).is_ok());
        }
        let log = Log {
            file,
            pos: 0,
            records: 0,
        };
        Ok((log, records))
    }

    /// Whether a record of `ops` fits in what is left of the log.
    pub(crate) fn fits(&self, ops: &[Op]) -> bool {
        self.pos + record_len(ops) as u64 <= SIZE
    }

    /// Append the record of `ops` as revision `rev` and flush it (fdatasync): it then
    /// survives a crash. The caller checked [`Log::fits`]. On failure the record's
    /// header is erased (as far as the disk lets), so that reading the log stops before it.
    pub(crate) fn append(&mut self, rev: u64, ops: &[Op]) -> io::Result<()> {
        let record = encode(rev, ops);
        let written = self
            .file
            .write_all_at(&record, self.pos)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            let _ = self.file.write_all_at(&[0u8; HEADER], self.pos);
            let _ = self.file.sync_data();
            return Err(e);
        }
        self.pos += record.len() as u64;
        self.records += 1;
        Ok(())
    }

    /// Whether the log is full enough for a checkpoint.
    pub(crate) fn wants_checkpoint(&self) -> bool {
        self.pos >= CHECKPOINT_BYTES || self.records >= CHECKPOINT_RECORDS
    }

    /// Whether anything was appended since the last checkpoint.
    pub(crate) fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Where the next record goes.
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    /// After a durable redb commit: every record is in redb, the log starts again.
    pub(crate) fn checkpointed(&mut self) {
        self.pos = 0;
        self.records = 0;
    }
}

fn record_len(ops: &[Op]) -> usize {
    let payload: usize = ops
        .iter()
        .map(|op| match op {
            Op::Put { key, value } => 1 + 4 + key.len() + 4 + value.len(),
            Op::Delete { key } => 1 + 4 + key.len(),
        })
        .sum();
    (HEADER + payload).next_multiple_of(8)
}

fn encode(rev: u64, ops: &[Op]) -> Vec<u8> {
    let len = record_len(ops);
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // the payload length, below
    out.extend_from_slice(&rev.to_le_bytes());
    out.extend_from_slice(&[0; 8]); // the checksum and a zero word, below
    for op in ops {
        match op {
            Op::Put { key, value } => {
                out.push(1);
                out.extend_from_slice(&(key.len() as u32).to_le_bytes());
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(&(value.len() as u32).to_le_bytes());
                out.extend_from_slice(value);
            }
            Op::Delete { key } => {
                out.push(2);
                out.extend_from_slice(&(key.len() as u32).to_le_bytes());
                out.extend_from_slice(key.as_bytes());
            }
        }
    }
    let payload_len = (out.len() - HEADER) as u32;
    out[4..8].copy_from_slice(&payload_len.to_le_bytes());
    let crc = checksum(rev, &out[HEADER..]);
    out[16..20].copy_from_slice(&crc.to_le_bytes());
    out.resize(len, 0);
    out
}

fn checksum(rev: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&rev.to_le_bytes());
    h.update(payload);
    h.finalize()
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The records of the current pass over the log, in order.
#[cfg(test)]
fn read_records(bytes: &[u8]) -> Vec<Record> {
    read_records_with(bytes.len() as u64, &mut |at, buf| {
        let at = at as usize;
        match bytes.get(at..at + buf.len()) {
            Some(b) => {
                buf.copy_from_slice(b);
                true
            }
            None => false,
        }
    })
}

/// The same, from a log of `len` bytes read by `read(at, buf)` (false: unreadable),
/// one record at a time: no buffer of the whole log.
fn read_records_with(len: u64, read: &mut dyn FnMut(u64, &mut [u8]) -> bool) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    let mut at = 0u64;
    let mut header = [0u8; HEADER];
    while at + HEADER as u64 <= len && read(at, &mut header) {
        let payload_len = u32_at(&header, 4).unwrap_or(0) as u64;
        if u32_at(&header, 0) != Some(MAGIC) || at + HEADER as u64 + payload_len > len {
            break;
        }
        let mut record = vec![0u8; HEADER + payload_len as usize];
        if !read(at, &mut record) {
            break;
        }
        let Some((rec, used)) = read_record(&record) else { break };
        if out.last().is_some_and(|prev| rec.rev != prev.rev + 1) {
            break;
        }
        at += used as u64;
        out.push(rec);
    }
    out
}

/// One record at the start of `b`, and the bytes it takes; `None` if there is none.
fn read_record(b: &[u8]) -> Option<(Record, usize)> {
    if u32_at(b, 0)? != MAGIC {
        return None;
    }
    let payload_len = u32_at(b, 4)? as usize;
    let rev = u64::from_le_bytes(b.get(8..16)?.try_into().ok()?);
    let crc = u32_at(b, 16)?;
    let payload = b.get(HEADER..HEADER.checked_add(payload_len)?)?;
    if checksum(rev, payload) != crc {
        return None;
    }
    let mut ops = Vec::new();
    let mut p = 0usize;
    let take = |p: &mut usize, n: usize| -> Option<&[u8]> {
        let s = payload.get(*p..p.checked_add(n)?)?;
        *p += n;
        Some(s)
    };
    while p < payload.len() {
        let tag = take(&mut p, 1)?[0];
        let klen = u32_at(take(&mut p, 4)?, 0)? as usize;
        let key = String::from_utf8(take(&mut p, klen)?.to_vec()).ok()?;
        match tag {
            1 => {
                let vlen = u32_at(take(&mut p, 4)?, 0)? as usize;
                let value = take(&mut p, vlen)?.to_vec();
                ops.push(Op::Put { key, value });
            }
            2 => ops.push(Op::Delete { key }),
            _ => return None,
        }
    }
    Some((Record { rev, ops }, (HEADER + payload_len).next_multiple_of(8)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, v: &str) -> Op {
        Op::Put {
            key: k.into(),
            value: v.as_bytes().to_vec(),
        }
    }

    #[test]
    fn records_read_back_until_a_torn_or_stale_one() {
        let a = encode(5, &[put("a", "1"), Op::Delete { key: "b".into() }]);
        let b = encode(6, &[put("c", "")]);
        let stale = encode(3, &[put("old", "x")]);
        let mut file = [a.clone(), b.clone(), stale].concat();
        file.resize(4096, 0);
        let recs = read_records(&file);
        assert_eq!(recs.iter().map(|r| r.rev).collect::<Vec<_>>(), vec![5, 6]);
        assert_eq!(recs[0].ops, vec![put("a", "1"), Op::Delete { key: "b".into() }]);
        assert_eq!(recs[1].ops, vec![put("c", "")]);
        // A torn second record: only the first is read.
        let mut torn = file.clone();
        torn[a.len() + HEADER] ^= 0xff;
        assert_eq!(read_records(&torn).len(), 1);
        // Every truncation of the first record reads nothing, and never panics.
        let whole = HEADER + u32_at(&a, 4).unwrap() as usize;
        for cut in 0..whole {
            let mut t = a[..cut].to_vec();
            t.resize(a.len() + 64, 0);
            assert!(read_records(&t).is_empty(), "cut at {cut}");
        }
        assert!(read_records(&[0u8; 64]).is_empty());
    }
}
