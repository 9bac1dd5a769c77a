use std::time::Duration;

use protocol::api::{ApiError, PacketState, PacketStatus, PacketVerdict, Receipt, SignedReceipt};
use protocol::keys::StationSigningKey;
use reqwest::StatusCode;
use uuid::Uuid;

use super::client::classify;
use super::machine::*;
use super::SyncConfig;

fn config() -> SyncConfig {
    SyncConfig {
        min_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(10),
        idle_interval: Duration::from_secs(30),
        chunk_bytes: 100,
        ..SyncConfig::default()
    }
}

fn server_key() -> StationSigningKey {
    StationSigningKey::from_seed(&[9; 32]).expect("key")
}

fn packet(size: u64) -> PacketInfo {
    PacketInfo {
        id: Uuid::from_u128(7),
        sha256: "ab".repeat(32),
        size,
        needs_approval: false,
    }
}

fn receiving(received: u64) -> PacketStatus {
    PacketStatus {
        packet_id: Uuid::from_u128(7),
        state: PacketState::Receiving,
        received,
        receipt: None,
        stage: None,
    }
}

fn judged(id: Uuid, sha256: &str, key: &StationSigningKey) -> PacketStatus {
    let receipt = Receipt {
        packet_id: id,
        station_id: Uuid::nil(),
        sha256: sha256.into(),
        verdict: PacketVerdict::Accepted,
        reason: None,
        judged_at: "2026-11-23T08:00:00Z".into(),
    };
    PacketStatus {
        packet_id: id,
        state: PacketState::Accepted,
        received: 0,
        receipt: Some(SignedReceipt::sign(&receipt, key)),
        stage: None,
    }
}

fn queue(next: Option<PacketInfo>, exported: Vec<Uuid>) -> Event {
    Event::Queue {
        exported,
        next,
        backlog_packets: 1,
        backlog_bytes: 250,
    }
}

fn without_publish(actions: Vec<Action>) -> Vec<Action> {
    actions
        .into_iter()
        .filter(|a| !matches!(a, Action::Publish(_)))
        .collect()
}

fn machine() -> Machine {
    Machine::new(config(), server_key().public_key())
}

fn no_news() -> Event {
    Event::Statuses {
        statuses: Vec::new(),
        audit_conflict: None,
    }
}

fn uploading(size: u64) -> Machine {
    let mut m = machine();
    assert_eq!(m.handle(Event::Wake, 1.0), vec![Action::LoadQueue]);
    let actions = m.handle(queue(Some(packet(size)), vec![]), 1.0);
    assert_eq!(
        actions,
        vec![Action::QueryStatuses(Vec::new())],
        "every pass opens with a status query: it carries the audit head"
    );
    assert_eq!(m.handle(no_news(), 1.0), vec![Action::LoadQueue]);
    let actions = without_publish(m.handle(queue(Some(packet(size)), vec![]), 1.0));
    assert_eq!(actions, vec![Action::Announce(packet(size))]);
    m
}

#[test]
fn after_a_cut_only_the_bytes_the_server_lacks_are_sent_in_chunks() {
    let mut m = uploading(250);
    let actions = without_publish(m.handle(Event::Server(receiving(120)), 1.0));
    assert_eq!(
        actions,
        vec![Action::SendChunk {
            packet: packet(250).id,
            offset: 120,
            len: 100
        }],
        "the upload resumes at the server's offset, one chunk at a time"
    );
    let actions = without_publish(m.handle(Event::Server(receiving(220)), 1.0));
    assert_eq!(
        actions,
        vec![Action::SendChunk {
            packet: packet(250).id,
            offset: 220,
            len: 30
        }]
    );
    let actions = m.handle(Event::Server(receiving(250)), 1.0);
    assert_eq!(actions, vec![Action::Finalize(packet(250).id)]);
    assert_eq!(m.status().bytes_sent, 130);
}

