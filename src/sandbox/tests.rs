//! The sandbox over real HTTP: a reqwest client against `Sandbox::start` on 127.0.0.1:0.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::auth::basic_header;
use super::{Sandbox, SandboxConfig};
use crate::columns::ALWAYS_TRUE_JSON;
use crate::payload::{DefaultValue, Period, StreakLevel, Target, TargetGroup};

const ANY_PORT: &str = "127.0.0.1:0";

async fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config, ANY_PORT.parse().unwrap())
        .await
        .unwrap()
}

struct Api {
    sandbox: Sandbox,
    http: reqwest::Client,
    auth: String,
}

impl Api {
    async fn new(config: SandboxConfig) -> Api {
        let auth = basic_header(&config.username, &config.password);
        Api {
            sandbox: start(config).await,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            auth,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url())
    }

    async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
        let status = response.status();
        let body = response.json::<Value>().await.unwrap();
        (status, body)
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url(path))
            .header("Authorization", &self.auth)
            .json(body);
        Self::answer(r.send().await.unwrap()).await
    }

    async fn post_raw(&self, path: &str, body: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url(path))
            .header("Authorization", &self.auth)
            .header("Content-Type", "application/json")
            .body(body.to_string());
        Self::answer(r.send().await.unwrap()).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .header("Authorization", &self.auth);
        Self::answer(r.send().await.unwrap()).await
    }

    async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .put(self.url(path))
            .header("Authorization", &self.auth)
            .json(body);
        Self::answer(r.send().await.unwrap()).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .delete(self.url(path))
            .header("Authorization", &self.auth);
        Self::answer(r.send().await.unwrap()).await
    }

    async fn create(&self, body: &Value) -> (StatusCode, Value) {
        self.post("/v3/targetGroups", body).await
    }
}

/// The first error code of an envelope.
fn code(body: &Value) -> i64 {
    body["errors"][0]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// A 3-day daily streak built with the crate's own request type, so the sandbox is tested against
/// exactly what the importer sends.
fn streak(name: &str) -> Value {
    let period = |day: u32, status: &str| Period {
        ref_code: format!("Cycle_{day}"),
        start_date: format!("2026-07-0{day}T00:00:00.000"),
        end_date: format!("2026-07-0{day}T23:59:59.999"),
        period_status: status.into(),
        active: true,
        description: String::new(),
    };
    let group = TargetGroup {
        name: name.into(),
        description: Some("Spend 100+ on consecutive days".into()),
        active: true,
        preferred_till_id: Some(75_000_001),
        tracking_type: "STREAKS".into(),
        target_evaluation_type: "FIXED_CALENDAR_WINDOW".into(),
        frequency_type: "DAILY".into(),
        frequency: 1,
        recurring_cycles: 3,
        total_periods: 3,
        user_created: false,
        time_zone_name: Some("Asia/Kolkata".into()),
        periods: vec![
            period(1, "RUNNING"),
            period(2, "NOT_STARTED"),
            period(3, "NOT_STARTED"),
        ],
        targets: vec![Target {
            name: name.into(),
            active: true,
            description: String::new(),
            target_entity: "TRANSACTION".into(),
            target_type: "SALES".into(),
            event_name: None,
            enrolment_method: "TRANSACTION".into(),
            expression: "true".into(),
            expression_json: ALWAYS_TRUE_JSON.into(),
            filters: vec![],
            target_milestone_triggers: vec![],
            default_values: vec![
                DefaultValue {
                    default_value: 100.0
                };
                3
            ],
            extended_field_info: None,
        }],
        streaks: vec![
            StreakLevel {
                name: format!("{name}_1"),
                target_count_of_sequence: 2,
            },
            StreakLevel {
                name: format!("{name}_2"),
                target_count_of_sequence: 3,
            },
        ],
    };
    serde_json::to_value(group).unwrap()
}

fn alternate_currency(name: &str) -> Value {
    let mut body = streak(name);
    let t = &mut body["targets"][0];
    t["targetEntity"] = json!("ALTERNATE_CURRENCIES");
    t["targetType"] = json!("ALL");
    t["extendedFieldInfo"] = json!({ "alternateCurrencyIdentifier": "AbC123", "programId": 46 });
    body
}

#[tokio::test]
async fn create_answers_200_with_a_new_id_and_stores_the_group() {
    let api = Api::new(SandboxConfig::default()).await;
    let body = streak("Daily Spend Streak Jul-26");
    let (status, answer) = api.create(&body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["id"], json!(1000));
    assert_eq!(answer["errors"], Value::Null);
    assert_eq!(answer["warnings"], Value::Null);
    // The stored group is the body plus its id, and an id for each target (id·100 + place).
    let mut expected = answer["data"].clone();
    expected.as_object_mut().unwrap().remove("id");
    assert_eq!(expected["targets"][0]["id"], json!(100_001));
    expected["targets"][0].as_object_mut().unwrap().remove("id");
    assert_eq!(expected, body);
    let (_, second) = api.create(&streak("Another")).await;
    assert_eq!(second["data"]["id"], json!(1001));
    let groups = api.sandbox.groups();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0], answer["data"]);
    assert_eq!(api.sandbox.received(), vec![body, streak("Another")]);
    let (status, list) = api.get("/v3/targetGroups").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    let (status, one) = api.get("/v3/targetGroups/1001").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["data"]["name"], json!("Another"));
    let (status, missing) = api.get("/v3/targetGroups/999").await;
    assert_eq!((status, code(&missing)), (StatusCode::NOT_FOUND, 310017));
    assert_eq!(api.sandbox.request_count(), 5);
}

