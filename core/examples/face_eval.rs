//! Runs the station's face checks over a folder of real webcam frames described by a
//! `manifest.tsv` (file, person, face luminance, eye distance, hand-placed eye centres), as
//! `../shared/face-dev/` is laid out, and prints what a report needs: the false-reject rate
//! on these compliant frames overall and per skin-tone third (by the face's luminance), the
//! reasons, the eye-centre error against the hand-placed landmarks, and the time per frame.
//!
//! Every frame in such a folder is one a passport officer accepts: each refusal is a false one.
//!
//! `cargo run --release -p station-core --example face_eval -- ../shared/face-dev`

use std::collections::BTreeMap;
use std::time::Instant;

use hardware::image::RgbFrame;
use station_core::quality::face::FaceChecker;

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
    let (mut refused, mut total) = ([0usize; 3], [0usize; 3]);
    let mut reasons: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut eye_errors = Vec::new();
    let mut elapsed = Vec::new();
    for row in &rows {
        let image = image::open(dir.join(&row.file))?.to_rgb8();
        let frame = RgbFrame::new(image.width(), image.height(), image.into_raw())
            .ok_or("a frame of the wrong size")?;
        let started = Instant::now();
        let assessment = checker.assess(&frame);
        elapsed.push(started.elapsed().as_secs_f64() * 1000.0);
        let third = third_of(&row.person);
        total[third] += 1;
        if !assessment.compliant() {
            refused[third] += 1;
            for failure in assessment.failures() {
                *reasons.entry(failure.check.label()).or_default() += 1;
            }
        }
        if let Some(geometry) = assessment.geometry {
            let distance = (row.eyes[1].0 - row.eyes[0].0).hypot(row.eyes[1].1 - row.eyes[0].1);
            for (found, truth) in [geometry.left_eye, geometry.right_eye].iter().zip(row.eyes) {
                eye_errors.push((found.0 - truth.0).hypot(found.1 - truth.1) / distance);
            }
        }
    }
    let rate = |r: usize, t: usize| 100.0 * r as f64 / t.max(1) as f64;
    let all: (usize, usize) = (refused.iter().sum(), total.iter().sum());
    println!(
        "frames: {} of {} people; false rejects: {} ({:.1} %)",
        all.1,
        people.len(),
        all.0,
        rate(all.0, all.1)
    );
    for (third, name) in ["darkest", "middle", "lightest"].iter().enumerate() {
        println!(
            "  {name} third by face luminance: {} of {} ({:.1} %)",
            refused[third],
            total[third],
            rate(refused[third], total[third])
        );
    }
    println!("reasons (a frame may have several):");
    for (reason, count) in &reasons {
        println!("  {reason}: {count}");
    }
    eye_errors.sort_by(f64::total_cmp);
    if !eye_errors.is_empty() {
        let pick = |q: f64| eye_errors[((eye_errors.len() - 1) as f64 * q) as usize];
        println!(
            "eye-centre error / eye distance: median {:.3}, p90 {:.3}, max {:.3} ({} eyes)",
            pick(0.5),
            pick(0.9),
            pick(1.0),
            eye_errors.len()
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
