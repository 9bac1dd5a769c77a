//! RCAPTURE: the device's state and forced faults checked, the synthetic records built, signed
//! and chained.

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use formats::image::RgbFrame;
use formats::records::face::{FaceImageData, FaceRecord, FaceView};
use formats::records::finger::{Compression, FingerRecord, FingerView};
use formats::records::{CaptureDevice, CaptureTime, QualityBlock};
use formats::FingerPosition;
use hardware::convert::rgb_to_jpeg;
use hardware::sbi::wire::{self, CaptureRequest};
use hardware::simulated::{Conditions, SimulatedCamera, SimulatedScanner};
use hardware::{Camera, FingerSet, FingerprintScanner};

use crate::discovery::{digital_id, now_string};
use crate::{http, sleep_ms, Fault, Shared, SimState, FACE_DEVICE, FINGER_DEVICE};

fn sbi_error(stream: &TcpStream, spec: &str, code: u32, info: &str) {
    let entry = serde_json::json!({
        "specVersion": spec, "data": "", "hash": "",
        "error": {"errorCode": code.to_string(), "errorInfo": info},
    });
    http::json(stream, 500, &serde_json::json!({ "biometrics": [entry] }));
}

/// Clears the "capture running" flag when a capture ends, however it ends.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

pub(crate) fn capture(shared: &Shared, stream: TcpStream, body: &[u8], delay: u64) {
    let Ok(request) = serde_json::from_slice::<CaptureRequest>(body) else {
        return http::json(
            &stream,
            400,
            &serde_json::json!({"error": {"errorCode": "5", "errorInfo": "the request is not an RCAPTURE body"}}),
        );
    };
    let spec = request.spec_version.clone();
    let state = shared.state().clone();
    match state.fault {
        Some(Fault::ConnectionReset) => return http::reset(stream),
        Some(Fault::GarbageJson) => {
            return http::respond(
                &stream,
                200,
                "text/html",
                b"<html><body>Service Temporarily Unavailable</body></html>{\"biometrics\":[",
            )
        }
        _ => {}
    }
    match state.status.as_str() {
        "Busy" => return sbi_error(&stream, &spec, 111, "Device busy"),
        "Not Ready" => return sbi_error(&stream, &spec, 110, "Device not ready"),
        "Not Registered" => return sbi_error(&stream, &spec, 100, "Device not registered"),
        _ => {}
    }
    if let Some(error) = &state.error {
        return sbi_error(&stream, &spec, error.code, &error.info);
    }
    if shared.capturing.swap(true, Ordering::SeqCst) {
        return sbi_error(&stream, &spec, 703, "Capture already running");
    }
    let outcome = {
        // The capture counts as running until its answer is ready, not until it is sent: a
        // client may ask again the moment it has read the answer.
        let _running = Running(&shared.capturing);
        run_capture(shared, &state, &request, delay)
    };
    match outcome {
        Ok(entries) => http::json(&stream, 200, &serde_json::json!({ "biometrics": entries })),
        Err(SimError::Sbi(code, info)) => sbi_error(&stream, &spec, code, &info),
        Err(SimError::Internal(error)) => {
            sbi_error(&stream, &spec, 500, &format!("simulator: {error}"))
        }
    }
}

fn run_capture(
    shared: &Shared,
    state: &SimState,
    request: &CaptureRequest,
    delay: u64,
) -> Result<Vec<serde_json::Value>, SimError> {
    let id_ok = (4..=50).contains(&request.transaction_id.len())
        && request
            .transaction_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !id_ok || !shared.spec_versions.contains(&request.spec_version) {
        return Err(SimError::Sbi(
            112,
            "Invalid transactionId or specVersion".into(),
        ));
    }
    let Some(bio) = request.bio.first() else {
        return Err(SimError::Sbi(101, "No biometric object requested".into()));
    };
    let timeout = request.timeout.parse::<u64>().unwrap_or(10_000);
    if delay > timeout {
        sleep_ms(timeout);
        return Err(SimError::Sbi(701, "Capture timed out".into()));
    }
    sleep_ms(delay);
    build_capture(shared, state, request, bio)
}