#[tokio::test]
async fn a_duplicate_name_in_another_case_is_310069() {
    let api = Api::new(SandboxConfig::default()).await;
    assert_eq!(
        api.create(&streak("Weekend Shopper")).await.0,
        StatusCode::OK
    );
    let (status, answer) = api.create(&streak("WEEKEND shopper")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&answer), 310069);
    assert_eq!(
        answer["errors"][0]["message"],
        json!("Target group name already exists")
    );
    assert_eq!(answer["data"], Value::Null);
    assert_eq!(api.sandbox.groups().len(), 1);
    assert_eq!(api.sandbox.received().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_name_store_it_once() {
    let api = Api::new(SandboxConfig::default()).await;
    let names = ["Race", "RACE", "race", "rAcE"];
    let answers = futures_join(
        names
            .iter()
            .cycle()
            .take(16)
            .map(|n| api.create_owned(streak(n))),
    )
    .await;
    let created = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(created, 1);
    assert!(answers
        .iter()
        .filter(|(s, _)| *s != StatusCode::OK)
        .all(|(_, a)| code(a) == 310069));
    assert_eq!(api.sandbox.groups().len(), 1);
}

impl Api {
    async fn create_owned(&self, body: Value) -> (StatusCode, Value) {
        self.create(&body).await
    }
}

/// Runs futures concurrently (on the test's runtime) and collects their outputs in order.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.unwrap()).collect()
}

