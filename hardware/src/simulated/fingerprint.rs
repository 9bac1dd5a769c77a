//! Renders synthetic 500 ppi fingerprints the way SFinGe does (Cappelli, Maio, Maltoni):
//!
//! 1. an **orientation field** from the zero-pole model (Sherlock and Monro): cores and deltas
//!    placed for the finger's pattern class — arch, tented arch, left loop, right loop, whorl —
//!    so ridges turn around cores and split at deltas as in real prints;
//! 2. a **ridge frequency** per finger (a period of 8.3–9.7 pixels: 0.42–0.49 mm at 500 ppi);
//! 3. **Gabor-filtered texture**: noise filtered again and again by a Gabor filter tuned to the
//!    local orientation and frequency grows into ridges, with the ridge endings and bifurcations
//!    (minutiae) that noise seeds. This runs at half resolution (kernel 9×9, six passes) to stay
//!    fast enough for a live simulated reader; the result is interpolated to 400×500;
//! 4. the **placement** ([`Conditions`]): rotation, pressure, dryness, partial contact and sensor
//!    noise, over an elliptical finger contact area.
//!
//! The identity (class, singular points, frequency, minutiae) depends only on (seed, finger), so
//! the same finger under other conditions is the same print captured differently.

use std::f64::consts::PI;

use super::rng::SplitMix64;
use formats::image::{FingerprintImage, RgbFrame};
use formats::FingerPosition;

const WIDTH: u32 = 400;
const HEIGHT: u32 = 500;
const PPI: u16 = 500;
/// The half-resolution grid the ridges grow on.
const GW: usize = 200;
const GH: usize = 250;
const RADIUS: isize = 4;
const BINS: usize = 24;
const PASSES: usize = 6;

/// How a finger meets the platen: what makes one capture of the same finger better or worse
/// than another. [`Conditions::GOOD`] is a firm, clean, centred placement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// Pressure, 0–1: light pressure leaves pale, broken ridges.
    pub pressure: f64,
    /// Dryness, 0–1: dry skin breaks ridges into dots.
    pub dryness: f64,
    /// Sensor noise amplitude in grey levels.
    pub noise: f64,
    /// Fraction of the finger in contact, 0–1: the rest (the top) is off the platen.
    pub contact: f64,
    /// Rotation of the finger on the platen, in degrees.
    pub rotation_deg: f64,
}

impl Conditions {
    /// A firm, clean, centred placement.
    pub const GOOD: Conditions = Conditions {
        pressure: 1.0,
        dryness: 0.0,
        noise: 9.0,
        contact: 1.0,
        rotation_deg: 0.0,
    };

    /// A placement whose image is worse the lower a device quality score of `score` (0–100):
    /// 80 and above is [`Conditions::GOOD`]; below, less of the finger touches the glass, the
    /// skin is drier, the pressure lighter and the noise stronger, in step with the shortfall.
    /// (Checked against NFIQ 2 in `docs/benchmarks.md`: its median falls from about 60 at 80 to
    /// the high 30s at 30, stays there down to 10, and at 0 — dry skin broken into dots — NFIQ 2
    /// cannot score most prints.)
    pub fn for_quality(score: u8) -> Conditions {
        let shortfall = f64::from(80u8.saturating_sub(score)) / 80.0;
        Conditions {
            pressure: 1.0 - 0.4 * shortfall,
            dryness: 0.9 * shortfall,
            noise: 9.0 + 40.0 * shortfall,
            contact: 1.0 - 0.55 * shortfall,
            rotation_deg: 0.0,
        }
    }
}

/// Singular points in half-resolution grid coordinates.
struct Singular {
    cores: Vec<(f64, f64)>,
    deltas: Vec<(f64, f64)>,
    /// For the plain arch (no singular points): the arch's centre column and crest row.
    arch: Option<(f64, f64)>,
}

