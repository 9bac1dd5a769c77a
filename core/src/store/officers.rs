//! The `officers` table: who may log in, with which role, and their password hash.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

pub(super) const MIGRATION_1: &str = "
CREATE TABLE officers (
    username      TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('officer', 'supervisor', 'technician', 'administrator')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);";

/// What [`Store::delete_officer`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The account and its draft are gone.
    Removed,
    /// There was no such account.
    NoSuchAccount,
    /// It is the last administrator: kept, or nobody could manage accounts.
    LastAdministrator,
}

/// One stored officer account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerRow {
    /// Login name.
    pub username: String,
    /// Name shown in the app.
    pub display_name: String,
    /// `officer`, `supervisor`, `technician` or `administrator`.
    pub role: String,
    /// Argon2id PHC string.
    pub password_hash: String,
}

pub(super) const MIGRATION_3: &str = "
ALTER TABLE officers ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE officers ADD COLUMN locked_until TEXT;";

/// Each account row carries a MAC under the data key over its name, role and password hash
/// ([`Store::sealed_by`]): a role changed or a hash swapped in the database is refused at
/// login.
pub(super) const MIGRATION_12: &str = "
ALTER TABLE officers ADD COLUMN seal TEXT;";

/// Failed logins under names no account has, counted as for real accounts, so that a lockout
/// answer does not tell which usernames exist.
pub(super) const MIGRATION_13: &str = "
CREATE TABLE unknown_logins (
    username      TEXT PRIMARY KEY,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT
);";

const SEAL_CONTEXT: &str = "officers";