#[tokio::test]
async fn each_validation_rule_has_its_code() {
    let api = Api::new(SandboxConfig::default()).await;
    let long = "x".repeat(201);
    type Case<'a> = (&'a str, Box<dyn Fn(&mut Value)>, i64, &'a str);
    let cases: Vec<Case> = vec![
        (
            "name missing",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("name");
            }),
            300004,
            "name: is required",
        ),
        (
            "name blank",
            Box::new(|b| b["name"] = json!("  ")),
            300004,
            "name: must not be blank",
        ),
        (
            "group name too long",
            Box::new({
                let l = long.clone();
                move |b| b["name"] = json!(l)
            }),
            310008,
            "Target group name",
        ),
        (
            "target name too long",
            Box::new({
                let l = long.clone();
                move |b| b["targets"][0]["name"] = json!(l)
            }),
            310008,
            "Target rule name",
        ),
        (
            "bad pair",
            Box::new(|b| b["targets"][0]["targetType"] = json!("SALES")),
            310033,
            "ALTERNATE_CURRENCIES/SALES",
        ),
        (
            "unknown entity",
            Box::new(|b| b["targets"][0]["targetEntity"] = json!("WIDGETS")),
            310033,
            "WIDGETS",
        ),
        (
            "no extendedFieldInfo",
            Box::new(|b| {
                b["targets"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("extendedFieldInfo");
            }),
            310094,
            "extendedFieldInfo",
        ),
        (
            "programId 0",
            Box::new(|b| b["targets"][0]["extendedFieldInfo"]["programId"] = json!(0)),
            310146,
            "Invalid program id",
        ),
        (
            "programId missing",
            Box::new(|b| {
                b["targets"][0]["extendedFieldInfo"]
                    .as_object_mut()
                    .unwrap()
                    .remove("programId");
            }),
            310146,
            "programId",
        ),
        (
            "currency blank",
            Box::new(|b| {
                b["targets"][0]["extendedFieldInfo"]["alternateCurrencyIdentifier"] = json!(" ")
            }),
            310147,
            "Alternate Currency Identifier",
        ),
        (
            "currency missing",
            Box::new(|b| {
                b["targets"][0]["extendedFieldInfo"]
                    .as_object_mut()
                    .unwrap()
                    .remove("alternateCurrencyIdentifier");
            }),
            310147,
            "Alternate Currency Identifier",
        ),
        (
            "date-only start",
            Box::new(|b| b["periods"][0]["startDate"] = json!("2026-07-01")),
            300004,
            "YYYY-MM-DDTHH:mm:ss.SSS",
        ),
        (
            "Z suffix",
            Box::new(|b| b["periods"][1]["endDate"] = json!("2026-07-02T23:59:59.999Z")),
            300004,
            "periods[1].endDate",
        ),
        (
            "end before start",
            Box::new(|b| b["periods"][2]["endDate"] = json!("2026-07-02T23:59:59.999")),
            300004,
            "before its startDate",
        ),
        (
            "defaultValues count",
            Box::new(|b| {
                b["targets"][0]["defaultValues"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }),
            300004,
            "defaultValues: has 2 entries but there are 3 periods",
        ),
        (
            "totalPeriods count",
            Box::new(|b| b["totalPeriods"] = json!(2)),
            300004,
            "totalPeriods: is 2 but periods has 3",
        ),
        (
            "trackingType unknown",
            Box::new(|b| b["trackingType"] = json!("STREAKZ")),
            300004,
            "trackingType: must be one of",
        ),
        (
            "streak window",
            Box::new(|b| b["targetEvaluationType"] = json!("CYCLIC_WINDOW")),
            300004,
            "only FIXED_CALENDAR_WINDOW",
        ),
        (
            "levels descending",
            Box::new(|b| b["streaks"][1]["targetCountOfSequence"] = json!(1)),
            300004,
            "strictly ascending",
        ),
        (
            "level beyond periods",
            Box::new(|b| b["streaks"][1]["targetCountOfSequence"] = json!(4)),
            300004,
            "more than the 3 periods",
        ),
        (
            "negative target",
            Box::new(|b| b["targets"][0]["defaultValues"][0]["defaultValue"] = json!(-1)),
            300004,
            "must not be negative",
        ),
        (
            "no targets",
            Box::new(|b| b["targets"] = json!([])),
            300004,
            "targets: must have at least one target",
        ),
    ];
    for (what, edit, expected, fragment) in cases {
        let mut body = alternate_currency(&format!("Case {what}"));
        edit(&mut body);
        let (status, answer) = api.create(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert_eq!(code(&answer), expected, "{what}: {answer}");
        let message = answer["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(fragment), "{what}: {message}");
        if expected == 300004 {
            assert!(
                message.starts_with("Invalid input, check all values"),
                "{what}: {message}"
            );
        }
    }
    let (status, answer) = api.post_raw("/v3/targetGroups", "{\"name\": ").await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, 300004),
        "{answer}"
    );
    assert_eq!(
        api.sandbox.received().last().unwrap(),
        &json!("{\"name\": ")
    );
    // Several shape problems come back together.
    let mut body = streak("Many problems");
    body["frequencyType"] = json!("FORTNIGHTLY");
    body["periods"][0]["refCode"] = json!(null);
    let (_, answer) = api.create(&body).await;
    assert_eq!(answer["errors"].as_array().unwrap().len(), 2, "{answer}");
    // Nothing refused was stored; the valid variants are accepted.
    assert!(api.sandbox.groups().is_empty());
    assert_eq!(
        api.create(&alternate_currency("Currency streak")).await.0,
        StatusCode::OK
    );
    let mut event = streak("Steps streak");
    event["targets"][0]["targetEntity"] = json!("EVENT");
    event["targets"][0]["targetType"] = json!("EVENT_ATTRIBUTE");
    event["targets"][0]["eventName"] = json!("stepsWalked");
    let (status, answer) = api.create(&event).await;
    assert_eq!(
        (status, code_or_zero(&answer)),
        (StatusCode::BAD_REQUEST, 310094)
    );
    event["targets"][0]["extendedFieldInfo"] =
        json!({ "name": "steps", "aggregateFunction": "SUM" });
    assert_eq!(api.create(&event).await.0, StatusCode::OK);
}

