//! SHA-256 digests and their text form.
//!
//! Every digest signet signs says what was hashed:
//!
//! - `sha256:<64 lowercase hex>` — SHA-256 over the RFC 8785 canonical bytes of a JSON
//!   value ([`Digest::of_json`], [`Digest::of_json_text`]). This is the normal case.
//! - `sha256-raw:<64 lowercase hex>` — SHA-256 over exact bytes as received
//!   ([`Digest::of_raw`]). Used only when a JSON text cannot be canonicalized without
//!   changing it (a duplicate key, an integer beyond ±(2^53−1)); the caller chooses it
//!   explicitly and the label records the choice, so it is never a silent change.
//! - `sha256-bytes:<64 lowercase hex>` — SHA-256 over opaque bytes that are not JSON
//!   (for example a compact JWS; see [`Digest::of_bytes`]).
//!
//! Digests compare in constant time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::canon::{self, CanonError};

/// What a [`Digest`] was computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestKind {
    /// SHA-256 over RFC 8785 canonical JSON bytes. Text prefix `sha256:`.
    Jcs,
    /// SHA-256 over exact JSON bytes as received, not canonicalized. Text prefix `sha256-raw:`.
    Raw,
    /// SHA-256 over opaque non-JSON bytes. Text prefix `sha256-bytes:`.
    Bytes,
}

impl DigestKind {
    /// The text prefix, including the colon.
    #[must_use]
    pub fn prefix(self) -> &'static str {
        match self {
            DigestKind::Jcs => "sha256:",
            DigestKind::Raw => "sha256-raw:",
            DigestKind::Bytes => "sha256-bytes:",
        }
    }
}

/// A SHA-256 digest together with what it was computed over.
#[derive(Clone, Copy)]
pub struct Digest {
    kind: DigestKind,
    bytes: [u8; 32],
}

/// Errors parsing the text form of a [`Digest`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The text does not start with a known prefix.
    #[error("digest `{0}` has no known prefix (`sha256:`, `sha256-raw:`, `sha256-bytes:`)")]
    UnknownPrefix(String),
    /// The hex part is not 64 lowercase hex digits.
    #[error("digest `{0}` is not 64 lowercase hex digits after its prefix")]
    BadHex(String),
    /// The JSON could not be canonicalized.
    #[error("cannot canonicalize json for digest: {0}")]
    Canon(#[from] CanonError),
}

impl Digest {
    /// SHA-256 over the canonical (RFC 8785) bytes of a JSON text parsed strictly.
    ///
    /// # Errors
    /// Returns [`DigestError::Canon`] when the text is not strict JSON (see [`canon`]).
    pub fn of_json_text(text: &[u8]) -> Result<Self, DigestError> {
        if canon::is_canonical(text) {
            return Ok(Self::from_canonical_bytes(text));
        }
        Self::of_json(&canon::parse_strict(text)?)
    }

    /// SHA-256 over the canonical bytes of an in-memory JSON value.
    ///
    /// # Errors
    /// Returns [`DigestError::Canon`] for numbers that cannot be represented exactly.
    pub fn of_json(value: &serde_json::Value) -> Result<Self, DigestError> {
        // Canonical bytes go straight into the hash, without a buffer.
        let mut sink = canon::HashSink::new();
        canon::write_canonical(value, &mut sink)?;
        Ok(Self {
            kind: DigestKind::Jcs,
            bytes: sink.finalize(),
        })
    }

    /// [`Digest::of_json`] of a JSON object given as its members.
    ///
    /// # Errors
    /// As [`Digest::of_json`].
    pub fn of_json_object(
        members: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, DigestError> {
        let mut sink = canon::HashSink::new();
        canon::write_canonical_object(members, &mut sink)?;
        Ok(Self {
            kind: DigestKind::Jcs,
            bytes: sink.finalize(),
        })
    }

    /// SHA-256 over bytes that are already RFC 8785 canonical. The caller vouches for that.
    #[must_use]
    pub fn from_canonical_bytes(canonical: &[u8]) -> Self {
        Self {
            kind: DigestKind::Jcs,
            bytes: Sha256::digest(canonical).into(),
        }
    }

    /// SHA-256 over exact JSON bytes as received (the explicit raw-bytes mode).
    #[must_use]
    pub fn of_raw(raw_json: &[u8]) -> Self {
        Self {
            kind: DigestKind::Raw,
            bytes: Sha256::digest(raw_json).into(),
        }
    }

    /// SHA-256 over opaque non-JSON bytes.
    #[must_use]
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self {
            kind: DigestKind::Bytes,
            bytes: Sha256::digest(bytes).into(),
        }
    }

