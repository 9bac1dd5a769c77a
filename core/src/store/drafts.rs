//! The `drafts` table: each officer's enrollment in progress, sealed under the station's data
//! key (see [`crate::drafts`]), so a crash or a restart loses nothing and a copied disk reveals
//! nothing. A draft is removed in the same transaction that stores its submitted enrollment.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

pub(super) const MIGRATION_5: &str = "
CREATE TABLE drafts (
    officer    TEXT PRIMARY KEY,
    sealed     BLOB NOT NULL,
    updated_at TEXT NOT NULL
);";

impl Store {
    /// Stores (or replaces) `officer`'s sealed draft.
    ///
    /// # Errors
    /// When the database fails; the earlier draft is kept then.
    pub fn put_draft(&self, officer: &str, sealed: &[u8], at: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO drafts (officer, sealed, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (officer) DO UPDATE SET sealed = ?2, updated_at = ?3",
                params![officer, sealed, at],
            )?;
            Ok(())
        })
    }

    /// `officer`'s sealed draft, if any.
    ///
    /// # Errors
    /// When the database fails.
    pub fn draft(&self, officer: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT sealed FROM drafts WHERE officer = ?1",
                [officer],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// Removes `officer`'s draft (the officer started over).
    ///
    /// # Errors
    /// When the database fails.
    pub fn delete_draft(&self, officer: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute("DELETE FROM drafts WHERE officer = ?1", [officer])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_is_replaced_read_back_and_removed() {
        let store = Store::open_in_memory().expect("store");
        assert_eq!(store.draft("budi").expect("read"), None);
        store.put_draft("budi", b"one", "t1").expect("put");
        store.put_draft("budi", b"two", "t2").expect("replace");
        assert_eq!(store.draft("budi").expect("read"), Some(b"two".to_vec()));
        store.delete_draft("budi").expect("delete");
        assert_eq!(store.draft("budi").expect("read"), None);
    }
}
