//! Minutiae for NFIQ 2's four minutiae features, and the features.
//!
//! NIST takes the minutiae from FingerJet FX OSE. This is not FingerJet: it is a ridge-skeleton
//! extractor (local-mean binarisation, Zhang–Suen thinning, crossing numbers) over the region
//! FingerJet reads (the central 384×600 pixels at 500 ppi), inside the ridge area where the
//! ridges have grey-level edges FingerJet could trace and away from its edge, with close pairs
//! (breaks and spurs) dropped, at most 255 as FingerJet returns. The
//! features computed from the positions are NIST's (`FingerJetFX.cpp`,
//! `FJFXMinutiaeQuality.cpp`).

use super::Grey;

/// FingerJet refuses a print with fewer minutiae (`FRFXLL_ERR_FB_TOO_SMALL_AREA`).
pub const MIN_MINUTIAE: usize = 6;
/// FingerJet looks at most at this many pixels across and down (256×400 at 333 ppi).
const REGION: (usize, usize) = (384, 600);
const MAX_MINUTIAE: usize = 255;
const BLOCK: usize = 32;
/// The least mean step between neighbouring pixels (across plus down, grey levels) of a tile
/// whose ridges FingerJet can trace. NIST's ridge segmentation normalises contrast away, so a
/// faint or badly blurred print still looks like ridges to it; FingerJet then finds fewer than 6
/// minutiae and NFIQ 2 refuses the print. Chosen on the simulator's seeds 31–60 (blur 0.6:
/// 9.7–13.8, blur 0.8: 3.8–6.1, low contrast 1.0: under 1); reported on other prints
/// (`docs/benchmarks.md`).
const MIN_RIDGE_EDGES: f64 = 8.0;

/// A minutia's position in the cropped print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minutia {
    /// Column.
    pub x: usize,
    /// Row.
    pub y: usize,
}

/// The minutiae of a cropped 500 ppi print.
pub fn extract(image: &Grey) -> Vec<Minutia> {
    let (region, (left, top)) = Grey::centre(&image.pixels, (image.width, image.height), REGION);
    let (rw, rh) = (region.width, region.height);
    // Foreground tiles: enough contrast (as NIST's ridge segmentation judges it).
    let mask = super::blocks::ridge_segment(&region);
    let (columns, rows) = (rw.div_ceil(BLOCK), rh.div_ceil(BLOCK));
    let tile = |x: usize, y: usize| (y / BLOCK) * columns + x / BLOCK;
    let mut foreground = vec![false; columns * rows];
    for y in (0..rh).step_by(BLOCK) {
        for x in (0..rw).step_by(BLOCK) {
            foreground[tile(x, y)] =
                mask[y * rw + x] && ridge_edges(&region, x, y) >= MIN_RIDGE_EDGES;
        }
    }
    let inside = |x: usize, y: usize| {
        let (c, r) = ((x / BLOCK) as i64, (y / BLOCK) as i64);
        (-1..=1).all(|dr| {
            (-1..=1).all(|dc| {
                let (rr, cc) = (r + dr, c + dc);
                rr >= 0
                    && cc >= 0
                    && rr < rows as i64
                    && cc < columns as i64
                    && foreground[rr as usize * columns + cc as usize]
            })
        })
    };
    let smooth = box_blur(&region.pixels, rw, rh, 1);
    let local = box_blur(&smooth, rw, rh, 7);
    let mut ridge: Vec<bool> = (0..rw * rh)
        .map(|i| foreground[tile(i % rw, i / rw)] && smooth[i] < local[i])
        .collect();
    thin(&mut ridge, rw, rh);
    let mut found = Vec::new();
    for y in 1..rh.saturating_sub(1) {
        for x in 1..rw.saturating_sub(1) {
            if !ridge[y * rw + x] || !inside(x, y) {
                continue;
            }
            if is_minutia(&ridge, rw, x, y) {
                found.push(Minutia {
                    x: x + left,
                    y: y + top,
                });
            }
        }
    }
    // Pairs closer than a ridge period are artefacts (a break, a spur, a bridge): drop both.
    let close = |a: &Minutia, b: &Minutia| {
        let (dx, dy) = (a.x as i64 - b.x as i64, a.y as i64 - b.y as i64);
        dx * dx + dy * dy < 100
    };
    let mut kept: Vec<Minutia> = found
        .iter()
        .filter(|m| !found.iter().any(|o| o != *m && close(m, o)))
        .copied()
        .collect();
    kept.truncate(MAX_MINUTIAE);
    kept
}

