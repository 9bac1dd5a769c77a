//! The central enrollment server.
//!
//! - [`data`]: the data directory: the server's keys, its SQLite database (stations,
//!   provisioning tokens, packets) and the packet files.
//! - [`intake`]: what happens to an uploaded packet: structure, station, signature, duplicate
//!   check, decryption, content checks, storage. Pure of HTTP.
//! - [`http`]: the axum routes over both, answering the JSON of [`protocol::api`].
#![deny(missing_docs)]

pub mod data;
pub mod http;
pub mod intake;

use std::sync::Arc;

use time::OffsetDateTime;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct ServerState {
    /// The data directory.
    pub data: Arc<data::ServerData>,
    /// The clock, injected so tests can move it.
    pub now: fn() -> OffsetDateTime,
}

impl ServerState {
    /// State over `data` with the system clock.
    pub fn new(data: data::ServerData) -> Self {
        Self {
            data: Arc::new(data),
            now: OffsetDateTime::now_utc,
        }
    }
}
