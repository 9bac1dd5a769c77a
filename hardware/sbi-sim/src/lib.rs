//! A simulated MOSIP SBI device service.
//!
//! It speaks SBI 0.9.5 and/or 1.0 over real HTTP on `127.0.0.1` (a port in 4501–4600), with two
//! devices: `1`, a slap fingerprint reader (sub-devices 1 left slap, 2 right slap, 3 thumbs) and
//! `2`, a face camera (sub-device 0). It signs every answer with its own generated device key
//! (EdDSA or RS256), issued by its own "device provider" CA ([`SbiSim::ca_pem`]), returns
//! ISO/IEC 19794-4 finger records and a 19794-5 face record, streams JPEG previews, and keeps
//! the capture hash chain.
//!
//! Admin endpoints (plain HTTP methods) force its behaviour, for tests and drills:
//! - `GET /admin/state`, `POST /admin/state` with any of `status` ("Ready", "Busy",
//!   "Not Ready", "Not Registered"), `quality` (0–100), `delay_ms` (per method, e.g.
//!   `{"RCAPTURE": 2000}`), `error` (`{"code": 701, "info": "…"}` or `null`), `person` (which
//!   synthetic applicant), `fault` (see [`Fault`], or `null`);
//! - `POST /admin/reset` back to defaults; `GET /admin/ca` the CA certificate (PEM).

mod admin;
mod capture;
mod discovery;
mod http;
mod keys;
mod preview;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use admin::admin;
use capture::capture;
use discovery::{discover, info};
use preview::preview;

pub use keys::Algorithm;

const FINGER_DEVICE: &str = "1";
const FACE_DEVICE: &str = "2";

/// A misbehaviour the simulator can be told to show on every capture until cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Echo another transaction id.
    WrongTransactionId,
    /// Corrupt the JWS signature.
    BadSignature,
    /// Sign with a self-signed certificate no provider issued.
    UntrustedCertificate,
    /// Stamp captures ten minutes in the past.
    StaleTimestamp,
    /// Chain from the wrong previous hash.
    BrokenHashChain,
    /// Leave out the quality score.
    MissingQualityScore,
    /// Answer with an HTML page instead of JSON.
    GarbageJson,
    /// Reset the connection instead of answering.
    ConnectionReset,
    /// Capture for authentication instead of registration.
    WrongPurpose,
    /// Capture in the production environment, whatever was asked.
    WrongEnvironment,
    /// Sign the capture with another device's digital id.
    OtherDevice,
    /// Sign with a device certificate issued through an intermediate CA, sent in `x5c` (a
    /// legitimate provider set-up: the station must accept it).
    IntermediateCa,
}

/// Forced error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForcedError {
    /// The SBI error code.
    pub code: u32,
    /// Its words.
    #[serde(default)]
    pub info: String,
}

/// What the admin endpoints control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimState {
    /// "Ready", "Busy", "Not Ready" or "Not Registered".
    pub status: String,
    /// The quality score returned, 0–100; the images degrade with it
    /// ([`Conditions::for_quality`](hardware::simulated::Conditions::for_quality)).
    pub quality: u8,
    /// Milliseconds to wait before answering, per method.
    pub delay_ms: BTreeMap<String, u64>,
    /// An error every capture answers with.
    pub error: Option<ForcedError>,
    /// The synthetic applicant.
    pub person: u64,
    /// A misbehaviour.
    pub fault: Option<Fault>,
    /// A latent print left on the platen, visible in the preview between captures.
    pub residue: bool,
}

impl Default for SimState {
    fn default() -> Self {
        Self {
            status: "Ready".into(),
            quality: 80,
            delay_ms: BTreeMap::new(),
            error: None,
            person: 1,
            fault: None,
            residue: false,
        }
    }
}

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The port; `None` takes the first free one in 4501–4600.
    pub port: Option<u16>,
    /// The signature algorithm.
    pub algorithm: Algorithm,
    /// Specification versions it speaks ("0.9.5", "1.0").
    pub spec_versions: Vec<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            port: None,
            algorithm: Algorithm::EdDsa,
            spec_versions: vec!["0.9.5".into()],
        }
    }
}

struct Shared {
    state: Mutex<SimState>,
    capturing: AtomicBool,
    provider: keys::Provider,
    spec_versions: Vec<String>,
    port: u16,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running simulator; stops when dropped.
pub struct SbiSim {
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SbiSim {
    /// Generates keys, binds the port and starts answering.
    ///
    /// # Errors
    /// When no port is free or key generation fails.
    pub fn start(options: SimOptions) -> Result<Self> {
        let listener = match options.port {
            Some(port) => TcpListener::bind(("127.0.0.1", port))
                .with_context(|| format!("port {port} is taken"))?,
            None => hardware::sbi::PORTS
                .clone()
                .find_map(|port| TcpListener::bind(("127.0.0.1", port)).ok())
                .context("every port in 4501–4600 is taken")?,
        };
        let port = listener.local_addr()?.port();
        let provider = keys::Provider::generate(options.algorithm)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(SimState::default()),
            capturing: AtomicBool::new(false),
            provider,
            spec_versions: options.spec_versions,
            port,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("sbi-sim".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = stream else { continue };
                        let shared = Arc::clone(&shared);
                        std::thread::spawn(move || handle(&shared, stream));
                    }
                })?
        };
        Ok(Self {
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// The device provider CA that issued its device certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.shared.provider.ca_pem
    }

    /// Blocks until the process is stopped.
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SbiSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], self.shared.port)),
            Duration::from_millis(200),
        );
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn handle(shared: &Shared, stream: TcpStream) {
    let Ok(request) = http::read_request(&stream) else {
        return;
    };
    if request.path.starts_with("/admin") {
        return admin(shared, &stream, &request);
    }
    let delay = shared
        .state()
        .delay_ms
        .get(&request.method)
        .copied()
        .unwrap_or(0);
    // Each version names discovery and information its own way.
    let version = match request.method.as_str() {
        "MOSIPDISC" | "MOSIPDINFO" => "0.9.5",
        "SBIDISC" | "SBIDINFO" => "1.0",
        _ => "",
    };
    let speaks = shared.spec_versions.iter().any(|v| v == version);
    match (request.method.as_str(), request.path.as_str()) {
        ("MOSIPDISC" | "SBIDISC", "/device") if speaks => {
            sleep_ms(delay);
            discover(shared, &stream);
        }
        ("MOSIPDINFO" | "SBIDINFO", "/info") if speaks => {
            sleep_ms(delay);
            info(shared, &stream);
        }
        ("RCAPTURE", "/capture") => capture(shared, stream, &request.body, delay),
        ("STREAM", "/stream") => preview(shared, &stream, &request.body),
        _ => http::respond(
            &stream,
            405,
            "text/html",
            b"<html><body>405 Method Not Allowed</body></html>",
        ),
    }
}

fn sleep_ms(ms: u64) {
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Fails unless `versions` lists only versions the simulator speaks.
///
/// # Errors
/// For an unknown version.
pub fn check_versions(versions: &[String]) -> Result<()> {
    for version in versions {
        if version != "0.9.5" && version != "1.0" {
            bail!("unknown SBI version {version:?} (the simulator speaks 0.9.5 and 1.0)");
        }
    }
    Ok(())
}
