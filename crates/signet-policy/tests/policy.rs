//! Integration tests: loading and validation errors, evaluation semantics, the shipped
//! example policy set (every rule covered), rate limits and approvals through the
//! `Enforcer`, persistence across restarts.
#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]
#![expect(clippy::panic, reason = "tests")]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use signet_core::digest::Digest;
use signet_core::replay::UnixTime;
use signet_core::statement::Effect;
use signet_policy::cases::{CasesFile, config_for_path, run_cases};
use signet_policy::{
    Approvals, CallRequest, CategoryRule, DefaultEffect, Enforcer, Policy, PolicyConfig,
    PolicyError, RateKey, RateLimit,
};

const NOW: UnixTime = UnixTime(1_767_225_600); // 2026-01-01T00:00:00Z, a Thursday

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies")
}

fn examples() -> Policy {
    let (cfg, base) = config_for_path(&examples_dir()).unwrap();
    Policy::load(&cfg, &base).unwrap()
}

fn call<'a>(server: &'a str, tool: &'a str, args: &'a Value) -> CallRequest<'a> {
    CallRequest {
        agent: "did:key:z6MkAgent",
        server,
        tool,
        arguments: args,
        annotations: None,
        now: NOW,
    }
}

/// A policy from inline `.cedar` texts (written to a temp dir) and a config.
fn policy_from(files: &[(&str, &str)], mut cfg: PolicyConfig) -> Result<Policy, PolicyError> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    if cfg.files.is_empty() && !files.is_empty() {
        cfg.files = vec![PathBuf::from(".")];
    }
    Policy::load(&cfg, dir.path())
}

fn cfg() -> PolicyConfig {
    PolicyConfig {
        files: vec![PathBuf::from(".")],
        ..PolicyConfig::default()
    }
}

fn invalid(e: PolicyError) -> (String, usize, usize, String) {
    match e {
        PolicyError::Invalid {
            file,
            line,
            column,
            reason,
        } => (file, line, column, reason),
        other => panic!("expected Invalid, got {other}"),
    }
}

// ---------------------------------------------------------------- examples

#[test]
fn example_cases_all_pass() {
    let file = CasesFile::load(&examples_dir().join("tests.toml")).unwrap();
    let results = run_cases(&examples(), &file.cases, NOW);
    assert!(results.len() >= 14);
    for r in &results {
        assert!(
            r.passed,
            "{}: expected {}, got {}",
            r.name, r.expected, r.got.reason
        );
    }
}

/// Removing any one example rule makes at least one case fail: every rule is covered.
#[test]
fn every_example_rule_is_covered_by_a_case() {
    let file = CasesFile::load(&examples_dir().join("tests.toml")).unwrap();
    let (cfg, base) = config_for_path(&examples_dir()).unwrap();
    let cedar: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cedar"))
        .collect();
    assert_eq!(cedar.len(), 4);
    for removed in &cedar {
        let mut c = cfg.clone();
        c.files = cedar.iter().filter(|p| p != &removed).cloned().collect();
        let p = Policy::load(&c, &base).unwrap();
        let failing = run_cases(&p, &file.cases, NOW)
            .iter()
            .filter(|r| !r.passed)
            .count();
        assert!(failing > 0, "no case fails without {}", removed.display());
    }
}

#[test]
fn example_categories_and_reason_text() {
    let p = examples();
    let args = json!({"environment": "production", "table": "users"});
    let e = p.evaluate(&call("db", "delete_records", &args));
    assert_eq!(e.decision.effect, Effect::Deny);
    assert_eq!(e.decision.rules, vec!["no-prod-deletions"]);
    assert_eq!(e.decision.policy, Some(p.digest()));
    assert_eq!(
        e.reason,
        "BLOCKED by no-prod-deletions: deleting production data is forbidden"
    );
    assert_eq!(e.categories, vec!["data:delete", "data:delete:production"]);
}

