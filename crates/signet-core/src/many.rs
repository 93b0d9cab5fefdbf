//! Strict Ed25519 verification of many signatures by few keys: for every signature the same
//! answer as ed25519-dalek's `verify_strict` (what [`PublicKey::verify`] uses), computed in
//! about two thirds of the time.
//!
//! `verify_strict(A, M, (R, s))` accepts exactly when `s` is a canonical scalar, `R`
//! decompresses to a point that is not of small order, `A` is not of small order, and the
//! canonical encoding of `R' = [s]B − [k]A`, with `k = SHA-512(R ‖ A ‖ M) mod ℓ`, equals
//! the bytes of `R`. [`Ed25519Many`] decides the same conditions in another order:
//!
//! - it never decompresses `R`: when `encode(R') = R` the bytes of `R` are the canonical
//!   encoding of the point `R'`, so they decompress to `R'`, and `R` is of small order
//!   exactly when `R'` is; when `encode(R') ≠ R` both refuse. So "R decompresses and is
//!   not of small order, and `encode(R') = R`" is "`encode(R') = R` and `R'` is not of
//!   small order" (a cheap check: three doublings);
//! - it encodes the `R'` of many signatures together (`compress_batch_alloc`: one field
//!   inversion for all of them instead of one each);
//! - for a key that signs many of the queued signatures it computes `[k](−A)` with a
//!   precomputed table of multiples of `−A` (and `[s]B` with one of `B`) instead of the
//!   double-scalar multiplication. The group element is the same; only the way to it
//!   differs.
//!
//! This is not batch verification: every signature's own equation is checked exactly, one
//! by one, with no random linear combination (which would accept, with some probability,
//! signatures whose `R` has a small-order component; see `docs/spec.md` §13.5). The tests
//! compare it with `verify_strict` on valid, corrupted and adversarial signatures.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "curve points and scalars modulo ℓ: group arithmetic, which cannot overflow"
)]

use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsBasepointTableRadix32, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::BasepointTable as _;
use sha2::{Digest as _, Sha512};

use crate::alg::{Algorithm, PublicKey};

/// Signatures by one key after which the key gets its own precomputed table (building one
/// costs about as much as a hundred verifications and saves about 15 % of each).
const TABLE_AFTER: u32 = 1024;

/// Keys with tables kept at most (about 100 KB each); more keys still verify, without one.
const MAX_TABLES: usize = 64;

/// Distinct keys remembered between queues at most: when [`Ed25519Many::finish`] finds
/// more, it forgets them all (never while checks that need them are queued).
#[cfg(not(test))]
const MAX_KEYS: usize = 4096;
#[cfg(test)]
const MAX_KEYS: usize = 8;

/// A queue of strict Ed25519 verifications, answered together by [`Ed25519Many::finish`].
///
/// ```
/// # use signet_core::alg::{Algorithm, SigningKey};
/// # use signet_core::many::Ed25519Many;
/// let key = SigningKey::from_seed(Algorithm::Ed25519, &[7; 32]).unwrap();
/// let sig = key.sign(b"hello");
/// let mut many = Ed25519Many::new();
/// let good = many.push(&key.public_key(), b"hello", sig.as_bytes()).unwrap();
/// let bad = many.push(&key.public_key(), b"hellO", sig.as_bytes()).unwrap();
/// let results = many.finish();
/// assert!(results[good] && !results[bad]);
/// ```
#[derive(Default)]
pub struct Ed25519Many {
    keys: HashMap<[u8; 32], KeyState>,
    tables: usize,
    pending: Vec<Pending>,
}

impl std::fmt::Debug for Ed25519Many {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Many")
            .field("keys", &self.keys.len())
            .field("tables", &self.tables)
            .field("pending", &self.pending.len())
            .finish()
    }
}

struct KeyState {
    minus_a: EdwardsPoint,
    small_order: bool,
    uses: u32,
    table: Option<Box<EdwardsBasepointTableRadix32>>,
}

enum Pending {
    /// Refused before any group operation (a non-canonical `s`).
    Refused,
    Check {
        key: [u8; 32],
        r: [u8; 32],
        s: Scalar,
        k: Scalar,
    },
}

/// The table of multiples of the base point, built once per process.
fn base_table() -> &'static EdwardsBasepointTableRadix32 {
    static TABLE: std::sync::OnceLock<EdwardsBasepointTableRadix32> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| EdwardsBasepointTableRadix32::create(&ED25519_BASEPOINT_POINT))
}

