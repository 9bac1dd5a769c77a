//! The station's devices: which backends are enabled, what they found, and the technicians'
//! self-test over all of them. The CLI (`station devices`) and the app share this.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use hardware::libfprint::LibfprintHost;
use hardware::registry::DeviceRegistry;
use hardware::sbi::{SbiConfig, SbiHost, Trust};
use hardware::selftest::{self, DeviceReport, Verdict};
use hardware::simulated::{SimulatedFault, SimulatedHost};
use hardware::{DeviceInfo, DeviceKind, Host};
use serde::Serialize;

/// A fault to force on a simulated device, for drills and tests of the self-test itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Drill {
    /// The camera's picture freezes.
    CameraFreeze,
    /// The camera delivers black frames.
    CameraBlack,
    /// The camera is unplugged.
    CameraUnplugged,
    /// The applicant is not in place when the camera starts: she stands to the side and steps
    /// into place over four seconds (the face checks say where to move meanwhile).
    CameraApplicantStepsIn,
    /// A latent print is left on the reader's platen.
    ReaderResidue,
    /// The reader is unplugged.
    ReaderUnplugged,
    /// The applicant's fingers are dry: the next set placed on the reader comes out too poor
    /// (four captures), the placement after is good again.
    ReaderDryFingers,
}

/// Dry skin on a light touch, the simulated reader's poorest placement: ridges broken into
/// dots, prints NFIQ 2 mostly cannot score (`docs/benchmarks.md`, level 0).
fn dry() -> hardware::simulated::Conditions {
    hardware::simulated::Conditions::for_quality(0)
}

/// Which backends to use.
#[derive(Debug, Clone, Default)]
pub struct DeviceOptions {
    /// Include the simulated camera and reader.
    pub simulated: bool,
    /// Faults to force on them.
    pub drills: Vec<Drill>,
    /// Scan for SBI device services.
    pub sbi: bool,
    /// PEM file(s) of the trusted SBI device providers.
    pub sbi_trust: Vec<std::path::PathBuf>,
    /// Only scan these SBI ports (default 4501–4600).
    pub sbi_ports: Option<std::ops::RangeInclusive<u16>>,
    /// Look for webcams (when built with the `webcam` feature).
    pub webcam: bool,
    /// Look for libfprint readers (when the helper is installed).
    pub libfprint: bool,
    /// The simulated camera's picture size, when not the default 640×480.
    pub simulated_camera_size: Option<(u32, u32)>,
}

/// Parses a picture size written `WIDTHxHEIGHT`, e.g. `1280x720`.
pub fn parse_size(text: &str) -> Option<(u32, u32)> {
    let (width, height) = text.trim().split_once(['x', 'X'])?;
    let size = (width.parse().ok()?, height.parse().ok()?);
    (size.0 >= 64 && size.1 >= 48 && size.0 <= 7680 && size.1 <= 4320).then_some(size)
}

/// The devices of this station.
pub struct Devices {
    registry: DeviceRegistry,
    sbi: Option<SbiHost>,
}

/// A self-test run over every device.
#[derive(Debug, Clone, Serialize)]
pub struct DevicesReport {
    /// When it ran (RFC 3339).
    pub at: String,
    /// The worst verdict.
    pub verdict: Verdict,
    /// One report per device.
    pub devices: Vec<DeviceReport>,
}

fn read_trust(paths: &[std::path::PathBuf]) -> anyhow::Result<Trust> {
    let mut trust = Trust::default();
    for path in paths {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("reading SBI trust file {}", path.display()))?;
        trust.extend(
            Trust::from_pem(&pem)
                .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?,
        );
    }
    Ok(trust)
}

