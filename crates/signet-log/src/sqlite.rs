//! The embedded default store: one SQLite file in WAL mode with `synchronous = FULL`, so a
//! commit that returned is on disk (it survives `kill -9` and power loss, as far as the
//! disk honours `fsync`).
//!
//! Schema (version 1):
//!
//! ```sql
//! meta(key TEXT PRIMARY KEY, value TEXT)
//! entries(idx INTEGER PRIMARY KEY, kind, at, agent, tool, target, outcome, reference, data BLOB)
//! nodes(level, idx, hash BLOB, PRIMARY KEY(level, idx)) WITHOUT ROWID
//! checkpoints(size INTEGER PRIMARY KEY, note TEXT)   -- kept checkpoints
//! latest(id = 1, size, note)                           -- the newest signed checkpoint
//! nonces(signer, nonce, forget_after, PRIMARY KEY(signer, nonce)) WITHOUT ROWID
//! timestamps(size INTEGER PRIMARY KEY, note, request BLOB, response BLOB, stored_at)
//! ```
//!
//! `timestamps` (RFC 3161 tokens of checkpoints) was added without a version change: it
//! is created by `CREATE TABLE IF NOT EXISTS` when a log is opened for writing, older
//! signet versions ignore it, and a read-only open of an older log reads it as empty.
//!
//! Connections also get a 64 MiB page cache and a WAL checkpoint every 10 000 pages, and a
//! store opened for writing runs a background checkpointer (speed only; durability is
//! `synchronous = FULL` and does not depend on them). The
//! power-loss model the crash tests use is described in `docs/spec.md` §13.6.
//!
//! SQL stays in this module.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use signet_core::replay::UnixTime;

