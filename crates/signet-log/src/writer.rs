//! Group commit: one writer thread owns the [`Log`]; any number of callers hand it entries
//! and wait for their index. The writer takes everything that is waiting (up to
//! [`MAX_BATCH`] entries), commits it in one durable transaction with one checkpoint
//! signature, then answers every caller. An append that returned `Ok` is on disk.
//!
//! Entries are encoded and their columns derived on the caller's thread, so the writer
//! does only hashing, one signature and the database commit per batch.
//!
//! With [`spawn_with_timestamps`], the writer also decides when a checkpoint is due for an
//! RFC 3161 time-stamp ([`crate::timestamp`]) and hands it to a stamper thread; it stores
//! the answer between batches and never waits for the TSA.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::entry::Entry;
use crate::log::{Log, LogError, columns_of};
use crate::store::{Columns, Store, StoredTimestamp};
use crate::timestamp::{META_FAILURES, META_LAST_ERROR, META_LAST_ERROR_AT, Schedule, Stamper};

/// How often an idle writer with a time-stamp schedule wakes up to check it.
const TICK: Duration = Duration::from_millis(200);
/// How long a stopping writer waits for a time-stamp request already sent.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

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
        .spawn(move || run(log, &rx, None))?;
    Ok((LogHandle { tx }, Writer { thread }))
}

/// Start a writer thread for `log` that also time-stamps its checkpoints on `schedule`
/// through `stamper`, which runs on a thread of its own. When the writer stops, the
/// stamper thread ends after its current request (a result that arrives later is dropped
/// and the checkpoint is time-stamped again on the next run).
///
/// # Errors
/// A thread cannot be spawned.
pub fn spawn_with_timestamps<S: Store + Send + 'static>(
    log: Log<S>,
    stamper: Box<dyn Stamper>,
    schedule: Schedule,
) -> std::io::Result<(LogHandle, Writer<S>)> {
    let (jobs_tx, jobs_rx) = mpsc::sync_channel::<(u64, String)>(1);
    let (results_tx, results) = mpsc::channel::<Result<StoredTimestamp, (u64, String)>>();
    thread::Builder::new()
        .name("signet-log-stamper".into())
        .spawn(move || {
            for (size, note) in jobs_rx {
                let result = stamper
                    .stamp(note.as_bytes())
                    .map(|(request, response)| StoredTimestamp {
                        size,
                        note,
                        request,
                        response,
                        stored_at: unix_now(),
                    })
                    .map_err(|e| (size, e));
                if results_tx.send(result).is_err() {
                    break;
                }
            }
        })?;
    let stamped = log
        .store()
        .timestamps()
        .ok()
        .and_then(|t| t.last().map(|t| t.size))
        .unwrap_or(0);
    let failures = log
        .store()
        .meta(META_FAILURES)
        .ok()
        .flatten()
        .and_then(|f| f.parse().ok())
        .unwrap_or(0);
    let now = Instant::now();
    let state = TsaState {
        schedule,
        jobs: jobs_tx,
        results,
        in_flight: false,
        stamped,
        // Entries not yet covered when the writer starts are due at once.
        last_at: now.checked_sub(schedule.every).unwrap_or(now),
        next_try: now,
        failures,
    };
    let (tx, rx) = mpsc::channel::<Msg>();
    let thread = thread::Builder::new()
        .name("signet-log-writer".into())
        .spawn(move || run(log, &rx, Some(state)))?;
    Ok((LogHandle { tx }, Writer { thread }))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .unwrap_or(0)
}

/// The writer's side of the time-stamp schedule.
struct TsaState {
    schedule: Schedule,
    jobs: mpsc::SyncSender<(u64, String)>,
    results: mpsc::Receiver<Result<StoredTimestamp, (u64, String)>>,
    in_flight: bool,
    /// The size of the newest time-stamped checkpoint.
    stamped: u64,
    last_at: Instant,
    next_try: Instant,
    failures: u64,
}

impl TsaState {
    /// Store answers that arrived; hand out a request if one is due. Never blocks.
    fn poll<S: Store>(&mut self, log: &mut Log<S>) {
        while let Ok(result) = self.results.try_recv() {
            self.store_result(log, result);
        }
        if self.in_flight {
            return;
        }
        let size = log.size();
        let now = Instant::now();
        let uncovered = size.saturating_sub(self.stamped);
        let due = uncovered > 0
            && (uncovered >= self.schedule.every_entries.max(1)
                || now.saturating_duration_since(self.last_at) >= self.schedule.every);
        if !due || now < self.next_try {
            return;
        }
        if let Ok(Some((cp_size, note))) = log.store().latest_checkpoint()
            && self.jobs.try_send((cp_size, note)).is_ok()
        {
            self.in_flight = true;
        }
    }

    /// At shutdown: wait up to `wait` for a request already sent, so its token is kept.
    fn finish<S: Store>(&mut self, log: &mut Log<S>, wait: Duration) {
        if self.in_flight
            && let Ok(result) = self.results.recv_timeout(wait)
        {
            self.store_result(log, result);
        }
    }

    fn store_result<S: Store>(
        &mut self,
        log: &mut Log<S>,
        result: Result<StoredTimestamp, (u64, String)>,
    ) {
        self.in_flight = false;
        let now = Instant::now();
        let stored = result.and_then(|ts| {
            let size = ts.size;
            log.store_mut()
                .put_timestamp(&ts, &[(META_FAILURES, "0")])
                .map(|()| size)
                .map_err(|e| (size, format!("cannot store the time-stamp: {e}")))
        });
        match stored {
            Ok(size) => {
                self.stamped = self.stamped.max(size);
                self.last_at = now;
                self.failures = 0;
                self.next_try = now;
            }
            Err((size, reason)) => {
                self.failures = self.failures.saturating_add(1);
                self.next_try = now
                    .checked_add(self.schedule.backoff(self.failures))
                    .unwrap_or(now);
                let failures = self.failures.to_string();
                let at = unix_now().to_string();
                let reason = format!("checkpoint of size {size}: {reason}");
                // Best effort: a log that cannot record this fails its appends anyway.
                let _ = log.store_mut().commit(&crate::store::Commit {
                    meta: &[
                        (META_FAILURES, failures.as_str()),
                        (META_LAST_ERROR, reason.as_str()),
                        (META_LAST_ERROR_AT, at.as_str()),
                    ],
                    ..Default::default()
                });
            }
        }
    }
}

fn run<S: Store>(mut log: Log<S>, rx: &mpsc::Receiver<Msg>, mut tsa: Option<TsaState>) -> Log<S> {
    let mut batch: Vec<(Vec<u8>, Columns)> = Vec::new();
    let mut replies: Vec<Reply> = Vec::new();
    loop {
        let first = if tsa.is_some() {
            match rx.recv_timeout(TICK) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => break,
            }
        };
        if let Some(t) = &mut tsa {
            t.poll(&mut log);
        }
        let Some(first) = first else {
            continue;
        };
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
        if let Some(t) = &mut tsa {
            t.poll(&mut log);
        }
    }
    if let Some(t) = &mut tsa {
        t.finish(&mut log, SHUTDOWN_WAIT);
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