impl Ed25519Many {
    /// An empty queue.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue the check of `sig` on `msg` by `key`; its answer is at the returned position of
    /// [`Ed25519Many::finish`]'s result. `None` (nothing queued) when `key` is not an
    /// Ed25519 key: verify such signatures with [`PublicKey::verify`].
    pub fn push(&mut self, key: &PublicKey, msg: &[u8], sig: &[u8]) -> Option<usize> {
        if key.algorithm() != Algorithm::Ed25519 {
            return None;
        }
        let vk = key.ed25519_key()?;
        let ticket = self.pending.len();
        let (Ok(r), Ok(s)) = (
            <[u8; 32]>::try_from(sig.get(..32).unwrap_or_default()),
            <[u8; 32]>::try_from(sig.get(32..).unwrap_or_default()),
        ) else {
            self.pending.push(Pending::Refused);
            return Some(ticket);
        };
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s)) else {
            self.pending.push(Pending::Refused);
            return Some(ticket);
        };
        let a = vk.to_bytes();
        let mut h = Sha512::new();
        h.update(r);
        h.update(a);
        h.update(msg);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let state = self.keys.entry(a).or_insert_with(|| {
            let point = vk.to_edwards();
            KeyState {
                minus_a: -point,
                small_order: point.is_small_order(),
                uses: 0,
                table: None,
            }
        });
        state.uses = state.uses.saturating_add(1);
        if state.table.is_none() && state.uses >= TABLE_AFTER && self.tables < MAX_TABLES {
            state.table = Some(Box::new(EdwardsBasepointTableRadix32::create(
                &state.minus_a,
            )));
            self.tables = self.tables.saturating_add(1);
        }
        self.pending.push(Pending::Check { key: a, r, s, k });
        Some(ticket)
    }

    /// Queued checks not yet answered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True when nothing is queued.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Answer every queued check, in the order queued (position = the ticket
    /// [`Ed25519Many::push`] returned), and empty the queue. Decoded keys and their tables
    /// are kept for the next queue (all forgotten when more than 4096 keys were seen).
    pub fn finish(&mut self) -> Vec<bool> {
        let pending = std::mem::take(&mut self.pending);
        let mut points = Vec::with_capacity(pending.len());
        let mut ok = Vec::with_capacity(pending.len());
        for p in &pending {
            let (point, fine) = match p {
                Pending::Refused => (EdwardsPoint::default(), false),
                Pending::Check { key, s, k, .. } => match self.keys.get(key) {
                    Some(state) => {
                        let point = match &state.table {
                            Some(table) => table.mul_base(k) + base_table().mul_base(s),
                            None => EdwardsPoint::vartime_double_scalar_mul_basepoint(
                                k,
                                &state.minus_a,
                                s,
                            ),
                        };
                        (point, !state.small_order && !point.is_small_order())
                    }
                    // Every queued key's state stays until the queue is answered.
                    None => (EdwardsPoint::default(), false),
                },
            };
            points.push(point);
            ok.push(fine);
        }
        let encoded: Vec<CompressedEdwardsY> = EdwardsPoint::compress_batch_alloc(&points);
        if self.keys.len() > MAX_KEYS {
            self.keys.clear();
            self.tables = 0;
        }
        pending
            .iter()
            .zip(ok)
            .zip(encoded)
            .map(|((p, fine), enc)| match p {
                Pending::Refused => false,
                Pending::Check { r, .. } => fine && enc.as_bytes() == r,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    #![expect(clippy::indexing_slicing, reason = "tests")]

    use curve25519_dalek::traits::IsIdentity as _;
    use proptest::prelude::*;

    use super::*;
    use crate::alg::SigningKey;

    fn strict(key: &PublicKey, msg: &[u8], sig: &[u8]) -> bool {
        key.verify(msg, sig).is_ok()
    }

    /// The seed byte `key` used (its public key is checked to match).
    fn sk_seed(sk: &SigningKey) -> u8 {
        (0..=u8::MAX)
            .find(|b| key(*b).public_key() == sk.public_key())
            .unwrap()
    }

    fn key(b: u8) -> SigningKey {
        SigningKey::from_seed(Algorithm::Ed25519, &[b; 32]).unwrap()
    }

    /// The eight points of small order, found as `[ℓ]P` for points `P` decoded from
    /// counter-derived bytes (curve25519-dalek keeps its own table private).
    fn torsion() -> Vec<EdwardsPoint> {
        let l_minus_1 = -Scalar::ONE;
        let mut found: Vec<EdwardsPoint> = vec![EdwardsPoint::default()];
        let mut i = 0_u32;
        while found.len() < 8 {
            let mut b = [0_u8; 32];
            b[..4].copy_from_slice(&i.to_le_bytes());
            i += 1;
            let Some(p) = CompressedEdwardsY(b).decompress() else {
                continue;
            };
            // [ℓ]P = [ℓ−1]P + P: the small-order component of P.
            let t = p * l_minus_1 + p;
            // Add all multiples of t, so the group found is closed.
            let mut m = t;
            for _ in 0..8 {
                if !found.contains(&m) {
                    found.push(m);
                }
                m += t;
            }
        }
        assert!(found.iter().all(EdwardsPoint::is_small_order));
        assert!(found[0].is_identity());
        found
    }

    /// A signature by `sk` on `msg` made with nonce point `R = [r]B + t` (a signer who knows
    /// the secret scalar can add any small-order `t`).
    fn sign_with_torsion(sk: &SigningKey, seed: u8, msg: &[u8], t: EdwardsPoint) -> Vec<u8> {
        let secret = ed25519_dalek::SigningKey::from_bytes(&[sk_seed(sk); 32]).to_scalar();
        let a = sk.public_key().as_bytes().to_vec();
        let r = Scalar::from_bytes_mod_order_wide(&[seed; 64]);
        let big_r = (EdwardsPoint::mul_base(&r) + t).compress();
        let mut h = Sha512::new();
        h.update(big_r.as_bytes());
        h.update(&a);
        h.update(msg);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let s = r + k * secret;
        let mut sig = big_r.as_bytes().to_vec();
        sig.extend_from_slice(s.as_bytes());
        sig
    }

    /// Checks every case both ways; returns how many were accepted.
    fn check_same(cases: &[(PublicKey, Vec<u8>, Vec<u8>)], many: &mut Ed25519Many) -> usize {
        let tickets: Vec<usize> = cases
            .iter()
            .map(|(k, m, s)| many.push(k, m, s).unwrap())
            .collect();
        let got = many.finish();
        assert_eq!(got.len(), cases.len());
        for (i, (k, m, s)) in cases.iter().enumerate() {
            assert_eq!(
                got[tickets[i]],
                strict(k, m, s),
                "case {i}: sig {}",
                hex::encode(s)
            );
        }
        got.iter().filter(|x| **x).count()
    }

    #[test]
    fn agrees_with_verify_strict_on_adversarial_signatures() {
        let torsion = torsion();
        let sk = key(3);
        let pk = sk.public_key();
        let msg = b"tools/call write_file".to_vec();
        let mut cases = Vec::new();
        let good = sk.sign(&msg).as_bytes().to_vec();
        cases.push((pk.clone(), msg.clone(), good.clone()));
        // R with every small-order component: strict refuses all but t = identity.
        for (i, t) in torsion.iter().enumerate() {
            let sig = sign_with_torsion(&sk, u8::try_from(i + 1).unwrap(), &msg, *t);
            cases.push((pk.clone(), msg.clone(), sig));
        }
        // r = 0 and no torsion: R is the identity and the equation holds; only the
        // small-order check refuses it.
        cases.push((
            pk.clone(),
            msg.clone(),
            sign_with_torsion(&sk, 0, &msg, torsion[0]),
        ));
        // R itself of small order (every encoding of the eight points), any s.
        for t in &torsion {
            let mut sig = t.compress().as_bytes().to_vec();
            sig.extend_from_slice(&good[32..]);
            cases.push((pk.clone(), msg.clone(), sig.clone()));
            sig[32..].copy_from_slice(&[0; 32]);
            cases.push((pk.clone(), msg.clone(), sig));
        }
        // Non-canonical s: s + ℓ.
        let s = Scalar::from_canonical_bytes(good[32..].try_into().unwrap()).unwrap();
        let l_le: [u8; 32] = {
            // ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
            let mut l = [0_u8; 32];
            l[..16].copy_from_slice(&0x14de_f9de_a2f7_9cd6_5812_631a_5cf5_d3ed_u128.to_le_bytes());
            l[31] = 0x10;
            l
        };
        let mut sum = [0_u8; 32];
        let mut carry = 0_u16;
        for i in 0..32 {
            let v = u16::from(s.as_bytes()[i]) + u16::from(l_le[i]) + carry;
            sum[i] = (v & 0xff) as u8;
            carry = v >> 8;
        }
        let mut sig = good[..32].to_vec();
        sig.extend_from_slice(&sum);
        cases.push((pk.clone(), msg.clone(), sig));
        // Non-canonical R encoding of the right point: y + p for small y is not reachable
        // for a random R, so use the sign bit on x = 0 (y = 1 is the identity: small order),
        // and a flipped sign bit (the negated point).
        let mut sig = good.clone();
        sig[31] ^= 0x80;
        cases.push((pk.clone(), msg.clone(), sig));
        // Wrong lengths.
        cases.push((pk.clone(), msg.clone(), good[..63].to_vec()));
        // Another key, another message.
        cases.push((key(4).public_key(), msg.clone(), good.clone()));
        cases.push((pk.clone(), b"tools/call read_file".to_vec(), good.clone()));
        // Exactly two pass: the good one and the one with the identity as torsion.
        assert_eq!(check_same(&cases, &mut Ed25519Many::new()), 2);
    }

    #[test]
    fn tables_give_the_same_answers() {
        // Enough signatures by one key for it to get its table, some of them corrupted.
        let sk = key(9);
        let pk = sk.public_key();
        let torsion = torsion();
        let n = usize::try_from(TABLE_AFTER).unwrap() + 200;
        let mut cases = Vec::with_capacity(n);
        for i in 0..n {
            let msg = format!("message {i}").into_bytes();
            let mut sig = if i % 97 == 5 {
                sign_with_torsion(&sk, 1, &msg, torsion[i % 8])
            } else {
                sk.sign(&msg).as_bytes().to_vec()
            };
            if i % 13 == 0 {
                sig[i % 64] ^= 1 << (i % 8);
            }
            cases.push((pk.clone(), msg, sig));
        }
        let mut many = Ed25519Many::new();
        let accepted = check_same(&cases, &mut many);
        // Corrupted (every 13th) and torsion-carrying (every 97th) ones are refused.
        assert!(
            accepted > n * 3 / 4 && accepted < n - n / 13,
            "{accepted} of {n}"
        );
        let a: [u8; 32] = pk.as_bytes().try_into().unwrap();
        assert!(many.keys[&a].table.is_some());
        // Again, with the table from the start.
        assert_eq!(check_same(&cases, &mut many), accepted);
    }

    #[test]
    fn many_more_keys_than_remembered_still_verify() {
        // More distinct keys in one queue than are remembered between queues, twice over.
        let mut many = Ed25519Many::new();
        for round in 0..2_u8 {
            let cases: Vec<_> = (0..u8::try_from(MAX_KEYS * 3).unwrap())
                .map(|b| {
                    let sk = key(b.wrapping_add(round));
                    let msg = vec![b, round];
                    let mut sig = sk.sign(&msg).as_bytes().to_vec();
                    if b % 5 == 0 {
                        sig[10] ^= 4;
                    }
                    (sk.public_key(), msg, sig)
                })
                .collect();
            let accepted = check_same(&cases, &mut many);
            assert_eq!(accepted, cases.len() - cases.len().div_ceil(5));
            assert!(many.keys.is_empty(), "forgotten after the queue");
        }
    }

    #[test]
    fn other_algorithms_are_not_queued() {
        let ml = SigningKey::from_seed(Algorithm::MlDsa65, &[1; 32]).unwrap();
        let sig = ml.sign(b"m");
        assert_eq!(
            Ed25519Many::new().push(&ml.public_key(), b"m", sig.as_bytes()),
            None
        );
    }

    proptest! {
        #[test]
        fn random_corruptions_agree(seed in any::<u8>(), msg in proptest::collection::vec(any::<u8>(), 0..200),
                                    flips in proptest::collection::vec((0_usize..64, 0_u8..8), 0..3)) {
            let sk = key(seed);
            let mut sig = sk.sign(&msg).as_bytes().to_vec();
            for (i, b) in flips {
                sig[i] ^= 1 << b;
            }
            let pk = sk.public_key();
            let mut many = Ed25519Many::new();
            let t = many.push(&pk, &msg, &sig).unwrap();
            prop_assert_eq!(many.finish()[t], strict(&pk, &msg, &sig));
        }
    }
}
