//! Fuzz target for `signet_tsa`: arbitrary bytes never panic the TimeStampReq parser, the
//! token / response classifiers or the offline verifier (given a fixed test trust anchor);
//! a request that parses re-encodes to bytes that parse to the same request, and a token
//! that verifies is for the imprint and nonce it was checked against.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use signet_tsa::{Imprint, Kind, Request, TrustAnchors, kind_of, token_from_response, token_of};

/// TEST FIXTURE: the throw-away root the seed tokens chain to (see fixtures/README.md).
static ANCHORS: LazyLock<TrustAnchors> = LazyLock::new(|| {
    match TrustAnchors::from_pem(include_bytes!("../fixtures/tsa-root.TEST-FIXTURE.pem")) {
        Ok(a) => a,
        Err(e) => panic!("fixture anchor: {e}"),
    }
});
static IMPRINT: LazyLock<Imprint> =
    LazyLock::new(|| Imprint::of(include_bytes!("../fixtures/tsa-data.txt")));
static REQUEST: LazyLock<Request> = LazyLock::new(|| {
    match Request::from_der(include_bytes!("../fixtures/tsa-request.der")) {
        Ok(r) => r,
        Err(e) => panic!("fixture request: {e}"),
    }
});

fuzz_target!(|data: &[u8]| {
    match Request::from_der(data) {
        Ok(req) => match req.to_der() {
            Ok(der) => match Request::from_der(&der) {
                Ok(again) => assert_eq!(again, req, "request re-encoding parses differently"),
                Err(e) => panic!("re-encoded request rejected: {e}"),
            },
            Err(e) => panic!("parsed request cannot be encoded: {e}"),
        },
        Err(e) => {
            let _ = e.to_string();
        }
    }

    let kind = kind_of(data);
    let token = token_of(data);
    match (&kind, &token) {
        (Ok(Kind::Token), Ok(t)) => assert_eq!(t.as_slice(), data, "a bare token is itself"),
        (Err(_), Ok(_)) => panic!("token_of accepted what kind_of rejects"),
        _ => {}
    }
    if let Ok(t) = &token {
        for nonce in [None, Some(REQUEST.nonce)] {
            match signet_tsa::verify_token(t, &IMPRINT, nonce, &ANCHORS) {
                Ok(ts) => assert_eq!(ts.imprint, *IMPRINT, "verified for another imprint"),
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
    }
    if let Ok(t) = token_from_response(data) {
        let _ = kind_of(&t);
    }
    match signet_tsa::verify_response(data, &REQUEST, &ANCHORS) {
        Ok(ts) => assert_eq!(ts.imprint, REQUEST.imprint, "verified for another imprint"),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
