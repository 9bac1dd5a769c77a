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

use std::sync::OnceLock;

use formats::image::RgbFrame;
use protocol::form::Label;

use super::landmarks::{GreyView, ShapePredictor};
use serde::Serialize;

/// The SeetaFace frontal detector's model, shipped with the station.
static MODEL_BYTES: &[u8] = include_bytes!("../../models/seeta_fd_frontal_v1.0.bin");

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

/// A greyscale copy of a frame.
struct Grey {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Grey {
    fn from_rgb(frame: &RgbFrame) -> Self {
        let pixels = frame
            .pixels()
            .chunks_exact(3)
            .map(|p| {
                ((u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8) as u8
            })
            .collect();
        Grey {
            width: frame.width(),
            height: frame.height(),
            pixels,
        }
    }

    fn at(&self, x: i64, y: i64) -> u8 {
        let x = x.clamp(0, i64::from(self.width) - 1) as usize;
        let y = y.clamp(0, i64::from(self.height) - 1) as usize;
        self.pixels[y * self.width as usize + x]
    }

    /// Shrunk to `width` across by averaging boxes.
    fn shrink(&self, width: u32) -> Grey {
        if self.width <= width {
            return Grey {
                width: self.width,
                height: self.height,
                pixels: self.pixels.clone(),
            };
        }
        let scale = f64::from(self.width) / f64::from(width);
        let height = (f64::from(self.height) / scale).round() as u32;
        let mut pixels = Vec::with_capacity((width * height) as usize);
        for y in 0..height {
            let (y0, y1) = (
                (f64::from(y) * scale) as i64,
                ((f64::from(y + 1) * scale) as i64).max((f64::from(y) * scale) as i64 + 1),
            );
            for x in 0..width {
                let (x0, x1) = (
                    (f64::from(x) * scale) as i64,
                    ((f64::from(x + 1) * scale) as i64).max((f64::from(x) * scale) as i64 + 1),
                );
                let mut sum = 0u32;
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        sum += u32::from(self.at(xx, yy));
                    }
                }
                pixels.push((sum / ((y1 - y0) * (x1 - x0)) as u32) as u8);
            }
        }
        Grey {
            width,
            height,
            pixels,
        }
    }
}

/// Where the face is, from the landmark model run in the box dlib's detector would draw around
/// the face SeetaFace found.
fn locate(
    grey: &Grey,
    predictor: &ShapePredictor,
    (x, y, w, h): (f64, f64, f64, f64),
) -> Option<FaceGeometry> {
    let (cx, cy) = (x + w / 2.0 + BOX_SHIFT_X * w, y + h / 2.0 + BOX_SHIFT_Y * w);
    let half = BOX_SCALE * w / 2.0;
    let points = predictor.five(
        GreyView {
            width: grey.width,
            height: grey.height,
            pixels: &grey.pixels,
        },
        (cx - half, cy - half, cx + half, cy + half),
    )?;
    let corners_left = midpoint(points.left_eye[0], points.left_eye[1]);
    let corners_right = midpoint(points.right_eye[0], points.right_eye[1]);
    let (dx, dy) = (
        corners_right.0 - corners_left.0,
        corners_right.1 - corners_left.1,
    );
    let distance = dx.hypot(dy).max(1.0);
    // Unit vectors along the eye line and down the face (perpendicular to it).
    let (along, down) = (
        (dx / distance, dy / distance),
        (-dy / distance, dx / distance),
    );
    // The pupils sit a little above the line through the eye corners.
    let lift = PUPIL_ABOVE_CORNERS * distance;
    let raise = |p: (f64, f64)| (p.0 - down.0 * lift, p.1 - down.1 * lift);
    let (left_eye, right_eye) = (raise(corners_left), raise(corners_right));
    let mid = midpoint(left_eye, right_eye);
    let nose = (points.nose.0 - mid.0, points.nose.1 - mid.1);
    let nose_along = (nose.0 * along.0 + nose.1 * along.1) / distance;
    let nose_below = (nose.0 * down.0 + nose.1 * down.1) / distance;
    Some(FaceGeometry {
        bounds: (x, y, w, h),
        left_eye,
        right_eye,
        landmarks: points.all(),
        roll_degrees: dy.atan2(dx).to_degrees(),
        // A turn of φ moves the nose base sideways by its depth in front of the eyes × sin φ.
        yaw_degrees: (nose_along / NOSE_DEPTH)
            .clamp(-1.0, 1.0)
            .asin()
            .to_degrees(),
        // A nod moves it up or down from where a level face has it.
        pitch_degrees: ((nose_below - FRONTAL_NOSE_BELOW) / NOSE_DEPTH)
            .clamp(-1.0, 1.0)
            .asin()
            .to_degrees(),
    })
}

