//! Two-phase delivery, pure of HTTP: announce, chunks at the offset the server holds,
//! finalize (hash, then [`intake::receive`]), and status queries with signed receipts.
//!
//! Every step is idempotent: announcing a packet the server has judged answers its verdict
//! (nothing is sent again), a chunk at a stale offset is refused with the offset the server
//! holds, and finalizing a judged packet answers the same receipt.

use protocol::api::{Announce, PacketState, PacketStatus, PacketVerdict, Receipt, SignedReceipt};
use protocol::approval::SignedApproval;
use protocol::packet::{sha256_hex, SealedPacket, MAX_PACKET_BYTES};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::data::{DataError, PacketRecord, Storage, UploadRecord, UPLOAD_LIFETIME};
use crate::intake::{self, IntakeError};

/// Why an upload step was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// The announced size is over the limit.
    #[error("a packet may be at most {MAX_PACKET_BYTES} bytes; {0} were announced")]
    TooLarge(u64),
    /// The announced hash is not 64 lower-case hex digits.
    #[error("the announced sha256 is not 64 lower-case hex digits")]
    BadHash,
    /// Finalize came before all bytes.
    #[error("the server holds {received} of {size} bytes; send the rest before finalizing")]
    Incomplete {
        /// Bytes held.
        received: u64,
        /// Bytes announced.
        size: u64,
    },
    /// The bytes do not hash to what was announced; they were discarded.
    #[error("the uploaded bytes do not match the announced sha256; they were discarded, send the packet again from the start")]
    HashMismatch,
    /// The packet inside names another id than the one announced; it was discarded.
    #[error("the uploaded packet is {inside}, not the announced {announced}; it was discarded")]
    IdMismatch {
        /// What was announced.
        announced: Uuid,
        /// What the packet says.
        inside: Uuid,
    },
    /// The id was judged before with other bytes.
    #[error("packet id {0} was already received with different content")]
    IdReused(Uuid),
    /// The packet was refused by intake.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// The data directory failed or refused the step.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A final refusal of the packet, with the server's signed receipt naming the bytes
    /// refused: the station stops sending it only on such a receipt.
    #[error("{error}")]
    Refused {
        /// Why.
        error: Box<UploadError>,
        /// The signed verdict `rejected`.
        receipt: SignedReceipt,
    },
}

impl UploadError {
    /// The stable code a station branches on. `None` for a failure of the server itself.
    pub fn code(&self) -> Option<&'static str> {
        Some(match self {
            Self::TooLarge(_) => "packet_too_large",
            Self::BadHash => "malformed_request",
            Self::Incomplete { .. } => "upload_incomplete",
            Self::HashMismatch => "upload_corrupt",
            Self::IdMismatch { .. } => "packet_id_mismatch",
            Self::IdReused(_) | Self::Data(DataError::AnnounceConflict(_)) => "packet_id_reused",
            Self::Data(DataError::OffsetMismatch { .. }) => "offset_mismatch",
            Self::Data(DataError::PastEnd(_)) => "chunk_past_end",
            Self::Data(DataError::NotAnnounced(_)) => "not_announced",
            Self::Data(DataError::TooManyUploads { .. }) => "too_many_uploads",
            Self::Data(DataError::ServerFull) => "server_busy",
            Self::Data(_) => return None,
            Self::Intake(error) => error.code()?,
            Self::Refused { error, .. } => error.code()?,
        })
    }

    /// Whether the packet can never pass, so the refusal is a verdict on it.
    fn is_final(&self) -> bool {
        match self {
            Self::TooLarge(_) | Self::IdMismatch { .. } | Self::IdReused(_) => true,
            Self::Intake(error) => error.is_final(),
            _ => false,
        }
    }

    /// A final refusal gets the server's signed receipt for the bytes announced as `sha256`;
    /// any other error stays as it is.
    fn signed(
        self,
        data: &dyn Storage,
        station: Uuid,
        packet_id: Uuid,
        sha256: &str,
        now: OffsetDateTime,
    ) -> Self {
        if !self.is_final() {
            return self;
        }
        let receipt = Receipt {
            packet_id,
            station_id: station,
            sha256: sha256.to_owned(),
            verdict: PacketVerdict::Rejected,
            reason: Some(format!("{}: {self}", self.code().unwrap_or("refused"))),
            judged_at: crate::data::rfc3339(now),
        };
        Self::Refused {
            receipt: SignedReceipt::sign(&receipt, data.receipt_key()),
            error: Box::new(self),
        }
    }
}

/// What the server holds of `packet_id` for `station`.
///
/// # Errors
/// When the data directory fails.
pub async fn status(
    data: &dyn Storage,
    station: Uuid,
    packet_id: Uuid,
) -> Result<PacketStatus, DataError> {
    Ok(match standing(data, station, packet_id).await? {
        Standing::Judged(record) => judged_status(data, &record),
        Standing::Receiving(upload) => PacketStatus {
            packet_id,
            state: PacketState::Receiving,
            received: upload.received,
            receipt: None,
            stage: None,
        },
        Standing::Unknown => PacketStatus {
            packet_id,
            state: PacketState::Unknown,
            received: 0,
            receipt: None,
            stage: None,
        },
    })
}

