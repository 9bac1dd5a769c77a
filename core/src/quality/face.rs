//! ICAO-style checks of a face photo, fast enough to run on every camera frame, and the
//! ISO/IEC 19794-5 token-frontal crop of a compliant one.
//!
//! The face box comes from the SeetaFace frontal detector (the `rustface` crate, BSD-2-Clause;
//! its model, `core/models/seeta_fd_frontal_v1.0.bin`, is compiled into the station: nothing is
//! fetched at run time), run on a copy of the frame shrunk to 240 pixels across. The eyes are
//! then found at full resolution as the darkest round blob in each upper quarter of the face box.
//! From the box and the eyes:
//!
//! | check | passes when | advice when it fails |
//! |---|---|---|
//! | one face | exactly one face | no face: "look at the camera"; more: "only one person" |
//! | size | 60 px ≤ eye distance, and the token crop (5.3 eye distances tall) fits the frame | "move closer" / "move back" |
//! | centring | the eyes' midpoint within 10 % of the frame's width of its centre, the token crop inside the frame | "move left/right", "raise/lower the camera" |
//! | roll | the eye line within 8° of level | "keep the head straight" |
//! | pose | yaw and pitch estimates within 10° (ISO asks 5°; the estimate is good to about ±4°) | "look straight at the camera" |
//! | exposure | face mean ≥ 70 and < 2 % of it clipped | "too dark" / "too bright" |
//! | contrast | face standard deviation ≥ 25 | "light the face evenly" |
//! | sharpness | fine detail (Laplacian) relative to contrast above a floor | "hold still" |
//! | background | the token crop's top corners plain and alike | "stand before a plain background" |
//!
//! Yaw and pitch are estimates from where the eyes sit in the face box (a frontal face has its
//! eye midpoint on the box's centre line and its eyes 36 % down the box); with two landmarks that
//! is as far as the geometry goes.

use std::sync::OnceLock;

use hardware::image::RgbFrame;
use protocol::form::Label;
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
/// ISO/IEC 19794-5 allows 5° of yaw and pitch, but an estimate from two eyes and a detector box
/// (whose position moves in steps of about 10 pixels at 640 across) is only good to about ±4°:
/// the check refuses a clear turn or nod, not the last few degrees.
const MAX_YAW_PITCH_DEGREES: f64 = 10.0;
const MIN_FACE_MEAN: f64 = 70.0;
const MAX_CLIPPED: f64 = 0.02;
const MIN_FACE_STD: f64 = 25.0;
/// Sharpness floor: the astronaut framings measure 0.13, the same blurred by σ = 2 px 0.05.
const MIN_SHARPNESS: f64 = 0.08;
/// Where the eyes sit down a frontal face's detector box (measured on the astronaut photo).
const FRONTAL_EYE_HEIGHT: f64 = 0.36;
/// The eye midpoint must lie within this share of the frame's width from its centre line.
const MAX_OFF_CENTRE: f64 = 0.1;
const MAX_BACKGROUND_STD: f64 = 18.0;
const MAX_BACKGROUND_DIFFERENCE: f64 = 30.0;

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
    /// Not blurred.
    Sharpness,
    /// A plain background.
    Background,
}

impl FaceCheck {
    /// Every check, in the order they are run.
    pub const ALL: [FaceCheck; 9] = [
        FaceCheck::OneFace,
        FaceCheck::Size,
        FaceCheck::Centred,
        FaceCheck::Roll,
        FaceCheck::Pose,
        FaceCheck::Exposure,
        FaceCheck::Contrast,
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
}

impl std::fmt::Debug for FaceChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaceChecker")
    }
}

/// The face detector's model did not load.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the face detector's model is damaged: reinstall the station")]
pub struct ModelError;

