//! Renders a synthetic head-and-shoulders portrait: enough structure (face oval, eyes, brows,
//! nose, mouth, plain background) for a person or a face check to recognise it as a photo.

use super::rng::SplitMix64;
use crate::image::RgbFrame;

struct Look {
    skin: [f64; 3],
    hair: [f64; 3],
    shirt: [f64; 3],
    background: [f64; 3],
    face_width: f64,
    face_height: f64,
}

impl Look {
    fn for_seed(seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0xFACE);
        let tone = rng.range(0.0, 1.0);
        let skin = [
            255.0 - 90.0 * tone,
            214.0 - 100.0 * tone,
            180.0 - 105.0 * tone,
        ];
        let hair_tone = rng.range(15.0, 70.0);
        Self {
            skin,
            hair: [hair_tone, hair_tone * 0.8, hair_tone * 0.6],
            shirt: [
                rng.range(30.0, 200.0),
                rng.range(30.0, 200.0),
                rng.range(60.0, 220.0),
            ],
            background: [226.0, 230.0, 236.0],
            face_width: rng.range(0.14, 0.17),
            face_height: rng.range(0.27, 0.31),
        }
    }
}

/// Frame `frame` of the applicant chosen by `seed`: the head sways a few pixels between frames.
pub(super) fn render(seed: u64, frame: u64, width: u32, height: u32) -> RgbFrame {
    let look = Look::for_seed(seed);
    let (w, h) = (f64::from(width), f64::from(height));
    let t = frame as f64;
    let cx = w / 2.0 + 0.006 * w * (t * 0.3).sin();
    let cy = h * 0.46 + 0.006 * h * (t * 0.21).cos();
    let rx = look.face_width * w;
    let ry = look.face_height * h;
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            let colour = shade(
                &look,
                f64::from(x) + 0.5,
                f64::from(y) + 0.5,
                cx,
                cy,
                rx,
                ry,
                h,
            );
            pixels.extend(colour.iter().map(|c| c.clamp(0.0, 255.0) as u8));
        }
    }
    RgbFrame::new(width, height, pixels).expect("the buffer has width × height × 3 bytes")
}

#[allow(clippy::too_many_arguments)]
fn shade(look: &Look, x: f64, y: f64, cx: f64, cy: f64, rx: f64, ry: f64, h: f64) -> [f64; 3] {
    let (u, v) = ((x - cx) / rx, (y - cy) / ry);
    let inside =
        |du: f64, dv: f64, a: f64, b: f64| ((u - du) / a).powi(2) + ((v - dv) / b).powi(2) <= 1.0;

    // Shoulders below the face.
    let shoulder = ((x - cx) / (rx * 2.6)).powi(2) + ((y - (cy + ry * 1.75)) / (ry * 0.9)).powi(2);
    if shoulder <= 1.0 && y > cy + ry * 0.8 {
        return look.shirt;
    }
    let neck = u.abs() < 0.45 && v > 0.6 && v < 1.3;
    let face = inside(0.0, 0.0, 1.0, 1.0);
    let hair = inside(0.0, -0.18, 1.1, 0.95) && v < -0.35;
    if hair && !(face && v > -0.62) {
        return look.hair;
    }
    if !(face || neck) {
        // A plain background with a faint vertical gradient, as a photo booth wall.
        let g = 1.0 - 0.05 * (y / h);
        return look.background.map(|c| c * g);
    }
    let mut colour = look.skin;
    let curvature = 1.0 - 0.18 * u.powi(2) - if neck { 0.15 } else { 0.0 };
    colour = colour.map(|c| c * curvature);
    for side in [-1.0, 1.0] {
        let ex = side * 0.38;
        if inside(ex, -0.28, 0.26, 0.05) && v > -0.3 - 0.01 {
            return [40.0, 30.0, 25.0]; // eyebrow
        }
        if inside(ex, -0.12, 0.2, 0.075) {
            let iris = ((u - ex) / 0.075).powi(2) + ((v + 0.12) / 0.07).powi(2) <= 1.0;
            return if iris {
                [55.0, 35.0, 25.0]
            } else {
                [245.0, 245.0, 240.0]
            };
        }
    }
    if inside(0.0, 0.18, 0.07, 0.16) && u > 0.0 {
        colour = colour.map(|c| c * 0.85); // shadow beside the nose
    }
    if inside(0.0, 0.5, 0.32, 0.07) {
        return [170.0, 80.0, 80.0]; // lips
    }
    colour
}
