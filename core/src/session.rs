//! A logged-in officer's session, which ends after [`IDLE_TIMEOUT`] without activity so that an
//! unattended station does not stay open to the next person at the desk.

use time::{Duration, OffsetDateTime};

use crate::officers::Officer;

/// Inactivity after which a session ends.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(10);

/// Why there is no officer to act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Nobody is logged in.
    #[error("log in first")]
    NotLoggedIn,
    /// The session ended for inactivity.
    #[error("you were logged out after {} minutes without activity; log in again", IDLE_TIMEOUT.whole_minutes())]
    Expired,
}

/// The current login, if any.
#[derive(Debug, Default)]
pub struct Session {
    current: Option<(Officer, OffsetDateTime)>,
}

impl Session {
    /// Starts a session for `officer` at `now`.
    pub fn start(&mut self, officer: Officer, now: OffsetDateTime) {
        self.current = Some((officer, now));
    }

    /// Ends the session; returns who was logged in.
    pub fn end(&mut self) -> Option<Officer> {
        self.current.take().map(|(officer, _)| officer)
    }

    /// The officer, if the session is alive at `now`; an expired session ends here. Does not
    /// count as activity (background refreshes must not keep a session open).
    ///
    /// # Errors
    /// [`SessionError::NotLoggedIn`] or [`SessionError::Expired`].
    pub fn officer(&mut self, now: OffsetDateTime) -> Result<&Officer, SessionError> {
        let expired = match &self.current {
            None => return Err(SessionError::NotLoggedIn),
            Some((_, last)) => now - *last >= IDLE_TIMEOUT,
        };
        if expired {
            self.current = None;
            return Err(SessionError::Expired);
        }
        self.current
            .as_ref()
            .map(|(officer, _)| officer)
            .ok_or(SessionError::NotLoggedIn)
    }

    /// The logged-in officer, counting as activity, for an action that checks its own
    /// permission (see [`crate::actions`]).
    ///
    /// # Errors
    /// [`SessionError::NotLoggedIn`], or [`SessionError::Expired`] after [`IDLE_TIMEOUT`]
    /// without activity (the session is then over).
    pub fn touch(&mut self, now: OffsetDateTime) -> Result<&Officer, SessionError> {
        self.officer(now)?;
        let (officer, last) = self.current.as_mut().ok_or(SessionError::NotLoggedIn)?;
        *last = now;
        Ok(officer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::officers::Role;
    use time::macros::datetime;

    fn officer(role: Role) -> Officer {
        Officer {
            username: "budi".into(),
            display_name: "Budi".into(),
            role,
        }
    }

    #[test]
    fn ten_idle_minutes_log_the_officer_out_but_activity_keeps_the_session() {
        let start = datetime!(2026-11-23 08:00 UTC);
        let mut session = Session::default();
        session.start(officer(Role::Officer), start);
        session.touch(start + Duration::minutes(9)).expect("active");
        session
            .officer(start + Duration::minutes(18))
            .expect("9 minutes after the last action");
        assert_eq!(
            session.officer(start + Duration::minutes(19)),
            Err(SessionError::Expired)
        );
        assert_eq!(
            session.officer(start + Duration::minutes(19)),
            Err(SessionError::NotLoggedIn)
        );
    }

    #[test]
    fn looking_does_not_count_as_activity() {
        let start = datetime!(2026-11-23 08:00 UTC);
        let mut session = Session::default();
        session.start(officer(Role::Officer), start);
        for minute in 1..10 {
            session
                .officer(start + Duration::minutes(minute))
                .expect("alive");
        }
        assert_eq!(
            session.officer(start + Duration::minutes(10)),
            Err(SessionError::Expired)
        );
    }
}
