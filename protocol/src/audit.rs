//! Audit entries as the station keeps them and as packets carry them to the server.
//!
//! Each entry carries the hash of the one before, so changing, removing or reordering entries
//! breaks the chain:
//!
//! ```text
//! hash(entry) = hex SHA-256( "enrollment-station/audit-v1" ‖ prev_hash
//!                            ‖ lp(at) ‖ lp(actor) ‖ lp(action) ‖ lp(subject) ‖ lp(detail) )
//!               lp(x) = u32 big-endian byte length of x ‖ x;   prev_hash of entry 1 = 64 × "0"
//! ```
//!
//! Both the station (`station audit verify`) and the server (on the excerpts packets carry)
//! check entries with [`entry_hash`].

use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const ENTRY_CONTEXT: &[u8] = b"enrollment-station/audit-v1";

/// One audit entry. It never holds biometric or demographic content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Position in the station's log, from 1.
    pub seq: i64,
    /// RFC 3339.
    pub at: String,
    /// Username, or `station` for the station's own actions.
    pub actor: String,
    /// What was done, e.g. `login`, `enrollment.submitted`.
    pub action: String,
    /// What it was done to (an enrollment id), or empty.
    pub subject: String,
    /// A short description.
    pub detail: String,
    /// Hash of the entry before ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// Hash of this entry.
    pub hash: String,
}

impl AuditRecord {
    /// True when the entry's content still matches its hash.
    pub fn hash_matches(&self) -> bool {
        entry_hash(self) == self.hash
    }
}

/// The hash an entry must carry, from its content and `prev_hash` (its own `hash` is ignored).
pub fn entry_hash(record: &AuditRecord) -> String {
    let mut context = Context::new(&SHA256);
    context.update(ENTRY_CONTEXT);
    context.update(record.prev_hash.as_bytes());
    for field in [
        &record.at,
        &record.actor,
        &record.action,
        &record.subject,
        &record.detail,
    ] {
        let length = u32::try_from(field.len()).unwrap_or(u32::MAX);
        context.update(&length.to_be_bytes());
        context.update(field.as_bytes());
    }
    crate::hex(context.finish().as_ref())
}

/// Checks that `records` form one unbroken stretch of a chain: each entry matches its hash,
/// positions follow each other, and each links to the one before.
///
/// # Errors
/// A sentence naming the first problem.
pub fn check_excerpt(records: &[AuditRecord]) -> Result<(), String> {
    for (index, record) in records.iter().enumerate() {
        if !record.hash_matches() {
            return Err(format!(
                "audit entry #{} does not match its hash",
                record.seq
            ));
        }
        if let Some(before) = index.checked_sub(1).map(|i| &records[i]) {
            if record.seq != before.seq + 1 || record.prev_hash != before.hash {
                return Err(format!(
                    "audit entry #{} does not follow entry #{}",
                    record.seq, before.seq
                ));
            }
        }
    }
    Ok(())
}
