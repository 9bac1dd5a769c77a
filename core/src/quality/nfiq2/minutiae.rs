//! Minutiae for NFIQ 2's four minutiae features, and the features.
//!
//! The minutiae are FingerJet FX OSE's, as NIST's NFIQ 2 takes them (`FingerJetFX.cpp`): from
//! the crate `minutiae-extractor`, a bit-exact Rust port of the extractor (LGPL, see its
//! `COPYRIGHT.txt`). A print smaller than the extractor's least size (196×196) is padded with
//! white on the right and at the bottom and the minutiae found in the padding are dropped, as
//! NIST does. The features computed from the positions are NIST's (`FingerJetFX.cpp`,
//! `FJFXMinutiaeQuality.cpp`).

use super::Grey;
use minutiae_extractor::FjError;

/// The extractor's least width and height (`fingerJetMinWidth`, `fingerJetMinHeight`).
const LEAST_SIDE: usize = 196;
const BLOCK: usize = 32;

/// A minutia's position in the cropped print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minutia {
    /// Column.
    pub x: usize,
    /// Row.
    pub y: usize,
}

/// What FingerJet FX OSE gives NFIQ 2 for a print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The minutiae inside the print (those in the white padding of a small print dropped).
    pub minutiae: Vec<Minutia>,
    /// How many the extractor reported, padding included: NIST's `FingerJetFX_MinutiaeCount`
    /// is this count (`FRFXLLGetMinutiaInfo`), not the kept one.
    pub reported: usize,
}

/// The minutiae of a cropped 500 ppi print, as NFIQ 2 gets them from FingerJet FX OSE.
///
/// # Errors
/// The extractor's refusal: [`FjError::TooSmallArea`] for fewer than 6 minutiae (NFIQ 2 then
/// gives no score); [`FjError::InvalidImage`] for pixels that do not fill the stated size.
pub fn extract(image: &Grey) -> Result<Found, FjError> {
    let (width, height) = (image.width, image.height);
    if width == 0 || width.checked_mul(height) != Some(image.pixels.len()) {
        return Err(FjError::InvalidImage);
    }
    let padded = width < LEAST_SIDE || height < LEAST_SIDE;
    let found = if padded {
        let (w, h) = (width.max(LEAST_SIDE), height.max(LEAST_SIDE));
        let mut pixels = vec![255u8; w * h];
        for (row, line) in image.pixels.chunks_exact(width).enumerate() {
            pixels[row * w..row * w + width].copy_from_slice(line);
        }
        minutiae_extractor::extract(&pixels, w, h)?
    } else {
        minutiae_extractor::extract(&image.pixels, width, height)?
    };
    Ok(Found {
        reported: found.len(),
        minutiae: found
            .into_iter()
            .map(|m| Minutia {
                x: usize::from(m.x),
                y: usize::from(m.y),
            })
            .filter(|m| !padded || (m.x < width && m.y < height))
            .collect(),
    })
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

    /// A simulated clean print (400×500 at 500 ppi), or its top-left `width`×`height` corner.
    fn simulated(width: usize, height: usize) -> Grey {
        let print = hardware::simulated::render_fingerprint(3, formats::FingerPosition::RightIndex);
        let full = print.width() as usize;
        let pixels = print
            .pixels()
            .chunks_exact(full)
            .take(height)
            .flat_map(|row| row[100..100 + width].iter().copied())
            .collect();
        Grey {
            width,
            height,
            pixels,
        }
    }

    #[test]
    fn a_blank_platen_has_too_few_minutiae_to_judge() {
        let blank = grey(300, 400, |_, _| 200);
        assert_eq!(extract(&blank), Err(FjError::TooSmallArea));
    }

    #[test]
    fn a_clean_print_has_its_minutiae_inside_it() {
        let print = simulated(300, 500);
        let found = extract(&print).expect("minutiae found");
        assert!(found.minutiae.len() >= 20, "{found:?}");
        assert_eq!(found.reported, found.minutiae.len(), "nothing padded");
        assert!(found.minutiae.iter().all(|m| m.x < 300 && m.y < 500));
    }

    #[test]
    fn a_print_smaller_than_the_extractor_takes_keeps_only_minutiae_inside_the_print() {
        // 150 pixels wide: padded with white to 196 as NIST does; nothing from the padding.
        let print = simulated(150, 300);
        let found = extract(&print).expect("minutiae found");
        assert!(!found.minutiae.is_empty());
        assert!(found.minutiae.iter().all(|m| m.x < 150 && m.y < 300));
        // FingerJet traced minutiae along the print's edge into the padding; they count for
        // NIST's minutiae count but not for the positions.
        assert!(
            found.reported > found.minutiae.len(),
            "reported {}, kept {}",
            found.reported,
            found.minutiae.len()
        );
    }
}
