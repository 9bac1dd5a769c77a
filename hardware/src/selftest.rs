//! Device self-tests for technicians: prove a camera or a reader works before a queue forms.
//!
//! Each test returns a [`DeviceReport`]: one [`Check`] per property, each pass, warn or fail with
//! a reason a technician can act on, and the worst verdict overall. Reports serialize to JSON and
//! never contain image data.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::sbi::SbiDevice;
use crate::{Camera, DeviceInfo, FingerSet, FingerprintScanner, FrameStream, SetCapture};
use formats::image::RgbFrame;

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Works as it should.
    Pass,
    /// Works, but not as well as it should.
    Warn,
    /// Does not work.
    Fail,
}

/// One checked property.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What was checked, e.g. "frame rate".
    pub name: &'static str,
    /// The outcome.
    pub verdict: Verdict,
    /// What was found, in words a technician can act on.
    pub reason: String,
    /// How long the check took, in milliseconds.
    pub millis: u64,
}

/// The self-test of one device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceReport {
    /// The device.
    pub device: DeviceInfo,
    /// The worst verdict of its checks.
    pub verdict: Verdict,
    /// Every check, in the order run.
    pub checks: Vec<Check>,
}

impl DeviceReport {
    fn new(device: DeviceInfo, checks: Vec<Check>) -> Self {
        let verdict = checks
            .iter()
            .map(|c| c.verdict)
            .max()
            .unwrap_or(Verdict::Fail);
        Self {
            device,
            verdict,
            checks,
        }
    }

    /// The report of a device that could not be opened at all.
    pub fn unavailable(device: DeviceInfo, reason: &str) -> Self {
        Self::new(
            device,
            vec![Check {
                name: "open",
                verdict: Verdict::Fail,
                reason: reason.to_owned(),
                millis: 0,
            }],
        )
    }

    /// The first failed check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.verdict == Verdict::Fail)
    }
}

struct Checks(Vec<Check>);

impl Checks {
    fn add(&mut self, name: &'static str, started: Instant, (verdict, reason): (Verdict, String)) {
        let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.push(Check {
            name,
            verdict,
            reason,
            millis,
        });
    }
}

/// Luma statistics of a frame.
struct Picture {
    mean: f64,
    clipped: f64,
    sharpness: f64,
    stddev: f64,
}

fn picture(frame: &RgbFrame) -> Picture {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let luma: Vec<f64> = frame
        .pixels()
        .chunks_exact(3)
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect();
    let n = luma.len().max(1) as f64;
    let mean = luma.iter().sum::<f64>() / n;
    let stddev = (luma.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let clipped = luma.iter().filter(|&&v| v >= 250.0).count() as f64 / n;
    // Variance of the Laplacian: a standard focus measure.
    let mut laplacian = Vec::with_capacity(w * h);
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let at = |dx: isize, dy: isize| {
                luma[(y as isize + dy) as usize * w + (x as isize + dx) as usize]
            };
            laplacian.push(at(-1, 0) + at(1, 0) + at(0, -1) + at(0, 1) - 4.0 * at(0, 0));
        }
    }
    let m = laplacian.len().max(1) as f64;
    let lap_mean = laplacian.iter().sum::<f64>() / m;
    let sharpness = laplacian
        .iter()
        .map(|v| (v - lap_mean).powi(2))
        .sum::<f64>()
        / m;
    Picture {
        mean,
        clipped,
        sharpness,
        stddev,
    }
}

