//! One device behind an SBI service: what discovery said of it, its signed information, its
//! STREAM preview, and the fingerprint-scanner and camera traits over RCAPTURE.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::capture::empty_hash;
use super::client::{read_limited, Client};
use super::wire::{
    DeviceInfoPayload, DigitalId, DiscoverRequest, DiscoveredDevice, InfoEntry, StreamRequest,
};
use super::{jws, stream, SbiConfig, SbiDevice, SignedInfo, SpecVersion};
use crate::convert::mjpeg_to_rgb;
use crate::{
    Camera, DeviceError, DeviceInfo, DeviceKind, FingerCapture, FingerPosition, FingerSet,
    FingerprintScanner, FrameStream, SetCapture,
};
use formats::image::RgbFrame;
use formats::records::face::{FaceImageData, FaceRecord};
use formats::records::finger::FingerRecord;

impl SbiDevice {
    pub(super) fn new(
        config: Arc<SbiConfig>,
        port: u16,
        discovered: DiscoveredDevice,
    ) -> Option<Self> {
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

    pub(super) fn device_info(&self) -> DeviceInfo {
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

    pub(super) fn client(&self) -> Client<'_> {
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
