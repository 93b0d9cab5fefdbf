//! The proxy's message interceptor: arbitrary lines from either side never panic, and
//! whatever it sends to the client (stdout of the proxy) is one line holding one valid
//! JSON-RPC message. Input: first byte picks the side of each line (`\n`-separated), so one
//! input is a whole conversation (tools/list, tools/call and their responses interleave).
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use signet_core::alg::{Algorithm, SigningKey};
use signet_core::replay::{MemoryNonceStore, UnixTime};
use signet_core::statement::Audience;
use signet_log::entry::Entry;
use signet_mcp::gateway::{AuditSink, Gateway, GatewayConfig, Verdict};
use signet_mcp::jsonrpc::Message;
use signet_mcp::pins::PinMode;

struct Counting(std::sync::atomic::AtomicU64);

impl AuditSink for Counting {
    fn append(&self, entry: &Entry) -> Result<u64, String> {
        // Every entry the interceptor makes must encode as a log leaf.
        entry.leaf_data().map_err(|e| e.to_string())?;
        Ok(self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

fn key(b: u8) -> SigningKey {
    SigningKey::from_seed(Algorithm::Ed25519, &[b; 32]).expect("test key")
}

fn to_client_ok(text: &str) {
    assert!(!text.contains('\n'), "a line to the client contains a newline");
    assert!(Message::parse(text).is_ok(), "not a JSON-RPC message to the client: {text}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut cfg = GatewayConfig::new(Audience::new("fuzz").expect("audience"));
    cfg.pin_mode = match mode % 3 {
        0 => PinMode::Warn,
        1 => PinMode::Hide,
        _ => PinMode::Block,
    };
    cfg.require_signatures = mode & 0x10 != 0;
    let gw = Gateway::new(
        cfg,
        Ok(key(1)),
        Ok(key(2)),
        Box::new(Counting(Default::default())),
        Box::new(MemoryNonceStore::new()),
        Arc::new(|| UnixTime(1_800_000_000)),
    );
    for line in rest.split(|&b| b == b'\n') {
        let Some((&side, line)) = line.split_first() else { continue };
        if side & 1 == 0 {
            match gw.on_client(line) {
                Verdict::Answer(t) => to_client_ok(&t),
                Verdict::Forward(t) => assert!(!t.contains('\n')),
                Verdict::Pass | Verdict::Drop(_) => {}
            }
        } else {
            match gw.on_server(line) {
                Verdict::Pass => {
                    let text = std::str::from_utf8(line).expect("passed a non-UTF-8 line");
                    to_client_ok(text);
                }
                Verdict::Forward(t) | Verdict::Answer(t) => to_client_ok(&t),
                Verdict::Drop(_) => {}
            }
        }
    }
    for t in gw.abandon_pending("fuzz") {
        to_client_ok(&t);
    }
});
