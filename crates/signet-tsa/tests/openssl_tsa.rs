//! Interop with a time-stamp authority nobody on this project wrote: `openssl ts -reply`
//! behind a tiny local HTTP responder (`tests/peers/tsa_server.py`), with a test PKI made
//! at run time by `tests/peers/make-pki.sh` in a temporary directory.
//!
//! Tokens it issues verify in signet; `openssl ts -verify` accepts the request / response
//! pairs signet makes; and each kind of bad token is rejected with its own reason.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::panic, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cms::content_info::ContentInfo;
use cms::signed_data::{CertificateSet, SignedData, SignerInfos};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, DecodePem, Encode};
use signet_tsa::http::Client;
use signet_tsa::{
    Imprint, Kind, Request, TrustAnchors, TsaError, kind_of, token_from_response, token_of,
    verify_response, verify_token,
};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;

fn peers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// The test PKI and a running `openssl ts` responder; the responder is killed on drop.
struct Tsa {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl Drop for Tsa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tsa {
    fn start() -> Tsa {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("bash")
            .arg(peers().join("make-pki.sh"))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "make-pki.sh failed");
        let mut child = Command::new("python3")
            .arg(peers().join("tsa_server.py"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
        Tsa { dir, child, port }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn url(&self, section: &str) -> String {
        format!("http://127.0.0.1:{}/{section}", self.port)
    }

    fn anchors(&self, name: &str) -> TrustAnchors {
        TrustAnchors::from_pem(&std::fs::read(self.path(name)).unwrap()).unwrap()
    }

    fn cert(&self, name: &str) -> Certificate {
        Certificate::from_pem(std::fs::read(self.path(name)).unwrap()).unwrap()
    }

    /// One exchange with `section`: the request and the raw response.
    fn exchange(&self, section: &str, request: &Request) -> Vec<u8> {
        Client::new(&self.url(section), Duration::from_secs(30))
            .unwrap()
            .send(&request.to_der().unwrap())
            .unwrap()
    }
}

fn request(data: &[u8], nonce: u64) -> Request {
    Request::new(Imprint::of(data), nonce)
}

/// Decode a token, let `f` change its SignedData, encode it again.
fn modify(token: &[u8], f: impl FnOnce(&mut SignedData)) -> Vec<u8> {
    let ci = ContentInfo::from_der(token).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    f(&mut sd);
    ContentInfo {
        content_type: ci.content_type,
        content: Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// Let `f` change the only signer's signed attributes.
fn modify_attrs(token: &[u8], f: impl FnOnce(&mut Vec<Attribute>)) -> Vec<u8> {
    modify(token, |sd| {
        let mut signers = sd.signer_infos.0.clone().into_vec();
        let mut attrs = signers[0].signed_attrs.clone().unwrap().into_vec();
        f(&mut attrs);
        signers[0].signed_attrs = Some(SetOfVec::from_iter(attrs).unwrap());
        sd.signer_infos = SignerInfos::try_from(signers).unwrap();
    })
}

fn openssl_verify(tsa: &Tsa, req: &[u8], resp: &[u8], ca: &str) -> std::process::Output {
    let q = tsa.path("signet.tsq");
    let r = tsa.path("signet.tsr");
    std::fs::write(&q, req).unwrap();
    std::fs::write(&r, resp).unwrap();
    Command::new("openssl")
        .args(["ts", "-verify", "-queryfile"])
        .arg(&q)
        .arg("-in")
        .arg(&r)
        .arg("-CAfile")
        .arg(tsa.path(ca))
        .arg("-untrusted")
        .arg(tsa.path("inter.pem"))
        .output()
        .unwrap()
}

#[test]
fn openssl_tokens_verify_in_signet_and_signets_pairs_verify_in_openssl() {
    let tsa = Tsa::start();
    let root = tsa.anchors("root.pem");
    let data = b"origin\n42\nroot hash\n";

    // signet's client: random nonce, one exchange, verified before it returns.
    let client = Client::new(&tsa.url("ec"), Duration::from_secs(30)).unwrap();
    let stamped = client.timestamp(Imprint::of(data), &root).unwrap();
    let ts = &stamped.timestamp;
    assert_eq!(ts.policy, "1.3.6.1.4.1.99999.1");
    assert_eq!(ts.tsa, "O=TEST FIXTURE,CN=signet test tsa");
    assert_eq!(
        ts.chain,
        [
            "O=TEST FIXTURE,CN=signet test tsa",
            "O=TEST FIXTURE,CN=signet test intermediate",
            "O=TEST FIXTURE,CN=signet test root"
        ]
    );
    assert!(ts.time > 1_700_000_000, "{ts:?}");
    assert_eq!(ts.accuracy.as_deref(), Some("±1s 500ms"));
    assert!(ts.nonce.is_some());
    // The token alone, and found inside the response, verify the same way.
    assert_eq!(kind_of(&stamped.response).unwrap(), Kind::Response);
    assert_eq!(kind_of(&stamped.token).unwrap(), Kind::Token);
    assert_eq!(token_of(&stamped.response).unwrap(), stamped.token);
    let again = verify_token(&stamped.token, &Imprint::of(data), None, &root).unwrap();
    assert_eq!(&again, ts);
    let req = Request::from_der(&stamped.request).unwrap();
    assert_eq!(req.imprint, Imprint::of(data));
    assert_eq!(
        verify_response(&stamped.response, &req, &root).unwrap(),
        *ts
    );

    // OpenSSL accepts the request / response pair signet made and kept.
    let out = openssl_verify(&tsa, &stamped.request, &stamped.response, "root.pem");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verification: OK"));
    // … and so does `-data` with the time-stamped bytes.
    let d = tsa.path("data.bin");
    std::fs::write(&d, data).unwrap();
    let out = Command::new("openssl")
        .args(["ts", "-verify", "-data"])
        .arg(&d)
        .arg("-in")
        .arg(tsa.path("signet.tsr"))
        .arg("-CAfile")
        .arg(tsa.path("root.pem"))
        .arg("-untrusted")
        .arg(tsa.path("inter.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Pinning the intermediate or the TSA certificate itself works too.
    verify_token(
        &stamped.token,
        &Imprint::of(data),
        None,
        &tsa.anchors("inter.pem"),
    )
    .unwrap();
    verify_token(
        &stamped.token,
        &Imprint::of(data),
        None,
        &tsa.anchors("tsa.pem"),
    )
    .unwrap();
}

#[test]
fn rsa_tsa_signed_directly_by_the_root() {
    let tsa = Tsa::start();
    let req = request(b"rsa", 7);
    let resp = tsa.exchange("rsa", &req);
    let ts = verify_response(&resp, &req, &tsa.anchors("root.pem")).unwrap();
    assert_eq!(ts.tsa, "O=TEST FIXTURE,CN=signet test tsa rsa");
    assert_eq!(ts.chain.len(), 2);
    assert_eq!(ts.nonce.as_deref(), Some("07"));
    // A bare token without a nonce check.
    verify_token(
        &token_from_response(&resp).unwrap(),
        &Imprint::of(b"rsa"),
        None,
        &tsa.anchors("root.pem"),
    )
    .unwrap();
}

#[test]
fn wrong_imprint_and_wrong_nonce() {
    let tsa = Tsa::start();
    let req = request(b"the checkpoint", 1234);
    let resp = tsa.exchange("ec", &req);
    let root = tsa.anchors("root.pem");
    verify_response(&resp, &req, &root).unwrap();

    let err = verify_response(&resp, &request(b"another checkpoint", 1234), &root).unwrap_err();
    assert!(matches!(err, TsaError::ImprintMismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("message imprint does not match the data")
    );

    let err = verify_response(&resp, &request(b"the checkpoint", 1235), &root).unwrap_err();
    assert!(matches!(err, TsaError::NonceMismatch { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "nonce mismatch: sent `04d3`, token has `04d2`"
    );
}

#[test]
fn expired_tsa_certificate() {
    let tsa = Tsa::start();
    let req = request(b"late", 9);
    let resp = tsa.exchange("expired", &req);
    let err = verify_response(&resp, &req, &tsa.anchors("root.pem")).unwrap_err();
    match &err {
        TsaError::CertificateValidity {
            subject, not_after, ..
        } => {
            assert_eq!(subject, "O=TEST FIXTURE,CN=signet test tsa expired");
            assert_eq!(not_after, "2021-01-01T00:00:00Z");
        }
        other => panic!("expected a validity error, got {other}"),
    }
}

#[test]
fn wrong_eku_tsa_certificate() {
    // openssl refuses to sign with a certificate lacking timeStamping, so the token is made
    // with the good certificate and then carries a certificate with the same key, issuer
    // and serial number but the serverAuth usage instead.
    let tsa = Tsa::start();
    let req = request(b"eku", 5);
    let token = token_from_response(&tsa.exchange("ec", &req)).unwrap();
    let wrong = tsa.cert("wrong-eku.pem");
    let inter = tsa.cert("inter.pem");
    let swapped = modify(&token, |sd| {
        sd.certificates = Some(
            CertificateSet::try_from(vec![
                cms::cert::CertificateChoices::Certificate(wrong),
                cms::cert::CertificateChoices::Certificate(inter),
            ])
            .unwrap(),
        );
    });
    let err = verify_token(&swapped, &req.imprint, Some(5), &tsa.anchors("root.pem")).unwrap_err();
    assert!(matches!(err, TsaError::KeyUsage { .. }), "{err}");
    assert!(err.to_string().contains("1.3.6.1.5.5.7.3.1"), "{err}");
}

#[test]
fn untrusted_chain() {
    let tsa = Tsa::start();
    let req = request(b"chain", 11);
    let resp = tsa.exchange("ec", &req);
    // Same name as the real root, different key.
    let err = verify_response(&resp, &req, &tsa.anchors("other-root.pem")).unwrap_err();
    assert!(matches!(err, TsaError::UntrustedChain(_)), "{err}");
    assert!(err.to_string().contains("CN=signet test root"), "{err}");
    // An unrelated TSA certificate as the anchor.
    let err = verify_response(&resp, &req, &tsa.anchors("tsa-rsa.pem")).unwrap_err();
    assert!(matches!(err, TsaError::UntrustedChain(_)), "{err}");
    // Without the intermediate in the token, the root alone does not reach the TSA.
    let token = token_from_response(&resp).unwrap();
    let tsa_cert = tsa.cert("tsa.pem");
    let no_inter = modify(&token, |sd| {
        sd.certificates = Some(
            CertificateSet::try_from(vec![cms::cert::CertificateChoices::Certificate(tsa_cert)])
                .unwrap(),
        );
    });
    let err =
        verify_token(&no_inter, &req.imprint, Some(11), &tsa.anchors("root.pem")).unwrap_err();
    assert!(matches!(err, TsaError::UntrustedChain(_)), "{err}");
}

#[test]
fn tampered_signed_attributes_and_content() {
    let tsa = Tsa::start();
    let req = request(b"tamper", 3);
    let token = token_from_response(&tsa.exchange("ec", &req)).unwrap();
    let root = tsa.anchors("root.pem");
    verify_token(&token, &req.imprint, Some(3), &root).unwrap();

    // An extra signed attribute: the signature no longer covers the attributes.
    let extra = modify_attrs(&token, |attrs| {
        attrs.push(Attribute {
            oid: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.9"),
            values: SetOfVec::from_iter([Any::encode_from(&true).unwrap()]).unwrap(),
        });
    });
    let err = verify_token(&extra, &req.imprint, Some(3), &root).unwrap_err();
    assert!(matches!(err, TsaError::InvalidSignature(_)), "{err}");

    // A changed signing time (openssl adds one): same.
    let signing_time = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
    let retimed = modify_attrs(&token, |attrs| {
        let a = attrs.iter_mut().find(|a| a.oid == signing_time).unwrap();
        a.values = SetOfVec::from_iter([Any::encode_from(
            &der::asn1::UtcTime::from_unix_duration(Duration::from_secs(1_000_000_000)).unwrap(),
        )
        .unwrap()])
        .unwrap();
    });
    let err = verify_token(&retimed, &req.imprint, Some(3), &root).unwrap_err();
    assert!(matches!(err, TsaError::InvalidSignature(_)), "{err}");

    // A changed ESSCertIDv2 hash: the binding to the signing certificate fails.
    let ess = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
    let rebound = modify_attrs(&token, |attrs| {
        let a = attrs.iter_mut().find(|a| a.oid == ess).unwrap();
        let mut der = a.values.get(0).unwrap().to_der().unwrap();
        // The cert hash is the last 32 bytes when issuerSerial is absent, else inside:
        // flip a byte of the hash found by searching for the real one.
        let cert_hash =
            signet_tsa::sig::HashAlg::Sha256.digest(&tsa.cert("tsa.pem").to_der().unwrap());
        let at = der
            .windows(32)
            .position(|w| w == cert_hash.as_slice())
            .unwrap();
        der[at] ^= 1;
        a.values = SetOfVec::from_iter([Any::from_der(&der).unwrap()]).unwrap();
    });
    let err = verify_token(&rebound, &req.imprint, Some(3), &root).unwrap_err();
    assert!(matches!(err, TsaError::SigningCertificate(_)), "{err}");

    // No signing-certificate attribute at all.
    let unbound = modify_attrs(&token, |attrs| attrs.retain(|a| a.oid != ess));
    let err = verify_token(&unbound, &req.imprint, Some(3), &root).unwrap_err();
    assert!(matches!(err, TsaError::SigningCertificate(_)), "{err}");

    // A changed TSTInfo (its serial number): the signed message digest no longer matches.
    let content = modify(&token, |sd| {
        let octets = sd
            .encap_content_info
            .econtent
            .as_ref()
            .unwrap()
            .decode_as::<OctetString>()
            .unwrap();
        let mut tst = signet_tsa::asn1::TstInfo::from_der(octets.as_bytes()).unwrap();
        tst.serial_number = der::asn1::Int::new(&[0x55]).unwrap();
        sd.encap_content_info.econtent =
            Some(Any::encode_from(&OctetString::new(tst.to_der().unwrap()).unwrap()).unwrap());
    });
    let err = verify_token(&content, &req.imprint, Some(3), &root).unwrap_err();
    assert_eq!(err, TsaError::MessageDigestMismatch);

    // Garbage is malformed, not a failed check.
    let err = verify_token(b"\x30\x03\x02\x01\x01", &req.imprint, None, &root).unwrap_err();
    assert!(err.is_malformed(), "{err}");
}

#[test]
fn refusals_and_a_tsa_that_is_down() {
    let tsa = Tsa::start();
    // A SHA-1 imprint is not in the TSA's accepted digests: a `rejection` response.
    let sha1 = signet_tsa::asn1::TimeStampReq {
        version: 1,
        message_imprint: signet_tsa::asn1::MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifierOwned {
                oid: ObjectIdentifier::new_unwrap("1.3.14.3.2.26"),
                parameters: None,
            },
            hashed_message: OctetString::new([0u8; 20]).unwrap(),
        },
        req_policy: None,
        nonce: None,
        cert_req: true,
        extensions: None,
    };
    let client = Client::new(&tsa.url("ec"), Duration::from_secs(30)).unwrap();
    let resp = client.send(&sha1.to_der().unwrap()).unwrap();
    let err = token_from_response(&resp).unwrap_err();
    assert!(matches!(err, TsaError::Status { .. }), "{err}");
    assert!(err.to_string().contains("`rejection`"), "{err}");
    assert!(err.to_string().contains("badAlg"), "{err}");

    let root = tsa.anchors("root.pem");
    let down = Client::new(&tsa.url("down"), Duration::from_secs(30)).unwrap();
    let err = down.timestamp(Imprint::of(b"x"), &root).unwrap_err();
    assert!(matches!(err, TsaError::Http { .. }), "{err}");
    assert!(err.to_string().contains("503"), "{err}");

    let hang = Client::new(&tsa.url("hang"), Duration::from_millis(300)).unwrap();
    let err = hang.timestamp(Imprint::of(b"x"), &root).unwrap_err();
    assert!(matches!(err, TsaError::Http { .. }), "{err}");

    // Nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let gone = Client::new(
        &format!("http://127.0.0.1:{closed}/"),
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(matches!(
        gone.timestamp(Imprint::of(b"x"), &root).unwrap_err(),
        TsaError::Http { .. }
    ));
    assert!(matches!(
        Client::new("ftp://example.invalid/", Duration::from_secs(1)).unwrap_err(),
        TsaError::Config(_)
    ));
}
