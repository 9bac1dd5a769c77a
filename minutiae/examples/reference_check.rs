//! Compares the port with the C++ on every print the reference harness wrote out
//! (`reference/README.md`): `cargo run --release -p minutiae-extractor --example reference_check
//! -- GOLDEN_DIR`. Prints one line per print that differs and a summary; exits 1 if any does.

use minutiae_extractor::{extract, FjError, MinutiaKind};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// The harness's PGM: "P5\n<w> <h>\n255\n" then the pixels.
fn read_pgm(path: &Path) -> Result<(Vec<u8>, usize, usize), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if start == at {
            return Err(format!("{}: short header", path.display()));
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    let number = |i: usize| {
        fields[i]
            .parse::<usize>()
            .map_err(|_| format!("{}: bad header", path.display()))
    };
    let (w, h) = (number(1)?, number(2)?);
    let pixels = bytes
        .get(at + 1..at + 1 + w * h)
        .ok_or_else(|| format!("{}: short pixels", path.display()))?;
    Ok((pixels.to_vec(), w, h))
}

fn as_text(result: &Result<Vec<minutiae_extractor::Minutia>, FjError>) -> String {
    match result {
        Err(FjError::InvalidImage) => "error -2051407838\n".into(),
        Err(FjError::TooSmallArea) => "error -2147188732\n".into(),
        Err(FjError::Internal) => "error -2147023537\n".into(),
        Ok(found) => found
            .iter()
            .map(|m| {
                let kind = match m.kind {
                    MinutiaKind::Other => 0,
                    MinutiaKind::RidgeEnding => 1,
                    MinutiaKind::Bifurcation => 2,
                };
                format!("{} {} {} {} {kind}\n", m.x, m.y, m.angle, m.quality)
            })
            .collect(),
    }
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: reference_check GOLDEN_DIR");
        return ExitCode::from(2);
    };
    let mut entries: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(list) => list.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(e) => {
            eprintln!("{dir}: {e}");
            return ExitCode::from(2);
        }
    };
    entries.sort();
    let (mut same, mut total, mut differ) = (0, 0, 0);
    let mut times = Vec::new();
    for print in entries.iter().filter(|p| p.join("input.pgm").exists()) {
        let (pixels, w, h) = match read_pgm(&print.join("input.pgm")) {
            Ok(image) => image,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        let want = match std::fs::read_to_string(print.join("minutiae.txt")) {
            Ok(text) => text,
            Err(_) => match std::fs::read_to_string(print.join("error.txt")) {
                Ok(code) => format!("error {}", code.trim()) + "\n",
                Err(_) => continue,
            },
        };
        let started = Instant::now();
        let got = extract(&pixels, w, h);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        total += 1;
        if as_text(&got) == want {
            same += 1;
        } else {
            differ += 1;
            println!("differs: {}", print.display());
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
    println!(
        "{same} of {total} prints give the C++'s minutiae exactly; median {median:.2} ms per print"
    );
    if differ == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
