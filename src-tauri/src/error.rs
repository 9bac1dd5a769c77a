//! The one error shape the UI receives.

use protocol::content::FieldError;
use serde::Serialize;
use station_core::actions::{ActionError, ErrorCode};
use station_core::enrollment::EnrollmentError;
use station_core::officers::LoginError;
use station_core::session::SessionError;
use station_core::store::StoreError;

/// `{ code, message, fields }`: `code` is stable for the UI to branch on (an [`ErrorCode`], so
/// the UI's bindings list every code), `message` is for the officer, `fields` lists form fields
/// to correct.
#[derive(Debug, Serialize, specta::Type)]
pub struct CommandError {
    code: ErrorCode,
    message: String,
    fields: Vec<FieldError>,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }
}

impl CommandError {
    /// A refusal about one field, with its message in each language.
    pub fn field(code: ErrorCode, field: FieldError) -> Self {
        Self {
            code,
            message: field.message.en.clone(),
            fields: vec![field],
        }
    }
}

impl From<SessionError> for CommandError {
    fn from(error: SessionError) -> Self {
        let code = match error {
            SessionError::Expired => ErrorCode::SessionExpired,
            SessionError::NotPermitted { .. } => ErrorCode::NotPermitted,
            _ => ErrorCode::NotLoggedIn,
        };
        Self::new(code, error.to_string())
    }
}

impl From<ActionError> for CommandError {
    fn from(error: ActionError) -> Self {
        if let ActionError::Store(store) = &error {
            tracing::error!(error = %store, "station database error");
        }
        Self {
            code: error.code(),
            message: error.to_string(),
            fields: error.fields().to_vec(),
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "station database error");
        Self::new(ErrorCode::Storage, error.to_string())
    }
}

impl From<LoginError> for CommandError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::BadCredentials => Self::new(ErrorCode::BadCredentials, error.to_string()),
            LoginError::LockedOut { .. } => Self::new(ErrorCode::LockedOut, error.to_string()),
            LoginError::Store(error) => error.into(),
            other => Self::new(ErrorCode::LoginFailed, other.to_string()),
        }
    }
}

impl From<station_core::approval::ApprovalError> for CommandError {
    fn from(error: station_core::approval::ApprovalError) -> Self {
        use station_core::approval::ApprovalError as E;
        let message = error.to_string();
        match error {
            E::NotPermitted(_) => Self::new(ErrorCode::NotPermitted, message),
            E::NotAwaiting(_) => Self::new(ErrorCode::NotAwaiting, message),
            E::MissingComment => Self::new(ErrorCode::MissingComment, message),
            E::Store(error) => error.into(),
            _ => Self::new(ErrorCode::ApprovalFailed, message),
        }
    }
}

impl From<EnrollmentError> for CommandError {
    fn from(error: EnrollmentError) -> Self {
        let message = error.to_string();
        match error {
            EnrollmentError::InvalidForm(fields) => Self {
                code: ErrorCode::InvalidForm,
                message,
                fields,
            },
            EnrollmentError::Incomplete(_) => Self::new(ErrorCode::Incomplete, message),
            EnrollmentError::NotPermitted(_) => Self::new(ErrorCode::NotPermitted, message),
            EnrollmentError::Device(device) => {
                let code = match device.kind() {
                    hardware::ErrorKind::Retry => ErrorCode::DeviceRetry,
                    hardware::ErrorKind::Replug => ErrorCode::DeviceReplug,
                    _ => ErrorCode::DeviceFault,
                };
                Self::new(code, message)
            }
            EnrollmentError::Store(error) => error.into(),
            _ => Self::new(ErrorCode::EnrollmentFailed, message),
        }
    }
}
