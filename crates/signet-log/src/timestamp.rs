//! RFC 3161 time-stamps of signed checkpoints (spec §13.7).
//!
//! A log with a [`Schedule`] asks a time-stamp authority for a token over its latest signed
//! checkpoint every [`Schedule::every_entries`] new entries, or after [`Schedule::every`]
//! when at least one entry is not yet covered. The imprint is the SHA-256 of the checkpoint
//! note's exact bytes (origin, size, root and the log's signature lines). The exchange
//! (request and response DER) is stored beside the checkpoint ([`StoredTimestamp`]).
//!
//! Requests never run on the append path: the writer thread only decides that a token is
//! due and hands the note to a separate stamper thread ([`Stamper`], e.g. the HTTP client
//! of `signet-tsa`, whose requests have a timeout); the result comes back to the writer,
//! which stores it between batches. A failure is recorded in the log's metadata
//! (`tsa_failures`, `tsa_last_error`, `tsa_last_error_at`) and retried with a doubling
//! delay; appends carry on meanwhile. `signet log verify` reports the entries no token
//! covers.

use std::time::Duration;

use signet_tsa::{Imprint, Request, Timestamp, TrustAnchors, TsaError};

use crate::store::StoredTimestamp;

/// Metadata key: consecutive failed time-stamp requests (`0` after a success).
pub const META_FAILURES: &str = "tsa_failures";
/// Metadata key: the last failure's reason.
pub const META_LAST_ERROR: &str = "tsa_last_error";
/// Metadata key: the last failure's time (seconds since the epoch).
pub const META_LAST_ERROR_AT: &str = "tsa_last_error_at";

/// Gets time-stamps over the HTTP (or any other) transport. Implementations must time out:
/// a call that never returns stops further time-stamps (never appends).
pub trait Stamper: Send + 'static {
    /// Time-stamp `data` (a signed checkpoint note). Returns the DER request and the DER
    /// response of a granted exchange whose token the implementation has verified.
    ///
    /// # Errors
    /// Why no verified token was obtained (stored as the log's last time-stamp error).
    fn stamp(&self, data: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String>;
}

/// A stamper over `signet-tsa`'s HTTP client, verifying each response against pinned
/// anchors before it is stored.
#[cfg(feature = "tsa-http")]
#[derive(Debug, Clone)]
pub struct HttpStamper {
    /// The client (URL and timeout).
    pub client: signet_tsa::http::Client,
    /// The anchors the TSA must chain to.
    pub anchors: TrustAnchors,
}

#[cfg(feature = "tsa-http")]
impl Stamper for HttpStamper {
    fn stamp(&self, data: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        self.client
            .timestamp(Imprint::of(data), &self.anchors)
            .map(|s| (s.request, s.response))
            .map_err(|e| e.to_string())
    }
}

/// When to ask for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// After this many entries not yet covered by a token (at least 1).
    pub every_entries: u64,
    /// After this long, when at least one entry is not yet covered.
    pub every: Duration,
    /// The first retry delay after a failure; it doubles up to `every`.
    pub retry_after: Duration,
}

impl Default for Schedule {
    /// Every 1024 entries or 10 minutes; first retry after 30 s.
    fn default() -> Self {
        Schedule {
            every_entries: 1024,
            every: Duration::from_secs(600),
            retry_after: Duration::from_secs(30),
        }
    }
}

impl Schedule {
    /// The delay before retry number `failures` (1 = the first retry).
    #[must_use]
    pub fn backoff(&self, failures: u64) -> Duration {
        let shift = u32::try_from(failures.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(16);
        self.retry_after
            .saturating_mul(1u32.checked_shl(shift).unwrap_or(u32::MAX))
            .min(self.every.max(self.retry_after))
    }
}

/// Check one stored time-stamp offline: the request is signet's for this note (SHA-256
/// imprint of the note's bytes), and the response verifies against `anchors` with the
/// request's nonce.
///
/// # Errors
/// The first failed check.
pub fn verify_stored(ts: &StoredTimestamp, anchors: &TrustAnchors) -> Result<Timestamp, TsaError> {
    let request = Request::from_der(&ts.request)?;
    let imprint = Imprint::of(ts.note.as_bytes());
    if request.imprint != imprint {
        return Err(TsaError::ImprintMismatch {
            expected: imprint.to_hex(),
            found: request.imprint.to_hex(),
        });
    }
    signet_tsa::verify_response(&ts.response, &request, anchors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_period() {
        let s = Schedule {
            every_entries: 10,
            every: Duration::from_secs(100),
            retry_after: Duration::from_secs(10),
        };
        let got: Vec<u64> = (1..=6).map(|n| s.backoff(n).as_secs()).collect();
        assert_eq!(got, [10, 20, 40, 80, 100, 100]);
        assert_eq!(s.backoff(u64::MAX).as_secs(), 100);
    }
}
