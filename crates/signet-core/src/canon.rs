//! Strict canonical JSON: RFC 8785, the JSON Canonicalization Scheme (JCS).
//!
//! This module owns the only code in signet that turns JSON into bytes to be signed. It has
//! two halves:
//!
//! - a strict parser ([`parse_strict`]) written for this module, which rejects every input
//!   whose meaning a signer and a verifier could read differently, and
//! - the canonical serializer ([`to_canonical_vec`], [`to_canonical_vec_of`],
//!   [`canonicalize`]), which emits the RFC 8785 form: object members sorted by the UTF-16
//!   code units of their names, no insignificant whitespace, numbers in ECMAScript
//!   `Number.prototype.toString` form (by the `ryu-js` crate) and strings with the minimal
//!   escapes. The RFC 8785 test vectors (the RFC's own examples, its Appendix B number table
//!   and the reference implementation's `testdata` files) pin the output, and the tests
//!   compare it with the `serde_json_canonicalizer` crate on random values.
//!
//! [`is_canonical`] checks in one pass, without building a value, whether a text is already
//! its own canonical form; [`canonicalize`] returns such a text as it is, and signing and
//! verification use it to check canonical payloads cheaply.
//!
//! # Documented behavior
//!
//! Parsing ([`parse_strict`], and so [`canonicalize`]) follows RFC 8259 plus these rules:
//!
//! - **UTF-8 only.** The whole input must be valid UTF-8; otherwise
//!   [`CanonError::InvalidUtf8`] names the byte offset of the first invalid sequence. The
//!   input is checked as a whole before it is parsed.
//! - **No byte order mark.** A leading UTF-8 BOM (`EF BB BF`) is a syntax error.
//! - **Whitespace** is space, tab, LF and CR only, between tokens and around the value.
//!   Anything but whitespace after the value is a syntax error.
//! - **Strings**: control characters below U+0020 must be escaped; a raw one is a syntax
//!   error. Only the RFC 8259 escapes are accepted (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`,
//!   `\t`, `\uXXXX`).
//! - **Surrogates**: a `\uD800`–`\uDBFF` escape must be directly followed by a
//!   `\uDC00`–`\uDFFF` escape, and the pair decodes to one character. Any unpaired surrogate
//!   escape is [`CanonError::LoneSurrogate`] at the offset of its backslash.
//! - **Duplicate object names**, compared after unescaping (so `"a"` and `"\u0061"` are the
//!   same name), are [`CanonError::DuplicateKey`]. serde_json's own parser would silently keep
//!   the last one, which is why this module does not use it.
//! - **Number grammar** is the strict JSON one: no leading zeros, no `+` sign, no `.5`, no
//!   `1.`, no `1e`, no hexadecimal, no `NaN` or `Infinity`.
//! - **Integer literals** (no fraction, no exponent) must lie within ±(2^53−1), the range in
//!   which every integer is exactly an IEEE-754 binary64; beyond it a consumer would silently
//!   round them, so they are [`CanonError::UnsafeInteger`]. Safe ones become serde_json
//!   integers (`u64`, or `i64` when negative; `-0` becomes `0`).
//! - **Fraction or exponent literals** become the nearest binary64 (correctly rounded, by
//!   `str::parse::<f64>`), as RFC 8785 §3.2.2.3 requires: `1E30` canonicalizes to `1e+30`,
//!   `4.50` to `4.5`, `-0.0` to `0`, and `1e-400` underflows to `0`. A literal whose binary64
//!   value is infinite (such as `1e400`) is [`CanonError::NonFinite`].
//! - **Integers in disguise**: a literal with a fraction but no exponent whose binary64 value
//!   is integral with magnitude above 2^53−1 (such as `9007199254740993.0`) is
//!   [`CanonError::UnsafeInteger`]: it is an integer written with `.0`, and rounding it would
//!   silently change it. Exponent literals are accepted (`1E30` is the RFC's own example),
//!   *except* when their value is integral with magnitude in (2^53−1, 10^21): ECMAScript
//!   prints such a value as a bare integer (`1e20` → `100000000000000000000`), which this
//!   parser would then reject as an unsafe integer literal. Rejecting them keeps the rule
//!   that every canonical output is itself accepted and unchanged by [`canonicalize`].
//! - **Depth**: arrays and objects may nest at most [`MAX_DEPTH`] levels (the outermost
//!   array or object is level 1); deeper input is [`CanonError::TooDeep`]. The check happens
//!   while descending, so even 100 000 levels of `[` cannot overflow the stack.
//!
//! Serialization ([`to_canonical_vec`]) accepts any in-memory [`serde_json::Value`] except:
//!
//! - integers beyond ±(2^53−1) (`u64` above, or `i64` below) and binary64 values that are
//!   integral with magnitude in (2^53−1, 10^21), as above: [`CanonError::UnsafeInteger`];
//! - values nested deeper than [`MAX_DEPTH`]: [`CanonError::TooDeep`].
//!
//! The output is UTF-8 with no whitespace. Strings escape only `"`, `\` and characters below
//! U+0020 (as `\b`, `\t`, `\n`, `\f`, `\r`, or else `\u00xx` in lowercase hex); `/`, U+007F
//! and all other characters are written as themselves. Numbers use the shortest form that
//! reads back as the same binary64, in ECMAScript style (`1e+30`, `0.000001`, `1e-7`).
//!
//! Error messages quote user-supplied literals and names; a quoted value longer than
//! 64 characters is cut to its first 64 characters followed by `...`.

use serde_json::{Map, Number, Value};

/// Maximum nesting depth accepted by the strict parser.
pub const MAX_DEPTH: usize = 128;

/// Largest integer magnitude that every IEEE-754 binary64 consumer reads exactly: 2^53−1.
const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// [`MAX_SAFE_INTEGER`] as a binary64 (exactly representable).
const MAX_SAFE_INTEGER_F64: f64 = 9_007_199_254_740_991.0;

/// From this magnitude on, ECMAScript number formatting switches to exponent notation.
const ES_EXPONENT_THRESHOLD: f64 = 1e21;

/// Longest user value quoted verbatim in an error message.
const MAX_QUOTED_CHARS: usize = 64;

/// Why JSON text or a value could not be canonicalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonError {
    /// The text is not JSON under the strict grammar.
    #[error("invalid json at byte {offset}: {reason}")]
    Syntax {
        /// Byte offset in the input where the problem was found.
        offset: usize,
        /// What was wrong there.
        reason: String,
    },
    /// The text is not valid UTF-8.
    #[error("invalid utf-8 at byte {offset}")]
    InvalidUtf8 {
        /// Byte offset of the first invalid UTF-8 sequence.
        offset: usize,
    },
    /// An object has the same member name twice (compared after unescaping).
    #[error("duplicate object key `{key}`")]
    DuplicateKey {
        /// The repeated name, unescaped.
        key: String,
    },
    /// A `\u` escape encodes a UTF-16 surrogate that is not part of a valid pair.
    #[error("lone utf-16 surrogate escape at byte {offset}")]
    LoneSurrogate {
        /// Byte offset of the backslash of the offending escape.
        offset: usize,
    },
    /// An integer beyond ±(2^53−1), which binary64 consumers would silently round.
    #[error("integer `{literal}` is outside the safe range of -(2^53-1) to 2^53-1")]
    UnsafeInteger {
        /// The number as written (or as serde_json prints it, for in-memory values).
        literal: String,
    },
    /// A number whose nearest binary64 is infinite (for example `1e400`).
    #[error("number `{literal}` is not a finite binary64")]
    NonFinite {
        /// The number as written.
        literal: String,
    },
    /// Arrays and objects nest deeper than the limit.
    #[error("json nesting is deeper than {max} levels")]
    TooDeep {
        /// The limit, [`MAX_DEPTH`].
        max: usize,
    },
}

