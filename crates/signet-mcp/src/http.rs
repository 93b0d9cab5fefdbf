//! The Streamable HTTP transport: `signet proxy --listen … --upstream …` (client side) and
//! `signet guard` (server side). The same [`Gateway`] as the stdio proxy decides about every
//! message; this module only moves bytes between HTTP and the gateway.
//!
//! - A POST carries one JSON-RPC message. It goes through [`Gateway::on_client_in`] in a
//!   scope of its own (JSON-RPC ids need only be unique per client, and the answer to a
//!   request comes back on that POST's response), then to the upstream server. The upstream
//!   answer — one JSON body or an SSE stream — goes through [`Gateway::on_server_in`] in the
//!   same scope; SSE is relayed event by event as it arrives, never buffered whole. Calls the
//!   stream ended without answering are attested as failed and answered with an error.
//! - GET (the handshake era's server stream) is relayed the same way; DELETE passes.
//! - MCP 2026-07-28 mirror headers: `Mcp-Method` / `Mcp-Name` must match the body (and are
//!   required when `MCP-Protocol-Version` is 2026-07-28 or later); otherwise HTTP 400 with
//!   JSON-RPC error -32020. Policy is decided from the body, never from headers.
//! - Security defaults: a browser `Origin` must be a loopback origin or listed (else 403);
//!   on a loopback listener the `Host` must be a loopback name too (DNS rebinding); an
//!   optional bearer token guards the listener; no CORS headers are added; bodies and SSE
//!   events are size-limited; `Accept-Encoding` is not forwarded (signet reads the bodies).
//! - An `https://` upstream is reached over TLS (rustls), its certificate checked against
//!   the Mozilla roots or a CA given in config.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body::{Frame, SizeHint};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::gateway::{Gateway, Verdict, codes, error_line};
use crate::jsonrpc::{self, RawObject};

/// How the HTTP transport behaves.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The upstream MCP endpoint (`http://host:port/path`).
    pub upstream: Uri,
    /// The path this listener serves the MCP endpoint at (default: the upstream's path).
    pub path: String,
    /// Largest request body, response body or SSE event, in bytes.
    pub max_message_bytes: usize,
    /// When set, every request must carry `Authorization: Bearer <token>` (not forwarded).
    pub bearer_token: Option<String>,
    /// Browser origins allowed besides loopback ones (`http://localhost:*` and the like).
    pub allowed_origins: Vec<String>,
    /// Whether the listener is bound to a loopback address (then `Host` must be loopback).
    pub loopback: bool,
    /// For an `https://` upstream: the CA certificates its certificate must chain to
    /// (`None`: the Mozilla roots of `webpki-roots`).
    pub upstream_roots: Option<Vec<CertificateDer<'static>>>,
}

impl HttpOptions {
    /// Defaults for `upstream`: its path, 16 MiB messages, no token, loopback origins only.
    ///
    /// # Errors
    /// `upstream` is not an absolute `http://` URL.
    pub fn new(upstream: &str) -> Result<Self, String> {
        let uri: Uri = upstream
            .parse()
            .map_err(|e| format!("upstream `{upstream}` is not a URL: {e}"))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => {
                return Err(format!(
                    "upstream `{upstream}` must be an http:// or https:// URL"
                ));
            }
        }
        if uri.authority().is_none() {
            return Err(format!("upstream `{upstream}` has no host"));
        }
        let path = match uri.path() {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        Ok(HttpOptions {
            upstream: uri,
            path,
            max_message_bytes: 16 * 1024 * 1024,
            bearer_token: None,
            allowed_origins: Vec::new(),
            loopback: true,
            upstream_roots: None,
        })
    }

    /// Trust only the CA certificates in the PEM file `path` for an https upstream.
    ///
    /// # Errors
    /// The file cannot be read or holds no certificate.
    pub fn trust_upstream_ca(&mut self, path: &std::path::Path) -> Result<(), String> {
        use rustls::pki_types::pem::PemObject as _;
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| format!("CA file `{}`: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("CA file `{}` holds no certificate", path.display()));
        }
        self.upstream_roots = Some(certs);
        Ok(())
    }

