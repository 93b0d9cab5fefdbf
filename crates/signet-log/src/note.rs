//! C2SP signed notes (`c2sp.org/signed-note`) with Ed25519 note signatures.
//!
//! A signed note is a text ending in a newline, a blank line, then one or more signature lines:
//!
//! ```text
//! <text, every line ending in "\n">
//!
//! — <key name> <base64(key ID (4 bytes, big-endian) || signature)>
//! ```
//!
//! The line starts with an em dash (U+2014) and a space. The text may itself contain blank
//! lines: it ends at the *last* blank line of the note, and no signature line is empty, so the
//! split is unambiguous. A note must be valid UTF-8 without ASCII control characters other than
//! newline.
//!
//! Ed25519 (signature type `0x01`) is the only signature type this module signs or verifies.
//! Its key ID is `SHA-256(key name || 0x0A || 0x01 || public key)[:4]`, and its verifier key
//! text form is `<name>+<8 lowercase hex digits of the key ID>+<base64(0x01 || public key)>`.
//!
//! [`open_note`] fails closed: the note must be well formed, the verifier list must not name a
//! key twice, every signature line by a known key (same name *and* key ID) must verify and appear
//! only once, and at least one must be present. Lines by unknown keys are kept, unverified, as
//! the specification requires; they never count towards verification.

use core::fmt;
use core::str::FromStr;
use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use signet_core::alg::{AlgError, Algorithm, PublicKey, SigningKey};

/// The largest note [`open_note`] accepts and [`sign_note`] produces, in bytes.
pub const MAX_NOTE_LEN: usize = 1 << 20;

/// The most signature lines [`open_note`] accepts (the specification requires at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// The signature type identifier byte of Ed25519 note signatures.
pub const SIG_TYPE_ED25519: u8 = 0x01;

/// The start of every signature line: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Length of an Ed25519 public key.
const ED25519_PK_LEN: usize = 32;
/// Length of an Ed25519 signature.
const ED25519_SIG_LEN: usize = 64;
/// Length of a key ID.
const KEY_ID_LEN: usize = 4;
/// The longest untrusted text echoed back in an error message, in characters.
const MAX_ECHOED: usize = 64;

/// Errors signing, parsing and verifying notes and verifier keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note or text exceeds [`MAX_NOTE_LEN`].
    #[error("note is `{len}` bytes, more than the limit of `{max}`")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The note is not UTF-8.
    #[error("note is not valid utf-8")]
    InvalidUtf8,
    /// The note contains an ASCII control character other than newline.
    #[error("note contains control character `U+{code:04X}` at byte `{offset}`")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
        /// Its byte offset.
        offset: usize,
    },
    /// The text to sign is empty or does not end with a newline.
    #[error("note text must be non-empty and end with a newline")]
    MissingFinalNewline,
    /// No blank line separates the text from signatures.
    #[error("note has no blank line before its signature lines")]
    NoSignatureBlock,
    /// A signature line is malformed (lines are counted from 1 after the blank line).
    #[error("signature line `{line}` is malformed: {reason}")]
    MalformedSignatureLine {
        /// The line number within the signature block.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than `{max}` signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A key name is empty or contains a Unicode space, a plus sign or a control character
    /// (long names are truncated).
    #[error("key name `{0}` is empty or contains a space, a plus sign or a control character")]
    InvalidKeyName(String),
    /// A verifier key string is malformed.
    #[error("verifier key is malformed: {0}")]
    MalformedVerifierKey(&'static str),
    /// A verifier key's ID does not match its name and public key.
    #[error(
        "verifier key id `{got:08x}` does not match its name and public key (`{expected:08x}`)"
    )]
    KeyIdMismatch {
        /// The ID computed from the name and key.
        expected: u32,
        /// The ID written in the key string.
        got: u32,
    },
    /// A verifier key of a signature type other than Ed25519.
    #[error("note signature type `0x{0:02x}` is not supported (only Ed25519, `0x01`)")]
    UnsupportedSignatureType(u8),
    /// A signing or public key of an algorithm other than Ed25519.
    #[error("note keys must be Ed25519, got `{0}`")]
    UnsupportedAlgorithm(Algorithm),
    /// The Ed25519 public key is not valid.
    #[error("invalid note public key: {0}")]
    BadPublicKey(#[source] AlgError),
    /// The same key (name and ID) appears twice in the verifier list.
    #[error("key `{name}+{key_id:08x}` appears twice in the verifier list")]
    DuplicateVerifier {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: u32,
    },
    /// A known key signed the note more than once.
    #[error("note has more than one signature by key `{name}+{key_id:08x}`")]
    DuplicateSignature {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: u32,
    },
    /// A signature by a known key does not verify.
    #[error("signature by key `{name}+{key_id:08x}` does not verify")]
    InvalidSignature {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: u32,
    },
    /// No signature by a known key.
    #[error("note has no signature by a known key")]
    NoVerifiedSignature,
    /// The signing backend produced no signature.
    #[error("signing the note failed")]
    SigningFailed,
}

