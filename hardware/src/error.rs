use std::fmt;
use std::time::Duration;

/// What the caller should do about a [`DeviceError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Transient: try the same call again shortly.
    Retry,
    /// The device is gone or absent: ask the officer to connect it.
    Replug,
    /// Retrying will not help: a technician must look at the device or its service.
    Technician,
}

/// Why a device's answer cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Distrust {
    /// The signature over the answer does not verify against the device certificate.
    BadSignature,
    /// The device certificate is not issued by a trusted device provider, or has expired.
    UntrustedCertificate(String),
    /// The device's clock is further than the allowed skew from the station's.
    StaleTimestamp {
        /// Device time minus station time, in seconds.
        skew_secs: i64,
    },
    /// The answer names another transaction than the one asked for.
    TransactionMismatch,
    /// The answer names another specification version than the one asked for.
    SpecVersionMismatch,
    /// The capture's hash does not continue the enrollment's chain of captures.
    BrokenHashChain,
    /// The capture carries no quality score.
    MissingQualityScore,
    /// The capture names a finger or face position this station does not know.
    UnknownBioSubType(String),
    /// The capture was made for another purpose than registration (e.g. authentication).
    PurposeMismatch(String),
    /// The capture was made in another environment than the station asked for.
    EnvironmentMismatch(String),
    /// The capture's signed digital id names another device than the one discovered.
    OtherDevice(String),
}

impl fmt::Display for Distrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadSignature => f.write_str("its signature does not verify"),
            Self::UntrustedCertificate(why) => {
                write!(f, "its certificate is not trusted ({why})")
            }
            Self::StaleTimestamp { skew_secs } => write!(
                f,
                "its clock is {skew_secs} s off the station's (at most 300 s allowed)"
            ),
            Self::TransactionMismatch => f.write_str("it answers another transaction"),
            Self::SpecVersionMismatch => {
                f.write_str("it answers with another specification version")
            }
            Self::BrokenHashChain => {
                f.write_str("its capture hash breaks the enrollment's hash chain")
            }
            Self::MissingQualityScore => f.write_str("a capture carries no quality score"),
            Self::UnknownBioSubType(name) => write!(f, "it names an unknown position {name:?}"),
            Self::PurposeMismatch(purpose) => {
                write!(f, "it was captured for {purpose:?}, not for registration")
            }
            Self::EnvironmentMismatch(env) => {
                write!(
                    f,
                    "it was captured in the {env:?} environment, not the one asked for"
                )
            }
            Self::OtherDevice(serial) => write!(
                f,
                "its signed digital id names another device ({serial:?}) than the one in use"
            ),
        }
    }
}

/// Why a device call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// No device of the kind asked for is connected.
    #[error("no {what} found: connect one and try again")]
    NotFound {
        /// What was looked for, e.g. "camera".
        what: String,
    },
    /// Another capture or client holds the device.
    #[error("{device} is busy with another capture")]
    Busy {
        /// The device's name.
        device: String,
    },
    /// The device is connected but not ready (warming up, platen not clear).
    #[error("{device} is not ready yet")]
    NotReady {
        /// The device's name.
        device: String,
    },
    /// The device stopped answering or was unplugged.
    #[error("{device} was disconnected; reconnect it and try again")]
    Disconnected {
        /// The device's name.
        device: String,
    },
    /// The connection to the device's service broke in the middle of an answer.
    #[error("the connection to {device} broke: {reason}")]
    ConnectionLost {
        /// The device's name.
        device: String,
        /// What broke.
        reason: String,
    },
    /// Nothing arrived before the deadline.
    #[error("{device} did not deliver an image within {after:?}")]
    Timeout {
        /// The device's name.
        device: String,
        /// How long the call waited.
        after: Duration,
    },
    /// The device took a capture it could not use (nothing on the platen, wrong hand, smudge).
    #[error("{device} could not use the capture: {reason}; place the fingers again")]
    CaptureFailed {
        /// The device's name.
        device: String,
        /// The device's own words.
        reason: String,
    },
    /// The device is not registered for use in this programme.
    #[error("{device} is not registered; a technician must register it")]
    NotRegistered {
        /// The device's name.
        device: String,
    },
    /// The device answered, but its answer fails a security check.
    #[error("{device} cannot be trusted: {reason}")]
    Untrusted {
        /// The device's name.
        device: String,
        /// Which check failed.
        reason: Distrust,
    },
    /// The device's answer is not in the protocol it claims to speak.
    #[error("{device} gave an answer that cannot be read: {reason}")]
    Protocol {
        /// The device's name.
        device: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The device cannot do what was asked (a format, a finger count).
    #[error("{device} does not support {what}")]
    Unsupported {
        /// The device's name.
        device: String,
        /// What it cannot do.
        what: String,
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
            Self::Busy { .. }
            | Self::NotReady { .. }
            | Self::Timeout { .. }
            | Self::ConnectionLost { .. }
            | Self::CaptureFailed { .. } => ErrorKind::Retry,
            Self::Disconnected { .. } | Self::NotFound { .. } => ErrorKind::Replug,
            Self::NotRegistered { .. }
            | Self::Untrusted { .. }
            | Self::Protocol { .. }
            | Self::Unsupported { .. }
            | Self::Fault { .. } => ErrorKind::Technician,
        }
    }
}
