//! Webcams through `nokhwa` (V4L2 on Linux, Media Foundation on Windows, AVFoundation on macOS).
//!
//! `nokhwa`'s camera handle is not `Send`, so each open stream owns a thread that holds the
//! handle and passes raw frames over a bounded channel (two frames: a slow consumer drops frames
//! at the camera, it does not build a queue). Frames are converted to RGB on the consumer side
//! ([`crate::convert`]). The format is negotiated by [`choose_mode`]: MJPEG 1280×720 at 25 fps or
//! more when offered, else the closest sensible mode.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    Resolution,
};

use crate::convert::{mjpeg_to_rgb, yuyv_to_rgb};
use crate::{
    Camera, DeviceError, DeviceInfo, DeviceKind, FingerprintScanner, FrameStream, Host,
    StreamFormat,
};
use formats::image::RgbFrame;

/// A pixel encoding a webcam offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Motion JPEG: small frames, decoded on the host.
    Mjpeg,
    /// Packed YUV 4:2:2: no decoding cost, large frames (USB 2 limits it to low rates at 720p).
    Yuyv,
    /// Anything else (NV12, raw RGB, grey).
    Other,
}

/// One mode a webcam offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Pixel encoding.
    pub encoding: Encoding,
}

/// Picks the mode to stream: MJPEG 1280×720 at ≥ 25 fps when offered; otherwise the mode closest
/// to 1280×720 (not larger than 1920×1080) that reaches 25 fps, MJPEG before YUYV; otherwise the
/// fastest mode of at least 640×480; otherwise the largest mode. `None` only when nothing is
/// offered in an encoding the station decodes.
pub fn choose_mode(modes: &[Mode]) -> Option<Mode> {
    let decodable: Vec<Mode> = modes
        .iter()
        .copied()
        .filter(|mode| mode.encoding != Encoding::Other)
        .collect();
    let rank = |mode: &Mode| u8::from(mode.encoding != Encoding::Mjpeg);
    let distance =
        |mode: &Mode| (i64::from(mode.width) * i64::from(mode.height) - 1280 * 720).abs();
    if let Some(ideal) = decodable.iter().find(|m| {
        m.encoding == Encoding::Mjpeg && (m.width, m.height) == (1280, 720) && m.fps >= 25
    }) {
        return Some(*ideal);
    }
    if let Some(close) = decodable
        .iter()
        .filter(|m| m.fps >= 25 && m.width <= 1920 && m.height <= 1080 && m.width >= 640)
        .min_by_key(|m| (distance(m), rank(m), std::cmp::Reverse(m.fps)))
    {
        return Some(*close);
    }
    if let Some(fastest) = decodable
        .iter()
        .filter(|m| m.width >= 640 && m.height >= 480)
        .max_by_key(|m| (m.fps, std::cmp::Reverse(distance(m))))
    {
        return Some(*fastest);
    }
    decodable
        .into_iter()
        .max_by_key(|m| (m.width * m.height, m.fps))
}

fn mode_of(format: &CameraFormat) -> Mode {
    Mode {
        width: format.resolution().width(),
        height: format.resolution().height(),
        fps: format.frame_rate(),
        encoding: match format.format() {
            FrameFormat::MJPEG => Encoding::Mjpeg,
            FrameFormat::YUYV => Encoding::Yuyv,
            _ => Encoding::Other,
        },
    }
}

/// The webcam backend.
#[derive(Debug, Default)]
pub struct WebcamHost;

impl WebcamHost {
    /// The first camera, or "no camera found".
    ///
    /// # Errors
    /// [`DeviceError::NotFound`] when no camera is connected.
    pub fn first_camera(&self) -> Result<Box<dyn Camera>, DeviceError> {
        let first = self
            .devices()?
            .into_iter()
            .next()
            .ok_or(DeviceError::NotFound {
                what: "camera".into(),
            })?;
        self.open_camera(&first.id)
    }
}

impl Host for WebcamHost {
    fn name(&self) -> &'static str {
        "webcam"
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        let cameras = match nokhwa::query(ApiBackend::Auto) {
            Ok(cameras) => cameras,
            // V4L2 with no /dev/video* at all, or no video subsystem: no cameras, not a fault.
            Err(_) => return Ok(Vec::new()),
        };
        Ok(cameras
            .into_iter()
            .map(|camera| DeviceInfo {
                id: camera.index().to_string(),
                name: camera.human_name(),
                backend: "webcam",
                kind: DeviceKind::Camera,
                status: crate::DeviceStatus::Ready,
            })
            .collect())
    }

    fn open_camera(&self, id: &str) -> Result<Box<dyn Camera>, DeviceError> {
        let info = self
            .devices()?
            .into_iter()
            .find(|device| device.id == id)
            .ok_or(DeviceError::NotFound {
                what: format!("camera {id}"),
            })?;
        Ok(Box::new(Webcam { info }))
    }

    fn open_reader(&self, id: &str) -> Result<Box<dyn FingerprintScanner>, DeviceError> {
        Err(DeviceError::NotFound {
            what: format!("fingerprint reader {id} (the webcam backend has none)"),
        })
    }
}

