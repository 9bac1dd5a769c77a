//! RCAPTURE: the request, and the checks every capture in the answer passes before it is used
//! (signature, transaction id, purpose, environment, digital id, clock, quality score, position
//! and the enrollment's hash chain).

use std::sync::PoisonError;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::client::Client;
use super::wire::{self, BioRequest, CaptureData, CaptureRequest, DigitalId, SbiErrorBody};
use super::SbiDevice;
use crate::{DeviceError, Distrust, FingerPosition};

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
pub(super) fn empty_hash() -> [u8; 32] {
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
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