impl Devices {
    /// Sets up the enabled backends.
    ///
    /// # Errors
    /// When an SBI trust file cannot be read.
    pub fn new(options: &DeviceOptions) -> anyhow::Result<Self> {
        let mut hosts: Vec<Arc<dyn Host>> = Vec::new();
        if options.simulated {
            let host = Arc::new(SimulatedHost::new(1));
            let simulated = Simulated {
                camera: Some(Arc::clone(host.camera())),
                scanner: Some(Arc::clone(host.scanner())),
            };
            for &drill in &options.drills {
                // Both devices are simulated: no drill is refused.
                if let Err(reason) = simulated.drill(drill) {
                    anyhow::bail!(reason);
                }
            }
            hosts.push(host);
        }
        #[cfg(feature = "webcam")]
        if options.webcam {
            hosts.push(Arc::new(hardware::webcam::WebcamHost));
        }
        if options.libfprint {
            if let Some(host) = LibfprintHost::locate() {
                hosts.push(Arc::new(host));
            }
        }
        let sbi = if options.sbi {
            let mut config = SbiConfig::new(read_trust(&options.sbi_trust)?);
            if let Some(ports) = &options.sbi_ports {
                config.ports = ports.clone();
            }
            let host = SbiHost::new(config);
            hosts.push(Arc::new(host.clone()));
            Some(host)
        } else {
            None
        };
        let registry = DeviceRegistry::new(hosts);
        registry.refresh();
        Ok(Self { registry, sbi })
    }

    /// The devices found.
    pub fn list(&self) -> Vec<DeviceInfo> {
        self.registry.devices()
    }

    /// The registry, to watch for hot-plug.
    pub fn registry(&self) -> &DeviceRegistry {
        &self.registry
    }

    /// Self-tests every device; cameras stream for `camera_time`.
    pub fn selftest(&self, camera_time: Duration) -> DevicesReport {
        let reports: Vec<DeviceReport> = self
            .list()
            .into_iter()
            .map(|device| self.test_one(device, camera_time))
            .collect();
        DevicesReport {
            at: crate::clock::rfc3339(time::OffsetDateTime::now_utc()),
            verdict: reports
                .iter()
                .map(|report| report.verdict)
                .max()
                .unwrap_or(Verdict::Fail),
            devices: reports,
        }
    }

    fn test_one(&self, device: DeviceInfo, camera_time: Duration) -> DeviceReport {
        if device.backend == "sbi" && device.kind == DeviceKind::FingerprintReader {
            let found = self
                .sbi
                .as_ref()
                .and_then(|sbi| sbi.device(&device.id).ok());
            return match found {
                Some(sbi) => selftest::test_sbi_reader(&sbi, 40),
                None => DeviceReport::unavailable(device, "the SBI service stopped answering"),
            };
        }
        match device.kind {
            DeviceKind::Camera => match self.registry.open_camera(&device) {
                Ok(camera) => selftest::test_camera(&*camera, camera_time),
                Err(error) => DeviceReport::unavailable(device, &error.to_string()),
            },
            DeviceKind::FingerprintReader => match self.registry.open_reader(&device) {
                Ok(reader) => selftest::test_reader(&*reader, 40),
                Err(error) => DeviceReport::unavailable(device, &error.to_string()),
            },
        }
    }
}

/// The camera and reader an enrollment uses.
#[derive(Clone)]
pub struct Chosen {
    /// The camera.
    pub camera: Arc<dyn hardware::Camera>,
    /// The fingerprint reader.
    pub scanner: Arc<dyn hardware::FingerprintScanner>,
    /// Those of them that are simulated, for drills.
    pub simulated: Simulated,
    /// The real devices the enabled backends list, to tell whether a real one is still there.
    registry: Arc<DeviceRegistry>,
}

/// Whether the camera and the reader in use are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// The camera is there.
    pub camera: bool,
    /// The fingerprint reader is there.
    pub scanner: bool,
}

impl Chosen {
    /// The simulated camera (640×480) and reader showing the applicant chosen by `seed`, with
    /// no backend behind them: what the station falls back on when device setup fails.
    pub fn simulated(seed: u64) -> Self {
        let camera = Arc::new(hardware::simulated::SimulatedCamera::new(seed));
        let scanner = Arc::new(hardware::simulated::SimulatedScanner::new(seed));
        Self {
            camera: camera.clone(),
            scanner: scanner.clone(),
            simulated: Simulated {
                camera: Some(camera),
                scanner: Some(scanner),
            },
            registry: Arc::new(DeviceRegistry::new(Vec::new())),
        }
    }

