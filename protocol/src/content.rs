//! What a sealed packet carries: one applicant's demographics, face and ten fingerprints.
//!
//! The same validation runs on the station (to give the officer field-by-field feedback) and
//! on the server (which trusts nothing it receives).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::audit::AuditRecord;
use crate::form::{FormLibrary, Label};
use crate::manifest::CaptureRecord;
use crate::packet::Part;
use formats::FingerPosition;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The version of [`EnrollmentContent`] this build writes.
pub const CONTENT_SCHEMA_VERSION: u32 = 3;

/// Bytes of a biometric image: never printed, zeroized on drop, base64url in JSON.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct BiometricBytes(#[serde(with = "crate::b64")] Vec<u8>);

impl BiometricBytes {
    /// Wraps encoded image bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The encoded image.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for BiometricBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BiometricBytes([{} bytes redacted])", self.0.len())
    }
}

/// The applicant's form as the officer filled it in: which form (and version) it is, the five
/// fields every form has, and the form's other fields by name.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Demographics {
    /// The form's id in the form definitions, e.g. `wni-passport`.
    pub form: String,
    /// The version of the form definitions, e.g. `2026.11`.
    pub form_version: String,
    /// Full name as on the civil record or passport.
    pub full_name: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// `F`, `M` or `X` (ICAO 9303).
    pub sex: String,
    /// Nationality as an ICAO/ISO 3166-1 alpha-3 code, e.g. `IDN`.
    pub nationality: String,
    /// The NIK of a citizen, the passport number of a foreigner.
    pub document_number: String,
    /// The form's other fields, by name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// One invalid form field and what is wrong with it, in words an officer can act on.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field name as in the form definition.
    pub field: String,
    /// What to fix.
    pub message: Label,
}

impl FieldError {
    /// An error on `field`.
    pub fn new(field: &str, message: Label) -> Self {
        Self {
            field: field.to_owned(),
            message,
        }
    }
}

impl Demographics {
    /// The value of the field `name`, a core field or one of [`Self::fields`].
    pub fn value(&self, name: &str) -> Option<&str> {
        match name {
            "full_name" => Some(&self.full_name),
            "date_of_birth" => Some(&self.date_of_birth),
            "sex" => Some(&self.sex),
            "nationality" => Some(&self.nationality),
            "document_number" => Some(&self.document_number),
            other => self.fields.get(other).map(String::as_str),
        }
    }

    /// Sets the field `name`; an empty value removes an optional field.
    pub fn set(&mut self, name: &str, value: String) {
        match name {
            "full_name" => self.full_name = value,
            "date_of_birth" => self.date_of_birth = value,
            "sex" => self.sex = value,
            "nationality" => self.nationality = value,
            "document_number" => self.document_number = value,
            other if value.is_empty() => {
                self.fields.remove(other);
            }
            other => {
                self.fields.insert(other.to_owned(), value);
            }
        }
    }
}

/// The applicant's face photograph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// JPEG bytes.
    pub jpeg: BiometricBytes,
}

/// One finger's image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerImage {
    /// Which finger.
    pub position: FingerPosition,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Scan resolution, pixels per inch.
    pub resolution_ppi: u16,
    /// An ISO/IEC 19794-4:2011 finger image record holding this one finger, its 8-bit grey
    /// image compressed with WSQ (0.75 bit per pixel).
    pub record: BiometricBytes,
}

/// Everything one enrollment's sealed payload carries to the server. Who, when and how it was
/// captured is in the packet's [`crate::manifest::Manifest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentContent {
    /// The form fields.
    pub demographics: Demographics,
    /// The face photograph.
    pub face: FaceImage,
    /// Ten finger images, one per finger.
    pub fingers: Vec<FingerImage>,
    /// A photo (JPEG) of the hand(s) with the fingers declared missing; present exactly when
    /// some finger is.
    pub exception_photo: Option<BiometricBytes>,
    /// The station's audit entries since the previous packet's excerpt.
    pub audit: Vec<AuditRecord>,
}

/// Name of the demographics part.
pub const DEMOGRAPHICS_PART: &str = "demographics.json";
/// Name of the face part.
pub const FACE_PART: &str = "face.jpg";
/// Name of the exception photo part.
pub const EXCEPTION_PHOTO_PART: &str = "exception-photo.jpg";
/// Name of the audit excerpt part.
pub const AUDIT_PART: &str = "audit.json";

/// Name of a finger's part, e.g. `finger-07.fir` for the left index finger.
pub fn finger_part(position: FingerPosition) -> String {
    format!("finger-{:02}.fir", position.iso_code())
}

/// Media type of a finger part: an ISO/IEC 19794-4 finger image record.
pub const FINGER_MEDIA_TYPE: &str = "application/x-iso19794-4";

