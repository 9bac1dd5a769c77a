//! Export of pending packets to a folder (a USB stick) for offices with no link.
//!
//! Each packet is written as `<packet id>.espk` (temporary file, fsync, rename), exactly the
//! bytes the uploader would send, with its supervisor's signed approval beside it as
//! `<packet id>.approval.json` when it needed one; they are sealed and signed, so the stick
//! carries nothing readable. The packets are then marked exported: the uploader does not send them while the
//! server may still receive them from the stick (`enrollment-server import`), and asks the
//! server about them on every pass to learn their verdicts.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::audit::{self, AuditEvent};
use crate::clock::{rfc3339, Clock};
use crate::station::Station;
use crate::store::StoreError;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The target is not a folder that exists.
    #[error("{0} is not a folder (is the USB stick mounted?)")]
    NotAFolder(PathBuf),
    /// A packet could not be written (a full stick, a stick pulled out).
    #[error("cannot write {path}: {source}; the packets written before it are marked exported, the rest stay queued")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The station database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// Packets written.
    pub packets: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Writes every pending packet ready for upload into `folder` and marks them exported.
///
/// # Errors
/// See [`ExportError`]; packets written before a failure stay marked.
pub fn export_pending(
    station: &Station,
    folder: &Path,
    actor: &str,
    clock: &dyn Clock,
) -> Result<ExportReport, ExportError> {
    if !folder.is_dir() {
        return Err(ExportError::NotAFolder(folder.to_owned()));
    }
    let store = station.store();
    let at = rfc3339(clock.now());
    let packets = store.pending_packets(usize::MAX)?;
    let mut written = Vec::new();
    let mut bytes = 0;
    let mut failure = None;
    for packet in &packets {
        // The supervisor's approval goes first: a packet on the stick without the approval it
        // needs would be refused at import.
        if let Some(approval) = &packet.approval_proof {
            let path = folder.join(format!("{}.approval.json", packet.packet_id));
            if let Err(source) = write_synced(&path, approval.as_bytes()) {
                failure = Some(ExportError::Write { path, source });
                break;
            }
        }
        let path = folder.join(format!("{}.espk", packet.packet_id));
        if let Err(source) = write_synced(&path, &packet.packet) {
            failure = Some(ExportError::Write { path, source });
            break;
        }
        bytes += packet.packet.len() as u64;
        written.push(packet.packet_id.clone());
    }
    if !written.is_empty() {
        if let Ok(dir) = fs::File::open(folder) {
            let _ = dir.sync_all();
        }
        store.mark_exported(&written, &at)?;
        let detail = format!(
            "{} packets ({bytes} bytes) to {}",
            written.len(),
            folder.display()
        );
        let event = AuditEvent {
            actor,
            action: "outbox.exported",
            subject: "outbox",
            detail: &detail,
        };
        audit::record(station, &event, clock)?;
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(ExportReport {
            packets: written.len(),
            bytes,
        }),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("espk.part");
    let result = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}
