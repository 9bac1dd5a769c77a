//! A provisioned station, opened from its data directory.
//!
//! ```text
//! <data dir>/station.json               who the station is and which server it talks to
//! <data dir>/keys/station-signing.key   the Ed25519 seed (mode 0600)
//! <data dir>/station.db                 SQLite: officers, enrollments, outbox
//! ```
//!
//! `station.json` is written last during provisioning, so its presence means the station is
//! completely provisioned.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use protocol::keys::{KeyError, ServerPublicKey, StationSigningKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{Store, StoreError};

/// The data directory used when none is given: `$XDG_DATA_HOME/enrollment-station`, else
/// `~/.local/share/enrollment-station`, else `./enrollment-station-data`.
pub fn default_data_dir() -> PathBuf {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    from_env("XDG_DATA_HOME")
        .or_else(|| from_env("HOME").map(|home| home.join(".local").join("share")))
        .map(|base| base.join("enrollment-station"))
        .unwrap_or_else(|| PathBuf::from("enrollment-station-data"))
}

/// Where a station keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationPaths {
    root: PathBuf,
}

impl StationPaths {
    /// Paths below `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The station's identity and server settings.
    pub fn config(&self) -> PathBuf {
        self.root.join("station.json")
    }

    /// The station's signing key.
    pub fn signing_key(&self) -> PathBuf {
        self.root.join("keys").join("station-signing.key")
    }

    /// The database.
    pub fn database(&self) -> PathBuf {
        self.root.join("station.db")
    }
}

/// Who the station is and which server it sends to; written once at provisioning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationConfig {
    /// The id the server assigned.
    pub station_id: Uuid,
    /// The name given at provisioning.
    pub station_name: String,
    /// Base URL of the central server, e.g. `http://127.0.0.1:8750`.
    pub server_url: String,
    /// The server key packets are sealed for.
    pub server_encryption_key: ServerPublicKey,
}

/// Why a station could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// No `station.json`: the station was never provisioned.
    #[error("this station is not provisioned yet (no {0}); run `station provision`")]
    NotProvisioned(PathBuf),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `station.json` is not valid.
    #[error("{path} is not a valid station configuration: {reason}")]
    BadConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key file is not a valid key.
    #[error("the station signing key is unusable: {0}")]
    Key(#[from] KeyError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An open, provisioned station.
#[derive(Debug, Clone)]
pub struct Station {
    config: StationConfig,
    signing_key: Arc<StationSigningKey>,
    store: Store,
    paths: StationPaths,
}

impl Station {
    /// Opens the station in `paths`.
    ///
    /// # Errors
    /// See [`OpenError`].
    pub fn open(paths: StationPaths) -> Result<Self, OpenError> {
        let config_path = paths.config();
        if !config_path.exists() {
            return Err(OpenError::NotProvisioned(config_path));
        }
        let text = read(&config_path)?;
        let config: StationConfig =
            serde_json::from_slice(&text).map_err(|e| OpenError::BadConfig {
                path: config_path.clone(),
                reason: e.to_string(),
            })?;
        let seed = zeroize::Zeroizing::new(read(&paths.signing_key())?);
        let signing_key = Arc::new(StationSigningKey::from_seed(&seed)?);
        let store = Store::open(&paths.database())?;
        Ok(Self {
            config,
            signing_key,
            store,
            paths,
        })
    }

    /// Identity and server settings.
    pub fn config(&self) -> &StationConfig {
        &self.config
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The files.
    pub fn paths(&self) -> &StationPaths {
        &self.paths
    }

    pub(crate) fn signing_key(&self) -> &StationSigningKey {
        &self.signing_key
    }
}

fn read(path: &Path) -> Result<Vec<u8>, OpenError> {
    fs::read(path).map_err(|source| OpenError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename), readable only by the
/// owner on Unix.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)
}
