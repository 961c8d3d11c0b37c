//! The endpoints; their answers go out in the v3 envelope ([`super::envelope`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::envelope::{ok, ApiError};
use super::rules::{self, Violation};
use super::{auth, lock, DropConnection, Shared};
use crate::columns::STREAK_TRACKING_TYPES;

type ApiResult = Result<Response, ApiError>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v3/oauth/token/generate", post(token_generate))
        .route("/v3/targetGroups", post(create).get(list))
        .route("/v3/targetGroups/isValidName", post(is_valid_name))
        .route("/v3/targetGroups/{id}", get(get_one).delete(delete))
        .route("/v3/targetGroups/editTargetGroup/{id}", put(edit_group))
        .route(
            "/v3/targetGroups/{group}/targets/{target}",
            put(edit_target),
        )
        .route("/v3/milestones", get(milestones))
        .route("/_sandbox/stats", get(stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

impl Shared {
    /// Auth, then the rate limit: what every endpoint but token generation goes through.
    fn admit(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        auth::check(&self.config, &self.tokens, headers)?;
        self.faults.rate_limit()
    }
}

/// A body is JSON when it says nothing about its type, or says JSON.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
    if ct.starts_with("application/json") || ct.contains("+json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            415,
            "Unsupported media type: send Content-Type: application/json",
        ))
    }
}

fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(vec![rules::invalid_input(format!(
            "The request body is not valid JSON ({e})."
        ))])
    })
}

async fn token_generate(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    require_json(&headers)?;
    let request = parse_json(&body)?;
    let field = |k: &str| request.get(k).and_then(Value::as_str);
    let (Some(key), Some(secret)) = (field("key"), field("secret")) else {
        return Err(ApiError::bad_request(vec![rules::invalid_input(
            "The body must be {\"key\": \"…\", \"secret\": \"…\"}.",
        )]));
    };
    if key != s.config.oauth_key || secret != s.config.oauth_secret {
        return Err(auth::unauthorized("Failed to generate OAuth token"));
    }
    let ttl = s.config.token_ttl_secs;
    let token = s.tokens.issue(std::time::Duration::from_secs(ttl));
    Ok(Json(json!({
        "data": { "accessToken": token, "ttlSeconds": ttl },
        "errors": null,
        "warnings": null,
    }))
    .into_response())
}

/// `POST /v3/targetGroups`: record, auth, faults, validate, commit, then answer (or drop).
async fn create(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let parsed = serde_json::from_slice::<Value>(&body);
    let received = match &parsed {
        Ok(v) => v.clone(),
        Err(_) => Value::String(String::from_utf8_lossy(&body).into_owned()),
    };
    lock(&s.received).push((std::time::Instant::now(), received));
    s.admit(&headers)?;
    s.faults.unavailable()?;
    require_json(&headers)?;
    let body = parse_json(&body)?;
    rules::check(&body).map_err(ApiError::bad_request)?;
    let inserted = lock(&s.store).insert(&body);
    let Ok((group, generation)) = inserted else {
        return Err(name_taken());
    };
    s.persisted(generation).await;
    if s.faults.drop_response() {
        let mut response = StatusCode::OK.into_response();
        response.extensions_mut().insert(DropConnection);
        return Ok(response);
    }
    Ok(ok(group))
}

/// `POST /v3/targetGroups/isValidName {"type", "value"}` → `data: true` when the name is free
/// (ignoring case). `targetGroupName` and `streakName` look at group names, `targetName` at
/// target names, `streakLevelName` at streak level names, `periodName` at period `refCode`s.
async fn is_valid_name(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> ApiResult {
    s.admit(&headers)?;
    require_json(&headers)?;
    let request = parse_json(&body)?;
    let kind = request
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(value) = request.get("value").and_then(Value::as_str) else {
        return Err(ApiError::bad_request(vec![rules::invalid_input(
            "The body must be {\"type\": \"…\", \"value\": \"<name>\"}.",
        )]));
    };
    let store = lock(&s.store);
    let taken = match kind {
        "targetGroupName" | "streakName" => store.group_name_taken(value),
        "targetName" => store.nested_name_taken("targets", "name", value),
        "streakLevelName" => store.nested_name_taken("streaks", "name", value),
        "periodName" => store.nested_name_taken("periods", "refCode", value),
        _ => {
            return Err(ApiError::bad_request(vec![Violation {
                code: rules::INVALID_KEY,
                message: "Invalid key is passed (type must be targetGroupName, streakName, targetName, streakLevelName or periodName)".into(),
            }]))
        }
    };
    Ok(ok(Value::Bool(!taken)))
}

async fn list(State(s): State<Arc<Shared>>, headers: HeaderMap) -> ApiResult {
    s.admit(&headers)?;
    let groups = lock(&s.store).all();
    Ok(ok(Value::Array(groups)))
}

fn group_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        rules::NOT_FOUND,
        &format!("Target group not found or deactivated (id {id})"),
    )
}

