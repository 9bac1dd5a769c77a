//! Control of the upload loop from the desk: send now, pause (a metered link, say), resume, and
//! what it is doing.

use super::{record, require, ActionError};
use crate::clock::Clock;
use crate::officers::{Officer, Permission};
use crate::station::Station;
use crate::sync::machine::SyncStatus;
use crate::sync::SyncHandle;

/// Wakes the upload loop for a pass now (it also runs by itself). Not audited: it changes
/// nothing the loop would not do anyway.
///
/// # Errors
/// [`ActionError::NotPermitted`] for roles that do not enroll.
pub fn send_now(by: &Officer, uploads: &SyncHandle) -> Result<(), ActionError> {
    require(by, Permission::Enroll)?;
    uploads.sync_now();
    Ok(())
}

/// Stops sending until [`resume`]; nothing waiting is lost. Audited as `sync.paused`: packets
/// that do not leave the station are the officer's doing.
///
/// # Errors
/// [`ActionError::NotPermitted`] for roles that do not enroll; the database's error.
pub fn pause(
    station: &Station,
    by: &Officer,
    uploads: &SyncHandle,
    clock: &dyn Clock,
) -> Result<(), ActionError> {
    require(by, Permission::Enroll)?;
    record(
        station,
        clock,
        &by.username,
        "sync.paused",
        "",
        "uploads paused",
    )?;
    uploads.pause();
    Ok(())
}

/// Sends again after [`pause`]. Audited as `sync.resumed`.
///
/// # Errors
/// [`ActionError::NotPermitted`] for roles that do not enroll; the database's error.
pub fn resume(
    station: &Station,
    by: &Officer,
    uploads: &SyncHandle,
    clock: &dyn Clock,
) -> Result<(), ActionError> {
    require(by, Permission::Enroll)?;
    record(
        station,
        clock,
        &by.username,
        "sync.resumed",
        "",
        "uploads resumed",
    )?;
    uploads.resume();
    Ok(())
}

/// What sending is doing (progress, and the officer's message for any problem): every role
/// sees it, since it holds no applicant data. Not activity: a refresh does not keep a session
/// alive (the caller reads the officer without touching the session).
///
/// # Errors
/// [`ActionError::NotPermitted`] should a role ever be denied the upload state.
pub fn status(by: &Officer, uploads: &SyncHandle) -> Result<SyncStatus, ActionError> {
    require(by, Permission::ViewSyncStatus)?;
    Ok(uploads.status())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{as_role, entries, last_entry, station};
    use crate::actions::ErrorCode;
    use crate::clock::SystemClock;
    use crate::officers::Role;
    use crate::sync::machine::Phase;

    #[tokio::test]
    async fn only_enrolling_roles_pause_or_resume_uploads_and_each_is_recorded() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        // The real loop, against a server that is not there.
        let config = crate::sync::SyncConfig::default();
        let uploader =
            crate::sync::Uploader::new(&station, &config, std::sync::Arc::new(SystemClock))
                .expect("uploader");
        let (uploads, running) = crate::sync::start(uploader);
        tokio::spawn(running);
        let before = entries(&station);
        for role in [Role::Technician, Role::Administrator] {
            let who = as_role(role);
            for refused in [
                send_now(&who, &uploads).err(),
                pause(&station, &who, &uploads, &SystemClock).err(),
                resume(&station, &who, &uploads, &SystemClock).err(),
            ] {
                assert_eq!(refused.expect("refused").code(), ErrorCode::NotPermitted);
            }
            assert!(
                status(&who, &uploads).is_ok(),
                "everyone sees the upload state"
            );
        }
        assert_eq!(entries(&station), before);

        let officer = as_role(Role::Officer);
        pause(&station, &officer, &uploads, &SystemClock).expect("paused");
        assert_eq!(
            last_entry(&station),
            (
                "officer".into(),
                "sync.paused".into(),
                String::new(),
                "uploads paused".into()
            )
        );
        let mut watch = uploads.watch();
        let paused = watch
            .wait_for(|status| status.phase == Phase::Paused)
            .await
            .map(|status| status.phase);
        assert_eq!(paused.ok(), Some(Phase::Paused));
        resume(&station, &officer, &uploads, &SystemClock).expect("resumed");
        assert_eq!(last_entry(&station).1, "sync.resumed");
        let resumed = watch
            .wait_for(|status| status.phase != Phase::Paused)
            .await
            .map(|status| status.phase);
        assert!(
            matches!(resumed, Ok(phase) if phase != Phase::Paused),
            "{resumed:?}"
        );
    }
}
