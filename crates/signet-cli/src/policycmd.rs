//! `signet policy check | validate | test | schema`, `signet approve` and
//! `signet approvals`: the policy engine (`signet-policy`) from the command line.
//!
//! The policy comes from `--policy PATH` (a `.cedar` file, a directory of them, a
//! stand-alone `policy.toml`, or a directory holding one), else from the `[policy]`
//! section of the config file. Approvals live in the state store, by default
//! `$SIGNET_HOME/policy/`; nothing reachable through MCP can approve — only this command.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use signet_core::digest::Digest;
use signet_core::replay::UnixTime;
use signet_core::statement::Effect;
use signet_policy::cases::{CasesFile, config_for_path, run_cases};
use signet_policy::{Approval, Approvals, CallRequest, Evaluation, Policy, PolicyConfig};

use crate::commands::{now, out};
use crate::config::Config;
use crate::keyfile;

/// Exit code for a call the policy denies or holds for approval.
pub const EXIT_DENIED: u8 = 2;

/// `signet policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PolicyCommand,
}

/// Where the policy comes from.
#[derive(Debug, Args)]
pub struct PolicySource {
    /// A `.cedar` file, a directory of them, a `policy.toml`, or a directory holding
    /// `policy.toml` (default: the config file's `[policy]` section).
    #[arg(long, value_name = "PATH")]
    pub policy: Option<PathBuf>,
    /// The config file (default: `$SIGNET_CONFIG`, else `$SIGNET_HOME/signet.toml|yaml`).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// The `signet policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Decide one call: prints ALLOWED (exit 0), BLOCKED by RULE or APPROVAL REQUIRED by
    /// RULE (exit 2). Stateless: rate limits and approvals are not consulted.
    Check(CheckArgs),
    /// Load and validate the policy against its schema; prints the rules and the digest.
    Validate(ValidateArgs),
    /// Run a file of test cases against the policy (exit 1 if any fails).
    Test(TestArgs),
    /// Print the built-in Cedar schema (start here for a custom schema).
    Schema,
}

/// `signet policy check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The tool name.
    #[arg(long)]
    pub tool: String,
    /// The call's arguments as a JSON object.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    pub args: String,
    /// The agent (did:key or key id).
    #[arg(long, default_value = "agent")]
    pub agent: String,
    /// The server (the intent's audience).
    #[arg(long, default_value = "server")]
    pub server: String,
    /// The tool's annotations as a JSON object (as in `tools/list`).
    #[arg(long, value_name = "JSON")]
    pub annotations: Option<String>,
    /// Evaluate at this Unix time instead of now.
    #[arg(long, value_name = "UNIX")]
    pub time: Option<i64>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    /// The policy.
    pub source: PolicySource,
}

/// `signet policy validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    /// The policy.
    pub source: PolicySource,
}

/// `signet policy test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The cases file (TOML, or JSON if it ends in `.json`).
    pub file: PathBuf,
    #[command(flatten)]
    /// The policy (default: the file's `policy`, else the config's).
    pub source: PolicySource,
}

/// `signet approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The approval id (`apr_…`) from the refused call.
    pub id: String,
    /// Do not ask for confirmation (the call is still shown).
    #[arg(long)]
    pub yes: bool,
    /// The policy state directory (default: `$SIGNET_HOME/policy`).
    #[arg(long, value_name = "DIR", env = "SIGNET_POLICY_STATE")]
    pub state_dir: Option<PathBuf>,
}

