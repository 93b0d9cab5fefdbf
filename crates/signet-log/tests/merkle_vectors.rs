//! Tests of `signet_log::merkle` against published vectors and an independent implementation.
//!
//! - Known answers: `testdata/merkle/rfc6962_reference.json` (the RFC 6962 reference tree of
//!   `transparency-dev/merkle`; provenance in `testdata/merkle/README.md`), with negative cases
//!   derived from each valid proof.
//! - Cross-check: roots and every inclusion and consistency proof for many tree sizes are
//!   byte-identical to those of the `ct-merkle` crate and verify with both implementations.
//! - Properties: append → prove → verify for random trees up to 2000 leaves; any bit flip, wrong
//!   index or wrong size fails.
//! - Cost: proofs read O(log n) nodes in one batch, counted with a synthetic reader at sizes
//!   around 10^6 and up to `u64::MAX`.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]

use std::cell::Cell;
use std::path::PathBuf;

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use proptest::prelude::*;
use serde::Deserialize;
use sha2::Sha256;
use signet_log::merkle::{
    self, Appender, Hash, LeafIndex, MemoryTree, NodeReader, ProofError, TreeSize, VerifyError,
};

// ---------------------------------------------------------------------------------------------
// Known-answer vectors.

#[derive(Deserialize)]
struct Reference {
    hasher: Vec<HasherCase>,
    leaves: Vec<String>,
    node_hashes: Vec<Vec<Hash>>,
    roots: Vec<Hash>,
    inclusion: Vec<InclusionCase>,
    consistency: Vec<ConsistencyCase>,
}

#[derive(Deserialize)]
struct HasherCase {
    kind: String,
    #[serde(default)]
    data: String,
    hash: Hash,
}

#[derive(Deserialize)]
struct InclusionCase {
    index: u64,
    size: u64,
    proof: Vec<Hash>,
}

#[derive(Deserialize)]
struct ConsistencyCase {
    old: u64,
    new: u64,
    proof: Vec<Hash>,
}

