//! Replay protection: the issued-at window and the nonce store.
//!
//! A signed intent is accepted only while it is fresh and only once:
//!
//! - **Issued-at window** ([`ReplayWindow`]): `iat` must satisfy
//!   `now - max_age <= iat <= now + max_skew`. Defaults: `max_age` 300 s, `max_skew` 30 s.
//! - **Nonces** ([`NonceStore`]): each `(signer, nonce)` pair is accepted once while its
//!   `iat` is inside the window. A store may forget a nonce once its intent can no longer
//!   pass the window check (`iat + max_age + max_skew < now`), which bounds its size.
//!
//! The core reads no clock: callers pass `now` as a [`UnixTime`]. This module holds the
//! in-memory store; the persistent store lives with the log.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Seconds since the Unix epoch (UTC), as signed into statements.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// The inner seconds.
    #[must_use]
    pub fn secs(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The accepted issued-at window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayWindow {
    /// How old (seconds) an `iat` may be.
    pub max_age: u32,
    /// How far in the future (seconds) an `iat` may be, for clock skew.
    pub max_skew: u32,
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self {
            max_age: 300,
            max_skew: 30,
        }
    }
}

/// Why a statement failed the freshness or uniqueness checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// `iat` is older than the window allows.
    #[error("expired: issued at {iat}, {age} s before now (window {max_age} s)")]
    Expired {
        /// The statement's issued-at.
        iat: UnixTime,
        /// Its age in seconds.
        age: i64,
        /// The window's maximum age.
        max_age: u32,
    },
    /// `iat` is further in the future than the skew allows.
    #[error("issued in the future: issued at {iat}, {ahead} s after now (skew {max_skew} s)")]
    FromFuture {
        /// The statement's issued-at.
        iat: UnixTime,
        /// How far ahead of now, in seconds.
        ahead: i64,
        /// The window's maximum skew.
        max_skew: u32,
    },
    /// The `(signer, nonce)` pair was seen before.
    #[error("replayed: nonce `{nonce}` from `{signer}` was already used")]
    Replayed {
        /// The signer (DID or key id).
        signer: String,
        /// The nonce.
        nonce: String,
    },
    /// The nonce store failed; callers must fail closed.
    #[error("nonce store unavailable: {0}")]
    Store(String),
}

impl ReplayWindow {
    /// Check `iat` against `now`.
    ///
    /// # Errors
    /// [`ReplayError::Expired`] or [`ReplayError::FromFuture`].
    pub fn check(&self, iat: UnixTime, now: UnixTime) -> Result<(), ReplayError> {
        let age = now.0.saturating_sub(iat.0);
        if age > i64::from(self.max_age) {
            return Err(ReplayError::Expired {
                iat,
                age,
                max_age: self.max_age,
            });
        }
        if age < i64::from(self.max_skew).saturating_neg() {
            return Err(ReplayError::FromFuture {
                iat,
                ahead: age.saturating_neg(),
                max_skew: self.max_skew,
            });
        }
        Ok(())
    }

    /// The moment after which a nonce issued at `iat` can be forgotten.
    #[must_use]
    pub fn forget_after(&self, iat: UnixTime) -> UnixTime {
        UnixTime(
            iat.0
                .saturating_add(i64::from(self.max_age))
                .saturating_add(i64::from(self.max_skew)),
        )
    }

    /// Check the window, then record the nonce in `store`; both must pass.
    ///
    /// # Errors
    /// Any [`ReplayError`]; store failures surface as [`ReplayError::Store`].
    pub fn admit<S: NonceStore + ?Sized>(
        &self,
        store: &mut S,
        signer: &str,
        nonce: &str,
        iat: UnixTime,
        now: UnixTime,
    ) -> Result<(), ReplayError> {
        self.check(iat, now)?;
        let fresh = store
            .insert_if_absent(signer, nonce, self.forget_after(iat), now)
            .map_err(|e| ReplayError::Store(e.to_string()))?;
        if fresh {
            Ok(())
        } else {
            Err(ReplayError::Replayed {
                signer: signer.to_owned(),
                nonce: nonce.to_owned(),
            })
        }
    }
}

