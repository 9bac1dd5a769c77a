//! A simulated MOSIP SBI device service.
//!
//! It speaks SBI 0.9.5 and/or 1.0 over real HTTP on `127.0.0.1` (a port in 4501–4600), with two
//! devices: `1`, a slap fingerprint reader (sub-devices 1 left slap, 2 right slap, 3 thumbs) and
//! `2`, a face camera (sub-device 0). It signs every answer with its own generated device key
//! (EdDSA or RS256), issued by its own "device provider" CA ([`SbiSim::ca_pem`]), returns
//! ISO/IEC 19794-4 finger records and a 19794-5 face record, streams JPEG previews, and keeps
//! the capture hash chain.
//!
//! Admin endpoints (plain HTTP methods) force its behaviour, for tests and drills:
//! - `GET /admin/state`, `POST /admin/state` with any of `status` ("Ready", "Busy",
//!   "Not Ready", "Not Registered"), `quality` (0–100), `delay_ms` (per method, e.g.
//!   `{"RCAPTURE": 2000}`), `error` (`{"code": 701, "info": "…"}` or `null`), `person` (which
//!   synthetic applicant), `fault` (see [`Fault`], or `null`);
//! - `POST /admin/reset` back to defaults; `GET /admin/ca` the CA certificate (PEM).

mod http;
mod keys;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use formats::image::RgbFrame;
use formats::records::face::{FaceImageData, FaceRecord, FaceView};
use formats::records::finger::{Compression, FingerRecord, FingerView};
use formats::records::{CaptureDevice, CaptureTime, QualityBlock};
use formats::FingerPosition;
use hardware::convert::rgb_to_jpeg;
use hardware::sbi::wire::{self, CaptureRequest, DigitalId, StreamRequest};
use hardware::simulated::{
    render_empty_slap_platen, render_slap, Conditions, SimulatedCamera, SimulatedScanner,
};
use hardware::{Camera, FingerSet, FingerprintScanner};
use serde::{Deserialize, Serialize};

pub use keys::Algorithm;

const FINGER_DEVICE: &str = "1";
const FACE_DEVICE: &str = "2";

/// A misbehaviour the simulator can be told to show on every capture until cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Echo another transaction id.
    WrongTransactionId,
    /// Corrupt the JWS signature.
    BadSignature,
    /// Sign with a self-signed certificate no provider issued.
    UntrustedCertificate,
    /// Stamp captures ten minutes in the past.
    StaleTimestamp,
    /// Chain from the wrong previous hash.
    BrokenHashChain,
    /// Leave out the quality score.
    MissingQualityScore,
    /// Answer with an HTML page instead of JSON.
    GarbageJson,
    /// Reset the connection instead of answering.
    ConnectionReset,
    /// Capture for authentication instead of registration.
    WrongPurpose,
    /// Capture in the production environment, whatever was asked.
    WrongEnvironment,
    /// Sign the capture with another device's digital id.
    OtherDevice,
    /// Sign with a device certificate issued through an intermediate CA, sent in `x5c` (a
    /// legitimate provider set-up: the station must accept it).
    IntermediateCa,
}

/// Forced error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForcedError {
    /// The SBI error code.
    pub code: u32,
    /// Its words.
    #[serde(default)]
    pub info: String,
}

/// What the admin endpoints control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimState {
    /// "Ready", "Busy", "Not Ready" or "Not Registered".
    pub status: String,
    /// The quality score returned, 0–100; the images degrade with it
    /// ([`Conditions::for_quality`]).
    pub quality: u8,
    /// Milliseconds to wait before answering, per method.
    pub delay_ms: BTreeMap<String, u64>,
    /// An error every capture answers with.
    pub error: Option<ForcedError>,
    /// The synthetic applicant.
    pub person: u64,
    /// A misbehaviour.
    pub fault: Option<Fault>,
    /// A latent print left on the platen, visible in the preview between captures.
    pub residue: bool,
}

impl Default for SimState {
    fn default() -> Self {
        Self {
            status: "Ready".into(),
            quality: 80,
            delay_ms: BTreeMap::new(),
            error: None,
            person: 1,
            fault: None,
            residue: false,
        }
    }
}

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The port; `None` takes the first free one in 4501–4600.
    pub port: Option<u16>,
    /// The signature algorithm.
    pub algorithm: Algorithm,
    /// Specification versions it speaks ("0.9.5", "1.0").
    pub spec_versions: Vec<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            port: None,
            algorithm: Algorithm::EdDsa,
            spec_versions: vec!["0.9.5".into()],
        }
    }
}