impl Singular {
    fn for_finger(rng: &mut SplitMix64, finger: FingerPosition) -> Self {
        let (cx, cy) = (rng.range(88.0, 112.0), rng.range(100.0, 130.0));
        // Loops open towards the thumb side less often on the index: a rough class mix.
        let thumb = matches!(
            finger,
            FingerPosition::LeftThumb | FingerPosition::RightThumb
        );
        let draw = rng.next_u64() % 100;
        let right_hand = finger.iso_code() <= 5;
        let (arch, tented, whorl) = if thumb { (3, 6, 40) } else { (6, 9, 28) };
        let ulnar = if right_hand { 1.0 } else { -1.0 };
        let low = rng.range(55.0, 75.0);
        let side = rng.range(45.0, 65.0);
        if draw < arch {
            Self {
                cores: vec![],
                deltas: vec![],
                arch: Some((cx, cy - 10.0)),
            }
        } else if draw < arch + tented {
            Self {
                cores: vec![(cx, cy)],
                deltas: vec![(cx, cy + low)],
                arch: None,
            }
        } else if draw < arch + tented + whorl {
            Self {
                cores: vec![(cx - 6.0, cy - 8.0), (cx + 6.0, cy + 8.0)],
                deltas: vec![(cx - side - 10.0, cy + low), (cx + side + 10.0, cy + low)],
                arch: None,
            }
        } else {
            // A loop: the delta lies below the core on the side the ridges enter from.
            Self {
                cores: vec![(cx, cy)],
                deltas: vec![(cx - ulnar * side, cy + low)],
                arch: None,
            }
        }
    }

    /// Ridge direction at (x, y), radians in [0, π), image coordinates (y down).
    fn orientation(&self, x: f64, y: f64) -> f64 {
        if let Some((ax, ay)) = self.arch {
            let dx = x - ax;
            let fade =
                (-((y - ay).max(0.0) / 140.0).powi(2)).exp() * if y < ay { 1.0 } else { 0.6 };
            let slope = -1.8 * (dx / 55.0) * (-(dx * dx) / (2.0 * 55.0 * 55.0)).exp() * fade;
            return slope.atan().rem_euclid(PI);
        }
        // Zero-pole model in mathematical orientation (y up): θ = ½ Σ arg(z − core) −
        // ½ Σ arg(z − delta).
        let arg = |(px, py): (f64, f64)| (-(y - py)).atan2(x - px);
        let theta: f64 = 0.5 * self.cores.iter().map(|&c| arg(c)).sum::<f64>()
            - 0.5 * self.deltas.iter().map(|&d| arg(d)).sum::<f64>();
        // Back to image coordinates (y down) as a direction modulo π.
        (-theta).rem_euclid(PI)
    }
}

/// A bank of zero-mean Gabor kernels, one per orientation bin.
fn kernels(period: f64) -> Vec<Vec<f32>> {
    let sigma = 0.5 * period;
    let size = (2 * RADIUS + 1) as usize;
    (0..BINS)
        .map(|bin| {
            let theta = PI * bin as f64 / BINS as f64;
            // The normal to the ridge: the direction the grey level oscillates along.
            let (nx, ny) = (-(theta.sin()), theta.cos());
            let mut kernel = Vec::with_capacity(size * size);
            for v in -RADIUS..=RADIUS {
                for u in -RADIUS..=RADIUS {
                    let (fu, fv) = (u as f64, v as f64);
                    let envelope = (-(fu * fu + fv * fv) / (2.0 * sigma * sigma)).exp();
                    let wave = (2.0 * PI * (fu * nx + fv * ny) / period).cos();
                    kernel.push(envelope * wave);
                }
            }
            let mean = kernel.iter().sum::<f64>() / kernel.len() as f64;
            kernel.iter().map(|k| (k - mean) as f32).collect()
        })
        .collect()
}

