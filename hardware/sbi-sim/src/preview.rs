//! STREAM: the live preview, a multipart stream of JPEG frames of the slap platen or the face.

use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hardware::convert::rgb_to_jpeg;
use hardware::sbi::wire::StreamRequest;
use hardware::simulated::{render_empty_slap_platen, render_slap, SimulatedCamera};
use hardware::Camera;

use crate::capture::set_of;
use crate::{http, Shared, FACE_DEVICE, FINGER_DEVICE};

pub(crate) fn preview(shared: &Shared, stream: &TcpStream, body: &[u8]) {
    let no_device = |info: &str| {
        http::json(
            stream,
            500,
            &serde_json::json!({"error": {"errorCode": "202", "errorInfo": info}}),
        );
    };
    let Ok(request) = serde_json::from_slice::<StreamRequest>(body) else {
        return no_device("the request is not a STREAM body");
    };
    let state = shared.state().clone();
    if state.status == "Not Registered" {
        return http::json(
            stream,
            500,
            &serde_json::json!({"error": {"errorCode": "100", "errorInfo": "Device not registered"}}),
        );
    }
    let finger_set = (request.device_id == FINGER_DEVICE)
        .then(|| set_of(&request.device_sub_id))
        .flatten();
    if finger_set.is_none() && !(request.device_id == FACE_DEVICE && request.device_sub_id == "0") {
        return no_device("No device for this deviceId and deviceSubId");
    }
    let lasts = Duration::from_millis(request.timeout.parse::<u64>().unwrap_or(10_000).min(60_000));
    let boundary = "mosipframe";
    if http::start_multipart(stream, boundary).is_err() {
        return;
    }
    let started = Instant::now();
    let camera = SimulatedCamera::with_resolution(state.person, 640, 480);
    let mut n = 0u32;
    let mut settling: u32 = 50;
    while started.elapsed() < lasts {
        let frame = match finger_set {
            // Fingers slide into place while a capture runs; between captures the platen
            // is empty (or shows what the last applicant left on it).
            Some(set) if shared.capturing.load(Ordering::SeqCst) => {
                settling = settling.saturating_sub(10);
                Some(render_slap(state.person, set, settling))
            }
            Some(_) => {
                settling = 50;
                Some(render_empty_slap_platen(
                    state.person,
                    shared.state().residue,
                    u64::from(n),
                ))
            }
            None => camera.capture_still().ok(),
        };
        let Some(jpeg) = frame.and_then(|frame| rgb_to_jpeg(&frame, 70).ok()) else {
            break;
        };
        if http::frame(stream, boundary, &jpeg).is_err() {
            break; // the client stopped watching
        }
        n += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::io::Write::write_all(&mut &*stream, format!("--{boundary}--\r\n").as_bytes());
}
