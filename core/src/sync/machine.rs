//! The sync state machine: events in, actions out, no I/O.
//!
//! One pass goes: load the queue → ask the server about packets that were exported to a folder
//! → for the oldest uploadable packet: announce it, send the missing chunks from the offset
//! the server names, finalize, record the signed verdict → load the queue again … until it is
//! empty; then wait for the idle interval. A failure is classified ([`ProblemKind`]): a packet
//! the server refuses for what it is gets marked rejected with the server's reason and the
//! pass goes on; anything else ends the pass and waits with exponential back-off and jitter.
//! Pausing drops whatever is in flight (the server keeps the bytes it has; the next announce
//! resumes from there).

use std::time::Duration;

use protocol::api::{PacketState, PacketStatus, PacketVerdict, Receipt};
use protocol::form::Label;
use protocol::keys::StationPublicKey;
use serde::Serialize;
use uuid::Uuid;

use super::SyncConfig;

/// A packet to upload, as the machine needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketInfo {
    /// Its id.
    pub id: Uuid,
    /// SHA-256 of its bytes, lower-case hex.
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// Whether its manifest flags it for a supervisor's approval.
    pub needs_approval: bool,
}

/// The kinds of trouble the officer is told apart.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// No link to the server: refused, unreachable, timed out, cut.
    Offline,
    /// The server's name does not resolve, or its secure connection fails.
    DnsOrTls,
    /// The server refuses the station's clock.
    ClockSkew,
    /// The server does not know this station or its key.
    NotRegistered,
    /// The station was revoked.
    Revoked,
    /// The server refused a packet for what it is (shown on that enrollment).
    PacketRejected,
    /// The server found no valid supervisor's approval with a flagged packet: it is back in
    /// the approval queue.
    ApprovalRequired,
    /// The server found this station's audit log shorter than, or different from, what it
    /// reported before.
    AuditConflict,
    /// The server failed, is overloaded, or answered something that is not the API.
    ServerError,
    /// This station cannot read or write its own database (a full disk, most often).
    StationStorage,
}

impl ProblemKind {
    /// What the officer is told, in English and Bahasa Indonesia.
    pub fn officer_message(self) -> Label {
        let (en, id) = match self {
            Self::Offline => (
                "No connection to the central server. Enrollments are kept safely on this station and will be sent automatically when the link returns.",
                "Tidak ada koneksi ke server pusat. Perekaman disimpan dengan aman di stasiun ini dan akan dikirim otomatis saat koneksi kembali.",
            ),
            Self::DnsOrTls => (
                "The central server's address cannot be resolved or its secure connection cannot be established (DNS or TLS). Check the network settings, or ask a technician.",
                "Alamat server pusat tidak dapat ditemukan atau koneksi amannya tidak dapat dibuat (DNS atau TLS). Periksa pengaturan jaringan, atau hubungi teknisi.",
            ),
            Self::ClockSkew => (
                "This station's clock is wrong: the server refuses its requests until the date and time are corrected. Ask a technician to set the clock.",
                "Jam stasiun ini salah: server menolak permintaannya sampai tanggal dan waktu diperbaiki. Minta teknisi menyetel jam.",
            ),
            Self::NotRegistered => (
                "The central server does not recognise this station. A technician must provision it again; enrollments stay safely on this station until then.",
                "Server pusat tidak mengenali stasiun ini. Teknisi harus menyiapkannya ulang; perekaman tetap aman di stasiun ini sampai saat itu.",
            ),
            Self::Revoked => (
                "This station has been revoked by the central office and can no longer send enrollments. Contact your supervisor.",
                "Stasiun ini telah dicabut oleh kantor pusat dan tidak dapat lagi mengirim perekaman. Hubungi supervisor Anda.",
            ),
            Self::PacketRejected => (
                "The central server refused an enrollment; the reason is shown on it. Other enrollments are still being sent.",
                "Server pusat menolak sebuah perekaman; alasannya ditampilkan pada perekaman tersebut. Perekaman lain tetap dikirim.",
            ),
            Self::ApprovalRequired => (
                "The central server did not accept a supervisor's approval for an enrollment with a missing finger or a poor capture. It is back in the approval queue: a supervisor other than the enrolling officer must decide on it.",
                "Server pusat tidak menerima persetujuan supervisor untuk perekaman dengan jari yang tidak ada atau hasil pindai yang buruk. Perekaman itu kembali ke antrean persetujuan: supervisor selain petugas perekam harus memutuskannya.",
            ),
            Self::AuditConflict => (
                "The central server found that this station's audit log was cut or rewritten since its last contact. Enrollments are still sent; tell your supervisor at once.",
                "Server pusat mendapati log audit stasiun ini dipotong atau ditulis ulang sejak kontak terakhir. Perekaman tetap dikirim; segera beri tahu supervisor Anda.",
            ),
            Self::ServerError => (
                "The central server has a problem right now. Sending will be retried automatically.",
                "Server pusat sedang bermasalah. Pengiriman akan dicoba lagi secara otomatis.",
            ),
            Self::StationStorage => (
                "This station cannot read or write its own database (the disk may be full). Nothing has been lost; ask a technician.",
                "Stasiun ini tidak dapat membaca atau menulis basis datanya sendiri (disk mungkin penuh). Tidak ada yang hilang; hubungi teknisi.",
            ),
        };
        Label::new(en, id)
    }

