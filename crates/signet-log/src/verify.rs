//! Whole-log verification: recompute the tree from the entries, check every signature,
//! every binding and every checkpoint, and report each problem by index and reason.
//!
//! What is checked:
//! - entries are numbered 0..n without gaps, each is canonical, decodes, and its statements
//!   verify; the stored listing columns equal what the entry says;
//! - each receipt names an intent logged before it (and its `log_index`, when present, is
//!   that intent's index);
//! - the stored tree nodes equal the ones recomputed from the entries (level by level);
//! - every kept checkpoint and the latest one verify with the log key and commit to the
//!   root recomputed at their size; the latest covers every entry.
//!
//! - every stored RFC 3161 time-stamp ([`crate::timestamp`]): its checkpoint verifies with
//!   the log key and commits to the root recomputed at its size, its request is for that
//!   note, its token verifies against the given trust anchors (when there are any) with
//!   the request's nonce, and token times never go back as the tree grows. Entries no token
//!   covers, and the last failed request, are reported as a gap, not as a problem: tokens
//!   are optional.
//!
//! Signatures are checked on all cores, in chunks, while the next chunk is read; each
//! thread decodes a signer's key once ([`KeyCache`]) and otherwise checks every statement
//! exactly as signet-core's `statement::verify_parsed` does, with the Ed25519 equations
//! of a thread's part of a chunk computed together (`signet_core::many`: the same answer
//! as `verify_strict` for each signature; not batch verification).

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use crate::checkpoint::{self, Checkpoint};
use crate::entry::{Entry, KeyCache, Summary};
use crate::log::StoreNodes;
use crate::merkle::{self, Appender, Hash};
use crate::note::NoteVerifier;
use crate::store::{Columns, Store, StoreError, StoredEntry};
use crate::timestamp::{self, META_FAILURES, META_LAST_ERROR, META_LAST_ERROR_AT};

/// Entries checked per parallel chunk.
const CHUNK: usize = 4096;

/// One thing wrong with the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The entry index, when the problem is one entry's.
    pub index: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// The result of verifying a log.
#[derive(Debug, Clone)]
pub struct Report {
    /// Entries found.
    pub entries: u64,
    /// Statement signatures verified.
    pub signatures: u64,
    /// Checkpoints verified.
    pub checkpoints: u64,
    /// The root recomputed from the entries.
    pub root: Hash,
    /// The latest checkpoint, when it verified.
    pub latest: Option<Checkpoint>,
    /// Everything wrong, in order found.
    pub problems: Vec<Problem>,
    /// The checkpoint time-stamps.
    pub timestamps: TimestampReport,
}

/// What `verify_log` found about checkpoint time-stamps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimestampReport {
    /// Stored time-stamps.
    pub tokens: u64,
    /// Tokens verified against the trust anchors (0 when none were given).
    pub verified: u64,
    /// Whether trust anchors were given (without them tokens are not checked).
    pub checked: bool,
    /// The newest time-stamped checkpoint's size and token time (RFC 3339, when checked).
    pub latest: Option<(u64, Option<String>)>,
    /// Entries `from..to` that no time-stamped checkpoint covers.
    pub gap: Option<(u64, u64)>,
    /// Consecutive failed requests and the last failure's reason and time, as recorded by
    /// the writer.
    pub last_failure: Option<(u64, String, Option<i64>)>,
}

impl Report {
    /// True when nothing is wrong.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

fn expected_columns(entry: &Entry, s: &Summary) -> Columns {
    Columns {
        kind: entry.kind().to_owned(),
        at: s.at.map(|t| t.0),
        agent: s.agent.clone(),
        tool: s.tool.clone(),
        target: s.target.clone(),
        outcome: s.outcome.clone(),
        reference: s.intent_digest.as_ref().map(ToString::to_string),
    }
}

/// Per-entry result of the parallel part: the verified entry, and a problem with its stored
/// columns if any (the entry itself still counts, so later receipts can name it).
type Checked = Result<(Entry, Summary, Option<String>), String>;

/// A chunk of entries and the thread checking it.
type Job<'scope> = (
    Arc<Vec<StoredEntry>>,
    std::thread::ScopedJoinHandle<'scope, Vec<Checked>>,
);

