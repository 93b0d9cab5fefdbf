//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// signet: sign, attest and verify every MCP tool call.
#[derive(Debug, Parser)]
#[command(
    name = "signet",
    version,
    about,
    long_about = None,
    after_help = "Also: `signet tsa verify TOKEN --data FILE --trust-anchor CERT.pem` checks an RFC 3161 time-stamp token (`signet tsa --help`)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new signing key (encrypted with a passphrase by default).
    Keygen(KeygenArgs),
    /// Show the identity (did:key, key id, algorithm, public key) of a key.
    Identity(IdentityArgs),
    /// Sign a tool call `{"name", "arguments"}` read from FILE or stdin.
    Sign(SignArgs),
    /// Verify a signed envelope or a compact JWS (intent or receipt); prints VALID or INVALID.
    Verify(VerifyArgs),
    /// The audit log: list, show, verify, checkpoint, prove, export.
    Log(LogArgs),
    /// Run an MCP server behind signet: every tool call signed, attested, pinned and logged
    /// (`-- COMMAND` for a stdio server, `--listen … --upstream URL` for a Streamable HTTP one).
    Proxy(ProxyArgs),
    /// Guard a Streamable HTTP MCP server you run: verify each call's signed intent, enforce
    /// policy, and return a receipt signed with the server's key in every result.
    Guard(GuardArgs),
    /// Write a commented default config and create the agent, gateway and log keys.
    Init(InitArgs),
    /// Show tool pins and pending changes as a diff; accept changes.
    Pins(PinsArgs),
    /// Wrap a real MCP server, drive calls through the proxy, show and verify the records.
    Demo(DemoArgs),
    /// Policy: check a call, validate rules, run rule tests, print the schema.
    Policy(crate::policycmd::PolicyArgs),
    /// Approve a call held for approval (shows the exact call first; once, until it expires).
    Approve(crate::policycmd::ApproveArgs),
    /// List pending approvals.
    Approvals(crate::policycmd::ApprovalsArgs),
    /// Run signet's own MCP server (stdio, or Streamable HTTP with `--http`): tools to sign
    /// actions, check policy, verify signatures and audit the log.
    Serve(ServeArgs),
    /// RFC 3161 time-stamp tokens: verify one offline.
    Tsa(crate::tsacmd::TsaArgs),
}

/// `signet serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The config file (default: `$SIGNET_CONFIG`, else `$SIGNET_HOME/signet.toml|yaml`).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Serve Streamable HTTP at `http://ADDR/mcp` instead of stdio (loopback addresses
    /// only; port 0 picks a free port, printed on stderr).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8787")]
    pub http: Option<std::net::SocketAddr>,
    /// The audience `sign_action` signs for.
    #[arg(long, value_name = "NAME", default_value = "signet:serve")]
    pub audience: String,
    /// The agent's key: `file:PATH` or `env:VAR` (default: the config's `key_source`, else
    /// `$SIGNET_HOME/keys/agent.key`).
    #[arg(long, value_name = "SOURCE")]
    pub key_source: Option<String>,
    /// The log's checkpoint key: `file:PATH` or `env:VAR`.
    #[arg(long, value_name = "SOURCE")]
    pub log_key_source: Option<String>,
    /// The log file (default: `$SIGNET_HOME/log/signet.db`).
    #[arg(long, env = "SIGNET_LOG", value_name = "PATH")]
    pub log: Option<PathBuf>,
}

