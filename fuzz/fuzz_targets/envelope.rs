//! Fuzz target for `signet_core::envelope`: arbitrary bytes never panic the strict envelope
//! and tool-call parsers, nor envelope verification (key from the envelope's `signer`
//! did:key); whatever verifies matches the call it carries.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::did::Did;
use signet_core::envelope::{
    self, arguments_digest, format_time, parse_envelope, parse_tool_call, verify_envelope,
};

fuzz_target!(|data: &[u8]| {
    match parse_tool_call(data) {
        Ok((call, _rpc_id)) => {
            // A parsed call's arguments always canonicalize (they came from strict JSON).
            if let Err(err) = arguments_digest(&call) {
                panic!("arguments of a parsed tool call do not digest: {err}");
            }
        }
        Err(err) => {
            let _ = (err.to_string(), err.is_malformed());
        }
    }

    let env = match parse_envelope(data) {
        Ok(env) => env,
        Err(err) => {
            let _ = (err.to_string(), err.is_malformed());
            return;
        }
    };
    // `parse_time` never panics on the readable timestamp copy.
    let _ = envelope::parse_time(&env.signet.timestamp).map_err(|e| e.to_string());
    match verify_envelope(&env, None) {
        Ok(verified) => {
            let intent = &verified.statement;
            assert_eq!(
                intent.tool, env.tool_call.name,
                "verified envelope: tool differs"
            );
            assert_eq!(
                arguments_digest(&env.tool_call).ok().as_ref(),
                Some(&intent.args),
                "verified envelope: arguments differ"
            );
            assert_eq!(
                intent.nonce, env.signet.nonce,
                "verified envelope: nonce differs"
            );
            assert_eq!(
                format_time(intent.iat).ok().as_deref(),
                Some(env.signet.timestamp.as_str()),
                "verified envelope: timestamp differs"
            );
            match env.signet.signer.parse::<Did>() {
                Ok(did) => {
                    assert_eq!(did.public_key(), &verified.key, "verified with another key");
                    // Verifying again with that key given explicitly agrees.
                    assert!(verify_envelope(&env, Some(&verified.key)).is_ok());
                }
                Err(err) => panic!("verified envelope has a bad signer: {err}"),
            }
        }
        Err(err) => {
            let _ = (err.to_string(), err.is_malformed());
        }
    }
});