/// Tests a camera: it opens, its negotiated format, its frame rate and dropped frames over
/// `duration`, frozen or black pictures, exposure and sharpness.
pub fn test_camera(camera: &dyn Camera, duration: Duration) -> DeviceReport {
    let mut checks = Checks(Vec::new());
    let started = Instant::now();
    let mut stream = match camera.open_stream() {
        Ok(stream) => {
            checks.add("open", started, (Verdict::Pass, "the camera opened".into()));
            stream
        }
        Err(error) => {
            checks.add("open", started, (Verdict::Fail, error.to_string()));
            return DeviceReport::new(camera.info(), checks.0);
        }
    };
    let started = Instant::now();
    let format = stream.format();
    let described = format!(
        "{}×{} {} at {} fps",
        format.width, format.height, format.encoding, format.fps
    );
    let verdict = if format.width >= 1280 && format.height >= 720 && format.fps >= 25 {
        (Verdict::Pass, described)
    } else if format.width >= 640 && format.height >= 480 {
        (
            Verdict::Warn,
            format!("{described}; 1280×720 at 25 fps or more is recommended"),
        )
    } else {
        (
            Verdict::Fail,
            format!("{described} is too small for a passport photo"),
        )
    };
    checks.add("format", started, verdict);

    let started = Instant::now();
    let (frames, error) = collect(&mut *stream, duration);
    let elapsed = started.elapsed().as_secs_f64().max(0.001);
    let measured = frames.len() as f64 / elapsed;
    let expected = (f64::from(format.fps) * elapsed).round();
    let dropped = (expected - frames.len() as f64).max(0.0);
    let verdict = match &error {
        Some(error) => (
            Verdict::Fail,
            format!("the stream broke after {} frames: {error}", frames.len()),
        ),
        None if measured >= 0.9 * f64::from(format.fps) => (
            Verdict::Pass,
            format!("{measured:.1} fps measured over {elapsed:.1} s, {dropped:.0} frames dropped"),
        ),
        None if measured >= 0.5 * f64::from(format.fps) => (
            Verdict::Warn,
            format!(
                "{measured:.1} fps of {} promised, {dropped:.0} frames dropped",
                format.fps
            ),
        ),
        None => (
            Verdict::Fail,
            format!(
                "{measured:.1} fps of {} promised, {dropped:.0} frames dropped",
                format.fps
            ),
        ),
    };
    checks.add("frame rate", started, verdict);

    let started = Instant::now();
    let mut longest = 1;
    let mut run = 1;
    for pair in frames.windows(2) {
        run = if pair[0] == pair[1] { run + 1 } else { 1 };
        longest = longest.max(run);
    }
    let verdict = if frames.len() < 2 {
        (
            Verdict::Fail,
            "too few frames to tell whether the picture moves".into(),
        )
    } else if longest >= 5 {
        (
            Verdict::Fail,
            format!("the picture froze: {longest} identical frames in a row"),
        )
    } else {
        (Verdict::Pass, "the picture is live".into())
    };
    checks.add("live picture", started, verdict);

    let started = Instant::now();
    let stats: Vec<Picture> = frames.iter().map(picture).collect();
    let black = stats.iter().filter(|p| p.mean < 8.0).count();
    let verdict = if black > 0 {
        (
            Verdict::Fail,
            format!(
                "{black} of {} frames were black: is the lens covered?",
                frames.len()
            ),
        )
    } else {
        (Verdict::Pass, "no black frames".into())
    };
    checks.add("black frames", started, verdict);

    let started = Instant::now();
    let lit: Vec<&Picture> = stats.iter().filter(|p| p.mean >= 8.0).collect();
    let verdict = match lit.last() {
        None => (Verdict::Fail, "no lit frame to judge".into()),
        Some(p) if p.mean < 50.0 => (
            Verdict::Fail,
            format!("too dark (mean brightness {:.0} of 255): add light", p.mean),
        ),
        Some(p) if p.clipped > 0.05 => (
            Verdict::Warn,
            format!(
                "{:.0} % of the picture is blown out: reduce the light",
                p.clipped * 100.0
            ),
        ),
        Some(p) if p.mean > 210.0 => (
            Verdict::Warn,
            format!("very bright (mean {:.0} of 255)", p.mean),
        ),
        Some(p) => (
            Verdict::Pass,
            format!(
                "mean brightness {:.0} of 255, {:.1} % clipped",
                p.mean,
                p.clipped * 100.0
            ),
        ),
    };
    checks.add("exposure", started, verdict);

    let started = Instant::now();
    let verdict = match lit.last() {
        None => (Verdict::Fail, "no lit frame to judge".into()),
        Some(p) if p.sharpness < 5.0 => (
            Verdict::Fail,
            format!(
                "the picture is blurred (focus measure {:.1}): clean or focus the lens",
                p.sharpness
            ),
        ),
        Some(p) if p.sharpness < 20.0 => (
            Verdict::Warn,
            format!("the picture is soft (focus measure {:.1})", p.sharpness),
        ),
        Some(p) => (Verdict::Pass, format!("focus measure {:.1}", p.sharpness)),
    };
    checks.add("sharpness", started, verdict);
    DeviceReport::new(camera.info(), checks.0)
}

