//! The server's own TLS.
//!
//! ```text
//! <data dir>/keys/tls-cert.pem   the certificate chain the server presents (leaf first)
//! <data dir>/keys/tls-key.pem    its private key (PKCS#8, mode 0600)
//! ```
//!
//! At first start the server makes a self-signed ECDSA P-256 certificate for `localhost`,
//! `127.0.0.1`, `::1` and the names given (`serve --tls-name`), valid ten years. A deployer
//! may put a certificate an authority issued in its place. Stations pin whatever certificate is
//! presented: the SHA-256 of the leaf is named in the server's signed registration answers
//! (see `station_core::link`), so a self-signed one is as safe as any.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate and key the server presents.
pub struct TlsIdentity {
    acceptor: TlsAcceptor,
    certificate_sha256: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("certificate_sha256", &self.certificate_sha256)
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Loads `keys/tls-cert.pem` and `keys/tls-key.pem` below `data_dir`, making a self-signed
    /// pair for `names` (and loopback) first when there is none.
    ///
    /// # Errors
    /// When the files cannot be read, written or parsed.
    pub fn load_or_create(data_dir: &Path, names: &[String]) -> anyhow::Result<Self> {
        use anyhow::Context;
        let keys = data_dir.join("keys");
        let (cert_path, key_path) = (keys.join("tls-cert.pem"), keys.join("tls-key.pem"));
        if !cert_path.exists() && !key_path.exists() {
            let mut all = vec!["localhost".to_owned(), "127.0.0.1".into(), "::1".into()];
            all.extend(names.iter().cloned());
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
            let mut params = rcgen::CertificateParams::new(all)?;
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "Enrollment server");
            params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
            params.not_after = params.not_before + time::Duration::days(3650);
            let certificate = params.self_signed(&key)?;
            std::fs::create_dir_all(&keys)?;
            write_private(&key_path, key.serialize_pem().as_bytes())?;
            std::fs::write(&cert_path, certificate.pem())?;
            tracing::info!(path = %cert_path.display(), "made a self-signed TLS certificate");
        }
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
            .with_context(|| format!("cannot read {}", cert_path.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("{} is not a PEM certificate chain", cert_path.display()))?;
        let key = PrivateKeyDer::from_pem_file(&key_path)
            .with_context(|| format!("{} is not a PEM private key", key_path.display()))?;
        let leaf = chain
            .first()
            .with_context(|| format!("{} holds no certificate", cert_path.display()))?;
        let certificate_sha256 = ring::digest::digest(&ring::digest::SHA256, leaf)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .context("the TLS certificate and key do not go together")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            certificate_sha256,
        })
    }

    /// SHA-256 (hex) of the leaf certificate presented.
    pub fn certificate_sha256(&self) -> &str {
        &self.certificate_sha256
    }

    /// Serves `app` over TLS on `listener` until `shutdown` completes. Each connection's
    /// handshake runs in its own task (bounded by [`HANDSHAKE_TIMEOUT`]), so a slow client
    /// holds up nobody; the peer address reaches the routes as [`ConnectInfo`]. With
    /// `proxy_protocol`, every connection must start with a PROXY protocol header
    /// ([`crate::proxy_protocol`]) and the address it names is the peer's.
    pub async fn serve(
        &self,
        listener: TcpListener,
        app: Router,
        proxy_protocol: bool,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let (acceptor, app) = (self.acceptor.clone(), app.clone());
            tokio::spawn(async move { connection(acceptor, app, tcp, peer, proxy_protocol).await });
        }
    }
}

async fn connection(
    acceptor: TlsAcceptor,
    app: Router,
    mut tcp: tokio::net::TcpStream,
    mut peer: SocketAddr,
    proxy_protocol: bool,
) {
    // One deadline for the PROXY header and the TLS handshake together.
    let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    if proxy_protocol {
        let header = crate::proxy_protocol::read_header(&mut tcp);
        match tokio::time::timeout_at(deadline, header).await {
            Ok(Ok(Some(client))) => peer = client,
            Ok(Ok(None)) => {}
            Ok(Err(error)) => {
                // Anyone who reaches the port can send this: not worth a line each at warn.
                tracing::debug!(%peer, %error, "connection refused: --proxy-protocol expects a PROXY header");
                return;
            }
            Err(_) => return,
        }
    }
    let stream = match tokio::time::timeout_at(deadline, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "TLS handshake failed");
            return;
        }
        Err(_) => return,
    };
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
    if let Err(error) = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
