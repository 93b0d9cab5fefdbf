//! Policy test cases, for users to unit-test their rules (`signet policy test FILE`) and
//! for finding a policy set from a path (`--policy PATH`).
//!
//! A cases file is TOML (or JSON when it ends in `.json`):
//!
//! ```toml
//! policy = "."                 # optional: the policy to test, relative to this file
//! [[case]]
//! name = "prod deletes are blocked"
//! agent = "did:key:z6Mk…"      # optional (default `agent`)
//! server = "db"                # optional (default `server`)
//! tool = "delete_records"
//! arguments = { environment = "production" }
//! annotations = { destructiveHint = true }   # optional
//! time = 1767225600            # optional Unix time (default: now)
//! expect = "deny"              # allow | deny | approval-required
//! rules = ["no-prod-deletions"]  # optional: the exact rule ids
//! ```
//!
//! Cases are evaluated with [`crate::Policy::evaluate`] (stateless: rate limits and
//! approvals are not involved).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use signet_core::replay::UnixTime;
use signet_core::statement::Effect;

use crate::config::PolicyConfig;
use crate::error::PolicyError;
use crate::policy::{CallRequest, Evaluation, Policy};

/// Name of the stand-alone policy config looked for in a policy directory.
pub const POLICY_TOML: &str = "policy.toml";

/// A cases file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesFile {
    /// The policy to test (file, directory or `policy.toml`), relative to the cases file.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    /// The cases.
    #[serde(default, rename = "case")]
    pub cases: Vec<Case>,
}

/// One test case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Shown in the report.
    pub name: String,
    /// The agent (default `agent`).
    #[serde(default = "default_agent")]
    pub agent: String,
    /// The server (default `server`).
    #[serde(default = "default_server")]
    pub server: String,
    /// The tool.
    pub tool: String,
    /// The arguments (default `{}`).
    #[serde(default = "empty_object")]
    pub arguments: Value,
    /// The tool's annotations.
    #[serde(default)]
    pub annotations: Option<Value>,
    /// Unix time of the call (default: the time given to [`run_cases`]).
    #[serde(default)]
    pub time: Option<i64>,
    /// The expected effect.
    pub expect: Effect,
    /// The expected rule ids (any order), when given.
    #[serde(default)]
    pub rules: Option<Vec<String>>,
}

fn default_agent() -> String {
    "agent".to_owned()
}
fn default_server() -> String {
    "server".to_owned()
}
fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Whether effect (and rules, when given) were as expected.
    pub passed: bool,
    /// What was expected, as text (`deny [no-prod-deletions]`).
    pub expected: String,
    /// What the policy decided.
    pub got: Evaluation,
}

impl CasesFile {
    /// Parse a cases file (TOML, or JSON when the name ends in `.json`).
    ///
    /// # Errors
    /// [`PolicyError::Io`] or [`PolicyError::Config`] with the reason.
    pub fn load(path: &Path) -> Result<CasesFile, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            toml::from_str(&text).map_err(|e| e.to_string())
        };
        parsed.map_err(|e| PolicyError::Config(format!("`{}`: {e}", path.display())))
    }
}

/// Evaluate every case; `now` is used for cases without a `time`.
#[must_use]
pub fn run_cases(policy: &Policy, cases: &[Case], now: UnixTime) -> Vec<CaseResult> {
    cases
        .iter()
        .map(|c| {
            let got = policy.evaluate(&CallRequest {
                agent: &c.agent,
                server: &c.server,
                tool: &c.tool,
                arguments: &c.arguments,
                annotations: c.annotations.as_ref(),
                now: c.time.map_or(now, UnixTime),
            });
            let rules_ok = c.rules.as_ref().is_none_or(|want| {
                let mut want = want.clone();
                want.sort();
                let mut have = got.decision.rules.clone();
                have.sort();
                want == have
            });
            let effect = serde_json::to_value(c.expect)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let expected = match &c.rules {
                Some(r) => format!("{effect} [{}]", r.join(", ")),
                None => effect,
            };
            CaseResult {
                name: c.name.clone(),
                passed: got.decision.effect == c.expect && rules_ok,
                expected,
                got,
            }
        })
        .collect()
}

/// The policy config a `--policy PATH` names, and the directory its paths are relative
/// to: a `.toml` file is a stand-alone [`PolicyConfig`]; a directory holding
/// `policy.toml` uses that; any other file or directory is the only entry of `files`.
///
/// # Errors
/// [`PolicyError::Io`] / [`PolicyError::Config`] when the TOML cannot be read or parsed.
pub fn config_for_path(path: &Path) -> Result<(PolicyConfig, PathBuf), PolicyError> {
    let toml_file = if path.is_dir() {
        Some(path.join(POLICY_TOML)).filter(|p| p.is_file())
    } else if path.extension().is_some_and(|e| e == "toml") {
        Some(path.to_owned())
    } else {
        None
    };
    match toml_file {
        Some(f) => {
            let text = std::fs::read_to_string(&f).map_err(|source| PolicyError::Io {
                path: f.clone(),
                source,
            })?;
            let cfg: PolicyConfig = toml::from_str(&text)
                .map_err(|e| PolicyError::Config(format!("`{}`: {e}", f.display())))?;
            let base = f.parent().map(Path::to_owned).unwrap_or_default();
            Ok((cfg, base))
        }
        None => Ok((
            PolicyConfig {
                files: vec![path.to_owned()],
                ..PolicyConfig::default()
            },
            PathBuf::new(),
        )),
    }
}