/// What the photometric checks measure, relative to the face and the frame (ISO/IEC 29794-5's
/// measures, as BSI's OFIQ computes them, simplified to what runs on every frame).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FaceMeasures {
    /// Mean grey level of the inner face.
    pub face_mean: f64,
    /// Share of the inner face at 25 or below (crushed shadows).
    pub dark_share: f64,
    /// Share of the inner face at 247 or above (blown highlights).
    pub bright_share: f64,
    /// Entropy of the inner face's grey-level histogram, bits: its dynamic range.
    pub dynamic_range: f64,
    /// Mean of the darker half of the face over the mean of the brighter half (1: even light).
    pub illumination_balance: f64,
    /// Mean grey level of the background beside and above the head.
    pub background_mean: f64,
    /// Share of the background (the token crop outside a generous head-and-shoulders outline)
    /// that is plain: reached from the crop's edge through smooth steps only. Hair beyond the
    /// outline, texture, objects and other people are not.
    pub background_plain: f64,
    /// Difference of the mean grey level of the background on the left and on the right.
    pub background_difference: f64,
    /// Fine detail of the face per unit of contrast, scaled by its size.
    pub sharpness: f64,
}

/// A point in the face's own frame: `u` along the eye line and `v` down the face, in eye
/// distances from the eyes' midpoint.
struct FaceFrame {
    mid: (f64, f64),
    along: (f64, f64),
    down: (f64, f64),
    distance: f64,
}

impl FaceFrame {
    fn new(geometry: &FaceGeometry) -> Self {
        let distance = geometry.eye_distance().max(1.0);
        let (dx, dy) = (
            (geometry.right_eye.0 - geometry.left_eye.0) / distance,
            (geometry.right_eye.1 - geometry.left_eye.1) / distance,
        );
        FaceFrame {
            mid: geometry.eye_midpoint(),
            along: (dx, dy),
            down: (-dy, dx),
            distance,
        }
    }

    fn to_face(&self, x: f64, y: f64) -> (f64, f64) {
        let (px, py) = (x - self.mid.0, y - self.mid.1);
        (
            (px * self.along.0 + py * self.along.1) / self.distance,
            (px * self.down.0 + py * self.down.1) / self.distance,
        )
    }

    /// The frame pixels' bounding box of a face-frame rectangle.
    fn pixel_box(&self, (u0, u1): (f64, f64), (v0, v1): (f64, f64)) -> (i64, i64, i64, i64) {
        let corners = [(u0, v0), (u1, v0), (u0, v1), (u1, v1)].map(|(u, v)| {
            (
                self.mid.0 + (u * self.along.0 + v * self.down.0) * self.distance,
                self.mid.1 + (u * self.along.1 + v * self.down.1) * self.distance,
            )
        });
        let xs = corners.map(|c| c.0);
        let ys = corners.map(|c| c.1);
        let min = |v: [f64; 4]| v.iter().copied().fold(f64::INFINITY, f64::min).floor() as i64;
        let max = |v: [f64; 4]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max).ceil() as i64;
        (min(xs), min(ys), max(xs), max(ys))
    }
}

/// The inner face: from a little above the eyes to below the nose, between the outer eye
/// corners' verticals (skin, eyes, nose; little hair, no background).
const INNER_FACE_U: (f64, f64) = (-0.75, 0.75);
const INNER_FACE_V: (f64, f64) = (-0.35, 1.05);

/// Whether a point (face frame) is on the head or the shoulders, generously: an ellipse around
/// the head and hair, and below the chin a region widening to the shoulders.
fn on_head_or_shoulders(u: f64, v: f64) -> bool {
    let (a, b) = (1.45, 2.05);
    let (cu, cv) = (0.0, -0.3);
    let head = ((u - cu) / a).powi(2) + ((v - cv) / b).powi(2) <= 1.0;
    let body = v > 1.2 && u.abs() < 1.2 + (v - 1.2) * 1.6;
    head || body
}