/// Grows the ridge pattern of one finger: values in [-1, 1] on the half-resolution grid,
/// positive on ridges.
fn grow_ridges(rng: &mut SplitMix64, singular: &Singular, period: f64) -> Vec<f32> {
    let bank = kernels(period);
    let bins: Vec<usize> = (0..GW * GH)
        .map(|i| {
            let theta = singular.orientation((i % GW) as f64, (i / GW) as f64);
            ((theta / PI * BINS as f64).round() as usize) % BINS
        })
        .collect();
    let mut field: Vec<f32> = (0..GW * GH).map(|_| rng.range(-1.0, 1.0) as f32).collect();
    let mut next = vec![0f32; GW * GH];
    let size = (2 * RADIUS + 1) as usize;
    for _ in 0..PASSES {
        for y in 0..GH {
            for x in 0..GW {
                let kernel = &bank[bins[y * GW + x]];
                let mut sum = 0f32;
                for v in -RADIUS..=RADIUS {
                    let yy = y as isize + v;
                    if yy < 0 || yy >= GH as isize {
                        continue;
                    }
                    let row = &field[yy as usize * GW..(yy as usize + 1) * GW];
                    let krow =
                        &kernel[(v + RADIUS) as usize * size..(v + RADIUS + 1) as usize * size];
                    for (u, k) in (-RADIUS..=RADIUS).zip(krow) {
                        let xx = x as isize + u;
                        if xx >= 0 && xx < GW as isize {
                            sum += k * row[xx as usize];
                        }
                    }
                }
                next[y * GW + x] = sum;
            }
        }
        let spread = (next.iter().map(|v| v * v).sum::<f32>() / next.len() as f32)
            .sqrt()
            .max(1e-6);
        for (out, value) in field.iter_mut().zip(&next) {
            *out = (2.5 * value / spread).tanh();
        }
    }
    field
}

fn sample(field: &[f32], x: f64, y: f64) -> f64 {
    if x < 0.0 || y < 0.0 || x > (GW - 1) as f64 || y > (GH - 1) as f64 {
        return -1.0;
    }
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(GW - 1), (y0 + 1).min(GH - 1));
    let (tx, ty) = (x - x0 as f64, y - y0 as f64);
    let at = |xx: usize, yy: usize| f64::from(field[yy * GW + xx]);
    let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
    let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// The print of `finger` for the applicant chosen by `seed`; the same inputs always give the
/// same pixels.
pub fn render_fingerprint(seed: u64, finger: FingerPosition) -> FingerprintImage {
    render_fingerprint_with(seed, finger, &Conditions::GOOD)
}

/// The print of `finger` under `conditions`: the same ridges (the same identity) as
/// [`render_fingerprint`], placed and pressed differently.
pub fn render_fingerprint_with(
    seed: u64,
    finger: FingerPosition,
    conditions: &Conditions,
) -> FingerprintImage {
    let mut rng = SplitMix64::new(
        seed.wrapping_mul(31)
            .wrapping_add(u64::from(finger.iso_code())),
    );
    let singular = Singular::for_finger(&mut rng, finger);
    // Ridge period at half resolution (8.3–9.7 pixels at full resolution).
    let period = rng.range(8.3, 9.7) / 2.0;
    let pad = (rng.range(135.0, 160.0), rng.range(195.0, 225.0));
    let base_pressure = rng.range(0.85, 1.0);
    let mut noise = SplitMix64::new(rng.next_u64());
    let pores = rng.next_u64();
    let ridges = grow_ridges(&mut rng, &singular, period);

    let press = conditions.pressure.clamp(0.05, 1.0);
    let pressure = base_pressure * press;
    let dryness = conditions.dryness.clamp(0.0, 1.0);
    let (sin, cos) = conditions.rotation_deg.to_radians().sin_cos();
    // The top of the finger lifts off first: contact below this row only.
    let lifted_above = 260.0 - pad.1 + (1.0 - conditions.contact.clamp(0.0, 1.0)) * 2.0 * pad.1;
    let mut pixels = Vec::with_capacity((WIDTH * HEIGHT) as usize);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            // Rotate the finger about the image centre.
            let (cx, cy) = (f64::from(x) - 200.0, f64::from(y) - 250.0);
            let (fx, fy) = (cos * cx + sin * cy + 200.0, -sin * cx + cos * cy + 250.0);
            let level = sample(&ridges, fx / 2.0, fy / 2.0);
            let mut ridge = (0.5 + 0.5 * level).powf(1.0 + 1.6 * (1.0 - press));
            if dryness > 0.0 {
                // Dry skin touches the glass in islands: smooth value noise, 3-pixel cells.
                let breaks = value_noise(pores, fx / 3.0, fy / 3.0);
                let keep = ((breaks - dryness * 0.8) / 0.12).clamp(0.0, 1.0);
                ridge *= 0.1 + 0.9 * keep;
            }
            let mut contact = contact_mask(fx - 200.0, fy - 260.0, pad);
            // The lifted part ends in a curve, as a fingertip rolls off the glass.
            let edge = lifted_above + 0.0025 * (fx - 200.0).powi(2);
            if fy < edge {
                contact *= ((fy - edge + 12.0) / 12.0).clamp(0.0, 1.0);
            }
            let grain = noise.range(-1.0, 1.0) * conditions.noise;
            let value = 250.0 - contact * pressure * (25.0 + 185.0 * ridge) + grain;
            pixels.push(value.clamp(0.0, 255.0) as u8);
        }
    }
    FingerprintImage::new(WIDTH, HEIGHT, PPI, pixels).expect("the buffer has width × height bytes")
}