#[test]
fn example_rate_limit_is_enforced_and_survives_restart() {
    let state = tempfile::tempdir().unwrap();
    let args = json!({"command": "ls"});
    let digest = Digest::of_json(&args).unwrap();
    let at = |t: i64| CallRequest {
        now: UnixTime(NOW.0 + t),
        ..call("shell", "run_command", &args)
    };
    {
        let enforcer = Enforcer::open(examples(), state.path()).unwrap();
        for i in 0..30 {
            let d = enforcer.decide(&at(i), &digest).unwrap();
            assert_eq!(d.evaluation.decision.effect, Effect::Allow, "call {i}");
        }
        let d = enforcer.decide(&at(30), &digest).unwrap();
        assert_eq!(d.evaluation.decision.effect, Effect::Deny);
        assert_eq!(d.evaluation.decision.rules, vec!["shell-rate-limit"]);
        assert!(
            d.evaluation
                .reason
                .starts_with("BLOCKED by shell-rate-limit")
        );
        // Another agent has its own budget.
        let other = CallRequest {
            agent: "did:key:z6MkOther",
            ..at(30)
        };
        assert_eq!(
            enforcer
                .decide(&other, &digest)
                .unwrap()
                .evaluation
                .decision
                .effect,
            Effect::Allow
        );
        // A tool outside the category is not limited.
        let read = json!({"path": "/x"});
        let r = CallRequest {
            now: UnixTime(NOW.0 + 30),
            ..call("fs", "read_file", &read)
        };
        assert_eq!(
            enforcer
                .decide(&r, &digest)
                .unwrap()
                .evaluation
                .decision
                .effect,
            Effect::Allow
        );
    }
    // Restart: the budget is still spent within the window...
    let enforcer = Enforcer::open(examples(), state.path()).unwrap();
    assert_eq!(
        enforcer
            .decide(&at(59), &digest)
            .unwrap()
            .evaluation
            .decision
            .effect,
        Effect::Deny
    );
    // ...and frees up as the window slides past the first calls (t=0 leaves at t=60,
    // t=1 at t=61).
    let effect = |t| {
        enforcer
            .decide(&at(t), &digest)
            .unwrap()
            .evaluation
            .decision
            .effect
    };
    assert_eq!(effect(60), Effect::Allow);
    assert_eq!(effect(60), Effect::Deny);
    assert_eq!(effect(61), Effect::Allow);
    assert_eq!(effect(61), Effect::Deny);
}

#[test]
fn denied_calls_are_not_counted() {
    let state = tempfile::tempdir().unwrap();
    let p = policy_from(
        &[(
            "a.cedar",
            "@id(\"no-rm\") forbid(principal, action, resource) when { context.arguments has command && context.arguments.command like \"*rm*\" };",
        )],
        PolicyConfig {
            rate_limits: vec![RateLimit {
                id: "two".into(),
                max: 2,
                window_secs: 100,
                per: vec![RateKey::Tool],
                tools: vec![],
                servers: vec![],
                agents: vec![],
                categories: vec![],
            }],
            ..cfg()
        },
    )
    .unwrap();
    let e = Enforcer::open(p, state.path()).unwrap();
    let bad = json!({"command": "rm x"});
    let good = json!({"command": "ls"});
    let d = Digest::of_json(&good).unwrap();
    for _ in 0..5 {
        let r = e.decide(&call("s", "sh", &bad), &d).unwrap();
        assert_eq!(r.evaluation.decision.rules, vec!["no-rm"]);
    }
    assert_eq!(
        e.decide(&call("s", "sh", &good), &d)
            .unwrap()
            .evaluation
            .decision
            .effect,
        Effect::Allow
    );
    assert_eq!(
        e.decide(&call("s", "sh", &good), &d)
            .unwrap()
            .evaluation
            .decision
            .effect,
        Effect::Allow
    );
    let third = e.decide(&call("s", "sh", &good), &d).unwrap();
    assert_eq!(third.evaluation.decision.rules, vec!["two"]);
    // per = tool: another tool on the same server has its own budget.
    assert_eq!(
        e.decide(&call("s", "other", &good), &d)
            .unwrap()
            .evaluation
            .decision
            .effect,
        Effect::Allow
    );
}

