//! The blocking HTTP client for a time-stamp authority (RFC 3161 §3.4): POST the DER
//! request as `application/timestamp-query`, read an `application/timestamp-reply`.
//!
//! Every exchange has one overall timeout (connect, send and receive together), follows no
//! redirects and reads at most [`MAX_RESPONSE`] bytes. Plain `http://` URLs always work;
//! `https://` needs the crate's `https` feature. The client never prints.

use std::time::Duration;

use crate::error::TsaError;
use crate::request::{Imprint, Request};
use crate::verify::{Timestamp, TrustAnchors, verify_response};

/// The largest response read, in bytes.
pub const MAX_RESPONSE: u64 = 256 * 1024;

/// The default timeout of one exchange.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for one TSA URL.
#[derive(Debug, Clone)]
pub struct Client {
    url: String,
    agent: ureq::Agent,
}

/// A granted, verified time-stamp with the exact bytes exchanged.
#[derive(Debug, Clone)]
pub struct Stamped {
    /// The DER `TimeStampReq` sent.
    pub request: Vec<u8>,
    /// The DER `TimeStampResp` received.
    pub response: Vec<u8>,
    /// The token inside it.
    pub token: Vec<u8>,
    /// What the token says.
    pub timestamp: Timestamp,
}

impl Client {
    /// A client for `url` with an overall `timeout` per exchange.
    ///
    /// # Errors
    /// [`TsaError::Config`] for a URL that is not `http://` (or `https://` with the `https`
    /// feature) or a zero timeout.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, TsaError> {
        let https = cfg!(feature = "https") && url.starts_with("https://");
        if !(url.starts_with("http://") || https) {
            return Err(TsaError::Config(format!(
                "tsa url `{url}` must start with `http://`{}",
                if cfg!(feature = "https") {
                    " or `https://`"
                } else {
                    " (this build has no https support)"
                }
            )));
        }
        if timeout.is_zero() {
            return Err(TsaError::Config(
                "tsa timeout must be more than zero".into(),
            ));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Ok(Client {
            url: url.to_owned(),
            agent,
        })
    }

    /// The URL.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// POST a DER request; returns the DER response body.
    ///
    /// # Errors
    /// [`TsaError::Http`] for a connection failure, timeout, non-200 status, wrong content
    /// type or an oversized body.
    pub fn send(&self, request: &[u8]) -> Result<Vec<u8>, TsaError> {
        let fail = |detail: String| TsaError::Http {
            url: self.url.clone(),
            detail,
        };
        let mut resp = self
            .agent
            .post(&self.url)
            .content_type("application/timestamp-query")
            .send(request)
            .map_err(|e| fail(e.to_string()))?;
        if resp.status() != 200 {
            return Err(fail(format!("http status {}", resp.status())));
        }
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !ct.starts_with("application/timestamp-reply") {
            return Err(fail(format!(
                "content type `{ct}`, expected `application/timestamp-reply`"
            )));
        }
        resp.body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_vec()
            .map_err(|e| fail(e.to_string()))
    }

    /// Time-stamp `imprint`: a fresh random nonce, one exchange, and full verification of
    /// the response against `anchors` before it is returned.
    ///
    /// # Errors
    /// [`TsaError::Http`], or any verification failure of [`verify_response`].
    pub fn timestamp(&self, imprint: Imprint, anchors: &TrustAnchors) -> Result<Stamped, TsaError> {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| TsaError::Config(format!("no randomness: {e}")))?;
        let request = Request::new(imprint, u64::from_be_bytes(nonce));
        let request_der = request.to_der()?;
        let response = self.send(&request_der)?;
        let timestamp = verify_response(&response, &request, anchors)?;
        let token = crate::request::token_from_response(&response)?;
        Ok(Stamped {
            request: request_der,
            response,
            token,
            timestamp,
        })
    }
}
