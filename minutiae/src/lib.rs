// FingerJetFX OSE -- Fingerprint Feature Extractor, Open Source Edition.
// Copyright (c) 2011 DigitalPersona, Inc. All rights reserved. MODIFIED: ported from C++ to
// Rust for the Enrollment Station. LGPL-3.0-or-later with the conditions of COPYRIGHT.txt.

//! Fingerprint minutiae as NIST NFIQ 2.3 takes them.
//!
//! This is (or this includes) a MODIFIED version of the Digital Persona FingerJetFX OSE
//! fingerprint feature extractor: its feature-extraction pipeline (`libFRFXLL/src/algorithm`,
//! fixed-point C++) ported to Rust, integer for integer, so that the minutiae — and with them
//! NFIQ 2's four minutiae features — are the ones NIST's NFIQ 2 computes. Licensed under the
//! GNU LGPL 3.0 or later with the conditions of `COPYRIGHT.txt` (this crate only; the rest of
//! the workspace is Apache-2.0).
//!
//! This product includes the DigitalPersona FingerJetFX OSE fingerprint feature extractor.
//! (<http://digitalpersona.com/fingerjetfx>)
//!
//! The pipeline (`FeatureExtraction.h`, `ExtractMinutiae` with enhancement on, as NFIQ 2 calls
//! it): the 500 ppi print is resized to 333 ppi ([`orimap::resize_to_333`]); an orientation map
//! and the finger's footprint are computed, the image is enhanced block by block in the
//! frequency domain ([`enhance::fft_enhance`]), the orientation map is computed again on the
//! enhanced image, a phase map is traced along the ridges ([`phasemap::freeman_phasemap`]) and
//! the minutiae are read from it ([`minutia::minutiae`]). Each stage was checked byte for byte
//! against dumps from an instrumented build of the C++ while it was ported (105 prints reach
//! every stage); the whole is checked minutia for minutia against the unmodified C++ by
//! `examples/reference_check.rs` (`reference/README.md`; 1,922 prints identical, see
//! `docs/benchmarks.md`), and `tests/` pins six prints with the C++'s output.

mod biffilt;
mod enhance;
mod minutia;
mod orimap;
mod phasemap;
mod support;

pub use minutia::{Minutia, MinutiaKind};
pub use support::FjError;
use support::Ori;

/// The minutiae of an 8-bit greyscale print at 500 ppi (`width × height` pixels, row-major,
/// 0 black), as `FRFXLLCreateFeatureSetFromRaw(…, FRFXLL_FEX_ENABLE_ENHANCEMENT, …)` followed by
/// `FRFXLLGetMinutiae(BASIC_19794_2_MINUTIA_STRUCT)` returns them: positions in the print's own
/// 500 ppi pixels, angles in 256ths of a turn, qualities 0–100, best first.
///
/// # Errors
/// [`FjError::InvalidImage`] for a print outside the extractor's size range (narrower than
/// 196 pixels or wider than 800 at 500 ppi, or pixels that do not fill the size);
/// [`FjError::TooSmallArea`] when fewer than 6 minutiae or too small a finger area are found.
pub fn extract(pixels: &[u8], width: usize, height: usize) -> Result<Vec<Minutia>, FjError> {
    if width.checked_mul(height) != Some(pixels.len()) {
        return Err(FjError::InvalidImage);
    }
    let resized = orimap::resize_to_333(pixels, width, height, 500)?;
    let (w, mut img) = (resized.width, resized.img);
    let cells = orimap::ori_size(w, resized.height);
    let mut footprint = vec![0u8; cells];
    orimap::orientation_map_and_footprint(w, &img, true, None, &mut footprint);
    if !enhance::fft_enhance(&mut img, w) {
        return Err(FjError::Internal);
    }
    let mut ori = vec![Ori::default(); cells];
    orimap::orientation_map_and_footprint(w, &img, false, Some(&mut ori), &mut footprint);
    phasemap::freeman_phasemap(w, &mut img, &ori);
    // The C++ keeps the orientation map right after the image in one buffer, and the minutiae
    // filter's last row reads a few bytes past the image into it: the map goes along.
    minutia::minutiae(
        &img,
        w,
        &ori,
        &footprint,
        resized.x_offs,
        resized.y_offs,
        resized.resolution,
    )
}
