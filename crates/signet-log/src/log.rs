//! The log itself: appends entries to a [`Store`], keeps the Merkle tree's right edge,
//! signs a checkpoint with every commit, and answers proofs.
//!
//! Invariants, checked when a log is opened and kept by every commit:
//! - the stored latest checkpoint verifies with the log key and covers exactly the stored
//!   entries (same size, same root), so the log never signs a checkpoint that is not an
//!   extension of the last one it signed;
//! - entries, their tree nodes and the new checkpoint are committed in one transaction.
//!
//! A writer marks the log `open` in its metadata while it runs and `closed` on a clean
//! stop. Opening a log still marked `open` records a `restart` lifecycle entry: the previous
//! writer crashed or was killed.

use signet_core::alg::{Algorithm, SigningKey};
use signet_core::replay::UnixTime;

use crate::checkpoint::{self, Checkpoint};
use crate::entry::{Entry, EntryError, LifecycleEntry, LifecycleEvent};
use crate::merkle::{self, Appender, Hash, NodeReader};
use crate::note::NoteVerifier;
use crate::store::{Columns, Commit, Store, StoreError, StoredEntry};

/// Keep a checkpoint in the history every this many entries by default.
pub const DEFAULT_KEEP_EVERY: u64 = 1024;

/// How many times in a row a commit catches up with another writer before it gives up.
const MAX_CATCH_UPS: u32 = 16;

/// Errors from the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An entry could not be encoded.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The log key is not an Ed25519 key (C2SP note signatures are Ed25519).
    #[error("the log key must be an Ed25519 key, not `{0}`")]
    KeyAlgorithm(Algorithm),
    /// The stored log does not match its own metadata or last checkpoint.
    #[error("log refuses to open: {0}")]
    Inconsistent(String),
    /// A Merkle computation failed.
    #[error("merkle: {0}")]
    Merkle(String),
    /// No such entry.
    #[error("no entry at index {index}: the log has {size} entries")]
    NoSuchEntry {
        /// The index asked for.
        index: u64,
        /// The log size.
        size: u64,
    },
    /// Signing the checkpoint failed.
    #[error("cannot sign checkpoint: {0}")]
    Sign(String),
}

/// Reads perfect-subtree hashes from a store (the [`NodeReader`] the Merkle code needs).
#[derive(Debug)]
pub struct StoreNodes<'a, S: Store + ?Sized>(pub &'a S);

impl<S: Store + ?Sized> NodeReader for StoreNodes<'_, S> {
    type Error = StoreError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        self.0
            .nodes(&[(level, index)])?
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| StoreError::Corrupt(format!("tree node ({level}, {index}) is missing")))
    }

    fn nodes(&self, ids: &[(u8, u64)]) -> Result<Vec<Hash>, StoreError> {
        self.0
            .nodes(ids)?
            .into_iter()
            .zip(ids)
            .map(|(h, (level, index))| {
                h.ok_or_else(|| {
                    StoreError::Corrupt(format!("tree node ({level}, {index}) is missing"))
                })
            })
            .collect()
    }
}

/// The columns stored for `entry` (derived without verifying signatures; verification
/// re-derives them from verified statements and compares).
///
/// # Errors
/// [`EntryError`] if a statement inside does not decode.
pub fn columns_of(entry: &Entry) -> Result<Columns, EntryError> {
    let s = entry.summary()?;
    Ok(Columns {
        kind: entry.kind().to_owned(),
        at: s.at.map(|t| t.0),
        agent: s.agent,
        tool: s.tool,
        target: s.target,
        outcome: s.outcome,
        reference: s.intent_digest.map(|d| d.to_string()),
    })
}

/// Batches at least this large are encoded on all cores.
const PARALLEL_ENCODE_MIN: usize = 256;

fn encode_one(e: &Entry) -> Result<(Vec<u8>, Columns), EntryError> {
    Ok((e.leaf_data()?, columns_of(e)?))
}

/// Leaf data and columns of `entries`, in order. Encoding (canonical JSON, statement
/// decoding) costs more than storing, so a large batch is split over the cores.
fn encode_all(entries: &[Entry]) -> Result<Vec<(Vec<u8>, Columns)>, EntryError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 16);
    if threads == 1 || entries.len() < PARALLEL_ENCODE_MIN {
        return entries.iter().map(encode_one).collect();
    }
    let per = entries.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = entries
            .chunks(per)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(encode_one)
                        .collect::<Result<Vec<_>, EntryError>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(entries.len());
        for part in parts {
            let encoded = part
                .join()
                .map_err(|_| EntryError::Decode("encoder thread failed".into()))??;
            out.extend(encoded);
        }
        Ok(out)
    })
}

