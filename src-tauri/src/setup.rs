//! The technician's and administrator's commands: setting the station up (provisioning), its
//! settings, its passphrase and its accounts. Each checks the session's permission, calls the
//! core and records the change in the audit log.

use protocol::api::ProvisioningToken;
use serde::Deserialize;
use station_core::clock::SystemClock;
use station_core::officers::{self, Password, Permission, Role};
use station_core::provision::{provision, NewVault, ProvisionError};
use station_core::station::{Settings, SettingsError, Station};
use station_core::vault::{self, Passphrase, Protection, VaultError};
use tauri::State;

use crate::commands::{off_main_thread, record, record_about, station_status};
use crate::error::CommandError;
use crate::state::{start_retention, Devices, Session, StationSlot};
use crate::view::{AccountView, SettingsView, StationStatusView};

/// What the technician types on the setup screen. Secrets are wrapped (redacted, zeroized) as
/// soon as they arrive; the type has no `Debug`.
#[derive(Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct StationSetup {
    /// The central server's address.
    pub server_url: String,
    /// The one-time token the server's administrator issued for this station.
    pub token: String,
    /// A name for the station, e.g. "Jakarta Selatan desk 3".
    pub station_name: String,
    /// The station passphrase; `None` keeps the station's key in the OS keyring instead.
    pub passphrase: Option<String>,
    /// The first account, an administrator, who adds the others.
    pub admin_username: String,
    pub admin_name: String,
    pub admin_password: String,
}

/// A new account, as the administrator types it.
#[derive(Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    /// `officer`, `supervisor`, `technician` or `administrator`.
    pub role: String,
    pub password: String,
}

fn account_error(error: officers::AccountError) -> CommandError {
    match error {
        officers::AccountError::InvalidUsername => {
            CommandError::new("invalid_username", error.to_string())
        }
        officers::AccountError::WeakPassword => {
            CommandError::new("weak_password", error.to_string())
        }
        officers::AccountError::Exists(_) => CommandError::new("account_exists", error.to_string()),
        officers::AccountError::Unknown(_) => {
            CommandError::new("no_such_account", error.to_string())
        }
        officers::AccountError::LastAdministrator(_) => {
            CommandError::new("last_administrator", error.to_string())
        }
        officers::AccountError::Yourself => {
            CommandError::new("cannot_remove_yourself", error.to_string())
        }
        other => CommandError::new("account_not_added", other.to_string()),
    }
}

fn provision_error(error: ProvisionError) -> CommandError {
    let code = match &error {
        ProvisionError::InvalidServerUrl(_) => "invalid_server_url",
        ProvisionError::Unreachable { .. } => "server_unreachable",
        ProvisionError::Refused { .. } => "token_refused",
        ProvisionError::NotTheServer(_) | ProvisionError::TlsCertificate { .. } => "wrong_server",
        ProvisionError::Link(_) => "plain_http_refused",
        ProvisionError::Vault(VaultError::WeakPassphrase) => "weak_passphrase",
        ProvisionError::AlreadyProvisioned(_) => "already_set_up",
        _ => "setup_failed",
    };
    CommandError::new(code, error.to_string())
}

/// Registers the station with the central server, seals its new keys, opens it and creates
/// its first account (an administrator). The account is checked before the one-time token is
/// spent; on any error before registration nothing is written and setup can be tried again.
#[tauri::command]
#[specta::specta]
pub async fn provision_station(
    setup: StationSetup,
    app: tauri::AppHandle,
    slot: State<'_, StationSlot>,
    devices: State<'_, Devices>,
) -> Result<StationStatusView, CommandError> {
    if !slot.needs_setup() {
        return Err(CommandError::new(
            "already_set_up",
            "this station is already set up",
        ));
    }
    let admin_password = Password::new(setup.admin_password);
    let admin_username = setup.admin_username.trim().to_owned();
    let admin_name = setup.admin_name.trim().to_owned();
    officers::check_new_account(&admin_username, &admin_password).map_err(account_error)?;
    if admin_name.is_empty() {
        return Err(CommandError::new(
            "missing_name",
            "enter the administrator's name as the app should show it",
        ));
    }
    if setup.station_name.trim().is_empty() {
        return Err(CommandError::new(
            "missing_station_name",
            "give the station a name, e.g. \"Jakarta Selatan desk 3\"",
        ));
    }
    let token = ProvisioningToken::parse(&setup.token)
        .map_err(|error| CommandError::new("token_malformed", error.to_string()))?;
    let passphrase = setup.passphrase.map(Passphrase::new);
    let protect = match &passphrase {
        Some(passphrase) => NewVault::Passphrase(passphrase),
        None => NewVault::Keyring,
    };
    let paths = slot.paths().clone();
    let config = provision(
        &paths,
        &setup.server_url,
        token,
        &setup.station_name,
        protect,
    )
    .await
    .map_err(provision_error)?;
    let station = off_main_thread(move || {
        let station = match &passphrase {
            Some(passphrase) => Station::open(paths, passphrase),
            None => Station::open_from_keyring(paths),
        }
        .map_err(|error| CommandError::new("station_unavailable", error.to_string()))?;
        station_core::provision::finish(
            &station,
            &config,
            (&admin_username, &admin_name, &admin_password),
            &SystemClock,
        )
        .map_err(|error| {
            // The account was checked before the token was spent: only the database can fail
            // here, and the station is registered by now.
            CommandError::new(
                "account_not_added",
                format!(
                    "the station is registered, but its first account could not be created ({error}): remove the station's data directory and set the station up again with a new code"
                ),
            )
        })?;
        Ok(station)
    })
    .await?;
    slot.put(station, &app);
    start_retention(&app);
    station_status(slot, devices).await
}