    /// The devices to use now, as of the registry's last look: a real camera or reader the
    /// backends list takes the place of a simulated one in use, or of a real one they no longer
    /// list (unplugged, or back under a new id). `None` when nothing changes, including when
    /// what is listed does not open.
    pub fn with_connected_devices(&self) -> Option<Self> {
        let listed = self.registry.devices();
        let camera = (self.simulated.camera.is_some() || !is_listed(&listed, &self.camera.info()))
            .then(|| {
                first_opening(&listed, DeviceKind::Camera, |d| {
                    self.registry.open_camera(d)
                })
            })
            .flatten();
        let scanner = (self.simulated.scanner.is_some()
            || !is_listed(&listed, &self.scanner.info()))
        .then(|| {
            first_opening(&listed, DeviceKind::FingerprintReader, |d| {
                self.registry.open_reader(d)
            })
        })
        .flatten();
        if camera.is_none() && scanner.is_none() {
            return None;
        }
        let mut next = self.clone();
        if let Some(camera) = camera {
            next.camera = Arc::from(camera);
            next.simulated.camera = None;
        }
        if let Some(scanner) = scanner {
            next.scanner = Arc::from(scanner);
            next.simulated.scanner = None;
        }
        Some(next)
    }

    /// Whether the devices in use are connected: a simulated one unless it is unplugged (a
    /// drill), a real one while its backend still lists it (as of the last look, see
    /// [`InUse::watch`]).
    pub fn readiness(&self) -> Readiness {
        let listed = self.registry.devices();
        Readiness {
            camera: match &self.simulated.camera {
                Some(camera) => !camera.is_unplugged(),
                None => is_listed(&listed, &self.camera.info()),
            },
            scanner: match &self.simulated.scanner {
                Some(scanner) => !scanner.is_unplugged(),
                None => is_listed(&listed, &self.scanner.info()),
            },
        }
    }
}

/// The first of the `listed` devices of `kind` that `open` opens.
fn first_opening<T>(
    listed: &[DeviceInfo],
    kind: DeviceKind,
    open: impl Fn(&DeviceInfo) -> Result<T, hardware::DeviceError>,
) -> Option<T> {
    listed.iter().filter(|d| d.kind == kind).find_map(|device| {
        open(device)
            .map_err(|error| tracing::debug!(%error, device = %device.name, "it did not open"))
            .ok()
    })
}

/// Whether `listed` has `device` (the same id, backend and kind).
fn is_listed(listed: &[DeviceInfo], device: &DeviceInfo) -> bool {
    listed
        .iter()
        .any(|d| d.id == device.id && d.backend == device.backend && d.kind == device.kind)
}

/// The camera and reader the app uses, shared by its commands; a camera or reader connected
/// after start is taken up by [`watch`](Self::watch) (see [`Chosen::with_connected_devices`]).
/// A capture already running keeps the device it started on.
#[derive(Clone)]
pub struct InUse(Arc<RwLock<Chosen>>);

impl InUse {
    /// Starts with `chosen`.
    pub fn new(chosen: Chosen) -> Self {
        Self(Arc::new(RwLock::new(chosen)))
    }

