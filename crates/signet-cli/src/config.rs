//! `signet.toml` / `signet.yaml`: the configuration file.
//!
//! Looked up as `--config PATH`, else `$SIGNET_CONFIG`, else `$SIGNET_HOME/signet.toml`,
//! else `$SIGNET_HOME/signet.yaml`; no file means every default. Unknown keys are an error
//! (a typo in a security setting must not be ignored). Command-line flags override the
//! file.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use serde::Deserialize;
use signet_mcp::pins::PinMode;

use crate::keyfile;

/// What happens when the log cannot be written or a key cannot be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FailMode {
    /// No call goes through; the client gets an error (the default).
    #[default]
    Closed,
    /// Calls go through unsigned / unlogged; recorded in the log as dangerous.
    Open,
}

/// The configuration file's contents. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Algorithm for keys `signet init` creates: `ed25519`, `ml-dsa-65`, `ml-dsa-65-ed25519`.
    pub algorithm: Option<String>,
    /// The agent's key: `file:PATH` or `env:VAR` (default `file:$SIGNET_HOME/keys/agent.key`).
    pub key_source: Option<String>,
    /// The gateway's receipt key (default `file:$SIGNET_HOME/keys/gateway.key`).
    pub gateway_key_source: Option<String>,
    /// The log's checkpoint key, Ed25519 (default `file:$SIGNET_HOME/keys/log.key`).
    pub log_key_source: Option<String>,
    /// Refuse calls that do not carry a valid intent signed by the client itself.
    pub require_signatures: Option<bool>,
    /// The signers (did:key) whose intents are accepted; empty = any valid signer.
    pub allowed_signers: Option<Vec<String>>,
    /// The log file (default `$SIGNET_HOME/log/signet.db`).
    pub log: Option<PathBuf>,
    /// The origin line of the log's checkpoints (default `localhost/signet`).
    pub log_origin: Option<String>,
    /// `warn`, `hide` or `block`: what to do about a changed tool definition.
    pub pin_mode: Option<PinMode>,
    /// Keys (did:key) trusted to sign pin files (`signet proxy --pin-file`).
    pub pin_signers: Option<Vec<String>>,
    /// Receipt keys (did:key) of the `signet guard` in front of an HTTP upstream: results
    /// must carry a valid receipt from one of them (bilateral records).
    pub server_keys: Option<Vec<String>>,
    /// `closed` (default) or `open`.
    pub fail_mode: Option<FailMode>,
    /// Return each receipt in `result._meta` (default true).
    pub receipts_in_result: Option<bool>,
    /// Keep call arguments in the log next to each intent (default true).
    pub log_arguments: Option<bool>,
    /// Largest MCP message accepted, in bytes (default 16 MiB).
    pub max_message_bytes: Option<usize>,
    /// Accept client-signed intents issued at most this many seconds ago (default 300).
    pub max_age_secs: Option<u32>,
    /// ... or at most this many seconds in the future (default 30).
    pub max_skew_secs: Option<u32>,
    /// The `[policy]` section: Cedar rules, categories, rate limits, approvals
    /// (`docs/policy.md`). Absent: every call is allowed (and the receipts say so).
    #[serde(default)]
    pub policy: signet_policy::PolicyConfig,
    /// The `[tsa]` section: RFC 3161 time-stamps of signed checkpoints (`docs/tsa.md`).
    /// Absent: no time-stamps.
    pub tsa: Option<TsaConfig>,
}

/// `[tsa]`: ask a time-stamp authority for tokens over the log's checkpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsaConfig {
    /// The TSA's URL (`http://` or `https://`), where time-stamp queries are POSTed.
    pub url: String,
    /// PEM file with the certificate(s) the TSA must chain to (relative to the config
    /// file). Every token is verified against it before it is stored.
    pub trust_anchor: PathBuf,
    /// Ask for a token after this many entries not yet covered (default 1024).
    pub every_entries: Option<u64>,
    /// ... or after this many seconds when at least one entry is not covered (default 600).
    pub every_seconds: Option<u64>,
    /// Give up one request after this many seconds (default 10); it is retried later.
    pub timeout_seconds: Option<u64>,
}

