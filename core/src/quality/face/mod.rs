//! ICAO-style checks of a face photo, fast enough to run on every camera frame, and the
//! ISO/IEC 19794-5 token-frontal crop of a compliant one.
//!
//! The face box comes from the SeetaFace frontal detector (the `rustface` crate, BSD-2-Clause;
//! its model, `core/models/seeta_fd_frontal_v1.0.bin`, is compiled into the station: nothing is
//! fetched at run time), run on a copy of the frame shrunk to 240 pixels across. In the box
//! dlib's detector would draw around that face, dlib's 5-point landmark model
//! ([`super::landmarks`], CC0) places the eye corners and the base of the nose; the eye centres
//! are the corners' midpoints, raised to where the pupils sit. From the landmarks:
//!
//! | check | passes when | advice when it fails |
//! |---|---|---|
//! | one face | exactly one face | no face: "look at the camera"; more: "only one person" |
//! | size | 60 px ≤ eye distance, and the token crop (5.3 eye distances tall) fits the frame | "move closer" / "move back" |
//! | centring | the eyes' midpoint within 10 % of the frame's width of its centre, the token crop inside the frame | "move left/right", "raise/lower the camera" |
//! | roll | the eye line within 8° of level | "keep the head straight" |
//! | pose | yaw within 15°, pitch within 25° (ISO's 5° plus twice the estimate's measured error) | "look straight at the camera" |
//! | exposure | under 20 % of the inner face crushed to black, and not a dark face before a dark backdrop; under 3 % blown out | "too dark: add light" / "too bright" |
//! | contrast | the inner face's grey-level histogram holds ≥ 5 bits (entropy) | "the face looks flat" |
//! | illumination | the darker half of the face ≥ 70 % of the brighter half | "one side of the face is in shadow" |
//! | sharpness | fine detail (Laplacian) relative to contrast above a floor | "hold still" |
//! | background | ≥ 40 % of the wall outside a head-and-shoulders outline reached from the crop's edge through smooth steps, and its two sides alike | "stand before a plain background" |
//!
//! Exposure, contrast and illumination are judged relative to the face and the frame, as
//! ISO/IEC 29794-5 (and BSI's OFIQ) measures them, never against an absolute brightness floor: a
//! dark-skinned face correctly lit before a light backdrop passes; "add light" is said only when
//! shadows are crushed or the whole scene is dark. Figures on real people: `docs/benchmarks.md`.

mod locate;
mod measure;
mod token;
mod watch;

use std::sync::OnceLock;

use formats::image::RgbFrame;
use protocol::form::Label;

use super::landmarks::ShapePredictor;
use locate::{locate, Grey};
use measure::{exposure_advice, measure};
use serde::Serialize;
use token::{centring_advice, token_region};

pub use super::WatchEnd;
pub use measure::FaceMeasures;
pub use token::token_frontal;
pub use watch::{watch, AutoCapture};

/// The SeetaFace frontal detector's model, shipped with the station.
static MODEL_BYTES: &[u8] = include_bytes!("../../../models/seeta_fd_frontal_v1.0.bin");

/// The detector works on frames shrunk to this width.
const DETECTION_WIDTH: u32 = 240;
/// ISO/IEC 19794-5 token-frontal geometry, in units of the image width W: eye distance 0.25 W,
/// eye line 0.6 W below the top, height W / 0.75.
const TOKEN_EYE_DISTANCE: f64 = 0.25;
const TOKEN_EYE_LINE: f64 = 0.6;
const TOKEN_ASPECT: f64 = 0.75;
/// Token crop size the station writes.
pub const TOKEN_WIDTH: u32 = 360;
/// Token crop height: 360 / 0.75.
pub const TOKEN_HEIGHT: u32 = 480;

