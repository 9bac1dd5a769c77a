//! Officer accounts and offline login.
//!
//! Passwords are hashed with Argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes), so a
//! copied database does not give up passwords to a quick dictionary attack.

use std::fmt;
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use zeroize::Zeroizing;

#[cfg(test)]
use crate::clock::ManualClock;
use crate::clock::{rfc3339, Clock};
use crate::store::officers::OfficerRow;
use crate::store::{Store, StoreError};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Enrolls applicants.
    Officer,
    /// Enrolls and approves flagged enrollments.
    Supervisor,
    /// Runs device self-tests; sees no applicant data.
    Technician,
    /// Manages accounts and settings.
    Administrator,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Supervisor => "supervisor",
            Self::Technician => "technician",
            Self::Administrator => "administrator",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Officer,
            Self::Supervisor,
            Self::Technician,
            Self::Administrator,
        ]
        .into_iter()
        .find(|role| role.as_str() == text)
    }
}

/// Something an account may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Capture and submit enrollments.
    Enroll,
    /// See applicants' names, documents and enrollments.
    ViewApplicants,
    /// Approve or reject flagged enrollments.
    Approve,
    /// Run device self-tests.
    RunSelfTests,
    /// Add and list accounts.
    ManageAccounts,
    /// Change the station's settings (server address, retention, passphrase).
    ManageSettings,
    /// See the upload loop's state (link, outbox counts; no applicant data).
    ViewSyncStatus,
}

impl Role {
    /// Whether this role may do `permission`. Technicians and administrators never see
    /// applicant data; only supervisors approve.
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        if permission == ViewSyncStatus {
            return true;
        }
        match self {
            Self::Officer => matches!(permission, Enroll | ViewApplicants),
            Self::Supervisor => matches!(permission, Enroll | ViewApplicants | Approve),
            Self::Technician => matches!(permission, RunSelfTests | ManageSettings),
            Self::Administrator => {
                matches!(permission, ManageAccounts | ManageSettings | RunSelfTests)
            }
        }
    }
}

/// A logged-in officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Officer {
    /// Login name.
    pub username: String,
    /// Name shown in the app.
    pub display_name: String,
    /// What they may do.
    pub role: Role,
}