/// Check one entry, with its Ed25519 signature check queued in `keys`; the ticket comes
/// with the result (see [`Entry::check_queued`]).
fn check_one(e: &StoredEntry, keys: &mut KeyCache) -> (Checked, Option<usize>) {
    let entry = match Entry::from_leaf_data(&e.data) {
        Ok(entry) => entry,
        Err(err) => return (Err(err.to_string()), None),
    };
    let (summary, ticket) = entry.check_queued(keys);
    let checked = summary.map_err(|err| err.to_string()).map(|summary| {
        let columns = (expected_columns(&entry, &summary) != e.columns)
            .then(|| "stored listing columns differ from the entry".to_owned());
        (entry, summary, columns)
    });
    (checked, ticket)
}

/// Check a part of a chunk with one thread's key cache.
fn check_part(part: &[StoredEntry], keys: &mut KeyCache) -> Vec<Checked> {
    let (mut results, tickets): (Vec<Checked>, Vec<Option<usize>>) =
        part.iter().map(|e| check_one(e, keys)).unzip();
    let answers = keys.finish();
    for (result, ticket) in results.iter_mut().zip(tickets) {
        // A signature that does not verify decides the entry's result, as in `Entry::check`.
        if let Some(t) = ticket
            && !answers.get(t).copied().unwrap_or(false)
        {
            *result = Err(crate::entry::signature_refused().to_string());
        }
    }
    results
}

/// The verifier threads' key caches, kept from chunk to chunk (a cache holds each signer's
/// decoded key and, for frequent signers, a precomputed table).
fn key_caches() -> Vec<std::sync::Mutex<KeyCache>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 16);
    (0..threads)
        .map(|_| std::sync::Mutex::new(KeyCache::new()))
        .collect()
}

fn check_chunk(chunk: &[StoredEntry], caches: &[std::sync::Mutex<KeyCache>]) -> Vec<Checked> {
    let per = chunk.len().div_ceil(caches.len().max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = chunk
            .chunks(per)
            .zip(caches)
            .map(|(part, cache)| {
                s.spawn(move || {
                    // A poisoned cache (a verifier thread panicked) is replaced by a new one.
                    let mut keys = cache.lock().unwrap_or_else(|p| {
                        let mut g = p.into_inner();
                        *g = KeyCache::new();
                        g
                    });
                    check_part(part, &mut keys)
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![Err("verifier thread failed".into())])
            })
            .collect()
    })
}

/// A running digest of one tree level's nodes, in index order.
#[derive(Default)]
struct LevelDigest {
    hasher: Sha256,
    count: u64,
}

impl LevelDigest {
    fn add(&mut self, index: u64, hash: &Hash) {
        self.hasher.update(index.to_be_bytes());
        self.hasher.update(hash.as_bytes());
        self.count = self.count.saturating_add(1);
    }
    fn finish(self) -> (Vec<u8>, u64) {
        (self.hasher.finalize().to_vec(), self.count)
    }
}

struct State {
    appender: Appender,
    expected_index: u64,
    intents: HashMap<[u8; 32], u64>,
    recomputed: Vec<LevelDigest>,
    signatures: u64,
    roots_at: HashMap<u64, Hash>,
}