/// The mean absolute step to the next pixel across plus to the next pixel down, over the tile at
/// (`x0`, `y0`) (clipped to the image).
fn ridge_edges(image: &Grey, x0: usize, y0: usize) -> f64 {
    let (x1, y1) = (
        (x0 + BLOCK).min(image.width),
        (y0 + BLOCK).min(image.height),
    );
    let (mut across, mut down, mut n_across, mut n_down) = (0u64, 0u64, 0u64, 0u64);
    for y in y0..y1 {
        for x in x0..x1 {
            let v = image.at(x, y);
            if x + 1 < x1 {
                across += u64::from(v.abs_diff(image.at(x + 1, y)));
                n_across += 1;
            }
            if y + 1 < y1 {
                down += u64::from(v.abs_diff(image.at(x, y + 1)));
                n_down += 1;
            }
        }
    }
    across as f64 / n_across.max(1) as f64 + down as f64 / n_down.max(1) as f64
}

/// `FingerJetFX_MinCount_COMMinRect200x200`: minutiae within 100 px (a 200×200 square, clamped
/// to the print) of their integer centre of mass.
pub fn count_near_centre(minutiae: &[Minutia], image: &Grey) -> usize {
    if minutiae.is_empty() {
        return 0;
    }
    let n = minutiae.len();
    let cx = (minutiae.iter().map(|m| m.x).sum::<usize>() / n) as i64;
    let cy = (minutiae.iter().map(|m| m.y).sum::<usize>() / n) as i64;
    let (x0, x1) = ((cx - 100).max(0), (cx + 100).min(image.width as i64 - 1));
    let (y0, y1) = ((cy - 100).max(0), (cy + 100).min(image.height as i64 - 1));
    minutiae
        .iter()
        .filter(|m| {
            let (x, y) = (m.x as i64, m.y as i64);
            x >= x0 && x <= x1 && y >= y0 && y <= y1
        })
        .count()
}

/// `FJFXPos_Mu_MinutiaeQuality_2`: the share of minutiae whose 32×32 surroundings are darker
/// than the print's mean by more than 0 and at most half a standard deviation.
pub fn mu_quality(minutiae: &[Minutia], image: &Grey) -> f64 {
    let (mean, std) = super::blocks::mean_std(image.pixels.iter().map(|&p| f64::from(p)));
    let in_range = minutiae
        .iter()
        .filter(|m| {
            let left = m.x.saturating_sub(BLOCK / 2);
            let top = m.y.saturating_sub(BLOCK / 2);
            let (right, bottom) = (
                (left + BLOCK).min(image.width),
                (top + BLOCK).min(image.height),
            );
            let (n, sum) = (top..bottom)
                .flat_map(|y| (left..right).map(move |x| (x, y)))
                .fold((0f64, 0f64), |(n, s), (x, y)| {
                    (n + 1.0, s + f64::from(image.at(x, y)))
                });
            let q = (mean - sum / n) / std;
            q > 0.0 && q <= 0.5
        })
        .count();
    in_range as f64 / minutiae.len() as f64
}

/// `FJFXPos_OCL_MinutiaeQuality_80`: the share of minutiae whose 32×32 surroundings (moved
/// inside the print) have an orientation certainty above 0.80.
pub fn ocl_quality(minutiae: &[Minutia], image: &Grey) -> f64 {
    if image.width < BLOCK || image.height < BLOCK {
        return 0.0;
    }
    let certain = minutiae
        .iter()
        .filter(|m| {
            let left = m.x.saturating_sub(BLOCK / 2).min(image.width - BLOCK);
            let top = m.y.saturating_sub(BLOCK / 2).min(image.height - BLOCK);
            let ocl = super::blocks::ocl_of_block(image, left, top).unwrap_or(0.0);
            (ocl * 100.0 + 0.5) as i64 > 80
        })
        .count();
    certain as f64 / minutiae.len() as f64
}

/// Whether the skeleton pixel at (`x`, `y`) (not on the image's edge) is a ridge ending or a
/// bifurcation: its eight neighbours, walked round, cross between ridge and valley once or three
/// times (the crossing number).
fn is_minutia(ridge: &[bool], width: usize, x: usize, y: usize) -> bool {
    let ring = [
        ridge[(y - 1) * width + x],
        ridge[(y - 1) * width + x + 1],
        ridge[y * width + x + 1],
        ridge[(y + 1) * width + x + 1],
        ridge[(y + 1) * width + x],
        ridge[(y + 1) * width + x - 1],
        ridge[y * width + x - 1],
        ridge[(y - 1) * width + x - 1],
    ];
    let crossings = (0..8).filter(|&k| ring[k] != ring[(k + 1) % 8]).count() / 2;
    crossings == 1 || crossings == 3
}

/// A box blur of radius `radius` (window 2r+1), edges clamped, via a summed-area table.
fn box_blur(pixels: &[u8], width: usize, height: usize, radius: usize) -> Vec<u8> {
    let stride = width + 1;
    let mut table = vec![0u32; stride * (height + 1)];
    for y in 0..height {
        let mut row = 0u32;
        for x in 0..width {
            row += u32::from(pixels[y * width + x]);
            table[(y + 1) * stride + x + 1] = table[y * stride + x + 1] + row;
        }
    }
    let mut out = vec![0u8; pixels.len()];
    for y in 0..height {
        let (ya, yb) = (y.saturating_sub(radius), (y + radius + 1).min(height));
        for x in 0..width {
            let (xa, xb) = (x.saturating_sub(radius), (x + radius + 1).min(width));
            let sum = table[yb * stride + xb] + table[ya * stride + xa]
                - table[ya * stride + xb]
                - table[yb * stride + xa];
            let area = ((yb - ya) * (xb - xa)) as u32;
            out[y * width + x] = (sum / area) as u8;
        }
    }
    out
}