    /// The devices in use now.
    pub fn current(&self) -> Chosen {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Asks the backends for their devices again and takes up those connected in place of a
    /// simulated device or one gone. Returns the names of the devices taken up.
    pub fn look_again(&self) -> Vec<String> {
        let current = self.current();
        current.registry.refresh();
        let Some(next) = current.with_connected_devices() else {
            return Vec::new();
        };
        let mut taken_up = Vec::new();
        if !Arc::ptr_eq(&next.camera, &current.camera) {
            taken_up.push(next.camera.info().name);
        }
        if !Arc::ptr_eq(&next.scanner, &current.scanner) {
            taken_up.push(next.scanner.info().name);
        }
        tracing::info!(devices = ?taken_up, "devices connected after start taken up");
        // Only the watch thread replaces the devices, so `current` is still what is in use.
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = next;
        taken_up
    }

    /// Keeps [`look_again`](Self::look_again)ing every `every` until the returned handle is
    /// dropped; `None` when no backend is enabled, so nothing could ever be found.
    pub fn watch(&self, every: Duration) -> Option<hardware::registry::Watch> {
        if !self.current().registry.has_backends() {
            return None;
        }
        let in_use = self.clone();
        Some(hardware::registry::Watch::every(every, move || {
            in_use.look_again();
        }))
    }
}

/// The simulated devices in use, on which a technician may force a fault to practise with the
/// self-test. Real devices are never touched.
#[derive(Debug, Clone, Default)]
pub struct Simulated {
    /// The simulated camera, when it is the one in use.
    pub camera: Option<Arc<hardware::simulated::SimulatedCamera>>,
    /// The simulated reader, when it is the one in use.
    pub scanner: Option<Arc<hardware::simulated::SimulatedScanner>>,
}

impl Simulated {
    /// Forces `drill`'s fault on the simulated device it concerns.
    ///
    /// # Errors
    /// When that device is a real one: drills never touch real devices.
    pub fn drill(&self, drill: Drill) -> Result<(), String> {
        let real = |what: &str| {
            format!("the {what} in use is a real device: drills only run on simulated devices")
        };
        match drill {
            Drill::CameraFreeze
            | Drill::CameraBlack
            | Drill::CameraUnplugged
            | Drill::CameraApplicantStepsIn => {
                let camera = self.camera.as_ref().ok_or_else(|| real("camera"))?;
                match drill {
                    Drill::CameraFreeze => camera.script_fault(SimulatedFault::Freeze),
                    Drill::CameraBlack => camera.script_fault(SimulatedFault::BlackFrames),
                    Drill::CameraApplicantStepsIn => camera.step_in_next_stream(120),
                    _ => camera.set_unplugged(true),
                }
            }
            Drill::ReaderResidue | Drill::ReaderUnplugged | Drill::ReaderDryFingers => {
                let scanner = self
                    .scanner
                    .as_ref()
                    .ok_or_else(|| real("fingerprint reader"))?;
                match drill {
                    Drill::ReaderResidue => scanner.set_residue(true),
                    Drill::ReaderUnplugged => scanner.set_unplugged(true),
                    _ => scanner.set_conditions_for_next(dry(), 4),
                }
            }
        }
        Ok(())
    }

