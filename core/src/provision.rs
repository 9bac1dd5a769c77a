//! Registering a new station with the central server.
//!
//! The administrator issues a one-time provisioning code on the server; the station generates
//! its signing key, sends the public half with a proof of the code (never the code itself), and
//! receives its station id and the server's keys, signed by the server the code names (see
//! [`protocol::registration`]). Nothing is hard-coded in the source: every key comes from this
//! exchange, and nothing on the link can substitute its own.

use std::sync::{Arc, Mutex, PoisonError};

use protocol::api::{
    ApiError, ProvisioningToken, RegisterStationRequest, RegisterStationResponse,
    RegistrationError, STATIONS_PATH,
};
use protocol::keys::{KeyError, StationSigningKey};
use protocol::random::SystemRandom;

use crate::station::{write_config, StationConfig, StationPaths};
use crate::vault::{self, Passphrase, VaultError};

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The station already has an identity.
    #[error("this station is already provisioned ({0} exists)")]
    AlreadyProvisioned(std::path::PathBuf),
    /// The server URL is not an http(s) URL.
    #[error("{0:?} is not a valid server URL (expected e.g. http://127.0.0.1:8750)")]
    InvalidServerUrl(String),
    /// The server could not be reached.
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable {
        /// The server URL.
        url: String,
        /// What the network layer said.
        reason: String,
    },
    /// The server refused the registration.
    #[error("the server refused the registration: {message} ({code})")]
    Refused {
        /// The server's error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server answered something that is not a registration.
    #[error("the server's answer is not a valid registration: {0}")]
    BadAnswer(String),
    /// The server's address may not be used (plain HTTP to another machine).
    #[error(transparent)]
    Link(#[from] crate::link::LinkError),
    /// The TLS certificate presented is not the one the server's signed answer names.
    #[error("provisioning refused: the connection presented TLS certificate {presented}, but the server's signed answer names {named}: something between the station and the server answered in its place. Nothing was saved")]
    TlsCertificate {
        /// What the connection presented.
        presented: String,
        /// What the signed answer names.
        named: String,
    },
    /// The answer does not come from the server the provisioning code names.
    #[error("provisioning refused: {0}. Nothing was saved; check the server address and the code, and report this to the server's administrator")]
    NotTheServer(#[from] RegistrationError),
    /// A file could not be written.
    #[error("cannot write the station files: {0}")]
    Io(#[from] std::io::Error),
    /// No key could be generated.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The key vault could not be created (a passphrase too short, most often).
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// How a new station's key vault is protected.
#[derive(Debug)]
pub enum NewVault<'a> {
    /// Under a key derived from this passphrase, typed at every start.
    Passphrase(&'a Passphrase),
    /// Under a random key kept in the OS keyring of the user running the station.
    Keyring,
}

/// Registers this station with the server at `server_url` using the one-time `token`, and
/// seals its new keys in a vault protected as `protect` says.
///
/// # Errors
/// See [`ProvisionError`]. On any error no configuration is written, so provisioning can be
/// run again.
pub async fn provision(
    paths: &StationPaths,
    server_url: &str,
    token: ProvisioningToken,
    station_name: &str,
    protect: NewVault<'_>,
) -> Result<StationConfig, ProvisionError> {
    if paths.config().exists() {
        return Err(ProvisionError::AlreadyProvisioned(paths.config()));
    }
    match protect {
        NewVault::Passphrase(passphrase) => vault::check_new_passphrase(passphrase)?,
        NewVault::Keyring if !crate::keyring::available() => {
            return Err(ProvisionError::Vault(VaultError::Keyring(
                crate::keyring::KeyringError::Unavailable(
                    "no Secret Service answered; protect the station with a passphrase instead"
                        .into(),
                ),
            )))
        }
        NewVault::Keyring => {}
    }
    let base = normalize_server_url(server_url)?;
    let signing_key = StationSigningKey::generate(&SystemRandom)?;
    let station_name = station_name.trim().to_owned();
    let request = RegisterStationRequest {
        token_proof: token.proof(&station_name, &signing_key.public_key()),
        station_name,
        signing_public_key: signing_key.public_key(),
    };
    let presented = Arc::new(Mutex::new(None));
    let client = crate::link::provisioning_client(&base, Arc::clone(&presented))?;
    let response = client
        .post(format!("{base}{STATIONS_PATH}"))
        .json(&request)
        .send()
        .await
        .map_err(|e| ProvisionError::Unreachable {
            url: base.clone(),
            reason: e.to_string(),
        })?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| ProvisionError::Unreachable {
            url: base.clone(),
            reason: e.to_string(),
        })?;
    if !status.is_success() {
        let error: ApiError = serde_json::from_slice(&body).map_err(|_| {
            ProvisionError::BadAnswer(format!("HTTP {status} without a JSON error body"))
        })?;
        return Err(ProvisionError::Refused {
            code: error.code,
            message: error.message,
        });
    }
    let answer: RegisterStationResponse =
        serde_json::from_slice(&body).map_err(|e| ProvisionError::BadAnswer(e.to_string()))?;
    let answer = token.check_answer(answer, &request.signing_public_key)?;
    let presented = presented
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    // Pinned: the certificate the connection showed, when the signed answer names the same.
    let pin = match (presented, answer.tls_certificate_sha256.clone()) {
        (Some(presented), Some(named)) if presented != named => {
            return Err(ProvisionError::TlsCertificate { presented, named })
        }
        (Some(presented), Some(_)) => Some(presented),
        _ => None,
    };
    let config = StationConfig {
        station_id: answer.station_id,
        station_name: request.station_name,
        server_url: base,
        server_encryption_key: answer.server_encryption_key,
        server_receipt_key: answer.server_receipt_key,
        retention_days: crate::retention::DEFAULT_RETENTION_DAYS,
        server_certificate_sha256: pin,
        officers_sealed: true,
        seal: None,
    };
    let keys = match protect {
        NewVault::Passphrase(passphrase) => vault::create(&paths.vault(), passphrase, signing_key)?,
        NewVault::Keyring => vault::create_in_keyring(&paths.vault(), signing_key)?,
    };
    write_config(paths, &config, &keys.data_key)?;
    Ok(config)
}

/// Finishes setting up a station just provisioned as `config` and opened: records the
/// provisioning and creates its first administrator, `username` named `name` — the only account
/// made without an administrator (there is none yet), and only while the station has none.
///
/// # Errors
/// [`crate::officers::AccountError::NotPermitted`] when the station has an administrator already; see
/// [`crate::officers::add_officer`].
pub fn finish(
    station: &crate::station::Station,
    config: &StationConfig,
    (username, name, password): (&str, &str, &crate::officers::Password),
    clock: &dyn crate::clock::Clock,
) -> Result<(), crate::officers::AccountError> {
    use crate::audit::{record, AuditEvent};
    use crate::officers::{add_officer, AccountError, Role};
    let administrators = station
        .store()
        .officers()?
        .iter()
        .filter(|(row, _)| row.role == Role::Administrator.as_str())
        .count();
    if administrators > 0 {
        return Err(AccountError::NotPermitted("station-setup"));
    }
    let detail = format!(
        "registered with {} as {:?} (station {})",
        config.server_url, config.station_name, config.station_id
    );
    let setup = |action: &str, subject: &str, detail: &str| {
        let event = AuditEvent {
            actor: "station-setup",
            action,
            subject,
            detail,
        };
        record(station, &event, clock)
    };
    setup("station.provisioned", "", &detail)?;
    add_officer(
        station.store(),
        username,
        name.trim(),
        Role::Administrator,
        password,
        clock,
    )?;
    setup(
        "officer.added",
        username,
        "account added with role administrator",
    )?;
    Ok(())
}

fn normalize_server_url(text: &str) -> Result<String, ProvisionError> {
    crate::station::normalize_server_url(text)
        .ok_or_else(|| ProvisionError::InvalidServerUrl(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked_and_trailing_slashes_dropped() {
        assert_eq!(
            normalize_server_url("http://127.0.0.1:8750/").expect("ok"),
            "http://127.0.0.1:8750"
        );
        assert!(normalize_server_url("ftp://x").is_err());
        assert!(normalize_server_url("127.0.0.1:8750").is_err());
    }

    fn test_receipt_key() -> protocol::keys::StationPublicKey {
        StationSigningKey::from_seed(&[3; 32])
            .expect("key")
            .public_key()
    }

    #[tokio::test]
    async fn an_unreachable_server_leaves_the_station_unprovisioned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = StationPaths::new(dir.path());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        drop(listener);
        let passphrase = Passphrase::new("a long station passphrase".into());
        let result = provision(
            &paths,
            &url,
            ProvisioningToken::issue(&"ab".repeat(24), &test_receipt_key()),
            "Desk 1",
            NewVault::Passphrase(&passphrase),
        )
        .await;
        assert!(
            matches!(result, Err(ProvisionError::Unreachable { .. })),
            "{result:?}"
        );
        assert!(
            !paths.config().exists(),
            "a failed provisioning must leave nothing half-done"
        );
    }
}
