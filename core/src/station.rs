//! A provisioned station, opened from its data directory.
//!
//! ```text
//! <data dir>/station.json        who the station is and which server it talks to (no secrets),
//!                                with a seal: AES-256-GCM under the data key of the rest of
//!                                the file, checked at every unlock (see [`write_config`])
//! <data dir>/keys/vault.json     the data key and the Ed25519 signing seed, sealed under the
//!                                station passphrase (see [`crate::vault`]; mode 0600)
//! <data dir>/station.db          SQLite: officers, enrollments (applicant fields encrypted),
//!                                encrypted drafts, outbox of sealed packets, audit log
//! ```
//!
//! `station.json` is written last during provisioning, so its presence means the station is
//! completely provisioned.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use protocol::form::{FormLibrary, FormSet};
use protocol::keys::{KeyError, ServerPublicKey, StationPublicKey, StationSigningKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroize;

use crate::store::{Store, StoreError};
use crate::vault::{self, DataKey, Passphrase, Unlocked, VaultError};

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

    /// The key vault.
    pub fn vault(&self) -> PathBuf {
        self.root.join("keys").join("vault.json")
    }

    /// Where builds before the vault kept the signing seed in clear. [`Station::open`] moves
    /// it into the vault and erases the file.
    pub fn legacy_signing_key(&self) -> PathBuf {
        self.root.join("keys").join("station-signing.key")
    }

    /// The database.
    pub fn database(&self) -> PathBuf {
        self.root.join("station.db")
    }

    /// Form definitions that replace the built-in ones (a regulation change), when present.
    pub fn forms(&self) -> PathBuf {
        self.root.join("forms.json")
    }
}

