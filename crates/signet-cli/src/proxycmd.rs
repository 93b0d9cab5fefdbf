//! `signet proxy`, `signet init`, `signet pins`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow, bail};
use signet_core::alg::{Algorithm, PublicKey, SigningKey};
use signet_core::did::Did;
use signet_core::replay::{MemoryNonceStore, ReplayWindow};
use signet_core::statement::{Audience, Effect};
use signet_log::entry::{Entry, LifecycleEntry, LifecycleEvent};
use signet_log::log::Log;
use signet_log::sqlite::{PersistentNonces, SqliteStore};
use signet_log::writer;
use signet_mcp::gateway::{
    AuditSink, Gateway, GatewayConfig, Nonces, PolicyCall, PolicyCheck, PolicyVerdict, Unavailable,
};
use signet_mcp::pins::{PinFile, PinMode, SignedPins};
use signet_mcp::stdio::{self, StdioOptions};

use crate::cli::{GuardArgs, HttpArgs, InitArgs, PinsArgs, PinsCommand, ProxyArgs};
use crate::commands::{now, out, write_new_key};
use crate::config::{self, Config, FailMode};
use crate::keyfile::{self, KeySource};

/// Default origin line of the log's checkpoints.
pub const DEFAULT_ORIGIN: &str = "localhost/signet";

/// Log to stderr (never stdout: it is the MCP transport). `SIGNET_LOG_LEVEL` filters.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG_LEVEL")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

/// The default server name: `stdio:` and the command line (digested when very long).
#[must_use]
pub fn default_server_name(command: &[String]) -> String {
    let line = command.join(" ");
    let name = format!("stdio:{line}");
    if name.len() <= 1024 {
        name
    } else {
        let d = signet_core::digest::Digest::of_bytes(line.as_bytes());
        format!("stdio:{}", d)
    }
}

fn source_or_default(flag: Option<&str>, cfg: Option<&str>, name: &str) -> Result<KeySource> {
    match flag.or(cfg) {
        Some(s) => config::key_source(s),
        None => Ok(KeySource::File(keyfile::default_key_path(name)?)),
    }
}

/// The log file from a flag, the config, or the default path.
pub fn log_file(flag: Option<&Path>, cfg: &Config) -> Result<PathBuf> {
    match flag
        .map(Path::to_owned)
        .or_else(|| cfg.log.as_deref().map(config::expand))
    {
        Some(p) => Ok(p),
        None => Ok(keyfile::signet_home()?.join("log").join("signet.db")),
    }
}

/// The pin file of `server`.
pub fn pins_path(server: &str) -> Result<PathBuf> {
    Ok(keyfile::signet_home()?
        .join("pins")
        .join(PinFile::file_name(server)))
}

/// SQLite page cache of the long-running processes' log connections, in KiB: appends one
/// at a time touch only the newest pages, and the proxy's memory must stay flat.
const PROCESS_CACHE_KIB: u32 = 2048;

/// The log's writer thread and a handle to append through it.
pub struct OpenLog {
    /// Appends (durable when they return).
    pub handle: writer::LogHandle,
    /// The writer thread; closing it records the stop marker.
    pub writer: writer::Writer<SqliteStore>,
}

impl OpenLog {
    /// Stop the writer and record the clean stop (once every other handle is gone).
    ///
    /// # Errors
    /// Only when the clock cannot be read; writer and close failures are logged.
    pub fn close(self, detail: &str) -> Result<()> {
        drop(self.handle);
        match self.writer.join() {
            Ok(log) => {
                if let Err(e) = log.close(now()?, detail) {
                    tracing::error!("closing the audit log: {e}");
                }
            }
            Err(e) => tracing::error!("the audit log writer failed: {e}"),
        }
        Ok(())
    }
}

/// The `[tsa]` section made usable: a stamper that verifies every token, and when to ask.
pub struct TsaSetup {
    stamper: signet_log::timestamp::HttpStamper,
    schedule: signet_log::timestamp::Schedule,
}