/// The commented default `signet init` writes.
pub const DEFAULT_TOML: &str = r#"# signet configuration. Every key is optional; flags of `signet proxy` override them.
# Docs: docs/proxy.md. Unknown keys are an error.

# Algorithm of the keys `signet init` creates: "ed25519" (default), "ml-dsa-65" (post-quantum)
# or "ml-dsa-65-ed25519" (hybrid: both halves must verify).
algorithm = "ed25519"

# The agent's signing key: "file:PATH" or "env:VAR" (the variable holds the key file's text).
# Encrypted keys are opened with the passphrase in SIGNET_PASSPHRASE.
# key_source = "file:~/.signet/keys/agent.key"

# The gateway's key, which signs receipts (must differ from the agent's key).
# gateway_key_source = "file:~/.signet/keys/gateway.key"

# The log's checkpoint key (Ed25519).
# log_key_source = "file:~/.signet/keys/log.key"

# Refuse calls unless the client signed them itself (`_meta["dev.signet/intent"]`).
require_signatures = false

# When non-empty, only these signers (did:key) are accepted for client-signed calls.
allowed_signers = []

# The audit log (SQLite, WAL) and the origin line of its signed checkpoints.
# log = "~/.signet/log/signet.db"
# log_origin = "localhost/signet"

# A tool whose definition differs from its pin: "warn" (log + stderr), "hide" (remove it from
# tools/list and refuse calls) or "block" (refuse calls until `signet pins accept`).
pin_mode = "warn"

# Keys (did:key) trusted to sign pin files. A proxy started with `--pin-file FILE` takes its
# pins from that file (made by `signet pins sign`) instead of trusting on first use, and
# refuses to start if the file is not signed by one of these keys.
# pin_signers = ["did:key:z6Mk…"]

# HTTP upstream behind a `signet guard`: the guard's receipt key(s). Each result must then
# carry a valid receipt from one of them (logged with the intent: a bilateral record);
# a result without one is withheld. Also `signet proxy --server-key DID`.
# server_keys = ["did:key:z6Mk…"]

# When the log cannot be written or a key cannot be loaded: "closed" (no call goes through)
# or "open" (calls go through unsigned/unlogged; recorded as dangerous). Keep "closed".
fail_mode = "closed"

# Return each signed receipt to the client in `result._meta["dev.signet/receipt"]`.
receipts_in_result = true

# Keep each call's arguments in the log (their digest is always signed).
log_arguments = true

# Largest MCP message accepted from either side, in bytes.
max_message_bytes = 16777216

# Freshness window for client-signed intents, in seconds.
max_age_secs = 300
max_skew_secs = 30

# Policy (docs/policy.md): Cedar rules that block a call before it runs
# ("BLOCKED by no-prod-deletions: …"), action categories, rate limits, approvals.
# Relative paths are relative to this file. Without a [policy] section every call is allowed.
# [policy]
# files = ["policies/"]

# RFC 3161 time-stamps of the log's signed checkpoints (docs/tsa.md). A TSA that is down
# never blocks a call: requests run beside the log, are retried, and `signet log verify`
# shows the entries no token covers. Every token is verified against trust_anchor first.
# [tsa]
# url = "http://timestamp.example/tsr"
# trust_anchor = "tsa-root.pem"
# every_entries = 1024
# every_seconds = 600
# timeout_seconds = 10
"#;

