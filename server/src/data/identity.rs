//! [`Identity`]: what makes a server this server, whichever backend keeps its data — the key
//! that opens packets, the key that signs receipts, the `/metrics` token and the form versions.
//!
//! ```text
//! <dir>/keys/encryption.key   X25519 secret that opens packets (mode 0600)
//! <dir>/keys/receipt.key      Ed25519 seed that signs receipts (mode 0600)
//! <dir>/keys/metrics.token    bearer token for /metrics (mode 0600)
//! <dir>/forms/*.json          form versions beyond the built-in ones
//! ```
//!
//! The embedded backend keeps them in its data directory. Replicas on a shared database must
//! all hold the same files: the first start makes them, a deployer copies `keys/` to every
//! other replica, and the database remembers which keys it was set up with so a replica with
//! other keys refuses to start rather than seal receipts no station trusts.

use std::fs;
use std::path::{Path, PathBuf};

use protocol::form::{FormLibrary, FormSet};
use protocol::keys::{ServerDecryptionKey, StationSigningKey};
use zeroize::Zeroizing;

use super::{io, keys, DataError};

/// The server's keys and forms, loaded once at start.
pub struct Identity {
    /// The key that opens packets.
    pub encryption_key: ServerDecryptionKey,
    /// The key that signs receipts.
    pub receipt_key: StationSigningKey,
    /// The bearer token `/metrics` asks for: the counters name every station, so they are not
    /// public.
    metrics_token: Zeroizing<String>,
    /// Every version of the enrollment forms packets are checked against.
    pub forms: FormLibrary,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("encryption_key", &self.encryption_key)
            .field("receipt_key", &self.receipt_key.public_key())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Loads `dir/keys` and `dir/forms`, making any key file that is missing.
    ///
    /// # Errors
    /// When a file cannot be read or written, or holds something other than a key or a form.
    pub fn load_or_create(dir: &Path) -> Result<Self, DataError> {
        let keys_dir = dir.join("keys");
        Ok(Self {
            encryption_key: keys::load_or_create_key(&keys_dir.join("encryption.key"))?,
            receipt_key: keys::load_or_create_receipt_key(&keys_dir.join("receipt.key"))?,
            metrics_token: keys::load_or_create_token(&keys_dir.join("metrics.token"))?,
            forms: load_forms(&dir.join("forms"))?,
        })
    }

    /// The bearer token `/metrics` asks for.
    pub fn metrics_token(&self) -> &str {
        &self.metrics_token
    }

    /// What a database remembers of this identity to recognise replicas that share it: the
    /// public halves only.
    pub fn fingerprint(&self) -> String {
        format!(
            "encryption {} receipt {}",
            self.encryption_key.public_key().key_id(),
            self.receipt_key.public_key().to_base64()
        )
    }
}

/// The built-in form definitions, then every `*.json` file in `dir` (by file name): a
/// regulation change is a new file here, and older versions stay so packets from stations not
/// yet updated still check.
fn load_forms(dir: &Path) -> Result<FormLibrary, DataError> {
    let builtin = FormSet::builtin().map_err(|e| DataError::Corrupt(e.to_string()))?;
    let mut sets = vec![builtin];
    let mut files: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(format!("cannot read {}", dir.display()))(e)),
    };
    files.sort();
    for file in files {
        let text =
            fs::read_to_string(&file).map_err(io(format!("cannot read {}", file.display())))?;
        let set = FormSet::parse(&text)
            .map_err(|e| DataError::Corrupt(format!("{}: {e}", file.display())))?;
        sets.push(set);
    }
    Ok(FormLibrary::new(sets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_key_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Identity::load_or_create(dir.path()).expect("open");
        let second = Identity::load_or_create(dir.path()).expect("reopen");
        assert_eq!(
            first.encryption_key.public_key(),
            second.encryption_key.public_key()
        );
        assert_eq!(first.fingerprint(), second.fingerprint());
        assert_eq!(first.metrics_token(), second.metrics_token());
    }

    #[test]
    fn form_versions_dropped_into_the_forms_folder_are_known_next_to_the_built_in_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut newer = FormSet::builtin().expect("builtin");
        let builtin = newer.version.clone();
        newer.version = "2027.01".into();
        fs::create_dir_all(dir.path().join("forms")).expect("mkdir");
        fs::write(
            dir.path().join("forms").join("2027.01.json"),
            serde_json::to_vec(&newer).expect("json"),
        )
        .expect("write");
        let identity = Identity::load_or_create(dir.path()).expect("open");
        assert!(identity.forms.find("wni-passport", &builtin).is_some());
        assert!(identity.forms.find("wni-passport", "2027.01").is_some());
        assert!(identity.forms.find("wni-passport", "2099.01").is_none());

        fs::write(dir.path().join("forms").join("broken.json"), b"{").expect("write");
        let error = Identity::load_or_create(dir.path()).expect_err("broken file");
        assert!(error.to_string().contains("broken.json"), "{error}");
    }
}
