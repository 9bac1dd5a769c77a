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

    /// Checks that `der` is valid at `now` and was issued by a trusted certificate, directly
    /// or through one of the `intermediates` (the rest of the `x5c` chain), which must then be
    /// a CA certificate valid at `now` issued by a trusted one.
    fn check(
        &self,
        der: &[u8],
        intermediates: &[Vec<u8>],
        now: time::OffsetDateTime,
    ) -> Result<(), Distrust> {
        let untrusted = |why: String| Distrust::UntrustedCertificate(why);
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|error| untrusted(format!("unreadable certificate: {error}")))?;
        let at = x509_parser::time::ASN1Time::from(now);
        if !cert.validity().is_valid_at(at) {
            return Err(untrusted(
                "the device certificate is outside its validity".into(),
            ));
        }
        let issued = |child: &X509Certificate<'_>, parent: &X509Certificate<'_>| {
            parent.subject() == child.issuer()
                && child.verify_signature(Some(parent.public_key())).is_ok()
        };
        let anchors: Vec<X509Certificate<'_>> = self
            .anchors
            .iter()
            .filter_map(|anchor| X509Certificate::from_der(anchor).ok().map(|(_, a)| a))
            .collect();
        let by_anchor = |child: &X509Certificate<'_>| anchors.iter().any(|a| issued(child, a));
        if by_anchor(&cert) {
            return Ok(());
        }
        let through_intermediate = intermediates.iter().any(|der| {
            X509Certificate::from_der(der).is_ok_and(|(_, middle)| {
                let is_ca = middle
                    .basic_constraints()
                    .ok()
                    .flatten()
                    .is_some_and(|constraints| constraints.value.ca);
                is_ca
                    && middle.validity().is_valid_at(at)
                    && issued(&cert, &middle)
                    && by_anchor(&middle)
            })
        });
        if through_intermediate {
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
    let mut chain = header.x5c.iter().map(|cert| STANDARD.decode(cert).ok());
    let certificate =
        chain
            .next()
            .flatten()
            .ok_or(JwsError::Distrust(Distrust::UntrustedCertificate(
                "the answer carries no device certificate (x5c)".into(),
            )))?;
    let intermediates: Vec<Vec<u8>> = chain.flatten().collect();
    trust
        .check(&certificate, &intermediates, now)
        .map_err(JwsError::Distrust)?;

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
