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

/// The newest entry of a log, as a station claims it and the server remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    /// Its position.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
}

/// What a station says of its log at every contact (the status query that opens each sync
/// pass): its head, and its entry at the position the server last acknowledged (the anchor),
/// so the server can tell a log that grew from one that was cut and written again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditClaim {
    /// The newest entry.
    pub head: AuditHead,
    /// The entry at the position of the head the server last acknowledged, when the station
    /// knows that position (its hash empty when the log no longer has that position).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<AuditHead>,
}

/// What the server makes of a claim against the head it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadJudgement {
    /// The log is the one the server knew, or grew from it: remember the claimed head.
    Extends,
    /// Nothing to compare yet (a first contact, or the station does not know the server's
    /// position): remember the head only when the server held none.
    Unanchored,
    /// The log is shorter than, or different from, what the server saw before.
    Conflict(String),
}

/// Judges `claim` against the head the server `held`. Pure, so both the server and the tests
/// use the same rule.
pub fn judge_head(held: Option<&AuditHead>, claim: &AuditClaim) -> HeadJudgement {
    let Some(held) = held else {
        return HeadJudgement::Extends;
    };
    let head = &claim.head;
    if head == held {
        return HeadJudgement::Extends;
    }
    if head.seq < held.seq {
        return HeadJudgement::Conflict(format!(
            "the station's log ends at entry #{} but entry #{} was reported before: entries were cut from its end",
            head.seq, held.seq
        ));
    }
    if head.seq == held.seq {
        return HeadJudgement::Conflict(format!(
            "entry #{} differs from the one reported before: the log was cut and written again",
            head.seq
        ));
    }
    match &claim.anchor {
        Some(anchor) if anchor.seq == held.seq && anchor.hash == held.hash => {
            HeadJudgement::Extends
        }
        Some(anchor) if anchor.seq == held.seq => HeadJudgement::Conflict(format!(
            "entry #{} is no longer the one reported before: the log was cut and written again",
            held.seq
        )),
        _ => HeadJudgement::Unanchored,
    }
}

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

/// One break in a stretch of the chain, as [`chain_findings`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainFinding {
    /// Positions are missing before an entry.
    Missing {
        /// The last position before the gap (0 when the start of the log is missing).
        after: i64,
        /// How many positions are missing.
        count: i64,
    },
    /// An entry does not carry the hash of the one before it (reordered or inserted entries).
    BrokenLink {
        /// The entry.
        seq: i64,
    },
    /// An entry's content no longer matches its own hash.
    Edited {
        /// The entry.
        seq: i64,
    },
}

/// Walks `records` (in position order) and lists every break: missing positions, entries that
/// do not link to the one before, entries that do not match their hash. With `from_genesis` the
/// records must start at entry #1 with [`GENESIS`]; without it they may start anywhere (an
/// excerpt), and only the links between them are checked. The station's `audit verify`, the
/// server's intake and its `audit` command all judge logs with this one walk.
pub fn chain_findings(records: &[AuditRecord], from_genesis: bool) -> Vec<ChainFinding> {
    let mut findings = Vec::new();
    let mut expected: Option<(i64, &str)> = from_genesis.then_some((1, GENESIS));
    for record in records {
        if let Some((seq, previous_hash)) = expected {
            if record.seq != seq {
                findings.push(ChainFinding::Missing {
                    after: seq.saturating_sub(1),
                    count: record.seq.saturating_sub(seq),
                });
            } else if record.prev_hash != previous_hash {
                findings.push(ChainFinding::BrokenLink { seq: record.seq });
            }
        }
        if !record.hash_matches() {
            findings.push(ChainFinding::Edited { seq: record.seq });
        }
        expected = Some((record.seq.saturating_add(1), &record.hash));
    }
    findings
}