use crate::merkle::Hash;
use crate::store::{Columns, Commit, Filter, Store, StoreError, StoredEntry, StoredTimestamp};

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries(
    idx INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER,
    agent TEXT,
    tool TEXT,
    target TEXT,
    outcome TEXT,
    reference TEXT,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_at ON entries(at);
CREATE INDEX IF NOT EXISTS entries_tool ON entries(tool);
CREATE TABLE IF NOT EXISTS nodes(
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY(level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints(size INTEGER PRIMARY KEY NOT NULL, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS latest(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces(
    signer TEXT NOT NULL,
    nonce TEXT NOT NULL,
    forget_after INTEGER NOT NULL,
    PRIMARY KEY(signer, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces(forget_after);
CREATE TABLE IF NOT EXISTS timestamps(
    size INTEGER PRIMARY KEY NOT NULL,
    note TEXT NOT NULL,
    request BLOB NOT NULL,
    response BLOB NOT NULL,
    stored_at INTEGER NOT NULL
);
";

/// Page cache per connection, in KiB (SQLite's negative `cache_size`): the interior pages
/// of the entry, index and node B-trees stay cached as the log grows, so an append reads
/// no page from the file.
const CACHE_KIB: i64 = -65_536;

/// WAL pages after which a commit checkpoints the WAL into the database file (SQLite's
/// default is 1000). Checkpoints fsync the database file; fewer, larger ones cost less per
/// entry. The WAL is reset (rewritten from its start) after a complete checkpoint, so it
/// stays near this size (about 40 MB with 4 KiB pages).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 10_000;

/// Bytes the WAL file is truncated to after a checkpoint reset it: twice the checkpoint
/// size.
const JOURNAL_SIZE_LIMIT: i64 = 2 * 4096 * WAL_AUTOCHECKPOINT_PAGES;

/// Connection settings for speed that do not weaken durability (`synchronous` stays FULL).
fn tune(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "cache_size", CACHE_KIB)
        .map_err(be)?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        .map_err(be)?;
    // Keep the WAL file from growing past twice the checkpoint size after a long reader.
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
        .map_err(be)?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(be)?;
    Ok(())
}

/// Entries committed after which the background checkpointer copies the WAL into the
/// database file (about 1.2 MB of WAL per 1000 entries of the usual size).
const BACKGROUND_CHECKPOINT_ENTRIES: u64 = 5_000;

/// A log stored in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    /// The background WAL checkpointer of a file opened for writing (first, so it stops
    /// before the writer's connection closes and runs SQLite's last checkpoint).
    checkpointer: Option<Checkpointer>,
    conn: Connection,
    /// This process's shared lock on `<file>-writers`, held while it writes the log (see
    /// [`Store::other_writers`]).
    writers: Option<std::fs::File>,
}

/// A thread with its own connection that copies committed WAL frames into the database
/// file (`PRAGMA wal_checkpoint(PASSIVE)`) while the writer goes on, so the writer's own
/// automatic checkpoint, when the WAL reaches [`WAL_AUTOCHECKPOINT_PAGES`], finds most
/// frames already copied and the commit that runs it is not held up by copying tens of
/// megabytes and syncing them. Speed only: a passive checkpoint copies only committed
/// frames, syncs the WAL before and the database file after (`synchronous = FULL` on its
/// connection too), and never resets the WAL itself; what is durable is still decided by
/// the writer's commits alone.
#[derive(Debug)]
struct Checkpointer {
    /// Entries committed, sent after each commit; dropping it stops the thread.
    tx: Option<std::sync::mpsc::Sender<u64>>,
    /// Whether checkpoints run (off with [`SqliteStore::set_wal_autocheckpoint`]`(0)`).
    enabled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Committed entries between two checkpoints.
    every: std::sync::Arc<std::sync::atomic::AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn spawn(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Backend(format!("cannot open `{}`: {e}", path.display())))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(be)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(be)?;
        let (tx, rx) = std::sync::mpsc::channel::<u64>();
        let enabled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let on = std::sync::Arc::clone(&enabled);
        let every = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(
            BACKGROUND_CHECKPOINT_ENTRIES,
        ));
        let threshold = std::sync::Arc::clone(&every);
        let thread = std::thread::Builder::new()
            .name("signet-log-checkpoint".into())
            .spawn(move || {
                let mut since = 0_u64;
                while let Ok(n) = rx.recv() {
                    since = since.saturating_add(n);
                    while let Ok(m) = rx.try_recv() {
                        since = since.saturating_add(m);
                    }
                    if since >= threshold.load(std::sync::atomic::Ordering::Relaxed)
                        && on.load(std::sync::atomic::Ordering::Relaxed)
                    {
                        since = 0;
                        // Busy (another checkpoint running) or failed: the writer's own
                        // automatic checkpoint still runs; nothing depends on this one.
                        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    }
                }
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the checkpointer: {e}")))?;
        Ok(Self {
            tx: Some(tx),
            enabled,
            every,
            thread: Some(thread),
        })
    }

    fn committed(&self, entries: u64) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(entries);
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn be(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Backend(format!("value `{v}` out of range")))
}

fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative index `{v}`")))
}

fn hash_of(blob: &[u8]) -> Result<Hash, StoreError> {
    Hash::from_slice(blob).map_err(|e| StoreError::Corrupt(format!("node hash: {e}")))
}

impl SqliteStore {
    /// Open (creating if needed) the log at `path`. The parent directory must exist.
    ///
    /// # Errors
    /// The file cannot be opened or is not a signet log of a known schema version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Backend(format!("cannot open `{}`: {e}", path.display())))?;
        let mut store = Self::init(conn)?;
        store.checkpointer = Some(Checkpointer::spawn(path)?);
        Ok(store)
    }

    /// Open the log at `path` read-only (for listing and verification). The file must exist.
    ///
    /// # Errors
    /// As [`SqliteStore::open`], and when the file does not exist.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Backend(format!(
                "no log at `{}`",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Backend(format!("cannot open `{}`: {e}", path.display())))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(be)?;
        conn.pragma_update(None, "cache_size", CACHE_KIB)
            .map_err(be)?;
        let store = SqliteStore {
            conn,
            writers: None,
            checkpointer: None,
        };
        store.check_schema()?;
        Ok(store)
    }

    /// Set the number of WAL pages after which a commit checkpoints the WAL into the
    /// database file; `0` turns automatic checkpoints off, the background ones too (the WAL
    /// then only grows until a checkpoint is run or the last connection closes). The default is 10 000 pages. For
    /// tools and tests (the power-loss test needs a WAL that is only appended to).
    ///
    /// # Errors
    /// SQLite failures.
    pub fn set_wal_autocheckpoint(&self, pages: u32) -> Result<(), StoreError> {
        if let Some(c) = &self.checkpointer {
            c.enabled
                .store(pages > 0, std::sync::atomic::Ordering::Relaxed);
        }
        self.conn
            .pragma_update(None, "wal_autocheckpoint", pages)
            .map_err(be)
    }

    /// Let the background checkpointer run after every `entries` committed entries (default
    /// 5000; at least 1). For tests: the crash test makes checkpoints frequent so that kills
    /// land during them.
    pub fn set_background_checkpoint_entries(&self, entries: u64) {
        if let Some(c) = &self.checkpointer {
            c.every
                .store(entries.max(1), std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Cap this connection's page cache at `kib` KiB (default 64 MiB, for bulk appends and
    /// verification). A long-running process appending one entry at a time (the proxy)
    /// needs only the pages on the path to the newest entry; a small cache keeps its
    /// memory flat as the log grows. Speed only: durability does not depend on it.
    ///
    /// # Errors
    /// SQLite failures.
    pub fn set_cache_kib(&self, kib: u32) -> Result<(), StoreError> {
        self.conn
            .pragma_update(
                None,
                "cache_size",
                0i64.saturating_sub(i64::from(kib.max(1))),
            )
            .map_err(be)
    }

    /// An in-memory store, for tests.
    ///
    /// # Errors
    /// SQLite failures.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(be)?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(be)?;
        // WAL + FULL: every commit fsyncs the WAL, so a returned commit is durable.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(be)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(be)?;
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(be)?;
        tune(&conn)?;
        conn.execute_batch(SCHEMA).map_err(be)?;
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?1)",
            params![SCHEMA_VERSION.to_string()],
        )
        .map_err(be)?;
        let store = SqliteStore {
            conn,
            writers: None,
            checkpointer: None,
        };
        store.check_schema()?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let found = self.meta("schema")?.unwrap_or_default();
        if found != SCHEMA_VERSION.to_string() {
            return Err(StoreError::Schema {
                found,
                expected: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    fn row_to_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Columns, Vec<u8>)> {
        Ok((
            row.get(0)?,
            Columns {
                kind: row.get(1)?,
                at: row.get(2)?,
                agent: row.get(3)?,
                tool: row.get(4)?,
                target: row.get(5)?,
                outcome: row.get(6)?,
                reference: row.get(7)?,
            },
            row.get(8)?,
        ))
    }
}

const ENTRY_COLUMNS: &str = "idx, kind, at, agent, tool, target, outcome, reference, data";

impl SqliteStore {
    /// The writers' lock file beside the database (`None` for an in-memory store).
    fn writers_lock(&mut self) -> Result<Option<&std::fs::File>, StoreError> {
        if self.writers.is_none() {
            let Some(path) = self.conn.path().filter(|p| !p.is_empty()) else {
                return Ok(None);
            };
            let lock = format!("{path}-writers");
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock)
                .map_err(|e| StoreError::Backend(format!("cannot open `{lock}`: {e}")))?;
            self.writers = Some(file);
        }
        Ok(self.writers.as_ref())
    }
}

impl Store for SqliteStore {
    fn other_writers(&mut self) -> Result<bool, StoreError> {
        let Some(file) = self.writers_lock()? else {
            return Ok(false);
        };
        // Every writing process holds a shared lock; an exclusive one succeeds only when no
        // other process holds one. Then this one goes back to shared (another writer may
        // slip in between and also find itself alone: it then takes this process's open log
        // for a crashed one, which costs a spurious restart marker, nothing else).
        let _ = file.unlock();
        let alone = match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                true
            }
            Err(std::fs::TryLockError::WouldBlock) => false,
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StoreError::Backend(format!("writers' lock: {e}")));
            }
        };
        file.lock_shared()
            .map_err(|e| StoreError::Backend(format!("writers' lock: {e}")))?;
        Ok(!alone)
    }

    fn size(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .map_err(be)?;
        to_u64(n)
    }

    fn commit(&mut self, commit: &Commit<'_>) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(be)?;
        // The batch must start where the stored log ends, and a checkpoint must cover the
        // whole stored log: another process may have appended since this one last read it.
        let expected = match (commit.entries.first(), commit.checkpoint) {
            (Some(first), _) => Some(first.index),
            (None, Some((size, _))) => Some(size),
            (None, None) => None,
        };
        if let Some(expected) = expected {
            let next: i64 = tx
                .query_row("SELECT coalesce(max(idx) + 1, 0) FROM entries", [], |r| {
                    r.get(0)
                })
                .map_err(be)?;
            let next = to_u64(next)?;
            if next != expected {
                return Err(StoreError::Conflict {
                    expected,
                    found: next,
                });
            }
        }
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO entries(idx, kind, at, agent, tool, target, outcome, reference, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(be)?;
            for e in commit.entries {
                let c = &e.columns;
                ins.execute(params![
                    to_i64(e.index)?,
                    c.kind,
                    c.at,
                    c.agent,
                    c.tool,
                    c.target,
                    c.outcome,
                    c.reference,
                    e.data
                ])
                .map_err(be)?;
            }
            let mut node = tx
                .prepare_cached("INSERT INTO nodes(level, idx, hash) VALUES (?1, ?2, ?3)")
                .map_err(be)?;
            for (level, idx, hash) in commit.nodes {
                node.execute(params![level, to_i64(*idx)?, &hash.as_bytes()[..]])
                    .map_err(be)?;
            }
            if let Some((size, note)) = commit.checkpoint {
                tx.execute(
                    "INSERT INTO latest(id, size, note) VALUES (1, ?1, ?2)
                     ON CONFLICT(id) DO UPDATE SET size = excluded.size, note = excluded.note",
                    params![to_i64(size)?, note],
                )
                .map_err(be)?;
                if commit.keep_checkpoint {
                    tx.execute(
                        "INSERT OR REPLACE INTO checkpoints(size, note) VALUES (?1, ?2)",
                        params![to_i64(size)?, note],
                    )
                    .map_err(be)?;
                }
            }
            for (k, v) in commit.meta {
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![k, v],
                )
                .map_err(be)?;
            }
        }
        tx.commit().map_err(be)?;
        if let Some(c) = &self.checkpointer {
            c.committed(u64::try_from(commit.entries.len()).unwrap_or(u64::MAX));
        }
        Ok(())
    }

    fn entry(&self, index: u64) -> Result<Option<StoredEntry>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries WHERE idx = ?1"
            ))
            .map_err(be)?;
        let row = st
            .query_row(params![to_i64(index)?], Self::row_to_entry)
            .optional()
            .map_err(be)?;
        row.map(|(idx, columns, data)| {
            Ok(StoredEntry {
                index: to_u64(idx)?,
                data,
                columns,
            })
        })
        .transpose()
    }

    fn scan(
        &self,
        from: u64,
        f: &mut dyn FnMut(StoredEntry) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries WHERE idx >= ?1 ORDER BY idx"
            ))
            .map_err(be)?;
        let mut rows = st.query(params![to_i64(from)?]).map_err(be)?;
        while let Some(row) = rows.next().map_err(be)? {
            let (idx, columns, data) = Self::row_to_entry(row).map_err(be)?;
            let go = f(StoredEntry {
                index: to_u64(idx)?,
                data,
                columns,
            })?;
            if !go {
                break;
            }
        }
        Ok(())
    }

    fn query(&self, filter: &Filter) -> Result<Vec<StoredEntry>, StoreError> {
        let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut add = |clause: &str, v: rusqlite::types::Value| {
            args.push(v);
            sql.push_str(&format!(" AND {clause} ?{}", args.len()));
        };
        if let Some(k) = &filter.kind {
            add("kind =", k.clone().into());
        }
        if let Some(t) = &filter.tool {
            add("tool =", t.clone().into());
        }
        if let Some(a) = &filter.agent {
            add("agent =", a.clone().into());
        }
        if let Some(o) = &filter.outcome {
            add("outcome =", o.clone().into());
        }
        if let Some(s) = filter.since {
            add("at >=", s.into());
        }
        if let Some(u) = filter.until {
            add("at <", u.into());
        }
        // Newest `limit` entries, shown oldest first.
        let sql = match filter.limit {
            Some(n) => format!(
                "SELECT * FROM ({sql} ORDER BY idx DESC LIMIT {}) ORDER BY idx",
                to_i64(n)?
            ),
            None => format!("{sql} ORDER BY idx"),
        };
        let mut st = self.conn.prepare(&sql).map_err(be)?;
        let rows = st
            .query_map(rusqlite::params_from_iter(args), Self::row_to_entry)
            .map_err(be)?;
        rows.map(|r| {
            let (idx, columns, data) = r.map_err(be)?;
            Ok(StoredEntry {
                index: to_u64(idx)?,
                data,
                columns,
            })
        })
        .collect()
    }

    fn nodes(&self, which: &[(u8, u64)]) -> Result<Vec<Option<Hash>>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2")
            .map_err(be)?;
        which
            .iter()
            .map(|(level, idx)| {
                let blob: Option<Vec<u8>> = st
                    .query_row(params![level, to_i64(*idx)?], |r| r.get(0))
                    .optional()
                    .map_err(be)?;
                blob.map(|b| hash_of(&b)).transpose()
            })
            .collect()
    }

    fn scan_nodes(
        &self,
        f: &mut dyn FnMut(u8, u64, Hash) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT level, idx, hash FROM nodes ORDER BY level, idx")
            .map_err(be)?;
        let mut rows = st.query([]).map_err(be)?;
        while let Some(row) = rows.next().map_err(be)? {
            let level: i64 = row.get(0).map_err(be)?;
            let idx: i64 = row.get(1).map_err(be)?;
            let blob: Vec<u8> = row.get(2).map_err(be)?;
            let level = u8::try_from(level)
                .map_err(|_| StoreError::Corrupt(format!("node level `{level}`")))?;
            f(level, to_u64(idx)?, hash_of(&blob)?)?;
        }
        Ok(())
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row("SELECT size, note FROM latest WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(be)?;
        row.map(|(s, n)| Ok((to_u64(s)?, n))).transpose()
    }

    fn checkpoints(&self) -> Result<Vec<(u64, String)>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT size, note FROM checkpoints ORDER BY size")
            .map_err(be)?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(be)?;
        rows.map(|r| {
            let (s, n) = r.map_err(be)?;
            Ok((to_u64(s)?, n))
        })
        .collect()
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(be)
    }

    fn put_timestamp(
        &mut self,
        ts: &StoredTimestamp,
        meta: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(be)?;
        tx.execute(
            "INSERT OR REPLACE INTO timestamps(size, note, request, response, stored_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                to_i64(ts.size)?,
                ts.note,
                ts.request,
                ts.response,
                ts.stored_at
            ],
        )
        .map_err(be)?;
        for (k, v) in meta {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )
            .map_err(be)?;
        }
        tx.commit().map_err(be)
    }

    fn timestamps(&self) -> Result<Vec<StoredTimestamp>, StoreError> {
        // A log made before time-stamps existed, opened read-only, has no such table.
        let exists: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'timestamps'",
                [],
                |r| r.get(0),
            )
            .map_err(be)?;
        if exists == 0 {
            return Ok(Vec::new());
        }
        let mut st = self
            .conn
            .prepare(
                "SELECT size, note, request, response, stored_at FROM timestamps ORDER BY size",
            )
            .map_err(be)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(be)?;
        rows.map(|r| {
            let (size, note, request, response, stored_at) = r.map_err(be)?;
            Ok(StoredTimestamp {
                size: to_u64(size)?,
                note,
                request,
                response,
                stored_at,
            })
        })
        .collect()
    }

    fn insert_nonce(
        &mut self,
        signer: &str,
        nonce: &str,
        forget_after: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(be)?;
        tx.execute("DELETE FROM nonces WHERE forget_after < ?1", params![now.0])
            .map_err(be)?;
        let n = tx
            .execute(
                "INSERT OR IGNORE INTO nonces(signer, nonce, forget_after) VALUES (?1, ?2, ?3)",
                params![signer, nonce, forget_after.0],
            )
            .map_err(be)?;
        tx.commit().map_err(be)?;
        Ok(n == 1)
    }
}