/// `GET /v3/targetGroups/{id}?includePeriods=true|false` (periods included unless `false`),
/// with the group's `status` as the milestones search gives it.
async fn get_one(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    s.admit(&headers)?;
    let group = id
        .parse::<u64>()
        .ok()
        .and_then(|n| lock(&s.store).get(n).cloned());
    let mut group = group.ok_or_else(|| group_not_found(&id))?;
    let without_periods = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == "includePeriods" && v.eq_ignore_ascii_case("false"));
    group["status"] = Value::String(group_status(&group).into());
    if without_periods {
        if let Some(g) = group.as_object_mut() {
            g.remove("periods");
        }
    }
    Ok(ok(group))
}

/// What every `PUT` goes through before its own checks: auth and the rate limit, the fault
/// draw, a JSON body, and the log of changes.
fn change_request(
    s: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> Result<Value, ApiError> {
    s.admit(headers)?;
    s.faults.unavailable()?;
    require_json(headers)?;
    let request = parse_json(body)?;
    record_change(s, "PUT", uri, request.clone());
    Ok(request)
}

/// `310069`, as the API words it.
fn name_taken() -> ApiError {
    ApiError::bad_request(vec![Violation {
        code: rules::NAME_EXISTS,
        message: rules::NAME_EXISTS_MESSAGE.into(),
    }])
}

/// Records a change request (`PUT`, `DELETE`) for [`super::Sandbox::changes`].
fn record_change(s: &Shared, method: &str, uri: &Uri, body: Value) {
    lock(&s.changes).push(json!({ "method": method, "path": uri.path(), "body": body }));
}

/// `PUT /v3/targetGroups/editTargetGroup/{id}` with the group's body: only its `name` is
/// applied (the reference's "only name, expression, expressionJson editable"; the expression
/// lives on the target). A name another group has is `310069`.
async fn edit_group(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    let request = change_request(&s, &headers, &uri, &body)?;
    let name = request.get("name").and_then(Value::as_str).map(str::trim);
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Err(ApiError::bad_request(vec![rules::invalid_input(
            "name is required and must be a non-empty string.",
        )]));
    };
    let n = id.parse::<u64>().map_err(|_| group_not_found(&id))?;
    let renamed = lock(&s.store).rename(n, name);
    let generation = match renamed {
        Ok(Some(generation)) => generation,
        Ok(None) => return Err(group_not_found(&id)),
        Err(_) => return Err(name_taken()),
    };
    s.persisted(generation).await;
    let group = lock(&s.store).get(n).cloned().unwrap_or(Value::Null);
    Ok(ok(group))
}

/// `PUT /v3/targetGroups/{groupId}/targets/{targetId}` with any of `expression`,
/// `expressionJson`, `filters`, `defaultValues` (each of its JSON type; `defaultValues` one per
/// period); other fields are ignored, as they cannot change.
async fn edit_target(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((group, target)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    let request = change_request(&s, &headers, &uri, &body)?;
    let Some(fields) = request.as_object() else {
        return Err(ApiError::bad_request(vec![rules::invalid_input(
            "The body must be a JSON object.",
        )]));
    };
    let (g, t) = match (group.parse::<u64>(), target.parse::<u64>()) {
        (Ok(g), Ok(t)) => (g, t),
        _ => return Err(group_not_found(&group)),
    };
    let periods = lock(&s.store)
        .get(g)
        .and_then(|g| g.get("periods"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let problems = rules::check_target_edit(fields, periods);
    if !problems.is_empty() {
        return Err(ApiError::bad_request(problems));
    }
    let edited = lock(&s.store).edit_target(g, t, fields);
    let Some(generation) = edited else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            rules::NOT_FOUND,
            &format!("Target not found (group {group}, target {target})"),
        ));
    };
    s.persisted(generation).await;
    Ok(ok(Value::Bool(true)))
}

async fn delete(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    uri: Uri,
) -> ApiResult {
    s.admit(&headers)?;
    record_change(&s, "DELETE", &uri, Value::Null);
    let removed = id
        .parse::<u64>()
        .ok()
        .and_then(|n| lock(&s.store).remove(n));
    let Some(generation) = removed else {
        return Err(group_not_found(&id));
    };
    s.persisted(generation).await;
    Ok(ok(Value::Bool(true)))
}

