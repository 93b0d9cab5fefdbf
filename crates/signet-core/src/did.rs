//! `did:key` identities and short key ids.
//!
//! # `did:key`
//!
//! A [`Did`] is `did:key:` followed by the multibase base58btc encoding (prefix `z`) of the
//! unsigned-varint multicodec code of the key type followed by the raw public key
//! ([W3C CCG did:key](https://w3c-ccg.github.io/did-method-key/)):
//!
//! | [`Algorithm`]                   | multicodec                       | varint         | DID starts |
//! |---------------------------------|----------------------------------|----------------|------------|
//! | [`Algorithm::Ed25519`]          | `ed25519-pub` `0xed`             | `ed 01`        | `z6Mk`     |
//! | [`Algorithm::MlDsa65`]          | `mldsa-65-pub` `0x1211` (draft)  | `91 24`        |            |
//! | [`Algorithm::MlDsa65Ed25519`]   | `0x301211` (signet-private)      | `91 a4 c0 01`  |            |
//!
//! The composite ML-DSA-65 + Ed25519 key has no registered multicodec. signet uses
//! `0x301211` from the multicodec *private use area* (`0x300000`–`0x3FFFFF`, which the
//! multicodec table will never assign) until a code is registered; its payload is the composite
//! public key `mldsaPK || edPK`. Such DIDs are only meaningful to signet.
//!
//! Parsing is strict: exactly `did:key:z…` with no path, query or fragment, at most
//! [`MAX_DID_LEN`] bytes, a canonical (shortest) varint, a supported codec, the exact key length
//! for that codec, and a key that [`PublicKey::from_bytes`] accepts. Every accepted string is
//! the one [`Did::from_public_key`] produces for its key.
//!
//! # Key ids
//!
//! ML-DSA keys make DIDs of about 2.7 KB, too long for a JWS `kid`. A [`KeyId`] is a short,
//! stable name for any key:
//!
//! ```text
//! kid:<base64url-no-pad( SHA-256( varint(multicodec) || public key )[..16] )>
//! ```
//!
//! that is `kid:` and 22 base64url characters (128 bits of the hash). The JWS `kid` of a key is
//! [`kid_for`]: the DID for Ed25519 (short, and self-describing) and the key id otherwise.

use core::fmt;
use core::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::alg::{AlgError, Algorithm, PublicKey};

/// Multicodec code of an Ed25519 public key (`ed25519-pub`).
pub const MULTICODEC_ED25519_PUB: u64 = 0xed;

/// Multicodec code of an ML-DSA-65 public key (`mldsa-65-pub`, draft status).
pub const MULTICODEC_MLDSA65_PUB: u64 = 0x1211;

/// signet-private multicodec code of a composite ML-DSA-65 + Ed25519 public key, from the
/// multicodec private use area, pending registration.
pub const MULTICODEC_MLDSA65_ED25519_PUB: u64 = 0x30_1211;

/// The longest accepted `did:key` string, in bytes (checked before decoding).
pub const MAX_DID_LEN: usize = 8 * 1024;

/// The `did:key` method prefix.
const DID_KEY_PREFIX: &str = "did:key:";

/// The key id prefix.
const KEY_ID_PREFIX: &str = "kid:";

/// Number of SHA-256 bytes kept in a key id.
const KEY_ID_HASH_LEN: usize = 16;

/// Number of base64url characters in a key id after the prefix.
const KEY_ID_B64_LEN: usize = 22;

/// Longest accepted unsigned varint, in bytes (the multiformats limit).
const MAX_VARINT_LEN: usize = 9;

/// The multicodec code of `alg`'s public keys.
#[must_use]
pub fn multicodec(alg: Algorithm) -> u64 {
    match alg {
        Algorithm::Ed25519 => MULTICODEC_ED25519_PUB,
        Algorithm::MlDsa65 => MULTICODEC_MLDSA65_PUB,
        Algorithm::MlDsa65Ed25519 => MULTICODEC_MLDSA65_ED25519_PUB,
    }
}

/// The unsigned-varint encoding of [`multicodec`]`(alg)`.
fn multicodec_prefix(alg: Algorithm) -> &'static [u8] {
    match alg {
        Algorithm::Ed25519 => &[0xed, 0x01],
        Algorithm::MlDsa65 => &[0x91, 0x24],
        Algorithm::MlDsa65Ed25519 => &[0x91, 0xa4, 0xc0, 0x01],
    }
}

