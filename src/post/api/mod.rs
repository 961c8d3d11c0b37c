//! The API client (SPEC §6): one reqwest client that never follows a redirect and reads at
//! most `answer::BODY_CAP` of any answer; Basic or OAuth auth; the shared `Pacer` that
//! every request waits on; retries with exponential backoff and full jitter, `Retry-After`
//! honoured but bounded by `--max-wait`; at most `--max-attempts` per row whatever the answers.
//!
//! A row's create tracks whether any attempt may have reached the server (`maybe_sent`: a
//! lost answer, a timeout, a 500/502/504, an earlier run killed in flight). Then a 310069
//! means "created by us", and a row out of attempts is looked up by name before it is called
//! failed. Credentials live only in memory: nothing here formats them into a message.

mod answer;
mod auth;
mod live;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::{header, StatusCode};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use answer::human_duration;
pub use auth::{basic_header, md5_hex, Credentials};
pub use live::{Changed, LiveError};

use crate::outcome::ApiError;
use crate::payload::TargetGroup;
use crate::post::pace::{Answer, NoSlot, Pacer};
use answer::{api_errors, created_id, read_json, retry_after, shown, BodyError, RetryAfter};
use auth::Token;

/// The API's code for "Target group name already exists".
pub const NAME_EXISTS: i64 = 310069;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub base_url: Url,
    pub credentials: Credentials,
    pub concurrency: usize,
    /// Requests per minute, if the user fixed one.
    pub rate_limit: Option<u32>,
    pub max_attempts: u32,
    pub timeout: Duration,
    /// The longest single wait the run accepts (`Retry-After`, a blocking rate limit).
    pub max_wait: Duration,
}

/// Why the whole run stops (exit 3).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Stop {
    #[error("the API refused the credentials (HTTP {status}): {message}. Check CAPILLARY_USERNAME/CAPILLARY_PASSWORD (or the OAuth key and secret) and that the till has API access.")]
    AuthRefused { status: u16, message: String },
    #[error("the API at {base} cannot be reached: {detail}. Check --base-url/--cluster and the network.")]
    Unreachable { base: String, detail: String },
    #[error("the API asked to wait {} before the next request ({asked}), longer than --max-wait allows ({}). The rows not sent are kept: run the same command again later, or raise --max-wait.", human_duration(*wait), human_duration(*max))]
    WaitTooLong {
        wait: Duration,
        asked: String,
        max: Duration,
    },
    #[error("the API has answered every request with 429 (rate limited) for {}, longer than --max-wait allows ({}). The rows not sent are kept: run the same command again later, or raise --max-wait.", human_duration(*blocked), human_duration(*max))]
    BlockedTooLong { blocked: Duration, max: Duration },
    #[error("the API at {base} answered in a way the tool cannot use: {detail}. Nothing was changed; check --base-url/--cluster, or try again later.")]
    BadAnswer { base: String, detail: String },
    #[error("the OAuth token request was answered HTTP {status}, a redirect to {location}; redirects are never followed, so the key and secret stay with the configured host. Check --base-url/--cluster.")]
    TokenRedirected { status: u16, location: String },
}

/// What happened to one row's request.
#[derive(Debug, Clone, PartialEq)]
pub enum PostResult {
    Created {
        id: Option<i64>,
        status: u16,
        /// Why the id is not the one the create answered with, when it is not.
        note: Option<String>,
    },
    /// The name existed before anything was sent for this row.
    Existing {
        id: Option<i64>,
        status: u16,
        errors: Vec<ApiError>,
    },
    Failed {
        status: Option<u16>,
        errors: Vec<ApiError>,
    },
    /// No request for this row was processed (the run stopped first, or the API refused the
    /// credentials before looking at it).
    NotSent { reason: String },
}

/// Why posting stops for every row, found while posting one.
#[derive(Debug, Clone)]
pub enum Halt {
    Stop(Stop),
    /// Ctrl-C, or the run stopping for another row's reason.
    Cancelled,
    /// The gate before the first send said no (the journal could not record the intent).
    GateClosed,
}

