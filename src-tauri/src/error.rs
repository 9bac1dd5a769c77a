//! The one error shape the UI receives.

use protocol::content::FieldError;
use serde::Serialize;
use station_core::enrollment::EnrollmentError;
use station_core::officers::LoginError;
use station_core::session::SessionError;
use station_core::store::StoreError;

/// `{ code, message, fields }`: `code` is stable for the UI to branch on, `message` is for the
/// officer, `fields` lists form fields to correct.
#[derive(Debug, Serialize, specta::Type)]
pub struct CommandError {
    code: &'static str,
    message: String,
    fields: Vec<FieldError>,
}

impl CommandError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }
}

impl CommandError {
    /// A refusal about one field, with its message in each language.
    pub fn field(code: &'static str, field: FieldError) -> Self {
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
            SessionError::Expired => "session_expired",
            SessionError::NotPermitted { .. } => "not_permitted",
            _ => "not_logged_in",
        };
        Self::new(code, error.to_string())
    }
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "station database error");
        Self::new("storage", error.to_string())
    }
}

impl From<LoginError> for CommandError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::BadCredentials => Self::new("bad_credentials", error.to_string()),
            LoginError::LockedOut { .. } => Self::new("locked_out", error.to_string()),
            LoginError::Store(error) => error.into(),
            other => Self::new("login_failed", other.to_string()),
        }
    }
}

impl From<station_core::approval::ApprovalError> for CommandError {
    fn from(error: station_core::approval::ApprovalError) -> Self {
        use station_core::approval::ApprovalError as E;
        let message = error.to_string();
        match error {
            E::NotPermitted(_) => Self::new("not_permitted", message),
            E::NotAwaiting(_) => Self::new("not_awaiting", message),
            E::MissingComment => Self::new("missing_comment", message),
            E::Store(error) => error.into(),
            _ => Self::new("approval_failed", message),
        }
    }
}

impl From<EnrollmentError> for CommandError {
    fn from(error: EnrollmentError) -> Self {
        let message = error.to_string();
        match error {
            EnrollmentError::InvalidForm(fields) => Self {
                code: "invalid_form",
                message,
                fields,
            },
            EnrollmentError::Incomplete(_) => Self::new("incomplete", message),
            EnrollmentError::NotPermitted(_) => Self::new("not_permitted", message),
            EnrollmentError::Device(device) => {
                let code = match device.kind() {
                    hardware::ErrorKind::Retry => "device_retry",
                    hardware::ErrorKind::Replug => "device_replug",
                    _ => "device_fault",
                };
                Self::new(code, message)
            }
            EnrollmentError::Store(error) => error.into(),
            _ => Self::new("enrollment_failed", message),
        }
    }
}
