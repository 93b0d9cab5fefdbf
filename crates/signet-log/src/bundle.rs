//! Offline proof bundles: one entry, its inclusion proof and a signed checkpoint, checkable
//! with nothing but the log's public key (spec §13.4). In the spirit of C2SP `tlog-proof`,
//! as one JSON object:
//!
//! ```json
//! {
//!   "type": "signet.log-proof.v1",
//!   "index": 5,
//!   "entry": { "kind": "receipt", "jws": "…" },
//!   "inclusion": ["<base64 hash>", "…"],
//!   "checkpoint": "<signed note: origin, size, root, signature line>"
//! }
//! ```
//!
//! The leaf data is the canonical form of `entry`; the tree size is the checkpoint's.
//!
//! When the log holds an RFC 3161 time-stamp of a checkpoint that includes the entry, the
//! bundle is made against the smallest such checkpoint and carries its token as
//! `"timestamp"` (base64 of the DER token): the entry then provably existed at the token's
//! time. Otherwise the bundle uses the latest checkpoint and has no `timestamp`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, Checkpoint};
use crate::entry::{Entry, EntryError, Summary};
use crate::log::{LogError, StoreNodes};
use crate::merkle::{self, Hash, LeafIndex, TreeSize};
use crate::note::NoteVerifier;
use crate::store::Store;

/// The bundle's `type`.
pub const BUNDLE_TYPE: &str = "signet.log-proof.v1";

/// A proof bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// Always [`BUNDLE_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The entry's index.
    pub index: u64,
    /// The entry.
    pub entry: serde_json::Value,
    /// The inclusion proof, base64 (standard, padded) hashes from the leaf up.
    pub inclusion: Vec<String>,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: String,
    /// An RFC 3161 token over the SHA-256 of `checkpoint`'s bytes: base64 (standard,
    /// padded) of the DER `ContentInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// Why a bundle does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Not a bundle.
    #[error("not a signet proof bundle: {0}")]
    Malformed(String),
    /// The checkpoint does not verify with the log key.
    #[error("checkpoint does not verify with the log key: {0}")]
    Checkpoint(String),
    /// The entry is not in the tree the checkpoint commits to.
    #[error("inclusion proof fails: {0}")]
    Inclusion(String),
    /// The time-stamp token does not verify.
    #[error("time-stamp: {0}")]
    Timestamp(signet_tsa::TsaError),
    /// The entry's own signature or binding fails.
    #[error("entry {index}: {source}")]
    Entry {
        /// The index.
        index: u64,
        /// Why.
        source: EntryError,
    },
}

/// What a verified bundle proves.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The entry.
    pub entry: Entry,
    /// Its index.
    pub index: u64,
    /// The checkpoint it is included in.
    pub checkpoint: Checkpoint,
    /// The verified entry's summary.
    pub summary: Summary,
    /// The checkpoint's time-stamp.
    pub timestamp: BundleTimestamp,
}

/// The time-stamp of a verified bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleTimestamp {
    /// The bundle has none.
    None,
    /// It has one, not checked: no trust anchors were given.
    Unchecked,
    /// It has one and it verified.
    Verified(Box<signet_tsa::Timestamp>),
}

/// Build the bundle for entry `index`, against the store's latest checkpoint.
///
/// # Errors
/// [`LogError::NoSuchEntry`], store failures.
pub fn prove<S: Store>(store: &S, index: u64) -> Result<ProofBundle, LogError> {
    let (latest_size, latest_note) = store
        .latest_checkpoint()?
        .ok_or_else(|| LogError::Inconsistent("the log has no signed checkpoint".into()))?;
    let stamped = store
        .timestamps()?
        .into_iter()
        .find(|t| t.size > index && t.size <= latest_size);
    let (size, note, timestamp) = match stamped {
        Some(t) => {
            let token = signet_tsa::token_from_response(&t.response).map_err(|e| {
                LogError::Inconsistent(format!("stored time-stamp of size {}: {e}", t.size))
            })?;
            (
                t.size,
                t.note,
                Some(base64::engine::general_purpose::STANDARD.encode(token)),
            )
        }
        None => (latest_size, latest_note, None),
    };
    if index >= size {
        return Err(LogError::NoSuchEntry { index, size });
    }
    let stored = store
        .entry(index)?
        .ok_or(LogError::NoSuchEntry { index, size })?;
    let proof = merkle::inclusion_proof(LeafIndex(index), TreeSize(size), &StoreNodes(store))
        .map_err(|e| LogError::Merkle(e.to_string()))?;
    let entry: serde_json::Value = serde_json::from_slice(&stored.data)
        .map_err(|e| LogError::Inconsistent(format!("entry {index} is not json: {e}")))?;
    Ok(ProofBundle {
        kind: BUNDLE_TYPE.to_owned(),
        index,
        entry,
        inclusion: proof.iter().map(Hash::to_base64).collect(),
        checkpoint: note,
        timestamp,
    })
}

