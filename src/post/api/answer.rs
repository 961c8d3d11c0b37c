//! Reading an answer without trusting it: a body read up to a cap, `Retry-After` in any form a
//! server may send (or garble), the id of a created group in any type a server may give it,
//! and the API's `errors[]`.

use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderMap};
use serde_json::Value;

use crate::outcome::ApiError;

/// The most of a response body the client reads: every answer of this API is a few KB.
pub const BODY_CAP: usize = 1 << 20;

/// Why a body could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyError {
    TooLarge,
    /// The connection failed or timed out while the body was coming.
    Cut(String),
    NotJson(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge => write!(f, "an answer larger than {} MiB", BODY_CAP >> 20),
            BodyError::Cut(why) => write!(f, "the answer was cut off ({why})"),
            BodyError::NotJson(why) => write!(f, "an answer that is not JSON ({why})"),
        }
    }
}

/// Reads the body, at most [`BODY_CAP`] bytes, and parses it as JSON. An empty body is
/// `Null`: some answers (a 429 from a proxy, a 503) have none.
pub async fn read_json(mut resp: reqwest::Response) -> Result<Value, BodyError> {
    if resp.content_length().is_some_and(|n| n > BODY_CAP as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut bytes = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > BODY_CAP {
                    return Err(BodyError::TooLarge);
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                let why = if e.is_timeout() {
                    "no end before the timeout"
                } else {
                    "connection lost"
                };
                return Err(BodyError::Cut(why.into()));
            }
        }
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| BodyError::NotJson(e.to_string()))
}

/// A `Retry-After` header as the client understands it.
#[derive(Debug, Clone, PartialEq)]
pub enum RetryAfter {
    Absent,
    /// How long the server asked to wait (`Duration::MAX` for "forever": `inf`, `1e30`).
    Wait(Duration),
    /// Present but meaningless (negative, NaN, garbage): the client's own backoff applies.
    Unreadable,
}

impl RetryAfter {
    pub fn wait(&self) -> Option<Duration> {
        match self {
            RetryAfter::Wait(d) => Some(*d),
            _ => None,
        }
    }
}

/// `Retry-After` as seconds (a decimal is tolerated) or an HTTP date; a date in the past is
/// no wait at all. Never panics, whatever the text.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> RetryAfter {
    let Some(value) = headers.get(header::RETRY_AFTER) else {
        return RetryAfter::Absent;
    };
    let Ok(text) = value.to_str() else {
        return RetryAfter::Unreadable;
    };
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return if secs.is_nan() || secs < 0.0 {
            RetryAfter::Unreadable
        } else {
            RetryAfter::Wait(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
        };
    }
    match httpdate::parse_http_date(text) {
        Ok(when) => RetryAfter::Wait(when.duration_since(now).unwrap_or(Duration::ZERO)),
        Err(_) => RetryAfter::Unreadable,
    }
}

/// A header's value as it may be shown in a message: printable, and short.
pub fn shown(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    let value = headers.get(name)?;
    let text: String = String::from_utf8_lossy(value.as_bytes())
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    Some(if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    })
}

/// The id of a created group: `data.id` as a positive integer, or a string of digits (some
/// gateways turn 64-bit numbers into strings). Anything else is no usable id.
pub fn created_id(body: &Value) -> Option<i64> {
    let id = body.get("data")?.get("id")?;
    let n = match id {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    (n > 0).then_some(n)
}

/// The API's `errors[]`, tolerating any shape.
pub fn api_errors(body: &Value) -> Vec<ApiError> {
    let Some(list) = body.get("errors").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|e| ApiError {
            code: match e.get("code") {
                Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
                Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
                _ => 0,
            },
            message: match e.get("message") {
                Some(Value::String(s)) => s.clone(),
                Some(other) if !other.is_null() => other.to_string(),
                _ => String::new(),
            },
        })
        .collect()
}