enum SimError {
    Sbi(u32, String),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for SimError {
    fn from(error: anyhow::Error) -> Self {
        Self::Internal(error)
    }
}

pub(crate) fn set_of(sub_id: &str) -> Option<FingerSet> {
    FingerSet::ALL
        .into_iter()
        .find(|set| set.sbi_sub_id().to_string() == sub_id)
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    out
}

fn build_capture(
    shared: &Shared,
    state: &SimState,
    request: &CaptureRequest,
    bio: &wire::BioRequest,
) -> Result<Vec<serde_json::Value>, SimError> {
    let now = time::OffsetDateTime::now_utc();
    let device = CaptureDevice {
        technology: 2,
        vendor: 0x0FFF,
        device_type: 1,
    };
    let quality = vec![QualityBlock {
        score: state.quality,
        algorithm_owner: 0x0FFF,
        algorithm_id: 1,
    }];
    // (position name, record bytes)
    let mut records: Vec<(String, Vec<u8>)> = Vec::new();
    match (bio.kind.as_str(), bio.device_id.as_str()) {
        ("Finger", FINGER_DEVICE) => {
            let set = set_of(&bio.device_sub_id).ok_or_else(|| {
                SimError::Sbi(109, format!("unknown deviceSubId {}", bio.device_sub_id))
            })?;
            let mut exceptions = Vec::new();
            for name in &bio.exception {
                let finger = wire::finger_of(name)
                    .filter(|finger| set.fingers().contains(finger))
                    .ok_or_else(|| {
                        SimError::Sbi(
                            109,
                            format!("exception {name:?} is not a finger of this set"),
                        )
                    })?;
                exceptions.push(finger);
            }
            let wanted: Vec<FingerPosition> = set
                .fingers()
                .iter()
                .copied()
                .filter(|f| !exceptions.contains(f))
                .collect();
            if bio.count.parse::<usize>().ok() != Some(wanted.len()) {
                return Err(SimError::Sbi(
                    109,
                    format!(
                        "count {} does not match the set less its exceptions",
                        bio.count
                    ),
                ));
            }
            // The images are as good as the score the device reports.
            let scanner = SimulatedScanner::new(state.person);
            scanner.set_conditions(Conditions::for_quality(state.quality));
            for finger in wanted {
                let image = scanner
                    .capture(finger)
                    .map_err(|e| SimError::Internal(e.into()))?;
                let record = FingerRecord {
                    captured_at: CaptureTime::from_datetime(now),
                    device,
                    views: vec![FingerView {
                        position: finger.iso_code(),
                        quality: quality.clone(),
                        impression: 0,
                        image,
                        compression: Compression::Png,
                    }],
                };
                let bytes = record
                    .to_bytes()
                    .map_err(|e| SimError::Internal(e.into()))?;
                records.push((wire::bio_sub_type(finger).into(), bytes));
            }
        }
        ("Face", FACE_DEVICE) => {
            if bio.count != "1" {
                return Err(SimError::Sbi(
                    109,
                    "a face capture returns one image".into(),
                ));
            }
            // A portrait (3:4) cut from the middle of a 640×480 view, as a face device sends.
            let view = SimulatedCamera::with_resolution(state.person, 640, 480)
                .capture_still()
                .map_err(|e| SimError::Internal(e.into()))?;
            let portrait: Vec<u8> = view
                .pixels()
                .chunks_exact(640 * 3)
                .flat_map(|row| row[140 * 3..500 * 3].iter().copied())
                .collect();
            let frame = RgbFrame::new(360, 480, portrait)
                .ok_or_else(|| SimError::Internal(anyhow::anyhow!("portrait crop size")))?;
            let jpeg = rgb_to_jpeg(&frame, 90).map_err(|e| SimError::Internal(e.into()))?;
            let record = FaceRecord {
                captured_at: CaptureTime::from_datetime(now),
                device,
                views: vec![FaceView {
                    quality: quality.clone(),
                    landmarks: Vec::new(),
                    image_type: 1,
                    data_type: FaceImageData::Jpeg,
                    width: 360,
                    height: 480,
                    data: jpeg,
                }],
            };
            records.push((
                String::new(),
                record
                    .to_bytes()
                    .map_err(|e| SimError::Internal(e.into()))?,
            ));
        }
        _ => {
            return Err(SimError::Sbi(
                106,
                format!("no {} device {}", bio.kind, bio.device_id),
            ))
        }
    }

    let mut previous = if bio.previous_hash.is_empty() {
        sha256(b"")
    } else {
        decode_hex(&bio.previous_hash)
            .ok_or_else(|| SimError::Sbi(5, "previousHash is not hex".into()))?
    };
    if state.fault == Some(Fault::BrokenHashChain) {
        previous = sha256(b"not the previous capture");
    }
    let signer = match state.fault {
        Some(Fault::UntrustedCertificate) => &shared.provider.rogue,
        Some(Fault::IntermediateCa) => &shared.provider.delegated,
        _ => &shared.provider.device,
    };
    let mut id = digital_id(&bio.kind);
    if state.fault == Some(Fault::OtherDevice) {
        id.serial_no = "SIM-OTHER-9999".into();
    }
    let digital = serde_json::to_vec(&id).map_err(|e| SimError::Internal(e.into()))?;
    let digital_id = signer.sign(&digital, false)?;
    let mut entries = Vec::new();
    for (sub_type, record) in records {
        let mut joined = previous.to_vec();
        joined.extend_from_slice(&sha256(&record));
        let hash = sha256(&joined);
        previous = hash;
        let transaction_id = if state.fault == Some(Fault::WrongTransactionId) {
            format!("X{}", request.transaction_id)
        } else {
            request.transaction_id.clone()
        };
        let skew = if state.fault == Some(Fault::StaleTimestamp) {
            -600
        } else {
            0
        };
        let mut data = serde_json::json!({
            "digitalId": digital_id,
            "deviceCode": format!("SIM-{}-CODE", bio.kind),
            "deviceServiceVersion": "1.0.0",
            "bioType": bio.kind,
            "bioSubType": sub_type,
            "purpose": if state.fault == Some(Fault::WrongPurpose) { "Auth" } else { request.purpose.as_str() },
            "env": if state.fault == Some(Fault::WrongEnvironment) { "Production" } else { request.env.as_str() },
            "bioValue": URL_SAFE_NO_PAD.encode(&record),
            "transactionId": transaction_id,
            "timestamp": now_string(skew),
            "requestedScore": bio.requested_score,
            "qualityScore": state.quality.to_string(),
        });
        if state.fault == Some(Fault::MissingQualityScore) {
            if let Some(object) = data.as_object_mut() {
                object.remove("qualityScore");
            }
        }
        let payload = serde_json::to_vec(&data).map_err(|e| SimError::Internal(e.into()))?;
        entries.push(serde_json::json!({
            "specVersion": request.spec_version,
            "data": signer.sign(&payload, state.fault == Some(Fault::BadSignature))?,
            "hash": hash.iter().map(|b| format!("{b:02X}")).collect::<String>(),
            "error": {"errorCode": "0", "errorInfo": "Success"},
        }));
    }
    Ok(entries)
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0; 32];
    if hex.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}