/// A password as typed: redacted in `Debug`, zeroized on drop.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps the typed text.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The username breaks the rules.
    #[error("usernames are 3 to 32 characters: lower-case letters, digits, '.', '_' or '-'")]
    InvalidUsername,
    /// The password is too short.
    #[error("passwords must be at least {MIN_PASSWORD_CHARS} characters long")]
    WeakPassword,
    /// The username is taken.
    #[error("an account named {0:?} already exists")]
    Exists(String),
    /// No account has that username.
    #[error("there is no account named {0:?}")]
    Unknown(String),
    /// The last administrator cannot be removed.
    #[error("{0:?} is the last administrator: add another administrator before removing it")]
    LastAdministrator(String),
    /// An administrator cannot remove their own account.
    #[error("you cannot remove your own account")]
    Yourself,
    /// Hashing failed.
    #[error("could not hash the password: {0}")]
    Hash(String),
    /// Only an administrator's lockout is lifted from the station itself.
    #[error("{0:?} is not an administrator's account: an administrator lifts its lockout by resetting its password")]
    NotAdministrator(String),
    /// The acting account may not manage accounts.
    #[error("a {0} account cannot manage accounts; an administrator must do it")]
    NotPermitted(&'static str),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// Unknown username or wrong password; deliberately not saying which.
    #[error("the username or password is not correct")]
    BadCredentials,
    /// Too many wrong passwords in a row; the account is locked for a while.
    #[error("too many failed logins: this account is locked until {until} (UTC); ask a supervisor if it was not you")]
    LockedOut {
        /// When the lock ends, `HH:MM`.
        until: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Creates an account.
///
/// # Errors
/// See [`AccountError`].
pub fn add_officer(
    store: &Store,
    username: &str,
    display_name: &str,
    role: Role,
    password: &Password,
    clock: &dyn Clock,
) -> Result<(), AccountError> {
    check_new_account(username, password)?;
    if store.find_officer(username)?.is_some() {
        return Err(AccountError::Exists(username.to_owned()));
    }
    let password_hash = hash_password(password).map_err(|e| AccountError::Hash(e.to_string()))?;
    let row = OfficerRow {
        username: username.to_owned(),
        display_name: display_name.trim().to_owned(),
        role: role.as_str().to_owned(),
        password_hash,
    };
    store.insert_officer(&row, &rfc3339(clock.now()))?;
    Ok(())
}

/// Lifts the lockout of the administrator `username`, for whoever could open the station (its
/// passphrase or its user's keyring): someone guessing at the keyboard must not keep the
/// administrators out for good. Only administrators: an officer's lock is an administrator's
/// to lift ([`reset_password`]). Audited as `officer.unlocked` by `station-holder`.
///
/// # Errors
/// [`AccountError::Unknown`] for no such account, [`AccountError::NotAdministrator`] for one
/// that is not an administrator's; database errors.
pub fn unlock_administrator(
    station: &crate::station::Station,
    username: &str,
    clock: &dyn Clock,
) -> Result<(), AccountError> {
    let row = station
        .store()
        .find_officer(username)?
        .ok_or_else(|| AccountError::Unknown(username.to_owned()))?;
    if row.role != Role::Administrator.as_str() {
        return Err(AccountError::NotAdministrator(username.to_owned()));
    }
    station.store().reset_failed_logins(username)?;
    let event = crate::audit::AuditEvent {
        actor: "station-holder",
        action: "officer.unlocked",
        subject: username,
        detail: "lockout lifted by whoever opened the station",
    };
    crate::audit::record(station, &event, clock)?;
    Ok(())
}

/// Checks a new account's username and password against the rules, before anything is
/// stored (provisioning checks the first account before it spends the one-time token).
///
/// # Errors
/// [`AccountError::InvalidUsername`] or [`AccountError::WeakPassword`].
pub fn check_new_account(username: &str, password: &Password) -> Result<(), AccountError> {
    let valid_name = (3..=32).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if !valid_name {
        return Err(AccountError::InvalidUsername);
    }
    check_password(password)
}

/// Checks a new password against the rules (its length).
fn check_password(password: &Password) -> Result<(), AccountError> {
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    Ok(())
}

/// A stored lock's end time (RFC 3339).
fn lock_end(until: &str) -> Result<time::OffsetDateTime, StoreError> {
    time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339)
        .map_err(|_| StoreError::Corrupt(format!("unreadable lock time {until:?}")))
}

/// An account as the administrator sees it (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub username: String,
    /// Name shown in the app.
    pub display_name: String,
    /// What it may do.
    pub role: Role,
    /// Until when it is locked after too many wrong passwords (`HH:MM` UTC), if it is now.
    pub locked_until: Option<String>,
}

/// Every account, by username.
///
/// # Errors
/// When the database fails or holds a role this build does not know.
pub fn accounts(store: &Store, clock: &dyn Clock) -> Result<Vec<Account>, StoreError> {
    let now = clock.now();
    store
        .officers()?
        .into_iter()
        .map(|(row, locked_until)| {
            let role = Role::parse(&row.role)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown role {:?}", row.role)))?;
            let locked_until = locked_until
                .and_then(|until| lock_end(&until).ok())
                .filter(|until| *until > now)
                .map(clock_time);
            Ok(Account {
                username: row.username,
                display_name: row.display_name,
                role,
                locked_until,
            })
        })
        .collect()
}

/// Gives an account a new password (the administrator's reset, e.g. a forgotten one) and lifts
/// any lock.
///
/// # Errors
/// [`AccountError::WeakPassword`], [`AccountError::Unknown`], or the database's error.
pub fn reset_password(
    store: &Store,
    username: &str,
    password: &Password,
) -> Result<(), AccountError> {
    check_password(password)?;
    let password_hash = hash_password(password).map_err(|e| AccountError::Hash(e.to_string()))?;
    if !store.set_password_hash(username, &password_hash)? {
        return Err(AccountError::Unknown(username.to_owned()));
    }
    Ok(())
}

