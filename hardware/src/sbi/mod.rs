//! MOSIP Secure Biometric Interface (SBI 0.9.5 and 1.0) devices: vendor services on
//! `127.0.0.1`, one port in 4501–4600 each, speaking HTTP with custom methods.
//!
//! [`SbiHost`] discovers services by scanning the port range in parallel; an [`SbiDevice`] is a
//! fingerprint reader (slaps, thumbs) or a face camera behind one of them. Every answer is
//! verified before it is used: the JWS signature (RS256 or EdDSA) against the device certificate,
//! the certificate against the trusted device providers ([`Trust`]), the device's clock within
//! ±5 minutes, the echoed transaction id and specification version, a quality score, a known
//! position, and the hash chain across every capture of one enrollment. Error bodies are read
//! whatever the HTTP status, and SBI error codes become typed [`DeviceError`]s.

mod jws;
mod stream;
pub mod wire;

use std::io::Read;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use time::OffsetDateTime;
use zeroize::Zeroizing;

pub use jws::Trust;

use crate::convert::mjpeg_to_rgb;
use crate::{
    Camera, DeviceError, DeviceInfo, DeviceKind, Distrust, FingerCapture, FingerPosition,
    FingerSet, FingerprintScanner, FrameStream, Host, SetCapture,
};
use formats::image::RgbFrame;
use formats::records::face::{FaceImageData, FaceRecord};
use formats::records::finger::FingerRecord;
use wire::{
    BioRequest, CaptureData, CaptureRequest, DeviceInfoPayload, DigitalId, DiscoverRequest,
    DiscoveredDevice, InfoEntry, SbiErrorBody, StreamRequest,
};

/// The ports SBI services listen on.
pub const PORTS: RangeInclusive<u16> = 4501..=4600;
/// The largest answer read from a service (ten uncompressed prints are ~2 MB).
const MAX_ANSWER_BYTES: u64 = 32 << 20;

/// The SBI specification versions this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecVersion {
    /// SBI 0.9.5 (`MOSIPDISC`, `MOSIPDINFO`).
    V0_9_5,
    /// SBI 1.0 (`SBIDISC`, `SBIDINFO`).
    V1_0,
}

impl SpecVersion {
    /// The version string on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_9_5 => "0.9.5",
            Self::V1_0 => "1.0",
        }
    }

    fn discover_method(self) -> &'static str {
        match self {
            Self::V0_9_5 => "MOSIPDISC",
            Self::V1_0 => "SBIDISC",
        }
    }

    fn info_method(self) -> &'static str {
        match self {
            Self::V0_9_5 => "MOSIPDINFO",
            Self::V1_0 => "SBIDINFO",
        }
    }

    /// The newest version in a device's list that this client speaks.
    fn best_of(versions: &[String]) -> Option<Self> {
        [Self::V1_0, Self::V0_9_5]
            .into_iter()
            .find(|version| versions.iter().any(|v| v == version.as_str()))
    }
}

/// How to reach and judge SBI services.
#[derive(Debug, Clone)]
pub struct SbiConfig {
    /// Where the services listen (always loopback in the specification).
    pub address: Ipv4Addr,
    /// The ports to scan.
    pub ports: RangeInclusive<u16>,
    /// How long one port may take to answer discovery.
    pub discovery_timeout: Duration,
    /// How long a capture may take (sent to the device as its timeout; the station waits a
    /// little longer).
    pub capture_timeout: Duration,
    /// The largest clock difference accepted between device and station.
    pub max_skew: Duration,
    /// The environment sent in requests ("Staging", "Developer", "Production").
    pub env: String,
    /// Trusted device providers.
    pub trust: Trust,
}

impl SbiConfig {
    /// The specification defaults: loopback, ports 4501–4600, ±5 minutes of clock skew.
    pub fn new(trust: Trust) -> Self {
        Self {
            address: Ipv4Addr::LOCALHOST,
            ports: PORTS,
            discovery_timeout: Duration::from_millis(1500),
            capture_timeout: Duration::from_secs(10),
            max_skew: Duration::from_secs(300),
            env: "Developer".into(),
            trust,
        }
    }
}

