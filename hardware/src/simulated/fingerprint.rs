//! Renders a synthetic 500 ppi fingerprint: a ridge phase field shaped as an arch, a loop or a
//! whorl around a core point, with the ridge spacing of real prints (about 9 pixels, 0.46 mm),
//! slow ridge waviness, an elliptical finger contact area and sensor noise.

use std::f64::consts::TAU;

use super::rng::SplitMix64;
use crate::image::FingerprintImage;
use crate::FingerPosition;

const WIDTH: u32 = 400;
const HEIGHT: u32 = 500;
const PPI: u16 = 500;

#[derive(Clone, Copy)]
enum Pattern {
    Arch,
    Loop { slant: f64 },
    Whorl,
}

/// The print of `finger` for the applicant chosen by `seed`; the same inputs always give the
/// same pixels.
pub fn render_fingerprint(seed: u64, finger: FingerPosition) -> FingerprintImage {
    let mut rng = SplitMix64::new(
        seed.wrapping_mul(31)
            .wrapping_add(u64::from(finger.iso_code())),
    );
    let pattern = match rng.next_u64() % 10 {
        0 => Pattern::Arch,
        1..=3 => Pattern::Whorl,
        n => Pattern::Loop {
            slant: if n % 2 == 0 { 0.45 } else { -0.45 },
        },
    };
    let period = rng.range(8.3, 9.7);
    let core = (rng.range(170.0, 230.0), rng.range(200.0, 260.0));
    let pad = (rng.range(135.0, 160.0), rng.range(195.0, 225.0));
    let wave = [rng.range(0.0, TAU), rng.range(0.0, TAU)];
    let pressure = rng.range(0.8, 1.0);
    let mut noise = SplitMix64::new(rng.next_u64());

    let mut pixels = Vec::with_capacity((WIDTH * HEIGHT) as usize);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let (fx, fy) = (f64::from(x), f64::from(y));
            let phase = ridge_phase(pattern, fx - core.0, fy - core.1, period)
                + 1.3 * (fx / 41.0 + wave[0]).sin()
                + 1.1 * (fy / 57.0 + wave[1]).sin();
            let ridge = (0.5 + 0.5 * phase.cos()).powf(1.4);
            let contact = contact_mask(fx - 200.0, fy - 260.0, pad);
            let grain = noise.range(-9.0, 9.0);
            let value = 250.0 - contact * pressure * (25.0 + 185.0 * ridge) + grain;
            pixels.push(value.clamp(0.0, 255.0) as u8);
        }
    }
    FingerprintImage::new(WIDTH, HEIGHT, PPI, pixels).expect("the buffer has width × height bytes")
}

fn ridge_phase(pattern: Pattern, dx: f64, dy: f64, period: f64) -> f64 {
    let k = TAU / period;
    // Far from the core every pattern flattens into arch-like ridges across the finger.
    let arch = k * (dy + 45.0 * (-(dx * dx) / (2.0 * 80.0 * 80.0)).exp());
    let near = match pattern {
        Pattern::Arch => return arch,
        Pattern::Whorl => k * (dx * dx + (dy * 1.15).powi(2)).sqrt() + 0.5 * dy.atan2(dx),
        Pattern::Loop { slant } => {
            let (u, v) = (
                dx * slant.cos() - dy * slant.sin(),
                dx * slant.sin() + dy * slant.cos(),
            );
            k * (u * u + v.min(0.0).powi(2)).sqrt()
        }
    };
    let r = (dx * dx + dy * dy).sqrt();
    let blend = ((r - 70.0) / 90.0).clamp(0.0, 1.0);
    let blend = blend * blend * (3.0 - 2.0 * blend);
    (1.0 - blend) * near + blend * arch
}

fn contact_mask(dx: f64, dy: f64, (rx, ry): (f64, f64)) -> f64 {
    let d = ((dx / rx).powi(2) + (dy / ry).powi(2)).sqrt();
    // A soft 8 % rim where the finger lifts off the platen.
    ((1.0 - d) / 0.08).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_print_has_dark_ridges_inside_a_light_platen() {
        let print = render_fingerprint(11, FingerPosition::LeftIndex);
        let pixels = print.pixels();
        let corner = pixels[0];
        let centre_row = &pixels[(250 * WIDTH) as usize..(251 * WIDTH) as usize];
        let darkest = centre_row.iter().copied().min().unwrap_or(255);
        let lightest = centre_row[150..250].iter().copied().max().unwrap_or(0);
        assert!(
            corner > 220,
            "outside the finger the platen is light, got {corner}"
        );
        assert!(darkest < 90, "ridges must be dark, darkest was {darkest}");
        assert!(
            lightest > 150,
            "valleys between ridges must be light, lightest was {lightest}"
        );
    }
}
