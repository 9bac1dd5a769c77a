//! `station audit verify` against a log that an attacker edited directly in the database.

use std::fs;
use std::path::Path;
use std::process::Command;

use protocol::keys::{ServerDecryptionKey, StationSigningKey};
use protocol::random::SystemRandom;
use station_core::audit::{self, AuditEvent};
use station_core::clock::SystemClock;
use station_core::station::{write_config, Station, StationConfig, StationPaths};
use station_core::vault::{self, Passphrase};

const PASSPHRASE: &str = "audit test passphrase";

fn passphrase() -> Passphrase {
    Passphrase::new(PASSPHRASE.into())
}

/// A station data directory with `entries` audit entries, set up without a server.
fn station_with_log(dir: &Path, entries: usize) {
    let paths = StationPaths::new(dir);
    let key = StationSigningKey::generate(&SystemRandom).expect("key");
    let server = ServerDecryptionKey::generate(&SystemRandom).expect("key");
    let config = StationConfig {
        station_id: uuid::Uuid::new_v4(),
        station_name: "Test desk".into(),
        server_url: "http://127.0.0.1:9".into(),
        server_encryption_key: server.public_key(),
        server_receipt_key: StationSigningKey::from_seed(&[3; 32])
            .expect("key")
            .public_key(),
        retention_days: 30,
        server_certificate_sha256: None,
        officers_sealed: true,
        seal: None,
    };
    let keys = vault::create(&paths.vault(), &passphrase(), key).expect("vault");
    write_config(&paths, &config, &keys.data_key).expect("config");
    let station = Station::open(paths, &passphrase()).expect("open");
    for n in 1..=entries {
        let detail = format!("test action {n}");
        let event = AuditEvent {
            actor: "budi",
            action: "login",
            subject: "",
            detail: &detail,
        };
        audit::record(&station, &event, &SystemClock).expect("record");
    }
}

/// Applies `sql` to a copy of `original` and runs `station audit verify` on it.
fn verify_after(original: &Path, sql: &str) -> (bool, String) {
    let copy = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(copy.path().join("keys")).expect("keys dir");
    for file in ["station.json", "station.db", "keys/vault.json"] {
        fs::copy(original.join(file), copy.path().join(file)).expect("copy station file");
    }
    let db = rusqlite::Connection::open(copy.path().join("station.db")).expect("open db");
    db.execute_batch(sql).expect("tamper");
    drop(db);
    let output = Command::new(env!("CARGO_BIN_EXE_station"))
        .env("STATION_PASSPHRASE", PASSPHRASE)
        .args(["audit", "verify", "--data-dir"])
        .arg(copy.path())
        .output()
        .expect("run station");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn audit_verify_names_every_edit_deletion_reordering_and_truncation() {
    let dir = tempfile::tempdir().expect("tempdir");
    station_with_log(dir.path(), 20);

    let (ok, out) = verify_after(dir.path(), "");
    assert!(ok, "a clean log must verify: {out}");
    assert!(
        out.contains("20 entries, 1 signed checkpoints") && out.contains("intact"),
        "{out}"
    );

    let (ok, out) = verify_after(
        dir.path(),
        "UPDATE audit_log SET detail = 'nothing' WHERE seq = 5;",
    );
    assert!(!ok && out.contains("entry #5 was altered"), "edit: {out}");

    let (ok, out) = verify_after(dir.path(), "DELETE FROM audit_log WHERE seq = 7;");
    assert!(
        !ok && out.contains("1 entry was deleted after entry #6"),
        "deletion: {out}"
    );

    let swap = "
        UPDATE audit_log SET seq = -3 WHERE seq = 3;
        UPDATE audit_log SET seq = 3 WHERE seq = 4;
        UPDATE audit_log SET seq = 4 WHERE seq = -3;";
    let (ok, out) = verify_after(dir.path(), swap);
    assert!(
        !ok && out.contains("entry #3 does not follow"),
        "reordering: {out}"
    );
    assert!(
        !out.contains("altered"),
        "moved entries are reported as moved, not edited: {out}"
    );

    let (ok, out) = verify_after(dir.path(), "DELETE FROM audit_log WHERE seq > 12;");
    assert!(
        !ok && out.contains("entries after #12 were removed"),
        "truncation: {out}"
    );
}