fn seal_message(row: &OfficerRow) -> Vec<u8> {
    [
        row.username.as_str(),
        &row.display_name,
        &row.role,
        &row.password_hash,
    ]
    .iter()
    .flat_map(|field| {
        let mut bytes = u32::try_from(field.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes()
            .to_vec();
        bytes.extend_from_slice(field.as_bytes());
        bytes
    })
    .collect()
}

impl Store {
    /// Counts a failed login; once `max_failures` consecutive failures are reached the account
    /// is locked until `lock_until` (RFC 3339). Returns the failures counted so far.
    ///
    /// # Errors
    /// When the database fails.
    pub fn record_failed_login(
        &self,
        username: &str,
        max_failures: u32,
        lock_until: &str,
    ) -> Result<u32, StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE officers SET failed_logins = failed_logins + 1,
                     locked_until = CASE WHEN failed_logins + 1 >= ?2 THEN ?3 ELSE locked_until END
                 WHERE username = ?1",
                params![username, max_failures, lock_until],
            )?;
            Ok(c.query_row(
                "SELECT failed_logins FROM officers WHERE username = ?1",
                [username],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
        })
    }

    /// Clears the failure count and any lock, after a good login or an expired lock.
    ///
    /// # Errors
    /// When the database fails.
    pub fn reset_failed_logins(&self, username: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE officers SET failed_logins = 0, locked_until = NULL WHERE username = ?1",
                [username],
            )?;
            Ok(())
        })
    }

    /// Until when the account is locked (RFC 3339), if it is.
    ///
    /// # Errors
    /// When the database fails.
    pub fn locked_until(&self, username: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT locked_until FROM officers WHERE username = ?1",
                [username],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
        })
    }

    /// Counts a failed login under `username`, a name no account has, as
    /// [`Store::record_failed_login`] does for accounts; returns the failures counted and the
    /// end of the lock, if locked.
    ///
    /// # Errors
    /// When the database fails.
    pub fn record_unknown_login(
        &self,
        username: &str,
        max_failures: u32,
        lock_until: &str,
        now: &str,
    ) -> Result<(u32, Option<String>), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            // Names whose lock has passed are forgotten: the table stays small.
            tx.execute(
                "DELETE FROM unknown_logins WHERE locked_until IS NOT NULL AND locked_until <= ?1",
                [now],
            )?;
            tx.execute(
                "INSERT INTO unknown_logins (username) VALUES (?1) ON CONFLICT (username) DO NOTHING",
                [username],
            )?;
            let locked: Option<String> = tx.query_row(
                "SELECT locked_until FROM unknown_logins WHERE username = ?1",
                [username],
                |r| r.get(0),
            )?;
            if locked.is_some() {
                tx.commit()?;
                return Ok((max_failures, locked));
            }
            tx.execute(
                "UPDATE unknown_logins SET failed_logins = failed_logins + 1,
                     locked_until = CASE WHEN failed_logins + 1 >= ?2 THEN ?3 END
                 WHERE username = ?1",
                params![username, max_failures, lock_until],
            )?;
            let counted: (u32, Option<String>) = tx.query_row(
                "SELECT failed_logins, locked_until FROM unknown_logins WHERE username = ?1",
                [username],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            tx.commit()?;
            Ok(counted)
        })
    }

    /// Adds an officer.
    ///
    /// # Errors
    /// When the username is taken or the database fails.
    pub fn insert_officer(&self, row: &OfficerRow, created_at: &str) -> Result<(), StoreError> {
        let seal = self.row_seal(row);
        self.with(|c| {
            c.execute(
                "INSERT INTO officers (username, display_name, role, password_hash, created_at, seal)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    row.username,
                    row.display_name,
                    row.role,
                    row.password_hash,
                    created_at,
                    seal
                ],
            )?;
            Ok(())
        })
    }

    fn row_seal(&self, row: &OfficerRow) -> Option<String> {
        self.seal_key()
            .map(|key| key.row_mac(SEAL_CONTEXT, &seal_message(row)))
    }

    /// Seals every account row that has no seal yet (a station from a build before seals,
    /// done once: the configuration records it). Returns how many were sealed.
    ///
    /// # Errors
    /// When the database fails.
    pub fn seal_unsealed_officers(&self) -> Result<usize, StoreError> {
        let rows: Vec<OfficerRow> = self.with(|c| {
            let mut statement = c.prepare(
                "SELECT username, display_name, role, password_hash FROM officers
                 WHERE seal IS NULL",
            )?;
            let rows = statement.query_map([], read_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })?;
        for row in &rows {
            let seal = self.row_seal(row);
            self.with(|c| {
                c.execute(
                    "UPDATE officers SET seal = ?2 WHERE username = ?1",
                    params![row.username, seal],
                )?;
                Ok(())
            })?;
        }
        Ok(rows.len())
    }

    /// Every account, by username, with the time its lock ends if it is locked (RFC 3339;
    /// possibly already past).
    ///
    /// # Errors
    /// When the database fails.
    pub fn officers(&self) -> Result<Vec<(OfficerRow, Option<String>)>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT username, display_name, role, password_hash, locked_until
                 FROM officers ORDER BY username",
            )?;
            let rows = statement.query_map([], |r| {
                Ok((
                    OfficerRow {
                        username: r.get(0)?,
                        display_name: r.get(1)?,
                        role: r.get(2)?,
                        password_hash: r.get(3)?,
                    },
                    r.get(4)?,
                ))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Replaces an account's password hash and clears any lock; false when there is no such
    /// account.
    ///
    /// # Errors
    /// When the database fails.
    pub fn set_password_hash(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        // The seal covers the stored name and role as they are: a row altered before the reset
        // stays refused (its old seal is checked first).
        let Some(row) = self.find_officer(username)? else {
            return Ok(false);
        };
        let row = OfficerRow {
            password_hash: password_hash.to_owned(),
            ..row
        };
        let seal = self.row_seal(&row);
        self.with(|c| {
            let changed = c.execute(
                "UPDATE officers SET password_hash = ?2, seal = ?3, failed_logins = 0,
                                     locked_until = NULL
                 WHERE username = ?1",
                params![username, password_hash, seal],
            )?;
            Ok(changed == 1)
        })
    }

    /// Deletes an account and its saved draft, unless it is the last administrator. The check
    /// and the deletion are one transaction.
    ///
    /// # Errors
    /// When the database fails.
    pub fn delete_officer(&self, username: &str) -> Result<Removal, StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let role: Option<String> = tx
                .query_row(
                    "SELECT role FROM officers WHERE username = ?1",
                    [username],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(role) = role else {
                return Ok(Removal::NoSuchAccount);
            };
            if role == "administrator" {
                let administrators: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM officers WHERE role = 'administrator'",
                    [],
                    |r| r.get(0),
                )?;
                if administrators <= 1 {
                    return Ok(Removal::LastAdministrator);
                }
            }
            tx.execute("DELETE FROM drafts WHERE officer = ?1", [username])?;
            tx.execute("DELETE FROM officers WHERE username = ?1", [username])?;
            tx.commit()?;
            Ok(Removal::Removed)
        })
    }

    /// Finds an officer by username.
    ///
    /// # Errors
    /// When the database fails.
    /// Finds an officer by username. On a sealed store the row's seal must hold.
    ///
    /// # Errors
    /// [`StoreError::Tampered`] when the row was changed outside the station; database errors.
    pub fn find_officer(&self, username: &str) -> Result<Option<OfficerRow>, StoreError> {
        let found = self.with(|c| {
            Ok(c.query_row(
                "SELECT username, display_name, role, password_hash, seal FROM officers
                 WHERE username = ?1",
                [username],
                |r| Ok((read_row(r)?, r.get::<_, Option<String>>(4)?)),
            )
            .optional()?)
        })?;
        let Some((row, seal)) = found else {
            return Ok(None);
        };
        if let Some(expected) = self.row_seal(&row) {
            if seal.as_deref() != Some(expected.as_str()) {
                return Err(StoreError::Tampered(format!(
                    "the account {:?} was changed outside the station (its role, name or password); an administrator must remove it and add it again",
                    row.username
                )));
            }
        }
        Ok(Some(row))
    }
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OfficerRow> {
    Ok(OfficerRow {
        username: r.get(0)?,
        display_name: r.get(1)?,
        role: r.get(2)?,
        password_hash: r.get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(username: &str) -> OfficerRow {
        OfficerRow {
            username: username.into(),
            display_name: "Budi".into(),
            role: "officer".into(),
            password_hash: "$argon2id$stub".into(),
        }
    }

    #[test]
    fn an_inserted_officer_is_found_and_a_duplicate_refused() {
        let store = Store::open_in_memory().expect("store");
        store
            .insert_officer(&row("budi"), "2026-11-23T00:00:00Z")
            .expect("insert");
        assert_eq!(store.find_officer("budi").expect("find"), Some(row("budi")));
        assert_eq!(store.find_officer("nobody").expect("find"), None);
        assert!(store
            .insert_officer(&row("budi"), "2026-11-23T00:00:00Z")
            .is_err());
    }

    #[test]
    fn an_unknown_role_is_refused_by_the_schema() {
        let store = Store::open_in_memory().expect("store");
        let bad = OfficerRow {
            role: "janitor".into(),
            ..row("x")
        };
        assert!(store.insert_officer(&bad, "2026-11-23T00:00:00Z").is_err());
    }
}