    /// A short label for logs and the enrollment list.
    pub fn label(self) -> &'static str {
        match self {
            Self::Offline => "cannot reach the server",
            Self::DnsOrTls => "DNS or TLS failure",
            Self::ClockSkew => "station clock refused by the server",
            Self::NotRegistered => "station not registered with the server",
            Self::Revoked => "station revoked",
            Self::PacketRejected => "refused by the server",
            Self::ApprovalRequired => "approval not accepted by the server",
            Self::AuditConflict => "audit log cut or rewritten",
            Self::ServerError => "server error",
            Self::StationStorage => "station storage error",
        }
    }

    /// Whether it ends the pass (everything but trouble with one packet does).
    fn stops_the_pass(self) -> bool {
        !matches!(
            self,
            Self::PacketRejected | Self::ApprovalRequired | Self::AuditConflict
        )
    }
}

/// A classified failure with what was seen, for the log and the technician.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The class.
    pub kind: ProblemKind,
    /// What happened, in detail.
    pub detail: String,
}

impl Problem {
    /// A problem of `kind`.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

/// A request failed; how the machine should take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A problem of one of the officer-visible classes.
    Problem(Problem),
    /// The server holds another offset than the chunk assumed: ask where it is.
    OffsetMismatch,
    /// The server does not know the upload (it discarded it): announce again.
    NotAnnounced,
    /// The server discarded the upload's bytes as corrupt: announce again, from zero.
    Corrupt,
    /// The server refused the packet with a receipt; it counts once the receipt is checked.
    Refused(protocol::api::ApiError),
    /// The server wants a (valid) supervisor's approval with the packet.
    ApprovalRefused(Problem),
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Time to sync (timer, "sync now", a new enrollment).
    Wake,
    /// The officer or technician paused sending.
    Pause,
    /// … and resumed it.
    Resume,
    /// The queue as loaded: exported packets to ask about, the next packet to upload, and the
    /// backlog.
    Queue {
        /// Pending packets that were exported to a folder.
        exported: Vec<Uuid>,
        /// The oldest uploadable packet.
        next: Option<PacketInfo>,
        /// Packets waiting.
        backlog_packets: u64,
        /// Their bytes.
        backlog_bytes: u64,
    },
    /// The server's answer about the current packet (announce, chunk, offset query, finalize).
    Server(PacketStatus),
    /// The server's answer to a status query.
    Statuses {
        /// One per packet asked about.
        statuses: Vec<PacketStatus>,
        /// What the server found wrong with the station's audit log, when anything.
        audit_conflict: Option<String>,
    },
    /// A request failed.
    Failed(Failure),
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Load the queue; answer [`Event::Queue`].
    LoadQueue,
    /// Ask the server about these packets (perhaps none), telling it the station's audit
    /// head; answer [`Event::Statuses`].
    QueryStatuses(Vec<Uuid>),
    /// Announce a packet; answer [`Event::Server`].
    Announce(PacketInfo),
    /// Ask how many bytes the server holds; answer [`Event::Server`].
    QueryOffset(Uuid),
    /// Send `len` bytes of the packet from `offset`; answer [`Event::Server`].
    SendChunk {
        /// The packet.
        packet: Uuid,
        /// Where the chunk starts.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// Ask the server to judge the complete packet; answer [`Event::Server`].
    Finalize(Uuid),
    /// Store the server's verdict with its receipt (already verified).
    RecordVerdict {
        /// The packet.
        packet: Uuid,
        /// The verdict.
        verdict: PacketVerdict,
        /// Why, when rejected.
        reason: Option<String>,
        /// The receipt as the server sent it (JSON).
        receipt: String,
    },
    /// Put the packet back in the supervisors' queue: the server took no approval for it.
    ReopenApproval {
        /// The packet.
        packet: Uuid,
        /// What the server said.
        reason: String,
    },
    /// Store a failed attempt on the packet.
    RecordFailure {
        /// The packet.
        packet: Uuid,
        /// What went wrong.
        problem: Problem,
    },
    /// Wait this long unless woken; then feed [`Event::Wake`].
    Sleep(Duration),
    /// Tell the UI.
    Publish(SyncStatus),
}

/// What the sync loop is doing.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Between passes, with nothing left to send.
    Idle,
    /// Sending.
    Sending,
    /// Waiting to retry after a problem.
    Retrying,
    /// Paused by a person.
    Paused,
}

