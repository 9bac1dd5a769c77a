//! The SBI backend against the simulated SBI service, over real loopback HTTP.

use std::time::Duration;

use formats::FingerPosition;
use hardware::sbi::{SbiConfig, SbiDevice, SbiHost, SpecVersion, Trust};
use hardware::simulated::{Conditions, SimulatedScanner};
use hardware::{
    DeviceError, DeviceKind, Distrust, ErrorKind, FingerSet, FingerprintScanner, Host, SetCapture,
};
use sbi_sim::{Algorithm, SbiSim, SimOptions};

/// Whether an error is the one a forced fault must give.
type IsExpected = fn(&DeviceError) -> bool;

fn start(algorithm: Algorithm, versions: &[&str]) -> SbiSim {
    SbiSim::start(SimOptions {
        port: None,
        algorithm,
        spec_versions: versions.iter().map(|v| (*v).to_owned()).collect(),
    })
    .expect("the simulator starts")
}

fn config_for(sim: &SbiSim) -> SbiConfig {
    let mut config = SbiConfig::new(Trust::from_pem(sim.ca_pem()).expect("CA"));
    config.ports = sim.port()..=sim.port();
    config.capture_timeout = Duration::from_secs(2);
    config
}

fn admin(sim: &SbiSim, settings: serde_json::Value) {
    ureq::post(&format!("http://127.0.0.1:{}/admin/state", sim.port()))
        .send_string(&settings.to_string())
        .expect("the admin endpoint takes the setting");
}

fn reader(sim: &SbiSim) -> SbiDevice {
    SbiHost::new(config_for(sim))
        .discover_port(sim.port())
        .into_iter()
        .find(|device| device.discovered().device_id == "1")
        .expect("the slap reader is discovered")
}

fn thumbs() -> SetCapture {
    SetCapture {
        set: FingerSet::Thumbs,
        exceptions: vec![],
        requested_score: 40,
    }
}

#[test]
fn a_parallel_scan_of_the_sbi_ports_finds_the_reader_and_the_face_camera() {
    let sim = start(Algorithm::EdDsa, &["0.9.5"]);
    let mut config = config_for(&sim);
    config.ports = hardware::sbi::PORTS;
    let devices = SbiHost::new(config).devices().expect("discovery");
    let ours: Vec<_> = devices
        .iter()
        .filter(|d| d.id.starts_with(&format!("{}:", sim.port())))
        .collect();
    assert_eq!(ours.len(), 2, "found {devices:?}");
    assert!(ours
        .iter()
        .any(|d| d.kind == DeviceKind::FingerprintReader && d.name.contains("Slap Reader")));
    assert!(ours.iter().any(|d| d.kind == DeviceKind::Camera));
}

#[test]
fn signed_device_info_verifies_with_eddsa_and_rs256_and_over_sbi_1_0() {
    for (algorithm, versions, expected) in [
        (Algorithm::EdDsa, vec!["0.9.5"], SpecVersion::V0_9_5),
        (Algorithm::Rs256, vec!["0.9.5"], SpecVersion::V0_9_5),
        (Algorithm::EdDsa, vec!["1.0"], SpecVersion::V1_0),
    ] {
        let sim = start(algorithm, &versions);
        let device = reader(&sim);
        assert_eq!(device.spec_version(), expected);
        let info = device.signed_info().expect("signed info verifies");
        assert_eq!(info.payload.device_id, "1");
        assert_eq!(info.payload.device_status, "Ready");
        device
            .capture_set(&thumbs())
            .expect("a capture verifies too");
    }
}

#[test]
fn a_4_4_2_enrollment_with_exceptions_returns_each_finger_pixel_for_pixel() {
    let sim = start(Algorithm::EdDsa, &["0.9.5"]);
    admin(&sim, serde_json::json!({"person": 9, "quality": 73}));
    let device = reader(&sim);
    device.begin_enrollment();
    // A score of 73 degrades the images as the simulator promises.
    let expected = SimulatedScanner::new(9);
    expected.set_conditions(Conditions::for_quality(73));
    let requests = [
        (FingerSet::LeftSlap, vec![]),
        (FingerSet::RightSlap, vec![FingerPosition::RightLittle]),
        (FingerSet::Thumbs, vec![]),
    ];
    let mut total = 0;
    for (set, exceptions) in requests {
        let captures = device
            .capture_set(&SetCapture {
                set,
                exceptions: exceptions.clone(),
                requested_score: 40,
            })
            .expect("the capture verifies, chain included");
        assert_eq!(captures.len(), set.fingers().len() - exceptions.len());
        for capture in &captures {
            assert!(!exceptions.contains(&capture.position));
            assert_eq!(capture.device_score, Some(73));
            assert_eq!(
                capture.image,
                expected.capture(capture.position).expect("render"),
                "{:?} must arrive exactly as the reader imaged it",
                capture.position
            );
        }
        total += captures.len();
    }
    assert_eq!(total, 9, "4 + 3 + 2 fingers");
}