/// Check the `[tsa]` section (URL, readable trust anchor) before anything starts: a
/// misconfigured TSA stops start-up, a TSA that is down later blocks nothing.
///
/// # Errors
/// A bad URL, an unreadable or empty trust anchor, a zero schedule.
pub fn tsa_setup(cfg: &Config, cfg_path: Option<&Path>) -> Result<Option<TsaSetup>> {
    let Some(t) = &cfg.tsa else {
        return Ok(None);
    };
    let base = Config::base_dir(cfg_path)?;
    let anchor = crate::config::expand(&t.trust_anchor);
    let anchor = if anchor.is_absolute() {
        anchor
    } else {
        base.join(anchor)
    };
    let anchors = crate::tsacmd::load_anchors(&anchor).context("[tsa] trust_anchor")?;
    let timeout = std::time::Duration::from_secs(t.timeout_seconds.unwrap_or(10).max(1));
    let client = signet_tsa::http::Client::new(&t.url, timeout)
        .map_err(|e| anyhow!("[tsa] url `{}`: {e}", t.url))?;
    let mut schedule = signet_log::timestamp::Schedule::default();
    if let Some(n) = t.every_entries {
        if n == 0 {
            bail!("[tsa] every_entries must be at least 1");
        }
        schedule.every_entries = n;
    }
    if let Some(secs) = t.every_seconds {
        if secs == 0 {
            bail!("[tsa] every_seconds must be at least 1");
        }
        schedule.every = std::time::Duration::from_secs(secs);
        schedule.retry_after = schedule.retry_after.min(schedule.every);
    }
    Ok(Some(TsaSetup {
        stamper: signet_log::timestamp::HttpStamper { client, anchors },
        schedule,
    }))
}

/// Open (or create) the log at `path` and start its writer thread, with scheduled
/// time-stamps when `tsa` is given.
///
/// # Errors
/// The log cannot be created, opened or verified against its key.
pub fn open_log(
    path: &Path,
    key: SigningKey,
    origin: &str,
    detail: &str,
    tsa: Option<TsaSetup>,
) -> Result<OpenLog> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    let store = SqliteStore::open(path).map_err(|e| anyhow!("{e}"))?;
    store
        .set_cache_kib(PROCESS_CACHE_KIB)
        .map_err(|e| anyhow!("{e}"))?;
    let log = Log::open(store, key, origin, now()?, detail).map_err(|e| anyhow!("{e}"))?;
    let (handle, writer) = match tsa {
        Some(t) => writer::spawn_with_timestamps(log, Box::new(t.stamper), t.schedule)?,
        None => writer::spawn(log)?,
    };
    Ok(OpenLog { handle, writer })
}

/// The configured policy, loaded and validated, with its state store (rate limits,
/// approvals) under `$SIGNET_HOME/policy`; `None` without a `[policy]` section. An invalid
/// policy stops the proxy before the server starts.
fn load_policy(cfg: &Config, cfg_path: Option<&Path>) -> Result<Option<signet_policy::Enforcer>> {
    let Some(policy) = policy_set(cfg, cfg_path)? else {
        return Ok(None);
    };
    let home = keyfile::signet_home()?;
    let enforcer = signet_policy::Enforcer::open(policy, &home.join("policy"))
        .map_err(|e| anyhow!("policy state: {e}; not starting (fail-closed)"))?;
    Ok(Some(enforcer))
}

/// The config's `[policy]` set, loaded and validated; `None` when none is configured.
/// Relative paths are taken from the config file's folder (else `$SIGNET_HOME`).
///
/// # Errors
/// A missing or invalid policy file: the caller must not start (fail-closed).
pub fn policy_set(cfg: &Config, cfg_path: Option<&Path>) -> Result<Option<signet_policy::Policy>> {
    if !cfg.policy.is_configured() {
        return Ok(None);
    }
    let base = Config::base_dir(cfg_path)?;
    let policy = signet_policy::Policy::load(&cfg.policy_config(), &base)
        .map_err(|e| anyhow!("policy: {e}; not starting (fail-closed)"))?;
    tracing::info!(
        "policy {} with rules {:?}",
        policy.digest(),
        policy.rule_ids()
    );
    Ok(Some(policy))
}

/// signet-policy's enforcer as the gateway's policy.
struct PolicyGate(signet_policy::Enforcer);