/// Parse JSON text strictly (RFC 8259 + the rules in the [module docs](self)) into a
/// [`serde_json::Value`].
///
/// # Errors
///
/// - [`CanonError::InvalidUtf8`] if `text` is not UTF-8;
/// - [`CanonError::Syntax`] for anything outside the strict grammar (including a BOM,
///   trailing data, raw control characters in strings and malformed numbers);
/// - [`CanonError::DuplicateKey`] for a repeated object member name;
/// - [`CanonError::LoneSurrogate`] for an unpaired `\uD800`–`\uDFFF` escape;
/// - [`CanonError::UnsafeInteger`] for an integer beyond ±(2^53−1), written as such or with a
///   fraction, or an exponent literal whose value ECMAScript would print as such an integer;
/// - [`CanonError::NonFinite`] for a number that overflows binary64;
/// - [`CanonError::TooDeep`] for nesting deeper than [`MAX_DEPTH`].
pub fn parse_strict(text: &[u8]) -> Result<Value, CanonError> {
    let text = match std::str::from_utf8(text) {
        Ok(text) => text,
        Err(err) => {
            return Err(CanonError::InvalidUtf8 {
                offset: err.valid_up_to(),
            });
        }
    };
    if text.starts_with('\u{feff}') {
        return Err(syntax(0, "byte order mark is not allowed"));
    }
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos < parser.bytes.len() {
        return Err(syntax(parser.pos, "unexpected data after the json value"));
    }
    Ok(value)
}

/// Parse JSON text with [`parse_strict`] and return its canonical (RFC 8785) bytes.
///
/// # Errors
///
/// Every error of [`parse_strict`]; the parsed value always passes the checks of
/// [`to_canonical_vec`].
pub fn canonicalize(text: &[u8]) -> Result<Vec<u8>, CanonError> {
    if is_canonical(text) {
        return Ok(text.to_vec());
    }
    to_canonical_vec(&parse_strict(text)?)
}

/// Canonical (RFC 8785) bytes of an in-memory value.
///
/// # Errors
///
/// - [`CanonError::UnsafeInteger`] for a `u64` above 2^53−1, an `i64` below −(2^53−1), or a
///   binary64 that is integral with magnitude in (2^53−1, 10^21) (ECMAScript would print it
///   as an unsafe integer literal);
/// - [`CanonError::NonFinite`] for a non-finite number (serde_json values cannot hold one;
///   checked for robustness);
/// - [`CanonError::TooDeep`] for nesting deeper than [`MAX_DEPTH`].
pub fn to_canonical_vec(value: &Value) -> Result<Vec<u8>, CanonError> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out)?;
    Ok(out)
}

/// `value` with every object's members in sorted order (by their UTF-8 bytes), for
/// human-facing JSON whose text must not depend on whether serde_json keeps insertion order
/// (its `preserve_order` feature, which a dependency may turn on). Not canonical JSON:
/// numbers and strings are printed as serde_json prints them; use [`to_canonical_vec`] for
/// anything hashed or signed.
#[must_use]
pub fn sorted_members(value: Value) -> Value {
    match value {
        Value::Object(m) => {
            let mut members: Vec<(String, Value)> = m.into_iter().collect();
            members.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k, sorted_members(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_members).collect()),
        other => other,
    }
}

/// Whether `text` is exactly the canonical form of a JSON text: true if and only if
/// [`canonicalize`]`(text)` returns `text` itself.
///
/// One pass over the bytes, without building a value: no whitespace, object members in
/// strictly increasing order of their (unescaped) names by UTF-16 code units (so no
/// duplicates), strings with exactly the canonical escapes, numbers exactly as RFC 8785
/// prints them and within the rules of the [module docs](self), nesting within
/// [`MAX_DEPTH`]. Use [`canonicalize`] to learn why a text is not canonical.
#[must_use]
pub fn is_canonical(text: &[u8]) -> bool {
    if std::str::from_utf8(text).is_err() {
        return false;
    }
    let mut checker = Checker {
        bytes: text,
        pos: 0,
    };
    checker.value(0) && checker.pos == text.len()
}

/// Where the canonical writer puts its bytes: a buffer, or straight into a hash.
pub(crate) trait Sink {
    /// Append `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for sha2::Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        sha2::Digest::update(self, bytes);
    }
}

/// A SHA-256 sink that gathers the writer's many small pieces (a quote, an escape, a run)
/// into blocks before hashing them, without allocating.
pub(crate) struct HashSink {
    /// The hash state.
    hasher: sha2::Sha256,
    /// Bytes not yet hashed.
    buf: [u8; HASH_SINK_BUF],
    /// How many bytes of `buf` are in use.
    len: usize,
}

/// Size of the [`HashSink`] buffer.
const HASH_SINK_BUF: usize = 512;

impl HashSink {
    /// An empty SHA-256 sink.
    pub(crate) fn new() -> Self {
        Self {
            hasher: <sha2::Sha256 as sha2::Digest>::new(),
            buf: [0; HASH_SINK_BUF],
            len: 0,
        }
    }

    /// The SHA-256 of everything put.
    pub(crate) fn finalize(mut self) -> [u8; 32] {
        self.flush();
        sha2::Digest::finalize(self.hasher).into()
    }

    /// Hash the buffered bytes.
    fn flush(&mut self) {
        sha2::Digest::update(
            &mut self.hasher,
            self.buf.get(..self.len).unwrap_or_default(),
        );
        self.len = 0;
    }
}

impl Sink for HashSink {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(room) = self.buf.get_mut(self.len..end) {
            room.copy_from_slice(bytes);
            self.len = end;
            return;
        }
        self.flush();
        if let Some(room) = self.buf.get_mut(..bytes.len()) {
            room.copy_from_slice(bytes);
            self.len = bytes.len();
        } else {
            sha2::Digest::update(&mut self.hasher, bytes);
        }
    }
}

/// Write the canonical form of `value` to `sink`, after the checks of [`to_canonical_vec`]
/// (nothing is written when they fail).
pub(crate) fn write_canonical<S: Sink>(value: &Value, sink: &mut S) -> Result<(), CanonError> {
    check_value(value, 0)?;
    write_checked(value, sink);
    Ok(())
}

/// [`write_canonical`] of an object given as its members (no copy into a [`Value`]).
pub(crate) fn write_canonical_object<S: Sink>(
    members: &Map<String, Value>,
    sink: &mut S,
) -> Result<(), CanonError> {
    deeper(0)?;
    members.values().try_for_each(|item| check_value(item, 1))?;
    write_object(members, sink);
    Ok(())
}

/// Write a value that passed [`check_value`].
fn write_checked<S: Sink>(value: &Value, out: &mut S) {
    match value {
        Value::Null => out.put(b"null"),
        Value::Bool(true) => out.put(b"true"),
        Value::Bool(false) => out.put(b"false"),
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.put(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                write_checked(item, out);
            }
            out.put(b"]");
        }
        Value::Object(members) => write_object(members, out),
    }
}

/// Write an object whose members passed [`check_value`].
fn write_object<S: Sink>(members: &Map<String, Value>, out: &mut S) {
    out.put(b"{");
    let in_order = members
        .keys()
        .zip(members.keys().skip(1))
        .all(|(a, b)| utf16_cmp(a, b).is_lt());
    if in_order {
        write_members(members.iter(), out);
    } else {
        let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
        sorted.sort_unstable_by(|a, b| utf16_cmp(a.0, b.0));
        write_members(sorted.into_iter(), out);
    }
    out.put(b"}");
}

/// Write `name:value` pairs, comma-separated, in the order given.
fn write_members<'a, S: Sink>(members: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut S) {
    for (i, (name, value)) in members.enumerate() {
        if i > 0 {
            out.put(b",");
        }
        write_string(name, out);
        out.put(b":");
        write_checked(value, out);
    }
}

/// The canonical text of an integer, or [`CanonError::UnsafeInteger`] beyond ±(2^53−1) (the
/// error [`to_canonical_vec`] gives for it).
pub(crate) fn safe_integer_text(value: i64) -> Result<String, CanonError> {
    if value.unsigned_abs() > MAX_SAFE_INTEGER {
        return Err(CanonError::UnsafeInteger {
            literal: quoted(&value.to_string()),
        });
    }
    Ok(value.to_string())
}

