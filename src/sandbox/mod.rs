//! The sandbox (SPEC §7): a real HTTP server on loopback that emulates the parts of Capillary's
//! v3 API the importer talks to, for rehearsals (`streak-import sandbox`, `import --sandbox`) and
//! for the project's own tests.
//!
//! What it serves (every body is JSON in the v3 envelope `{data, errors, warnings}`):
//!
//! | Endpoint | Auth | Notes |
//! |---|---|---|
//! | `POST /v3/oauth/token/generate` | none | `{key, secret}` → `{data: {accessToken, ttlSeconds}}` |
//! | `POST /v3/targetGroups` | yes | validation as `rules` describes; faults apply here |
//! | `POST /v3/targetGroups/isValidName` | yes | `{type, value}` → `{data: bool}` |
//! | `GET /v3/targetGroups` | yes | every stored group |
//! | `GET /v3/targetGroups/{id}` | yes | one group, or 404 / 310017 |
//! | `DELETE /v3/targetGroups/{id}` | yes | `{data: true}`, or 404 / 310017 |
//! | `GET /v3/milestones?name=&type=&limit=&offset=` | yes | paginated search |
//!
//! Auth is Basic (`base64(username ":" md5_hex(password))`, lowercase hex) or an OAuth token in
//! `X-CAP-API-OAUTH-TOKEN`. Faults: latency on every request; a per-second rate limit (429 with
//! `Retry-After: 1`) on every authenticated request; on `POST /v3/targetGroups` only, a share of
//! 503s answered before anything is committed and a share of requests that are committed and
//! then dropped without any response (the ambiguous case a client must reconcile).
//!
//! The server is axum's router run inside our own accept loop (hyper's HTTP/1 connection driver),
//! because a handler cannot close a connection: a handler marks its response with
//! `DropConnection`, and the service around the router turns that mark into an error, on which
//! hyper closes the socket without writing a byte.

mod auth;
mod envelope;
mod faults;
mod latency;
mod limit;
mod routes;
mod rules;
mod store;
#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

pub use limit::{LimitShape, RateLimit};

/// How the sandbox behaves: credentials, token lifetime, faults and persistence.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Basic auth: `Authorization: Basic base64(username ":" md5_hex(password))`, lowercase hex.
    pub username: String,
    pub password: String,
    /// OAuth: `POST /v3/oauth/token/generate {"key","secret"}`.
    pub oauth_key: String,
    pub oauth_secret: String,
    /// Lifetime of issued OAuth tokens, in seconds (default 300).
    pub token_ttl_secs: u64,
    /// Added to every request before it is handled.
    pub latency_ms: u64,
    /// Share (0..=1) of `POST /v3/targetGroups` answered 503 before anything is committed.
    pub error_rate: f64,
    /// The rate limit on every authenticated request (429 when it refuses).
    pub rate_limit: Option<RateLimit>,
    /// Share (0..=1) of `POST /v3/targetGroups` that are committed and then dropped: the
    /// connection is closed without any response.
    pub drop_rate: f64,
    /// Loaded at start if present; rewritten atomically (temp file + rename) after each change.
    pub state_file: Option<PathBuf>,
    /// Seed for the fault draws, for reproducible runs.
    pub seed: Option<u64>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            username: "sandbox".into(),
            password: "sandbox".into(),
            oauth_key: "sandbox-key".into(),
            oauth_secret: "sandbox-secret".into(),
            token_ttl_secs: 300,
            latency_ms: 0,
            error_rate: 0.0,
            rate_limit: None,
            drop_rate: 0.0,
            state_file: None,
            seed: None,
        }
    }
}

impl SandboxConfig {
    /// The checks `start` makes; the CLI makes the same ones with friendlier wording.
    fn check(&self) -> io::Result<()> {
        let invalid = |msg: String| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("drop_rate", self.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return invalid(format!(
                    "sandbox {name} must be between 0 and 1, got {rate}"
                ));
            }
        }
        if let Some(limit) = &self.rate_limit {
            let quotas = std::iter::once(limit.quota).chain(limit.change.map(|(_, q)| q));
            if quotas.into_iter().any(|q| q == 0) || limit.period.is_zero() {
                return invalid(
                    "sandbox rate limit must admit at least 1 request per period".into(),
                );
            }
        }
        if self.token_ttl_secs == 0 {
            return invalid("sandbox token lifetime must be at least 1 second".into());
        }
        Ok(())
    }
}

/// A running sandbox. Dropping it stops the server too; [`Sandbox::shutdown`] also waits for the
/// requests in flight and the last write of the state file.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

