//! `import` against servers that answer badly on purpose (issue 8): redirects to another host,
//! every form of `Retry-After`, endless and huge bodies, ids of every wrong type, a 401 midway,
//! OAuth lifetimes at their extremes, credentials in the base URL. Each server is a real HTTP
//! server on loopback (axum) that records every request it gets; the importer is the binary.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

mod support;

use support::*;

/// One request as the hostile server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    body: Bytes,
}

impl Seen {
    fn name(&self) -> Option<String> {
        serde_json::from_slice::<Value>(&self.body)
            .ok()?
            .get("name")?
            .as_str()
            .map(str::to_string)
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A server on a free loopback port that records every request before `router` answers it.
struct Hostile {
    base: String,
    log: Log,
}

impl Hostile {
    async fn start(router: Router) -> Hostile {
        let log: Log = Arc::default();
        let app = router.layer(axum::middleware::from_fn_with_state(log.clone(), record));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Hostile {
            base: format!("http://{addr}"),
            log,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    fn count(&self, method: &str, path: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .count()
    }

    fn creates(&self) -> usize {
        self.count("POST", "/v3/targetGroups")
    }
}

async fn record(State(log): State<Log>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    log.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        body: body.clone(),
    });
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// A listener that must stay untouched: it counts every connection made to it.
struct Bystander {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Bystander {
    fn start() -> Bystander {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                seen.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Bystander { addr, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn created(id: Value) -> Response {
    Json(json!({ "data": { "id": id }, "errors": null, "warnings": null })).into_response()
}

/// `GET /v3/milestones?name=N` answering every name with id 5000 + its number (`Streak 0007`
/// → 5007): the server "shows the name" with an id the test can predict.
async fn milestones_by_number(request: Request) -> Response {
    let query = request.uri().query().unwrap_or_default().to_string();
    let name = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let number: i64 = name.trim_start_matches("Streak ").parse().unwrap_or(0);
    Json(json!({
        "pagination": { "limit": 50, "offset": 0, "total": 1 },
        "data": [{ "id": 5000 + number, "name": name }],
    }))
    .into_response()
}

/// A create answering 200 with id 1000 + the row's number.
async fn create_ok(body: Bytes) -> Response {
    let name = serde_json::from_slice::<Value>(&body).unwrap_or_default()["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let number: i64 = name.trim_start_matches("Streak ").parse().unwrap_or(0);
    created(json!(1000 + number))
}

fn statuses(dir: &Path) -> Vec<String> {
    report_rows(dir)
        .iter()
        .map(|r| r["status"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn journal_lines(dir: &Path) -> Vec<Value> {
    let state = dir.join("state");
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(state).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".journal.jsonl") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                lines.push(serde_json::from_str(line).unwrap());
            }
        }
    }
    lines
}

fn assert_no_panic(out: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_fail_the_row_and_nothing_reaches_the_other_host() {
    let other = Bystander::start();
    for status in [301u16, 302, 303, 307, 308] {
        let location = format!("http://{}/v3/targetGroups", other.addr);
        let to = location.clone();
        let server = Hostile::start(Router::new().route(
            "/v3/targetGroups",
            post(move || async move {
                (
                    StatusCode::from_u16(status).unwrap(),
                    [(header::LOCATION, to)],
                )
            }),
        ))
        .await;
        let dir = tempfile::tempdir().unwrap();
        let input = write_rows(dir.path(), 3);
        let (cmd, out) = run(import(&server.base, &input, dir.path(), &[])).await;
        assert_eq!(out.status.code(), Some(1), "{}", show(&cmd, &out));
        assert_no_panic(&out);
        for row in report_rows(dir.path()) {
            assert_eq!(row["status"], "failed", "{row}");
            assert_eq!(row["http_status"], status, "{row}");
            let message = row["api_errors"][0]["message"].as_str().unwrap();
            assert!(
                message.contains(&status.to_string()) && message.contains(&location),
                "{message}"
            );
        }
        // A redirect is final: one request per row, no retry, no lookup.
        assert_eq!(server.seen().len(), 3, "{:?}", server.seen());
    }
    // The OAuth token request is not followed either: the key and secret stay here.
    let to = format!("http://{}/v3/oauth/token/generate", other.addr);
    let server = Hostile::start(Router::new().route(
        "/v3/oauth/token/generate",
        post(move || async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]) }),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 3);
    let mut cmd = import(&server.base, &input, dir.path(), &[]);
    cmd.env_remove("CAPILLARY_USERNAME")
        .env_remove("CAPILLARY_PASSWORD")
        .env("CAPILLARY_OAUTH_KEY", "key-7")
        .env("CAPILLARY_OAUTH_SECRET", "secret-never-shown");
    let (cmd, out) = run(cmd).await;
    assert_eq!(out.status.code(), Some(3), "{}", show(&cmd, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("redirect") && stderr.contains(&other.addr.to_string()),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-never-shown"));
    assert_eq!(statuses(dir.path()), ["not_sent"; 3]);
    assert_eq!(server.creates(), 0);
    assert_eq!(other.connections(), 0, "a request reached the other host");
}

/// A server that answers the first `limited` creates 429 with `retry_after`, then 200.
async fn limited_then_ok(limited: usize, retry_after: &'static str) -> Hostile {
    let count = Arc::new(AtomicUsize::new(0));
    Hostile::start(
        Router::new()
            .route(
                "/v3/targetGroups",
                post(move |body: Bytes| {
                    let count = count.clone();
                    async move {
                        if count.fetch_add(1, Ordering::SeqCst) < limited {
                            (
                                StatusCode::TOO_MANY_REQUESTS,
                                [(header::RETRY_AFTER, retry_after)],
                            )
                                .into_response()
                        } else {
                            create_ok(body).await
                        }
                    }
                }),
            )
            .route("/v3/milestones", get(milestones_by_number)),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_of_retry_after_is_read_without_a_panic() {
    let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(1));
    let soon: &'static str = Box::leak(soon.into_boxed_str());
    for retry_after in [
        "1",
        "0.3",
        "0",
        soon,
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "-5",
        "NaN",
        "-inf",
        "garbage",
        "",
        "Tue, 99 Foo 2026 99:99:99 GMT",
    ] {
        let server = limited_then_ok(2, retry_after).await;
        let dir = tempfile::tempdir().unwrap();
        let input = write_rows(dir.path(), 4);
        let started = Instant::now();
        let (cmd, out) = run(import(
            &server.base,
            &input,
            dir.path(),
            &["--concurrency", "2"],
        ))
        .await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "Retry-After {retry_after:?}: {}",
            show(&cmd, &out)
        );
        assert_no_panic(&out);
        assert_eq!(
            statuses(dir.path()),
            ["created"; 4],
            "Retry-After {retry_after:?}"
        );
        assert_eq!(server.creates(), 6, "Retry-After {retry_after:?}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "Retry-After {retry_after:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_beyond_max_wait_stops_with_exit_3_and_keeps_the_rows_for_the_rerun() {
    let next_year =
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(365 * 86_400));
    let next_year: &'static str = Box::leak(next_year.into_boxed_str());
    for (retry_after, said) in [
        ("999999", "11 days 13 hours"),
        ("inf", "forever"),
        ("1e30", "forever"),
        (next_year, "days"),
    ] {
        let server = limited_then_ok(usize::MAX, retry_after).await;
        let dir = tempfile::tempdir().unwrap();
        let input = write_rows(dir.path(), 5);
        let started = Instant::now();
        let (cmd, out) = run(import(
            &server.base,
            &input,
            dir.path(),
            &["--concurrency", "1"],
        ))
        .await;
        assert_eq!(out.status.code(), Some(3), "{}", show(&cmd, &out));
        assert_no_panic(&out);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the run waited"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(said) && stderr.contains("--max-wait") && stderr.contains(retry_after),
            "{retry_after}: {stderr}"
        );
        assert_eq!(statuses(dir.path()), ["not_sent"; 5]);
        // The refused row is recorded as not sent: the re-run neither waits for it nor
        // looks it up, it simply sends every row once.
        let closed = journal_lines(dir.path())
            .iter()
            .filter(|l| l["event"] == "outcome" && l["status"] == "not_sent")
            .count();
        assert_eq!(closed, 1);
        let friendly =
            Hostile::start(Router::new().route("/v3/targetGroups", post(create_ok))).await;
        let (cmd, out) = run(import(&friendly.base, &input, dir.path(), &[])).await;
        assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
        assert_eq!(friendly.creates(), 5);
        assert_eq!(
            friendly.seen().len(),
            5,
            "no lookups: {:?}",
            friendly.seen()
        );
    }
    // --max-wait is the user's: a short one stops a wait the default would have accepted.
    let server = limited_then_ok(usize::MAX, "30").await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 2);
    let (cmd, out) = run(import(
        &server.base,
        &input,
        dir.path(),
        &["--max-wait", "5"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", show(&cmd, &out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("30 seconds"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_attempts_bounds_every_row_whatever_the_server_answers() {
    // 503 with Retry-After: 0 forever.
    let server = Hostile::start(Router::new().route(
        "/v3/targetGroups",
        post(|| async {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "0")],
            )
        }),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 4);
    let (cmd, out) = run(import(
        &server.base,
        &input,
        dir.path(),
        &["--max-attempts", "3"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&cmd, &out));
    assert_eq!(statuses(dir.path()), ["failed"; 4]);
    assert_eq!(server.creates(), 12, "exactly 3 attempts a row");
    for row in report_rows(dir.path()) {
        assert_eq!(row["attempts"], 3);
        assert!(row["api_errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("gave up after 3 attempts"));
    }
    // 429 with Retry-After: 0 forever: bounded by the attempts, and the run stops once the
    // server has admitted nothing for longer than --max-wait.
    let server = limited_then_ok(usize::MAX, "0").await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 20);
    let started = Instant::now();
    let (cmd, out) = run(import(
        &server.base,
        &input,
        dir.path(),
        &["--max-attempts", "3", "--max-wait", "3"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", show(&cmd, &out));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(String::from_utf8_lossy(&out.stderr).contains("answered every request with 429"));
    let mut per_row = std::collections::HashMap::new();
    for s in server.seen() {
        *per_row.entry(s.name()).or_insert(0) += 1;
    }
    assert!(per_row.values().all(|n| *n <= 3), "{per_row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_with_retry_after_inf_is_still_created() {
    let server = Hostile::start(Router::new().route(
        "/v3/targetGroups",
        post(|body: Bytes| async move {
            let mut r = create_ok(body).await;
            r.headers_mut()
                .insert(header::RETRY_AFTER, "inf".parse().unwrap());
            r
        }),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 3);
    let (cmd, out) = run(import(&server.base, &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    assert_no_panic(&out);
    let ids: Vec<Value> = report_rows(dir.path())
        .iter()
        .map(|r| r["target_group_id"].clone())
        .collect();
    assert_eq!(ids, [json!(1000), json!(1001), json!(1002)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_of_every_wrong_type_are_looked_up_by_name_and_never_posted_twice() {
    let shapes = [
        json!("123"),
        json!(77),
        json!("abc"),
        json!(null),
        json!(1.5),
        json!(-1),
        json!(0),
        json!(true),
        json!({}),
        json!([1]),
        json!(1e20),
    ];
    let answers = shapes.clone();
    let server = Hostile::start(
        Router::new()
            .route(
                "/v3/targetGroups",
                post(move |body: Bytes| {
                    let answers = answers.clone();
                    async move {
                        let name = serde_json::from_slice::<Value>(&body).unwrap()["name"]
                            .as_str()
                            .unwrap()
                            .to_string();
                        let k: usize = name.trim_start_matches("Streak ").parse().unwrap();
                        created(answers[k].clone())
                    }
                }),
            )
            .route("/v3/milestones", get(milestones_by_number)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), shapes.len());
    let (cmd, out) = run(import(&server.base, &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let rows = report_rows(dir.path());
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r["target_group_id"].as_i64().unwrap())
        .collect();
    let mut expected = vec![123, 77];
    expected.extend((2..shapes.len() as i64).map(|k| 5000 + k));
    assert_eq!(ids, expected);
    assert!(rows.iter().all(|r| r["status"] == "created"));
    assert!(
        rows[2]["note"]
            .as_str()
            .unwrap()
            .contains("looked up by name"),
        "{}",
        rows[2]
    );
    // A 2xx means created: the re-run sends nothing again.
    let creates = server.creates();
    let (cmd, out) = run(import(&server.base, &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    assert_eq!(server.creates(), creates);
}

/// An endless body at full speed: `fast` sends MiB after MiB, else a byte every 50 ms.
fn endless(fast: bool) -> Response {
    let stream = futures_util::stream::unfold((), move |()| async move {
        if !fast {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let chunk = if fast {
            vec![b' '; 1 << 20]
        } else {
            vec![b' ']
        };
        Some((Ok::<_, std::convert::Infallible>(Bytes::from(chunk)), ()))
    });
    (StatusCode::OK, Body::from_stream(stream)).into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_and_huge_bodies_keep_memory_bounded_and_end_within_the_timeout() {
    for (case, handler) in [
        ("endless", post(|| async { endless(true) })),
        ("slow endless", post(|| async { endless(false) })),
        (
            "huge",
            post(|| async {
                let mut huge = String::from("{\"data\":{\"id\":1,\"pad\":\"");
                huge.push_str(&"x".repeat(20 << 20));
                huge.push_str("\"}}");
                huge.into_response()
            }),
        ),
    ] {
        let server = Hostile::start(
            Router::new()
                .route("/v3/targetGroups", handler)
                .route("/v3/milestones", get(milestones_by_number)),
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let input = write_rows(dir.path(), 2);
        let cmd = import(&server.base, &input, dir.path(), &["--timeout", "2"]);
        let started = Instant::now();
        let (out, peak_kib) = tokio::task::spawn_blocking({
            let dir = dir.path().to_path_buf();
            move || run_measured(cmd, &dir)
        })
        .await
        .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{case}: {:?}",
            started.elapsed()
        );
        assert!(
            peak_kib < 150 * 1024,
            "{case}: peak memory {} MiB",
            peak_kib / 1024
        );
        // A 2xx whose body cannot be read is created all the same; its id comes by name.
        let rows = report_rows(dir.path());
        let ids: Vec<Value> = rows.iter().map(|r| r["target_group_id"].clone()).collect();
        assert_eq!(ids, [json!(5000), json!(5001)], "{case}");
        assert_eq!(server.creates(), 2, "{case}: posted again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_midway_stops_and_the_refused_rows_are_not_in_flight_on_the_rerun() {
    let count = Arc::new(AtomicUsize::new(0));
    let server = Hostile::start(Router::new().route(
        "/v3/targetGroups",
        post(move |body: Bytes| {
            let count = count.clone();
            async move {
                if count.fetch_add(1, Ordering::SeqCst) < 5 {
                    create_ok(body).await
                } else {
                    (
                        StatusCode::UNAUTHORIZED,
                        Json(json!({"data": null, "errors": [{"code": 401, "message": "Invalid credentials"}]})),
                    )
                        .into_response()
                }
            }
        }),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 12);
    let (cmd, out) = run(import(
        &server.base,
        &input,
        dir.path(),
        &["--concurrency", "1"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", show(&cmd, &out));
    let mut expected = vec!["created"; 5];
    expected.extend(["not_sent"; 7]);
    assert_eq!(statuses(dir.path()), expected);
    // The refused row's intent is closed: nothing is left "in flight".
    let lines = journal_lines(dir.path());
    let intents = lines.iter().filter(|l| l["event"] == "intent").count();
    let outcomes = lines.iter().filter(|l| l["event"] == "outcome").count();
    assert_eq!((intents, outcomes), (6, 6));
    let fixed = Hostile::start(
        Router::new()
            .route("/v3/targetGroups", post(create_ok))
            .route("/v3/milestones", get(milestones_by_number)),
    )
    .await;
    let (cmd, out) = run(import(&fixed.base, &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    assert_eq!(fixed.creates(), 7);
    assert_eq!(
        fixed.count("GET", "/v3/milestones"),
        0,
        "nothing to reconcile"
    );
    let ids: Vec<i64> = report_rows(dir.path())
        .iter()
        .map(|r| r["target_group_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, (1000..1012).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_lifetimes_at_their_extremes_neither_panic_nor_fetch_a_token_per_request() {
    for ttl in [
        json!(u64::MAX),
        json!(0),
        json!(-1),
        json!("abc"),
        json!(1e300),
        json!(null),
        json!(1),
    ] {
        let ttl_answer = ttl.clone();
        let server =
            Hostile::start(
                Router::new()
                    .route(
                        "/v3/oauth/token/generate",
                        post(move || {
                            let ttl = ttl_answer.clone();
                            async move {
                                Json(json!({"data": {"accessToken": "tok-1", "ttlSeconds": ttl}}))
                            }
                        }),
                    )
                    .route(
                        "/v3/targetGroups",
                        post(|headers: HeaderMap, body: Bytes| async move {
                            if headers
                                .get("x-cap-api-oauth-token")
                                .is_some_and(|t| t == "tok-1")
                            {
                                create_ok(body).await
                            } else {
                                StatusCode::UNAUTHORIZED.into_response()
                            }
                        }),
                    ),
            )
            .await;
        let dir = tempfile::tempdir().unwrap();
        let input = write_rows(dir.path(), 12);
        let mut cmd = import(&server.base, &input, dir.path(), &["--concurrency", "4"]);
        cmd.env_remove("CAPILLARY_USERNAME")
            .env_remove("CAPILLARY_PASSWORD")
            .env("CAPILLARY_OAUTH_KEY", "k")
            .env("CAPILLARY_OAUTH_SECRET", "s");
        let (cmd, out) = run(cmd).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "ttlSeconds {ttl}: {}",
            show(&cmd, &out)
        );
        assert_no_panic(&out);
        assert_eq!(server.creates(), 12, "ttlSeconds {ttl}");
        let tokens = server.count("POST", "/v3/oauth/token/generate");
        // A 1-second token is renewed when 80% of it has gone; the run may outlive a few.
        let most = if ttl == json!(1) { 4 } else { 1 };
        assert!(tokens <= most, "ttlSeconds {ttl}: {tokens} token requests");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_base_url_are_refused_and_never_echoed() {
    let server = Hostile::start(Router::new().route("/v3/targetGroups", post(create_ok))).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 2);
    let base = server
        .base
        .replace("http://", "http://till:hunter2-in-url@");
    for base in [
        base.clone(),
        format!("{base}/prefix"),
        "https://u:p@ss:word@host.example".into(),
    ] {
        let (cmd, out) = run(import(&base, &input, dir.path(), &[])).await;
        assert_eq!(out.status.code(), Some(2), "{}", show(&cmd, &out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("holds credentials") || stderr.contains("not a URL"),
            "{stderr}"
        );
        for secret in ["hunter2-in-url", "p@ss:word", "ss:word"] {
            assert!(!stderr.contains(secret), "{stderr}");
        }
    }
    assert!(server.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_ctrl_c_ends_a_long_wait_at_once() {
    // Retry-After: 300 is within --max-wait, so the run would wait five minutes.
    let server = limited_then_ok(usize::MAX, "300").await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 3);
    let mut cmd = import(&server.base, &input, dir.path(), &["--concurrency", "1"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let started = Instant::now();
    while server.creates() == 0 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let interrupted = Instant::now();
    let out = interrupt(child).await;
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        interrupted.elapsed() < Duration::from_secs(3),
        "{:?}",
        interrupted.elapsed()
    );
    assert_eq!(statuses(dir.path()), ["not_sent"; 3]);
    assert_eq!(server.creates(), 1);
}

/// `export`, `plan` and `undo` against answers they cannot use: a milestones search that
/// ignores `offset` (an endless listing), a group read that redirects to another host, a delete
/// that redirects. Each ends in a message and its exit code; nothing reaches the other host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_calls_survive_endless_listings_and_redirects() {
    let bystander = Bystander::start();
    let elsewhere = format!("http://{}/v3/targetGroups/1", bystander.addr);
    let group = json!({"id": 1, "name": "Only", "active": true});
    let page = json!({"pagination": {"limit": 50, "offset": 0, "total": 1_000_000_000u64},
        "data": [group], "errors": null, "warnings": null});
    let to = elsewhere.clone();
    let server = Hostile::start(
        Router::new()
            .route(
                "/v3/milestones",
                get(move || {
                    let page = page.clone();
                    async move { Json(page) }
                }),
            )
            .route(
                "/v3/targetGroups/{id}",
                get({
                    let to = to.clone();
                    move || {
                        let to = to.clone();
                        async move { (StatusCode::FOUND, [(header::LOCATION, to)]).into_response() }
                    }
                })
                .delete(move || {
                    let to = to.clone();
                    async move {
                        (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response()
                    }
                }),
            ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let run_in = |args: &[&str]| {
        let mut c = bin();
        c.current_dir(dir.path())
            .args(args)
            .args(["--base-url", &server.base, "--state-dir"])
            .arg(dir.path().join("state"))
            .env("CAPILLARY_USERNAME", "till")
            .env("CAPILLARY_PASSWORD", PASSWORD);
        c
    };
    let started = Instant::now();
    let (cmd, out) = run(run_in(&["export", "-o", "x.xlsx"])).await;
    assert_eq!(out.status.code(), Some(3), "{}", show(&cmd, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("streaks it had already listed (is `offset` ignored?)"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        server.count("GET", "/v3/milestones"),
        2,
        "one page, then the same page again"
    );
    assert!(!dir.path().join("x.xlsx").exists(), "nothing written");

    // An undo whose reads redirect: each streak fails with the reason, nothing is deleted.
    let report = json!({"input": {"sha256": "ab".repeat(32)},
        "rows": [{"row": 2, "name": "Only", "status": "created", "target_group_id": 1}]});
    std::fs::write(dir.path().join("r.json"), report.to_string()).unwrap();
    let (cmd, out) = run(run_in(&["undo", "r.json"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&cmd, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("failed: HTTP 302, a redirect to"),
        "{stdout}"
    );
    assert_eq!(
        server.count("DELETE", "/v3/targetGroups/1"),
        0,
        "never deleted unchecked"
    );
    assert_eq!(bystander.connections(), 0, "nothing followed the redirects");
}
