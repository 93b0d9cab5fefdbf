//! Offline verification of RFC 3161 time-stamp tokens against pinned trust anchors.
//!
//! [`verify_token`] checks, in this order, and stops at the first failure with its own
//! [`TsaError`] variant:
//!
//! 1. the token is a CMS `ContentInfo` of type `id-signedData` whose encapsulated content
//!    is an `id-ct-TSTInfo` (`ContentType`); one signer (`Malformed` otherwise);
//! 2. the `TSTInfo`'s message imprint is SHA-256 (`ImprintAlgorithm`) of the expected data
//!    (`ImprintMismatch`), and it echoes the request's nonce (`NonceMismatch`);
//! 3. the signer's certificate is found by the `SignerIdentifier` among the token's
//!    certificates and the trust anchors (`SignerNotFound`);
//! 4. that certificate has exactly one, critical extended key usage `id-kp-timeStamping`
//!    and a key usage (if any) limited to `digitalSignature` / `nonRepudiation`
//!    (`KeyUsage`), and was valid at the token's `genTime` (`CertificateValidity`);
//! 5. it chains to a pinned trust anchor through CA certificates from the token, each
//!    valid at `genTime` and with a verifying signature (`UntrustedChain`,
//!    `CertificateValidity`); a trust anchor is a name and a key (RFC 5280 §6.1.1), so its
//!    own validity period is not checked;
//! 6. the signed attributes hold the content type `id-ct-TSTInfo` and a message digest
//!    equal to the digest of the `TSTInfo` bytes (`SignedAttributes`,
//!    `MessageDigestMismatch`), and a `signingCertificateV2` whose first `ESSCertIDv2`
//!    hashes to the signer's certificate (and names its serial number)
//!    (`SigningCertificate`);
//! 7. the signature verifies over the DER encoding of the signed attributes as a
//!    `SET OF Attribute` (RFC 5652 §5.4: the `[0] IMPLICIT` tag is replaced by the SET
//!    tag) (`InvalidSignature`).
//!
//! Certificate validity is judged at the token's own time, so a token stays verifiable
//! after the TSA certificate expires; revocation is not checked (no network).

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode, Tagged as _};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};

use crate::asn1::{
    ID_CONTENT_TYPE, ID_CT_TST_INFO, ID_KP_TIME_STAMPING, ID_MESSAGE_DIGEST, ID_SHA256,
    ID_SIGNED_DATA, ID_SIGNING_CERTIFICATE_V2, SigningCertificateV2, TstInfo,
};
use crate::error::TsaError;
use crate::request::{Imprint, Request, hex_of, imprint_of, nonce_int, token_from_response};
use crate::sig::{self, HashAlg};

/// The longest certificate path accepted (signer, intermediates, anchor).
pub const MAX_CHAIN: usize = 8;

/// Pinned trust anchors: the certificates a TSA certificate must chain to.
#[derive(Debug, Clone)]
pub struct TrustAnchors {
    certs: Vec<Certificate>,
}

impl TrustAnchors {
    /// Anchors from PEM text holding one or more certificates.
    ///
    /// # Errors
    /// [`TsaError::Malformed`] for bad PEM or DER; [`TsaError::Config`] when there is no
    /// certificate.
    pub fn from_pem(pem: &[u8]) -> Result<Self, TsaError> {
        let certs = Certificate::load_pem_chain(pem)
            .map_err(|e| TsaError::malformed("trust anchor pem", e))?;
        Self::new(certs)
    }

    /// Anchors from parsed certificates.
    ///
    /// # Errors
    /// [`TsaError::Config`] when `certs` is empty.
    pub fn new(certs: Vec<Certificate>) -> Result<Self, TsaError> {
        if certs.is_empty() {
            return Err(TsaError::Config("no trust anchor certificate".into()));
        }
        Ok(TrustAnchors { certs })
    }

    /// The anchors.
    #[must_use]
    pub fn certificates(&self) -> &[Certificate] {
        &self.certs
    }
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    /// `genTime`, whole seconds since the Unix epoch.
    pub time: i64,
    /// `genTime` in RFC 3339 form, with the token's fraction of a second if any.
    pub time_text: String,
    /// The token's serial number (hex).
    pub serial: String,
    /// The TSA policy OID.
    pub policy: String,
    /// The signing certificate's subject.
    pub tsa: String,
    /// The subjects from the signing certificate up to the trust anchor.
    pub chain: Vec<String>,
    /// The time-stamped imprint.
    pub imprint: Imprint,
    /// The nonce (hex of the INTEGER's content), if any.
    pub nonce: Option<String>,
    /// The accuracy, as text (`±1s 500ms`), if any.
    pub accuracy: Option<String>,
}