// ---------------------------------------------------------------- approvals

#[test]
fn approval_flow_once_exactly() {
    let state = tempfile::tempdir().unwrap();
    let enforcer = Enforcer::open(examples(), state.path()).unwrap();
    let approvals = Approvals::open(state.path()).unwrap();
    let args = json!({"service": "api", "environment": "production"});
    let digest = Digest::of_json(&args).unwrap();
    let c = call("deployer", "deploy_service", &args);

    let first = enforcer.decide(&c, &digest).unwrap();
    assert_eq!(first.evaluation.decision.effect, Effect::ApprovalRequired);
    assert_eq!(
        first.evaluation.decision.rules,
        vec!["prod-deploy-needs-approval"]
    );
    assert!(first.evaluation.reason.starts_with(
        "APPROVAL REQUIRED by prod-deploy-needs-approval: production deployments need a human approval"
    ));
    let id = first.approval_id.clone().unwrap();
    assert!(id.starts_with("apr_") && id.len() == 20, "{id}");
    assert!(first.evaluation.reason.contains(&id));

    // Retrying before approval gives the same pending id, not a new one.
    let again = enforcer.decide(&c, &digest).unwrap();
    assert_eq!(again.approval_id.as_deref(), Some(id.as_str()));
    let pending = approvals.list_pending(NOW).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].tool, "deploy_service");
    assert_eq!(pending[0].arguments, args);
    assert_eq!(pending[0].args_digest, digest);
    assert_eq!(pending[0].agent, "did:key:z6MkAgent");

    let approved = approvals.approve(&id, UnixTime(NOW.0 + 10)).unwrap();
    assert_eq!(approved.state.as_str(), "approved");
    assert!(matches!(
        approvals.approve(&id, UnixTime(NOW.0 + 11)),
        Err(PolicyError::ApprovalNotPending(..))
    ));

    // A different call (other arguments) is not covered by the approval.
    let other_args = json!({"service": "db", "environment": "production"});
    let other_digest = Digest::of_json(&other_args).unwrap();
    let other = enforcer
        .decide(
            &call("deployer", "deploy_service", &other_args),
            &other_digest,
        )
        .unwrap();
    assert_eq!(other.evaluation.decision.effect, Effect::ApprovalRequired);
    assert_ne!(other.approval_id.as_deref(), Some(id.as_str()));

    // The identical call goes through once...
    let ok = enforcer.decide(&c, &digest).unwrap();
    assert_eq!(ok.evaluation.decision.effect, Effect::Allow);
    assert_eq!(
        ok.evaluation.decision.rules,
        vec!["prod-deploy-needs-approval"]
    );
    assert_eq!(ok.approval_id.as_deref(), Some(id.as_str()));
    assert!(
        ok.evaluation
            .reason
            .starts_with("ALLOWED by prod-deploy-needs-approval")
    );
    // ...and only once.
    let after = enforcer.decide(&c, &digest).unwrap();
    assert_eq!(after.evaluation.decision.effect, Effect::ApprovalRequired);
    assert_ne!(after.approval_id.as_deref(), Some(id.as_str()));
    assert_eq!(approvals.get(&id).unwrap().unwrap().state.as_str(), "used");
    assert!(matches!(
        approvals.approve("apr_nope", NOW),
        Err(PolicyError::UnknownApproval(_))
    ));
}