    /// The TLS client configuration for an https upstream.
    fn tls_config(&self) -> std::io::Result<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.upstream_roots {
            Some(certs) => {
                for c in certs {
                    roots.add(c.clone()).map_err(std::io::Error::other)?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        // rustls 0.23.48 marks ring's provider deprecated (no post-quantum key exchange);
        // it is what the locked rustls offers without aws-lc's C build, and the allowance
        // keeps a newer rustls from failing the build.
        #[allow(deprecated, reason = "see above")]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}

/// A response body: a whole buffer or a stream of chunks from a relay task.
pub enum ProxyBody {
    /// The whole body.
    Full(Option<Bytes>),
    /// Chunks as they come.
    Stream(mpsc::Receiver<Result<Bytes, std::io::Error>>),
}

impl ProxyBody {
    fn full(b: impl Into<Bytes>) -> Self {
        ProxyBody::Full(Some(b.into()))
    }
}

impl std::fmt::Debug for ProxyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProxyBody::Full(_) => "ProxyBody::Full",
            ProxyBody::Stream(_) => "ProxyBody::Stream",
        })
    }
}

impl http_body::Body for ProxyBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            ProxyBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            ProxyBody::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ProxyBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            ProxyBody::Full(None) => SizeHint::with_exact(0),
            ProxyBody::Stream(_) => SizeHint::default(),
        }
    }
}

struct Ctx {
    gateway: Arc<Gateway>,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    opts: HttpOptions,
    next_scope: AtomicU64,
}

/// Serve on `listener` until `shutdown` resolves; then stop accepting and give open
/// exchanges up to 5 s to finish.
///
/// # Errors
/// Accepting connections failed.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    opts: HttpOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(10)));
    connector.set_nodelay(true);
    connector.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(opts.tls_config()?)
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    let client = Client::builder(TokioExecutor::new()).build(https);
    let ctx = Arc::new(Ctx {
        gateway,
        client,
        opts,
        next_scope: AtomicU64::new(0),
    });
    let tracker = tokio_util::task::TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let ctx = Arc::clone(&ctx);
        tracker.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let ctx = Arc::clone(&ctx);
                async move { Ok::<_, Infallible>(handle(ctx, req, peer).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("connection from {peer}: {e}");
            }
        });
    }
    tracker.close();
    if tokio::time::timeout(Duration::from_secs(5), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("open HTTP exchanges did not finish within 5 s of shutdown");
    }
    Ok(())
}

async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>, peer: SocketAddr) -> Response<ProxyBody> {
    if req.uri().path() != ctx.opts.path {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    }
    if let Some(refusal) = admit(&ctx.opts, req.headers()) {
        tracing::warn!("refused a request from {peer}: {refusal:?}");
        return refusal.response();
    }
    match *req.method() {
        Method::POST => post(ctx, req).await,
        Method::GET | Method::DELETE => {
            let (parts, _) = req.into_parts();
            match forward(&ctx, &parts.method, &parts.headers, Bytes::new()).await {
                Ok(resp) => relay(&ctx, resp, None).await,
                Err(e) => json(
                    StatusCode::BAD_GATEWAY,
                    error_line(
                        "null",
                        codes::INTERNAL_ERROR,
                        &format!("signet: the upstream server could not be reached: {e}"),
                    ),
                ),
            }
        }
        _ => {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            r
        }
    }
}

/// Why a request is refused before signet reads its body.
#[derive(Debug)]
enum Refusal {
    Origin(String),
    Host(String),
    Unauthorized,
}

impl Refusal {
    fn response(&self) -> Response<ProxyBody> {
        match self {
            Refusal::Origin(o) => json(
                StatusCode::FORBIDDEN,
                error_line(
                    "null",
                    codes::INVALID_REQUEST,
                    &format!("signet: origin `{o}` is not allowed"),
                ),
            ),
            Refusal::Host(h) => json(
                StatusCode::FORBIDDEN,
                error_line(
                    "null",
                    codes::INVALID_REQUEST,
                    &format!("signet: host `{h}` is not allowed on a loopback listener"),
                ),
            ),
            Refusal::Unauthorized => {
                let mut r = json(
                    StatusCode::UNAUTHORIZED,
                    error_line(
                        "null",
                        codes::INVALID_REQUEST,
                        "signet: a valid bearer token is required",
                    ),
                );
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"signet\""),
                );
                r
            }
        }
    }
}

