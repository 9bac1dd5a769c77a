//! The one error an action returns, and the stable codes front ends branch on.

use protocol::content::FieldError;

use crate::approval::ApprovalError;
use crate::drafts::DraftError;
use crate::enrollment::EnrollmentError;
use crate::officers::{AccountError, LoginError};
use crate::provision::ProvisionError;
use crate::station::{OpenError, SettingsError};
use crate::store::StoreError;
use crate::vault::VaultError;

/// Every code a front end may receive with a refusal or failure, stable across releases: the
/// desktop UI gets this enum through its generated TypeScript bindings (a union of the
/// snake_case names) and translates by it, so a code cannot be misspelt on either side.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)] // each name says what it is
pub enum ErrorCode {
    AccountExists,
    AccountNotAdded,
    AlreadySetUp,
    ApprovalFailed,
    BadCredentials,
    CannotRemoveYourself,
    DeviceFault,
    DeviceReplug,
    DeviceRetry,
    DraftNotSaved,
    DraftUnreadable,
    DrillRefused,
    EnrollmentFailed,
    ExportFailed,
    Incomplete,
    Internal,
    InvalidForm,
    InvalidMrz,
    InvalidRetention,
    InvalidRole,
    InvalidServerUrl,
    InvalidUsername,
    LastAdministrator,
    LockedOut,
    MissingComment,
    MissingName,
    MissingStationName,
    NoConsent,
    NoDraft,
    NoForms,
    NoReceipt,
    NoReport,
    NoSuchAccount,
    NotAwaiting,
    NotLoggedIn,
    NotPermitted,
    PassphraseNotChanged,
    PlainHttpRefused,
    ReceiptFailed,
    ServerUnreachable,
    SessionExpired,
    SettingsNotSaved,
    SetupFailed,
    StationLocked,
    StationNotSetUp,
    StationUnavailable,
    Storage,
    TokenMalformed,
    TokenRefused,
    UnknownForm,
    WeakPassphrase,
    WeakPassword,
    WrongPassphrase,
    WrongServer,
}

/// Why an action was refused or failed. [`ActionError::code`] is what a front end branches on;
/// the message (`Display`) is for the person, never carries a secret or biometric data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// The acting account's role does not allow the action.
    #[error("a {role} account cannot {action}")]
    NotPermitted {
        /// The acting account's role.
        role: &'static str,
        /// What was refused, e.g. "manage accounts".
        action: &'static str,
    },
    /// A role name the station does not know.
    #[error("{0:?} is not a role this station knows")]
    InvalidRole(String),
    /// An account without a name to show.
    #[error("enter the person's name as the app should show it")]
    MissingName,
    /// Creating, changing or removing an account failed.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// A login failed.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// New settings were refused or not saved.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The key vault refused or failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The station database failed (the action did not happen, or was not recorded).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A capture, a form or a submission was refused or failed.
    #[error(transparent)]
    Enrollment(#[from] EnrollmentError),
    /// The draft could not be saved (or a saved one discarded): the change is not kept.
    #[error(transparent)]
    DraftNotSaved(DraftError),
    /// The saved draft does not read back; it is left in place for a technician.
    #[error(transparent)]
    DraftUnreadable(DraftError),
    /// There is no saved draft to resume.
    #[error("there is no saved enrollment to resume")]
    NoDraft,
    /// Sealing without the applicant's consent.
    #[error(
        "the applicant's consent to the use of their data and biometrics is needed before sealing"
    )]
    NoConsent,
    /// No receipt to give.
    #[error("{0}")]
    NoReceipt(&'static str),
    /// The receipt could not be made or written.
    #[error("{0}")]
    ReceiptFailed(String),
    /// A supervisor's decision was refused or failed.
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    /// A practice drill that cannot be run (on a real device, say).
    #[error("{0}")]
    DrillRefused(String),
    /// The station is set up already.
    #[error("this station is already set up")]
    AlreadySetUp,
    /// A station without a name.
    #[error("give the station a name, e.g. \"Jakarta Selatan desk 3\"")]
    MissingStationName,
    /// The one-time code does not read.
    #[error("{0}")]
    TokenMalformed(String),
    /// Registration with the server failed or was refused.
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    /// The station registered but its first account could not be created.
    #[error("the station is registered, but its first account could not be created ({0}): remove the station's data directory and set the station up again with a new code")]
    FirstAccount(String),
    /// The station waits for its passphrase.
    #[error("the station is locked: enter the station passphrase first")]
    StationLocked,
    /// The station has not been set up.
    #[error("this station is not set up yet: a technician sets it up with a one-time token from the central server")]
    StationNotSetUp,
    /// The station cannot be used, and why.
    #[error("{0}")]
    StationUnavailable(String),
    /// The station did not open.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// No self-test report to export.
    #[error("run the self-test first")]
    NoReport,
    /// The report could not be written.
    #[error("{0}")]
    ExportFailed(String),
}

