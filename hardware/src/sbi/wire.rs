//! The JSON shapes of MOSIP SBI 0.9.5 / 1.0, shared by the client and the simulated service.
//!
//! Fields the specification sends as strings stay strings here (`timeout`, `requestedScore`);
//! fields devices send either way (`qualityScore`) accept both.

use serde::{Deserialize, Serialize};

/// An SBI error object; code `"0"` means success.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SbiErrorBody {
    /// The code, a decimal string (devices send numbers too).
    #[serde(deserialize_with = "string_or_number")]
    pub error_code: String,
    /// The device's words.
    #[serde(default)]
    pub error_info: String,
}

impl SbiErrorBody {
    /// Success.
    pub fn ok() -> Self {
        Self {
            error_code: "0".into(),
            error_info: "Success".into(),
        }
    }

    /// The numeric code, `None` when it is not a number.
    pub fn code(&self) -> Option<u32> {
        self.error_code.trim().parse().ok()
    }
}

/// Discovery request body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiscoverRequest {
    /// "Biometric Device", "Finger", "Face" or "Iris".
    #[serde(rename = "type")]
    pub kind: String,
}

/// One device in a discovery answer, or the payload of its signed device information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredDevice {
    /// The service's id for the device.
    pub device_id: String,
    /// "Ready", "Busy", "Not Ready" or "Not Registered".
    pub device_status: String,
    /// "L0" or "L1".
    #[serde(default)]
    pub certification: String,
    /// The service's version.
    #[serde(default)]
    pub service_version: String,
    /// Sub-devices: "1" left slap, "2" right slap, "3" thumbs; "0" face.
    #[serde(default)]
    pub device_sub_id: Vec<String>,
    /// Base64url JSON (0.9.5 discovery) or a JWS with the make, model and serial number.
    #[serde(default)]
    pub digital_id: String,
    /// The registered device code.
    #[serde(default)]
    pub device_code: String,
    /// Specification versions the service speaks.
    #[serde(default)]
    pub spec_version: Vec<String>,
    /// "Registration" or "Auth".
    #[serde(default)]
    pub purpose: String,
    /// Firmware version (in signed device information).
    #[serde(default)]
    pub firmware: String,
    /// "Staging", "Developer", "Pre-Production", "Production" (in signed device information).
    #[serde(default)]
    pub env: String,
    /// Set when discovery itself failed.
    #[serde(default)]
    pub error: Option<SbiErrorBody>,
}

/// The digital id's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DigitalId {
    /// Serial number.
    pub serial_no: String,
    /// Maker.
    pub make: String,
    /// Model.
    pub model: String,
    /// "Finger", "Face" or "Iris".
    #[serde(rename = "type")]
    pub kind: String,
    /// "Slap", "Single", "Touchless", "Full face".
    pub device_sub_type: String,
    /// The device provider's name.
    pub device_provider: String,
    /// The device provider's id.
    pub device_provider_id: String,
    /// When the id was made.
    pub date_time: String,
}

/// One entry of an info answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoEntry {
    /// A JWS whose payload is [`DeviceInfoPayload`].
    #[serde(default)]
    pub device_info: String,
    /// Set when the service could not answer for the device.
    #[serde(default)]
    pub error: Option<SbiErrorBody>,
}

/// The signed device information: the discovery fields, with firmware and environment.
pub type DeviceInfoPayload = DiscoveredDevice;

/// An RCAPTURE request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest {
    /// The environment the station runs in.
    pub env: String,
    /// "Registration".
    pub purpose: String,
    /// The specification version asked for.
    pub spec_version: String,
    /// Milliseconds, as a string.
    pub timeout: String,
    /// UTC ISO-8601.
    pub capture_time: String,
    /// 4–50 characters of `[A-Za-z0-9-]`.
    pub transaction_id: String,
    /// What to capture.
    pub bio: Vec<BioRequest>,
    /// Vendor options.
    #[serde(default)]
    pub custom_opts: Option<serde_json::Value>,
}

