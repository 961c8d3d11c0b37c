//! "Now", for period status and the backdating check. `STREAK_IMPORT_NOW` fixes it so that runs,
//! tests and snapshots are reproducible.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::error::InputError;

pub const NOW_VAR: &str = "STREAK_IMPORT_NOW";

#[derive(Debug, Clone, Copy)]
pub enum Now {
    /// A wall-clock time, read in each row's own time zone (`2026-07-01T09:00:00`).
    Local(NaiveDateTime),
    /// An instant (`…Z`, `…+05:30`, or the real clock).
    Instant(DateTime<Utc>),
}

impl Now {
    pub fn from_env() -> Result<Self, InputError> {
        match std::env::var(NOW_VAR) {
            Ok(text) if !text.trim().is_empty() => Self::parse(text.trim()).ok_or_else(|| {
                InputError::Usage(format!(
                    "{NOW_VAR}={text}: not a date-time. Use the form 2026-07-01T09:00:00 (optionally with Z or an offset)."
                ))
            }),
            _ => Ok(Now::Instant(Utc::now())),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
            return Some(Now::Instant(dt.with_timezone(&Utc)));
        }
        [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .map(Now::Local)
    }

    /// The wall-clock time in `zone` (UTC when the row has none).
    pub fn in_zone(&self, zone: Option<Tz>) -> NaiveDateTime {
        match self {
            Now::Local(t) => *t,
            Now::Instant(t) => match zone {
                Some(z) => t.with_timezone(&z).naive_local(),
                None => t.naive_utc(),
            },
        }
    }
}
