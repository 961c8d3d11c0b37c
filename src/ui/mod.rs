//! `streak-import ui`: a web page, a face of the same runner as the CLI. It serves on
//! 127.0.0.1 only; every request carries the access token printed in the page's URL; the `Host`
//! and `Origin` headers must name this server (no DNS rebinding, no other page can drive it).
//! The page's files are embedded in the binary. Credentials come from the server's environment
//! or are typed into the page: held in this process's memory, never sent back, logged or written.
//! Uploads are bounded and land only in `<state dir>/ui/`.

mod events;
mod session;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::post::api::Credentials;
use crate::run::{self, ApiOptions, ClientOptions, RunError, SheetOptions, Target};
use events::{Hub, PageProgress};
use session::Session;

/// The largest upload accepted (a sheet or a periods file).
pub const MAX_UPLOAD: usize = 64 << 20;

/// How the page reaches the API.
#[derive(Debug, Clone)]
pub enum ApiChoice {
    /// Ready from the flags and the environment.
    Ready(ApiOptions),
    /// A base URL, credentials still to come (typed into the page); why they are missing.
    NeedsCredentials {
        base_url: url::Url,
        client: ClientOptions,
        why: String,
    },
    /// No API at all: plan and import are off (why).
    None(String),
}

#[derive(Debug, Clone)]
pub struct UiOptions {
    pub port: u16,
    pub state_dir: PathBuf,
    pub api: ApiChoice,
}

struct App {
    token: String,
    port: u16,
    dir: PathBuf,
    state_dir: PathBuf,
    api: ApiChoice,
    typed: Mutex<Option<Credentials>>,
    session: Arc<Mutex<Option<Session>>>,
    hub: Arc<Hub>,
    /// Ends an import in flight when the server stops.
    stop: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A JSON error the page shows as it is.
fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

fn run_error(e: RunError) -> Response {
    let status = match e {
        RunError::Input(_) | RunError::Journal(_) => StatusCode::BAD_REQUEST,
        RunError::Api(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    refuse(status, crate::text::printable(&e.to_string()).into_owned())
}

fn random_token() -> String {
    (0..32)
        .map(|_| {
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rand::random_range(0..36usize)])
        })
        .collect()
}

/// Equal in time whatever the first difference (the token is a secret).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Host, Origin and the token, on every request.
async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let allowed = [
        format!("127.0.0.1:{}", app.port),
        format!("localhost:{}", app.port),
    ];
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| allowed.iter().any(|a| a == h)) {
        return refuse(
            StatusCode::FORBIDDEN,
            "this page answers only to 127.0.0.1 or localhost on its own port",
        );
    }
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !allowed.iter().any(|a| origin == format!("http://{a}")) {
            return refuse(
                StatusCode::FORBIDDEN,
                "requests from other pages are refused",
            );
        }
    }
    let from_header = request
        .headers()
        .get("x-token")
        .and_then(|t| t.to_str().ok())
        .map(str::to_string);
    let from_query = request.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    match from_header.or(from_query) {
        Some(t) if same(&t, &app.token) => next.run(request).await,
        _ => refuse(
            StatusCode::UNAUTHORIZED,
            "open the page with the URL streak-import ui printed (it carries the access token)",
        ),
    }
}

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

fn asset(kind: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn index(State(app): State<Arc<App>>) -> Response {
    asset(
        "text/html; charset=utf-8",
        INDEX.replace("{{TOKEN}}", &app.token),
    )
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT.to_string())
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE.to_string())
}

/// The page's whole state: the grid, the counts, the run in flight or last.
async fn state(State(app): State<Arc<App>>) -> Response {
    let s = lock(&app.session);
    let api = match &app.api {
        ApiChoice::Ready(o) => match &o.target {
            Target::Sandbox { .. } => json!({"kind": "sandbox"}),
            Target::Remote { base_url, .. } => {
                json!({"kind": "remote", "base_url": base_url.as_str()})
            }
        },
        ApiChoice::NeedsCredentials { base_url, why, .. } => {
            json!({"kind": "needs_credentials", "base_url": base_url.as_str(), "why": why, "typed": lock(&app.typed).is_some()})
        }
        ApiChoice::None(why) => json!({"kind": "none", "why": why}),
    };
    let body = match s.as_ref() {
        Some(s) => json!({
            "columns": session::columns(),
            "name": s.name,
            "sheet": s.sheet_name,
            "counts": s.counts(),
            "rows": s.rows,
            "edited": s.edited,
            "workbook": s.is_workbook(),
            "file": s.sheet_files().0.display().to_string(),
            "run": app.hub.state(),
            "api": api,
        }),
        None => {
            json!({"columns": session::columns(), "rows": null, "run": app.hub.state(), "api": api})
        }
    };
    Json(body).into_response()
}