#[test]
fn approvals_expire() {
    let state = tempfile::tempdir().unwrap();
    let (mut cfg, base) = config_for_path(&examples_dir()).unwrap();
    cfg.approval_ttl_secs = 100;
    let enforcer = Enforcer::open(Policy::load(&cfg, &base).unwrap(), state.path()).unwrap();
    let approvals = Approvals::open(state.path()).unwrap();
    let args = json!({"environment": "prod"});
    let digest = Digest::of_json(&args).unwrap();
    let c = call("d", "deploy", &args);
    let id = enforcer.decide(&c, &digest).unwrap().approval_id.unwrap();
    // Too late to approve.
    assert!(matches!(
        approvals.approve(&id, UnixTime(NOW.0 + 100)),
        Err(PolicyError::ApprovalExpired(_))
    ));
    assert!(
        approvals
            .list_pending(UnixTime(NOW.0 + 100))
            .unwrap()
            .is_empty()
    );
    // A new request; approved in time, but used too late.
    let late = CallRequest {
        now: UnixTime(NOW.0 + 200),
        ..c
    };
    let id2 = enforcer
        .decide(&late, &digest)
        .unwrap()
        .approval_id
        .unwrap();
    assert_ne!(id, id2);
    approvals.approve(&id2, UnixTime(NOW.0 + 250)).unwrap();
    let too_late = CallRequest {
        now: UnixTime(NOW.0 + 350),
        ..c
    };
    let d = enforcer.decide(&too_late, &digest).unwrap();
    assert_eq!(d.evaluation.decision.effect, Effect::ApprovalRequired);
    // In time (approval valid for the TTL after it was given).
    let id3 = d.approval_id.unwrap();
    approvals.approve(&id3, UnixTime(NOW.0 + 360)).unwrap();
    let in_time = CallRequest {
        now: UnixTime(NOW.0 + 459),
        ..c
    };
    assert_eq!(
        enforcer
            .decide(&in_time, &digest)
            .unwrap()
            .evaluation
            .decision
            .effect,
        Effect::Allow
    );
}

#[test]
fn enforcer_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Enforcer>();
    check::<Policy>();
}

// ---------------------------------------------------------------- semantics

#[test]
fn no_policy_allows_with_no_rules() {
    let p = Policy::load(&PolicyConfig::default(), Path::new("/nonexistent")).unwrap();
    assert!(p.is_empty());
    let args = json!({});
    let e = p.evaluate(&call("s", "t", &args));
    assert_eq!(e.decision.effect, Effect::Allow);
    assert!(e.decision.rules.is_empty());
    assert_eq!(e.decision.policy, None);
    assert_eq!(e.reason, "ALLOWED");
}

#[test]
fn evaluation_errors_fail_closed() {
    // `path` is declared a String; a call passing a number makes the rule fail to
    // evaluate, and the call is denied rather than let through.
    let p = policy_from(
        &[(
            "a.cedar",
            "@id(\"tmp-only\") forbid(principal, action, resource) unless { context.arguments has path && context.arguments.path like \"/tmp/*\" };",
        )],
        cfg(),
    )
    .unwrap();
    let ok = json!({"path": "/tmp/x"});
    assert_eq!(
        p.evaluate(&call("s", "t", &ok)).decision.effect,
        Effect::Allow
    );
    let bad = json!({"path": 5});
    let e = p.evaluate(&call("s", "t", &bad));
    assert_eq!(e.decision.effect, Effect::Deny);
    assert_eq!(e.decision.rules, vec!["policy-error"]);
    assert!(
        e.reason.starts_with("BLOCKED by policy-error"),
        "{}",
        e.reason
    );
}

#[test]
fn default_deny_mode() {
    let p = policy_from(
        &[(
            "a.cedar",
            r#"
@id("reads") permit(principal, action, resource) when { context.annotations.readOnlyHint };
@id("ask") @approval("required") forbid(principal, action, resource) when { resource.name == "deploy" };
"#,
        )],
        PolicyConfig {
            default: DefaultEffect::Deny,
            ..cfg()
        },
    )
    .unwrap();
    let args = json!({});
    let ro = json!({"readOnlyHint": true});
    let read = CallRequest {
        annotations: Some(&ro),
        ..call("s", "list", &args)
    };
    let e = p.evaluate(&read);
    assert_eq!(e.decision.effect, Effect::Allow);
    assert_eq!(e.decision.rules, vec!["reads"]);
    let e = p.evaluate(&call("s", "write", &args));
    assert_eq!(e.decision.effect, Effect::Deny);
    assert_eq!(e.decision.rules, vec!["default-deny"]);
    // Approval cannot lift a default deny: there is no permit to fall back on.
    let e = p.evaluate(&call("s", "deploy", &args));
    assert_eq!(e.decision.rules, vec!["default-deny"]);
    let deploy_ro = CallRequest {
        annotations: Some(&ro),
        ..call("s", "deploy", &args)
    };
    assert_eq!(
        p.evaluate(&deploy_ro).decision.effect,
        Effect::ApprovalRequired
    );
}