/// Origin, Host and bearer-token checks.
fn admit(opts: &HttpOptions, headers: &HeaderMap) -> Option<Refusal> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let text = origin.to_str().unwrap_or("<not text>");
        let listed = opts.allowed_origins.iter().any(|o| o == text);
        if !listed && !is_loopback_origin(text) {
            return Some(Refusal::Origin(text.to_owned()));
        }
    }
    if opts.loopback {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !is_loopback_host(host) {
            return Some(Refusal::Host(host.to_owned()));
        }
    }
    if let Some(token) = &opts.bearer_token {
        use subtle::ConstantTimeEq as _;
        let ok = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| bool::from(t.as_bytes().ct_eq(token.as_bytes())));
        if !ok {
            return Some(Refusal::Unauthorized);
        }
    }
    None
}

/// `http(s)://localhost[:port]`, `127.0.0.1`, `[::1]`.
fn is_loopback_origin(origin: &str) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    rest.is_some_and(is_loopback_host)
}

/// A `Host` value naming a loopback address, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

async fn post(ctx: Arc<Ctx>, req: Request<Incoming>) -> Response<ProxyBody> {
    let max = ctx.opts.max_message_bytes;
    let (parts, body) = req.into_parts();
    let too_large = || {
        json(
            StatusCode::PAYLOAD_TOO_LARGE,
            error_line(
                "null",
                codes::INVALID_REQUEST,
                &format!("signet: the message exceeds the limit of {max} bytes"),
            ),
        )
    };
    if parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > max as u64)
    {
        return too_large();
    }
    let body = match Limited::new(body, max).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(e) => {
            return json(
                StatusCode::BAD_REQUEST,
                error_line(
                    "null",
                    codes::PARSE_ERROR,
                    &format!("signet: reading the request failed: {e}"),
                ),
            );
        }
    };
    if let Err((id, why)) = check_mirrors(&parts.headers, &body) {
        tracing::warn!("refused a request: {why}");
        return json(
            StatusCode::BAD_REQUEST,
            error_line(&id, codes::HEADER_MISMATCH, &format!("signet: {why}")),
        );
    }
    // From here on the exchange runs in its own task: a client that goes away (its
    // connection, and with it this handler, dropped) must not leave a logged intent without
    // its forwarded call, or a result without its receipt.
    let task = tokio::spawn(exchange(Arc::clone(&ctx), parts, body));
    task.await.unwrap_or_else(|e| {
        json(
            StatusCode::INTERNAL_SERVER_ERROR,
            error_line("null", codes::INTERNAL_ERROR, &format!("signet: {e}")),
        )
    })
}