/// A slap as a 4-finger reader's platen shows it: four fingertips (or two thumbs) at half
/// resolution, set as a hand lies on the glass — the middle finger highest, the little finger
/// lowest — `settle` pixels above their resting place (0 = placed). 800×520, grey in RGB.
pub fn render_slap(seed: u64, set: crate::FingerSet, settle: u32) -> RgbFrame {
    render_slap_without(seed, set, settle, &[])
}

/// [`render_slap`] with the fingers in `missing` absent (amputated, bandaged or not placed).
pub fn render_slap_without(
    seed: u64,
    set: crate::FingerSet,
    settle: u32,
    missing: &[FingerPosition],
) -> RgbFrame {
    let (width, height) = (800usize, 520usize);
    let mut grey = vec![244u8; width * height];
    let fingers = set.fingers();
    let lift: &[usize] = match set {
        crate::FingerSet::LeftSlap => &[150, 60, 10, 40],
        crate::FingerSet::RightSlap => &[40, 10, 60, 150],
        crate::FingerSet::Thumbs => &[80, 80],
    };
    let settle = (settle as usize).min(50);
    for (slot, finger) in fingers.iter().enumerate() {
        if missing.contains(finger) {
            continue;
        }
        let print = render_fingerprint(seed, *finger);
        let left = if fingers.len() == 2 {
            150 + slot * 300
        } else {
            slot * 200
        };
        let top = lift.get(slot).copied().unwrap_or(0) + 50 - settle;
        for y in 0..250 {
            for x in 0..200 {
                let source = print.pixels()[(y * 2) * WIDTH as usize + x * 2];
                let (px, py) = (left + x, top + y);
                if px < width && py < height {
                    let cell = &mut grey[py * width + px];
                    *cell = (*cell).min(source);
                }
            }
        }
    }
    let rgb = grey.iter().flat_map(|&g| [g, g, g]).collect();
    RgbFrame::new(width as u32, height as u32, rgb).expect("the buffer has 800 × 520 × 3 bytes")
}

/// The empty 800×520 platen of a slap reader's preview, with a faint latent right slap of the
/// applicant `seed` when `residue` (see [`render_empty_platen`]).
pub fn render_empty_slap_platen(seed: u64, residue: bool, noise_seed: u64) -> RgbFrame {
    let latent: Option<Vec<u8>> = residue.then(|| {
        let slap = render_slap(seed, crate::FingerSet::RightSlap, 0);
        slap.pixels().iter().step_by(3).copied().collect()
    });
    render_empty_platen(
        800,
        520,
        latent.as_deref().map(|grey| (grey, 244.0)),
        noise_seed,
    )
}

/// An empty platen as a reader's preview shows it: light glass with sensor noise (different for
/// each `noise_seed`) and, when `latent` gives grey pixels of the same size on a light background
/// of the given level, the smudge an earlier finger left — about a third of its contrast.
/// Grey in RGB.
pub fn render_empty_platen(
    width: u32,
    height: u32,
    latent: Option<(&[u8], f64)>,
    noise_seed: u64,
) -> RgbFrame {
    let mut noise = SplitMix64::new(noise_seed);
    let count = width as usize * height as usize;
    let mut pixels = Vec::with_capacity(count * 3);
    for i in 0..count {
        let mut value = 244.0 + noise.range(-4.0, 4.0);
        if let Some((print, background)) = latent {
            value -= (background - f64::from(print.get(i).copied().unwrap_or(255))) * 0.35;
        }
        let grey = value.clamp(0.0, 255.0) as u8;
        pixels.extend_from_slice(&[grey, grey, grey]);
    }
    RgbFrame::new(width, height, pixels).expect("the buffer has width × height × 3 bytes")
}