fn settings_view(station: &Station) -> Result<SettingsView, CommandError> {
    let protection = vault::protection(&station.paths().vault())
        .map_err(|error| CommandError::new("station_unavailable", error.to_string()))?;
    Ok(SettingsView {
        station_id: station.config().station_id.to_string(),
        station_name: station.config().station_name.clone(),
        server_url: station.config().server_url.clone(),
        retention_days: station.config().retention_days,
        protection: match protection {
            Protection::Passphrase => "passphrase",
            Protection::Keyring => "keyring",
        },
        forms_version: station
            .forms()
            .current()
            .map(|forms| forms.version.clone())
            .unwrap_or_default(),
    })
}

#[tauri::command]
#[specta::specta]
pub async fn station_settings(
    slot: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<SettingsView, CommandError> {
    session.act(Permission::ManageSettings)?;
    settings_view(&slot.get()?)
}

/// Changes the server address and the retention period; uploads go to the new address at
/// once.
#[tauri::command]
#[specta::specta]
pub async fn save_settings(
    server_url: String,
    retention_days: u32,
    app: tauri::AppHandle,
    slot: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<SettingsView, CommandError> {
    let who = session.act(Permission::ManageSettings)?;
    let station = slot.get()?;
    let before = station.settings();
    let changed = station
        .change_settings(&Settings {
            server_url,
            retention_days,
        })
        .map_err(|error| match error {
            SettingsError::InvalidServerUrl(_) => {
                CommandError::new("invalid_server_url", error.to_string())
            }
            SettingsError::InvalidRetention(_) => {
                CommandError::new("invalid_retention", error.to_string())
            }
            SettingsError::Link(_) => CommandError::new("plain_http_refused", error.to_string()),
            other => CommandError::new("settings_not_saved", other.to_string()),
        })?;
    let after = changed.settings();
    if after != before {
        let detail = format!(
            "server {} → {}; retention {} → {} days",
            before.server_url, after.server_url, before.retention_days, after.retention_days
        );
        record(&changed, &who.username, "settings.changed", &detail)?;
        slot.put(changed.clone(), &app);
    }
    settings_view(&changed)
}

/// Re-seals the station's key vault under a new passphrase (the current one is asked again).
#[tauri::command]
#[specta::specta]
pub async fn change_station_passphrase(
    current: String,
    replacement: String,
    slot: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<(), CommandError> {
    let who = session.act(Permission::ManageSettings)?;
    let station = slot.get()?;
    let (current, replacement) = (Passphrase::new(current), Passphrase::new(replacement));
    off_main_thread(move || {
        vault::change_passphrase(&station.paths().vault(), &current, &replacement).map_err(
            |error| match error {
                VaultError::WrongPassphrase => {
                    CommandError::new("wrong_passphrase", error.to_string())
                }
                VaultError::WeakPassphrase => {
                    CommandError::new("weak_passphrase", error.to_string())
                }
                other => CommandError::new("passphrase_not_changed", other.to_string()),
            },
        )?;
        record(
            &station,
            &who.username,
            "settings.passphrase_changed",
            "the key vault was re-sealed under a new passphrase",
        )
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn list_accounts(
    slot: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<Vec<AccountView>, CommandError> {
    session.act(Permission::ManageAccounts)?;
    account_views(&slot.get()?)
}

/// Adds an account; returns every account.
#[tauri::command]
#[specta::specta]
pub async fn add_account(
    account: NewAccount,
    slot: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<Vec<AccountView>, CommandError> {
    let admin = session.act(Permission::ManageAccounts)?;
    let station = slot.get()?;
    let role = Role::parse(&account.role).ok_or_else(|| {
        CommandError::new(
            "invalid_role",
            format!("{:?} is not a role this station knows", account.role),
        )
    })?;
    let display_name = account.display_name.trim().to_owned();
    if display_name.is_empty() {
        return Err(CommandError::new(
            "missing_name",
            "enter the person's name as the app should show it",
        ));
    }
    let password = Password::new(account.password);
    let username = account.username.trim().to_owned();
    off_main_thread(move || {
        officers::add_account(
            &station,
            &admin,
            &username,
            &display_name,
            role,
            &password,
            &SystemClock,
        )
        .map_err(account_error)?;
        account_views(&station)
    })
    .await
}

/// Every account, for the administrator's list.
fn account_views(station: &Station) -> Result<Vec<AccountView>, CommandError> {
    Ok(officers::accounts(station.store(), &SystemClock)?
        .into_iter()
        .map(AccountView::from)
        .collect())
}

/// Gives an account a new password (a forgotten one, or a lockout to lift); returns every
/// account.
#[tauri::command]
#[specta::specta]
pub async fn reset_password(
    username: String,
    password: String,
    slot: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<Vec<AccountView>, CommandError> {
    let admin = session.act(Permission::ManageAccounts)?;
    let station = slot.get()?;
    let password = Password::new(password);
    off_main_thread(move || {
        officers::reset_password(station.store(), &username, &password).map_err(account_error)?;
        record_about(
            &station,
            &admin.username,
            "officer.password_reset",
            &username,
            "password reset by an administrator; any lock lifted",
        )?;
        account_views(&station)
    })
    .await
}

/// Removes an account (an officer who left) and its saved draft; returns every account.
#[tauri::command]
#[specta::specta]
pub async fn remove_account(
    username: String,
    slot: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<Vec<AccountView>, CommandError> {
    let admin = session.act(Permission::ManageAccounts)?;
    let station = slot.get()?;
    off_main_thread(move || {
        officers::remove(station.store(), &username, &admin.username).map_err(account_error)?;
        record_about(
            &station,
            &admin.username,
            "officer.removed",
            &username,
            "account and its saved draft removed",
        )?;
        account_views(&station)
    })
    .await
}
