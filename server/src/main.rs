//! `enrollment-server`: runs the central server or administers its data directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use enrollment_server::data::{ServerData, Storage};
use enrollment_server::tls::TlsIdentity;
use enrollment_server::{http, ServerState};
use protocol::audit::{chain_findings, ChainFinding};

#[derive(Parser)]
#[command(
    name = "enrollment-server",
    version,
    about = "Central enrollment server"
)]
struct Cli {
    /// The server's data directory (keys, database, packets).
    #[arg(
        long,
        env = "ENROLLMENT_SERVER_DATA_DIR",
        default_value = "enrollment-server-data",
        global = true
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the API until interrupted (Ctrl-C or SIGTERM).
    Serve {
        /// Address to listen on; port 0 picks a free port (printed on start).
        #[arg(
            long,
            env = "ENROLLMENT_SERVER_LISTEN",
            default_value = "127.0.0.1:8750"
        )]
        listen: SocketAddr,
        /// Host names or addresses the self-signed TLS certificate names, beside localhost,
        /// 127.0.0.1 and ::1 (used only when the certificate is first made).
        #[arg(long = "tls-name")]
        tls_names: Vec<String>,
        /// Serve plain HTTP instead of TLS: only behind a TLS front end, or for tests on
        /// loopback. Logged at every start.
        #[arg(long)]
        plain_http: bool,
    },
    /// Issues a one-time token with which one station can register; prints it once.
    IssueToken,
    /// Lists the packets received, with their verdicts.
    Packets,
    /// Revokes a station: from now on its requests and packets are refused.
    Revoke {
        /// The station's id.
        station_id: uuid::Uuid,
    },
    /// Imports the packets a station exported to a folder (`station export`, e.g. on a USB
    /// stick): each `*.espk` file gets the same checks as an upload; a packet already received
    /// counts once. The station learns the verdicts when it is next online. Exits with status
    /// 1 when any file was refused.
    Import {
        /// The folder holding `<packet id>.espk` files.
        folder: PathBuf,
    },
    /// Checks the audit entries a station has uploaded with its packets: each matches its hash
    /// and follows the one before; a position never received is reported as missing. Exits with
    /// status 1 when anything is wrong.
    Audit {
        /// The station's id.
        station_id: uuid::Uuid,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let data = ServerData::open(&cli.data_dir)
        .with_context(|| format!("cannot open the data directory {}", cli.data_dir.display()))?;
    match cli.command {
        Command::Audit { station_id } => {
            let entries = data.audit_entries(station_id)?;
            let problems: Vec<String> = chain_findings(&entries, true)
                .into_iter()
                .map(|finding| match finding {
                    ChainFinding::Missing { after, count } => format!(
                        "entries #{}–#{} have not been received",
                        after + 1,
                        after + count
                    ),
                    ChainFinding::BrokenLink { seq } => format!(
                        "entry #{seq} does not follow entry #{} (the station's log was changed between uploads)",
                        seq - 1
                    ),
                    ChainFinding::Edited { seq } => {
                        format!("entry #{seq} does not match its hash")
                    }
                })
                .collect();
            println!(
                "station {station_id}: {} audit entries received",
                entries.len()
            );
            let mut problems = problems;
            match data.audit_head(station_id)? {
                Some(held) => {
                    println!(
                        "newest entry reported: #{} (at {})",
                        held.head.seq, held.seen_at
                    );
                    if let Some((conflict, at)) = held.conflict {
                        problems.push(format!("audit head reported at {at}: {conflict}"));
                    }
                }
                None => println!("the station has not reported its audit head yet"),
            }
            if problems.is_empty() {
                println!("intact: every entry matches its hash and follows the one before");
            } else {
                for problem in &problems {
                    println!("PROBLEM: {problem}");
                }
                std::process::exit(1);
            }
        }
        Command::Serve {
            listen,
            tls_names,
            plain_http,
        } => {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let address = listener.local_addr()?;
            let mut state = ServerState::new(data);
            let tls = if plain_http {
                tracing::warn!("serving plain HTTP (--plain-http): the link is not encrypted");
                None
            } else {
                let identity = TlsIdentity::load_or_create(&cli.data_dir, &tls_names)?;
                state.tls_certificate_sha256 = Some(identity.certificate_sha256().to_owned());
                Some(identity)
            };
            let scheme = if tls.is_some() { "https" } else { "http" };
            println!("enrollment-server listening on {scheme}://{address}");
            let sweeper = tokio::spawn(sweep_every(state.clone(), Duration::from_secs(600)));
            let app = http::router(state);
            match tls {
                Some(identity) => identity.serve(listener, app, shutdown_signal()).await,
                None => {
                    let app = app.into_make_service_with_connect_info::<SocketAddr>();
                    axum::serve(listener, app)
                        .with_graceful_shutdown(shutdown_signal())
                        .await
                        .context("the server stopped with an error")?;
                }
            }
            sweeper.abort();
        }
        Command::Revoke { station_id } => {
            if data.revoke_station(station_id)? {
                println!("station {station_id} revoked");
            } else {
                anyhow::bail!("no station {station_id} is registered");
            }
        }
        Command::Import { folder } => {
            let report = enrollment_server::uploads::import_folder(
                &data,
                &folder,
                time::OffsetDateTime::now_utc(),
            )?;
            for line in &report.lines {
                println!("{line}");
            }
            println!(
                "{} files: {} new, {} already received, {} refused",
                report.lines.len(),
                report.new,
                report.again,
                report.refused
            );
            if report.refused > 0 {
                std::process::exit(1);
            }
        }
        Command::IssueToken => {
            let token = data.issue_token(time::OffsetDateTime::now_utc())?;
            println!("{}", token.expose());
        }
        Command::Packets => {
            for packet in data.packets()? {
                let reason = packet.reason.as_deref().unwrap_or("");
                println!(
                    "{}  {}  {}  {reason}",
                    packet.packet_id, packet.station_id, packet.verdict
                );
            }
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// Runs [`enrollment_server::sweep`] every `interval`: expired uploads and old rejected
/// packets go, so what a station leaves behind cannot fill the disk.
async fn sweep_every(state: ServerState, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        let data = state.data.clone();
        let now = (state.now)();
        match tokio::task::spawn_blocking(move || enrollment_server::sweep(&*data, now)).await {
            Ok(Ok((uploads, rejected))) if uploads + rejected > 0 => {
                tracing::info!(
                    uploads,
                    rejected,
                    "expired uploads and old rejected packets removed"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::error!(%error, "the sweep failed"),
            Err(error) => tracing::error!(%error, "the sweep stopped"),
        }
    }
}