/// Keeps at most [`MAX_ECHOED`] characters of untrusted input for an error message.
fn truncate(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHOED) {
        Some((end, _)) => format!("{}…", s.get(..end).unwrap_or_default()),
        None => s.to_owned(),
    }
}

/// Whether `name` is a valid key name: non-empty, without Unicode white space, plus signs or
/// control characters.
#[must_use]
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// Checks a key name.
fn check_key_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName(truncate(name)))
    }
}

/// The recommended note key ID: the first four bytes, big-endian, of
/// `SHA-256(name || 0x0A || signature type || public key)`.
#[must_use]
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([sig_type]);
    h.update(public_key);
    let digest: [u8; 32] = h.finalize().into();
    let [a, b, c, d, ..] = digest;
    u32::from_be_bytes([a, b, c, d])
}

/// Checks the note character rules: at most [`MAX_NOTE_LEN`] bytes, no ASCII control character
/// other than newline.
fn check_characters(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_LEN {
        return Err(NoteError::TooLarge {
            len: text.len(),
            max: MAX_NOTE_LEN,
        });
    }
    match text.char_indices().find(|&(_, c)| c < ' ' && c != '\n') {
        Some((offset, c)) => Err(NoteError::ControlCharacter {
            code: u32::from(c),
            offset,
        }),
        None => Ok(()),
    }
}

/// A trusted Ed25519 note key: name, key ID and public key.
///
/// The text form ([`fmt::Display`] / [`FromStr`]) is the verifier key
/// `<name>+<hex key ID>+<base64(0x01 || public key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    public_key: PublicKey,
}

impl NoteVerifier {
    /// A verifier for an Ed25519 public key under `name`, with the recommended key ID.
    ///
    /// # Errors
    ///
    /// [`NoteError::InvalidKeyName`], or [`NoteError::UnsupportedAlgorithm`] for a key that is
    /// not Ed25519.
    pub fn new(name: &str, public_key: &PublicKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        if public_key.algorithm() != Algorithm::Ed25519 {
            return Err(NoteError::UnsupportedAlgorithm(public_key.algorithm()));
        }
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: key_id(name, SIG_TYPE_ED25519, public_key.as_bytes()),
            public_key: public_key.clone(),
        })
    }

    /// The verifier for the public half of `key`.
    ///
    /// # Errors
    ///
    /// As [`NoteVerifier::new`].
    pub fn from_signing_key(name: &str, key: &SigningKey) -> Result<Self, NoteError> {
        NoteVerifier::new(name, &key.public_key())
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// Whether this key is the one a signature line names.
    fn is(&self, name: &str, key_id: u32) -> bool {
        self.key_id == key_id && self.name == name
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = Vec::with_capacity(ED25519_PK_LEN.saturating_add(1));
        key.push(SIG_TYPE_ED25519);
        key.extend_from_slice(self.public_key.as_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            STANDARD.encode(key)
        )
    }
}

impl FromStr for NoteVerifier {
    type Err = NoteError;

    /// Parses `<name>+<8 lowercase hex digits>+<base64(0x01 || 32-byte public key)>` and checks
    /// that the key ID matches the name and key.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::MalformedVerifierKey(
                "expected `<name>+<key id>+<key>`",
            ));
        };
        check_key_name(name)?;
        let lowercase_hex = id_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if id_hex.len() != 8 || !lowercase_hex {
            return Err(NoteError::MalformedVerifierKey(
                "key id is not 8 lowercase hex digits",
            ));
        }
        let got = u32::from_str_radix(id_hex, 16)
            .map_err(|_| NoteError::MalformedVerifierKey("key id is not 8 lowercase hex digits"))?;
        let key = STANDARD
            .decode(key_b64)
            .map_err(|_| NoteError::MalformedVerifierKey("key is not canonical padded base64"))?;
        let Some((&sig_type, public_key)) = key.split_first() else {
            return Err(NoteError::MalformedVerifierKey("key is empty"));
        };
        if sig_type != SIG_TYPE_ED25519 {
            return Err(NoteError::UnsupportedSignatureType(sig_type));
        }
        if public_key.len() != ED25519_PK_LEN {
            return Err(NoteError::MalformedVerifierKey(
                "ed25519 public key is not 32 bytes",
            ));
        }
        let expected = key_id(name, SIG_TYPE_ED25519, public_key);
        if got != expected {
            return Err(NoteError::KeyIdMismatch { expected, got });
        }
        let public_key = PublicKey::from_bytes(Algorithm::Ed25519, public_key)
            .map_err(NoteError::BadPublicKey)?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: got,
            public_key,
        })
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID.
    pub key_id: u32,
    /// The signature bytes (after the key ID).
    pub signature: Vec<u8>,
}

