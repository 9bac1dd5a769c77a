//! The tamper-evident audit log: every officer action leaves an entry; none holds biometric or
//! demographic content.
//!
//! Each entry carries the hash of the one before, so changing, removing or reordering entries
//! breaks the chain. Every [`CHECKPOINT_EVERY`] entries the station signs the newest hash with its
//! Ed25519 key; a checkpoint pointing past the end of the log shows that entries were cut off.
//!
//! ```text
//! hash(entry)  = hex SHA-256( "enrollment-station/audit-v1" ‖ prev_hash
//!                             ‖ lp(at) ‖ lp(actor) ‖ lp(action) ‖ lp(subject) ‖ lp(detail) )
//!                lp(x) = u32 big-endian byte length of x ‖ x;   prev_hash of entry 1 = 64 × "0"
//! checkpoint   = Ed25519( "enrollment-station/audit-checkpoint-v1" ‖ u64 BE seq ‖ hash )
//! ```
//!
//! The position (`seq`) is deliberately outside the hash: a gap in positions means removed
//! entries, a broken link without a gap means moved or inserted ones, a hash that does not match
//! its own entry means an edited one. What it cannot show alone: entries removed from the end
//! after the last checkpoint, or checkpoints removed with them. That gap is closed outside the
//! station: every sync pass tells the server the log's head, and the server flags a later head
//! that is shorter or forks from it ([`protocol::audit::judge_head`]); the head the server
//! acknowledged is kept and [`verify`] holds the log against it too.

use std::fmt;

use protocol::keys::{StationPublicKey, StationSigningKey};

use crate::clock::{rfc3339, Clock};
use crate::station::Station;
use crate::store::audit::{AuditRow, CheckpointRow};
use crate::store::StoreError;

/// A checkpoint is signed every this many entries.
pub const CHECKPOINT_EVERY: i64 = 16;

use protocol::audit::{chain_findings, ChainFinding, GENESIS};
const CHECKPOINT_CONTEXT: &[u8] = b"enrollment-station/audit-checkpoint-v1";

/// An action to record.
#[derive(Debug, Clone, Copy)]
pub struct AuditEvent<'a> {
    /// Who did it: a username, or `station`.
    pub actor: &'a str,
    /// What: a dotted name such as `login.failed` or `enrollment.submitted`.
    pub action: &'a str,
    /// To what: an enrollment id, or empty.
    pub subject: &'a str,
    /// A short description without applicant data.
    pub detail: &'a str,
}

/// Appends `event` to the station's log.
///
/// # Errors
/// When the database fails.
pub fn record(
    station: &Station,
    event: &AuditEvent<'_>,
    clock: &dyn Clock,
) -> Result<(), StoreError> {
    let at = rfc3339(clock.now());
    let signer = station.signing_key();
    station
        .store()
        .append_audit(&|last| next_entry(signer, event, &at, last))?;
    Ok(())
}

/// The entry that follows `last` for `event`, with its checkpoint when one is due.
pub(crate) fn next_entry(
    signer: &StationSigningKey,
    event: &AuditEvent<'_>,
    at: &str,
    last: Option<&AuditRow>,
) -> (AuditRow, Option<CheckpointRow>) {
    let seq = last.map_or(1, |row| row.seq + 1);
    let prev_hash = last.map_or_else(|| GENESIS.to_owned(), |row| row.hash.clone());
    // Bound what a caller (e.g. a typed username) can put in the log.
    let clip = |text: &str| text.chars().take(200).collect::<String>();
    let mut row = AuditRow {
        seq,
        at: at.to_owned(),
        actor: clip(event.actor),
        action: clip(event.action),
        subject: clip(event.subject),
        detail: clip(event.detail),
        prev_hash,
        hash: String::new(),
    };
    row.hash = protocol::audit::entry_hash(&row);
    let checkpoint = (seq % CHECKPOINT_EVERY == 0).then(|| CheckpointRow {
        seq,
        hash: row.hash.clone(),
        signature: protocol::keys::encode_signature(
            &signer.sign(&checkpoint_message(seq, &row.hash)),
        ),
        at: at.to_owned(),
    });
    (row, checkpoint)
}

