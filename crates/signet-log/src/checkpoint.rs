//! C2SP transparency log checkpoints (`c2sp.org/tlog-checkpoint`): the signed note body that
//! commits to a tree head.
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeros>
//! <root hash, standard base64 with padding>
//! [<extension line>…]
//! ```
//!
//! Every line ends with a newline and none is empty. Parsing is strict: a size with a sign or a
//! leading zero, a root hash that is not canonical base64 of exactly 32 bytes, an empty
//! extension line (such as a trailing blank line) or a control character is an error. The
//! checkpoint is signed as a note ([`crate::note`]); [`open_checkpoint`] returns the body only
//! after a signature by the given key verified. Callers that know which log they expect should
//! use [`open_checkpoint_for_origin`]: the specification only recommends that the key name match
//! the origin.

use core::fmt::Write as _;

use signet_core::alg::SigningKey;

use crate::merkle::{Hash, HashParseError, TreeSize};
use crate::note::{self, NoteError, NoteVerifier};

/// The longest untrusted text echoed back in an error message, in characters.
const MAX_ECHOED: usize = 64;

/// A tree head: the log's origin, the tree size and root hash, and optional extension lines.
///
/// Build one with a struct literal or [`Checkpoint::new`]; [`Checkpoint::to_body`] checks the
/// fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, for example `example.com/log42`. Non-empty, one line.
    pub origin: String,
    /// The number of leaves.
    pub size: TreeSize,
    /// The RFC 9162 root hash at `size`.
    pub root: Hash,
    /// Extension lines (without their newlines); each non-empty. Not recommended by the
    /// specification, because monitors cannot audit them.
    pub extensions: Vec<String>,
}

/// Errors formatting, parsing and opening checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note did not open.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The body does not end with a newline.
    #[error("checkpoint body must end with a newline")]
    MissingFinalNewline,
    /// Fewer than three lines.
    #[error("checkpoint has `{got}` lines, at least 3 are required")]
    TooFewLines {
        /// The number of lines.
        got: usize,
    },
    /// The origin line is empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// A field contains a newline or another control character.
    #[error("checkpoint {field} contains a control character")]
    ControlCharacter {
        /// Which field.
        field: &'static str,
    },
    /// The size line is not a decimal `u64` without sign or leading zeros (long lines are
    /// truncated).
    #[error("checkpoint tree size `{0}` is not a decimal number without leading zeros")]
    BadSize(String),
    /// The root hash line is not 32 bytes of canonical padded base64.
    #[error("checkpoint root hash: {0}")]
    BadRootHash(#[source] HashParseError),
    /// An extension line is empty (lines are counted from 1, the origin).
    #[error("checkpoint line `{line}` is an empty extension line")]
    EmptyExtensionLine {
        /// The line number.
        line: usize,
    },
    /// The checkpoint is for another log (long origins are truncated).
    #[error("checkpoint origin is `{got}`, expected `{expected}`")]
    OriginMismatch {
        /// The origin asked for.
        expected: String,
        /// The origin in the checkpoint.
        got: String,
    },
}

/// Keeps at most [`MAX_ECHOED`] characters of untrusted input for an error message.
fn truncate(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHOED) {
        Some((end, _)) => format!("{}…", s.get(..end).unwrap_or_default()),
        None => s.to_owned(),
    }
}

/// Checks that a field has no control character (newline included).
fn check_line(text: &str, field: &'static str) -> Result<(), CheckpointError> {
    if text.chars().any(|c| c < ' ') {
        Err(CheckpointError::ControlCharacter { field })
    } else {
        Ok(())
    }
}

