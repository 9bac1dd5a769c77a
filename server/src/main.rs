//! `enrollment-server`: runs the central server or administers its data directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use enrollment_server::data::{Identity, Scaled, ScaledConfig, ServerData, Storage};
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
    /// The server's data directory: its keys and forms, and with the embedded default also its
    /// SQLite database and packet files.
    #[arg(
        long,
        env = "ENROLLMENT_SERVER_DATA_DIR",
        default_value = "enrollment-server-data",
        global = true
    )]
    data_dir: PathBuf,
    /// PostgreSQL to keep every row in instead of the data directory's SQLite (scale-out: any
    /// number of replicas may share it), e.g. postgres://enrollment@db.internal/enrollment.
    /// Needs --object-store.
    #[arg(
        long,
        env = "ENROLLMENT_SERVER_DATABASE_URL",
        hide_env_values = true,
        requires = "object_store",
        global = true
    )]
    database_url: Option<String>,
    /// The S3-compatible bucket for packet bytes with the scale-out backend, s3://bucket or
    /// s3://bucket/prefix; endpoint, region and credentials from the AWS_* variables
    /// (AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP).
    #[arg(
        long,
        env = "ENROLLMENT_SERVER_OBJECT_STORE",
        requires = "database_url",
        global = true
    )]
    object_store: Option<String>,
    /// With sslmode=require in the database URL: the CA certificate (PEM) the database's
    /// certificate must chain to; without it, the public roots.
    #[arg(long, env = "ENROLLMENT_SERVER_DATABASE_CA", global = true)]
    database_ca: Option<PathBuf>,
    /// Connections to PostgreSQL this process holds at most.
    #[arg(
        long,
        env = "ENROLLMENT_SERVER_DATABASE_POOL",
        default_value_t = 16,
        global = true
    )]
    database_pool: usize,
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
        /// 127.0.0.1 and ::1 (used only when the certificate is first made); in the
        /// environment, comma-separated.
        #[arg(
            long = "tls-name",
            env = "ENROLLMENT_SERVER_TLS_NAMES",
            value_delimiter = ','
        )]
        tls_names: Vec<String>,
        /// Serve plain HTTP instead of TLS: only behind a TLS front end, or for tests on
        /// loopback. Logged at every start.
        #[arg(long, env = "ENROLLMENT_SERVER_PLAIN_HTTP")]
        plain_http: bool,
        /// Every connection starts with the PROXY protocol header (v1 or v2) of a TCP load
        /// balancer in front, naming the client's address; connections without one are
        /// refused. Only for a server the balancer alone can reach. Not with --plain-http.
        #[arg(
            long,
            env = "ENROLLMENT_SERVER_PROXY_PROTOCOL",
            conflicts_with = "plain_http"
        )]
        proxy_protocol: bool,
    },
    /// Issues a one-time token with which one station can register; prints it once.
    IssueToken,
    /// Lists the packets received: verdict, stage after intake (a stage's name, done or held),
    /// and the reason for a rejection or a hold.
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
    /// After a deliberate change of the server's keys (the new keys/ copied to every replica):
    /// records them as the ones the shared database serves with. Replicas refuse to start on
    /// keys the database does not know. Nothing to do with the embedded default.
    AdoptKeys,
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
    if let Command::AdoptKeys = cli.command {
        return adopt_keys(&cli).await;
    }
    let data = open_storage(&cli).await?;
    match cli.command {
        Command::Audit { station_id } => {
            let entries = data.audit_entries(station_id).await?;
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
            match data.audit_head(station_id).await? {
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
            proxy_protocol,
        } => {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let address = listener.local_addr()?;
            let mut state = ServerState::shared(data);
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
            // The stages after intake, worked here as on every replica.
            let process = uuid::Uuid::new_v4();
            let workers: Vec<_> = (0..enrollment_server::stages::WORKERS)
                .map(|n| {
                    tokio::spawn(enrollment_server::stages::run(
                        state.data.clone(),
                        format!("{process}/{n}"),
                        state.now,
                        Duration::from_millis(500),
                    ))
                })
                .collect();
            // Stops on a signal, or when another replica's adopt-keys recorded other keys.
            let keys_replaced = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let until_stopped = {
                let (data, replaced) = (state.data.clone(), keys_replaced.clone());
                async move {
                    tokio::select! {
                        () = shutdown_signal() => {}
                        () = until_keys_replaced(data, KEYS_CHECK_INTERVAL) => {
                            replaced.store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                }
            };
            let app = http::router(state);
            match tls {
                Some(identity) => {
                    if proxy_protocol {
                        tracing::info!("reading a PROXY protocol header on every connection");
                    }
                    identity
                        .serve(listener, app, proxy_protocol, until_stopped)
                        .await;
                }
                None => {
                    let app = app.into_make_service_with_connect_info::<SocketAddr>();
                    axum::serve(listener, app)
                        .with_graceful_shutdown(until_stopped)
                        .await
                        .context("the server stopped with an error")?;
                }
            }
            sweeper.abort();
            for worker in workers {
                worker.abort();
            }
            if keys_replaced.load(std::sync::atomic::Ordering::SeqCst) {
                anyhow::bail!(
                    "stopped: the database now records other keys than this server's \
                     (enrollment-server adopt-keys was run); copy the new keys/ here and start again"
                );
            }
        }
        Command::Revoke { station_id } => {
            if data.revoke_station(station_id).await? {
                println!("station {station_id} revoked");
            } else {
                anyhow::bail!("no station {station_id} is registered");
            }
        }
        Command::Import { folder } => {
            let report = enrollment_server::uploads::import_folder(
                &*data,
                &folder,
                time::OffsetDateTime::now_utc(),
            )
            .await?;
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
        Command::AdoptKeys => unreachable!("handled before the storage opens"),
        Command::IssueToken => {
            let token = data.issue_token(time::OffsetDateTime::now_utc()).await?;
            println!("{}", token.expose());
        }
        Command::Packets => {
            for packet in data.packets().await? {
                let stage = data.packet_stage(packet.packet_id).await?;
                let (stage, held) =
                    stage.map_or((String::new(), None), |s| (s.stage, s.held_reason));
                let reason = packet.reason.as_deref().or(held.as_deref()).unwrap_or("");
                println!(
                    "{}  {}  {}  {stage}  {reason}",
                    packet.packet_id, packet.station_id, packet.verdict
                );
            }
        }
    }
    Ok(())
}

/// `adopt-keys`: the scale-out backend records this server's keys.
async fn adopt_keys(cli: &Cli) -> anyhow::Result<()> {
    let Some(config) = scaled_config(cli) else {
        println!("the embedded backend keeps its keys with its data: nothing to adopt");
        return Ok(());
    };
    let identity = Identity::load_or_create(&cli.data_dir)
        .with_context(|| format!("cannot read the keys under {}", cli.data_dir.display()))?;
    let fingerprint = identity.fingerprint();
    Scaled::adopt_keys(&config, identity).await?;
    println!("the database now serves with these keys: {fingerprint}");
    Ok(())
}

/// The scale-out backend's settings, when a database and an object store are configured.
fn scaled_config(cli: &Cli) -> Option<ScaledConfig> {
    match (&cli.database_url, &cli.object_store) {
        (Some(database_url), Some(object_store)) => Some(ScaledConfig {
            database_url: database_url.clone().into(),
            object_store_url: object_store.clone(),
            pool_size: cli.database_pool,
            database_ca: cli.database_ca.clone(),
        }),
        _ => None,
    }
}

/// The embedded backend over the data directory, or the scale-out one when a database and an
/// object store are configured (the data directory then holds the keys and forms).
async fn open_storage(cli: &Cli) -> anyhow::Result<Arc<dyn Storage>> {
    let dir = &cli.data_dir;
    Ok(match scaled_config(cli) {
        Some(config) => {
            let identity = Identity::load_or_create(dir)
                .with_context(|| format!("cannot read the keys under {}", dir.display()))?;
            let object_store = config.object_store_url.clone();
            let scaled = Scaled::connect(&config, identity).await.with_context(|| {
                format!("cannot open the storage at {object_store} and its database")
            })?;
            tracing::info!(object_store = %object_store, "storage: PostgreSQL and object store");
            Arc::new(scaled)
        }
        None => Arc::new(
            ServerData::open(dir)
                .with_context(|| format!("cannot open the data directory {}", dir.display()))?,
        ),
    })
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

/// How often a serving replica checks that the database still records its keys.
const KEYS_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// Returns once the storage records other keys than this server's (checked every
/// `interval`; a database that cannot be reached is checked again later).
async fn until_keys_replaced(data: Arc<dyn Storage>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        match data.keys_still_recorded().await {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!("the database records other keys than this server's: stopping");
                return;
            }
            Err(error) => tracing::warn!(%error, "cannot check the recorded keys; trying again"),
        }
    }
}

/// Runs [`enrollment_server::sweep`] every `interval`: expired uploads and old rejected
/// packets go, so what a station leaves behind cannot fill the disk.
async fn sweep_every(state: ServerState, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        match enrollment_server::sweep(&*state.data, (state.now)()).await {
            Ok((uploads, rejected)) if uploads + rejected > 0 => {
                tracing::info!(
                    uploads,
                    rejected,
                    "expired uploads and old rejected packets removed"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "the sweep failed"),
        }
    }
}
