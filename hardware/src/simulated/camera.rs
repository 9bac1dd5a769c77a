use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{face, FaultScript, SimulatedFault};
use crate::{Camera, DeviceError, DeviceInfo, DeviceKind, FrameStream, StreamFormat};
use formats::image::RgbFrame;

/// A camera that shows a real applicant's photograph, swaying slightly and under slowly
/// changing light from frame to frame. Its stream is paced at 30 frames per second; scripted
/// faults freeze the picture, black it out, or unplug the camera mid-stream.
#[derive(Debug)]
pub struct SimulatedCamera {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    seed: u64,
    width: u32,
    height: u32,
    frame: AtomicU64,
    faults: FaultScript,
    /// Frames the next stream's applicant takes to step into place.
    step_in: AtomicU64,
}

const FPS: u32 = 30;
/// Where an applicant stepping in starts: this share of the frame's width to the side.
const STEP_IN_FROM: f64 = 0.3;

impl SimulatedCamera {
    /// A 640×480 camera whose applicant is chosen by `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_resolution(seed, 640, 480)
    }

    /// A camera of the given resolution (at least 64×48).
    pub fn with_resolution(seed: u64, width: u32, height: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                seed,
                width: width.max(64),
                height: height.max(48),
                frame: AtomicU64::new(0),
                faults: FaultScript::default(),
                step_in: AtomicU64::new(0),
            }),
        }
    }

    /// Makes the next capture fail with `fault` (or, for picture faults, the next frames).
    pub fn script_fault(&self, fault: SimulatedFault) {
        self.inner.faults.push(fault);
    }

    /// In the next stream the applicant is not in place at first: she stands to the side and
    /// steps into place over `frames` frames (an applicant who is not ready yet).
    pub fn step_in_next_stream(&self, frames: u32) {
        self.inner
            .step_in
            .store(u64::from(frames), Ordering::Relaxed);
    }

    /// Unplugs (`true`) or replugs (`false`) the camera.
    pub fn set_unplugged(&self, unplugged: bool) {
        self.inner.faults.set_unplugged(unplugged);
    }

    /// Whether the camera is unplugged.
    pub fn is_unplugged(&self) -> bool {
        self.inner.faults.is_unplugged()
    }
}

impl Inner {
    fn render(&self, frame: u64, aside: f64) -> RgbFrame {
        let mut picture = face::render(self.seed, frame, self.width, self.height, aside);
        // Daylight drifting through a window: ±8 % over about 4 seconds.
        let light = 1.0 + 0.08 * (frame as f64 * 0.05).sin();
        if (light - 1.0).abs() > 0.005 {
            let pixels: Vec<u8> = picture
                .pixels()
                .iter()
                .map(|&p| (f64::from(p) * light).clamp(0.0, 255.0) as u8)
                .collect();
            picture = RgbFrame::new(self.width, self.height, pixels).unwrap_or(picture);
        }
        picture
    }

    fn name(&self) -> &'static str {
        "Simulated camera"
    }
}

impl Camera for SimulatedCamera {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: format!("simulated-camera-{}", self.inner.seed),
            name: "Simulated camera".into(),
            backend: "simulated",
            kind: DeviceKind::Camera,
            status: crate::DeviceStatus::Ready,
        }
    }

    fn open_stream(&self) -> Result<Box<dyn FrameStream>, DeviceError> {
        self.inner.faults.next_error(self.inner.name())?;
        Ok(Box::new(SimulatedStream {
            inner: Arc::clone(&self.inner),
            started: Instant::now(),
            delivered: 0,
            frozen: None,
            black: 0,
            step_in: self.inner.step_in.swap(0, Ordering::Relaxed),
        }))
    }

    fn capture_still(&self) -> Result<RgbFrame, DeviceError> {
        self.inner.faults.next_error(self.inner.name())?;
        let frame = self.inner.frame.fetch_add(1, Ordering::Relaxed);
        Ok(self.inner.render(frame, 0.0))
    }
}

/// A paced stream of rendered frames.
struct SimulatedStream {
    inner: Arc<Inner>,
    started: Instant,
    delivered: u64,
    /// A frozen picture and how many more frames repeat it.
    frozen: Option<(RgbFrame, u32)>,
    black: u32,
    /// Frames this stream's applicant takes to step into place.
    step_in: u64,
}

