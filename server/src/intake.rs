//! What happens to an uploaded packet, in order:
//!
//! 1. its structure is read (malformed → refused, nothing stored);
//! 2. its station must be registered and not revoked, and its signature valid (else refused:
//!    the server keeps nothing a registered station did not sign);
//! 3. a packet id seen before: the same bytes get the earlier verdict again (a retry after a
//!    lost answer), different bytes are refused;
//! 4. it is opened and its content checked: the form fields, the ten fingers, and that every
//!    image really decodes;
//! 5. the packet is stored with its verdict: accepted, or rejected with a reason.

use image::ImageFormat;
use protocol::content::EnrollmentContent;
use protocol::packet::{sha256_hex, PacketError, SealedPacket};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::data::{DataError, PacketRecord, ServerData};

/// Why a packet was refused before any verdict on its content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    /// Not a readable packet.
    #[error("malformed packet: {0}")]
    Malformed(PacketError),
    /// The header names a station the server does not know.
    #[error("station {0} is not registered")]
    UnknownStation(Uuid),
    /// The station was revoked.
    #[error("station {0} has been revoked")]
    Revoked(Uuid),
    /// The signature does not match the station's registered key.
    #[error("the packet signature does not match the registered station key")]
    BadSignature,
    /// Sealed for a key this server does not hold.
    #[error("the packet was sealed for server key {0}, which this server does not hold")]
    WrongRecipient(String),
    /// The id was used before for different bytes.
    #[error("packet id {0} was already received with different content")]
    IdReused(Uuid),
    /// Storage failed.
    #[error(transparent)]
    Data(#[from] DataError),
}

/// The verdict on a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// The stored record.
    pub record: PacketRecord,
    /// True when this exact packet had been received before.
    pub duplicate: bool,
}

/// Receives one packet. See the module docs for the order of checks.
///
/// # Errors
/// See [`IntakeError`]; nothing is stored on error.
pub fn receive(
    data: &ServerData,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<Judged, IntakeError> {
    let sealed = SealedPacket::parse(bytes).map_err(IntakeError::Malformed)?;
    let header = sealed.header().clone();
    let station = data
        .station(header.station_id)?
        .ok_or(IntakeError::UnknownStation(header.station_id))?;
    if station.revoked {
        return Err(IntakeError::Revoked(station.station_id));
    }
    let verified = sealed
        .verify(&station.signing_key)
        .map_err(|_| IntakeError::BadSignature)?;
    let sha256 = sha256_hex(bytes);
    if let Some(existing) = data.packet(header.packet_id)? {
        return repeat(existing, &sha256);
    }
    let reason = match verified.open(data.encryption_key()) {
        Ok(content) => check_content(&content, header.packet_id, now).err(),
        Err(PacketError::WrongRecipient(key_id)) => {
            return Err(IntakeError::WrongRecipient(key_id))
        }
        Err(_) => Some(
            "the packet is signed by its station but its content cannot be decrypted".to_owned(),
        ),
    };
    let record = PacketRecord {
        packet_id: header.packet_id,
        station_id: header.station_id,
        sha256,
        verdict: if reason.is_none() {
            "accepted"
        } else {
            "rejected"
        }
        .to_owned(),
        reason,
    };
    if let Some(existing) = data.store_packet(&record, bytes, now)? {
        return repeat(existing, &record.sha256);
    }
    tracing::info!(packet = %record.packet_id, station = %record.station_id, verdict = %record.verdict, "packet judged");
    Ok(Judged {
        record,
        duplicate: false,
    })
}

/// A packet id seen before: the same bytes get the earlier verdict, other bytes are refused.
fn repeat(existing: PacketRecord, sha256: &str) -> Result<Judged, IntakeError> {
    if existing.sha256 == sha256 {
        Ok(Judged {
            record: existing,
            duplicate: true,
        })
    } else {
        Err(IntakeError::IdReused(existing.packet_id))
    }
}

/// Checks opened content; the error is the rejection reason sent back to the station.
fn check_content(plaintext: &[u8], packet_id: Uuid, now: OffsetDateTime) -> Result<(), String> {
    let content: EnrollmentContent = serde_json::from_slice(plaintext)
        .map_err(|e| format!("the content is not a valid enrollment: {e}"))?;
    if content.enrollment_id != packet_id {
        return Err("the enrollment id inside does not match the packet id".into());
    }
    content.check_structure(now.date())?;
    let face = image::load_from_memory_with_format(content.face.jpeg.as_bytes(), ImageFormat::Jpeg)
        .map_err(|e| format!("the face photo is not a valid JPEG: {e}"))?;
    if (face.width(), face.height()) != (content.face.width, content.face.height) {
        return Err("the face photo's size does not match its declared size".into());
    }
    for finger in &content.fingers {
        let print = image::load_from_memory_with_format(finger.png.as_bytes(), ImageFormat::Png)
            .map_err(|e| format!("the {:?} image is not a valid PNG: {e}", finger.position))?;
        if print.color() != image::ColorType::L8 {
            return Err(format!(
                "the {:?} image is not 8-bit greyscale",
                finger.position
            ));
        }
        if (print.width(), print.height()) != (finger.width, finger.height) {
            return Err(format!(
                "the {:?} image's size does not match its declared size",
                finger.position
            ));
        }
    }
    Ok(())
}