/// Thresholds (ISO/IEC 19794-5 and ICAO 9303 where they give one).
const MIN_EYE_DISTANCE: f64 = 60.0;
const MAX_ROLL_DEGREES: f64 = 8.0;
/// ISO/IEC 19794-5 allows 5° of yaw and pitch; the limits are 5° plus twice the estimate's
/// error, measured as its spread over frontal faces (face-dev's tuning half, the odd-numbered
/// people: yaw standard deviation 5.2°, from landmark noise and faces' own asymmetry; pitch
/// 10.1°, from how far below the eyes each person's nose sits). Five landmarks resolve a clear
/// turn or nod, not the last few degrees.
const MAX_YAW_DEGREES: f64 = 15.4;
const MAX_PITCH_DEGREES: f64 = 25.2;
/// Depth of the nose base in front of the pupils, in eye distances (anthropometric means:
/// about 16 mm for 63 mm between the pupils); converts its sideways and vertical shift into a
/// turn.
const NOSE_DEPTH: f64 = 0.25;
/// Where a level face has its nose base below the eyes, in eye distances (mean of face-dev's
/// tuning half; every face-dev constant below comes from that half only).
const FRONTAL_NOSE_BELOW: f64 = 0.734;
/// The box the landmark model was trained on (dlib's HOG detector) from SeetaFace's box:
/// centre moved by these shares of its width, side this share of its width (face-dev means).
const BOX_SHIFT_X: f64 = 0.016;
const BOX_SHIFT_Y: f64 = 0.096;
const BOX_SCALE: f64 = 0.933;
/// The pupils sit this far (eye distances) above the line through the eye corners (face-dev's
/// hand-placed eye centres: 0.047, standard deviation 0.010).
const PUPIL_ABOVE_CORNERS: f64 = 0.047;
/// Exposure, relative to the face: more than this share of it crushed to black or blown out.
const MAX_DARK_SHARE: f64 = 0.2;
const MAX_BRIGHT_SHARE: f64 = 0.03;
/// A face this dark is under-exposed when the background is dark too (the whole scene lacks
/// light); a correctly lit dark-skinned face before a light backdrop is not.
const DARK_FACE: f64 = 80.0;
const DARK_BACKGROUND: f64 = 100.0;
/// Dynamic range of the face (histogram entropy, bits) below which it is flat.
const MIN_DYNAMIC_RANGE: f64 = 5.0;
/// The darker half of the face at least this share of the brighter half.
const MIN_ILLUMINATION_BALANCE: f64 = 0.7;
/// Sharpness floor: the astronaut framings measure 0.13, the same blurred by σ = 2 px 0.05.
const MIN_SHARPNESS: f64 = 0.08;
/// The eye midpoint must lie within this share of the frame's width from its centre line.
const MAX_OFF_CENTRE: f64 = 0.1;
/// Neighbouring background samples (2 px apart) of a plain wall differ by at most this.
const SMOOTH_STEP: i32 = 8;
/// At least this share of the background must be plain.
const MIN_PLAIN_BACKGROUND: f64 = 0.4;
const MAX_BACKGROUND_DIFFERENCE: f64 = 40.0;

/// One of the checks.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceCheck {
    /// Exactly one face in the frame.
    OneFace,
    /// The face large enough, not too large for the crop.
    Size,
    /// The face placed so the crop fits the frame.
    Centred,
    /// The head not tilted sideways.
    Roll,
    /// The head turned neither sideways nor up or down.
    Pose,
    /// Neither too dark nor overexposed.
    Exposure,
    /// Enough contrast on the face.
    Contrast,
    /// Light falling evenly on both halves of the face.
    Illumination,
    /// Not blurred.
    Sharpness,
    /// A plain background.
    Background,
}

impl FaceCheck {
    /// Every check, in the order they are run.
    pub const ALL: [FaceCheck; 10] = [
        FaceCheck::OneFace,
        FaceCheck::Size,
        FaceCheck::Centred,
        FaceCheck::Roll,
        FaceCheck::Pose,
        FaceCheck::Exposure,
        FaceCheck::Contrast,
        FaceCheck::Illumination,
        FaceCheck::Sharpness,
        FaceCheck::Background,
    ];

    /// A short name for the officer's checklist.
    pub fn label(self) -> &'static str {
        match self {
            FaceCheck::OneFace => "One face",
            FaceCheck::Size => "Distance",
            FaceCheck::Centred => "Centred",
            FaceCheck::Roll => "Head straight",
            FaceCheck::Pose => "Facing the camera",
            FaceCheck::Exposure => "Lighting",
            FaceCheck::Contrast => "Contrast",
            FaceCheck::Illumination => "Even light",
            FaceCheck::Sharpness => "Sharp",
            FaceCheck::Background => "Plain background",
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// Which check.
    pub check: FaceCheck,
    /// Whether it passed.
    pub passed: bool,
    /// What to do, when it failed, in English and Bahasa Indonesia.
    pub advice: Option<Label>,
}

/// Where the face is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FaceGeometry {
    /// Face box: left, top, width, height in frame pixels.
    pub bounds: (f64, f64, f64, f64),
    /// The eye on the left of the image (the person's right eye).
    pub left_eye: (f64, f64),
    /// The eye on the right of the image.
    pub right_eye: (f64, f64),
    /// The landmark model's points: the outer and inner corner of the eye on the image's
    /// right, the same of the eye on its left, and the base of the nose.
    pub landmarks: [(f64, f64); 5],
    /// Eye line angle, degrees, positive when the right side of the image is lower.
    pub roll_degrees: f64,
    /// Estimated turn sideways, degrees.
    pub yaw_degrees: f64,
    /// Estimated nod up or down, degrees.
    pub pitch_degrees: f64,
}