/// The persistent nonce store for replay protection: [`signet_core::replay::NonceStore`]
/// over a [`Store`]. Nonces survive restarts.
#[derive(Debug)]
pub struct PersistentNonces<S: Store> {
    store: S,
}

impl<S: Store> PersistentNonces<S> {
    /// Keep nonces in `store`.
    pub fn new(store: S) -> Self {
        PersistentNonces { store }
    }
}

impl<S: Store> signet_core::replay::NonceStore for PersistentNonces<S> {
    type Error = StoreError;

    fn insert_if_absent(
        &mut self,
        signer: &str,
        nonce: &str,
        forget_after: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.store.insert_nonce(signer, nonce, forget_after, now)
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use signet_core::replay::NonceStore as _;

    #[test]
    fn nonces_survive_reopen_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        {
            let mut n = PersistentNonces::new(SqliteStore::open(&path).unwrap());
            assert!(
                n.insert_if_absent("did:key:a", "n1", UnixTime(400), UnixTime(100))
                    .unwrap()
            );
            assert!(
                !n.insert_if_absent("did:key:a", "n1", UnixTime(400), UnixTime(101))
                    .unwrap()
            );
            // Same nonce from another signer is a different entry.
            assert!(
                n.insert_if_absent("did:key:b", "n1", UnixTime(400), UnixTime(101))
                    .unwrap()
            );
        }
        // A restart does not forget a nonce inside its window…
        let mut n = PersistentNonces::new(SqliteStore::open(&path).unwrap());
        assert!(
            !n.insert_if_absent("did:key:a", "n1", UnixTime(400), UnixTime(200))
                .unwrap()
        );
        // …and drops it once its window has passed.
        assert!(
            n.insert_if_absent("did:key:a", "n1", UnixTime(900), UnixTime(401))
                .unwrap()
        );
    }

