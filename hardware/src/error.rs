use std::time::Duration;

/// What the caller should do about a [`DeviceError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Transient: try the same call again shortly.
    Retry,
    /// The device is gone: ask the officer to reconnect it.
    Replug,
    /// Retrying will not help: a technician must look at the device.
    Technician,
}

/// Why a device call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// Another capture or client holds the device.
    #[error("{device} is busy with another capture")]
    Busy {
        /// The device's name.
        device: String,
    },
    /// The device stopped answering or was unplugged.
    #[error("{device} was disconnected; reconnect it and try again")]
    Disconnected {
        /// The device's name.
        device: String,
    },
    /// Nothing arrived before the deadline.
    #[error("{device} did not deliver an image within {after:?}")]
    Timeout {
        /// The device's name.
        device: String,
        /// How long the call waited.
        after: Duration,
    },
    /// The device reports a fault of its own.
    #[error("{device} reports a fault: {reason}")]
    Fault {
        /// The device's name.
        device: String,
        /// The device's own words.
        reason: String,
    },
}

impl DeviceError {
    /// What the caller should do.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Busy { .. } | Self::Timeout { .. } => ErrorKind::Retry,
            Self::Disconnected { .. } => ErrorKind::Replug,
            Self::Fault { .. } => ErrorKind::Technician,
        }
    }
}