/// Compare strings by their UTF-16 code units, the member order of RFC 8785 §3.2.3.
pub(crate) fn utf16_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    // UTF-8 byte order is code point order, which is UTF-16 order except between a
    // character in U+E000..=U+FFFF and one above U+FFFF; both have lead bytes >= 0xEE.
    let (left, right) = (a.as_bytes(), b.as_bytes());
    if left.iter().chain(right).all(|&byte| byte < 0xEE) {
        left.cmp(right)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// Write a number that passed [`check_number`]: as ECMAScript prints its binary64 value
/// (every number that passes is finite, and every integer that passes is exact in binary64).
fn write_number<S: Sink>(number: &Number, out: &mut S) {
    let float = if let Some(unsigned) = number.as_u64() {
        unsigned as f64
    } else if let Some(signed) = number.as_i64() {
        signed as f64
    } else {
        number.as_f64().unwrap_or_default()
    };
    out.put(ryu_js::Buffer::new().format_finite(float).as_bytes());
}

/// Write `text` as a canonical JSON string: `"`, `\` and characters below U+0020 escaped
/// (`\b`, `\t`, `\n`, `\f`, `\r`, or `\u00xx`), everything else as itself.
pub(crate) fn write_string<S: Sink>(text: &str, out: &mut S) {
    /// Lowercase hex digits.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rest = text.as_bytes();
    out.put(b"\"");
    loop {
        let plain = plain_len(rest);
        let Some((run, special)) = rest.split_at_checked(plain) else {
            break;
        };
        out.put(run);
        let Some((&byte, after)) = special.split_first() else {
            break;
        };
        match byte {
            b'"' => out.put(b"\\\""),
            b'\\' => out.put(b"\\\\"),
            0x08 => out.put(b"\\b"),
            0x09 => out.put(b"\\t"),
            0x0a => out.put(b"\\n"),
            0x0c => out.put(b"\\f"),
            0x0d => out.put(b"\\r"),
            _ => {
                let hex = |nibble: u8| HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
                out.put(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    hex(byte.wrapping_shr(4)),
                    hex(byte & 0x0f),
                ]);
            }
        }
        rest = after;
    }
    out.put(b"\"");
}

/// Length of the leading run of `bytes` with no `"`, no `\\` and no byte below 0x20: the
/// part of a JSON string that is copied as it is. Eight bytes at a time (SWAR: a byte
/// below `n` makes `x - n` borrow into its top bit; exact for "is there any such byte").
pub(crate) fn plain_len(bytes: &[u8]) -> usize {
    /// 0x01 in every byte.
    const ONES: u64 = 0x0101_0101_0101_0101;
    /// 0x80 in every byte.
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut plain = 0_usize;
    for chunk in bytes.chunks_exact(8) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let word = u64::from_le_bytes(word);
        let quote = word ^ ONES.wrapping_mul(u64::from(b'"'));
        let backslash = word ^ ONES.wrapping_mul(u64::from(b'\\'));
        let special = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES.wrapping_mul(0x20)) & !word);
        if special & HIGH != 0 {
            break;
        }
        plain = plain.wrapping_add(8);
    }
    let rest = bytes.get(plain..).unwrap_or_default();
    let tail = rest
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
        .unwrap_or(rest.len());
    plain.wrapping_add(tail)
}

/// A one-pass check that a text is canonical (see [`is_canonical`]); the text is valid
/// UTF-8.
struct Checker<'a> {
    /// The whole text.
    bytes: &'a [u8],
    /// Offset of the next unread byte.
    pos: usize,
}

impl<'a> Checker<'a> {
    /// The next unread byte.
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Move past `count` bytes.
    fn advance(&mut self, count: usize) {
        self.pos = self.pos.saturating_add(count);
    }

    /// Consume `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        if next {
            self.advance(1);
        }
        next
    }

    /// A canonical value; `depth` is the nesting level of the enclosing container.
    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => deeper(depth).is_ok_and(|inner| self.object(inner)),
            Some(b'[') => deeper(depth).is_ok_and(|inner| self.array(inner)),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.word(b"true"),
            Some(b'f') => self.word(b"false"),
            Some(b'n') => self.word(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    /// The literal `word`.
    fn word(&mut self, word: &[u8]) -> bool {
        let end = self.pos.saturating_add(word.len());
        let found = self.bytes.get(self.pos..end) == Some(word);
        if found {
            self.pos = end;
        }
        found
    }

    /// An array whose `[` is next; `depth` is its own level.
    fn array(&mut self, depth: usize) -> bool {
        self.advance(1);
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if !self.eat(b',') {
                return self.eat(b']');
            }
        }
    }

    /// An object whose `{` is next; `depth` is its own level.
    fn object(&mut self, depth: usize) -> bool {
        self.advance(1);
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<std::borrow::Cow<'a, str>> = None;
        loop {
            if self.peek() != Some(b'"') {
                return false;
            }
            let Some((raw, escaped)) = self.string() else {
                return false;
            };
            let name = if escaped {
                std::borrow::Cow::Owned(unescape_canonical(raw))
            } else {
                std::borrow::Cow::Borrowed(raw)
            };
            if let Some(previous) = &previous
                && !utf16_cmp(previous, &name).is_lt()
            {
                return false;
            }
            previous = Some(name);
            if !self.eat(b':') || !self.value(depth) {
                return false;
            }
            if !self.eat(b',') {
                return self.eat(b'}');
            }
        }
    }

    /// A canonical string whose `"` is next: returns its text as written (between the
    /// quotes) and whether it has escapes.
    fn string(&mut self) -> Option<(&'a str, bool)> {
        self.advance(1);
        let start = self.pos;
        let mut escaped = false;
        loop {
            self.advance(plain_len(self.bytes.get(self.pos..).unwrap_or_default()));
            match self.peek()? {
                b'"' => {
                    let raw = self.bytes.get(start..self.pos)?;
                    self.advance(1);
                    // Both ends are ASCII quotes in valid UTF-8: character boundaries.
                    return std::str::from_utf8(raw).ok().map(|raw| (raw, escaped));
                }
                b'\\' => {
                    escaped = true;
                    let next = self.bytes.get(self.pos.saturating_add(1)).copied()?;
                    let len = match next {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                        b'u' => {
                            let digits = self
                                .bytes
                                .get(self.pos.saturating_add(2)..self.pos.saturating_add(6))?;
                            let [b'0', b'0', high @ (b'0' | b'1'), low] = *digits else {
                                return None;
                            };
                            let low = match low {
                                b'0'..=b'9' => low.wrapping_sub(b'0'),
                                b'a'..=b'f' => low.wrapping_sub(b'a').wrapping_add(10),
                                _ => return None,
                            };
                            let unit = high.wrapping_sub(b'0').wrapping_shl(4) | low;
                            // These five have short escapes in canonical form.
                            if matches!(unit, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            6
                        }
                        _ => return None,
                    };
                    self.advance(len);
                }
                0x00..=0x1f => return None,
                _ => self.advance(1),
            }
        }
    }

    /// Consume a run of ASCII digits; returns how many there were.
    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.advance(1);
        }
        self.pos.saturating_sub(start)
    }

    /// A number exactly as the canonical form prints it.
    fn number(&mut self) -> bool {
        let start = self.pos;
        let negative = self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.advance(1),
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return false,
        }
        let mut is_integer = true;
        if self.eat(b'.') {
            if self.digits() == 0 {
                return false;
            }
            is_integer = false;
        }
        let mut has_exponent = false;
        if let Some(b'e' | b'E') = self.peek() {
            self.advance(1);
            if let Some(b'+' | b'-') = self.peek() {
                self.advance(1);
            }
            if self.digits() == 0 {
                return false;
            }
            is_integer = false;
            has_exponent = true;
        }
        let Some(literal) = self
            .bytes
            .get(start..self.pos)
            .and_then(|literal| std::str::from_utf8(literal).ok())
        else {
            return false;
        };
        if is_integer {
            let digits = literal.strip_prefix('-').unwrap_or(literal);
            // `0` is the only integer that starts with a zero; `-0` prints as `0`.
            if digits.len() > 16 || (digits.starts_with('0') && (negative || digits.len() > 1)) {
                return false;
            }
            digits
                .parse::<u64>()
                .is_ok_and(|magnitude| magnitude <= MAX_SAFE_INTEGER)
        } else {
            literal.parse::<f64>().is_ok_and(|float| {
                float.is_finite()
                    && !is_unsafe_integral_f64(float, has_exponent)
                    && ryu_js::Buffer::new().format_finite(float) == literal
            })
        }
    }
}

/// The text of a string written with canonical escapes only (checked by
/// [`Checker::string`]).
fn unescape_canonical(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let unescaped = match chars.next() {
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or_default()
            }
            Some(other) => other,
            None => break,
        };
        out.push(unescaped);
    }
    out
}