fn collect(
    stream: &mut dyn FrameStream,
    duration: Duration,
) -> (Vec<RgbFrame>, Option<crate::DeviceError>) {
    let started = Instant::now();
    let mut frames = Vec::new();
    while started.elapsed() < duration {
        match stream.next_frame() {
            Ok(frame) => frames.push(frame),
            Err(error) => return (frames, Some(error)),
        }
    }
    (frames, None)
}

fn platen_check(reader: &dyn FingerprintScanner) -> (Verdict, String) {
    let frame = reader
        .preview(FingerSet::Thumbs)
        .and_then(|mut stream| stream.next_frame());
    match frame {
        Err(crate::DeviceError::Unsupported { .. }) => (
            Verdict::Warn,
            "this reader shows no preview; check by eye that the platen is clean".into(),
        ),
        Err(error) => (Verdict::Fail, format!("no picture of the platen: {error}")),
        Ok(frame) => {
            let p = picture(&frame);
            if p.stddev > 12.0 {
                (
                    Verdict::Fail,
                    format!(
                        "residue on the empty platen (contrast {:.0}): clean the glass",
                        p.stddev
                    ),
                )
            } else if p.mean < 150.0 {
                (
                    Verdict::Warn,
                    format!(
                        "the empty platen looks dark (mean {:.0}): something may lie on it",
                        p.mean
                    ),
                )
            } else {
                (
                    Verdict::Pass,
                    format!("the empty platen is clean (contrast {:.1})", p.stddev),
                )
            }
        }
    }
}

fn latency_check(latency: Duration) -> (Verdict, String) {
    let secs = latency.as_secs_f64();
    if secs < 4.0 {
        (Verdict::Pass, format!("{secs:.2} s"))
    } else if secs < 10.0 {
        (
            Verdict::Warn,
            format!("{secs:.2} s; under 4 s keeps a queue moving"),
        )
    } else {
        (Verdict::Fail, format!("{secs:.2} s"))
    }
}

/// Tests a fingerprint reader: the empty platen is clean, a thumbs capture works with its
/// quality, and how long it takes.
pub fn test_reader(reader: &dyn FingerprintScanner, requested_score: u8) -> DeviceReport {
    let mut checks = Checks(Vec::new());
    let started = Instant::now();
    checks.add("blank platen", started, platen_check(reader));
    let started = Instant::now();
    let captured = reader.capture_set(&SetCapture {
        set: FingerSet::Thumbs,
        exceptions: Vec::new(),
        requested_score,
    });
    let latency = started.elapsed();
    match captured {
        Err(error) => checks.add("test capture", started, (Verdict::Fail, error.to_string())),
        Ok(captures) => {
            let scores: Vec<String> = captures
                .iter()
                .map(|c| c.device_score.map_or("no score".into(), |s| s.to_string()))
                .collect();
            let low = captures
                .iter()
                .any(|c| c.device_score.is_some_and(|s| s < requested_score));
            let verdict = if captures.is_empty() {
                Verdict::Fail
            } else if low {
                Verdict::Warn
            } else {
                Verdict::Pass
            };
            checks.add(
                "test capture",
                started,
                (
                    verdict,
                    format!("{} fingers, quality {}", captures.len(), scores.join(", ")),
                ),
            );
            checks.add("capture latency", started, latency_check(latency));
        }
    }
    DeviceReport::new(reader.info(), checks.0)
}