fn checkpoint_message(seq: i64, hash: &str) -> Vec<u8> {
    let mut message = CHECKPOINT_CONTEXT.to_vec();
    message.extend_from_slice(&u64::try_from(seq).unwrap_or(0).to_be_bytes());
    message.extend_from_slice(hash.as_bytes());
    message
}

/// One sign of tampering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditFinding {
    /// An entry's content no longer matches its hash.
    Edited {
        /// The entry.
        seq: i64,
    },
    /// Positions are missing: entries were deleted.
    Deleted {
        /// The last entry before the gap (0 when the log's start is missing).
        after: i64,
        /// How many positions are missing.
        missing: i64,
    },
    /// An entry does not follow the one before it: entries were reordered or inserted.
    BrokenLink {
        /// The entry.
        seq: i64,
    },
    /// A signed checkpoint vouches for an entry beyond the end: the log was cut short.
    Truncated {
        /// The checkpoint's entry.
        checkpoint: i64,
        /// The newest entry left.
        last: i64,
    },
    /// A checkpoint's hash differs from its entry's.
    CheckpointMismatch {
        /// The checkpoint's entry.
        seq: i64,
    },
    /// A checkpoint's signature is not the station's.
    BadCheckpointSignature {
        /// The checkpoint's entry.
        seq: i64,
    },
    /// The central server acknowledged an entry this log no longer has, or has otherwise: the
    /// log was cut (checkpoints and all) and perhaps written again after it was reported.
    NotAsReported {
        /// The entry the server acknowledged.
        seq: i64,
    },
}

impl fmt::Display for AuditFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Edited { seq } => write!(f, "entry #{seq} was altered after it was written"),
            Self::Deleted { after, missing } => {
                write!(f, "{missing} entr{} deleted after entry #{after}", if *missing == 1 { "y was" } else { "ies were" })
            }
            Self::BrokenLink { seq } => {
                write!(f, "entry #{seq} does not follow the entry before it (entries reordered or inserted)")
            }
            Self::Truncated { checkpoint, last } => write!(
                f,
                "entries after #{last} were removed: a signed checkpoint vouches for entry #{checkpoint}"
            ),
            Self::CheckpointMismatch { seq } => write!(f, "the signed checkpoint for entry #{seq} does not match the log"),
            Self::BadCheckpointSignature { seq } => {
                write!(f, "the checkpoint for entry #{seq} is not signed by this station")
            }
            Self::NotAsReported { seq } => write!(
                f,
                "entry #{seq} is not the one the central server acknowledged: the log was cut and written again after it was reported"
            ),
        }
    }
}

/// The result of checking the whole log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries read.
    pub entries: usize,
    /// Checkpoints read.
    pub checkpoints: usize,
    /// Every sign of tampering found; empty for an intact log.
    pub findings: Vec<AuditFinding>,
}

/// Checks every entry and checkpoint of the station's log.
///
/// # Errors
/// When the database cannot be read.
pub fn verify(station: &Station) -> Result<AuditReport, StoreError> {
    let entries = station.store().audit_entries()?;
    let checkpoints = station.store().audit_checkpoints()?;
    let mut report = check(&entries, &checkpoints, &station.signing_key().public_key());
    // The head the server acknowledged lives outside the station: the log must still hold it.
    if let Some(known) = station.store().server_audit_head()? {
        let held = entries.iter().find(|entry| entry.seq == known.seq);
        if held.is_none_or(|entry| entry.hash != known.hash) {
            report
                .findings
                .push(AuditFinding::NotAsReported { seq: known.seq });
        }
    }
    Ok(report)
}