/// Progress and trouble, for the UI.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// What the loop is doing.
    pub phase: Phase,
    /// Packets waiting for upload.
    pub backlog_packets: u64,
    /// Their bytes.
    pub backlog_bytes: u64,
    /// Packets that got a verdict in this pass.
    pub packets_done: u64,
    /// Packet bytes put on the wire in this pass (chunks lost to a cut included).
    pub bytes_sent: u64,
    /// The packet being sent, with the bytes the server holds of it and its size.
    pub current: Option<(Uuid, u64, u64)>,
    /// The last problem, until a pass succeeds.
    pub problem: Option<Problem>,
    /// The officer's message for that problem.
    pub message: Option<Label>,
    /// When the next attempt comes, while retrying.
    pub retry_in_ms: Option<u64>,
    /// When a pass last ended with no problem (RFC 3339): the last time the station was in
    /// step with the server. Stamped by the loop driving the machine, which has the clock.
    pub last_success: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Idle,
    Loading,
    Querying,
    Uploading(PacketInfo),
    Waiting,
    Paused,
}

/// The machine. Feed it events with [`Machine::handle`]; perform the actions in order.
#[derive(Debug)]
pub struct Machine {
    config: SyncConfig,
    receipt_key: StationPublicKey,
    state: State,
    failures: u32,
    stale_offsets: u32,
    exported_checked: bool,
    /// The packet next in line while the pass's status query runs: a failed query is a failed
    /// attempt on it too, so the enrollment list shows why it waits.
    next_in_line: Option<Uuid>,
    status: SyncStatus,
}