/// One POSTed message through the gateway, to the upstream and back.
async fn exchange(ctx: Arc<Ctx>, parts: http::request::Parts, body: Bytes) -> Response<ProxyBody> {
    let n = ctx.next_scope.fetch_add(1, Ordering::Relaxed);
    let scope = format!("post-{n}");
    let session = parts
        .headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let verdict = {
        let gw = Arc::clone(&ctx.gateway);
        let scope = scope.clone();
        let body = body.clone();
        tokio::task::spawn_blocking(move || {
            gw.on_client_in(Some(&scope), session.as_deref(), &body)
        })
        .await
        .unwrap_or_else(|e| {
            Verdict::Answer(error_line(
                "null",
                codes::INTERNAL_ERROR,
                &format!("signet: {e}"),
            ))
        })
    };
    let outgoing = match verdict {
        Verdict::Pass => body,
        Verdict::Forward(text) => Bytes::from(text),
        Verdict::Answer(text) => {
            // A message that is not valid JSON-RPC is refused as the spec says (HTTP 400);
            // an answered request (a refused call's `isError` result, an error about its
            // parameters) is a normal response to it.
            let status = if text.starts_with("{\"jsonrpc\":\"2.0\",\"id\":null,") {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            return json(status, text);
        }
        Verdict::Drop(why) => {
            return json(
                StatusCode::BAD_REQUEST,
                error_line("null", codes::INVALID_REQUEST, &format!("signet: {why}")),
            );
        }
    };
    match forward(&ctx, &parts.method, &parts.headers, outgoing).await {
        Ok(resp) => relay(&ctx, resp, Some(scope)).await,
        Err(e) => {
            let why = format!("the upstream server could not be reached ({e})");
            tracing::error!("{why}");
            let lines = abandon(&ctx, &scope, &why).await;
            let body = lines.into_iter().next().unwrap_or_else(|| {
                error_line("null", codes::INTERNAL_ERROR, &format!("signet: {why}"))
            });
            json(StatusCode::BAD_GATEWAY, body)
        }
    }
}

async fn abandon(ctx: &Ctx, scope: &str, why: &str) -> Vec<String> {
    // The usual case, every request answered, costs no hand-off to the blocking pool.
    if !ctx.gateway.waiting_in(scope) {
        return Vec::new();
    }
    let gw = Arc::clone(&ctx.gateway);
    let scope = scope.to_owned();
    let why = why.to_owned();
    tokio::task::spawn_blocking(move || gw.abandon_scope(&scope, &why))
        .await
        .unwrap_or_default()
}

/// The MCP 2026-07-28 mirror headers against the body: `Err((id, why))` when they disagree
/// or a required one is missing.
fn check_mirrors(headers: &HeaderMap, body: &[u8]) -> Result<(), (String, String)> {
    let text_of = |name: &'static str| headers.get(name).map(|v| v.to_str().map_err(|_| name));
    let method_h = text_of("mcp-method");
    let name_h = text_of("mcp-name");
    let version_h = headers
        .get("mcp-protocol-version")
        .map(|v| v.to_str().unwrap_or("<not text>"));
    let Ok(text) = std::str::from_utf8(body) else {
        return Ok(()); // the gateway answers that
    };
    let Ok(obj) = RawObject::parse(text) else {
        return Ok(());
    };
    let params = obj.get("params").and_then(|p| RawObject::from_raw(p).ok());
    // The stateless era puts the protocol version in every request's `_meta` too.
    let body_version = params
        .as_ref()
        .and_then(|p| p.get("_meta"))
        .and_then(|m| RawObject::from_raw(m).ok())
        .and_then(|m| m.get(PROTOCOL_VERSION_META))
        .and_then(|v| serde_json::from_str::<String>(v.get()).ok());
    let modern = version_h.is_some_and(|v| v >= MODERN)
        || body_version.as_deref().is_some_and(|v| v >= MODERN);
    if method_h.is_none() && name_h.is_none() && !modern {
        return Ok(());
    }
    let id = obj
        .get("id")
        .map(|i| i.get().to_owned())
        .filter(|i| jsonrpc::is_id(i))
        .unwrap_or_else(|| "null".to_owned());
    let fail = |why: String| Err((id.clone(), why));
    // A mirror header given twice could be read one way here and another way further on.
    for name in ["mcp-method", "mcp-name", "mcp-protocol-version"] {
        if headers.get_all(name).iter().nth(1).is_some() {
            return fail(format!("the `{name}` header is given more than once"));
        }
    }
    if let Some(b) = &body_version
        && modern
        && version_h != Some(b.as_str())
    {
        return fail(format!(
            "the `MCP-Protocol-Version` header {} does not match the body's protocol version `{b}`",
            version_h.map_or("is missing and".to_owned(), |h| format!("`{h}`"))
        ));
    }
    let Some(method) = obj
        .get("method")
        .and_then(|m| serde_json::from_str::<String>(m.get()).ok())
    else {
        return Ok(()); // a response from the client: no mirrors
    };
    match method_h {
        Some(Err(h)) => return fail(format!("the `{h}` header is not text")),
        Some(Ok(h)) if h != method => {
            return fail(format!(
                "the `Mcp-Method` header `{h}` does not match the body's method `{method}`"
            ));
        }
        None if modern => return fail("the `Mcp-Method` header is missing".into()),
        _ => {}
    }
    let member = match method.as_str() {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    };
    let target = member.and_then(|m| {
        params
            .as_ref()
            .and_then(|p| p.get(m))
            .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    });
    let name_h = name_h.map(|h| {
        h.and_then(|t| decode_header_value(t).ok_or("mcp-name (malformed =?base64?…?= value)"))
    });
    match (name_h, target) {
        (Some(Err(h)), _) => fail(format!("the `{h}` header is not text")),
        (Some(Ok(h)), Some(t)) if h != t => fail(format!(
            "the `Mcp-Name` header `{h}` does not match the body's `{t}`"
        )),
        (Some(Ok(h)), None) => fail(format!(
            "the `Mcp-Name` header `{h}` names nothing in the body"
        )),
        (None, Some(_)) if modern => fail("the `Mcp-Name` header is missing".into()),
        _ => Ok(()),
    }
}

/// The first protocol revision of the stateless era, whose mirror headers are required.
const MODERN: &str = "2026-07-28";
/// The `_meta` key of a stateless-era request's protocol version.
const PROTOCOL_VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";

/// A mirror-header value: as it is, or decoded from the `=?base64?…?=` form used for
/// values that are not plain visible ASCII (canonical base64 of UTF-8; `None` if malformed).
fn decode_header_value(value: &str) -> Option<String> {
    use base64::Engine as _;
    let Some(payload) = value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    else {
        return Some(value.to_owned());
    };
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes = engine.decode(payload).ok()?;
    // Only the canonical encoding counts (no stray trailing bits).
    if engine.encode(&bytes) != payload {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// Headers that belong to one connection, never forwarded.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

async fn forward(
    ctx: &Ctx,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response<Incoming>, String> {
    let mut req = Request::builder()
        .method(method.clone())
        .uri(ctx.opts.upstream.clone());
    for (name, value) in headers {
        if hop_by_hop(name)
            || *name == header::ACCEPT_ENCODING
            || (*name == header::AUTHORIZATION && ctx.opts.bearer_token.is_some())
        {
            continue;
        }
        req = req.header(name, value);
    }
    let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
    ctx.client.request(req).await.map_err(|e| {
        let mut text = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            text = format!("{text}: {s}");
            src = s.source();
        }
        text
    })
}

/// Relay an upstream response to the client: JSON through the gateway whole, SSE event by
/// event, anything else as it is. `scope`: the POST's scope, whose unanswered calls are
/// abandoned when the response ends.
async fn relay(
    ctx: &Arc<Ctx>,
    resp: Response<Incoming>,
    scope: Option<String>,
) -> Response<ProxyBody> {
    let (parts, body) = resp.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut out = Response::builder().status(parts.status);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            out = out.header(name, value);
        }
    }
    let body = if content_type.starts_with("text/event-stream") {
        let (tx, rx) = mpsc::channel(16);
        let ctx = Arc::clone(ctx);
        tokio::spawn(async move { relay_sse(ctx, body, scope, tx).await });
        ProxyBody::Stream(rx)
    } else if content_type.starts_with("application/json") {
        let max = ctx.opts.max_message_bytes;
        let bytes = match Limited::new(body, max).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                let why = format!("the upstream response could not be read ({e})");
                tracing::error!("{why}");
                let lines = match &scope {
                    Some(s) => abandon(ctx, s, &why).await,
                    None => Vec::new(),
                };
                let body = lines.into_iter().next().unwrap_or_else(|| {
                    error_line("null", codes::INTERNAL_ERROR, &format!("signet: {why}"))
                });
                return json(StatusCode::BAD_GATEWAY, body);
            }
        };
        let text = if bytes.iter().all(u8::is_ascii_whitespace) {
            bytes
        } else {
            match on_server(ctx, scope.clone(), bytes.clone()).await {
                Verdict::Pass => bytes,
                Verdict::Forward(t) | Verdict::Answer(t) => Bytes::from(t),
                Verdict::Drop(why) => {
                    tracing::warn!("{why}");
                    bytes
                }
            }
        };
        if let Some(s) = &scope {
            for line in abandon(ctx, s, "the server's response did not answer the call").await {
                tracing::error!("unanswered: {line}");
            }
        }
        ProxyBody::full(text)
    } else {
        if let Some(s) = &scope {
            // 202 Accepted for a notification or a response, or an HTTP error.
            let why = format!("the server answered HTTP {} without a result", parts.status);
            for line in abandon(ctx, s, &why).await {
                tracing::error!("unanswered: {line}");
            }
        }
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            let mut body = body;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(f) => {
                        if let Ok(data) = f.into_data()
                            && tx.send(Ok(data)).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::other(e))).await;
                        return;
                    }
                }
            }
        });
        ProxyBody::Stream(rx)
    };
    out.body(body)
        .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "bad upstream response\n"))
}