#[derive(Deserialize)]
struct UploadQuery {
    name: String,
    #[serde(default)]
    kind: Option<String>,
    /// With a sheet: use the periods file uploaded just before.
    #[serde(default)]
    periods: Option<String>,
}

/// The file's own name, made safe: no folders, nothing hidden, nothing but plain characters.
fn safe_name(name: &str) -> Option<String> {
    let base = Path::new(name).file_name()?.to_string_lossy().into_owned();
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_. ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').trim().to_string();
    (!clean.is_empty()).then_some(clean)
}

async fn upload(
    State(app): State<Arc<App>>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> Response {
    if lock(&app.session).is_some() && app.hub.state().running {
        return refuse(
            StatusCode::CONFLICT,
            "a run is in progress: wait for it to end before uploading another sheet",
        );
    }
    let Some(name) = safe_name(&q.name) else {
        return refuse(StatusCode::BAD_REQUEST, "the file has no usable name");
    };
    if body.is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("{name} is empty: choose the sheet file itself"),
        );
    }
    let uploads = app.dir.join("uploads");
    let periods_path = uploads.join("periods.csv");
    let target = if q.kind.as_deref() == Some("periods") {
        periods_path.clone()
    } else {
        uploads.join(&name)
    };
    let written = std::fs::create_dir_all(&uploads).and_then(|()| std::fs::write(&target, &body));
    if let Err(e) = written {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot keep the upload in {}: {e}", uploads.display()),
        );
    }
    if q.kind.as_deref() == Some("periods") {
        return Json(json!({"periods": name})).into_response();
    }
    let periods = q.periods.is_some().then_some(periods_path);
    let app2 = app.clone();
    let opened =
        tokio::task::spawn_blocking(move || Session::open(&app2.dir, &name, target, periods))
            .await
            .map_err(|e| RunError::Internal(e.to_string()));
    match opened {
        Ok(Ok(s)) => {
            *lock(&app.session) = Some(s);
            *app.hub.state.lock().unwrap_or_else(|e| e.into_inner()) = Default::default();
            state(State(app)).await
        }
        Ok(Err(e)) | Err(e) => run_error(e),
    }
}

#[derive(Deserialize)]
struct Edit {
    index: usize,
    column: usize,
    value: String,
}

async fn edit(State(app): State<Arc<App>>, Json(e): Json<Edit>) -> Response {
    if app.hub.state().running {
        return refuse(
            StatusCode::CONFLICT,
            "a run is in progress: edits wait until it ends",
        );
    }
    let session = app.session.clone();
    let done = tokio::task::spawn_blocking(move || {
        let mut guard = lock(&session);
        let Some(s) = guard.as_mut() else {
            return Err(RunError::Input(crate::error::InputError::Usage("upload a sheet first".into())));
        };
        let changed = s.edit(e.index, e.column, e.value)?;
        let rows: Vec<_> = changed.iter().map(|&i| json!({"index": i, "row": s.rows[i]})).collect();
        Ok(json!({"rows": rows, "counts": s.counts(), "file": s.sheet_files().0.display().to_string()}))
    })
    .await;
    match done {
        Ok(Ok(body)) => Json(body).into_response(),
        Ok(Err(e)) => run_error(e),
        Err(e) => run_error(RunError::Internal(e.to_string())),
    }
}

#[derive(Deserialize)]
struct Typed {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// Credentials typed into the page: kept in memory only; the answer never repeats them.
async fn credentials(State(app): State<Arc<App>>, Json(t): Json<Typed>) -> Response {
    if t.username.trim().is_empty() || t.password.is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "give both the till username and its password",
        );
    }
    *lock(&app.typed) = Some(Credentials::Basic {
        username: t.username.trim().to_string(),
        password: t.password,
    });
    Json(json!({"set": true})).into_response()
}

fn api_options(app: &App) -> Result<ApiOptions, String> {
    match &app.api {
        ApiChoice::Ready(o) => Ok(o.clone()),
        ApiChoice::NeedsCredentials {
            base_url,
            client,
            why,
        } => match lock(&app.typed).clone() {
            Some(credentials) => Ok(ApiOptions {
                target: Target::Remote {
                    base_url: base_url.clone(),
                    credentials,
                },
                client: client.clone(),
                strict: false,
                fresh: false,
                update: false,
            }),
            None => Err(format!(
                "{why}: type the till's username and password above"
            )),
        },
        ApiChoice::None(why) => Err(why.clone()),
    }
}