/// Zhang–Suen thinning: ridges to one-pixel lines.
fn thin(image: &mut [bool], width: usize, height: usize) {
    let mut candidates: Vec<usize> = (0..image.len())
        .filter(|&i| {
            let (x, y) = (i % width, i / width);
            image[i] && x > 0 && y > 0 && x < width - 1 && y < height - 1
        })
        .collect();
    let mut remove = Vec::new();
    loop {
        let mut changed = false;
        for pass in 0..2 {
            remove.clear();
            for &i in &candidates {
                if !image[i] {
                    continue;
                }
                let p = [
                    image[i - width],
                    image[i - width + 1],
                    image[i + 1],
                    image[i + width + 1],
                    image[i + width],
                    image[i + width - 1],
                    image[i - 1],
                    image[i - width - 1],
                ];
                let neighbours = p.iter().filter(|&&v| v).count();
                if !(2..=6).contains(&neighbours) {
                    continue;
                }
                let transitions = (0..8).filter(|&k| !p[k] && p[(k + 1) % 8]).count();
                if transitions != 1 {
                    continue;
                }
                let (n, e, s, w) = (p[0], p[2], p[4], p[6]);
                let keep = if pass == 0 {
                    e && s && (n || w)
                } else {
                    n && w && (e || s)
                };
                if !keep {
                    remove.push(i);
                }
            }
            for &i in &remove {
                image[i] = false;
            }
            changed |= !remove.is_empty();
        }
        candidates.retain(|&i| image[i]);
        if !changed {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(width: usize, height: usize, value: impl Fn(usize, usize) -> u8) -> Grey {
        let pixels = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| value(x, y))
            .collect();
        Grey {
            width,
            height,
            pixels,
        }
    }

    fn at(x: usize, y: usize) -> Minutia {
        Minutia { x, y }
    }

    #[test]
    fn only_minutiae_within_100_pixels_of_their_centre_of_mass_count_as_central() {
        let print = grey(400, 500, |_, _| 128);
        // Centre of mass (200, 250): the square 100–300 × 150–350 holds the first three.
        let minutiae = [
            at(200, 250),
            at(120, 160),
            at(290, 340),
            at(10, 10),
            at(380, 490),
        ];
        assert_eq!(count_near_centre(&minutiae, &print), 3);
        assert_eq!(count_near_centre(&[], &print), 0);
    }

    #[test]
    fn mu_quality_is_the_share_of_minutiae_a_little_darker_than_the_print() {
        // Three bands, 146 / 154 / 150: the print's mean is 150 and σ = 3.27. A minutia's 32×32
        // surroundings count when they are darker than the mean by more than 0 and at most σ/2.
        let print = grey(96, 32, |x, _| match x {
            0..32 => 146,
            32..64 => 154,
            _ => 150,
        });
        let minutiae = [
            at(28, 16), // 20 columns of 146, 12 of 154: 149, 0.31σ darker — counts
            at(16, 16), // all 146: 1.22σ darker — too dark
            at(48, 16), // all 154: lighter — no
            at(80, 16), // all 150: exactly the mean — no
        ];
        assert!((mu_quality(&minutiae, &print) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn ocl_quality_counts_minutiae_on_clear_straight_ridges_and_none_on_a_blank_platen() {
        let ridges = grey(128, 128, |x, _| {
            let t = x as f64 * 2.0 * std::f64::consts::PI / 8.0;
            (128.0 + 100.0 * t.cos()).round() as u8
        });
        let minutiae = [at(20, 20), at(64, 64), at(120, 120)];
        assert_eq!(ocl_quality(&minutiae, &ridges), 1.0);
        let blank = grey(128, 128, |_, _| 255);
        assert_eq!(ocl_quality(&minutiae, &blank), 0.0);
    }

    #[test]
    fn faint_ridges_have_too_few_edges_to_trace_and_clear_ones_enough() {
        let ridges = |amplitude: f64| {
            grey(64, 64, move |x, _| {
                let t = x as f64 * 2.0 * std::f64::consts::PI / 9.0;
                (128.0 + amplitude * t.cos()).round() as u8
            })
        };
        // The mean step across a sinusoid of amplitude A and period 9 is about 4A/9 ≈ 0.44·A.
        assert!(ridge_edges(&ridges(100.0), 0, 0) > MIN_RIDGE_EDGES);
        assert!(ridge_edges(&ridges(4.0), 0, 0) < MIN_RIDGE_EDGES);
    }
}
