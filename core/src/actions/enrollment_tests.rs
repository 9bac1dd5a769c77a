//! Each enrollment action: who may do it, what it keeps, and the audit entry it writes.

use std::sync::atomic::AtomicBool;

use hardware::simulated::{SimulatedCamera, SimulatedScanner};
use protocol::random::SystemRandom;

use super::*;
use crate::actions::testing::{as_role, entries, last_entry, station, visitor};
use crate::actions::ErrorCode;
use crate::clock::SystemClock;
use crate::officers::Role;

/// The clock and randomness a submission is given.
fn injected() -> (&'static dyn Clock, &'static dyn RandomSource) {
    (&SystemClock, &SystemRandom)
}

/// The last entry's actor and action.
fn last_action(station: &Station) -> (String, String) {
    let (actor, action, _, _) = last_entry(station);
    (actor, action)
}

#[test]
fn technicians_and_administrators_cannot_touch_an_enrollment_and_leave_no_trace() {
    let dir = tempfile::tempdir().expect("dir");
    let station = station(dir.path());
    let desk = Desk::default();
    let (camera, scanner) = (SimulatedCamera::new(1), SimulatedScanner::new(1));
    let stop = AtomicBool::new(true);
    let before = entries(&station);
    for role in [Role::Technician, Role::Administrator] {
        let who = as_role(role);
        let refusals = [
            desk.start(&station, &who, &scanner, &SystemClock).err(),
            desk.resume(&station, &who, &SystemClock).err(),
            desk.save_form(&station, &who, Demographics::default(), &SystemClock)
                .err(),
            desk.capture_face(&station, &who, &camera, &SystemClock)
                .err(),
            desk.watch_face(&station, &who, &camera, &stop, |_, _, _| {}, &SystemClock)
                .err(),
            desk.capture_set(
                &station,
                &who,
                &scanner,
                FingerSet::Thumbs,
                "by hand",
                &SystemClock,
            )
            .err(),
            desk.watch_set(
                &station,
                &who,
                &scanner,
                FingerSet::Thumbs,
                (&stop, &stop),
                |_, _, _| {},
                &SystemClock,
            )
            .err(),
            desk.declare_exception(
                &station,
                &who,
                FingerPosition::LeftThumb,
                "bandaged",
                &SystemClock,
            )
            .err(),
            desk.take_exception_photo(&station, &who, &camera, &SystemClock)
                .err(),
            desk.submit(&station, &who, &Demographics::default(), true, injected())
                .err(),
            desk.save_receipt(&station, &who, "en", Some(dir.path()), &SystemClock)
                .err(),
        ];
        for refusal in refusals {
            let refusal = refusal.expect("refused");
            assert_eq!(
                refusal.code(),
                ErrorCode::NotPermitted,
                "{role:?}: {refusal}"
            );
        }
    }
    assert_eq!(entries(&station), before, "refusals are not actions");
    assert!(desk.draft().draft.face().is_none());
}

#[test]
fn a_started_enrollment_forgets_the_last_one_and_a_saved_form_is_resumed_after_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let station = station(dir.path());
    let officer = as_role(Role::Officer);
    let desk = Desk::default();
    let scanner = SimulatedScanner::new(2);
    desk.start(&station, &officer, &scanner, &SystemClock)
        .expect("started");
    assert_eq!(
        last_entry(&station),
        (
            "officer".into(),
            "enrollment.started".into(),
            String::new(),
            "new enrollment opened".into()
        )
    );
    let resumed = desk
        .resume(&station, &officer, &SystemClock)
        .expect_err("none saved");
    assert_eq!(resumed.code(), ErrorCode::NoDraft);

    let form = Demographics {
        full_name: "Siti Rahayu".into(),
        ..Demographics::default()
    };
    let count = entries(&station);
    desk.save_form(&station, &officer, form, &SystemClock)
        .expect("saved");
    assert_eq!(entries(&station), count, "typing is not audited");

    let after_restart = Desk::default();
    after_restart
        .resume(&station, &officer, &SystemClock)
        .expect("resumed");
    assert_eq!(after_restart.draft().demographics.full_name, "Siti Rahayu");
    assert_eq!(
        last_action(&station),
        ("officer".into(), "enrollment.resumed".into())
    );
    // Another officer's desk does not see it.
    let supervisor = as_role(Role::Supervisor);
    let theirs = Desk::default().resume(&station, &supervisor, &SystemClock);
    assert_eq!(theirs.expect_err("not theirs").code(), ErrorCode::NoDraft);

    after_restart
        .start(&station, &officer, &scanner, &SystemClock)
        .expect("started again");
    assert_eq!(after_restart.draft().demographics.full_name, "");
    let gone = Desk::default().resume(&station, &officer, &SystemClock);
    assert_eq!(gone.expect_err("discarded").code(), ErrorCode::NoDraft);
}