/// A note whose text carries at least one valid signature by a known key.
///
/// Only [`open_note`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    body: String,
    verified: Vec<NoteSignature>,
    unverified: Vec<NoteSignature>,
}

impl VerifiedNote {
    /// The signed text, with its final newline.
    #[must_use]
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The signed text, by value.
    #[must_use]
    pub fn into_body(self) -> String {
        self.body
    }

    /// The signatures by known keys, all verified, in note order.
    #[must_use]
    pub fn verified_signatures(&self) -> &[NoteSignature] {
        &self.verified
    }

    /// The signatures by unknown keys, not verified, in note order.
    #[must_use]
    pub fn unverified_signatures(&self) -> &[NoteSignature] {
        &self.unverified
    }
}

/// Signs `body` as a note with one Ed25519 signature line by `key` under `name`.
///
/// `body` must end with a newline and follow the note character rules; it may contain blank
/// lines.
///
/// # Errors
///
/// [`NoteError::UnsupportedAlgorithm`] unless `key` is Ed25519, [`NoteError::InvalidKeyName`],
/// [`NoteError::MissingFinalNewline`], [`NoteError::ControlCharacter`],
/// [`NoteError::TooLarge`] if the signed note would exceed [`MAX_NOTE_LEN`].
pub fn sign_note(body: &str, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    if key.algorithm() != Algorithm::Ed25519 {
        return Err(NoteError::UnsupportedAlgorithm(key.algorithm()));
    }
    check_key_name(name)?;
    if !body.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    check_characters(body)?;
    let signature = key.sign(body.as_bytes());
    if signature.as_bytes().len() != ED25519_SIG_LEN {
        return Err(NoteError::SigningFailed);
    }
    let id = key_id(name, SIG_TYPE_ED25519, key.public_key().as_bytes());
    let mut raw = Vec::with_capacity(KEY_ID_LEN.saturating_add(ED25519_SIG_LEN));
    raw.extend_from_slice(&id.to_be_bytes());
    raw.extend_from_slice(signature.as_bytes());
    let note = format!("{body}\n{SIG_PREFIX}{name} {}\n", STANDARD.encode(raw));
    if note.len() > MAX_NOTE_LEN {
        return Err(NoteError::TooLarge {
            len: note.len(),
            max: MAX_NOTE_LEN,
        });
    }
    Ok(note)
}

/// Parses one signature line (without its newline).
fn parse_signature_line(line: &str, number: usize) -> Result<NoteSignature, NoteError> {
    let malformed = |reason| NoteError::MalformedSignatureLine {
        line: number,
        reason,
    };
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or_else(|| malformed("does not start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| malformed("has no space between key name and signature"))?;
    if !is_valid_key_name(name) {
        return Err(malformed(
            "key name is empty or contains a space or a plus sign",
        ));
    }
    let raw = STANDARD
        .decode(b64)
        .map_err(|_| malformed("signature is not canonical padded base64"))?;
    let (id, signature) = raw
        .split_first_chunk::<KEY_ID_LEN>()
        .filter(|(_, sig)| !sig.is_empty())
        .ok_or_else(|| malformed("signature is shorter than 5 bytes"))?;
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes(*id),
        signature: signature.to_vec(),
    })
}