fn check(
    entries: &[AuditRow],
    checkpoints: &[CheckpointRow],
    key: &StationPublicKey,
) -> AuditReport {
    let mut findings: Vec<AuditFinding> = chain_findings(entries, true)
        .into_iter()
        .map(|finding| match finding {
            ChainFinding::Missing { after, count } => AuditFinding::Deleted {
                after,
                missing: count,
            },
            ChainFinding::BrokenLink { seq } => AuditFinding::BrokenLink { seq },
            ChainFinding::Edited { seq } => AuditFinding::Edited { seq },
        })
        .collect();
    let last = entries.last().map_or(0, |entry| entry.seq);
    for checkpoint in checkpoints {
        let signed =
            protocol::keys::decode_signature(&checkpoint.signature).is_some_and(|signature| {
                key.verify(
                    &checkpoint_message(checkpoint.seq, &checkpoint.hash),
                    &signature,
                )
            });
        if !signed {
            findings.push(AuditFinding::BadCheckpointSignature {
                seq: checkpoint.seq,
            });
        } else if checkpoint.seq > last {
            findings.push(AuditFinding::Truncated {
                checkpoint: checkpoint.seq,
                last,
            });
        } else if let Some(entry) = entries.iter().find(|entry| entry.seq == checkpoint.seq) {
            if entry.hash != checkpoint.hash {
                findings.push(AuditFinding::CheckpointMismatch {
                    seq: checkpoint.seq,
                });
            }
        }
    }
    AuditReport {
        entries: entries.len(),
        checkpoints: checkpoints.len(),
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::random::SystemRandom;

    fn log(n: i64, key: &StationSigningKey) -> (Vec<AuditRow>, Vec<CheckpointRow>) {
        let (mut rows, mut checkpoints) = (Vec::new(), Vec::new());
        for i in 1..=n {
            let detail = format!("action {i}");
            let event = AuditEvent {
                actor: "budi",
                action: "test",
                subject: "",
                detail: &detail,
            };
            let (row, checkpoint) = next_entry(key, &event, "2026-11-23T08:00:00Z", rows.last());
            rows.push(row);
            checkpoints.extend(checkpoint);
        }
        (rows, checkpoints)
    }

    #[test]
    fn an_untouched_log_has_no_findings_and_is_checkpointed() {
        let key = StationSigningKey::generate(&SystemRandom).expect("key");
        let (rows, checkpoints) = log(40, &key);
        assert_eq!(
            checkpoints.iter().map(|c| c.seq).collect::<Vec<_>>(),
            [16, 32]
        );
        assert_eq!(check(&rows, &checkpoints, &key.public_key()).findings, []);
    }

    #[test]
    fn each_kind_of_tampering_has_its_own_finding() {
        let key = StationSigningKey::generate(&SystemRandom).expect("key");
        let (rows, checkpoints) = log(20, &key);
        let public = key.public_key();

        let mut edited = rows.clone();
        edited[4].detail = "nothing happened".into();
        assert_eq!(
            check(&edited, &checkpoints, &public).findings,
            [AuditFinding::Edited { seq: 5 }]
        );

        let mut deleted = rows.clone();
        deleted.remove(6);
        assert_eq!(
            check(&deleted, &checkpoints, &public).findings,
            [AuditFinding::Deleted {
                after: 6,
                missing: 1
            }]
        );

        let mut renumbered = rows.clone();
        renumbered.remove(6);
        for row in &mut renumbered[6..] {
            row.seq -= 1;
        }
        let findings = check(&renumbered, &[], &public).findings;
        assert_eq!(
            findings,
            [AuditFinding::BrokenLink { seq: 7 }],
            "hiding a gap still breaks the chain"
        );

        let truncated = rows[..12].to_vec();
        assert_eq!(
            check(&truncated, &checkpoints, &public).findings,
            [AuditFinding::Truncated {
                checkpoint: 16,
                last: 12
            }]
        );

        let stranger = StationSigningKey::generate(&SystemRandom).expect("key");
        assert_eq!(
            check(&rows, &checkpoints, &stranger.public_key()).findings,
            [AuditFinding::BadCheckpointSignature { seq: 16 }]
        );
    }
}
