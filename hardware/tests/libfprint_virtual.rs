//! The libfprint backend against libfprint's own `virtual_image` driver: a synthetic print fed
//! through its socket comes back from a capture pixel for pixel.
#![cfg(feature = "libfprint")]

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use formats::FingerPosition;
use station_hardware::libfprint::LibfprintHost;
use station_hardware::simulated::render_fingerprint;
use station_hardware::{FingerprintScanner, Host};

#[test]
fn a_print_fed_to_libfprints_virtual_reader_is_captured_pixel_for_pixel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("virtual-image.sock");
    let host = LibfprintHost::new(env!("CARGO_BIN_EXE_fprint-helper"))
        .with_env("FP_VIRTUAL_IMAGE", &socket)
        .with_capture_timeout(Duration::from_secs(30));
    let devices = host.devices().expect("the helper lists devices");
    let virtual_reader = devices
        .iter()
        .find(|device| device.id.starts_with("virtual_image/"))
        .unwrap_or_else(|| panic!("libfprint's virtual_image reader is listed: {devices:?}"));
    let reader = host.reader(&virtual_reader.id).expect("opens");
    assert_eq!(reader.info().backend, "libfprint");

    let print = render_fingerprint(21, FingerPosition::LeftThumb);
    let (waiting_tx, waiting) = mpsc::channel();
    let capture = std::thread::spawn(move || {
        reader.capture_notify(move || {
            let _ = waiting_tx.send(());
        })
    });
    waiting
        .recv_timeout(Duration::from_secs(20))
        .expect("the reader waits for a finger");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut feeder = loop {
        match UnixStream::connect(&socket) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => panic!("the virtual reader's socket never opened: {error}"),
        }
    };
    std::thread::sleep(Duration::from_millis(300));
    let mut message = Vec::new();
    message.extend_from_slice(&(print.width() as i32).to_ne_bytes());
    message.extend_from_slice(&(print.height() as i32).to_ne_bytes());
    message.extend_from_slice(print.pixels());
    feeder.write_all(&message).expect("feeds the image");
    let captured = capture
        .join()
        .expect("capture thread")
        .expect("the capture returns the fed image");
    assert_eq!(
        (captured.width(), captured.height()),
        (print.width(), print.height())
    );
    assert!(
        captured.pixels() == print.pixels(),
        "the pixels must come back unchanged"
    );
}
