//! Injected faults: the 503 share, the dropped-response share and the per-second rate limit.
//!
//! Draws come from one generator, seeded by `seed` when given, so a sequential run with the same
//! seed sees the same faults on the same requests. A rate of 0 never draws and a rate of 1 always
//! fails, so the extremes are exact whatever the seed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::routes::ApiError;
use super::{lock, SandboxConfig};

pub(crate) struct Faults {
    rng: Mutex<StdRng>,
    error_rate: f64,
    drop_rate: f64,
    limit: Option<u32>,
    window: Mutex<Window>,
}

/// A fixed one-second window that opens with the first request after the previous one closed.
struct Window {
    opened: Instant,
    count: u32,
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
            limit: config.rate_limit_per_sec,
            window: Mutex::new(Window {
                opened: Instant::now(),
                count: 0,
            }),
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

    /// 429 with `Retry-After: 1` above `limit` requests in the current second.
    pub(crate) fn rate_limit(&self) -> Result<(), ApiError> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let now = Instant::now();
        let mut window = lock(&self.window);
        if now.duration_since(window.opened) >= Duration::from_secs(1) {
            window.opened = now;
            window.count = 0;
        }
        if window.count >= limit {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                429,
                &format!("Rate limit exceeded: at most {limit} requests per second; retry after 1 second"),
            )
            .retry_after(1));
        }
        window.count += 1;
        Ok(())
    }
}