/// Where a packet stands for the station asking: judged, being received, or neither (a
/// packet or upload of the same id from another station counts as neither).
enum Standing {
    Judged(PacketRecord),
    Receiving(UploadRecord),
    Unknown,
}

async fn standing(
    data: &dyn Storage,
    station: Uuid,
    packet_id: Uuid,
) -> Result<Standing, DataError> {
    if let Some(record) = data.packet(packet_id).await? {
        if record.station_id == station {
            return Ok(Standing::Judged(record));
        }
    }
    Ok(match data.upload(packet_id).await? {
        Some(upload) if upload.station_id == station => Standing::Receiving(upload),
        _ => Standing::Unknown,
    })
}

/// The status of a judged packet, with its signed receipt.
pub fn judged_status(data: &dyn Storage, record: &PacketRecord) -> PacketStatus {
    let verdict = if record.verdict == "accepted" {
        PacketVerdict::Accepted
    } else {
        PacketVerdict::Rejected
    };
    let receipt = Receipt {
        packet_id: record.packet_id,
        station_id: record.station_id,
        sha256: record.sha256.clone(),
        verdict,
        reason: record.reason.clone(),
        judged_at: record.judged_at.clone(),
    };
    PacketStatus {
        packet_id: record.packet_id,
        state: match verdict {
            PacketVerdict::Accepted => PacketState::Accepted,
            PacketVerdict::Rejected => PacketState::Rejected,
        },
        received: 0,
        receipt: Some(SignedReceipt::sign(&receipt, data.receipt_key())),
        stage: Some(record.stage.clone()),
    }
}

/// Phase one: the station announces a packet. Returns the verdict when the server judged this
/// exact packet already, else how many bytes it holds.
///
/// # Errors
/// See [`UploadError`].
pub async fn announce(
    data: &dyn Storage,
    station: Uuid,
    announce: &Announce,
    now: OffsetDateTime,
) -> Result<(PacketStatus, bool), UploadError> {
    let hex = announce.sha256.as_bytes();
    if hex.len() != 64 || !hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(UploadError::BadHash);
    }
    let refuse =
        |error: UploadError| error.signed(data, station, announce.packet_id, &announce.sha256, now);
    if let Some(record) = data.packet(announce.packet_id).await? {
        if record.sha256 == announce.sha256 && record.station_id == station {
            return Ok((judged_status(data, &record), true));
        }
        return Err(refuse(UploadError::IdReused(announce.packet_id)));
    }
    if announce.size > MAX_PACKET_BYTES as u64 {
        return Err(refuse(UploadError::TooLarge(announce.size)));
    }
    let upload = data.start_upload(station, announce, now).await?;
    Ok((
        PacketStatus {
            packet_id: announce.packet_id,
            state: PacketState::Receiving,
            received: upload.received,
            receipt: None,
            stage: None,
        },
        false,
    ))
}

/// A chunk of `packet_id`'s bytes starting at `offset`. Returns the bytes held afterwards.
///
/// # Errors
/// See [`UploadError`]; [`DataError::OffsetMismatch`] names the offset the server holds.
pub async fn chunk(
    data: &dyn Storage,
    station: Uuid,
    packet_id: Uuid,
    offset: u64,
    bytes: &[u8],
) -> Result<PacketStatus, UploadError> {
    let received = data.append_chunk(station, packet_id, offset, bytes).await?;
    Ok(PacketStatus {
        packet_id,
        state: PacketState::Receiving,
        received,
        receipt: None,
        stage: None,
    })
}

