//! `signet serve`: signet's own MCP server, for agents and frameworks that sign and check
//! actions explicitly. Tools: `sign_action`, `check_policy`, `verify_signature`,
//! `list_actions`, `verify_log`, `prove_action`, `get_identity` ([`tools`]).
//!
//! Built on rmcp (the only place signet uses it), over stdio ([`serve_stdio`]) or Streamable
//! HTTP ([`serve_http`], loopback by default), in both protocol eras (the `initialize`
//! handshake and 2026-07-28 `server/discover`). Every tool advertises an input and an
//! output schema and answers with `structuredContent`; every failure, including bad
//! arguments, is an `isError` result with a clear message, never a JSON-RPC error (only an
//! unknown tool name is one). Arguments are read by hand ([`args`]) rather than through
//! rmcp's `Parameters<T>`, which would turn a missing field into an invalid-params error
//! the model never sees.

pub mod args;
pub mod records;
pub mod tools;

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt as _};
pub use tokio_util::sync::CancellationToken;

pub use tools::{PolicyAnswer, PolicyEvaluate, PolicyQuery, ServeContext, ToolOutput};

/// Why a tool call failed; the text is what the caller reads in the `isError` result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The arguments are wrong: missing, of the wrong type, or not a record.
    #[error("{0}")]
    BadInput(String),
    /// A key, the log or the policy is unavailable; nothing was done (fail-closed).
    #[error("{0}")]
    Unavailable(String),
    /// Something inside signet failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Errors running the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The MCP session could not start.
    #[error("mcp session: {0}")]
    Session(String),
    /// Socket I/O failed.
    #[error("http server: {0}")]
    Io(#[from] std::io::Error),
}

/// Instructions shown to clients.
const INSTRUCTIONS: &str = "signet makes actions provable. Call sign_action before you act (it signs the action with the configured key and logs it), check_policy to ask whether an action would be allowed, verify_signature to check any signed record or proof bundle, list_actions / verify_log / prove_action to audit the log, get_identity for the signing key's did:key. Nothing leaves this machine.";

/// The MCP server: the tools over one [`ServeContext`].
#[derive(Debug, Clone)]
pub struct SignetServer {
    ctx: Arc<ServeContext>,
}

impl SignetServer {
    /// A server over `ctx`.
    #[must_use]
    pub fn new(ctx: Arc<ServeContext>) -> Self {
        Self { ctx }
    }

    /// The tool definitions, as `tools/list` returns them.
    #[must_use]
    pub fn tool_definitions() -> Vec<Tool> {
        tools::TOOLS.iter().map(definition).collect()
    }
}

fn definition(t: &tools::ToolSpec) -> Tool {
    let annotations = ToolAnnotations::with_title(t.title)
        .read_only(t.read_only)
        .destructive(false)
        .idempotent(t.read_only)
        .open_world(false);
    Tool::new_with_raw(t.name, Some(t.description.into()), t.input_schema())
        .with_title(t.title)
        .with_raw_output_schema(t.output_schema())
        .with_annotations(annotations)
}

/// The MCP result of a tool's answer.
#[must_use]
pub fn result_of(r: Result<ToolOutput, ToolError>) -> CallToolResult {
    match r {
        Ok(out) => {
            let mut res = CallToolResult::structured(signet_core::canon::sorted_members(out.value));
            res.content.insert(0, ContentBlock::text(out.summary));
            res
        }
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
    }
}

impl ServerHandler for SignetServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("signet", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(Self::tool_definitions()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::spec(name).map(definition)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        if tools::spec(&name).is_none() {
            return Err(ErrorData::invalid_params(
                format!("unknown tool `{name}`"),
                None,
            ));
        }
        let ctx = Arc::clone(&self.ctx);
        let arguments = request.arguments;
        // Log appends wait for a durable commit and reads touch SQLite: off the runtime.
        let joined = tokio::task::spawn_blocking(move || {
            tools::call(&ctx, &name, arguments.as_ref())
                .unwrap_or_else(|| Err(ToolError::Internal(format!("no tool `{name}`"))))
        })
        .await;
        let r =
            joined.unwrap_or_else(|e| Err(ToolError::Internal(format!("the tool failed: {e}"))));
        if let Err(e) = &r {
            tracing::info!("tool call failed: {e}");
        }
        Ok(result_of(r).into())
    }
}

/// Serve MCP over this process's stdin and stdout until the client closes stdin or
/// `shutdown` is cancelled.
///
/// # Errors
/// The session could not start or ended abnormally.
pub async fn serve_stdio(
    server: SignetServer,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    serve_io(server, rmcp::transport::stdio(), shutdown).await
}

/// Serve MCP over any byte stream pair (stdio, or an in-memory pipe in tests).
///
/// # Errors
/// The session could not start or ended abnormally.
pub async fn serve_io<R, W>(
    server: SignetServer,
    io: (R, W),
    shutdown: CancellationToken,
) -> Result<(), ServeError>
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let running = server
        .serve_with_ct(io, shutdown)
        .await
        .map_err(|e| ServeError::Session(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| ServeError::Session(e.to_string()))?;
    Ok(())
}

/// Serve MCP over Streamable HTTP at `/mcp` on `listener` until `shutdown` is cancelled.
/// Only loopback `Host` headers are accepted (DNS-rebinding defense), and a browser
/// `Origin` must be a loopback one.
///
/// # Errors
/// The HTTP server failed.
pub async fn serve_http(
    server: SignetServer,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let mut config = StreamableHttpServerConfig::default()
        .with_sse_keep_alive(None)
        .with_cancellation_token(shutdown.child_token());
    config.allowed_origins = vec![
        "http://localhost:*".into(),
        "http://127.0.0.1:*".into(),
        "http://[::1]:*".into(),
    ];
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled_owned().await })
        .await?;
    Ok(())
}