impl ProofBundle {
    /// Parse a bundle from JSON text.
    ///
    /// # Errors
    /// [`BundleError::Malformed`].
    pub fn parse(text: &[u8]) -> Result<Self, BundleError> {
        let b: ProofBundle =
            serde_json::from_slice(text).map_err(|e| BundleError::Malformed(e.to_string()))?;
        if b.kind != BUNDLE_TYPE {
            return Err(BundleError::Malformed(format!(
                "type is `{}`, expected `{BUNDLE_TYPE}`",
                b.kind.chars().take(64).collect::<String>()
            )));
        }
        Ok(b)
    }

    /// Verify offline with the log's key: the checkpoint's signature, the inclusion of the
    /// entry in the checkpoint's tree, and the entry's own signatures.
    ///
    /// # Errors
    /// [`BundleError`] naming the first check that failed.
    pub fn verify(&self, log_key: &NoteVerifier) -> Result<VerifiedBundle, BundleError> {
        self.verify_with(log_key, None)
    }

    /// [`ProofBundle::verify`], and the checkpoint's time-stamp token (if any) against
    /// `tsa_anchors` (if given).
    ///
    /// # Errors
    /// [`BundleError`] naming the first check that failed.
    pub fn verify_with(
        &self,
        log_key: &NoteVerifier,
        tsa_anchors: Option<&signet_tsa::TrustAnchors>,
    ) -> Result<VerifiedBundle, BundleError> {
        let cp = checkpoint::open_checkpoint(&self.checkpoint, log_key)
            .map_err(|e| BundleError::Checkpoint(e.to_string()))?;
        let data = signet_core::canon::to_canonical_vec(&self.entry)
            .map_err(|e| BundleError::Malformed(format!("entry: {e}")))?;
        let proof = self
            .inclusion
            .iter()
            .map(|h| {
                Hash::from_base64(h)
                    .map_err(|e| BundleError::Malformed(format!("inclusion hash: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        merkle::verify_inclusion(
            &merkle::leaf_hash(&data),
            LeafIndex(self.index),
            cp.size,
            &proof,
            &cp.root,
        )
        .map_err(|e| BundleError::Inclusion(e.to_string()))?;
        let entry = Entry::from_leaf_data(&data).map_err(|source| BundleError::Entry {
            index: self.index,
            source,
        })?;
        let summary = entry.check().map_err(|source| BundleError::Entry {
            index: self.index,
            source,
        })?;
        let timestamp = match (&self.timestamp, tsa_anchors) {
            (None, _) => BundleTimestamp::None,
            (Some(_), None) => BundleTimestamp::Unchecked,
            (Some(b64), Some(anchors)) => {
                let token = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| BundleError::Malformed(format!("timestamp: {e}")))?;
                let imprint = signet_tsa::Imprint::of(self.checkpoint.as_bytes());
                BundleTimestamp::Verified(Box::new(
                    signet_tsa::verify_token(&token, &imprint, None, anchors)
                        .map_err(BundleError::Timestamp)?,
                ))
            }
        };
        Ok(VerifiedBundle {
            entry,
            index: self.index,
            checkpoint: cp,
            summary,
            timestamp,
        })
    }
}
