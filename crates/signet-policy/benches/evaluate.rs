//! Policy evaluation time per call with the shipped example set (`examples/policies`):
//! `Policy::evaluate` (categories + Cedar, no I/O) for an allowed call, a blocked call
//! and an approval-required call, plus `Enforcer::decide` for an allowed call that no
//! rate limit matches (no state touched).
//!
//! Run: `cargo bench -p signet-policy --bench evaluate`.
#![expect(clippy::unwrap_used, reason = "bench")]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use signet_core::digest::Digest;
use signet_core::replay::UnixTime;
use signet_policy::cases::config_for_path;
use signet_policy::{CallRequest, Enforcer, Policy};

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies");
    let (cfg, base) = config_for_path(&dir).unwrap();
    let policy = Policy::load(&cfg, &base).unwrap();
    let now = UnixTime(1_767_225_600);
    let fs_args = json!({"path": "/srv/agent-workspace/notes/today.md", "content": "hello world"});
    let fs_annotations =
        json!({"readOnlyHint": false, "destructiveHint": true, "idempotentHint": true});
    let allowed = CallRequest {
        agent: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        server: "filesystem",
        tool: "write_file",
        arguments: &fs_args,
        annotations: Some(&fs_annotations),
        now,
    };
    let del_args =
        json!({"table": "users", "environment": "production", "where": {"id": [1, 2, 3]}});
    let blocked = CallRequest {
        tool: "delete_records",
        server: "db",
        arguments: &del_args,
        annotations: None,
        ..allowed
    };
    let deploy_args = json!({"service": "api", "environment": "production", "version": "1.2.3"});
    let approval = CallRequest {
        tool: "deploy_service",
        server: "ci",
        arguments: &deploy_args,
        annotations: None,
        ..allowed
    };
    let mut g = c.benchmark_group("policy_evaluate");
    g.bench_function("allowed_write_file", |b| {
        b.iter(|| black_box(policy.evaluate(black_box(&allowed))));
    });
    g.bench_function("blocked_prod_delete", |b| {
        b.iter(|| black_box(policy.evaluate(black_box(&blocked))));
    });
    g.bench_function("approval_required_deploy", |b| {
        b.iter(|| black_box(policy.evaluate(black_box(&approval))));
    });
    g.finish();

    let state = tempfile::tempdir().unwrap();
    let enforcer = Enforcer::open(policy.clone(), state.path()).unwrap();
    let digest = Digest::of_json(&fs_args).unwrap();
    c.bench_function("enforcer_decide_allowed_no_limit", |b| {
        b.iter(|| black_box(enforcer.decide(black_box(&allowed), &digest).unwrap()));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
