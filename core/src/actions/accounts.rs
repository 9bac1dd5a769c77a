//! An administrator's account management: list, add, reset a password, remove.

use super::{record, require, ActionError};
use crate::clock::Clock;
use crate::officers::{self, Account, Officer, Password, Permission, Role};
use crate::station::Station;

/// An account to create.
pub struct NewAccount<'a> {
    /// Login name (3–32 characters: lower-case letters, digits, '.', '_' or '-').
    pub username: &'a str,
    /// The name the app shows.
    pub display_name: &'a str,
    /// What the account may do.
    pub role: Role,
    /// Its first password.
    pub password: &'a Password,
}

/// `text` as a role, or [`ActionError::InvalidRole`].
///
/// # Errors
/// [`ActionError::InvalidRole`] for a name the station does not know.
pub fn role(text: &str) -> Result<Role, ActionError> {
    Role::parse(text).ok_or_else(|| ActionError::InvalidRole(text.to_owned()))
}

/// Every account, for an administrator's list.
///
/// # Errors
/// [`ActionError::NotPermitted`] for anyone but an administrator; the database's error.
pub fn list(
    station: &Station,
    by: &Officer,
    clock: &dyn Clock,
) -> Result<Vec<Account>, ActionError> {
    require(by, Permission::ManageAccounts)?;
    Ok(officers::accounts(station.store(), clock)?)
}

/// Adds an account on behalf of the administrator `by`; audited as `officer.added`. (The
/// station's first administrator is made at provisioning, when there is nobody to ask.)
///
/// # Errors
/// [`ActionError::NotPermitted`] for anyone but an administrator, [`ActionError::MissingName`],
/// or the [`officers::AccountError`] of a bad username, a weak password or a taken name.
pub fn add(
    station: &Station,
    by: &Officer,
    account: &NewAccount<'_>,
    clock: &dyn Clock,
) -> Result<(), ActionError> {
    require(by, Permission::ManageAccounts)?;
    let display_name = account.display_name.trim();
    if display_name.is_empty() {
        return Err(ActionError::MissingName);
    }
    let username = account.username.trim();
    officers::add_officer(
        station.store(),
        username,
        display_name,
        account.role,
        account.password,
        clock,
    )?;
    let detail = format!("account added with role {}", account.role.as_str());
    record(
        station,
        clock,
        &by.username,
        "officer.added",
        username,
        &detail,
    )
}

/// Gives `username` a new password (a forgotten one, or a lockout to lift) on behalf of the
/// administrator `by`; audited as `officer.password_reset`.
///
/// # Errors
/// [`ActionError::NotPermitted`] for anyone but an administrator; a weak password or an unknown
/// account as [`officers::AccountError`].
pub fn reset_password(
    station: &Station,
    by: &Officer,
    username: &str,
    password: &Password,
    clock: &dyn Clock,
) -> Result<(), ActionError> {
    require(by, Permission::ManageAccounts)?;
    officers::reset_password(station.store(), username, password)?;
    record(
        station,
        clock,
        &by.username,
        "officer.password_reset",
        username,
        "password reset by an administrator; any lock lifted",
    )
}

