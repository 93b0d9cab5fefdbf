//! Private keys at rest, `key_source`, and the per-user state directory.
//!
//! - **State directory**: `SIGNET_HOME` if set, else `$HOME/.signet`. Keys live in
//!   `keys/` below it (mode 0700), one file per key, `<name>.key` (mode 0600).
//! - **Key file**: the plaintext is canonical JSON
//!   `{"alg":"Ed25519","seed":"<base64url>","type":"signet.secret-key.v1"}`. By default
//!   it is encrypted with the `age` format (passphrase recipient, scrypt work factor
//!   2^[`SCRYPT_LOG_N`], ASCII armor), so `age -d` / `rage -d` can also open it. The
//!   plaintext form is written only with `keygen --unencrypted`.
//! - **Writes are atomic**: a temporary file in the same directory, created 0600, synced,
//!   renamed over the target, directory synced. An existing key is never overwritten
//!   without `--force`.
//! - **`key_source`**: `file:PATH` reads a key file; `env:VAR` reads the key file's text from
//!   the environment variable `VAR` (the same armored or JSON text a file holds).
//! - **Passphrase**: `SIGNET_PASSPHRASE` if set, else a prompt on the terminal; with neither,
//!   loading an encrypted key fails with a message saying so.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use signet_core::alg::{Algorithm, SigningKey};
use zeroize::Zeroizing;

/// scrypt work factor (log2 N) for new encrypted key files.
pub const SCRYPT_LOG_N: u8 = 18;
/// Environment variable holding the passphrase.
pub const PASSPHRASE_ENV: &str = "SIGNET_PASSPHRASE";
/// Environment variable overriding the state directory.
pub const HOME_ENV: &str = "SIGNET_HOME";
const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
const KEY_TYPE: &str = "signet.secret-key.v1";

/// The per-user state directory.
pub fn signet_home() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| anyhow!("neither `{HOME_ENV}` nor `HOME` is set"))?;
    Ok(PathBuf::from(home).join(".signet"))
}

/// The default path of the key named `name`.
pub fn default_key_path(name: &str) -> Result<PathBuf> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        bail!("invalid key name `{name}`: use letters, digits, `-` and `_`");
    }
    Ok(signet_home()?.join("keys").join(format!("{name}.key")))
}

/// Where a private key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `file:PATH`.
    File(PathBuf),
    /// `env:VAR`.
    Env(String),
}

impl std::str::FromStr for KeySource {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        if let Some(path) = s.strip_prefix("file:") {
            if path.is_empty() {
                bail!("key source `{s}` has an empty path");
            }
            Ok(KeySource::File(PathBuf::from(path)))
        } else if let Some(var) = s.strip_prefix("env:") {
            if var.is_empty() || var.contains('=') {
                bail!("key source `{s}` has an invalid variable name");
            }
            Ok(KeySource::Env(var.to_owned()))
        } else {
            bail!("key source `{s}` must be `file:PATH` or `env:VAR`")
        }
    }
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "file:{}", p.display()),
            KeySource::Env(v) => write!(f, "env:{v}"),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyPlain {
    alg: String,
    seed: String,
    #[serde(rename = "type")]
    kind: String,
}

impl Drop for KeyPlain {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.seed.zeroize();
    }
}

fn plaintext_of(key: &SigningKey) -> Result<Zeroizing<Vec<u8>>> {
    let seed = key.seed();
    let plain = KeyPlain {
        alg: key.algorithm().jose_name().to_owned(),
        seed: URL_SAFE_NO_PAD.encode(seed.as_slice()),
        kind: KEY_TYPE.to_owned(),
    };
    let mut out = Zeroizing::new(Vec::new());
    serde_json::to_writer(&mut *out, &plain)?;
    out.push(b'\n');
    Ok(out)
}

