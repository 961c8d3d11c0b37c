//! The calls of a streak's later life (reference §8): read a group with its periods, list the
//! org's streaks page by page, edit a target or a group's name, delete a group. Each goes
//! through the same pace, auth and retries as a create.

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{api_errors, refusal, url, Client, Halt};
use crate::outcome::ApiError;

/// Why a lifecycle call has no answer to use.
#[derive(Debug, Clone)]
pub enum LiveError {
    /// The whole run stops (credentials refused, the API unreachable, Ctrl-C).
    Halt(Halt),
    /// This call failed (its detail); other calls may go on.
    Failed(String),
}

impl From<Result<Halt, String>> for LiveError {
    fn from(e: Result<Halt, String>) -> Self {
        match e {
            Ok(halt) => LiveError::Halt(halt),
            Err(detail) => LiveError::Failed(detail),
        }
    }
}

/// What a change request (edit, delete) came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Changed {
    Done,
    /// No such group (or target): 404, or the API's "not found" code.
    NotFound,
    /// Refused (a 4xx other than 404): its status and the API's errors.
    Refused {
        status: u16,
        errors: Vec<ApiError>,
    },
}

impl Changed {
    /// A refusal in a few words: its status and the API's errors.
    pub fn refusal(status: u16, errors: &[ApiError]) -> String {
        let errors: Vec<String> = errors
            .iter()
            .map(|e| format!("{} ({})", e.message, e.code))
            .collect();
        format!("HTTP {status}: {}", errors.join("; "))
    }
}

/// The API's code for "target group not found or deactivated".
const NOT_FOUND: i64 = 310017;

fn changed(code: u16, body: &Value) -> Result<Changed, LiveError> {
    let errors = api_errors(body);
    match code {
        200..=299 => Ok(Changed::Done),
        404 => Ok(Changed::NotFound),
        400..=499 if errors.iter().any(|e| e.code == NOT_FOUND) => Ok(Changed::NotFound),
        400..=499 => Ok(Changed::Refused {
            status: code,
            errors,
        }),
        _ => Err(LiveError::Failed(refusal(code, body))),
    }
}

impl Client {
    /// `GET /v3/targetGroups/{id}?includePeriods=true`: the group, or `None` when there is none.
    pub async fn group(
        &self,
        id: i64,
        cancel: &CancellationToken,
    ) -> Result<Option<Value>, LiveError> {
        let mut u = url(&self.config.base_url, &format!("v3/targetGroups/{id}"));
        u.query_pairs_mut().append_pair("includePeriods", "true");
        let (code, body) = self
            .call(&|| self.http.get(u.clone()), false, cancel)
            .await?;
        match changed(code, &body)? {
            Changed::Done => match body.get("data") {
                Some(group) if group.is_object() => Ok(Some(group.clone())),
                _ => Err(LiveError::Failed(format!(
                    "GET targetGroups/{id} answered without the group in `data`"
                ))),
            },
            Changed::NotFound => Ok(None),
            Changed::Refused { .. } => Err(LiveError::Failed(refusal(code, &body))),
        }
    }

    /// Every streak of the org through `GET /v3/milestones?type=STREAKS`, 50 a page, with
    /// `status` (e.g. `LIVE`) when given; `on_page` hears the count so far and the total.
    pub async fn streaks(
        &self,
        status: Option<&str>,
        cancel: &CancellationToken,
        on_page: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<Vec<Value>, LiveError> {
        let mut found = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut u = url(&self.config.base_url, "v3/milestones");
            u.query_pairs_mut()
                .append_pair("type", "STREAKS")
                .append_pair("limit", "50")
                .append_pair("offset", &found.len().to_string());
            if let Some(s) = status {
                u.query_pairs_mut().append_pair("status", s);
            }
            let body = self.get_json(&|| self.http.get(u.clone()), cancel).await?;
            let Some(page) = body.get("data").and_then(Value::as_array) else {
                return Err(LiveError::Failed(
                    "GET milestones answered without a `data` list".into(),
                ));
            };
            let total = body
                .pointer("/pagination/total")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let empty = page.is_empty();
            let before = seen.len();
            seen.extend(
                page.iter()
                    .filter_map(|g| g.get("id").map(Value::to_string)),
            );
            if !empty && seen.len() == before {
                // A server that ignores `offset` would be asked for the same page forever.
                return Err(LiveError::Failed(format!(
                    "GET milestones answered offset {} with streaks it had already listed (is `offset` ignored?)",
                    found.len()
                )));
            }
            found.extend(page.iter().cloned());
            on_page(found.len() as u64, total.max(found.len() as u64));
            if empty || found.len() as u64 >= total {
                return Ok(found);
            }
        }
    }

    /// `PUT /v3/targetGroups/{group}/targets/{target}` with the target's editable fields.
    pub async fn edit_target(
        &self,
        group: i64,
        target: i64,
        body: &Value,
        cancel: &CancellationToken,
    ) -> Result<Changed, LiveError> {
        let path = format!("v3/targetGroups/{group}/targets/{target}");
        self.change(reqwest::Method::PUT, &path, Some(body), cancel)
            .await
    }

    /// `PUT /v3/targetGroups/editTargetGroup/{group}` with the group's body (its new name).
    pub async fn edit_group(
        &self,
        group: i64,
        body: &Value,
        cancel: &CancellationToken,
    ) -> Result<Changed, LiveError> {
        let path = format!("v3/targetGroups/editTargetGroup/{group}");
        self.change(reqwest::Method::PUT, &path, Some(body), cancel)
            .await
    }

    /// `DELETE /v3/targetGroups/{id}`.
    pub async fn delete_group(
        &self,
        id: i64,
        cancel: &CancellationToken,
    ) -> Result<Changed, LiveError> {
        let path = format!("v3/targetGroups/{id}");
        self.change(reqwest::Method::DELETE, &path, None, cancel)
            .await
    }

    /// A request that changes the server (a lost answer may hide the change), and what it
    /// came to.
    async fn change(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        cancel: &CancellationToken,
    ) -> Result<Changed, LiveError> {
        let u = url(&self.config.base_url, path);
        let request = || {
            let r = self.http.request(method.clone(), u.clone());
            match body {
                Some(b) => r.json(b),
                None => r,
            }
        };
        let (code, answer) = self.call(&request, true, cancel).await?;
        changed(code, &answer)
    }
}