/// Opens a signed note: checks its syntax and the signatures by the `verifiers`, and returns
/// the text if at least one of them signed it.
///
/// # Errors
///
/// Malformed notes: [`NoteError::TooLarge`], [`NoteError::ControlCharacter`],
/// [`NoteError::NoSignatureBlock`], [`NoteError::MalformedSignatureLine`],
/// [`NoteError::TooManySignatures`]. A bad verifier list: [`NoteError::DuplicateVerifier`].
/// Signature failures: [`NoteError::InvalidSignature`], [`NoteError::DuplicateSignature`],
/// [`NoteError::NoVerifiedSignature`].
pub fn open_note(note: &str, verifiers: &[NoteVerifier]) -> Result<VerifiedNote, NoteError> {
    let mut known = HashSet::with_capacity(verifiers.len());
    for v in verifiers {
        if !known.insert((v.name.as_str(), v.key_id)) {
            return Err(NoteError::DuplicateVerifier {
                name: v.name.clone(),
                key_id: v.key_id,
            });
        }
    }
    check_characters(note)?;
    // The text ends at the last blank line; it keeps its final newline.
    let split = note.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
    let (body, sigs) = (
        note.get(..=split).ok_or(NoteError::NoSignatureBlock)?,
        note.get(split.saturating_add(2)..)
            .ok_or(NoteError::NoSignatureBlock)?,
    );
    let Some(sigs) = sigs.strip_suffix('\n') else {
        return Err(NoteError::MalformedSignatureLine {
            line: 1,
            reason: if sigs.is_empty() {
                "the note has no signature lines"
            } else {
                "the last line does not end with a newline"
            },
        });
    };
    let mut seen = HashSet::new();
    let mut verified = Vec::new();
    let mut unverified = Vec::new();
    for (i, line) in sigs.split('\n').enumerate() {
        if i >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        let sig = parse_signature_line(line, i.saturating_add(1))?;
        let Some(v) = verifiers.iter().find(|v| v.is(&sig.name, sig.key_id)) else {
            unverified.push(sig);
            continue;
        };
        if !seen.insert((v.name.as_str(), v.key_id)) {
            return Err(NoteError::DuplicateSignature {
                name: v.name.clone(),
                key_id: v.key_id,
            });
        }
        if v.public_key
            .verify(body.as_bytes(), &sig.signature)
            .is_err()
        {
            return Err(NoteError::InvalidSignature {
                name: v.name.clone(),
                key_id: v.key_id,
            });
        }
        verified.push(sig);
    }
    if verified.is_empty() {
        return Err(NoteError::NoVerifiedSignature);
    }
    Ok(VerifiedNote {
        body: body.to_owned(),
        verified,
        unverified,
    })
}

/// [`open_note`] for bytes that may not be UTF-8.
///
/// # Errors
///
/// [`NoteError::InvalidUtf8`], [`NoteError::TooLarge`], and the errors of [`open_note`].
pub fn open_note_bytes(note: &[u8], verifiers: &[NoteVerifier]) -> Result<VerifiedNote, NoteError> {
    if note.len() > MAX_NOTE_LEN {
        return Err(NoteError::TooLarge {
            len: note.len(),
            max: MAX_NOTE_LEN,
        });
    }
    let text = core::str::from_utf8(note).map_err(|_| NoteError::InvalidUtf8)?;
    open_note(text, verifiers)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_seed(Algorithm::Ed25519, &[byte; 32]).unwrap()
    }

    #[test]
    fn sign_then_open() {
        let k = key(7);
        let v = NoteVerifier::from_signing_key("example.com/log", &k).unwrap();
        let note = sign_note("hello\n\nworld\n", "example.com/log", &k).unwrap();
        let opened = open_note(&note, std::slice::from_ref(&v)).unwrap();
        assert_eq!(opened.body(), "hello\n\nworld\n");
        assert_eq!(opened.verified_signatures().len(), 1);
        let reparsed: NoteVerifier = v.to_string().parse().unwrap();
        assert_eq!(reparsed, v);
    }

    #[test]
    fn key_names() {
        assert!(is_valid_key_name("example.com/log42"));
        for bad in [
            "",
            "a b",
            "a+b",
            "a\u{a0}b",
            "a\u{2028}b",
            "a\tb",
            "a\u{7}b",
        ] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn rejects_non_ed25519_keys() {
        let ml = SigningKey::from_seed(Algorithm::MlDsa65, &[1; 32]).unwrap();
        assert_eq!(
            sign_note("x\n", "n", &ml),
            Err(NoteError::UnsupportedAlgorithm(Algorithm::MlDsa65))
        );
        assert_eq!(
            NoteVerifier::from_signing_key("n", &ml),
            Err(NoteError::UnsupportedAlgorithm(Algorithm::MlDsa65))
        );
    }
}
