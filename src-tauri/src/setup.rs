//! The technician's and administrator's commands: setting the station up (provisioning), its
//! settings, its passphrase and its accounts. Each adapts one action of
//! `station_core::actions` (which checks the permission and writes the audit entry) to the UI.

use std::sync::Arc;

use serde::Deserialize;
use station_core::actions::accounts;
use station_core::actions::settings::{self, Holder};
use station_core::actions::setup::{set_up, StationSetUp};
use station_core::actions::ErrorCode;
use station_core::clock::SystemClock;
use station_core::officers::{Officer, Password};
use station_core::station::{Settings, Station};
use station_core::vault::{self, Passphrase, Protection};
use tauri::State;

use crate::commands::{off_main_thread, station_status};
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
    let setup = StationSetUp {
        server_url: setup.server_url,
        token: setup.token,
        station_name: setup.station_name,
        passphrase: setup.passphrase.map(Passphrase::new),
        admin_username: setup.admin_username,
        admin_name: setup.admin_name,
        admin_password: Password::new(setup.admin_password),
    };
    let station = set_up(slot.lifecycle(), setup, Arc::new(SystemClock)).await?;
    slot.put(station, &app);
    start_retention(&app);
    station_status(slot, devices).await
}

fn settings_view(station: &Station) -> Result<SettingsView, CommandError> {
    let protection = vault::protection(&station.paths().vault())
        .map_err(|error| CommandError::new(ErrorCode::StationUnavailable, error.to_string()))?;
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
    let station = slot.get()?;
    settings::current(&station, &session.officer()?)?;
    settings_view(&station)
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
    let station = slot.get()?;
    let wanted = Settings {
        server_url,
        retention_days,
    };
    match settings::change(&station, &session.officer()?, &wanted, &SystemClock)? {
        Some(changed) => {
            slot.put(changed.clone(), &app);
            settings_view(&changed)
        }
        None => settings_view(&station),
    }
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
    let (station, who) = (slot.get()?, session.officer()?);
    let (current, replacement) = (Passphrase::new(current), Passphrase::new(replacement));
    off_main_thread(move || {
        let by = Holder::Officer(&who);
        Ok(settings::change_passphrase(
            &station,
            by,
            &current,
            &replacement,
            &SystemClock,
        )?)
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn list_accounts(
    slot: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<Vec<AccountView>, CommandError> {
    account_views(&slot.get()?, &session.officer()?)
}

/// Adds an account; returns every account.
#[tauri::command]
#[specta::specta]
pub async fn add_account(
    account: NewAccount,
    slot: State<'_, StationSlot>,
    session: State<'_, Session>,
) -> Result<Vec<AccountView>, CommandError> {
    let (station, admin) = (slot.get()?, session.officer()?);
    let role = accounts::role(&account.role)?;
    let password = Password::new(account.password);
    off_main_thread(move || {
        let new = accounts::NewAccount {
            username: &account.username,
            display_name: &account.display_name,
            role,
            password: &password,
        };
        accounts::add(&station, &admin, &new, &SystemClock)?;
        account_views(&station, &admin)
    })
    .await
}

/// Every account, for the administrator's list.
fn account_views(station: &Station, by: &Officer) -> Result<Vec<AccountView>, CommandError> {
    let accounts = accounts::list(station, by, &SystemClock)?;
    Ok(accounts.into_iter().map(AccountView::from).collect())
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
    let (station, admin) = (slot.get()?, session.officer()?);
    let password = Password::new(password);
    off_main_thread(move || {
        accounts::reset_password(&station, &admin, &username, &password, &SystemClock)?;
        account_views(&station, &admin)
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
    let (station, admin) = (slot.get()?, session.officer()?);
    off_main_thread(move || {
        accounts::remove(&station, &admin, &username, &SystemClock)?;
        account_views(&station, &admin)
    })
    .await
}
