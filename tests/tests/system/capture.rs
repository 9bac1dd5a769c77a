//! The fingerprint step's live capture against both kinds of reader: one whose preview the
//! station watches to decide when to capture (the simulated reader), and an SBI device, which
//! waits for the fingers itself while the station shows its preview.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use hardware::sbi::{SbiConfig, SbiHost, Trust};
use hardware::simulated::SimulatedScanner;
use hardware::{FingerSet, FingerprintScanner};
use sbi_sim::{Algorithm, SbiSim, SimOptions};
use station_core::enrollment::EnrollmentDraft;
use station_core::quality::placement::{live_set, OnGlass, Trigger};

/// Runs the left slap's live step on `reader`; returns why it was captured, how many preview
/// frames showed all four fingers on the glass, and the fingers' station scores.
fn left_slap(reader: &dyn FingerprintScanner) -> (Trigger, usize, Vec<u8>) {
    let mut draft = EnrollmentDraft::new();
    let (stop, now) = (AtomicBool::new(false), AtomicBool::new(false));
    let mut placed_frames = 0;
    let outcome = live_set(
        reader,
        FingerSet::LeftSlap,
        &[],
        3,
        Duration::from_secs(30),
        &stop,
        &now,
        |_, placement, _| {
            if placement.fingers.iter().all(|f| f.state == OnGlass::Placed) {
                placed_frames += 1;
            }
        },
        |trigger| (trigger, draft.capture_set(reader, FingerSet::LeftSlap)),
    )
    .expect("the preview works")
    .expect("the set is captured");
    let result = outcome.1.expect("the capture works");
    let scores = result.fingers.iter().map(|f| f.best).collect();
    (outcome.0, placed_frames, scores)
}

#[test]
fn the_station_captures_a_slap_once_the_fingers_lie_still_on_a_reader_it_watches() {
    let (trigger, placed, scores) = left_slap(&SimulatedScanner::new(5));
    assert_eq!(trigger, Trigger::Placed);
    assert!(
        placed >= 3,
        "three still frames with every finger before the capture"
    );
    assert_eq!(scores.len(), 4);
    assert!(scores.iter().all(|&s| s >= 40), "{scores:?}");
}

#[test]
fn an_sbi_reader_captures_by_itself_while_the_station_shows_its_preview() {
    let sim = SbiSim::start(SimOptions {
        port: None,
        algorithm: Algorithm::EdDsa,
        spec_versions: vec!["0.9.5".into()],
    })
    .expect("the simulator starts");
    let mut config = SbiConfig::new(Trust::from_pem(sim.ca_pem()).expect("CA"));
    config.ports = sim.port()..=sim.port();
    let reader = SbiHost::new(config)
        .discover_port(sim.port())
        .into_iter()
        .find(|device| device.discovered().device_id == "1")
        .expect("the slap reader is discovered");
    assert!(reader.captures_when_placed());
    // The applicant takes a second and a half to place the fingers.
    system_tests::sbi_admin(sim.port(), r#"{"delay_ms": {"RCAPTURE": 1500}}"#);
    let (trigger, placed, scores) = left_slap(&reader);
    assert_eq!(trigger, Trigger::Reader);
    assert!(
        placed >= 1,
        "the preview showed the fingers on the glass while the reader captured"
    );
    assert_eq!(
        scores.len(),
        4,
        "every finger of the slap is scored by the station"
    );
}