#[test]
fn the_face_camera_behind_sbi_gives_a_still_and_both_devices_stream_a_preview() {
    let sim = start(Algorithm::EdDsa, &["0.9.5"]);
    let host = SbiHost::new(config_for(&sim));
    let camera = host
        .open_camera(&format!("{}:2", sim.port()))
        .expect("face device");
    let still = camera.capture_still().expect("face capture verifies");
    assert_eq!((still.width(), still.height()), (360, 480));
    let mut stream = camera.open_stream().expect("face stream");
    let frame = stream.next_frame().expect("a frame");
    assert_eq!((frame.width(), frame.height()), (640, 480));
    assert_eq!(
        stream.format().width,
        640,
        "the stream knows its size from the first frame"
    );

    let reader = host
        .open_reader(&format!("{}:1", sim.port()))
        .expect("reader");
    let mut preview = reader.preview(FingerSet::LeftSlap).expect("slap preview");
    for _ in 0..3 {
        let frame = preview.next_frame().expect("a preview frame");
        assert_eq!((frame.width(), frame.height()), (800, 520));
    }
}

#[test]
fn each_forced_fault_is_its_own_typed_error_and_the_reader_works_again_afterwards() {
    let sim = start(Algorithm::EdDsa, &["0.9.5"]);
    let device = reader(&sim);
    let cases: Vec<(serde_json::Value, IsExpected)> = vec![
        (serde_json::json!({"status": "Busy"}), |e| {
            matches!(e, DeviceError::Busy { .. })
        }),
        (serde_json::json!({"status": "Not Ready"}), |e| {
            matches!(e, DeviceError::NotReady { .. })
        }),
        (serde_json::json!({"status": "Not Registered"}), |e| {
            matches!(e, DeviceError::NotRegistered { .. })
        }),
        (serde_json::json!({"delay_ms": {"RCAPTURE": 4000}}), |e| {
            matches!(e, DeviceError::Timeout { .. })
        }),
        (
            serde_json::json!({"error": {"code": 102, "info": "Extraction error"}}),
            |e| matches!(e, DeviceError::CaptureFailed { .. }),
        ),
        (
            serde_json::json!({"error": {"code": 551, "info": "Vendor failure"}}),
            |e| matches!(e, DeviceError::Fault { reason, .. } if reason.contains("551")),
        ),
        (serde_json::json!({"fault": "wrong_transaction_id"}), |e| {
            matches!(
                e,
                DeviceError::Untrusted {
                    reason: Distrust::TransactionMismatch,
                    ..
                }
            )
        }),
        (serde_json::json!({"fault": "bad_signature"}), |e| {
            matches!(
                e,
                DeviceError::Untrusted {
                    reason: Distrust::BadSignature,
                    ..
                }
            )
        }),
        (serde_json::json!({"fault": "untrusted_certificate"}), |e| {
            matches!(
                e,
                DeviceError::Untrusted {
                    reason: Distrust::UntrustedCertificate(_),
                    ..
                }
            )
        }),
        (
            serde_json::json!({"fault": "stale_timestamp"}),
            |e| matches!(e, DeviceError::Untrusted { reason: Distrust::StaleTimestamp { skew_secs }, .. } if *skew_secs < -500),
        ),
        (serde_json::json!({"fault": "broken_hash_chain"}), |e| {
            matches!(
                e,
                DeviceError::Untrusted {
                    reason: Distrust::BrokenHashChain,
                    ..
                }
            )
        }),
        (serde_json::json!({"fault": "missing_quality_score"}), |e| {
            matches!(
                e,
                DeviceError::Untrusted {
                    reason: Distrust::MissingQualityScore,
                    ..
                }
            )
        }),
        (serde_json::json!({"fault": "wrong_purpose"}), |e| {
            matches!(
                e,
                DeviceError::Untrusted {
                    reason: Distrust::PurposeMismatch(purpose),
                    ..
                } if purpose == "Auth"
            )
        }),
        (serde_json::json!({"fault": "wrong_environment"}), |e| {
            matches!(
                e,
                DeviceError::Untrusted {
                    reason: Distrust::EnvironmentMismatch(_),
                    ..
                }
            )
        }),
        (serde_json::json!({"fault": "other_device"}), |e| {
            matches!(
                e,
                DeviceError::Untrusted {
                    reason: Distrust::OtherDevice(serial),
                    ..
                } if serial == "SIM-OTHER-9999"
            )
        }),
        (serde_json::json!({"fault": "garbage_json"}), |e| {
            matches!(e, DeviceError::Protocol { .. })
        }),
        (serde_json::json!({"fault": "connection_reset"}), |e| {
            matches!(e, DeviceError::ConnectionLost { .. })
        }),
    ];
    device.begin_enrollment();
    device
        .capture_set(&thumbs())
        .expect("a first capture starts the chain");
    for (setting, expected) in cases {
        admin(&sim, setting.clone());
        let error = device
            .capture_set(&thumbs())
            .expect_err("the fault must fail the capture");
        assert!(expected(&error), "{setting} gave {error:?}");
        assert!(!error.to_string().is_empty());
        ureq::post(&format!("http://127.0.0.1:{}/admin/reset", sim.port()))
            .call()
            .expect("reset");
        device.capture_set(&thumbs()).unwrap_or_else(|e| {
            panic!("after {setting} the reader must work again (chain intact): {e}")
        });
    }
}

