//! Slap segmentation: a four-finger slap (or the two thumbs) from a flat reader, cut into one
//! image per finger with its position, a missing finger named, a slap of the wrong hand refused.
//!
//! 1. **Foreground**: blocks of about 0.8 mm whose grey levels vary like ridges (or are much
//!    darker than the glass) are finger.
//! 2. **Fingers**: connected groups of foreground blocks, the small ones (dust, a palm edge
//!    glimpse) dropped; a group twice as wide as a finger is split where it is thinnest.
//! 3. **Positions**: a hand lies on the glass with the middle fingertip highest, the index and
//!    ring a little lower and the little finger much lower, the fingertips about evenly spaced.
//!    Each way of giving the found fingers to the set's slots (one slot per finger, left to right)
//!    is scored by how well the fingertip heights and spacing fit that shape; the best wins, and
//!    the slots left over are the missing fingers. The same fit for the other hand tells a right
//!    hand placed for a left slap.

use formats::image::FingerprintImage;
use formats::FingerPosition;
use hardware::FingerSet;

/// One finger cut from a slap.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentedFinger {
    /// Which finger it is.
    pub position: FingerPosition,
    /// Where it was on the slap: left, top, width, height in pixels.
    pub bounds: (u32, u32, u32, u32),
    /// The finger's image, at the slap's resolution.
    pub image: FingerprintImage,
}

/// A slap cut into fingers.
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentation {
    /// The fingers found, left to right on the glass.
    pub fingers: Vec<SegmentedFinger>,
    /// The set's fingers that are not on the image.
    pub missing: Vec<FingerPosition>,
}

/// Why a slap could not be segmented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlapError {
    /// Nothing finger-like on the image.
    #[error("no fingers on the slap: place the fingers flat on the glass")]
    NoFingers,
    /// More separate fingers than the set has.
    #[error("{found} fingers found where the {set:?} has {expected}: only the requested fingers on the glass")]
    TooManyFingers {
        /// The set asked for.
        set: FingerSet,
        /// Fingers in that set.
        expected: usize,
        /// Fingers found.
        found: usize,
    },
    /// The fingertips lie as the other hand's would.
    #[error("this looks like the {looks_like} hand, not the {expected} one: ask for the {expected} hand")]
    WrongHand {
        /// "left" or "right": the hand asked for.
        expected: &'static str,
        /// The hand the fingers look like.
        looks_like: &'static str,
    },
}

/// How far below the middle fingertip each fingertip lies, in finger widths, index to little:
/// anatomy, and what the simulated reader places.
const DROP: [f64; 4] = [0.2, 0.0, 0.3, 0.8];
/// A wrong-hand verdict needs the other hand to fit this much better.
const WRONG_HAND_MARGIN: f64 = 0.15;

