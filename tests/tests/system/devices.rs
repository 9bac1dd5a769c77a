//! `station devices`: the technician's self-test over the simulated devices and a simulated SBI
//! device service running as its own process; and the app's devices in use taking up an SBI
//! service that starts answering after start-up.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use system_tests::*;

/// The `sbi-sim` process; killed when dropped.
struct SbiSimProcess {
    child: Child,
    port: u16,
}

impl SbiSimProcess {
    fn start(ca_out: &std::path::Path) -> Self {
        let mut child = Command::new(workspace_binary("sbi-sim"))
            .arg("--ca-out")
            .arg(ca_out)
            .stdout(Stdio::piped())
            .spawn()
            .expect("sbi-sim starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("sbi-sim says where it listens");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self { child, port }
    }

    /// Forces the simulator's behaviour through its admin endpoint.
    fn admin(&self, settings: &str) {
        sbi_admin(self.port, settings);
    }
}

impl Drop for SbiSimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn selftest(ca: &std::path::Path, port: u16, extra: &[&str]) -> (bool, serde_json::Value) {
    let output = Command::new(workspace_binary("station"))
        .args([
            "devices",
            "selftest",
            "--json",
            "--simulated",
            "--seconds",
            "1",
            "--sbi-trust",
        ])
        .arg(ca)
        // Only our simulator: another SBI service on this machine is not this test's to judge.
        .arg("--sbi-ports")
        .arg(port.to_string())
        .args(extra)
        .env_remove("STATION_SBI_TRUST")
        .output()
        .expect("station devices selftest runs");
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "the report is JSON ({error}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), report)
}

/// The report of the `backend` device of `kind`; an SBI device must be the one on `port` (another
/// SBI service on this machine is not ours to judge).
fn device<'a>(
    report: &'a serde_json::Value,
    backend: &str,
    kind: &str,
    port: u16,
) -> &'a serde_json::Value {
    let ours = |d: &serde_json::Value| {
        backend != "sbi"
            || d["id"]
                .as_str()
                .is_some_and(|id| id.starts_with(&format!("{port}:")))
    };
    report["devices"]
        .as_array()
        .and_then(|devices| {
            devices.iter().find(|d| {
                d["device"]["backend"] == backend
                    && d["device"]["kind"] == kind
                    && ours(&d["device"])
            })
        })
        .unwrap_or_else(|| panic!("no {backend} {kind} in {report:#}"))
}

fn failed_check<'a>(device: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    device["checks"]
        .as_array()
        .and_then(|checks| {
            checks
                .iter()
                .find(|c| c["name"] == name && c["verdict"] == "fail")
        })
        .unwrap_or_else(|| panic!("no failed {name:?} check in {device:#}"))
}

#[test]
fn the_device_self_test_covers_simulated_devices_and_an_sbi_service_and_names_forced_faults() {
    let dir = temp_dir();
    let ca = dir.path().join("sbi-provider.pem");
    let sim = SbiSimProcess::start(&ca);

    let (passed, report) = selftest(&ca, sim.port, &[]);
    for (backend, kind) in [
        ("simulated", "camera"),
        ("simulated", "fingerprint_reader"),
        ("sbi", "fingerprint_reader"),
        ("sbi", "camera"),
    ] {
        let found = device(&report, backend, kind, sim.port);
        assert_ne!(
            found["verdict"], "fail",
            "{backend} {kind} must work: {found:#}"
        );
    }
    assert!(passed, "a self-test without failures exits 0: {report:#}");
    let sbi_reader = device(&report, "sbi", "fingerprint_reader", sim.port);
    let names: Vec<&str> = sbi_reader["checks"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    for check in [
        "discovery",
        "device information",
        "blank platen",
        "test capture",
        "clock",
        "capture latency",
    ] {
        assert!(
            names.contains(&check),
            "the SBI reader report has a {check:?} check: {names:?}"
        );
    }

    sim.admin(r#"{"fault": "bad_signature"}"#);
    let (passed, report) = selftest(&ca, sim.port, &["--drill", "reader-residue"]);
    assert!(!passed, "a failed check makes the self-test exit 1");
    let sbi_reader = device(&report, "sbi", "fingerprint_reader", sim.port);
    let reason = failed_check(sbi_reader, "device information")["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("signature does not verify"),
        "the reason names the fault: {reason}"
    );
    let simulated = device(&report, "simulated", "fingerprint_reader", sim.port);
    let reason = failed_check(simulated, "blank platen")["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("clean the glass"), "{reason}");

    sim.admin(r#"{"fault": null, "status": "Not Registered"}"#);
    let (_, report) = selftest(&ca, sim.port, &[]);
    let sbi_reader = device(&report, "sbi", "fingerprint_reader", sim.port);
    let reason = failed_check(sbi_reader, "discovery")["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("Not Registered"), "{reason}");
    let reason = failed_check(sbi_reader, "test capture")["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("not registered"), "{reason}");
}

#[test]
fn an_sbi_service_that_answers_only_after_start_up_is_taken_up_in_place_of_the_simulated_devices() {
    use formats::FingerPosition;
    use hardware::DeviceKind;
    use station_core::devices::{choose, DeviceOptions, Drill, InUse};

    let sim = sbi_sim::SbiSim::start(sbi_sim::SimOptions::default()).expect("sbi-sim starts");
    let port = sim.port();
    let dir = temp_dir();
    let ca = dir.path().join("sbi-provider.pem");
    std::fs::write(&ca, sim.ca_pem()).expect("CA written");
    // The service does not answer discovery yet (a reader not plugged in, a service still
    // starting): the station starts with the simulated devices.
    sbi_admin(port, r#"{"delay_ms": {"MOSIPDISC": 5000}}"#);
    let options = DeviceOptions {
        sbi: true,
        sbi_trust: vec![ca],
        sbi_ports: Some(port..=port),
        webcam: false,
        libfprint: false,
        ..DeviceOptions::default()
    };
    let in_use = InUse::new(choose(&options, 1).expect("devices chosen"));
    let at_start = in_use.current();
    assert_eq!(at_start.camera.info().backend, "simulated");
    assert_eq!(at_start.scanner.info().backend, "simulated");
    assert!(in_use.look_again().is_empty(), "still nothing answers");

    // It answers now: at the next look the SBI face camera and slap reader are in use.
    sbi_admin(port, r#"{"delay_ms": {}}"#);
    let taken_up = in_use.look_again();
    let now = in_use.current();
    assert_eq!(
        taken_up.len(),
        2,
        "camera and reader taken up: {taken_up:?}"
    );
    for (kind, info) in [
        (DeviceKind::Camera, now.camera.info()),
        (DeviceKind::FingerprintReader, now.scanner.info()),
    ] {
        assert_eq!((info.backend, info.kind), ("sbi", kind));
        assert!(info.id.starts_with(&format!("{port}:")), "ours: {info:?}");
    }
    let print = now
        .scanner
        .capture(FingerPosition::RightIndex)
        .expect("the SBI reader captures");
    assert!(print.width() > 0 && print.height() > 0);
    assert!(
        now.simulated.drill(Drill::ReaderUnplugged).is_err(),
        "drills never touch a real device"
    );
    assert!(in_use.look_again().is_empty(), "taken up once");

    // The service goes away: both are marked, and nothing takes their place.
    drop(sim);
    assert!(in_use.look_again().is_empty());
    let ready = in_use.current().readiness();
    assert!(!ready.camera && !ready.scanner, "{ready:?}");
}