/// State shared by the handlers, the accept loop and the [`Sandbox`] handle.
pub(crate) struct Shared {
    config: SandboxConfig,
    store: Mutex<store::Store>,
    received: Mutex<Vec<(Instant, Value)>>,
    /// Every `PUT` and `DELETE`: `{"method", "path", "body"}`.
    changes: Mutex<Vec<Value>>,
    requests: AtomicU64,
    tokens: auth::Tokens,
    faults: faults::Faults,
    latency: latency::Latency,
    persist: Option<store::Persister>,
}

/// A poisoned lock only means another request failed half-way; the data is still usable, and
/// the sandbox must never print a panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The mark a handler puts on a response that must not be sent: the connection is closed instead.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

/// The error the service returns for a [`DropConnection`] response; hyper then closes the
/// connection without writing anything.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response dropped by the sandbox (drop_rate)")
    }
}

impl std::error::Error for Dropped {}

/// How long `shutdown` lets requests in flight finish before cutting them off.
const GRACE: Duration = Duration::from_secs(5);

impl Sandbox {
    /// Starts serving on `addr` (`127.0.0.1:0` picks a free port). Only loopback addresses are
    /// accepted: the sandbox has well-known default credentials.
    pub async fn start(config: SandboxConfig, addr: SocketAddr) -> io::Result<Sandbox> {
        config.check()?;
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the sandbox listens on loopback only, not on {}", addr.ip()),
            ));
        }
        let store = match &config.state_file {
            Some(path) => store::Store::load(path)?,
            None => store::Store::default(),
        };
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let persist = config.state_file.clone().map(store::Persister::new);
        let shared = Arc::new(Shared {
            faults: faults::Faults::new(&config),
            latency: latency::Latency::new(Duration::from_millis(config.latency_ms)),
            tokens: auth::Tokens::default(),
            store: Mutex::new(store),
            received: Mutex::new(Vec::new()),
            changes: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            persist,
            config,
        });
        let writer = shared
            .persist
            .is_some()
            .then(|| tokio::spawn(store::write_loop(shared.clone())));
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(listener, shared.clone(), stopped, writer));
        Ok(Sandbox {
            addr,
            shared,
            stop,
            server: Some(server),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every stored target group, with its `"id"`, in id order.
    pub fn groups(&self) -> Vec<Value> {
        lock(&self.shared.store).all()
    }

    /// Every `POST /v3/targetGroups` body received, in arrival order, including refused ones
    /// (401, 429, 503, 400). A body that is not JSON is recorded as a JSON string of its text.
    pub fn received(&self) -> Vec<Value> {
        lock(&self.shared.received)
            .iter()
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every change request received (`PUT` of a group or target, `DELETE` of a group), in
    /// arrival order, including refused ones: `{"method", "path", "body"}`.
    pub fn changes(&self) -> Vec<Value> {
        lock(&self.shared.changes).clone()
    }

    /// When each `POST /v3/targetGroups` arrived, in arrival order.
    pub fn create_arrivals(&self) -> Vec<Instant> {
        lock(&self.shared.received)
            .iter()
            .map(|(t, _)| *t)
            .collect()
    }

    /// How many requests the rate limit answered 429.
    pub fn limited_count(&self) -> u64 {
        self.shared.faults.limited()
    }

    /// Every HTTP request received, on any path, whatever the answer.
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Stops accepting, lets requests in flight finish (up to a few seconds), and writes the
    /// state file one last time.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// The accept loop: one task per connection, each driving axum's router through hyper.
async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
    writer: Option<JoinHandle<()>>,
) {
    let router = routes::router(shared.clone());
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).keep_alive(true);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop_requested(&mut stopped) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let router = router.clone();
                    let shared = shared.clone();
                    let service = service_fn(move |req: hyper::Request<Incoming>| {
                        let router = router.clone();
                        let shared = shared.clone();
                        async move {
                            let arrived = std::time::Instant::now();
                            shared.requests.fetch_add(1, Ordering::SeqCst);
                            shared.latency.wait(arrived).await;
                            let response = match router.oneshot(req).await {
                                Ok(response) => response,
                                Err(never) => match never {},
                            };
                            if response.extensions().get::<DropConnection>().is_some() {
                                return Err(Dropped);
                            }
                            Ok(response)
                        }
                    });
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    let mut stop = stopped.clone();
                    connections.spawn(async move {
                        tokio::pin!(connection);
                        tokio::select! {
                            // Errors here are the client going away or a dropped response:
                            // nothing to report.
                            _ = connection.as_mut() => {}
                            _ = stop_requested(&mut stop) => {
                                connection.as_mut().graceful_shutdown();
                                let _ = connection.await;
                            }
                        }
                    });
                }
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(GRACE, drain).await.is_err() {
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
    if let Some(writer) = writer {
        writer.abort();
        let _ = writer.await;
    }
    store::flush(&shared).await;
}

/// Resolves once a stop is asked for (or the [`Sandbox`] handle is gone).
async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
