//! `fprint-helper`: drives libfprint for the station in a process of its own.
//!
//! libfprint's blocking API deadlocks in a process whose main thread runs the GTK/Tauri event
//! loop, so the station never links it: the libfprint backend (`station_hardware::libfprint`)
//! runs this helper and reads one JSON object per line from its standard output.
//!
//! - `fprint-helper list` → `{"event":"devices","devices":[{"id","name","driver","capture"}]}`
//! - `fprint-helper capture ID` → `{"event":"waiting"}` once the reader waits for a finger, then
//!   `{"event":"image","width","height","ppmm","pixels"}` (pixels base64, 8-bit grey) or
//!   `{"event":"error","kind","message"}` with kind `not_found`, `busy`, `unsupported` or `failed`.

use std::io::Write;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use libfprint_rs::{FpContext, FpDevice};
use serde_json::json;

fn emit(value: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn error(kind: &str, message: impl std::fmt::Display) -> std::process::ExitCode {
    emit(&json!({"event": "error", "kind": kind, "message": message.to_string()}));
    std::process::ExitCode::FAILURE
}

/// Whether the reader returns images. (libfprint-rs does not export its feature enum, so the
/// features are compared by name.)
fn can_capture(device: &FpDevice) -> bool {
    device
        .features()
        .iter()
        .any(|feature| format!("{feature:?}") == "Capture")
}

fn id_of(device: &FpDevice) -> String {
    format!("{}/{}", device.driver(), device.device_id())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let context = FpContext::new();
    let devices = context.devices();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["list"] => {
            let list: Vec<_> = devices
                .iter()
                .map(|device| {
                    json!({
                        "id": id_of(device),
                        "name": device.name(),
                        "driver": device.driver(),
                        "capture": can_capture(device),
                    })
                })
                .collect();
            emit(&json!({"event": "devices", "devices": list}));
            std::process::ExitCode::SUCCESS
        }
        ["capture", id] => {
            let Some(device) = devices.iter().find(|device| id_of(device) == id) else {
                return error("not_found", format!("no libfprint reader {id}"));
            };
            if !can_capture(device) {
                return error(
                    "unsupported",
                    format!("{} cannot return images", device.name()),
                );
            }
            if let Err(e) = device.open_sync(None) {
                let kind = if e.message().contains("busy") {
                    "busy"
                } else {
                    "failed"
                };
                return error(
                    kind,
                    format!("cannot open {}: {}", device.name(), e.message()),
                );
            }
            emit(&json!({"event": "waiting"}));
            let image = device.capture_sync(true, None);
            let _ = device.close_sync(None);
            match image {
                Ok(image) => {
                    emit(&json!({
                        "event": "image",
                        "width": image.width(),
                        "height": image.height(),
                        "ppmm": image.ppmm(),
                        "pixels": STANDARD.encode(image.data()),
                    }));
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => error("failed", format!("capture failed: {}", e.message())),
            }
        }
        _ => error(
            "failed",
            "usage: fprint-helper list | fprint-helper capture ID",
        ),
    }
}