fn code_or_zero(body: &Value) -> i64 {
    body["errors"][0]["code"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn basic_auth_is_accepted_and_refused() {
    let config = SandboxConfig {
        username: "till_x".into(),
        password: "S3cret!".into(),
        ..SandboxConfig::default()
    };
    let api = Api::new(config).await;
    assert_eq!(api.get("/v3/targetGroups").await.0, StatusCode::OK);
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let refused = [
        None,
        Some(basic_header("till_x", "wrong")),
        Some(basic_header("other", "S3cret!")),
        Some(format!("Basic {}", b64("till_x:S3cret!"))),
        Some(format!(
            "Basic {}",
            b64(&format!(
                "till_x:{}",
                super::auth::md5_hex("S3cret!").to_uppercase()
            ))
        )),
        Some("Bearer abc".to_string()),
        Some("Basic %%%".to_string()),
    ];
    for header in refused {
        let mut request = api
            .http
            .post(api.url("/v3/targetGroups"))
            .json(&streak("Refused"));
        if let Some(h) = &header {
            request = request.header("Authorization", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), 401);
        assert_eq!(body["data"], Value::Null);
        assert!(!body.to_string().contains("S3cret"), "{body}");
    }
    assert!(api.sandbox.groups().is_empty());
    assert_eq!(
        api.sandbox.received().len(),
        7,
        "refused bodies are recorded too"
    );
    // Every endpoint but token generation needs auth.
    for path in [
        "/v3/targetGroups",
        "/v3/milestones?name=x",
        "/v3/targetGroups/1000",
    ] {
        let status = api.http.get(api.url(path)).send().await.unwrap().status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let status = api
        .http
        .post(api.url("/v3/targetGroups/isValidName"))
        .json(&json!({"type": "targetGroupName", "value": "x"}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oauth_tokens_are_issued_and_expire() {
    let api = Api::new(SandboxConfig {
        token_ttl_secs: 1,
        ..SandboxConfig::default()
    })
    .await;
    let generate = |key: &str, secret: &str| {
        api.http
            .post(api.url("/v3/oauth/token/generate"))
            .json(&json!({ "key": key, "secret": secret }))
            .send()
    };
    let response = generate("sandbox-key", "wrong").await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["message"],
        json!("Failed to generate OAuth token")
    );

    let response = generate("sandbox-key", "sandbox-secret").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["ttlSeconds"], json!(1));
    assert_eq!(body["errors"], Value::Null);
    let token = body["data"]["accessToken"].as_str().unwrap().to_string();
    assert!(token.len() >= 32);
    let other: Value = generate("sandbox-key", "sandbox-secret")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(
        other["data"]["accessToken"].as_str().unwrap(),
        token,
        "tokens are random"
    );

    let with_token = |token: &str| {
        api.http
            .post(api.url("/v3/targetGroups"))
            .header("X-CAP-API-OAUTH-TOKEN", token)
            .json(&streak(&format!("Via token {}", &token[..4])))
            .send()
    };
    assert_eq!(with_token(&token).await.unwrap().status(), StatusCode::OK);
    let unknown = with_token("not-a-token").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = with_token(&token).await.unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let body: Value = expired.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    assert_eq!(api.sandbox.groups().len(), 1);
}

#[tokio::test]
async fn is_valid_name_checks_each_kind_ignoring_case() {
    let api = Api::new(SandboxConfig::default()).await;
    let api = &api;
    let valid = |kind: &str, value: &str| {
        let body = json!({ "type": kind, "value": value });
        async move { api.post("/v3/targetGroups/isValidName", &body).await }
    };
    assert_eq!(
        valid("targetGroupName", "Night Owl").await.1["data"],
        json!(true)
    );
    api.create(&streak("Night Owl")).await;
    for (kind, value, free) in [
        ("targetGroupName", "NIGHT OWL", false),
        ("streakName", "night owl", false),
        ("targetGroupName", "Night Owl 2", true),
        ("targetName", "night OWL", false),
        ("streakLevelName", "NIGHT OWL_2", false),
        ("streakLevelName", "Night Owl_3", true),
        ("periodName", "cycle_1", false),
        ("periodName", "Cycle_9", true),
    ] {
        let (status, answer) = valid(kind, value).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["data"], json!(free), "{kind} {value}");
    }
    let (status, answer) = valid("groupName", "x").await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, 310145));
}

#[tokio::test]
async fn milestones_find_by_exact_name_and_type_with_pagination() {
    let api = Api::new(SandboxConfig::default()).await;
    let mut non_continuous = streak("Beta");
    non_continuous["trackingType"] = json!("NON_CONTINUOUS_STREAKS");
    let mut default = streak("Gamma");
    default["trackingType"] = json!("DEFAULT");
    for body in [streak("Alpha Streak"), non_continuous, default] {
        assert_eq!(api.create(&body).await.0, StatusCode::OK);
    }
    let (status, answer) = api
        .get("/v3/milestones?name=alpha%20STREAK&type=STREAKS")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer["pagination"],
        json!({ "limit": 10, "offset": 0, "total": 1 })
    );
    assert_eq!(answer["data"][0]["id"], json!(1000));
    assert_eq!(answer["data"][0]["name"], json!("Alpha Streak"));
    assert_eq!(answer["data"][0]["trackingType"], json!("STREAKS"));
    let total = |answer: &Value| answer["pagination"]["total"].as_u64().unwrap();
    assert_eq!(
        total(&api.get("/v3/milestones?name=Alpha").await.1),
        0,
        "exact, not substring"
    );
    assert_eq!(
        total(&api.get("/v3/milestones?name=gamma&type=STREAKS").await.1),
        0
    );
    assert_eq!(total(&api.get("/v3/milestones?type=STREAKS").await.1), 2);
    assert_eq!(total(&api.get("/v3/milestones?type=DEFAULT").await.1), 1);
    assert_eq!(total(&api.get("/v3/milestones").await.1), 3);
    let (_, page) = api
        .get("/v3/milestones?type=STREAKS&limit=1&offset=1")
        .await;
    assert_eq!(
        page["pagination"],
        json!({ "limit": 1, "offset": 1, "total": 2 })
    );
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0]["id"], json!(1001));
    let (status, answer) = api.get("/v3/milestones?limit=0").await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, 300004));
}