/// The algorithm whose public keys have multicodec `code`.
fn algorithm_for_codec(code: u64) -> Option<Algorithm> {
    Algorithm::ALL
        .into_iter()
        .find(|alg| multicodec(*alg) == code)
}

/// `varint(multicodec(alg)) || public key`.
fn multicodec_key(pk: &PublicKey) -> Vec<u8> {
    let prefix = multicodec_prefix(pk.algorithm());
    let mut out = Vec::with_capacity(prefix.len().saturating_add(pk.as_bytes().len()));
    out.extend_from_slice(prefix);
    out.extend_from_slice(pk.as_bytes());
    out
}

/// The `did:key` text of `pk`, computed.
fn did_text(pk: &PublicKey) -> String {
    let encoded = crate::base58::encode(&multicodec_key(pk));
    format!("{DID_KEY_PREFIX}z{encoded}")
}

/// Reads a canonical unsigned varint; returns the value and the remaining bytes.
fn read_varint(bytes: &[u8]) -> Result<(u64, &[u8]), DidError> {
    let mut value: u64 = 0;
    for (i, &byte) in bytes.iter().enumerate().take(MAX_VARINT_LEN) {
        let shift = u32::try_from(i)
            .ok()
            .and_then(|i| i.checked_mul(7))
            .ok_or(DidError::BadMulticodec)?;
        let part = u64::from(byte & 0x7f)
            .checked_shl(shift)
            .ok_or(DidError::BadMulticodec)?;
        value |= part;
        if byte & 0x80 == 0 {
            // A final zero byte after a continuation byte adds nothing: overlong encoding.
            if i > 0 && byte == 0 {
                return Err(DidError::BadMulticodec);
            }
            let rest = i
                .checked_add(1)
                .and_then(|end| bytes.get(end..))
                .ok_or(DidError::BadMulticodec)?;
            return Ok((value, rest));
        }
    }
    Err(DidError::BadMulticodec)
}

/// Errors from parsing a [`Did`] or a [`KeyId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DidError {
    /// The string does not start with `did:key:`.
    #[error("not a did:key: expected the prefix `did:key:`")]
    NotDidKey,
    /// The string has a DID URL path, query or fragment.
    #[error("a did:key must not have a path, query or fragment (`/`, `?`, `#`, `;`)")]
    UrlComponents,
    /// The method-specific id is not multibase base58btc (`z…`).
    #[error("bad multibase: expected base58btc with the prefix `z`")]
    BadMultibase,
    /// The multicodec varint is missing, overlong or malformed.
    #[error("bad multicodec varint")]
    BadMulticodec,
    /// The multicodec is not a supported key type.
    #[error("unsupported key type: multicodec `{codec:#x}`")]
    UnsupportedKeyType {
        /// The multicodec code.
        codec: u64,
    },
    /// The key bytes are not a valid key for the codec.
    #[error("invalid did:key public key: {0}")]
    BadKey(AlgError),
    /// The string is longer than [`MAX_DID_LEN`].
    #[error("did:key is too long: {len} bytes, at most {max}")]
    TooLong {
        /// The length of the input.
        len: usize,
        /// The limit, [`MAX_DID_LEN`].
        max: usize,
    },
    /// A key id is not `kid:` followed by 22 base64url characters.
    #[error("malformed key id: expected `kid:` and 22 base64url characters")]
    BadKeyId,
}

/// A `did:key` identity: the DID string and the public key it encodes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Did {
    /// The canonical DID string.
    text: String,
    /// The public key.
    key: PublicKey,
}

impl Did {
    /// The `did:key` of `pk`.
    #[must_use]
    pub fn from_public_key(pk: &PublicKey) -> Did {
        let text = pk.did_text_cache().get_or_init(|| did_text(pk)).clone();
        Did {
            text,
            key: pk.clone(),
        }
    }

    /// The public key.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// The DID string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The short key id of the key.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        KeyId::from_public_key(&self.key)
    }
}