/// Verify a full `TimeStampResp` for `request`: status, then [`verify_token`] with the
/// request's imprint and nonce.
///
/// # Errors
/// [`TsaError::Status`] when the TSA did not grant it; otherwise as [`verify_token`].
pub fn verify_response(
    response: &[u8],
    request: &Request,
    anchors: &TrustAnchors,
) -> Result<Timestamp, TsaError> {
    let token = token_from_response(response)?;
    verify_token(&token, &request.imprint, Some(request.nonce), anchors)
}

/// Verify a bare token (a DER CMS `ContentInfo`) for data whose SHA-256 is `imprint`, with
/// the nonce sent (`None`: not checked), against `anchors`. Every check in the module docs,
/// fully offline.
///
/// # Errors
/// The first check that failed, as its own [`TsaError`] variant.
pub fn verify_token(
    token: &[u8],
    imprint: &Imprint,
    nonce: Option<u64>,
    anchors: &TrustAnchors,
) -> Result<Timestamp, TsaError> {
    // 1. Structure.
    let ci =
        ContentInfo::from_der(token).map_err(|e| TsaError::malformed("time-stamp token", e))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(TsaError::ContentType(format!(
            "token content type is `{}`, expected signed-data `{ID_SIGNED_DATA}`",
            ci.content_type
        )));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| TsaError::malformed("signed-data", e))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(TsaError::ContentType(format!(
            "encapsulated content type is `{}`, expected TSTInfo `{ID_CT_TST_INFO}`",
            sd.encap_content_info.econtent_type
        )));
    }
    let tst_der = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| TsaError::malformed("signed-data", "no encapsulated TSTInfo"))?
        .decode_as::<OctetString>()
        .map_err(|e| TsaError::malformed("signed-data", e))?
        .into_bytes();
    let tst = TstInfo::from_der(&tst_der).map_err(|e| TsaError::malformed("TSTInfo", e))?;
    if tst.version != 1 {
        return Err(TsaError::malformed(
            "TSTInfo",
            format!("version `{}`", tst.version),
        ));
    }
    let mut signers = sd.signer_infos.0.iter();
    let si = match (signers.next(), signers.next()) {
        (Some(si), None) => si,
        _ => {
            return Err(TsaError::malformed(
                "signed-data",
                "a time-stamp token has exactly one signer",
            ));
        }
    };

    // 2. Imprint and nonce.
    let found = imprint_of(&tst.message_imprint)?;
    if found != *imprint {
        return Err(TsaError::ImprintMismatch {
            expected: imprint.to_hex(),
            found: found.to_hex(),
        });
    }
    let token_nonce = tst.nonce.as_ref().map(|n| hex_of(n.as_bytes()));
    if let Some(sent) = nonce {
        let want = nonce_int(sent)?;
        if tst.nonce.as_ref() != Some(&want) {
            return Err(TsaError::NonceMismatch {
                expected: hex_of(want.as_bytes()),
                found: token_nonce.unwrap_or_else(|| "none".into()),
            });
        }
    }
    let (time, time_text) = parse_gen_time(&tst.gen_time)?;

    // 3. The signer's certificate.
    let pool: Vec<Certificate> = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let signer = pool
        .iter()
        .chain(anchors.certificates())
        .find(|c| matches_sid(c, &si.sid))
        .ok_or_else(|| TsaError::SignerNotFound(describe_sid(&si.sid)))?;

    // 4. Fit for time-stamping, valid at genTime.
    check_tsa_usage(signer)?;
    check_validity(signer, time, &time_text)?;

    // 5. Chain to an anchor.
    let chain = chain_to_anchor(signer, &pool, anchors, time, &time_text)?;

    // 6. Signed attributes.
    let digest_alg = HashAlg::from_algorithm(&si.digest_alg)?;
    let signed_attrs = check_signed_attributes(si, digest_alg, &tst_der, signer)?;

    // 7. The signature over the signed attributes, re-encoded as a SET.
    sig::verify(
        signer.tbs_certificate().subject_public_key_info(),
        &si.signature_algorithm,
        Some(digest_alg),
        &signed_attrs,
        si.signature.as_bytes(),
    )?;

    Ok(Timestamp {
        time,
        time_text,
        serial: hex_of(tst.serial_number.as_bytes()),
        policy: tst.policy.to_string(),
        tsa: signer.tbs_certificate().subject().to_string(),
        chain,
        imprint: found,
        nonce: token_nonce,
        accuracy: tst.accuracy.as_ref().map(|a| {
            let mut parts = Vec::new();
            if let Some(s) = a.seconds {
                parts.push(format!("{s}s"));
            }
            if let Some(m) = a.millis {
                parts.push(format!("{m}ms"));
            }
            if let Some(u) = a.micros {
                parts.push(format!("{u}us"));
            }
            format!("±{}", parts.join(" "))
        }),
    })
}