#[test]
fn a_packet_the_server_already_judged_is_recorded_without_sending_a_byte() {
    let mut m = uploading(250);
    let key = server_key();
    let actions = without_publish(m.handle(
        Event::Server(judged(packet(250).id, &packet(250).sha256, &key)),
        1.0,
    ));
    assert!(matches!(
        &actions[..],
        [
            Action::RecordVerdict {
                verdict: PacketVerdict::Accepted,
                ..
            },
            Action::LoadQueue
        ]
    ));
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::SendChunk { .. })));
}

#[test]
fn a_receipt_not_signed_by_the_server_or_for_other_bytes_is_not_believed() {
    let forger = StationSigningKey::from_seed(&[1; 32]).expect("key");
    let mut m = uploading(250);
    let actions = m.handle(
        Event::Server(judged(packet(250).id, &packet(250).sha256, &forger)),
        1.0,
    );
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::RecordVerdict { .. })));
    assert!(actions.iter().any(|a| matches!(a, Action::Sleep(_))));
    assert_eq!(
        m.status().problem.as_ref().map(|p| p.kind),
        Some(ProblemKind::ServerError)
    );

    let mut m = uploading(250);
    let actions = m.handle(
        Event::Server(judged(packet(250).id, &"cd".repeat(32), &server_key())),
        1.0,
    );
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::RecordVerdict { .. })));
}

fn refusal(code: &str, receipt: Option<SignedReceipt>) -> Failure {
    classify(
        StatusCode::FORBIDDEN,
        ApiError {
            code: code.into(),
            message: "altered".into(),
            receipt,
        },
    )
}

fn signed_refusal(sha256: &str, key: &StationSigningKey) -> SignedReceipt {
    let receipt = Receipt {
        packet_id: packet(250).id,
        station_id: Uuid::nil(),
        sha256: sha256.into(),
        verdict: PacketVerdict::Rejected,
        reason: Some("bad_signature: altered".into()),
        judged_at: "2026-11-23T08:00:00Z".into(),
    };
    SignedReceipt::sign(&receipt, key)
}

#[test]
fn a_refusal_with_the_servers_signed_receipt_marks_the_packet_rejected_and_the_queue_goes_on() {
    let mut m = uploading(250);
    let receipt = signed_refusal(&packet(250).sha256, &server_key());
    let actions =
        without_publish(m.handle(Event::Failed(refusal("bad_signature", Some(receipt))), 1.0));
    assert!(matches!(
        &actions[..],
        [
            Action::RecordVerdict { verdict: PacketVerdict::Rejected, reason: Some(reason), .. },
            Action::LoadQueue
        ] if reason.contains("bad_signature")
    ));
    assert_eq!(
        m.status().problem.as_ref().map(|p| p.kind),
        Some(ProblemKind::PacketRejected),
        "the officer is told a packet was refused"
    );
}

#[test]
fn a_refusal_code_without_a_valid_receipt_leaves_the_packet_pending() {
    let forger = StationSigningKey::from_seed(&[1; 32]).expect("key");
    let forged = [
        None,
        Some(signed_refusal(&packet(250).sha256, &forger)),
        Some(signed_refusal(&"cd".repeat(32), &server_key())),
    ];
    for code in [
        "malformed_packet",
        "wrong_station_key",
        "bad_signature",
        "payload_tampered",
        "wrong_recipient",
        "packet_id_reused",
        "packet_id_mismatch",
        "packet_too_large",
    ] {
        for receipt in forged.clone() {
            let mut m = uploading(250);
            let actions = m.handle(Event::Failed(refusal(code, receipt.clone())), 1.0);
            assert!(
                !actions
                    .iter()
                    .any(|a| matches!(a, Action::RecordVerdict { .. })),
                "{code} with {receipt:?} must not end the packet: anyone on the link can say it"
            );
            assert!(actions.iter().any(|a| matches!(a, Action::Sleep(_))));
            assert_eq!(
                m.status().problem.as_ref().map(|p| p.kind),
                Some(ProblemKind::ServerError)
            );
        }
    }
}