impl FromStr for Did {
    type Err = DidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_DID_LEN {
            return Err(DidError::TooLong {
                len: s.len(),
                max: MAX_DID_LEN,
            });
        }
        if let Some(key) = parsed::get(s) {
            return Ok(Did {
                text: s.to_owned(),
                key,
            });
        }
        let id = s.strip_prefix(DID_KEY_PREFIX).ok_or(DidError::NotDidKey)?;
        if id.contains(['/', '?', '#', ';']) {
            return Err(DidError::UrlComponents);
        }
        let base58 = id.strip_prefix('z').ok_or(DidError::BadMultibase)?;
        let bytes = crate::base58::decode(base58).ok_or(DidError::BadMultibase)?;
        let (codec, key_bytes) = read_varint(&bytes)?;
        let alg = algorithm_for_codec(codec).ok_or(DidError::UnsupportedKeyType { codec })?;
        let key = PublicKey::from_bytes(alg, key_bytes).map_err(DidError::BadKey)?;
        // `s` is the canonical string of its key, so it is the key's DID without encoding
        // the key again: base58 decoding is a bijection (leading `1`s are exactly the leading
        // zero bytes, the rest is the number in minimal form on both sides; tested against
        // `bs58` and by round trips), and the varint was checked to be canonical. Debug
        // builds, and so every test, still encode and compare.
        debug_assert_eq!(
            did_text(&key),
            s,
            "a parsed did:key is its key's canonical DID"
        );
        let _ = key.did_text_cache().set(s.to_owned());
        parsed::put(s, &key);
        Ok(Did {
            text: s.to_owned(),
            key,
        })
    }
}

/// The keys of the last few `did:key` strings parsed, so that verifying many statements by the
/// same signer decodes its key once: decoding costs a base58 pass and, for Ed25519, a point
/// decompression (about a tenth of a signature verification). A memo of a pure function of the
/// string, filled only with keys [`Did::from_str`] accepted, so a hit returns exactly what
/// parsing would. If the lock is poisoned the memo is bypassed.
mod parsed {
    use std::sync::Mutex;

    use crate::alg::PublicKey;

    /// How many strings are remembered; the oldest is replaced first.
    const SLOTS: usize = 16;

    /// The remembered strings and keys, and the slot to replace next.
    struct Memo {
        entries: Vec<(Box<str>, PublicKey)>,
        next: usize,
    }

    static MEMO: Mutex<Memo> = Mutex::new(Memo {
        entries: Vec::new(),
        next: 0,
    });

    /// The key of `did` if it was parsed recently.
    pub(super) fn get(did: &str) -> Option<PublicKey> {
        let memo = MEMO.lock().ok()?;
        memo.entries
            .iter()
            .find(|(text, _)| &**text == did)
            .map(|(_, key)| key.clone())
    }

    /// Remember that `did` parsed to `key`.
    pub(super) fn put(did: &str, key: &PublicKey) {
        let Ok(mut memo) = MEMO.lock() else {
            return;
        };
        let entry = (Box::from(did), key.clone());
        if memo.entries.len() < SLOTS {
            memo.entries.push(entry);
            return;
        }
        let next = memo.next;
        if let Some(slot) = memo.entries.get_mut(next) {
            *slot = entry;
        }
        memo.next = next.wrapping_add(1) % SLOTS;
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// DIDs up to this length are shown in full.
        const SHOW_FULL: usize = 64;
        let text = &self.text;
        let alg = self.key.algorithm();
        match (
            text.len() > SHOW_FULL,
            text.get(..24),
            text.len()
                .checked_sub(8)
                .and_then(|start| text.get(start..)),
        ) {
            (true, Some(head), Some(tail)) => write!(f, "Did({head}…{tail}, {alg})"),
            _ => write!(f, "Did({text})"),
        }
    }
}

impl serde::Serialize for Did {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Did {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A short, stable id of a public key: `kid:` and 22 base64url characters (see the module docs).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// The key id of `pk`: `kid:` + base64url-no-pad(SHA-256(varint codec || pk)[..16]).
    #[must_use]
    pub fn from_public_key(pk: &PublicKey) -> KeyId {
        let digest = Sha256::digest(multicodec_key(pk));
        let truncated = digest.get(..KEY_ID_HASH_LEN).unwrap_or_default();
        KeyId(format!(
            "{KEY_ID_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(truncated)
        ))
    }

    /// The key id string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KeyId {
    type Err = DidError;

