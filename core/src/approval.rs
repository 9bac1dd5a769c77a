//! Supervisor approval: an enrollment with a declared exception (or a capture kept despite
//! failing quality checks) is sealed as usual but held in the outbox until a supervisor,
//! logged in with their own password, approves it. A refused one never leaves the station.
//!
//! The decision and its audit entry are written in one transaction; the supervisor's comment is
//! sealed under the station's data key (it may name the applicant). The audit entry travels to
//! the server in the audit excerpt of the next packet sealed. An approval is also signed with
//! the station's key ([`protocol::approval`]) and sent with the packet: the server refuses a
//! flagged packet without one, so a row edited in the database approves nothing. Nobody
//! approves an enrollment they captured.

use formats::FingerPosition;
use protocol::approval::{Approval, SignedApproval};
use protocol::content::BiometricBytes;
use protocol::packet::{sha256_hex, SealedPacket};

use crate::audit::{self, AuditEvent};
use crate::clock::{rfc3339, Clock};
use crate::officers::{Officer, Permission};
use crate::station::Station;
use crate::store::StoreError;
use crate::vault::VaultError;

/// Why an approval step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalError {
    /// Only supervisors approve.
    #[error("a {0} account cannot approve enrollments; ask a supervisor")]
    NotPermitted(&'static str),
    /// The enrollment is not waiting for approval (unknown, already decided, or not flagged).
    #[error("enrollment {0} is not waiting for approval")]
    NotAwaiting(String),
    /// A refusal needs a reason.
    #[error("say why the enrollment is refused")]
    MissingComment,
    /// The supervisor captured this enrollment.
    #[error("you captured this enrollment yourself: another supervisor must decide on it")]
    OwnEnrollment,
    /// The database failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The comment could not be sealed.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// A supervisor's decision.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The packet may be sent.
    Approve,
    /// The packet stays on the station and is never sent.
    Refuse,
}

/// An enrollment waiting for a supervisor, with why it was flagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flagged {
    /// Enrollment (packet) id.
    pub id: String,
    /// When it was sealed (RFC 3339).
    pub created_at: String,
    /// The enrolling officer.
    pub officer: String,
    /// Fingers declared missing, with the officer's reason.
    pub exceptions: Vec<(FingerPosition, String)>,
    /// Captures kept although they failed the quality checks.
    pub force_captured: usize,
    /// The photo of the hand with the declared finger(s), JPEG, when one was taken.
    pub exception_photo: Option<BiometricBytes>,
}

/// The enrollments waiting for approval, oldest first. Reads only the packets' clear-text
/// manifests.
///
/// # Errors
/// [`ApprovalError::NotPermitted`] for anyone but a supervisor; database errors.
pub fn awaiting(station: &Station, supervisor: &Officer) -> Result<Vec<Flagged>, ApprovalError> {
    if !supervisor.role.may(Permission::Approve) {
        return Err(ApprovalError::NotPermitted(supervisor.role.as_str()));
    }
    let store = station.store();
    let mut flagged = Vec::new();
    for (id, created_at) in store.awaiting_approval()? {
        let packet = store.outbox_packet(&id)?;
        let manifest = SealedPacket::parse(&packet)
            .map_err(|e| StoreError::Corrupt(format!("outbox packet {id}: {e}")))?
            .manifest()
            .clone();
        let exception_photo = store
            .exception_photo(&id)?
            .map(|sealed| {
                station
                    .data_key()
                    .open(&crate::enrollment::exception_photo_context(&id), &sealed)
            })
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("exception photo of {id}: {e}")))?
            .map(|jpeg| BiometricBytes::new(jpeg.to_vec()));
        flagged.push(Flagged {
            exception_photo,
            id,
            created_at,
            officer: manifest.officer_id,
            exceptions: manifest
                .captures
                .iter()
                .filter_map(|c| Some((c.finger?, c.exception.clone()?)))
                .collect(),
            force_captured: manifest
                .captures
                .iter()
                .filter(|c| c.force_captured)
                .count(),
        });
    }
    Ok(flagged)
}

