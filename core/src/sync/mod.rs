//! Delivery of sealed packets to the central server, offline-first.
//!
//! - [`machine`]: the state machine (events → actions, no I/O): passes, two-phase delivery,
//!   back-off with jitter, pause and resume, progress, the classes of trouble.
//! - [`client`]: the signed HTTP calls, with every failure classified.
//! - [`export`]: pending packets to a folder (a USB stick) for `enrollment-server import`.
//!
//! [`start`] runs the machine in a background task: a pass at start, on
//! [`SyncHandle::sync_now`] (after each submission), and every idle interval. [`Uploader::run_pass`]
//! runs one pass in the foreground (the `station sync` command).
//!
//! A packet leaves the pending state only on a verdict carrying the server's signed receipt
//! for exactly its bytes, so a crash, a cut link or a server answering garbage never loses
//! one; the server's announce answer keeps a packet it already has from being sent again.

pub mod client;
pub mod export;
pub mod machine;

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use protocol::api::{Announce, MAX_STATUS_QUERY};
use protocol::audit::{AuditClaim, AuditHead};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::clock::{rfc3339, Clock};
use crate::station::Station;
use crate::store::outbox::OutboxState;
use crate::store::{Store, StoreError};
use client::ServerClient;
use machine::{Action, Event, Failure, Machine, PacketInfo, Problem, ProblemKind, SyncStatus};

/// Timing and sizes of the sync loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncConfig {
    /// Wait after the first failure.
    pub min_backoff: Duration,
    /// Longest wait between attempts after repeated failures.
    pub max_backoff: Duration,
    /// Wait between passes when all went well.
    pub idle_interval: Duration,
    /// Limit for one request.
    pub request_timeout: Duration,
    /// Bytes per upload chunk: what a cut can cost at most.
    pub chunk_bytes: u64,
    /// How long packets exported to a folder wait for the server to learn them that way before
    /// they are uploaded again.
    pub export_hold: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            idle_interval: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            chunk_bytes: 256 * 1024,
            export_hold: Duration::from_secs(14 * 24 * 3600),
        }
    }
}

/// Why sync could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The HTTP client could not be built.
    #[error("cannot set up the connection to the server: {0}")]
    Client(String),
    /// The chunk size is out of range.
    #[error("a chunk is 1 byte to {max} bytes; {0} was asked", max = protocol::api::MAX_CHUNK_BYTES)]
    ChunkSize(u64),
}

/// Runs sync actions against the station database and the server.
#[derive(Clone)]
pub struct Uploader {
    store: Store,
    client: ServerClient,
    clock: Arc<dyn Clock>,
    config: SyncConfig,
    receipt_key: protocol::keys::StationPublicKey,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// The packet being sent, with its bytes.
struct Current {
    id: Uuid,
    bytes: Vec<u8>,
    /// The supervisor's signed approval (JSON), for a flagged packet.
    approval: Option<String>,
}

impl Uploader {
    /// An uploader for `station`, to the server in its configuration.
    ///
    /// # Errors
    /// See [`SyncError`].
    pub fn new(
        station: &Station,
        config: &SyncConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SyncError> {
        Self::to_server(station, &station.config().server_url, config, clock)
    }

    /// An uploader for `station` to `server_url` instead of the configured one (a test through
    /// a proxy, a technician's check of another route).
    ///
    /// # Errors
    /// See [`SyncError`].
    pub fn to_server(
        station: &Station,
        server_url: &str,
        config: &SyncConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SyncError> {
        if config.chunk_bytes == 0 || config.chunk_bytes > protocol::api::MAX_CHUNK_BYTES as u64 {
            return Err(SyncError::ChunkSize(config.chunk_bytes));
        }
        let client = ServerClient::new(
            server_url,
            station.config().station_id,
            station.signing_key_shared(),
            clock.clone(),
            (
                config.request_timeout,
                station.config().server_certificate_sha256.as_deref(),
            ),
        )
        .map_err(|p| SyncError::Client(p.detail))?;
        Ok(Self {
            store: station.store().clone(),
            client,
            clock,
            config: *config,
            receipt_key: station.config().server_receipt_key,
        })
    }

    /// Checks the link to the server with one signed request (a status query about nothing):
    /// it exercises the network, TLS, the clocks and the station's registration without
    /// sending a packet. `Ok` says how the server answered, `Err` what stood in the way.
    ///
    /// # Errors
    /// The officer's message for the problem met, with its detail.
    pub async fn check_link(&self) -> Result<String, String> {
        match self.client.statuses(Vec::new(), None).await {
            Ok(_) => Ok("the server accepted a request signed by this station".to_owned()),
            Err(Failure::Problem(problem)) => Err(format!(
                "{} ({})",
                problem.kind.officer_message().en,
                problem.detail
            )),
            Err(other) => Err(format!("the server answered out of turn: {other:?}")),
        }
    }

    /// A fresh machine for this uploader.
    pub fn machine(&self) -> Machine {
        Machine::new(self.config, self.receipt_key)
    }

    /// Runs one pass in the foreground: until the outbox is empty or a problem stops it.
    /// Returns the final status (its `problem` says what stopped the pass, if anything).
    pub async fn run_pass(&self) -> SyncStatus {
        let mut machine = self.machine();
        let mut current = None;
        let mut queue: VecDeque<Action> = machine.handle(Event::Wake, 1.0).into();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Sleep(_) => break,
                Action::Publish(_) => {}
                action => {
                    if let Some(event) = self.perform(action, &mut current).await {
                        queue.extend(machine.handle(event, 1.0));
                    }
                }
            }
        }
        machine.status().clone()
    }