/// `signet approvals`.
#[derive(Debug, Args)]
pub struct ApprovalsArgs {
    /// The policy state directory (default: `$SIGNET_HOME/policy`).
    #[arg(long, value_name = "DIR", env = "SIGNET_POLICY_STATE")]
    pub state_dir: Option<PathBuf>,
    /// JSON Lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `signet policy …`.
///
/// # Errors
/// An unreadable or invalid policy, bad arguments, output failures.
pub fn policy(a: &PolicyArgs) -> Result<ExitCode> {
    match &a.command {
        PolicyCommand::Check(c) => check(c),
        PolicyCommand::Validate(v) => validate(v),
        PolicyCommand::Test(t) => test(t),
        PolicyCommand::Schema => {
            out(signet_policy::BUILTIN_SCHEMA.trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The default policy state directory: `$SIGNET_HOME/policy`.
///
/// # Errors
/// Neither `SIGNET_HOME` nor `HOME` is set.
pub fn default_state_dir() -> Result<PathBuf> {
    Ok(keyfile::signet_home()?.join("policy"))
}

/// The policy config named by `--policy`, else the config file's `[policy]` section, and
/// the directory its relative paths are resolved against.
fn policy_config(src: &PolicySource) -> Result<(PolicyConfig, PathBuf)> {
    if let Some(p) = &src.policy {
        return Ok(config_for_path(p)?);
    }
    let (cfg, path) = Config::load(src.config.as_deref())?;
    Ok((cfg.policy_config(), Config::base_dir(path.as_deref())?))
}

fn load(src: &PolicySource) -> Result<Policy> {
    let (cfg, base) = policy_config(src)?;
    Ok(Policy::load(&cfg, &base)?)
}

fn parse_json(flag: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| anyhow!("`{flag}` is not valid JSON: {e}"))
}

fn exit_for(effect: Effect) -> ExitCode {
    match effect {
        Effect::Allow => ExitCode::SUCCESS,
        Effect::Deny | Effect::ApprovalRequired => ExitCode::from(EXIT_DENIED),
    }
}

fn evaluation_json(e: &Evaluation) -> Value {
    json!({
        "effect": e.decision.effect,
        "rules": e.decision.rules,
        "policy": e.decision.policy,
        "reason": e.reason,
        "categories": e.categories,
    })
}

fn check(a: &CheckArgs) -> Result<ExitCode> {
    let policy = load(&a.source)?;
    let arguments = parse_json("--args", &a.args)?;
    if !arguments.is_object() {
        bail!("`--args` must be a JSON object");
    }
    let annotations = a
        .annotations
        .as_deref()
        .map(|t| parse_json("--annotations", t))
        .transpose()?;
    let now = match a.time {
        Some(t) => UnixTime(t),
        None => now()?,
    };
    let e = policy.evaluate(&CallRequest {
        agent: &a.agent,
        server: &a.server,
        tool: &a.tool,
        arguments: &arguments,
        annotations: annotations.as_ref(),
        now,
    });
    if a.json {
        out(&evaluation_json(&e).to_string())?;
    } else {
        if policy.is_empty() {
            let _ = writeln!(
                std::io::stderr(),
                "signet: no policy configured (use --policy or a [policy] section)"
            );
        }
        out(&e.reason)?;
    }
    Ok(exit_for(e.decision.effect))
}

fn validate(a: &ValidateArgs) -> Result<ExitCode> {
    let policy = load(&a.source)?;
    if policy.is_empty() {
        bail!("no policy configured (use --policy or a [policy] section in the config)");
    }
    let ids = policy.rule_ids();
    out(&format!(
        "OK: {} rules from {} files ({})",
        ids.len(),
        policy.files().len(),
        ids.join(", ")
    ))?;
    out(&format!("policy digest: {}", policy.digest()))?;
    Ok(ExitCode::SUCCESS)
}

fn test(a: &TestArgs) -> Result<ExitCode> {
    let file = CasesFile::load(&a.file)?;
    let policy = match (&a.source.policy, &file.policy) {
        (None, Some(p)) => {
            let base = a.file.parent().unwrap_or(Path::new(""));
            let (cfg, cfg_base) = config_for_path(&base.join(p))?;
            Policy::load(&cfg, &cfg_base)?
        }
        _ => load(&a.source)?,
    };
    if file.cases.is_empty() {
        bail!("`{}` has no `[[case]]`", a.file.display());
    }
    let results = run_cases(&policy, &file.cases, now()?);
    let mut failed = 0usize;
    for r in &results {
        if r.passed {
            out(&format!("ok    {}", r.name))?;
        } else {
            failed = failed.saturating_add(1);
            out(&format!(
                "FAIL  {}: expected {}, got {}",
                r.name, r.expected, r.got.reason
            ))?;
        }
    }
    let passed = results.len().saturating_sub(failed);
    out(&format!("{passed} passed, {failed} failed"))?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn state_dir(flag: Option<&Path>) -> Result<PathBuf> {
    match flag {
        Some(p) => Ok(p.to_owned()),
        None => default_state_dir(),
    }
}

fn rfc3339(t: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.0)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.0.to_string())
}

/// The exact call an approval is for, for a human to read.
fn describe(a: &Approval, now: UnixTime) -> String {
    let args = serde_json::to_string_pretty(&a.arguments).unwrap_or_default();
    let digest_note = match Digest::of_json(&a.arguments) {
        Ok(d) if d == a.args_digest => "matches the arguments below",
        _ => "WARNING: does not match the arguments below as stored",
    };
    let left = a.expires.0.saturating_sub(now.0);
    let expiry = if a.is_expired(now) {
        format!("EXPIRED at {}", rfc3339(a.expires))
    } else {
        format!(
            "expires {} (in {} min)",
            rfc3339(a.expires),
            left.checked_div(60).unwrap_or(0)
        )
    };
    format!(
        "approval {id} — {state}, {expiry}\n  agent:      {agent}\n  server:     {server}\n  tool:       {tool}\n  rules:      {rules}\n  reason:     {reason}\n  requested:  {created}\n  args digest {digest} ({digest_note})\n  arguments:\n{args}",
        id = a.id,
        state = a.state.as_str(),
        agent = a.agent,
        server = a.server,
        tool = a.tool,
        rules = a.rules.join(", "),
        reason = a.reason,
        created = rfc3339(a.created),
        digest = a.args_digest,
        args = indent(&args),
    )
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Run `signet approve ID`.
///
/// # Errors
/// Unknown, expired or already decided approvals; no confirmation; store failures.
pub fn approve(a: &ApproveArgs) -> Result<ExitCode> {
    let approvals = Approvals::open(&state_dir(a.state_dir.as_deref())?)?;
    let now = now()?;
    let found = approvals
        .get(&a.id)?
        .ok_or_else(|| anyhow!("no approval `{}`", a.id))?;
    out(&describe(&found, now))?;
    if !a.yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            bail!("not approved: no terminal to confirm on (pass --yes to approve without asking)");
        }
        let mut err = std::io::stderr().lock();
        write!(err, "Approve this exact call, once? [y/N] ")?;
        err.flush()?;
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes" | "YES") {
            out("not approved")?;
            return Ok(ExitCode::from(1));
        }
    }
    let done = approvals.approve(&a.id, now)?;
    out(&format!(
        "APPROVED {} — the next identical call by {} goes through once, until {}",
        done.id,
        done.agent,
        rfc3339(done.expires)
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Run `signet approvals`: pending approvals.
///
/// # Errors
/// Store failures.
pub fn approvals(a: &ApprovalsArgs) -> Result<ExitCode> {
    let approvals = Approvals::open(&state_dir(a.state_dir.as_deref())?)?;
    let now = now()?;
    let pending = approvals.list_pending(now)?;
    for p in &pending {
        if a.json {
            out(&json!({
                "id": p.id,
                "agent": p.agent,
                "server": p.server,
                "tool": p.tool,
                "args_digest": p.args_digest,
                "arguments": p.arguments,
                "rules": p.rules,
                "reason": p.reason,
                "created": p.created.0,
                "expires": p.expires.0,
            })
            .to_string())?;
        } else {
            out(&format!(
                "{}  {}  {}/{}  {}  expires {}",
                p.id,
                p.agent,
                p.server,
                p.tool,
                p.rules.join(","),
                rfc3339(p.expires)
            ))?;
        }
    }
    if pending.is_empty() && !a.json {
        out("no pending approvals")?;
    }
    Ok(ExitCode::SUCCESS)
}
