//! The ISO/IEC 19794-5 token-frontal crop: where it lies in the frame, the advice when it does
//! not fit, and the crop itself.

use formats::image::RgbFrame;
use protocol::form::Label;

use super::{
    FaceGeometry, MAX_OFF_CENTRE, TOKEN_ASPECT, TOKEN_EYE_DISTANCE, TOKEN_EYE_LINE, TOKEN_HEIGHT,
    TOKEN_WIDTH,
};

/// The token-frontal crop's region in the frame: left, top, width, height (before rotation).
pub(super) fn token_region(geometry: &FaceGeometry) -> (f64, f64, f64, f64) {
    let width = geometry.eye_distance() / TOKEN_EYE_DISTANCE;
    let height = width / TOKEN_ASPECT;
    let (mx, my) = geometry.eye_midpoint();
    (mx - width / 2.0, my - TOKEN_EYE_LINE * width, width, height)
}

pub(super) fn centring_advice(
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