#[tokio::test]
async fn delete_removes_a_group_and_frees_its_name() {
    let api = Api::new(SandboxConfig::default()).await;
    let (_, created) = api.create(&streak("Short lived")).await;
    let id = created["data"]["id"].as_u64().unwrap();
    let (status, answer) = api.delete(&format!("/v3/targetGroups/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({ "data": true, "errors": null, "warnings": null })
    );
    assert!(api.sandbox.groups().is_empty());
    let (status, answer) = api.delete(&format!("/v3/targetGroups/{id}")).await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, 310017));
    let (status, answer) = api.delete("/v3/targetGroups/abc").await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, 310017));
    let (status, again) = api.create(&streak("SHORT LIVED")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["data"]["id"], json!(id + 1), "ids are never reused");
}

#[tokio::test]
async fn unknown_paths_methods_and_media_types_get_envelopes() {
    let api = Api::new(SandboxConfig::default()).await;
    let (status, answer) = api.get("/v3/nothing").await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, 404));
    assert_eq!(answer["data"], Value::Null);
    let response = api
        .http
        .put(api.url("/v3/targetGroups"))
        .header("Authorization", &api.auth)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(code(&response.json().await.unwrap()), 405);
    let response = api
        .http
        .post(api.url("/v3/targetGroups"))
        .header("Authorization", &api.auth)
        .header("Content-Type", "text/plain")
        .body(streak("Plain").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(api.sandbox.request_count(), 3);
}