struct Shared {
    state: Mutex<SimState>,
    capturing: AtomicBool,
    provider: keys::Provider,
    spec_versions: Vec<String>,
    port: u16,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running simulator; stops when dropped.
pub struct SbiSim {
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SbiSim {
    /// Generates keys, binds the port and starts answering.
    ///
    /// # Errors
    /// When no port is free or key generation fails.
    pub fn start(options: SimOptions) -> Result<Self> {
        let listener = match options.port {
            Some(port) => TcpListener::bind(("127.0.0.1", port))
                .with_context(|| format!("port {port} is taken"))?,
            None => hardware::sbi::PORTS
                .clone()
                .find_map(|port| TcpListener::bind(("127.0.0.1", port)).ok())
                .context("every port in 4501–4600 is taken")?,
        };
        let port = listener.local_addr()?.port();
        let provider = keys::Provider::generate(options.algorithm)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(SimState::default()),
            capturing: AtomicBool::new(false),
            provider,
            spec_versions: options.spec_versions,
            port,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("sbi-sim".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = stream else { continue };
                        let shared = Arc::clone(&shared);
                        std::thread::spawn(move || handle(&shared, stream));
                    }
                })?
        };
        Ok(Self {
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// The device provider CA that issued its device certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.shared.provider.ca_pem
    }

    /// Blocks until the process is stopped.
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SbiSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], self.shared.port)),
            Duration::from_millis(200),
        );
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn handle(shared: &Shared, stream: TcpStream) {
    let Ok(request) = http::read_request(&stream) else {
        return;
    };
    if request.path.starts_with("/admin") {
        return admin(shared, &stream, &request);
    }
    let delay = shared
        .state()
        .delay_ms
        .get(&request.method)
        .copied()
        .unwrap_or(0);
    // Each version names discovery and information its own way.
    let version = match request.method.as_str() {
        "MOSIPDISC" | "MOSIPDINFO" => "0.9.5",
        "SBIDISC" | "SBIDINFO" => "1.0",
        _ => "",
    };
    let speaks = shared.spec_versions.iter().any(|v| v == version);
    match (request.method.as_str(), request.path.as_str()) {
        ("MOSIPDISC" | "SBIDISC", "/device") if speaks => {
            sleep_ms(delay);
            discover(shared, &stream);
        }
        ("MOSIPDINFO" | "SBIDINFO", "/info") if speaks => {
            sleep_ms(delay);
            info(shared, &stream);
        }
        ("RCAPTURE", "/capture") => capture(shared, stream, &request.body, delay),
        ("STREAM", "/stream") => preview(shared, &stream, &request.body),
        _ => http::respond(
            &stream,
            405,
            "text/html",
            b"<html><body>405 Method Not Allowed</body></html>",
        ),
    }
}

fn sleep_ms(ms: u64) {
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

fn admin(shared: &Shared, stream: &TcpStream, request: &http::Request) {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/admin/state") => {}
        ("POST", "/admin/state") => {
            let Ok(serde_json::Value::Object(changes)) = serde_json::from_slice(&request.body)
            else {
                return http::json(
                    stream,
                    400,
                    &serde_json::json!({"error": "expected a JSON object"}),
                );
            };
            let mut state = shared.state();
            let mut merged = serde_json::to_value(&*state).unwrap_or_default();
            if let Some(object) = merged.as_object_mut() {
                for (key, value) in changes {
                    if !object.contains_key(&key) {
                        drop(state);
                        return http::json(
                            stream,
                            400,
                            &serde_json::json!({"error": format!("unknown setting {key}")}),
                        );
                    }
                    object.insert(key, value);
                }
            }
            match serde_json::from_value::<SimState>(merged) {
                Ok(new)
                    if ["Ready", "Busy", "Not Ready", "Not Registered"]
                        .contains(&new.status.as_str())
                        && new.quality <= 100 =>
                {
                    *state = new
                }
                Ok(_) => {
                    drop(state);
                    return http::json(
                        stream,
                        400,
                        &serde_json::json!({"error": "status or quality out of range"}),
                    );
                }
                Err(error) => {
                    drop(state);
                    return http::json(
                        stream,
                        400,
                        &serde_json::json!({"error": error.to_string()}),
                    );
                }
            }
        }
        ("POST", "/admin/reset") => *shared.state() = SimState::default(),
        ("GET", "/admin/ca") => {
            return http::respond(
                stream,
                200,
                "application/x-pem-file",
                shared.provider.ca_pem.as_bytes(),
            )
        }
        _ => {
            return http::json(
                stream,
                404,
                &serde_json::json!({"error": "no such admin endpoint"}),
            )
        }
    }
    let state = shared.state().clone();
    http::json(
        stream,
        200,
        &serde_json::to_value(state).unwrap_or_default(),
    );
}