#[test]
fn a_dead_link_waits_with_growing_back_off_and_tells_the_officer() {
    let mut m = uploading(250);
    let offline = Failure::Problem(Problem::new(ProblemKind::Offline, "connection refused"));
    let actions = m.handle(Event::Failed(offline.clone()), 1.0);
    assert!(matches!(actions[0], Action::RecordFailure { .. }));
    assert_eq!(actions.last(), Some(&Action::Sleep(Duration::from_secs(1))));
    assert_eq!(m.status().phase, Phase::Retrying);
    assert_eq!(
        m.status().message,
        Some(ProblemKind::Offline.officer_message())
    );
    assert_eq!(m.handle(Event::Wake, 1.0), vec![Action::LoadQueue]);
    m.handle(queue(Some(packet(250)), vec![]), 1.0);
    // The pass's opening status query fails on the dead link too.
    let actions = m.handle(Event::Failed(offline), 1.0);
    assert_eq!(actions.last(), Some(&Action::Sleep(Duration::from_secs(2))));
    // The link heals: the pass ends with the queue empty and the problem gone.
    m.handle(Event::Wake, 1.0);
    m.handle(queue(None, vec![]), 1.0);
    m.handle(no_news(), 1.0);
    let actions = m.handle(queue(None, vec![]), 1.0);
    assert_eq!(
        actions.last(),
        Some(&Action::Sleep(Duration::from_secs(30)))
    );
    assert_eq!(m.status().problem, None);
    assert_eq!(m.status().phase, Phase::Idle);
}

#[test]
fn pausing_drops_answers_in_flight_and_resuming_starts_a_new_pass() {
    let mut m = uploading(250);
    let actions = m.handle(Event::Pause, 1.0);
    assert!(matches!(&actions[..], [Action::Publish(s)] if s.phase == Phase::Paused));
    assert!(m.handle(Event::Server(receiving(100)), 1.0).is_empty());
    assert!(
        m.handle(Event::Wake, 1.0).is_empty(),
        "a paused loop ignores timers"
    );
    assert_eq!(m.handle(Event::Resume, 1.0), vec![Action::LoadQueue]);
}

#[test]
fn exported_packets_are_asked_about_once_per_pass_and_their_verdicts_recorded() {
    let mut m = machine();
    m.handle(Event::Wake, 1.0);
    let exported = vec![Uuid::from_u128(1), Uuid::from_u128(2)];
    let actions = m.handle(queue(None, exported.clone()), 1.0);
    assert_eq!(actions, vec![Action::QueryStatuses(exported.clone())]);
    let unknown = PacketStatus {
        packet_id: exported[1],
        state: PacketState::Unknown,
        received: 0,
        receipt: None,
        stage: None,
    };
    let actions = m.handle(
        Event::Statuses {
            statuses: vec![
                judged(exported[0], &"ab".repeat(32), &server_key()),
                unknown,
            ],
            audit_conflict: None,
        },
        1.0,
    );
    assert!(matches!(
        &actions[..],
        [Action::RecordVerdict { packet, .. }, Action::LoadQueue] if *packet == exported[0]
    ));
    let actions = m.handle(queue(None, vec![exported[1]]), 1.0);
    assert!(
        matches!(actions.last(), Some(Action::Sleep(_))),
        "asked once per pass, not in a loop"
    );
}

#[test]
fn a_stale_offset_is_asked_again_and_a_corrupt_upload_starts_over() {
    let mut m = uploading(250);
    assert_eq!(
        m.handle(Event::Failed(Failure::OffsetMismatch), 1.0),
        vec![Action::QueryOffset(packet(250).id)]
    );
    assert_eq!(
        m.handle(Event::Failed(Failure::NotAnnounced), 1.0),
        vec![Action::Announce(packet(250))]
    );
    let actions = m.handle(Event::Failed(Failure::Corrupt), 1.0);
    assert!(actions.iter().any(|a| matches!(a, Action::Sleep(_))));
}