impl PolicyCheck for PolicyGate {
    fn decide(&self, call: &PolicyCall<'_>) -> std::result::Result<PolicyVerdict, String> {
        let request = signet_policy::CallRequest {
            agent: call.agent,
            server: call.server,
            tool: call.tool,
            arguments: call.arguments,
            annotations: call.annotations,
            now: call.now,
        };
        let enforced = self
            .0
            .decide(&request, call.args_digest)
            .map_err(|e| e.to_string())?;
        let evaluation = enforced.evaluation;
        let reason = reason_detail(&evaluation);
        let approval_id = enforced
            .approval_id
            .filter(|_| evaluation.decision.effect == Effect::ApprovalRequired);
        Ok(PolicyVerdict {
            decision: evaluation.decision,
            reason,
            approval_id,
        })
    }
}

/// The part of an evaluation's one-line reason after `BLOCKED by <rules>: ` (the gateway
/// writes that prefix itself).
fn reason_detail(e: &signet_policy::Evaluation) -> String {
    let head = match e.decision.effect {
        Effect::Allow => "ALLOWED",
        Effect::Deny => "BLOCKED",
        Effect::ApprovalRequired => "APPROVAL REQUIRED",
    };
    let prefix = if e.decision.rules.is_empty() {
        head.to_owned()
    } else {
        format!("{head} by {}", e.decision.rules.join(", "))
    };
    e.reason
        .strip_prefix(&prefix)
        .map(|rest| rest.strip_prefix(": ").unwrap_or(rest))
        .unwrap_or(&e.reason)
        .to_owned()
}

/// `signet proxy -- COMMAND ARGS…`.
pub fn proxy(a: &ProxyArgs) -> Result<ExitCode> {
    run(a, Role::Proxy)
}

/// `signet guard`: the server-side gateway in front of a Streamable HTTP server.
pub fn guard(g: &GuardArgs) -> Result<ExitCode> {
    if g.http.listen.is_none() || g.http.upstream.is_none() {
        bail!("signet guard needs --listen ADDR and --upstream URL");
    }
    let a = ProxyArgs {
        name: g.name.clone(),
        key_source: None,
        gateway: g.gateway.clone(),
        pin_file: None,
        fail_open: false,
        require_signatures: true,
        no_receipts_in_result: false,
        http: g.http.clone(),
        server_keys: Vec::new(),
        command: Vec::new(),
    };
    run(&a, Role::Guard)
}

/// Which side of the wire signet is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Client side: signs intents for the agent, attests results.
    Proxy,
    /// Server side: verifies the callers' intents, attests results with the server's key.
    Guard,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Proxy => "proxy",
            Role::Guard => "guard",
        }
    }
}

/// Where the server is.
enum Upstream<'a> {
    Stdio(&'a str, &'a [String]),
    Http(std::net::TcpListener, signet_mcp::http::HttpOptions),
}

/// The HTTP listener and options of `--listen` / `--upstream`.
fn http_setup(
    h: &HttpArgs,
    max_message_bytes: usize,
) -> Result<(std::net::TcpListener, signet_mcp::http::HttpOptions)> {
    let (Some(listen), Some(upstream)) = (h.listen, &h.upstream) else {
        bail!("--listen and --upstream go together");
    };
    let mut opts = signet_mcp::http::HttpOptions::new(upstream).map_err(|e| anyhow!(e))?;
    opts.max_message_bytes = max_message_bytes;
    opts.allowed_origins.clone_from(&h.allow_origins);
    opts.loopback = listen.ip().is_loopback();
    if let Some(ca) = &h.upstream_ca {
        opts.trust_upstream_ca(&config::expand(ca))
            .map_err(|e| anyhow!("--upstream-ca: {e}"))?;
    }
    if let Some(var) = &h.bearer_token_env {
        let token = std::env::var(var)
            .map_err(|_| anyhow!("--bearer-token-env {var}: the variable is not set"))?;
        if token.len() < 16 {
            bail!("--bearer-token-env {var}: the token is shorter than 16 characters");
        }
        opts.bearer_token = Some(token);
    }
    if !opts.loopback && opts.bearer_token.is_none() {
        tracing::warn!(
            "listening on {listen}, which is not a loopback address, without a bearer token: anyone who reaches it can call the server"
        );
    }
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    listener.set_nonblocking(true)?;
    Ok((listener, opts))
}

