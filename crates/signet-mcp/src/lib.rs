//! signet-mcp: signet on the MCP wire.
//!
//! - [`jsonrpc`]: raw JSON-RPC messages, read and edited without re-serializing what signet
//!   does not change.
//! - [`gateway`]: the interceptor — intents, receipts, tool pins, fail-closed — shared by
//!   every transport.
//! - [`pins`]: tool-definition pins (tool-poisoning defense) and the pin files.
//! - [`stdio`]: the stdio proxy (`signet proxy -- <server command>`).
//! - [`http`]: the Streamable HTTP proxy and guard (`signet proxy --listen … --upstream …`,
//!   `signet guard`).
//! - [`serve`]: `signet serve`, signet's own MCP server (rmcp; stdio and Streamable HTTP).

pub mod gateway;
pub mod http;
pub mod jsonrpc;
pub mod pins;
pub mod serve;
pub mod stdio;