#[test]
fn hard_forbid_beats_approval() {
    let p = policy_from(
        &[(
            "a.cedar",
            r#"
@id("ask") @approval("required") forbid(principal, action, resource);
@id("never") @reason("never on weekends") forbid(principal, action, resource) when { context.time.weekday >= 6 };
"#,
        )],
        cfg(),
    )
    .unwrap();
    let args = json!({});
    assert_eq!(
        p.evaluate(&call("s", "t", &args)).decision.effect,
        Effect::ApprovalRequired
    );
    // 2026-01-03 is a Saturday.
    let sat = CallRequest {
        now: UnixTime(NOW.0 + 2 * 86_400 + 3600),
        ..call("s", "t", &args)
    };
    let e = p.evaluate(&sat);
    assert_eq!(e.decision.effect, Effect::Deny);
    assert_eq!(e.reason, "BLOCKED by never: never on weekends");
}

#[test]
fn principal_resource_server_and_context_are_modelled() {
    let p = policy_from(
        &[(
            "a.cedar",
            r#"
@id("bad-agent") forbid(principal == Signet::Agent::"did:key:z6MkEvil", action, resource);
@id("prod-server") forbid(principal, action, resource in Signet::Server::"prod-db") when { resource.name like "drop_*" };
@id("nested") forbid(principal, action, resource) when { context.arguments has args && context.arguments.args.contains("--force") };
@id("lossy") forbid(principal, action, resource) when { context.lossy };
@id("destructive") forbid(principal, action, resource) when { context.annotated && context.annotations.destructiveHint && resource.server == "fs" };
@id("night") forbid(principal, action, resource) when { resource == Signet::Tool::"ops/restart" && context.time.hour < 6 };
"#,
        )],
        cfg(),
    )
    .unwrap();
    let none = json!({});
    let rules = |c: &CallRequest<'_>| p.evaluate(c).decision.rules;
    assert_eq!(
        rules(&CallRequest {
            agent: "did:key:z6MkEvil",
            ..call("s", "t", &none)
        }),
        vec!["bad-agent"]
    );
    assert_eq!(
        rules(&call("prod-db", "drop_table", &none)),
        vec!["prod-server"]
    );
    assert!(rules(&call("dev-db", "drop_table", &none)).is_empty());
    let force = json!({"args": ["-v", "--force", "-v", null]});
    assert_eq!(rules(&call("s", "t", &force)), vec!["nested"]);
    let float = json!({"amount": 2.5});
    assert_eq!(rules(&call("s", "t", &float)), vec!["lossy"]);
    let destructive = json!({"destructiveHint": true});
    let unannotated = call("fs", "rm", &none);
    assert!(
        rules(&unannotated).is_empty(),
        "defaults apply but `annotated` is false"
    );
    assert_eq!(
        rules(&CallRequest {
            annotations: Some(&destructive),
            ..call("fs", "rm", &none)
        }),
        vec!["destructive"]
    );
    assert_eq!(rules(&call("ops", "restart", &none)), vec!["night"]);
    let noon = CallRequest {
        now: UnixTime(NOW.0 + 12 * 3600),
        ..call("ops", "restart", &none)
    };
    assert!(rules(&noon).is_empty());
}

