//! RFC 9162 §2.1 (identical to RFC 6962 §2.1) Merkle tree hashing, proofs and their
//! verification.
//!
//! # Hashing
//!
//! ```text
//! leaf hash   = SHA-256(0x00 || leaf data)
//! node hash   = SHA-256(0x01 || left || right)
//! empty root  = SHA-256("")
//! ```
//!
//! # Storage model
//!
//! A log stores the hashes of *perfect aligned subtrees* only: node `(level, index)` covers the
//! leaves `[index·2^level, (index+1)·2^level)`; level 0 holds the leaf hashes. Such a node never
//! changes once its last leaf is appended, so the store is append-only. A tree of any size is the
//! sequence of perfect subtrees given by the binary decomposition of its size (for 13 = 8+4+1:
//! `(3,0)`, `(2,2)`, `(0,12)`), folded right to left with the node hash.
//!
//! - [`Appender`] keeps that right edge (at most 64 hashes), appends leaves and returns every node
//!   completed by each append (the leaf plus its newly complete ancestors: about two nodes per
//!   leaf over time). It is restored from a store with one batched read of O(log n) nodes.
//! - [`root`], [`inclusion_proof`] and [`consistency_proof`] read O(log n) nodes through a
//!   [`NodeReader`], in one batched call. Every proof element is a perfect node except at most one
//!   subtree on the right edge of the tree, which is recomputed from the perfect nodes of its own
//!   binary decomposition.
//! - [`verify_inclusion`] and [`verify_consistency`] implement the verification algorithms of
//!   RFC 9162 §2.1.3.2 and §2.1.4.2 step by step; they first check that the proof has exactly the
//!   length those algorithms consume, so a wrong length is reported as such.
//! - [`MemoryTree`] keeps every perfect node in memory, for tests and for recomputing a whole log.
//!
//! Proofs are lists of hashes ordered from the leaf level up, exactly as RFC 9162 defines the
//! inclusion path (§2.1.3.1) and consistency path (§2.1.4.1). All tree arithmetic is on `u64` and
//! checked; hashes compare in constant time.

use core::fmt;
use core::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Length in bytes of a [`Hash`](struct@Hash).
pub const HASH_LEN: usize = 32;

/// Domain-separation prefix of a leaf hash.
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash.
const NODE_PREFIX: u8 = 0x01;
/// The longest untrusted text echoed back in an error message, in characters.
const MAX_ECHOED: usize = 80;

/// A SHA-256 tree hash: a leaf hash, an interior node hash or a root.
///
/// Compares in constant time. The text form ([`fmt::Display`] / [`FromStr`], and serde) is 64
/// lowercase hex digits; [`Hash::to_base64`] gives the base64 form used in checkpoints.
#[derive(Clone, Copy)]
pub struct Hash([u8; HASH_LEN]);

impl Hash {
    /// Wraps 32 bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; HASH_LEN]) -> Self {
        Hash(bytes)
    }

    /// Copies a 32-byte slice.
    ///
    /// # Errors
    ///
    /// [`HashParseError::WrongLength`] if `bytes` is not exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashParseError> {
        <[u8; HASH_LEN]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| HashParseError::WrongLength { got: bytes.len() })
    }

    /// The 32 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// The 32 bytes, by value.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; HASH_LEN] {
        self.0
    }

    /// Standard base64 with padding (RFC 4648 §4), as in a checkpoint's root hash line.
    #[must_use]
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses standard base64 with padding (RFC 4648 §4), strictly: canonical padding, no
    /// non-zero trailing bits, no whitespace, exactly 32 decoded bytes.
    ///
    /// # Errors
    ///
    /// [`HashParseError::BadBase64`] or [`HashParseError::WrongLength`].
    pub fn from_base64(text: &str) -> Result<Self, HashParseError> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|_| HashParseError::BadBase64(truncate(text)))?;
        Hash::from_slice(&bytes)
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for Hash {}