#[tokio::test]
async fn error_rate_one_answers_503_and_commits_nothing() {
    let api = Api::new(SandboxConfig {
        error_rate: 1.0,
        ..SandboxConfig::default()
    })
    .await;
    for i in 0..3 {
        let (status, answer) = api.create(&streak(&format!("Unlucky {i}"))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(code(&answer), 503);
    }
    assert!(api.sandbox.groups().is_empty());
    assert_eq!(api.sandbox.received().len(), 3);
    // Other endpoints are not affected.
    assert_eq!(api.get("/v3/targetGroups").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_seed_makes_the_fault_draws_reproducible() {
    let config = SandboxConfig {
        error_rate: 0.5,
        seed: Some(42),
        ..SandboxConfig::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let api = Api::new(config.clone()).await;
        let mut statuses = Vec::new();
        for i in 0..24 {
            statuses.push(api.create(&streak(&format!("Seeded {i}"))).await.0.as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&200) && runs[0].contains(&503),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let api = Api::new(SandboxConfig {
        rate_limit: Some(crate::sandbox::RateLimit::per_second(1)),
        ..SandboxConfig::default()
    })
    .await;
    assert_eq!(api.create(&streak("First")).await.0, StatusCode::OK);
    let response = api
        .http
        .post(api.url("/v3/targetGroups"))
        .header("Authorization", &api.auth)
        .json(&streak("Second"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), 429);
    assert_eq!(body["data"], Value::Null);
    assert_eq!(
        api.get("/v3/targetGroups").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(api.create(&streak("Second")).await.0, StatusCode::OK);
    assert_eq!(api.sandbox.groups().len(), 2);
}

#[tokio::test]
async fn drop_rate_one_commits_then_closes_without_a_response() {
    let api = Api::new(SandboxConfig {
        drop_rate: 1.0,
        ..SandboxConfig::default()
    })
    .await;
    let body = streak("Ambiguous");
    let result = api
        .http
        .post(api.url("/v3/targetGroups"))
        .header("Authorization", &api.auth)
        .json(&body)
        .send()
        .await;
    let error = result.expect_err("a dropped response is a connection error");
    assert!(error.status().is_none() && !error.is_timeout(), "{error:?}");
    assert_eq!(api.sandbox.groups().len(), 1, "the group was committed");
    assert_eq!(api.sandbox.groups()[0]["name"], json!("Ambiguous"));
    // The retry a client makes finds the name taken, and the lookup finds the id.
    let (status, answer) = api.create(&body).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, 310069));
    let (_, found) = api.get("/v3/milestones?name=Ambiguous&type=STREAKS").await;
    assert_eq!(found["data"][0]["id"], json!(1000));
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let api = Api::new(SandboxConfig {
        latency_ms: 150,
        ..SandboxConfig::default()
    })
    .await;
    let started = Instant::now();
    assert_eq!(api.get("/v3/targetGroups").await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn the_state_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let config = SandboxConfig {
        state_file: Some(path.clone()),
        ..SandboxConfig::default()
    };
    let api = Api::new(config.clone()).await;
    api.create(&streak("Kept")).await;
    let (_, gone) = api.create(&streak("Deleted")).await;
    // Written before the answer: the file already holds both groups.
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(on_disk["groups"].as_array().unwrap().len(), 2);
    api.delete(&format!("/v3/targetGroups/{}", gone["data"]["id"]))
        .await;
    api.sandbox.shutdown().await;
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("state.json")],
        "no temp files left"
    );

    let api = Api::new(config).await;
    let groups = api.sandbox.groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["name"], json!("Kept"));
    assert_eq!(groups[0]["id"], json!(1000));
    let (status, answer) = api.create(&streak("kept")).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, 310069));
    let (_, answer) = api.create(&streak("New")).await;
    assert_eq!(
        answer["data"]["id"],
        json!(1002),
        "ids continue after the last one handed out"
    );
    api.sandbox.shutdown().await;

    std::fs::write(&path, "not json").unwrap();
    let error = Sandbox::start(
        SandboxConfig {
            state_file: Some(path.clone()),
            ..SandboxConfig::default()
        },
        ANY_PORT.parse().unwrap(),
    )
    .await
    .err()
    .expect("a corrupt state file is refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("not a sandbox state file"),
        "{error}"
    );
}