/// Removes the account `username` (and its saved draft) on the request of `by`.
///
/// # Errors
/// [`AccountError::Yourself`], [`AccountError::Unknown`], [`AccountError::LastAdministrator`],
/// or the database's error.
pub fn remove(store: &Store, username: &str, by: &str) -> Result<(), AccountError> {
    if username == by {
        return Err(AccountError::Yourself);
    }
    match store.delete_officer(username)? {
        crate::store::officers::Removal::Removed => Ok(()),
        crate::store::officers::Removal::NoSuchAccount => {
            Err(AccountError::Unknown(username.to_owned()))
        }
        crate::store::officers::Removal::LastAdministrator => {
            Err(AccountError::LastAdministrator(username.to_owned()))
        }
    }
}

/// Consecutive wrong passwords that lock an account.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT: time::Duration = time::Duration::minutes(15);

/// Checks a username and password against the local accounts; works offline. After
/// [`MAX_FAILED_LOGINS`] wrong passwords in a row the account is locked for [`LOCKOUT`], even
/// against the right password.
///
/// # Errors
/// [`LoginError::BadCredentials`] for an unknown user or a wrong password alike;
/// [`LoginError::LockedOut`] while locked.
pub fn login(
    store: &Store,
    username: &str,
    password: &Password,
    clock: &dyn Clock,
) -> Result<Officer, LoginError> {
    let now = clock.now();
    let Some(row) = store.find_officer(username.trim())? else {
        // Spend the same effort as for a real account, and lock the name as a real account
        // would be locked, so neither timing nor the answer reveals which usernames exist.
        let _ = verify(dummy_hash(), password);
        let name: String = username.trim().chars().take(64).collect();
        let (_, locked) = store.record_unknown_login(
            &name,
            MAX_FAILED_LOGINS,
            &rfc3339(now + LOCKOUT),
            &rfc3339(now),
        )?;
        return Err(match locked {
            Some(until) => LoginError::LockedOut {
                until: clock_time(lock_end(&until)?),
            },
            None => LoginError::BadCredentials,
        });
    };
    if let Some(until) = store.locked_until(&row.username)? {
        let until = lock_end(&until)?;
        if until > now {
            return Err(LoginError::LockedOut {
                until: clock_time(until),
            });
        }
        store.reset_failed_logins(&row.username)?;
    }
    if !verify(&row.password_hash, password) {
        let lock_until = now + LOCKOUT;
        let failures =
            store.record_failed_login(&row.username, MAX_FAILED_LOGINS, &rfc3339(lock_until))?;
        if failures >= MAX_FAILED_LOGINS {
            return Err(LoginError::LockedOut {
                until: clock_time(lock_until),
            });
        }
        return Err(LoginError::BadCredentials);
    }
    store.reset_failed_logins(&row.username)?;
    let role = Role::parse(&row.role)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown role {:?}", row.role)))?;
    Ok(Officer {
        username: row.username,
        display_name: row.display_name,
        role,
    })
}

fn clock_time(at: time::OffsetDateTime) -> String {
    format!("{:02}:{:02}", at.hour(), at.minute())
}

fn hash_password(password: &Password) -> Result<String, argon2::password_hash::Error> {
    let mut salt_bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt_bytes)
        .map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt_bytes)?;
    Ok(Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)?
        .to_string())
}