/// Phase two: all bytes are there; check and judge them. Returns the status with the receipt
/// and whether the packet had been judged before.
///
/// # Errors
/// See [`UploadError`].
pub async fn finalize(
    data: &dyn Storage,
    station: Uuid,
    packet_id: Uuid,
    approval: Option<&SignedApproval>,
    now: OffsetDateTime,
) -> Result<(PacketStatus, bool), UploadError> {
    let upload = match standing(data, station, packet_id).await? {
        Standing::Judged(record) => {
            data.discard_upload(packet_id).await?;
            return Ok((judged_status(data, &record), true));
        }
        Standing::Receiving(upload) => upload,
        Standing::Unknown => return Err(DataError::NotAnnounced(packet_id).into()),
    };
    if upload.started_at < now - (UPLOAD_LIFETIME - LAST_HOUR) {
        // The sweep may take this upload any minute (LAST_HOUR): the station announces it
        // again and sends it whole.
        data.discard_upload(packet_id).await?;
        return Err(DataError::NotAnnounced(packet_id).into());
    }
    if upload.received != upload.size {
        return Err(UploadError::Incomplete {
            received: upload.received,
            size: upload.size,
        });
    }
    let bytes = match data.upload_bytes(packet_id).await {
        Ok(bytes) => bytes,
        Err(error) => return raced(data, station, packet_id, error.into()).await,
    };
    if sha256_hex(&bytes) != upload.sha256 {
        if data.upload(packet_id).await?.is_none() {
            // Emptied by another request while we read it.
            return raced(data, station, packet_id, UploadError::HashMismatch).await;
        }
        data.discard_upload(packet_id).await?;
        return Err(UploadError::HashMismatch);
    }
    // From here the bytes are exactly what the station announced: a refusal is a verdict on
    // them, signed for the station.
    let refuse = |error: UploadError| error.signed(data, station, packet_id, &upload.sha256, now);
    if let Ok(sealed) = SealedPacket::parse(&bytes) {
        let inside = sealed.manifest().packet_id;
        if inside != packet_id {
            data.discard_upload(packet_id).await?;
            return Err(refuse(UploadError::IdMismatch {
                announced: packet_id,
                inside,
            }));
        }
    }
    match intake::receive_hashed(data, bytes, &upload.sha256, approval, now).await {
        Ok(judged) => {
            data.discard_upload(packet_id).await?;
            Ok((judged_status(data, &judged.record), judged.duplicate))
        }
        Err(IntakeError::Data(error)) => Err(UploadError::Data(error)),
        // The bytes are good; only the approval is missing: they wait for the next finalize.
        Err(error @ (IntakeError::Approval(_) | IntakeError::FormNotKnown { .. })) => {
            Err(error.into())
        }
        Err(error) => {
            // Nothing is kept of bytes that can never pass; a refusal that is not final
            // (an unknown or revoked station) is answered without a verdict.
            data.discard_upload(packet_id).await?;
            Err(refuse(error.into()))
        }
    }
}

/// An upload younger than [`UPLOAD_LIFETIME`] by less than this is not finalized: the sweep
/// that discards it does not take its bytes from under a finalize reading them (were it to,
/// the finalize answers `not_announced` and the station sends the packet again).
pub const LAST_HOUR: time::Duration = time::Duration::hours(1);

/// What a finalize answers when the upload went from under it — another request for the same
/// packet (a station's retry, on this replica or another) finished or discarded it
/// meanwhile: the packet's verdict when it was stored, [`DataError::NotAnnounced`] when it is
/// gone, else `error`.
async fn raced(
    data: &dyn Storage,
    station: Uuid,
    packet_id: Uuid,
    error: UploadError,
) -> Result<(PacketStatus, bool), UploadError> {
    match standing(data, station, packet_id).await? {
        Standing::Judged(record) => Ok((judged_status(data, &record), true)),
        Standing::Receiving(_) => Err(error),
        Standing::Unknown => Err(DataError::NotAnnounced(packet_id).into()),
    }
}

/// What an import of a folder did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Packets judged for the first time.
    pub new: usize,
    /// Packets the server had already.
    pub again: usize,
    /// Files refused (unreadable, not a packet, not signed by a registered station …).
    pub refused: usize,
    /// One line per file, for the administrator.
    pub lines: Vec<String>,
}

/// Imports every `*.espk` file in `folder` (packets a station exported to a USB stick): each
/// gets the same checks as an upload, with the supervisor's approval from the file beside it
/// (`<id>.approval.json`) when there is one, and a packet the server already has counts once.
///
/// # Errors
/// When the folder cannot be read or holds no packet files.
pub async fn import_folder(
    data: &dyn Storage,
    folder: &std::path::Path,
    now: OffsetDateTime,
) -> Result<ImportReport, DataError> {
    let read_error = |source| DataError::Io {
        context: format!("cannot read the folder {}", folder.display()),
        source,
    };
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(folder)
        .map_err(read_error)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "espk"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(DataError::Io {
            context: format!("{} holds no .espk packet files", folder.display()),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let mut report = ImportReport::default();
    for path in &files {
        let name = path.display();
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                report.refused += 1;
                report.lines.push(format!("{name}: cannot read: {error}"));
                continue;
            }
        };
        let approval = match read_approval(&path.with_extension("approval.json")) {
            Ok(approval) => approval,
            Err(reason) => {
                report.refused += 1;
                report.lines.push(format!("{name}: refused: {reason}"));
                continue;
            }
        };
        match intake::receive(data, bytes, approval.as_ref(), now).await {
            Ok(judged) => {
                let reason = judged.record.reason.as_deref().unwrap_or("");
                if judged.duplicate {
                    report.again += 1;
                    report.lines.push(format!(
                        "{name}: already received ({}) {reason}",
                        judged.record.verdict
                    ));
                } else {
                    report.new += 1;
                    report
                        .lines
                        .push(format!("{name}: {} {reason}", judged.record.verdict));
                }
            }
            Err(IntakeError::Data(error)) => return Err(error),
            Err(error) => {
                report.refused += 1;
                report.lines.push(format!("{name}: refused: {error}"));
            }
        }
    }
    Ok(report)
}

/// The approval exported beside a packet, when there is one.
fn read_approval(path: &std::path::Path) -> Result<Option<SignedApproval>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{} is not an approval: {e}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}
