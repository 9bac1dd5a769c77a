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
    let sections = run_sections(station, by, devices, &mut progress, &clock);
    devices.simulated.end_drills();
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

/// Writes `report` to the station's `reports` folder in `format`; returns the file's path.
/// Audited as `selftest.exported` with where it went.
///
/// # Errors
/// [`ActionError::NotPermitted`], or [`ActionError::ExportFailed`] when it cannot be written.
pub fn export(
    station: &Station,
    by: &Officer,
    report: &TechnicianReport,
    format: ReportFormat,
    clock: &dyn Clock,
) -> Result<PathBuf, ActionError> {
    require(by, Permission::RunSelfTests)?;
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
