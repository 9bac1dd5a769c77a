//! What people do at the station, one function per action, grouped by area: [`accounts`],
//! [`approvals`], [`enrollment`], [`selftest`], [`settings`], [`setup`], [`sign_in`], [`station`], [`sync`].
//!
//! Each function takes who acts (the [`Officer`] the front end's session holds), the injected
//! [`Clock`], and the action's input; it checks the acting role's permission, does the work
//! through the building blocks (officers, station, vault, store), writes its own entry in the
//! tamper-evident audit log and returns an [`ActionError`] with a stable [`ErrorCode`] when it
//! refuses or fails. The desktop shell (`src-tauri`) and the `station` CLI only adapt: they
//! turn arguments into these calls and answers into views or lines of text, so an action
//! behaves, is permitted and is audited the same from both (as gitbutler's `but-api` serves its
//! Tauri shell and its CLI).
//!
//! An action that cannot be recorded in the audit log fails: nothing an officer does goes
//! unrecorded.

pub mod accounts;
pub mod approvals;
pub mod enrollment;
mod error;
pub mod selftest;
pub mod settings;
pub mod setup;
pub mod sign_in;
pub mod station;
pub mod sync;

pub use error::{ActionError, ErrorCode};

use crate::audit::{self, AuditEvent};
use crate::clock::Clock;
use crate::officers::{Officer, Permission};
use crate::station::Station;

/// Refuses `by` unless their role allows `permission`.
fn require(by: &Officer, permission: Permission) -> Result<(), ActionError> {
    if by.role.may(permission) {
        return Ok(());
    }
    Err(ActionError::NotPermitted {
        role: by.role.as_str(),
        action: match permission {
            Permission::Enroll => "enroll applicants",
            Permission::ViewApplicants => "see applicants' data",
            Permission::Approve => "approve enrollments",
            Permission::RunSelfTests => "run the self-tests",
            Permission::ManageAccounts => "manage accounts; an administrator must do it",
            Permission::ManageSettings => "change the station's settings",
            Permission::ViewSyncStatus => "see the upload state",
        },
    })
}

/// One audit entry: `actor` did `action` to `subject` (empty when none).
fn record(
    station: &Station,
    clock: &dyn Clock,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), ActionError> {
    let event = AuditEvent {
        actor,
        action,
        subject,
        detail,
    };
    Ok(audit::record(station, &event, clock)?)
}

/// What the action tests share: a station whose database lives in memory, accounts of each
/// role, and a reader of the audit log's last entry.
#[cfg(test)]
pub(crate) mod testing {
    use crate::clock::SystemClock;
    use crate::officers::{self, Officer, Password, Role};
    use crate::station::Station;

    pub(crate) const PASSWORD: &str = "correct horse battery";

    /// A station (vault and configuration in `dir`, database in memory) with one account per
    /// role, named after the role.
    pub(crate) fn station(dir: &std::path::Path) -> Station {
        let station = crate::station::test_station_in_memory(dir);
        for role in [
            Role::Officer,
            Role::Supervisor,
            Role::Technician,
            Role::Administrator,
        ] {
            officers::add_officer(
                station.store(),
                role.as_str(),
                role.as_str(),
                role,
                &Password::new(PASSWORD.into()),
                &SystemClock,
            )
            .expect("account");
        }
        station
    }

    /// The account named after `role`, as a login gives it.
    pub(crate) fn as_role(role: Role) -> Officer {
        Officer {
            username: role.as_str().to_owned(),
            display_name: role.as_str().to_owned(),
            role,
        }
    }

    /// The last audit entry: (actor, action, subject, detail).
    pub(crate) fn last_entry(station: &Station) -> (String, String, String, String) {
        let entries = station.store().audit_entries().expect("audit log");
        let last = entries.last().expect("an audit entry");
        (
            last.actor.clone(),
            last.action.clone(),
            last.subject.clone(),
            last.detail.clone(),
        )
    }

    /// A visitor's visa application that passes the form's checks.
    pub(crate) fn visitor() -> protocol::content::Demographics {
        protocol::content::Demographics {
            form: "wna-visa".into(),
            form_version: "2026.11".into(),
            full_name: "Marie Dupont".into(),
            date_of_birth: "1985-03-17".into(),
            sex: "F".into(),
            nationality: "FRA".into(),
            document_number: "X4K7Q2M19".into(),
            fields: [
                ("issuing_state", "FRA"),
                ("passport_expiry", "2099-09-15"),
                ("visa_type", "visit"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        }
    }

    /// How many audit entries there are.
    pub(crate) fn entries(station: &Station) -> usize {
        station.store().audit_entries().expect("audit log").len()
    }
}
