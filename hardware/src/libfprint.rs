//! Fingerprint readers driven by libfprint, through the `fprint-helper` process.
//!
//! libfprint's blocking API deadlocks in a process whose main thread runs a GTK event loop (the
//! desktop app), so this backend never links libfprint: it runs the helper (built with the
//! `libfprint` feature) once per operation and reads its JSON lines. Readers that return images
//! (the feature libfprint calls "capture") are listed; match-on-chip readers are not.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;

use crate::{
    Camera, DeviceError, DeviceInfo, DeviceKind, FingerPosition, FingerprintScanner, Host,
};
use formats::image::FingerprintImage;

/// The libfprint backend.
#[derive(Debug, Clone)]
pub struct LibfprintHost {
    helper: PathBuf,
    env: Vec<(OsString, OsString)>,
    capture_timeout: Duration,
}

#[derive(Deserialize)]
struct Line {
    event: String,
    #[serde(default)]
    devices: Vec<Listed>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    width: u32,
    #[serde(default)]
    height: u32,
    #[serde(default)]
    ppmm: f64,
    #[serde(default)]
    pixels: String,
}

#[derive(Deserialize)]
struct Listed {
    id: String,
    name: String,
    capture: bool,
}

/// Kills the helper when an operation ends early.
struct Helper(Child);

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl LibfprintHost {
    /// A backend that runs `helper`.
    pub fn new(helper: impl Into<PathBuf>) -> Self {
        Self {
            helper: helper.into(),
            env: Vec::new(),
            capture_timeout: Duration::from_secs(30),
        }
    }

    /// The helper named by `STATION_FPRINT_HELPER`, or `fprint-helper` beside the running
    /// program; `None` when neither exists (libfprint support was not built).
    pub fn locate() -> Option<Self> {
        let named = std::env::var_os("STATION_FPRINT_HELPER").map(PathBuf::from);
        let beside = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("fprint-helper")));
        named
            .or(beside)
            .filter(|path| path.is_file())
            .map(Self::new)
    }

    /// Sets an environment variable for the helper (e.g. `FP_VIRTUAL_IMAGE` for libfprint's
    /// virtual reader).
    #[must_use]
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// How long a capture waits for a finger.
    #[must_use]
    pub fn with_capture_timeout(mut self, timeout: Duration) -> Self {
        self.capture_timeout = timeout;
        self
    }

    /// The helper program.
    pub fn helper(&self) -> &Path {
        &self.helper
    }

    /// The reader with `id`, with its libfprint-specific calls.
    ///
    /// # Errors
    /// [`DeviceError::NotFound`] when no image-capable reader has that id.
    pub fn reader(&self, id: &str) -> Result<LibfprintReader, DeviceError> {
        let info = self
            .devices()?
            .into_iter()
            .find(|device| device.id == id)
            .ok_or_else(|| DeviceError::NotFound {
                what: format!("libfprint reader {id}"),
            })?;
        Ok(LibfprintReader {
            host: self.clone(),
            info,
        })
    }

    /// Runs the helper with `args`; lines arrive on the returned channel.
    fn run(&self, args: &[&str]) -> Result<(Helper, mpsc::Receiver<Line>), DeviceError> {
        let mut child = Command::new(&self.helper)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| DeviceError::Fault {
                device: "libfprint".into(),
                reason: format!("cannot run {}: {error}", self.helper.display()),
            })?;
        let stdout = child.stdout.take();
        let (sender, lines) = mpsc::channel();
        if let Some(stdout) = stdout {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Ok(line) = serde_json::from_str::<Line>(&line) {
                        if sender.send(line).is_err() {
                            break;
                        }
                    }
                }
            });
        }
        Ok((Helper(child), lines))
    }
}

fn helper_error(device: &str, line: &Line) -> DeviceError {
    let device = device.to_owned();
    match line.kind.as_str() {
        "not_found" => DeviceError::Disconnected { device },
        "busy" => DeviceError::Busy { device },
        "unsupported" => DeviceError::Unsupported {
            device,
            what: "image capture".into(),
        },
        _ => DeviceError::Fault {
            device,
            reason: line.message.clone(),
        },
    }
}

impl Host for LibfprintHost {
    fn name(&self) -> &'static str {
        "libfprint"
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        let (_helper, lines) = self.run(&["list"])?;
        let line = lines
            .recv_timeout(Duration::from_secs(15))
            .map_err(|_| DeviceError::Fault {
                device: "libfprint".into(),
                reason: "the helper did not list devices".into(),
            })?;
        if line.event != "devices" {
            return Err(helper_error("libfprint", &line));
        }
        Ok(line
            .devices
            .into_iter()
            .filter(|device| device.capture)
            .map(|device| DeviceInfo {
                id: device.id,
                name: device.name,
                backend: "libfprint",
                kind: DeviceKind::FingerprintReader,
                status: crate::DeviceStatus::Ready,
            })
            .collect())
    }

    fn open_camera(&self, id: &str) -> Result<Box<dyn Camera>, DeviceError> {
        Err(DeviceError::NotFound {
            what: format!("camera {id} (the libfprint backend has none)"),
        })
    }

    fn open_reader(&self, id: &str) -> Result<Box<dyn FingerprintScanner>, DeviceError> {
        Ok(Box::new(self.reader(id)?))
    }
}

/// A libfprint reader that returns images.
#[derive(Debug)]
pub struct LibfprintReader {
    host: LibfprintHost,
    info: DeviceInfo,
}

impl LibfprintReader {
    /// Captures one image; `on_waiting` runs once the reader waits for the finger.
    ///
    /// # Errors
    /// [`DeviceError::Timeout`] when no finger came in time; the helper's errors as typed errors.
    pub fn capture_notify(
        &self,
        on_waiting: impl FnOnce(),
    ) -> Result<FingerprintImage, DeviceError> {
        let device = self.info.name.as_str();
        let (_helper, lines) = self.host.run(&["capture", &self.info.id])?;
        let mut on_waiting = Some(on_waiting);
        loop {
            let line = match lines.recv_timeout(self.host.capture_timeout) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(DeviceError::Timeout {
                        device: device.to_owned(),
                        after: self.host.capture_timeout,
                    })
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(DeviceError::ConnectionLost {
                        device: device.to_owned(),
                        reason: "the libfprint helper stopped".into(),
                    })
                }
            };
            match line.event.as_str() {
                "waiting" => {
                    if let Some(callback) = on_waiting.take() {
                        callback();
                    }
                }
                "image" => {
                    let pixels =
                        STANDARD
                            .decode(&line.pixels)
                            .map_err(|_| DeviceError::Protocol {
                                device: device.to_owned(),
                                reason: "the helper sent unreadable pixels".into(),
                            })?;
                    let ppi = if line.ppmm > 0.0 {
                        (line.ppmm * 25.4).round() as u16
                    } else {
                        500
                    };
                    return FingerprintImage::new(line.width, line.height, ppi, pixels).ok_or_else(
                        || DeviceError::Protocol {
                            device: device.to_owned(),
                            reason: "the image size does not match its pixels".into(),
                        },
                    );
                }
                _ => return Err(helper_error(device, &line)),
            }
        }
    }
}

impl FingerprintScanner for LibfprintReader {
    fn info(&self) -> DeviceInfo {
        self.info.clone()
    }

    fn capture(&self, _finger: FingerPosition) -> Result<FingerprintImage, DeviceError> {
        self.capture_notify(|| {})
    }
}