#[test]
fn a_device_certificate_issued_through_an_intermediate_ca_is_trusted_through_its_chain() {
    let sim = start(Algorithm::EdDsa, &["0.9.5"]);
    let device = reader(&sim);
    device.begin_enrollment();
    admin(&sim, serde_json::json!({"fault": "intermediate_ca"}));
    let prints = device
        .capture_set(&thumbs())
        .expect("a provider CA that issues through an intermediate CA is a provider CA");
    assert_eq!(prints.len(), 2);
}

#[test]
fn an_error_kind_tells_the_officer_what_to_do() {
    let sim = start(Algorithm::EdDsa, &["0.9.5"]);
    let device = reader(&sim);
    admin(&sim, serde_json::json!({"status": "Busy"}));
    assert_eq!(
        device.capture_set(&thumbs()).expect_err("busy").kind(),
        ErrorKind::Retry
    );
    admin(
        &sim,
        serde_json::json!({"status": "Ready", "fault": "bad_signature"}),
    );
    assert_eq!(
        device.capture_set(&thumbs()).expect_err("untrusted").kind(),
        ErrorKind::Technician
    );
    drop(sim);
    assert_eq!(
        device
            .capture_set(&thumbs())
            .expect_err("service gone")
            .kind(),
        ErrorKind::Replug,
        "a service that stopped answering is a device to reconnect"
    );
}

#[test]
fn a_device_certificate_from_an_untrusted_provider_is_refused_even_when_well_signed() {
    let sim = start(Algorithm::EdDsa, &["0.9.5"]);
    let stranger = start(Algorithm::EdDsa, &["0.9.5"]);
    let mut config = config_for(&sim);
    config.trust = Trust::from_pem(stranger.ca_pem()).expect("CA");
    let device = SbiHost::new(config)
        .discover_port(sim.port())
        .into_iter()
        .next()
        .expect("device");
    let error = device.signed_info().expect_err("untrusted provider");
    assert!(
        matches!(
            error,
            DeviceError::Untrusted {
                reason: Distrust::UntrustedCertificate(_),
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn the_slap_preview_shows_the_fingers_while_a_capture_runs_and_an_empty_platen_otherwise() {
    let sim = start(Algorithm::EdDsa, &["0.9.5"]);
    admin(&sim, serde_json::json!({"delay_ms": {"RCAPTURE": 1500}}));
    let device = std::sync::Arc::new(reader(&sim));
    let mut preview = device.preview(FingerSet::RightSlap).expect("preview");
    let contrast = |frame: &formats::image::RgbFrame| {
        let grey: Vec<f64> = frame.pixels().chunks(3).map(|p| f64::from(p[0])).collect();
        let mean = grey.iter().sum::<f64>() / grey.len() as f64;
        (grey.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / grey.len() as f64).sqrt()
    };
    let idle = preview.next_frame().expect("frame");
    assert!(contrast(&idle) < 5.0, "no capture running: an empty platen");
    let capturing = {
        let device = std::sync::Arc::clone(&device);
        std::thread::spawn(move || {
            device.capture_set(&SetCapture {
                set: FingerSet::RightSlap,
                exceptions: vec![],
                requested_score: 40,
            })
        })
    };
    let mut saw_fingers = false;
    for _ in 0..12 {
        let frame = preview.next_frame().expect("frame during the capture");
        if contrast(&frame) > 20.0 {
            saw_fingers = true;
            break;
        }
    }
    assert!(saw_fingers, "the preview shows the fingers being placed");
    let captures = capturing
        .join()
        .expect("thread")
        .expect("the capture completes");
    assert_eq!(captures.len(), 4);
}

#[test]
fn the_registry_publishes_an_sbi_device_becoming_unregistered_and_its_disappearance() {
    use hardware::registry::{DeviceEvent, DeviceRegistry};
    let sim = start(Algorithm::EdDsa, &["0.9.5"]);
    let registry = DeviceRegistry::new(vec![std::sync::Arc::new(SbiHost::new(config_for(&sim)))]);
    let events = registry.subscribe();
    assert_eq!(
        registry.refresh().len(),
        2,
        "the reader and the face camera appear"
    );
    admin(&sim, serde_json::json!({"status": "Not Registered"}));
    let changes = registry.refresh();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(changes.iter().all(|event| matches!(
        event,
        DeviceEvent::StatusChanged(device) if device.status == hardware::DeviceStatus::NotRegistered
    )));
    drop(sim);
    let gone = registry.refresh();
    assert!(
        gone.iter()
            .all(|event| matches!(event, DeviceEvent::Disappeared(_)))
            && gone.len() == 2,
        "a stopped service's devices disappear: {gone:?}"
    );
    assert_eq!(events.try_iter().count(), 6);
}