    #[test]
    fn the_background_checkpointer_copies_the_wal_into_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut s = SqliteStore::open(&path).unwrap();
        // The writer itself never checkpoints; only the background thread can.
        s.set_wal_autocheckpoint(1_000_000).unwrap();
        s.set_background_checkpoint_entries(50);
        let db_size = || std::fs::metadata(&path).unwrap().len();
        let before = db_size();
        // Commits batches `from..to` of 25 entries of 2 KB each.
        let commit_batches = |s: &mut SqliteStore, from: u64, to: u64| {
            for batch in from..to {
                let entries: Vec<StoredEntry> = (0..25)
                    .map(|i| StoredEntry {
                        index: batch * 25 + i,
                        data: vec![b'x'; 2000],
                        columns: Columns::default(),
                    })
                    .collect();
                s.commit(&Commit {
                    entries: &entries,
                    ..Commit::default()
                })
                .unwrap();
            }
        };
        commit_batches(&mut s, 0, 4);
        // 100 entries of 2 KB: about 50 pages that only a checkpoint writes to the file.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while db_size() < before + 100 * 2000 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(
            db_size() >= before + 100 * 2000,
            "{before} -> {}",
            db_size()
        );
        assert_eq!(s.size().unwrap(), 100);
        // Off with automatic checkpoints: the file no longer grows.
        s.set_wal_autocheckpoint(0).unwrap();
        let off = db_size();
        commit_batches(&mut s, 4, 8);
        drop(s.checkpointer.take()); // joins the thread: whatever it would do is done
        assert_eq!(db_size(), off);
        assert_eq!(s.size().unwrap(), 200);
    }

    #[test]
    fn refuses_unknown_schema_and_concurrent_writer_gap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(SqliteStore::open(&path).unwrap());
        {
            let c = Connection::open(&path).unwrap();
            c.execute("UPDATE meta SET value = '99' WHERE key = 'schema'", [])
                .unwrap();
        }
        assert!(matches!(
            SqliteStore::open(&path),
            Err(StoreError::Schema { .. })
        ));

        let mut s = SqliteStore::in_memory().unwrap();
        let e = StoredEntry {
            index: 5,
            data: b"{}".to_vec(),
            columns: Columns::default(),
        };
        let err = s
            .commit(&Commit {
                entries: std::slice::from_ref(&e),
                ..Commit::default()
            })
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    expected: 5,
                    found: 0
                }
            ),
            "{err}"
        );
        assert_eq!(s.size().unwrap(), 0);
    }
}
