//! Token buckets: each station (and each address, for registrations and for refusals) may make
//! a burst of requests and then a steady rate; beyond that the server answers 429 with
//! `Retry-After`.
//!
//! The buckets live where the storage backend keeps shared state
//! ([`crate::data::Storage::take_token`]): in the process for the embedded backend (one
//! process serves), in PostgreSQL for the scale-out backend, so that a limit holds across
//! replicas — a station or an address spreading its requests over N replicas gets the rate
//! once, not N times. The rule of a bucket is [`Level`]'s; the PostgreSQL backend states the
//! same rule in one SQL statement, and the storage conformance tests hold both to it.
//!
//! Limits count real time: the server's wall clock, not the clock tests move.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

/// A rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once after a quiet period.
    pub burst: f64,
}

/// Requests one station may make: a sustained rate and a burst. Generous for a station
/// draining a backlog in 512 KiB chunks; it stops a runaway or hostile client from starving
/// the others.
pub const STATION_LIMIT: Limit = Limit {
    per_second: 2000.0,
    burst: 4000.0,
};

/// Registrations per second from one address (each needs a one-time code anyway): one
/// address cannot keep others from registering.
pub const REGISTRATION_LIMIT: Limit = Limit {
    per_second: 1.0,
    burst: 10.0,
};

/// Unauthenticated refusals one address may cause (unsigned requests, unknown stations, bad
/// signatures, replays, a wrong clock): a station that goes wrong trips a few; a flood is then
/// answered 429 before its body is read or its signature checked.
pub const REFUSAL_LIMIT: Limit = Limit {
    per_second: 5.0,
    burst: 50.0,
};

/// A bucket untouched this long is full again under every limit above; the sweep forgets it.
pub const IDLE: Duration = Duration::from_secs(3600);

/// What one bucket counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// The signed requests of one station.
    Station(Uuid),
    /// Registrations from one address (none when the listener did not record it).
    Registration(Option<IpAddr>),
    /// Refusals one address caused before its station was authenticated.
    Refusals(Option<IpAddr>),
}

impl Bucket {
    /// The limit this bucket enforces.
    pub fn limit(self) -> Limit {
        match self {
            Self::Station(_) => STATION_LIMIT,
            Self::Registration(_) => REGISTRATION_LIMIT,
            Self::Refusals(_) => REFUSAL_LIMIT,
        }
    }

    /// The bucket's name where buckets are stored by name.
    pub fn key(self) -> String {
        let address =
            |address: Option<IpAddr>| address.map_or_else(|| "-".into(), |a| a.to_string());
        match self {
            Self::Station(id) => format!("station:{id}"),
            Self::Registration(from) => format!("registration:{}", address(from)),
            Self::Refusals(from) => format!("refusals:{}", address(from)),
        }
    }
}

/// Seconds since the Unix epoch, as buckets count time.
pub fn seconds(at: OffsetDateTime) -> f64 {
    (at - OffsetDateTime::UNIX_EPOCH).as_seconds_f64()
}

/// A bucket's tokens as last counted, and when (seconds since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    /// Tokens left.
    pub tokens: f64,
    /// When they were counted.
    pub at: f64,
}

impl Level {
    /// A bucket never used: full.
    pub fn full(limit: Limit, now: f64) -> Self {
        Self {
            tokens: limit.burst,
            at: now,
        }
    }

    /// The tokens at `now`: refilled at the rate since they were counted, up to the burst. A
    /// clock that went back refills nothing.
    pub fn refilled(self, limit: Limit, now: f64) -> f64 {
        (self.tokens + (now - self.at).max(0.0) * limit.per_second).min(limit.burst)
    }

    /// How long until a token is there at `now`; `None` when one is.
    pub fn wait(self, limit: Limit, now: f64) -> Option<Duration> {
        let tokens = self.refilled(limit, now);
        (tokens < 1.0).then(|| until_one(tokens, limit))
    }

    /// Takes a token at `now`: the level after, and the wait when there was none (then nothing
    /// is taken).
    pub fn take(self, limit: Limit, now: f64) -> (Self, Option<Duration>) {
        let tokens = self.refilled(limit, now);
        let at = self.at.max(now);
        if tokens >= 1.0 {
            (
                Self {
                    tokens: tokens - 1.0,
                    at,
                },
                None,
            )
        } else {
            (Self { tokens, at }, Some(until_one(tokens, limit)))
        }
    }
}

/// The wait until `tokens` has refilled to one.
pub fn until_one(tokens: f64, limit: Limit) -> Duration {
    Duration::from_secs_f64(((1.0 - tokens) / limit.per_second.max(f64::MIN_POSITIVE)).max(0.0))
}

/// Buckets kept in this process: the embedded backend's.
#[derive(Debug, Default)]
pub struct LocalBuckets {
    levels: Mutex<HashMap<Bucket, Level>>,
}

impl LocalBuckets {
    /// Takes a token from `bucket` at `now`; the wait when there is none.
    pub fn take(&self, bucket: Bucket, now: f64) -> Option<Duration> {
        let mut levels = self.levels.lock().unwrap_or_else(PoisonError::into_inner);
        let limit = bucket.limit();
        let level = levels
            .get(&bucket)
            .copied()
            .unwrap_or_else(|| Level::full(limit, now));
        let (after, wait) = level.take(limit, now);
        levels.insert(bucket, after);
        wait
    }

    /// How long until `bucket` has a token at `now`, taking none.
    pub fn wait(&self, bucket: Bucket, now: f64) -> Option<Duration> {
        let levels = self.levels.lock().unwrap_or_else(PoisonError::into_inner);
        levels.get(&bucket)?.wait(bucket.limit(), now)
    }

    /// Forgets the buckets last counted before `before` (they are full again); how many.
    pub fn forget_idle(&self, before: f64) -> usize {
        let mut levels = self.levels.lock().unwrap_or_else(PoisonError::into_inner);
        let count = levels.len();
        levels.retain(|_, level| level.at >= before);
        count - levels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_requests_wait_for_the_rate() {
        let buckets = LocalBuckets::default();
        let (a, b) = (
            Bucket::Registration(Some([10, 0, 0, 1].into())),
            Bucket::Registration(Some([10, 0, 0, 2].into())),
        );
        let start = 1_700_000_000.0;
        for _ in 0..10 {
            assert_eq!(buckets.take(a, start), None);
        }
        let wait = buckets.take(a, start).expect("the burst is spent");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(buckets.wait(a, start), Some(wait), "a look takes nothing");
        assert_eq!(buckets.take(b, start), None, "buckets are per address");
        assert_eq!(buckets.take(a, start + 1.0), None, "one a second again");
        assert_eq!(
            buckets.forget_idle(start + 0.5),
            1,
            "b is forgotten, a kept"
        );
    }

    #[test]
    fn a_clock_that_goes_back_refills_nothing() {
        let limit = REGISTRATION_LIMIT;
        let spent = Level {
            tokens: 0.0,
            at: 100.0,
        };
        assert!(spent.take(limit, 50.0).1.is_some());
        assert_eq!(spent.take(limit, 50.0).0.at, 100.0);
    }
}