/// How one row ended.
#[derive(Debug, Clone)]
pub struct RowEnd {
    pub result: PostResult,
    pub attempts: u32,
    /// Whether some attempt (of this run or an earlier one) may have reached the server.
    pub maybe_sent: bool,
    pub halt: Option<Halt>,
}

/// Counts for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct Traffic {
    pub requests: u64,
    pub limited: u64,
    pub retries: u64,
    /// The pace at the end, requests per second, if one was set or found.
    pub pace: Option<f64>,
}

/// An answer as the retry logic sees it.
struct Reply {
    status: StatusCode,
    retry_after: RetryAfter,
    retry_after_text: Option<String>,
    location: Option<String>,
    body: Result<Value, BodyError>,
}

/// A request that got no answer.
struct Lost {
    /// The connection never opened: the server cannot have seen the request.
    connect: bool,
    detail: String,
}

/// What one exchange leaves for its caller.
enum Exchange {
    /// An answer the caller decides about: 2xx, 3xx, or a 4xx other than 401/403/429.
    Reply(Reply),
    /// Try again (the wait before it, if any, is set).
    Retry,
    End(Halt),
}

/// One request's progress through its attempts.
struct Attempts {
    made: u32,
    not_before: Option<Instant>,
    steps: backon::ExponentialBackoff,
    renewed: bool,
    maybe_sent: bool,
    /// Every attempt so far failed to connect.
    only_connect_failures: bool,
    last: Option<(Option<u16>, String)>,
}

impl Attempts {
    fn new(maybe_sent: bool) -> Self {
        Attempts {
            made: 0,
            not_before: None,
            steps: ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(Duration::from_secs(30))
                .without_max_times()
                .build(),
            renewed: false,
            maybe_sent,
            only_connect_failures: true,
            last: None,
        }
    }

    /// Full jitter: a random wait between zero and the next exponential step.
    fn back_off(&mut self) {
        let step = self.steps.next().unwrap_or(Duration::from_secs(30));
        self.not_before = Some(Instant::now() + step.mul_f64(rand::random::<f64>()));
    }

    fn failed(&mut self, status: Option<u16>, detail: String) {
        self.last = Some((status, detail));
    }

    fn last_detail(&self) -> String {
        self.last
            .as_ref()
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| "no answer".into())
    }
}

pub struct Client {
    http: reqwest::Client,
    /// The Basic header, computed once (empty with OAuth).
    basic: String,
    config: ApiConfig,
    token: Mutex<Option<Token>>,
    token_generation: AtomicU64,
    pacer: Pacer,
    requests: AtomicU64,
    retries: AtomicU64,
}

fn url(base: &Url, path: &str) -> Url {
    let mut u = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    u.set_path(&joined);
    u
}

fn lost(e: &reqwest::Error) -> Lost {
    let connect = e.is_connect();
    let detail = if e.is_timeout() {
        "no answer before the timeout"
    } else if connect {
        "connection refused or failed"
    } else {
        "the connection closed before an answer"
    };
    Lost {
        connect,
        detail: detail.into(),
    }
}

/// Waits until `at`, or returns `Err` at once on cancellation.
async fn sleep_until(at: Instant, cancel: &CancellationToken) -> Result<(), Halt> {
    tokio::select! {
        _ = tokio::time::sleep_until(at.into()) => Ok(()),
        _ = cancel.cancelled() => Err(Halt::Cancelled),
    }
}

fn api_error(message: String) -> ApiError {
    ApiError { code: 0, message }
}

