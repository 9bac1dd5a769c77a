//! `station`: the headless command-line tool for deployers and technicians, built on the same
//! core as the desktop app.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use hardware::selftest::Verdict;
use station_core::actions::settings::{self, Holder};
use station_core::actions::setup::{set_up, StationSetUp};
use station_core::actions::sign_in::{self, Front};
use station_core::actions::station::Lifecycle;
use station_core::actions::{accounts, approvals};
use station_core::approval::Decision;
use station_core::audit;
use station_core::clock::SystemClock;
use station_core::devices::{DeviceOptions, Devices, Drill};
use station_core::keyring;
use station_core::officers::{self, Password, Role};
use station_core::station::{default_data_dir, Station, StationPaths};
use station_core::sync::{SyncConfig, Uploader};
use station_core::vault::{self, Passphrase, Protection};
use station_core::{retention, selftest};

#[derive(Parser)]
#[command(name = "station", version, about = "Enrollment station administration")]
struct Cli {
    /// The station's data directory.
    #[arg(long, env = "STATION_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Registers this station with the central server using a one-time token.
    Provision {
        /// Base URL of the central server.
        #[arg(long)]
        server: String,
        /// One-time provisioning code from `enrollment-server issue-token` (better given in
        /// STATION_PROVISIONING_TOKEN: a command line is visible to every local user).
        #[arg(long, env = "STATION_PROVISIONING_TOKEN", hide_env_values = true)]
        token: String,
        /// A name for this station, e.g. "Jakarta Selatan desk 3".
        #[arg(long)]
        name: String,
        /// What protects the station's keys: the OS keyring of this user (Secret Service), a
        /// passphrase typed at every start, or the keyring when one answers and else a
        /// passphrase.
        #[arg(long, value_enum, default_value = "auto")]
        protect: ProtectArg,
        /// The username of the station's first administrator, created with the station (its
        /// password from STATION_ADMIN_PASSWORD or a prompt); every later account needs an
        /// administrator.
        #[arg(long)]
        admin: String,
        /// The first administrator's name as the app shows it.
        #[arg(long)]
        admin_name: String,
    },
    /// Changes the station passphrase (the new one is read like the old one, from
    /// STATION_NEW_PASSPHRASE or a prompt).
    Passphrase,
    /// Manages officer accounts.
    Officer {
        #[command(subcommand)]
        command: OfficerCommand,
    },
    /// Shows the station's identity and its outbox.
    Status,
    /// Uploads pending packets until the outbox is empty or a problem stops it, and reports
    /// the result (exit status 1 when a problem stopped it).
    Sync {
        /// Bytes per upload chunk (what a cut link can cost at most).
        #[arg(long, default_value_t = 256 * 1024)]
        chunk_bytes: u64,
        /// Sends to this server URL instead of the configured one (e.g. through a relay).
        #[arg(long)]
        server: Option<String>,
    },
    /// Writes every pending packet to a folder (a USB stick) for `enrollment-server import`,
    /// and marks them so they are not uploaded while the server may still receive them from
    /// the stick; their verdicts arrive when the station is next online.
    Export {
        /// The folder, e.g. the USB stick's mount point.
        folder: PathBuf,
    },
    /// Works with the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Lists the enrollments waiting for a supervisor's approval.
    Approvals {
        /// The supervisor's username; the password is read from STATION_SUPERVISOR_PASSWORD or
        /// a prompt.
        #[arg(long = "as")]
        supervisor: String,
    },
    /// Approves (or refuses) an enrollment held for approval.
    Approve {
        /// The enrollment id.
        id: String,
        /// The supervisor's username; the password is read from STATION_SUPERVISOR_PASSWORD or
        /// a prompt.
        #[arg(long = "as")]
        supervisor: String,
        /// Refuse instead of approve: the packet is never uploaded.
        #[arg(long)]
        refuse: bool,
        /// The reason (required to refuse).
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Deletes the sealed bytes of packets judged longer ago than the retention period.
    Retention,
    /// Lists and self-tests the camera and fingerprint readers (no station data needed).
    Devices {
        #[command(flatten)]
        backends: DeviceArgs,
        #[command(subcommand)]
        command: DevicesCommand,
    },
    /// Checks storage, crypto and the audit log; exits with status 1 when a check fails.
    SelfTest {
        /// Also write the report as JSON to this file.
        #[arg(long)]
        report: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Checks every entry and signed checkpoint; exits with status 1 when tampering is found.
    Verify,
}

#[derive(Subcommand)]
enum OfficerCommand {
    /// Adds an account, as an administrator. The new password is read from
    /// STATION_NEW_PASSWORD or the first line of standard input, the administrator's from
    /// STATION_ADMIN_PASSWORD or a prompt; never from the command line.
    Add {
        /// The administrator's username.
        #[arg(long = "as")]
        administrator: String,
        /// Login name.
        username: String,
        /// Name shown in the app.
        #[arg(long)]
        name: String,
        /// What the account may do.
        #[arg(long, value_enum, default_value = "officer")]
        role: RoleArg,
    },
    /// Lifts the lockout of an administrator's account (wrong passwords typed by someone else
    /// must not keep the administrators out): for whoever can open the station (its passphrase
    /// or this user's keyring). Audited.
    Unlock {
        /// The administrator's username.
        username: String,
    },
}

#[derive(clap::Args)]
struct DeviceArgs {
    /// Include the simulated camera and fingerprint reader.
    #[arg(long, global = true, env = "STATION_SIMULATED_DEVICES")]
    simulated: bool,
    /// Force a fault on a simulated device (repeatable), to rehearse what a technician sees.
    #[arg(long = "drill", value_enum, global = true)]
    drills: Vec<DrillArg>,
    /// Trusted SBI device provider certificates (PEM; repeatable).
    #[arg(
        long = "sbi-trust",
        global = true,
        env = "STATION_SBI_TRUST",
        value_delimiter = ':'
    )]
    sbi_trust: Vec<PathBuf>,
    /// Do not scan ports 4501–4600 for SBI device services.
    #[arg(long, global = true)]
    no_sbi: bool,
    /// Scan only these SBI ports, e.g. `4501` or `4501-4510`.
    #[arg(long, global = true, value_parser = parse_ports)]
    sbi_ports: Option<std::ops::RangeInclusive<u16>>,
}

