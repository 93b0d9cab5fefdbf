//! Group commit: one writer thread owns the [`Log`]; any number of callers hand it entries
//! and wait for their index. The writer takes everything that is waiting (up to
//! [`MAX_BATCH`] entries), commits it in one durable transaction with one checkpoint
//! signature, then answers every caller. An append that returned `Ok` is on disk.
//!
//! Entries are encoded and their columns derived on the caller's thread, so the writer
//! does only hashing, one signature and the database commit per batch.

use std::sync::mpsc;
use std::thread;

use crate::entry::Entry;
use crate::log::{Log, LogError, columns_of};
use crate::store::{Columns, Store};

/// The most entries one commit takes.
pub const MAX_BATCH: usize = 8192;

type Reply = mpsc::SyncSender<Result<u64, String>>;

enum Msg {
    Append(Vec<u8>, Columns, Reply),
    Checkpoint(mpsc::SyncSender<Result<String, String>>),
}

/// A cloneable handle to a log writer thread.
#[derive(Debug, Clone)]
pub struct LogHandle {
    tx: mpsc::Sender<Msg>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Append(..) => "Append",
            Msg::Checkpoint(_) => "Checkpoint",
        })
    }
}

/// Errors from the handle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriterError {
    /// The entry could not be encoded.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The commit failed; the entry is not in the log.
    #[error("log write failed: {0}")]
    Commit(String),
    /// The writer thread is gone.
    #[error("the log writer has stopped")]
    Stopped,
}

/// The writer thread; join it to get the log back after every handle is dropped.
#[derive(Debug)]
pub struct Writer<S: Store> {
    thread: thread::JoinHandle<Log<S>>,
}

impl<S: Store> Writer<S> {
    /// Wait for the writer to finish (after every [`LogHandle`] is dropped) and return the
    /// log.
    ///
    /// # Errors
    /// [`WriterError::Stopped`] if the writer thread panicked.
    pub fn join(self) -> Result<Log<S>, WriterError> {
        self.thread.join().map_err(|_| WriterError::Stopped)
    }
}

/// Start a writer thread for `log`.
///
/// # Errors
/// The thread cannot be spawned.
pub fn spawn<S: Store + Send + 'static>(log: Log<S>) -> std::io::Result<(LogHandle, Writer<S>)> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let thread = thread::Builder::new()
        .name("signet-log-writer".into())
        .spawn(move || run(log, &rx))?;
    Ok((LogHandle { tx }, Writer { thread }))
}

fn run<S: Store>(mut log: Log<S>, rx: &mpsc::Receiver<Msg>) -> Log<S> {
    let mut batch: Vec<(Vec<u8>, Columns)> = Vec::new();
    let mut replies: Vec<Reply> = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut pending = Some(first);
        let mut checkpoints = Vec::new();
        loop {
            match pending.take() {
                Some(Msg::Append(data, columns, reply)) => {
                    batch.push((data, columns));
                    replies.push(reply);
                }
                Some(Msg::Checkpoint(reply)) => checkpoints.push(reply),
                None => {}
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            match rx.try_recv() {
                Ok(m) => pending = Some(m),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            match log.append_encoded(std::mem::take(&mut batch)) {
                Ok(first) => {
                    for (i, reply) in (first..).zip(replies.drain(..)) {
                        let _ = reply.send(Ok(i));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for reply in replies.drain(..) {
                        let _ = reply.send(Err(msg.clone()));
                    }
                }
            }
        }
        for reply in checkpoints {
            let _ = reply.send(log.checkpoint().map_err(|e| e.to_string()));
        }
    }
    log
}

impl LogHandle {
    /// Append one entry; returns its index once it is durably committed.
    ///
    /// # Errors
    /// [`WriterError`]: encoding failed, the commit failed, or the writer stopped. On any
    /// error the entry is not in the log.
    pub fn append(&self, entry: &Entry) -> Result<u64, WriterError> {
        let data = entry.leaf_data().map_err(LogError::from)?;
        let columns = columns_of(entry).map_err(LogError::from)?;
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx
            .send(Msg::Append(data, columns, reply))
            .map_err(|_| WriterError::Stopped)?;
        answer
            .recv()
            .map_err(|_| WriterError::Stopped)?
            .map_err(WriterError::Commit)
    }

    /// Keep a signed checkpoint of the current state in the history; returns the note.
    ///
    /// # Errors
    /// The commit failed or the writer stopped.
    pub fn checkpoint(&self) -> Result<String, WriterError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx
            .send(Msg::Checkpoint(reply))
            .map_err(|_| WriterError::Stopped)?;
        answer
            .recv()
            .map_err(|_| WriterError::Stopped)?
            .map_err(WriterError::Commit)
    }
}
