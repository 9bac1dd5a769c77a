//! Setting a station up: register it with the central server using a one-time code, seal its
//! new keys, and create its first administrator.

use std::sync::Arc;

use protocol::api::ProvisioningToken;

use super::station::Lifecycle;
use super::ActionError;
use crate::clock::Clock;
use crate::officers::{self, Password};
use crate::provision::{self, NewVault};
use crate::station::Station;
use crate::vault::Passphrase;

/// What the technician gives to set the station up. Secrets are wrapped (redacted, zeroized).
pub struct StationSetUp {
    /// The central server's address.
    pub server_url: String,
    /// The one-time code the server's administrator issued for this station.
    pub token: String,
    /// A name for the station, e.g. "Jakarta Selatan desk 3".
    pub station_name: String,
    /// The station passphrase; `None` keeps the station's key in the OS keyring instead.
    pub passphrase: Option<Passphrase>,
    /// The first account, an administrator, who adds the others.
    pub admin_username: String,
    /// The administrator's name as the app shows it.
    pub admin_name: String,
    /// The administrator's password.
    pub admin_password: Password,
}

/// Registers the station with the central server, seals its new keys, opens it and creates its
/// first administrator; `lifecycle` hands it out from then on. Everything checkable is checked
/// before the one-time code is spent: on any error before registration nothing is written and
/// setup can be tried again. Audited (by `station-setup`) as `station.provisioned` and
/// `officer.added`.
///
/// # Errors
/// [`ActionError::AlreadySetUp`]; the first account's username or password, a missing name,
/// [`ActionError::MissingStationName`], [`ActionError::TokenMalformed`], then the server's
/// refusal or absence as [`ActionError::Provision`]; a first account that cannot be written
/// after registration as [`ActionError::FirstAccount`].
pub async fn set_up(
    lifecycle: &Lifecycle,
    setup: StationSetUp,
    clock: Arc<dyn Clock>,
) -> Result<Station, ActionError> {
    if !lifecycle.needs_setup() {
        return Err(ActionError::AlreadySetUp);
    }
    let username = setup.admin_username.trim().to_owned();
    let admin_name = setup.admin_name.trim().to_owned();
    officers::check_new_account(&username, &setup.admin_password)?;
    if admin_name.is_empty() {
        return Err(ActionError::MissingName);
    }
    if setup.station_name.trim().is_empty() {
        return Err(ActionError::MissingStationName);
    }
    let token = ProvisioningToken::parse(&setup.token)
        .map_err(|error| ActionError::TokenMalformed(error.to_string()))?;
    let protect = match &setup.passphrase {
        Some(passphrase) => NewVault::Passphrase(passphrase),
        None => NewVault::Keyring,
    };
    let paths = lifecycle.paths().clone();
    let config = provision::provision(
        &paths,
        &setup.server_url,
        token,
        &setup.station_name,
        protect,
    )
    .await?;
    // Opening the new vault is slow on purpose (Argon2id): off the async runtime's threads.
    let (passphrase, password) = (setup.passphrase, setup.admin_password);
    let opened = tokio::task::spawn_blocking(move || {
        let station = match &passphrase {
            Some(passphrase) => Station::open(paths, passphrase),
            None => Station::open_from_keyring(paths),
        }?;
        let admin = (username.as_str(), admin_name.as_str(), &password);
        provision::finish(&station, &config, admin, clock.as_ref())
            .map_err(|error| ActionError::FirstAccount(error.to_string()))?;
        Ok::<_, ActionError>(station)
    })
    .await
    .map_err(|error| ActionError::FirstAccount(format!("the task failed: {error}")))??;
    lifecycle.put(opened.clone());
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::ErrorCode;
    use crate::clock::SystemClock;
    use crate::station::StationPaths;

    fn setup(username: &str, name: &str, station: &str, token: &str) -> StationSetUp {
        StationSetUp {
            server_url: "http://127.0.0.1:9".into(),
            token: token.into(),
            station_name: station.into(),
            passphrase: Some(Passphrase::new("a long station passphrase".into())),
            admin_username: username.into(),
            admin_name: name.into(),
            admin_password: Password::new("an administrator password".into()),
        }
    }

    #[tokio::test]
    async fn a_bad_first_account_or_code_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().expect("dir");
        let lifecycle = Lifecycle::find(StationPaths::new(dir.path()), &SystemClock);
        for (bad, code) in [
            (setup("A", "Ana", "Desk 1", "x"), ErrorCode::InvalidUsername),
            (setup("ana", " ", "Desk 1", "x"), ErrorCode::MissingName),
            (setup("ana", "Ana", " ", "x"), ErrorCode::MissingStationName),
            (
                setup("ana", "Ana", "Desk 1", "not a code"),
                ErrorCode::TokenMalformed,
            ),
        ] {
            let refused = set_up(&lifecycle, bad, Arc::new(SystemClock))
                .await
                .expect_err("refused");
            assert_eq!(refused.code(), code, "{refused}");
        }
        assert!(lifecycle.needs_setup());
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("dir").count(),
            0,
            "nothing written"
        );
    }

    #[tokio::test]
    async fn a_station_already_set_up_is_not_set_up_again() {
        let dir = tempfile::tempdir().expect("dir");
        let existing = crate::actions::testing::station(dir.path());
        let lifecycle = Lifecycle::find(existing.paths().clone(), &SystemClock);
        let again = set_up(
            &lifecycle,
            setup("ana", "Ana", "Desk 1", "x"),
            Arc::new(SystemClock),
        )
        .await
        .expect_err("refused");
        assert_eq!(again.code(), ErrorCode::AlreadySetUp);
    }
}
