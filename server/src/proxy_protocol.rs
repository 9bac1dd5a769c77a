//! HAProxy's PROXY protocol: the line (version 1) or block (version 2) a TCP load balancer
//! sends first on each connection to a replica, naming the client's address. Behind a TCP
//! balancer every connection comes from the balancer's address; with `serve --proxy-protocol`
//! the server reads this header before the TLS handshake and counts each request against the
//! client's address (registrations and refusals are limited per address).
//!
//! A server told to expect the header refuses a connection without one (it would otherwise
//! take the first bytes of a TLS handshake for an address): only the balancer may reach such a
//! server. The header is parsed by the `ppp` crate; this module only frames it, reading exactly
//! its bytes so that the TLS handshake after it is untouched.

use std::net::SocketAddr;

use ppp::v1;
use ppp::v2;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The longest version 1 header (the protocol's own bound, `\r\n` included).
pub const MAX_V1_BYTES: usize = 107;

/// Why a connection's PROXY header was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ProxyHeaderError {
    /// The connection starts with something else (a client that bypassed the balancer).
    #[error("the connection does not start with a PROXY protocol header")]
    Missing,
    /// A header, but not a well-formed one.
    #[error("the PROXY protocol header is malformed: {0}")]
    Malformed(String),
    /// The connection ended or failed before the header did.
    #[error("reading the PROXY protocol header: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads the header at the start of `stream`, consuming exactly its bytes. Returns the client's
/// address, or `None` for a header that names none (the balancer's own health checks:
/// version 2 `LOCAL`, version 1 `UNKNOWN`), when the connection's own address stands.
///
/// # Errors
/// See [`ProxyHeaderError`].
pub async fn read_header<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Option<SocketAddr>, ProxyHeaderError> {
    // Twelve bytes tell the versions apart: v2's signature, or "PROXY " and more of a v1 line
    // (the shortest, "PROXY UNKNOWN\r\n", has fifteen).
    let mut header = vec![0u8; 12];
    stream.read_exact(&mut header).await?;
    if header[..] == v2::PROTOCOL_PREFIX[..] {
        let mut fixed = [0u8; 4];
        stream.read_exact(&mut fixed).await?;
        header.extend_from_slice(&fixed);
        let length = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
        let start = header.len();
        header.resize(start + length, 0);
        stream.read_exact(&mut header[start..]).await?;
        let parsed = v2::Header::try_from(&header[..])
            .map_err(|error| ProxyHeaderError::Malformed(error.to_string()))?;
        return Ok(match (parsed.command, parsed.addresses) {
            (v2::Command::Local, _) => None,
            (_, v2::Addresses::IPv4(a)) => Some((a.source_address, a.source_port).into()),
            (_, v2::Addresses::IPv6(a)) => Some((a.source_address, a.source_port).into()),
            (_, v2::Addresses::Unspecified | v2::Addresses::Unix(_)) => None,
        });
    }
    if !header.starts_with(b"PROXY ") {
        return Err(ProxyHeaderError::Missing);
    }
    while !header.ends_with(b"\r\n") {
        if header.len() >= MAX_V1_BYTES {
            return Err(ProxyHeaderError::Malformed(format!(
                "a version 1 line longer than {MAX_V1_BYTES} bytes"
            )));
        }
        header.push(stream.read_u8().await?);
    }
    let text = std::str::from_utf8(&header)
        .map_err(|_| ProxyHeaderError::Malformed("a version 1 line that is not text".into()))?;
    let parsed = v1::Header::try_from(text)
        .map_err(|error| ProxyHeaderError::Malformed(error.to_string()))?;
    Ok(match parsed.addresses {
        v1::Addresses::Tcp4(a) => Some((a.source_address, a.source_port).into()),
        v1::Addresses::Tcp6(a) => Some((a.source_address, a.source_port).into()),
        v1::Addresses::Unknown => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(bytes: &[u8]) -> (Result<Option<SocketAddr>, ProxyHeaderError>, Vec<u8>) {
        let mut stream = bytes;
        let address = read_header(&mut stream).await;
        (address, stream.to_vec())
    }

    #[tokio::test]
    async fn a_version_1_line_names_the_client_and_leaves_the_tls_bytes_after_it() {
        let (address, rest) =
            read(b"PROXY TCP4 203.0.113.7 10.0.0.11 51000 8750\r\n\x16\x03\x01hello").await;
        assert_eq!(
            address.expect("read"),
            Some("203.0.113.7:51000".parse().expect("address"))
        );
        assert_eq!(rest, b"\x16\x03\x01hello");
        let (address, _) = read(b"PROXY TCP6 2001:db8::7 2001:db8::1 51000 8750\r\n").await;
        assert_eq!(
            address.expect("read"),
            Some("[2001:db8::7]:51000".parse().expect("address"))
        );
        let (address, rest) = read(b"PROXY UNKNOWN\r\nrest").await;
        assert_eq!((address.expect("read"), rest), (None, b"rest".to_vec()));
    }

    #[tokio::test]
    async fn a_version_2_block_names_the_client_or_none_for_a_health_check() {
        let mut block = v2::PROTOCOL_PREFIX.to_vec();
        block.extend_from_slice(&[0x21, 0x11, 0, 12]); // PROXY, TCP over IPv4, 12 bytes
        block.extend_from_slice(&[198, 51, 100, 9, 10, 0, 0, 11, 0xC7, 0x38, 0x22, 0x2E]);
        block.extend_from_slice(b"\x16\x03\x01");
        let (address, rest) = read(&block).await;
        assert_eq!(
            address.expect("read"),
            Some("198.51.100.9:51000".parse().expect("address"))
        );
        assert_eq!(rest, b"\x16\x03\x01");
        let mut local = v2::PROTOCOL_PREFIX.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]); // LOCAL, unspecified
        assert_eq!(read(&local).await.0.expect("read"), None);
    }

    #[tokio::test]
    async fn a_connection_without_a_well_formed_header_is_refused() {
        let (tls, _) = read(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdefgh").await;
        assert!(matches!(tls, Err(ProxyHeaderError::Missing)), "{tls:?}");
        let endless = [b"PROXY TCP4 ".as_slice(), &[b'1'; 200]].concat();
        let (long, _) = read(&endless).await;
        assert!(
            matches!(long, Err(ProxyHeaderError::Malformed(_))),
            "{long:?}"
        );
        let (bad, _) = read(b"PROXY TCP4 not.an.address 10.0.0.1 1 2\r\n").await;
        assert!(
            matches!(bad, Err(ProxyHeaderError::Malformed(_))),
            "{bad:?}"
        );
        let (short, _) = read(b"PROXY TCP4 1.2.3.4").await;
        assert!(matches!(short, Err(ProxyHeaderError::Io(_))), "{short:?}");
    }
}
