//! The ways a good fingerprint capture goes bad, applied to an image after the fact: a smeared
//! or out-of-focus print, a noisy sensor, a washed-out image, a finger only partly on the glass, a
//! smudge of grease or sweat. Each takes a strength in 0–1 (0 leaves the print as it is) and gives
//! the same pixels for the same inputs, so quality measures can be tested and calibrated on them.

use super::rng::SplitMix64;
use formats::image::FingerprintImage;

/// One way to spoil a print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Degradation {
    /// Gaussian blur, up to σ = 4 pixels (ridges 9 pixels apart blur into grey).
    Blur,
    /// Sensor noise, up to ±90 grey levels.
    Noise,
    /// Contrast squeezed towards the background, down to a tenth.
    LowContrast,
    /// The finger lifted off the glass from one side, up to 80 % of the print lost.
    PartialContact,
    /// A smeared, grease-dark patch over up to half the print.
    Smudge,
}

impl Degradation {
    /// Every degradation.
    pub const ALL: [Degradation; 5] = [
        Degradation::Blur,
        Degradation::Noise,
        Degradation::LowContrast,
        Degradation::PartialContact,
        Degradation::Smudge,
    ];

    /// A short lowercase name (`blur`, `noise`, `low-contrast`, `partial`, `smudge`).
    pub fn name(self) -> &'static str {
        match self {
            Degradation::Blur => "blur",
            Degradation::Noise => "noise",
            Degradation::LowContrast => "low-contrast",
            Degradation::PartialContact => "partial",
            Degradation::Smudge => "smudge",
        }
    }
}

/// `print` spoilt by `degradation` at `strength` (0–1, clamped); `seed` varies the noise and the
/// side a partial print is lost from.
pub fn degrade(
    print: &FingerprintImage,
    degradation: Degradation,
    strength: f64,
    seed: u64,
) -> FingerprintImage {
    let strength = strength.clamp(0.0, 1.0);
    let (width, height) = (print.width() as usize, print.height() as usize);
    let source = print.pixels();
    let pixels = match degradation {
        Degradation::Blur => gaussian_blur(source, width, height, 4.0 * strength),
        Degradation::Noise => {
            let mut rng = SplitMix64::new(seed ^ 0x006e_6f69_7365);
            source
                .iter()
                .map(|&value| {
                    // A sum of two uniforms: a triangular spread, closer to sensor noise.
                    let grain = (rng.unit() + rng.unit() - 1.0) * 90.0 * strength;
                    (f64::from(value) + grain).round().clamp(0.0, 255.0) as u8
                })
                .collect()
        }
        Degradation::LowContrast => {
            let background = background_level(source);
            let keep = 1.0 - 0.9 * strength;
            source
                .iter()
                .map(|&value| {
                    (background - (background - f64::from(value)) * keep)
                        .round()
                        .clamp(0.0, 255.0) as u8
                })
                .collect()
        }
        Degradation::PartialContact => {
            let background = background_level(source).round() as u8;
            let mut rng = SplitMix64::new(seed ^ 0x7061_7274);
            // Lost from the top (a fingertip rolling off), or from the left or right side.
            let side = (rng.next_u64() % 3) as usize;
            let lost = 0.8 * strength;
            let mut pixels = source.to_vec();
            for y in 0..height {
                for x in 0..width {
                    let (position, extent) = match side {
                        0 => (y as f64, height as f64),
                        1 => (x as f64, width as f64),
                        _ => ((width - 1 - x) as f64, width as f64),
                    };
                    let edge = lost * extent;
                    // A soft edge over 10 pixels, as skin leaves the glass.
                    let contact = ((position - edge + 10.0) / 10.0).clamp(0.0, 1.0);
                    let value = f64::from(pixels[y * width + x]);
                    pixels[y * width + x] = (f64::from(background)
                        - (f64::from(background) - value) * contact)
                        .round() as u8;
                }
            }
            pixels
        }
        Degradation::Smudge => {
            let smeared = gaussian_blur(source, width, height, 6.0);
            let mut rng = SplitMix64::new(seed ^ 0x736d_7564);
            let (cx, cy) = (
                width as f64 * (0.35 + 0.3 * rng.unit()),
                height as f64 * (0.35 + 0.3 * rng.unit()),
            );
            // An ellipse covering up to half the print's area.
            let area = 0.5 * strength * (width * height) as f64;
            let rx = (area / std::f64::consts::PI / 1.3).sqrt();
            let ry = rx * 1.3;
            let mut pixels = source.to_vec();
            for y in (0..height).filter(|_| area > 0.0) {
                for x in 0..width {
                    let d = ((x as f64 - cx) / rx).powi(2) + ((y as f64 - cy) / ry).powi(2);
                    let weight = ((1.2 - d) / 0.4).clamp(0.0, 1.0);
                    if weight > 0.0 {
                        let index = y * width + x;
                        // Grease darkens and smears: the blurred print, pulled darker.
                        let dark = f64::from(smeared[index]) * 0.55;
                        let value = f64::from(pixels[index]) * (1.0 - weight) + dark * weight;
                        pixels[index] = value.round().clamp(0.0, 255.0) as u8;
                    }
                }
            }
            pixels
        }
    };
    FingerprintImage::new(
        print.width(),
        print.height(),
        print.resolution_ppi(),
        pixels,
    )
    .expect("the same size as the source")
}