fn verify(stored_hash: &str, password: &Password) -> bool {
    PasswordHash::new(stored_hash)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password(&Password::new("not a real account password".into())).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    fn store_with_budi() -> Store {
        let store = Store::open_in_memory().expect("store");
        add_officer(
            &store,
            "budi",
            "Budi Santoso",
            Role::Officer,
            &Password::new("correct horse 1".into()),
            &SystemClock,
        )
        .expect("add");
        store
    }

    #[test]
    fn the_right_password_logs_in_with_the_account_role() {
        let store = store_with_budi();
        let officer = login(
            &store,
            "budi",
            &Password::new("correct horse 1".into()),
            &SystemClock,
        )
        .expect("login");
        assert_eq!(officer.role, Role::Officer);
        assert_eq!(officer.display_name, "Budi Santoso");
    }

    #[test]
    fn a_wrong_password_and_an_unknown_user_fail_alike() {
        let store = store_with_budi();
        let wrong = login(
            &store,
            "budi",
            &Password::new("wrong horse 1".into()),
            &SystemClock,
        )
        .expect_err("wrong");
        let unknown = login(
            &store,
            "siti",
            &Password::new("correct horse 1".into()),
            &SystemClock,
        )
        .expect_err("unknown");
        assert_eq!(
            wrong.to_string(),
            unknown.to_string(),
            "must not reveal which usernames exist"
        );
    }

    #[test]
    fn the_stored_hash_is_argon2id_and_not_the_password() {
        let store = store_with_budi();
        let row = store.find_officer("budi").expect("find").expect("exists");
        assert!(
            row.password_hash.starts_with("$argon2id$"),
            "{}",
            row.password_hash
        );
        assert!(!row.password_hash.contains("correct horse"));
    }

    #[test]
    fn weak_passwords_bad_usernames_and_duplicates_are_refused() {
        let store = store_with_budi();
        let add = |name: &str, pw: &str| {
            add_officer(
                &store,
                name,
                "X",
                Role::Officer,
                &Password::new(pw.into()),
                &SystemClock,
            )
        };
        assert!(matches!(
            add("siti", "short"),
            Err(AccountError::WeakPassword)
        ));
        assert!(matches!(
            add("Siti Rahayu", "long enough pw"),
            Err(AccountError::InvalidUsername)
        ));
        assert!(matches!(
            add("budi", "long enough pw"),
            Err(AccountError::Exists(_))
        ));
    }

    #[test]
    fn a_name_no_account_has_locks_like_a_real_account_so_the_answer_tells_nothing() {
        let store = store_with_budi();
        let clock = ManualClock::new(time::macros::datetime!(2026-11-23 08:00 UTC));
        let wrong = Password::new("wrong horse 1".into());
        let answers = |name: &str| -> Vec<String> {
            (0..=MAX_FAILED_LOGINS)
                .map(|_| match login(&store, name, &wrong, &clock) {
                    Err(LoginError::BadCredentials) => "bad".to_owned(),
                    Err(LoginError::LockedOut { until }) => format!("locked until {until}"),
                    other => format!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(
            answers("budi"),
            answers("nobody"),
            "an unknown name is answered exactly as a real one"
        );
        clock.advance(LOCKOUT + time::Duration::seconds(1));
        assert!(matches!(
            login(&store, "nobody", &wrong, &clock),
            Err(LoginError::BadCredentials)
        ));
    }

    #[test]
    fn passwords_never_appear_in_debug_output() {
        assert_eq!(
            format!("{:?}", Password::new("secret".into())),
            "Password([redacted])"
        );
    }

    #[test]
    fn the_account_list_shows_roles_and_a_lock_only_while_it_lasts() {
        let store = store_with_budi();
        add_officer(
            &store,
            "ana",
            "Ana Putri",
            Role::Administrator,
            &Password::new("admin horse 12".into()),
            &SystemClock,
        )
        .expect("add");
        let clock = ManualClock::new(time::macros::datetime!(2026-11-23 08:00 UTC));
        let wrong = Password::new("wrong horse 1".into());
        for _ in 0..MAX_FAILED_LOGINS {
            let _ = login(&store, "budi", &wrong, &clock);
        }
        let listed = accounts(&store, &clock).expect("accounts");
        assert_eq!(
            listed
                .iter()
                .map(|a| (a.username.as_str(), a.role, a.locked_until.as_deref()))
                .collect::<Vec<_>>(),
            [
                ("ana", Role::Administrator, None),
                ("budi", Role::Officer, Some("08:15"))
            ]
        );
        clock.advance(time::Duration::minutes(16));
        let listed = accounts(&store, &clock).expect("accounts");
        assert_eq!(listed[1].locked_until, None, "an expired lock is not shown");
    }

    #[test]
    fn a_reset_password_replaces_the_old_one_and_lifts_the_lock() {
        let store = store_with_budi();
        let clock = ManualClock::new(time::macros::datetime!(2026-11-23 08:00 UTC));
        let wrong = Password::new("wrong horse 1".into());
        for _ in 0..MAX_FAILED_LOGINS {
            let _ = login(&store, "budi", &wrong, &clock);
        }
        assert!(matches!(
            reset_password(&store, "budi", &Password::new("short".into())),
            Err(AccountError::WeakPassword)
        ));
        assert!(matches!(
            reset_password(&store, "siti", &Password::new("a new password 1".into())),
            Err(AccountError::Unknown(_))
        ));
        reset_password(&store, "budi", &Password::new("a new password 1".into())).expect("reset");
        login(
            &store,
            "budi",
            &Password::new("a new password 1".into()),
            &clock,
        )
        .expect("the new password opens the account at once");
        assert!(matches!(
            login(
                &store,
                "budi",
                &Password::new("correct horse 1".into()),
                &clock
            ),
            Err(LoginError::BadCredentials)
        ));
    }

    #[test]
    fn an_account_is_removed_with_its_draft_but_never_the_last_administrator_or_oneself() {
        let store = store_with_budi();
        for (name, role) in [("ana", Role::Administrator), ("eko", Role::Administrator)] {
            add_officer(
                &store,
                name,
                name,
                role,
                &Password::new("admin horse 12".into()),
                &SystemClock,
            )
            .expect("add");
        }
        store
            .put_draft("budi", b"sealed draft", "2026-11-23T08:00:00Z")
            .expect("draft");
        assert!(matches!(
            remove(&store, "ana", "ana"),
            Err(AccountError::Yourself)
        ));
        remove(&store, "budi", "ana").expect("remove an officer");
        assert_eq!(
            store.draft("budi").expect("read"),
            None,
            "the draft goes too"
        );
        assert!(matches!(
            remove(&store, "budi", "ana"),
            Err(AccountError::Unknown(_))
        ));
        remove(&store, "eko", "ana").expect("one of two administrators");
        assert!(matches!(
            remove(&store, "ana", "someone"),
            Err(AccountError::LastAdministrator(_))
        ));
        assert_eq!(
            accounts(&store, &SystemClock)
                .expect("list")
                .iter()
                .map(|a| a.username.as_str())
                .collect::<Vec<_>>(),
            ["ana"]
        );
    }

    #[test]
    fn a_new_account_is_checked_before_anything_is_stored() {
        let good = Password::new("long enough 1".into());
        assert!(matches!(
            check_new_account("Budi Santoso", &good),
            Err(AccountError::InvalidUsername)
        ));
        assert!(matches!(
            check_new_account("budi", &Password::new("short".into())),
            Err(AccountError::WeakPassword)
        ));
        check_new_account("budi.santoso", &good).expect("valid");
    }

    #[test]
    fn five_wrong_passwords_lock_the_account_until_the_lock_expires() {
        let store = store_with_budi();
        let clock = ManualClock::new(time::macros::datetime!(2026-11-23 08:00 UTC));
        let wrong = Password::new("wrong horse 1".into());
        let right = Password::new("correct horse 1".into());
        for _ in 1..MAX_FAILED_LOGINS {
            assert!(matches!(
                login(&store, "budi", &wrong, &clock),
                Err(LoginError::BadCredentials)
            ));
        }
        let locked = login(&store, "budi", &wrong, &clock).expect_err("fifth failure");
        assert!(
            matches!(&locked, LoginError::LockedOut { until } if until == "08:15"),
            "{locked:?}"
        );
        clock.advance(time::Duration::minutes(14));
        assert!(
            matches!(
                login(&store, "budi", &right, &clock),
                Err(LoginError::LockedOut { .. })
            ),
            "even the right password must not open a locked account"
        );
        clock.advance(time::Duration::minutes(2));
        login(&store, "budi", &right, &clock).expect("the lock has expired");
        for _ in 1..MAX_FAILED_LOGINS {
            assert!(matches!(
                login(&store, "budi", &wrong, &clock),
                Err(LoginError::BadCredentials)
            ));
        }
        login(&store, "budi", &right, &clock).expect("a good login resets the count");
    }

    #[test]
    fn only_supervisors_approve_and_technicians_never_see_applicants() {
        assert!(
            !Role::Officer.may(Permission::Approve),
            "an officer cannot approve"
        );
        assert!(Role::Supervisor.may(Permission::Approve));
        assert!(!Role::Technician.may(Permission::ViewApplicants));
        assert!(!Role::Technician.may(Permission::Enroll));
        assert!(Role::Technician.may(Permission::RunSelfTests));
        assert!(!Role::Administrator.may(Permission::ViewApplicants));
    }
}