    /// Performs one action; returns the event it produced, if any.
    async fn perform(&self, action: Action, current: &mut Option<Current>) -> Option<Event> {
        match self.try_perform(action, current).await {
            Ok(event) => event,
            Err(error) => {
                tracing::error!(%error, "sync cannot use the station database");
                Some(Event::Failed(Failure::Problem(Problem::new(
                    ProblemKind::StationStorage,
                    error.to_string(),
                ))))
            }
        }
    }

    async fn try_perform(
        &self,
        action: Action,
        current: &mut Option<Current>,
    ) -> Result<Option<Event>, StoreError> {
        let answer = |result: Result<protocol::api::PacketStatus, Failure>| {
            Some(match result {
                Ok(status) => Event::Server(status),
                Err(failure) => Event::Failed(failure),
            })
        };
        Ok(match action {
            Action::LoadQueue => Some(self.load_queue(current)?),
            Action::QueryStatuses(ids) => {
                Some(match self.client.statuses(ids, self.audit_claim()?).await {
                    Ok(answer) => {
                        if let Some(known) = &answer.audit_known {
                            self.store
                                .set_server_audit_head(known, &rfc3339(self.clock.now()))?;
                        }
                        Event::Statuses {
                            statuses: answer.statuses,
                            audit_conflict: answer.audit_conflict,
                        }
                    }
                    Err(failure) => Event::Failed(failure),
                })
            }
            Action::Announce(packet) => {
                let announce = Announce {
                    packet_id: packet.id,
                    sha256: packet.sha256,
                    size: packet.size,
                };
                answer(self.client.announce(&announce).await)
            }
            Action::QueryOffset(id) => answer(self.client.offset(id).await),
            Action::SendChunk {
                packet,
                offset,
                len,
            } => {
                let chunk = current.as_ref().filter(|c| c.id == packet).and_then(|c| {
                    let start = usize::try_from(offset).ok()?;
                    let end = start.checked_add(usize::try_from(len).ok()?)?;
                    c.bytes.get(start..end).map(<[u8]>::to_vec)
                });
                match chunk {
                    Some(chunk) => answer(self.client.chunk(packet, offset, chunk).await),
                    None => Some(Event::Failed(Failure::Problem(Problem::new(
                        ProblemKind::StationStorage,
                        format!("packet {packet} has no bytes at {offset}+{len} on this station"),
                    )))),
                }
            }
            Action::Finalize(id) => {
                let approval = current
                    .as_ref()
                    .filter(|c| c.id == id)
                    .and_then(|c| c.approval.as_deref())
                    .and_then(|json| serde_json::from_str(json).ok());
                answer(self.client.finalize(id, approval).await)
            }
            Action::RecordVerdict {
                packet,
                verdict,
                reason,
                receipt,
            } => {
                let state = match verdict {
                    protocol::api::PacketVerdict::Accepted => OutboxState::Accepted,
                    protocol::api::PacketVerdict::Rejected => OutboxState::Rejected,
                };
                self.store.record_verdict_with_receipt(
                    &packet.to_string(),
                    state,
                    reason.as_deref(),
                    Some(&receipt),
                    &rfc3339(self.clock.now()),
                )?;
                tracing::info!(%packet, ?verdict, "the server judged a packet");
                None
            }
            Action::ReopenApproval { packet, reason } => {
                tracing::warn!(%packet, %reason, "the server took no approval; back to the supervisors");
                self.store.reopen_approval(
                    &packet.to_string(),
                    &format!("{}: {reason}", ProblemKind::ApprovalRequired.label()),
                    &rfc3339(self.clock.now()),
                )?;
                None
            }
            Action::RecordFailure { packet, problem } => {
                tracing::warn!(%packet, kind = ?problem.kind, detail = %problem.detail, "upload failed");
                self.store.record_failed_attempt(
                    &packet.to_string(),
                    &format!("{}: {}", problem.kind.label(), problem.detail),
                    &rfc3339(self.clock.now()),
                )?;
                None
            }
            Action::Sleep(_) | Action::Publish(_) => None,
        })
    }

