//! Discovery and device information: the two devices, their digital ids, and the signed
//! device-info answer.

use std::net::TcpStream;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hardware::sbi::wire::DigitalId;

use crate::{http, Fault, Shared, FACE_DEVICE, FINGER_DEVICE};

pub(crate) fn digital_id(kind: &str) -> DigitalId {
    DigitalId {
        serial_no: if kind == "Face" {
            "SIM-FACE-0001"
        } else {
            "SIM-SLAP-0001"
        }
        .into(),
        make: "Simulated".into(),
        model: if kind == "Face" {
            "Face Camera"
        } else {
            "Slap Reader 4-4-2"
        }
        .into(),
        kind: kind.into(),
        device_sub_type: if kind == "Face" { "Full face" } else { "Slap" }.into(),
        device_provider: "Simulated Device Provider".into(),
        device_provider_id: "SIM".into(),
        date_time: now_string(0),
    }
}

pub(crate) fn now_string(offset_secs: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs))
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn device_entries(shared: &Shared, signed_ids: bool) -> Vec<serde_json::Value> {
    let status = shared.state().status.clone();
    [
        (FINGER_DEVICE, "Finger", vec!["1", "2", "3"]),
        (FACE_DEVICE, "Face", vec!["0"]),
    ]
    .into_iter()
    .map(|(id, kind, subs)| {
        let digital = serde_json::to_vec(&digital_id(kind)).unwrap_or_default();
        let digital_id = if signed_ids {
            shared
                .provider
                .device
                .sign(&digital, false)
                .unwrap_or_default()
        } else {
            URL_SAFE_NO_PAD.encode(&digital)
        };
        serde_json::json!({
            "deviceId": id,
            "deviceStatus": status,
            "certification": "L0",
            "serviceVersion": "1.0.0",
            "deviceSubId": subs,
            "callbackId": format!("http://127.0.0.1:{}/", shared.port),
            "digitalId": digital_id,
            "deviceCode": format!("SIM-{kind}-CODE"),
            "specVersion": shared.spec_versions,
            "purpose": "Registration",
            "firmware": "sim-1.0",
            "env": "Developer",
            "error": {"errorCode": "0", "errorInfo": "Success"},
        })
    })
    .collect()
}

pub(crate) fn discover(shared: &Shared, stream: &TcpStream) {
    http::json(
        stream,
        200,
        &serde_json::Value::Array(device_entries(shared, false)),
    );
}

pub(crate) fn info(shared: &Shared, stream: &TcpStream) {
    let fault = shared.state().fault;
    let signer = if fault == Some(Fault::UntrustedCertificate) {
        &shared.provider.rogue
    } else {
        &shared.provider.device
    };
    let entries: Vec<serde_json::Value> = device_entries(shared, true)
        .into_iter()
        .map(|mut entry| {
            if let Some(object) = entry.as_object_mut() {
                object.remove("error");
                object.remove("callbackId");
            }
            let payload = serde_json::to_vec(&entry).unwrap_or_default();
            let jws = signer.sign(&payload, fault == Some(Fault::BadSignature)).unwrap_or_default();
            serde_json::json!({"deviceInfo": jws, "error": {"errorCode": "0", "errorInfo": "Success"}})
        })
        .collect();
    http::json(stream, 200, &serde_json::Value::Array(entries));
}
