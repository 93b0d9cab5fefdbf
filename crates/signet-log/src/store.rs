//! The storage seam: what a log backend must provide.
//!
//! A backend stores entries (leaf data plus the columns listing filters on), the hashes of
//! the log's perfect Merkle subtrees, signed checkpoints, a small key-value table of log
//! metadata and the replay-protection nonces. [`crate::log::Log`] holds the logic; a store
//! only persists. [`crate::sqlite::SqliteStore`] is the embedded default; another backend
//! (PostgreSQL) implements the same trait.
//!
//! Every method that changes the log does so in one atomic commit ([`Store::commit`]):
//! entries, their new tree nodes and the checkpoint that covers them land together or not
//! at all.

use crate::merkle::Hash;
use signet_core::replay::UnixTime;

/// Errors from a storage backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed (I/O, locking, SQL).
    #[error("log store: {0}")]
    Backend(String),
    /// Another process appended to the log since this one last read it: the batch was not
    /// written (the log catches up and retries).
    #[error(
        "log store: another writer appended: expected the next index to be {expected}, it is {found}"
    )]
    Conflict {
        /// The index this writer would have used.
        expected: u64,
        /// The index the store has next.
        found: u64,
    },
    /// The stored data is not what the log wrote (wrong type, wrong length, gap).
    #[error("log store is corrupt: {0}")]
    Corrupt(String),
    /// The store was made by a newer or unknown version of signet.
    #[error("log store has schema version `{found}`; this signet reads version {expected}")]
    Schema {
        /// The version found.
        found: String,
        /// The version this code reads.
        expected: u32,
    },
}

/// The columns kept beside each entry for listing and filtering. They are derived from the
/// entry's data; `signet log verify` re-derives and compares them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// `intent`, `receipt`, `pin` or `lifecycle`.
    pub kind: String,
    /// Seconds since the Unix epoch.
    pub at: Option<i64>,
    /// The signer.
    pub agent: Option<String>,
    /// The tool.
    pub tool: Option<String>,
    /// What the call acted on.
    pub target: Option<String>,
    /// Outcome, pin change or lifecycle event.
    pub outcome: Option<String>,
    /// For intents, the intent digest (`sha256-bytes:…`) receipts name it by.
    pub reference: Option<String>,
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Its index in the log.
    pub index: u64,
    /// The leaf data: the entry's canonical JSON.
    pub data: Vec<u8>,
    /// The stored columns.
    pub columns: Columns,
}

/// Everything one atomic commit writes.
#[derive(Debug, Default)]
pub struct Commit<'a> {
    /// New entries, with consecutive indices starting at the current size.
    pub entries: &'a [StoredEntry],
    /// Newly completed perfect-subtree hashes: `(level, index, hash)`.
    pub nodes: &'a [(u8, u64, Hash)],
    /// The signed checkpoint covering the log after this commit, with its tree size.
    pub checkpoint: Option<(u64, &'a str)>,
    /// Also keep this checkpoint in the history (not only as the latest).
    pub keep_checkpoint: bool,
    /// Metadata to set.
    pub meta: &'a [(&'a str, &'a str)],
}

/// An RFC 3161 time-stamp of one signed checkpoint, with the exact exchange (spec §13.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTimestamp {
    /// The tree size of the time-stamped checkpoint.
    pub size: u64,
    /// The signed checkpoint note; the SHA-256 of its bytes is the message imprint.
    pub note: String,
    /// The DER `TimeStampReq` sent.
    pub request: Vec<u8>,
    /// The DER `TimeStampResp` received.
    pub response: Vec<u8>,
    /// When the writer stored it (seconds since the epoch, the writer's clock).
    pub stored_at: i64,
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only entries of this kind.
    pub kind: Option<String>,
    /// Only this tool.
    pub tool: Option<String>,
    /// Only this signer (exact).
    pub agent: Option<String>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// At or after (seconds since the epoch).
    pub since: Option<i64>,
    /// Before (seconds since the epoch).
    pub until: Option<i64>,
    /// At most this many, newest last.
    pub limit: Option<u64>,
}

/// A log storage backend.
pub trait Store {
    /// Number of entries (the tree size).
    ///
    /// # Errors
    /// Backend failures.
    fn size(&self) -> Result<u64, StoreError>;

    /// Write one batch atomically and durably: when this returns `Ok`, the batch survives a
    /// crash of the process or the machine.
    ///
    /// # Errors
    /// Backend failures; nothing of the batch is written then.
    fn commit(&mut self, commit: &Commit<'_>) -> Result<(), StoreError>;

    /// The entry at `index`, if any.
    ///
    /// # Errors
    /// Backend failures.
    fn entry(&self, index: u64) -> Result<Option<StoredEntry>, StoreError>;

    /// Call `f` on every entry with index ≥ `from`, in index order, until it returns
    /// `Ok(false)`.
    ///
    /// # Errors
    /// Backend failures, or `f`'s error.
    fn scan(
        &self,
        from: u64,
        f: &mut dyn FnMut(StoredEntry) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError>;

    /// Entries matching `filter`, in index order.
    ///
    /// # Errors
    /// Backend failures.
    fn query(&self, filter: &Filter) -> Result<Vec<StoredEntry>, StoreError>;

    /// Hashes of perfect subtrees `(level, index)`, in the order asked; `None` where absent.
    ///
    /// # Errors
    /// Backend failures.
    fn nodes(&self, which: &[(u8, u64)]) -> Result<Vec<Option<Hash>>, StoreError>;

    /// Call `f` on every stored node `(level, index, hash)`, by level then index.
    ///
    /// # Errors
    /// Backend failures, or `f`'s error.
    fn scan_nodes(
        &self,
        f: &mut dyn FnMut(u8, u64, Hash) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// The latest signed checkpoint and its size.
    ///
    /// # Errors
    /// Backend failures.
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError>;

    /// Every kept checkpoint, by size.
    ///
    /// # Errors
    /// Backend failures.
    fn checkpoints(&self) -> Result<Vec<(u64, String)>, StoreError>;

    /// A metadata value.
    ///
    /// # Errors
    /// Backend failures.
    fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Whether other processes are writing this log right now (it then registers this one
    /// as a writer too). A log left marked open is a crash only when no other writer is
    /// alive; a writer that stops while others run leaves it marked open. Stores that
    /// cannot be shared answer `false`.
    ///
    /// # Errors
    /// Backend failures.
    fn other_writers(&mut self) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Store a checkpoint time-stamp (replacing one for the same size) and set `meta`, in
    /// one transaction.
    ///
    /// # Errors
    /// Backend failures; nothing is written then.
    fn put_timestamp(
        &mut self,
        ts: &StoredTimestamp,
        meta: &[(&str, &str)],
    ) -> Result<(), StoreError>;

    /// Every stored checkpoint time-stamp, by size. A log made before time-stamps existed
    /// has none.
    ///
    /// # Errors
    /// Backend failures.
    fn timestamps(&self) -> Result<Vec<StoredTimestamp>, StoreError>;

    /// Record `(signer, nonce)` unless present; `true` if it was new. Drops entries whose
    /// `forget_after` is before `now`.
    ///
    /// # Errors
    /// Backend failures (the caller must then refuse the nonce).
    fn insert_nonce(
        &mut self,
        signer: &str,
        nonce: &str,
        forget_after: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
}