#[test]
fn every_class_of_trouble_has_its_own_message_for_the_officer() {
    let kinds = [
        ProblemKind::Offline,
        ProblemKind::DnsOrTls,
        ProblemKind::ClockSkew,
        ProblemKind::NotRegistered,
        ProblemKind::Revoked,
        ProblemKind::PacketRejected,
        ProblemKind::ApprovalRequired,
        ProblemKind::AuditConflict,
        ProblemKind::ServerError,
        ProblemKind::StationStorage,
    ];
    let messages: std::collections::BTreeSet<_> =
        kinds.iter().map(|k| k.officer_message().en).collect();
    assert_eq!(messages.len(), kinds.len());
    let class = |code: &str, status| match classify(status, ApiError::new(code, "m")) {
        Failure::Problem(p) => Some(p.kind),
        _ => None,
    };
    assert_eq!(
        class("clock_skew", StatusCode::UNAUTHORIZED),
        Some(ProblemKind::ClockSkew)
    );
    assert_eq!(
        class("unknown_station", StatusCode::UNAUTHORIZED),
        Some(ProblemKind::NotRegistered)
    );
    assert_eq!(
        class("station_revoked", StatusCode::FORBIDDEN),
        Some(ProblemKind::Revoked)
    );
    assert_eq!(
        class("payload_tampered", StatusCode::FORBIDDEN),
        Some(ProblemKind::ServerError),
        "an unsigned refusal is a server problem, not a verdict"
    );
    assert_eq!(
        class("internal_error", StatusCode::INTERNAL_SERVER_ERROR),
        Some(ProblemKind::ServerError)
    );
    assert_eq!(class("offset_mismatch", StatusCode::CONFLICT), None);
}

#[test]
fn backoff_doubles_up_to_the_cap_and_jitter_only_shortens_it() {
    let config = config();
    let full: Vec<_> = (1..=6)
        .map(|n| backoff(&config, n, 1.0).as_secs())
        .collect();
    assert_eq!(full, [1, 2, 4, 8, 10, 10]);
    assert_eq!(backoff(&config, 3, 0.5), Duration::from_secs(2));
    assert_eq!(backoff(&config, 1000, 1.0), Duration::from_secs(10));
}

#[test]
fn a_server_asking_for_approval_sends_a_flagged_packet_back_to_the_supervisors_and_no_other() {
    let approval = || {
        classify(
            StatusCode::FORBIDDEN,
            ApiError::new("approval_required", "no approval"),
        )
    };
    let mut m = machine();
    m.handle(Event::Wake, 1.0);
    let flagged = PacketInfo {
        needs_approval: true,
        ..packet(250)
    };
    m.handle(queue(Some(flagged.clone()), vec![]), 1.0);
    m.handle(no_news(), 1.0);
    m.handle(queue(Some(flagged.clone()), vec![]), 1.0);
    let actions = without_publish(m.handle(Event::Failed(approval()), 1.0));
    assert!(matches!(
        &actions[..],
        [Action::ReopenApproval { packet, .. }, Action::LoadQueue] if *packet == flagged.id
    ));
    assert_eq!(
        m.status().problem.as_ref().map(|p| p.kind),
        Some(ProblemKind::ApprovalRequired)
    );

    let mut m = uploading(250);
    let actions = m.handle(Event::Failed(approval()), 1.0);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::ReopenApproval { .. })),
        "a packet its own manifest does not flag is not sent back on the server's word"
    );
    assert!(actions.iter().any(|a| matches!(a, Action::Sleep(_))));
}

#[test]
fn every_pass_tells_the_server_the_audit_head_and_a_conflict_reaches_the_officer() {
    let mut m = machine();
    m.handle(Event::Wake, 1.0);
    assert_eq!(
        m.handle(queue(None, vec![]), 1.0),
        vec![Action::QueryStatuses(Vec::new())],
        "even with nothing to send, the pass contacts the server"
    );
    let conflict = Event::Statuses {
        statuses: Vec::new(),
        audit_conflict: Some("entry #20 differs".into()),
    };
    assert_eq!(m.handle(conflict, 1.0), vec![Action::LoadQueue]);
    let actions = m.handle(queue(None, vec![]), 1.0);
    assert!(
        matches!(actions.last(), Some(Action::Sleep(_))),
        "sending goes on"
    );
    assert_eq!(
        m.status().problem.as_ref().map(|p| p.kind),
        Some(ProblemKind::AuditConflict)
    );
}