/// `signet proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The server's name in intents and pins (default: `stdio:` + the command line, or the
    /// upstream URL).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The agent's key: `file:PATH` or `env:VAR`.
    #[arg(long, value_name = "SOURCE")]
    pub key_source: Option<String>,
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Take the pins from this signed pin file (`signet pins sign`) instead of trusting on
    /// first use; it must be signed by a key in the config's `pin_signers`.
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
    /// DANGEROUS: forward calls even when the log or a key is unavailable (recorded).
    #[arg(long)]
    pub fail_open: bool,
    /// Refuse calls the client did not sign itself.
    #[arg(long)]
    pub require_signatures: bool,
    /// Do not add receipts to results (they are still logged).
    #[arg(long)]
    pub no_receipts_in_result: bool,
    #[command(flatten)]
    pub http: HttpArgs,
    /// Pinned receipt key (did:key) of the `signet guard` in front of the upstream server
    /// (repeatable; added to the config's `server_keys`). With any, every result must carry
    /// a valid receipt from one of them, logged with the intent as a bilateral record.
    #[arg(long = "server-key", value_name = "DID")]
    pub server_keys: Vec<String>,
    /// The stdio server's command and its arguments, after `--` (not with `--upstream`).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// The Streamable HTTP listener of `signet proxy` and `signet guard`.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Listen on ADDR for Streamable HTTP (port 0 picks a free one; the URL is printed on
    /// stderr). Use a loopback address unless the listener must be reached from elsewhere
    /// (then set a bearer token).
    #[arg(long, value_name = "ADDR", requires = "upstream")]
    pub listen: Option<std::net::SocketAddr>,
    /// The upstream MCP endpoint, `http(s)://host:port/path`; the listener serves the same
    /// path.
    #[arg(long, value_name = "URL", requires = "listen")]
    pub upstream: Option<String>,
    /// PEM file of the CA certificate(s) an https upstream's certificate must chain to
    /// (default: the Mozilla roots).
    #[arg(long, value_name = "PEM", requires = "upstream")]
    pub upstream_ca: Option<std::path::PathBuf>,
    /// Require `Authorization: Bearer <token>` on the listener, the token read from this
    /// environment variable (it is not forwarded upstream).
    #[arg(long, value_name = "VAR")]
    pub bearer_token_env: Option<String>,
    /// A browser origin allowed besides loopback ones (repeatable); others get 403.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
}

/// `signet guard`.
#[derive(Debug, Args)]
pub struct GuardArgs {
    /// The server's name: the audience callers must sign their intents for (default: the
    /// listener's URL, `http://ADDR/path`).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub http: HttpArgs,
}

/// What `signet proxy` and `signet guard` share: config, receipt and log keys, log, pins.
#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// The config file (default: `$SIGNET_CONFIG`, else `$SIGNET_HOME/signet.toml|yaml`).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The receipt key (the gateway's; for `signet guard` the server's): `file:PATH` or
    /// `env:VAR`.
    #[arg(long, value_name = "SOURCE")]
    pub gateway_key_source: Option<String>,
    /// The log's checkpoint key: `file:PATH` or `env:VAR`.
    #[arg(long, value_name = "SOURCE")]
    pub log_key_source: Option<String>,
    /// The log file (default: `$SIGNET_HOME/log/signet.db`).
    #[arg(long, env = "SIGNET_LOG", value_name = "PATH")]
    pub log: Option<PathBuf>,
    /// `warn`, `hide` or `block` a tool whose definition is not the pinned one.
    #[arg(long, value_name = "MODE")]
    pub pin_mode: Option<String>,
    /// Largest message accepted, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_message_bytes: Option<usize>,
}

/// `signet init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Algorithm of the agent and gateway keys (default: the config's, else ed25519).
    #[arg(short, long, value_enum)]
    pub algorithm: Option<AlgArg>,
    /// Write keys UNENCRYPTED (otherwise the passphrase comes from SIGNET_PASSPHRASE or a
    /// prompt).
    #[arg(long)]
    pub unencrypted: bool,
    /// Replace an existing config file (keys are never replaced).
    #[arg(long)]
    pub force: bool,
    /// Write `signet.yaml` instead of `signet.toml`.
    #[arg(long)]
    pub yaml: bool,
}

/// `signet pins`.
#[derive(Debug, Args)]
pub struct PinsArgs {
    /// Only the server whose name contains this text.
    #[arg(long, value_name = "TEXT", global = true)]
    pub server: Option<String>,
    /// What to do (default: list).
    #[command(subcommand)]
    pub command: Option<PinsCommand>,
}

/// The `signet pins` subcommands.
#[derive(Debug, Subcommand)]
pub enum PinsCommand {
    /// Each server with its pinned tools and pending changes.
    List,
    /// Pending changes as a diff of the old and new definitions.
    Diff,
    /// Accept pending changes (all, or `--tool NAME`).
    Accept {
        /// Only this tool.
        #[arg(long, value_name = "NAME")]
        tool: Option<String>,
    },
    /// Sign the accepted pins of one server (`--server`) into a signed pin file, for
    /// `signet proxy --pin-file` on this or another machine.
    Sign {
        /// The signing key: `file:PATH` or `env:VAR`.
        #[arg(long, value_name = "SOURCE")]
        key: String,
        /// Where to write the signed pin file.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: PathBuf,
    },
}