/// Verify the whole log in `store` with the log's key. `progress(done, total)` is called
/// after each chunk.
///
/// # Errors
/// Only when the store cannot be read; everything wrong with the data is in the report.
pub fn verify_log<S: Store>(
    store: &S,
    key: &NoteVerifier,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, StoreError> {
    verify_log_with(store, key, None, progress)
}

/// [`verify_log`], also verifying the checkpoint time-stamps against `tsa_anchors` (without
/// anchors their checkpoints are still checked, their tokens are not).
///
/// # Errors
/// Only when the store cannot be read; everything wrong with the data is in the report.
pub fn verify_log_with<S: Store>(
    store: &S,
    key: &NoteVerifier,
    tsa_anchors: Option<&signet_tsa::TrustAnchors>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, StoreError> {
    let total = store.size()?;
    let mut problems = Vec::new();
    let kept = store.checkpoints()?;
    let latest = store.latest_checkpoint()?;
    let stamps = store.timestamps()?;
    let mut wanted_sizes: Vec<u64> = kept.iter().map(|(s, _)| *s).collect();
    wanted_sizes.extend(stamps.iter().map(|t| t.size));
    if let Some((s, _)) = &latest {
        wanted_sizes.push(*s);
    }
    // Sorted for binary search: a log keeps a checkpoint every 1024 entries, so a linear
    // search per entry would make verification quadratic in the log size.
    wanted_sizes.sort_unstable();
    wanted_sizes.dedup();

    let mut st = State {
        appender: Appender::new(),
        expected_index: 0,
        intents: HashMap::new(),
        recomputed: Vec::new(),
        signatures: 0,
        roots_at: HashMap::new(),
    };
    if wanted_sizes.binary_search(&0).is_ok() {
        st.roots_at.insert(0, st.appender.root());
    }
    // Pipelined: while one chunk's statements are checked on all cores, this thread reads
    // the next chunk from the store; results are absorbed strictly in index order.
    let mut finish = |job: Option<Job<'_>>, st: &mut State, problems: &mut Vec<Problem>| {
        if let Some((entries, handle)) = job {
            let results = handle.join().unwrap_or_else(|_| {
                entries
                    .iter()
                    .map(|_| Err("verifier thread failed".into()))
                    .collect()
            });
            for (stored, result) in entries.iter().zip(results) {
                absorb(st, problems, &wanted_sizes, stored, result);
            }
            progress(st.expected_index, total);
        }
    };
    let caches = key_caches();
    let caches = &caches;
    std::thread::scope(|s| {
        let mut chunk: Vec<StoredEntry> = Vec::with_capacity(CHUNK);
        let mut in_flight: Option<Job<'_>> = None;
        let submit = |chunk: Vec<StoredEntry>| -> Job<'_> {
            let entries = Arc::new(chunk);
            let theirs = Arc::clone(&entries);
            (entries, s.spawn(move || check_chunk(&theirs, caches)))
        };
        let scanned = store.scan(0, &mut |e| {
            chunk.push(e);
            if chunk.len() >= CHUNK {
                let job = submit(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
                finish(in_flight.replace(job), &mut st, &mut problems);
            }
            Ok(true)
        });
        finish(in_flight.take(), &mut st, &mut problems);
        scanned?;
        // The last, partial chunk (possibly empty: progress is still reported once).
        finish(Some(submit(chunk)), &mut st, &mut problems);
        Ok::<(), StoreError>(())
    })?;

    // Stored tree nodes against the recomputed ones, level by level.
    let mut stored_levels: Vec<LevelDigest> = Vec::new();
    store.scan_nodes(&mut |level, index, hash| {
        let l = usize::from(level);
        while stored_levels.len() <= l {
            stored_levels.push(LevelDigest::default());
        }
        if let Some(d) = stored_levels.get_mut(l) {
            d.add(index, &hash);
        }
        Ok(())
    })?;
    let levels = stored_levels.len().max(st.recomputed.len());
    let mut stored_iter = stored_levels.into_iter();
    let mut recomputed_iter = std::mem::take(&mut st.recomputed).into_iter();
    for level in 0..levels {
        let a = stored_iter.next().unwrap_or_default().finish();
        let b = recomputed_iter.next().unwrap_or_default().finish();
        if a != b {
            problems.push(Problem {
                index: None,
                reason: format!(
                    "stored tree nodes at level {level} ({} stored, {} expected) differ from the \
                     nodes recomputed from the entries",
                    a.1, b.1
                ),
            });
        }
    }

    // Checkpoints.
    let mut checkpoints = 0u64;
    let mut check_cp = |what: &str, size: u64, note: &str, problems: &mut Vec<Problem>| {
        match checkpoint::open_checkpoint(note, key) {
            Err(e) => problems.push(Problem {
                index: None,
                reason: format!("{what} checkpoint (size {size}) does not verify: {e}"),
            }),
            Ok(cp) if cp.size.0 != size => problems.push(Problem {
                index: None,
                reason: format!(
                    "{what} checkpoint is stored as size {size} but signs size {}",
                    cp.size.0
                ),
            }),
            Ok(cp) => match st.roots_at.get(&size) {
                Some(root) if *root == cp.root => {
                    checkpoints = checkpoints.saturating_add(1);
                    return Some(cp);
                }
                Some(_) => problems.push(Problem {
                    index: None,
                    reason: format!(
                        "{what} checkpoint (size {size}) signs a root that the entries do not \
                         produce: entries before {size} were changed"
                    ),
                }),
                None => problems.push(Problem {
                    index: None,
                    reason: format!(
                        "{what} checkpoint signs size {size} but the log has {} entries: \
                         entries were removed",
                        st.expected_index
                    ),
                }),
            },
        }
        None
    };
    for (size, note) in &kept {
        check_cp("kept", *size, note, &mut problems);
    }
    let latest_cp = match &latest {
        Some((size, note)) => {
            let cp = check_cp("latest", *size, note, &mut problems);
            if *size < st.expected_index {
                problems.push(Problem {
                    index: Some(*size),
                    reason: format!(
                        "entries {size}..{} are not covered by the latest signed checkpoint: \
                         added after signing",
                        st.expected_index
                    ),
                });
            }
            cp
        }
        None if st.expected_index > 0 => {
            problems.push(Problem {
                index: None,
                reason: "the log has entries but no signed checkpoint".into(),
            });
            None
        }
        None => None,
    };
    if total != st.expected_index {
        problems.push(Problem {
            index: None,
            reason: format!(
                "the store counts {total} entries but {} were read",
                st.expected_index
            ),
        });
    }
    let timestamps = check_timestamps(
        store,
        &stamps,
        key,
        tsa_anchors,
        &st.roots_at,
        st.expected_index,
        &mut problems,
    )?;
    Ok(Report {
        entries: st.expected_index,
        signatures: st.signatures,
        checkpoints,
        root: st.appender.root(),
        latest: latest_cp,
        problems,
        timestamps,
    })
}

/// Check the stored time-stamps (see the module docs).
fn check_timestamps<S: Store>(
    store: &S,
    stamps: &[crate::store::StoredTimestamp],
    key: &NoteVerifier,
    anchors: Option<&signet_tsa::TrustAnchors>,
    roots_at: &HashMap<u64, Hash>,
    entries: u64,
    problems: &mut Vec<Problem>,
) -> Result<TimestampReport, StoreError> {
    let mut report = TimestampReport {
        tokens: u64::try_from(stamps.len()).unwrap_or(u64::MAX),
        checked: anchors.is_some(),
        ..TimestampReport::default()
    };
    let mut newest_ok: Option<u64> = None;
    let mut previous: Option<(u64, i64)> = None;
    for ts in stamps {
        let size = ts.size;
        let fail = |reason: String| Problem {
            index: None,
            reason: format!("time-stamp of checkpoint size {size}: {reason}"),
        };
        match checkpoint::open_checkpoint(&ts.note, key) {
            Err(e) => {
                problems.push(fail(format!("its checkpoint does not verify: {e}")));
                continue;
            }
            Ok(cp) if cp.size.0 != size => {
                problems.push(fail(format!("its checkpoint signs size {}", cp.size.0)));
                continue;
            }
            Ok(cp) => match roots_at.get(&size) {
                Some(root) if *root == cp.root => {}
                Some(_) => {
                    problems.push(fail(
                        "its checkpoint signs a root that the entries do not produce".into(),
                    ));
                    continue;
                }
                None => {
                    problems.push(fail(format!(
                        "the log has only {entries} entries: entries were removed"
                    )));
                    continue;
                }
            },
        }
        let mut time = None;
        if let Some(anchors) = anchors {
            match timestamp::verify_stored(ts, anchors) {
                Ok(t) => {
                    if let Some((prev_size, prev_time)) = previous
                        && t.time < prev_time
                    {
                        problems.push(fail(format!(
                            "token time {} is before the token of the smaller checkpoint \
                             size {prev_size}: time went back",
                            t.time_text
                        )));
                    }
                    previous = Some((size, t.time));
                    report.verified = report.verified.saturating_add(1);
                    time = Some(t.time_text);
                }
                Err(e) => {
                    problems.push(fail(format!("token does not verify: {e}")));
                    continue;
                }
            }
        }
        newest_ok = Some(size);
        report.latest = Some((size, time));
    }
    let covered = newest_ok.unwrap_or(0);
    if covered < entries {
        report.gap = Some((covered, entries));
    }
    let failures: u64 = store
        .meta(META_FAILURES)?
        .and_then(|f| f.parse().ok())
        .unwrap_or(0);
    if failures > 0
        && let Some(reason) = store.meta(META_LAST_ERROR)?
    {
        let at = store.meta(META_LAST_ERROR_AT)?.and_then(|a| a.parse().ok());
        report.last_failure = Some((failures, reason, at));
    }
    Ok(report)
}

fn absorb(
    st: &mut State,
    problems: &mut Vec<Problem>,
    wanted_sizes: &[u64],
    stored: &StoredEntry,
    result: Checked,
) {
    if stored.index != st.expected_index {
        problems.push(Problem {
            index: Some(stored.index),
            reason: if stored.index > st.expected_index {
                format!(
                    "entries {}..{} are missing",
                    st.expected_index, stored.index
                )
            } else {
                "entry out of order".into()
            },
        });
    }
    // The tree is built over the entries as stored, in the order read, so every later root
    // reflects the damage too.
    let i = st.appender.size().0;
    let completed = match st.appender.append(merkle::leaf_hash(&stored.data)) {
        Ok(c) => c,
        Err(e) => {
            problems.push(Problem {
                index: Some(stored.index),
                reason: e.to_string(),
            });
            return;
        }
    };
    for (level, index, hash) in completed {
        let l = usize::from(level);
        while st.recomputed.len() <= l {
            st.recomputed.push(LevelDigest::default());
        }
        if let Some(d) = st.recomputed.get_mut(l) {
            d.add(index, &hash);
        }
    }
    st.expected_index = st.appender.size().0;
    if wanted_sizes.binary_search(&st.expected_index).is_ok() {
        st.roots_at.insert(st.expected_index, st.appender.root());
    }
    match result {
        Err(reason) => problems.push(Problem {
            index: Some(stored.index),
            reason,
        }),
        Ok((entry, summary, column_problem)) => {
            if let Some(reason) = column_problem {
                problems.push(Problem {
                    index: Some(stored.index),
                    reason,
                });
            }
            if matches!(entry, Entry::Intent(_) | Entry::Receipt(_)) {
                st.signatures = st.signatures.saturating_add(1);
            }
            if let Some(d) = &summary.intent_digest {
                st.intents.insert(*d.as_bytes(), i);
            }
            if let Some((intent, log_index)) = &summary.receipt {
                match st.intents.get(intent.as_bytes()) {
                    None => problems.push(Problem {
                        index: Some(stored.index),
                        reason: "receipt names an intent that is not in the log before it".into(),
                    }),
                    Some(at) if log_index.is_some_and(|li| li != *at) => problems.push(Problem {
                        index: Some(stored.index),
                        reason: format!(
                            "receipt says its intent is entry {}, but it is entry {at}",
                            log_index.unwrap_or_default()
                        ),
                    }),
                    Some(_) => {}
                }
            }
        }
    }
}

/// Recompute the root at `size` from the store's nodes (O(log n) reads).
///
/// # Errors
/// Missing nodes or store failures.
pub fn stored_root<S: Store>(store: &S, size: u64) -> Result<Hash, StoreError> {
    merkle::root(merkle::TreeSize(size), &StoreNodes(store))
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}