impl FaceChecker {
    /// A checker with the shipped detector model.
    ///
    /// # Errors
    /// [`ModelError`] if the compiled-in model does not parse (a damaged build).
    pub fn new() -> Result<Self, ModelError> {
        let model = model().ok_or(ModelError)?.clone();
        let mut detector = rustface::create_detector_with_model(model);
        // 32 pixels at 240 across: faces from 85 pixels wide in a 640-pixel frame (eyes about 38
        // apart); smaller ones are too far away to be worth finding.
        detector.set_min_face_size(32);
        detector.set_score_thresh(2.0);
        detector.set_pyramid_scale_factor(0.7);
        detector.set_slide_window_step(4, 4);
        Ok(Self { detector })
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
            };
        }
        let geometry = locate_eyes(&grey, boxes[0]);
        let face = face_statistics(&grey, &geometry);
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
            (geometry.yaw_degrees.abs() > MAX_YAW_PITCH_DEGREES
                || geometry.pitch_degrees.abs() > MAX_YAW_PITCH_DEGREES)
                .then(|| {
                    Label::new(
                        "look straight at the camera, chin level",
                        "lihat lurus ke kamera, dagu sejajar",
                    )
                }),
        );
        add(
            FaceCheck::Exposure,
            if face.mean < MIN_FACE_MEAN {
                Some(Label::new(
                    "too dark: add light in front of the applicant",
                    "terlalu gelap: tambahkan cahaya di depan pemohon",
                ))
            } else if face.clipped > MAX_CLIPPED {
                Some(Label::new(
                    "too bright: the face is washed out, reduce the light",
                    "terlalu terang: wajah pudar, kurangi cahaya",
                ))
            } else {
                None
            },
        );
        add(
            FaceCheck::Contrast,
            (face.std < MIN_FACE_STD).then(|| {
                Label::new(
                    "too little contrast: light the face evenly",
                    "kontras terlalu rendah: terangi wajah secara merata",
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
        add(FaceCheck::Background, background_advice(&grey, token));
        FaceAssessment {
            faces: 1,
            geometry: Some(geometry),
            checks,
            sharpness: face.sharpness,
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

/// A summed-area table over a region, for box means in constant time.
struct Integral {
    left: i64,
    top: i64,
    width: i64,
    height: i64,
    table: Vec<u64>,
}

impl Integral {
    fn new(grey: &Grey, left: i64, top: i64, width: i64, height: i64) -> Self {
        let stride = (width + 1) as usize;
        let mut table = vec![0u64; stride * (height + 1) as usize];
        for y in 0..height {
            let mut row = 0u64;
            for x in 0..width {
                row += u64::from(grey.at(left + x, top + y));
                table[(y + 1) as usize * stride + (x + 1) as usize] =
                    table[y as usize * stride + (x + 1) as usize] + row;
            }
        }
        Integral {
            left,
            top,
            width,
            height,
            table,
        }
    }

    /// Mean over the square of half-size `r` around (`x`, `y`) (frame coordinates), clipped.
    fn mean(&self, x: i64, y: i64, r: i64) -> f64 {
        let stride = (self.width + 1) as usize;
        let x0 = (x - r - self.left).clamp(0, self.width) as usize;
        let x1 = (x + r + 1 - self.left).clamp(0, self.width) as usize;
        let y0 = (y - r - self.top).clamp(0, self.height) as usize;
        let y1 = (y + r + 1 - self.top).clamp(0, self.height) as usize;
        let area = ((x1 - x0) * (y1 - y0)).max(1) as f64;
        let sum = self.table[y1 * stride + x1] + self.table[y0 * stride + x0]
            - self.table[y0 * stride + x1]
            - self.table[y1 * stride + x0];
        sum as f64 / area
    }
}

/// The eyes: in each upper quarter of the face box, the point where a dark disc sits in a
/// brighter surround most strongly (pupil and iris against the white of the eye and the skin).
fn locate_eyes(grey: &Grey, (x, y, w, h): (f64, f64, f64, f64)) -> FaceGeometry {
    let integral = Integral::new(grey, x as i64, y as i64, w as i64 + 1, h as i64 + 1);
    let inner = (w * 0.035).max(2.0) as i64;
    let outer = (w * 0.09).max(4.0) as i64;
    // The areas of the two squares, for the ring's mean.
    let (a_in, a_out) = (
        ((2 * inner + 1) as f64).powi(2),
        ((2 * outer + 1) as f64).powi(2),
    );
    let find = |from: f64, to: f64| {
        let mut best = (f64::NEG_INFINITY, (x + w * (from + to) / 2.0, y + h * 0.4));
        let (ya, yb) = ((y + h * 0.22) as i64, (y + h * 0.58) as i64);
        let (xa, xb) = ((x + w * from) as i64, (x + w * to) as i64);
        for cy in ya..=yb {
            for cx in xa..=xb {
                let dark = integral.mean(cx, cy, inner);
                let around = integral.mean(cx, cy, outer);
                let ring = (around * a_out - dark * a_in) / (a_out - a_in);
                let response = ring - dark;
                if response > best.0 {
                    best = (response, (cx as f64, cy as f64));
                }
            }
        }
        best.1
    };
    let left_eye = find(0.12, 0.48);
    let right_eye = find(0.52, 0.88);
    let (dx, dy) = (right_eye.0 - left_eye.0, right_eye.1 - left_eye.1);
    let roll_degrees = dy.atan2(dx).to_degrees();
    let mid = midpoint(left_eye, right_eye);
    // A frontal face has its eye midpoint on the box's centre line: an offset of a fraction f
    // of the half-width is a turn of about asin(f).
    let yaw_degrees = ((mid.0 - (x + w / 2.0)) / (w / 2.0))
        .clamp(-1.0, 1.0)
        .asin()
        .to_degrees();
    // And its eyes at a set height in the box: above or below means a nod.
    let pitch_degrees = ((mid.1 - (y + h * FRONTAL_EYE_HEIGHT)) / (h / 2.0))
        .clamp(-1.0, 1.0)
        .asin()
        .to_degrees();
    FaceGeometry {
        bounds: (x, y, w, h),
        left_eye,
        right_eye,
        roll_degrees,
        yaw_degrees,
        pitch_degrees,
    }
}

struct FaceStatistics {
    mean: f64,
    std: f64,
    clipped: f64,
    sharpness: f64,
}

/// Grey-level statistics of the inner face (the middle of the box: skin, eyes, nose, mouth).
fn face_statistics(grey: &Grey, geometry: &FaceGeometry) -> FaceStatistics {
    let (x, y, w, h) = geometry.bounds;
    let (xa, xb) = ((x + w * 0.2) as i64, (x + w * 0.8) as i64);
    let (ya, yb) = ((y + h * 0.2) as i64, (y + h * 0.9) as i64);
    let (mut n, mut sum, mut sum2, mut clipped, mut laplacian) = (0f64, 0f64, 0f64, 0f64, 0f64);
    for yy in ya..yb {
        for xx in xa..xb {
            let v = f64::from(grey.at(xx, yy));
            n += 1.0;
            sum += v;
            sum2 += v * v;
            if v >= 250.0 {
                clipped += 1.0;
            }
            let l = 4.0 * v
                - f64::from(grey.at(xx - 1, yy))
                - f64::from(grey.at(xx + 1, yy))
                - f64::from(grey.at(xx, yy - 1))
                - f64::from(grey.at(xx, yy + 1));
            laplacian += l.abs();
        }
    }
    let n = n.max(1.0);
    let mean = sum / n;
    let std = (sum2 / n - mean * mean).max(0.0).sqrt();
    // Fine detail per unit of contrast, and scaled by the face's size: the same face half as
    // large has twice the edge per pixel.
    let scale = geometry.eye_distance().max(1.0) / 100.0;
    FaceStatistics {
        mean,
        std,
        clipped: clipped / n,
        sharpness: laplacian / n / std.max(1.0) * scale,
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

/// The token crop's two top corners (a fifth of its width, a seventh of its height) should be
/// plain and alike.
fn background_advice(
    grey: &Grey,
    (left, top, width, height): (f64, f64, f64, f64),
) -> Option<Label> {
    let patch = |x0: f64| {
        let (xa, xb) = (x0 as i64, (x0 + width * 0.2) as i64);
        let (ya, yb) = (top.max(0.0) as i64, (top.max(0.0) + height / 7.0) as i64);
        super::mean_std((ya..yb).flat_map(|y| (xa..xb).map(move |x| f64::from(grey.at(x, y)))))
    };
    let (left_mean, left_std) = patch(left);
    let (right_mean, right_std) = patch(left + width * 0.8);
    (left_std > MAX_BACKGROUND_STD
        || right_std > MAX_BACKGROUND_STD
        || (left_mean - right_mean).abs() > MAX_BACKGROUND_DIFFERENCE)
        .then(|| {
            Label::new(
                "the background is not plain: stand before a plain, light wall",
                "latar belakang tidak polos: berdirilah di depan dinding polos berwarna terang",
            )
        })
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

/// Watches `camera`'s live stream, checking every frame and telling `on_frame` the frame, its
/// assessment and the auto-capture streak, until `required` consecutive good frames have been
/// seen (returns the sharpest of them), `stop` is set, or `limit` passes.
///
/// # Errors
/// The camera's error when the stream cannot open or breaks.
pub fn watch(
    camera: &dyn hardware::Camera,
    required: usize,
    limit: std::time::Duration,
    stop: &std::sync::atomic::AtomicBool,
    mut on_frame: impl FnMut(&RgbFrame, &FaceAssessment, &AutoCapture),
) -> Result<Result<(RgbFrame, FaceAssessment), WatchEnd>, hardware::DeviceError> {
    let mut checker = FaceChecker::new().map_err(|error| hardware::DeviceError::Fault {
        device: "face checks".into(),
        reason: error.to_string(),
    })?;
    let mut stream = camera.open_stream()?;
    let mut auto = AutoCapture::new(required);
    let deadline = std::time::Instant::now() + limit;
    loop {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(Err(WatchEnd::Stopped));
        }
        if std::time::Instant::now() >= deadline {
            return Ok(Err(WatchEnd::TimedOut));
        }
        let frame = stream.next_frame()?;
        let assessment = checker.assess(&frame);
        let taken = auto.feed(&frame, &assessment);
        on_frame(&frame, &assessment, &auto);
        if let Some(taken) = taken {
            return Ok(Ok(taken));
        }
    }
}