/// Canonical (RFC 8785) bytes of any [`serde::Serialize`] type: the value is converted with
/// [`serde_json::to_value`] and then passed to [`to_canonical_vec`].
///
/// # Errors
///
/// - [`CanonError::Syntax`] with offset 0 if `serde_json::to_value` fails (for example a map
///   with non-string keys, or a non-finite float);
/// - every error of [`to_canonical_vec`].
pub fn to_canonical_vec_of<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, CanonError> {
    let value = serde_json::to_value(value).map_err(|err| CanonError::Syntax {
        offset: 0,
        reason: err.to_string(),
    })?;
    to_canonical_vec(&value)
}

/// A [`CanonError::Syntax`] at `offset`.
fn syntax(offset: usize, reason: impl Into<String>) -> CanonError {
    CanonError::Syntax {
        offset,
        reason: reason.into(),
    }
}

/// `text` cut to [`MAX_QUOTED_CHARS`] characters for an error message.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}...", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// Whether a binary64 is an integer that ECMAScript prints as a digit string beyond the
/// safe range, i.e. integral with magnitude in (2^53−1, 10^21).
fn is_unsafe_integral_f64(value: f64, has_exponent: bool) -> bool {
    let magnitude = value.abs();
    value.fract() == 0.0
        && magnitude > MAX_SAFE_INTEGER_F64
        && (!has_exponent || magnitude < ES_EXPONENT_THRESHOLD)
}

/// Check that `value` nests at most [`MAX_DEPTH`] levels and holds only numbers that
/// canonicalize without loss; `depth` is the nesting level of `value` itself.
fn check_value(value: &Value, depth: usize) -> Result<(), CanonError> {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
        Value::Number(number) => check_number(number),
        Value::Array(items) => {
            let depth = deeper(depth)?;
            items.iter().try_for_each(|item| check_value(item, depth))
        }
        Value::Object(members) => {
            let depth = deeper(depth)?;
            members
                .values()
                .try_for_each(|item| check_value(item, depth))
        }
    }
}

/// The nesting level inside an array or object at `depth`, or [`CanonError::TooDeep`].
fn deeper(depth: usize) -> Result<usize, CanonError> {
    match depth.checked_add(1) {
        Some(inner) if inner <= MAX_DEPTH => Ok(inner),
        _ => Err(CanonError::TooDeep { max: MAX_DEPTH }),
    }
}

/// Check one in-memory number (see [`to_canonical_vec`]).
fn check_number(number: &Number) -> Result<(), CanonError> {
    let unsafe_integer = || CanonError::UnsafeInteger {
        literal: quoted(&number.to_string()),
    };
    if let Some(unsigned) = number.as_u64() {
        if unsigned > MAX_SAFE_INTEGER {
            return Err(unsafe_integer());
        }
    } else if let Some(signed) = number.as_i64() {
        if signed.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(unsafe_integer());
        }
    } else {
        match number.as_f64() {
            Some(float) if float.is_finite() => {
                if is_unsafe_integral_f64(float, true) {
                    return Err(unsafe_integer());
                }
            }
            _ => {
                return Err(CanonError::NonFinite {
                    literal: quoted(&number.to_string()),
                });
            }
        }
    }
    Ok(())
}

/// Recursive-descent parser over valid UTF-8 text.
struct Parser<'a> {
    /// The whole input.
    text: &'a str,
    /// `text` as bytes.
    bytes: &'a [u8],
    /// Offset of the next unread byte; never beyond `bytes.len()`.
    pos: usize,
}

impl Parser<'_> {
    /// The next unread byte.
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Move past `count` bytes that are known to exist.
    fn advance(&mut self, count: usize) {
        self.pos = self.pos.saturating_add(count).min(self.bytes.len());
    }

    /// Skip JSON whitespace: space, tab, LF, CR.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.advance(1);
        }
    }

    /// The character at the current position, for error messages.
    fn current_char(&self) -> String {
        self.text
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
            .map(|c| c.escape_debug().to_string())
            .unwrap_or_default()
    }

    /// An error for the current position: unexpected character or end of input.
    fn unexpected(&self, expected: &str) -> CanonError {
        if self.pos >= self.bytes.len() {
            syntax(
                self.pos,
                format!("unexpected end of input, expected {expected}"),
            )
        } else {
            syntax(
                self.pos,
                format!("expected {expected}, found `{}`", self.current_char()),
            )
        }
    }

    /// Consume `byte` or fail with "expected `what`".
    fn expect_byte(&mut self, byte: u8, expected: &str) -> Result<(), CanonError> {
        if self.peek() == Some(byte) {
            self.advance(1);
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    /// Parse one value, skipping whitespace before it; `depth` is the nesting level of the
    /// enclosing array or object (0 at top level).
    fn value(&mut self, depth: usize) -> Result<Value, CanonError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => self.object(deeper(depth)?),
            Some(b'[') => self.array(deeper(depth)?),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected("a json value")),
        }
    }

    /// Parse the literal `word` (`true`, `false` or `null`).
    fn literal(&mut self, word: &str, value: Value) -> Result<Value, CanonError> {
        let end = self.pos.saturating_add(word.len());
        if self.bytes.get(self.pos..end) == Some(word.as_bytes()) {
            self.advance(word.len());
            Ok(value)
        } else {
            Err(syntax(
                self.pos,
                format!("invalid literal, expected `{word}`"),
            ))
        }
    }

    /// Parse an array whose `[` is the next byte; `depth` is its own nesting level.
    fn array(&mut self, depth: usize) -> Result<Value, CanonError> {
        self.advance(1);
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.advance(1);
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.advance(1),
                Some(b']') => {
                    self.advance(1);
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
    }

    /// Parse an object whose `{` is the next byte; `depth` is its own nesting level.
    fn object(&mut self, depth: usize) -> Result<Value, CanonError> {
        self.advance(1);
        let mut members = Map::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.advance(1);
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a string object key"));
            }
            let key = self.string()?;
            if members.contains_key(&key) {
                return Err(CanonError::DuplicateKey { key: quoted(&key) });
            }
            self.skip_whitespace();
            self.expect_byte(b':', "`:`")?;
            let value = self.value(depth)?;
            members.insert(key, value);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.advance(1),
                Some(b'}') => {
                    self.advance(1);
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
    }

    /// Parse a string whose opening `"` is the next byte, returning it unescaped.
    fn string(&mut self) -> Result<String, CanonError> {
        let start = self.pos;
        self.advance(1);
        let mut out =
            String::with_capacity(plain_len(self.bytes.get(self.pos..).unwrap_or_default()));
        loop {
            let run_start = self.pos;
            self.advance(plain_len(self.bytes.get(run_start..).unwrap_or_default()));
            // The run ends at an ASCII byte or at the end of the text, so both ends are
            // character boundaries.
            out.push_str(self.text.get(run_start..self.pos).unwrap_or_default());
            match self.peek() {
                None => return Err(syntax(start, "unterminated string")),
                Some(b'"') => {
                    self.advance(1);
                    return Ok(out);
                }
                Some(b'\\') => out.push(self.escape()?),
                Some(byte) => {
                    return Err(syntax(
                        self.pos,
                        format!("control character U+{byte:04X} must be escaped in a string"),
                    ));
                }
            }
        }
    }

    /// Parse one escape sequence whose `\` is the next byte.
    fn escape(&mut self) -> Result<char, CanonError> {
        let start = self.pos;
        self.advance(1);
        let simple = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(start),
            None => return Err(syntax(start, "unterminated string")),
            Some(_) => {
                return Err(syntax(
                    start,
                    format!("invalid escape `\\{}`", self.current_char()),
                ));
            }
        };
        self.advance(1);
        Ok(simple)
    }

    /// Parse a `\uXXXX` escape (and its low-surrogate partner, if it is a high surrogate);
    /// `start` is the offset of its backslash and the `u` is the next byte.
    fn unicode_escape(&mut self, start: usize) -> Result<char, CanonError> {
        self.advance(1);
        let unit = self.hex4(start)?;
        let units = if (0xD800..=0xDBFF).contains(&unit) {
            let low_start = self.pos;
            let follows_escape = self.peek() == Some(b'\\')
                && self.bytes.get(self.pos.saturating_add(1)) == Some(&b'u');
            if !follows_escape {
                return Err(CanonError::LoneSurrogate { offset: start });
            }
            self.advance(2);
            let low = self.hex4(low_start)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err(CanonError::LoneSurrogate { offset: start });
            }
            [unit, low]
        } else if (0xDC00..=0xDFFF).contains(&unit) {
            return Err(CanonError::LoneSurrogate { offset: start });
        } else {
            return char::from_u32(u32::from(unit))
                .ok_or(CanonError::LoneSurrogate { offset: start });
        };
        match char::decode_utf16(units).next() {
            Some(Ok(decoded)) => Ok(decoded),
            _ => Err(CanonError::LoneSurrogate { offset: start }),
        }
    }

    /// Read the four hex digits of a `\u` escape starting at `start`.
    fn hex4(&mut self, start: usize) -> Result<u16, CanonError> {
        let end = self.pos.saturating_add(4);
        let digits = self
            .bytes
            .get(self.pos..end)
            .filter(|digits| digits.iter().all(u8::is_ascii_hexdigit))
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| u16::from_str_radix(digits, 16).ok());
        match digits {
            Some(unit) => {
                self.advance(4);
                Ok(unit)
            }
            None => Err(syntax(
                start,
                "invalid `\\u` escape, expected four hex digits",
            )),
        }
    }

    /// Consume a run of ASCII digits; returns how many there were.
    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.advance(1);
        }
        self.pos.saturating_sub(start)
    }

    /// Parse a number under the strict grammar and the integer rules of the module docs.
    fn number(&mut self) -> Result<Value, CanonError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.advance(1);
        }
        match self.peek() {
            Some(b'0') => {
                self.advance(1);
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(syntax(start, "leading zeros are not allowed in numbers"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.unexpected("a digit")),
        }
        let mut is_integer = true;
        if self.peek() == Some(b'.') {
            self.advance(1);
            if self.digits() == 0 {
                return Err(self.unexpected("a digit after `.`"));
            }
            is_integer = false;
        }
        let mut has_exponent = false;
        if let Some(b'e' | b'E') = self.peek() {
            self.advance(1);
            if let Some(b'+' | b'-') = self.peek() {
                self.advance(1);
            }
            if self.digits() == 0 {
                return Err(self.unexpected("a digit in the exponent"));
            }
            is_integer = false;
            has_exponent = true;
        }
        let literal = self.text.get(start..self.pos).unwrap_or_default();
        if is_integer {
            integer_value(literal, negative)
        } else {
            float_value(literal, has_exponent, start)
        }
    }
}

