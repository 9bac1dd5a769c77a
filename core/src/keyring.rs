//! The operating system's keyring, reached through the freedesktop Secret Service (GNOME
//! Keyring, KWallet) with `secret-tool` from `libsecret-tools`. The user's keyring is itself
//! encrypted under their login password and unlocked when they log in to the desktop.
//!
//! Every call has a time limit: a keyring that is locked and waits for a prompt, or a session
//! without one, must not hang the station; it reports [`KeyringError::Unavailable`] instead.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

/// The `service` attribute of every item the station stores.
pub const SERVICE: &str = "enrollment-station";

const TIME_LIMIT: Duration = Duration::from_secs(10);

/// Why the keyring could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// No Secret Service answered (no desktop session, `secret-tool` missing, keyring locked).
    #[error("the OS keyring is not available: {0}")]
    Unavailable(String),
    /// The keyring answered but holds no such item (another user, another machine).
    #[error("the OS keyring of this user does not hold the station's key")]
    NotFound,
}

/// True when a Secret Service answers (a lookup of an item nobody stores comes back empty
/// rather than failing).
pub fn available() -> bool {
    matches!(
        lookup("enrollment-station-availability-probe"),
        Err(KeyringError::NotFound)
    )
}

/// Stores `secret` under the item `item`, replacing an earlier one.
///
/// # Errors
/// [`KeyringError::Unavailable`].
pub fn store(item: &str, label: &str, secret: &[u8]) -> Result<(), KeyringError> {
    let output = run(
        &[
            "store",
            &format!("--label={label}"),
            "service",
            SERVICE,
            "item",
            item,
        ],
        Some(secret),
    )?;
    if output.success {
        Ok(())
    } else {
        Err(KeyringError::Unavailable(output.error))
    }
}

/// The secret stored under `item`.
///
/// # Errors
/// [`KeyringError::NotFound`] when the keyring answers without it; otherwise unavailable.
pub fn lookup(item: &str) -> Result<Zeroizing<Vec<u8>>, KeyringError> {
    let output = run(&["lookup", "service", SERVICE, "item", item], None)?;
    match (output.success, output.stdout.is_empty()) {
        (true, false) => Ok(output.stdout),
        // secret-tool exits 1 with nothing on stderr when the item does not exist.
        (false, true) if output.error.trim().is_empty() => Err(KeyringError::NotFound),
        _ => Err(KeyringError::Unavailable(output.error)),
    }
}

/// Removes the item `item`, if present.
///
/// # Errors
/// [`KeyringError::Unavailable`].
pub fn remove(item: &str) -> Result<(), KeyringError> {
    run(&["clear", "service", SERVICE, "item", item], None).map(drop)
}

struct Output {
    success: bool,
    stdout: Zeroizing<Vec<u8>>,
    error: String,
}

fn run(args: &[&str], input: Option<&[u8]>) -> Result<Output, KeyringError> {
    let unavailable = |e: std::io::Error| KeyringError::Unavailable(format!("secret-tool: {e}"));
    let mut child = Command::new("secret-tool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(unavailable)?;
    if let Some(mut stdin) = child.stdin.take() {
        if let Some(bytes) = input {
            stdin.write_all(bytes).map_err(unavailable)?;
        }
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(unavailable)? {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(KeyringError::Unavailable(format!(
                "no answer within {} s (is the keyring locked?)",
                TIME_LIMIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = Zeroizing::new(Vec::new());
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_end(&mut stdout).map_err(unavailable)?;
    }
    let mut error = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut error).map_err(unavailable)?;
    }
    Ok(Output {
        success: status.success(),
        stdout,
        error: error.trim().to_owned(),
    })
}
