//! End-to-end tests of `signet policy check | validate | test | schema`, `signet approve`
//! and `signet approvals` with the shipped example policy set.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::json;
use signet_core::digest::Digest;
use signet_core::replay::UnixTime;
use signet_core::statement::Effect;
use signet_policy::cases::config_for_path;
use signet_policy::{CallRequest, Enforcer, Policy};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies")
}

fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(args)
        .env("SIGNET_HOME", home)
        .env_remove("SIGNET_CONFIG")
        .env_remove("SIGNET_POLICY_STATE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn check_prints_decision_and_exit_code() {
    let home = tempfile::tempdir().unwrap();
    let p = examples();
    let p = p.to_str().unwrap();
    let (code, out, _) = text(&run(
        home.path(),
        &[
            "policy",
            "check",
            "--tool",
            "delete_records",
            "--args",
            r#"{"environment":"production"}"#,
            "--server",
            "db",
            "--policy",
            p,
        ],
    ));
    assert_eq!(code, 2);
    assert_eq!(
        out.trim(),
        "BLOCKED by no-prod-deletions: deleting production data is forbidden"
    );

    let (code, out, _) = text(&run(
        home.path(),
        &[
            "policy",
            "check",
            "--tool",
            "read_file",
            "--args",
            r#"{"path":"/etc/hostname"}"#,
            "--policy",
            p,
        ],
    ));
    assert_eq!((code, out.trim()), (0, "ALLOWED"));

    let (code, out, _) = text(&run(
        home.path(),
        &[
            "policy",
            "check",
            "--tool",
            "deploy_service",
            "--args",
            r#"{"environment":"prod"}"#,
            "--policy",
            p,
        ],
    ));
    assert_eq!(code, 2);
    assert!(
        out.starts_with("APPROVAL REQUIRED by prod-deploy-needs-approval"),
        "{out}"
    );

    let (code, out, _) = text(&run(
        home.path(),
        &[
            "policy",
            "check",
            "--tool",
            "bash",
            "--args",
            r#"{"command":"rm -rf /"}"#,
            "--policy",
            p,
            "--json",
        ],
    ));
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["effect"], "deny");
    assert_eq!(v["rules"], json!(["no-rm-rf"]));
    assert!(v["policy"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(v["categories"], json!(["shell:exec"]));

    let (code, _, err) = text(&run(
        home.path(),
        &[
            "policy", "check", "--tool", "t", "--args", "[1]", "--policy", p,
        ],
    ));
    assert_eq!(code, 1);
    assert!(err.contains("JSON object"), "{err}");
}

#[test]
fn check_reads_the_config_policy_section() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("rules")).unwrap();
    std::fs::write(
        home.path().join("rules/a.cedar"),
        "@id(\"no-email\") @reason(\"no mail\")\nforbid(principal, action, resource) when { resource.name == \"send_email\" };\n",
    )
    .unwrap();
    std::fs::write(
        home.path().join("signet.toml"),
        "[policy]\nfiles = [\"rules\"]\n",
    )
    .unwrap();
    let (code, out, _) = text(&run(
        home.path(),
        &["policy", "check", "--tool", "send_email"],
    ));
    assert_eq!((code, out.trim()), (2, "BLOCKED by no-email: no mail"));
    let (code, out, _) = text(&run(home.path(), &["policy", "check", "--tool", "read"]));
    assert_eq!((code, out.trim()), (0, "ALLOWED"));
}

#[test]
fn validate_reports_rules_or_the_error_location() {
    let home = tempfile::tempdir().unwrap();
    let (code, out, _) = text(&run(
        home.path(),
        &[
            "policy",
            "validate",
            "--policy",
            examples().to_str().unwrap(),
        ],
    ));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("no-prod-deletions") && out.contains("policy digest: sha256:"),
        "{out}"
    );

    let bad = home.path().join("bad.cedar");
    std::fs::write(&bad, "@id(\"x\")\nforbid(principal, action, resource)\nwhen { context.arguments.pathh like \"/p*\" };\n").unwrap();
    let (code, _, err) = text(&run(
        home.path(),
        &["policy", "validate", "--policy", bad.to_str().unwrap()],
    ));
    assert_eq!(code, 1);
    assert!(err.contains("bad.cedar:3:"), "{err}");
    assert!(err.contains("pathh"), "{err}");

    let missing = home.path().join("missing.cedar");
    let (code, _, err) = text(&run(
        home.path(),
        &["policy", "validate", "--policy", missing.to_str().unwrap()],
    ));
    assert_eq!(code, 1);
    assert!(err.contains("missing.cedar"), "{err}");
}