/// `signet demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's state here (default: a fresh temporary directory, removed after).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The MCP server to wrap (default: the MCP "everything" server from target/peers, or
    /// via npx).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Which log, and with which key.
#[derive(Debug, Args)]
pub struct LogLocation {
    /// The log file (default: `$SIGNET_HOME/log/signet.db`).
    #[arg(long, env = "SIGNET_LOG", value_name = "PATH", global = true)]
    pub log: Option<PathBuf>,
    /// The log's public key, to verify checkpoints: a did:key, a C2SP verifier key
    /// (`name+hash+key`), or a file holding one (default: `$SIGNET_HOME/keys/log.pub`).
    #[arg(long, value_name = "KEY", global = true)]
    pub log_key: Option<String>,
}

/// `signet log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(flatten)]
    /// Which log.
    pub location: LogLocation,
    /// What to do.
    #[command(subcommand)]
    pub command: LogCommand,
}

/// The `signet log` subcommands.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// List entries: `sig_… index kind agent tool target time VALID`.
    List(LogListArgs),
    /// Show one entry (by index or `sig_…` id) with its decoded statement.
    Show(LogShowArgs),
    /// Check the whole log: tree, every signature, every checkpoint. Exit 3 if anything is wrong.
    Verify(LogVerifyArgs),
    /// Sign a checkpoint of the current log and keep it; prints the signed note.
    Checkpoint(LogCheckpointArgs),
    /// Export one entry with its inclusion proof and a signed checkpoint, for offline checks.
    Prove(LogProveArgs),
    /// Export every entry as JSON Lines or CSV.
    Export(LogExportArgs),
    /// Ask a time-stamp authority (RFC 3161) for a token over the latest signed checkpoint
    /// now, verify it and store it beside the checkpoint.
    Timestamp(LogTimestampArgs),
}

/// `signet log timestamp`.
#[derive(Debug, Args)]
pub struct LogTimestampArgs {
    /// The TSA URL (`http://…`).
    #[arg(long, value_name = "URL", env = "SIGNET_TSA_URL")]
    pub tsa_url: String,
    /// PEM file with the certificate(s) the TSA must chain to.
    #[arg(long, value_name = "CERT.pem", env = "SIGNET_TSA_ANCHOR")]
    pub tsa_anchor: PathBuf,
    /// Give up on the TSA after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
}