/// Removes `username` (an officer who left) and its saved draft on behalf of the administrator
/// `by`; audited as `officer.removed`.
///
/// # Errors
/// [`ActionError::NotPermitted`] for anyone but an administrator; removing oneself, the last
/// administrator or an unknown account as [`officers::AccountError`].
pub fn remove(
    station: &Station,
    by: &Officer,
    username: &str,
    clock: &dyn Clock,
) -> Result<(), ActionError> {
    require(by, Permission::ManageAccounts)?;
    officers::remove(station.store(), username, &by.username)?;
    record(
        station,
        clock,
        &by.username,
        "officer.removed",
        username,
        "account and its saved draft removed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{as_role, entries, last_entry, station, PASSWORD};
    use crate::actions::ErrorCode;
    use crate::clock::SystemClock;

    fn rina(password: &Password) -> NewAccount<'_> {
        NewAccount {
            username: "rina",
            display_name: " Rina Wulandari ",
            role: Role::Officer,
            password,
        }
    }

    #[test]
    fn only_an_administrator_lists_adds_resets_or_removes_accounts_and_a_refusal_is_not_recorded() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let password = Password::new(PASSWORD.into());
        let before = entries(&station);
        for role in [Role::Officer, Role::Supervisor, Role::Technician] {
            let who = as_role(role);
            let refusals = [
                list(&station, &who, &SystemClock).err(),
                add(&station, &who, &rina(&password), &SystemClock).err(),
                reset_password(&station, &who, "officer", &password, &SystemClock).err(),
                remove(&station, &who, "officer", &SystemClock).err(),
            ];
            for refusal in refusals {
                let refusal = refusal.expect("refused");
                assert_eq!(refusal.code(), ErrorCode::NotPermitted, "{role:?}");
                assert!(refusal.to_string().contains("manage accounts"));
            }
        }
        assert_eq!(
            entries(&station),
            before,
            "a refused action leaves no entry"
        );
        assert!(officers::accounts(station.store(), &SystemClock)
            .expect("accounts")
            .iter()
            .all(|account| account.username != "rina"));
    }

    #[test]
    fn an_added_account_logs_in_and_the_administrator_who_added_it_is_recorded() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let admin = as_role(Role::Administrator);
        let password = Password::new(PASSWORD.into());
        add(&station, &admin, &rina(&password), &SystemClock).expect("added");
        assert_eq!(
            last_entry(&station),
            (
                "administrator".into(),
                "officer.added".into(),
                "rina".into(),
                "account added with role officer".into()
            )
        );
        let rina =
            officers::login(station.store(), "rina", &password, &SystemClock).expect("login");
        assert_eq!(rina.display_name, "Rina Wulandari");
        let listed = list(&station, &admin, &SystemClock).expect("list");
        assert!(listed.iter().any(|account| account.username == "rina"));

        let again = add(
            &station,
            &admin,
            &rina_named("rina", &password),
            &SystemClock,
        );
        assert_eq!(again.expect_err("taken").code(), ErrorCode::AccountExists);
        let nameless = NewAccount {
            display_name: "  ",
            ..rina_named("dewi", &password)
        };
        let refused = add(&station, &admin, &nameless, &SystemClock).expect_err("no name");
        assert_eq!(refused.code(), ErrorCode::MissingName);
    }

    fn rina_named<'a>(username: &'a str, password: &'a Password) -> NewAccount<'a> {
        NewAccount {
            username,
            ..rina(password)
        }
    }

    #[test]
    fn a_reset_password_works_at_once_and_is_recorded_against_the_account() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let admin = as_role(Role::Administrator);
        let fresh = Password::new("a brand new password".into());
        reset_password(&station, &admin, "officer", &fresh, &SystemClock).expect("reset");
        assert!(officers::login(station.store(), "officer", &fresh, &SystemClock).is_ok());
        let (actor, action, subject, _) = last_entry(&station);
        assert_eq!(
            (actor.as_str(), action.as_str(), subject.as_str()),
            ("administrator", "officer.password_reset", "officer")
        );
        let weak = reset_password(
            &station,
            &admin,
            "officer",
            &Password::new("short".into()),
            &SystemClock,
        );
        assert_eq!(weak.expect_err("weak").code(), ErrorCode::WeakPassword);
        let unknown = reset_password(&station, &admin, "nobody", &fresh, &SystemClock);
        assert_eq!(
            unknown.expect_err("unknown").code(),
            ErrorCode::NoSuchAccount
        );
    }

    #[test]
    fn a_removed_account_cannot_log_in_the_removal_is_recorded_and_nobody_removes_themselves() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let admin = as_role(Role::Administrator);
        remove(&station, &admin, "officer", &SystemClock).expect("removed");
        let password = Password::new(PASSWORD.into());
        assert!(officers::login(station.store(), "officer", &password, &SystemClock).is_err());
        let (actor, action, subject, _) = last_entry(&station);
        assert_eq!(
            (actor.as_str(), action.as_str(), subject.as_str()),
            ("administrator", "officer.removed", "officer")
        );
        let yourself = remove(&station, &admin, "administrator", &SystemClock);
        assert_eq!(
            yourself.expect_err("refused").code(),
            ErrorCode::CannotRemoveYourself
        );
    }
}
