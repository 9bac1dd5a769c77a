//! MOSIP Secure Biometric Interface (SBI 0.9.5 and 1.0) devices: vendor services on
//! `127.0.0.1`, one port in 4501–4600 each, speaking HTTP with custom methods.
//!
//! [`SbiHost`] discovers services by scanning the port range in parallel; an [`SbiDevice`] is a
//! fingerprint reader (slaps, thumbs) or a face camera behind one of them. Every answer is
//! verified before it is used: the JWS signature (RS256 or EdDSA) against the device certificate,
//! the certificate against the trusted device providers ([`Trust`]), the device's clock within
//! ±5 minutes, the echoed transaction id and specification version, a quality score, a known
//! position, and the hash chain across every capture of one enrollment. Error bodies are read
//! whatever the HTTP status, and SBI error codes become typed [`DeviceError`]s.

mod capture;
mod client;
mod device;
mod jws;
mod stream;
pub mod wire;

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use capture::{chain_hash, VerifiedCapture};
pub use jws::Trust;

use crate::{Camera, DeviceError, DeviceInfo, DeviceKind, FingerprintScanner, Host};
use client::Client;
use wire::{DeviceInfoPayload, DigitalId, DiscoverRequest, DiscoveredDevice};

/// The ports SBI services listen on.
pub const PORTS: RangeInclusive<u16> = 4501..=4600;

/// The SBI specification versions this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecVersion {
    /// SBI 0.9.5 (`MOSIPDISC`, `MOSIPDINFO`).
    V0_9_5,
    /// SBI 1.0 (`SBIDISC`, `SBIDINFO`).
    V1_0,
}

impl SpecVersion {
    /// The version string on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_9_5 => "0.9.5",
            Self::V1_0 => "1.0",
        }
    }

    fn discover_method(self) -> &'static str {
        match self {
            Self::V0_9_5 => "MOSIPDISC",
            Self::V1_0 => "SBIDISC",
        }
    }

    fn info_method(self) -> &'static str {
        match self {
            Self::V0_9_5 => "MOSIPDINFO",
            Self::V1_0 => "SBIDINFO",
        }
    }

    /// The newest version in a device's list that this client speaks.
    fn best_of(versions: &[String]) -> Option<Self> {
        [Self::V1_0, Self::V0_9_5]
            .into_iter()
            .find(|version| versions.iter().any(|v| v == version.as_str()))
    }
}

/// How to reach and judge SBI services.
#[derive(Debug, Clone)]
pub struct SbiConfig {
    /// Where the services listen (always loopback in the specification).
    pub address: Ipv4Addr,
    /// The ports to scan.
    pub ports: RangeInclusive<u16>,
    /// How long one port may take to answer discovery.
    pub discovery_timeout: Duration,
    /// How long a capture may take (sent to the device as its timeout; the station waits a
    /// little longer).
    pub capture_timeout: Duration,
    /// The largest clock difference accepted between device and station.
    pub max_skew: Duration,
    /// The environment sent in requests ("Staging", "Developer", "Production").
    pub env: String,
    /// Trusted device providers.
    pub trust: Trust,
}

impl SbiConfig {
    /// The specification defaults: loopback, ports 4501–4600, ±5 minutes of clock skew.
    pub fn new(trust: Trust) -> Self {
        Self {
            address: Ipv4Addr::LOCALHOST,
            ports: PORTS,
            discovery_timeout: Duration::from_millis(1500),
            capture_timeout: Duration::from_secs(10),
            max_skew: Duration::from_secs(300),
            env: "Developer".into(),
            trust,
        }
    }
}

/// The SBI backend: every SBI service on this machine.
#[derive(Debug, Clone)]
pub struct SbiHost {
    config: Arc<SbiConfig>,
}

impl SbiHost {
    /// A host that scans with `config`.
    pub fn new(config: SbiConfig) -> Self {
        Self {
            config: Arc::new(config),
        }
    }

    /// Scans every configured port in parallel and returns the devices that answered.
    pub fn discover(&self) -> Vec<SbiDevice> {
        let ports: Vec<u16> = self.config.ports.clone().collect();
        let found = std::thread::scope(|scope| {
            let scans: Vec<_> = ports
                .iter()
                .map(|&port| scope.spawn(move || self.discover_port(port)))
                .collect();
            scans
                .into_iter()
                .flat_map(|scan| scan.join().unwrap_or_default())
                .collect::<Vec<_>>()
        });
        found
    }

    /// The devices of the service on `port`; empty when nothing speaking SBI answers there.
    pub fn discover_port(&self, port: u16) -> Vec<SbiDevice> {
        let client = Client::new(&self.config, port);
        let body = DiscoverRequest {
            kind: "Biometric Device".into(),
        };
        for version in [SpecVersion::V0_9_5, SpecVersion::V1_0] {
            let Ok((_, answer)) = client.call(
                version.discover_method(),
                "/device",
                &body,
                self.config.discovery_timeout,
            ) else {
                // Nothing listens, or it broke: no device here.
                return Vec::new();
            };
            let Ok(devices) = serde_json::from_slice::<Vec<DiscoveredDevice>>(&answer) else {
                // Not this version's method (a 405 page) or not SBI: try the next version.
                continue;
            };
            return devices
                .into_iter()
                .filter(|device| device.error.as_ref().is_none_or(|e| e.code() == Some(0)))
                .filter_map(|device| SbiDevice::new(Arc::clone(&self.config), port, device))
                .collect();
        }
        Vec::new()
    }

    /// The device with a [`DeviceInfo::id`] of this backend (`port:deviceId`), found again on
    /// its port, with its SBI-specific calls.
    ///
    /// # Errors
    /// [`DeviceError::NotFound`] when the id is malformed or nothing on that port has it.
    pub fn device(&self, id: &str) -> Result<SbiDevice, DeviceError> {
        let not_found = || DeviceError::NotFound {
            what: format!("SBI device {id}"),
        };
        let (port, device_id) = id.split_once(':').ok_or_else(not_found)?;
        let port: u16 = port.parse().map_err(|_| not_found())?;
        self.discover_port(port)
            .into_iter()
            .find(|device| device.discovered.device_id == device_id)
            .ok_or_else(not_found)
    }
}

impl Host for SbiHost {
    fn name(&self) -> &'static str {
        "sbi"
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        Ok(self.discover().iter().map(SbiDevice::device_info).collect())
    }

    fn open_camera(&self, id: &str) -> Result<Box<dyn Camera>, DeviceError> {
        let device = self.device(id)?;
        if device.kind != DeviceKind::Camera {
            return Err(DeviceError::NotFound {
                what: format!("SBI face device {id}"),
            });
        }
        Ok(Box::new(device))
    }

    fn open_reader(&self, id: &str) -> Result<Box<dyn FingerprintScanner>, DeviceError> {
        let device = self.device(id)?;
        if device.kind != DeviceKind::FingerprintReader {
            return Err(DeviceError::NotFound {
                what: format!("SBI fingerprint device {id}"),
            });
        }
        Ok(Box::new(device))
    }
}

/// The device information a service signed, after verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInfo {
    /// The verified payload.
    pub payload: DeviceInfoPayload,
}

/// One device behind an SBI service.
#[derive(Debug)]
pub struct SbiDevice {
    config: Arc<SbiConfig>,
    port: u16,
    spec: SpecVersion,
    discovered: DiscoveredDevice,
    digital_id: DigitalId,
    kind: DeviceKind,
    name: String,
    /// SHA-256 of the previous capture of this enrollment (SHA-256 of nothing at the start).
    chain: Mutex<[u8; 32]>,
}
