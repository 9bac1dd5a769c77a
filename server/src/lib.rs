//! The central enrollment server.
//!
//! - [`data`]: what the server keeps, behind [`data::Storage`]: the embedded backend (the data
//!   directory with the server's keys, its SQLite database — one module per table, versioned
//!   migrations — and the packet files) or the scale-out one (PostgreSQL and a bucket).
//! - [`intake`]: what happens to an uploaded packet: structure, station, signature, duplicate
//!   check, decryption, content checks, storage. Pure of HTTP.
//! - [`stages`]: what happens after intake: a durable queue of stages (decoding every image in
//!   full first), worked by every replica.
//! - [`uploads`]: two-phase delivery (announce, chunks, finalize) and status queries, pure of
//!   HTTP.
//! - [`http`]: the axum routes over both, answering the JSON of [`protocol::api`], with signed
//!   request checks, rate limits ([`ratelimit`]) and counters ([`metrics`]).
//! - [`tls`]: the server's own TLS certificate and the TLS listener.
#![deny(missing_docs)]

pub mod data;
pub mod http;
pub mod intake;
pub mod metrics;
pub mod ratelimit;
pub mod stages;
pub mod tls;
pub mod uploads;

use std::net::IpAddr;
use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::ratelimit::{Limit, RateLimiter};

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct ServerState {
    /// What the server keeps (the data directory by default).
    pub data: Arc<dyn data::Storage>,
    /// The clock, injected so tests can move it.
    pub now: fn() -> OffsetDateTime,
    /// Counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Requests per station.
    pub station_limit: Arc<RateLimiter<Uuid>>,
    /// Registrations, per source address.
    pub registration_limit: Arc<RateLimiter<Option<IpAddr>>>,
    /// SHA-256 of the TLS certificate the server presents, when it speaks TLS itself: named in
    /// its signed registration answers so stations pin it.
    pub tls_certificate_sha256: Option<String>,
    /// Requests refused before their station was authenticated, per source address: past the
    /// limit, an address is refused before any work is done for it.
    pub refusal_limit: Arc<RateLimiter<Option<IpAddr>>>,
}

/// Discards unfinished uploads older than [`data::UPLOAD_LIFETIME`] and the bytes of packets
/// rejected longer ago than [`data::REJECTED_RETENTION`]; `serve` runs it every ten minutes.
/// Returns how many uploads and packets went.
///
/// # Errors
/// When the data directory fails.
pub async fn sweep(
    data: &dyn data::Storage,
    now: OffsetDateTime,
) -> Result<(usize, usize), data::DataError> {
    let uploads = data.expire_uploads(now - data::UPLOAD_LIFETIME).await?;
    let rejected = data.purge_rejected(now - data::REJECTED_RETENTION).await?;
    Ok((uploads, rejected))
}

/// Requests one station may make: a sustained rate and a burst. Generous for a station
/// draining a backlog in 512 KiB chunks; it stops a runaway or hostile client from starving
/// the others.
pub const STATION_LIMIT: Limit = Limit {
    per_second: 2000.0,
    burst: 4000.0,
};

/// Registrations per second from one address (each needs a one-time code anyway): one
/// address cannot keep others from registering.
pub const REGISTRATION_LIMIT: Limit = Limit {
    per_second: 1.0,
    burst: 10.0,
};

/// Unauthenticated refusals one address may cause (unsigned requests, unknown stations, bad
/// signatures, replays, a wrong clock): a station that goes wrong trips a few; a flood is then
/// answered 429 before its body is read or its signature checked.
pub const REFUSAL_LIMIT: Limit = Limit {
    per_second: 5.0,
    burst: 50.0,
};

impl ServerState {
    /// State over `data` with the system clock and the default limits.
    pub fn new(data: impl data::Storage + 'static) -> Self {
        Self::shared(Arc::new(data))
    }

    /// State over storage shared with others (a test inspecting what the server stored).
    pub fn shared(data: Arc<dyn data::Storage>) -> Self {
        Self {
            data,
            now: OffsetDateTime::now_utc,
            metrics: Arc::default(),
            station_limit: Arc::new(RateLimiter::new(STATION_LIMIT)),
            registration_limit: Arc::new(RateLimiter::new(REGISTRATION_LIMIT)),
            refusal_limit: Arc::new(RateLimiter::new(REFUSAL_LIMIT)),
            tls_certificate_sha256: None,
        }
    }
}