/// Checks that `records` form one unbroken stretch of a chain: each entry matches its hash,
/// positions follow each other, and each links to the one before.
///
/// # Errors
/// A sentence naming the first problem.
pub fn check_excerpt(records: &[AuditRecord]) -> Result<(), String> {
    match chain_findings(records, false).first() {
        None => Ok(()),
        Some(ChainFinding::Edited { seq }) => {
            Err(format!("audit entry #{seq} does not match its hash"))
        }
        Some(ChainFinding::Missing { after, count }) => Err(format!(
            "audit entry #{} does not follow entry #{after}",
            after + count + 1
        )),
        Some(ChainFinding::BrokenLink { seq }) => Err(format!(
            "audit entry #{seq} does not follow entry #{}",
            seq - 1
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(from: i64, n: i64) -> Vec<AuditRecord> {
        let mut records: Vec<AuditRecord> = Vec::new();
        let mut prev_hash = GENESIS.to_owned();
        for seq in 1..from + n {
            let mut record = AuditRecord {
                seq,
                at: "2026-11-23T08:00:00Z".into(),
                actor: "budi".into(),
                action: "login".into(),
                subject: String::new(),
                detail: format!("entry {seq}"),
                prev_hash: prev_hash.clone(),
                hash: String::new(),
            };
            record.hash = entry_hash(&record);
            prev_hash.clone_from(&record.hash);
            records.push(record);
        }
        records.split_off(usize::try_from(from - 1).expect("index"))
    }

    #[test]
    fn an_excerpt_may_start_anywhere_but_a_whole_log_must_start_at_entry_one() {
        let excerpt = chain(5, 3);
        assert_eq!(check_excerpt(&excerpt), Ok(()));
        assert_eq!(
            chain_findings(&excerpt, true),
            [ChainFinding::Missing { after: 0, count: 4 }]
        );
        assert_eq!(chain_findings(&chain(1, 3), true), []);
    }

    #[test]
    fn gaps_broken_links_and_edits_are_each_named() {
        let mut gap = chain(1, 5);
        gap.remove(2);
        assert_eq!(
            chain_findings(&gap, true),
            [ChainFinding::Missing { after: 2, count: 1 }]
        );
        assert_eq!(
            check_excerpt(&gap),
            Err("audit entry #4 does not follow entry #2".into())
        );

        // An entry written in place of #3, hashed correctly but not linked to #2.
        let mut inserted = chain(1, 5);
        inserted[2].prev_hash = GENESIS.into();
        inserted[2].hash = entry_hash(&inserted[2]);
        let findings = chain_findings(&inserted, true);
        assert_eq!(findings[0], ChainFinding::BrokenLink { seq: 3 });

        let mut edited = chain(1, 5);
        edited[3].detail = "nothing happened".into();
        assert_eq!(
            chain_findings(&edited, true),
            [ChainFinding::Edited { seq: 4 }]
        );
        assert_eq!(
            check_excerpt(&edited),
            Err("audit entry #4 does not match its hash".into())
        );
    }
}

#[cfg(test)]
mod head_tests {
    use super::*;

    fn head(seq: i64, hash: &str) -> AuditHead {
        AuditHead {
            seq,
            hash: hash.into(),
        }
    }

    fn claim(head: AuditHead, anchor: Option<AuditHead>) -> AuditClaim {
        AuditClaim { head, anchor }
    }

    #[test]
    fn a_position_at_the_end_of_the_integers_is_a_finding_not_a_panic() {
        let record = AuditRecord {
            seq: i64::MAX,
            at: "2026-12-03T08:00:00Z".into(),
            actor: "x".into(),
            action: "y".into(),
            subject: String::new(),
            detail: String::new(),
            prev_hash: GENESIS.into(),
            hash: String::new(),
        };
        let findings = chain_findings(&[record.clone(), record], true);
        assert!(findings.contains(&ChainFinding::Missing {
            after: 0,
            count: i64::MAX - 1
        }));
    }

    #[test]
    fn a_log_that_grew_from_the_known_head_extends_it_and_a_cut_one_conflicts() {
        let held = head(20, "a");
        assert_eq!(
            judge_head(None, &claim(head(3, "x"), None)),
            HeadJudgement::Extends
        );
        assert_eq!(
            judge_head(Some(&held), &claim(head(20, "a"), None)),
            HeadJudgement::Extends
        );
        assert_eq!(
            judge_head(Some(&held), &claim(head(25, "b"), Some(head(20, "a")))),
            HeadJudgement::Extends
        );
        for (case, cut) in [
            ("shorter", claim(head(12, "c"), Some(head(20, "")))),
            (
                "same length, other entry",
                claim(head(20, "c"), Some(head(20, "c"))),
            ),
            (
                "longer, other entry at the known position",
                claim(head(30, "d"), Some(head(20, "e"))),
            ),
            (
                "longer, known position gone",
                claim(head(30, "d"), Some(head(20, ""))),
            ),
        ] {
            assert!(
                matches!(judge_head(Some(&held), &cut), HeadJudgement::Conflict(_)),
                "{case}"
            );
        }
        assert_eq!(
            judge_head(Some(&held), &claim(head(30, "d"), None)),
            HeadJudgement::Unanchored,
            "a station that does not know the server's position is asked again, not accused"
        );
    }
}