/// Cuts `slap` (grey, dark ridges on light glass) into the fingers of `set`.
///
/// # Errors
/// [`SlapError`] when there are no fingers, too many, or the other hand's.
pub fn segment(slap: &FingerprintImage, set: FingerSet) -> Result<Segmentation, SlapError> {
    let (width, height) = (slap.width() as usize, slap.height() as usize);
    let pixels = slap.pixels();
    // About 0.8 mm: 16 pixels at 500 ppi, 8 at 250.
    let block = ((usize::from(slap.resolution_ppi()) * 16) / 500).clamp(4, 32);
    let (columns, rows) = (width / block, height / block);
    if columns == 0 || rows == 0 {
        return Err(SlapError::NoFingers);
    }
    let glass = f64::from(formats::image::grey_percentile(pixels, 95));
    let mut mask = vec![false; columns * rows];
    for row in 0..rows {
        for column in 0..columns {
            let (mean, std) = super::mean_std((row * block..(row + 1) * block).flat_map(|y| {
                let start = y * width + column * block;
                pixels[start..start + block].iter().map(|&v| f64::from(v))
            }));
            mask[row * columns + column] = std >= 12.0 || mean < glass - 60.0;
        }
    }

    // A finger's width in blocks: about 16 mm.
    let finger_blocks = (f64::from(slap.resolution_ppi()) * 0.63 / block as f64).max(2.0);
    let mut parts = super::components(&mask, columns, rows);
    let largest = parts.iter().map(Vec::len).max().unwrap_or(0);
    parts.retain(|part| part.len() * 5 >= largest && part.len() >= 12);
    let mut fingers: Vec<Part> = Vec::new();
    for part in parts {
        split(Part::new(part, columns), finger_blocks, &mut fingers);
    }
    if fingers.is_empty() {
        return Err(SlapError::NoFingers);
    }
    fingers.sort_by(|a, b| a.centre_x.total_cmp(&b.centre_x));
    let slots = set.fingers();
    if fingers.len() > slots.len() {
        return Err(SlapError::TooManyFingers {
            set,
            expected: slots.len(),
            found: fingers.len(),
        });
    }

    let chosen: Vec<usize> = if set == FingerSet::Thumbs {
        if fingers.len() == 2 {
            vec![0, 1]
        } else {
            // One thumb: the left thumb lies on the left half of the glass.
            vec![usize::from(
                fingers[0].centre_x * block as f64 >= width as f64 / 2.0,
            )]
        }
    } else {
        let width_blocks = median(fingers.iter().map(|f| f.width as f64).collect());
        let drops = |hand_left: bool| -> Vec<f64> {
            // Slots run left to right on the glass: little first for a left hand.
            if hand_left {
                DROP.iter().rev().copied().collect()
            } else {
                DROP.to_vec()
            }
        };
        let is_left = set == FingerSet::LeftSlap;
        let (asked_cost, asked) = best_fit(&fingers, &drops(is_left), width_blocks);
        let (other_cost, _) = best_fit(&fingers, &drops(!is_left), width_blocks);
        if fingers.len() >= 3 && other_cost + WRONG_HAND_MARGIN < asked_cost {
            let (expected, looks_like) = if is_left {
                ("left", "right")
            } else {
                ("right", "left")
            };
            return Err(SlapError::WrongHand {
                expected,
                looks_like,
            });
        }
        asked
    };

    let margin = block;
    let segmented = fingers
        .iter()
        .zip(&chosen)
        .map(|(finger, &slot)| {
            let left = (finger.left * block).saturating_sub(margin);
            let top = (finger.top * block).saturating_sub(margin);
            let right = ((finger.left + finger.width) * block + margin).min(width);
            let bottom = ((finger.top + finger.height) * block + margin).min(height);
            let crop: Vec<u8> = (top..bottom)
                .flat_map(|y| pixels[y * width + left..y * width + right].iter().copied())
                .collect();
            let (w, h) = ((right - left) as u32, (bottom - top) as u32);
            SegmentedFinger {
                position: slots[slot],
                bounds: (left as u32, top as u32, w, h),
                image: FingerprintImage::new(w, h, slap.resolution_ppi(), crop)
                    .expect("the crop is w × h pixels"),
            }
        })
        .collect();
    let missing = slots
        .iter()
        .enumerate()
        .filter(|(slot, _)| !chosen.contains(slot))
        .map(|(_, finger)| *finger)
        .collect();
    Ok(Segmentation {
        fingers: segmented,
        missing,
    })
}

/// A connected group of foreground blocks.
#[derive(Debug, Clone)]
struct Part {
    blocks: Vec<(usize, usize)>,
    left: usize,
    top: usize,
    width: usize,
    height: usize,
    centre_x: f64,
}

impl Part {
    fn new(indices: Vec<usize>, columns: usize) -> Self {
        Self::from_blocks(
            indices
                .iter()
                .map(|&i| (i % columns, i / columns))
                .collect(),
        )
    }