/// The value of a grammatical integer literal (optional `-`, then digits), if it is safe.
fn integer_value(literal: &str, negative: bool) -> Result<Value, CanonError> {
    let unsafe_integer = || CanonError::UnsafeInteger {
        literal: quoted(literal),
    };
    let digits = literal.strip_prefix('-').unwrap_or(literal);
    // 2^53-1 has 16 digits; anything longer (no leading zeros) is beyond it, and anything
    // up to 16 digits fits a u64.
    if digits.len() > 16 {
        return Err(unsafe_integer());
    }
    let magnitude: u64 = digits.parse().map_err(|_| unsafe_integer())?;
    if magnitude > MAX_SAFE_INTEGER {
        return Err(unsafe_integer());
    }
    if negative {
        let signed = i64::try_from(magnitude).map_err(|_| unsafe_integer())?;
        let negated = 0_i64.checked_sub(signed).ok_or_else(unsafe_integer)?;
        Ok(Value::Number(Number::from(negated)))
    } else {
        Ok(Value::Number(Number::from(magnitude)))
    }
}

/// The binary64 value of a grammatical literal with a fraction or exponent.
fn float_value(literal: &str, has_exponent: bool, start: usize) -> Result<Value, CanonError> {
    let float: f64 = literal
        .parse()
        .map_err(|_| syntax(start, format!("invalid number `{}`", quoted(literal))))?;
    if !float.is_finite() {
        return Err(CanonError::NonFinite {
            literal: quoted(literal),
        });
    }
    if is_unsafe_integral_f64(float, has_exponent) {
        return Err(CanonError::UnsafeInteger {
            literal: quoted(literal),
        });
    }
    Number::from_f64(float)
        .map(Value::Number)
        .ok_or_else(|| CanonError::NonFinite {
            literal: quoted(literal),
        })
}