#[test]
fn categories_by_annotations_arguments_and_any_argument() {
    let p = policy_from(
        &[(
            "a.cedar",
            "@id(\"c\") forbid(principal, action, resource) when { context.categories.contains(\"x\") };",
        )],
        PolicyConfig {
            categories: vec![
                CategoryRule {
                    category: "net:exfil".into(),
                    tools: vec![],
                    servers: vec![],
                    annotations: [("openWorldHint".to_owned(), true)].into(),
                    arguments: [("request.url".to_owned(), "https://*.evil.example/*".to_owned())].into(),
                    any_argument: vec![],
                },
                CategoryRule {
                    category: "secrets".into(),
                    tools: vec![],
                    servers: vec![],
                    annotations: Default::default(),
                    arguments: Default::default(),
                    any_argument: vec!["*AKIA*".into()],
                },
                CategoryRule {
                    category: "tagged".into(),
                    tools: vec!["t*".into()],
                    servers: vec![],
                    annotations: Default::default(),
                    arguments: [("tags".to_owned(), "prod".to_owned())].into(),
                    any_argument: vec![],
                },
            ],
            ..cfg()
        },
    )
    .unwrap();
    let a = json!({"request": {"url": "https://x.evil.example/p"}, "deep": [{"k": "key AKIA123"}], "tags": ["dev", "prod"]});
    assert_eq!(
        p.evaluate(&call("s", "tool", &a)).categories,
        vec!["net:exfil", "secrets", "tagged"]
    );
    let closed = json!({"openWorldHint": false});
    let c = CallRequest {
        annotations: Some(&closed),
        ..call("s", "other", &a)
    };
    assert_eq!(p.evaluate(&c).categories, vec!["secrets"]);
}

#[test]
fn digest_covers_rules_and_config() {
    let text = "@id(\"a\") forbid(principal, action, resource) when { context.lossy };";
    let a = policy_from(&[("a.cedar", text)], cfg()).unwrap();
    let b = policy_from(&[("a.cedar", text)], cfg()).unwrap();
    assert_eq!(a.digest(), b.digest());
    let c = policy_from(&[("a.cedar", &text.replace("lossy", "annotated"))], cfg()).unwrap();
    assert_ne!(a.digest(), c.digest());
    let d = policy_from(
        &[("a.cedar", text)],
        PolicyConfig {
            approval_ttl_secs: 5,
            ..cfg()
        },
    )
    .unwrap();
    assert_ne!(a.digest(), d.digest());
    assert_ne!(a.digest(), Policy::empty().digest());
}

// ---------------------------------------------------------------- load errors

#[test]
fn syntax_error_names_file_line_and_column() {
    let e = policy_from(
        &[(
            "bad.cedar",
            "@id(\"x\")\nforbid(principal, action, resource)\nwhen { context.lossy ==  };\n",
        )],
        cfg(),
    )
    .unwrap_err();
    let (file, line, col, reason) = invalid(e);
    assert!(file.ends_with("bad.cedar"), "{file}");
    assert_eq!(line, 3, "{reason}");
    assert!(col > 1);
}

#[test]
fn schema_violation_is_refused_at_load() {
    let e = policy_from(
        &[(
            "typo.cedar",
            "@id(\"a\") forbid(principal, action, resource) when { context.lossy };\n\n@id(\"b\")\nforbid(principal, action, resource)\nwhen { context.arguments.path like \"/p*\" };\n",
        )],
        cfg(),
    )
    .unwrap_err();
    let (file, line, _, reason) = invalid(e);
    assert!(file.ends_with("typo.cedar"));
    assert_eq!(line, 5, "{reason}");
    // An undeclared argument attribute is refused too.
    let e = policy_from(
        &[("u.cedar", "@id(\"u\") forbid(principal, action, resource) when { context.arguments has nope && context.arguments.nope == 1 };")],
        cfg(),
    )
    .unwrap_err();
    assert!(matches!(e, PolicyError::Invalid { .. }), "{e}");
}