impl core::hash::Hash for Hash {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<[u8; HASH_LEN]> for Hash {
    fn from(bytes: [u8; HASH_LEN]) -> Self {
        Hash(bytes)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = HashParseError;

    /// Parses exactly 64 lowercase hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lowercase_hex = s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let mut out = [0u8; HASH_LEN];
        if !lowercase_hex || hex::decode_to_slice(s, &mut out).is_err() {
            return Err(HashParseError::BadHex(truncate(s)));
        }
        Ok(Hash(out))
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Errors parsing a [`Hash`](struct@Hash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashParseError {
    /// Not 64 lowercase hex digits (long input is truncated).
    #[error("hash `{0}` is not 64 lowercase hex digits")]
    BadHex(String),
    /// Not canonical standard base64 with padding (long input is truncated).
    #[error("hash `{0}` is not canonical padded standard base64")]
    BadBase64(String),
    /// The decoded hash is not 32 bytes.
    #[error("hash must be 32 bytes, got `{got}`")]
    WrongLength {
        /// The decoded length.
        got: usize,
    },
}

/// Keeps at most [`MAX_ECHOED`] characters of untrusted input for an error message.
fn truncate(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHOED) {
        Some((end, _)) => format!("{}…", s.get(..end).unwrap_or_default()),
        None => s.to_owned(),
    }
}

/// The leaf hash of `data`: `SHA-256(0x00 || data)` (RFC 9162 §2.1.1).
#[must_use]
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    Hash(h.finalize().into())
}

/// The interior node hash: `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1).
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The root of the empty tree: `SHA-256("")`.
#[must_use]
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// The 0-based index of a leaf. Any `u64` is a well-formed index; whether it is in a tree is
/// checked against a [`TreeSize`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct LeafIndex(pub u64);

/// The number of leaves in a tree.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TreeSize(pub u64);

impl From<u64> for LeafIndex {
    fn from(n: u64) -> Self {
        LeafIndex(n)
    }
}

impl From<u64> for TreeSize {
    fn from(n: u64) -> Self {
        TreeSize(n)
    }
}

impl fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for TreeSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Read access to the stored perfect-subtree hashes of a tree.
///
/// Node `(level, index)` is the root of the perfect subtree over the leaves
/// `[index·2^level, (index+1)·2^level)`; level 0 holds the leaf hashes. The proof functions ask
/// only for nodes whose subtrees are complete in the tree size they are given.
pub trait NodeReader {
    /// The store's error.
    type Error;

    /// The hash of node `(level, index)`.
    ///
    /// # Errors
    ///
    /// The store's error, including when the node is not stored.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;

    /// The hashes of several nodes, in the order asked. A store should override this to fetch
    /// them in one query; the default calls [`NodeReader::node`] for each.
    ///
    /// # Errors
    ///
    /// The store's error. Returning a different number of hashes than asked for is reported by
    /// the caller as [`ProofError::ReaderMismatch`].
    fn nodes(&self, ids: &[(u8, u64)]) -> Result<Vec<Hash>, Self::Error> {
        ids.iter()
            .map(|&(level, index)| self.node(level, index))
            .collect()
    }
}

impl<R: NodeReader + ?Sized> NodeReader for &R {
    type Error = R::Error;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        (**self).node(level, index)
    }

    fn nodes(&self, ids: &[(u8, u64)]) -> Result<Vec<Hash>, Self::Error> {
        (**self).nodes(ids)
    }
}

/// Errors computing a root or a proof from stored nodes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError<E> {
    /// The leaf is not in the tree.
    #[error("leaf index `{index}` is not below tree size `{size}`")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: LeafIndex,
        /// The tree size.
        size: TreeSize,
    },
    /// A consistency proof was asked for from a larger tree to a smaller one.
    #[error("old tree size `{old}` is larger than new tree size `{new}`")]
    OldLargerThanNew {
        /// The old size.
        old: TreeSize,
        /// The new size.
        new: TreeSize,
    },
    /// A consistency proof was asked for from the empty tree (RFC 9162 §2.1.4 defines none).
    #[error("consistency proofs are defined only from a non-empty tree (old size is `0`)")]
    OldTreeEmpty,
    /// The reader broke the [`NodeReader::nodes`] contract.
    #[error("node reader returned `{got}` hashes for `{expected}` requested nodes")]
    ReaderMismatch {
        /// Hashes requested.
        expected: usize,
        /// Hashes returned.
        got: usize,
    },
    /// The store failed or lacks a node.
    #[error("cannot read tree nodes: {0}")]
    Store(#[source] E),
}

/// Errors of the [`Appender`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The tree already has `u64::MAX` leaves.
    #[error("the tree is full (`{}` leaves)", u64::MAX)]
    TreeFull,
    /// A right edge of the wrong length was given for a tree size.
    #[error("a tree of size `{size}` has `{expected}` right-edge subtrees, got `{got}`")]
    EdgeLength {
        /// The tree size.
        size: TreeSize,
        /// One hash per set bit of the size.
        expected: usize,
        /// The number given.
        got: usize,
    },
}

