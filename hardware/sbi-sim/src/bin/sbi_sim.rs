//! `sbi-sim`: runs the simulated SBI device service until stopped.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use sbi_sim::{check_versions, Algorithm, SbiSim, SimOptions};

#[derive(Parser)]
#[command(
    name = "sbi-sim",
    version,
    about = "A simulated MOSIP SBI device service (slap reader and face camera)"
)]
struct Cli {
    /// The port; by default the first free one in 4501–4600.
    #[arg(long)]
    port: Option<u16>,
    /// The signature algorithm of the device key.
    #[arg(long, value_enum, default_value = "ed-dsa")]
    algorithm: Algorithm,
    /// SBI versions to speak (repeat for both).
    #[arg(long = "spec", default_values = ["0.9.5"])]
    spec_versions: Vec<String>,
    /// Writes the device provider CA certificate (PEM) here, for the station to trust.
    #[arg(long)]
    ca_out: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    check_versions(&cli.spec_versions)?;
    let sim = SbiSim::start(SimOptions {
        port: cli.port,
        algorithm: cli.algorithm,
        spec_versions: cli.spec_versions,
    })?;
    if let Some(path) = &cli.ca_out {
        std::fs::write(path, sim.ca_pem())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("sbi-sim listening on 127.0.0.1:{}", sim.port());
    sim.wait();
    Ok(())
}