    /// Ends every drill: the simulated devices are plugged in and clean again.
    pub fn end_drills(&self) {
        if let Some(camera) = &self.camera {
            camera.set_unplugged(false);
            camera.step_in_next_stream(0);
        }
        if let Some(scanner) = &self.scanner {
            scanner.set_unplugged(false);
            scanner.set_residue(false);
            scanner.set_conditions_for_next(hardware::simulated::Conditions::GOOD, 0);
        }
    }
}

/// Picks the devices for enrolling: a real camera and reader when the enabled backends find one
/// that opens (webcam, SBI, libfprint, in the order found), else the simulated ones showing the
/// applicant chosen by `seed`.
///
/// # Errors
/// When an SBI trust file cannot be read.
pub fn choose(options: &DeviceOptions, seed: u64) -> anyhow::Result<Chosen> {
    let real = DeviceOptions {
        simulated: false,
        ..options.clone()
    };
    let devices = Devices::new(&real)?;
    let found = devices.list();
    let mut simulated = Simulated::default();
    let camera = first_opening(&found, DeviceKind::Camera, |d| {
        devices.registry.open_camera(d)
    })
    .map(Arc::from)
    .unwrap_or_else(|| {
        let (width, height) = options.simulated_camera_size.unwrap_or((640, 480));
        let camera = Arc::new(hardware::simulated::SimulatedCamera::with_resolution(
            seed, width, height,
        ));
        simulated.camera = Some(Arc::clone(&camera));
        camera as Arc<dyn hardware::Camera>
    });
    let scanner = first_opening(&found, DeviceKind::FingerprintReader, |d| {
        devices.registry.open_reader(d)
    })
    .map(Arc::from)
    .unwrap_or_else(|| {
        let scanner = Arc::new(hardware::simulated::SimulatedScanner::new(seed));
        simulated.scanner = Some(Arc::clone(&scanner));
        scanner as Arc<dyn hardware::FingerprintScanner>
    });
    tracing::info!(
        camera = %camera.info().name,
        scanner = %scanner.info().name,
        "devices chosen"
    );
    Ok(Chosen {
        camera,
        scanner,
        simulated,
        registry: Arc::new(devices.registry),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_unplugged_is_reported_not_ready_until_it_is_back() {
        // Devices behind a backend (the simulated host stands in for a real one here): ready
        // while the backend lists them, as of the registry's last look.
        let host = Arc::new(SimulatedHost::new(1));
        let registry = Arc::new(DeviceRegistry::new(vec![host.clone() as Arc<dyn Host>]));
        registry.refresh();
        let listed = registry.devices();
        let open = |kind| listed.iter().find(|d| d.kind == kind).expect("listed");
        let chosen = Chosen {
            camera: Arc::from(
                registry
                    .open_camera(open(DeviceKind::Camera))
                    .expect("camera"),
            ),
            scanner: Arc::from(
                registry
                    .open_reader(open(DeviceKind::FingerprintReader))
                    .expect("reader"),
            ),
            simulated: Simulated::default(),
            registry: Arc::clone(&registry),
        };
        let both = Readiness {
            camera: true,
            scanner: true,
        };
        assert_eq!(chosen.readiness(), both);
        host.set_present(DeviceKind::FingerprintReader, false);
        registry.refresh();
        assert_eq!(
            chosen.readiness(),
            Readiness {
                camera: true,
                scanner: false
            }
        );
        host.set_present(DeviceKind::FingerprintReader, true);
        registry.refresh();
        assert_eq!(chosen.readiness(), both);

        // The simulated devices the app falls back on: not ready while a drill unplugs them.
        let options = DeviceOptions::default();
        let chosen = choose(&options, 1).expect("simulated devices");
        assert_eq!(chosen.readiness(), both);
        chosen
            .simulated
            .drill(Drill::CameraUnplugged)
            .expect("simulated camera");
        assert!(!chosen.readiness().camera);
        chosen.simulated.end_drills();
        assert_eq!(chosen.readiness(), both);
    }

    #[test]
    fn a_reader_plugged_in_after_start_is_taken_up_in_place_of_the_simulated_one() {
        // The app started while no reader was plugged in (the simulated host stands in for a
        // real backend, as above), so it enrolls with a simulated reader.
        let host = Arc::new(SimulatedHost::new(1));
        host.set_present(DeviceKind::FingerprintReader, false);
        let registry = Arc::new(DeviceRegistry::new(vec![host.clone() as Arc<dyn Host>]));
        registry.refresh();
        let listed = registry.devices();
        let camera_info = listed
            .iter()
            .find(|d| d.kind == DeviceKind::Camera)
            .expect("camera listed");
        let fallback = Arc::new(hardware::simulated::SimulatedScanner::new(7));
        let in_use = InUse::new(Chosen {
            camera: Arc::from(registry.open_camera(camera_info).expect("camera")),
            scanner: fallback.clone(),
            simulated: Simulated {
                camera: None,
                scanner: Some(fallback),
            },
            registry: Arc::clone(&registry),
        });
        let before = in_use.current();
        assert!(in_use.look_again().is_empty(), "no reader yet");
        assert!(Arc::ptr_eq(&in_use.current().scanner, &before.scanner));

        host.set_present(DeviceKind::FingerprintReader, true);
        let taken_up = in_use.look_again();
        let now = in_use.current();
        assert_eq!(taken_up, vec![now.scanner.info().name]);
        assert_eq!(
            now.scanner.info().id,
            "simulated-scanner-1",
            "the plugged-in reader"
        );
        assert!(
            Arc::ptr_eq(&now.camera, &before.camera),
            "the camera in use stays"
        );
        assert!(
            now.simulated.drill(Drill::ReaderUnplugged).is_err(),
            "drills no longer reach the reader"
        );
        assert!(in_use.look_again().is_empty(), "taken up once");

        // Pulled out again: marked, and kept (there is nothing to take its place); back under
        // its id, ready again with the same handle.
        host.set_present(DeviceKind::FingerprintReader, false);
        assert!(in_use.look_again().is_empty());
        assert!(!in_use.current().readiness().scanner);
        host.set_present(DeviceKind::FingerprintReader, true);
        assert!(in_use.look_again().is_empty());
        assert!(in_use.current().readiness().scanner);
        assert!(Arc::ptr_eq(&in_use.current().scanner, &now.scanner));
    }

    #[test]
    fn the_fallback_devices_have_nothing_to_watch() {
        assert!(InUse::new(Chosen::simulated(1))
            .watch(Duration::from_secs(3))
            .is_none());
    }

    #[test]
    fn picture_sizes_are_read_as_width_x_height_within_reason() {
        assert_eq!(parse_size("1280x720"), Some((1280, 720)));
        assert_eq!(parse_size(" 640X480 "), Some((640, 480)));
        assert_eq!(parse_size("1280"), None);
        assert_eq!(parse_size("10x10"), None);
        assert_eq!(parse_size("99999x720"), None);
    }
}
