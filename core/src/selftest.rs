//! The station's own self-test, for technicians: storage, crypto and the audit log. (Device and
//! server-link checks join it with the hardware and sync work.) Every run is recorded in the
//! audit log; the report holds no applicant data and can be exported as JSON.

use std::time::Instant;

use serde::Serialize;

use crate::audit::{self, AuditEvent};
use crate::clock::{rfc3339, Clock};
use crate::station::Station;
use crate::store::StoreError;

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// What was checked.
    pub name: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// What was found, in words a technician can act on.
    pub detail: String,
    /// How long it took, in milliseconds.
    pub millis: u64,
}

/// A self-test run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelfTestReport {
    /// When it ran (RFC 3339).
    pub at: String,
    /// The station.
    pub station_id: String,
    /// Every check, in order.
    pub checks: Vec<CheckResult>,
}

impl SelfTestReport {
    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }
}

fn timed(name: &'static str, check: impl FnOnce() -> Result<String, String>) -> CheckResult {
    let start = Instant::now();
    let outcome = check();
    let millis = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(detail) => CheckResult {
            name,
            passed: true,
            detail,
            millis,
        },
        Err(detail) => CheckResult {
            name,
            passed: false,
            detail,
            millis,
        },
    }
}

/// Runs every check and records the run in the audit log as `actor`.
///
/// # Errors
/// Only when the run cannot be recorded; failing checks are in the report.
pub fn run(
    station: &Station,
    actor: &str,
    clock: &dyn Clock,
) -> Result<SelfTestReport, StoreError> {
    let checks = vec![
        timed("storage", || {
            station
                .store()
                .integrity_check()
                .map(|()| "SQLite integrity_check: ok".to_owned())
                .map_err(|e| {
                    format!("the database is damaged: {e}; call a technician before enrolling")
                })
        }),
        timed("crypto", || {
            let message = b"enrollment-station self-test";
            let signature = station.signing_key().sign(message);
            if !station.public_key().verify(message, &signature) {
                return Err("the station key does not verify its own signature".into());
            }
            let sealed = station
                .data_key()
                .seal("selftest", message)
                .map_err(|e| e.to_string())?;
            let opened = station
                .data_key()
                .open("selftest", &sealed)
                .map_err(|e| e.to_string())?;
            if opened.as_slice() != message {
                return Err("the data key does not decrypt what it encrypted".into());
            }
            Ok(format!(
                "Ed25519 signing key {} and AES-256-GCM data key work",
                station.public_key().key_id()
            ))
        }),
        timed("audit log", || {
            let report = audit::verify(station).map_err(|e| e.to_string())?;
            if report.findings.is_empty() {
                Ok(format!(
                    "{} entries, {} signed checkpoints, intact",
                    report.entries, report.checkpoints
                ))
            } else {
                Err(report
                    .findings
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "))
            }
        }),
    ];
    let report = SelfTestReport {
        at: rfc3339(clock.now()),
        station_id: station.config().station_id.to_string(),
        checks,
    };
    let failed: Vec<_> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect();
    let detail = if failed.is_empty() {
        format!("{} checks, all passed", report.checks.len())
    } else {
        format!(
            "{} checks, failed: {}",
            report.checks.len(),
            failed.join(", ")
        )
    };
    let event = AuditEvent {
        actor,
        action: "selftest.run",
        subject: "",
        detail: &detail,
    };
    audit::record(station, &event, clock)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    #[test]
    fn a_healthy_station_passes_and_the_run_is_audited() {
        let dir = tempfile::tempdir().expect("dir");
        let station = crate::station::test_station(dir.path());
        let report = run(&station, "tech", &SystemClock).expect("run");
        assert!(report.passed(), "{report:?}");
        let names: Vec<_> = report.checks.iter().map(|c| c.name).collect();
        assert_eq!(names, ["storage", "crypto", "audit log"]);
        let last = station
            .store()
            .audit_entries()
            .expect("audit")
            .pop()
            .expect("entry");
        assert_eq!(
            (last.action.as_str(), last.actor.as_str()),
            ("selftest.run", "tech")
        );
    }

    #[test]
    fn an_edited_audit_log_fails_the_self_test_by_name() {
        let dir = tempfile::tempdir().expect("dir");
        let station = crate::station::test_station(dir.path());
        run(&station, "tech", &SystemClock).expect("first run");
        station
            .store()
            .execute_raw_for_tests("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 1")
            .expect("tamper");
        let report = run(&station, "tech", &SystemClock).expect("run");
        let audit = report
            .checks
            .iter()
            .find(|c| c.name == "audit log")
            .expect("check");
        assert!(!audit.passed);
        assert!(audit.detail.contains("#1"), "{}", audit.detail);
    }
}