fn parse_ports(text: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .map_err(|_| format!("{p:?} is not a port number"))
    };
    let (low, high) = (port(low)?, port(high)?);
    if low > high {
        return Err(format!("{low}-{high} is an empty range"));
    }
    Ok(low..=high)
}

#[derive(Clone, Copy, ValueEnum)]
enum DrillArg {
    CameraFreeze,
    CameraBlack,
    CameraUnplugged,
    ReaderResidue,
    ReaderUnplugged,
    ReaderDryFingers,
}

#[derive(Subcommand)]
enum DevicesCommand {
    /// Lists the devices every backend finds.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Runs every device's self-test; exits with status 1 when a check fails.
    Selftest {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Seconds each camera streams for the frame-rate check.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProtectArg {
    Auto,
    Keyring,
    Passphrase,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Officer,
    Supervisor,
    Technician,
    Administrator,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Officer => Role::Officer,
            RoleArg::Supervisor => Role::Supervisor,
            RoleArg::Technician => Role::Technician,
            RoleArg::Administrator => Role::Administrator,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let paths = StationPaths::new(cli.data_dir.unwrap_or_else(default_data_dir));
    match cli.command {
        Command::Provision {
            server,
            token,
            name,
            protect,
            admin,
            admin_name,
        } => {
            // The first account is checked before the one-time code is spent.
            let admin_password = read_secret(
                "STATION_ADMIN_PASSWORD",
                "first administrator's password (at least 10 characters): ",
            )?;
            let admin_password = Password::new(admin_password.expose().to_owned());
            officers::check_new_account(&admin, &admin_password)?;
            let use_keyring = match protect {
                ProtectArg::Keyring => true,
                ProtectArg::Passphrase => false,
                ProtectArg::Auto => keyring::available(),
            };
            let passphrase = if use_keyring {
                None
            } else {
                Some(read_secret(
                    "STATION_PASSPHRASE",
                    "new station passphrase (at least 12 characters): ",
                )?)
            };
            let setup = StationSetUp {
                server_url: server,
                token,
                station_name: name,
                passphrase,
                admin_username: admin,
                admin_name,
                admin_password,
            };
            // Refused before the station is looked at (finding one protected by the keyring
            // would open it and record an unlock that nobody asked for).
            if paths.config().exists() {
                bail!(
                    "this station is already set up ({} exists)",
                    paths.config().display()
                );
            }
            let lifecycle = Lifecycle::find(paths, &SystemClock);
            let station = set_up(&lifecycle, setup, Arc::new(SystemClock))
                .await
                .context("provisioning failed")?;
            let config = station.config();
            println!(
                "station {} provisioned against {}; its keys are protected by {}",
                config.station_id,
                config.server_url,
                if use_keyring {
                    "this user's OS keyring"
                } else {
                    "the station passphrase"
                }
            );
        }
        Command::Officer {
            command:
                OfficerCommand::Add {
                    administrator,
                    username,
                    name,
                    role,
                },
        } => {
            let station = open(paths)?;
            let admin = log_in_as(
                &station,
                &administrator,
                "STATION_ADMIN_PASSWORD",
                "administrator password: ",
            )?;
            let password = read_new_password()?;
            let account = accounts::NewAccount {
                username: &username,
                display_name: &name,
                role: role.into(),
                password: &password,
            };
            accounts::add(&station, &admin, &account, &SystemClock)?;
            println!("account {username} added by {}", admin.username);
        }
        Command::Officer {
            command: OfficerCommand::Unlock { username },
        } => {
            let station = open(paths)?;
            officers::unlock_administrator(&station, &username, &SystemClock)?;
            println!("the lockout of {username} is lifted");
        }
        Command::Passphrase => {
            let old = read_secret("STATION_PASSPHRASE", "current station passphrase: ")?;
            let new = read_secret("STATION_NEW_PASSPHRASE", "new station passphrase: ")?;
            let station = Station::open(paths.clone(), &old)?;
            settings::change_passphrase(&station, Holder::CommandLine, &old, &new, &SystemClock)?;
            println!("station passphrase changed");
        }
        Command::Status => {
            let station = open(paths)?;
            let config = station.config();
            let counts = station.store().outbox_counts()?;
            println!("station:  {} ({})", config.station_name, config.station_id);
            println!("server:   {}", config.server_url);
            println!(
                "outbox:   {} pending, {} accepted, {} rejected",
                counts.pending, counts.accepted, counts.rejected
            );
        }
        Command::Sync {
            chunk_bytes,
            server,
        } => {
            let station = open(paths)?;
            let config = SyncConfig {
                chunk_bytes,
                ..SyncConfig::default()
            };
            let url = server.unwrap_or_else(|| station.config().server_url.clone());
            let uploader = Uploader::to_server(&station, &url, &config, Arc::new(SystemClock))?;
            let status = uploader.run_pass().await;
            println!(
                "{} packet(s) got a verdict, {} bytes sent; {} packet(s) still waiting",
                status.packets_done, status.bytes_sent, status.backlog_packets
            );
            if let (Some(problem), Some(message)) = (&status.problem, &status.message) {
                println!("{}", message.en);
                println!("detail: {}", problem.detail);
                if status.phase == station_core::sync::machine::Phase::Retrying {
                    std::process::exit(1);
                }
            }
        }
        Command::Export { folder } => {
            let station = open(paths)?;
            let report = station_core::sync::export::export_pending(
                &station,
                &folder,
                "station-cli",
                &SystemClock,
            )?;
            println!(
                "{} packet(s), {} bytes written to {}; import them with `enrollment-server import`",
                report.packets,
                report.bytes,
                folder.display()
            );
        }
        Command::Approvals { supervisor } => {
            let station = open(paths)?;
            let supervisor = log_in_supervisor(&station, &supervisor)?;
            let flagged = approvals::awaiting(&station, &supervisor)?;
            if flagged.is_empty() {
                println!("no enrollment is waiting for approval");
            }
            for item in flagged {
                let exceptions: Vec<String> = item
                    .exceptions
                    .iter()
                    .map(|(finger, reason)| format!("{finger:?}: {reason}"))
                    .collect();
                println!(
                    "{}  {}  by {}  exceptions: {}  force-captured: {}",
                    item.id,
                    item.created_at,
                    item.officer,
                    if exceptions.is_empty() {
                        "none".to_owned()
                    } else {
                        exceptions.join("; ")
                    },
                    item.force_captured
                );
            }
        }
        Command::Approve {
            id,
            supervisor,
            refuse,
            comment,
        } => {
            let station = open(paths)?;
            let supervisor = log_in_supervisor(&station, &supervisor)?;
            let decision = if refuse {
                Decision::Refuse
            } else {
                Decision::Approve
            };
            approvals::decide(&station, &supervisor, &id, decision, &comment, &SystemClock)?;
            println!(
                "enrollment {id} {}",
                if refuse {
                    "refused: it will not be uploaded"
                } else {
                    "approved: it will be uploaded"
                }
            );
        }
        Command::Retention => {
            let station = open(paths)?;
            let purged = retention::purge_expired(&station, &SystemClock)?;
            println!(
                "{purged} packet(s) purged (retention: {} days after the server's verdict)",
                station.config().retention_days
            );
        }
        Command::Devices { backends, command } => {
            let options = DeviceOptions {
                simulated: backends.simulated,
                drills: backends
                    .drills
                    .iter()
                    .map(|drill| match drill {
                        DrillArg::CameraFreeze => Drill::CameraFreeze,
                        DrillArg::CameraBlack => Drill::CameraBlack,
                        DrillArg::CameraUnplugged => Drill::CameraUnplugged,
                        DrillArg::ReaderResidue => Drill::ReaderResidue,
                        DrillArg::ReaderUnplugged => Drill::ReaderUnplugged,
                        DrillArg::ReaderDryFingers => Drill::ReaderDryFingers,
                    })
                    .collect(),
                sbi: !backends.no_sbi,
                sbi_trust: backends.sbi_trust,
                sbi_ports: backends.sbi_ports,
                webcam: true,
                libfprint: true,
                simulated_camera_size: None,
            };
            let devices = tokio::task::spawn_blocking(move || Devices::new(&options))
                .await
                .context("device discovery stopped")??;
            match command {
                DevicesCommand::List { json } => {
                    let list = devices.list();
                    if json {
                        println!("{}", serde_json::to_string_pretty(&list)?);
                    } else if list.is_empty() {
                        println!("no devices found");
                    } else {
                        for device in list {
                            let kind = match device.kind {
                                hardware::DeviceKind::Camera => "camera",
                                hardware::DeviceKind::FingerprintReader => "fingerprint reader",
                            };
                            let status = serde_json::to_value(device.status)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .unwrap_or_default();
                            println!(
                                "{:<18} {:<10} {:<14} {:<24} {}",
                                kind, device.backend, status, device.id, device.name
                            );
                        }
                    }
                }
                DevicesCommand::Selftest { json, seconds } => {
                    let camera_time = std::time::Duration::from_secs_f64(seconds.clamp(0.5, 60.0));
                    let report = tokio::task::spawn_blocking(move || devices.selftest(camera_time))
                        .await
                        .context("the self-test stopped")?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&report)?);
                    } else {
                        if report.devices.is_empty() {
                            println!("no devices found");
                        }
                        for device in &report.devices {
                            println!(
                                "{} ({}, {})",
                                device.device.name, device.device.backend, device.device.id
                            );
                            for check in &device.checks {
                                let verdict = match check.verdict {
                                    Verdict::Pass => "PASS",
                                    Verdict::Warn => "WARN",
                                    Verdict::Fail => "FAIL",
                                };
                                println!("  {verdict}  {:<20} {}", check.name, check.reason);
                            }
                        }
                    }
                    if report.devices.is_empty() || report.verdict == Verdict::Fail {
                        std::process::exit(1);
                    }
                }
            }
        }
        Command::SelfTest { report } => {
            let station = open(paths)?;
            let result = selftest::run(&station, "station-cli", &SystemClock)?;
            for check in &result.checks {
                println!(
                    "{:<10} {}  {} ({} ms)",
                    check.name,
                    if check.passed { "PASS" } else { "FAIL" },
                    check.detail,
                    check.millis
                );
            }
            if let Some(path) = report {
                std::fs::write(&path, serde_json::to_vec_pretty(&result)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("report written to {}", path.display());
            }
            if !result.passed() {
                std::process::exit(1);
            }
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let station = open(paths)?;
            let report = audit::verify(&station)?;
            println!(
                "audit log: {} entries, {} signed checkpoints",
                report.entries, report.checkpoints
            );
            if report.findings.is_empty() {
                println!("intact: no sign of tampering");
            } else {
                for finding in &report.findings {
                    println!("TAMPERED: {finding}");
                }
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

/// Logs `username` in (lockout and audit included) with STATION_SUPERVISOR_PASSWORD or a prompt.
fn log_in_supervisor(station: &Station, username: &str) -> anyhow::Result<officers::Officer> {
    log_in_as(
        station,
        username,
        "STATION_SUPERVISOR_PASSWORD",
        "supervisor password: ",
    )
}

/// Logs `username` in (lockout and audit included) with the password from `variable` (or the
/// file it names, or a prompt).
fn log_in_as(
    station: &Station,
    username: &str,
    variable: &str,
    prompt: &str,
) -> anyhow::Result<officers::Officer> {
    let password = read_secret(variable, prompt)?;
    let password = Password::new(password.expose().to_owned());
    Ok(sign_in::login(
        station,
        username,
        &password,
        Front::CommandLine,
        &SystemClock,
    )?)
}

/// Opens the station: from the OS keyring when that protects it, else asking for its
/// passphrase.
fn open(paths: StationPaths) -> anyhow::Result<Station> {
    if paths.vault().exists() && vault::protection(&paths.vault())? == Protection::Keyring {
        return Ok(Station::open_from_keyring(paths)?);
    }
    let passphrase = read_secret("STATION_PASSPHRASE", "station passphrase: ")?;
    Ok(Station::open(paths, &passphrase)?)
}

/// A secret from the environment variable `variable`, the file named by `<variable>_FILE`, or
/// a prompt on the terminal (not echoed). Never from the command line.
fn read_secret(variable: &str, prompt: &str) -> anyhow::Result<Passphrase> {
    if let Ok(text) = std::env::var(variable) {
        return Ok(Passphrase::new(text));
    }
    if let Some(path) = std::env::var_os(format!("{variable}_FILE")) {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", PathBuf::from(&path).display()))?;
        return Ok(Passphrase::new(
            text.trim_end_matches(['\r', '\n']).to_owned(),
        ));
    }
    let text = rpassword::prompt_password(prompt).with_context(|| {
        format!("no terminal to ask for the passphrase: set {variable} or {variable}_FILE")
    })?;
    Ok(Passphrase::new(text))
}

fn read_new_password() -> anyhow::Result<Password> {
    if let Ok(password) = std::env::var("STATION_NEW_PASSWORD") {
        return Ok(Password::new(password));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password given: set STATION_NEW_PASSWORD or pipe it on standard input");
    }
    Ok(Password::new(password))
}
