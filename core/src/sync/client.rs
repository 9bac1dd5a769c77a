//! The HTTP side of sync: signed requests to the server's upload API, with every failure
//! classified into what the machine and the officer need ([`Failure`]).

use std::sync::Arc;
use std::time::Duration;

use protocol::api::{
    Announce, ApiError, PacketStatus, StatusAnswer, StatusQuery, STATUSES_PATH, UPLOADS_PATH,
};
use protocol::approval::{FinalizeRequest, SignedApproval};
use protocol::audit::AuditClaim;
use protocol::keys::StationSigningKey;
use protocol::request::{
    RequestSignature, NONCE_HEADER, SIGNATURE_HEADER, STATION_HEADER, TIMESTAMP_HEADER,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::machine::{Failure, Problem, ProblemKind};
use crate::clock::Clock;

/// Signed calls to the central server for one station.
#[derive(Clone)]
pub struct ServerClient {
    http: reqwest::Client,
    base: String,
    station_id: Uuid,
    key: Arc<StationSigningKey>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ServerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerClient")
            .field("base", &self.base)
            .field("station_id", &self.station_id)
            .finish_non_exhaustive()
    }
}

impl ServerClient {
    /// A client for `base` (e.g. `https://enroll.example.go.id`) signing as `station_id` with
    /// `key`, accepting only the TLS certificate `pin` names when given ([`crate::link`]); its
    /// requests' timestamps come from `clock`.
    ///
    /// # Errors
    /// When the TLS stack cannot be set up.
    pub fn new(
        base: &str,
        station_id: Uuid,
        key: Arc<StationSigningKey>,
        clock: Arc<dyn Clock>,
        (request_timeout, pin): (Duration, Option<&str>),
    ) -> Result<Self, Problem> {
        let http = crate::link::client(base, pin, Duration::from_secs(5), request_timeout)
            .map_err(|e| Problem::new(ProblemKind::DnsOrTls, e.to_string()))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            station_id,
            key,
            clock,
        })
    }

    /// Phase one: announce a packet.
    ///
    /// # Errors
    /// A classified [`Failure`].
    pub async fn announce(&self, announce: &Announce) -> Result<PacketStatus, Failure> {
        let body = serde_json::to_vec(announce).unwrap_or_default();
        self.call(Method::POST, UPLOADS_PATH.to_owned(), body, true)
            .await
    }

    /// How much of a packet the server holds.
    ///
    /// # Errors
    /// A classified [`Failure`].
    pub async fn offset(&self, packet: Uuid) -> Result<PacketStatus, Failure> {
        self.call(
            Method::GET,
            format!("{UPLOADS_PATH}/{packet}"),
            Vec::new(),
            false,
        )
        .await
    }

    /// Sends `bytes` of a packet starting at `offset`.
    ///
    /// # Errors
    /// A classified [`Failure`].
    pub async fn chunk(
        &self,
        packet: Uuid,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Result<PacketStatus, Failure> {
        self.call(
            Method::PUT,
            format!("{UPLOADS_PATH}/{packet}?offset={offset}"),
            bytes,
            false,
        )
        .await
    }

    /// Phase two: the server judges the complete packet; a flagged packet goes with its
    /// supervisor's signed approval.
    ///
    /// # Errors
    /// A classified [`Failure`].
    pub async fn finalize(
        &self,
        packet: Uuid,
        approval: Option<SignedApproval>,
    ) -> Result<PacketStatus, Failure> {
        let path = format!("{UPLOADS_PATH}/{packet}/finalize");
        match approval {
            Some(approval) => {
                let body = FinalizeRequest {
                    approval: Some(approval),
                };
                let body = serde_json::to_vec(&body).unwrap_or_default();
                self.call(Method::POST, path, body, true).await
            }
            None => self.call(Method::POST, path, Vec::new(), false).await,
        }
    }

    /// Where these packets are on the server, telling it the station's audit head.
    ///
    /// # Errors
    /// A classified [`Failure`].
    pub async fn statuses(
        &self,
        packets: Vec<Uuid>,
        audit: Option<AuditClaim>,
    ) -> Result<StatusAnswer, Failure> {
        let asked = packets.len();
        let body = serde_json::to_vec(&StatusQuery {
            packet_ids: packets,
            audit,
        })
        .unwrap_or_default();
        let answer: StatusAnswer = self
            .call(Method::POST, STATUSES_PATH.to_owned(), body, true)
            .await?;
        if answer.statuses.len() != asked {
            return Err(server_error(format!(
                "asked about {asked} packets, the server answered about {}",
                answer.statuses.len()
            )));
        }
        Ok(answer)
    }

    /// A signed request; the answer parsed as `T`, or the failure classified.
    ///
    /// # Errors
    /// A classified [`Failure`].
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: String,
        body: Vec<u8>,
        json: bool,
    ) -> Result<T, Failure> {
        let timestamp = self.clock.now().unix_timestamp();
        let signature = RequestSignature::sign(
            &self.key,
            self.station_id,
            (method.as_str(), &path_and_query, &body),
            timestamp,
            nonce(),
        );
        let content_type = if json {
            "application/json"
        } else {
            "application/octet-stream"
        };
        let response = self
            .http
            .request(method, format!("{}{path_and_query}", self.base))
            .header(STATION_HEADER, signature.station_id.to_string())
            .header(TIMESTAMP_HEADER, signature.timestamp.to_string())
            .header(NONCE_HEADER, &signature.nonce)
            .header(SIGNATURE_HEADER, &signature.signature)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| Failure::Problem(transport(&e)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failure::Problem(transport(&e)))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|_| {
                server_error(format!(
                    "HTTP {status} with a body that is not the API's answer ({} bytes)",
                    bytes.len()
                ))
            });
        }
        let Ok(error) = serde_json::from_slice::<ApiError>(&bytes) else {
            return Err(server_error(format!(
                "HTTP {status} without a JSON error body"
            )));
        };
        Err(classify(status, error))
    }
}

