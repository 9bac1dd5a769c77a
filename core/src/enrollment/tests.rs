//! The draft, submission and listing of enrollments.

use super::*;
use hardware::simulated::{SimulatedCamera, SimulatedFault, SimulatedScanner};

#[test]
fn a_draft_lists_what_is_missing_until_every_capture_is_done() {
    let mut draft = EnrollmentDraft::new();
    assert_eq!(draft.missing().len(), 11, "a face and ten fingers");
    draft.capture_face(&SimulatedCamera::new(1)).expect("face");
    let scanner = SimulatedScanner::new(1);
    for finger in FingerPosition::ALL {
        draft.capture_finger(&scanner, finger).expect("finger");
    }
    assert!(draft.missing().is_empty());
    assert_eq!(draft.fingers().count(), 10);
}

#[test]
fn the_three_sets_capture_all_ten_fingers_each_scored_by_the_station() {
    let scanner = SimulatedScanner::new(4);
    let mut draft = EnrollmentDraft::new();
    for set in FingerSet::ALL {
        let result = draft.capture_set(&scanner, set).expect("set");
        assert_eq!(result.fingers.len(), set.fingers().len());
        assert!(!result.retry(), "good prints need no second attempt");
        assert!(result
            .fingers
            .iter()
            .all(|f| f.kept && f.best >= FINGER_THRESHOLD));
    }
    assert_eq!(draft.fingers().count(), 10);
    assert_eq!(draft.missing(), vec!["face photo".to_owned()]);
}

#[test]
fn a_poor_set_is_captured_again_keeping_the_best_and_accepted_force_captured_after_three() {
    let scanner = SimulatedScanner::new(4);
    let mut draft = EnrollmentDraft::new();
    // A poor placement: NFIQ 2 scores most such prints below the threshold (`docs/benchmarks.md`,
    // the score per simulated quality level).
    scanner.set_conditions(hardware::simulated::Conditions::for_quality(30));
    let first = draft.capture_set(&scanner, FingerSet::Thumbs).expect("set");
    assert!(first.retry(), "{first:?}");
    assert!(
        !draft.set_done(FingerSet::Thumbs),
        "below the threshold with attempts left"
    );
    assert!(!draft.finger_accepted_below(FingerPosition::LeftThumb));
    assert!(
        draft
            .missing()
            .iter()
            .any(|m| m.starts_with("a better left thumb fingerprint")),
        "{:?}",
        draft.missing()
    );
    // The poorest placement (dry skin, NFIQ 2 cannot score it): worse than the first.
    scanner.set_conditions(hardware::simulated::Conditions::for_quality(0));
    let worse = draft.capture_set(&scanner, FingerSet::Thumbs).expect("set");
    let mut compared = 0;
    for (before, after) in first.fingers.iter().zip(&worse.fingers) {
        if after.score < before.best {
            compared += 1;
            assert!(!after.kept, "a worse capture must not replace a better one");
            assert_eq!(after.best, before.best);
        }
    }
    assert!(
        compared > 0,
        "the second placement was worse: {first:?} then {worse:?}"
    );
    let third = draft.capture_set(&scanner, FingerSet::Thumbs).expect("set");
    assert!(!third.retry(), "the third attempt is the last");
    assert!(draft.missing().iter().all(|m| !m.contains("thumb")));
    let forced = draft
        .capture_records()
        .into_iter()
        .filter(|r| r.force_captured)
        .count();
    assert_eq!(forced, 2, "both thumbs accepted below the threshold");
    assert!(draft.finger_accepted_below(FingerPosition::LeftThumb));
    assert!(
        draft.set_done(FingerSet::Thumbs),
        "the attempts are used up: done, for a supervisor"
    );
    assert!(!draft.set_done(FingerSet::LeftSlap), "nothing captured yet");
    let refused = draft.capture_set(&scanner, FingerSet::Thumbs);
    assert!(
        matches!(refused, Err(EnrollmentError::NoAttemptsLeft(_))),
        "{refused:?}"
    );
}

#[test]
fn a_better_second_attempt_replaces_a_poor_first_one() {
    let scanner = SimulatedScanner::new(4);
    let mut draft = EnrollmentDraft::new();
    scanner.set_conditions(hardware::simulated::Conditions::for_quality(20));
    draft
        .capture_set(&scanner, FingerSet::RightSlap)
        .expect("set");
    scanner.set_conditions(hardware::simulated::Conditions::GOOD);
    let second = draft
        .capture_set(&scanner, FingerSet::RightSlap)
        .expect("set");
    assert!(second.fingers.iter().all(|f| f.kept && f.attempts == 2));
    assert!(!second.retry());
    assert!(draft.capture_records().iter().all(|r| !r.force_captured));
}

#[test]
fn the_dry_fingers_drill_spoils_one_set_and_the_retry_is_good() {
    let simulated = crate::devices::Simulated {
        camera: None,
        scanner: Some(std::sync::Arc::new(SimulatedScanner::new(4))),
    };
    simulated
        .drill(crate::devices::Drill::ReaderDryFingers)
        .expect("a simulated reader takes the drill");
    let scanner = simulated.scanner.clone().expect("scanner");
    let mut draft = EnrollmentDraft::new();
    let first = draft
        .capture_set(scanner.as_ref(), FingerSet::LeftSlap)
        .expect("set");
    assert!(first.retry(), "dry fingers come out too poor");
    assert!(first.fingers.iter().all(|f| f.score < FINGER_THRESHOLD));
    let second = draft
        .capture_set(scanner.as_ref(), FingerSet::LeftSlap)
        .expect("set");
    assert!(!second.retry(), "the next placement is good: {second:?}");
}

