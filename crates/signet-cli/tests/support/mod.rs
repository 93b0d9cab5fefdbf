//! What the end-to-end tests share: where the peers are, the `signet` binary, throw-away
//! `SIGNET_HOME`s with keys, the log they write, and free ports.

#![allow(dead_code, reason = "each test binary uses a different part")]
#![expect(clippy::unwrap_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use signet_core::alg::PublicKey;
use signet_core::did::Did;
use signet_log::entry::Entry;
use signet_log::sqlite::SqliteStore;
use signet_log::store::{Filter, Store as _};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/peers`, checked to hold the Python SDK and the npm servers.
pub fn peers() -> PathBuf {
    let p = root().join("target/peers");
    assert!(
        p.join("py/bin/python").exists()
            && p.join("js/node_modules/@modelcontextprotocol/server-everything")
                .exists(),
        "the MCP test peers are missing: run ./scripts/install-peers.sh (the README's test command does)"
    );
    p
}

/// The Python of the peers' venv (with the MCP SDK).
pub fn python() -> String {
    peers().join("py/bin/python").display().to_string()
}

/// A script in `tests/peers/`.
pub fn peer_script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
        .display()
        .to_string()
}

/// The `signet` binary under test.
pub fn signet() -> String {
    env!("CARGO_BIN_EXE_signet").to_owned()
}

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until something accepts connections on 127.0.0.1:`port` (at most 30 s);
/// `diagnostics` says what when it does not.
pub fn wait_port(port: u16, diagnostics: &dyn Fn() -> String) {
    let deadline = Instant::now().checked_add(Duration::from_secs(30)).unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on port {port}: {}",
            diagnostics()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A throw-away `SIGNET_HOME` with keys from `signet init --unencrypted`.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// A new home with a config and agent, gateway and log keys.
    pub fn new() -> Self {
        let h = Home {
            dir: tempfile::tempdir().unwrap(),
        };
        let o = h.run(&["init", "--unencrypted"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        h
    }

    /// Its directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `signet args…` in this home (no `SIGNET_LOG` / `SIGNET_CONFIG` from outside).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(signet());
        c.args(args)
            .env("SIGNET_HOME", self.path())
            .env_remove("SIGNET_LOG")
            .env_remove("SIGNET_CONFIG")
            .env_remove("SIGNET_KEY_SOURCE");
        c
    }

    /// Run `signet args…` to completion, stdin empty.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// The `did:key` of `keys/<name>.pub` (`agent`, `gateway`, `log`).
    pub fn did(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(format!("keys/{name}.pub")))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// The public key of `keys/<name>.pub`.
    pub fn public_key(&self, name: &str) -> PublicKey {
        self.did(name).parse::<Did>().unwrap().public_key().clone()
    }

    /// Every entry of the home's log with its index.
    pub fn entries(&self) -> Vec<(u64, Entry)> {
        let store = SqliteStore::open_read_only(&self.path().join("log/signet.db")).unwrap();
        store
            .query(&Filter::default())
            .unwrap()
            .into_iter()
            .map(|e| (e.index, Entry::from_leaf_data(&e.data).unwrap()))
            .collect()
    }

    /// `signet log verify` must say VALID.
    pub fn verify_log(&self) {
        let o = self.run(&["log", "verify"]);
        assert!(
            o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with("VALID"),
            "log verify: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