struct PlainBackground {
    /// Samples of the expected background reached.
    reached: f64,
    /// Samples of the expected background.
    expected: f64,
    /// Sum and count of the reached samples left and right of the face.
    sides: [(f64, f64); 2],
}

/// Flood-fills the token crop (every other pixel) from its top and side edges through steps of
/// at most [`SMOOTH_STEP`], starting only where the wall is smooth, and counts what of the
/// expected background (outside [`on_head_or_shoulders`]) it reached.
fn plain_background(
    grey: &Grey,
    face: &FaceFrame,
    (left, top, width, height): (f64, f64, f64, f64),
) -> PlainBackground {
    let x0 = (left.max(0.0) as i64).min(i64::from(grey.width) - 1);
    let y0 = (top.max(0.0) as i64).min(i64::from(grey.height) - 1);
    let x1 = ((left + width) as i64).clamp(x0, i64::from(grey.width) - 1);
    let y1 = ((top + height) as i64).clamp(y0, i64::from(grey.height) - 1);
    let (columns, rows) = ((x1 - x0) / 2 + 1, (y1 - y0) / 2 + 1);
    let (columns, rows) = (columns as usize, rows as usize);
    let at = |c: usize, r: usize| i32::from(grey.at(x0 + 2 * c as i64, y0 + 2 * r as i64));
    let position =
        |c: usize, r: usize| face.to_face((x0 + 2 * c as i64) as f64, (y0 + 2 * r as i64) as f64);
    let mut expected_mask = vec![false; columns * rows];
    let mut expected = 0.0;
    for r in 0..rows {
        for c in 0..columns {
            let (u, v) = position(c, r);
            if !on_head_or_shoulders(u, v) {
                expected_mask[r * columns + c] = true;
                expected += 1.0;
            }
        }
    }
    let value = |i: usize| at(i % columns, i / columns);
    let neighbours = |i: usize| super::four_neighbours(i, columns, rows);
    let smooth = |i: usize| neighbours(i).all(|j| (value(j) - value(i)).abs() <= SMOOTH_STEP);
    let mut reached = vec![false; columns * rows];
    let mut queue = std::collections::VecDeque::new();
    let edge = (0..columns)
        .map(|c| (c, 0))
        .chain((0..rows).flat_map(|r| [(0, r), (columns - 1, r)]));
    for (c, r) in edge {
        let i = r * columns + c;
        if expected_mask[i] && !reached[i] && smooth(i) {
            reached[i] = true;
            queue.push_back(i);
        }
    }
    while let Some(i) = queue.pop_front() {
        for j in neighbours(i) {
            if !reached[j] && (value(j) - value(i)).abs() <= SMOOTH_STEP {
                reached[j] = true;
                queue.push_back(j);
            }
        }
    }
    let mut plain = PlainBackground {
        reached: 0.0,
        expected,
        sides: [(0.0, 0.0); 2],
    };
    for r in 0..rows {
        for c in 0..columns {
            let i = r * columns + c;
            if expected_mask[i] && reached[i] {
                plain.reached += 1.0;
                let side = &mut plain.sides[usize::from(position(c, r).0 > 0.0)];
                side.0 += f64::from(at(c, r));
                side.1 += 1.0;
            }
        }
    }
    plain
}