    /// Digest of JSON text: canonical when possible, otherwise — only when `allow_raw` —
    /// the raw-bytes mode. Returns the digest and whether raw mode was used.
    ///
    /// # Errors
    /// Returns [`DigestError::Canon`] when the text cannot be canonicalized and `allow_raw`
    /// is false.
    pub fn of_json_text_or_raw(text: &[u8], allow_raw: bool) -> Result<Self, DigestError> {
        match Self::of_json_text(text) {
            Ok(digest) => Ok(digest),
            Err(_) if allow_raw => Ok(Self::of_raw(text)),
            Err(e) => Err(e),
        }
    }

    /// What this digest was computed over.
    #[must_use]
    pub fn kind(&self) -> DigestKind {
        self.kind
    }

    /// The 32 digest bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl PartialEq for Digest {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && bool::from(self.bytes.ct_eq(&other.bytes))
    }
}
impl Eq for Digest {}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.prefix())?;
        f.write_str(&hex::encode(self.bytes))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, hex_part) = [DigestKind::Jcs, DigestKind::Raw, DigestKind::Bytes]
            .into_iter()
            .find_map(|k| s.strip_prefix(k.prefix()).map(|rest| (k, rest)))
            .ok_or_else(|| DigestError::UnknownPrefix(s.to_owned()))?;
        if hex_part.len() != 64
            || !hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::BadHex(s.to_owned()));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes)
            .map_err(|_| DigestError::BadHex(s.to_owned()))?;
        Ok(Self { kind, bytes })
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn canonical_digest_ignores_formatting() {
        let a = Digest::of_json_text(br#"{"b": 1, "a": [1.0, "x"]}"#).unwrap();
        let b = Digest::of_json_text(br#"{"a":[1,"x"],"b":1}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.kind(), DigestKind::Jcs);
        // SHA-256 of the canonical text `{"a":[1,"x"],"b":1}`.
        assert_eq!(
            a.to_string(),
            format!(
                "sha256:{}",
                hex::encode(Sha256::digest(br#"{"a":[1,"x"],"b":1}"#))
            )
        );
    }

    #[test]
    fn kinds_never_compare_equal() {
        let text = br#"{"a":1}"#;
        let jcs = Digest::of_json_text(text).unwrap();
        let raw = Digest::of_raw(text);
        assert_eq!(jcs.as_bytes(), raw.as_bytes());
        assert_ne!(jcs, raw);
        assert_ne!(jcs.to_string(), raw.to_string());
    }

    #[test]
    fn raw_mode_only_when_allowed() {
        let text = br#"{"n": 9007199254740993}"#;
        assert!(matches!(
            Digest::of_json_text_or_raw(text, false),
            Err(DigestError::Canon(CanonError::UnsafeInteger { .. }))
        ));
        let d = Digest::of_json_text_or_raw(text, true).unwrap();
        assert_eq!(d.kind(), DigestKind::Raw);
        assert!(d.to_string().starts_with("sha256-raw:"));
    }

    #[test]
    fn text_form_round_trips_and_is_strict() {
        let d = Digest::of_bytes(b"hello");
        let parsed: Digest = d.to_string().parse().unwrap();
        assert_eq!(parsed, d);
        let s = d.to_string();
        assert!(matches!(
            s.to_uppercase().parse::<Digest>(),
            Err(DigestError::UnknownPrefix(_))
        ));
        let upper_hex = format!("sha256-bytes:{}", hex::encode_upper(d.as_bytes()));
        assert!(matches!(
            upper_hex.parse::<Digest>(),
            Err(DigestError::BadHex(_))
        ));
        assert!(matches!(
            "sha256:abcd".parse::<Digest>(),
            Err(DigestError::BadHex(_))
        ));
        assert!(matches!(
            "md5:00".parse::<Digest>(),
            Err(DigestError::UnknownPrefix(_))
        ));
    }
}
