//! The greyscale working copy of a frame, and where the face is in it: the landmark model run
//! in the detector's box, the eye centres, roll, yaw and pitch from its five points.

use formats::image::RgbFrame;

use super::{
    midpoint, FaceGeometry, BOX_SCALE, BOX_SHIFT_X, BOX_SHIFT_Y, FRONTAL_NOSE_BELOW, NOSE_DEPTH,
    PUPIL_ABOVE_CORNERS,
};
use crate::quality::landmarks::{GreyView, ShapePredictor};

/// A greyscale copy of a frame.
pub(super) struct Grey {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) pixels: Vec<u8>,
}

impl Grey {
    pub(super) fn from_rgb(frame: &RgbFrame) -> Self {
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

    pub(super) fn at(&self, x: i64, y: i64) -> u8 {
        let x = x.clamp(0, i64::from(self.width) - 1) as usize;
        let y = y.clamp(0, i64::from(self.height) - 1) as usize;
        self.pixels[y * self.width as usize + x]
    }

    /// Shrunk to `width` across by averaging boxes.
    pub(super) fn shrink(&self, width: u32) -> Grey {
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
pub(super) fn locate(
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