impl EnrollmentContent {
    /// The payload parts, in the order of `docs/packet-format.md`: demographics, face, the
    /// fingers in ISO code order, the audit excerpt.
    ///
    /// # Errors
    /// When the demographics or the audit excerpt cannot be serialized.
    pub fn to_parts(&self) -> Result<Vec<Part>, String> {
        let mut parts = vec![
            Part::new(
                DEMOGRAPHICS_PART,
                "application/json",
                serde_json::to_vec(&self.demographics).map_err(|e| e.to_string())?,
            ),
            Part::new(FACE_PART, "image/jpeg", self.face.jpeg.as_bytes().to_vec()),
        ];
        let mut fingers: Vec<&FingerImage> = self.fingers.iter().collect();
        fingers.sort_by_key(|finger| finger.position);
        for finger in fingers {
            parts.push(Part::new(
                finger_part(finger.position),
                FINGER_MEDIA_TYPE,
                finger.record.as_bytes().to_vec(),
            ));
        }
        if let Some(photo) = &self.exception_photo {
            parts.push(Part::new(
                EXCEPTION_PHOTO_PART,
                "image/jpeg",
                photo.as_bytes().to_vec(),
            ));
        }
        parts.push(Part::new(
            AUDIT_PART,
            "application/json",
            serde_json::to_vec(&self.audit).map_err(|e| e.to_string())?,
        ));
        Ok(parts)
    }

    /// Rebuilds the content from an opened payload and its manifest's capture records.
    ///
    /// # Errors
    /// A sentence naming the first missing or unreadable part.
    pub fn from_parts(mut parts: Vec<Part>, captures: &[CaptureRecord]) -> Result<Self, String> {
        let mut take = |name: &str| -> Result<Vec<u8>, String> {
            parts
                .iter_mut()
                .find(|part| part.name == name)
                .map(Part::take_bytes)
                .ok_or_else(|| format!("the payload has no {name} part"))
        };
        let demographics: Demographics = serde_json::from_slice(&take(DEMOGRAPHICS_PART)?)
            .map_err(|e| format!("{DEMOGRAPHICS_PART} is not valid: {e}"))?;
        let audit: Vec<AuditRecord> = serde_json::from_slice(&take(AUDIT_PART)?)
            .map_err(|e| format!("{AUDIT_PART} is not valid: {e}"))?;
        let capture_of = |part: &str| {
            captures
                .iter()
                .find(|c| c.part.as_deref() == Some(part))
                .ok_or_else(|| format!("the manifest has no capture record for {part}"))
        };
        let face_capture = capture_of(FACE_PART)?;
        let face = FaceImage {
            width: face_capture.width,
            height: face_capture.height,
            jpeg: BiometricBytes::new(take(FACE_PART)?),
        };
        let mut fingers = Vec::new();
        for position in FingerPosition::ALL {
            let declared_missing = captures
                .iter()
                .any(|c| c.finger == Some(position) && c.exception.is_some());
            if declared_missing {
                continue;
            }
            let name = finger_part(position);
            let capture = capture_of(&name)?;
            fingers.push(FingerImage {
                position,
                width: capture.width,
                height: capture.height,
                resolution_ppi: capture.resolution_ppi.unwrap_or(500),
                record: BiometricBytes::new(take(&name)?),
            });
        }
        let exception_photo = parts
            .iter_mut()
            .find(|part| part.name == EXCEPTION_PHOTO_PART)
            .map(|part| BiometricBytes::new(part.take_bytes()));
        Ok(Self {
            demographics,
            face,
            fingers,
            exception_photo,
            audit,
        })
    }

    /// Checks what can be checked without decoding images: the form fields (against the form
    /// and version they name in `forms`), and that each of
    /// the ten fingers is present exactly once, or declared missing in `captures`.
    ///
    /// # Errors
    /// A sentence naming the first problem found.
    pub fn check_structure(
        &self,
        forms: &FormLibrary,
        today: Date,
        captures: &[CaptureRecord],
    ) -> Result<(), String> {
        if let Err(errors) = forms.validate(&self.demographics, today) {
            let fields: Vec<_> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message.en))
                .collect();
            return Err(format!("invalid demographics ({})", fields.join("; ")));
        }
        for position in FingerPosition::ALL {
            let images = self
                .fingers
                .iter()
                .filter(|f| f.position == position)
                .count();
            let exceptions = captures
                .iter()
                .filter(|c| c.finger == Some(position) && c.exception.is_some())
                .count();
            if images + exceptions != 1 {
                return Err(format!(
                    "expected one {position:?} image or declared exception, found {images} \
                     image(s) and {exceptions} exception(s)"
                ));
            }
        }
        let declared = captures.iter().any(|c| c.exception.is_some());
        match (declared, self.exception_photo.is_some()) {
            (true, false) => {
                return Err("fingers are declared missing but there is no exception photo".into())
            }
            (false, true) => {
                return Err("there is an exception photo but no finger is declared missing".into())
            }
            _ => {}
        }
        if self.fingers.len() > FingerPosition::ALL.len() {
            return Err(format!(
                "expected at most 10 finger images, found {}",
                self.fingers.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_bytes_never_appear_in_debug_output() {
        let bytes = BiometricBytes::new(vec![0xAB; 4]);
        assert_eq!(format!("{bytes:?}"), "BiometricBytes([4 bytes redacted])");
    }
}
