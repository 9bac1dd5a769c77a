//! A supervisor's queue: the enrollments held for approval (a finger declared missing or
//! accepted below the threshold, a face photo kept although it fails the checks), and the
//! decision on each.

use super::{require, ActionError};
use crate::approval::{self, Decision, Flagged};
use crate::clock::Clock;
use crate::officers::{Officer, Permission};
use crate::station::Station;

/// The enrollments waiting for a supervisor, oldest first.
///
/// # Errors
/// [`ActionError::NotPermitted`] for anyone but a supervisor; the database's error.
pub fn awaiting(station: &Station, by: &Officer) -> Result<Vec<Flagged>, ActionError> {
    require(by, Permission::Approve)?;
    Ok(approval::awaiting(station, by)?)
}

/// Records `by`'s decision on enrollment `id`: approved ones may go to the server, refused ones
/// never leave the station; a refusal needs a comment (kept sealed). Audited as
/// `enrollment.approved` or `enrollment.refused`, in the same transaction as the decision.
///
/// # Errors
/// [`ActionError::NotPermitted`] for anyone but a supervisor (and for the officer who made the
/// enrollment), an enrollment not waiting, a refusal without a comment, as
/// [`ActionError::Approval`].
pub fn decide(
    station: &Station,
    by: &Officer,
    id: &str,
    decision: Decision,
    comment: &str,
    clock: &dyn Clock,
) -> Result<(), ActionError> {
    require(by, Permission::Approve)?;
    Ok(approval::decide(station, by, id, decision, comment, clock)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::enrollment::Desk;
    use crate::actions::testing::{as_role, entries, last_entry, station, visitor};
    use crate::actions::ErrorCode;
    use crate::clock::SystemClock;
    use crate::officers::Role;
    use formats::FingerPosition;
    use hardware::simulated::{SimulatedCamera, SimulatedScanner};
    use hardware::FingerSet;
    use protocol::random::SystemRandom;

    /// An officer's enrollment with the right little finger declared missing: held.
    fn held_enrollment(station: &Station) -> String {
        let (officer, desk) = (as_role(Role::Officer), Desk::default());
        let (camera, scanner) = (SimulatedCamera::new(8), SimulatedScanner::new(8));
        let clock = &SystemClock;
        desk.capture_face(station, &officer, &camera, clock)
            .expect("photo");
        desk.declare_exception(
            station,
            &officer,
            FingerPosition::RightLittle,
            "amputated",
            clock,
        )
        .expect("declared");
        desk.take_exception_photo(station, &officer, &camera, clock)
            .expect("hand");
        for set in FingerSet::ALL {
            desk.capture_set(station, &officer, &scanner, set, "by hand", clock)
                .expect("set");
        }
        let form = visitor();
        desk.submit(station, &officer, &form, true, (clock, &SystemRandom))
            .expect("sealed")
            .id
    }

    #[test]
    fn only_a_supervisor_sees_the_queue_or_decides_and_a_refusal_needs_a_comment() {
        let dir = tempfile::tempdir().expect("dir");
        let station = station(dir.path());
        let id = held_enrollment(&station);
        let before = entries(&station);
        for role in [Role::Officer, Role::Technician, Role::Administrator] {
            let who = as_role(role);
            let refused = awaiting(&station, &who).expect_err("refused");
            assert_eq!(refused.code(), ErrorCode::NotPermitted);
            let refused = decide(&station, &who, &id, Decision::Approve, "", &SystemClock)
                .expect_err("refused");
            assert_eq!(refused.code(), ErrorCode::NotPermitted);
        }
        let supervisor = as_role(Role::Supervisor);
        let queue = awaiting(&station, &supervisor).expect("queue");
        assert_eq!(
            queue.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            [id.as_str()]
        );
        let bare = decide(
            &station,
            &supervisor,
            &id,
            Decision::Refuse,
            " ",
            &SystemClock,
        );
        assert_eq!(
            bare.expect_err("no comment").code(),
            ErrorCode::MissingComment
        );
        assert_eq!(entries(&station), before, "refusals leave no entry");

        decide(
            &station,
            &supervisor,
            &id,
            Decision::Approve,
            "",
            &SystemClock,
        )
        .expect("approved");
        let (actor, action, subject, _) = last_entry(&station);
        assert_eq!(
            (actor.as_str(), action.as_str(), subject.as_str()),
            ("supervisor", "enrollment.approved", id.as_str())
        );
        assert!(awaiting(&station, &supervisor).expect("queue").is_empty());
        let again = decide(
            &station,
            &supervisor,
            &id,
            Decision::Refuse,
            "late",
            &SystemClock,
        );
        assert_eq!(again.expect_err("decided").code(), ErrorCode::NotAwaiting);
    }
}