/// Tests an SBI reader: its discovery status, its signed information, a thumbs capture (which
/// checks signature, certificate, transaction, hash chain and quality), the clock difference
/// between device and station, the empty platen and the capture latency.
pub fn test_sbi_reader(device: &SbiDevice, requested_score: u8) -> DeviceReport {
    let mut checks = Checks(Vec::new());
    let started = Instant::now();
    let status = device.discovered().device_status.as_str();
    let verdict = match status {
        "Ready" => Verdict::Pass,
        "Busy" | "Not Ready" => Verdict::Warn,
        _ => Verdict::Fail,
    };
    checks.add(
        "discovery",
        started,
        (
            verdict,
            format!(
                "found on port {} (SBI {}), status {status}",
                device.port(),
                device.spec_version().as_str()
            ),
        ),
    );
    let started = Instant::now();
    let verdict = match device.signed_info() {
        Ok(info) => (
            Verdict::Pass,
            format!(
                "signature and certificate verify; firmware {}, certification {}",
                info.payload.firmware, info.payload.certification
            ),
        ),
        Err(error) => (Verdict::Fail, error.to_string()),
    };
    checks.add("device information", started, verdict);
    let started = Instant::now();
    checks.add("blank platen", started, platen_check(device));
    let started = Instant::now();
    device.begin_enrollment();
    let captured = device.rcapture(
        "Finger",
        FingerSet::Thumbs.sbi_sub_id(),
        2,
        &[],
        requested_score,
    );
    let latency = started.elapsed();
    device.begin_enrollment();
    match captured {
        Err(error) => checks.add("test capture", started, (Verdict::Fail, error.to_string())),
        Ok(captures) => {
            let low = captures.iter().any(|c| c.quality_score < requested_score);
            let scores: Vec<String> = captures
                .iter()
                .map(|c| c.quality_score.to_string())
                .collect();
            checks.add(
                "test capture",
                started,
                (
                    if low { Verdict::Warn } else { Verdict::Pass },
                    format!(
                        "{} fingers verified, quality {}",
                        captures.len(),
                        scores.join(", ")
                    ),
                ),
            );
            let skew = captures
                .first()
                .map(|c| (c.device_time - time::OffsetDateTime::now_utc()).whole_seconds())
                .unwrap_or_default();
            let verdict = if skew.abs() <= 60 {
                Verdict::Pass
            } else {
                Verdict::Warn
            };
            checks.add(
                "clock",
                started,
                (
                    verdict,
                    format!("device clock {skew:+} s from the station's"),
                ),
            );
            checks.add("capture latency", started, latency_check(latency));
        }
    }
    DeviceReport::new(FingerprintScanner::info(device), checks.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulated::{SimulatedCamera, SimulatedFault, SimulatedScanner};

    #[test]
    fn a_working_simulated_camera_passes_every_check() {
        let camera = SimulatedCamera::with_resolution(3, 1280, 720);
        let report = test_camera(&camera, Duration::from_millis(600));
        let failed: Vec<_> = report
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .collect();
        assert!(failed.is_empty(), "{report:#?}");
        assert_eq!(report.checks.len(), 7);
    }

    #[test]
    fn a_frozen_or_black_camera_fails_with_its_reason() {
        let camera = SimulatedCamera::with_resolution(3, 640, 480);
        camera.script_fault(SimulatedFault::Freeze);
        let report = test_camera(&camera, Duration::from_millis(500));
        let failure = report.first_failure().expect("a failed check");
        assert_eq!(failure.name, "live picture", "{report:#?}");
        assert!(failure.reason.contains("froze"));

        camera.script_fault(SimulatedFault::BlackFrames);
        let report = test_camera(&camera, Duration::from_millis(500));
        assert!(report
            .checks
            .iter()
            .any(|c| c.name == "black frames" && c.verdict == Verdict::Fail));
        assert_eq!(report.verdict, Verdict::Fail);
    }

    #[test]
    fn a_reader_with_residue_on_the_platen_fails_the_blank_platen_check() {
        let reader = SimulatedScanner::new(4);
        let clean = test_reader(&reader, 40);
        assert_eq!(clean.checks[0].verdict, Verdict::Pass, "{clean:#?}");
        reader.set_residue(true);
        let dirty = test_reader(&reader, 40);
        assert_eq!(dirty.first_failure().map(|c| c.name), Some("blank platen"));
        assert!(serde_json::to_string(&dirty)
            .expect("json")
            .contains("clean the glass"));
    }
}
