//! Runs the station's face checks over a folder of real webcam frames described by a
//! `manifest.tsv` (file, person, face luminance, eye distance, hand-placed eye centres), as
//! `../shared/face-dev/` is laid out, and prints what a report needs: the false-reject rate
//! on these compliant frames overall and per skin-tone third (by the face's luminance), the
//! reasons, the eye-centre error against the hand-placed landmarks, and the time per frame.
//!
//! Every frame in such a folder is one a passport officer accepts: each refusal is a false one.
//!
//! Then it manipulates every frame in the ways a station must refuse (darkened, washed out,
//! blurred, off-centre, rolled, far away, half the face in shadow, a textured backdrop) and
//! prints the share of each caught, and for what reason.
//!
//! The checks' constants were set on the odd-numbered people only; the figures are printed
//! for the even-numbered ones (held out) and the odd-numbered ones (tuning) apart.
//!
//! `cargo run --release -p station-core --example face_eval -- ../shared/face-dev`

use std::collections::BTreeMap;
use std::time::Instant;

use formats::image::RgbFrame;
use image::{imageops, Rgb, RgbImage};
use station_core::quality::face::{FaceCheck, FaceChecker};

struct Row {
    file: String,
    person: String,
    luminance: f64,
    eyes: [(f64, f64); 2],
}

fn read_manifest(dir: &std::path::Path) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(dir.join("manifest.tsv"))?;
    let mut rows = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        let [file, person, luminance, _, ax, ay, bx, by] = cells[..] else {
            return Err(format!("a manifest line has {} cells, not 8: {line}", cells.len()).into());
        };
        rows.push(Row {
            file: file.to_owned(),
            person: person.to_owned(),
            luminance: luminance.parse()?,
            eyes: [(ax.parse()?, ay.parse()?), (bx.parse()?, by.parse()?)],
        });
    }
    Ok(rows)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: face_eval DIR_WITH_MANIFEST")?,
    );
    let rows = read_manifest(&dir)?;
    let mut people: Vec<(String, f64)> = rows
        .iter()
        .map(|r| (r.person.clone(), r.luminance))
        .collect();
    people.sort_by(|a, b| a.1.total_cmp(&b.1));
    people.dedup_by(|a, b| a.0 == b.0);
    let third_of = |person: &str| {
        let rank = people.iter().position(|(p, _)| p == person).unwrap_or(0);
        rank * 3 / people.len().max(1)
    };
    let mut checker = FaceChecker::new().map_err(|_| "the face model does not load")?;
    // The constants of the checks were set on the odd-numbered people only: the even-numbered
    // ones are the held-out half.
    let half_of = |person: &str| {
        let number: usize = person
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .unwrap_or(0);
        if number % 2 == 0 {
            Half::HeldOut
        } else {
            Half::Tuning
        }
    };
    let mut tallies: BTreeMap<Half, Tally> = BTreeMap::new();
    let mut elapsed = Vec::new();
    let mut caught: BTreeMap<&'static str, (usize, usize, usize)> = BTreeMap::new();
    for row in &rows {
        let image = image::open(dir.join(&row.file))?.to_rgb8();
        for (name, expected, manipulated) in manipulations(&image, row.eyes) {
            let assessment = checker.assess(&to_frame(manipulated)?);
            let entry = caught.entry(name).or_default();
            entry.0 += 1;
            entry.1 += usize::from(!assessment.compliant());
            entry.2 += usize::from(assessment.failures().any(|f| f.check == expected));
        }
        let frame = to_frame(image)?;
        let started = Instant::now();
        let assessment = checker.assess(&frame);
        elapsed.push(started.elapsed().as_secs_f64() * 1000.0);
        if std::env::var_os("FACE_EVAL_VERBOSE").is_some() {
            let g = assessment.geometry.as_ref();
            println!(
                "{}\t{:.1}\t{:?}\t{:?}\t{:?}\t{:?}",
                row.file,
                row.luminance,
                assessment
                    .failures()
                    .map(|f| f.check.label())
                    .collect::<Vec<_>>(),
                g.map(|g| (
                    g.roll_degrees as i32,
                    g.yaw_degrees as i32,
                    g.pitch_degrees as i32
                )),
                assessment.measures,
                g.map(|g| g.landmarks),
            );
        }
        let tally = tallies.entry(half_of(&row.person)).or_default();
        let third = third_of(&row.person);
        tally.total[third] += 1;
        tally.people.insert(row.person.clone());
        if !assessment.compliant() {
            tally.refused[third] += 1;
            for failure in assessment.failures() {
                *tally.reasons.entry(failure.check.label()).or_default() += 1;
            }
        }
        if let Some(geometry) = assessment.geometry {
            let distance = (row.eyes[1].0 - row.eyes[0].0).hypot(row.eyes[1].1 - row.eyes[0].1);
            for (found, truth) in [geometry.left_eye, geometry.right_eye].iter().zip(row.eyes) {
                tally
                    .eye_errors
                    .push((found.0 - truth.0).hypot(found.1 - truth.1) / distance);
            }
        }
    }
    let rate = |r: usize, t: usize| 100.0 * r as f64 / t.max(1) as f64;
    for (half, tally) in &mut tallies {
        let all: (usize, usize) = (tally.refused.iter().sum(), tally.total.iter().sum());
        println!(
            "{}: {} frames of {} people; false rejects: {} ({:.1} %)",
            half.name(),
            all.1,
            tally.people.len(),
            all.0,
            rate(all.0, all.1)
        );
        for (third, name) in ["darkest", "middle", "lightest"].iter().enumerate() {
            println!(
                "  {name} third by face luminance (thirds of all {} people): {} of {} ({:.1} %)",
                people.len(),
                tally.refused[third],
                tally.total[third],
                rate(tally.refused[third], tally.total[third])
            );
        }
        println!("  reasons (a frame may have several):");
        for (reason, count) in &tally.reasons {
            println!("    {reason}: {count}");
        }
        let errors = &mut tally.eye_errors;
        errors.sort_by(f64::total_cmp);
        if !errors.is_empty() {
            let pick = |q: f64| errors[((errors.len() - 1) as f64 * q) as usize];
            println!(
                "  eye-centre error / eye distance: median {:.3}, p90 {:.3}, max {:.3} ({} eyes)",
                pick(0.5),
                pick(0.9),
                pick(1.0),
                errors.len()
            );
        }
    }
    println!("manipulated frames refused (for the expected reason):");
    for (name, (n, refused, expected)) in &caught {
        println!(
            "  {name}: {refused} of {n} ({:.1} %; {:.1} % for the expected reason)",
            rate(*refused, *n),
            rate(*expected, *n)
        );
    }
    elapsed.sort_by(f64::total_cmp);
    println!(
        "time per {}x{} frame: median {:.1} ms, p95 {:.1} ms",
        640,
        480,
        elapsed[elapsed.len() / 2],
        elapsed[(elapsed.len() * 95 / 100).min(elapsed.len() - 1)]
    );
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Half {
    HeldOut,
    Tuning,
}

