//! Fuzz target for `signet_core::jws` and `signet_core::statement`: arbitrary text never
//! panics the compact-JWS parser or the statement verifiers, with no key (the `kid` must be
//! a `did:key`) or with fixed test keys; whatever parses re-parses to the same JWS, and
//! whatever verifies is canonical and names its signer.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use signet_core::alg::{Algorithm, PublicKey, SigningKey};
use signet_core::canon::to_canonical_vec_of;
use signet_core::jws::Jws;
use signet_core::statement::{self, Intent, Receipt, Statement, Verified};

/// TEST FIXTURE keys (the seeds of `testdata/signet`, signer 1 and gateway 2): public,
/// never to be used for anything real. Built once: ML-DSA key generation is slow.
static KEYS: LazyLock<Vec<PublicKey>> = LazyLock::new(|| {
    let mut keys = Vec::new();
    for alg in Algorithm::ALL {
        for who in [1u8, 2] {
            let seed: Vec<u8> = (0..alg.seed_len())
                .map(|i| who.wrapping_mul(31).wrapping_add(i as u8))
                .collect();
            match SigningKey::from_seed(alg, &seed) {
                Ok(k) => keys.push(k.public_key()),
                Err(err) => panic!("fixture key for {alg}: {err}"),
            }
        }
    }
    keys
});

fn check<T: Statement>(jws: &Jws, key: Option<&PublicKey>) {
    let parsed = statement::verify_parsed::<T>(jws, key);
    let compact = statement::verify::<T>(jws.as_str(), key);
    assert_eq!(
        parsed.as_ref().map(|v| &v.kid).map_err(ToString::to_string),
        compact
            .as_ref()
            .map(|v| &v.kid)
            .map_err(ToString::to_string),
        "verify and verify_parsed disagree"
    );
    match parsed {
        Ok(Verified {
            statement,
            key: used,
            kid,
        }) => {
            assert_eq!(kid, jws.header().kid);
            assert_eq!(
                statement.signer(),
                kid,
                "verified statement names another signer"
            );
            assert!(
                statement::kid_names_key(&kid, &used),
                "kid does not name the key"
            );
            if let Some(k) = key {
                assert_eq!(&used, k, "verified with another key than the one given");
            }
            assert_eq!(
                to_canonical_vec_of(&statement).ok().as_deref(),
                Some(jws.payload()),
                "verified payload is not canonical"
            );
            assert!(
                jws.verify(&used).is_ok(),
                "statement verified, signature did not"
            );
        }
        Err(err) => {
            // Display and classification must not panic either.
            let _ = (err.to_string(), err.is_malformed());
        }
    }
}

fuzz_target!(|text: &str| {
    let jws = match Jws::parse(text) {
        Ok(jws) => jws,
        Err(err) => {
            let _ = (err.to_string(), err.is_malformed());
            // The verifiers must reject what the parser rejects, without panicking.
            assert!(statement::verify::<Intent>(text, None).is_err());
            assert!(statement::verify::<Receipt>(text, None).is_err());
            return;
        }
    };
    // What parsed is its own (newline-trimmed) text, and parses again to the same thing.
    assert_eq!(jws.as_str(), text.trim_end_matches(['\n', '\r']));
    match Jws::parse(jws.as_str()) {
        Ok(again) => {
            assert_eq!(again.header(), jws.header());
            assert_eq!(again.payload(), jws.payload());
        }
        Err(err) => panic!("parsed JWS rejected on re-parse: {err}"),
    }
    let _ = jws.header().to_canonical_bytes();

    check::<Intent>(&jws, None);
    check::<Receipt>(&jws, None);
    for key in KEYS.iter() {
        let _ = jws.verify(key).map_err(|e| e.to_string());
        check::<Intent>(&jws, Some(key));
        check::<Receipt>(&jws, Some(key));
    }
});