fn matches_sid(cert: &Certificate, sid: &SignerIdentifier) -> bool {
    let tbs = cert.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            isn.issuer == *tbs.issuer() && isn.serial_number == *tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(tbs.get_extension::<SubjectKeyIdentifier>(), Ok(Some((_, k))) if k == *ski)
        }
    }
}

fn describe_sid(sid: &SignerIdentifier) -> String {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => format!(
            "issuer `{}`, serial `{}`",
            isn.issuer,
            hex_of(isn.serial_number.as_bytes())
        ),
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            format!("subject key identifier `{}`", hex_of(ski.0.as_bytes()))
        }
    }
}

fn subject_of(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

/// RFC 3161 §2.3: exactly one, critical extended key usage, `id-kp-timeStamping`.
fn check_tsa_usage(cert: &Certificate) -> Result<(), TsaError> {
    let tbs = cert.tbs_certificate();
    let bad = |reason: String| TsaError::KeyUsage {
        subject: subject_of(cert),
        reason,
    };
    match tbs.get_extension::<ExtendedKeyUsage>() {
        Err(e) => return Err(bad(format!("unreadable extended key usage: {e}"))),
        Ok(None) => return Err(bad("no extended key usage extension".into())),
        Ok(Some((critical, eku))) => {
            if eku.0 != [ID_KP_TIME_STAMPING] {
                let list: Vec<String> = eku.0.iter().map(ToString::to_string).collect();
                return Err(bad(format!(
                    "extended key usage is `{}`, expected only timeStamping `{ID_KP_TIME_STAMPING}`",
                    list.join(", ")
                )));
            }
            if !critical {
                return Err(bad(
                    "the timeStamping extended key usage is not critical".into()
                ));
            }
        }
    }
    match tbs.get_extension::<KeyUsage>() {
        Err(e) => Err(bad(format!("unreadable key usage: {e}"))),
        Ok(Some((_, ku))) if !(ku.digital_signature() || ku.non_repudiation()) => Err(bad(
            "key usage allows neither digitalSignature nor nonRepudiation".into(),
        )),
        Ok(_) => Ok(()),
    }
}

fn unix_seconds(t: &x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

fn rfc3339(secs: i64) -> String {
    u64::try_from(secs)
        .ok()
        .and_then(|s| der::DateTime::from_unix_duration(std::time::Duration::from_secs(s)).ok())
        .map_or_else(|| format!("@{secs}"), |d| d.to_string())
}

fn check_validity(cert: &Certificate, at: i64, at_text: &str) -> Result<(), TsaError> {
    let v = cert.tbs_certificate().validity();
    let (from, to) = (unix_seconds(&v.not_before), unix_seconds(&v.not_after));
    if at < from || at > to {
        return Err(TsaError::CertificateValidity {
            subject: subject_of(cert),
            at: at_text.to_owned(),
            not_before: rfc3339(from),
            not_after: rfc3339(to),
        });
    }
    Ok(())
}

fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    let Ok(tbs) = cert.tbs_certificate().to_der() else {
        return false;
    };
    let Some(signature) = cert.signature().as_bytes() else {
        return false;
    };
    sig::verify(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        None,
        &tbs,
        signature,
    )
    .is_ok()
}

fn is_ca(cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    let ca = matches!(tbs.get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca);
    let sign = match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => ku.key_cert_sign(),
        Ok(None) => true,
        Err(_) => false,
    };
    ca && sign
}