/// The SBI backend: every SBI service on this machine.
#[derive(Debug, Clone)]
pub struct SbiHost {
    config: Arc<SbiConfig>,
}

impl SbiHost {
    /// A host that scans with `config`.
    pub fn new(config: SbiConfig) -> Self {
        Self {
            config: Arc::new(config),
        }
    }

    /// Scans every configured port in parallel and returns the devices that answered.
    pub fn discover(&self) -> Vec<SbiDevice> {
        let ports: Vec<u16> = self.config.ports.clone().collect();
        let found = std::thread::scope(|scope| {
            let scans: Vec<_> = ports
                .iter()
                .map(|&port| scope.spawn(move || self.discover_port(port)))
                .collect();
            scans
                .into_iter()
                .flat_map(|scan| scan.join().unwrap_or_default())
                .collect::<Vec<_>>()
        });
        found
    }

    /// The devices of the service on `port`; empty when nothing speaking SBI answers there.
    pub fn discover_port(&self, port: u16) -> Vec<SbiDevice> {
        let client = Client::new(&self.config, port);
        let body = DiscoverRequest {
            kind: "Biometric Device".into(),
        };
        for version in [SpecVersion::V0_9_5, SpecVersion::V1_0] {
            let Ok((_, answer)) = client.call(
                version.discover_method(),
                "/device",
                &body,
                self.config.discovery_timeout,
            ) else {
                // Nothing listens, or it broke: no device here.
                return Vec::new();
            };
            let Ok(devices) = serde_json::from_slice::<Vec<DiscoveredDevice>>(&answer) else {
                // Not this version's method (a 405 page) or not SBI: try the next version.
                continue;
            };
            return devices
                .into_iter()
                .filter(|device| device.error.as_ref().is_none_or(|e| e.code() == Some(0)))
                .filter_map(|device| SbiDevice::new(Arc::clone(&self.config), port, device))
                .collect();
        }
        Vec::new()
    }

    /// The device with a [`DeviceInfo::id`] of this backend (`port:deviceId`), found again on
    /// its port, with its SBI-specific calls.
    ///
    /// # Errors
    /// [`DeviceError::NotFound`] when the id is malformed or nothing on that port has it.
    pub fn device(&self, id: &str) -> Result<SbiDevice, DeviceError> {
        let not_found = || DeviceError::NotFound {
            what: format!("SBI device {id}"),
        };
        let (port, device_id) = id.split_once(':').ok_or_else(not_found)?;
        let port: u16 = port.parse().map_err(|_| not_found())?;
        self.discover_port(port)
            .into_iter()
            .find(|device| device.discovered.device_id == device_id)
            .ok_or_else(not_found)
    }
}

impl Host for SbiHost {
    fn name(&self) -> &'static str {
        "sbi"
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        Ok(self.discover().iter().map(SbiDevice::device_info).collect())
    }

    fn open_camera(&self, id: &str) -> Result<Box<dyn Camera>, DeviceError> {
        let device = self.device(id)?;
        if device.kind != DeviceKind::Camera {
            return Err(DeviceError::NotFound {
                what: format!("SBI face device {id}"),
            });
        }
        Ok(Box::new(device))
    }

    fn open_reader(&self, id: &str) -> Result<Box<dyn FingerprintScanner>, DeviceError> {
        let device = self.device(id)?;
        if device.kind != DeviceKind::FingerprintReader {
            return Err(DeviceError::NotFound {
                what: format!("SBI fingerprint device {id}"),
            });
        }
        Ok(Box::new(device))
    }
}

/// The device information a service signed, after verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInfo {
    /// The verified payload.
    pub payload: DeviceInfoPayload,
}

/// One verified capture out of an RCAPTURE answer.
#[derive(Debug)]
pub struct VerifiedCapture {
    /// The finger, or `None` for a face.
    pub finger: Option<FingerPosition>,
    /// The ISO/IEC 19794 record the device returned.
    pub record: Zeroizing<Vec<u8>>,
    /// The device's quality score, 0–100.
    pub quality_score: u8,
    /// The device's own time of capture.
    pub device_time: OffsetDateTime,
}

