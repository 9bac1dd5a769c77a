//! The central enrollment server.
//!
//! - [`data`]: the data directory: the server's keys, its SQLite database (stations,
//!   provisioning tokens, packets) and the packet files.
//! - [`intake`]: what happens to an uploaded packet: structure, station, signature, duplicate
//!   check, decryption, content checks, storage. Pure of HTTP.
//! - [`uploads`]: two-phase delivery (announce, chunks, finalize) and status queries, pure of
//!   HTTP.
//! - [`http`]: the axum routes over both, answering the JSON of [`protocol::api`], with signed
//!   request checks, rate limits ([`ratelimit`]) and counters ([`metrics`]).
#![deny(missing_docs)]

pub mod data;
pub mod http;
pub mod intake;
pub mod metrics;
pub mod ratelimit;
pub mod uploads;

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
    /// Registrations, all stations together.
    pub registration_limit: Arc<RateLimiter<()>>,
}

/// Requests one station may make: a sustained rate and a burst. Generous for a station
/// draining a backlog in 512 KiB chunks; it stops a runaway or hostile client from starving
/// the others.
pub const STATION_LIMIT: Limit = Limit {
    per_second: 2000.0,
    burst: 4000.0,
};

/// Registrations per second, all together (each needs a one-time token anyway).
pub const REGISTRATION_LIMIT: Limit = Limit {
    per_second: 5.0,
    burst: 20.0,
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
        }
    }
}