fn chain_to_anchor(
    signer: &Certificate,
    pool: &[Certificate],
    anchors: &TrustAnchors,
    at: i64,
    at_text: &str,
) -> Result<Vec<String>, TsaError> {
    let mut chain = vec![subject_of(signer)];
    let mut current = signer;
    for _ in 0..MAX_CHAIN {
        if anchors.certificates().iter().any(|a| a == current) {
            return Ok(chain);
        }
        let issuer = current.tbs_certificate().issuer();
        if let Some(anchor) = anchors
            .certificates()
            .iter()
            .find(|a| a.tbs_certificate().subject() == issuer && signed_by(current, a))
        {
            chain.push(subject_of(anchor));
            return Ok(chain);
        }
        let next = pool.iter().find(|c| {
            *c != current
                && c.tbs_certificate().subject() == issuer
                && is_ca(c)
                && signed_by(current, c)
        });
        match next {
            Some(c) => {
                check_validity(c, at, at_text)?;
                chain.push(subject_of(c));
                current = c;
            }
            None => {
                return Err(TsaError::UntrustedChain(format!(
                    "`{}` is issued by `{issuer}`, which is not a pinned trust anchor, and no CA \
                     certificate in the token links it to one",
                    subject_of(current)
                )));
            }
        }
    }
    Err(TsaError::UntrustedChain(format!(
        "no trust anchor within {MAX_CHAIN} certificates"
    )))
}

/// The single value of the signed attribute `oid`.
fn single_attr<'a>(
    attrs: &'a x509_cert::attr::Attributes,
    oid: ObjectIdentifier,
    name: &str,
) -> Result<Option<&'a der::asn1::Any>, TsaError> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(TsaError::SignedAttributes(format!(
            "`{name}` appears twice"
        )));
    }
    let mut values = attr.values.iter();
    match (values.next(), values.next()) {
        (Some(v), None) => Ok(Some(v)),
        _ => Err(TsaError::SignedAttributes(format!(
            "`{name}` must have exactly one value"
        ))),
    }
}

/// Steps 6: check the signed attributes; returns their DER encoding as a SET OF, the bytes
/// the signature covers.
fn check_signed_attributes(
    si: &SignerInfo,
    digest_alg: HashAlg,
    tst_der: &[u8],
    signer: &Certificate,
) -> Result<Vec<u8>, TsaError> {
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| TsaError::SignedAttributes("the signer has no signed attributes".into()))?;
    let ct = single_attr(attrs, ID_CONTENT_TYPE, "content-type")?
        .ok_or_else(|| TsaError::SignedAttributes("no `content-type` attribute".into()))?
        .decode_as::<ObjectIdentifier>()
        .map_err(|e| TsaError::malformed("content-type attribute", e))?;
    if ct != ID_CT_TST_INFO {
        return Err(TsaError::SignedAttributes(format!(
            "`content-type` is `{ct}`, expected TSTInfo `{ID_CT_TST_INFO}`"
        )));
    }
    let md = single_attr(attrs, ID_MESSAGE_DIGEST, "message-digest")?
        .ok_or_else(|| TsaError::SignedAttributes("no `message-digest` attribute".into()))?
        .decode_as::<OctetString>()
        .map_err(|e| TsaError::malformed("message-digest attribute", e))?;
    if md.as_bytes() != digest_alg.digest(tst_der).as_slice() {
        return Err(TsaError::MessageDigestMismatch);
    }
    check_ess(attrs, signer)?;
    attrs
        .to_der()
        .map_err(|e| TsaError::malformed("signed attributes", e))
}

