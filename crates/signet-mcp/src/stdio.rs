//! The stdio proxy: spawn the server, relay newline-delimited JSON-RPC both ways through
//! the [`Gateway`].
//!
//! - Our stdout carries only MCP messages (the server's, or signet's answers); signet logs
//!   to stderr; the server's stderr is inherited, so it passes through untouched.
//! - Lines longer than the limit are discarded whole (never split, never forwarded): from
//!   the client they get a JSON-RPC error, from the server a note on stderr.
//! - EOF on our stdin closes the server's stdin; if the server does not exit within the
//!   grace period it gets SIGTERM, then SIGKILL. SIGINT, SIGTERM and SIGHUP sent to the
//!   proxy are forwarded to the server. The server is always reaped; the proxy exits with
//!   its exit code (128 + N when it died of signal N).
//! - Calls still pending when the server exits are answered with an error and attested as
//!   failed.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::gateway::{Gateway, Verdict, codes, error_line};

/// Proxy settings that are about the transport.
#[derive(Debug, Clone)]
pub struct StdioOptions {
    /// Largest accepted message, in bytes (without the newline).
    pub max_message_bytes: usize,
    /// How long the server may take to exit after its stdin closed.
    pub shutdown_grace: Duration,
}

impl Default for StdioOptions {
    fn default() -> Self {
        StdioOptions {
            max_message_bytes: 16 * 1024 * 1024,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// One line read with a length limit.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete line, without its `\n`.
    Data(Vec<u8>),
    /// A line over the limit; it was read to its end and discarded. Carries its length.
    TooLong(usize),
    /// End of input (a final line without `\n` is returned as `Data` first).
    Eof,
}

/// Read one `\n`-terminated line of at most `max` bytes.
///
/// # Errors
/// I/O errors of the reader.
pub fn read_line<R: BufRead>(r: &mut R, max: usize, buf: &mut Vec<u8>) -> io::Result<Line> {
    buf.clear();
    let mut total: usize = 0;
    let mut too_long = false;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            if total == 0 {
                return Ok(Line::Eof);
            }
            break;
        }
        let (part, found) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (chunk.get(..i).unwrap_or_default(), Some(i)),
            None => (chunk, None),
        };
        total = total.saturating_add(part.len());
        if !too_long {
            if total > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = found.map_or(chunk.len(), |i| i.saturating_add(1));
        r.consume(used);
        if found.is_some() {
            break;
        }
    }
    if too_long {
        Ok(Line::TooLong(total))
    } else {
        Ok(Line::Data(std::mem::take(buf)))
    }
}

fn write_line<W: Write>(w: &Mutex<W>, line: &[u8]) -> io::Result<()> {
    let mut w = w.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    w.write_all(line)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// Run the proxy: spawn `program args`, relay our stdin/stdout through `gateway`, until the
/// server exits. Returns the server's exit status.
///
/// # Errors
/// The server cannot be spawned.
pub fn run(
    program: &str,
    args: &[String],
    gateway: Arc<Gateway>,
    opts: &StdioOptions,
) -> io::Result<ExitStatus> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start `{program}`: {e}")))?;
    let pid = child.id();
    let (Some(server_in), Some(server_out)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(io::Error::other("the server's stdio could not be piped"));
    };
    let client_out = Arc::new(Mutex::new(io::stdout()));
    let signals = forward_signals(pid);

    // client → server
    let (eof_tx, eof_rx) = std::sync::mpsc::channel::<()>();
    let gw = Arc::clone(&gateway);
    let out = Arc::clone(&client_out);
    let max = opts.max_message_bytes;
    let upstream = thread::Builder::new()
        .name("signet-client-in".into())
        .spawn(move || {
            pump_client(&gw, io::stdin().lock(), server_in, &out, max);
            let _ = eof_tx.send(());
        })?;

    // server → client
    let gw = Arc::clone(&gateway);
    let out = Arc::clone(&client_out);
    let downstream = thread::Builder::new()
        .name("signet-server-out".into())
        .spawn(move || pump_server(&gw, server_out, &out, max))?;

    let status = wait_child(&mut child, &eof_rx, opts.shutdown_grace)?;
    let _ = downstream.join();
    for line in gateway.abandon_pending(&describe_exit(status)) {
        let _ = write_line(&client_out, line.as_bytes());
    }
    if let Some(s) = signals {
        s.close();
    }
    // The client-side reader may be blocked on our stdin; it ends with the process.
    drop(upstream);
    Ok(status)
}

fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("the server exited (code {c})"),
        (None, Some(s)) => format!("the server was killed by signal {s}"),
        _ => "the server exited".into(),
    }
}