impl FaceGeometry {
    fn eye_distance(&self) -> f64 {
        let (dx, dy) = (
            self.right_eye.0 - self.left_eye.0,
            self.right_eye.1 - self.left_eye.1,
        );
        (dx * dx + dy * dy).sqrt()
    }

    fn eye_midpoint(&self) -> (f64, f64) {
        midpoint(self.left_eye, self.right_eye)
    }
}

fn midpoint(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)
}

/// A frame's assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceAssessment {
    /// Faces the detector found.
    pub faces: usize,
    /// The face, when there is exactly one.
    pub geometry: Option<FaceGeometry>,
    /// Every check, in the order of the table above; only "one face" when there is not one.
    pub checks: Vec<CheckResult>,
    /// Fine detail of the face, for choosing the sharpest of several good frames.
    pub sharpness: f64,
    /// What the photometric checks measured, when there is one face.
    pub measures: Option<FaceMeasures>,
}

impl FaceAssessment {
    /// True when every check passed.
    pub fn compliant(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

fn model() -> Option<&'static rustface::Model> {
    static MODEL: OnceLock<Option<rustface::Model>> = OnceLock::new();
    MODEL
        .get_or_init(|| rustface::read_model(MODEL_BYTES).ok())
        .as_ref()
}

/// Runs the checks; holds the detector, so make one and reuse it for a stream of frames.
pub struct FaceChecker {
    detector: Box<dyn rustface::Detector>,
    landmarks: &'static ShapePredictor,
}

impl std::fmt::Debug for FaceChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaceChecker")
    }
}

/// The face detector's model did not load.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the face detector's or landmark model is damaged: reinstall the station")]
pub struct ModelError;

impl FaceChecker {
    /// A checker with the shipped detector model.
    ///
    /// # Errors
    /// [`ModelError`] if the compiled-in model does not parse (a damaged build).
    pub fn new() -> Result<Self, ModelError> {
        let model = model().ok_or(ModelError)?.clone();
        let landmarks = super::landmarks::shipped().ok_or(ModelError)?;
        let mut detector = rustface::create_detector_with_model(model);
        // 32 pixels at 240 across: faces from 85 pixels wide in a 640-pixel frame (eyes about 38
        // apart); smaller ones are too far away to be worth finding.
        detector.set_min_face_size(32);
        detector.set_score_thresh(2.0);
        detector.set_pyramid_scale_factor(0.7);
        detector.set_slide_window_step(4, 4);
        Ok(Self {
            detector,
            landmarks,
        })
    }