/// The brightest common level: the glass around the finger (the 95th percentile, so a few hot
/// pixels do not count as background).
fn background_level(pixels: &[u8]) -> f64 {
    f64::from(formats::image::grey_percentile(pixels, 95))
}

/// A separable Gaussian blur with standard deviation `sigma` (no blur below 0.3), edges clamped.
fn gaussian_blur(pixels: &[u8], width: usize, height: usize, sigma: f64) -> Vec<u8> {
    if sigma < 0.3 {
        return pixels.to_vec();
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f64> = (-radius..=radius)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = kernel.iter().sum();
    let clamp = |v: isize, max: usize| v.clamp(0, max as isize - 1) as usize;
    let mut rows = vec![0f64; pixels.len()];
    for y in 0..height {
        for x in 0..width {
            let mut sum = 0.0;
            for (k, weight) in kernel.iter().enumerate() {
                let sx = clamp(x as isize + k as isize - radius, width);
                sum += weight * f64::from(pixels[y * width + sx]);
            }
            rows[y * width + x] = sum / total;
        }
    }
    let mut out = vec![0u8; pixels.len()];
    for y in 0..height {
        for x in 0..width {
            let mut sum = 0.0;
            for (k, weight) in kernel.iter().enumerate() {
                let sy = clamp(y as isize + k as isize - radius, height);
                sum += weight * rows[sy * width + x];
            }
            out[y * width + x] = (sum / total).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulated::render_fingerprint;
    use formats::FingerPosition;

    fn spread(print: &FingerprintImage) -> f64 {
        let pixels = print.pixels();
        let mean = pixels.iter().map(|&v| f64::from(v)).sum::<f64>() / pixels.len() as f64;
        (pixels
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / pixels.len() as f64)
            .sqrt()
    }

    #[test]
    fn no_strength_leaves_the_print_as_it_is() {
        let print = render_fingerprint(3, FingerPosition::RightIndex);
        for degradation in Degradation::ALL {
            if degradation == Degradation::Noise {
                continue;
            }
            assert!(
                degrade(&print, degradation, 0.0, 1).pixels() == print.pixels(),
                "{degradation:?} changed the print"
            );
        }
    }

    #[test]
    fn low_contrast_and_blur_flatten_the_print_and_partial_contact_blanks_part_of_it() {
        let print = render_fingerprint(3, FingerPosition::RightIndex);
        let full = spread(&print);
        assert!(spread(&degrade(&print, Degradation::LowContrast, 1.0, 1)) < full * 0.2);
        assert!(spread(&degrade(&print, Degradation::Blur, 1.0, 1)) < full * 0.8);
        let partial = degrade(&print, Degradation::PartialContact, 1.0, 1);
        let background = background_level(print.pixels()) as u8;
        let blank = partial
            .pixels()
            .iter()
            .filter(|&&v| v.abs_diff(background) <= 1)
            .count();
        assert!(blank > partial.pixels().len() * 3 / 4, "{blank}");
    }
}