/// Errors verifying a proof (RFC 9162 §2.1.3.2 and §2.1.4.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The leaf index is not below the tree size.
    #[error("leaf index `{index}` is not below tree size `{size}`")]
    IndexOutOfRange {
        /// The leaf index.
        index: LeafIndex,
        /// The tree size.
        size: TreeSize,
    },
    /// The old tree is larger than the new one.
    #[error("old tree size `{old}` is larger than new tree size `{new}`")]
    OldLargerThanNew {
        /// The old size.
        old: TreeSize,
        /// The new size.
        new: TreeSize,
    },
    /// No consistency proof exists from the empty tree to a non-empty one.
    #[error("no consistency proof exists from the empty tree to size `{new}`")]
    OldTreeEmpty {
        /// The new size.
        new: TreeSize,
    },
    /// The proof does not have the length the verification algorithm consumes.
    #[error("proof has `{got}` hashes, expected `{expected}`")]
    ProofLength {
        /// The length the algorithm consumes for these sizes.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// The inclusion proof leads to a different root.
    #[error("inclusion proof does not lead to the expected root")]
    RootMismatch,
    /// The consistency proof does not reproduce the old root.
    #[error("consistency proof does not reproduce the old root")]
    OldRootMismatch,
    /// The consistency proof does not reproduce the new root.
    #[error("consistency proof does not reproduce the new root")]
    NewRootMismatch,
    /// Equal tree sizes with different roots: the log presented two different trees.
    #[error("roots differ for equal tree sizes `{size}`")]
    RootsDifferForEqualSizes {
        /// The size of both trees.
        size: TreeSize,
    },
}

// ---------------------------------------------------------------------------------------------
// Tree arithmetic. Every value here is bounded by the tree size, a u64; the helpers keep the
// arithmetic free of panics and silent wrap-around.

/// `x >> n`, which is 0 for `n >= 64`.
fn shr(x: u64, n: u32) -> u64 {
    x.checked_shr(n).unwrap_or(0)
}

/// `2^n`, or `None` for `n >= 64`.
fn pow2(n: u32) -> Option<u64> {
    1u64.checked_shl(n)
}

/// A level number as stored (levels are at most 63 for a `u64` tree size).
fn level_u8(level: u32) -> u8 {
    u8::try_from(level).unwrap_or(u8::MAX)
}

/// The largest power of two strictly below `n`, for `n >= 2`.
fn largest_pow2_below(n: u64) -> Option<u64> {
    n.checked_sub(1)?.checked_ilog2().and_then(pow2)
}

/// The perfect aligned subtrees covering the leaves `[lo, hi)`, left to right.
///
/// Requires `lo` to be a multiple of the largest power of two not above `hi - lo`, which holds
/// for every range produced by the RFC 9162 recursion (each split point `k` is a power of two and
/// the right part is never longer than `k`).
fn decompose(lo: u64, hi: u64, out: &mut Vec<(u8, u64)>) {
    let mut rest = hi.saturating_sub(lo);
    let mut pos = lo;
    while let Some(level) = rest.checked_ilog2() {
        let width = pow2(level).unwrap_or(0);
        out.push((level_u8(level), shr(pos, level)));
        // pos + width <= hi: the widths are the set bits of hi - lo.
        pos = pos.saturating_add(width);
        rest ^= width;
    }
}

/// The root of several adjacent subtrees, folded right to left:
/// `H(h1, H(h2, … H(hk-1, hk)))`. `None` for an empty list.
fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    hashes.iter().rev().fold(None, |acc, h| {
        Some(match acc {
            None => *h,
            Some(right) => node_hash(h, &right),
        })
    })
}

/// A proof or root to be assembled from stored nodes: the node ids to read (in one batch) and,
/// for each output hash, how many consecutive ids fold into it.
#[derive(Default)]
struct Plan {
    ids: Vec<(u8, u64)>,
    parts: Vec<usize>,
}

impl Plan {
    /// Adds one output hash: the root of the leaves `[lo, hi)`.
    fn push_range(&mut self, lo: u64, hi: u64) {
        let before = self.ids.len();
        decompose(lo, hi, &mut self.ids);
        self.parts.push(self.ids.len().saturating_sub(before));
    }