#[test]
fn captures_are_kept_saved_and_audited_with_scores_and_an_unplugged_camera_is_recorded() {
    let dir = tempfile::tempdir().expect("dir");
    let station = station(dir.path());
    let officer = as_role(Role::Officer);
    let desk = Desk::default();
    let camera = SimulatedCamera::new(4);
    desk.capture_face(&station, &officer, &camera, &SystemClock)
        .expect("photo");
    let (actor, action, _, detail) = last_entry(&station);
    assert_eq!(
        (actor.as_str(), action.as_str()),
        ("officer", "capture.face")
    );
    assert_eq!(detail, "face photo taken by hand; every check passed");

    let stop = AtomicBool::new(false);
    let photo = desk
        .watch_face(
            &station,
            &officer,
            &camera,
            &stop,
            |_, _, _| {},
            &SystemClock,
        )
        .expect("watched");
    assert!(photo.is_some(), "a compliant applicant is photographed");
    assert_eq!(
        last_entry(&station).3,
        "face photo taken automatically: every check passed"
    );
    camera.set_unplugged(true);
    let unplugged = desk
        .watch_face(
            &station,
            &officer,
            &camera,
            &stop,
            |_, _, _| {},
            &SystemClock,
        )
        .expect_err("unplugged");
    assert_eq!(unplugged.code(), ErrorCode::DeviceReplug);
    assert!(last_entry(&station).3.starts_with("face live view failed"));

    let scanner = SimulatedScanner::new(4);
    let thumbs = desk
        .capture_set(
            &station,
            &officer,
            &scanner,
            FingerSet::Thumbs,
            "by hand",
            &SystemClock,
        )
        .expect("thumbs");
    assert_eq!(thumbs.fingers.len(), 2);
    let (_, action, _, detail) = last_entry(&station);
    assert_eq!(action, "capture.fingers");
    assert!(detail.starts_with("thumbs captured by hand: "), "{detail}");
    assert!(detail.contains("attempt 1"), "{detail}");

    scanner.set_unplugged(true);
    let unplugged = desk.capture_set(
        &station,
        &officer,
        &scanner,
        FingerSet::Thumbs,
        "by hand",
        &SystemClock,
    );
    assert_eq!(
        unplugged.expect_err("unplugged").code(),
        ErrorCode::DeviceReplug
    );
    assert!(
        last_entry(&station).3.starts_with("thumbs capture failed"),
        "a failed capture is recorded too"
    );
    assert_eq!(
        desk.draft().draft.fingers().count(),
        2,
        "the thumbs stay kept"
    );
    scanner.set_unplugged(false);

    let (stop, now) = (AtomicBool::new(false), AtomicBool::new(false));
    let slap = desk
        .watch_set(
            &station,
            &officer,
            &scanner,
            FingerSet::LeftSlap,
            (&stop, &now),
            |_, _, _| {},
            &SystemClock,
        )
        .expect("watched")
        .expect("captured once the fingers settled");
    assert_eq!(slap.fingers.len(), 4);
    assert!(last_entry(&station).3.contains("automatically"));

    // The saved draft holds what was captured: a restart resumes it.
    let resumed = Desk::default();
    resumed
        .resume(&station, &officer, &SystemClock)
        .expect("resumed");
    assert!(resumed.draft().draft.face().is_some());
    assert_eq!(resumed.draft().draft.fingers().count(), 6);
}