async fn on_server(ctx: &Ctx, scope: Option<String>, bytes: Bytes) -> Verdict {
    let gw = Arc::clone(&ctx.gateway);
    tokio::task::spawn_blocking(move || gw.on_server_in(scope.as_deref(), &bytes))
        .await
        .unwrap_or_else(|e| Verdict::Drop(format!("the gateway failed: {e}")))
}

/// Relay an SSE stream event by event. The client going away does not stop the relay:
/// the server's answers are still attested and logged.
async fn relay_sse(
    ctx: Arc<Ctx>,
    mut body: Incoming,
    scope: Option<String>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let mut parser = SseParser::new(ctx.opts.max_message_bytes);
    let mut client_gone = false;
    let mut ended = "the server's event stream ended".to_owned();
    // An oversized event cuts the stream: nothing after it is relayed.
    let mut cut = false;
    loop {
        let frame = match body.frame().await {
            None => break,
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                ended = format!("the server's event stream broke ({e})");
                break;
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match parser.push(&data) {
            Ok(events) => relay_events(&ctx, scope.as_deref(), events, &tx, &mut client_gone).await,
            Err(why) => {
                ended = why;
                cut = true;
                break;
            }
        }
    }
    if !cut {
        let last = parser.finish();
        relay_events(&ctx, scope.as_deref(), last, &tx, &mut client_gone).await;
    }
    if let Some(s) = &scope {
        for line in abandon(&ctx, s, &ended).await {
            let mut ev = BytesMut::from("event: message\ndata: ");
            ev.extend_from_slice(line.as_bytes());
            ev.extend_from_slice(b"\n\n");
            send_out(&tx, ev.freeze(), &mut client_gone).await;
        }
    }
}

async fn relay_events(
    ctx: &Ctx,
    scope: Option<&str>,
    events: Vec<SseEvent>,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
    client_gone: &mut bool,
) {
    for ev in events {
        let out = match ev.data.clone() {
            None => ev.raw,
            Some(d) => match on_server(ctx, scope.map(str::to_owned), Bytes::from(d)).await {
                Verdict::Pass => ev.raw,
                Verdict::Forward(t) | Verdict::Answer(t) => ev.with_data(&t),
                Verdict::Drop(why) => {
                    tracing::warn!("{why}");
                    ev.raw
                }
            },
        };
        send_out(tx, out, client_gone).await;
    }
}

async fn send_out(tx: &mpsc::Sender<Result<Bytes, std::io::Error>>, b: Bytes, gone: &mut bool) {
    if !*gone && tx.send(Ok(b)).await.is_err() {
        tracing::debug!("the client went away; the stream is still read to its end");
        *gone = true;
    }
}

/// One SSE event as received: its raw bytes (through the blank line) and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SseEvent {
    raw: Bytes,
    /// The `data` lines joined with `\n`; `None` for an event without data (comments,
    /// `retry`, keep-alives), which is passed on as it is.
    data: Option<String>,
    /// The other field lines, in order, to keep when the data is replaced.
    fields: Vec<Bytes>,
}