fn server_error(detail: String) -> Failure {
    Failure::Problem(Problem::new(ProblemKind::ServerError, detail))
}

/// What an API error means for sync.
///
/// Only an error that carries a receipt can end a packet's journey ([`Failure::Refused`]), and
/// only once the machine has checked that the server signed it for this packet's bytes: a
/// refusal code alone proves nothing, since whatever answers on the link can write one.
pub fn classify(status: StatusCode, error: ApiError) -> Failure {
    let detail = format!("{} ({})", error.message, error.code);
    let problem = |kind| Failure::Problem(Problem::new(kind, detail.clone()));
    if error.receipt.is_some() {
        return Failure::Refused(error);
    }
    match error.code.as_str() {
        "offset_mismatch" | "upload_incomplete" => Failure::OffsetMismatch,
        "not_announced" => Failure::NotAnnounced,
        "upload_corrupt" => Failure::Corrupt,
        "clock_skew" => problem(ProblemKind::ClockSkew),
        "unknown_station" | "bad_request_signature" => problem(ProblemKind::NotRegistered),
        "station_revoked" => problem(ProblemKind::Revoked),
        "approval_required" | "approval_invalid" | "approval_self" => Failure::ApprovalRefused(
            Problem::new(ProblemKind::ApprovalRequired, detail.clone()),
        ),
        // A refusal of the packet with no signed verdict: the packet stays pending.
        "malformed_packet" | "wrong_station_key" | "bad_signature" | "payload_tampered"
        | "wrong_recipient" | "packet_id_reused" | "packet_id_mismatch" | "packet_too_large" => {
            Failure::Problem(Problem::new(
                ProblemKind::ServerError,
                format!(
                    "the server refused the packet ({}: {}) without a receipt it signed; the packet stays on this station and will be sent again",
                    error.code, error.message
                ),
            ))
        }
        _ if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
            problem(ProblemKind::ServerError)
        }
        // Anything else is a request this build should never make; the server is the judge.
        _ => problem(ProblemKind::ServerError),
    }
}

/// What a failed connection means: a name that does not resolve or a TLS failure is told
/// apart from a link that is simply down.
pub fn transport(error: &reqwest::Error) -> Problem {
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    let text = chain.join(": ");
    let lower = text.to_ascii_lowercase();
    let dns = lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
        || lower.contains("no address associated");
    let tls = lower.contains("tls")
        || lower.contains("certificate")
        || lower.contains("handshake")
        || lower.contains("invalidcontenttype")
        || lower.contains("corrupt message");
    if dns || tls {
        Problem::new(ProblemKind::DnsOrTls, text)
    } else if error.is_timeout() {
        Problem::new(
            ProblemKind::Offline,
            format!("the request timed out: {text}"),
        )
    } else {
        Problem::new(ProblemKind::Offline, text)
    }
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness the nonce is still unique per process and time; the server refuses
    // a reused one, which shows as a retry, never as a double delivery.
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes.copy_from_slice(&now.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
