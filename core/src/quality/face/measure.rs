//! The photometric measures of the face (exposure, contrast, illumination, sharpness, a plain
//! background) and the exposure advice drawn from them.

use protocol::form::Label;
use serde::Serialize;

use super::locate::Grey;
use super::token::token_region;
use super::{
    FaceGeometry, DARK_BACKGROUND, DARK_FACE, MAX_BRIGHT_SHARE, MAX_DARK_SHARE, SMOOTH_STEP,
};

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
    let neighbours = |i: usize| crate::quality::four_neighbours(i, columns, rows);
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

pub(super) fn measure(grey: &Grey, geometry: &FaceGeometry) -> FaceMeasures {
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

/// "Too dark" only when more light would help: shadows crushed to black, or a dark face before
/// a dark background (the whole scene lacks light). A dark-skinned face, correctly lit before a
/// light backdrop, has neither.
pub(super) fn exposure_advice(face: &FaceMeasures) -> Option<Label> {
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
