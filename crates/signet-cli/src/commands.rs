//! The subcommands: each parses its input, calls `signet-core`, and prints.
//!
//! Human output goes to stdout; `--json` prints one JSON object per line. Diagnostics go to
//! stderr.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use signet_core::alg::{Algorithm, PublicKey, SigningKey};
use signet_core::did::{Did, KeyId};
use signet_core::digest::Digest;
use signet_core::envelope::{self, CallContext};
use signet_core::jws::StatementKind;
use signet_core::replay::{ReplayWindow, UnixTime};
use signet_core::statement::{Audience, Nonce, SessionId};
use signet_mcp::serve::records::{Invalid, check_record, is_proof_bundle, short_did};

use crate::cli::{
    AlgArg, Cli, Command, IdentityArgs, KeyArgs, KeygenArgs, SignArgs, SignOutput, VerifyArgs,
};
use crate::keyfile::{self, KeySource};

/// Exit code for a record that failed verification.
pub const EXIT_INVALID: u8 = 3;
/// Largest input file read, in bytes.
const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// Run one command.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Keygen(a) => keygen(&a),
        Command::Identity(a) => identity(&a),
        Command::Sign(a) => sign(&a),
        Command::Verify(a) => verify(&a),
        Command::Log(a) => crate::logcmd::run(a),
        Command::Proxy(a) => crate::proxycmd::proxy(&a),
        Command::Guard(a) => crate::proxycmd::guard(&a),
        Command::Init(a) => crate::proxycmd::init(&a),
        Command::Pins(a) => crate::proxycmd::pins(&a),
        Command::Demo(a) => crate::demo::demo(&a),
        Command::Policy(a) => crate::policycmd::policy(&a),
        Command::Approve(a) => crate::policycmd::approve(&a),
        Command::Approvals(a) => crate::policycmd::approvals(&a),
        Command::Serve(a) => crate::servecmd::serve(&a),
        Command::Tsa(a) => crate::tsacmd::run(a),
    }
}

pub(crate) fn out(text: &str) -> Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())?;
    o.write_all(b"\n")?;
    o.flush()?;
    Ok(())
}

pub(crate) fn now() -> Result<UnixTime> {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| anyhow!("system clock is before 1970"))?;
    Ok(UnixTime(i64::try_from(d.as_secs())?))
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| anyhow!("os random source failed: {e}"))?;
    Ok(b)
}

pub(crate) fn read_input(file: Option<&Path>) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    match file {
        Some(p) if p != Path::new("-") => {
            let f =
                std::fs::File::open(p).with_context(|| format!("cannot open `{}`", p.display()))?;
            f.take(MAX_INPUT.saturating_add(1)).read_to_end(&mut buf)?;
        }
        _ => {
            std::io::stdin()
                .lock()
                .take(MAX_INPUT.saturating_add(1))
                .read_to_end(&mut buf)?;
        }
    }
    if buf.len() as u64 > MAX_INPUT {
        bail!("input is larger than {MAX_INPUT} bytes");
    }
    Ok(buf)
}

pub(crate) fn key_source(k: &KeyArgs) -> Result<KeySource> {
    match &k.key_source {
        Some(s) => s.parse(),
        None => Ok(KeySource::File(keyfile::default_key_path(&k.key_name)?)),
    }
}

pub(crate) fn algorithm(a: AlgArg) -> Algorithm {
    match a {
        AlgArg::Ed25519 => Algorithm::Ed25519,
        AlgArg::MlDsa65 => Algorithm::MlDsa65,
        AlgArg::MlDsa65Ed25519 => Algorithm::MlDsa65Ed25519,
    }
}

fn identity_json(pk: &PublicKey) -> serde_json::Value {
    let did = Did::from_public_key(pk);
    json!({
        "did": did.to_string(),
        "key_id": KeyId::from_public_key(pk).to_string(),
        "kid": signet_core::did::kid_for(pk),
        "algorithm": pk.algorithm().jose_name(),
        "public_key": URL_SAFE_NO_PAD.encode(pk.as_bytes()),
    })
}

fn print_identity(pk: &PublicKey, as_json: bool) -> Result<()> {
    if as_json {
        return out(&identity_json(pk).to_string());
    }
    let did = Did::from_public_key(pk);
    out(&format!(
        "did:        {did}\nkey id:     {}\nalgorithm:  {}\npublic key: {}",
        KeyId::from_public_key(pk),
        pk.algorithm().jose_name(),
        URL_SAFE_NO_PAD.encode(pk.as_bytes())
    ))
}

/// Create a key with fresh randomness and write it to `path` (encrypted under `pass`, else
/// plaintext), with its `did:key` in `path.pub`.
pub(crate) fn write_new_key(
    alg: Algorithm,
    path: &Path,
    pass: Option<age::secrecy::SecretString>,
    force: bool,
) -> Result<SigningKey> {
    let seed = zeroize::Zeroizing::new({
        let mut s = vec![0u8; alg.seed_len()];
        getrandom::fill(&mut s).map_err(|e| anyhow!("os random source failed: {e}"))?;
        s
    });
    let key = SigningKey::from_seed(alg, &seed)?;
    let text = keyfile::key_file_text(&key, pass)?;
    keyfile::write_secret_file(path, &text, force)?;
    // The public identity beside it, so verifiers need no passphrase.
    let pub_path = path.with_extension("pub");
    std::fs::write(
        &pub_path,
        format!("{}\n", Did::from_public_key(&key.public_key())),
    )
    .with_context(|| format!("cannot write `{}`", pub_path.display()))?;
    Ok(key)
}