#[test]
fn test_runs_the_example_cases() {
    let home = tempfile::tempdir().unwrap();
    let cases = examples().join("tests.toml");
    let (code, out, _) = text(&run(
        home.path(),
        &["policy", "test", cases.to_str().unwrap()],
    ));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("14 passed, 0 failed"), "{out}");

    let failing = home.path().join("cases.toml");
    std::fs::write(
        &failing,
        format!(
            "policy = {:?}\n[[case]]\nname = \"wrong\"\ntool = \"drop_table\"\nserver = \"prod\"\nexpect = \"allow\"\n",
            examples().to_str().unwrap()
        ),
    )
    .unwrap();
    let (code, out, _) = text(&run(
        home.path(),
        &["policy", "test", failing.to_str().unwrap()],
    ));
    assert_eq!(code, 1);
    assert!(
        out.contains("FAIL  wrong: expected allow, got BLOCKED by no-prod-deletions"),
        "{out}"
    );
    assert!(out.contains("0 passed, 1 failed"), "{out}");

    let (code, out, _) = text(&run(home.path(), &["policy", "schema"]));
    assert_eq!(code, 0);
    assert!(out.contains("action call_tool"));
}

#[test]
fn approve_shows_the_call_and_lets_it_through_once() {
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("policy");
    let (cfg, base) = config_for_path(&examples()).unwrap();
    let enforcer = Enforcer::open(Policy::load(&cfg, &base).unwrap(), &state).unwrap();
    let args = json!({"service": "api", "environment": "production"});
    let digest = Digest::of_json(&args).unwrap();
    let now = UnixTime(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap(),
    );
    let call = CallRequest {
        agent: "did:key:z6MkAgent",
        server: "ci",
        tool: "deploy_service",
        arguments: &args,
        annotations: None,
        now,
    };
    let held = enforcer.decide(&call, &digest).unwrap();
    assert_eq!(held.evaluation.decision.effect, Effect::ApprovalRequired);
    let id = held.approval_id.unwrap();

    let (code, out, _) = text(&run(home.path(), &["approvals"]));
    assert_eq!(code, 0);
    assert!(
        out.contains(&id) && out.contains("ci/deploy_service"),
        "{out}"
    );

    // No terminal and no --yes: shown, not approved.
    let (code, out, err) = text(&run(home.path(), &["approve", &id]));
    assert_eq!(code, 1);
    assert!(
        out.contains("deploy_service") && out.contains("\"environment\": \"production\""),
        "{out}"
    );
    assert!(out.contains("matches the arguments below"), "{out}");
    assert!(err.contains("not approved"), "{err}");
    assert_eq!(
        enforcer
            .decide(&call, &digest)
            .unwrap()
            .evaluation
            .decision
            .effect,
        Effect::ApprovalRequired
    );

    let (code, out, _) = text(&run(home.path(), &["approve", &id, "--yes"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("APPROVED {id}")), "{out}");
    let (code, _, err) = text(&run(home.path(), &["approve", &id, "--yes"]));
    assert_eq!(code, 1);
    assert!(err.contains("already approved"), "{err}");

    let through = enforcer.decide(&call, &digest).unwrap();
    assert_eq!(through.evaluation.decision.effect, Effect::Allow);
    assert_eq!(through.approval_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        enforcer
            .decide(&call, &digest)
            .unwrap()
            .evaluation
            .decision
            .effect,
        Effect::ApprovalRequired
    );

    let (code, _, err) = text(&run(home.path(), &["approve", "apr_unknown", "--yes"]));
    assert_eq!(code, 1);
    assert!(err.contains("no approval `apr_unknown`"), "{err}");
}