/// A store of seen `(signer, nonce)` pairs.
pub trait NonceStore {
    /// The store's error type.
    type Error: std::error::Error;

    /// Record `(signer, nonce)`; return `true` if it was not present (and is now), `false`
    /// if it was already recorded. `forget_after` is when the entry may be dropped; `now`
    /// lets the store drop expired entries.
    ///
    /// # Errors
    /// Store-specific failures. Callers must treat an error as "not admitted".
    fn insert_if_absent(
        &mut self,
        signer: &str,
        nonce: &str,
        forget_after: UnixTime,
        now: UnixTime,
    ) -> Result<bool, Self::Error>;
}

/// An in-memory [`NonceStore`], bounded by pruning expired entries.
#[derive(Debug, Default)]
pub struct MemoryNonceStore {
    seen: HashMap<(String, String), UnixTime>,
    by_expiry: BTreeMap<(UnixTime, String, String), ()>,
}

impl MemoryNonceStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of nonces currently remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no nonce is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn prune(&mut self, now: UnixTime) {
        while let Some(((t, _, _), ())) = self.by_expiry.first_key_value() {
            if *t >= now {
                break;
            }
            if let Some(((_, signer, nonce), ())) = self.by_expiry.pop_first() {
                self.seen.remove(&(signer, nonce));
            }
        }
    }
}

impl NonceStore for MemoryNonceStore {
    type Error = std::convert::Infallible;

    fn insert_if_absent(
        &mut self,
        signer: &str,
        nonce: &str,
        forget_after: UnixTime,
        now: UnixTime,
    ) -> Result<bool, Self::Error> {
        self.prune(now);
        let key = (signer.to_owned(), nonce.to_owned());
        if self.seen.contains_key(&key) {
            return Ok(false);
        }
        self.by_expiry
            .insert((forget_after, key.0.clone(), key.1.clone()), ());
        self.seen.insert(key, forget_after);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;

    const NOW: UnixTime = UnixTime(1_800_000_000);

    #[test]
    fn window_edges() {
        let w = ReplayWindow::default();
        assert!(w.check(UnixTime(NOW.0 - 300), NOW).is_ok());
        assert!(matches!(
            w.check(UnixTime(NOW.0 - 301), NOW),
            Err(ReplayError::Expired { age: 301, .. })
        ));
        assert!(w.check(UnixTime(NOW.0 + 30), NOW).is_ok());
        assert!(matches!(
            w.check(UnixTime(NOW.0 + 31), NOW),
            Err(ReplayError::FromFuture { ahead: 31, .. })
        ));
        let custom = ReplayWindow {
            max_age: 10,
            max_skew: 0,
        };
        assert!(custom.check(UnixTime(NOW.0 - 11), NOW).is_err());
        assert!(custom.check(UnixTime(NOW.0 + 1), NOW).is_err());
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let w = ReplayWindow::default();
        assert!(w.check(UnixTime(i64::MIN), UnixTime(i64::MAX)).is_err());
        assert!(w.check(UnixTime(i64::MAX), UnixTime(i64::MIN)).is_err());
        assert_eq!(w.forget_after(UnixTime(i64::MAX)), UnixTime(i64::MAX));
    }

    #[test]
    fn nonce_accepted_once_and_forgotten_after_window() {
        let w = ReplayWindow::default();
        let mut store = MemoryNonceStore::new();
        w.admit(&mut store, "did:key:a", "n1", NOW, NOW).unwrap();
        assert!(matches!(
            w.admit(&mut store, "did:key:a", "n1", NOW, NOW),
            Err(ReplayError::Replayed { .. })
        ));
        // Same nonce from another signer is a different pair.
        w.admit(&mut store, "did:key:b", "n1", NOW, NOW).unwrap();
        assert_eq!(store.len(), 2);
        // Once the window has passed, the entry is pruned; the intent itself is then
        // rejected by the window, so forgetting never re-admits it.
        let later = UnixTime(NOW.0 + 331);
        assert!(matches!(
            w.admit(&mut store, "did:key:a", "n1", NOW, later),
            Err(ReplayError::Expired { .. })
        ));
        w.admit(&mut store, "did:key:c", "n2", later, later)
            .unwrap();
        assert_eq!(store.len(), 1);
    }
}