#[test]
fn fingers_declared_missing_are_not_captured_with_their_set() {
    let scanner = SimulatedScanner::new(4);
    let mut draft = EnrollmentDraft::new();
    draft
        .declare_finger_exception(FingerPosition::LeftRing, "amputated")
        .expect("exception");
    let result = draft
        .capture_set(&scanner, FingerSet::LeftSlap)
        .expect("set");
    let captured: Vec<FingerPosition> = result.fingers.iter().map(|f| f.position).collect();
    assert_eq!(
        captured,
        vec![
            FingerPosition::LeftLittle,
            FingerPosition::LeftMiddle,
            FingerPosition::LeftIndex
        ]
    );
    assert_eq!(draft.exceptions().count(), 1, "the exception stands");
    // Seed 4's good placements score above the threshold: the declared finger completes the set.
    assert!(
        result.fingers.iter().all(|f| f.best >= FINGER_THRESHOLD),
        "{result:?}"
    );
    assert!(draft.set_done(FingerSet::LeftSlap));
}

#[test]
fn a_failed_recapture_keeps_the_earlier_image() {
    let camera = SimulatedCamera::new(1);
    let mut draft = EnrollmentDraft::new();
    let first = draft.capture_face(&camera).expect("face").clone();
    camera.script_fault(SimulatedFault::Busy);
    assert!(matches!(
        draft.capture_face(&camera),
        Err(EnrollmentError::Device(_))
    ));
    assert_eq!(
        draft.face(),
        Some(&first),
        "a device error must not lose the photo already taken"
    );
}

#[test]
fn the_station_scores_each_finger_itself_and_the_manifest_carries_the_score() {
    let scanner = SimulatedScanner::new(2);
    let mut draft = EnrollmentDraft::new();
    draft
        .capture_finger(&scanner, FingerPosition::RightIndex)
        .expect("finger");
    scanner.set_conditions(hardware::simulated::Conditions::for_quality(10));
    draft
        .capture_finger(&scanner, FingerPosition::RightMiddle)
        .expect("finger");
    let good = draft
        .finger_quality(FingerPosition::RightIndex)
        .expect("scored");
    let poor = draft
        .finger_quality(FingerPosition::RightMiddle)
        .expect("scored");
    assert!(good >= poor + 10, "good {good}, poor {poor}");
    let records = draft.capture_records();
    let quality_of = |finger| {
        records
            .iter()
            .find(|r| r.finger == Some(finger))
            .and_then(|r| r.quality)
    };
    assert_eq!(quality_of(FingerPosition::RightIndex), Some(good));
    assert_eq!(quality_of(FingerPosition::RightMiddle), Some(poor));
}

/// A camera looking at a blank wall.
struct BlankCamera;

impl Camera for BlankCamera {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: "blank".into(),
            name: "Blank camera".into(),
            backend: "test",
            kind: hardware::DeviceKind::Camera,
            status: hardware::DeviceStatus::Ready,
        }
    }

    fn open_stream(&self) -> Result<Box<dyn hardware::FrameStream>, DeviceError> {
        Err(DeviceError::Unsupported {
            device: "blank".into(),
            what: "streams".into(),
        })
    }

    fn capture_still(&self) -> Result<RgbFrame, DeviceError> {
        Ok(RgbFrame::new(640, 480, vec![200; 640 * 480 * 3]).expect("size"))
    }
}

#[test]
fn a_checked_face_is_kept_as_the_iso_token_crop_and_a_failing_one_as_force_captured() {
    let mut draft = EnrollmentDraft::new();
    let face = draft
        .capture_face(&SimulatedCamera::new(1))
        .expect("face")
        .clone();
    assert_eq!((face.width, face.height), (360, 480), "token-frontal crop");
    assert_eq!(draft.face_quality(), Some(100));
    let records = draft.capture_records();
    assert!(!records[0].force_captured);

    let blank = draft
        .capture_face(&BlankCamera)
        .expect("kept anyway")
        .clone();
    assert_eq!(
        (blank.width, blank.height),
        (640, 480),
        "no face: the whole frame"
    );
    assert_eq!(draft.face_quality(), Some(0));
    let records = draft.capture_records();
    assert_eq!(records[0].modality, Modality::Face);
    assert!(records[0].force_captured);
    assert_eq!(records[0].quality, Some(0));
    assert_eq!(records[0].attempts, 2);
}

#[test]
fn captured_images_are_a_jpeg_and_wsq_finger_records() {
    let mut draft = EnrollmentDraft::new();
    let face = draft
        .capture_face(&SimulatedCamera::new(1))
        .expect("face")
        .clone();
    assert_eq!(
        &face.jpeg.as_bytes()[..3],
        &[0xFF, 0xD8, 0xFF],
        "JPEG start-of-image marker"
    );
    draft
        .capture_finger(&SimulatedScanner::new(1), FingerPosition::LeftThumb)
        .expect("finger");
    let finger = draft.fingers().next().expect("the thumb");
    let record = formats::records::finger::FingerRecord::from_bytes(finger.record.as_bytes())
        .expect("an ISO 19794-4 record");
    assert_eq!(record.views.len(), 1);
    assert_eq!(
        record.views[0].compression,
        formats::records::finger::Compression::Wsq
    );
    assert_eq!(
        record.views[0].position,
        FingerPosition::LeftThumb.iso_code()
    );
}