#[test]
fn a_declared_finger_is_audited_by_name_not_reason_and_its_hand_is_photographed() {
    let dir = tempfile::tempdir().expect("dir");
    let station = station(dir.path());
    let officer = as_role(Role::Officer);
    let desk = Desk::default();
    let camera = SimulatedCamera::new(5);
    let early = desk.take_exception_photo(&station, &officer, &camera, &SystemClock);
    assert_eq!(
        early.expect_err("nothing declared").code(),
        ErrorCode::EnrollmentFailed
    );
    desk.declare_exception(
        &station,
        &officer,
        FingerPosition::RightLittle,
        "amputated in 2019",
        &SystemClock,
    )
    .expect("declared");
    let (_, action, _, detail) = last_entry(&station);
    assert_eq!(action, "capture.exception");
    assert!(detail.contains("right little"), "{detail}");
    assert!(
        !detail.contains("amputated"),
        "the reason travels sealed, not in the log"
    );
    desk.take_exception_photo(&station, &officer, &camera, &SystemClock)
        .expect("photo");
    assert_eq!(
        last_action(&station),
        ("officer".into(), "capture.exception_photo".into())
    );
}

#[test]
fn a_submission_needs_consent_then_seals_clears_the_draft_and_keeps_a_receipt_to_save() {
    let dir = tempfile::tempdir().expect("dir");
    let station = station(dir.path());
    let officer = as_role(Role::Officer);
    let desk = Desk::default();
    let scanner = SimulatedScanner::new(7);
    desk.capture_face(&station, &officer, &SimulatedCamera::new(7), &SystemClock)
        .expect("photo");
    for set in [FingerSet::LeftSlap, FingerSet::RightSlap, FingerSet::Thumbs] {
        desk.capture_set(&station, &officer, &scanner, set, "by hand", &SystemClock)
            .expect("set");
    }
    let form = visitor();
    let count = entries(&station);
    let refused = desk
        .submit(&station, &officer, &form, false, injected())
        .expect_err("no consent");
    assert_eq!(refused.code(), ErrorCode::NoConsent);
    let early = desk.save_receipt(&station, &officer, "en", Some(dir.path()), &SystemClock);
    assert_eq!(
        early.expect_err("no receipt yet").code(),
        ErrorCode::NoReceipt
    );
    assert_eq!(entries(&station), count);

    let receipt = desk
        .submit(&station, &officer, &form, true, injected())
        .expect("sealed");
    let (actor, action, subject, _) = last_entry(&station);
    assert_eq!(
        (actor.as_str(), action.as_str()),
        ("officer", "enrollment.submitted")
    );
    assert_eq!(subject, receipt.id);
    assert!(
        desk.draft().draft.face().is_none(),
        "the draft's images are gone"
    );
    assert!(
        !has_saved_draft(&station, &officer),
        "nothing left to resume: the packet is the only copy"
    );
    assert_eq!(station.store().outbox_counts().expect("counts").pending, 1);

    let folder = dir.path().join("receipts");
    let path = desk
        .save_receipt(&station, &officer, "id", Some(&folder), &SystemClock)
        .expect("saved");
    assert!(std::fs::read(&path).expect("pdf").starts_with(b"%PDF"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("file").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the receipt holds the photo: owner only");
    }
    let (_, action, _, detail) = last_entry(&station);
    assert_eq!(action, "receipt.saved");
    assert!(detail.contains(&receipt.id), "{detail}");

    // The next applicant's enrollment forgets this one's receipt (it holds her photo).
    desk.start(&station, &officer, &scanner, &SystemClock)
        .expect("started");
    assert!(desk.receipt().is_none());
    let gone = desk.save_receipt(&station, &officer, "en", Some(&folder), &SystemClock);
    assert_eq!(gone.expect_err("forgotten").code(), ErrorCode::NoReceipt);
}

#[test]
fn only_roles_that_see_applicants_list_enrollments_and_a_saved_draft_is_known_at_login() {
    let dir = tempfile::tempdir().expect("dir");
    let station = station(dir.path());
    for role in [Role::Technician, Role::Administrator] {
        let refused = list(&station, &as_role(role)).expect_err("refused");
        assert_eq!(refused.code(), ErrorCode::NotPermitted);
    }
    let officer = as_role(Role::Officer);
    assert!(list(&station, &officer).expect("list").is_empty());
    assert!(!has_saved_draft(&station, &officer));
    Desk::default()
        .save_form(&station, &officer, visitor(), &SystemClock)
        .expect("saved");
    assert!(has_saved_draft(&station, &officer));
    assert!(!has_saved_draft(&station, &as_role(Role::Supervisor)));
}