#[tokio::test]
async fn shutdown_stops_listening_and_only_loopback_is_served() {
    let sandbox = start(SandboxConfig::default()).await;
    let addr = sandbox.addr();
    assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
    sandbox.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let error = Sandbox::start(SandboxConfig::default(), "0.0.0.0:0".parse().unwrap())
        .await
        .err()
        .unwrap();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    let error = Sandbox::start(
        SandboxConfig {
            error_rate: 2.0,
            ..SandboxConfig::default()
        },
        ANY_PORT.parse().unwrap(),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn targets_and_names_can_be_edited_and_the_changes_are_logged() {
    let api = Api::new(SandboxConfig::default()).await;
    api.create(&streak("Edit me")).await;
    api.create(&streak("Taken")).await;
    let (status, one) = api.get("/v3/targetGroups/1000?includePeriods=false").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["data"].get("periods"), None);
    assert_eq!(
        one["data"]["status"],
        json!("ENDED"),
        "its periods were in July 2026"
    );
    let target = "/v3/targetGroups/1000/targets/100001";
    let edit = json!({"expression": "x > 1", "defaultValues": [{"defaultValue": 7}, {"defaultValue": 8}, {"defaultValue": 9}], "targetType": "VISIT"});
    let (status, answer) = api.put(target, &edit).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let group = &api.sandbox.groups()[0];
    assert_eq!(group["targets"][0]["expression"], json!("x > 1"));
    assert_eq!(
        group["targets"][0]["defaultValues"][2],
        json!({"defaultValue": 9})
    );
    assert_eq!(
        group["targets"][0]["targetType"],
        json!("SALES"),
        "not editable: unchanged"
    );
    let (status, answer) = api
        .put(target, &json!({"defaultValues": [{"defaultValue": 1}]}))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, 300004),
        "one per period"
    );
    let (status, answer) = api.put("/v3/targetGroups/1000/targets/5", &edit).await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, 310017));
    let rename = "/v3/targetGroups/editTargetGroup/1000";
    let (status, answer) = api.put(rename, &json!({"name": "TAKEN"})).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, 310069));
    let (status, answer) = api.put(rename, &json!({"name": "Edited"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(api.sandbox.groups()[0]["name"], json!("Edited"));
    // The old name is free again, the new one taken.
    assert_eq!(api.create(&streak("edit ME")).await.0, StatusCode::OK);
    assert_eq!(
        api.create(&streak("edited")).await.0,
        StatusCode::BAD_REQUEST
    );
    let methods: Vec<_> = api
        .sandbox
        .changes()
        .iter()
        .map(|c| c["method"].clone())
        .collect();
    assert_eq!(methods, vec![json!("PUT"); 5]);
}

#[tokio::test]
async fn milestones_filter_by_status() {
    let api = Api::new(SandboxConfig::default()).await;
    api.create(&streak("Ended one")).await;
    let mut stopped = streak("Stopped one");
    stopped["active"] = json!(false);
    api.create(&stopped).await;
    let (_, page) = api.get("/v3/milestones?type=STREAKS&status=STOPPED").await;
    let names: Vec<_> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("Stopped one")]);
    assert_eq!(page["data"][0]["status"], json!("STOPPED"));
    let (_, page) = api
        .get("/v3/milestones?type=STREAKS&status=LIVE,ENDED")
        .await;
    assert_eq!(page["pagination"]["total"], json!(1));
    assert_eq!(page["data"][0]["name"], json!("Ended one"));
}
