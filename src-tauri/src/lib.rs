//! The enrollment station desktop app: a thin Tauri shell over `station-core`.
//!
//! - [`state`]: the few managed handles (station, devices, session, desk, sync).
//! - [`commands`]: one `#[tauri::command]` per UI action, each adapting one
//!   `station_core::actions` function.
//! - [`view`]: the UI-shaped payloads, converted from domain types here and nowhere else.
//! - [`setup`]: the technician's and administrator's commands (setup, settings, accounts).
//! - [`error`]: the one error shape the UI receives, `{ code, message, fields }`.

mod commands;
mod error;
mod setup;
mod state;
mod view;

use std::path::PathBuf;

use station_core::station::default_data_dir;

/// Where the station's data lives: `--data-dir PATH`, else `STATION_DATA_DIR`, else the
/// default data directory.
fn data_dir_from(args: impl Iterator<Item = String>) -> PathBuf {
    let args: Vec<String> = args.collect();
    let from_flag = args.iter().enumerate().find_map(|(i, arg)| {
        arg.strip_prefix("--data-dir=")
            .map(str::to_owned)
            .or_else(|| {
                (arg == "--data-dir")
                    .then(|| args.get(i + 1).cloned())
                    .flatten()
            })
    });
    from_flag
        .or_else(|| {
            std::env::var("STATION_DATA_DIR")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .map(PathBuf::from)
        .unwrap_or_else(default_data_dir)
}

/// Practice faults to force on the simulated devices from the start: `--drill NAME`
/// (repeatable; e.g. `reader-dry-fingers`, as the technician's self-test names them).
fn drills_from(args: impl Iterator<Item = String>) -> Vec<station_core::devices::Drill> {
    let args: Vec<String> = args.collect();
    args.iter()
        .enumerate()
        .filter_map(|(i, arg)| {
            arg.strip_prefix("--drill=").map(str::to_owned).or_else(|| {
                (arg == "--drill")
                    .then(|| args.get(i + 1).cloned())
                    .flatten()
            })
        })
        .filter_map(|name| {
            serde_json::from_value(serde_json::Value::String(name.clone()))
                .map_err(|_| tracing::warn!(%name, "unknown drill ignored"))
                .ok()
        })
        .collect()
}

/// Every command the UI may call, with the types of their arguments, results and channel
/// messages: the one list both the invoke handler and the UI's TypeScript bindings
/// (`ui/src/bindings.ts`, checked by the `the_typescript_bindings_match_the_commands` test) come from.
pub fn bindings() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(tauri_specta::collect_commands![
            commands::station_status,
            commands::unlock_station,
            commands::login,
            commands::logout,
            commands::start_enrollment,
            commands::resume_enrollment,
            commands::save_form,
            commands::validate_form,
            commands::list_forms,
            commands::blank_form,
            commands::prefill_from_mrz,
            commands::capture_face,
            commands::face_live,
            commands::face_live_stop,
            commands::capture_set,
            commands::fingers_live,
            commands::fingers_live_stop,
            commands::submit_enrollment,
            commands::save_receipt_pdf,
            commands::list_enrollments,
            commands::sync_now,
            commands::pause_sync,
            commands::resume_sync,
            commands::sync_status,
            commands::run_selftest,
            commands::export_selftest,
            commands::declare_exception,
            commands::take_exception_photo,
            commands::list_approvals,
            commands::decide_approval,
            setup::provision_station,
            setup::station_settings,
            setup::save_settings,
            setup::change_station_passphrase,
            setup::list_accounts,
            setup::add_account,
            setup::reset_password,
            setup::remove_account,
        ])
        // Errors reach the UI thrown as `CommandError` ({ code, message, fields }).
        .error_handling(tauri_specta::ErrorHandlingMode::Throw)
        // Byte counts and sizes are u64 in Rust; none comes near 2^53.
        .dangerously_cast_bigints_to_number()
        // The views only go to the UI and the form only comes from it: one shape each.
        .disable_serde_phases()
}

/// Writes the UI's TypeScript bindings to `path`.
///
/// # Errors
/// When they cannot be rendered or written.
pub fn export_bindings(path: &std::path::Path) -> anyhow::Result<()> {
    bindings()
        .export(
            specta_typescript::Typescript::default()
                .header("// Generated from the Rust commands by `cargo run -p enrollment-station --example export_bindings`: do not edit.\n"),
            path,
        )
        .map_err(|error| anyhow::anyhow!("exporting the TypeScript bindings: {error}"))
}

/// Starts the app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let data_dir = data_dir_from(std::env::args().skip(1));
    tracing::info!(data_dir = %data_dir.display(), "starting the enrollment station");
    let app_state = state::AppState::open(&data_dir);
    for drill in drills_from(std::env::args().skip(1)) {
        if let Err(error) = app_state.devices().current().simulated.drill(drill) {
            tracing::warn!(%error, "drill not applied");
        }
    }
    let result = tauri::Builder::default()
        .setup(move |app| {
            app_state.manage_into(app.handle());
            Ok(())
        })
        .invoke_handler(bindings().invoke_handler())
        .run(tauri::generate_context!());
    if let Err(error) = result {
        tracing::error!(%error, "the app stopped with an error");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typescript_bindings_match_the_commands() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let fresh = dir.path().join("bindings.ts");
        export_bindings(&fresh).expect("export");
        let checked_in =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
        let checked_in = std::fs::read_to_string(&checked_in).unwrap_or_default();
        let fresh = std::fs::read_to_string(&fresh).expect("read the fresh bindings");
        assert!(
            checked_in == fresh,
            "ui/src/bindings.ts is out of date with the Rust commands: run \
             `cargo run -p enrollment-station --example export_bindings` and commit the result"
        );
    }

    /// The text `ui/src/rules.ts`'s `ERROR_TEXTS` gives `code` (the UI translates these by code).
    fn ui_error_text(code: &str) -> String {
        let main = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/rules.ts");
        let main = std::fs::read_to_string(main).expect("read ui/src/rules.ts");
        let start = format!("  {code}: N(\"");
        let line = main
            .lines()
            .find(|line| line.starts_with(&start))
            .unwrap_or_else(|| panic!("ERROR_TEXTS has no {code}"));
        line[start.len()..]
            .trim_end_matches("\"),")
            .replace("\\\"", "\"")
    }

    #[test]
    fn the_ui_states_the_rules_rust_enforces_in_the_same_words() {
        use station_core::officers::{AccountError, LoginError};
        use station_core::vault::VaultError;
        // Rust's fixed messages, as the UI shows (and translates) them: capitalised, full stop.
        for (code, rust) in [
            ("wrong_passphrase", VaultError::WrongPassphrase.to_string()),
            ("weak_passphrase", VaultError::WeakPassphrase.to_string()),
            ("weak_password", AccountError::WeakPassword.to_string()),
            (
                "invalid_username",
                AccountError::InvalidUsername.to_string(),
            ),
            ("bad_credentials", LoginError::BadCredentials.to_string()),
        ] {
            let mut sentence = rust[..1].to_uppercase() + &rust[1..];
            sentence.push('.');
            assert_eq!(ui_error_text(code), sentence, "{code}");
        }
        let days = station_core::station::RETENTION_DAYS;
        let range = format!("{} to {} days", days.start(), days.end());
        assert!(ui_error_text("invalid_retention").contains(&range));
    }

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn drills_are_named_as_the_self_test_names_them_and_unknown_ones_ignored() {
        use station_core::devices::Drill;
        assert_eq!(
            drills_from(args(&[
                "--drill",
                "reader-dry-fingers",
                "--drill=camera-black",
                "--drill",
                "nonsense",
            ])),
            vec![Drill::ReaderDryFingers, Drill::CameraBlack]
        );
    }

    #[test]
    fn the_data_dir_flag_wins_in_both_spellings() {
        assert_eq!(
            data_dir_from(args(&["--data-dir", "/tmp/a"])),
            PathBuf::from("/tmp/a")
        );
        assert_eq!(
            data_dir_from(args(&["--data-dir=/tmp/b"])),
            PathBuf::from("/tmp/b")
        );
    }
}
