//! The vault key kept in the OS keyring, against a real Secret Service (GNOME Keyring in a
//! private D-Bus session: `scripts/test.sh` starts one and runs these with `--ignored`).

use std::fs;
use std::process::Command;

use protocol::keys::{ServerDecryptionKey, StationSigningKey};
use protocol::random::SystemRandom;
use station_core::keyring;
use station_core::station::{write_config, OpenError, Station, StationConfig, StationPaths};
use station_core::vault::{self, Passphrase, Protection, VaultError};

fn keyring_station(dir: &std::path::Path) -> StationPaths {
    assert!(
        keyring::available(),
        "no Secret Service: run under dbus-run-session with gnome-keyring unlocked"
    );
    let paths = StationPaths::new(dir);
    let key = StationSigningKey::generate(&SystemRandom).expect("key");
    let keys = vault::create_in_keyring(&paths.vault(), key).expect("vault in the keyring");
    let config = StationConfig {
        station_id: uuid::Uuid::new_v4(),
        station_name: "Keyring desk".into(),
        server_url: "http://127.0.0.1:9".into(),
        server_encryption_key: ServerDecryptionKey::generate(&SystemRandom)
            .expect("key")
            .public_key(),
        server_receipt_key: StationSigningKey::from_seed(&[3; 32])
            .expect("key")
            .public_key(),
        retention_days: 30,
        server_certificate_sha256: None,
        officers_sealed: true,
        seal: None,
    };
    write_config(&paths, &config, &keys.data_key).expect("config");
    paths
}

fn keyring_item(paths: &StationPaths) -> String {
    let vault: serde_json::Value =
        serde_json::from_slice(&fs::read(paths.vault()).expect("vault")).expect("json");
    vault["keyring_item"].as_str().expect("item").to_owned()
}

#[test]
#[ignore = "needs a Secret Service; scripts/test.sh provides one"]
fn a_station_protected_by_the_keyring_opens_without_a_passphrase_and_keeps_no_key_on_disk() {
    let dir = tempfile::tempdir().expect("dir");
    let paths = keyring_station(dir.path());
    assert_eq!(
        vault::protection(&paths.vault()).expect("vault"),
        Protection::Keyring
    );
    let station = Station::open_from_keyring(paths.clone()).expect("opens from the keyring");

    // The vault file does not hold the key that opens it.
    let key_in_keyring = keyring::lookup(&keyring_item(&paths)).expect("entry");
    let vault_file = fs::read(paths.vault()).expect("vault");
    assert!(!vault_file
        .windows(key_in_keyring.len())
        .any(|w| w == key_in_keyring.as_slice()));

    // A passphrase is not what opens it, and says so.
    let with_passphrase = Station::open(paths.clone(), &Passphrase::new("any passphrase".into()));
    assert!(matches!(
        with_passphrase,
        Err(OpenError::Vault(VaultError::UsesKeyring))
    ));

    // The CLI opens it from the keyring too: no passphrase in the environment.
    drop(station);
    let output = Command::new(env!("CARGO_BIN_EXE_station"))
        .args(["self-test", "--data-dir"])
        .arg(dir.path())
        .env_remove("STATION_PASSPHRASE")
        .env_remove("STATION_PASSPHRASE_FILE")
        .output()
        .expect("run station");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("crypto") && stdout.contains("PASS"),
        "{stdout}"
    );
    keyring::remove(&keyring_item(&paths)).expect("clean up");
}

#[test]
#[ignore = "needs a Secret Service; scripts/test.sh provides one"]
fn a_copied_data_directory_does_not_open_for_a_user_whose_keyring_lacks_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let paths = keyring_station(dir.path());
    // The thief's machine: same files, a keyring without the entry.
    keyring::remove(&keyring_item(&paths)).expect("remove the entry");
    let result = Station::open_from_keyring(paths);
    let message = match result {
        Err(error @ OpenError::Vault(VaultError::Keyring(keyring::KeyringError::NotFound))) => {
            error.to_string()
        }
        other => panic!("expected a missing keyring entry, got {other:?}"),
    };
    assert!(
        message.contains("does not hold the station's key"),
        "{message}"
    );
}