fn measure(grey: &Grey, geometry: &FaceGeometry) -> FaceMeasures {
    let face = FaceFrame::new(geometry);
    let clamp_x = |x: i64| x.clamp(0, i64::from(grey.width) - 1);
    let clamp_y = |y: i64| y.clamp(0, i64::from(grey.height) - 1);
    // The inner face, pixel by pixel.
    let (x0, y0, x1, y1) = face.pixel_box(INNER_FACE_U, INNER_FACE_V);
    let mut histogram = [0u32; 256];
    let (mut halves, mut counts) = ([0f64; 2], [0f64; 2]);
    let mut laplacian = 0f64;
    for y in clamp_y(y0)..=clamp_y(y1) {
        for x in clamp_x(x0)..=clamp_x(x1) {
            let (u, v) = face.to_face(x as f64, y as f64);
            if u < INNER_FACE_U.0 || u > INNER_FACE_U.1 || v < INNER_FACE_V.0 || v > INNER_FACE_V.1
            {
                continue;
            }
            let value = grey.at(x, y);
            histogram[usize::from(value)] += 1;
            // The halves beside the nose line; the strip over the nose belongs to neither.
            if u.abs() > 0.12 {
                let side = usize::from(u > 0.0);
                halves[side] += f64::from(value);
                counts[side] += 1.0;
            }
            let l = 4.0 * f64::from(value)
                - f64::from(grey.at(x - 1, y))
                - f64::from(grey.at(x + 1, y))
                - f64::from(grey.at(x, y - 1))
                - f64::from(grey.at(x, y + 1));
            laplacian += l.abs();
        }
    }
    let n = f64::from(histogram.iter().sum::<u32>()).max(1.0);
    let (mut sum, mut sum2) = (0f64, 0f64);
    for (value, &count) in histogram.iter().enumerate() {
        let (v, c) = (value as f64, f64::from(count));
        sum += v * c;
        sum2 += v * v * c;
    }
    let mean = sum / n;
    let std = (sum2 / n - mean * mean).max(0.0).sqrt();
    let share = |range: std::ops::RangeInclusive<usize>| {
        f64::from(histogram[range].iter().sum::<u32>()) / n
    };
    let dynamic_range = histogram
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    let side_means = [
        halves[0] / counts[0].max(1.0),
        halves[1] / counts[1].max(1.0),
    ];
    let illumination_balance =
        side_means[0].min(side_means[1]) / side_means[0].max(side_means[1]).max(1.0);
    let plain = plain_background(grey, &face, token_region(geometry));
    let side_mean = |(s, c): (f64, f64)| (c > 0.0).then(|| s / c);
    let sides = plain.sides;
    FaceMeasures {
        face_mean: mean,
        dark_share: share(0..=25),
        bright_share: share(247..=255),
        dynamic_range,
        illumination_balance,
        background_mean: (sides[0].0 + sides[1].0) / (sides[0].1 + sides[1].1).max(1.0),
        background_plain: plain.reached / plain.expected.max(1.0),
        // Compared only when each side shows enough wall (hair may hide most of one).
        background_difference: match (side_mean(sides[0]), side_mean(sides[1])) {
            _ if sides[0].1.min(sides[1].1) < 0.1 * plain.expected => 0.0,
            (Some(a), Some(b)) => (a - b).abs(),
            _ => 0.0,
        },
        // Fine detail per unit of contrast, scaled by the face's size: the same face half as
        // large has twice the edge per pixel.
        sharpness: laplacian / n / std.max(1.0) * face.distance / 100.0,
    }
}

/// The token-frontal crop's region in the frame: left, top, width, height (before rotation).
fn token_region(geometry: &FaceGeometry) -> (f64, f64, f64, f64) {
    let width = geometry.eye_distance() / TOKEN_EYE_DISTANCE;
    let height = width / TOKEN_ASPECT;
    let (mx, my) = geometry.eye_midpoint();
    (mx - width / 2.0, my - TOKEN_EYE_LINE * width, width, height)
}

fn centring_advice(
    (left, top, width, height): (f64, f64, f64, f64),
    eyes_x: f64,
    frame_width: f64,
    frame_height: f64,
) -> Option<Label> {
    let slack_x = frame_width * 0.02;
    let slack_y = frame_height * 0.02;
    let off_centre = (eyes_x - frame_width / 2.0) / frame_width;
    // The applicant moves; "left" and "right" are the applicant's, who faces the camera.
    if left < -slack_x || off_centre < -MAX_OFF_CENTRE {
        Some(Label::new(
            "move to the centre: a step to your right",
            "pindah ke tengah: satu langkah ke kanan Anda",
        ))
    } else if left + width > frame_width + slack_x || off_centre > MAX_OFF_CENTRE {
        Some(Label::new(
            "move to the centre: a step to your left",
            "pindah ke tengah: satu langkah ke kiri Anda",
        ))
    } else if top < -slack_y {
        Some(Label::new(
            "the head is too high: lower the camera or sit lower",
            "kepala terlalu tinggi: turunkan kamera atau duduk lebih rendah",
        ))
    } else if top + height > frame_height + slack_y {
        Some(Label::new(
            "the head is too low: raise the camera or sit up",
            "kepala terlalu rendah: naikkan kamera atau duduk tegak",
        ))
    } else {
        None
    }
}