/// An open log with its writer state.
#[derive(Debug)]
pub struct Log<S: Store> {
    store: S,
    key: SigningKey,
    verifier: NoteVerifier,
    origin: String,
    appender: Appender,
    keep_every: u64,
    last_kept: u64,
}

impl<S: Store> Log<S> {
    /// Open `store` for writing as the log named `origin`, signing checkpoints with `key`.
    ///
    /// A new log gets a `log-opened` entry; a log whose last writer did not stop cleanly
    /// gets a `restart` entry. `detail` (program and version) goes into either.
    ///
    /// # Errors
    /// [`LogError::KeyAlgorithm`] for a non-Ed25519 key; [`LogError::Inconsistent`] if the
    /// store was made for another origin or key, or does not match its last checkpoint;
    /// store failures.
    pub fn open(
        store: S,
        key: SigningKey,
        origin: &str,
        now: UnixTime,
        detail: &str,
    ) -> Result<Self, LogError> {
        let (mut log, was_open) = Self::load(store, key, origin)?;
        let size = log.size();
        let event = if size == 0 {
            Some(LifecycleEvent::LogOpened)
        } else if was_open {
            Some(LifecycleEvent::Restart)
        } else {
            None
        };
        let marker: Vec<Entry> = event
            .map(|event| {
                Entry::Lifecycle(LifecycleEntry {
                    event,
                    at: now,
                    detail: Some(detail.to_owned()),
                })
            })
            .into_iter()
            .collect();
        let key_text = log.verifier.to_string();
        log.commit(
            &marker,
            &[
                ("origin", origin),
                ("log_key", key_text.as_str()),
                ("writer", "open"),
            ],
            size == 0,
        )?;
        Ok(log)
    }

    /// Open an existing log for maintenance (`signet log checkpoint`): the same checks as
    /// [`Log::open`], but no lifecycle entry and no change to the writer mark.
    ///
    /// # Errors
    /// As [`Log::open`].
    pub fn open_maintenance(store: S, key: SigningKey, origin: &str) -> Result<Self, LogError> {
        Ok(Self::load(store, key, origin)?.0)
    }

