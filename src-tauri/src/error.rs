//! The one error shape the UI receives.

use protocol::content::FieldError;
use serde::Serialize;
use station_core::actions::{ActionError, ErrorCode};
use station_core::session::SessionError;

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
            _ => ErrorCode::NotLoggedIn,
        };
        Self::new(code, error.to_string())
    }
}

impl From<ActionError> for CommandError {
    fn from(error: ActionError) -> Self {
        if error.is_storage() {
            tracing::error!(%error, "station database error");
        }
        Self {
            code: error.code(),
            message: error.to_string(),
            fields: error.fields().to_vec(),
        }
    }
}