fn keygen(a: &KeygenArgs) -> Result<ExitCode> {
    let alg = algorithm(a.algorithm);
    let path = match &a.out {
        Some(p) => p.clone(),
        None => keyfile::default_key_path(&a.name)?,
    };
    if path.exists() && !a.force {
        bail!(
            "`{}` already exists; refusing to overwrite a key (use --force to replace it)",
            path.display()
        );
    }
    let pass = if a.unencrypted {
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "signet: warning: writing an UNENCRYPTED private key; anyone who can read `{}` can sign as this identity",
            path.display()
        )?;
        None
    } else {
        Some(keyfile::passphrase("new key passphrase: ", true)?)
    };
    let key = write_new_key(alg, &path, pass, a.force)?;
    {
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "signet: wrote {} {} key to `{}`",
            if a.unencrypted {
                "unencrypted"
            } else {
                "encrypted"
            },
            alg,
            path.display()
        )?;
    }
    print_identity(&key.public_key(), a.json)?;
    Ok(ExitCode::SUCCESS)
}

fn identity(a: &IdentityArgs) -> Result<ExitCode> {
    let key = keyfile::load(&key_source(&a.key)?)?;
    print_identity(&key.public_key(), a.json)?;
    Ok(ExitCode::SUCCESS)
}

fn sign(a: &SignArgs) -> Result<ExitCode> {
    let input = read_input(a.file.as_deref())?;
    let (call, rpc_id) =
        envelope::parse_tool_call(&input).map_err(|e| anyhow!("bad tool call: {e}"))?;
    let tool_def = match &a.tool_def {
        Some(p) => {
            let text =
                std::fs::read(p).with_context(|| format!("cannot read `{}`", p.display()))?;
            Some(
                Digest::of_json_text(&text)
                    .map_err(|e| anyhow!("bad tool definition `{}`: {e}", p.display()))?,
            )
        }
        None => None,
    };
    let ctx = CallContext {
        aud: Audience::new(a.audience.clone())?,
        tool_def,
        rpc_id,
        session: a.session.clone().map(SessionId::new).transpose()?,
    };
    let key = keyfile::load(&key_source(&a.key)?)?;
    let (env, _) =
        envelope::sign_tool_call(&key, call, ctx, now()?, Nonce::from_random(random()?))?;
    match a.output {
        SignOutput::Envelope => out(&serde_json::to_string_pretty(&env)?)?,
        SignOutput::Jws => out(&env.signet.request_signature)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(a: &VerifyArgs) -> Result<ExitCode> {
    let signer = match &a.signer {
        Some(s) => Some(
            s.parse::<Did>()
                .map_err(|e| anyhow!("--signer `{s}` is not a valid did:key: {e}"))?
                .public_key()
                .clone(),
        ),
        None => None,
    };
    let allowed = a
        .allowed_signers
        .iter()
        .map(|s| {
            s.parse::<Did>()
                .map_err(|e| anyhow!("--allowed-signer `{s}` is not a valid did:key: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let when = match &a.at {
        Some(t) => Some(envelope::parse_time(t).map_err(|e| anyhow!("--at: {e}"))?),
        None if a.no_time_check => None,
        None => Some(now()?),
    };
    let window = ReplayWindow {
        max_age: a.max_age,
        max_skew: a.max_skew,
    };
    let input = read_input(a.file.as_deref())?;
    if is_proof_bundle(&input) {
        return crate::logcmd::verify_bundle(&input, a.log_key.as_deref(), a.json);
    }

    let result = check_record(&input, signer.as_ref()).and_then(|r| {
        if !allowed.is_empty() && !allowed.iter().any(|d| d.public_key() == &r.key) {
            return Err(Invalid {
                reason: format!(
                    "signer `{}` is not in the allowed signers",
                    Did::from_public_key(&r.key)
                ),
                malformed: false,
            });
        }
        if let (Some(want), Some(got)) = (&a.audience, &r.aud)
            && want != got
        {
            return Err(Invalid {
                reason: format!("wrong audience: intent is for `{got}`, expected `{want}`"),
                malformed: false,
            });
        }
        if let (Some(now), StatementKind::Intent) = (when, r.kind) {
            window
                .check(r.iat, now)
                .map_err(|e| Invalid::from((e, false)))?;
        }
        Ok(r)
    });

    match result {
        Ok(r) => {
            let did = Did::from_public_key(&r.key);
            if a.json {
                out(&json!({
                    "valid": true,
                    "kind": r.kind.typ(),
                    "signer": did.to_string(),
                    "algorithm": r.key.algorithm().jose_name(),
                    "issued_at": envelope::format_time(r.iat).ok(),
                    "statement": r.statement,
                })
                .to_string())?;
            } else {
                let ts = envelope::format_time(r.iat).unwrap_or_else(|_| r.iat.to_string());
                out(&format!(
                    "VALID {} signed by {} ({}) at {ts}",
                    r.summary,
                    short_did(&did),
                    r.key.algorithm()
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(inv) => {
            if a.json {
                out(
                    &json!({"valid": false, "malformed": inv.malformed, "reason": inv.reason})
                        .to_string(),
                )?;
            } else {
                out(&format!("INVALID: {}", inv.reason))?;
            }
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}
