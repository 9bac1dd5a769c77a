//! The simulated camera's applicant: a real head-and-shoulders photograph, so that face
//! detection and the ICAO checks meet a real face. It is the astronaut Eileen Collins from
//! scikit-image's sample data (NASA, public domain), cut to a 4:3 camera framing
//! (`assets/applicant.jpg`). Each seed frames her a little differently (a few pixels' offset,
//! a slightly different exposure); from frame to frame her head sways a few pixels.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use super::rng::SplitMix64;
use formats::image::RgbFrame;

static PHOTO: &[u8] = include_bytes!("../../assets/applicant.jpg");

/// RGB pixels of the photo at each size asked for.
type Scaled = Mutex<HashMap<(u32, u32), Arc<Vec<u8>>>>;

/// The photo scaled to `width` × `height`, decoded and scaled once per size.
fn base(width: u32, height: u32) -> Option<Arc<Vec<u8>>> {
    static CACHE: OnceLock<Scaled> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = cache.get(&(width, height)) {
        return Some(found.clone());
    }
    let photo = image::load_from_memory_with_format(PHOTO, image::ImageFormat::Jpeg)
        .ok()?
        .to_rgb8();
    let scaled =
        image::imageops::resize(&photo, width, height, image::imageops::FilterType::Triangle);
    let pixels = Arc::new(scaled.into_raw());
    cache.insert((width, height), pixels.clone());
    Some(pixels)
}

/// Frame `frame` of the applicant framed by `seed`, standing `aside` (a share of the frame's
/// width) to the right of her place.
pub(super) fn render(seed: u64, frame: u64, width: u32, height: u32, aside: f64) -> RgbFrame {
    let mut rng = SplitMix64::new(seed ^ 0xFACE);
    // A seed's framing: up to 1.5 % of the frame off centre, exposure ±4 %. The photo has little
    // room above her hair, so the camera looks at her from a little higher: the picture sits 4 %
    // lower, the glass-smooth backdrop of its top row filling the gap.
    let (w, h) = (f64::from(width), f64::from(height));
    let offset = (
        rng.range(-0.015, 0.015) * w,
        (0.04 + rng.range(0.0, 0.015)) * h,
    );
    let gain = rng.range(0.96, 1.04);
    let t = frame as f64;
    // Sway: 0.6 % of the frame, at least 4 pixels, in whole pixels (a row copy per row keeps a
    // 1280×720 stream at 30 fps on a busy machine). With 4 pixels or more, consecutive frames
    // always differ by at least one pixel.
    let (ax, ay) = ((0.006 * w).max(4.0), (0.006 * h).max(4.0));
    let dx = (offset.0 + aside * w + ax * (t * 0.3).sin()).round() as i64;
    let dy = (offset.1 + ay * (t * 0.21).cos()).round() as i64;
    let (wi, hi) = (i64::from(width), i64::from(height));
    // The photo keeps its 4:3 shape: a wider (or taller) frame shows it whole in the middle,
    // its edges carried on to the frame's sides.
    let scale = (w / 4.0).min(h / 3.0);
    let (pw, ph) = (
        ((4.0 * scale).round() as i64).clamp(1, wi),
        ((3.0 * scale).round() as i64).clamp(1, hi),
    );
    let (ox, oy) = ((wi - pw) / 2, (hi - ph) / 2);
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    match base(pw as u32, ph as u32) {
        Some(photo) => {
            let mut level = [0u8; 256];
            for (value, out) in level.iter_mut().enumerate() {
                *out = (value as f64 * gain).round().clamp(0.0, 255.0) as u8;
            }
            let row_bytes = (pw * 3) as usize;
            for y in 0..hi {
                // The row that lands here came from y - dy (the edge row repeats beyond it).
                let source = (y - dy - oy).clamp(0, ph - 1) as usize * row_bytes;
                let row = &photo[source..source + row_bytes];
                let edge = |x: i64| &row[(x * 3) as usize..(x * 3 + 3) as usize];
                for x in 0..wi {
                    let from = (x - dx - ox).clamp(0, pw - 1);
                    pixels.extend(edge(from).iter().map(|&v| level[usize::from(v)]));
                }
            }
        }
        // The photo is compiled in; should it ever fail to decode, the camera shows grey
        // (and the face checks say there is no face) rather than failing.
        None => pixels.resize(width as usize * height as usize * 3, 128),
    }
    RgbFrame::new(width, height, pixels).expect("the buffer has width × height × 3 bytes")
}
