//! How the station reaches its server: HTTPS with the server's certificate pinned, or plain
//! HTTP only where nothing can listen in.
//!
//! - A server that speaks TLS itself presents a certificate it made (or its deployer gave it).
//!   At provisioning the station records the SHA-256 of the certificate presented and accepts
//!   it only when the server's signed registration answer names the same hash
//!   ([`protocol::registration`]); from then on only that certificate is accepted
//!   ([`CertificateCheck`]), whatever certificate authorities the system trusts.
//! - A server behind an HTTPS front end with a publicly trusted certificate names no hash: the
//!   station then checks the certificate against the web's root authorities, as a browser would.
//! - Plain HTTP is accepted for a loopback address (the link never leaves the machine), and for
//!   any other address only with the explicit opt-in `STATION_ALLOW_PLAIN_HTTP=1`, logged every
//!   time a link is set up. Packets, requests and verdicts are signed or sealed either way; TLS
//!   hides the metadata (which station sends what, when).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The environment variable that allows plain HTTP to an address other than loopback.
pub const ALLOW_PLAIN_HTTP: &str = "STATION_ALLOW_PLAIN_HTTP";

/// Why a link cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Plain HTTP to a host that is not loopback, without the opt-in.
    #[error("{0} is plain HTTP to another machine: anyone on the way could read what the station sends. Use https://, or set {ALLOW_PLAIN_HTTP}=1 to accept that knowingly")]
    PlainHttp(String),
    /// The URL is not http(s) with a host.
    #[error("{0:?} is not an http(s) URL with a host")]
    BadUrl(String),
    /// The TLS or HTTP client could not be built.
    #[error("cannot set up the connection: {0}")]
    Client(String),
}

/// Lower-case hex SHA-256 of a certificate (DER).
pub fn certificate_sha256(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A client for `base` with these timeouts: pinned to `pin` (a certificate's SHA-256) when
/// given, else trusting the web's root authorities for `https://`; plain `http://` only as the
/// module docs say.
///
/// # Errors
/// See [`LinkError`].
pub fn client(
    base: &str,
    pin: Option<&str>,
    connect: Duration,
    request: Duration,
) -> Result<reqwest::Client, LinkError> {
    let builder = reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(request);
    let builder = match (scheme(base)?, pin) {
        (Scheme::Https, Some(pin)) => {
            builder.use_preconfigured_tls(tls_config(Arc::new(CertificateCheck::pinned(pin)))?)
        }
        (Scheme::Https, None) => builder.https_only(true),
        (Scheme::Http, _) => builder,
    };
    builder
        .build()
        .map_err(|e| LinkError::Client(e.to_string()))
}

/// Checks that `base` may be used as a server address under this policy.
///
/// # Errors
/// See [`LinkError`].
pub fn check_url(base: &str) -> Result<(), LinkError> {
    scheme(base).map(|_| ())
}

/// A client for provisioning against `base`: over HTTPS it accepts whatever certificate the
/// server presents and records its SHA-256 in `seen` (what the registration answer must then
/// name); the answer's signature, not the certificate, is what is trusted.
///
/// # Errors
/// See [`LinkError`].
pub fn provisioning_client(
    base: &str,
    seen: Arc<Mutex<Option<String>>>,
) -> Result<reqwest::Client, LinkError> {
    let builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30));
    let builder = match scheme(base)? {
        Scheme::Https => {
            builder.use_preconfigured_tls(tls_config(Arc::new(CertificateCheck::recording(seen)))?)
        }
        Scheme::Http => builder,
    };
    builder
        .build()
        .map_err(|e| LinkError::Client(e.to_string()))
}

enum Scheme {
    Http,
    Https,
}

fn scheme(base: &str) -> Result<Scheme, LinkError> {
    let url = reqwest::Url::parse(base).map_err(|_| LinkError::BadUrl(base.to_owned()))?;
    match url.scheme() {
        "https" => Ok(Scheme::Https),
        "http" => {
            let host = url
                .host_str()
                .ok_or_else(|| LinkError::BadUrl(base.to_owned()))?
                .trim_start_matches('[')
                .trim_end_matches(']');
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            let opted_in = std::env::var(ALLOW_PLAIN_HTTP).is_ok_and(|v| v.trim() == "1");
            if loopback {
                tracing::info!(server = %base, "plain HTTP to a loopback address: the link never leaves this machine");
                Ok(Scheme::Http)
            } else if opted_in {
                tracing::warn!(server = %base, "plain HTTP to another machine, allowed by {ALLOW_PLAIN_HTTP}=1: the link is not encrypted");
                Ok(Scheme::Http)
            } else {
                Err(LinkError::PlainHttp(base.to_owned()))
            }
        }
        _ => Err(LinkError::BadUrl(base.to_owned())),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_config(verifier: Arc<dyn ServerCertVerifier>) -> Result<rustls::ClientConfig, LinkError> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| LinkError::Client(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// How the station checks the server's certificate: only the one pinned at provisioning (by
/// its SHA-256, whatever name or authority it has), or — at provisioning, where the server's
/// signed answer decides — any, its SHA-256 recorded. The handshake's signatures are checked
/// either way.
#[derive(Debug)]
pub struct CertificateCheck {
    rule: Rule,
    provider: Arc<CryptoProvider>,
}

#[derive(Debug)]
enum Rule {
    Pinned(String),
    Record(Arc<Mutex<Option<String>>>),
}

impl CertificateCheck {
    /// Accepts only the certificate whose SHA-256 (hex) is `sha256`.
    pub fn pinned(sha256: &str) -> Self {
        Self {
            rule: Rule::Pinned(sha256.to_ascii_lowercase()),
            provider: provider(),
        }
    }

    fn recording(seen: Arc<Mutex<Option<String>>>) -> Self {
        Self {
            rule: Rule::Record(seen),
            provider: provider(),
        }
    }
}

impl ServerCertVerifier for CertificateCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = certificate_sha256(end_entity);
        match &self.rule {
            Rule::Pinned(pin) if *pin == presented => Ok(ServerCertVerified::assertion()),
            Rule::Pinned(_) => Err(rustls::Error::General(
                "the server presented another certificate than the one pinned at provisioning"
                    .into(),
            )),
            Rule::Record(seen) => {
                *seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(presented);
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_for_loopback_unless_opted_in() {
        for url in [
            "http://127.0.0.1:8750",
            "http://[::1]:8750",
            "http://localhost:8750",
        ] {
            assert!(scheme(url).is_ok(), "{url}");
        }
        if std::env::var(ALLOW_PLAIN_HTTP).is_err() {
            assert!(matches!(
                scheme("http://enroll.example.go.id"),
                Err(LinkError::PlainHttp(_))
            ));
        }
        assert!(matches!(
            scheme("https://enroll.example.go.id"),
            Ok(Scheme::Https)
        ));
        assert!(matches!(scheme("ftp://x"), Err(LinkError::BadUrl(_))));
    }
}