    /// What the station tells the server of its audit log: its head, and its entry at the
    /// position the server last acknowledged.
    fn audit_claim(&self) -> Result<Option<AuditClaim>, StoreError> {
        let Some(head) = self.store.audit_head()? else {
            return Ok(None);
        };
        let anchor = match self.store.server_audit_head()? {
            Some(known) => Some(AuditHead {
                seq: known.seq,
                hash: self.store.audit_hash_at(known.seq)?.unwrap_or_default(),
            }),
            None => None,
        };
        Ok(Some(AuditClaim { head, anchor }))
    }

    fn load_queue(&self, current: &mut Option<Current>) -> Result<Event, StoreError> {
        let held_since = self.clock.now()
            - time::Duration::try_from(self.config.export_hold).unwrap_or(time::Duration::ZERO);
        let exported = self
            .store
            .exported_pending(MAX_STATUS_QUERY)?
            .iter()
            .map(|id| parse_id(id))
            .collect::<Result<Vec<_>, _>>()?;
        let next = self
            .store
            .uploadable_packets(1, &rfc3339(held_since))?
            .pop();
        let backlog = self.store.backlog()?;
        let next = match next {
            Some(packet) => {
                let id = parse_id(&packet.packet_id)?;
                let needs_approval = protocol::packet::SealedPacket::parse(&packet.packet)
                    .is_ok_and(|sealed| protocol::approval::needs_approval(sealed.manifest()));
                let info = PacketInfo {
                    id,
                    sha256: packet.sha256,
                    size: packet.packet.len() as u64,
                    needs_approval,
                };
                *current = Some(Current {
                    id,
                    bytes: packet.packet,
                    approval: packet.approval_proof,
                });
                Some(info)
            }
            None => {
                *current = None;
                None
            }
        };
        Ok(Event::Queue {
            exported,
            next,
            backlog_packets: backlog.packets,
            backlog_bytes: backlog.bytes,
        })
    }
}

fn parse_id(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text)
        .map_err(|_| StoreError::Corrupt(format!("outbox packet id {text:?} is not a UUID")))
}

/// Controls the background sync loop and shows its status; the loop ends when the last handle
/// drops.
#[derive(Debug, Clone)]
pub struct SyncHandle {
    /// Only [`Event::Wake`], [`Event::Pause`] and [`Event::Resume`] are ever sent.
    commands: mpsc::Sender<Event>,
    status: watch::Receiver<SyncStatus>,
}

impl SyncHandle {
    /// Asks for a pass now (e.g. right after a submission).
    pub fn sync_now(&self) {
        // A full queue already holds a command that will run a pass; nothing is lost.
        let _ = self.commands.try_send(Event::Wake);
    }

    /// Stops sending until [`Self::resume`]; what the server holds of a packet is kept.
    pub fn pause(&self) {
        let _ = self.commands.try_send(Event::Pause);
    }

    /// Sends again after [`Self::pause`].
    pub fn resume(&self) {
        let _ = self.commands.try_send(Event::Resume);
    }

    /// The latest status.
    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change (for pushing them to the UI).
    pub fn watch(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }
}

/// Builds the background loop. Spawn the returned future on a Tokio runtime; it runs until the
/// handle (and all its clones) are dropped.
pub fn start(uploader: Uploader) -> (SyncHandle, impl Future<Output = ()> + Send + 'static) {
    let (commands, mut received) = mpsc::channel::<Event>(8);
    let mut machine = uploader.machine();
    let (publish, status) = watch::channel(machine.status().clone());
    let task = async move {
        let mut current = None;
        let mut last_success: Option<String> = None;
        let mut queue: VecDeque<Action> = machine.handle(Event::Wake, jitter()).into();
        loop {
            loop {
                match received.try_recv() {
                    Ok(command) => {
                        queue.extend(machine.handle(command, jitter()));
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            }
            match queue.pop_front() {
                None => match received.recv().await {
                    Some(command) => {
                        queue.extend(machine.handle(command, jitter()));
                    }
                    None => return,
                },
                Some(Action::Sleep(wait)) => {
                    tokio::select! {
                        command = received.recv() => match command {
                            Some(command) => {
                                queue.extend(machine.handle(command, jitter()));
                            }
                            None => return,
                        },
                        () = tokio::time::sleep(wait) => {
                            queue.extend(machine.handle(Event::Wake, jitter()));
                        }
                    }
                }
                Some(Action::Publish(mut status)) => {
                    if status.phase == machine::Phase::Idle && status.problem.is_none() {
                        last_success = Some(rfc3339(time::OffsetDateTime::now_utc()));
                    }
                    status.last_success.clone_from(&last_success);
                    publish.send_replace(status);
                }
                Some(action) => {
                    if let Some(event) = uploader.perform(action, &mut current).await {
                        queue.extend(machine.handle(event, jitter()));
                    }
                }
            }
        }
    };
    (SyncHandle { commands, status }, task)
}

fn jitter() -> f64 {
    let mut byte = [0u8; 1];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut byte);
    0.5 + f64::from(byte[0]) / 510.0
}

#[cfg(test)]
mod tests;