    /// Reads the nodes in one batch and assembles the output hashes.
    fn run<R: NodeReader + ?Sized>(&self, reader: &R) -> Result<Vec<Hash>, ProofError<R::Error>> {
        if self.ids.is_empty() {
            return Ok(Vec::new());
        }
        let hashes = reader.nodes(&self.ids).map_err(ProofError::Store)?;
        if hashes.len() != self.ids.len() {
            return Err(ProofError::ReaderMismatch {
                expected: self.ids.len(),
                got: hashes.len(),
            });
        }
        let mut out = Vec::with_capacity(self.parts.len());
        let mut rest = hashes.as_slice();
        for &n in &self.parts {
            let (part, tail) = rest.split_at_checked(n).ok_or(ProofError::ReaderMismatch {
                expected: self.ids.len(),
                got: hashes.len(),
            })?;
            rest = tail;
            if let Some(h) = fold_right(part) {
                out.push(h);
            }
        }
        Ok(out)
    }
}

/// The root hash of the tree of `size` leaves, from `popcount(size)` stored nodes.
///
/// # Errors
///
/// [`ProofError::Store`] or [`ProofError::ReaderMismatch`] from the reader.
pub fn root<R: NodeReader + ?Sized>(
    size: TreeSize,
    reader: &R,
) -> Result<Hash, ProofError<R::Error>> {
    let mut plan = Plan::default();
    plan.push_range(0, size.0);
    Ok(plan
        .run(reader)?
        .into_iter()
        .next()
        .unwrap_or_else(empty_root))
}