impl FrameStream for SimulatedStream {
    fn format(&self) -> StreamFormat {
        StreamFormat {
            width: self.inner.width,
            height: self.inner.height,
            fps: FPS,
            encoding: "RGB".into(),
        }
    }

    fn next_frame(&mut self) -> Result<RgbFrame, DeviceError> {
        if self.inner.faults.is_unplugged() {
            return Err(DeviceError::Disconnected {
                device: self.inner.name().into(),
            });
        }
        // Pace like a sensor: frame n is ready n/30 s after the stream opened.
        let due = self.started + Duration::from_secs_f64(self.delivered as f64 / f64::from(FPS));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        self.delivered += 1;
        match self.inner.faults.take_picture_fault() {
            Some(SimulatedFault::BlackFrames) => self.black = 10,
            Some(SimulatedFault::Freeze) => {
                let still = self
                    .inner
                    .render(self.inner.frame.load(Ordering::Relaxed), 0.0);
                self.frozen = Some((still, 30));
            }
            _ => {}
        }
        if self.black > 0 {
            self.black -= 1;
            let pixels = vec![0; self.inner.width as usize * self.inner.height as usize * 3];
            return RgbFrame::new(self.inner.width, self.inner.height, pixels).ok_or(
                DeviceError::Fault {
                    device: self.inner.name().into(),
                    reason: "frame buffer size".into(),
                },
            );
        }
        if let Some((still, left)) = self.frozen.take() {
            if left > 1 {
                self.frozen = Some((still.clone(), left - 1));
            }
            return Ok(still);
        }
        let frame = self.inner.frame.fetch_add(1, Ordering::Relaxed);
        let aside = if self.delivered < self.step_in {
            STEP_IN_FROM * (1.0 - self.delivered as f64 / self.step_in as f64)
        } else {
            0.0
        };
        Ok(self.inner.render(frame, aside))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn the_same_seed_shows_the_same_applicant() {
        let a = SimulatedCamera::new(7).capture_still().expect("frame");
        let b = SimulatedCamera::new(7).capture_still().expect("frame");
        let c = SimulatedCamera::new(8).capture_still().expect("frame");
        assert_eq!(a, b, "a seed must reproduce its frames exactly");
        assert_ne!(a, c, "another seed must show another applicant");
        assert_eq!((a.width(), a.height()), (640, 480));
    }

    #[test]
    fn a_scripted_fault_fails_one_capture_then_the_camera_recovers() {
        let camera = SimulatedCamera::new(1);
        camera.script_fault(SimulatedFault::Busy);
        let error = camera.capture_still().expect_err("scripted busy");
        assert_eq!(error.kind(), ErrorKind::Retry);
        camera.capture_still().expect("the fault lasts one call");
    }

    #[test]
    fn an_unplugged_camera_asks_to_be_replugged_until_plugged_back() {
        let camera = SimulatedCamera::new(1);
        camera.set_unplugged(true);
        for _ in 0..2 {
            let error = camera.capture_still().expect_err("unplugged");
            assert_eq!(error.kind(), ErrorKind::Replug);
        }
        camera.set_unplugged(false);
        camera.capture_still().expect("replugged");
    }

    #[test]
    fn a_stream_moves_then_freezes_blacks_out_and_breaks_when_unplugged() {
        let camera = SimulatedCamera::with_resolution(2, 96, 72);
        let mut stream = camera.open_stream().expect("stream");
        let first = stream.next_frame().expect("frame");
        let second = stream.next_frame().expect("frame");
        assert_ne!(first, second, "a live picture changes");

        camera.script_fault(SimulatedFault::Freeze);
        let frozen = stream.next_frame().expect("frame");
        assert_eq!(
            stream.next_frame().expect("frame"),
            frozen,
            "a frozen picture repeats"
        );

        let mut stream = camera.open_stream().expect("stream");
        camera.script_fault(SimulatedFault::BlackFrames);
        let black = stream.next_frame().expect("frame");
        assert!(black.pixels().iter().all(|&p| p == 0));

        camera.set_unplugged(true);
        let error = stream.next_frame().expect_err("unplugged mid-stream");
        assert!(matches!(error, DeviceError::Disconnected { .. }));
    }
}