fn run(a: &ProxyArgs, role: Role) -> Result<ExitCode> {
    init_tracing();
    let (cfg, cfg_path) = Config::load(a.gateway.config.as_deref())?;
    if let Some(p) = &cfg_path {
        tracing::debug!("config `{}`", p.display());
    }
    let tsa = tsa_setup(&cfg, cfg_path.as_deref())
        .map_err(|e| anyhow!("{e:#}; not starting (fix the [tsa] section or remove it)"))?;
    let max_message_bytes = a
        .gateway
        .max_message_bytes
        .or(cfg.max_message_bytes)
        .unwrap_or(16 * 1024 * 1024);
    let upstream = match (a.http.upstream.is_some(), a.command.split_first()) {
        (true, None) => {
            let (l, o) = http_setup(&a.http, max_message_bytes)?;
            Upstream::Http(l, o)
        }
        (false, Some((program, args))) => Upstream::Stdio(program, args),
        (true, Some(_)) => bail!("give either --upstream URL or -- COMMAND, not both"),
        (false, None) => bail!(
            "no server: use `signet proxy -- COMMAND ARGS…` (stdio) or `signet proxy --listen ADDR --upstream URL` (Streamable HTTP)"
        ),
    };
    let server = match (&a.name, &upstream) {
        (Some(n), _) => n.clone(),
        (None, Upstream::Stdio(..)) => default_server_name(&a.command),
        (None, Upstream::Http(l, o)) => match role {
            Role::Proxy => o.upstream.to_string(),
            Role::Guard => format!("http://{}{}", l.local_addr()?, o.path),
        },
    };
    let mut gcfg =
        GatewayConfig::new(Audience::new(server.clone()).map_err(|e| anyhow!("server name: {e}"))?);
    gcfg.pin_mode = match &a.gateway.pin_mode {
        Some(m) => m.parse::<PinMode>().map_err(|e| anyhow!(e))?,
        None => cfg.pin_mode.unwrap_or_default(),
    };
    gcfg.pins_path = Some(pins_path(&server)?);
    if let Some(file) = &a.pin_file {
        // Signed pins: verified before the server starts; any failure stops the proxy
        // (there is no falling back to trust on first use).
        let signers = cfg
            .pin_signers
            .iter()
            .flatten()
            .map(|s| {
                s.parse::<Did>()
                    .map(|d| d.public_key().clone())
                    .map_err(|e| anyhow!("pin_signers: `{s}` is not a did:key: {e}"))
            })
            .collect::<Result<Vec<PublicKey>>>()?;
        let path = config::expand(file);
        let pins = SignedPins::load_verified(&path, &signers, &gcfg.server)
            .map_err(|e| anyhow!("{e}; not starting (fail-closed)"))?;
        tracing::info!(
            "{} tools pinned by the signed pin file `{}`",
            pins.len(),
            path.display()
        );
        gcfg.signed_pins = Some((path, pins));
    }
    gcfg.fail_open = a.fail_open || cfg.fail_mode == Some(FailMode::Open);
    gcfg.receipts_in_result = !a.no_receipts_in_result && cfg.receipts_in_result.unwrap_or(true);
    gcfg.log_arguments = cfg.log_arguments.unwrap_or(true);
    gcfg.require_signatures = a.require_signatures || cfg.require_signatures.unwrap_or(false);
    gcfg.server_keys = a
        .server_keys
        .iter()
        .chain(cfg.server_keys.iter().flatten())
        .map(|s| {
            s.parse::<Did>()
                .map(|d| d.public_key().clone())
                .map_err(|e| anyhow!("server key `{s}` is not a did:key: {e}"))
        })
        .collect::<Result<Vec<PublicKey>>>()?;
    if role == Role::Guard {
        // The guard signs the receipts itself; pinned server keys are the proxy's setting.
        gcfg.server_keys.clear();
    }
    gcfg.allowed_signers = cfg
        .allowed_signers
        .iter()
        .flatten()
        .map(|s| {
            s.parse::<Did>()
                .map(|d| d.public_key().clone())
                .map_err(|e| anyhow!("allowed_signers: `{s}` is not a did:key: {e}"))
        })
        .collect::<Result<Vec<PublicKey>>>()?;
    gcfg.replay = ReplayWindow {
        max_age: cfg.max_age_secs.unwrap_or(300),
        max_skew: cfg.max_skew_secs.unwrap_or(30),
    };
    let opts = StdioOptions {
        max_message_bytes,
        ..StdioOptions::default()
    };

    // Keys and log: a failure is reported, and every call then fails closed (the server
    // still runs, so the client gets clear errors instead of a dead connection).
    let load = |flag: Option<&str>, cfgv: Option<&str>, name: &str| -> Result<SigningKey> {
        keyfile::load(&source_or_default(flag, cfgv, name)?)
    };
    let agent = match role {
        Role::Proxy => load(a.key_source.as_deref(), cfg.key_source.as_deref(), "agent")
            .map_err(|e| format!("{e:#}")),
        Role::Guard => Err("signet guard signs no intents: callers sign their own".to_owned()),
    };
    let gateway = load(
        a.gateway.gateway_key_source.as_deref(),
        cfg.gateway_key_source.as_deref(),
        "gateway",
    )
    .map_err(|e| format!("{e:#}"));
    let gateway = match (&agent, gateway) {
        (Ok(ak), Ok(gk)) if ak.public_key() == gk.public_key() => {
            Err("the gateway key must differ from the agent key".to_owned())
        }
        (_, g) => g,
    };
    let keys = match role {
        Role::Proxy => vec![("agent", &agent), ("gateway", &gateway)],
        Role::Guard => vec![("gateway", &gateway)],
    };
    for (what, k) in keys {
        if let Err(e) = k {
            tracing::error!("{what} key: {e}; tool calls will fail closed");
        }
    }
    let detail = format!(
        "signet {} {} server={server}",
        env!("CARGO_PKG_VERSION"),
        role.as_str()
    );
    let log_path = log_file(a.gateway.log.as_deref(), &cfg)?;
    let origin = cfg
        .log_origin
        .clone()
        .unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
    let opened = load(
        a.gateway.log_key_source.as_deref(),
        cfg.log_key_source.as_deref(),
        "log",
    )
    .and_then(|k| open_log(&log_path, k, &origin, &detail, tsa));
    let (sink, log): (Box<dyn AuditSink>, Option<OpenLog>) = match opened {
        Ok(l) => (Box::new(l.handle.clone()), Some(l)),
        Err(e) => {
            tracing::error!(
                "audit log `{}`: {e:#}; tool calls will fail closed",
                log_path.display()
            );
            (Box::new(Unavailable(format!("{e:#}"))), None)
        }
    };
    let nonces: Box<dyn Nonces> = match SqliteStore::open(&log_path) {
        Ok(s) if log.is_some() => {
            if let Err(e) = s.set_cache_kib(PROCESS_CACHE_KIB) {
                tracing::warn!("nonce store cache: {e}");
            }
            Box::new(PersistentNonces::new(s))
        }
        _ => Box::new(MemoryNonceStore::new()),
    };
    let clock: signet_mcp::gateway::Clock =
        Arc::new(|| now().unwrap_or(signet_core::replay::UnixTime(0)));
    let mut gw = Gateway::new(gcfg, agent, gateway, sink, nonces, clock);
    if let Some(enforcer) = load_policy(&cfg, cfg_path.as_deref())? {
        gw = gw.with_policy(Box::new(PolicyGate(enforcer)));
    }
    let gw = Arc::new(gw);

    let start_detail = format!(
        "{detail} pid={} pin_mode={} fail_mode={}",
        std::process::id(),
        gw.config().pin_mode.as_str(),
        if gw.config().fail_open {
            "open"
        } else {
            "closed"
        }
    );
    let at = now()?;
    if let Err(e) = gw.append(&Entry::Lifecycle(LifecycleEntry {
        event: LifecycleEvent::Start,
        at,
        detail: Some(start_detail),
    })) {
        tracing::error!("cannot record the proxy start: {e}");
    }
    if gw.config().fail_open {
        tracing::warn!("FAIL-OPEN: calls go through even when the log or a key is unavailable");
        if let Err(e) = gw.append(&Entry::Lifecycle(LifecycleEntry {
            event: LifecycleEvent::Dangerous,
            at,
            detail: Some("fail-open".into()),
        })) {
            tracing::error!("cannot record fail-open: {e}");
        }
    }

    let code = match upstream {
        Upstream::Stdio(program, args) => {
            let status = stdio::run(program, args, Arc::clone(&gw), &opts)
                .with_context(|| format!("proxy for `{}`", a.command.join(" ")))?;
            exit_code_of(status)
        }
        Upstream::Http(listener, opts) => {
            run_http(Arc::clone(&gw), listener, opts, role)?;
            ExitCode::SUCCESS
        }
    };
    drop(gw);
    if let Some(l) = log {
        l.close(&detail)?;
    }
    Ok(code)
}