fn key_from_plaintext(text: &[u8], origin: &str) -> Result<SigningKey> {
    let plain: KeyPlain = serde_json::from_slice(text)
        .map_err(|e| anyhow!("{origin} is not a signet key file: {e}"))?;
    if plain.kind != KEY_TYPE {
        bail!(
            "{origin} has key type `{}`, expected `{KEY_TYPE}`",
            plain.kind
        );
    }
    let alg = Algorithm::from_jose_name(&plain.alg)
        .ok_or_else(|| anyhow!("{origin} has unknown algorithm `{}`", plain.alg))?;
    let seed = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(plain.seed.as_bytes())
            .map_err(|_| anyhow!("{origin} has a seed that is not base64url"))?,
    );
    SigningKey::from_seed(alg, &seed).map_err(|e| anyhow!("{origin}: {e}"))
}

/// Obtain the passphrase: `SIGNET_PASSPHRASE`, else a terminal prompt (twice if `confirm`).
pub fn passphrase(prompt: &str, confirm: bool) -> Result<SecretString> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        if p.is_empty() {
            bail!("`{PASSPHRASE_ENV}` is set but empty");
        }
        return Ok(SecretString::from(p));
    }
    let first = Zeroizing::new(rpassword::prompt_password(prompt).map_err(|e| {
        anyhow!("no passphrase: set `{PASSPHRASE_ENV}` or run in a terminal ({e})")
    })?);
    if first.is_empty() {
        bail!("empty passphrase");
    }
    if confirm {
        let second = Zeroizing::new(rpassword::prompt_password("confirm passphrase: ")?);
        if *first != *second {
            bail!("passphrases do not match");
        }
    }
    Ok(SecretString::from(first.to_string()))
}

fn encrypt(plaintext: &[u8], pass: SecretString) -> Result<Vec<u8>> {
    let mut recipient = age::scrypt::Recipient::new(pass);
    recipient.set_work_factor(SCRYPT_LOG_N);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| anyhow!("cannot set up encryption: {e}"))?;
    let mut out = Vec::new();
    let armor = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)?;
    let mut w = encryptor.wrap_output(armor)?;
    w.write_all(plaintext)?;
    w.finish()?.finish()?;
    Ok(out)
}

fn decrypt(ciphertext: &[u8], origin: &str) -> Result<Zeroizing<Vec<u8>>> {
    let decryptor = age::Decryptor::new(age::armor::ArmoredReader::new(ciphertext))
        .map_err(|e| anyhow!("{origin} is not a valid age file: {e}"))?;
    if !decryptor.is_scrypt() {
        bail!("{origin} is encrypted to an age recipient, not a passphrase");
    }
    let pass = passphrase(&format!("passphrase for {origin}: "), false)?;
    let mut identity = age::scrypt::Identity::new(pass);
    identity.set_max_work_factor(22);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                anyhow!("wrong passphrase for {origin}")
            }
            other => anyhow!("cannot decrypt {origin}: {other}"),
        })?;
    let mut out = Zeroizing::new(Vec::new());
    reader.read_to_end(&mut out)?;
    Ok(out)
}

/// Parse key material (armored age or plaintext JSON) from `origin`.
pub fn key_from_text(text: &[u8], origin: &str) -> Result<SigningKey> {
    let trimmed = text.trim_ascii_start();
    if trimmed.starts_with(ARMOR_BEGIN.as_bytes()) || trimmed.starts_with(b"age-encryption.org/") {
        let plain = decrypt(trimmed, origin)?;
        key_from_plaintext(&plain, origin)
    } else if trimmed.starts_with(b"{") {
        key_from_plaintext(trimmed, origin)
    } else {
        bail!("{origin} holds neither an age-encrypted nor a plaintext signet key")
    }
}