    fn load(mut store: S, key: SigningKey, origin: &str) -> Result<(Self, bool), LogError> {
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(LogError::KeyAlgorithm(key.algorithm()));
        }
        let verifier = NoteVerifier::new(origin, &key.public_key())
            .map_err(|e| LogError::Inconsistent(e.to_string()))?;
        let key_text = verifier.to_string();
        for (name, want) in [("origin", origin), ("log_key", key_text.as_str())] {
            if let Some(have) = store.meta(name)?
                && have != want
            {
                return Err(LogError::Inconsistent(format!(
                    "this log's {name} is `{have}`, not `{want}`"
                )));
            }
        }
        let size = store.size()?;
        let appender = Appender::restore(merkle::TreeSize(size), &StoreNodes(&store))
            .map_err(|e| LogError::Inconsistent(format!("cannot rebuild the tree: {e}")))?;
        match store.latest_checkpoint()? {
            Some((cp_size, note)) => {
                let cp = checkpoint::open_checkpoint(&note, &verifier).map_err(|e| {
                    LogError::Inconsistent(format!("the latest checkpoint does not verify: {e}"))
                })?;
                if cp.size.0 != size || cp_size != size || cp.root != appender.root() {
                    return Err(LogError::Inconsistent(format!(
                        "the latest signed checkpoint (size {}) does not match the stored \
                         entries (size {size}); run `signet log verify`",
                        cp.size.0
                    )));
                }
            }
            None if size > 0 => {
                return Err(LogError::Inconsistent(format!(
                    "{size} entries but no signed checkpoint; run `signet log verify`"
                )));
            }
            None => {}
        }
        let last_kept = store.checkpoints()?.last().map_or(0, |(s, _)| *s);
        // Marked open by a writer that is gone (a crash), not by one still running.
        // (Asked first: asking registers this process as a writer.)
        let others = store.other_writers()?;
        let was_open = store.meta("writer")?.as_deref() == Some("open") && !others;
        Ok((
            Log {
                store,
                key,
                verifier,
                origin: origin.to_owned(),
                appender,
                keep_every: DEFAULT_KEEP_EVERY,
                last_kept,
            },
            was_open,
        ))
    }

    /// Keep a checkpoint in the history every `n` entries (at least 1).
    pub fn keep_every(&mut self, n: u64) {
        self.keep_every = n.max(1);
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, for writes that are not entries (checkpoint time-stamps and their
    /// metadata).
    pub(crate) fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The log's note verifier (its public identity).
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.appender.size().0
    }

    /// The current root hash.
    pub fn root(&self) -> Hash {
        self.appender.root()
    }

    /// Append entries in one durable commit; returns their indices.
    ///
    /// # Errors
    /// Encoding or store failures; then nothing was appended.
    pub fn append(&mut self, entries: &[Entry]) -> Result<Vec<u64>, LogError> {
        self.commit(entries, &[], false)?;
        let end = self.size();
        // (Indices are known only after the commit: another process may have appended.)
        Ok((end.saturating_sub(entries.len() as u64)..end).collect())
    }

    /// Append entries given as already-encoded leaf data with their columns (the group
    /// commit path, which encodes outside the writer).
    ///
    /// # Errors
    /// As [`Log::append`].
    pub fn append_encoded(&mut self, entries: Vec<(Vec<u8>, Columns)>) -> Result<u64, LogError> {
        let n = entries.len() as u64;
        self.append_rows(entries, &[], false)?;
        Ok(self.size().saturating_sub(n))
    }

    /// Sign the current state and keep the checkpoint in the history; returns the signed
    /// note.
    ///
    /// # Errors
    /// Store failures.
    pub fn checkpoint(&mut self) -> Result<String, LogError> {
        self.commit(&[], &[], true)?;
        self.store
            .latest_checkpoint()?
            .map(|(_, n)| n)
            .ok_or_else(|| LogError::Inconsistent("checkpoint vanished".into()))
    }

    /// Record a clean stop and mark the log closed.
    ///
    /// # Errors
    /// Store failures.
    pub fn close(mut self, now: UnixTime, detail: &str) -> Result<S, LogError> {
        let stop = Entry::Lifecycle(LifecycleEntry {
            event: LifecycleEvent::Stop,
            at: now,
            detail: Some(detail.to_owned()),
        });
        // Another process still writing keeps the log marked open (its crash must show).
        let meta: &[(&str, &str)] = if self.store.other_writers()? {
            &[]
        } else {
            &[("writer", "closed")]
        };
        self.commit(&[stop], meta, true)?;
        Ok(self.store)
    }

    fn commit(
        &mut self,
        entries: &[Entry],
        meta: &[(&str, &str)],
        keep: bool,
    ) -> Result<(), LogError> {
        self.append_rows(encode_all(entries)?, meta, keep)
    }

    /// Hash `rows` into the tree and commit them with a new checkpoint; on any failure the
    /// in-memory tree is rolled back and nothing is written.
    ///
    /// Several processes may write one log (two proxies sharing the default log file): when
    /// another one appended since this one last read the store, the commit is refused
    /// ([`StoreError::Conflict`]), the tree is re-read from the store — after checking that
    /// the other writer's signed checkpoint covers it and extends the tree this process
    /// last signed — and the batch is committed after it.
    fn append_rows(
        &mut self,
        rows: Vec<(Vec<u8>, Columns)>,
        meta: &[(&str, &str)],
        keep: bool,
    ) -> Result<(), LogError> {
        let mut stored: Vec<StoredEntry> = rows
            .into_iter()
            .map(|(data, columns)| StoredEntry {
                index: 0,
                data,
                columns,
            })
            .collect();
        let mut tries = 0u32;
        loop {
            match self.try_append_rows(&mut stored, meta, keep) {
                Err(LogError::Store(StoreError::Conflict { .. })) if tries < MAX_CATCH_UPS => {
                    tries = tries.saturating_add(1);
                    self.catch_up()?;
                }
                other => return other,
            }
        }
    }

    /// Re-read the tree another writer extended: its latest checkpoint must be signed with
    /// this log's key, cover the stored entries, and be consistent with this process's
    /// last tree (RFC 9162 consistency proof).
    fn catch_up(&mut self) -> Result<(), LogError> {
        let (old_size, old_root) = (self.size(), self.appender.root());
        let size = self.store.size()?;
        let appender = Appender::restore(merkle::TreeSize(size), &StoreNodes(&self.store))
            .map_err(|e| LogError::Inconsistent(format!("cannot rebuild the tree: {e}")))?;
        let (cp_size, note) = self.store.latest_checkpoint()?.ok_or_else(|| {
            LogError::Inconsistent("another writer appended without a checkpoint".into())
        })?;
        let cp = checkpoint::open_checkpoint(&note, &self.verifier).map_err(|e| {
            LogError::Inconsistent(format!("another writer's checkpoint does not verify: {e}"))
        })?;
        if cp.size.0 != size || cp_size != size || cp.root != appender.root() {
            return Err(LogError::Inconsistent(format!(
                "another writer's checkpoint (size {}) does not match the stored entries (size {size})",
                cp.size.0
            )));
        }
        if old_size > 0 {
            let proof = merkle::consistency_proof(
                merkle::TreeSize(old_size),
                merkle::TreeSize(size),
                &StoreNodes(&self.store),
            )
            .map_err(|e| LogError::Inconsistent(format!("consistency proof: {e}")))?;
            merkle::verify_consistency(
                merkle::TreeSize(old_size),
                merkle::TreeSize(size),
                &old_root,
                &cp.root,
                &proof,
            )
            .map_err(|e| {
                LogError::Inconsistent(format!(
                    "the log another writer extended is not an extension of this one's (size {old_size} → {size}): {e}"
                ))
            })?;
        }
        self.appender = appender;
        self.last_kept = self.store.checkpoints()?.last().map_or(0, |(s, _)| *s);
        Ok(())
    }

    fn try_append_rows(
        &mut self,
        stored: &mut [StoredEntry],
        meta: &[(&str, &str)],
        keep: bool,
    ) -> Result<(), LogError> {
        let first = self.size();
        let saved = self.appender.clone();
        let mut nodes = Vec::with_capacity(stored.len().saturating_mul(2));
        for (i, e) in (first..).zip(stored.iter_mut()) {
            match self.appender.append(merkle::leaf_hash(&e.data)) {
                Ok(n) => nodes.extend(n),
                Err(err) => {
                    self.appender = saved;
                    return Err(LogError::Merkle(err.to_string()));
                }
            }
            e.index = i;
        }
        match self.write(stored, &nodes, meta, keep) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.appender = saved;
                Err(e)
            }
        }
    }

    fn write(
        &mut self,
        stored: &[StoredEntry],
        nodes: &[(u8, u64, Hash)],
        meta: &[(&str, &str)],
        keep: bool,
    ) -> Result<(), LogError> {
        let size = self.size();
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size: merkle::TreeSize(size),
            root: self.appender.root(),
            extensions: Vec::new(),
        };
        let note = checkpoint::sign_checkpoint(&cp, &self.origin, &self.key)
            .map_err(|e| LogError::Sign(e.to_string()))?;
        let keep = keep || size >= self.last_kept.saturating_add(self.keep_every);
        self.store.commit(&Commit {
            entries: stored,
            nodes,
            checkpoint: Some((size, &note)),
            keep_checkpoint: keep,
            meta,
        })?;
        if keep {
            self.last_kept = size;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::sqlite::SqliteStore;

    fn key(b: u8) -> SigningKey {
        SigningKey::from_seed(Algorithm::Ed25519, &[b; 32]).unwrap()
    }

    fn kinds<S: Store>(log: &Log<S>) -> Vec<String> {
        let mut out = Vec::new();
        log.store()
            .scan(0, &mut |e| {
                let en = Entry::from_leaf_data(&e.data).unwrap();
                out.push(en.summary().unwrap().outcome.unwrap_or_default());
                Ok(true)
            })
            .unwrap();
        out
    }

    #[test]
    fn markers_for_open_clean_stop_and_crash() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.db");
        let t = UnixTime(1_795_000_000);
        let log = Log::open(SqliteStore::open(&p).unwrap(), key(1), "o", t, "v").unwrap();
        assert_eq!(log.size(), 1);
        log.close(t, "v").unwrap();
        // Clean stop: reopening adds nothing.
        let log = Log::open(SqliteStore::open(&p).unwrap(), key(1), "o", t, "v").unwrap();
        assert_eq!(kinds(&log), ["log-opened", "stop"]);
        drop(log); // no close: like a crash
        let log = Log::open(SqliteStore::open(&p).unwrap(), key(1), "o", t, "v").unwrap();
        assert_eq!(kinds(&log), ["log-opened", "stop", "restart"]);
    }

    #[test]
    fn refuses_other_key_origin_and_a_stale_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.db");
        let t = UnixTime(1_795_000_000);
        Log::open(SqliteStore::open(&p).unwrap(), key(1), "o", t, "v")
            .unwrap()
            .close(t, "v")
            .unwrap();
        for (k, origin) in [(key(2), "o"), (key(1), "other")] {
            let err = Log::open(SqliteStore::open(&p).unwrap(), k, origin, t, "v").unwrap_err();
            assert!(matches!(err, LogError::Inconsistent(_)), "{err}");
        }
        let err = Log::open(
            SqliteStore::open(&p).unwrap(),
            SigningKey::from_seed(Algorithm::MlDsa65, &[1; 32]).unwrap(),
            "o",
            t,
            "v",
        )
        .unwrap_err();
        assert!(matches!(err, LogError::KeyAlgorithm(_)));
        // An entry added behind the log's back: the latest checkpoint no longer matches.
        {
            let c = rusqlite::Connection::open(&p).unwrap();
            c.execute(
                "INSERT INTO entries(idx, kind, data) VALUES (2, 'lifecycle', x'7b7d')",
                [],
            )
            .unwrap();
        }
        let err = Log::open(SqliteStore::open(&p).unwrap(), key(1), "o", t, "v").unwrap_err();
        assert!(matches!(err, LogError::Inconsistent(_)), "{err}");
    }
}