/// `90061 s` → `1 day 1 hour`: waits in messages are read by people.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 100 * 365 * 86_400 {
        return "forever".into();
    }
    if secs < 1 {
        return format!("{} ms", d.as_millis());
    }
    let units = [
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
        ("second", 1),
    ];
    let parts: Vec<String> = units
        .iter()
        .scan(secs, |left, (name, size)| {
            let n = *left / size;
            *left %= size;
            Some((n, name))
        })
        .filter(|(n, _)| *n > 0)
        .take(2)
        .map(|(n, name)| format!("{n} {name}{}", if n == 1 { "" } else { "s" }))
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(text: &str) -> RetryAfter {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, text.parse().unwrap());
        let now = httpdate::parse_http_date("Tue, 01 Dec 2026 09:00:00 GMT").unwrap();
        retry_after(&h, now)
    }

    #[test]
    fn retry_after_in_every_form_without_a_panic() {
        let secs = |s: f64| RetryAfter::Wait(Duration::from_secs_f64(s));
        assert_eq!(after("2"), secs(2.0));
        assert_eq!(after(" 1.5 "), secs(1.5));
        assert_eq!(after("0"), secs(0.0));
        assert_eq!(after("999999"), secs(999_999.0));
        assert_eq!(after("inf"), RetryAfter::Wait(Duration::MAX));
        assert_eq!(after("1e30"), RetryAfter::Wait(Duration::MAX));
        assert_eq!(after("-5"), RetryAfter::Unreadable);
        assert_eq!(after("-inf"), RetryAfter::Unreadable);
        assert_eq!(after("NaN"), RetryAfter::Unreadable);
        assert_eq!(after("soon"), RetryAfter::Unreadable);
        assert_eq!(after(""), RetryAfter::Unreadable);
        assert_eq!(after("Tue, 01 Dec 2026 09:00:30 GMT"), secs(30.0));
        assert_eq!(after("Tuesday, 01-Dec-26 09:01:00 GMT"), secs(60.0));
        assert_eq!(after("Tue Dec  1 09:00:05 2026"), secs(5.0));
        assert_eq!(after("Wed, 21 Oct 2015 07:28:00 GMT"), secs(0.0));
        let mut h = HeaderMap::new();
        h.insert(
            header::RETRY_AFTER,
            header::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        assert_eq!(retry_after(&h, SystemTime::now()), RetryAfter::Unreadable);
        assert_eq!(
            retry_after(&HeaderMap::new(), SystemTime::now()),
            RetryAfter::Absent
        );
    }

    #[test]
    fn ids_of_every_type() {
        let id = |v: Value| created_id(&serde_json::json!({ "data": { "id": v } }));
        assert_eq!(id(serde_json::json!(1234)), Some(1234));
        assert_eq!(id(serde_json::json!("1234")), Some(1234));
        assert_eq!(id(serde_json::json!(" 77 ")), Some(77));
        for bad in [
            serde_json::json!("abc"),
            serde_json::json!(null),
            serde_json::json!(1.5),
            serde_json::json!(-1),
            serde_json::json!(0),
            serde_json::json!(true),
            serde_json::json!({}),
            serde_json::json!([1]),
            serde_json::json!(1e20),
            serde_json::json!("99999999999999999999"),
        ] {
            assert_eq!(id(bad.clone()), None, "{bad}");
        }
        assert_eq!(created_id(&serde_json::json!({ "data": {} })), None);
        assert_eq!(created_id(&serde_json::json!({ "data": [] })), None);
        assert_eq!(created_id(&serde_json::json!("ok")), None);
    }

    #[test]
    fn errors_of_any_shape() {
        let body = serde_json::json!({ "errors": [
            { "code": 310069, "message": "exists" },
            { "code": "310008", "message": 5 },
            { "nothing": true },
        ]});
        let codes: Vec<(i64, String)> = api_errors(&body)
            .into_iter()
            .map(|e| (e.code, e.message))
            .collect();
        assert_eq!(
            codes,
            [
                (310069, "exists".into()),
                (310008, "5".into()),
                (0, String::new())
            ]
        );
        assert!(api_errors(&serde_json::json!({ "errors": "boom" })).is_empty());
    }

    #[test]
    fn waits_read_as_people_say_them() {
        assert_eq!(
            human_duration(Duration::from_secs(999_999)),
            "11 days 13 hours"
        );
        assert_eq!(human_duration(Duration::from_secs(600)), "10 minutes");
        assert_eq!(human_duration(Duration::from_secs(61)), "1 minute 1 second");
        assert_eq!(human_duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(human_duration(Duration::MAX), "forever");
    }
}