/// "Too dark" only when more light would help: shadows crushed to black, or a dark face before
/// a dark background (the whole scene lacks light). A dark-skinned face, correctly lit before a
/// light backdrop, has neither.
fn exposure_advice(face: &FaceMeasures) -> Option<Label> {
    if face.dark_share > MAX_DARK_SHARE
        || (face.face_mean < DARK_FACE && face.background_mean < DARK_BACKGROUND)
    {
        Some(Label::new(
            "too dark: add light in front of the applicant",
            "terlalu gelap: tambahkan cahaya di depan pemohon",
        ))
    } else if face.bright_share > MAX_BRIGHT_SHARE {
        Some(Label::new(
            "too bright: the face is washed out, reduce the light",
            "terlalu terang: wajah pudar, kurangi cahaya",
        ))
    } else {
        None
    }
}

/// The ISO/IEC 19794-5 token-frontal image of the face: 360×480, the eyes level, 90 pixels
/// apart, their midpoint centred 216 pixels from the top. Parts beyond the frame are grey.
pub fn token_frontal(frame: &RgbFrame, geometry: &FaceGeometry) -> RgbFrame {
    let scale = geometry.eye_distance() / (TOKEN_EYE_DISTANCE * f64::from(TOKEN_WIDTH));
    let (sin, cos) = geometry.roll_degrees.to_radians().sin_cos();
    let (mx, my) = geometry.eye_midpoint();
    let (ex, ey) = (
        f64::from(TOKEN_WIDTH) / 2.0,
        TOKEN_EYE_LINE * f64::from(TOKEN_WIDTH),
    );
    let (fw, fh) = (frame.width() as i64, frame.height() as i64);
    let source = frame.pixels();
    let mut out = Vec::with_capacity((TOKEN_WIDTH * TOKEN_HEIGHT * 3) as usize);
    for ty in 0..TOKEN_HEIGHT {
        for tx in 0..TOKEN_WIDTH {
            // Token pixel → frame: scale, rotate by the roll, move to the eye midpoint.
            let (u, v) = ((f64::from(tx) - ex) * scale, (f64::from(ty) - ey) * scale);
            let (sx, sy) = (mx + u * cos - v * sin, my + u * sin + v * cos);
            let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
            let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
            if x0 < 0 || y0 < 0 || x0 + 1 >= fw || y0 + 1 >= fh {
                out.extend_from_slice(&[128, 128, 128]);
                continue;
            }
            for channel in 0..3 {
                let at = |x: i64, y: i64| f64::from(source[((y * fw + x) * 3) as usize + channel]);
                let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
                let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
                out.push((top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    RgbFrame::new(TOKEN_WIDTH, TOKEN_HEIGHT, out).expect("360 × 480 × 3 bytes")
}

/// Auto-capture: takes the photo once every check has passed on `required` consecutive frames,
/// keeping the sharpest of them. A failing frame starts the count again.
#[derive(Debug)]
pub struct AutoCapture {
    required: usize,
    streak: usize,
    best: Option<(RgbFrame, FaceAssessment)>,
}

impl AutoCapture {
    /// Needs `required` good frames in a row (at least 1).
    pub fn new(required: usize) -> Self {
        AutoCapture {
            required: required.max(1),
            streak: 0,
            best: None,
        }
    }

    /// Good frames in a row so far.
    pub fn streak(&self) -> usize {
        self.streak
    }

    /// Good frames in a row needed.
    pub fn required(&self) -> usize {
        self.required
    }

    /// Feeds one frame and its assessment; returns the chosen frame and its assessment when the
    /// streak is long enough (and starts over).
    pub fn feed(
        &mut self,
        frame: &RgbFrame,
        assessment: &FaceAssessment,
    ) -> Option<(RgbFrame, FaceAssessment)> {
        if !assessment.compliant() {
            self.streak = 0;
            self.best = None;
            return None;
        }
        self.streak += 1;
        if self
            .best
            .as_ref()
            .is_none_or(|(_, best)| assessment.sharpness > best.sharpness)
        {
            self.best = Some((frame.clone(), assessment.clone()));
        }
        if self.streak >= self.required {
            self.streak = 0;
            return self.best.take();
        }
        None
    }
}

pub use super::WatchEnd;

/// Watches `camera`'s live stream, telling `on_frame` each frame, the latest assessment and
/// the auto-capture streak, until `required` consecutive checked frames have passed (returns the
/// sharpest of them, a frame that was itself checked; the frame on which that happens is not
/// shown), `stop` is set, or `limit` passes.
///
/// The checks run on their own thread, on the newest frame each time they are free, so the
/// preview keeps the camera's pace whatever they cost: each preview frame carries the latest
/// assessment, at most a frame or two older than the picture (the first frame is checked
/// before it is shown, so no frame goes out unassessed).
///
/// # Errors
/// The camera's error when the stream cannot open or breaks; a fault when the face models are
/// damaged (before the camera is opened) or the checks fail.
pub fn watch(
    camera: &dyn hardware::Camera,
    required: usize,
    limit: std::time::Duration,
    stop: &std::sync::atomic::AtomicBool,
    mut on_frame: impl FnMut(&RgbFrame, &FaceAssessment, &AutoCapture),
) -> Result<Result<(RgbFrame, FaceAssessment), WatchEnd>, hardware::DeviceError> {
    use std::sync::mpsc::{TryRecvError, TrySendError};
    let fault = |reason: String| hardware::DeviceError::Fault {
        device: "face checks".into(),
        reason,
    };
    // The checker itself cannot move to another thread (its detector is not `Send`): this one
    // is made to find a damaged model before the camera is switched on, the thread makes its own.
    FaceChecker::new().map_err(|error| fault(error.to_string()))?;
    let mut stream = camera.open_stream()?;
    let mut auto = AutoCapture::new(required);
    let deadline = std::time::Instant::now() + limit;
    std::thread::scope(|scope| {
        // One frame waits for the checker at most; the results come back with their frame.
        let (to_checker, inbox) = std::sync::mpsc::sync_channel::<RgbFrame>(1);
        let (to_watch, results) = std::sync::mpsc::channel();
        let checker = scope.spawn(move || {
            let mut checker = match FaceChecker::new() {
                Ok(checker) => checker,
                Err(error) => {
                    let _ = to_watch.send(Err(error));
                    return;
                }
            };
            for frame in inbox {
                let assessment = checker.assess(&frame);
                if to_watch.send(Ok((frame, assessment))).is_err() {
                    break;
                }
            }
        });
        let stopped = || fault("the face checks stopped working".into());
        let checked = |result: Result<_, ModelError>| result.map_err(|e| fault(e.to_string()));
        let mut watching = || {
            let first = stream.next_frame()?;
            to_checker.send(first.clone()).map_err(|_| stopped())?;
            let (_, mut latest) = checked(results.recv().map_err(|_| stopped())?)?;
            if let Some(taken) = auto.feed(&first, &latest) {
                return Ok(Ok(taken));
            }
            on_frame(&first, &latest, &auto);
            let mut checking = false;
            loop {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return Ok(Err(WatchEnd::Stopped));
                }
                if std::time::Instant::now() >= deadline {
                    return Ok(Err(WatchEnd::TimedOut));
                }
                let frame = stream.next_frame()?;
                loop {
                    match results.try_recv() {
                        Ok(result) => {
                            let (frame, assessment) = checked(result)?;
                            checking = false;
                            let taken = auto.feed(&frame, &assessment);
                            latest = assessment;
                            if let Some(taken) = taken {
                                return Ok(Ok(taken));
                            }
                        }
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => return Err(stopped()),
                    }
                }
                if !checking {
                    match to_checker.try_send(frame.clone()) {
                        Ok(()) => checking = true,
                        Err(TrySendError::Full(_)) => {}
                        Err(TrySendError::Disconnected(_)) => return Err(stopped()),
                    }
                }
                on_frame(&frame, &latest, &auto);
            }
        };
        let outcome = watching();
        // Closing the channel ends the checker's loop; a checker that panicked is a fault of
        // the checks, reported as such rather than taking the caller down with it.
        drop(to_checker);
        match checker.join() {
            Ok(()) => outcome,
            Err(_) => Err(fault("the face checks failed on a frame".into())),
        }
    })
}
