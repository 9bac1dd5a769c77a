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

    /// Adds an officer.
    ///
    /// # Errors
    /// When the username is taken or the database fails.
    pub fn insert_officer(&self, row: &OfficerRow, created_at: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO officers (username, display_name, role, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    row.username,
                    row.display_name,
                    row.role,
                    row.password_hash,
                    created_at
                ],
            )?;
            Ok(())
        })
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
        self.with(|c| {
            let changed = c.execute(
                "UPDATE officers SET password_hash = ?2, failed_logins = 0, locked_until = NULL
                 WHERE username = ?1",
                params![username, password_hash],
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
    pub fn find_officer(&self, username: &str) -> Result<Option<OfficerRow>, StoreError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT username, display_name, role, password_hash FROM officers WHERE username = ?1",
                [username],
                |r| {
                    Ok(OfficerRow {
                        username: r.get(0)?,
                        display_name: r.get(1)?,
                        role: r.get(2)?,
                        password_hash: r.get(3)?,
                    })
                },
            )
            .optional()?)
        })
    }
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