fn digital_id(kind: &str) -> DigitalId {
    DigitalId {
        serial_no: if kind == "Face" {
            "SIM-FACE-0001"
        } else {
            "SIM-SLAP-0001"
        }
        .into(),
        make: "Simulated".into(),
        model: if kind == "Face" {
            "Face Camera"
        } else {
            "Slap Reader 4-4-2"
        }
        .into(),
        kind: kind.into(),
        device_sub_type: if kind == "Face" { "Full face" } else { "Slap" }.into(),
        device_provider: "Simulated Device Provider".into(),
        device_provider_id: "SIM".into(),
        date_time: now_string(0),
    }
}

fn now_string(offset_secs: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs))
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn device_entries(shared: &Shared, signed_ids: bool) -> Vec<serde_json::Value> {
    let status = shared.state().status.clone();
    [
        (FINGER_DEVICE, "Finger", vec!["1", "2", "3"]),
        (FACE_DEVICE, "Face", vec!["0"]),
    ]
    .into_iter()
    .map(|(id, kind, subs)| {
        let digital = serde_json::to_vec(&digital_id(kind)).unwrap_or_default();
        let digital_id = if signed_ids {
            shared
                .provider
                .device
                .sign(&digital, false)
                .unwrap_or_default()
        } else {
            URL_SAFE_NO_PAD.encode(&digital)
        };
        serde_json::json!({
            "deviceId": id,
            "deviceStatus": status,
            "certification": "L0",
            "serviceVersion": "1.0.0",
            "deviceSubId": subs,
            "callbackId": format!("http://127.0.0.1:{}/", shared.port),
            "digitalId": digital_id,
            "deviceCode": format!("SIM-{kind}-CODE"),
            "specVersion": shared.spec_versions,
            "purpose": "Registration",
            "firmware": "sim-1.0",
            "env": "Developer",
            "error": {"errorCode": "0", "errorInfo": "Success"},
        })
    })
    .collect()
}

fn discover(shared: &Shared, stream: &TcpStream) {
    http::json(
        stream,
        200,
        &serde_json::Value::Array(device_entries(shared, false)),
    );
}

fn info(shared: &Shared, stream: &TcpStream) {
    let fault = shared.state().fault;
    let signer = if fault == Some(Fault::UntrustedCertificate) {
        &shared.provider.rogue
    } else {
        &shared.provider.device
    };
    let entries: Vec<serde_json::Value> = device_entries(shared, true)
        .into_iter()
        .map(|mut entry| {
            if let Some(object) = entry.as_object_mut() {
                object.remove("error");
                object.remove("callbackId");
            }
            let payload = serde_json::to_vec(&entry).unwrap_or_default();
            let jws = signer.sign(&payload, fault == Some(Fault::BadSignature)).unwrap_or_default();
            serde_json::json!({"deviceInfo": jws, "error": {"errorCode": "0", "errorInfo": "Success"}})
        })
        .collect();
    http::json(stream, 200, &serde_json::Value::Array(entries));
}

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

fn capture(shared: &Shared, stream: TcpStream, body: &[u8], delay: u64) {
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

fn set_of(sub_id: &str) -> Option<FingerSet> {
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

fn preview(shared: &Shared, stream: &TcpStream, body: &[u8]) {
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

/// Fails unless `versions` lists only versions the simulator speaks.
///
/// # Errors
/// For an unknown version.
pub fn check_versions(versions: &[String]) -> Result<()> {
    for version in versions {
        if version != "0.9.5" && version != "1.0" {
            bail!("unknown SBI version {version:?} (the simulator speaks 0.9.5 and 1.0)");
        }
    }
    Ok(())
}
