//! Delivery of sealed packets to the central server.
//!
//! [`Uploader::run_pass`] uploads every pending packet once, oldest first, and records each
//! answer. [`start`] wraps it in a background loop: a pass runs at start, whenever
//! [`SyncHandle::sync_now`] is called (after each submission), and every idle interval; after a
//! failure it waits with exponential back-off and jitter. The loop ends when its handle drops.
//!
//! A packet leaves the pending state only on a verdict from the server (accepted or rejected),
//! so a crash, a dead link or a server answering garbage never loses one.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use protocol::api::{ApiError, PacketVerdict, UploadReceipt, PACKETS_PATH};
use reqwest::StatusCode;
use tokio::sync::mpsc;

use crate::clock::{rfc3339, Clock};
use crate::store::outbox::{OutboxState, PendingPacket};
use crate::store::{Store, StoreError};

/// Timing of the sync loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncConfig {
    /// Wait after the first failure.
    pub min_backoff: Duration,
    /// Longest wait between attempts after repeated failures.
    pub max_backoff: Duration,
    /// Wait between passes when all went well.
    pub idle_interval: Duration,
    /// Limit for one upload request.
    pub request_timeout: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            idle_interval: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
        }
    }
}

/// Why a pass stopped before the outbox was empty.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The server could not be reached (offline, refused, timed out).
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server refused the request for a reason other than the packet's content.
    #[error("the server refused the upload: {message} ({code})")]
    Refused {
        /// The server's error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server failed or answered something that is not a receipt.
    #[error("the server answered badly: {0}")]
    BadAnswer(String),
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// The station database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Uploads pending packets and records the server's verdicts.
#[derive(Clone)]
pub struct Uploader {
    store: Store,
    packets_url: String,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("packets_url", &self.packets_url)
            .finish_non_exhaustive()
    }
}

/// How many packets one pass reads from the database at a time.
const BATCH: usize = 16;

impl Uploader {
    /// An uploader for the server at `server_url`.
    ///
    /// # Errors
    /// [`SyncError::Client`] when the HTTP client cannot be built.
    pub fn new(
        store: Store,
        server_url: &str,
        config: &SyncConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SyncError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| SyncError::Client(e.to_string()))?;
        let packets_url = format!("{}{PACKETS_PATH}", server_url.trim_end_matches('/'));
        Ok(Self {
            store,
            packets_url,
            client,
            clock,
        })
    }

    /// Uploads every pending packet once; returns how many got a verdict.
    ///
    /// # Errors
    /// The first failure that stops the pass; the packet stays pending with the error recorded.
    pub async fn run_pass(&self) -> Result<usize, SyncError> {
        let mut judged = 0;
        loop {
            let batch = self.store.pending_packets(BATCH)?;
            if batch.is_empty() {
                return Ok(judged);
            }
            for packet in &batch {
                let at = rfc3339(self.clock.now());
                match self.upload(packet).await {
                    Ok(receipt) => {
                        let state = match receipt.verdict {
                            PacketVerdict::Accepted => OutboxState::Accepted,
                            PacketVerdict::Rejected => OutboxState::Rejected,
                        };
                        self.store.record_verdict(
                            &packet.packet_id,
                            state,
                            receipt.reason.as_deref(),
                            &at,
                        )?;
                        judged += 1;
                    }
                    Err(error) => {
                        tracing::warn!(packet = %packet.packet_id, %error, "upload failed");
                        self.store.record_failed_attempt(
                            &packet.packet_id,
                            &error.to_string(),
                            &at,
                        )?;
                        return Err(error);
                    }
                }
            }
        }
    }

    async fn upload(&self, packet: &PendingPacket) -> Result<UploadReceipt, SyncError> {
        let response = self
            .client
            .post(&self.packets_url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(packet.packet.clone())
            .send()
            .await
            .map_err(|e| SyncError::Unreachable(describe(&e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| SyncError::Unreachable(describe(&e)))?;
        if status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY {
            let receipt: UploadReceipt = serde_json::from_slice(&body).map_err(|_| {
                SyncError::BadAnswer(format!("HTTP {status} without a valid receipt"))
            })?;
            if receipt.packet_id.to_string() != packet.packet_id {
                return Err(SyncError::BadAnswer(
                    "the receipt names another packet".into(),
                ));
            }
            return Ok(receipt);
        }
        match serde_json::from_slice::<ApiError>(&body) {
            Ok(error) if status.is_client_error() => Err(SyncError::Refused {
                code: error.code,
                message: error.message,
            }),
            Ok(error) => Err(SyncError::BadAnswer(format!(
                "HTTP {status}: {}",
                error.message
            ))),
            Err(_) => Err(SyncError::BadAnswer(format!(
                "HTTP {status} without a JSON error body"
            ))),
        }
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the request timed out".into()
    } else if error.is_connect() {
        "the connection was refused or could not be made".into()
    } else {
        error.to_string()
    }
}

/// Wakes or stops the background sync loop; the loop ends when the last handle drops.
#[derive(Debug, Clone)]
pub struct SyncHandle {
    wake: mpsc::Sender<()>,
}

impl SyncHandle {
    /// Asks for a pass now (e.g. right after a submission).
    pub fn sync_now(&self) {
        // A full queue already holds a wake-up, which is all that is needed.
        let _ = self.wake.try_send(());
    }
}

/// Builds the background loop. Spawn the returned future on a Tokio runtime; it runs until the
/// handle (and all its clones) are dropped.
pub fn start(
    uploader: Uploader,
    config: SyncConfig,
) -> (SyncHandle, impl Future<Output = ()> + Send + 'static) {
    let (wake, mut woken) = mpsc::channel(1);
    let task = async move {
        let mut failures: u32 = 0;
        loop {
            let wait = match uploader.run_pass().await {
                Ok(_) => {
                    failures = 0;
                    config.idle_interval
                }
                Err(_) => {
                    failures = failures.saturating_add(1);
                    backoff(&config, failures, jitter())
                }
            };
            tokio::select! {
                message = woken.recv() => if message.is_none() { break },
                () = tokio::time::sleep(wait) => {}
            }
        }
    };
    (SyncHandle { wake }, task)
}

/// `min × 2^(failures-1)`, capped at `max`, scaled by `jitter` in `[0.5, 1]` so that stations
/// coming back online together do not retry in lock step.
fn backoff(config: &SyncConfig, failures: u32, jitter: f64) -> Duration {
    let exponent = failures.saturating_sub(1).min(20);
    let raw = config
        .min_backoff
        .saturating_mul(1u32 << exponent)
        .min(config.max_backoff);
    raw.mul_f64(jitter.clamp(0.5, 1.0))
}

fn jitter() -> f64 {
    let mut byte = [0u8; 1];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut byte);
    0.5 + f64::from(byte[0]) / 510.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_only_shortens_it() {
        let config = SyncConfig {
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            ..SyncConfig::default()
        };
        let full: Vec<_> = (1..=6)
            .map(|n| backoff(&config, n, 1.0).as_secs())
            .collect();
        assert_eq!(full, [1, 2, 4, 8, 10, 10]);
        assert_eq!(backoff(&config, 3, 0.5), Duration::from_secs(2));
        assert_eq!(
            backoff(&config, 1000, 1.0),
            Duration::from_secs(10),
            "no overflow after many failures"
        );
    }
}
