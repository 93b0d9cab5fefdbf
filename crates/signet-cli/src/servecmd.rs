//! `signet serve`: load the config, the agent key and the log, then run signet's own MCP
//! server (`signet_mcp::serve`) over stdio or Streamable HTTP. The tokio runtime lives only
//! here. Stdout is the MCP transport in stdio mode: everything else goes to stderr.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use signet_core::statement::Audience;
use signet_log::entry::{Entry, LifecycleEntry, LifecycleEvent};
use signet_log::note::NoteVerifier;
use signet_mcp::gateway::{AuditSink, Unavailable};
use signet_mcp::serve::{self, CancellationToken, ServeContext, SignetServer};

use crate::cli::ServeArgs;
use crate::commands::now;
use crate::config::{self, Config};
use crate::keyfile::{self, KeySource};
use crate::proxycmd::{DEFAULT_ORIGIN, OpenLog, init_tracing, log_file, open_log};

fn source(flag: Option<&str>, cfg: Option<&str>, name: &str) -> Result<KeySource> {
    match flag.or(cfg) {
        Some(s) => config::key_source(s),
        None => Ok(KeySource::File(keyfile::default_key_path(name)?)),
    }
}

fn random16() -> Result<[u8; 16], String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| format!("os random source failed: {e}"))?;
    Ok(b)
}

/// `signet serve [--http ADDR]`.
pub fn serve(a: &ServeArgs) -> Result<ExitCode> {
    init_tracing();
    if let Some(addr) = a.http
        && !addr.ip().is_loopback()
    {
        bail!(
            "--http {addr}: signet serve listens on loopback addresses only (127.0.0.1, ::1); put a reverse proxy with authentication in front of it to reach it from elsewhere"
        );
    }
    let (cfg, cfg_path) = Config::load(a.config.as_deref())?;
    // An invalid policy stops start-up, as in the proxy (fail-closed).
    let policy = crate::proxycmd::policy_set(&cfg, cfg_path.as_deref())?
        .map(|p| Box::new(PolicyAdapter(p)) as Box<dyn serve::PolicyEvaluate>);
    let tsa = crate::proxycmd::tsa_setup(&cfg, cfg_path.as_deref())?;
    let audience = Audience::new(a.audience.clone()).map_err(|e| anyhow!("--audience: {e}"))?;

    // Keys and log: a failure is reported and the tools that need them fail closed.
    let agent = source(a.key_source.as_deref(), cfg.key_source.as_deref(), "agent")
        .and_then(|s| keyfile::load(&s))
        .map_err(|e| format!("{e:#}"));
    if let Err(e) = &agent {
        tracing::error!("agent key: {e}; sign_action will fail closed");
    }
    let mode = match a.http {
        Some(addr) => format!("http={addr}"),
        None => "stdio".to_owned(),
    };
    let detail = format!(
        "signet {} serve audience={audience} {mode}",
        env!("CARGO_PKG_VERSION")
    );
    let log_path = log_file(a.log.as_deref(), &cfg)?;
    let origin = cfg
        .log_origin
        .clone()
        .unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
    let log_key = source(
        a.log_key_source.as_deref(),
        cfg.log_key_source.as_deref(),
        "log",
    )
    .and_then(|s| keyfile::load(&s));
    let (verifier, opened) = match log_key {
        Ok(k) => {
            let v = NoteVerifier::from_signing_key(&origin, &k).ok();
            (v, open_log(&log_path, k, &origin, &detail, tsa))
        }
        Err(e) => (None, Err(e)),
    };
    let (sink, log): (Box<dyn AuditSink>, Option<OpenLog>) = match opened {
        Ok(l) => (Box::new(l.handle.clone()), Some(l)),
        Err(e) => {
            tracing::error!(
                "audit log `{}`: {e:#}; sign_action will fail closed",
                log_path.display()
            );
            (Box::new(Unavailable(format!("{e:#}"))), None)
        }
    };
    if let Err(e) = sink.append(&Entry::Lifecycle(LifecycleEntry {
        event: LifecycleEvent::Start,
        at: now()?,
        detail: Some(format!("{detail} pid={}", std::process::id())),
    })) {
        tracing::error!("cannot record the server start: {e}");
    }

    let ctx = Arc::new(ServeContext {
        audience,
        agent,
        sink,
        log_path: Some(log_path),
        log_key: verifier,
        // Without a `[policy]` section check_policy answers that no policy is configured
        // (an isError result), never "allowed".
        policy,
        clock: Arc::new(|| now().unwrap_or(signet_core::replay::UnixTime(0))),
        random: Arc::new(random16),
    });
    let server = SignetServer::new(Arc::clone(&ctx));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        let on_signal = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("signal received; stopping");
            on_signal.cancel();
        });
        match a.http {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?;
                let bound = listener.local_addr()?;
                tracing::info!("signet serve: listening on http://{bound}/mcp");
                serve::serve_http(server, listener, shutdown).await?;
            }
            None => {
                tracing::info!("signet serve: MCP on stdio");
                serve::serve_stdio(server, shutdown).await?;
            }
        }
        anyhow::Ok(())
    });
    // Stdin may still be held by a blocking read; do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(500));
    // The clean stop is recorded by `Log::close` once every handle is gone.
    drop(ctx);
    if let Some(l) = log {
        l.close(&detail)?;
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM or SIGINT.
pub async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot watch SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// signet-policy as `check_policy`'s evaluator: stateless (`Policy::evaluate`), so asking
/// never consumes a rate limit or creates an approval.
struct PolicyAdapter(signet_policy::Policy);

impl serve::PolicyEvaluate for PolicyAdapter {
    fn evaluate(
        &self,
        q: &serve::PolicyQuery<'_>,
    ) -> std::result::Result<serve::PolicyAnswer, String> {
        let evaluation = self.0.evaluate(&signet_policy::CallRequest {
            agent: q.agent,
            server: q.server,
            tool: q.tool,
            arguments: q.arguments,
            annotations: None,
            now: q.now,
        });
        Ok(serve::PolicyAnswer {
            reason: evaluation.reason,
            decision: evaluation.decision,
            categories: evaluation.categories,
        })
    }
}