impl SseEvent {
    /// The event with `data` replaced (one `data:` line per line of `text`).
    fn with_data(&self, text: &str) -> Bytes {
        let mut out = BytesMut::new();
        for f in &self.fields {
            out.extend_from_slice(f);
            out.extend_from_slice(b"\n");
        }
        for line in text.split('\n') {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\n");
        }
        out.extend_from_slice(b"\n");
        out.freeze()
    }
}

/// An incremental `text/event-stream` parser (WHATWG HTML §9.2.6): lines end in CRLF, LF
/// or CR; a blank line ends an event.
#[derive(Debug)]
struct SseParser {
    buf: BytesMut,
    /// Where the line being read starts in `buf` (lines before it belong to the event).
    scan: usize,
    max: usize,
}

impl SseParser {
    fn new(max: usize) -> Self {
        SseParser {
            buf: BytesMut::new(),
            scan: 0,
            max,
        }
    }

    /// Feed bytes; the events they complete.
    fn push(&mut self, data: &[u8]) -> Result<Vec<SseEvent>, String> {
        self.buf.extend_from_slice(data);
        let mut events = Vec::new();
        // Find line ends from `scan`; an event ends at an empty line.
        let mut line_start = self.scan;
        let mut i = self.scan;
        while let Some(&b) = self.buf.get(i) {
            let end_len = match b {
                b'\n' => 1,
                b'\r' => match self.buf.get(i.saturating_add(1)) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    None => break, // a CR at the end: wait for the next byte
                },
                _ => {
                    i = i.saturating_add(1);
                    continue;
                }
            };
            let next = i.saturating_add(end_len);
            if i == line_start {
                // A blank line: the event is everything up to here.
                let raw = self.buf.split_to(next).freeze();
                events.push(parse_event(raw));
                line_start = 0;
                i = 0;
                continue;
            }
            line_start = next;
            i = next;
        }
        self.scan = line_start;
        if self.buf.len() > self.max {
            return Err(format!(
                "the server sent an event larger than {} bytes",
                self.max
            ));
        }
        Ok(events)
    }

    /// The stream ended: a final CR ends its line; an unfinished event is discarded (as
    /// the SSE spec says).
    fn finish(&mut self) -> Vec<SseEvent> {
        if self.buf.last() == Some(&b'\r') {
            return self.push(b"\n").unwrap_or_default();
        }
        Vec::new()
    }
}