    /// Checks `frame`.
    pub fn assess(&mut self, frame: &RgbFrame) -> FaceAssessment {
        let grey = Grey::from_rgb(frame);
        let boxes = self.detect(&grey);
        if boxes.len() != 1 {
            let advice = if boxes.is_empty() {
                Label::new(
                    "no face found: stand in front of the camera, close enough, and look straight at it",
                    "wajah tidak ditemukan: berdiri di depan kamera, cukup dekat, dan lihat lurus ke kamera",
                )
            } else {
                Label::new(
                    "more than one face: only the applicant may be in the frame",
                    "lebih dari satu wajah: hanya pemohon yang boleh ada di dalam gambar",
                )
            };
            return FaceAssessment {
                faces: boxes.len(),
                geometry: None,
                checks: vec![CheckResult {
                    check: FaceCheck::OneFace,
                    passed: false,
                    advice: Some(advice),
                }],
                sharpness: 0.0,
                measures: None,
            };
        }
        let Some(geometry) = locate(&grey, self.landmarks, boxes[0]) else {
            return FaceAssessment {
                faces: 1,
                geometry: None,
                checks: Vec::new(),
                sharpness: 0.0,
                measures: None,
            };
        };
        let face = measure(&grey, &geometry);
        let mut checks = vec![CheckResult {
            check: FaceCheck::OneFace,
            passed: true,
            advice: None,
        }];
        let mut add = |check, failure: Option<Label>| {
            checks.push(CheckResult {
                check,
                passed: failure.is_none(),
                advice: failure,
            })
        };
        let (width, height) = (f64::from(grey.width), f64::from(grey.height));
        let eye_distance = geometry.eye_distance();
        let token = token_region(&geometry);
        let token_height = token.3;
        add(
            FaceCheck::Size,
            if eye_distance < MIN_EYE_DISTANCE {
                Some(Label::new(
                    "the face is too small: move closer to the camera",
                    "wajah terlalu kecil: mendekatlah ke kamera",
                ))
            } else if token_height > height * 1.02 {
                Some(Label::new(
                    "the face is too large: move back from the camera",
                    "wajah terlalu besar: mundurlah dari kamera",
                ))
            } else {
                None
            },
        );
        add(
            FaceCheck::Centred,
            centring_advice(token, geometry.eye_midpoint().0, width, height),
        );
        add(
            FaceCheck::Roll,
            (geometry.roll_degrees.abs() > MAX_ROLL_DEGREES).then(|| {
                let degrees = geometry.roll_degrees.abs();
                Label::new(
                    format!("the head is tilted {degrees:.0}°: keep it straight"),
                    format!("kepala miring {degrees:.0}°: tegakkan kepala"),
                )
            }),
        );
        add(
            FaceCheck::Pose,
            (geometry.yaw_degrees.abs() > MAX_YAW_DEGREES
                || geometry.pitch_degrees.abs() > MAX_PITCH_DEGREES)
                .then(|| {
                    Label::new(
                        "look straight at the camera, chin level",
                        "lihat lurus ke kamera, dagu sejajar",
                    )
                }),
        );
        add(FaceCheck::Exposure, exposure_advice(&face));
        add(
            FaceCheck::Contrast,
            (face.dynamic_range < MIN_DYNAMIC_RANGE).then(|| {
                Label::new(
                    "the face looks flat: light it from the front and check the lens is clean",
                    "wajah tampak datar: terangi dari depan dan pastikan lensa bersih",
                )
            }),
        );
        add(
            FaceCheck::Illumination,
            (face.illumination_balance < MIN_ILLUMINATION_BALANCE).then(|| {
                Label::new(
                    "one side of the face is in shadow: light both sides evenly from the front",
                    "satu sisi wajah dalam bayangan: terangi kedua sisi secara merata dari depan",
                )
            }),
        );
        add(
            FaceCheck::Sharpness,
            (face.sharpness < MIN_SHARPNESS).then(|| {
                Label::new(
                    "the photo is blurred: hold still and check the focus",
                    "foto kabur: tetap diam dan periksa fokus",
                )
            }),
        );
        add(
            FaceCheck::Background,
            (face.background_plain < MIN_PLAIN_BACKGROUND
                || face.background_difference > MAX_BACKGROUND_DIFFERENCE)
                .then(|| {
                    Label::new(
                        "the background is not plain: stand before a plain, light wall",
                        "latar belakang tidak polos: berdirilah di depan dinding polos berwarna terang",
                    )
                }),
        );
        FaceAssessment {
            faces: 1,
            geometry: Some(geometry),
            checks,
            sharpness: face.sharpness,
            measures: Some(face),
        }
    }

    /// Face boxes in frame pixels.
    fn detect(&mut self, grey: &Grey) -> Vec<(f64, f64, f64, f64)> {
        let small = grey.shrink(DETECTION_WIDTH);
        if small.width < 24 || small.height < 24 {
            return Vec::new();
        }
        // A frame narrower than the detection width is not shrunk: the scale is 1 then.
        let scale = f64::from(grey.width) / f64::from(small.width);
        let data = rustface::ImageData::new(&small.pixels, small.width, small.height);
        self.detector
            .detect(&data)
            .iter()
            .map(|face| {
                let b = face.bbox();
                (
                    f64::from(b.x()) * scale,
                    f64::from(b.y()) * scale,
                    f64::from(b.width()) * scale,
                    f64::from(b.height()) * scale,
                )
            })
            .collect()
    }
}
