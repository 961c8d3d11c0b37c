//! The sandbox's rate limiter, in the shapes real gateways use, so the client's rate control is
//! tested against each: a fixed window (N per period, counted from the first request), a
//! sliding window (at most N in any one period), a token bucket (N per period, bursts up to N).
//! `Retry-After` says when a request would be admitted, in whole seconds (at least 1), unless
//! switched off; the quota may change once, some time after the first request.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How the quota is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitShape {
    Fixed,
    Sliding,
    Bucket,
}

impl std::str::FromStr for LimitShape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fixed" => Ok(LimitShape::Fixed),
            "sliding" => Ok(LimitShape::Sliding),
            "bucket" => Ok(LimitShape::Bucket),
            _ => Err(format!(
                "`{s}` is not a limit shape; use fixed, sliding or bucket"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    /// Requests admitted per `period`.
    pub quota: u32,
    pub period: Duration,
    pub shape: LimitShape,
    /// Whether a 429 carries `Retry-After`.
    pub retry_after: bool,
    /// From this long after the first request on, the quota is the second value.
    pub change: Option<(Duration, u32)>,
}

impl RateLimit {
    /// `n` per second in fixed windows, with `Retry-After`: the sandbox's default shape.
    pub fn per_second(n: u32) -> Self {
        RateLimit {
            quota: n,
            period: Duration::from_secs(1),
            shape: LimitShape::Fixed,
            retry_after: true,
            change: None,
        }
    }
}

/// The limiter's state.
pub(crate) struct Limiter {
    config: RateLimit,
    first: Option<Instant>,
    /// Fixed: the window's number (periods since the first request) and how many it admitted.
    window: (u128, u32),
    /// Sliding: when each admitted request of the last period arrived.
    admitted: VecDeque<Instant>,
    /// Bucket: tokens and when they were counted.
    bucket: (f64, Instant),
}

/// Whole seconds, at least one: what `Retry-After` can say.
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

impl Limiter {
    pub(crate) fn new(config: RateLimit) -> Self {
        let now = Instant::now();
        Limiter {
            bucket: (f64::from(config.quota), now),
            config,
            first: None,
            window: (0, 0),
            admitted: VecDeque::new(),
        }
    }

    fn quota(&self, now: Instant) -> u32 {
        match (self.config.change, self.first) {
            (Some((after, later)), Some(first)) if now.duration_since(first) >= after => later,
            _ => self.config.quota,
        }
    }

    /// `Ok` admits the request; `Err` refuses it, with the `Retry-After` to send, if any.
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), Option<u64>> {
        let first = *self.first.get_or_insert(now);
        let quota = self.quota(now);
        let period = self.config.period;
        let wait = match self.config.shape {
            LimitShape::Fixed => {
                let elapsed = now.duration_since(first).as_nanos();
                let window = elapsed / period.as_nanos();
                if window != self.window.0 {
                    self.window = (window, 0);
                }
                if self.window.1 < quota {
                    self.window.1 += 1;
                    return Ok(());
                }
                let ends = (window + 1) * period.as_nanos();
                Duration::from_nanos((ends - elapsed).min(u128::from(u64::MAX)) as u64)
            }
            LimitShape::Sliding => {
                while self
                    .admitted
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= period)
                {
                    self.admitted.pop_front();
                }
                if self.admitted.len() < quota as usize {
                    self.admitted.push_back(now);
                    return Ok(());
                }
                let oldest = self.admitted.front().copied().unwrap_or(now);
                (oldest + period).saturating_duration_since(now)
            }
            LimitShape::Bucket => {
                let per_sec = f64::from(quota) / period.as_secs_f64();
                let (tokens, at) = self.bucket;
                let tokens =
                    (tokens + now.duration_since(at).as_secs_f64() * per_sec).min(f64::from(quota));
                if tokens >= 1.0 {
                    self.bucket = (tokens - 1.0, now);
                    return Ok(());
                }
                self.bucket = (tokens, now);
                Duration::from_secs_f64((1.0 - tokens) / per_sec)
            }
        };
        Err(self.config.retry_after.then(|| whole_seconds(wait)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(shape: LimitShape, quota: u32, period_ms: u64) -> Limiter {
        Limiter::new(RateLimit {
            quota,
            period: Duration::from_millis(period_ms),
            shape,
            retry_after: true,
            change: None,
        })
    }

    #[test]
    fn a_fixed_window_admits_its_quota_then_waits_for_the_next_window() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut l = limiter(LimitShape::Fixed, 3, 1000);
        assert!((0..3).all(|i| l.admit(ms(i)).is_ok()));
        assert_eq!(l.admit(ms(10)), Err(Some(1)));
        assert_eq!(l.admit(ms(999)), Err(Some(1)));
        assert!(l.admit(ms(1000)).is_ok());
        // Windows stay on the first request's clock, whatever the gaps.
        assert!((0..2).all(|_| l.admit(ms(1500)).is_ok()));
        assert!(l.admit(ms(1999)).is_err());
        assert!(l.admit(ms(5000)).is_ok());
    }

    #[test]
    fn a_sliding_window_admits_at_most_the_quota_in_any_period() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut l = limiter(LimitShape::Sliding, 2, 1000);
        assert!(l.admit(ms(0)).is_ok());
        assert!(l.admit(ms(600)).is_ok());
        assert!(l.admit(ms(900)).is_err());
        // The first one leaves the window at 1000 ms, the second at 1600 ms.
        assert!(l.admit(ms(1000)).is_ok());
        assert_eq!(l.admit(ms(1100)), Err(Some(1)));
        assert!(l.admit(ms(1600)).is_ok());
    }

    #[test]
    fn a_bucket_allows_a_burst_then_its_rate() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut l = limiter(LimitShape::Bucket, 10, 1000);
        assert!((0..10).all(|_| l.admit(ms(0)).is_ok()));
        assert!(l.admit(ms(0)).is_err());
        assert!(l.admit(ms(100)).is_ok(), "one token per 100 ms");
        assert!(l.admit(ms(150)).is_err());
    }

    #[test]
    fn the_quota_changes_after_its_time_and_retry_after_can_be_off() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut l = Limiter::new(RateLimit {
            quota: 1,
            period: Duration::from_secs(1),
            shape: LimitShape::Fixed,
            retry_after: false,
            change: Some((Duration::from_secs(2), 3)),
        });
        assert!(l.admit(ms(0)).is_ok());
        assert_eq!(l.admit(ms(1)), Err(None));
        assert!(l.admit(ms(2000)).is_ok());
        assert!(l.admit(ms(2001)).is_ok());
        assert!(l.admit(ms(2002)).is_ok());
        assert!(l.admit(ms(2003)).is_err());
    }
}
