//! Credentials and the header each request carries: Basic (`base64(user ":" md5_hex(pass))`)
//! or an OAuth token from `POST /v3/oauth/token/generate`, renewed before its lifetime runs
//! out and once more when the API refuses it. Nothing here formats a secret into a message.

use std::time::{Duration, Instant};

use base64::Engine;
use md5::{Digest, Md5};
use reqwest::header::HeaderName;
use serde_json::Value;

#[derive(Clone)]
pub enum Credentials {
    Basic { username: String, password: String },
    OAuth { key: String, secret: String },
}

impl std::fmt::Debug for Credentials {
    /// Never shows a secret, whoever prints it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, password hidden)"),
            Credentials::OAuth { .. } => write!(f, "OAuth(key and secret hidden)"),
        }
    }
}

/// `md5_hex(password)`, lowercase: the digest the Basic scheme sends.
pub fn md5_hex(password: &str) -> String {
    format!("{:x}", Md5::digest(password.as_bytes()))
}

/// `Basic base64(username ":" md5_hex(password))`, as the API's Basic scheme defines it.
pub fn basic_header(username: &str, password: &str) -> String {
    let hex = md5_hex(password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{hex}"))
    )
}

pub const TOKEN_HEADER: HeaderName = HeaderName::from_static("x-cap-api-oauth-token");

/// A token whose lifetime the server did not say (0, missing, garbage) is used until the API
/// refuses it, but not longer than this: never one token request per row.
const UNKNOWN_LIFETIME: Duration = Duration::from_secs(3600);
/// Lifetimes beyond this are taken as this (a `ttlSeconds` of u64::MAX must not overflow).
const LONGEST_LIFETIME: Duration = Duration::from_secs(86_400);

/// When a token of `ttl_seconds` (as the server wrote it) should be renewed: when 80% of its
/// lifetime has gone, so no request carries a dying token.
pub fn renew_after(ttl_seconds: Option<&Value>) -> Duration {
    let secs = match ttl_seconds {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match secs {
        Some(s) if s.is_finite() && s >= 1.0 => {
            Duration::from_secs_f64(s.min(LONGEST_LIFETIME.as_secs_f64()) * 0.8)
        }
        _ => UNKNOWN_LIFETIME,
    }
}

/// The current OAuth token. `generation` tells a request whose token was refused whether it
/// is still the current one (then it is dropped and renewed once) or already replaced.
pub struct Token {
    pub value: String,
    pub renew_at: Instant,
    pub generation: u64,
}

impl Token {
    pub fn fresh(&self) -> bool {
        self.renew_at > Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_base64_of_user_and_lowercase_md5() {
        // The vendor's page shows `bdc87b9c…` as md5("Pass123"); it is not (md5 gives
        // 2f23fa35…), so the page's digest is checked for its encoding only.
        assert_eq!(
            basic_header("store123", "Pass123"),
            "Basic c3RvcmUxMjM6MmYyM2ZhMzU3OWYzZjc1MTc1NzkzNjQ5MTE1YzFiMjU="
        );
        let vendor = base64::engine::general_purpose::STANDARD
            .encode("store123:bdc87b9c894da5168059e00ebffb9077");
        assert_eq!(
            vendor,
            "c3RvcmUxMjM6YmRjODdiOWM4OTRkYTUxNjgwNTllMDBlYmZmYjkwNzc="
        );
    }

    #[test]
    fn credentials_never_print_secrets() {
        let c = Credentials::Basic {
            username: "till".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        let o = Credentials::OAuth {
            key: "k1".into(),
            secret: "s3cr3t".into(),
        };
        assert!(!format!("{o:?}").contains("s3cr3t"));
    }

    #[test]
    fn token_lifetimes_are_clamped() {
        let v = |j: Value| renew_after(Some(&j));
        assert_eq!(v(serde_json::json!(300)), Duration::from_secs(240));
        assert_eq!(v(serde_json::json!("300")), Duration::from_secs(240));
        assert_eq!(v(serde_json::json!(u64::MAX)), Duration::from_secs(69_120));
        assert_eq!(v(serde_json::json!(1e300)), Duration::from_secs(69_120));
        for unknown in [
            serde_json::json!(0),
            serde_json::json!(-5),
            serde_json::json!(0.5),
            serde_json::json!("soon"),
            serde_json::json!(null),
            serde_json::json!([]),
        ] {
            assert_eq!(v(unknown.clone()), UNKNOWN_LIFETIME, "{unknown}");
        }
        assert_eq!(renew_after(None), UNKNOWN_LIFETIME);
    }
}