fn reference() -> Reference {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/merkle/rfc6962_reference.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn reference_tree(r: &Reference) -> (Vec<Vec<u8>>, MemoryTree) {
    let leaves: Vec<Vec<u8>> = r.leaves.iter().map(|h| hex::decode(h).unwrap()).collect();
    let mut tree = MemoryTree::new();
    for leaf in &leaves {
        tree.push_data(leaf).unwrap();
    }
    (leaves, tree)
}

/// A hash that is in no tree here (upstream's `sha256SomeHash`).
fn some_hash() -> Hash {
    "abacaba000000000000000000000000000000000000000000060061e00123456"
        .parse()
        .unwrap()
}

fn flip(h: &Hash, byte: usize, bit: u8) -> Hash {
    let mut b = h.to_bytes();
    b[byte] ^= 1 << bit;
    Hash::from_bytes(b)
}

#[test]
fn hasher_known_answers() {
    let r = reference();
    for c in &r.hasher {
        let got = match c.kind.as_str() {
            "empty_root" => Some(merkle::empty_root()),
            "leaf" => Some(merkle::leaf_hash(&hex::decode(&c.data).unwrap())),
            _ => None,
        };
        assert_eq!(got, Some(c.hash), "{}", c.kind);
    }
}

#[test]
fn reference_roots_and_nodes() {
    let r = reference();
    let (_, tree) = reference_tree(&r);
    assert_eq!(r.roots.len(), 9);
    let mut appender = Appender::new();
    for (size, want) in r.roots.iter().enumerate() {
        let size = TreeSize(size as u64);
        assert_eq!(merkle::root(size, &tree).unwrap(), *want, "root({size})");
        assert_eq!(Appender::restore(size, &tree).unwrap().root(), *want);
        assert_eq!(appender.root(), *want, "appender at {size}");
        if let Some(leaf) = r.leaves.get(size.0 as usize) {
            appender
                .append(merkle::leaf_hash(&hex::decode(leaf).unwrap()))
                .unwrap();
        }
    }
    for (level, row) in r.node_hashes.iter().enumerate() {
        for (index, want) in row.iter().enumerate() {
            assert_eq!(tree.node(level as u8, index as u64).unwrap(), *want);
        }
    }
    assert_eq!(tree.root(), r.roots[8]);
}

#[test]
fn reference_inclusion_proofs() {
    let r = reference();
    let (leaves, tree) = reference_tree(&r);
    for c in &r.inclusion {
        let (index, size) = (LeafIndex(c.index), TreeSize(c.size));
        let leaf = merkle::leaf_hash(&leaves[c.index as usize]);
        let root = r.roots[c.size as usize];
        let proof = merkle::inclusion_proof(index, size, &tree).unwrap();
        assert_eq!(proof, c.proof, "inclusion({index}, {size})");
        merkle::verify_inclusion(&leaf, index, size, &c.proof, &root).unwrap();
        for (desc, bad) in corrupt_inclusion(&leaf, c.index, c.size, &c.proof, &root) {
            assert!(
                merkle::verify_inclusion(&bad.leaf, bad.index, bad.size, &bad.proof, &bad.root)
                    .is_err(),
                "inclusion({index}, {size}) accepted: {desc}"
            );
        }
    }
    // Every leaf of every size of the reference tree.
    for size in 1..=8u64 {
        for index in 0..size {
            let leaf = merkle::leaf_hash(&leaves[index as usize]);
            let proof = merkle::inclusion_proof(LeafIndex(index), TreeSize(size), &tree).unwrap();
            merkle::verify_inclusion(
                &leaf,
                LeafIndex(index),
                TreeSize(size),
                &proof,
                &r.roots[size as usize],
            )
            .unwrap();
        }
    }
}

struct InclusionProbe {
    leaf: Hash,
    index: LeafIndex,
    size: TreeSize,
    proof: Vec<Hash>,
    root: Hash,
}

/// The corruptions `transparency-dev/merkle`'s `proofgen` derives from a valid proof.
fn corrupt_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Vec<(String, InclusionProbe)> {
    let probe = |index: u64, size: u64, leaf: Hash, proof: Vec<Hash>, root: Hash| InclusionProbe {
        leaf,
        index: LeafIndex(index),
        size: TreeSize(size),
        proof,
        root,
    };
    let p = proof.to_vec();
    let mut out = vec![
        (
            "index - 1",
            probe(index.wrapping_sub(1), size, *leaf, p.clone(), *root),
        ),
        ("index + 1", probe(index + 1, size, *leaf, p.clone(), *root)),
        ("index ^ 2", probe(index ^ 2, size, *leaf, p.clone(), *root)),
        ("size * 2", probe(index, size * 2, *leaf, p.clone(), *root)),
        ("size / 2", probe(index, size / 2, *leaf, p.clone(), *root)),
        (
            "wrong leaf",
            probe(
                index,
                size,
                merkle::leaf_hash(b"WrongLeaf"),
                p.clone(),
                *root,
            ),
        ),
        (
            "empty root",
            probe(index, size, *leaf, p.clone(), merkle::empty_root()),
        ),
        (
            "random root",
            probe(index, size, *leaf, p.clone(), some_hash()),
        ),
        (
            "trailing root",
            probe(index, size, *leaf, [p.clone(), vec![*root]].concat(), *root),
        ),
        (
            "preceding root",
            probe(index, size, *leaf, [vec![*root], p.clone()].concat(), *root),
        ),
    ]
    .into_iter()
    .map(|(d, p)| (d.to_owned(), p))
    .collect::<Vec<_>>();
    for i in 0..p.len() {
        let mut bad = p.clone();
        bad[i] = flip(&bad[i], 0, 3);
        out.push((
            format!("proof[{i}] bit 3"),
            probe(index, size, *leaf, bad, *root),
        ));
    }
    if let Some((_, init)) = p.split_last() {
        out.push((
            "removed component".into(),
            probe(index, size, *leaf, init.to_vec(), *root),
        ));
    }
    if p.len() > 1 {
        let mut bad = p.clone();
        bad.insert(1, some_hash());
        out.push((
            "inserted component".into(),
            probe(index, size, *leaf, bad, *root),
        ));
    }
    out
}

#[test]
fn reference_consistency_proofs() {
    let r = reference();
    let (_, tree) = reference_tree(&r);
    for c in &r.consistency {
        let (old, new) = (TreeSize(c.old), TreeSize(c.new));
        let (r1, r2) = (r.roots[c.old as usize], r.roots[c.new as usize]);
        let proof = merkle::consistency_proof(old, new, &tree).unwrap();
        assert_eq!(proof, c.proof, "consistency({old}, {new})");
        merkle::verify_consistency(old, new, &r1, &r2, &c.proof).unwrap();
        if c.proof.is_empty() {
            continue;
        }
        for (desc, (s1, s2, a, b, p)) in corrupt_consistency(c.old, c.new, &r1, &r2, &c.proof) {
            assert!(
                merkle::verify_consistency(TreeSize(s1), TreeSize(s2), &a, &b, &p).is_err(),
                "consistency({old}, {new}) accepted: {desc}"
            );
        }
    }
    for new in 1..=8u64 {
        for old in 1..=new {
            let proof = merkle::consistency_proof(TreeSize(old), TreeSize(new), &tree).unwrap();
            merkle::verify_consistency(
                TreeSize(old),
                TreeSize(new),
                &r.roots[old as usize],
                &r.roots[new as usize],
                &proof,
            )
            .unwrap();
        }
    }
}

type ConsistencyProbe = (u64, u64, Hash, Hash, Vec<Hash>);

/// The corruptions `proofgen` derives from a valid non-empty consistency proof.
fn corrupt_consistency(
    s1: u64,
    s2: u64,
    r1: &Hash,
    r2: &Hash,
    proof: &[Hash],
) -> Vec<(String, ConsistencyProbe)> {
    let (r1, r2, p) = (*r1, *r2, proof.to_vec());
    let wrong = merkle::leaf_hash(b"WrongRoot");
    let mut out: Vec<(String, ConsistencyProbe)> = vec![
        ("size1 - 1", (s1 - 1, s2, r1, r2, p.clone())),
        ("size1 + 1", (s1 + 1, s2, r1, r2, p.clone())),
        ("size1 ^ 2", (s1 ^ 2, s2, r1, r2, p.clone())),
        ("size2 * 2", (s1, s2 * 2, r1, r2, p.clone())),
        ("size2 / 2", (s1, s2 / 2, r1, r2, p.clone())),
        ("wrong root1", (s1, s2, wrong, r2, p.clone())),
        ("wrong root2", (s1, s2, r1, wrong, p.clone())),
        ("swapped roots", (s1, s2, r2, r1, p.clone())),
        ("empty proof", (s1, s2, r1, r2, Vec::new())),
        (
            "trailing root1",
            (s1, s2, r1, r2, [p.clone(), vec![r1]].concat()),
        ),
        (
            "trailing root2",
            (s1, s2, r1, r2, [p.clone(), vec![r2]].concat()),
        ),
        (
            "preceding root1",
            (s1, s2, r1, r2, [vec![r1], p.clone()].concat()),
        ),
        (
            "preceding root2",
            (s1, s2, r1, r2, [vec![r2], p.clone()].concat()),
        ),
        (
            "preceding proof[0]",
            (s1, s2, r1, r2, [vec![p[0]], p.clone()].concat()),
        ),
        (
            "truncated proof",
            (s1, s2, r1, r2, p[..p.len() - 1].to_vec()),
        ),
    ]
    .into_iter()
    .map(|(d, c)| (d.to_owned(), c))
    .collect();
    for i in 0..p.len() {
        let mut bad = p.clone();
        bad[i] = flip(&bad[i], 0, 4);
        out.push((format!("proof[{i}] bit 4"), (s1, s2, r1, r2, bad)));
    }
    out
}

#[test]
fn consistency_edge_cases() {
    let (a, b) = (
        merkle::leaf_hash(b"don't care 1"),
        merkle::leaf_hash(b"don't care 2"),
    );
    let e = merkle::empty_root();
    let v = |s1, s2, r1: &Hash, r2: &Hash, p: &[Hash]| {
        merkle::verify_consistency(TreeSize(s1), TreeSize(s2), r1, r2, p)
    };
    // Equal sizes: empty proof and equal roots, for size 0 too.
    assert_eq!(v(0, 0, &a, &a, &[]), Ok(()));
    assert_eq!(v(1, 1, &b, &b, &[]), Ok(()));
    assert_eq!(
        v(0, 0, &a, &b, &[]),
        Err(VerifyError::RootsDifferForEqualSizes { size: TreeSize(0) })
    );
    assert!(v(1, 1, &a, &b, &[]).is_err());
    assert!(v(0, 0, &e, &e, &[e]).is_err());
    assert!(v(1, 1, &e, &e, &[e]).is_err());
    // From the empty tree, backwards, or with an empty proof.
    assert_eq!(
        v(0, 1, &a, &b, &[]),
        Err(VerifyError::OldTreeEmpty { new: TreeSize(1) })
    );
    assert!(v(0, 1, &e, &e, &[e]).is_err());
    assert!(matches!(
        v(1, 0, &a, &b, &[]),
        Err(VerifyError::OldLargerThanNew { .. })
    ));
    assert!(v(2, 1, &a, &b, &[]).is_err());
    assert_eq!(
        v(1, 2, &a, &b, &[]),
        Err(VerifyError::ProofLength {
            expected: 1,
            got: 0
        })
    );
}

#[test]
fn inclusion_edge_cases() {
    let some = some_hash();
    let e = merkle::empty_root();
    for (index, size) in [(0, 0), (0, 1), (1, 0), (2, 1)] {
        for (leaf, root) in [(some, e), (e, some), (some, some)] {
            if size == 1 && index == 0 && leaf == root {
                continue;
            }
            assert!(
                merkle::verify_inclusion(&leaf, LeafIndex(index), TreeSize(size), &[], &root)
                    .is_err()
            );
        }
    }
    // A one-leaf tree: the root is the leaf hash and the proof is empty.
    let h = merkle::leaf_hash(b"data");
    assert_eq!(
        merkle::verify_inclusion(&h, LeafIndex(0), TreeSize(1), &[], &h),
        Ok(())
    );
    assert_eq!(
        merkle::verify_inclusion(&h, LeafIndex(1), TreeSize(1), &[], &h),
        Err(VerifyError::IndexOutOfRange {
            index: LeafIndex(1),
            size: TreeSize(1)
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Cross-check against ct-merkle.

fn to_ct(h: &Hash) -> ct_merkle::digest::Output<Sha256> {
    (*h.as_bytes()).into()
}

fn ct_root(h: &Hash, size: u64) -> RootHash<Sha256> {
    RootHash::new(to_ct(h), size)
}

fn from_ct_bytes(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks(32)
        .map(|c| Hash::from_slice(c).unwrap())
        .collect()
}

fn leaf_data(i: u64) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

/// Grows both trees leaf by leaf; at each size in `check` compares the root and, for the
/// indices and old sizes chosen by `pick`, every proof byte for byte, and verifies each
/// implementation's proofs with the other.
fn cross_check(max: u64, check: impl Fn(u64) -> bool, pick: impl Fn(u64) -> Vec<u64>) {
    let mut ours = MemoryTree::new();
    let mut theirs = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    for i in 0..max {
        ours.push_data(&leaf_data(i)).unwrap();
        theirs.push(leaf_data(i));
        let n = i + 1;
        if !check(n) {
            continue;
        }
        let root = merkle::root(TreeSize(n), &ours).unwrap();
        assert_eq!(root, ours.root());
        assert_eq!(
            theirs.root().as_bytes().as_slice(),
            root.as_bytes(),
            "root({n})"
        );
        let their_root = ct_root(&root, n);
        for k in pick(n) {
            // Inclusion of leaf k (k < n).
            let index = k % n;
            let proof = merkle::inclusion_proof(LeafIndex(index), TreeSize(n), &ours).unwrap();
            let theirs_proof = theirs.prove_inclusion(index as usize);
            assert_eq!(
                proof,
                from_ct_bytes(theirs_proof.as_bytes()),
                "inclusion({index}, {n})"
            );
            let leaf = merkle::leaf_hash(&leaf_data(index));
            merkle::verify_inclusion(&leaf, LeafIndex(index), TreeSize(n), &proof, &root).unwrap();
            let as_ct: Vec<_> = proof.iter().map(to_ct).collect();
            their_root
                .verify_inclusion(
                    &leaf_data(index),
                    index,
                    &InclusionProof::from_digests(&as_ct),
                )
                .unwrap();
            // Consistency from old = k + 1 (1 <= old <= n).
            let old = index + 1;
            let old_root = merkle::root(TreeSize(old), &ours).unwrap();
            let proof = merkle::consistency_proof(TreeSize(old), TreeSize(n), &ours).unwrap();
            merkle::verify_consistency(TreeSize(old), TreeSize(n), &old_root, &root, &proof)
                .unwrap();
            if old < n {
                let theirs_proof = theirs.prove_consistency((n - old) as usize);
                assert_eq!(
                    proof,
                    from_ct_bytes(theirs_proof.as_bytes()),
                    "consistency({old}, {n})"
                );
                let as_ct: Vec<_> = proof.iter().map(to_ct).collect();
                their_root
                    .verify_consistency(
                        &ct_root(&old_root, old),
                        &ConsistencyProof::from_digests(&as_ct),
                    )
                    .unwrap();
            } else {
                assert!(proof.is_empty());
            }
        }
    }
}

#[test]
fn matches_ct_merkle_for_every_proof_up_to_160_leaves() {
    cross_check(160, |_| true, |n| (0..n).collect());
}

#[test]
fn matches_ct_merkle_at_larger_sizes() {
    let interesting = |n: u64| {
        n.is_power_of_two()
            || (n + 1).is_power_of_two()
            || (n - 1).is_power_of_two()
            || n.is_multiple_of(997)
            || n == 5000
    };
    let pick = |n: u64| {
        let mut ks = vec![0, 1, n / 3, n / 2, n.saturating_sub(2), n - 1];
        ks.extend((0..24).map(|j| j * 7919 % n));
        ks
    };
    cross_check(5000, interesting, pick);
}

// ---------------------------------------------------------------------------------------------
// Properties.

fn tree_of(size: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..size {
        t.push_data(&leaf_data(i)).unwrap();
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn append_prove_verify(
        size in 1u64..2000,
        index in any::<prop::sample::Index>(),
        old in any::<prop::sample::Index>(),
        element in any::<prop::sample::Index>(),
        byte in 0usize..32,
        bit in 0u8..8,
    ) {
        let tree = tree_of(size);
        let root = tree.root();
        prop_assert_eq!(merkle::root(TreeSize(size), &tree).unwrap(), root);
        prop_assert_eq!(Appender::restore(TreeSize(size), &tree).unwrap().root(), root);

        // Inclusion.
        let index = index.index(size as usize) as u64;
        let leaf = merkle::leaf_hash(&leaf_data(index));
        let proof = merkle::inclusion_proof(LeafIndex(index), TreeSize(size), &tree).unwrap();
        prop_assert!(merkle::verify_inclusion(&leaf, LeafIndex(index), TreeSize(size), &proof, &root).is_ok());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let e = element.index(bad.len());
            bad[e] = flip(&bad[e], byte, bit);
            prop_assert!(merkle::verify_inclusion(&leaf, LeafIndex(index), TreeSize(size), &bad, &root).is_err());
        }
        for wrong in [index + 1, index ^ 1, index.wrapping_sub(1)] {
            if wrong != index {
                prop_assert!(merkle::verify_inclusion(&leaf, LeafIndex(wrong), TreeSize(size), &proof, &root).is_err());
            }
        }
        // (A wrong *size* is not always detected by the path alone: the proof of leaf 0 in a
        // tree of 3 has the same shape as in a tree of 4. The root, signed together with its
        // size in a checkpoint, is what commits to the size.)
        prop_assert!(merkle::verify_inclusion(&flip(&leaf, byte, bit), LeafIndex(index), TreeSize(size), &proof, &root).is_err());

        // Consistency from old (1 <= old <= size).
        let old = old.index(size as usize) as u64 + 1;
        let old_root = merkle::root(TreeSize(old), &tree).unwrap();
        let proof = merkle::consistency_proof(TreeSize(old), TreeSize(size), &tree).unwrap();
        prop_assert!(merkle::verify_consistency(TreeSize(old), TreeSize(size), &old_root, &root, &proof).is_ok());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let e = element.index(bad.len());
            bad[e] = flip(&bad[e], byte, bit);
            prop_assert!(merkle::verify_consistency(TreeSize(old), TreeSize(size), &old_root, &root, &bad).is_err());
            prop_assert!(merkle::verify_consistency(TreeSize(old), TreeSize(size), &flip(&old_root, byte, bit), &root, &proof).is_err());
            prop_assert!(merkle::verify_consistency(TreeSize(old), TreeSize(size), &old_root, &flip(&root, byte, bit), &proof).is_err());
            prop_assert!(merkle::verify_consistency(TreeSize(old + 1), TreeSize(size), &old_root, &root, &proof).is_err());
            prop_assert!(merkle::verify_consistency(TreeSize(old - 1), TreeSize(size), &old_root, &root, &proof).is_err());
        }

        // Restoring the appender at `old` and appending the rest reproduces every stored node.
        let mut a = Appender::restore(TreeSize(old), &tree).unwrap();
        for i in old..size {
            for (level, idx, hash) in a.append(merkle::leaf_hash(&leaf_data(i))).unwrap() {
                prop_assert_eq!(tree.node(level, idx).unwrap(), hash);
            }
        }
        prop_assert_eq!(a.root(), root);
        prop_assert_eq!(a.size(), TreeSize(size));
    }
}

// ---------------------------------------------------------------------------------------------
// Read counts.

/// A reader that makes up a hash for any node and counts what it is asked.
#[derive(Default)]
struct Counting {
    batches: Cell<usize>,
    reads: Cell<usize>,
}

impl NodeReader for Counting {
    type Error = std::convert::Infallible;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        self.reads.set(self.reads.get() + 1);
        let mut id = vec![level];
        id.extend_from_slice(&index.to_be_bytes());
        Ok(merkle::leaf_hash(&id))
    }

    fn nodes(&self, ids: &[(u8, u64)]) -> Result<Vec<Hash>, Self::Error> {
        self.batches.set(self.batches.get() + 1);
        ids.iter().map(|&(l, i)| self.node(l, i)).collect()
    }
}

impl Counting {
    fn take(&self) -> (usize, usize) {
        (self.batches.replace(0), self.reads.replace(0))
    }
}

fn log2_ceil(n: u64) -> usize {
    (64 - (n - 1).leading_zeros()) as usize
}

#[test]
fn proofs_read_logarithmically_many_nodes_in_one_batch() {
    let reader = Counting::default();
    for size in [
        1_000_000u64,
        1_000_003,
        (1 << 20) - 1,
        1 << 20,
        (1 << 20) + 1,
        (1 << 40) + 12_345,
        u64::MAX - 1,
        u64::MAX,
    ] {
        let bound = 2 * log2_ceil(size) + 1;
        for index in [0, 1, size / 3, size / 2, size - 2, size - 1] {
            let proof = merkle::inclusion_proof(LeafIndex(index), TreeSize(size), &reader).unwrap();
            let (batches, reads) = reader.take();
            assert_eq!(batches, 1);
            assert!(
                reads <= bound,
                "inclusion({index}, {size}): {reads} reads > {bound}"
            );
            assert!(proof.len() <= log2_ceil(size));
            // The verifier accepts the shape (the synthetic hashes are not a real tree).
            assert!(
                merkle::root_from_inclusion_proof(
                    &proof[0],
                    LeafIndex(index),
                    TreeSize(size),
                    &proof
                )
                .is_ok()
            );

            let old = index + 1;
            let proof = merkle::consistency_proof(TreeSize(old), TreeSize(size), &reader).unwrap();
            let (batches, reads) = reader.take();
            assert!(batches <= 1);
            assert!(
                reads <= bound,
                "consistency({old}, {size}): {reads} reads > {bound}"
            );
            assert!(proof.len() <= log2_ceil(size) + 1);
        }
        merkle::root(TreeSize(size), &reader).unwrap();
        let (_, reads) = reader.take();
        assert_eq!(reads, size.count_ones() as usize);
        let restored = Appender::restore(TreeSize(size), &reader).unwrap();
        let (batches, reads) = reader.take();
        assert_eq!((batches, reads), (1, size.count_ones() as usize));
        assert_eq!(restored.edge().len(), size.count_ones() as usize);
    }
}

#[test]
fn appending_writes_about_two_nodes_per_leaf() {
    let mut a = Appender::new();
    let n = 10_000u64;
    let written: usize = (0..n)
        .map(|i| a.append(merkle::leaf_hash(&i.to_be_bytes())).unwrap().len())
        .sum();
    assert!(written < 2 * n as usize, "{written} nodes for {n} leaves");
    assert!(written >= 2 * n as usize - 64);
}

#[test]
fn reader_contract_violations_are_errors() {
    struct Short;
    impl NodeReader for Short {
        type Error = std::convert::Infallible;
        fn node(&self, _: u8, _: u64) -> Result<Hash, Self::Error> {
            Ok(merkle::empty_root())
        }
        fn nodes(&self, _: &[(u8, u64)]) -> Result<Vec<Hash>, Self::Error> {
            Ok(Vec::new())
        }
    }
    assert!(matches!(
        merkle::inclusion_proof(LeafIndex(3), TreeSize(9), &Short),
        Err(ProofError::ReaderMismatch { got: 0, .. })
    ));
    assert!(matches!(
        Appender::restore(TreeSize(9), &Short),
        Err(ProofError::ReaderMismatch {
            expected: 2,
            got: 0
        })
    ));
}

/// Exhaustively up to 200 leaves: a valid proof never verifies for a neighbouring leaf index or
/// old tree size. (A wrong *new* size can: see `append_prove_verify`.)
#[test]
fn wrong_index_or_old_size_never_verifies() {
    let tree = tree_of(200);
    let roots: Vec<Hash> = (0..=200)
        .map(|n| merkle::root(TreeSize(n), &tree).unwrap())
        .collect();
    let mut bad = Vec::new();
    for new in 1..=200u64 {
        for old in 1..new {
            let p = merkle::consistency_proof(TreeSize(old), TreeSize(new), &tree).unwrap();
            for w in [old - 1, old + 1] {
                if merkle::verify_consistency(
                    TreeSize(w),
                    TreeSize(new),
                    &roots[old as usize],
                    &roots[new as usize],
                    &p,
                )
                .is_ok()
                {
                    bad.push(format!("consistency old {old} as {w}, new {new}"));
                }
            }
        }
        for index in 0..new {
            let p = merkle::inclusion_proof(LeafIndex(index), TreeSize(new), &tree).unwrap();
            let leaf = merkle::leaf_hash(&leaf_data(index));
            for w in [index + 1, index ^ 1, index.wrapping_sub(1)] {
                if w != index
                    && merkle::verify_inclusion(
                        &leaf,
                        LeafIndex(w),
                        TreeSize(new),
                        &p,
                        &roots[new as usize],
                    )
                    .is_ok()
                {
                    bad.push(format!("inclusion {index} as {w} in {new}"));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}