/// RFC 5035 / RFC 5816: the first `ESSCertIDv2` of `signingCertificateV2` is the signer's.
fn check_ess(attrs: &x509_cert::attr::Attributes, signer: &Certificate) -> Result<(), TsaError> {
    let value = single_attr(attrs, ID_SIGNING_CERTIFICATE_V2, "signingCertificateV2")?.ok_or_else(
        || {
            TsaError::SigningCertificate(
                "no `signingCertificateV2` (ESSCertIDv2) signed attribute".into(),
            )
        },
    )?;
    let sc: SigningCertificateV2 = value
        .decode_as()
        .map_err(|e| TsaError::malformed("signingCertificateV2 attribute", e))?;
    let first = sc
        .certs
        .first()
        .ok_or_else(|| TsaError::SigningCertificate("`signingCertificateV2` is empty".into()))?;
    let hash = match &first.hash_algorithm {
        None => HashAlg::from_algorithm(&spki::AlgorithmIdentifierOwned {
            oid: ID_SHA256,
            parameters: None,
        })?,
        Some(alg) => HashAlg::from_algorithm(alg)?,
    };
    let cert_der = signer
        .to_der()
        .map_err(|e| TsaError::malformed("signer certificate", e))?;
    if first.cert_hash.as_bytes() != hash.digest(&cert_der).as_slice() {
        return Err(TsaError::SigningCertificate(format!(
            "ESSCertIDv2 hash does not match the signing certificate `{}`",
            subject_of(signer)
        )));
    }
    if let Some(is) = &first.issuer_serial {
        let tbs = signer.tbs_certificate();
        let issuer_ok = is
            .issuer
            .iter()
            .any(|n| matches!(n, GeneralName::DirectoryName(d) if d == tbs.issuer()));
        if is.serial_number != *tbs.serial_number() || !issuer_ok {
            return Err(TsaError::SigningCertificate(
                "ESSCertIDv2 issuerSerial names another certificate".into(),
            ));
        }
    }
    Ok(())
}

/// Parse `genTime` (`YYYYMMDDhhmmss[.f…]Z`, RFC 3161 §2.4.2) into Unix seconds and
/// RFC 3339 text.
fn parse_gen_time(any: &der::asn1::Any) -> Result<(i64, String), TsaError> {
    let bad = |d: &str| TsaError::malformed("TSTInfo genTime", d);
    if any.tag() != der::Tag::GeneralizedTime {
        return Err(bad("not a GeneralizedTime"));
    }
    let s = std::str::from_utf8(any.value()).map_err(|_| bad("not ascii"))?;
    let body = s.strip_suffix('Z').ok_or_else(|| bad("must end in `Z`"))?;
    let (main, fraction) = match body.split_once('.') {
        Some((m, f)) => {
            if f.is_empty() || f.ends_with('0') || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("bad fraction of a second"));
            }
            (m, Some(f))
        }
        None => (body, None),
    };
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected YYYYMMDDhhmmss"));
    }
    let num = |from: usize, to: usize| -> Result<u16, TsaError> {
        main.get(from..to)
            .and_then(|d| d.parse::<u16>().ok())
            .ok_or_else(|| bad("bad digits"))
    };
    let small = |v: u16| u8::try_from(v).map_err(|_| bad("out of range"));
    let dt = der::DateTime::new(
        num(0, 4)?,
        small(num(4, 6)?)?,
        small(num(6, 8)?)?,
        small(num(8, 10)?)?,
        small(num(10, 12)?)?,
        small(num(12, 14)?)?,
    )
    .map_err(|e| TsaError::malformed("TSTInfo genTime", e))?;
    let secs = i64::try_from(dt.unix_duration().as_secs()).map_err(|_| bad("out of range"))?;
    let text = match fraction {
        Some(f) => {
            let base = dt.to_string();
            let stem = base.strip_suffix('Z').unwrap_or(&base);
            format!("{stem}.{f}Z")
        }
        None => dt.to_string(),
    };
    Ok((secs, text))
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn gt(s: &str) -> der::asn1::Any {
        der::asn1::Any::new(der::Tag::GeneralizedTime, s.as_bytes()).unwrap()
    }

    #[test]
    fn gen_time_with_and_without_fraction() {
        assert_eq!(
            parse_gen_time(&gt("20260102030405Z")).unwrap(),
            (1_767_323_045, "2026-01-02T03:04:05Z".into())
        );
        assert_eq!(
            parse_gen_time(&gt("20260102030405.25Z")).unwrap(),
            (1_767_323_045, "2026-01-02T03:04:05.25Z".into())
        );
        for bad in [
            "20260102030405",
            "20260102030405.Z",
            "20260102030405.50Z",
            "2026010203040Z",
            "20261302030405Z",
        ] {
            assert!(
                parse_gen_time(&gt(bad)).unwrap_err().is_malformed(),
                "{bad}"
            );
        }
    }
}