impl Half {
    fn name(self) -> &'static str {
        match self {
            Half::HeldOut => "held-out half (even-numbered people, not used to set any constant)",
            Half::Tuning => "tuning half (odd-numbered people, the constants were set on them)",
        }
    }
}

#[derive(Default)]
struct Tally {
    refused: [usize; 3],
    total: [usize; 3],
    people: std::collections::BTreeSet<String>,
    reasons: BTreeMap<&'static str, usize>,
    eye_errors: Vec<f64>,
}

fn to_frame(image: RgbImage) -> Result<RgbFrame, &'static str> {
    RgbFrame::new(image.width(), image.height(), image.into_raw())
        .ok_or("a frame of the wrong size")
}

fn map_pixels(image: &RgbImage, f: impl Fn(u32, u32, f64) -> f64) -> RgbImage {
    let mut out = image.clone();
    for (x, y, p) in out.enumerate_pixels_mut() {
        for c in &mut p.0 {
            *c = f(x, y, f64::from(*c)).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// The frame moved by (`dx`, `dy`) and scaled by `scale` about its centre, its edge colour where
/// nothing was.
fn moved(image: &RgbImage, dx: f64, dy: f64, scale: f64, degrees: f64) -> RgbImage {
    let (w, h) = (image.width(), image.height());
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let (sin, cos) = degrees.to_radians().sin_cos();
    RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (
            (f64::from(x) - cx - dx) / scale,
            (f64::from(y) - cy - dy) / scale,
        );
        let (sx, sy) = (cx + u * cos + v * sin, cy - u * sin + v * cos);
        let sx = sx.clamp(0.0, f64::from(w - 1)) as u32;
        let sy = sy.clamp(0.0, f64::from(h - 1)) as u32;
        *image.get_pixel(sx, sy)
    })
}

/// Each manipulation: its name, the check that should refuse it, the frame.
fn manipulations(
    image: &RgbImage,
    eyes: [(f64, f64); 2],
) -> Vec<(&'static str, FaceCheck, RgbImage)> {
    let mid = ((eyes[0].0 + eyes[1].0) / 2.0, (eyes[0].1 + eyes[1].1) / 2.0);
    let distance = (eyes[1].0 - eyes[0].0).hypot(eyes[1].1 - eyes[0].1);
    // Side light: the image's left half of the face falls to a third, over a soft edge.
    let shadow = map_pixels(image, |x, _, v| {
        let t = ((f64::from(x) - mid.0) / (0.15 * distance)).clamp(-1.0, 1.0);
        v * (0.65 + 0.35 * t) / 1.0_f64.max(0.65 + 0.35 * t).max(1.0)
    });
    // A busy backdrop: stripes and blocks over the light wall, outside the head.
    let textured = RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let p = *image.get_pixel(x, y);
        let (dx, dy) = (
            (f64::from(x) - mid.0) / distance,
            (f64::from(y) - mid.1) / distance,
        );
        let luminance = (u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3;
        let spread = p.0.iter().max().unwrap_or(&0) - p.0.iter().min().unwrap_or(&0);
        let wall = luminance > 150 && spread < 40 && (dx.abs() > 1.2 || dy < -1.6) && dy < 1.2;
        if wall && ((x / 9 + y / 23) % 2 == 0) {
            Rgb([p[0] / 3, p[1] / 2, p[2] / 3])
        } else {
            p
        }
    });
    vec![
        (
            "darkened to 30 %",
            FaceCheck::Exposure,
            map_pixels(image, |_, _, v| v * 0.3),
        ),
        (
            "washed out (×1.7)",
            FaceCheck::Exposure,
            map_pixels(image, |_, _, v| v * 1.7),
        ),
        (
            "blurred (σ 3 px)",
            FaceCheck::Sharpness,
            imageops::blur(image, 3.0),
        ),
        (
            "moved 160 px sideways",
            FaceCheck::Centred,
            moved(image, 160.0, 0.0, 1.0, 0.0),
        ),
        (
            "rolled 15°",
            FaceCheck::Roll,
            moved(image, 0.0, 0.0, 1.0, 15.0),
        ),
        (
            "too far (×0.6)",
            FaceCheck::Size,
            moved(image, 0.0, 0.0, 0.6, 0.0),
        ),
        ("half the face in shadow", FaceCheck::Illumination, shadow),
        ("textured backdrop", FaceCheck::Background, textured),
    ]
}