/// Records `supervisor`'s `decision` on enrollment `id`.
///
/// # Errors
/// See [`ApprovalError`]; nothing is written on error.
pub fn decide(
    station: &Station,
    supervisor: &Officer,
    id: &str,
    decision: Decision,
    comment: &str,
    clock: &dyn Clock,
) -> Result<(), ApprovalError> {
    if !supervisor.role.may(Permission::Approve) {
        return Err(ApprovalError::NotPermitted(supervisor.role.as_str()));
    }
    let comment = comment.trim();
    if decision == Decision::Refuse && comment.is_empty() {
        return Err(ApprovalError::MissingComment);
    }
    let store = station.store();
    if !store
        .awaiting_approval()?
        .iter()
        .any(|(waiting, _)| waiting == id)
    {
        return Err(ApprovalError::NotAwaiting(id.to_owned()));
    }
    let packet = store.outbox_packet(id)?;
    let manifest = SealedPacket::parse(&packet)
        .map_err(|e| StoreError::Corrupt(format!("outbox packet {id}: {e}")))?
        .manifest()
        .clone();
    if manifest
        .officer_id
        .eq_ignore_ascii_case(&supervisor.username)
    {
        return Err(ApprovalError::OwnEnrollment);
    }
    let sealed_note = station
        .data_key()
        .seal(&format!("approval:{id}"), comment.as_bytes())?;
    let at = rfc3339(clock.now());
    let proof = (decision == Decision::Approve).then(|| {
        let approval = Approval {
            packet_id: manifest.packet_id,
            packet_sha256: sha256_hex(&packet),
            capturing_officer: manifest.officer_id.clone(),
            supervisor: supervisor.username.clone(),
            decided_at: at.clone(),
            comment_sha256: sha256_hex(comment.as_bytes()),
        };
        serde_json::to_string(&SignedApproval::sign(&approval, station.signing_key()))
            .unwrap_or_default()
    });
    let (action, detail) = match decision {
        Decision::Approve => ("enrollment.approved", "approved for upload by a supervisor"),
        Decision::Refuse => (
            "enrollment.refused",
            "refused by a supervisor; not uploaded",
        ),
    };
    let event = AuditEvent {
        actor: &supervisor.username,
        action,
        subject: id,
        detail,
    };
    let signer = station.signing_key();
    let decided = station.store().decide_approval(
        id,
        decision == Decision::Approve,
        &supervisor.username,
        &sealed_note,
        proof.as_deref(),
        &at,
        &|last| audit::next_entry(signer, &event, &at, last),
    )?;
    if decided {
        Ok(())
    } else {
        Err(ApprovalError::NotAwaiting(id.to_owned()))
    }
}