/// One device behind an SBI service.
#[derive(Debug)]
pub struct SbiDevice {
    config: Arc<SbiConfig>,
    port: u16,
    spec: SpecVersion,
    discovered: DiscoveredDevice,
    digital_id: DigitalId,
    kind: DeviceKind,
    name: String,
    /// SHA-256 of the previous capture of this enrollment (SHA-256 of nothing at the start).
    chain: Mutex<[u8; 32]>,
}

fn empty_hash() -> [u8; 32] {
    sha256(b"")
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The hash an SBI capture carries: SHA-256(previous hash ‖ SHA-256(record)).
pub fn chain_hash(previous: &[u8; 32], record: &[u8]) -> [u8; 32] {
    let mut joined = previous.to_vec();
    joined.extend_from_slice(&sha256(record));
    sha256(&joined)
}

impl SbiDevice {
    fn new(config: Arc<SbiConfig>, port: u16, discovered: DiscoveredDevice) -> Option<Self> {
        let spec = SpecVersion::best_of(&discovered.spec_version)?;
        let digital_id = decode_digital_id(&discovered.digital_id).unwrap_or_default();
        let kind =
            if digital_id.kind.eq_ignore_ascii_case("face") || discovered.device_sub_id == ["0"] {
                DeviceKind::Camera
            } else if digital_id.kind.eq_ignore_ascii_case("iris") {
                return None;
            } else {
                DeviceKind::FingerprintReader
            };
        let maker = [digital_id.make.as_str(), digital_id.model.as_str()]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let maker = if maker.is_empty() {
            "SBI device".to_owned()
        } else {
            maker
        };
        let name = format!("{maker} (SBI {}, port {port})", spec.as_str());
        Some(Self {
            config,
            port,
            spec,
            discovered,
            digital_id,
            kind,
            name,
            chain: Mutex::new(empty_hash()),
        })
    }

    /// The port its service listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The specification version used with it.
    pub fn spec_version(&self) -> SpecVersion {
        self.spec
    }

    /// What discovery said (status, sub-devices, certification).
    pub fn discovered(&self) -> &DiscoveredDevice {
        &self.discovered
    }

    /// The make, model and serial number it claims.
    pub fn digital_id(&self) -> &DigitalId {
        &self.digital_id
    }

    fn device_info(&self) -> DeviceInfo {
        DeviceInfo {
            id: format!("{}:{}", self.port, self.discovered.device_id),
            name: self.name.clone(),
            backend: "sbi",
            kind: self.kind,
            status: match self.discovered.device_status.as_str() {
                "Ready" => crate::DeviceStatus::Ready,
                "Busy" => crate::DeviceStatus::Busy,
                "Not Registered" => crate::DeviceStatus::NotRegistered,
                _ => crate::DeviceStatus::NotReady,
            },
        }
    }

    fn client(&self) -> Client<'_> {
        Client {
            config: &self.config,
            port: self.port,
            device: &self.name,
        }
    }

    /// Asks for the signed device information and verifies it.
    ///
    /// # Errors
    /// SBI error codes as typed errors; [`DeviceError::Untrusted`] when the signature or the
    /// certificate fails; [`DeviceError::Protocol`] for an unreadable answer.
    pub fn signed_info(&self) -> Result<SignedInfo, DeviceError> {
        let client = self.client();
        let (_, answer) = client.call(
            self.spec.info_method(),
            "/info",
            &DiscoverRequest {
                kind: "Biometric Device".into(),
            },
            self.config.discovery_timeout,
        )?;
        let entries: Vec<InfoEntry> = client.json(&answer)?;
        for entry in entries {
            if let Some(error) = entry.error.as_ref().and_then(|e| client.sbi_error(e)) {
                return Err(error);
            }
            if entry.device_info.is_empty() {
                continue;
            }
            let payload = client.verify(&entry.device_info)?;
            let payload: DeviceInfoPayload = client.json(&payload)?;
            if payload.device_id == self.discovered.device_id {
                return Ok(SignedInfo { payload });
            }
        }
        Err(DeviceError::Protocol {
            device: self.name.clone(),
            reason: "the info answer does not describe this device".into(),
        })
    }

    /// Runs RCAPTURE for `count` positions of sub-device `sub_id` and verifies every capture.
    /// The enrollment's hash chain moves on only when the whole answer verifies.
    ///
    /// # Errors
    /// SBI error codes as typed errors ([`DeviceError::Busy`], [`DeviceError::NotRegistered`],
    /// [`DeviceError::Timeout`], …), [`DeviceError::Untrusted`] for an answer that fails a
    /// security check, [`DeviceError::Protocol`] for one that cannot be read.
    pub fn rcapture(
        &self,
        bio_type: &str,
        sub_id: u8,
        count: usize,
        exceptions: &[FingerPosition],
        requested_score: u8,
    ) -> Result<Vec<VerifiedCapture>, DeviceError> {
        let client = self.client();
        let mut chain = *self.chain.lock().unwrap_or_else(PoisonError::into_inner);
        let transaction_id = uuid::Uuid::new_v4().to_string();
        let request = CaptureRequest {
            env: self.config.env.clone(),
            purpose: "Registration".into(),
            spec_version: self.spec.as_str().into(),
            timeout: self.config.capture_timeout.as_millis().to_string(),
            capture_time: rfc3339(OffsetDateTime::now_utc()),
            transaction_id: transaction_id.clone(),
            bio: vec![BioRequest {
                kind: bio_type.into(),
                count: count.to_string(),
                bio_sub_type: Vec::new(),
                exception: exceptions
                    .iter()
                    .map(|&f| wire::bio_sub_type(f).into())
                    .collect(),
                requested_score: requested_score.to_string(),
                device_id: self.discovered.device_id.clone(),
                device_sub_id: sub_id.to_string(),
                previous_hash: if chain == empty_hash() {
                    String::new()
                } else {
                    upper_hex(&chain)
                },
            }],
            custom_opts: None,
        };
        let wait = self.config.capture_timeout + Duration::from_secs(5);
        let (_, answer) = client.call("RCAPTURE", "/capture", &request, wait)?;
        let answer: serde_json::Value = client.json(&answer)?;
        let Some(entries) = answer.get("biometrics").and_then(|b| b.as_array()) else {
            if let Some(error) = answer
                .get("error")
                .and_then(|e| serde_json::from_value::<SbiErrorBody>(e.clone()).ok())
            {
                if let Some(error) = client.sbi_error(&error) {
                    return Err(error);
                }
            }
            return Err(client.protocol("the capture answer has no biometrics"));
        };
        let entries: Vec<wire::CaptureEntry> = entries
            .iter()
            .map(|entry| serde_json::from_value(entry.clone()))
            .collect::<Result<_, _>>()
            .map_err(|error| client.protocol(&format!("a capture entry is malformed: {error}")))?;
        if let Some(error) = entries
            .iter()
            .filter_map(|entry| entry.error.as_ref())
            .find_map(|error| client.sbi_error(error))
        {
            return Err(error);
        }
        if entries.len() != count {
            return Err(client.protocol(&format!(
                "asked for {count} captures, the answer holds {}",
                entries.len()
            )));
        }
        let now = OffsetDateTime::now_utc();
        let mut captures = Vec::with_capacity(entries.len());
        for entry in entries {
            let untrusted = |reason| DeviceError::Untrusted {
                device: self.name.clone(),
                reason,
            };
            if entry.spec_version != self.spec.as_str() {
                return Err(untrusted(Distrust::SpecVersionMismatch));
            }
            let payload = client.verify(&entry.data)?;
            let data: CaptureData = client.json(&payload)?;
            if data.transaction_id != transaction_id {
                return Err(untrusted(Distrust::TransactionMismatch));
            }
            if !data.purpose.eq_ignore_ascii_case("Registration") {
                return Err(untrusted(Distrust::PurposeMismatch(data.purpose.clone())));
            }
            if !data.env.eq_ignore_ascii_case(&self.config.env) {
                return Err(untrusted(Distrust::EnvironmentMismatch(data.env.clone())));
            }
            self.check_digital_id(&client, &data.digital_id)?;
            let device_time = OffsetDateTime::parse(
                &data.timestamp,
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|_| client.protocol("the capture timestamp is not an ISO-8601 UTC time"))?;
            let skew = (device_time - now).whole_seconds();
            if skew.unsigned_abs() > self.config.max_skew.as_secs() {
                return Err(untrusted(Distrust::StaleTimestamp { skew_secs: skew }));
            }
            let quality_score = match data.quality_score.as_deref() {
                None => return Err(untrusted(Distrust::MissingQualityScore)),
                Some(score) => score
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|score| (0.0..=100.0).contains(score))
                    .map(|score| score.round() as u8)
                    .ok_or_else(|| client.protocol("the quality score is not a number 0–100"))?,
            };
            let finger = if bio_type == "Finger" {
                let finger = wire::finger_of(&data.bio_sub_type).ok_or_else(|| {
                    untrusted(Distrust::UnknownBioSubType(data.bio_sub_type.clone()))
                })?;
                if exceptions.contains(&finger) {
                    return Err(client.protocol("the device returned a finger declared missing"));
                }
                Some(finger)
            } else {
                None
            };
            let record = Zeroizing::new(
                URL_SAFE_NO_PAD
                    .decode(data.bio_value.trim_end_matches('='))
                    .map_err(|_| client.protocol("the biometric value is not base64url"))?,
            );
            let expected = chain_hash(&chain, &record);
            if !entry.hash.eq_ignore_ascii_case(&upper_hex(&expected)) {
                return Err(untrusted(Distrust::BrokenHashChain));
            }
            chain = expected;
            captures.push(VerifiedCapture {
                finger,
                record,
                quality_score,
                device_time,
            });
        }
        *self.chain.lock().unwrap_or_else(PoisonError::into_inner) = chain;
        Ok(captures)
    }

    /// Checks a capture's digital id: a JWS the device signed (verified like the capture) that
    /// names the device discovered, so a capture cannot come from another device behind the
    /// same service.
    fn check_digital_id(&self, client: &Client<'_>, signed: &str) -> Result<(), DeviceError> {
        let payload = client.verify(signed)?;
        let id: DigitalId = client.json(&payload)?;
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        let known = &self.digital_id;
        if same(&id.serial_no, &known.serial_no)
            && same(&id.make, &known.make)
            && same(&id.model, &known.model)
            && same(&id.kind, &known.kind)
        {
            Ok(())
        } else {
            Err(DeviceError::Untrusted {
                device: self.name.clone(),
                reason: Distrust::OtherDevice(id.serial_no),
            })
        }
    }

    /// Opens the STREAM preview of sub-device `sub_id`.
    ///
    /// # Errors
    /// SBI error codes as typed errors; [`DeviceError::Protocol`] when the answer is not a
    /// multipart stream.
    pub fn stream(&self, sub_id: u8) -> Result<Box<dyn FrameStream>, DeviceError> {
        let client = self.client();
        let request = StreamRequest {
            device_id: self.discovered.device_id.clone(),
            device_sub_id: sub_id.to_string(),
            timeout: self.config.capture_timeout.as_millis().to_string(),
        };
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(self.config.discovery_timeout)
            .timeout_read(Duration::from_secs(5))
            .build();
        let body = serde_json::to_string(&request).map_err(|e| client.protocol(&e.to_string()))?;
        let response = match agent
            .request("STREAM", &client.url("/stream"))
            .set("Content-Type", "application/json")
            .send_string(&body)
        {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => {
                let bytes = read_limited(response.into_reader(), &client)?;
                return Err(client.error_body(&bytes));
            }
            Err(ureq::Error::Transport(transport)) => return Err(client.transport(&transport)),
        };
        let content_type = response
            .header("Content-Type")
            .unwrap_or_default()
            .to_owned();
        let Some(boundary) = stream::boundary_of(&content_type) else {
            let bytes = read_limited(response.into_reader(), &client)?;
            return Err(client.error_body(&bytes));
        };
        let mut frames =
            stream::MultipartFrames::new(response.into_reader(), &boundary, self.name.clone());
        frames.prime()?;
        Ok(Box::new(frames))
    }
}