/// Parses a tree size: ASCII digits, no sign, no leading zero unless it is `0`, fits a `u64`.
fn parse_size(line: &str) -> Result<TreeSize, CheckpointError> {
    let bad = || CheckpointError::BadSize(truncate(line));
    let digits_only = !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (line.len() > 1 && line.starts_with('0')) {
        return Err(bad());
    }
    line.parse::<u64>().map(TreeSize).map_err(|_| bad())
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    #[must_use]
    pub fn new(origin: impl Into<String>, size: TreeSize, root: Hash) -> Self {
        Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note body: origin, size, base64 root hash and extension lines, each ending with a
    /// newline.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::EmptyOrigin`], [`CheckpointError::EmptyExtensionLine`] or
    /// [`CheckpointError::ControlCharacter`] (a newline inside a field included).
    pub fn to_body(&self) -> Result<String, CheckpointError> {
        if self.origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        check_line(&self.origin, "origin")?;
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size.0,
            self.root.to_base64()
        );
        for (i, ext) in self.extensions.iter().enumerate() {
            if ext.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine {
                    line: i.saturating_add(4),
                });
            }
            check_line(ext, "extension line")?;
            // Writing to a String cannot fail.
            let _ = writeln!(body, "{ext}");
        }
        Ok(body)
    }

    /// Parses a note body strictly (see the module documentation).
    ///
    /// # Errors
    ///
    /// [`CheckpointError::MissingFinalNewline`], [`CheckpointError::TooFewLines`],
    /// [`CheckpointError::EmptyOrigin`], [`CheckpointError::ControlCharacter`],
    /// [`CheckpointError::BadSize`], [`CheckpointError::BadRootHash`] or
    /// [`CheckpointError::EmptyExtensionLine`].
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let text = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let lines: Vec<&str> = text.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines { got: lines.len() });
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        check_line(origin, "origin")?;
        let size = parse_size(size)?;
        let root = Hash::from_base64(root).map_err(CheckpointError::BadRootHash)?;
        for (i, ext) in extensions.iter().enumerate() {
            if ext.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine {
                    line: i.saturating_add(4),
                });
            }
            check_line(ext, "extension line")?;
        }
        Ok(Checkpoint {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|e| (*e).to_owned()).collect(),
        })
    }
}

/// Signs a checkpoint as a note with one Ed25519 signature by `key` under `name` (which should
/// be the origin).
///
/// # Errors
///
/// The errors of [`Checkpoint::to_body`], and [`CheckpointError::Note`] from
/// [`note::sign_note`] (a key that is not Ed25519, an invalid key name).
pub fn sign_checkpoint(
    checkpoint: &Checkpoint,
    name: &str,
    key: &SigningKey,
) -> Result<String, CheckpointError> {
    let body = checkpoint.to_body()?;
    Ok(note::sign_note(&body, name, key)?)
}

/// Opens a checkpoint note signed by `verifier` (other signatures, such as witness
/// cosignatures, are ignored) and parses its body.
///
/// This does not check the origin; see [`open_checkpoint_for_origin`].
///
/// # Errors
///
/// [`CheckpointError::Note`] unless the note is well formed and carries a valid signature by
/// `verifier`, then the errors of [`Checkpoint::parse_body`].
pub fn open_checkpoint(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, CheckpointError> {
    let opened = note::open_note(note, core::slice::from_ref(verifier))?;
    Checkpoint::parse_body(opened.body())
}

/// [`open_checkpoint`], and checks that the checkpoint's origin is `origin`.
///
/// # Errors
///
/// The errors of [`open_checkpoint`], and [`CheckpointError::OriginMismatch`].
pub fn open_checkpoint_for_origin(
    note: &str,
    origin: &str,
    verifier: &NoteVerifier,
) -> Result<Checkpoint, CheckpointError> {
    let checkpoint = open_checkpoint(note, verifier)?;
    if checkpoint.origin != origin {
        return Err(CheckpointError::OriginMismatch {
            expected: truncate(origin),
            got: truncate(&checkpoint.origin),
        });
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::merkle::empty_root;

    #[test]
    fn body_round_trip() {
        let mut cp = Checkpoint::new("example.com/log", TreeSize(0), empty_root());
        cp.extensions.push("ext one".into());
        let body = cp.to_body().unwrap();
        assert_eq!(
            body,
            "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\n"
        );
        assert_eq!(Checkpoint::parse_body(&body).unwrap(), cp);
    }

    #[test]
    fn to_body_rejects_bad_fields() {
        let mut cp = Checkpoint::new("", TreeSize(1), empty_root());
        assert_eq!(cp.to_body(), Err(CheckpointError::EmptyOrigin));
        cp.origin = "a\nb".into();
        assert!(matches!(
            cp.to_body(),
            Err(CheckpointError::ControlCharacter { field: "origin" })
        ));
        cp.origin = "a".into();
        cp.extensions.push(String::new());
        assert_eq!(
            cp.to_body(),
            Err(CheckpointError::EmptyExtensionLine { line: 4 })
        );
    }
}
