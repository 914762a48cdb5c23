//! The spill file of a remote sink (`spill=PATH` in its URL): where sealed batches go when
//! the memory backlog is full, in order, to be sent when the server is back.
//!
//! Batches are appended to the file and read back from its start, oldest first; the file
//! is emptied (truncated) whenever every batch in it has been taken, so it grows only while
//! the server is away. Its size is bounded (`spill_size=BYTES`): a batch that does not fit
//! is dropped and counted by the sink. What the file holds is this run's: it is truncated
//! when the sink opens it, and a batch in it when the command ends is counted as not sent.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::Batch;

/// The spill file's default bound, in bytes.
pub const DEFAULT_SPILL_SIZE: u64 = 1 << 30;

/// A batch in the file: where its rows are, and what the sink must know of it without
/// reading them.
#[derive(Debug)]
struct Entry {
    id: u64,
    rows: u64,
    first_time: i64,
    at: u64,
    len: usize,
}

/// A spill file, open.
#[derive(Debug)]
pub struct Spill {
    path: PathBuf,
    file: File,
    limit: u64,
    /// Where the next batch is appended: the file's length.
    end: u64,
    /// The batches in it, oldest first.
    entries: VecDeque<Entry>,
}

impl Spill {
    /// Creates (or truncates) the file at `path`, to hold at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// The file cannot be created or truncated.
    pub fn open(path: &Path, limit: u64) -> io::Result<Spill> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Spill {
            path: path.to_path_buf(),
            file,
            limit,
            end: 0,
            entries: VecDeque::new(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its bound in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether it holds no batch.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The rows of the batches it holds.
    pub fn rows(&self) -> u64 {
        self.entries.iter().map(|e| e.rows).sum()
    }

    /// Appends `batch`: `Ok(false)` when the file has no room for it.
    ///
    /// # Errors
    ///
    /// The write failed (a full disk); the file is as it was.
    pub fn push(&mut self, batch: &Batch) -> io::Result<bool> {
        let len = batch.data.len();
        if self.end + len as u64 > self.limit {
            return Ok(false);
        }
        // On failure, what was written of it is past `end`, and is overwritten next time.
        self.file.write_all_at(&batch.data, self.end)?;
        self.entries.push_back(Entry {
            id: batch.id,
            rows: batch.rows,
            first_time: batch.first_time,
            at: self.end,
            len,
        });
        self.end += len as u64;
        Ok(true)
    }

    /// Empties the file without reading it: the rows it held, for the count.
    pub fn clear(&mut self) -> u64 {
        let rows = self.rows();
        self.entries.clear();
        self.end = 0;
        let _ = self.file.set_len(0);
        rows
    }

    /// Takes the oldest batch out of the file; the file is emptied once none is left.
    ///
    /// # Errors
    ///
    /// The read failed: the batch is gone (its id and rows in the error's place, for the
    /// count).
    pub fn pop(&mut self) -> Option<Result<Batch, (u64, io::Error)>> {
        let entry = self.entries.pop_front()?;
        let mut data = vec![0; entry.len];
        let read = self.file.read_exact_at(&mut data, entry.at);
        if self.entries.is_empty() {
            self.end = 0;
            // A file that cannot be shortened only keeps its old bytes, which are
            // overwritten from the start.
            let _ = self.file.set_len(0);
        }
        Some(match read {
            Ok(()) => Ok(Batch {
                id: entry.id,
                data,
                rows: entry.rows,
                first_time: entry.first_time,
                in_doubt: false,
                opened: Instant::now(),
            }),
            Err(e) => Err((entry.rows, e)),
        })
    }
}
