//! Fuzz target for `signet_core::did`: arbitrary text never panics the `did:key` and key-id
//! parsers; what parses is already the canonical text (Display round-trips exactly) and
//! re-parses to an equal value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::did::{Did, KeyId, kid_for};
use signet_core::statement::kid_names_key;

fuzz_target!(|text: &str| {
    match text.parse::<Did>() {
        Ok(did) => {
            let shown = did.to_string();
            assert_eq!(shown, text, "Did Display does not round-trip");
            assert_eq!(did.as_str(), text);
            match shown.parse::<Did>() {
                Ok(again) => assert_eq!(again, did, "Did re-parse differs"),
                Err(err) => panic!("Did Display output rejected: {err}"),
            }
            let key = did.public_key();
            assert_eq!(
                Did::from_public_key(key),
                did,
                "Did is not the did:key of its key"
            );
            let id = did.key_id();
            match id.to_string().parse::<KeyId>() {
                Ok(again) => assert_eq!(again, id, "KeyId of a Did does not re-parse equal"),
                Err(err) => panic!("KeyId of a Did rejected: {err}"),
            }
            assert!(kid_names_key(text, key));
            assert!(kid_names_key(id.as_str(), key));
            assert!(kid_names_key(&kid_for(key), key));
            let _ = format!("{did:?} {key:?}");
        }
        Err(err) => {
            let _ = err.to_string();
        }
    }
    match text.parse::<KeyId>() {
        Ok(id) => {
            assert_eq!(id.to_string(), text, "KeyId Display does not round-trip");
            match id.to_string().parse::<KeyId>() {
                Ok(again) => assert_eq!(again, id, "KeyId re-parse differs"),
                Err(err) => panic!("KeyId Display output rejected: {err}"),
            }
        }
        Err(err) => {
            let _ = err.to_string();
        }
    }
});
