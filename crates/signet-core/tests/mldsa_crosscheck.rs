//! Cross-checks signet's ML-DSA-65 (RustCrypto `ml-dsa`) against an independent implementation,
//! `libcrux-ml-dsa` (formally verified, from Cryspen): same public key from the same seed,
//! byte-identical deterministic signatures (`rnd = 0^32`), and each verifies the other's.

#![expect(clippy::unwrap_used, reason = "tests")]

use libcrux_ml_dsa::ml_dsa_65::{
    self as libcrux, MLDSA65KeyPair, MLDSA65Signature, MLDSA65VerificationKey,
};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};
use signet_core::alg::{
    Algorithm, COMPOSITE_LABEL, PublicKey, SigningKey, composite_message_representative,
};

/// ML-DSA-65 signature length.
const SIG_LEN: usize = 3309;

/// Deterministic signing randomness (FIPS 204 §3.4, `rnd = {0}^32`).
const DETERMINISTIC: [u8; 32] = [0; 32];

/// Seeds: edge values and a few hash-derived ones.
fn seeds() -> Vec<[u8; 32]> {
    let mut seeds = vec![
        [0u8; 32],
        [0xff; 32],
        core::array::from_fn(|i| u8::try_from(i).unwrap()),
    ];
    for i in 0u8..5 {
        seeds.push(Sha256::digest([b"signet ml-dsa crosscheck ".as_slice(), &[i]].concat()).into());
    }
    seeds
}

fn messages() -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b"hello".to_vec(),
        (0..1000u32)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect(),
    ]
}

fn libcrux_key(seed: [u8; 32]) -> MLDSA65KeyPair {
    libcrux::generate_key_pair(seed)
}

fn libcrux_sign(keys: &MLDSA65KeyPair, msg: &[u8], ctx: &[u8]) -> Vec<u8> {
    libcrux::sign(&keys.signing_key, msg, ctx, DETERMINISTIC)
        .unwrap()
        .as_slice()
        .to_vec()
}

fn libcrux_verify(pk: &[u8], msg: &[u8], ctx: &[u8], sig: &[u8]) -> bool {
    let pk = MLDSA65VerificationKey::new(pk.try_into().unwrap());
    let Ok(sig) = <[u8; SIG_LEN]>::try_from(sig) else {
        return false;
    };
    libcrux::verify(&pk, msg, ctx, &MLDSA65Signature::new(sig)).is_ok()
}

/// Asserts that both implementations agree for one seed and message.
fn check(seed: [u8; 32], msg: &[u8]) {
    let ours = SigningKey::from_seed(Algorithm::MlDsa65, &seed).unwrap();
    let theirs = libcrux_key(seed);
    let pk = ours.public_key();
    assert_eq!(
        pk.as_bytes(),
        theirs.verification_key.as_slice(),
        "public key"
    );

    // Plain ML-DSA-65: empty context.
    let our_sig = ours.sign(msg);
    let their_sig = libcrux_sign(&theirs, msg, &[]);
    assert_eq!(our_sig.as_bytes(), their_sig.as_slice(), "signature");
    assert!(libcrux_verify(pk.as_bytes(), msg, &[], our_sig.as_bytes()));
    pk.verify(msg, &their_sig).unwrap();

    // Each rejects a modified signature and another context.
    let mut bad = their_sig.clone();
    if let Some(b) = bad.get_mut(SIG_LEN / 2) {
        *b ^= 0x10;
    }
    assert!(!libcrux_verify(pk.as_bytes(), msg, &[], &bad));
    assert!(pk.verify(msg, &bad).is_err());
    assert!(!libcrux_verify(
        pk.as_bytes(),
        msg,
        b"ctx",
        our_sig.as_bytes()
    ));
    let ctx_sig = libcrux_sign(&theirs, msg, b"ctx");
    assert!(pk.verify(msg, &ctx_sig).is_err());
}

#[test]
fn implementations_agree() {
    for seed in seeds() {
        for msg in messages() {
            check(seed, &msg);
        }
    }
}

/// The ML-DSA component of the composite is ML-DSA-65 over `M'` with the label as context.
#[test]
fn composite_ml_dsa_component_agrees() {
    let msg = b"composite message";
    let m_prime = composite_message_representative(msg);
    for (ml_seed, ed_seed) in seeds().into_iter().zip(seeds().into_iter().rev()) {
        let composite =
            SigningKey::from_seed(Algorithm::MlDsa65Ed25519, &[ml_seed, ed_seed].concat()).unwrap();
        let theirs = libcrux_key(ml_seed);
        let pk = composite.public_key();
        let ml_pk = pk.as_bytes().get(..1952).unwrap();
        assert_eq!(ml_pk, theirs.verification_key.as_slice());

        let sig = composite.sign(msg);
        let ml_sig = sig.as_bytes().get(..SIG_LEN).unwrap();
        assert_eq!(
            ml_sig,
            libcrux_sign(&theirs, &m_prime, COMPOSITE_LABEL).as_slice()
        );
        assert!(libcrux_verify(ml_pk, &m_prime, COMPOSITE_LABEL, ml_sig));
        // Not a valid plain signature over M or over M'.
        assert!(!libcrux_verify(ml_pk, msg, &[], ml_sig));
        assert!(!libcrux_verify(ml_pk, &m_prime, &[], ml_sig));
        // A composite assembled from libcrux's ML-DSA half verifies.
        let rebuilt = [
            libcrux_sign(&theirs, &m_prime, COMPOSITE_LABEL).as_slice(),
            sig.as_bytes().get(SIG_LEN..).unwrap(),
        ]
        .concat();
        pk.verify(msg, &rebuilt).unwrap();
    }
}

#[test]
fn public_key_from_libcrux_bytes_parses() {
    for seed in seeds() {
        let theirs = libcrux_key(seed);
        let pk =
            PublicKey::from_bytes(Algorithm::MlDsa65, theirs.verification_key.as_slice()).unwrap();
        let sig = libcrux_sign(&theirs, b"m", &[]);
        pk.verify(b"m", &sig).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn implementations_agree_on_random_inputs(
        seed in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        check(seed, &msg);
    }
}