/// Smooth deterministic noise in [0, 1): bilinear interpolation of per-cell values.
fn value_noise(seed: u64, x: f64, y: f64) -> f64 {
    let (x0, y0) = (x.floor(), y.floor());
    let (tx, ty) = (x - x0, y - y0);
    let (tx, ty) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let (ix, iy) = (x0 as i64, y0 as i64);
    let top = hash2(seed, ix, iy) * (1.0 - tx) + hash2(seed, ix + 1, iy) * tx;
    let bottom = hash2(seed, ix, iy + 1) * (1.0 - tx) + hash2(seed, ix + 1, iy + 1) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// A deterministic value in [0, 1) for a grid cell.
fn hash2(seed: u64, x: i64, y: i64) -> f64 {
    let mut rng = SplitMix64::new(
        seed ^ (x as u64).wrapping_mul(0x9E37_79B9) ^ (y as u64).wrapping_mul(0x85EB_CA6B) << 1,
    );
    rng.unit()
}

fn contact_mask(dx: f64, dy: f64, (rx, ry): (f64, f64)) -> f64 {
    let d = ((dx / rx).powi(2) + (dy / ry).powi(2)).sqrt();
    // A soft 8 % rim where the finger lifts off the platen.
    ((1.0 - d) / 0.08).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contrast(print: &FingerprintImage) -> f64 {
        let centre: Vec<f64> = (200..300)
            .flat_map(|y| (150..250).map(move |x| (x, y)))
            .map(|(x, y)| f64::from(print.pixels()[y * WIDTH as usize + x]))
            .collect();
        let mean = centre.iter().sum::<f64>() / centre.len() as f64;
        (centre.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / centre.len() as f64).sqrt()
    }

    #[test]
    fn a_seed_gives_the_same_print_in_every_run() {
        let print = render_fingerprint(42, FingerPosition::RightIndex);
        let digest = ring::digest::digest(&ring::digest::SHA256, print.pixels());
        let hex: String = digest
            .as_ref()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex, "2fb05eed58725eb2",
            "the print of seed 42 changed: stored enrollments and tests rely on it"
        );
    }

    #[test]
    fn light_pressure_dryness_and_partial_contact_each_degrade_the_same_finger() {
        let good = render_fingerprint(7, FingerPosition::LeftMiddle);
        for (what, conditions) in [
            (
                "light pressure",
                Conditions {
                    pressure: 0.35,
                    ..Conditions::GOOD
                },
            ),
            (
                "dry skin",
                Conditions {
                    dryness: 0.8,
                    ..Conditions::GOOD
                },
            ),
            (
                "noise",
                Conditions {
                    noise: 60.0,
                    ..Conditions::GOOD
                },
            ),
        ] {
            let worse = render_fingerprint_with(7, FingerPosition::LeftMiddle, &conditions);
            assert_ne!(worse, good, "{what} changes the image");
            assert!(
                contrast(&worse) < contrast(&good) || what == "noise",
                "{what} lowers ridge contrast"
            );
        }
        let partial = render_fingerprint_with(
            7,
            FingerPosition::LeftMiddle,
            &Conditions {
                contact: 0.4,
                ..Conditions::GOOD
            },
        );
        let light_rows = |p: &FingerprintImage| {
            (0..HEIGHT as usize)
                .filter(|&y| {
                    p.pixels()[y * WIDTH as usize..(y + 1) * WIDTH as usize]
                        .iter()
                        .all(|&v| v > 200)
                })
                .count()
        };
        assert!(
            light_rows(&partial) > light_rows(&good) + 100,
            "the lifted top is blank"
        );
    }

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