/// The supervisor's comment on enrollment `id`, decrypted.
pub(crate) fn open_note(station: &Station, id: &str, sealed: &[u8]) -> Option<String> {
    station
        .data_key()
        .open(&format!("approval:{id}"), sealed)
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::enrollment::{self, EnrollmentDraft};
    use crate::officers::{self, Password, Role};
    use hardware::simulated::{SimulatedCamera, SimulatedScanner};

    fn account(station: &Station, username: &str, role: Role) -> Officer {
        let password = Password::new("correct horse battery".into());
        officers::add_officer(
            station.store(),
            username,
            username,
            role,
            &password,
            &SystemClock,
        )
        .expect("account");
        officers::login(station.store(), username, &password, &SystemClock).expect("login")
    }

    /// Submits an enrollment whose right little finger is declared missing.
    fn submit_with_exception(station: &Station, officer: &Officer) -> String {
        let mut draft = EnrollmentDraft::new();
        draft.capture_face(&SimulatedCamera::new(3)).expect("face");
        let scanner = SimulatedScanner::new(3);
        for finger in FingerPosition::ALL {
            draft.capture_finger(&scanner, finger).expect("finger");
        }
        draft
            .declare_finger_exception(FingerPosition::RightLittle, "amputated")
            .expect("exception");
        assert_eq!(
            draft.missing(),
            ["a photo of the hand with the declared finger(s)"],
            "an exception stands in for the finger, with a photo of the hand"
        );
        draft
            .take_exception_photo(&SimulatedCamera::new(3))
            .expect("exception photo");
        assert!(draft.missing().is_empty());
        let form = crate::actions::testing::visitor();
        enrollment::submit(
            station,
            officer,
            &form,
            &draft,
            &SystemClock,
            &protocol::random::SystemRandom,
        )
        .expect("submit")
        .id
        .to_string()
    }

    fn pending_ids(station: &Station) -> Vec<String> {
        station
            .store()
            .pending_packets(10)
            .expect("pending")
            .into_iter()
            .map(|p| p.packet_id)
            .collect()
    }

    #[test]
    fn an_enrollment_with_an_exception_is_held_until_a_supervisor_approves_it() {
        let dir = tempfile::tempdir().expect("dir");
        let station = crate::station::test_station(dir.path());
        let officer = account(&station, "budi", Role::Officer);
        let supervisor = account(&station, "sari", Role::Supervisor);
        let id = submit_with_exception(&station, &officer);
        assert!(pending_ids(&station).is_empty(), "held, not uploaded");

        let flagged = awaiting(&station, &supervisor).expect("queue");
        assert_eq!(flagged.len(), 1);
        assert_eq!(flagged[0].id, id);
        assert_eq!(
            flagged[0].exceptions,
            [(FingerPosition::RightLittle, "amputated".to_owned())]
        );
        let photo = flagged[0]
            .exception_photo
            .as_ref()
            .expect("the hand's photo");
        assert!(
            photo.as_bytes().starts_with(&[0xFF, 0xD8]),
            "the supervisor sees the JPEG photo of the hand"
        );

        let by_officer = decide(&station, &officer, &id, Decision::Approve, "", &SystemClock);
        assert!(matches!(
            by_officer,
            Err(ApprovalError::NotPermitted("officer"))
        ));
        assert!(
            pending_ids(&station).is_empty(),
            "an officer cannot release it"
        );

        decide(
            &station,
            &supervisor,
            &id,
            Decision::Approve,
            "checked the hand",
            &SystemClock,
        )
        .expect("approve");
        assert_eq!(pending_ids(&station), std::slice::from_ref(&id));
        assert_eq!(
            station.store().exception_photo(&id).expect("read"),
            None,
            "decided: only the sealed packet keeps the photo"
        );
        let again = decide(
            &station,
            &supervisor,
            &id,
            Decision::Approve,
            "",
            &SystemClock,
        );
        assert!(matches!(again, Err(ApprovalError::NotAwaiting(_))));
        let entries = station.store().audit_entries().expect("audit");
        let last = entries.last().expect("entry");
        assert_eq!(
            (last.action.as_str(), last.actor.as_str()),
            ("enrollment.approved", "sari")
        );
        assert_eq!(last.subject, id);
    }

    #[test]
    fn a_refused_enrollment_never_leaves_the_station_and_keeps_the_reason() {
        let dir = tempfile::tempdir().expect("dir");
        let station = crate::station::test_station(dir.path());
        let officer = account(&station, "budi", Role::Officer);
        let supervisor = account(&station, "sari", Role::Supervisor);
        let id = submit_with_exception(&station, &officer);

        let silent = decide(
            &station,
            &supervisor,
            &id,
            Decision::Refuse,
            "  ",
            &SystemClock,
        );
        assert!(matches!(silent, Err(ApprovalError::MissingComment)));
        decide(
            &station,
            &supervisor,
            &id,
            Decision::Refuse,
            "finger is visible in the photo; recapture",
            &SystemClock,
        )
        .expect("refuse");
        assert!(pending_ids(&station).is_empty());
        let listed = enrollment::list(&station).expect("list");
        assert_eq!(listed[0].summary.approval.as_deref(), Some("refused"));
        assert_eq!(
            listed[0].approval_note.as_deref(),
            Some("finger is visible in the photo; recapture")
        );
        assert!(awaiting(&station, &supervisor).expect("queue").is_empty());
    }

    #[test]
    fn a_supervisor_cannot_approve_an_enrollment_they_captured() {
        let dir = tempfile::tempdir().expect("dir");
        let station = crate::station::test_station(dir.path());
        let supervisor = account(&station, "sari", Role::Supervisor);
        let id = submit_with_exception(&station, &supervisor);
        let own = decide(
            &station,
            &supervisor,
            &id,
            Decision::Approve,
            "ok",
            &SystemClock,
        );
        assert!(matches!(own, Err(ApprovalError::OwnEnrollment)), "{own:?}");
        assert!(pending_ids(&station).is_empty(), "still held");
        assert_eq!(awaiting(&station, &supervisor).expect("queue").len(), 1);
    }

    #[test]
    fn an_approval_carries_a_station_signed_proof_the_server_checks() {
        let dir = tempfile::tempdir().expect("dir");
        let station = crate::station::test_station(dir.path());
        let officer = account(&station, "budi", Role::Officer);
        let supervisor = account(&station, "sari", Role::Supervisor);
        let id = submit_with_exception(&station, &officer);
        decide(
            &station,
            &supervisor,
            &id,
            Decision::Approve,
            "checked",
            &SystemClock,
        )
        .expect("approve");
        let pending = station.store().pending_packets(10).expect("pending");
        let proof: SignedApproval =
            serde_json::from_str(pending[0].approval_proof.as_deref().expect("a proof"))
                .expect("json");
        let sealed = SealedPacket::parse(&pending[0].packet).expect("packet");
        let approval = proof
            .verify(&station.public_key(), sealed.manifest(), &pending[0].sha256)
            .expect("the server accepts it");
        assert_eq!(
            (
                approval.supervisor.as_str(),
                approval.capturing_officer.as_str()
            ),
            ("sari", "budi")
        );
        assert!(
            proof
                .verify(&station.public_key(), sealed.manifest(), &"00".repeat(32))
                .is_err(),
            "the proof names these bytes only"
        );
    }

    #[test]
    fn an_exception_needs_a_reason() {
        let mut draft = EnrollmentDraft::new();
        assert!(draft
            .declare_finger_exception(FingerPosition::LeftThumb, "   ")
            .is_err());
    }
}