/// Load the signing key from a [`KeySource`].
pub fn load(source: &KeySource) -> Result<SigningKey> {
    match source {
        KeySource::File(path) => {
            let origin = format!("key file `{}`", path.display());
            let text = Zeroizing::new(fs::read(path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    anyhow!("{origin} does not exist (create one with `signet keygen`)")
                } else {
                    anyhow!("cannot read {origin}: {e}")
                }
            })?);
            key_from_text(&text, &origin)
        }
        KeySource::Env(var) => {
            let origin = format!("environment variable `{var}`");
            let text = Zeroizing::new(
                std::env::var(var)
                    .map_err(|_| anyhow!("{origin} is not set or not unicode"))?
                    .into_bytes(),
            );
            key_from_text(&text, &origin)
        }
    }
}

/// The text of a key file for `key`: encrypted under `pass`, or plaintext if `None`.
pub fn key_file_text(key: &SigningKey, pass: Option<SecretString>) -> Result<Zeroizing<Vec<u8>>> {
    let plain = plaintext_of(key)?;
    match pass {
        Some(p) => Ok(Zeroizing::new(encrypt(&plain, p)?)),
        None => Ok(plain),
    }
}

/// Write `contents` to `path` atomically with mode 0600, creating parent directories 0700.
pub fn write_secret_file(path: &Path, contents: &[u8], force: bool) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    if path.exists() && !force {
        bail!(
            "`{}` already exists; refusing to overwrite a key (use --force to replace it)",
            path.display()
        );
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| anyhow!("`{}` is not a file path", path.display()))?;
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| anyhow!("os random source failed: {e}"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        hex_lower(&suffix)
    ));
    let result = (|| -> Result<()> {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        set_mode(&mut opts, 0o600);
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("cannot create `{}`", tmp.display()))?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
            .with_context(|| format!("cannot move key into `{}`", path.display()))?;
        if let Ok(d) = fs::File::open(dir) {
            // Persist the rename; not every filesystem supports syncing a directory.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(unix)]
fn set_mode(opts: &mut fs::OpenOptions, mode: u32) {
    use std::os::unix::fs::OpenOptionsExt as _;
    opts.mode(mode);
}

#[cfg(not(unix))]
fn set_mode(_opts: &mut fs::OpenOptions, _mode: u32) {}

fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
        .with_context(|| format!("cannot create directory `{}`", dir.display()))
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn key_source_parsing() {
        assert_eq!(
            "file:/a/b".parse::<KeySource>().unwrap(),
            KeySource::File("/a/b".into())
        );
        assert_eq!(
            "env:SIGNET_PRIVATE_KEY".parse::<KeySource>().unwrap(),
            KeySource::Env("SIGNET_PRIVATE_KEY".into())
        );
        assert!("file:".parse::<KeySource>().is_err());
        assert!("env:".parse::<KeySource>().is_err());
        assert!("/a/b".parse::<KeySource>().is_err());
        assert!("vault:x".parse::<KeySource>().is_err());
    }

    #[test]
    fn plaintext_round_trip_each_algorithm() {
        for alg in Algorithm::ALL {
            let k = SigningKey::from_seed(alg, &vec![5; alg.seed_len()]).unwrap();
            let text = key_file_text(&k, None).unwrap();
            let back = key_from_text(&text, "test").unwrap();
            assert_eq!(back.public_key(), k.public_key());
        }
    }

    #[test]
    fn rejects_garbage_and_unknown_fields() {
        assert!(key_from_text(b"hello", "t").is_err());
        let e = key_from_text(
            br#"{"alg":"Ed25519","seed":"AAAA","type":"signet.secret-key.v1","x":1}"#,
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = key_from_text(
            br#"{"alg":"RS256","seed":"AAAA","type":"signet.secret-key.v1"}"#,
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("RS256"), "{e}");
    }

    #[test]
    fn atomic_write_mode_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/k.key");
        write_secret_file(&p, b"one", false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(p.parent().unwrap())
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
        assert!(write_secret_file(&p, b"two", false).is_err());
        assert_eq!(fs::read(&p).unwrap(), b"one");
        write_secret_file(&p, b"two", true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        // No temporary files left behind.
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}