fn parse_event(raw: Bytes) -> SseEvent {
    let mut data: Option<String> = None;
    let mut fields = Vec::new();
    let text = String::from_utf8_lossy(&raw).into_owned();
    for line in text.split_inclusive(['\n', '\r']) {
        let line = line.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        if name == "data" {
            match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_owned()),
            }
        } else {
            fields.push(Bytes::copy_from_slice(line.as_bytes()));
        }
    }
    // Data that is only whitespace (a keep-alive) is not a message.
    let data = data.filter(|d| !d.trim().is_empty());
    SseEvent { raw, data, fields }
}

fn json(status: StatusCode, body: String) -> Response<ProxyBody> {
    let mut r = Response::new(ProxyBody::full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn plain(status: StatusCode, body: &'static str) -> Response<ProxyBody> {
    let mut r = Response::new(ProxyBody::full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new(1 << 20);
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.push(c).unwrap());
        }
        out.extend(p.finish());
        out
    }

    #[test]
    fn sse_events_split_across_chunks_and_line_endings() {
        let evs = events(&[
            b"id: 1\nevent: message\ndata: {\"a\":",
            b"1}\n\n: keep-alive\n\nid: 2\r\ndata: x\r",
            b"\ndata: y\r\r",
        ]);
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].data.as_deref(), Some("{\"a\":1}"));
        assert_eq!(
            &evs[0].raw[..],
            b"id: 1\nevent: message\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(evs[0].fields.len(), 2);
        assert_eq!(evs[1].data, None);
        assert_eq!(&evs[1].raw[..], b": keep-alive\n\n");
        assert_eq!(evs[2].data.as_deref(), Some("x\ny"));
        let rebuilt = evs[0].with_data("{\"b\":2}");
        assert_eq!(&rebuilt[..], b"id: 1\nevent: message\ndata: {\"b\":2}\n\n");
    }

    #[test]
    fn an_oversized_event_is_an_error() {
        let mut p = SseParser::new(8);
        assert!(p.push(b"data: 0123456789").is_err());
    }

    #[test]
    fn loopback_names() {
        for h in [
            "localhost",
            "localhost:3000",
            "127.0.0.1:9",
            "[::1]:80",
            "a.localhost",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "",
            "example.com",
            "127.0.0.1.nip.io",
            "10.0.0.1:80",
            "evil.com:localhost",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
        assert!(is_loopback_origin("http://localhost:5173"));
        assert!(!is_loopback_origin("http://evil.example"));
        assert!(!is_loopback_origin("null"));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn mirror_headers_must_match_the_body() {
        let call = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo"}}"#;
        assert!(check_mirrors(&headers(&[]), call).is_ok());
        assert!(
            check_mirrors(
                &headers(&[("mcp-method", "tools/call"), ("mcp-name", "echo")]),
                call
            )
            .is_ok()
        );
        let (id, why) = check_mirrors(
            &headers(&[("mcp-method", "tools/call"), ("mcp-name", "read_file")]),
            call,
        )
        .unwrap_err();
        assert_eq!(id, "7");
        assert!(why.contains("`read_file` does not match"), "{why}");
        assert!(check_mirrors(&headers(&[("mcp-method", "tools/list")]), call).is_err());
        // 2026-07-28 requires them.
        let (_, why) =
            check_mirrors(&headers(&[("mcp-protocol-version", "2026-07-28")]), call).unwrap_err();
        assert!(why.contains("`Mcp-Method` header is missing"), "{why}");
        assert!(
            check_mirrors(
                &headers(&[
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/call")
                ]),
                call
            )
            .is_err()
        );
        // Twice is refused.
        let mut twice = headers(&[("mcp-method", "tools/call"), ("mcp-name", "echo")]);
        twice.append("mcp-name", HeaderValue::from_static("get-env"));
        let (id, why) = check_mirrors(&twice, call).unwrap_err();
        assert_eq!(id, "7");
        assert!(why.contains("more than once"), "{why}");
        // Older versions may omit them.
        assert!(check_mirrors(&headers(&[("mcp-protocol-version", "2025-11-25")]), call).is_ok());
        // Values that are not visible ASCII travel base64-encoded.
        let cafe = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"café\"}}";
        assert!(
            check_mirrors(
                &headers(&[
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "=?base64?Y2Fmw6k=?=")
                ]),
                cafe.as_bytes()
            )
            .is_ok()
        );
        assert!(
            check_mirrors(
                &headers(&[
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "=?base64?Y2Fmw6l=?=")
                ]),
                cafe.as_bytes()
            )
            .is_err(),
            "non-canonical base64"
        );
        // The body's protocol version and the header must agree.
        let modern = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        assert!(check_mirrors(&headers(&[("mcp-method", "tools/list")]), modern).is_err());
        assert!(
            check_mirrors(
                &headers(&[
                    ("mcp-method", "tools/list"),
                    ("mcp-protocol-version", "2026-07-28")
                ]),
                modern
            )
            .is_ok()
        );
        let read =
            br#"{"jsonrpc":"2.0","id":"r","method":"resources/read","params":{"uri":"file:///a"}}"#;
        assert!(
            check_mirrors(
                &headers(&[("mcp-method", "resources/read"), ("mcp-name", "file:///b")]),
                read
            )
            .is_err()
        );
    }

    #[test]
    fn admission() {
        let mut opts = HttpOptions::new("http://127.0.0.1:1/mcp").unwrap();
        let ok = headers(&[("host", "127.0.0.1:8080")]);
        assert!(admit(&opts, &ok).is_none());
        assert!(matches!(
            admit(&opts, &headers(&[("host", "evil.example")])),
            Some(Refusal::Host(_))
        ));
        assert!(matches!(
            admit(
                &opts,
                &headers(&[("host", "localhost"), ("origin", "https://evil.example")])
            ),
            Some(Refusal::Origin(_))
        ));
        opts.allowed_origins.push("https://app.example".into());
        assert!(
            admit(
                &opts,
                &headers(&[("host", "localhost"), ("origin", "https://app.example")])
            )
            .is_none()
        );
        opts.bearer_token = Some("s3cret".into());
        assert!(matches!(admit(&opts, &ok), Some(Refusal::Unauthorized)));
        assert!(
            admit(
                &opts,
                &headers(&[("host", "localhost"), ("authorization", "Bearer s3cret")])
            )
            .is_none()
        );
        assert!(matches!(
            admit(
                &opts,
                &headers(&[("host", "localhost"), ("authorization", "Bearer s3cre")])
            ),
            Some(Refusal::Unauthorized)
        ));
    }

    #[test]
    fn upstream_urls() {
        assert!(HttpOptions::new("http://127.0.0.1:9/mcp").is_ok());
        assert!(HttpOptions::new("https://example.com/mcp").is_ok());
        assert!(HttpOptions::new("ftp://x/").is_err());
        assert!(HttpOptions::new("/mcp").is_err());
    }
}