/// Serve the HTTP listener until SIGINT / SIGTERM.
fn run_http(
    gw: Arc<Gateway>,
    listener: std::net::TcpListener,
    opts: signet_mcp::http::HttpOptions,
    role: Role,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let bound = listener.local_addr()?;
        tracing::info!(
            "signet {}: listening on http://{bound}{} for {}",
            role.as_str(),
            opts.path,
            opts.upstream
        );
        signet_mcp::http::serve(
            Arc::clone(&gw),
            listener,
            opts,
            crate::servecmd::wait_for_signal(),
        )
        .await
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    for line in gw.abandon_pending("signet is stopping") {
        tracing::error!("unanswered at shutdown: {line}");
    }
    result.context("the HTTP listener failed")
}

fn exit_code_of(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(c), _) => ExitCode::from(u8::try_from(c & 0xff).unwrap_or(1)),
        (None, Some(s)) => {
            ExitCode::from(u8::try_from((s & 0x7f).saturating_add(128)).unwrap_or(1))
        }
        _ => ExitCode::from(1),
    }
}

/// `signet init`.
pub fn init(a: &InitArgs) -> Result<ExitCode> {
    let home = keyfile::signet_home()?;
    std::fs::create_dir_all(&home)
        .with_context(|| format!("cannot create `{}`", home.display()))?;
    let name = if a.yaml { "signet.yaml" } else { "signet.toml" };
    let cfg_path = home.join(name);
    let text = if a.yaml {
        crate::config::DEFAULT_TOML
            .lines()
            .map(toml_line_to_yaml)
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    } else {
        crate::config::DEFAULT_TOML.to_owned()
    };
    let mut err = std::io::stderr().lock();
    if cfg_path.exists() && !a.force {
        writeln!(
            err,
            "signet: keeping the existing `{}` (use --force to replace it)",
            cfg_path.display()
        )?;
    } else {
        Config::parse(&text, &cfg_path)?;
        std::fs::write(&cfg_path, &text)
            .with_context(|| format!("cannot write `{}`", cfg_path.display()))?;
        writeln!(err, "signet: wrote `{}`", cfg_path.display())?;
    }
    let (cfg, _) = Config::load(Some(&cfg_path))?;
    let alg = match a.algorithm {
        Some(x) => crate::commands::algorithm(x),
        None => cfg
            .algorithm
            .as_deref()
            .and_then(config::parse_algorithm)
            .unwrap_or(Algorithm::Ed25519),
    };
    let pass = if a.unencrypted {
        None
    } else {
        Some(keyfile::passphrase("passphrase for the new keys: ", true)?)
    };
    for (name, key_alg) in [
        ("agent", alg),
        ("gateway", alg),
        ("log", Algorithm::Ed25519),
    ] {
        let path = keyfile::default_key_path(name)?;
        if path.exists() {
            writeln!(
                err,
                "signet: keeping the existing {name} key `{}`",
                path.display()
            )?;
            continue;
        }
        let key = write_new_key(key_alg, &path, pass.clone(), false)?;
        writeln!(
            err,
            "signet: wrote {} {key_alg} {name} key `{}` ({})",
            if a.unencrypted {
                "UNENCRYPTED"
            } else {
                "encrypted"
            },
            path.display(),
            Did::from_public_key(&key.public_key()).key_id()
        )?;
    }
    drop(err);
    out(&format!(
        "signet is ready in {}.\nPut it in front of an MCP server, for example in Claude Desktop's config:\n  \"command\": \"signet\", \"args\": [\"proxy\", \"--\", \"npx\", \"-y\", \"@modelcontextprotocol/server-filesystem\", \"/tmp\"]\nSee docs/clients.md for Claude Code and Cursor.",
        home.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The default config's TOML lines in YAML spelling (`key = value` → `key: value`).
fn toml_line_to_yaml(line: &str) -> String {
    if line.starts_with('#') || line.trim().is_empty() {
        return line.to_owned();
    }
    match line.split_once(" = ") {
        Some((k, v)) => format!("{k}: {v}"),
        None => line.to_owned(),
    }
}

fn pin_files(filter: Option<&str>) -> Result<Vec<(PathBuf, PinFile)>> {
    let dir = keyfile::signet_home()?.join("pins");
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(anyhow!("cannot read `{}`: {e}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Some(file) = PinFile::load(&path)? else {
            continue;
        };
        if filter.is_none_or(|f| file.server.contains(f)) {
            out.push((path, file));
        }
    }
    out.sort_by(|a, b| a.1.server.cmp(&b.1.server));
    Ok(out)
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// `signet pins`.
pub fn pins(a: &PinsArgs) -> Result<ExitCode> {
    let files = pin_files(a.server.as_deref())?;
    match &a.command {
        None | Some(PinsCommand::List) => {
            if files.is_empty() {
                out("no pins yet (they are made the first time a proxied client lists tools)")?;
            }
            for (_, f) in &files {
                let source = f
                    .signed
                    .as_ref()
                    .map(|p| format!(" (signed pin file `{}`)", p.display()))
                    .unwrap_or_default();
                out(&format!(
                    "{}  {} tools pinned, {} pending{source}",
                    f.server,
                    f.tools.len(),
                    f.pending.len()
                ))?;
                for (name, pin) in &f.tools {
                    let mark = if f.pending.contains_key(name) {
                        "!"
                    } else {
                        " "
                    };
                    out(&format!("  {mark} {name:<32} {}", pin.digest))?;
                }
                for (name, p) in &f.pending {
                    if !f.tools.contains_key(name) && p.is_some() {
                        out(&format!("  + {name:<32} (added, pending)"))?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(PinsCommand::Diff) => {
            let mut any = false;
            for (_, f) in &files {
                for (name, new) in &f.pending {
                    any = true;
                    let old = f
                        .tools
                        .get(name)
                        .map(|p| pretty(&p.definition))
                        .unwrap_or_default();
                    let new_text = new
                        .as_ref()
                        .map(|p| pretty(&p.definition))
                        .unwrap_or_default();
                    out(&format!(
                        "--- {} {name} (pinned)\n+++ {} {name} (now)",
                        f.server, f.server
                    ))?;
                    let diff = similar::TextDiff::from_lines(&old, &new_text);
                    let mut text = String::new();
                    for change in diff.iter_all_changes() {
                        let sign = match change.tag() {
                            similar::ChangeTag::Delete => '-',
                            similar::ChangeTag::Insert => '+',
                            similar::ChangeTag::Equal => ' ',
                        };
                        text.push(sign);
                        text.push_str(change.value());
                        if !change.value().ends_with('\n') {
                            text.push('\n');
                        }
                    }
                    out(text.trim_end())?;
                }
            }
            if !any {
                out("no pending changes")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(PinsCommand::Accept { tool }) => {
            let mut n = 0usize;
            for (path, mut f) in files {
                if let Some(signed) = &f.signed {
                    if !f.pending.is_empty() {
                        out(&format!(
                            "{}: pins come from the signed pin file `{}`; accepting needs a new signed file (`signet pins sign`)",
                            f.server,
                            signed.display()
                        ))?;
                    }
                    continue;
                }
                let accepted = f.accept(tool.as_deref());
                if accepted.is_empty() {
                    continue;
                }
                f.save(&path)?;
                for t in accepted {
                    n = n.saturating_add(1);
                    out(&format!("accepted {} {t}", f.server))?;
                }
            }
            if n == 0 {
                bail!("nothing to accept");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(PinsCommand::Sign { key, output }) => {
            let [(_, f)] = files.as_slice() else {
                bail!(
                    "{} servers match; name exactly one with `--server TEXT` (see `signet pins list`)",
                    files.len()
                );
            };
            if !f.pending.is_empty() {
                bail!(
                    "{} has pending changes; review them (`signet pins diff`) and accept or keep the pins first",
                    f.server
                );
            }
            if f.tools.is_empty() {
                bail!("{} has no pinned tools to sign", f.server);
            }
            let signer = keyfile::load(&config::key_source(key)?)?;
            let signed = SignedPins::sign(f, &signer, now()?).map_err(|e| anyhow!(e))?;
            signed.save(output)?;
            out(&format!(
                "signed {} pins of {} with {} into `{}`",
                f.tools.len(),
                f.server,
                Did::from_public_key(&signer.public_key()),
                output.display()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