impl Machine {
    /// A machine that trusts receipts signed by `receipt_key`.
    pub fn new(config: SyncConfig, receipt_key: StationPublicKey) -> Self {
        Self {
            config,
            receipt_key,
            state: State::Idle,
            failures: 0,
            stale_offsets: 0,
            exported_checked: false,
            next_in_line: None,
            status: SyncStatus {
                phase: Phase::Idle,
                backlog_packets: 0,
                backlog_bytes: 0,
                packets_done: 0,
                bytes_sent: 0,
                current: None,
                problem: None,
                message: None,
                retry_in_ms: None,
                last_success: None,
            },
        }
    }

    /// The status as last published.
    pub fn status(&self) -> &SyncStatus {
        &self.status
    }

    /// Takes `event`; returns what to do. `jitter` in `[0.5, 1]` scales a back-off.
    pub fn handle(&mut self, event: Event, jitter: f64) -> Vec<Action> {
        match (event, &self.state) {
            (Event::Pause, _) => {
                self.state = State::Paused;
                self.status.phase = Phase::Paused;
                self.status.current = None;
                self.status.retry_in_ms = None;
                vec![self.publish()]
            }
            (Event::Resume, State::Paused) => self.start_pass(),
            (Event::Resume, _) => Vec::new(),
            (_, State::Paused) => Vec::new(),
            (Event::Wake, State::Idle | State::Waiting) => self.start_pass(),
            (Event::Wake, _) => Vec::new(),
            (
                Event::Queue {
                    exported,
                    next,
                    backlog_packets,
                    backlog_bytes,
                },
                State::Loading,
            ) => {
                self.status.backlog_packets = backlog_packets;
                self.status.backlog_bytes = backlog_bytes;
                // Every pass opens with a status query, even about nothing: it carries the
                // station's audit head to the server at every contact.
                if !self.exported_checked {
                    self.exported_checked = true;
                    self.next_in_line = next.as_ref().map(|packet| packet.id);
                    self.state = State::Querying;
                    return vec![Action::QueryStatuses(exported)];
                }
                match next {
                    Some(packet) => {
                        self.status.phase = Phase::Sending;
                        self.status.current = Some((packet.id, 0, packet.size));
                        self.stale_offsets = 0;
                        self.state = State::Uploading(packet.clone());
                        vec![self.publish(), Action::Announce(packet)]
                    }
                    None => self.pass_done(),
                }
            }
            (
                Event::Statuses {
                    statuses,
                    audit_conflict,
                },
                State::Querying,
            ) => {
                if let Some(conflict) = audit_conflict {
                    let problem = Problem::new(ProblemKind::AuditConflict, conflict);
                    self.status.message = Some(problem.kind.officer_message());
                    self.status.problem = Some(problem);
                }
                let mut actions = Vec::new();
                for status in statuses {
                    if matches!(status.state, PacketState::Accepted | PacketState::Rejected) {
                        match self.verified(&status, None) {
                            Ok(action) => {
                                self.status.packets_done += 1;
                                actions.push(action);
                            }
                            Err(problem) => return self.fail(problem, None, jitter),
                        }
                    }
                }
                self.state = State::Loading;
                actions.push(Action::LoadQueue);
                actions
            }
            (Event::Server(status), State::Uploading(packet)) => {
                let packet = packet.clone();
                if status.packet_id != packet.id {
                    let problem = Problem::new(
                        ProblemKind::ServerError,
                        format!(
                            "the server answered about packet {} while {} was being sent",
                            status.packet_id, packet.id
                        ),
                    );
                    return self.fail(problem, Some(packet.id), jitter);
                }
                match status.state {
                    PacketState::Accepted | PacketState::Rejected => {
                        match self.verified(&status, Some(&packet)) {
                            Ok(action) => {
                                if let Action::RecordVerdict {
                                    verdict: PacketVerdict::Rejected,
                                    reason,
                                    ..
                                } = &action
                                {
                                    let reason = reason.clone().unwrap_or_default();
                                    let problem = Problem::new(ProblemKind::PacketRejected, reason);
                                    self.status.message = Some(problem.kind.officer_message());
                                    self.status.problem = Some(problem);
                                }
                                self.status.packets_done += 1;
                                self.status.current = None;
                                self.status.backlog_packets =
                                    self.status.backlog_packets.saturating_sub(1);
                                self.status.backlog_bytes =
                                    self.status.backlog_bytes.saturating_sub(packet.size);
                                self.state = State::Loading;
                                vec![action, self.publish(), Action::LoadQueue]
                            }
                            Err(problem) => self.fail(problem, Some(packet.id), jitter),
                        }
                    }
                    PacketState::Receiving if status.received > packet.size => self.fail(
                        Problem::new(
                            ProblemKind::ServerError,
                            format!(
                                "the server claims {} bytes of a {}-byte packet",
                                status.received, packet.size
                            ),
                        ),
                        Some(packet.id),
                        jitter,
                    ),
                    PacketState::Receiving if status.received == packet.size => {
                        self.status.current = Some((packet.id, packet.size, packet.size));
                        vec![Action::Finalize(packet.id)]
                    }
                    PacketState::Receiving => {
                        self.status.current = Some((packet.id, status.received, packet.size));
                        let len = (packet.size - status.received).min(self.config.chunk_bytes);
                        // Counted as they go out: a chunk lost to a cut counts too, which is
                        // what a re-send costs the link.
                        self.status.bytes_sent += len;
                        vec![
                            self.publish(),
                            Action::SendChunk {
                                packet: packet.id,
                                offset: status.received,
                                len,
                            },
                        ]
                    }
                    PacketState::Unknown => vec![Action::Announce(packet)],
                }
            }
            (Event::Failed(failure), State::Uploading(packet)) => {
                let packet = packet.clone();
                match failure {
                    Failure::OffsetMismatch if self.stale_offsets < 3 => {
                        self.stale_offsets += 1;
                        vec![Action::QueryOffset(packet.id)]
                    }
                    Failure::OffsetMismatch => self.fail(
                        Problem::new(
                            ProblemKind::ServerError,
                            "the server keeps refusing the offsets it names",
                        ),
                        Some(packet.id),
                        jitter,
                    ),
                    Failure::NotAnnounced => vec![Action::Announce(packet)],
                    Failure::Corrupt => {
                        self.status.current = Some((packet.id, 0, packet.size));
                        self.fail(
                            Problem::new(
                                ProblemKind::ServerError,
                                "the server found the uploaded bytes corrupt and discarded them; the packet will be sent again",
                            ),
                            Some(packet.id),
                            jitter,
                        )
                    }
                    // Only a packet whose own manifest flags it goes back to the supervisors;
                    // a server asking an approval of any other is not believed.
                    Failure::ApprovalRefused(problem) if packet.needs_approval => {
                        self.status.current = None;
                        self.status.message = Some(problem.kind.officer_message());
                        self.status.problem = Some(problem.clone());
                        self.status.backlog_packets = self.status.backlog_packets.saturating_sub(1);
                        self.status.backlog_bytes =
                            self.status.backlog_bytes.saturating_sub(packet.size);
                        self.state = State::Loading;
                        vec![
                            Action::ReopenApproval {
                                packet: packet.id,
                                reason: problem.detail,
                            },
                            self.publish(),
                            Action::LoadQueue,
                        ]
                    }
                    Failure::ApprovalRefused(problem) => self.fail(
                        Problem::new(
                            ProblemKind::ServerError,
                            format!(
                                "the server asks for a supervisor's approval of a packet that needs none: {}",
                                problem.detail
                            ),
                        ),
                        Some(packet.id),
                        jitter,
                    ),
                    // A refusal counts as the server's verdict only through its signed
                    // receipt, checked exactly as an acceptance is.
                    Failure::Refused(error) => self.handle(
                        Event::Server(PacketStatus {
                            packet_id: packet.id,
                            state: PacketState::Rejected,
                            received: 0,
                            receipt: error.receipt,
                            stage: None,
                        }),
                        jitter,
                    ),
                    Failure::Problem(problem) => self.fail(problem, Some(packet.id), jitter),
                }
            }
            (Event::Failed(failure), State::Querying | State::Loading) => {
                let problem = match failure {
                    Failure::Problem(problem) => problem,
                    other => Problem::new(
                        ProblemKind::ServerError,
                        format!("unexpected answer to a status query: {other:?}"),
                    ),
                };
                let packet = self.next_in_line.take();
                self.fail(problem, packet, jitter)
            }
            // Answers that arrive for a state the machine has left (after a pause) are dropped.
            _ => Vec::new(),
        }
    }