#[test]
fn annotation_rules_are_enforced_at_load() {
    let cases = [
        ("forbid(principal, action, resource);", "no `@id"),
        (
            "@id(\"has space\") forbid(principal, action, resource);",
            "rule id",
        ),
        (
            "@id(\"policy-error\") forbid(principal, action, resource);",
            "reserved",
        ),
        (
            "@id(\"p\") @approval(\"required\") permit(principal, action, resource);",
            "@approval",
        ),
        (
            "@id(\"p\") @approval(\"maybe\") forbid(principal, action, resource);",
            "@approval",
        ),
        (
            "@id(\"t\") forbid(principal == ?principal, action, resource);",
            "templates",
        ),
    ];
    for (text, want) in cases {
        let e = policy_from(&[("a.cedar", text)], cfg()).unwrap_err();
        let (_, line, _, reason) = invalid(e);
        assert_eq!(line, 1);
        assert!(reason.contains(want), "{text}: {reason}");
    }
    let e = policy_from(
        &[
            (
                "a.cedar",
                "@id(\"same\") forbid(principal, action, resource);",
            ),
            (
                "b.cedar",
                "\n\n@id(\"same\") forbid(principal, action, resource);",
            ),
        ],
        cfg(),
    )
    .unwrap_err();
    let (file, line, _, reason) = invalid(e);
    assert!(file.ends_with("b.cedar") && line == 3, "{file}:{line}");
    assert!(reason.contains("duplicate rule id `same`"), "{reason}");
}

#[test]
fn missing_and_empty_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = PolicyConfig {
        files: vec!["nope.cedar".into()],
        ..PolicyConfig::default()
    };
    assert!(matches!(
        Policy::load(&missing, dir.path()),
        Err(PolicyError::Io { .. })
    ));
    assert!(matches!(
        Policy::load(&cfg(), dir.path()),
        Err(PolicyError::NoPolicies(_))
    ));
    std::fs::write(dir.path().join("empty.cedar"), "// nothing\n").unwrap();
    assert!(matches!(
        Policy::load(&cfg(), dir.path()),
        Err(PolicyError::NoPolicies(_))
    ));
}

#[test]
fn bad_config_is_refused() {
    let rl = |id: &str, max| RateLimit {
        id: id.into(),
        max,
        window_secs: 1,
        per: vec![],
        tools: vec![],
        servers: vec![],
        agents: vec![],
        categories: vec![],
    };
    let ok = "@id(\"a\") forbid(principal, action, resource) when { context.lossy };";
    for c in [
        PolicyConfig {
            rate_limits: vec![rl("x", 0)],
            ..cfg()
        },
        PolicyConfig {
            rate_limits: vec![rl("x", 1), rl("x", 2)],
            ..cfg()
        },
        PolicyConfig {
            rate_limits: vec![rl("a", 1)],
            ..cfg()
        },
        PolicyConfig {
            approval_ttl_secs: 0,
            ..cfg()
        },
        PolicyConfig {
            categories: vec![CategoryRule {
                category: "c".into(),
                tools: vec![],
                servers: vec![],
                annotations: Default::default(),
                arguments: Default::default(),
                any_argument: vec![],
            }],
            ..cfg()
        },
        PolicyConfig {
            categories: vec![CategoryRule {
                category: "c".into(),
                tools: vec![],
                servers: vec![],
                annotations: [("readonly".to_owned(), true)].into(),
                arguments: Default::default(),
                any_argument: vec![],
            }],
            ..cfg()
        },
    ] {
        assert!(
            matches!(
                policy_from(&[("a.cedar", ok)], c.clone()),
                Err(PolicyError::Config(_))
            ),
            "{c:?}"
        );
    }
}

#[test]
fn config_parses_from_toml_with_unknown_keys_refused() {
    let cfg: PolicyConfig = toml::from_str(
        "files = [\"p\"]\ndefault = \"deny\"\n[[rate_limits]]\nid = \"r\"\nmax = 1\nwindow_secs = 9\nper = [\"agent\", \"tool\"]\n",
    )
    .unwrap();
    assert_eq!(cfg.default, DefaultEffect::Deny);
    assert_eq!(cfg.approval_ttl_secs, 3600);
    assert!(toml::from_str::<PolicyConfig>("filez = []").is_err());
}