/// One modality in an RCAPTURE request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BioRequest {
    /// "Finger", "Face", "Iris".
    #[serde(rename = "type")]
    pub kind: String,
    /// How many to return, as a string.
    pub count: String,
    /// Which positions ("Left IndexFinger", …), or empty for all of the sub-device.
    #[serde(default)]
    pub bio_sub_type: Vec<String>,
    /// Positions missing on the applicant.
    #[serde(default)]
    pub exception: Vec<String>,
    /// The quality at which the device may stop, as a string.
    pub requested_score: String,
    /// The device.
    pub device_id: String,
    /// The sub-device, as a string.
    pub device_sub_id: String,
    /// The hash of the enrollment's previous capture (empty for the first).
    #[serde(default)]
    pub previous_hash: String,
}

/// An RCAPTURE answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaptureResponse {
    /// One entry per captured position.
    #[serde(default)]
    pub biometrics: Vec<CaptureEntry>,
}

/// One captured position.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureEntry {
    /// The specification version of the answer.
    #[serde(default)]
    pub spec_version: String,
    /// A JWS whose payload is [`CaptureData`].
    #[serde(default)]
    pub data: String,
    /// Upper-hex SHA-256 chaining this capture to the previous one.
    #[serde(default)]
    pub hash: String,
    /// The outcome for this entry.
    #[serde(default)]
    pub error: Option<SbiErrorBody>,
}

/// The signed capture payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureData {
    /// The device's digital id.
    #[serde(default)]
    pub digital_id: String,
    /// Registered device code.
    #[serde(default)]
    pub device_code: String,
    /// Service version.
    #[serde(default)]
    pub device_service_version: String,
    /// "Finger", "Face".
    pub bio_type: String,
    /// "Left IndexFinger", …, "UNKNOWN"; empty for a face.
    #[serde(default)]
    pub bio_sub_type: String,
    /// "Registration".
    #[serde(default)]
    pub purpose: String,
    /// Environment.
    #[serde(default)]
    pub env: String,
    /// Base64url ISO/IEC 19794 record.
    pub bio_value: String,
    /// Echo of the request's transaction id.
    pub transaction_id: String,
    /// Device time of capture, UTC.
    pub timestamp: String,
    /// Echo of the requested score.
    #[serde(default, deserialize_with = "option_string_or_number")]
    pub requested_score: Option<String>,
    /// The device's quality score, 0–100.
    #[serde(default, deserialize_with = "option_string_or_number")]
    pub quality_score: Option<String>,
}

/// A STREAM request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamRequest {
    /// The device.
    pub device_id: String,
    /// The sub-device, as a string.
    pub device_sub_id: String,
    /// Milliseconds, as a string.
    #[serde(default)]
    pub timeout: String,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or a number, got {other}"
        ))),
    }
}

fn option_string_or_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a string or a number, got {other}"
        ))),
    }
}

/// The SBI name of a finger position ("Left IndexFinger", "Right Thumb", …).
pub fn bio_sub_type(finger: formats::FingerPosition) -> &'static str {
    use formats::FingerPosition as F;
    match finger {
        F::RightThumb => "Right Thumb",
        F::RightIndex => "Right IndexFinger",
        F::RightMiddle => "Right MiddleFinger",
        F::RightRing => "Right RingFinger",
        F::RightLittle => "Right LittleFinger",
        F::LeftThumb => "Left Thumb",
        F::LeftIndex => "Left IndexFinger",
        F::LeftMiddle => "Left MiddleFinger",
        F::LeftRing => "Left RingFinger",
        F::LeftLittle => "Left LittleFinger",
    }
}

/// The finger an SBI position name stands for.
pub fn finger_of(name: &str) -> Option<formats::FingerPosition> {
    formats::FingerPosition::ALL
        .into_iter()
        .find(|&finger| bio_sub_type(finger) == name)
}
