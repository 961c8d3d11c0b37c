//! The v3 answer envelope the sandbox speaks: `{data, errors: [{code, message}], warnings}`,
//! with the HTTP status and, for 429, `Retry-After`.
//!
//! Error codes outside Capillary's documented list (auth, rate limit, faults, unknown paths) use
//! the HTTP status as `code` (401, 404, 405, 415, 429, 503).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::rules::Violation;

/// An error answer: status, `errors[]`, and `Retry-After` for 429.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    errors: Vec<Violation>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: i64, message: &str) -> ApiError {
        ApiError {
            status,
            errors: vec![Violation {
                code,
                message: message.to_string(),
            }],
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(errors: Vec<Violation>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            errors,
            retry_after: None,
        }
    }

    pub(crate) fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let errors: Vec<Value> = self
            .errors
            .iter()
            .map(|e| json!({ "code": e.code, "message": e.message }))
            .collect();
        let body = json!({ "data": null, "errors": errors, "warnings": null });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// `200 {"data": data, "errors": null, "warnings": null}`.
pub(crate) fn ok(data: Value) -> Response {
    Json(json!({ "data": data, "errors": null, "warnings": null })).into_response()
}
