//! The HTTP exchange with one SBI service on one port: custom methods, answers read whatever
//! the status and bounded in size, and SBI error codes turned into typed [`DeviceError`]s.

use std::io::Read;
use std::time::Duration;

use time::OffsetDateTime;

use super::jws;
use super::wire::SbiErrorBody;
use super::SbiConfig;
use crate::DeviceError;

/// The largest answer read from a service (ten uncompressed prints are ~2 MB).
const MAX_ANSWER_BYTES: u64 = 32 << 20;

pub(super) fn read_limited(reader: impl Read, client: &Client<'_>) -> Result<Vec<u8>, DeviceError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_ANSWER_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| client.io(&error))?;
    if bytes.len() as u64 > MAX_ANSWER_BYTES {
        return Err(client.protocol("the answer is larger than 32 MiB"));
    }
    Ok(bytes)
}

/// One service on one port.
pub(super) struct Client<'a> {
    pub(super) config: &'a SbiConfig,
    pub(super) port: u16,
    pub(super) device: &'a str,
}

impl<'a> Client<'a> {
    pub(super) fn new(config: &'a SbiConfig, port: u16) -> Self {
        Self {
            config,
            port,
            device: "SBI service",
        }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.config.address, self.port)
    }

    /// Sends `body` with `method`; returns the status and the body whatever the status.
    pub(super) fn call(
        &self,
        method: &str,
        path: &str,
        body: &impl serde::Serialize,
        timeout: Duration,
    ) -> Result<(u16, Vec<u8>), DeviceError> {
        let body = serde_json::to_string(body).map_err(|e| self.protocol(&e.to_string()))?;
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(self.config.discovery_timeout)
            .timeout(timeout)
            .build();
        let response = match agent
            .request(method, &self.url(path))
            .set("Content-Type", "application/json")
            .send_string(&body)
        {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => return Err(self.transport(&transport)),
        };
        let status = response.status();
        Ok((status, read_limited(response.into_reader(), self)?))
    }

    pub(super) fn json<T: serde::de::DeserializeOwned>(
        &self,
        bytes: &[u8],
    ) -> Result<T, DeviceError> {
        serde_json::from_slice(bytes).map_err(|error| {
            // Never quote the body: it may hold biometric data.
            self.protocol(&format!(
                "the answer is not the expected JSON ({} bytes; {error})",
                bytes.len()
            ))
        })
    }

    pub(super) fn verify(&self, jws: &str) -> Result<Vec<u8>, DeviceError> {
        jws::verify(jws, &self.config.trust, OffsetDateTime::now_utc()).map_err(|error| match error
        {
            jws::JwsError::Malformed(reason) => self.protocol(&reason),
            jws::JwsError::Distrust(reason) => DeviceError::Untrusted {
                device: self.device.to_owned(),
                reason,
            },
        })
    }

    /// The typed error of an error body, or a protocol error when it is not one.
    pub(super) fn error_body(&self, bytes: &[u8]) -> DeviceError {
        let error = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|value| {
                let error = value
                    .get("error")
                    .or_else(|| value.get(0).and_then(|v| v.get("error")))
                    .cloned()?;
                serde_json::from_value::<SbiErrorBody>(error).ok()
            });
        match error.and_then(|error| self.sbi_error(&error)) {
            Some(error) => error,
            None => self.protocol("the service answered with neither a result nor an SBI error"),
        }
    }

    /// The typed error for an SBI error code; `None` for success.
    pub(super) fn sbi_error(&self, error: &SbiErrorBody) -> Option<DeviceError> {
        let device = self.device.to_owned();
        let info = error.error_info.clone();
        let Some(code) = error.code() else {
            return Some(self.protocol(&format!("unreadable error code {:?}", error.error_code)));
        };
        Some(match code {
            0 => return None,
            100 => DeviceError::NotRegistered { device },
            101 | 102 | 105 => DeviceError::CaptureFailed {
                device,
                reason: format!("{info} (SBI {code})"),
            },
            103 => DeviceError::Fault {
                device,
                reason: format!("the device reports tampering: {info} (SBI 103)"),
            },
            106 | 202 => DeviceError::Disconnected { device },
            109 => DeviceError::Unsupported {
                device,
                what: format!("the finger count asked for ({info})"),
            },
            110 => DeviceError::NotReady { device },
            111 | 703 => DeviceError::Busy { device },
            112 => DeviceError::Protocol {
                device,
                reason: format!("the device refused the transaction id: {info} (SBI 112)"),
            },
            701 => DeviceError::Timeout {
                device,
                after: self.config.capture_timeout,
            },
            _ => DeviceError::Fault {
                device,
                reason: format!("{info} (SBI {code})"),
            },
        })
    }

    pub(super) fn protocol(&self, reason: &str) -> DeviceError {
        DeviceError::Protocol {
            device: self.device.to_owned(),
            reason: reason.to_owned(),
        }
    }

    fn io(&self, error: &std::io::Error) -> DeviceError {
        match error.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => DeviceError::Timeout {
                device: self.device.to_owned(),
                after: self.config.capture_timeout,
            },
            _ => DeviceError::ConnectionLost {
                device: self.device.to_owned(),
                reason: error.to_string(),
            },
        }
    }

    pub(super) fn transport(&self, transport: &ureq::Transport) -> DeviceError {
        let io = std::error::Error::source(transport)
            .and_then(|source| source.downcast_ref::<std::io::Error>());
        match (transport.kind(), io) {
            (_, Some(io))
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                self.io(io)
            }
            (ureq::ErrorKind::ConnectionFailed, _) => DeviceError::Disconnected {
                device: self.device.to_owned(),
            },
            _ => DeviceError::ConnectionLost {
                device: self.device.to_owned(),
                reason: transport.to_string(),
            },
        }
    }
}