/// Wait for the child; after the client's EOF, give it `grace`, then SIGTERM, then SIGKILL.
fn wait_child(
    child: &mut Child,
    eof: &std::sync::mpsc::Receiver<()>,
    grace: Duration,
) -> io::Result<ExitStatus> {
    let mut deadline: Option<Instant> = None;
    let mut termed = false;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if deadline.is_none() && eof.try_recv().is_ok() {
            deadline = Instant::now().checked_add(grace);
        }
        if let Some(d) = deadline
            && Instant::now() >= d
        {
            if termed {
                tracing::warn!("the server ignored SIGTERM; killing it");
                let _ = child.kill();
                return child.wait();
            }
            tracing::warn!("the server did not exit after its stdin closed; sending SIGTERM");
            send_signal(child.id(), signal_hook::consts::SIGTERM);
            termed = true;
            deadline = Instant::now().checked_add(grace);
        }
        thread::sleep(Duration::from_millis(if deadline.is_some() {
            10
        } else {
            50
        }));
    }
}

fn send_signal(pid: u32, sig: i32) {
    let Ok(pid) = i32::try_from(pid) else { return };
    let Ok(sig) = nix::sys::signal::Signal::try_from(sig) else {
        return;
    };
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
}

/// Forward SIGINT, SIGTERM and SIGHUP to the server.
fn forward_signals(pid: u32) -> Option<signal_hook::iterator::Handle> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("signals will not be forwarded to the server: {e}");
            return None;
        }
    };
    let handle = signals.handle();
    let spawned = thread::Builder::new()
        .name("signet-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                tracing::info!("forwarding signal {sig} to the server");
                send_signal(pid, sig);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("signals will not be forwarded to the server: {e}");
    }
    Some(handle)
}

fn pump_client<R: Read, W: Write>(
    gateway: &Gateway,
    input: R,
    server_in: ChildStdin,
    client_out: &Mutex<W>,
    max: usize,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut server_in = io::BufWriter::new(server_in);
    let mut buf = Vec::new();
    loop {
        let line = match read_line(&mut reader, max, &mut buf) {
            Ok(Line::Data(l)) => l,
            Ok(Line::TooLong(n)) => {
                tracing::warn!("discarded a {n}-byte message from the client (limit {max})");
                let e = error_line(
                    "null",
                    codes::INVALID_REQUEST,
                    &format!("signet: message of {n} bytes exceeds the limit of {max} bytes"),
                );
                if write_line(client_out, e.as_bytes()).is_err() {
                    return;
                }
                continue;
            }
            Ok(Line::Eof) => return,
            Err(e) => {
                tracing::error!("reading from the client failed: {e}");
                return;
            }
        };
        let result = match gateway.on_client(&line) {
            Verdict::Pass => send(&mut server_in, &line),
            Verdict::Forward(text) => send(&mut server_in, text.as_bytes()),
            Verdict::Answer(text) => write_line(client_out, text.as_bytes()),
            Verdict::Drop(why) => {
                tracing::debug!("{why}");
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!("relaying a client message failed: {e}");
            return;
        }
        buf = line;
    }
}

fn send<W: Write>(w: &mut W, line: &[u8]) -> io::Result<()> {
    w.write_all(line)?;
    w.write_all(b"\n")?;
    w.flush()
}

fn pump_server<R: Read, W: Write>(gateway: &Gateway, output: R, client_out: &Mutex<W>, max: usize) {
    let mut reader = BufReader::with_capacity(64 * 1024, output);
    let mut buf = Vec::new();
    loop {
        let line = match read_line(&mut reader, max, &mut buf) {
            Ok(Line::Data(l)) => l,
            Ok(Line::TooLong(n)) => {
                tracing::error!("discarded a {n}-byte message from the server (limit {max})");
                continue;
            }
            Ok(Line::Eof) => return,
            Err(e) => {
                tracing::error!("reading from the server failed: {e}");
                return;
            }
        };
        let result = match gateway.on_server(&line) {
            Verdict::Pass => write_line(client_out, &line),
            Verdict::Forward(text) | Verdict::Answer(text) => {
                write_line(client_out, text.as_bytes())
            }
            Verdict::Drop(why) => {
                tracing::warn!("{why}");
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!("writing to the client failed: {e}");
            return;
        }
        buf = line;
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize, cap: usize) -> Vec<Line> {
        let mut r = BufReader::with_capacity(cap, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            let l = read_line(&mut r, max, &mut buf).unwrap();
            let end = l == Line::Eof;
            out.push(l);
            if end {
                return out;
            }
        }
    }

    #[test]
    fn reads_bounded_lines_across_buffer_boundaries() {
        for cap in [1, 2, 3, 7, 64] {
            assert_eq!(
                lines(b"ab\n\nxyzxyz\nlast", 4, cap),
                vec![
                    Line::Data(b"ab".to_vec()),
                    Line::Data(Vec::new()),
                    Line::TooLong(6),
                    Line::Data(b"last".to_vec()),
                    Line::Eof
                ],
                "capacity {cap}"
            );
            assert_eq!(
                lines(b"abcd\r\n", 5, cap),
                vec![Line::Data(b"abcd\r".to_vec()), Line::Eof]
            );
        }
    }
}