/// `signet log list`.
#[derive(Debug, Args)]
pub struct LogListArgs {
    /// Only this tool.
    #[arg(long)]
    pub tool: Option<String>,
    /// Only this signer (did:key or key id).
    #[arg(long)]
    pub agent: Option<String>,
    /// Only this outcome (`executed`, `failed`, `denied`, `approval-required`, …).
    #[arg(long)]
    pub outcome: Option<String>,
    /// Only this kind (`intent`, `receipt`, `pin`, `lifecycle`).
    #[arg(long)]
    pub kind: Option<String>,
    /// At or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Show at most the newest N entries.
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<u64>,
    /// JSON Lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `signet log show`.
#[derive(Debug, Args)]
pub struct LogShowArgs {
    /// Entry index, `sig_…` id, or an intent digest (`sha256-bytes:…`: what a receipt's
    /// `intent` or a later round's `prev` names).
    pub id: String,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

/// `signet log verify`.
#[derive(Debug, Args)]
pub struct LogVerifyArgs {
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// PEM file with the certificate(s) RFC 3161 time-stamp authorities must chain to;
    /// without it checkpoint time-stamps are listed but their tokens are not checked.
    #[arg(long, value_name = "CERT.pem", env = "SIGNET_TSA_ANCHOR")]
    pub tsa_anchor: Option<PathBuf>,
}

/// `signet log checkpoint`.
#[derive(Debug, Args)]
pub struct LogCheckpointArgs {
    #[command(flatten)]
    /// The log's signing key (default: `$SIGNET_HOME/keys/log.key`).
    pub key: LogKeyArgs,
}

/// The log's private key.
#[derive(Debug, Args)]
pub struct LogKeyArgs {
    /// `file:PATH` or `env:VAR` for the log's Ed25519 signing key.
    #[arg(long, value_name = "SOURCE")]
    pub log_key_source: Option<String>,
}

/// `signet log prove`.
#[derive(Debug, Args)]
pub struct LogProveArgs {
    /// Entry index, `sig_…` id, or a file holding a receipt or intent JWS.
    pub what: String,
    /// Write the bundle here instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line: index, id, leaf data and listing columns.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// `signet log export`.
#[derive(Debug, Args)]
pub struct LogExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ExportFormat,
    /// Write here instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Where the private key comes from.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// `file:PATH` or `env:VAR` (default: `file:$SIGNET_HOME/keys/<--key-name>.key`).
    #[arg(long, env = "SIGNET_KEY_SOURCE", value_name = "SOURCE")]
    pub key_source: Option<String>,
    /// Name of the key under `$SIGNET_HOME/keys/` when no key source is given.
    #[arg(long, default_value = "agent", value_name = "NAME")]
    pub key_name: String,
}

/// Signature algorithms, by their configuration spelling.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AlgArg {
    /// Ed25519 (RFC 8032), the default.
    #[value(name = "ed25519")]
    Ed25519,
    /// ML-DSA-65 (FIPS 204), post-quantum.
    #[value(name = "ml-dsa-65")]
    MlDsa65,
    /// Composite ML-DSA-65 + Ed25519: both halves must verify.
    #[value(name = "ml-dsa-65-ed25519")]
    MlDsa65Ed25519,
}

/// `signet keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Signature algorithm.
    #[arg(long, short = 'a', value_enum, default_value = "ed25519")]
    pub algorithm: AlgArg,
    /// Key name; the key is written to `$SIGNET_HOME/keys/NAME.key`.
    #[arg(long, default_value = "agent")]
    pub name: String,
    /// Write the key here instead.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Store the private key WITHOUT encryption (anyone who can read the file can sign).
    #[arg(long)]
    pub unencrypted: bool,
    /// Replace an existing key file.
    #[arg(long)]
    pub force: bool,
    /// Print the identity as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `signet identity`.
#[derive(Debug, Args)]
pub struct IdentityArgs {
    #[command(flatten)]
    /// Key selection.
    pub key: KeyArgs,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Output forms of `signet sign`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SignOutput {
    /// The `{tool_call, signet}` envelope (JSON).
    Envelope,
    /// The intent's compact JWS only.
    Jws,
}

/// `signet sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// File with the tool call (`-` or absent: stdin).
    pub file: Option<PathBuf>,
    #[command(flatten)]
    /// Key selection.
    pub key: KeyArgs,
    /// The server the call is meant for (signed as `aud`); `*` means any server.
    #[arg(long, default_value = "*")]
    pub audience: String,
    /// File with the tool's full definition (from `tools/list`); its digest is signed.
    #[arg(long, value_name = "FILE")]
    pub tool_def: Option<PathBuf>,
    /// MCP session id to sign into the intent.
    #[arg(long)]
    pub session: Option<String>,
    /// Output form.
    #[arg(long, value_enum, default_value = "envelope")]
    pub output: SignOutput,
}

/// `signet verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// File with an envelope or compact JWS (`-` or absent: stdin).
    pub file: Option<PathBuf>,
    /// The signer's full did:key (needed for ML-DSA keys, whose kid is a short key id).
    #[arg(long, value_name = "DID")]
    pub signer: Option<String>,
    /// Only accept these signers (did:key); repeatable.
    #[arg(long = "allowed-signer", value_name = "DID")]
    pub allowed_signers: Vec<String>,
    /// Check freshness as of this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME", conflicts_with = "no_time_check")]
    pub at: Option<String>,
    /// Skip the issued-at freshness check (for auditing old records).
    #[arg(long)]
    pub no_time_check: bool,
    /// Maximum age of an intent, in seconds.
    #[arg(long, default_value_t = 300)]
    pub max_age: u32,
    /// Allowed clock skew into the future, in seconds.
    #[arg(long, default_value_t = 30)]
    pub max_skew: u32,
    /// The audience the intent must name exactly (an intent signed for `*` does not match).
    #[arg(long)]
    pub audience: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// For a proof bundle: the log's public key (did:key, C2SP verifier key, or a file);
    /// default `$SIGNET_HOME/keys/log.pub`.
    #[arg(long, value_name = "KEY")]
    pub log_key: Option<String>,
}