/// One webcam.
#[derive(Debug)]
pub struct Webcam {
    info: DeviceInfo,
}

fn index_of(id: &str) -> CameraIndex {
    match id.parse::<u32>() {
        Ok(index) => CameraIndex::Index(index),
        Err(_) => CameraIndex::String(id.to_owned()),
    }
}

impl Camera for Webcam {
    fn info(&self) -> DeviceInfo {
        self.info.clone()
    }

    fn open_stream(&self) -> Result<Box<dyn FrameStream>, DeviceError> {
        WebcamStream::open(&self.info).map(|stream| Box::new(stream) as Box<dyn FrameStream>)
    }

    fn capture_still(&self) -> Result<RgbFrame, DeviceError> {
        let mut stream = WebcamStream::open(&self.info)?;
        // Let auto-exposure settle before keeping a frame.
        for _ in 0..5 {
            stream.next_frame()?;
        }
        stream.next_frame()
    }
}

struct RawFrame {
    width: u32,
    height: u32,
    format: FrameFormat,
    bytes: Vec<u8>,
}

/// A stream fed by a thread that owns the `nokhwa` camera.
struct WebcamStream {
    device: String,
    format: StreamFormat,
    frames: Receiver<Result<RawFrame, String>>,
    stop: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl WebcamStream {
    fn open(info: &DeviceInfo) -> Result<Self, DeviceError> {
        let device = info.name.clone();
        let index = index_of(&info.id);
        let (frames_tx, frames) = mpsc::sync_channel(2);
        let (ready_tx, ready) = mpsc::channel::<Result<StreamFormat, DeviceError>>();
        let (stop, stop_rx) = mpsc::sync_channel::<()>(1);
        let name = device.clone();
        let thread = std::thread::Builder::new()
            .name("webcam".into())
            .spawn(move || run_camera(index, name, frames_tx, ready_tx, stop_rx))
            .map_err(|error| DeviceError::Fault {
                device: device.clone(),
                reason: format!("cannot start the capture thread: {error}"),
            })?;
        let format =
            ready
                .recv_timeout(Duration::from_secs(10))
                .map_err(|_| DeviceError::Timeout {
                    device: device.clone(),
                    after: Duration::from_secs(10),
                })??;
        Ok(Self {
            device,
            format,
            frames,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn open_error(device: &str, error: &nokhwa::NokhwaError) -> DeviceError {
    let text = error.to_string();
    if text.contains("busy") || text.contains("Busy") {
        DeviceError::Busy {
            device: device.to_owned(),
        }
    } else if text.contains("No such") || text.contains("not found") {
        DeviceError::Disconnected {
            device: device.to_owned(),
        }
    } else {
        DeviceError::Fault {
            device: device.to_owned(),
            reason: text,
        }
    }
}

fn run_camera(
    index: CameraIndex,
    device: String,
    frames: SyncSender<Result<RawFrame, String>>,
    ready: mpsc::Sender<Result<StreamFormat, DeviceError>>,
    stop: Receiver<()>,
) {
    let probe = RequestedFormat::new::<RgbFormat>(RequestedFormatType::None);
    let mut camera = match nokhwa::Camera::new(index.clone(), probe) {
        Ok(camera) => camera,
        Err(error) => {
            let _ = ready.send(Err(open_error(&device, &error)));
            return;
        }
    };
    let modes: Vec<CameraFormat> = camera.compatible_camera_formats().unwrap_or_default();
    let chosen = choose_mode(&modes.iter().map(mode_of).collect::<Vec<_>>());
    let Some(chosen) = chosen else {
        let _ = ready.send(Err(DeviceError::Unsupported {
            device,
            what: "any MJPEG or YUYV mode".into(),
        }));
        return;
    };
    let frame_format = if chosen.encoding == Encoding::Mjpeg {
        FrameFormat::MJPEG
    } else {
        FrameFormat::YUYV
    };
    let wanted = CameraFormat::new(
        Resolution::new(chosen.width, chosen.height),
        frame_format,
        chosen.fps,
    );
    let opened = camera
        .set_camera_requset(RequestedFormat::new::<RgbFormat>(
            RequestedFormatType::Exact(wanted),
        ))
        .and_then(|_| camera.open_stream());
    if let Err(error) = opened {
        let _ = ready.send(Err(open_error(&device, &error)));
        return;
    }
    let actual = camera.camera_format();
    let _ = ready.send(Ok(StreamFormat {
        width: actual.resolution().width(),
        height: actual.resolution().height(),
        fps: actual.frame_rate(),
        encoding: actual.format().to_string(),
    }));
    loop {
        if !matches!(stop.try_recv(), Err(mpsc::TryRecvError::Empty)) {
            break;
        }
        let frame = camera.frame_raw().map(|bytes| RawFrame {
            width: actual.resolution().width(),
            height: actual.resolution().height(),
            format: actual.format(),
            bytes: bytes.into_owned(),
        });
        let failed = frame.is_err();
        match frames.try_send(frame.map_err(|error| error.to_string())) {
            // A full channel drops the frame: the consumer gets the freshest ones.
            Ok(()) | Err(mpsc::TrySendError::Full(_)) => {}
            Err(mpsc::TrySendError::Disconnected(_)) => break,
        }
        if failed {
            break;
        }
    }
    let _ = camera.stop_stream();
}

impl FrameStream for WebcamStream {
    fn format(&self) -> StreamFormat {
        self.format.clone()
    }

    fn next_frame(&mut self) -> Result<RgbFrame, DeviceError> {
        let raw = match self.frames.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(raw)) => raw,
            Ok(Err(reason)) => {
                return Err(DeviceError::Disconnected {
                    device: format!("{} ({reason})", self.device),
                })
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(DeviceError::Timeout {
                    device: self.device.clone(),
                    after: Duration::from_secs(5),
                })
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(DeviceError::Disconnected {
                    device: self.device.clone(),
                })
            }
        };
        let converted = match raw.format {
            FrameFormat::MJPEG => mjpeg_to_rgb(&raw.bytes),
            FrameFormat::YUYV => yuyv_to_rgb(raw.width, raw.height, &raw.bytes),
            other => {
                return Err(DeviceError::Unsupported {
                    device: self.device.clone(),
                    what: format!("{other} frames"),
                })
            }
        };
        converted.map_err(|error| DeviceError::Protocol {
            device: self.device.clone(),
            reason: error.to_string(),
        })
    }
}

impl Drop for WebcamStream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.try_send(());
        }
        // Unblock a thread waiting to hand over a frame, then let it finish.
        while self.frames.try_recv().is_ok() {}
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(width: u32, height: u32, fps: u32, encoding: Encoding) -> Mode {
        Mode {
            width,
            height,
            fps,
            encoding,
        }
    }

    #[test]
    fn mjpeg_720p_at_30_is_preferred_over_everything_else() {
        let modes = [
            mode(1920, 1080, 30, Encoding::Mjpeg),
            mode(1280, 720, 10, Encoding::Yuyv),
            mode(1280, 720, 30, Encoding::Mjpeg),
            mode(640, 480, 30, Encoding::Yuyv),
        ];
        assert_eq!(
            choose_mode(&modes),
            Some(mode(1280, 720, 30, Encoding::Mjpeg))
        );
    }

    #[test]
    fn without_mjpeg_720p_the_closest_fast_mode_is_chosen_then_the_fastest_large_one() {
        let usb2_yuyv_only = [
            mode(1280, 720, 10, Encoding::Yuyv),
            mode(960, 540, 25, Encoding::Yuyv),
            mode(640, 480, 30, Encoding::Yuyv),
        ];
        assert_eq!(
            choose_mode(&usb2_yuyv_only),
            Some(mode(960, 540, 25, Encoding::Yuyv))
        );
        let slow = [
            mode(1280, 720, 10, Encoding::Yuyv),
            mode(640, 480, 15, Encoding::Yuyv),
        ];
        assert_eq!(choose_mode(&slow), Some(mode(640, 480, 15, Encoding::Yuyv)));
        assert_eq!(choose_mode(&[mode(320, 240, 30, Encoding::Other)]), None);
    }

    #[test]
    fn with_no_camera_present_the_backend_says_no_camera_found() {
        let host = WebcamHost;
        let devices = host.devices().expect("listing cameras never fails");
        if !devices.is_empty() {
            eprintln!("this machine has a camera ({devices:?}); the no-camera case cannot be checked here");
            return;
        }
        let error = host.first_camera().err().expect("no camera");
        assert!(matches!(error, DeviceError::NotFound { .. }));
        assert_eq!(
            error.to_string(),
            "no camera found: connect one and try again"
        );
        assert!(host.open_camera("0").is_err());
    }
}