impl Config {
    /// Where the config file is, if any.
    ///
    /// # Errors
    /// No home directory.
    pub fn locate(flag: Option<&Path>) -> Result<Option<PathBuf>> {
        if let Some(p) = flag {
            return Ok(Some(p.to_owned()));
        }
        if let Some(p) = std::env::var_os("SIGNET_CONFIG").filter(|p| !p.is_empty()) {
            return Ok(Some(PathBuf::from(p)));
        }
        let home = keyfile::signet_home()?;
        for name in ["signet.toml", "signet.yaml", "signet.yml"] {
            let p = home.join(name);
            if p.exists() {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }

    /// The folder relative paths in the config file are taken from: the file's folder,
    /// else `$SIGNET_HOME`.
    ///
    /// # Errors
    /// No home directory.
    pub fn base_dir(path: Option<&Path>) -> Result<PathBuf> {
        match path.and_then(Path::parent) {
            Some(d) => Ok(d.to_path_buf()),
            None => keyfile::signet_home(),
        }
    }

    /// The `[policy]` section with `~` expanded in its paths.
    #[must_use]
    pub fn policy_config(&self) -> signet_policy::PolicyConfig {
        let mut p = self.policy.clone();
        p.files = p.files.iter().map(|f| expand(f)).collect();
        p.schema = p.schema.as_deref().map(expand);
        p
    }

    /// Load the config (`Config::default()` when there is no file).
    ///
    /// # Errors
    /// An unreadable or invalid file, with the reason.
    pub fn load(flag: Option<&Path>) -> Result<(Self, Option<PathBuf>)> {
        let Some(path) = Self::locate(flag)? else {
            return Ok((Config::default(), None));
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config `{}`", path.display()))?;
        let cfg = Self::parse(&text, &path)?;
        Ok((cfg, Some(path)))
    }

    /// Parse config text; the format follows the file extension (`.yaml`/`.yml` or TOML).
    ///
    /// # Errors
    /// Invalid text, unknown keys, bad values.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        let cfg: Config = if yaml {
            serde_yaml_ng::from_str(text)
                .map_err(|e| anyhow!("config `{}`: {e}", path.display()))?
        } else {
            toml::from_str(text).map_err(|e| anyhow!("config `{}`: {e}", path.display()))?
        };
        if let Some(a) = &cfg.algorithm
            && parse_algorithm(a).is_none()
        {
            bail!(
                "config `{}`: unknown algorithm `{a}` (use ed25519, ml-dsa-65 or ml-dsa-65-ed25519)",
                path.display()
            );
        }
        if cfg.max_message_bytes == Some(0) {
            bail!(
                "config `{}`: max_message_bytes must be positive",
                path.display()
            );
        }
        Ok(cfg)
    }
}

/// An algorithm by its config spelling (or its JOSE name).
#[must_use]
pub fn parse_algorithm(s: &str) -> Option<signet_core::alg::Algorithm> {
    use signet_core::alg::Algorithm;
    match s.to_ascii_lowercase().as_str() {
        "ed25519" => Some(Algorithm::Ed25519),
        "ml-dsa-65" => Some(Algorithm::MlDsa65),
        "ml-dsa-65-ed25519" => Some(Algorithm::MlDsa65Ed25519),
        _ => Algorithm::from_jose_name(s),
    }
}

/// Expand a leading `~/` in a path from the config file.
#[must_use]
pub fn expand(p: &Path) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    p.to_owned()
}

/// A key source from the config, with `~/` expanded in `file:` paths.
///
/// # Errors
/// Not `file:PATH` or `env:VAR`.
pub fn key_source(text: &str) -> Result<keyfile::KeySource> {
    match text.parse::<keyfile::KeySource>()? {
        keyfile::KeySource::File(p) => Ok(keyfile::KeySource::File(expand(&p))),
        other => Ok(other),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_as_toml_and_its_yaml_twin_too() {
        let c = Config::parse(DEFAULT_TOML, Path::new("signet.toml")).unwrap();
        assert_eq!(c.pin_mode, Some(PinMode::Warn));
        assert_eq!(c.fail_mode, Some(FailMode::Closed));
        assert_eq!(c.max_message_bytes, Some(16_777_216));
        let y = "algorithm: ml-dsa-65\nkey_source: env:AGENT_KEY\nallowed_signers: [\"did:key:z6Mk\"]\npin_mode: block\nfail_mode: open\n";
        let c = Config::parse(y, Path::new("signet.yaml")).unwrap();
        assert_eq!(c.pin_mode, Some(PinMode::Block));
        assert_eq!(c.fail_mode, Some(FailMode::Open));
        assert_eq!(c.key_source.as_deref(), Some("env:AGENT_KEY"));
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        for (text, name) in [
            ("require_signature = true", "signet.toml"),
            ("pin_mode = \"ignore\"", "signet.toml"),
            ("algorithm = \"rsa\"", "signet.toml"),
            ("fail_mode: sometimes", "signet.yaml"),
            ("max_message_bytes = 0", "signet.toml"),
        ] {
            assert!(Config::parse(text, Path::new(name)).is_err(), "{text}");
        }
    }
}
