//! Compares the station's NFIQ 2 with NIST's (nbis-py 0.1.3, NFIQ 2.3) on the same prints,
//! feature by feature and score by score.
//!
//! `REFERENCE.tsv` is what `scripts/nfiq2_reference.py` writes: file (relative to the TSV's
//! folder), score (or `ERROR:…`), then the 69 features in the model's order.
//!
//! `cargo run --release -p station-core --example nfiq2_agreement -- REFERENCE.tsv [--per-print]`

use std::time::Instant;

use station_core::quality::nfiq2::{self, FEATURE_NAMES};

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let ranks = |v: &[f64]| {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut rank = vec![0f64; v.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
                j += 1;
            }
            for k in i..=j {
                rank[order[k]] = (i + j) as f64 / 2.0 + 1.0;
            }
            i = j + 1;
        }
        rank
    };
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let reference = std::path::PathBuf::from(
        args.next()
            .ok_or("usage: nfiq2_agreement REFERENCE.tsv [--per-print]")?,
    );
    let per_print = args.next().as_deref() == Some("--per-print");
    let dir = reference
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let text = std::fs::read_to_string(&reference)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or("an empty reference")?
        .split('\t')
        .collect();
    if header.len() != 71 || header[2..] != FEATURE_NAMES[..] {
        return Err(
            "the reference's columns are not file, score and the 69 features in order".into(),
        );
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut feature_differences = vec![Vec::new(); 69];
    let (mut both_refused, mut only_we_refused, mut only_they_refused) = (0, 0, 0);
    let mut elapsed = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        let image = image::open(dir.join(cells[0]))?.to_luma8();
        let (w, h) = (image.width() as usize, image.height() as usize);
        let started = Instant::now();
        let result = nfiq2::assess(image.as_raw(), w, h, 500);
        elapsed.push(started.elapsed().as_secs_f64() * 1000.0);
        let reference_score: Option<f64> = cells.get(1).and_then(|s| s.parse().ok());
        match (&result, reference_score) {
            (Err(_), None) => both_refused += 1,
            (Err(error), Some(score)) => {
                only_we_refused += 1;
                if per_print {
                    println!("{}: NIST {score}, ours refused: {error}", cells[0]);
                }
            }
            (Ok(found), None) => {
                only_they_refused += 1;
                if per_print {
                    println!("{}: NIST refused, ours {}", cells[0], found.score);
                }
            }
            (Ok(found), Some(score)) => {
                ours.push(f64::from(found.score));
                theirs.push(score);
                for (k, cell) in cells[2..].iter().enumerate() {
                    if let Ok(value) = cell.parse::<f64>() {
                        feature_differences[k].push((found.features[k], value));
                    }
                }
                if per_print {
                    println!("{}: NIST {score}, ours {}", cells[0], found.score);
                    for (k, cell) in cells[2..].iter().enumerate() {
                        let value: f64 = cell.parse().unwrap_or(f64::NAN);
                        if (found.features[k] - value).abs() > 1e-6 * value.abs().max(1.0) {
                            println!(
                                "    {}: NIST {value}, ours {}",
                                FEATURE_NAMES[k], found.features[k]
                            );
                        }
                    }
                }
            }
        }
    }
    let n = ours.len();
    let differences: Vec<f64> = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .collect();
    println!(
        "prints scored by both: {n}; refused by both {both_refused}, only by ours {only_we_refused}, only by NIST {only_they_refused}"
    );
    if n > 0 {
        println!(
            "identical score: {:.1} %; |difference| ≤ 5: {:.1} %; mean |difference| {:.2}; Spearman ρ {:.3}",
            100.0 * differences.iter().filter(|&&d| d == 0.0).count() as f64 / n as f64,
            100.0 * differences.iter().filter(|&&d| d <= 5.0).count() as f64 / n as f64,
            differences.iter().sum::<f64>() / n as f64,
            if n > 2 { spearman(&ours, &theirs) } else { f64::NAN },
        );
    }
    println!("features (share within 1e-6 relative, mean |difference|):");
    for (k, pairs) in feature_differences.iter().enumerate() {
        if pairs.is_empty() {
            continue;
        }
        let close = pairs
            .iter()
            .filter(|(a, b)| (a - b).abs() <= 1e-6 * b.abs().max(1.0) || (a.is_nan() && b.is_nan()))
            .count();
        let mean = pairs.iter().map(|(a, b)| (a - b).abs()).sum::<f64>() / pairs.len() as f64;
        println!(
            "  {:42} {:5.1} %  {:.4}",
            FEATURE_NAMES[k],
            100.0 * close as f64 / pairs.len() as f64,
            mean
        );
    }
    elapsed.sort_by(f64::total_cmp);
    if !elapsed.is_empty() {
        println!(
            "time per print: median {:.1} ms, p95 {:.1} ms",
            elapsed[elapsed.len() / 2],
            elapsed[(elapsed.len() * 95 / 100).min(elapsed.len() - 1)]
        );
    }
    Ok(())
}