/// A group's status now: `STOPPED` when inactive, else `UPCOMING` before its first period,
/// `ENDED` after its last, `LIVE` between.
pub(crate) fn group_status(group: &Value) -> &'static str {
    if group.get("active").and_then(Value::as_bool) == Some(false) {
        return "STOPPED";
    }
    let date = |p: Option<&Value>, field: &str| {
        p.and_then(|p| p.get(field))
            .and_then(Value::as_str)
            .and_then(|d| {
                chrono::NaiveDateTime::parse_from_str(d, crate::payload::WIRE_DATE_FORMAT).ok()
            })
    };
    let periods = group.get("periods").and_then(Value::as_array);
    let first = date(periods.and_then(|p| p.first()), "startDate");
    let last = date(periods.and_then(|p| p.last()), "endDate");
    // The run's own "now" when one is fixed, so tests and rehearsals agree on it.
    let now = crate::clock::Now::from_env()
        .map(|n| n.in_zone(None))
        .unwrap_or_else(|_| chrono::Utc::now().naive_utc());
    match (first, last) {
        (Some(f), _) if now < f => "UPCOMING",
        (_, Some(l)) if now > l => "ENDED",
        _ => "LIVE",
    }
}

/// `GET /v3/milestones?name=&type=&status=&limit=&offset=`. `status` is one or more of `LIVE`,
/// `UPCOMING`, `ENDED`, `STOPPED` (comma-separated), as [`group_status`] gives them; each
/// result carries its `status`. `name` matches the whole name ignoring case
/// (the docs leave exact vs substring open; exact is what a lookup by name needs). `type`
/// compares with `trackingType` ignoring case, where `STREAKS` (or `STREAK`) matches every streak
/// tracking type. `limit` defaults to 10, `offset` to 0; results are in id order. Other
/// parameters are accepted and ignored.
async fn milestones(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult {
    s.admit(&headers)?;
    let (mut name, mut kind, mut limit, mut offset) = (None, None, 10u64, 0u64);
    let mut statuses: Option<Vec<String>> = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let number = |min: u64| {
            v.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= min)
                .ok_or_else(|| {
                    ApiError::bad_request(vec![rules::invalid_input(format!(
                        "{k} must be a whole number of at least {min}, got {v:?}."
                    ))])
                })
        };
        match k.as_ref() {
            "name" if !v.is_empty() => name = Some(crate::sandbox::store::name_key(&v)),
            "type" if !v.is_empty() => kind = Some(v.to_ascii_uppercase()),
            "status" if !v.is_empty() => {
                statuses = Some(
                    v.split(',')
                        .map(|s| s.trim().to_ascii_uppercase())
                        .collect(),
                )
            }
            "limit" => limit = number(1)?,
            "offset" => offset = number(0)?,
            _ => {}
        }
    }
    let store = lock(&s.store);
    let matches: Vec<&Value> = store
        .iter()
        .filter(|g| {
            let group_name = g.get("name").and_then(Value::as_str).unwrap_or_default();
            name.as_ref()
                .is_none_or(|n| crate::sandbox::store::name_key(group_name) == *n)
        })
        .filter(|g| {
            let tracking = g
                .get("trackingType")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_uppercase();
            match kind.as_deref() {
                None => true,
                Some("STREAKS" | "STREAK") => STREAK_TRACKING_TYPES.contains(&tracking.as_str()),
                Some(k) => tracking == k,
            }
        })
        .filter(|g| {
            statuses
                .as_ref()
                .is_none_or(|wanted| wanted.iter().any(|w| w == group_status(g)))
        })
        .collect();
    let total = matches.len();
    let page: Vec<Value> = matches
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|g| {
            let mut g = g.clone();
            g["status"] = Value::String(group_status(&g).into());
            g
        })
        .collect();
    Ok(Json(json!({
        "pagination": { "limit": limit, "offset": offset, "total": total },
        "data": page,
        "errors": null,
        "warnings": null,
    }))
    .into_response())
}

/// `GET /_sandbox/stats`: what the sandbox saw, for benchmarks that run it as a process. Not
/// part of the API: no auth, no rate limit.
async fn stats(State(s): State<Arc<Shared>>) -> Response {
    Json(json!({
        "requests": s.requests.load(std::sync::atomic::Ordering::SeqCst),
        "limited": s.faults.limited(),
        "creates": lock(&s.received).len(),
        "groups": lock(&s.store).all().len(),
        "changes": lock(&s.changes).clone(),
    }))
    .into_response()
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        404,
        &format!("No such endpoint: {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        405,
        &format!("Method {method} is not supported on {}", uri.path()),
    )
}