#[cfg(test)]
mod tests {
    #![expect(
        clippy::unwrap_used,
        clippy::panic,
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing,
        reason = "tests fail loudly on purpose and build inputs with fixed arithmetic"
    )]

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Canonical form of `input` as a string, panicking on error.
    fn canon(input: &str) -> String {
        String::from_utf8(canonicalize(input.as_bytes()).unwrap()).unwrap()
    }

    /// The error `canonicalize` gives for `input`.
    fn canon_err(input: &[u8]) -> CanonError {
        match canonicalize(input) {
            Ok(out) => panic!(
                "expected an error for {:?}, got {:?}",
                String::from_utf8_lossy(input),
                String::from_utf8_lossy(&out)
            ),
            Err(err) => err,
        }
    }

    fn syntax_at(input: &[u8]) -> usize {
        match canon_err(input) {
            CanonError::Syntax { offset, .. } => offset,
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    // ----- RFC 8785 examples -----

    #[test]
    fn rfc8785_section_3_2_2_sample() {
        let input = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
        let expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
        assert_eq!(canon(input), expected);
    }

    #[test]
    fn rfc8785_section_3_2_4_utf8_bytes() {
        // The hex dump of RFC 8785 section 3.2.4.
        let input = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
        let hex = "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
                   75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
                   5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
                   65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
                   5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
                   30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d";
        let expected: Vec<u8> = hex
            .split_whitespace()
            .map(|pair| u8::from_str_radix(pair, 16).unwrap())
            .collect();
        assert_eq!(canonicalize(input.as_bytes()).unwrap(), expected);
    }

    #[test]
    fn rfc8785_section_3_2_3_sorting() {
        let input = r#"{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"#;
        let expected = concat!(
            "{\"\\r\":\"Carriage Return\",",
            "\"1\":\"One\",",
            "\"\u{80}\":\"Control\",",
            "\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",",
            "\"\u{20ac}\":\"Euro Sign\",",
            "\"\u{1f600}\":\"Emoji: Grinning Face\",",
            "\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
        assert_eq!(canon(input), expected);
    }

    /// RFC 8785 Appendix B: IEEE-754 bits and their canonical text.
    const APPENDIX_B: &[(u64, &str)] = &[
        (0x0000_0000_0000_0000, "0"),
        (0x8000_0000_0000_0000, "0"),
        (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"),
        (0x7fef_ffff_ffff_ffff, "1.7976931348623157e+308"),
        (0xffef_ffff_ffff_ffff, "-1.7976931348623157e+308"),
        (0x4340_0000_0000_0000, "9007199254740992"),
        (0xc340_0000_0000_0000, "-9007199254740992"),
        (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44b5_2d02_c7e1_4af5, "9.999999999999997e+22"),
        (0x44b5_2d02_c7e1_4af6, "1e+23"),
        (0x44b5_2d02_c7e1_4af7, "1.0000000000000001e+23"),
        (0x444b_1ae4_d6e2_ef4e, "999999999999999700000"),
        (0x444b_1ae4_d6e2_ef4f, "999999999999999900000"),
        (0x444b_1ae4_d6e2_ef50, "1e+21"),
        (0x3eb0_c6f7_a0b5_ed8c, "9.999999999999997e-7"),
        (0x3eb0_c6f7_a0b5_ed8d, "0.000001"),
        (0x41b3_de43_5555_5553, "333333333.3333332"),
        (0x41b3_de43_5555_5554, "333333333.33333325"),
        (0x41b3_de43_5555_5555, "333333333.3333333"),
        (0x41b3_de43_5555_5556, "333333333.3333334"),
        (0x41b3_de43_5555_5557, "333333333.33333343"),
        (0xbecb_f647_612f_3696, "-0.0000033333333333333333"),
        (0x4314_3ff3_c1cb_0959, "1424953923781206.2"),
    ];

    #[test]
    fn rfc8785_appendix_b_number_formatting() {
        assert!(APPENDIX_B.len() >= 20);
        for &(bits, expected) in APPENDIX_B {
            let value = f64::from_bits(bits);
            // The serializer's number form, for every row.
            let formatted = serde_json_canonicalizer::to_vec(&value).unwrap();
            assert_eq!(
                String::from_utf8(formatted).unwrap(),
                expected,
                "bits {bits:016x}"
            );
            // Through this module, for every row whose value is not an unsafe integer.
            let number = Value::Number(Number::from_f64(value).unwrap());
            match to_canonical_vec(&number) {
                Ok(out) => assert_eq!(String::from_utf8(out).unwrap(), expected),
                Err(CanonError::UnsafeInteger { .. }) => {
                    assert!(is_unsafe_integral_f64(value, true), "bits {bits:016x}");
                }
                Err(other) => panic!("bits {bits:016x}: {other:?}"),
            }
        }
    }

    #[test]
    fn rfc8785_appendix_b_non_finite_rejected_by_serializer() {
        for bits in [0x7fff_ffff_ffff_ffff_u64, 0x7ff0_0000_0000_0000] {
            assert!(serde_json_canonicalizer::to_vec(&f64::from_bits(bits)).is_err());
        }
        assert!(Number::from_f64(f64::INFINITY).is_none());
    }

    #[test]
    fn canonical_forms_of_decimal_literals() {
        assert_eq!(canon("1E30"), "1e+30");
        assert_eq!(canon("4.50"), "4.5");
        assert_eq!(canon("-0.0"), "0");
        assert_eq!(canon("-0"), "0");
        assert_eq!(canon("0.0"), "0");
        assert_eq!(canon("56.0"), "56");
        assert_eq!(canon("2e-3"), "0.002");
        assert_eq!(canon("1e-400"), "0");
        assert_eq!(canon("-1e-400"), "0");
        assert_eq!(canon("1.5E+2"), "150");
        assert_eq!(canon("1e21"), "1e+21");
        assert_eq!(canon("1e15"), "1000000000000000");
        assert_eq!(canon("123e-2"), "1.23");
    }

    // ----- accepted edge cases -----

    #[test]
    fn safe_integer_bounds_are_accepted_exactly() {
        assert_eq!(canon("9007199254740991"), "9007199254740991");
        assert_eq!(canon("-9007199254740991"), "-9007199254740991");
        assert_eq!(
            parse_strict(b"9007199254740991").unwrap(),
            json!(9_007_199_254_740_991_u64)
        );
        assert_eq!(
            parse_strict(b"-9007199254740991").unwrap(),
            json!(-9_007_199_254_740_991_i64)
        );
        assert!(parse_strict(b"12").unwrap().is_u64());
        assert!(parse_strict(b"-12").unwrap().is_i64());
        assert!(parse_strict(b"12.5").unwrap().is_f64());
        assert_eq!(canon("9007199254740991.0"), "9007199254740991");
        assert_eq!(canon("1E30"), "1e+30");
    }

    #[test]
    fn whitespace_is_space_tab_lf_cr() {
        assert_eq!(canon(" \t\r\n[ 1 ,\t2\r\n]\n "), "[1,2]");
        assert_eq!(syntax_at(b"[1,\x0c2]"), 3);
        assert_eq!(syntax_at("[1,\u{a0}2]".as_bytes()), 3);
        assert_eq!(syntax_at("\u{2028}1".as_bytes()), 0);
    }

    #[test]
    fn all_simple_escapes_decode() {
        let value = parse_strict(br#""\"\\\/\b\f\n\r\t\u0041\u00e9\uFFFF""#).unwrap();
        assert_eq!(value, json!("\"\\/\u{8}\u{c}\n\r\tA\u{e9}\u{ffff}"));
        assert_eq!(canon(r#""\u001f\u007f/""#), "\"\\u001f\u{7f}/\"");
    }

    #[test]
    fn surrogate_pair_decodes() {
        assert_eq!(
            parse_strict(br#""\ud83d\ude00""#).unwrap(),
            json!("\u{1f600}")
        );
        assert_eq!(
            parse_strict(br#""\uDBFF\uDFFF""#).unwrap(),
            json!("\u{10ffff}")
        );
    }

    #[test]
    fn depth_limit_boundary() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_strict(ok.as_bytes()).is_ok());
        let ok_obj = format!("{}1{}", r#"{"a":"#.repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert!(canonicalize(ok_obj.as_bytes()).is_ok());
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            canon_err(too_deep.as_bytes()),
            CanonError::TooDeep { max: MAX_DEPTH }
        );
    }

    #[test]
    fn hundred_thousand_open_brackets_do_not_overflow() {
        let deep = "[".repeat(100_000);
        assert_eq!(canon_err(deep.as_bytes()), CanonError::TooDeep { max: 128 });
        let deep_obj = r#"{"a":"#.repeat(100_000);
        assert_eq!(
            canon_err(deep_obj.as_bytes()),
            CanonError::TooDeep { max: 128 }
        );
    }

    #[test]
    fn to_canonical_vec_enforces_depth() {
        let mut value = json!(1);
        for _ in 0..MAX_DEPTH {
            value = json!([value]);
        }
        assert!(to_canonical_vec(&value).is_ok());
        let value = json!([value]);
        assert_eq!(
            to_canonical_vec(&value),
            Err(CanonError::TooDeep { max: MAX_DEPTH })
        );
    }

    // ----- negative tests, one group per variant -----

    #[test]
    fn syntax_errors() {
        let cases: &[(&[u8], usize)] = &[
            (b"", 0),
            (b"   ", 3),
            (b"\xEF\xBB\xBF{}", 0),
            (b"{} x", 3),
            (b"1 2", 2),
            (b"[1,]", 3),
            (b"[1 2]", 3),
            (b"{\"a\":1,}", 7),
            (b"{\"a\" 1}", 5),
            (b"{a:1}", 1),
            (b"{'a':1}", 1),
            (b"[", 1),
            (b"{", 1),
            (b"\"abc", 0),
            (b"\"a\x01b\"", 2),
            (b"\"a\tb\"", 2),
            (b"\"a\nb\"", 2),
            (b"\"\\x\"", 1),
            (b"\"\\u12\"", 1),
            (b"\"\\u+123\"", 1),
            (b"\"\\", 1),
            (b"tru", 0),
            (b"True", 0),
            (b"nul", 0),
            (b"NaN", 0),
            (b"Infinity", 0),
            (b"-Infinity", 1),
            (b"01", 0),
            (b"-01", 0),
            (b"00", 0),
            (b"+1", 0),
            (b".5", 0),
            (b"1.", 2),
            (b"1.e5", 2),
            (b"-", 1),
            (b"1e", 2),
            (b"1e+", 3),
            (b"0x10", 1),
            (b"[1]]", 3),
        ];
        for &(input, offset) in cases {
            assert_eq!(
                syntax_at(input),
                offset,
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn syntax_error_messages() {
        assert_eq!(
            canon_err(b"\xEF\xBB\xBF{}").to_string(),
            "invalid json at byte 0: byte order mark is not allowed"
        );
        assert_eq!(
            canon_err(b"[1,]").to_string(),
            "invalid json at byte 3: expected a json value, found `]`"
        );
        assert_eq!(
            canon_err(b"01").to_string(),
            "invalid json at byte 0: leading zeros are not allowed in numbers"
        );
        assert_eq!(
            canon_err(b"\"a\x01\"").to_string(),
            "invalid json at byte 2: control character U+0001 must be escaped in a string"
        );
        assert_eq!(
            canon_err(b"{} x").to_string(),
            "invalid json at byte 3: unexpected data after the json value"
        );
    }

    #[test]
    fn invalid_utf8() {
        assert_eq!(
            canon_err(b"\"ab\xFF\""),
            CanonError::InvalidUtf8 { offset: 3 }
        );
        // Overlong encoding of '/'.
        assert_eq!(
            canon_err(b"[\"\xC0\xAF\"]"),
            CanonError::InvalidUtf8 { offset: 2 }
        );
        // UTF-8-encoded surrogate U+D800.
        assert_eq!(
            canon_err(b"\"\xED\xA0\x80\""),
            CanonError::InvalidUtf8 { offset: 1 }
        );
        // Truncated sequence at the end, and invalid bytes after a syntax error.
        assert_eq!(
            canon_err(b"\"\xE2\x82"),
            CanonError::InvalidUtf8 { offset: 1 }
        );
        assert_eq!(canon_err(b"]\xFF"), CanonError::InvalidUtf8 { offset: 1 });
        assert_eq!(
            CanonError::InvalidUtf8 { offset: 3 }.to_string(),
            "invalid utf-8 at byte 3"
        );
    }

    #[test]
    fn duplicate_keys() {
        assert_eq!(
            canon_err(br#"{"a":1,"a":2}"#),
            CanonError::DuplicateKey { key: "a".into() }
        );
        // Compared after unescaping.
        assert_eq!(
            canon_err(br#"{"a":1,"\u0061":1}"#),
            CanonError::DuplicateKey { key: "a".into() }
        );
        assert_eq!(
            canon_err("{\"\\ud83d\\ude00\":1,\"\u{1f600}\":2}".as_bytes()),
            CanonError::DuplicateKey {
                key: "\u{1f600}".into()
            }
        );
        // Nested objects are checked too; equal names in sibling objects are fine.
        assert_eq!(
            canon_err(br#"[{"x":{"b":1,"b":1}}]"#),
            CanonError::DuplicateKey { key: "b".into() }
        );
        assert_eq!(canon(r#"[{"a":1},{"a":2}]"#), r#"[{"a":1},{"a":2}]"#);
        assert_eq!(
            CanonError::DuplicateKey { key: "a".into() }.to_string(),
            "duplicate object key `a`"
        );
    }

    #[test]
    fn lone_surrogates() {
        let cases: &[(&[u8], usize)] = &[
            (br#""\ud800""#, 1),
            (br#""\uDBFF""#, 1),
            (br#""\udc00""#, 1),
            (br#""x\uDFFF""#, 2),
            (br#""\ud800x""#, 1),
            (br#""\ud800\n""#, 1),
            (br#""\ud800\u0041""#, 1),
            (br#""\ud800\ud800""#, 1),
            (br#""\ude00\ud83d""#, 1),
            (br#"{"\ud800":1}"#, 2),
        ];
        for &(input, offset) in cases {
            assert_eq!(
                canon_err(input),
                CanonError::LoneSurrogate { offset },
                "input {}",
                String::from_utf8_lossy(input)
            );
        }
        // A high surrogate followed by a malformed \u escape is a syntax error there.
        assert_eq!(
            canon_err(br#""\ud800\u12""#),
            CanonError::Syntax {
                offset: 7,
                reason: "invalid `\\u` escape, expected four hex digits".into()
            }
        );
    }

    #[test]
    fn unsafe_integers() {
        let cases = [
            "9007199254740992",
            "-9007199254740992",
            "9007199254740993",
            "18446744073709551616",
            "-9223372036854775809",
            "123456789012345678901234567890",
            // Integers in disguise: fraction, no exponent, integral beyond 2^53-1.
            "9007199254740993.0",
            "9007199254740992.0",
            "-9007199254740993.00",
            "9007199254740992.5",
            "1000000000000000000000000.0",
            // Exponent literals whose value ECMAScript prints as an unsafe integer.
            "1e20",
            "9.007199254740993e15",
            "-1E16",
            "123456789012345678e2",
        ];
        for literal in cases {
            assert_eq!(
                canon_err(literal.as_bytes()),
                CanonError::UnsafeInteger {
                    literal: literal.into()
                },
                "literal {literal}"
            );
        }
        assert_eq!(
            canon_err(b"[1, 9007199254740992]").to_string(),
            "integer `9007199254740992` is outside the safe range of -(2^53-1) to 2^53-1"
        );
        // Long literals are cut in the error.
        let long = "1".repeat(200);
        let CanonError::UnsafeInteger { literal } = canon_err(long.as_bytes()) else {
            panic!("expected UnsafeInteger");
        };
        assert_eq!(literal, format!("{}...", "1".repeat(64)));
    }

    #[test]
    fn unsafe_integers_in_memory() {
        let cases = [
            json!(9_007_199_254_740_992_u64),
            json!(u64::MAX),
            json!(-9_007_199_254_740_992_i64),
            json!(i64::MIN),
            json!(9_007_199_254_740_992.0_f64),
            json!(1e20_f64),
            json!(-1e20_f64),
            json!({"a": [1, 2, {"b": 9_007_199_254_740_993_u64}]}),
        ];
        for value in cases {
            assert!(
                matches!(
                    to_canonical_vec(&value),
                    Err(CanonError::UnsafeInteger { .. })
                ),
                "value {value}"
            );
        }
        assert_eq!(
            to_canonical_vec(&json!(u64::MAX)),
            Err(CanonError::UnsafeInteger {
                literal: "18446744073709551615".into()
            })
        );
        assert_eq!(to_canonical_vec(&json!(1e21_f64)).unwrap(), b"1e+21");
        assert_eq!(
            to_canonical_vec(&json!(9_007_199_254_740_991_u64)).unwrap(),
            b"9007199254740991"
        );
        assert_eq!(
            to_canonical_vec(&json!(-9_007_199_254_740_991_i64)).unwrap(),
            b"-9007199254740991"
        );
    }

    #[test]
    fn non_finite_numbers() {
        for literal in ["1e400", "-1e400", "1.7976931348623159e308", "1E+309"] {
            assert_eq!(
                canon_err(literal.as_bytes()),
                CanonError::NonFinite {
                    literal: literal.into()
                }
            );
        }
        // A fraction literal too large for binary64 is non-finite, not an unsafe integer.
        let huge = format!("{}.0", "9".repeat(400));
        assert!(matches!(
            canon_err(huge.as_bytes()),
            CanonError::NonFinite { .. }
        ));
        assert_eq!(
            canon_err(b"[1e400]").to_string(),
            "number `1e400` is not a finite binary64"
        );
        // Largest finite binary64 is accepted.
        assert_eq!(canon("1.7976931348623157e308"), "1.7976931348623157e+308");
    }

    #[test]
    fn safe_integer_constants_agree() {
        assert_eq!(MAX_SAFE_INTEGER, (1_u64 << 53) - 1);
        assert_eq!(MAX_SAFE_INTEGER_F64.to_bits(), 0x433f_ffff_ffff_ffff);
        assert_eq!(ES_EXPONENT_THRESHOLD.to_bits(), 0x444b_1ae4_d6e2_ef50);
    }

    #[test]
    fn too_deep_message() {
        assert_eq!(
            CanonError::TooDeep { max: MAX_DEPTH }.to_string(),
            "json nesting is deeper than 128 levels"
        );
    }

    #[test]
    fn to_canonical_vec_of_structs() {
        #[derive(serde::Serialize)]
        struct Call<'a> {
            tool: &'a str,
            args: std::collections::BTreeMap<&'a str, i64>,
            weight: f64,
        }
        let call = Call {
            tool: "\u{e9}cho",
            args: [("z", 1), ("a", -2)].into_iter().collect(),
            weight: 0.5,
        };
        assert_eq!(
            to_canonical_vec_of(&call).unwrap(),
            "{\"args\":{\"a\":-2,\"z\":1},\"tool\":\"\u{e9}cho\",\"weight\":0.5}".as_bytes()
        );
        assert_eq!(
            to_canonical_vec_of(&u64::MAX),
            Err(CanonError::UnsafeInteger {
                literal: "18446744073709551615".into()
            })
        );
        // serde_json cannot represent a map with non-string keys.
        let bad: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        assert!(matches!(
            to_canonical_vec_of(&bad),
            Err(CanonError::Syntax { offset: 0, .. })
        ));
    }

    // ----- property tests -----

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(MAX_SAFE_INTEGER as i64)..=(MAX_SAFE_INTEGER as i64)).prop_map(|i| json!(i)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    /// `canonicalize` without its [`is_canonical`] shortcut.
    fn slow_canonicalize(text: &[u8]) -> Result<Vec<u8>, CanonError> {
        to_canonical_vec(&parse_strict(text)?)
    }

    /// [`is_canonical`] must say exactly whether the slow path returns the text unchanged.
    fn check_is_canonical(text: &[u8]) {
        let slow = slow_canonicalize(text).is_ok_and(|canonical| canonical == text);
        assert_eq!(
            is_canonical(text),
            slow,
            "text {:?}",
            String::from_utf8_lossy(text)
        );
    }

    #[test]
    fn is_canonical_cases() {
        let yes: &[&str] = &[
            "null",
            "true",
            "0",
            "-1",
            "9007199254740991",
            "-9007199254740991",
            "0.5",
            "-0.5",
            "1e+30",
            "1e-7",
            "1.7976931348623157e+308",
            "\"\"",
            "\"\\b\\t\\n\\f\\r\\u0000\\u001f\\\"\\\\/\u{7f}\u{e9}\u{1f600}\"",
            "[]",
            "{}",
            "[1,[2,{}]]",
            r#"{"a":1,"b":{"a":[]}}"#,
            r#"{"\n":1,"a":2}"#,
            // UTF-16 order: U+10000 is D800 DC00, before U+FFFF.
            "{\"\u{10000}\":1,\"\u{ffff}\":2}",
        ];
        for text in yes {
            check_is_canonical(text.as_bytes());
            assert!(is_canonical(text.as_bytes()), "{text}");
        }
        let no: &[&str] = &[
            "",
            " 1",
            "1 ",
            "-0",
            "01",
            "1.0",
            "4.50",
            "1E30",
            "1e30",
            "1e+400",
            "9007199254740992",
            "1e20",
            "\"\\/\"",
            "\"\\u0041\"",
            "\"\\u000a\"",
            "\"\\u001F\"",
            "\"\\ud83d\\ude00\"",
            "\"\u{1}\"",
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":1}"#,
            r#"{"a":1,"\u0061":1}"#,
            r#"{"a" :1}"#,
            "[1,]",
            "[1]]",
            "\u{feff}1",
            "tru",
            "nulll",
            "{\"\u{ffff}\":1,\"\u{10000}\":2}",
        ];
        for text in no {
            check_is_canonical(text.as_bytes());
            assert!(!is_canonical(text.as_bytes()), "{text}");
        }
        check_is_canonical(b"\"\xff\"");
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(is_canonical(deep.as_bytes()));
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(!is_canonical(too_deep.as_bytes()));
    }

    #[test]
    fn plain_len_finds_the_first_special_byte() {
        for len in 0..40 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut bytes: Vec<u8> =
                        (0..len).map(|i| b"a ~\x7f\x80\xff!#"[i % 8]).collect();
                    if at < len {
                        bytes[at] = special;
                    }
                    assert_eq!(plain_len(&bytes), at, "len {len} at {at} byte {special}");
                }
            }
        }
        // Neighbours of the special values are plain.
        assert_eq!(plain_len(b"\x20!#[]\x5b\x5d\x21\x23\x7f\xdc\xa2"), 12);
    }

    proptest! {
        #[test]
        fn prop_hash_sink_hashes_the_concatenation(
            pieces in prop::collection::vec(
                prop_oneof![
                    prop::collection::vec(any::<u8>(), 0..8),
                    prop::collection::vec(any::<u8>(), 500..1200),
                ],
                0..12,
            ),
        ) {
            let mut sink = HashSink::new();
            for piece in &pieces {
                sink.put(piece);
            }
            prop_assert_eq!(
                sink.finalize().to_vec(),
                <sha2::Sha256 as sha2::Digest>::digest(pieces.concat()).to_vec()
            );
        }

        #[test]
        fn prop_plain_len(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let expected = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(bytes.len());
            prop_assert_eq!(plain_len(&bytes), expected);
        }
    }

    #[test]
    fn utf16_order_differs_from_code_point_order() {
        assert!(utf16_cmp("\u{ffff}", "\u{10000}").is_gt());
        assert!(utf16_cmp("\u{e000}", "\u{10000}").is_gt());
        assert!(utf16_cmp("\u{d7ff}", "\u{10000}").is_lt());
        assert!(utf16_cmp("a", "ab").is_lt());
        let value = json!({"\u{ffff}": 1, "\u{10000}": 2, "a": 3});
        assert_eq!(
            String::from_utf8(to_canonical_vec(&value).unwrap()).unwrap(),
            "{\"a\":3,\"\u{10000}\":2,\"\u{ffff}\":1}"
        );
    }

    /// JSON values whose object names are drawn from characters where canonical order and
    /// escaping are subtle: controls, quotes, U+E000..U+FFFF and supplementary characters.
    fn arb_tricky_json() -> impl Strategy<Value = Value> {
        let name = prop::collection::vec(
            prop_oneof![
                Just('a'),
                Just('b'),
                Just('\u{1}'),
                Just('\n'),
                Just('"'),
                Just('\\'),
                Just('/'),
                Just('\u{7f}'),
                Just('\u{e9}'),
                Just('\u{e000}'),
                Just('\u{ffff}'),
                Just('\u{10000}'),
                Just('\u{1f600}'),
            ],
            0..4,
        )
        .prop_map(|chars| chars.into_iter().collect::<String>());
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(MAX_SAFE_INTEGER as i64)..=(MAX_SAFE_INTEGER as i64)).prop_map(|i| json!(i)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
            name.clone().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(name.clone(), inner, 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn prop_writer_matches_serde_json_canonicalizer(value in prop_oneof![arb_json(), arb_tricky_json()]) {
            if let Ok(ours) = to_canonical_vec(&value) {
                let reference = serde_json_canonicalizer::to_vec(&value).unwrap();
                prop_assert_eq!(&ours, &reference);
                prop_assert!(is_canonical(&ours));
                let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
                write_canonical(&value, &mut hasher).unwrap();
                prop_assert_eq!(
                    sha2::Digest::finalize(hasher).to_vec(),
                    <sha2::Sha256 as sha2::Digest>::digest(&reference).to_vec()
                );
                let mut sink = HashSink::new();
                write_canonical(&value, &mut sink).unwrap();
                prop_assert_eq!(
                    sink.finalize().to_vec(),
                    <sha2::Sha256 as sha2::Digest>::digest(&reference).to_vec()
                );
            }
        }

        #[test]
        fn prop_is_canonical_is_exact(value in prop_oneof![arb_json(), arb_tricky_json()]) {
            let compact = serde_json::to_vec(&value).unwrap();
            check_is_canonical(&compact);
            let pretty = serde_json::to_vec_pretty(&value).unwrap();
            check_is_canonical(&pretty);
            if let Ok(canonical) = slow_canonicalize(&compact) {
                prop_assert!(is_canonical(&canonical));
                prop_assert_eq!(canonicalize(&compact).unwrap(), canonical);
            }
        }

        #[test]
        fn prop_is_canonical_after_one_edit(
            value in prop_oneof![arb_json(), arb_tricky_json()],
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![
                Just(b' '), Just(b'"'), Just(b'\\'), Just(b','), Just(b':'), Just(b'0'),
                Just(b'1'), Just(b'-'), Just(b'e'), Just(b'.'), Just(b'{'), Just(b'}'),
                Just(b'['), Just(b']'), Just(b'u'), Just(b'a'), any::<u8>()
            ],
            insert in any::<bool>(),
        ) {
            if let Ok(mut text) = to_canonical_vec(&value) {
                if insert {
                    let at = at.index(text.len() + 1);
                    text.insert(at, byte);
                } else if !text.is_empty() {
                    let at = at.index(text.len());
                    text[at] = byte;
                }
                check_is_canonical(&text);
            }
        }

        #[test]
        fn prop_is_canonical_on_arbitrary_bytes(bytes in prop::collection::vec(
            prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b','), Just(b':'), Just(b'0'), Just(b'1'),
                Just(b'-'), Just(b'e'), Just(b'.'), Just(b'{'), Just(b'}'), Just(b'['),
                Just(b']'), Just(b'u'), Just(b'a'), any::<u8>()
            ],
            0..24,
        )) {
            check_is_canonical(&bytes);
        }

        #[test]
        fn prop_text_and_value_agree(value in arb_json()) {
            let text = serde_json::to_string(&value).unwrap();
            let from_text = canonicalize(text.as_bytes());
            let from_value = to_canonical_vec(&value);
            match (&from_text, &from_value) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                // serde_json writes large integral floats as `9007199254740992.0`, which
                // both paths reject, quoting their own spelling.
                (Err(CanonError::UnsafeInteger { .. }), Err(CanonError::UnsafeInteger { .. })) => {}
                _ => prop_assert!(false, "{:?} vs {:?}", from_text, from_value),
            }
        }

        #[test]
        fn prop_idempotent(value in arb_json()) {
            let text = serde_json::to_string_pretty(&value).unwrap();
            if let Ok(once) = canonicalize(text.as_bytes()) {
                let twice = canonicalize(&once).unwrap();
                prop_assert_eq!(twice, once);
            }
        }

        #[test]
        fn prop_parse_round_trips(value in arb_json()) {
            if let Ok(canonical) = to_canonical_vec(&value) {
                let parsed = parse_strict(&canonical).unwrap();
                prop_assert_eq!(to_canonical_vec(&parsed).unwrap(), canonical);
            }
        }

        #[test]
        fn prop_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(once) = canonicalize(&bytes) {
                prop_assert_eq!(canonicalize(&once).unwrap(), once);
            }
        }
    }
}
