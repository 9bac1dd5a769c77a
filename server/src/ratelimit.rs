//! Token buckets: each station (and registration as a whole) may make a burst of requests and
//! then a steady rate; beyond that the server answers 429 with `Retry-After`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once after a quiet period.
    pub burst: f64,
}

/// Buckets keyed by `K`.
#[derive(Debug)]
pub struct RateLimiter<K> {
    limit: Limit,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Eq + Hash> RateLimiter<K> {
    /// Empty buckets with `limit`.
    pub fn new(limit: Limit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// How long until `key` has a token again, without taking one; `None` when it has one.
    pub fn wait(&self, key: &K, now: Instant) -> Option<Duration>
    where
        K: Clone,
    {
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, at) = buckets.get(key)?;
        let elapsed = now.saturating_duration_since(*at).as_secs_f64();
        let tokens = (tokens + elapsed * self.limit.per_second).min(self.limit.burst);
        (tokens < 1.0).then(|| {
            Duration::from_secs_f64((1.0 - tokens) / self.limit.per_second.max(f64::MIN_POSITIVE))
        })
    }

    /// Takes one token for `key`: `Ok` when allowed, else how long until the next one.
    ///
    /// # Errors
    /// The wait until a request would be allowed.
    pub fn check(&self, key: K, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, at) = buckets.entry(key).or_insert((self.limit.burst, now));
        let elapsed = now.saturating_duration_since(*at).as_secs_f64();
        *tokens = (*tokens + elapsed * self.limit.per_second).min(self.limit.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - *tokens) / self.limit.per_second.max(f64::MIN_POSITIVE),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_requests_wait_for_the_rate() {
        let limiter = RateLimiter::new(Limit {
            per_second: 10.0,
            burst: 3.0,
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check("a", start).is_ok());
        }
        let wait = limiter.check("a", start).expect_err("the burst is spent");
        assert!(wait <= Duration::from_millis(100));
        assert!(limiter.check("b", start).is_ok(), "buckets are per key");
        assert!(limiter
            .check("a", start + Duration::from_millis(100))
            .is_ok());
    }
}
