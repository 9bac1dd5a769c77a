//! Compact JWS as SBI devices sign their answers: `base64url(header).base64url(payload).sig`,
//! RS256 or EdDSA, the device certificate in the header's `x5c`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde::Deserialize;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Distrust;

/// Why a JWS was refused.
#[derive(Debug)]
pub(crate) enum JwsError {
    /// Not a JWS at all (parts, base64, JSON).
    Malformed(String),
    /// A JWS that fails a trust check.
    Distrust(Distrust),
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    x5c: Vec<String>,
}

/// Device-provider certificates this station trusts to issue device certificates.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    anchors: Vec<Vec<u8>>,
}

impl Trust {
    /// Trusts the certificates in `pem` (one or more `CERTIFICATE` blocks).
    ///
    /// # Errors
    /// When a block is not a readable X.509 certificate, or there is none.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let mut anchors = Vec::new();
        for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
            let block = block.map_err(|error| format!("not PEM: {error}"))?;
            X509Certificate::from_der(&block.contents)
                .map_err(|error| format!("not an X.509 certificate: {error}"))?;
            anchors.push(block.contents);
        }
        if anchors.is_empty() {
            return Err("no certificate found".into());
        }
        Ok(Self { anchors })
    }

    /// Adds the trust of `other`.
    pub fn extend(&mut self, other: Trust) {
        self.anchors.extend(other.anchors);
    }

    /// True when no certificate is trusted (every signed answer will be refused).
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Checks that `der` was issued by a trusted certificate and is valid at `now`.
    fn check(&self, der: &[u8], now: time::OffsetDateTime) -> Result<(), Distrust> {
        let untrusted = |why: String| Distrust::UntrustedCertificate(why);
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|error| untrusted(format!("unreadable certificate: {error}")))?;
        let at = x509_parser::time::ASN1Time::from(now);
        if !cert.validity().is_valid_at(at) {
            return Err(untrusted(
                "the device certificate is outside its validity".into(),
            ));
        }
        let issued_by_anchor = self.anchors.iter().any(|anchor| {
            X509Certificate::from_der(anchor).is_ok_and(|(_, anchor)| {
                anchor.subject() == cert.issuer()
                    && cert.verify_signature(Some(anchor.public_key())).is_ok()
            })
        });
        if issued_by_anchor {
            Ok(())
        } else {
            Err(untrusted(format!(
                "issuer \"{}\" is not a trusted device provider",
                cert.issuer()
            )))
        }
    }
}

/// Verifies `jws` and returns its payload bytes.
pub(crate) fn verify(
    jws: &str,
    trust: &Trust,
    now: time::OffsetDateTime,
) -> Result<Vec<u8>, JwsError> {
    let malformed = |why: &str| JwsError::Malformed(why.to_owned());
    let mut parts = jws.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("a JWS has three dot-separated parts"));
    };
    let header: Header = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| malformed("the JWS header is not base64url JSON"))?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| malformed("the JWS payload is not base64url"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| malformed("the JWS signature is not base64url"))?;
    let certificate = header
        .x5c
        .first()
        .and_then(|cert| STANDARD.decode(cert).ok())
        .ok_or(JwsError::Distrust(Distrust::UntrustedCertificate(
            "the answer carries no device certificate (x5c)".into(),
        )))?;
    trust.check(&certificate, now).map_err(JwsError::Distrust)?;

    let (_, cert) = X509Certificate::from_der(&certificate)
        .map_err(|_| malformed("unreadable device certificate"))?;
    let key = cert.public_key().subject_public_key.data.as_ref();
    let algorithm: &dyn ring::signature::VerificationAlgorithm = match header.alg.as_str() {
        "RS256" => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        "EdDSA" => &ring::signature::ED25519,
        other => {
            return Err(JwsError::Malformed(format!(
                "unsupported signature algorithm {other:?}"
            )))
        }
    };
    let signed = &jws[..header_b64.len() + 1 + payload_b64.len()];
    ring::signature::UnparsedPublicKey::new(algorithm, key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| JwsError::Distrust(Distrust::BadSignature))?;
    Ok(payload)
}

/// Decodes a JWS payload without verifying it (to name a device in a discovery list only).
pub(crate) fn unverified_payload(jws: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(jws.split('.').nth(1)?).ok()
}