impl FingerprintScanner for SbiDevice {
    fn info(&self) -> DeviceInfo {
        self.device_info()
    }

    fn captures_when_placed(&self) -> bool {
        true
    }

    fn capture(
        &self,
        finger: FingerPosition,
    ) -> Result<formats::image::FingerprintImage, DeviceError> {
        let set = FingerSet::of(finger);
        let exceptions = set
            .fingers()
            .iter()
            .copied()
            .filter(|&f| f != finger)
            .collect();
        let captures = self.capture_set(&SetCapture {
            set,
            exceptions,
            requested_score: 40,
        })?;
        captures
            .into_iter()
            .find(|capture| capture.position == finger)
            .map(|capture| capture.image)
            .ok_or_else(|| {
                self.client()
                    .protocol("the answer does not hold the finger asked for")
            })
    }

    fn capture_set(&self, request: &SetCapture) -> Result<Vec<FingerCapture>, DeviceError> {
        let count = request
            .set
            .fingers()
            .iter()
            .filter(|finger| !request.exceptions.contains(finger))
            .count();
        let captures = self.rcapture(
            "Finger",
            request.set.sbi_sub_id(),
            count,
            &request.exceptions,
            request.requested_score,
        )?;
        let client = self.client();
        captures
            .into_iter()
            .map(|capture| {
                let position = capture
                    .finger
                    .ok_or_else(|| client.protocol("a finger capture names no finger"))?;
                if !request.set.fingers().contains(&position) {
                    return Err(client.protocol("the device returned a finger of another set"));
                }
                let record = FingerRecord::from_bytes(&capture.record)
                    .map_err(|error| client.protocol(&format!("the finger record: {error}")))?;
                let view = record
                    .views
                    .into_iter()
                    .next()
                    .ok_or_else(|| client.protocol("the finger record holds no image"))?;
                Ok(FingerCapture {
                    position,
                    image: view.image,
                    device_score: Some(capture.quality_score),
                })
            })
            .collect()
    }

