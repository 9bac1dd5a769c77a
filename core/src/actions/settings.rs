//! The station's settings: the server address, how long sealed packets are kept, the
//! passphrase that protects the keys.

use super::{record, require, ActionError};
use crate::clock::Clock;
use crate::officers::{Officer, Permission};
use crate::station::{Settings, Station};
use crate::vault::{self, Passphrase};

/// Who changes the passphrase.
#[derive(Debug, Clone, Copy)]
pub enum Holder<'a> {
    /// An account allowed to change the station's settings, logged in in the app.
    Officer(&'a Officer),
    /// Whoever opened the station with its passphrase at the command line (knowing it is the
    /// authority to change it); recorded as `station-cli`.
    CommandLine,
}

impl Holder<'_> {
    fn name(&self) -> &str {
        match self {
            Self::Officer(officer) => &officer.username,
            Self::CommandLine => "station-cli",
        }
    }
}

/// The station's settings, for the settings screen.
///
/// # Errors
/// [`ActionError::NotPermitted`] for roles that may not change settings.
pub fn current(station: &Station, by: &Officer) -> Result<Settings, ActionError> {
    require(by, Permission::ManageSettings)?;
    Ok(station.settings())
}

/// Checks and saves new settings on behalf of `by`; audited as `settings.changed` with the old
/// and new values. Returns the station with them, or `None` when nothing changed (and nothing
/// is recorded); the caller hands out the new station from then on.
///
/// # Errors
/// [`ActionError::NotPermitted`] for roles that may not change settings; an invalid address or
/// retention period, plain HTTP to another machine, or a failed write as
/// [`crate::station::SettingsError`].
pub fn change(
    station: &Station,
    by: &Officer,
    settings: &Settings,
    clock: &dyn Clock,
) -> Result<Option<Station>, ActionError> {
    require(by, Permission::ManageSettings)?;
    let before = station.settings();
    let changed = station.change_settings(settings)?;
    let after = changed.settings();
    if after == before {
        return Ok(None);
    }
    let detail = format!(
        "server {} → {}; retention {} → {} days",
        before.server_url, after.server_url, before.retention_days, after.retention_days
    );
    record(
        &changed,
        clock,
        &by.username,
        "settings.changed",
        "",
        &detail,
    )?;
    Ok(Some(changed))
}

/// Re-seals the station's key vault under `replacement` (`current` is asked again, even of a
/// logged-in administrator); audited as `settings.passphrase_changed`. Slow on purpose
/// (Argon2id): call it off a UI thread.
///
/// # Errors
/// [`ActionError::NotPermitted`] for an officer whose role may not change settings; a wrong
/// current or weak new passphrase as [`vault::VaultError`].
pub fn change_passphrase(
    station: &Station,
    by: Holder<'_>,
    current: &Passphrase,
    replacement: &Passphrase,
    clock: &dyn Clock,
) -> Result<(), ActionError> {
    if let Holder::Officer(officer) = by {
        require(officer, Permission::ManageSettings)?;
    }
    vault::change_passphrase(&station.paths().vault(), current, replacement)?;
    record(
        station,
        clock,
        by.name(),
        "settings.passphrase_changed",
        "",
        "the key vault was re-sealed under a new passphrase",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{as_role, entries, last_entry, station};
    use crate::actions::ErrorCode;
    use crate::clock::SystemClock;
    use crate::officers::Role;

    const TEST_PASSPHRASE: &str = "core test passphrase";

    #[test]
    fn officers_and_supervisors_cannot_change_settings_or_the_passphrase() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let before = entries(&station);
        let moved = Settings {
            server_url: "http://127.0.0.1:8750".into(),
            retention_days: 90,
        };
        let (current, new) = (
            Passphrase::new(TEST_PASSPHRASE.into()),
            Passphrase::new("a much longer new passphrase".into()),
        );
        for role in [Role::Officer, Role::Supervisor] {
            let who = as_role(role);
            let refused = super::current(&station, &who).expect_err("refused");
            assert_eq!(refused.code(), ErrorCode::NotPermitted);
            let refused = change(&station, &who, &moved, &SystemClock).expect_err("refused");
            assert_eq!(refused.code(), ErrorCode::NotPermitted);
            let refused = change_passphrase(
                &station,
                Holder::Officer(&who),
                &current,
                &new,
                &SystemClock,
            )
            .expect_err("refused");
            assert_eq!(refused.code(), ErrorCode::NotPermitted);
        }
        assert_eq!(entries(&station), before);
        assert_eq!(station.settings().retention_days, 30, "unchanged");
        assert!(crate::station::Station::open(station.paths().clone(), &current).is_ok());
    }

    #[test]
    fn a_settings_change_is_recorded_with_the_old_and_new_values_and_no_change_records_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let technician = as_role(Role::Technician);
        let moved = Settings {
            server_url: "http://127.0.0.1:8750".into(),
            retention_days: 90,
        };
        let changed = change(&station, &technician, &moved, &SystemClock)
            .expect("saved")
            .expect("changed");
        assert_eq!(changed.settings(), moved);
        assert_eq!(
            last_entry(&changed),
            (
                "technician".into(),
                "settings.changed".into(),
                String::new(),
                "server http://127.0.0.1:9 → http://127.0.0.1:8750; retention 30 → 90 days".into()
            )
        );
        let count = entries(&changed);
        let same = change(&changed, &technician, &moved, &SystemClock).expect("saved");
        assert!(same.is_none());
        assert_eq!(
            entries(&changed),
            count,
            "nothing changed, nothing recorded"
        );

        let bad = Settings {
            retention_days: 0,
            ..moved
        };
        let refused = change(&changed, &technician, &bad, &SystemClock).expect_err("refused");
        assert_eq!(refused.code(), ErrorCode::InvalidRetention);
    }

    #[test]
    fn a_changed_passphrase_opens_the_station_the_old_one_no_longer_does_and_the_change_is_recorded(
    ) {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let admin = as_role(Role::Administrator);
        let (current, new) = (
            Passphrase::new(TEST_PASSPHRASE.into()),
            Passphrase::new("a much longer new passphrase".into()),
        );
        let wrong = change_passphrase(
            &station,
            Holder::Officer(&admin),
            &new,
            &current,
            &SystemClock,
        )
        .expect_err("wrong current passphrase");
        assert_eq!(wrong.code(), ErrorCode::WrongPassphrase);
        change_passphrase(
            &station,
            Holder::Officer(&admin),
            &current,
            &new,
            &SystemClock,
        )
        .expect("changed");
        let (actor, action, _, _) = last_entry(&station);
        assert_eq!(
            (actor.as_str(), action.as_str()),
            ("administrator", "settings.passphrase_changed")
        );
        let paths = station.paths().clone();
        assert!(crate::station::Station::open(paths.clone(), &current).is_err());
        assert!(crate::station::Station::open(paths, &new).is_ok());

        change_passphrase(&station, Holder::CommandLine, &new, &current, &SystemClock)
            .expect("changed back at the command line");
        assert_eq!(last_entry(&station).0, "station-cli");
    }
}
