//! Injected faults: the 503 share, the dropped-response share and the rate limit ([`super::limit`]).
//!
//! Draws come from one generator, seeded by `seed` when given, so a sequential run with the same
//! seed sees the same faults on the same requests. A rate of 0 never draws and a rate of 1 always
//! fails, so the extremes are exact whatever the seed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::envelope::ApiError;
use super::limit::Limiter;
use super::{lock, SandboxConfig};

pub(crate) struct Faults {
    rng: Mutex<StdRng>,
    error_rate: f64,
    drop_rate: f64,
    limiter: Option<Mutex<Limiter>>,
    limited: AtomicU64,
}

impl Faults {
    pub(crate) fn new(config: &SandboxConfig) -> Faults {
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Faults {
            rng: Mutex::new(rng),
            error_rate: config.error_rate,
            drop_rate: config.drop_rate,
            limiter: config
                .rate_limit
                .clone()
                .map(|l| Mutex::new(Limiter::new(l))),
            limited: AtomicU64::new(0),
        }
    }

    fn draw(&self, rate: f64) -> bool {
        if rate <= 0.0 {
            false
        } else if rate >= 1.0 {
            true
        } else {
            lock(&self.rng).random::<f64>() < rate
        }
    }

    /// 503 before anything is committed.
    pub(crate) fn unavailable(&self) -> Result<(), ApiError> {
        if self.draw(self.error_rate) {
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                503,
                "Service temporarily unavailable (sandbox --error-rate); retry later",
            ))
        } else {
            Ok(())
        }
    }

    /// Whether this committed request's response is dropped.
    pub(crate) fn drop_response(&self) -> bool {
        self.draw(self.drop_rate)
    }

    /// 429 (with `Retry-After` unless the limit is configured without) when the limiter
    /// refuses.
    pub(crate) fn rate_limit(&self) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let Err(retry_after) = lock(limiter).admit(Instant::now()) else {
            return Ok(());
        };
        self.limited.fetch_add(1, Ordering::Relaxed);
        let error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            429,
            "Rate limit exceeded (sandbox --rate-limit); retry later",
        );
        Err(match retry_after {
            Some(secs) => error.retry_after(secs),
            None => error,
        })
    }

    /// How many requests the limiter refused.
    pub(crate) fn limited(&self) -> u64 {
        self.limited.load(Ordering::Relaxed)
    }
}
