//! The technician's self-test of the whole station — storage, crypto and audit log, the camera,
//! the fingerprint reader, the link to the server — and its report for export.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{record, require, ActionError};
use crate::clock::{rfc3339, Clock};
use crate::devices::{Chosen, Drill};
use crate::enrollment::FINGER_THRESHOLD;
use crate::officers::{Officer, Permission};
use crate::report::{Section, TechnicianReport};
use crate::station::Station;
use crate::sync::{SyncConfig, Uploader};

/// How long the self-test streams the camera.
const CAMERA_TIME: Duration = Duration::from_secs(3);
/// How long the link test waits for the server.
const LINK_TIMEOUT: Duration = Duration::from_secs(10);

/// The formats a self-test report is exported in.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// For tools.
    Json,
    /// Printable.
    Html,
}

/// Runs the self-test on `devices`, telling `progress` as each part starts (`None`) and ends
/// (its section): `station`, `camera`, `reader`, `server`. With `drill`, that fault is first
/// forced on the simulated device it concerns (practice; real devices are refused), and every
/// drill ends with the run whatever happens. Audited as `selftest.devices` with each part's
/// verdict. Blocks for seconds: call it from a blocking task, not a runtime's worker thread.
///
/// # Errors
/// [`ActionError::NotPermitted`] for roles that do not run self-tests,
/// [`ActionError::DrillRefused`] for a drill on a real device; the database's error.
pub fn run(
    station: &Station,
    by: &Officer,
    devices: &Chosen,
    drill: Option<Drill>,
    mut progress: impl FnMut(&str, Option<&Section>),
    clock: Arc<dyn Clock>,
) -> Result<TechnicianReport, ActionError> {
    require(by, Permission::RunSelfTests)?;
    if let Some(drill) = drill {
        devices
            .simulated
            .drill(drill)
            .map_err(ActionError::DrillRefused)?;
    }
    let sections = {
        // Whatever happens (an error, a panic), no drill outlives the run.
        let _drills_end = EndDrills(&devices.simulated);
        run_sections(station, by, devices, &mut progress, &clock)
    };
    let report = TechnicianReport::new(
        rfc3339(clock.now()),
        station.config().station_name.clone(),
        station.config().station_id.to_string(),
        by.username.clone(),
        drill.map(|d| format!("{d:?}")),
        sections?,
    );
    let summary: Vec<String> = report
        .sections
        .iter()
        .map(|s| format!("{} {}", s.key, s.verdict.label()))
        .collect();
    let drilled = drill
        .map(|d| format!(" (drill: {d:?})"))
        .unwrap_or_default();
    let detail = format!("{}{drilled}", summary.join(", "));
    record(
        station,
        &*clock,
        &by.username,
        "selftest.devices",
        "",
        &detail,
    )?;
    Ok(report)
}

/// Ends the drills on the simulated devices when dropped.
struct EndDrills<'a>(&'a crate::devices::Simulated);

impl Drop for EndDrills<'_> {
    fn drop(&mut self) {
        self.0.end_drills();
    }
}

/// The four parts in order, each announced before and after it runs.
fn run_sections(
    station: &Station,
    by: &Officer,
    devices: &Chosen,
    progress: &mut impl FnMut(&str, Option<&Section>),
    clock: &Arc<dyn Clock>,
) -> Result<Vec<Section>, ActionError> {
    let mut sections = Vec::with_capacity(4);
    let mut step = |key: &str, run: &mut dyn FnMut() -> Result<Section, ActionError>| {
        progress(key, None);
        let section = run()?;
        progress(key, Some(&section));
        sections.push(section);
        Ok::<_, ActionError>(())
    };
    step("station", &mut || {
        let own = crate::selftest::run(station, &by.username, clock.as_ref())?;
        Ok(Section::station(&own))
    })?;
    step("camera", &mut || {
        let camera = hardware::selftest::test_camera(devices.camera.as_ref(), CAMERA_TIME);
        Ok(Section::device("camera", &camera))
    })?;
    step("reader", &mut || {
        let reader = hardware::selftest::test_reader(devices.scanner.as_ref(), FINGER_THRESHOLD);
        Ok(Section::device("reader", &reader))
    })?;
    step("server", &mut || Ok(link_section(station, clock)))?;
    Ok(sections)
}

/// Whether the server answers a request this station signs, and how long it took.
fn link_section(station: &Station, clock: &Arc<dyn Clock>) -> Section {
    let url = station.config().server_url.clone();
    let config = SyncConfig {
        request_timeout: LINK_TIMEOUT,
        ..SyncConfig::default()
    };
    let started = Instant::now();
    let outcome = match Uploader::to_server(station, &url, &config, Arc::clone(clock)) {
        Ok(uploader) => block_on(uploader.check_link()),
        Err(error) => Err(error.to_string()),
    };
    let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Section::server(&url, outcome, took)
}

/// Runs `future` to its end from this thread: on the caller's runtime when there is one (the
/// app calls the self-test in a blocking task of its runtime), else on a runtime of its own.
fn block_on<T>(future: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.block_on(future),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the link test: {error}"))?
            .block_on(future),
    }
}