    fn from_blocks(blocks: Vec<(usize, usize)>) -> Self {
        let left = blocks.iter().map(|b| b.0).min().unwrap_or(0);
        let right = blocks.iter().map(|b| b.0).max().unwrap_or(0);
        let top = blocks.iter().map(|b| b.1).min().unwrap_or(0);
        let bottom = blocks.iter().map(|b| b.1).max().unwrap_or(0);
        let centre_x =
            blocks.iter().map(|b| b.0 as f64 + 0.5).sum::<f64>() / blocks.len().max(1) as f64;
        Part {
            blocks,
            left,
            top,
            width: right - left + 1,
            height: bottom - top + 1,
            centre_x,
        }
    }
}

/// Splits a part wider than 1.6 fingers at its thinnest column (fingers touching each other).
fn split(part: Part, finger_blocks: f64, out: &mut Vec<Part>) {
    if (part.width as f64) <= 1.6 * finger_blocks || part.width < 4 {
        out.push(part);
        return;
    }
    let mut counts = vec![0usize; part.width];
    for &(x, _) in &part.blocks {
        counts[x - part.left] += 1;
    }
    let (from, to) = (part.width / 5, part.width - part.width / 5);
    let cut = (from..to)
        .min_by_key(|&i| counts[i])
        .unwrap_or(part.width / 2)
        + part.left;
    let (a, b): (Vec<_>, Vec<_>) = part.blocks.iter().partition(|&&(x, _)| x < cut);
    for half in [a, b] {
        if !half.is_empty() {
            split(Part::from_blocks(half), finger_blocks, out);
        }
    }
}