impl Client {
    pub fn new(config: ApiConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(config.timeout))
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.concurrency.max(1))
            .user_agent(concat!("streak-import/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let basic = match &config.credentials {
            Credentials::Basic { username, password } => basic_header(username, password),
            Credentials::OAuth { .. } => String::new(),
        };
        Ok(Client {
            http,
            basic,
            pacer: Pacer::new(config.rate_limit, config.max_wait),
            config,
            token: Mutex::new(None),
            token_generation: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        })
    }

    pub fn traffic(&self) -> Traffic {
        Traffic {
            requests: self.requests.load(Ordering::Relaxed),
            limited: self.pacer.limited_count(),
            retries: self.retries.load(Ordering::Relaxed),
            pace: self.pacer.rate(),
        }
    }

    pub fn base_url(&self) -> &Url {
        &self.config.base_url
    }

    /// The auth header and, for OAuth, the generation of the token in it.
    async fn auth(
        &self,
        attempts: &mut Attempts,
    ) -> Result<(header::HeaderName, String, u64), Exchange> {
        let Credentials::OAuth { key, secret } = &self.config.credentials else {
            return Ok((header::AUTHORIZATION, self.basic.clone(), 0));
        };
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| t.fresh()) {
            return Ok((auth::TOKEN_HEADER, t.value.clone(), t.generation));
        }
        match self.fetch_token(key, secret).await {
            Ok((value, renew_after)) => {
                let generation = self.token_generation.fetch_add(1, Ordering::Relaxed) + 1;
                *slot = Some(Token {
                    value: value.clone(),
                    renew_at: Instant::now() + renew_after,
                    generation,
                });
                Ok((auth::TOKEN_HEADER, value, generation))
            }
            Err(Ok(stop)) => Err(Exchange::End(Halt::Stop(stop))),
            Err(Err(detail)) => {
                attempts.made += 1;
                attempts.failed(None, detail);
                attempts.back_off();
                Err(Exchange::Retry)
            }
        }
    }

    /// `Err(Ok(stop))` stops the run; `Err(Err(detail))` is worth another try.
    async fn fetch_token(
        &self,
        key: &str,
        secret: &str,
    ) -> Result<(String, Duration), Result<Stop, String>> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = self
            .http
            .post(url(&self.config.base_url, "v3/oauth/token/generate"))
            .header(header::ACCEPT, "application/json")
            .json(&serde_json::json!({ "key": key, "secret": secret }))
            .send()
            .await
            .map_err(|e| Err(format!("token request: {}", lost(&e).detail)))?;
        let status = resp.status();
        if status.is_redirection() {
            let location =
                shown(resp.headers(), header::LOCATION).unwrap_or_else(|| "nowhere".into());
            return Err(Ok(Stop::TokenRedirected {
                status: status.as_u16(),
                location,
            }));
        }
        let body = read_json(resp).await;
        if matches!(status.as_u16(), 400 | 401 | 403) {
            let message = body
                .as_ref()
                .ok()
                .and_then(|b| api_errors(b).into_iter().next())
                .map(|e| e.message)
                .unwrap_or_else(|| "Failed to generate OAuth token".into());
            return Err(Ok(Stop::AuthRefused {
                status: status.as_u16(),
                message,
            }));
        }
        let body =
            body.map_err(|e| Err(format!("token request answered HTTP {status} with {e}")))?;
        let data = body.get("data");
        match data
            .and_then(|d| d.get("accessToken"))
            .and_then(Value::as_str)
        {
            Some(token) if status.is_success() && !token.is_empty() => Ok((
                token.to_string(),
                auth::renew_after(data.and_then(|d| d.get("ttlSeconds"))),
            )),
            _ => Err(Err(format!(
                "token request answered HTTP {status} without a token"
            ))),
        }
    }

    /// Forgets the token of `generation` if it is still the current one, so the next
    /// request fetches a new one (a token the API refused, or one expired early).
    async fn drop_token(&self, generation: u64) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| t.generation == generation) {
            *slot = None;
        }
    }

    /// One attempt: waits its turn (its own backoff or `Retry-After`, then the shared pace),
    /// passes the gate, sends, and sorts out what every endpoint treats alike.
    /// `may_commit`: whether a lost answer could hide a change on the server.
    async fn exchange(
        &self,
        attempts: &mut Attempts,
        request: &(dyn Fn() -> reqwest::RequestBuilder + Sync),
        may_commit: bool,
        cancel: &CancellationToken,
        gate: &mut (dyn FnMut() -> bool + Send),
    ) -> Exchange {
        if let Some(at) = attempts.not_before.take() {
            if let Err(halt) = sleep_until(at, cancel).await {
                return Exchange::End(halt);
            }
        }
        let (name, value, generation) = match self.auth(attempts).await {
            Ok(auth) => auth,
            Err(exchange) => return exchange,
        };
        let permit = match self.pacer.acquire(cancel).await {
            Ok(permit) => permit,
            Err(NoSlot::Cancelled) => return Exchange::End(Halt::Cancelled),
            Err(NoSlot::WaitTooLong { wait }) => {
                return Exchange::End(Halt::Stop(Stop::WaitTooLong {
                    wait,
                    asked: "the rate limiter's next probe".into(),
                    max: self.config.max_wait,
                }))
            }
            Err(NoSlot::BlockedTooLong { blocked }) => {
                return Exchange::End(Halt::Stop(Stop::BlockedTooLong {
                    blocked,
                    max: self.config.max_wait,
                }))
            }
        };
        if !gate() {
            permit.answer(Answer::Lost);
            return Exchange::End(Halt::GateClosed);
        }
        if attempts.made > 0 {
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
        attempts.made += 1;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let sent = request()
            .header(name, value)
            .header(header::ACCEPT, "application/json")
            .send()
            .await;
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                permit.answer(Answer::Lost);
                let lost = lost(&e);
                if !lost.connect {
                    attempts.only_connect_failures = false;
                    attempts.maybe_sent |= may_commit;
                }
                attempts.failed(None, lost.detail);
                attempts.back_off();
                return Exchange::Retry;
            }
        };
        attempts.only_connect_failures = false;
        let status = resp.status();
        let code = status.as_u16();
        let wait = retry_after(resp.headers(), SystemTime::now());
        let retry_after_text = shown(resp.headers(), header::RETRY_AFTER);
        let location = shown(resp.headers(), header::LOCATION);
        let body = read_json(resp).await;
        permit.answer(if status == StatusCode::TOO_MANY_REQUESTS {
            // Past --max-wait the run stops below; the pace needs no longer wait than that.
            Answer::Limited {
                retry_after: wait.wait().map(|d| d.min(self.config.max_wait)),
            }
        } else {
            Answer::Admitted
        });
        let reply = Reply {
            status,
            retry_after: wait,
            retry_after_text,
            location,
            body,
        };
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            if matches!(self.config.credentials, Credentials::OAuth { .. }) && !attempts.renewed {
                // The token may have expired early, or another worker's renewal crossed
                // this request: renew once before giving up.
                attempts.renewed = true;
                self.drop_token(generation).await;
                attempts.failed(Some(code), format!("HTTP {code}"));
                return Exchange::Retry;
            }
            let message = reply
                .body
                .as_ref()
                .ok()
                .and_then(|b| api_errors(b).into_iter().next())
                .map(|e| e.message)
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "authentication failed".into());
            return Exchange::End(Halt::Stop(Stop::AuthRefused {
                status: code,
                message,
            }));
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
                // 503 refuses before any work; 500/502/504 may hide a commit.
                attempts.maybe_sent |= may_commit;
            }
            attempts.failed(
                Some(code),
                if code == 429 {
                    "HTTP 429 (rate limited)".into()
                } else {
                    format!("HTTP {code}")
                },
            );
            match reply.retry_after {
                RetryAfter::Wait(d) if d > self.config.max_wait => {
                    return Exchange::End(Halt::Stop(Stop::WaitTooLong {
                        wait: d,
                        asked: format!(
                            "HTTP {code} with Retry-After: {}",
                            reply.retry_after_text.unwrap_or_default()
                        ),
                        max: self.config.max_wait,
                    }))
                }
                RetryAfter::Wait(d) => attempts.not_before = Some(Instant::now() + d),
                // A 429 without a usable Retry-After: the pacer's probing paces it.
                _ if code == 429 => {}
                _ => attempts.back_off(),
            }
            return Exchange::Retry;
        }
        Exchange::Reply(reply)
    }

    /// Creates one target group. `earlier_maybe_sent`: an earlier run may have sent it
    /// (intent without outcome). `gate` runs once, right before the first request goes out;
    /// when it says no, nothing is sent.
    pub async fn create(
        &self,
        body: &TargetGroup,
        earlier_maybe_sent: bool,
        cancel: &CancellationToken,
        gate: &mut (dyn FnMut() -> bool + Send),
    ) -> RowEnd {
        let target = url(&self.config.base_url, "v3/targetGroups");
        let request = || self.http.post(target.clone()).json(body);
        let mut attempts = Attempts::new(earlier_maybe_sent);
        let mut gate_open = false;
        let mut once = || {
            gate_open = gate_open || gate();
            gate_open
        };
        while attempts.made < self.config.max_attempts {
            let reply = match self
                .exchange(&mut attempts, &request, true, cancel, &mut once)
                .await
            {
                Exchange::Reply(reply) => reply,
                Exchange::Retry => continue,
                Exchange::End(halt) => return self.not_sent(&attempts, halt),
            };
            let (result, halt) = self.judge(&body.name, reply, &attempts, cancel).await;
            match result {
                Some(result) => {
                    return RowEnd {
                        result,
                        attempts: attempts.made,
                        maybe_sent: attempts.maybe_sent,
                        halt,
                    }
                }
                None => attempts.back_off(),
            }
        }
        self.out_of_attempts(&body.name, &attempts, cancel).await
    }

    /// A create's answer that is not a retry: `None` means "unreadable, try again".
    async fn judge(
        &self,
        name: &str,
        reply: Reply,
        attempts: &Attempts,
        cancel: &CancellationToken,
    ) -> (Option<PostResult>, Option<Halt>) {
        let code = reply.status.as_u16();
        if reply.status.is_redirection() {
            let location = reply
                .location
                .unwrap_or_else(|| "nowhere (no Location)".into());
            let message = format!(
                "the API answered HTTP {code}, a redirect to {location}; redirects are never followed (they could carry the credentials to another host). Check --base-url/--cluster."
            );
            return (
                Some(PostResult::Failed {
                    status: Some(code),
                    errors: vec![api_error(message)],
                }),
                None,
            );
        }
        if reply.status.is_success() {
            if let Some(id) = reply.body.as_ref().ok().and_then(created_id) {
                return (
                    Some(PostResult::Created {
                        id: Some(id),
                        status: code,
                        note: None,
                    }),
                    None,
                );
            }
            // Created, but the answer does not say as what: the server knows by name.
            let why = match &reply.body {
                Ok(_) => "without a usable data.id".to_string(),
                Err(e) => format!("with {e}"),
            };
            let (id, halt) = self.find_id_patiently(name, cancel).await;
            let note = match id {
                Some(_) => format!("the API answered HTTP {code} {why}; the id was looked up by name"),
                None => format!("the API answered HTTP {code} {why}, and GET /v3/milestones does not show the name (yet); the id is unknown"),
            };
            return (
                Some(PostResult::Created {
                    id,
                    status: code,
                    note: Some(note),
                }),
                halt,
            );
        }
        let Ok(body) = reply.body else {
            return (None, None);
        };
        let errors = api_errors(&body);
        if errors.iter().any(|e| e.code == NAME_EXISTS) {
            let (id, halt) = self.find_id_patiently(name, cancel).await;
            let result = if attempts.maybe_sent {
                PostResult::Created {
                    id,
                    status: code,
                    note: Some(
                        "created by an earlier attempt whose answer was lost (the retry was answered 310069, name exists); the id was looked up by name".into(),
                    ),
                }
            } else {
                PostResult::Existing {
                    id,
                    status: code,
                    errors,
                }
            };
            return (Some(result), halt);
        }
        let errors = if errors.is_empty() {
            vec![api_error(format!("HTTP {code} without an error message"))]
        } else {
            errors
        };
        (
            Some(PostResult::Failed {
                status: Some(code),
                errors,
            }),
            None,
        )
    }

    fn not_sent(&self, attempts: &Attempts, halt: Halt) -> RowEnd {
        let reason = match &halt {
            Halt::Stop(stop) => stop.to_string(),
            Halt::Cancelled => "the run stopped before this row was sent".into(),
            Halt::GateClosed => {
                "the journal could not record the intent, so nothing was sent".into()
            }
        };
        let halt = match halt {
            // Ctrl-C and other rows' stops are already known to the caller.
            Halt::Cancelled => None,
            other => Some(other),
        };
        RowEnd {
            result: PostResult::NotSent { reason },
            attempts: attempts.made,
            maybe_sent: attempts.maybe_sent,
            halt,
        }
    }

    async fn out_of_attempts(
        &self,
        name: &str,
        attempts: &Attempts,
        cancel: &CancellationToken,
    ) -> RowEnd {
        let detail = attempts.last_detail();
        if attempts.only_connect_failures {
            return self.not_sent(
                attempts,
                Halt::Stop(Stop::Unreachable {
                    base: self.config.base_url.to_string(),
                    detail,
                }),
            );
        }
        let mut halt = None;
        if attempts.maybe_sent {
            let (id, h) = self.find_id(name, cancel).await;
            halt = h;
            if id.is_some() {
                return RowEnd {
                    result: PostResult::Created {
                        id,
                        status: 200,
                        note: Some(format!(
                            "created by an attempt whose answer was lost ({detail}); found by name"
                        )),
                    },
                    attempts: attempts.made,
                    maybe_sent: true,
                    halt,
                };
            }
        }
        RowEnd {
            result: PostResult::Failed {
                status: attempts.last.as_ref().and_then(|(s, _)| *s),
                errors: vec![api_error(format!(
                    "gave up after {} attempts: {detail}",
                    attempts.made
                ))],
            },
            attempts: attempts.made,
            maybe_sent: attempts.maybe_sent,
            halt,
        }
    }

    /// A request whose JSON answer is wanted, retried like a create (a successful answer that
    /// is not JSON is retried too).
    async fn get_json(
        &self,
        request: &(dyn Fn() -> reqwest::RequestBuilder + Sync),
        cancel: &CancellationToken,
    ) -> Result<Value, Result<Halt, String>> {
        match self.call(request, false, cancel).await? {
            (200..=299, body) => Ok(body),
            (code, body) => Err(Err(refusal(code, &body))),
        }
    }

    /// A request retried until it gets a final answer with a JSON body: that answer's status
    /// and body (any status but a redirect). `may_commit`: a lost answer may hide a change.
    async fn call(
        &self,
        request: &(dyn Fn() -> reqwest::RequestBuilder + Sync),
        may_commit: bool,
        cancel: &CancellationToken,
    ) -> Result<(u16, Value), Result<Halt, String>> {
        let mut attempts = Attempts::new(false);
        while attempts.made < self.config.max_attempts {
            match self
                .exchange(&mut attempts, request, may_commit, cancel, &mut || true)
                .await
            {
                Exchange::Retry => continue,
                Exchange::End(halt) => return Err(Ok(halt)),
                Exchange::Reply(reply) => {
                    let code = reply.status.as_u16();
                    match (reply.location, reply.body) {
                        (Some(to), _) if reply.status.is_redirection() => {
                            return Err(Err(format!(
                                "HTTP {code}, a redirect to {to} (not followed)"
                            )))
                        }
                        (_, Ok(body)) => return Ok((code, body)),
                        (_, Err(e)) if reply.status.is_success() => {
                            attempts.failed(Some(code), e.to_string());
                            attempts.back_off();
                        }
                        (_, Err(e)) => return Err(Err(format!("HTTP {code} with {e}"))),
                    }
                }
            }
        }
        Err(Err(attempts.last_detail()))
    }

    /// The id of the target group called `name` (ignoring case), through `GET /v3/milestones`.
    /// `None` when it is not found or cannot be looked up; a halt found on the way comes back.
    pub async fn find_id(
        &self,
        name: &str,
        cancel: &CancellationToken,
    ) -> (Option<i64>, Option<Halt>) {
        let wanted = name.to_lowercase();
        let mut offset = 0u64;
        loop {
            let mut u = url(&self.config.base_url, "v3/milestones");
            u.query_pairs_mut()
                .append_pair("name", name)
                .append_pair("type", "STREAKS")
                .append_pair("limit", "50")
                .append_pair("offset", &offset.to_string());
            let body = match self.get_json(&|| self.http.get(u.clone()), cancel).await {
                Ok(body) => body,
                Err(Ok(halt)) => return (None, Some(halt)),
                Err(Err(_)) => return (None, None),
            };
            let Some(data) = body.get("data").and_then(Value::as_array) else {
                return (None, None);
            };
            let found = data.iter().find(|g| {
                g.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.to_lowercase() == wanted)
            });
            if let Some(group) = found {
                let id = created_id(&serde_json::json!({ "data": group }));
                return (id, None);
            }
            let total = body
                .pointer("/pagination/total")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            offset += data.len() as u64;
            if data.is_empty() || offset >= total {
                return (None, None);
            }
        }
    }

    /// [`Client::find_id`] for a name the server just said exists: a search index may lag a
    /// moment behind the create, so it looks three times, a second apart.
    async fn find_id_patiently(
        &self,
        name: &str,
        cancel: &CancellationToken,
    ) -> (Option<i64>, Option<Halt>) {
        for round in 0..3 {
            if round > 0
                && sleep_until(Instant::now() + Duration::from_secs(1), cancel)
                    .await
                    .is_err()
            {
                break;
            }
            let (id, halt) = self.find_id(name, cancel).await;
            if id.is_some() || halt.is_some() {
                return (id, halt);
            }
        }
        (None, None)
    }

    /// Whether the API considers `name` free (`isValidName`).
    pub async fn name_is_free(&self, name: &str, cancel: &CancellationToken) -> Result<bool, Halt> {
        let u = url(&self.config.base_url, "v3/targetGroups/isValidName");
        let body = serde_json::json!({"type": "targetGroupName", "value": name});
        let unreachable = |detail: String| {
            Halt::Stop(Stop::Unreachable {
                base: self.config.base_url.to_string(),
                detail,
            })
        };
        match self
            .get_json(&|| self.http.post(u.clone()).json(&body), cancel)
            .await
        {
            Ok(answer) => answer
                .get("data")
                .and_then(Value::as_bool)
                .ok_or_else(|| unreachable("isValidName answered without a yes/no `data`".into())),
            Err(Ok(halt)) => Err(halt),
            Err(Err(detail)) => Err(unreachable(detail)),
        }
    }
}

/// An answer that refused a request, in a few words: its status and the API's first error.
fn refusal(code: u16, body: &Value) -> String {
    api_errors(body)
        .first()
        .map(|e| format!("HTTP {code}: {} ({})", e.message, e.code))
        .unwrap_or_else(|| format!("HTTP {code}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_under_the_base_path() {
        let base = Url::parse("https://eu.api.capillarytech.com").unwrap();
        assert_eq!(
            url(&base, "v3/targetGroups").as_str(),
            "https://eu.api.capillarytech.com/v3/targetGroups"
        );
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(
            url(&base, "v3/milestones").as_str(),
            "http://127.0.0.1:9/prefix/v3/milestones"
        );
    }
}