/// Writes `report` (the last run's; `None` before any) to the station's `reports` folder in
/// `format`; returns the file's path. Audited as `selftest.exported` with where it went.
///
/// # Errors
/// [`ActionError::NotPermitted`], [`ActionError::NoReport`], or [`ActionError::ExportFailed`]
/// when it cannot be written.
pub fn export(
    station: &Station,
    by: &Officer,
    report: Option<&TechnicianReport>,
    format: ReportFormat,
    clock: &dyn Clock,
) -> Result<PathBuf, ActionError> {
    require(by, Permission::RunSelfTests)?;
    let report = report.ok_or(ActionError::NoReport)?;
    let (text, extension) = match format {
        ReportFormat::Json => (report.to_json(), "json"),
        ReportFormat::Html => (report.to_html(), "html"),
    };
    let dir = station.paths().root().join("reports");
    let stamp: String = report
        .at
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let path = dir.join(format!("selftest-{stamp}.{extension}"));
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|error| {
            ActionError::ExportFailed(format!("could not write {}: {error}", path.display()))
        })?;
    let shown = path.display().to_string();
    record(
        station,
        clock,
        &by.username,
        "selftest.exported",
        "",
        &shown,
    )?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{as_role, entries, last_entry, station};
    use crate::actions::ErrorCode;
    use crate::clock::SystemClock;
    use crate::officers::Role;
    use crate::report::ReportVerdict;

    fn clock() -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }

    #[test]
    fn only_technicians_and_administrators_run_or_export_the_self_test() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let devices = Chosen::simulated(1);
        let before = entries(&station);
        for role in [Role::Officer, Role::Supervisor] {
            let who = as_role(role);
            let refused =
                run(&station, &who, &devices, None, |_, _| {}, clock()).expect_err("refused");
            assert_eq!(refused.code(), ErrorCode::NotPermitted);
            let report = TechnicianReport::new(
                "2026-12-03T10:00:00Z".into(),
                "Test desk".into(),
                "id".into(),
                "technician".into(),
                None,
                Vec::new(),
            );
            let refused = export(
                &station,
                &who,
                Some(&report),
                ReportFormat::Json,
                &SystemClock,
            )
            .expect_err("refused");
            assert_eq!(refused.code(), ErrorCode::NotPermitted);
        }
        assert_eq!(entries(&station), before);
    }

    #[test]
    fn a_drill_fails_its_part_ends_with_the_run_and_the_run_and_its_export_are_recorded() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let technician = as_role(Role::Technician);
        let devices = Chosen::simulated(2);
        let mut told = Vec::new();
        let report = run(
            &station,
            &technician,
            &devices,
            Some(Drill::ReaderUnplugged),
            |key, section| told.push((key.to_owned(), section.is_some())),
            clock(),
        )
        .expect("ran");
        let keys: Vec<&str> = report.sections.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["station", "camera", "reader", "server"]);
        assert_eq!(
            told.len(),
            8,
            "each part announced as it starts and as it ends"
        );
        assert_eq!(told[4], ("reader".to_owned(), false));
        let reader = &report.sections[2];
        assert_eq!(
            reader.verdict,
            ReportVerdict::Fail,
            "the unplugged reader fails"
        );
        let server = &report.sections[3];
        assert_eq!(
            server.verdict,
            ReportVerdict::Fail,
            "no server at the configured address"
        );
        let (actor, action, _, detail) = last_entry(&station);
        assert_eq!(
            (actor.as_str(), action.as_str()),
            ("technician", "selftest.devices")
        );
        assert!(detail.contains("reader FAIL"), "{detail}");
        assert!(detail.ends_with("(drill: ReaderUnplugged)"), "{detail}");

        let again = run(&station, &technician, &devices, None, |_, _| {}, clock()).expect("ran");
        assert_ne!(
            again.sections[2].verdict,
            ReportVerdict::Fail,
            "the drill ended with its run: the reader is back"
        );

        let none = export(
            &station,
            &technician,
            None,
            ReportFormat::Html,
            &SystemClock,
        );
        assert_eq!(none.expect_err("no run yet").code(), ErrorCode::NoReport);
        let path = export(
            &station,
            &technician,
            Some(&report),
            ReportFormat::Html,
            &SystemClock,
        )
        .expect("exported");
        assert!(path.starts_with(dir.path().join("reports")));
        let html = std::fs::read_to_string(&path).expect("report");
        assert!(html.contains("<html"), "printable");
        let (_, action, _, detail) = last_entry(&station);
        assert_eq!(action, "selftest.exported");
        assert_eq!(detail, path.display().to_string());
    }

    #[test]
    fn a_drill_on_a_real_device_is_refused_before_anything_runs() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let mut devices = Chosen::simulated(3);
        devices.simulated = crate::devices::Simulated::default();
        let before = entries(&station);
        let refused = run(
            &station,
            &as_role(Role::Administrator),
            &devices,
            Some(Drill::CameraFreeze),
            |_, _| panic!("nothing runs"),
            clock(),
        )
        .expect_err("refused");
        assert_eq!(refused.code(), ErrorCode::DrillRefused);
        assert_eq!(entries(&station), before);
    }
}