    fn start_pass(&mut self) -> Vec<Action> {
        self.state = State::Loading;
        self.exported_checked = false;
        self.status.phase = Phase::Sending;
        self.status.packets_done = 0;
        self.status.bytes_sent = 0;
        self.status.retry_in_ms = None;
        vec![Action::LoadQueue]
    }

    fn pass_done(&mut self) -> Vec<Action> {
        self.failures = 0;
        self.state = State::Waiting;
        self.status.phase = Phase::Idle;
        self.status.current = None;
        if self
            .status
            .problem
            .as_ref()
            .is_some_and(|p| p.kind.stops_the_pass())
        {
            self.status.problem = None;
            self.status.message = None;
        }
        vec![self.publish(), Action::Sleep(self.config.idle_interval)]
    }

    fn fail(&mut self, problem: Problem, packet: Option<Uuid>, jitter: f64) -> Vec<Action> {
        self.failures = self.failures.saturating_add(1);
        let wait = backoff(&self.config, self.failures, jitter);
        self.state = State::Waiting;
        self.status.phase = Phase::Retrying;
        self.status.retry_in_ms = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        self.status.message = Some(problem.kind.officer_message());
        self.status.problem = Some(problem.clone());
        let mut actions = Vec::new();
        if let Some(packet) = packet {
            actions.push(Action::RecordFailure { packet, problem });
        }
        actions.push(self.publish());
        actions.push(Action::Sleep(wait));
        actions
    }