/// The RFC 9162 §2.1.3.1 inclusion path of leaf `index` in the tree of `size` leaves, from the
/// leaf level up.
///
/// Reads at most `2·⌈log2(size)⌉` nodes, in one [`NodeReader::nodes`] call.
///
/// # Errors
///
/// [`ProofError::IndexOutOfRange`] if `index >= size` (so always for size 0), and the reader's
/// errors.
pub fn inclusion_proof<R: NodeReader + ?Sized>(
    index: LeafIndex,
    size: TreeSize,
    reader: &R,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if index.0 >= size.0 {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Walk down from the root: PATH(m, D[lo:hi]) splits at k, the largest power of two below
    // hi - lo, recurses into the side holding the leaf and appends the other side's root.
    let mut ranges = Vec::new();
    let (mut lo, mut hi) = (0u64, size.0);
    while let Some(k) = hi.checked_sub(lo).and_then(largest_pow2_below) {
        let mid = lo.saturating_add(k);
        if index.0 < mid {
            ranges.push((mid, hi));
            hi = mid;
        } else {
            ranges.push((lo, mid));
            lo = mid;
        }
    }
    let mut plan = Plan::default();
    for &(a, b) in ranges.iter().rev() {
        plan.push_range(a, b);
    }
    plan.run(reader)
}

/// The RFC 9162 §2.1.4.1 consistency path from the tree of `old` leaves to the tree of `new`
/// leaves, from the leaf level up. Empty when `old == new`.
///
/// Reads at most `2·⌈log2(new)⌉ + 1` nodes, in one [`NodeReader::nodes`] call.
///
/// # Errors
///
/// [`ProofError::OldLargerThanNew`] if `old > new`, [`ProofError::OldTreeEmpty`] if `old == 0`,
/// and the reader's errors.
pub fn consistency_proof<R: NodeReader + ?Sized>(
    old: TreeSize,
    new: TreeSize,
    reader: &R,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if old.0 > new.0 {
        return Err(ProofError::OldLargerThanNew { old, new });
    }
    if old.0 == 0 {
        return Err(ProofError::OldTreeEmpty);
    }
    // SUBPROOF(m, D[lo:hi], b): stop when m == hi (adding MTH(D[lo:hi]) unless b), otherwise
    // split at k and recurse left (m <= k, b kept) or right (m > k, b = false), appending the
    // other side's root. Invariant: lo < m <= hi.
    let m = old.0;
    let mut ranges = Vec::new();
    let (mut lo, mut hi, mut whole_old_tree) = (0u64, new.0, true);
    while m < hi {
        let Some(k) = hi.checked_sub(lo).and_then(largest_pow2_below) else {
            break;
        };
        let mid = lo.saturating_add(k);
        if m <= mid {
            ranges.push((mid, hi));
            hi = mid;
        } else {
            ranges.push((lo, mid));
            lo = mid;
            whole_old_tree = false;
        }
    }
    if !whole_old_tree {
        ranges.push((lo, hi));
    }
    let mut plan = Plan::default();
    for &(a, b) in ranges.iter().rev() {
        plan.push_range(a, b);
    }
    plan.run(reader)
}

// ---------------------------------------------------------------------------------------------
// Verification: RFC 9162 §2.1.3.2 and §2.1.4.2.

/// `true` if the least significant bit is set.
fn lsb(x: u64) -> bool {
    x & 1 == 1
}

/// Step b.ii of both algorithms: right-shift `fn` and `sn` equally until `LSB(fn)` is set or
/// `fn` is 0.
fn shift_until_odd_or_zero(fn_: &mut u64, sn: &mut u64) {
    while !(lsb(*fn_) || *fn_ == 0) {
        *fn_ = shr(*fn_, 1);
        *sn = shr(*sn, 1);
    }
}

/// How many path hashes the shared loop of §2.1.3.2 step 4 / §2.1.4.2 step 6 consumes from
/// `(fn, sn)` until `sn` reaches 0.
fn path_len(mut fn_: u64, mut sn: u64) -> usize {
    let mut n = 0usize;
    while sn != 0 {
        if fn_ == sn && !lsb(fn_) {
            shift_until_odd_or_zero(&mut fn_, &mut sn);
        }
        fn_ = shr(fn_, 1);
        sn = shr(sn, 1);
        n = n.saturating_add(1);
    }
    n
}

/// The length of the inclusion path for `index < size`.
fn inclusion_path_len(index: u64, size: u64) -> usize {
    path_len(index, size.saturating_sub(1))
}

/// The length of the consistency path for `0 < old < new`.
fn consistency_path_len(old: u64, new: u64) -> usize {
    let (mut fn_, mut sn) = (old.saturating_sub(1), new.saturating_sub(1));
    while lsb(fn_) {
        fn_ = shr(fn_, 1);
        sn = shr(sn, 1);
    }
    let n = path_len(fn_, sn);
    // The loop starts from the first path element; when `old` is a power of two that element
    // is the old root, prepended by the verifier rather than sent.
    if old.is_power_of_two() {
        n
    } else {
        n.saturating_add(1)
    }
}

/// The root that an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–4).
///
/// # Errors
///
/// [`VerifyError::IndexOutOfRange`] or [`VerifyError::ProofLength`].
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: LeafIndex,
    size: TreeSize,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    // 1. leaf_index must be below tree_size.
    if index.0 >= size.0 {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_path_len(index.0, size.0);
    let length_error = VerifyError::ProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(length_error);
    }
    // 2. fn = leaf_index, sn = tree_size - 1.
    let (mut fn_, mut sn) = (index.0, size.0.saturating_sub(1));
    // 3. r = hash.
    let mut r = *leaf;
    // 4. For each p in the inclusion path:
    for p in proof {
        // a. sn == 0: fail.
        if sn == 0 {
            return Err(length_error);
        }
        // b. LSB(fn) set or fn == sn: r = HASH(0x01 || p || r), then shift until LSB(fn) is set
        //    or fn is 0; otherwise r = HASH(0x01 || r || p).
        if lsb(fn_) || fn_ == sn {
            r = node_hash(p, &r);
            if !lsb(fn_) {
                shift_until_odd_or_zero(&mut fn_, &mut sn);
            }
        } else {
            r = node_hash(&r, p);
        }
        // c. Shift both once.
        fn_ = shr(fn_, 1);
        sn = shr(sn, 1);
    }
    // 5. (first half) sn must be 0.
    if sn != 0 {
        return Err(length_error);
    }
    Ok(r)
}