impl ActionError {
    /// The stable code for front ends.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotPermitted { .. } => ErrorCode::NotPermitted,
            Self::InvalidRole(_) => ErrorCode::InvalidRole,
            Self::MissingName => ErrorCode::MissingName,
            Self::Account(error) => account_code(error),
            Self::Login(LoginError::BadCredentials) => ErrorCode::BadCredentials,
            Self::Login(LoginError::LockedOut { .. }) => ErrorCode::LockedOut,
            Self::Login(LoginError::Store(_)) | Self::Store(_) => ErrorCode::Storage,
            Self::Settings(SettingsError::InvalidServerUrl(_)) => ErrorCode::InvalidServerUrl,
            Self::Settings(SettingsError::InvalidRetention(_)) => ErrorCode::InvalidRetention,
            Self::Settings(SettingsError::Link(_)) => ErrorCode::PlainHttpRefused,
            Self::Settings(_) => ErrorCode::SettingsNotSaved,
            Self::Vault(VaultError::WrongPassphrase) => ErrorCode::WrongPassphrase,
            Self::Vault(VaultError::WeakPassphrase) => ErrorCode::WeakPassphrase,
            Self::Vault(_) => ErrorCode::PassphraseNotChanged,
            Self::Enrollment(error) => enrollment_code(error),
            Self::DraftNotSaved(_) => ErrorCode::DraftNotSaved,
            Self::DraftUnreadable(_) => ErrorCode::DraftUnreadable,
            Self::NoDraft => ErrorCode::NoDraft,
            Self::NoConsent => ErrorCode::NoConsent,
            Self::NoReceipt(_) => ErrorCode::NoReceipt,
            Self::ReceiptFailed(_) => ErrorCode::ReceiptFailed,
            Self::Approval(error) => approval_code(error),
            Self::DrillRefused(_) => ErrorCode::DrillRefused,
            Self::NoReport => ErrorCode::NoReport,
            Self::AlreadySetUp => ErrorCode::AlreadySetUp,
            Self::MissingStationName => ErrorCode::MissingStationName,
            Self::TokenMalformed(_) => ErrorCode::TokenMalformed,
            Self::Provision(error) => provision_code(error),
            Self::FirstAccount(_) => ErrorCode::AccountNotAdded,
            Self::StationLocked => ErrorCode::StationLocked,
            Self::StationNotSetUp => ErrorCode::StationNotSetUp,
            Self::StationUnavailable(_) => ErrorCode::StationUnavailable,
            Self::Open(OpenError::Vault(VaultError::WrongPassphrase)) => ErrorCode::WrongPassphrase,
            Self::Open(_) => ErrorCode::StationUnavailable,
            Self::ExportFailed(_) => ErrorCode::ExportFailed,
        }
    }

    /// The form fields to correct, for a refusal of the form (each message in both languages).
    pub fn fields(&self) -> &[FieldError] {
        match self {
            Self::Enrollment(EnrollmentError::InvalidForm(fields)) => fields,
            _ => &[],
        }
    }

    /// Whether the station's database (rather than the person or a device) failed.
    pub fn is_storage(&self) -> bool {
        self.code() == ErrorCode::Storage
    }
}

fn enrollment_code(error: &EnrollmentError) -> ErrorCode {
    match error {
        EnrollmentError::InvalidForm(_) => ErrorCode::InvalidForm,
        EnrollmentError::Incomplete(_) => ErrorCode::Incomplete,
        EnrollmentError::NotPermitted(_) => ErrorCode::NotPermitted,
        EnrollmentError::Device(device) => match device.kind() {
            hardware::ErrorKind::Retry => ErrorCode::DeviceRetry,
            hardware::ErrorKind::Replug => ErrorCode::DeviceReplug,
            _ => ErrorCode::DeviceFault,
        },
        EnrollmentError::Store(_) => ErrorCode::Storage,
        _ => ErrorCode::EnrollmentFailed,
    }
}

fn provision_code(error: &ProvisionError) -> ErrorCode {
    match error {
        ProvisionError::InvalidServerUrl(_) => ErrorCode::InvalidServerUrl,
        ProvisionError::Unreachable { .. } => ErrorCode::ServerUnreachable,
        ProvisionError::Refused { .. } => ErrorCode::TokenRefused,
        ProvisionError::NotTheServer(_) | ProvisionError::TlsCertificate { .. } => {
            ErrorCode::WrongServer
        }
        ProvisionError::Link(_) => ErrorCode::PlainHttpRefused,
        ProvisionError::Vault(VaultError::WeakPassphrase) => ErrorCode::WeakPassphrase,
        ProvisionError::AlreadyProvisioned(_) => ErrorCode::AlreadySetUp,
        _ => ErrorCode::SetupFailed,
    }
}

fn approval_code(error: &ApprovalError) -> ErrorCode {
    match error {
        ApprovalError::NotPermitted(_) => ErrorCode::NotPermitted,
        ApprovalError::NotAwaiting(_) => ErrorCode::NotAwaiting,
        ApprovalError::MissingComment => ErrorCode::MissingComment,
        ApprovalError::Store(_) => ErrorCode::Storage,
        _ => ErrorCode::ApprovalFailed,
    }
}

fn account_code(error: &AccountError) -> ErrorCode {
    match error {
        AccountError::InvalidUsername => ErrorCode::InvalidUsername,
        AccountError::WeakPassword => ErrorCode::WeakPassword,
        AccountError::Exists(_) => ErrorCode::AccountExists,
        AccountError::Unknown(_) => ErrorCode::NoSuchAccount,
        AccountError::LastAdministrator(_) => ErrorCode::LastAdministrator,
        AccountError::Yourself => ErrorCode::CannotRemoveYourself,
        AccountError::NotPermitted(_) => ErrorCode::NotPermitted,
        AccountError::Store(_) => ErrorCode::Storage,
        _ => ErrorCode::AccountNotAdded,
    }
}
