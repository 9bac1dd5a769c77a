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
//! - [`tls`]: the server's own TLS certificate and the TLS listener, with the PROXY protocol
//!   of a TCP balancer in front ([`proxy_protocol`]).
#![deny(missing_docs)]

pub mod data;
pub mod http;
pub mod intake;
pub mod metrics;
pub mod proxy_protocol;
pub mod ratelimit;
pub mod stages;
pub mod tls;
pub mod uploads;

use std::sync::Arc;

use time::OffsetDateTime;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct ServerState {
    /// What the server keeps (the data directory by default).
    pub data: Arc<dyn data::Storage>,
    /// The clock, injected so tests can move it.
    pub now: fn() -> OffsetDateTime,
    /// Counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// SHA-256 of the TLS certificate the server presents, when it speaks TLS itself: named in
    /// its signed registration answers so stations pin it.
    pub tls_certificate_sha256: Option<String>,
    /// The refusals this process answered, per address: a flood past the limit by this count
    /// alone is turned away before any database work (the count that holds is the storage's,
    /// which every replica shares; this one is never higher).
    pub refusals_here: Arc<ratelimit::LocalBuckets>,
}

/// Discards unfinished uploads older than [`data::UPLOAD_LIFETIME`] and the bytes of packets
/// rejected longer ago than [`data::REJECTED_RETENTION`], and forgets rate-limit buckets idle
/// for [`ratelimit::IDLE`]; `serve` runs it every ten minutes. Returns how many uploads and
/// packets went.
///
/// # Errors
/// When the data directory fails.
pub async fn sweep(
    data: &dyn data::Storage,
    now: OffsetDateTime,
) -> Result<(usize, usize), data::DataError> {
    let uploads = data.expire_uploads(now - data::UPLOAD_LIFETIME).await?;
    let rejected = data.purge_rejected(now - data::REJECTED_RETENTION).await?;
    // Rate limits count real time, whatever clock the caller passes.
    data.forget_idle_buckets(OffsetDateTime::now_utc() - ratelimit::IDLE)
        .await?;
    Ok((uploads, rejected))
}

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
            tls_certificate_sha256: None,
            refusals_here: Arc::default(),
        }
    }
}
