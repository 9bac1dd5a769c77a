//! The admin endpoints: read, change or reset the simulator's state, fetch its CA certificate.

use std::net::TcpStream;

use crate::{http, Shared, SimState};

pub(crate) fn admin(shared: &Shared, stream: &TcpStream, request: &http::Request) {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/admin/state") => {}
        ("POST", "/admin/state") => {
            let Ok(serde_json::Value::Object(changes)) = serde_json::from_slice(&request.body)
            else {
                return http::json(
                    stream,
                    400,
                    &serde_json::json!({"error": "expected a JSON object"}),
                );
            };
            let mut state = shared.state();
            let mut merged = serde_json::to_value(&*state).unwrap_or_default();
            if let Some(object) = merged.as_object_mut() {
                for (key, value) in changes {
                    if !object.contains_key(&key) {
                        drop(state);
                        return http::json(
                            stream,
                            400,
                            &serde_json::json!({"error": format!("unknown setting {key}")}),
                        );
                    }
                    object.insert(key, value);
                }
            }
            match serde_json::from_value::<SimState>(merged) {
                Ok(new)
                    if ["Ready", "Busy", "Not Ready", "Not Registered"]
                        .contains(&new.status.as_str())
                        && new.quality <= 100 =>
                {
                    *state = new
                }
                Ok(_) => {
                    drop(state);
                    return http::json(
                        stream,
                        400,
                        &serde_json::json!({"error": "status or quality out of range"}),
                    );
                }
                Err(error) => {
                    drop(state);
                    return http::json(
                        stream,
                        400,
                        &serde_json::json!({"error": error.to_string()}),
                    );
                }
            }
        }
        ("POST", "/admin/reset") => *shared.state() = SimState::default(),
        ("GET", "/admin/ca") => {
            return http::respond(
                stream,
                200,
                "application/x-pem-file",
                shared.provider.ca_pem.as_bytes(),
            )
        }
        _ => {
            return http::json(
                stream,
                404,
                &serde_json::json!({"error": "no such admin endpoint"}),
            )
        }
    }
    let state = shared.state().clone();
    http::json(
        stream,
        200,
        &serde_json::to_value(state).unwrap_or_default(),
    );
}