/// The best way to give the found fingers (left to right) to the slots, and its cost: how far
/// the fingertips' heights and spacing are from a hand with these `drops`.
fn best_fit(fingers: &[Part], drops: &[f64], width: f64) -> (f64, Vec<usize>) {
    let n = drops.len();
    let k = fingers.len();
    let mut best = (f64::INFINITY, Vec::new());
    // Every increasing choice of k slots out of n.
    for mask in 0u32..(1 << n) {
        if mask.count_ones() as usize != k {
            continue;
        }
        let slots: Vec<usize> = (0..n).filter(|&s| mask & (1 << s) != 0).collect();
        // Heights: fingertip rows in finger widths, less the drop, should be one constant.
        let residuals: Vec<f64> = fingers
            .iter()
            .zip(&slots)
            .map(|(f, &s)| f.top as f64 / width - drops[s])
            .collect();
        let mean = residuals.iter().sum::<f64>() / k as f64;
        let heights = residuals.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / k as f64;
        // Spacing: centres in finger widths should sit on a line over the slot numbers.
        let spacing = if k >= 2 {
            let xs: Vec<f64> = fingers.iter().map(|f| f.centre_x / width).collect();
            let ss: Vec<f64> = slots.iter().map(|&s| s as f64).collect();
            let (mx, ms) = (
                xs.iter().sum::<f64>() / k as f64,
                ss.iter().sum::<f64>() / k as f64,
            );
            let sxs: f64 = xs.iter().zip(&ss).map(|(x, s)| (x - mx) * (s - ms)).sum();
            let sss: f64 = ss.iter().map(|s| (s - ms).powi(2)).sum();
            let slope = sxs / sss;
            xs.iter()
                .zip(&ss)
                .map(|(x, s)| (x - mx - slope * (s - ms)).powi(2))
                .sum::<f64>()
                / k as f64
        } else {
            0.0
        };
        let cost = heights + spacing;
        if cost < best.0 {
            best = (cost, slots);
        }
    }
    best
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::image::RgbFrame;
    use hardware::simulated::{render_empty_platen, render_slap, render_slap_without};

    /// The simulated reader's slaps are grey in RGB at 250 ppi (half the 500 ppi prints).
    fn grey(frame: &RgbFrame) -> FingerprintImage {
        let pixels = frame.pixels().chunks(3).map(|rgb| rgb[0]).collect();
        FingerprintImage::new(frame.width(), frame.height(), 250, pixels).expect("size")
    }

    #[test]
    fn each_set_is_cut_into_its_fingers_in_place() {
        for seed in 1..=5 {
            for set in FingerSet::ALL {
                let slap = grey(&render_slap(seed, set, 0));
                let cut = segment(&slap, set).expect("segments");
                let positions: Vec<_> = cut.fingers.iter().map(|f| f.position).collect();
                assert_eq!(positions, set.fingers(), "seed {seed}, {set:?}");
                assert!(cut.missing.is_empty());
                for (slot, finger) in cut.fingers.iter().enumerate() {
                    // The simulator lays the fingers 200 pixels apart (thumbs 300, from 150).
                    let expected_centre = if set == FingerSet::Thumbs {
                        150 + slot * 300 + 100
                    } else {
                        slot * 200 + 100
                    };
                    let (left, _, w, h) = finger.bounds;
                    let centre = (left + w / 2) as usize;
                    assert!(
                        centre.abs_diff(expected_centre) < 40,
                        "seed {seed}, {set:?} slot {slot}: centre {centre}"
                    );
                    assert!(w >= 100 && h >= 100, "{:?}", finger.bounds);
                    assert_eq!((finger.image.width(), finger.image.height()), (w, h));
                }
            }
        }
    }

    #[test]
    fn a_missing_finger_is_named() {
        for seed in 1..=3 {
            for set in FingerSet::ALL {
                for &absent in set.fingers() {
                    let slap = grey(&render_slap_without(seed, set, 0, &[absent]));
                    let cut = segment(&slap, set).expect("segments");
                    assert_eq!(cut.missing, vec![absent], "seed {seed}, {set:?}");
                    let found: Vec<_> = cut.fingers.iter().map(|f| f.position).collect();
                    let expected: Vec<_> = set
                        .fingers()
                        .iter()
                        .copied()
                        .filter(|&f| f != absent)
                        .collect();
                    assert_eq!(found, expected, "seed {seed}, {set:?} without {absent:?}");
                }
            }
        }
    }

    #[test]
    fn the_other_hand_is_refused_with_what_it_looks_like() {
        for seed in 1..=5 {
            let right = grey(&render_slap(seed, FingerSet::RightSlap, 0));
            assert_eq!(
                segment(&right, FingerSet::LeftSlap),
                Err(SlapError::WrongHand {
                    expected: "left",
                    looks_like: "right"
                }),
                "seed {seed}"
            );
            let left = grey(&render_slap(seed, FingerSet::LeftSlap, 0));
            assert!(
                matches!(
                    segment(&left, FingerSet::RightSlap),
                    Err(SlapError::WrongHand { .. })
                ),
                "seed {seed}"
            );
        }
    }

    #[test]
    fn a_500_ppi_slap_is_cut_the_same_way() {
        let slap = grey(&render_slap_without(
            4,
            FingerSet::LeftSlap,
            0,
            &[FingerPosition::LeftRing],
        ));
        let (w, h) = (slap.width() as usize, slap.height() as usize);
        let doubled = (0..h * 2)
            .flat_map(|y| (0..w * 2).map(move |x| (y / 2) * w + x / 2))
            .map(|i| slap.pixels()[i])
            .collect();
        let full = FingerprintImage::new(1600, 1040, 500, doubled).expect("size");
        let cut = segment(&full, FingerSet::LeftSlap).expect("segments");
        assert_eq!(cut.missing, vec![FingerPosition::LeftRing]);
        assert_eq!(
            cut.fingers.iter().map(|f| f.position).collect::<Vec<_>>(),
            [
                FingerPosition::LeftLittle,
                FingerPosition::LeftMiddle,
                FingerPosition::LeftIndex
            ]
        );
    }

    #[test]
    fn an_empty_platen_has_no_fingers() {
        let empty = grey(&render_empty_platen(800, 520, None, 3));
        assert_eq!(
            segment(&empty, FingerSet::RightSlap),
            Err(SlapError::NoFingers)
        );
    }
}