    fn preview(&self, set: FingerSet) -> Result<Box<dyn FrameStream>, DeviceError> {
        self.stream(set.sbi_sub_id())
    }

    fn begin_enrollment(&self) {
        *self.chain.lock().unwrap_or_else(PoisonError::into_inner) = empty_hash();
    }
}

impl Camera for SbiDevice {
    fn info(&self) -> DeviceInfo {
        self.device_info()
    }

    fn open_stream(&self) -> Result<Box<dyn FrameStream>, DeviceError> {
        self.stream(0)
    }

    fn capture_still(&self) -> Result<RgbFrame, DeviceError> {
        let client = self.client();
        let capture = self
            .rcapture("Face", 0, 1, &[], 40)?
            .into_iter()
            .next()
            .ok_or_else(|| client.protocol("the face answer is empty"))?;
        let record = FaceRecord::from_bytes(&capture.record)
            .map_err(|error| client.protocol(&format!("the face record: {error}")))?;
        let view = record
            .views
            .into_iter()
            .next()
            .ok_or_else(|| client.protocol("the face record holds no image"))?;
        match view.data_type {
            FaceImageData::Jpeg => mjpeg_to_rgb(&view.data)
                .map_err(|error| client.protocol(&format!("the face image: {error}"))),
            _ => Err(DeviceError::Unsupported {
                device: self.name.clone(),
                what: "face images other than JPEG".into(),
            }),
        }
    }
}

