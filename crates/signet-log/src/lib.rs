//! signet-log: the tamper-evident audit log.
//!
//! Modules:
//! - [`merkle`]: RFC 9162 / RFC 6962 Merkle tree hashing, inclusion and consistency proofs
//!   computed from stored perfect-subtree hashes in O(log n) reads, and their verification.
//! - [`note`]: C2SP signed notes with Ed25519 note signatures.
//! - [`checkpoint`]: C2SP `tlog-checkpoint` bodies.
//! - [`entry`]: what the log records (intents, receipts, pin changes, lifecycle markers)
//!   and the exact leaf bytes.
//! - [`store`]: the storage trait; [`sqlite`]: the embedded SQLite store and the persistent
//!   nonce store.
//! - [`log`]: appends, signed checkpoints, crash markers; [`writer`]: group commit.
//! - [`bundle`]: offline proof bundles; [`verify`]: whole-log verification.
//! - [`timestamp`]: RFC 3161 time-stamps of checkpoints: the schedule, the [`timestamp::Stamper`]
//!   seam, and their offline verification.

pub mod bundle;
pub mod checkpoint;
pub mod entry;
pub mod log;
pub mod merkle;
pub mod note;
pub mod sqlite;
pub mod store;
pub mod timestamp;
pub mod verify;
pub mod writer;