    /// Accepts exactly `kid:` followed by the canonical base64url-no-pad encoding of 16 bytes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b64 = s.strip_prefix(KEY_ID_PREFIX).ok_or(DidError::BadKeyId)?;
        let alphabet_ok = b64
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if b64.len() != KEY_ID_B64_LEN || !alphabet_ok {
            return Err(DidError::BadKeyId);
        }
        // Rejects non-zero trailing bits, so each id has one spelling.
        match URL_SAFE_NO_PAD.decode(b64) {
            Ok(bytes) if bytes.len() == KEY_ID_HASH_LEN => Ok(KeyId(s.to_owned())),
            _ => Err(DidError::BadKeyId),
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl serde::Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The JWS `kid` of `pk`: its `did:key` for Ed25519, its [`KeyId`] for every other algorithm.
#[must_use]
pub fn kid_for(pk: &PublicKey) -> String {
    match pk.algorithm() {
        Algorithm::Ed25519 => Did::from_public_key(pk).text,
        Algorithm::MlDsa65 | Algorithm::MlDsa65Ed25519 => KeyId::from_public_key(pk).0,
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::alg::SigningKey;

    /// The memo of parsed DIDs returns the key parsing gives, keeps working past its size, and
    /// never turns a string that fails to parse into one that succeeds.
    #[test]
    fn parse_memo_returns_what_parsing_returns() {
        let keys: Vec<PublicKey> = (0..40_u8)
            .map(|i| {
                SigningKey::from_seed(Algorithm::Ed25519, &[i; 32])
                    .unwrap()
                    .public_key()
            })
            .collect();
        for _round in 0..3 {
            for key in &keys {
                let text = Did::from_public_key(key).to_string();
                let parsed: Did = text.parse().unwrap();
                assert_eq!(parsed.public_key(), key);
                assert_eq!(parsed.to_string(), text);
                assert_eq!(parsed.public_key().as_bytes(), key.as_bytes());
                // A near miss of a remembered string is parsed, and fails, as before.
                let mut broken = text.clone();
                broken.push('1');
                assert!(broken.parse::<Did>().is_err(), "{broken}");
                let upper = text.replacen("did:key", "DID:key", 1);
                assert_eq!(upper.parse::<Did>().unwrap_err(), DidError::NotDidKey);
            }
        }
        // A remembered key verifies and refuses exactly as a fresh one.
        let signer = SigningKey::from_seed(Algorithm::Ed25519, &[3; 32]).unwrap();
        let sig = signer.sign(b"m");
        let text = Did::from_public_key(&signer.public_key()).to_string();
        for _ in 0..2 {
            let key = text.parse::<Did>().unwrap().public_key().clone();
            assert!(key.verify(b"m", sig.as_bytes()).is_ok());
            assert!(key.verify(b"n", sig.as_bytes()).is_err());
        }
    }

    /// Published Ed25519 did:key vectors: (seed, `publicKeyBase58`, DID). Source:
    /// w3c-ccg/did-method-key `test-vectors/ed25519-x25519.json`, commit
    /// e7839a8e1ce1e17ff18bc0c95600753604efb1fe.
    const W3C_ED25519: [(&str, &str, &str); 5] = [
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000001",
            "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt",
            "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000002",
            "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH",
            "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000003",
            "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2",
            "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000004",
            "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x",
            "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL",
        ),
    ];

    fn key(alg: Algorithm, fill: u8) -> PublicKey {
        SigningKey::from_seed(alg, &vec![fill; alg.seed_len()])
            .unwrap()
            .public_key()
    }

    /// `did:key:z` + base58(raw).
    fn did_from_raw(raw: &[u8]) -> String {
        format!("did:key:z{}", bs58::encode(raw).into_string())
    }

    /// Reference unsigned-varint encoder (multiformats/unsigned-varint).
    fn varint(mut value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let low = u8::try_from(value & 0x7f).unwrap();
            value = value.checked_shr(7).unwrap();
            if value == 0 {
                out.push(low);
                return out;
            }
            out.push(low | 0x80);
        }
    }

    #[test]
    fn w3c_ed25519_vectors() {
        for (seed, base58_pk, did_str) in W3C_ED25519 {
            let raw_pk = bs58::decode(base58_pk).into_vec().unwrap();
            let pk = PublicKey::from_bytes(Algorithm::Ed25519, &raw_pk).unwrap();
            // The seed in the vector derives the same key.
            let sk =
                SigningKey::from_seed(Algorithm::Ed25519, &hex::decode(seed).unwrap()).unwrap();
            assert_eq!(sk.public_key(), pk);
            // Encoding matches the published DID, and parsing gives the key back.
            let did = Did::from_public_key(&pk);
            assert_eq!(did.as_str(), did_str);
            assert_eq!(did.to_string(), did_str);
            let parsed: Did = did_str.parse().unwrap();
            assert_eq!(parsed, did);
            assert_eq!(parsed.public_key(), &pk);
            assert_eq!(kid_for(&pk), did_str);
            assert_eq!(format!("{parsed:?}"), format!("Did({did_str})"));
        }
    }

    #[test]
    fn multicodec_prefixes_are_varints_of_the_codes() {
        for alg in Algorithm::ALL {
            assert_eq!(multicodec_prefix(alg), varint(multicodec(alg)).as_slice());
            assert_eq!(algorithm_for_codec(multicodec(alg)), Some(alg));
        }
        assert_eq!(varint(0xed), vec![0xed, 0x01]);
        assert_eq!(varint(0x1211), vec![0x91, 0x24]);
        assert!((0x30_0000..=0x3f_ffff).contains(&MULTICODEC_MLDSA65_ED25519_PUB));
    }

    #[test]
    fn round_trip_every_algorithm() {
        for alg in Algorithm::ALL {
            let pk = key(alg, 1);
            let did = Did::from_public_key(&pk);
            assert!(did.as_str().starts_with("did:key:z"));
            let parsed: Did = did.as_str().parse().unwrap();
            assert_eq!(parsed, did);
            assert_eq!(parsed.public_key(), &pk);
            assert_eq!(parsed.key_id(), KeyId::from_public_key(&pk));
            let raw = bs58::decode(did.as_str().strip_prefix("did:key:z").unwrap())
                .into_vec()
                .unwrap();
            assert!(raw.starts_with(multicodec_prefix(alg)));
            assert!(raw.ends_with(pk.as_bytes()));
            // serde: a JSON string.
            let json = serde_json::to_string(&did).unwrap();
            assert_eq!(json, format!("\"{did}\""));
            assert_eq!(serde_json::from_str::<Did>(&json).unwrap(), did);
        }
        assert!(
            Did::from_public_key(&key(Algorithm::Ed25519, 1))
                .as_str()
                .starts_with("did:key:z6Mk")
        );
    }

    #[test]
    fn debug_abbreviates_long_dids() {
        let did = Did::from_public_key(&key(Algorithm::MlDsa65, 2));
        let debug = format!("{did:?}");
        assert!(debug.len() < 60, "{debug}");
        assert!(debug.ends_with(", ML-DSA-65)"));
        assert!(debug.starts_with("Did(did:key:z"));
    }

    #[test]
    fn malformed_dids_rejected() {
        let pk = key(Algorithm::Ed25519, 3);
        let good = Did::from_public_key(&pk).to_string();
        let id = good.strip_prefix("did:key:").unwrap();
        let ed_prefix = multicodec_prefix(Algorithm::Ed25519);
        let parse = |s: &str| s.parse::<Did>().unwrap_err();

        // Wrong prefix or method.
        assert_eq!(parse(&format!("did:web:{id}")), DidError::NotDidKey);
        assert_eq!(parse(&format!("DID:KEY:{id}")), DidError::NotDidKey);
        assert_eq!(parse(id), DidError::NotDidKey);
        assert_eq!(parse(""), DidError::NotDidKey);
        // DID URL components.
        assert_eq!(parse(&format!("{good}#{id}")), DidError::UrlComponents);
        assert_eq!(parse(&format!("{good}?service=x")), DidError::UrlComponents);
        assert_eq!(parse(&format!("{good}/path")), DidError::UrlComponents);
        // Other multibase prefixes and bad base58.
        let hex_id = format!(
            "did:key:f{}",
            hex::encode([ed_prefix, pk.as_bytes()].concat())
        );
        assert_eq!(parse(&hex_id), DidError::BadMultibase);
        assert_eq!(parse("did:key:z6Mk0OIl"), DidError::BadMultibase);
        assert_eq!(parse(&format!("{good} ")), DidError::BadMultibase);
        // Empty, truncated or overlong varint.
        assert_eq!(parse("did:key:z"), DidError::BadMulticodec);
        assert_eq!(parse(&did_from_raw(&[0xed])), DidError::BadMulticodec);
        let overlong = [&[0xed, 0x81, 0x00][..], pk.as_bytes()].concat();
        assert_eq!(parse(&did_from_raw(&overlong)), DidError::BadMulticodec);
        let zero_pad = [&[0x80, 0x00][..], pk.as_bytes()].concat();
        assert_eq!(parse(&did_from_raw(&zero_pad)), DidError::BadMulticodec);
        assert_eq!(parse(&did_from_raw(&[0xff; 12])), DidError::BadMulticodec);
        // Unknown codecs: secp256k1-pub, and a private-use code signet does not use.
        let secp = [&[0xe7, 0x01][..], &[2; 33]].concat();
        assert_eq!(
            parse(&did_from_raw(&secp)),
            DidError::UnsupportedKeyType { codec: 0xe7 }
        );
        let private = [varint(0x30_0001).as_slice(), pk.as_bytes()].concat();
        assert_eq!(
            parse(&did_from_raw(&private)),
            DidError::UnsupportedKeyType { codec: 0x30_0001 }
        );
        // Wrong key lengths for the codec.
        let truncated = [ed_prefix, pk.as_bytes().get(..31).unwrap()].concat();
        assert_eq!(
            parse(&did_from_raw(&truncated)),
            DidError::BadKey(AlgError::BadPublicKeyLength {
                alg: Algorithm::Ed25519,
                expected: 32,
                got: 31
            })
        );
        let extended = [ed_prefix, pk.as_bytes(), &[0]].concat();
        assert!(matches!(
            parse(&did_from_raw(&extended)),
            DidError::BadKey(AlgError::BadPublicKeyLength { got: 33, .. })
        ));
        let ml_short = [multicodec_prefix(Algorithm::MlDsa65), pk.as_bytes()].concat();
        assert!(matches!(
            parse(&did_from_raw(&ml_short)),
            DidError::BadKey(AlgError::BadPublicKeyLength {
                alg: Algorithm::MlDsa65,
                ..
            })
        ));
        // A weak (small-order) Ed25519 key.
        let mut identity = vec![0u8; 32];
        if let Some(b) = identity.first_mut() {
            *b = 1;
        }
        let weak = [ed_prefix, identity.as_slice()].concat();
        assert!(matches!(
            parse(&did_from_raw(&weak)),
            DidError::BadKey(AlgError::BadPublicKey { .. })
        ));
        // Too long, rejected before decoding.
        let long = format!("did:key:z{}", "1".repeat(MAX_DID_LEN));
        assert_eq!(
            parse(&long),
            DidError::TooLong {
                len: long.len(),
                max: MAX_DID_LEN
            }
        );
        // serde rejects malformed strings too.
        assert!(serde_json::from_str::<Did>("\"did:key:z6Mk\"").is_err());
        assert!(serde_json::from_str::<Did>("42").is_err());
    }

    #[test]
    fn key_id_format() {
        for alg in Algorithm::ALL {
            let pk = key(alg, 4);
            let id = KeyId::from_public_key(&pk);
            assert_eq!(id.as_str().len(), 26);
            // Independent computation of the documented formula.
            let digest = Sha256::digest([multicodec_prefix(alg), pk.as_bytes()].concat());
            let expected = format!("kid:{}", URL_SAFE_NO_PAD.encode(digest.get(..16).unwrap()));
            assert_eq!(id.as_str(), expected);
            assert_eq!(id.as_str().parse::<KeyId>().unwrap(), id);
            assert_eq!(format!("{id:?}"), format!("KeyId({id})"));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<KeyId>(&json).unwrap(), id);
            // Different algorithms with related seeds give different ids.
            assert_ne!(id, KeyId::from_public_key(&key(alg, 5)));
            match alg {
                Algorithm::Ed25519 => {
                    assert_eq!(kid_for(&pk), Did::from_public_key(&pk).to_string())
                }
                _ => assert_eq!(kid_for(&pk), id.to_string()),
            }
        }
    }

    #[test]
    fn malformed_key_ids_rejected() {
        let id = KeyId::from_public_key(&key(Algorithm::MlDsa65, 6)).to_string();
        let body = id.strip_prefix("kid:").unwrap();
        for bad in [
            String::new(),
            body.to_owned(),
            format!("KID:{body}"),
            format!("kid:{}", body.get(..21).unwrap()),
            format!("{id}A"),
            format!("kid:{}+", body.get(..21).unwrap()),
            format!("kid:{}/", body.get(..21).unwrap()),
            format!("kid:{}=", body.get(..21).unwrap()),
            // Non-zero trailing bits: the 22nd character only carries 2 bits.
            format!("kid:{}B", "A".repeat(21)),
        ] {
            assert_eq!(bad.parse::<KeyId>(), Err(DidError::BadKeyId), "{bad}");
        }
        assert!(format!("kid:{}A", "A".repeat(21)).parse::<KeyId>().is_ok());
        assert!(serde_json::from_str::<KeyId>("\"kid:short\"").is_err());
    }
}
