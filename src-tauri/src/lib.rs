//! The enrollment station desktop app: a thin Tauri shell over `station-core`.
//!
//! - [`state`]: the few managed handles (station, devices, session, draft, sync).
//! - [`commands`]: one `#[tauri::command]` per UI action, each calling one core function.
//! - [`view`]: the UI-shaped payloads, converted from domain types here and nowhere else.
//! - [`error`]: the one error shape the UI receives, `{ code, message, fields }`.

mod commands;
mod error;
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
    let result = tauri::Builder::default()
        .setup(move |app| {
            app_state.manage_into(app.handle());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::station_status,
            commands::unlock_station,
            commands::login,
            commands::logout,
            commands::start_enrollment,
            commands::resume_enrollment,
            commands::save_form,
            commands::validate_form,
            commands::capture_face,
            commands::face_live,
            commands::face_live_stop,
            commands::capture_set,
            commands::fingers_live,
            commands::fingers_live_stop,
            commands::submit_enrollment,
            commands::list_enrollments,
            commands::sync_now,
            commands::pause_sync,
            commands::resume_sync,
            commands::sync_status,
        ])
        .run(tauri::generate_context!());
    if let Err(error) = result {
        tracing::error!(%error, "the app stopped with an error");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
            .into_iter()
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