fn decode_digital_id(digital_id: &str) -> Option<DigitalId> {
    let bytes = if digital_id.matches('.').count() == 2 {
        jws::unverified_payload(digital_id)?
    } else {
        URL_SAFE_NO_PAD
            .decode(digital_id.trim_end_matches('='))
            .ok()?
    };
    serde_json::from_slice(&bytes).ok()
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn read_limited(reader: impl Read, client: &Client<'_>) -> Result<Vec<u8>, DeviceError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_ANSWER_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| client.io(&error))?;
    if bytes.len() as u64 > MAX_ANSWER_BYTES {
        return Err(client.protocol("the answer is larger than 32 MiB"));
    }
    Ok(bytes)
}

/// One service on one port.
struct Client<'a> {
    config: &'a SbiConfig,
    port: u16,
    device: &'a str,
}

impl<'a> Client<'a> {
    fn new(config: &'a SbiConfig, port: u16) -> Self {
        Self {
            config,
            port,
            device: "SBI service",
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.config.address, self.port)
    }

    /// Sends `body` with `method`; returns the status and the body whatever the status.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: &impl serde::Serialize,
        timeout: Duration,
    ) -> Result<(u16, Vec<u8>), DeviceError> {
        let body = serde_json::to_string(body).map_err(|e| self.protocol(&e.to_string()))?;
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(self.config.discovery_timeout)
            .timeout(timeout)
            .build();
        let response = match agent
            .request(method, &self.url(path))
            .set("Content-Type", "application/json")
            .send_string(&body)
        {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => return Err(self.transport(&transport)),
        };
        let status = response.status();
        Ok((status, read_limited(response.into_reader(), self)?))
    }

    fn json<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, DeviceError> {
        serde_json::from_slice(bytes).map_err(|error| {
            // Never quote the body: it may hold biometric data.
            self.protocol(&format!(
                "the answer is not the expected JSON ({} bytes; {error})",
                bytes.len()
            ))
        })
    }

    fn verify(&self, jws: &str) -> Result<Vec<u8>, DeviceError> {
        jws::verify(jws, &self.config.trust, OffsetDateTime::now_utc()).map_err(|error| match error
        {
            jws::JwsError::Malformed(reason) => self.protocol(&reason),
            jws::JwsError::Distrust(reason) => DeviceError::Untrusted {
                device: self.device.to_owned(),
                reason,
            },
        })
    }

    /// The typed error of an error body, or a protocol error when it is not one.
    fn error_body(&self, bytes: &[u8]) -> DeviceError {
        let error = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|value| {
                let error = value
                    .get("error")
                    .or_else(|| value.get(0).and_then(|v| v.get("error")))
                    .cloned()?;
                serde_json::from_value::<SbiErrorBody>(error).ok()
            });
        match error.and_then(|error| self.sbi_error(&error)) {
            Some(error) => error,
            None => self.protocol("the service answered with neither a result nor an SBI error"),
        }
    }

    /// The typed error for an SBI error code; `None` for success.
    fn sbi_error(&self, error: &SbiErrorBody) -> Option<DeviceError> {
        let device = self.device.to_owned();
        let info = error.error_info.clone();
        let Some(code) = error.code() else {
            return Some(self.protocol(&format!("unreadable error code {:?}", error.error_code)));
        };
        Some(match code {
            0 => return None,
            100 => DeviceError::NotRegistered { device },
            101 | 102 | 105 => DeviceError::CaptureFailed {
                device,
                reason: format!("{info} (SBI {code})"),
            },
            103 => DeviceError::Fault {
                device,
                reason: format!("the device reports tampering: {info} (SBI 103)"),
            },
            106 | 202 => DeviceError::Disconnected { device },
            109 => DeviceError::Unsupported {
                device,
                what: format!("the finger count asked for ({info})"),
            },
            110 => DeviceError::NotReady { device },
            111 | 703 => DeviceError::Busy { device },
            112 => DeviceError::Protocol {
                device,
                reason: format!("the device refused the transaction id: {info} (SBI 112)"),
            },
            701 => DeviceError::Timeout {
                device,
                after: self.config.capture_timeout,
            },
            _ => DeviceError::Fault {
                device,
                reason: format!("{info} (SBI {code})"),
            },
        })
    }

    fn protocol(&self, reason: &str) -> DeviceError {
        DeviceError::Protocol {
            device: self.device.to_owned(),
            reason: reason.to_owned(),
        }
    }

    fn io(&self, error: &std::io::Error) -> DeviceError {
        match error.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => DeviceError::Timeout {
                device: self.device.to_owned(),
                after: self.config.capture_timeout,
            },
            _ => DeviceError::ConnectionLost {
                device: self.device.to_owned(),
                reason: error.to_string(),
            },
        }
    }

    fn transport(&self, transport: &ureq::Transport) -> DeviceError {
        let io = std::error::Error::source(transport)
            .and_then(|source| source.downcast_ref::<std::io::Error>());
        match (transport.kind(), io) {
            (_, Some(io))
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                self.io(io)
            }
            (ureq::ErrorKind::ConnectionFailed, _) => DeviceError::Disconnected {
                device: self.device.to_owned(),
            },
            _ => DeviceError::ConnectionLost {
                device: self.device.to_owned(),
                reason: transport.to_string(),
            },
        }
    }
}