/// The built-in forms, then `forms.json` in the data directory when there is one: new
/// enrollments use the newest; drafts begun on the built-in version still check.
///
/// # Errors
/// [`OpenError::Forms`] when the file cannot be read or is not a consistent definition.
pub fn load_forms(paths: &StationPaths) -> Result<FormLibrary, OpenError> {
    let file = paths.forms();
    let forms_error = |reason: String| OpenError::Forms {
        path: file.clone(),
        reason,
    };
    let mut sets = vec![FormSet::builtin().map_err(|e| forms_error(e.to_string()))?];
    if file.exists() {
        let text = read(&file)?;
        let text = String::from_utf8(text).map_err(|e| forms_error(e.to_string()))?;
        let set = FormSet::parse(&text).map_err(|e| forms_error(e.to_string()))?;
        sets.retain(|known| known.version != set.version);
        sets.push(set);
    }
    Ok(FormLibrary::new(sets))
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
    /// The key the server signs its receipts with.
    pub server_receipt_key: StationPublicKey,
    /// SHA-256 of the TLS certificate the server presented at provisioning and named in its
    /// signed answer: the only certificate accepted from then on ([`crate::link`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_certificate_sha256: Option<String>,
    /// Days a packet's sealed bytes are kept after the server's verdict (see
    /// [`crate::retention`]).
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// Whether the account rows carry seals ([`Store::sealed_by`]); rows from a build before
    /// seals are sealed once, at the first unlock, and from then on a row without one is
    /// refused.
    #[serde(default)]
    pub officers_sealed: bool,
    /// The rest of the file sealed under the data key, so that an edit (another server key, a
    /// rewritten address) is detected at unlock. Set by [`write_config`]; `None` in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

/// The AEAD context of the configuration seal.
const CONFIG_SEAL_CONTEXT: &str = "enrollment-station/station.json-v1";

/// Writes `config` to `station.json` with its seal under `data_key` (atomically, mode 0600).
///
/// # Errors
/// When randomness or the file fails.
pub fn write_config(
    paths: &StationPaths,
    config: &StationConfig,
    data_key: &DataKey,
) -> std::io::Result<()> {
    use base64::Engine;
    let plain = StationConfig {
        seal: None,
        ..config.clone()
    };
    let json = serde_json::to_vec(&plain).map_err(std::io::Error::other)?;
    let sealed = data_key
        .seal(CONFIG_SEAL_CONTEXT, &json)
        .map_err(std::io::Error::other)?;
    let on_disk = StationConfig {
        seal: Some(base64::engine::general_purpose::STANDARD.encode(sealed)),
        ..plain
    };
    let json = serde_json::to_vec_pretty(&on_disk).map_err(std::io::Error::other)?;
    write_private(&paths.config(), &json)
}

/// `config` as read from disk, once its seal proves this station's data key wrote it.
fn check_seal(
    paths: &StationPaths,
    config: StationConfig,
    data_key: &DataKey,
) -> Result<StationConfig, OpenError> {
    use base64::Engine;
    let tampered = |reason: &str| OpenError::ConfigTampered {
        path: paths.config(),
        reason: reason.to_owned(),
    };
    let seal = config
        .seal
        .as_deref()
        .ok_or_else(|| tampered("it has no seal (written by hand, or by a build before seals)"))?;
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(seal)
        .map_err(|_| tampered("its seal is not base64"))?;
    let opened = data_key
        .open(CONFIG_SEAL_CONTEXT, &sealed)
        .map_err(|_| tampered("its seal was not made with this station's key"))?;
    let trusted: StationConfig =
        serde_json::from_slice(&opened).map_err(|_| tampered("its seal holds no configuration"))?;
    let read = StationConfig {
        seal: None,
        ..config
    };
    if trusted != read {
        return Err(tampered("its content differs from what the station sealed"));
    }
    Ok(read)
}

fn default_retention_days() -> u32 {
    crate::retention::DEFAULT_RETENTION_DAYS
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
    /// `station.json` was changed by something other than this station.
    #[error("{path} was changed outside the station ({reason}): the station refuses to trust it. Restore it from a backup, or provision the station again")]
    ConfigTampered {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
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
    /// The vault did not open (a wrong passphrase, most often).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Stored enrollments could not be brought up to date.
    #[error("cannot encrypt enrollments stored by an older build: {0}")]
    Legacy(String),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `forms.json` is not a valid form definition.
    #[error("{path} is not a valid form definition: {reason}")]
    Forms {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// What an administrator or technician may change after provisioning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Base URL of the central server (it may move; its keys may not).
    pub server_url: String,
    /// Days a judged packet's sealed bytes are kept (see [`crate::retention`]).
    pub retention_days: u32,
}

/// The retention periods accepted: a day to ten years.
pub const RETENTION_DAYS: std::ops::RangeInclusive<u32> = 1..=3650;

/// Why settings were not changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The server URL is not an http(s) URL with a host.
    #[error("{0:?} is not a valid server URL (expected e.g. https://enroll.example.go.id or http://127.0.0.1:8750)")]
    InvalidServerUrl(String),
    /// The retention period is out of range.
    #[error("the retention period must be between 1 and 3650 days, not {0}")]
    InvalidRetention(u32),
    /// The address is plain HTTP to another machine without the opt-in.
    #[error(transparent)]
    Link(#[from] crate::link::LinkError),
    /// `station.json` could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// `text` as a server base URL without a trailing slash, when it is an http(s) URL with a
/// host.
pub fn normalize_server_url(text: &str) -> Option<String> {
    let trimmed = text.trim().trim_end_matches('/');
    match reqwest::Url::parse(trimmed) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Some(trimmed.to_owned())
        }
        _ => None,
    }
}

/// An open, provisioned station.
#[derive(Debug, Clone)]
pub struct Station {
    config: StationConfig,
    signing_key: Arc<StationSigningKey>,
    data_key: Arc<DataKey>,
    store: Store,
    paths: StationPaths,
    forms: Arc<FormLibrary>,
}

impl Station {
    /// Opens the station in `paths`, unlocking its vault with `passphrase`.
    ///
    /// A station provisioned before the vault existed has its clear-text signing seed moved
    /// into a new vault sealed under `passphrase`, and the old file overwritten and removed.
    ///
    /// # Errors
    /// See [`OpenError`]; a wrong passphrase is [`VaultError::WrongPassphrase`].
    pub fn open(paths: StationPaths, passphrase: &Passphrase) -> Result<Self, OpenError> {
        let legacy = paths.legacy_signing_key();
        if !paths.vault().exists() && legacy.exists() {
            let config = read_config(&paths)?;
            let seed = zeroize::Zeroizing::new(read(&legacy)?);
            let keys = vault::create(
                &paths.vault(),
                passphrase,
                StationSigningKey::from_seed(&seed)?,
            )?;
            erase(&legacy)?;
            write_config(&paths, &config, &keys.data_key).map_err(|source| OpenError::Io {
                path: paths.config(),
                source,
            })?;
            return Self::with_keys(paths, config, keys);
        }
        Self::open_with(paths, |vault_path| vault::unlock(vault_path, passphrase))
    }

    /// Opens the station in `paths` whose vault key is in the OS keyring.
    ///
    /// # Errors
    /// See [`OpenError`]; a missing or locked keyring is [`VaultError::Keyring`].
    pub fn open_from_keyring(paths: StationPaths) -> Result<Self, OpenError> {
        Self::open_with(paths, vault::unlock_from_keyring)
    }

    fn open_with(
        paths: StationPaths,
        unlock: impl FnOnce(&Path) -> Result<Unlocked, VaultError>,
    ) -> Result<Self, OpenError> {
        let config = read_config(&paths)?;
        let keys = unlock(&paths.vault())?;
        let config = check_seal(&paths, config, &keys.data_key)?;
        Self::with_keys(paths, config, keys)
    }

    fn with_keys(
        paths: StationPaths,
        mut config: StationConfig,
        keys: Unlocked,
    ) -> Result<Self, OpenError> {
        let data_key = Arc::new(keys.data_key);
        let store = Store::open(&paths.database())?.sealed_by(Arc::clone(&data_key));
        if !config.officers_sealed {
            store.seal_unsealed_officers()?;
            config.officers_sealed = true;
            write_config(&paths, &config, &data_key).map_err(|source| OpenError::Io {
                path: paths.config(),
                source,
            })?;
        }
        let forms = Arc::new(load_forms(&paths)?);
        let station = Self {
            config,
            signing_key: Arc::new(keys.signing_key),
            data_key,
            store,
            paths,
            forms,
        };
        crate::enrollment::seal_legacy_rows(&station)
            .map_err(|e| OpenError::Legacy(e.to_string()))?;
        Ok(station)
    }

    /// What may be changed after provisioning, as it is now.
    pub fn settings(&self) -> Settings {
        Settings {
            server_url: self.config.server_url.clone(),
            retention_days: self.config.retention_days,
        }
    }

    /// Checks `settings`, writes them to `station.json` and returns the station with them;
    /// `self` keeps the old ones (the caller swaps the station it hands out).
    ///
    /// # Errors
    /// See [`SettingsError`]; nothing is written then.
    pub fn change_settings(&self, settings: &Settings) -> Result<Station, SettingsError> {
        let server_url = normalize_server_url(&settings.server_url)
            .ok_or_else(|| SettingsError::InvalidServerUrl(settings.server_url.clone()))?;
        crate::link::check_url(&server_url)?;
        if !RETENTION_DAYS.contains(&settings.retention_days) {
            return Err(SettingsError::InvalidRetention(settings.retention_days));
        }
        let config = StationConfig {
            server_url,
            retention_days: settings.retention_days,
            ..self.config.clone()
        };
        write_config(&self.paths, &config, &self.data_key).map_err(|source| SettingsError::Io {
            path: self.paths.config(),
            source,
        })?;
        Ok(Self {
            config,
            ..self.clone()
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

    /// The enrollment forms: the built-in ones and the data directory's `forms.json`.
    pub fn forms(&self) -> &FormLibrary {
        &self.forms
    }

    pub(crate) fn signing_key(&self) -> &StationSigningKey {
        &self.signing_key
    }

    /// The signing key, shared with the sync client that signs requests with it.
    pub(crate) fn signing_key_shared(&self) -> Arc<StationSigningKey> {
        Arc::clone(&self.signing_key)
    }

    pub(crate) fn data_key(&self) -> &DataKey {
        &self.data_key
    }

    /// The station's public signing key, as registered with the server.
    pub fn public_key(&self) -> protocol::keys::StationPublicKey {
        self.signing_key.public_key()
    }
}

/// Reads `station.json` (it holds no secret, so a locked station can show who it is).
///
/// # Errors
/// [`OpenError::NotProvisioned`] without the file, [`OpenError::BadConfig`] when it is invalid.
pub fn read_config(paths: &StationPaths) -> Result<StationConfig, OpenError> {
    let config_path = paths.config();
    if !config_path.exists() {
        return Err(OpenError::NotProvisioned(config_path));
    }
    let text = read(&config_path)?;
    serde_json::from_slice(&text).map_err(|e| {
        let mut reason = e.to_string();
        if reason.contains("server_receipt_key") {
            reason.push_str(
                " (this station was provisioned before the server signed its receipts: deliver or export its pending packets with the build that made them, then provision it again)",
            );
        }
        OpenError::BadConfig {
            path: config_path,
            reason,
        }
    })
}

fn read(path: &Path) -> Result<Vec<u8>, OpenError> {
    fs::read(path).map_err(|source| OpenError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Overwrites a file with zeros, flushes it and removes it.
fn erase(path: &Path) -> Result<(), OpenError> {
    let io = |source| OpenError::Io {
        path: path.to_owned(),
        source,
    };
    let mut bytes = fs::read(path).map_err(io)?;
    let length = bytes.len();
    bytes.zeroize();
    let mut file = fs::OpenOptions::new().write(true).open(path).map_err(io)?;
    file.write_all(&vec![0u8; length]).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::remove_file(path).map_err(io)
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

/// A station in `dir` with a fresh vault and configuration, as provisioning leaves it, but
/// without a server: for tests of the core that never upload.
#[cfg(test)]
pub(crate) fn test_station(dir: &Path) -> Station {
    use protocol::random::SystemRandom;
    let paths = StationPaths::new(dir);
    let passphrase = Passphrase::new("core test passphrase".into());
    let key = StationSigningKey::generate(&SystemRandom).expect("key");
    let keys = vault::create(&paths.vault(), &passphrase, key).expect("vault");
    write_test_config(&paths, &keys.data_key);
    Station::open(paths, &passphrase).expect("open")
}

/// As [`test_station`], with the database in memory: for tests of actions, which need a real
/// vault and configuration on disk (a settings change rewrites them) but no database file.
#[cfg(test)]
pub(crate) fn test_station_in_memory(dir: &Path) -> Station {
    let mut station = test_station(dir);
    station.store = Store::open_in_memory()
        .expect("store")
        .sealed_by(Arc::clone(&station.data_key));
    station
}

/// Writes a `station.json` for a station that never reaches a server.
#[cfg(test)]
fn write_test_config(paths: &StationPaths, data_key: &DataKey) {
    write_config(paths, &test_config(), data_key).expect("config");
}

/// A configuration for a station that never reaches a server.
#[cfg(test)]
fn test_config() -> StationConfig {
    use protocol::keys::ServerDecryptionKey;
    use protocol::random::SystemRandom;
    StationConfig {
        station_id: Uuid::new_v4(),
        station_name: "Test desk".into(),
        server_url: "http://127.0.0.1:9".into(),
        server_encryption_key: ServerDecryptionKey::generate(&SystemRandom)
            .expect("key")
            .public_key(),
        server_receipt_key: StationSigningKey::generate(&SystemRandom)
            .expect("key")
            .public_key(),
        retention_days: 30,
        server_certificate_sha256: None,
        officers_sealed: false,
        seal: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::keys::ServerDecryptionKey;
    use protocol::random::SystemRandom;

    #[test]
    fn changed_settings_are_checked_written_and_kept_after_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let station = test_station(dir.path());
        let identity = station.config().station_id;
        let moved = Settings {
            server_url: " https://enroll.example.go.id/ ".into(),
            retention_days: 45,
        };
        let changed = station.change_settings(&moved).expect("valid settings");
        assert_eq!(
            changed.settings().server_url,
            "https://enroll.example.go.id"
        );
        assert_eq!(changed.config().station_id, identity, "the identity stays");
        for bad in [
            Settings {
                server_url: "enroll.example.go.id".into(),
                retention_days: 45,
            },
            Settings {
                server_url: "https://enroll.example.go.id".into(),
                retention_days: 0,
            },
        ] {
            assert!(changed.change_settings(&bad).is_err(), "{bad:?} refused");
        }
        drop((station, changed));
        let passphrase = Passphrase::new("core test passphrase".into());
        let reopened = Station::open(StationPaths::new(dir.path()), &passphrase).expect("open");
        assert_eq!(
            reopened.settings(),
            Settings {
                server_url: "https://enroll.example.go.id".into(),
                retention_days: 45,
            },
            "the refused changes wrote nothing"
        );
    }

    #[test]
    fn a_clear_text_signing_key_from_an_older_build_moves_into_the_vault_and_is_erased() {
        let dir = tempfile::tempdir().expect("dir");
        let paths = StationPaths::new(dir.path());
        let key = StationSigningKey::generate(&SystemRandom).expect("key");
        let public = key.public_key();
        write_private(&paths.legacy_signing_key(), key.expose_seed()).expect("legacy key");
        let config = serde_json::to_vec(&test_config()).expect("json");
        write_private(&paths.config(), &config).expect("a config from before seals");
        let passphrase = Passphrase::new("an upgraded station".into());
        let station = Station::open(paths.clone(), &passphrase).expect("open");
        assert_eq!(station.public_key(), public, "the same station identity");
        assert!(
            !paths.legacy_signing_key().exists(),
            "no clear-text key left"
        );
        drop(station);
        let reopened = Station::open(paths, &passphrase).expect("reopen from the vault");
        assert_eq!(reopened.public_key(), public);
    }

    #[test]
    fn a_forms_file_in_the_data_directory_updates_the_forms_without_a_new_build() {
        let dir = tempfile::tempdir().expect("dir");
        let station = test_station(dir.path());
        let builtin = station.forms().current().expect("forms").version.clone();
        drop(station);
        let mut newer = FormSet::builtin().expect("builtin");
        newer.version = "2027.01".into();
        newer.forms.truncate(1);
        let paths = StationPaths::new(dir.path());
        fs::write(paths.forms(), serde_json::to_vec(&newer).expect("json")).expect("write");
        let passphrase = Passphrase::new("core test passphrase".into());
        let station = Station::open(paths.clone(), &passphrase).expect("open");
        let current = station.forms().current().expect("forms");
        assert_eq!(current.version, "2027.01");
        assert_eq!(current.forms.len(), 1);
        assert!(
            station.forms().find("wna-visa", &builtin).is_some(),
            "drafts begun on the built-in forms still check"
        );
        drop(station);

        fs::write(paths.forms(), b"{\"version\": \"2027.02\", \"forms\": []}").expect("write");
        let error = Station::open(paths, &passphrase).expect_err("no forms");
        assert!(
            error
                .to_string()
                .contains("forms.json is not a valid form definition")
                && error.to_string().contains("there are no forms"),
            "{error}"
        );
    }

    #[test]
    fn an_edited_station_json_is_refused_at_unlock_naming_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        drop(test_station(dir.path()));
        let paths = StationPaths::new(dir.path());
        let passphrase = Passphrase::new("core test passphrase".into());
        let original = fs::read(paths.config()).expect("config");
        let mut edits: Vec<(&str, serde_json::Value)> = Vec::new();
        let mut config: serde_json::Value = serde_json::from_slice(&original).expect("json");
        let foreign = ServerDecryptionKey::generate(&SystemRandom)
            .expect("key")
            .public_key();
        config["server_encryption_key"] = serde_json::to_value(foreign).expect("key");
        edits.push(("another server key", config.clone()));
        let mut config: serde_json::Value = serde_json::from_slice(&original).expect("json");
        config["server_url"] = "http://127.0.0.2:8750".into();
        edits.push(("another address", config.clone()));
        let mut config: serde_json::Value = serde_json::from_slice(&original).expect("json");
        config.as_object_mut().expect("object").remove("seal");
        edits.push(("the seal removed", config));
        for (what, edited) in edits {
            fs::write(paths.config(), serde_json::to_vec(&edited).expect("json")).expect("write");
            let error = Station::open(paths.clone(), &passphrase).expect_err(what);
            assert!(
                matches!(error, OpenError::ConfigTampered { .. })
                    && error
                        .to_string()
                        .contains("station.json was changed outside the station"),
                "{what}: {error}"
            );
        }
        fs::write(paths.config(), &original).expect("restore");
        Station::open(paths, &passphrase).expect("the untouched file opens");
    }
}
