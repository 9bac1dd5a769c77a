//! Logging in and out.

use super::{record, ActionError};
use crate::clock::Clock;
use crate::officers::{self, Officer, Password};
use crate::station::Station;

/// Where a login is typed, as the audit log says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// The desktop app.
    App,
    /// The `station` command-line tool.
    CommandLine,
}

/// Checks `username` and `password` against the station's accounts (lockout included: see
/// [`officers::login`]); every attempt is audited, as `login` or `login.failed`. Slow on
/// purpose (Argon2id): call it off a UI thread.
///
/// # Errors
/// A wrong name or password, a locked account, as [`officers::LoginError`]; an attempt that
/// cannot be recorded fails with the database's error.
pub fn login(
    station: &Station,
    username: &str,
    password: &Password,
    front: Front,
    clock: &dyn Clock,
) -> Result<Officer, ActionError> {
    let result = officers::login(station.store(), username, password, clock);
    let (action, detail) = match (&result, front) {
        (Ok(_), Front::App) => ("login", "logged in"),
        (Ok(_), Front::CommandLine) => ("login", "logged in at the command line"),
        (Err(_), Front::App) => ("login.failed", "wrong username or password"),
        (Err(_), Front::CommandLine) => (
            "login.failed",
            "wrong username or password at the command line",
        ),
    };
    record(station, clock, username, action, "", detail)?;
    Ok(result?)
}

/// Records that `officer` logged out (the front end ends its session).
///
/// # Errors
/// The database's error when the entry cannot be written.
pub fn logout(station: &Station, officer: &Officer, clock: &dyn Clock) -> Result<(), ActionError> {
    record(
        station,
        clock,
        &officer.username,
        "logout",
        "",
        "logged out",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{as_role, last_entry, station, PASSWORD};
    use crate::actions::ErrorCode;
    use crate::clock::SystemClock;
    use crate::officers::Role;

    #[test]
    fn every_login_attempt_is_recorded_and_a_wrong_password_does_not_say_which_part_was_wrong() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let right = Password::new(PASSWORD.into());
        let officer =
            login(&station, "officer", &right, Front::App, &SystemClock).expect("logged in");
        assert_eq!(officer.role, Role::Officer);
        assert_eq!(
            last_entry(&station),
            (
                "officer".into(),
                "login".into(),
                String::new(),
                "logged in".into()
            )
        );
        let wrong = Password::new("not the password".into());
        for username in ["officer", "nobody"] {
            let refused = login(&station, username, &wrong, Front::CommandLine, &SystemClock)
                .expect_err("refused");
            assert_eq!(refused.code(), ErrorCode::BadCredentials);
            assert_eq!(
                last_entry(&station),
                (
                    username.into(),
                    "login.failed".into(),
                    String::new(),
                    "wrong username or password at the command line".into()
                )
            );
        }
    }

    #[test]
    fn a_logout_is_recorded_under_the_officer() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        logout(&station, &as_role(Role::Supervisor), &SystemClock).expect("recorded");
        let (actor, action, _, _) = last_entry(&station);
        assert_eq!((actor.as_str(), action.as_str()), ("supervisor", "logout"));
    }
}
