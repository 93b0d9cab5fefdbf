//! Fuzz target for `signet_core::canon`: arbitrary bytes never panic the strict parser, and
//! whatever it accepts canonicalizes to a fixed point that it accepts again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::canon::{canonicalize, parse_strict, to_canonical_vec};

fuzz_target!(|data: &[u8]| {
    let Ok(canonical) = canonicalize(data) else {
        return;
    };
    // Canonical output is accepted again and unchanged (idempotence).
    match canonicalize(&canonical) {
        Ok(again) => assert_eq!(again, canonical, "canonicalization is not idempotent"),
        Err(err) => panic!("canonical output rejected: {err}"),
    }
    // The parsed canonical text serializes back to the same bytes.
    match parse_strict(&canonical) {
        Ok(value) => assert_eq!(
            to_canonical_vec(&value).ok().as_deref(),
            Some(canonical.as_slice()),
            "parse_strict of canonical output does not round-trip"
        ),
        Err(err) => panic!("parse_strict rejected canonical output: {err}"),
    }
});