    /// Checks a verdict's receipt: the server's signature, this packet, these bytes.
    fn verified(
        &self,
        status: &PacketStatus,
        packet: Option<&PacketInfo>,
    ) -> Result<Action, Problem> {
        let bad = |detail: String| Problem::new(ProblemKind::ServerError, detail);
        let signed = status
            .receipt
            .as_ref()
            .ok_or_else(|| bad("the server gave a verdict without a receipt".into()))?;
        let receipt: Receipt = signed
            .verify(&self.receipt_key)
            .map_err(|e| bad(format!("the server's receipt is not valid: {e}")))?;
        if receipt.packet_id != status.packet_id {
            return Err(bad("the receipt names another packet".into()));
        }
        if let Some(packet) = packet {
            if receipt.sha256 != packet.sha256 {
                return Err(bad(
                    "the receipt is for other bytes than this station sent".into()
                ));
            }
        }
        Ok(Action::RecordVerdict {
            packet: receipt.packet_id,
            verdict: receipt.verdict,
            reason: receipt.reason,
            receipt: serde_json::to_string(signed).unwrap_or_default(),
        })
    }

    fn publish(&self) -> Action {
        Action::Publish(self.status.clone())
    }
}

/// `min × 2^(failures-1)`, capped at `max`, scaled by `jitter` in `[0.5, 1]` so that stations
/// coming back online together do not retry in lock step.
pub fn backoff(config: &SyncConfig, failures: u32, jitter: f64) -> Duration {
    let exponent = failures.saturating_sub(1).min(20);
    let raw = config
        .min_backoff
        .saturating_mul(1u32 << exponent)
        .min(config.max_backoff);
    raw.mul_f64(jitter.clamp(0.5, 1.0))
}