/// Verifies that `leaf` is at `index` in the tree of `size` leaves with root `root`
/// (RFC 9162 §2.1.3.2).
///
/// # Errors
///
/// [`VerifyError::IndexOutOfRange`], [`VerifyError::ProofLength`] or
/// [`VerifyError::RootMismatch`].
pub fn verify_inclusion(
    leaf: &Hash,
    index: LeafIndex,
    size: TreeSize,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(leaf, index, size, proof)?;
    // 5. (second half) r must equal root_hash.
    if computed == *root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots (for size 0 too); otherwise the old size
/// must be non-zero and below the new size.
///
/// # Errors
///
/// [`VerifyError::OldLargerThanNew`], [`VerifyError::OldTreeEmpty`],
/// [`VerifyError::ProofLength`], [`VerifyError::RootsDifferForEqualSizes`],
/// [`VerifyError::OldRootMismatch`] or [`VerifyError::NewRootMismatch`].
pub fn verify_consistency(
    old_size: TreeSize,
    new_size: TreeSize,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    let (first, second) = (old_size.0, new_size.0);
    if first > second {
        return Err(VerifyError::OldLargerThanNew {
            old: old_size,
            new: new_size,
        });
    }
    if first == second {
        if !proof.is_empty() {
            return Err(VerifyError::ProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(VerifyError::RootsDifferForEqualSizes { size: new_size })
        };
    }
    if first == 0 {
        return Err(VerifyError::OldTreeEmpty { new: new_size });
    }
    let expected = consistency_path_len(first, second);
    let length_error = VerifyError::ProofLength {
        expected,
        got: proof.len(),
    };
    // 1. An empty path fails (expected is at least 1 for 0 < first < second).
    if proof.len() != expected || proof.is_empty() {
        return Err(length_error);
    }
    // 2. If first is an exact power of 2, prepend first_hash to the path.
    let (start, rest) = if first.is_power_of_two() {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((head, tail)) => (*head, tail),
            None => return Err(length_error),
        }
    };
    // 3. fn = first - 1, sn = second - 1.
    let (mut fn_, mut sn) = (first.saturating_sub(1), second.saturating_sub(1));
    // 4. If LSB(fn) is set, shift both until it is not.
    while lsb(fn_) {
        fn_ = shr(fn_, 1);
        sn = shr(sn, 1);
    }
    // 5. fr = sr = first path value.
    let (mut fr, mut sr) = (start, start);
    // 6. For each subsequent value c:
    for c in rest {
        // a. sn == 0: fail.
        if sn == 0 {
            return Err(length_error);
        }
        // b. LSB(fn) set or fn == sn: fr = HASH(0x01 || c || fr), sr = HASH(0x01 || c || sr),
        //    then shift until LSB(fn) is set or fn is 0; otherwise sr = HASH(0x01 || sr || c).
        if lsb(fn_) || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if !lsb(fn_) {
                shift_until_odd_or_zero(&mut fn_, &mut sn);
            }
        } else {
            sr = node_hash(&sr, c);
        }
        // c. Shift both once.
        fn_ = shr(fn_, 1);
        sn = shr(sn, 1);
    }
    // 7. sn must be 0, fr must equal first_hash and sr second_hash.
    if sn != 0 {
        return Err(length_error);
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(VerifyError::NewRootMismatch);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Appending.

/// The right edge of a tree (its "compact range" from leaf 0): the hashes of the perfect
/// subtrees in the binary decomposition of its size, largest first. Appends leaves and reports
/// the nodes each append completes, for the store to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Appender {
    /// Number of leaves.
    size: u64,
    /// One hash per set bit of `size`, from the highest bit down.
    edge: Vec<Hash>,
}

impl Appender {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Self {
        Appender::default()
    }

    /// Restores the right edge of the tree of `size` leaves from stored nodes: `popcount(size)`
    /// nodes in one [`NodeReader::nodes`] call.
    ///
    /// # Errors
    ///
    /// The reader's errors ([`ProofError::Store`], [`ProofError::ReaderMismatch`]).
    pub fn restore<R: NodeReader + ?Sized>(
        size: TreeSize,
        reader: &R,
    ) -> Result<Self, ProofError<R::Error>> {
        let mut ids = Vec::new();
        decompose(0, size.0, &mut ids);
        if ids.is_empty() {
            return Ok(Appender::new());
        }
        let edge = reader.nodes(&ids).map_err(ProofError::Store)?;
        if edge.len() != ids.len() {
            return Err(ProofError::ReaderMismatch {
                expected: ids.len(),
                got: edge.len(),
            });
        }
        Ok(Appender { size: size.0, edge })
    }

    /// An appender from a known right edge (as returned by [`Appender::edge`]).
    ///
    /// # Errors
    ///
    /// [`AppendError::EdgeLength`] unless `edge` has one hash per set bit of `size`.
    pub fn from_edge(size: TreeSize, edge: Vec<Hash>) -> Result<Self, AppendError> {
        let expected = usize::try_from(size.0.count_ones()).unwrap_or(usize::MAX);
        if edge.len() != expected {
            return Err(AppendError::EdgeLength {
                size,
                expected,
                got: edge.len(),
            });
        }
        Ok(Appender { size: size.0, edge })
    }

    /// The number of leaves.
    #[must_use]
    pub fn size(&self) -> TreeSize {
        TreeSize(self.size)
    }

    /// The right-edge hashes, largest subtree first.
    #[must_use]
    pub fn edge(&self) -> &[Hash] {
        &self.edge
    }

    /// The current root hash (the empty root for size 0).
    #[must_use]
    pub fn root(&self) -> Hash {
        fold_right(&self.edge).unwrap_or_else(empty_root)
    }

    /// Appends a leaf hash. Returns every node completed by this append as
    /// `(level, index, hash)`: the leaf at level 0, then each newly complete ancestor upwards.
    ///
    /// # Errors
    ///
    /// [`AppendError::TreeFull`] at `u64::MAX` leaves; the appender is then unchanged.
    pub fn append(&mut self, leaf: Hash) -> Result<Vec<(u8, u64, Hash)>, AppendError> {
        let new_size = self.size.checked_add(1).ok_or(AppendError::TreeFull)?;
        let completed = usize::try_from(self.size.trailing_ones()).unwrap_or(0);
        let mut out = Vec::with_capacity(completed.saturating_add(1));
        let (mut level, mut index, mut hash) = (0u32, self.size, leaf);
        out.push((0u8, index, hash));
        // Each set low bit of the old size is a perfect subtree at that level on the edge, now
        // completed into its parent by the new right sibling.
        while shr(self.size, level) & 1 == 1 {
            let Some(left) = self.edge.pop() else { break };
            hash = node_hash(&left, &hash);
            level = level.saturating_add(1);
            index = shr(index, 1);
            out.push((level_u8(level), index, hash));
        }
        self.edge.push(hash);
        self.size = new_size;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// In-memory tree.

/// A node that a [`MemoryTree`] does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("tree node at level `{level}`, index `{index}` is not stored")]
pub struct NodeNotFound {
    /// The level asked for.
    pub level: u8,
    /// The index asked for.
    pub index: u64,
}

/// Every perfect-subtree hash of a tree, in memory (a `Vec` per level).
///
/// Holds about `2n` hashes for `n` leaves. Serves as the [`NodeReader`] for tests and for
/// recomputing a whole log during verification.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    appender: Appender,
}

impl MemoryTree {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Self {
        MemoryTree::default()
    }

    /// A tree of the given leaf hashes.
    ///
    /// # Errors
    ///
    /// [`AppendError::TreeFull`] past `u64::MAX` leaves.
    pub fn from_leaf_hashes<I: IntoIterator<Item = Hash>>(leaves: I) -> Result<Self, AppendError> {
        let mut tree = MemoryTree::new();
        for leaf in leaves {
            tree.push(leaf)?;
        }
        Ok(tree)
    }

    /// Appends a leaf hash.
    ///
    /// # Errors
    ///
    /// [`AppendError::TreeFull`] at `u64::MAX` leaves.
    pub fn push(&mut self, leaf: Hash) -> Result<(), AppendError> {
        for (level, _, hash) in self.appender.append(leaf)? {
            let level = usize::from(level);
            while self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            // Nodes of one level complete in index order, so each is the next in its level.
            if let Some(row) = self.levels.get_mut(level) {
                row.push(hash);
            }
        }
        Ok(())
    }

    /// Appends the leaf hash of `data`.
    ///
    /// # Errors
    ///
    /// [`AppendError::TreeFull`] at `u64::MAX` leaves.
    pub fn push_data(&mut self, data: &[u8]) -> Result<(), AppendError> {
        self.push(leaf_hash(data))
    }

    /// The number of leaves.
    #[must_use]
    pub fn size(&self) -> TreeSize {
        self.appender.size()
    }

    /// The current root hash.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.appender.root()
    }

    /// The right edge, for continuing with an [`Appender`].
    #[must_use]
    pub fn appender(&self) -> &Appender {
        &self.appender
    }
}

impl NodeReader for MemoryTree {
    type Error = NodeNotFound;

    fn node(&self, level: u8, index: u64) -> Result<Hash, NodeNotFound> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(level))?.get(i))
            .copied()
            .ok_or(NodeNotFound { level, index })
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn decompose_follows_the_binary_expansion() {
        let mut ids = Vec::new();
        decompose(0, 13, &mut ids);
        assert_eq!(ids, [(3, 0), (2, 2), (0, 12)]);
        ids.clear();
        decompose(8, 15, &mut ids);
        assert_eq!(ids, [(2, 2), (1, 6), (0, 14)]);
        ids.clear();
        decompose(0, u64::MAX, &mut ids);
        assert_eq!(ids.len(), 64);
        assert_eq!(ids.first(), Some(&(63, 0)));
        assert_eq!(ids.last(), Some(&(0, u64::MAX - 1)));
    }

    #[test]
    fn largest_power_of_two_below() {
        assert_eq!(largest_pow2_below(0), None);
        assert_eq!(largest_pow2_below(1), None);
        assert_eq!(largest_pow2_below(2), Some(1));
        assert_eq!(largest_pow2_below(5), Some(4));
        assert_eq!(largest_pow2_below(8), Some(4));
        assert_eq!(largest_pow2_below(u64::MAX), Some(1 << 63));
    }

    #[test]
    fn appender_emits_each_completed_node_once() {
        let mut a = Appender::new();
        let mut total = 0usize;
        for i in 0..1000u64 {
            let nodes = a.append(leaf_hash(&i.to_be_bytes())).unwrap();
            assert_eq!(nodes.first().map(|n| (n.0, n.1)), Some((0, i)));
            total += nodes.len();
        }
        // 1000 leaves complete 1000 + 500 + 250 + … perfect subtrees.
        assert_eq!(total, 1000 + 500 + 250 + 125 + 62 + 31 + 15 + 7 + 3 + 1);
    }

    #[test]
    fn appender_full_tree_is_an_error_and_unchanged() {
        let mut a = Appender::from_edge(TreeSize(u64::MAX), vec![empty_root(); 64]).unwrap();
        let before = a.clone();
        assert_eq!(a.append(empty_root()), Err(AppendError::TreeFull));
        assert_eq!(a, before);
        assert!(matches!(
            Appender::from_edge(TreeSize(3), vec![empty_root()]),
            Err(AppendError::EdgeLength {
                expected: 2,
                got: 1,
                ..
            })
        ));
    }

    #[test]
    fn hash_text_forms_are_strict() {
        let h = leaf_hash(b"");
        let hex = h.to_string();
        assert_eq!(hex.parse::<Hash>().unwrap(), h);
        assert!(hex.to_uppercase().parse::<Hash>().is_err());
        assert!(hex.get(..62).unwrap().parse::<Hash>().is_err());
        assert_eq!(Hash::from_base64(&h.to_base64()).unwrap(), h);
        // Non-canonical trailing bits, missing padding, wrong length.
        let b64 = h.to_base64();
        assert!(Hash::from_base64(b64.trim_end_matches('=')).is_err());
        assert!(Hash::from_base64("YmFuYW5hcw==").is_err());
        // 43 base64 digits carry 258 bits: the last digit's 2 low bits must be zero.
        let zero = Hash::from_bytes([0; 32]).to_base64();
        assert_eq!(zero, format!("{}=", "A".repeat(43)));
        assert!(Hash::from_base64(&format!("{}B=", "A".repeat(42))).is_err());
        assert!(Hash::from_base64(&format!(" {zero}")).is_err());
        assert_eq!(serde_json::to_string(&h).unwrap(), format!("\"{hex}\""));
        assert_eq!(
            serde_json::from_str::<Hash>(&format!("\"{hex}\"")).unwrap(),
            h
        );
    }

    #[test]
    fn proof_errors() {
        let tree = MemoryTree::from_leaf_hashes((0u8..5).map(|i| leaf_hash(&[i]))).unwrap();
        assert!(matches!(
            inclusion_proof(LeafIndex(5), TreeSize(5), &tree),
            Err(ProofError::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            inclusion_proof(LeafIndex(0), TreeSize(0), &tree),
            Err(ProofError::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            consistency_proof(TreeSize(3), TreeSize(2), &tree),
            Err(ProofError::OldLargerThanNew { .. })
        ));
        assert!(matches!(
            consistency_proof(TreeSize(0), TreeSize(2), &tree),
            Err(ProofError::OldTreeEmpty)
        ));
        assert!(matches!(
            consistency_proof(TreeSize(0), TreeSize(0), &tree),
            Err(ProofError::OldTreeEmpty)
        ));
        assert!(matches!(
            root(TreeSize(6), &tree),
            Err(ProofError::Store(NodeNotFound { level: 1, index: 2 }))
        ));
        assert_eq!(root(TreeSize(0), &tree).unwrap(), empty_root());
    }
}