/// The sheet options of a run from the page: the sheet as it stands, reports in the page's
/// folder, the same state dir (and so the same journals) as the command line.
fn sheet_options(app: &App, s: &Session) -> SheetOptions {
    let (file, periods) = s.sheet_files();
    let stem = s.stem();
    let reports = app.dir.join("reports");
    SheetOptions {
        file,
        periods,
        reports: ["json", "csv", "xlsx"]
            .iter()
            .map(|e| reports.join(format!("{stem}.report.{e}")))
            .collect(),
        state_dir: app.state_dir.clone(),
        ..Default::default()
    }
}

/// Maps a landed row (numbered as in the file the run read) to its grid row.
fn on_row(session: Arc<Mutex<Option<Session>>>) -> events::OnRow {
    Box::new(move |o| {
        let mut guard = lock(&session);
        let s = guard.as_mut()?;
        let index = if s.edited {
            (o.row as usize).checked_sub(2)
        } else {
            s.rows.binary_search_by_key(&o.row, |r| r.row).ok()
        };
        if let Some(r) = index.and_then(|i| s.rows.get_mut(i)) {
            r.status = o.status.as_str().into();
            r.target_group_id = o.target_group_id;
            r.plan = o.plan.map(|p| p.as_str().into());
            if let Some(note) = &o.note {
                r.message = note.clone();
            }
            if !o.api_errors.is_empty() {
                r.message = o
                    .api_errors
                    .iter()
                    .map(|a| a.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
            }
            if !o.changes.is_empty() {
                let changes: Vec<String> = o.changes.iter().map(|c| c.to_string()).collect();
                r.message = format!(
                    "{}: {}",
                    r.plan.as_deref().unwrap_or(o.status.as_str()),
                    changes.join("; ")
                );
            }
        }
        index
    })
}

/// Starts a plan (`dry_run`) or an import in the background; the page follows it on the
/// event stream and `/api/state`.
async fn start(app: Arc<App>, dry_run: bool) -> Response {
    let api = match api_options(&app) {
        Ok(a) => a,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    let sheet = {
        let s = lock(&app.session);
        let Some(s) = s.as_ref() else {
            return refuse(StatusCode::BAD_REQUEST, "upload a sheet first");
        };
        sheet_options(&app, s)
    };
    {
        let mut st = app.hub.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.running {
            return refuse(StatusCode::CONFLICT, "a run is already in progress");
        }
        st.running = true;
    }
    app.hub.start(if dry_run { "plan" } else { "import" });
    if let Err(e) = std::fs::create_dir_all(app.dir.join("reports")) {
        app.hub
            .finish(format!("cannot create the reports folder: {e}"), false);
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot create the reports folder",
        );
    }
    let progress = Arc::new(PageProgress {
        hub: app.hub.clone(),
        on_row: on_row(app.session.clone()),
    });
    let (hub, stop) = (app.hub.clone(), app.stop.clone());
    tokio::spawn(async move {
        let result = run::import(&sheet, &api, dry_run, progress, stop).await;
        let (summary, ok) = match result {
            Ok(r) => (summary_of(&r), r.all_good()),
            Err(e) => (crate::text::printable(&e.to_string()).into_owned(), false),
        };
        hub.finish(summary, ok);
    });
    (
        StatusCode::ACCEPTED,
        Json(json!({"started": if dry_run { "plan" } else { "import" }})),
    )
        .into_response()
}

/// One line for the page, from the run's typed result.
fn summary_of(r: &run::RunResult) -> String {
    let c = &r.tally.counts;
    if let Some(p) = &r.plan {
        return format!(
            "plan: create {}, unchanged {}, update {}, conflict {}, invalid {}; nothing was sent",
            p.create, p.unchanged, p.update, p.conflict, p.invalid
        );
    }
    let mut s = format!(
        "{} rows: {} created, {} already existing, {} already done earlier, {} failed, {} not sent, {} invalid",
        c.rows, c.created, c.existing, c.already_done, c.failed, c.not_sent, c.invalid
    );
    match &r.ended {
        run::Ended::Done => {}
        run::Ended::Interrupted => s.push_str("; stopped: the next import resumes"),
        run::Ended::Stopped(stop) => s.push_str(&format!("; stopped: {stop}")),
        run::Ended::Journal(e) => s.push_str(&format!("; stopped: {e}")),
    }
    s
}

async fn plan(State(app): State<Arc<App>>) -> Response {
    start(app, true).await
}

async fn import(State(app): State<Arc<App>>) -> Response {
    start(app, false).await
}

/// Server-sent events: every phase, landed row, count and end, as they come.
async fn stream(State(app): State<Arc<App>>) -> Response {
    use tokio_stream::StreamExt;
    let events = tokio_stream::wrappers::BroadcastStream::new(app.hub.tx.subscribe())
        // A page too slow to keep up misses events, not the run: it reloads `/api/state`.
        .filter_map(|e| e.ok())
        .map(|e| {
            Ok::<_, std::convert::Infallible>(SseEvent::default().json_data(&e).unwrap_or_default())
        });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn fixed(State(app): State<Arc<App>>) -> Response {
    let session = app.session.clone();
    let made = tokio::task::spawn_blocking(move || {
        let guard = lock(&session);
        let Some(s) = guard.as_ref() else {
            return Err(RunError::Input(crate::error::InputError::Usage(
                "upload a sheet first".into(),
            )));
        };
        if s.is_workbook() && s.keeps_format() {
            return Ok((s.name.clone(), s.fixed_workbook()?));
        }
        if s.keeps_format() {
            return Ok((s.name.clone(), s.fixed_csv()?));
        }
        Ok((format!("{}.csv", s.stem()), s.template_csv()?))
    })
    .await;
    match made {
        Ok(Ok((name, bytes))) => download(&name, bytes),
        Ok(Err(e)) => run_error(e),
        Err(e) => run_error(RunError::Internal(e.to_string())),
    }
}

fn download(name: &str, bytes: Vec<u8>) -> Response {
    let kind = match Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => "application/json",
        Some("csv") => "text/csv; charset=utf-8",
        _ => "application/octet-stream",
    };
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", name.replace('"', "_")),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn report(
    State(app): State<Arc<App>>,
    axum::extract::Path(kind): axum::extract::Path<String>,
) -> Response {
    if !["json", "csv", "xlsx"].contains(&kind.as_str()) {
        return refuse(StatusCode::NOT_FOUND, "reports are json, csv or xlsx");
    }
    let name = {
        let s = lock(&app.session);
        let Some(s) = s.as_ref() else {
            return refuse(StatusCode::NOT_FOUND, "no run yet");
        };
        format!("{}.report.{kind}", s.stem())
    };
    match std::fs::read(app.dir.join("reports").join(&name)) {
        Ok(bytes) => download(&name, bytes),
        Err(_) => refuse(StatusCode::NOT_FOUND, "no report yet: plan or import first"),
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/app.js", get(script))
        .route("/app.css", get(style))
        .route("/api/state", get(state))
        .route("/api/upload", post(upload))
        .route("/api/edit", post(edit))
        .route("/api/credentials", post(credentials))
        .route("/api/plan", post(plan))
        .route("/api/import", post(import))
        .route("/api/events", get(stream))
        .route("/api/fixed", get(fixed))
        .route("/api/report/{kind}", get(report))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// A running page server.
pub struct Ui {
    pub url: String,
    pub addr: SocketAddr,
}

/// Serves the page until `shutdown`; `ready` hears its URL (with the token) first.
pub async fn serve(
    options: UiOptions,
    ready: impl FnOnce(&Ui),
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
        .await
        .map_err(|e| {
            RunError::Input(crate::error::InputError::Usage(format!(
                "cannot listen on 127.0.0.1:{}: {e}. Pass another --port (0 picks a free one).",
                options.port
            )))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| RunError::Internal(format!("the listener's address: {e}")))?;
    let dir = options.state_dir.join("ui");
    std::fs::create_dir_all(&dir).map_err(|e| {
        RunError::Input(crate::error::InputError::Usage(format!(
            "cannot create {}: {e}",
            dir.display()
        )))
    })?;
    let token = random_token();
    let app = Arc::new(App {
        token: token.clone(),
        port: addr.port(),
        dir,
        state_dir: options.state_dir,
        api: options.api,
        typed: Mutex::new(None),
        session: Arc::new(Mutex::new(None)),
        hub: Hub::new(),
        stop: shutdown.child_token(),
    });
    ready(&Ui {
        url: format!("http://127.0.0.1:{}/?token={token}", addr.port()),
        addr,
    });
    let stop = shutdown.clone();
    let server = axum::serve(listener, router(app.clone()))
        .with_graceful_shutdown(async move { stop.cancelled().await });
    // An open event stream never ends by itself: after a stop, the requests in flight get a
    // moment, then the server goes; an import in flight has been told to stop (its journal
    // holds what it did).
    let grace = async {
        shutdown.cancelled().await;
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    };
    tokio::select! {
        served = server => served.map_err(|e| RunError::Internal(format!("the page server: {e}")))?,
        () = grace => {}
    }
    // Wait for the import (if any) to record its end.
    for _ in 0..100 {
        if !app.hub.state().running {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}
