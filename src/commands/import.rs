//! `import FILE`: validate, then create every valid row on the API exactly once, then report.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use url::Url;

use super::{write_reports, Mode, Prepared};
use crate::api::{ApiConfig, Client, Credentials, Halt, Stop};
use crate::cli::{ApiArgs, ImportArgs};
use crate::error::{exit, InputError};
use crate::journal::Journal;
use crate::outcome::{Plan, RowOutcome, Status};
use crate::pipeline::validate_file;
use crate::post::{post_all, Ended};
use crate::progress::Progress;
use crate::report::ApiBlock;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::text::{plural, printable};

const CLUSTERS: [(&str, &str); 4] = [
    ("eu", "https://eu.api.capillarytech.com"),
    ("apac", "https://apac.api.capillarytech.com"),
    ("apac2", "https://apac2.api.capillarytech.com"),
    ("us", "https://us.api.capillarytech.com"),
];

/// `text` with anything between `scheme://` and `@` hidden: a URL that holds credentials must
/// not print them, even in the message that refuses it.
fn redacted(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}***{}", &text[..scheme + 3], &text[at..])
        }
        _ => text.to_string(),
    }
}

/// The base URL, refusing credentials inside it and plain http except to loopback (or with
/// `--allow-http`).
pub fn base_url(api: &ApiArgs) -> Result<Url, InputError> {
    choose_base_url(api, std::env::var(BASE_URL_ENV).ok())
}

/// [`base_url`] with the environment variable's value given: a flag beats the environment
/// (`--base-url`, then `--cluster`, then `CAPILLARY_BASE_URL`).
fn choose_base_url(api: &ApiArgs, from_env: Option<String>) -> Result<Url, InputError> {
    let from_env = from_env.filter(|v| !v.trim().is_empty());
    let text = match (&api.base_url, &api.cluster, from_env) {
        (Some(u), _, _) => u.clone(),
        (None, Some(c), _) => CLUSTERS.iter().find(|(k, _)| k == c).map(|(_, u)| u.to_string()).unwrap_or_default(),
        (None, None, Some(u)) => u,
        (None, None, None) => {
            return Err(InputError::Usage(
                "no API given: pass --base-url URL (or set CAPILLARY_BASE_URL) or --cluster eu|apac|apac2|us; \
                 to rehearse without an account, use --sandbox"
                    .into(),
            ))
        }
    };
    let shown = redacted(&text);
    let url = Url::parse(&text)
        .map_err(|e| InputError::Usage(format!("--base-url {shown}: not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(InputError::Usage(format!(
            "--base-url {shown}: the URL holds credentials (user:password@); they would travel in every request and show in logs. \
             Remove them and set CAPILLARY_USERNAME and CAPILLARY_PASSWORD (or the OAuth key and secret) instead"
        )));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback || api.allow_http => Ok(url),
        "http" => Err(InputError::Usage(format!(
            "--base-url {shown}: plain http would send the credentials unencrypted; use https (or --allow-http if you really mean it)"
        ))),
        other => Err(InputError::Usage(format!("--base-url {shown}: unsupported scheme `{other}`; use https"))),
    }
}

/// The environment variable a base URL may come from.
pub const BASE_URL_ENV: &str = "CAPILLARY_BASE_URL";

/// The credentials: Basic or OAuth, whichever pair is complete. A pair given as flags beats a
/// pair from the environment; two pairs given the same way are an error naming both.
pub fn credentials(api: &ApiArgs) -> Result<Credentials, InputError> {
    let flag = |id: &str, v: &Option<String>| v.is_some() && !api.from_env.contains(&id);
    let basic = api.username.is_some() && api.password.is_some();
    let oauth = api.oauth_key.is_some() && api.oauth_secret.is_some();
    let basic_flags = flag("username", &api.username) && flag("password", &api.password);
    let oauth_flags = flag("oauth_key", &api.oauth_key) && flag("oauth_secret", &api.oauth_secret);
    let use_oauth = match (basic, oauth) {
        (true, true) if basic_flags == oauth_flags => {
            let how = if basic_flags {
                "--username/--password and --oauth-key/--oauth-secret are both given"
            } else {
                "CAPILLARY_USERNAME/CAPILLARY_PASSWORD and CAPILLARY_OAUTH_KEY/CAPILLARY_OAUTH_SECRET are both set"
            };
            return Err(InputError::Usage(format!(
                "{how}: Basic and OAuth credentials at once. Keep one pair (or give the pair you mean as flags, which beat the environment)"
            )));
        }
        (true, true) => oauth_flags,
        (_, oauth) => oauth,
    };
    match (&api.username, &api.password, &api.oauth_key, &api.oauth_secret) {
        (_, _, Some(key), Some(secret)) if use_oauth => Ok(Credentials::OAuth { key: key.clone(), secret: secret.clone() }),
        (Some(username), Some(password), _, _) => {
            Ok(Credentials::Basic { username: username.clone(), password: password.clone() })
        }
        _ => Err(InputError::Usage(
            "no credentials: set CAPILLARY_USERNAME and CAPILLARY_PASSWORD (Basic auth), or CAPILLARY_OAUTH_KEY and \
             CAPILLARY_OAUTH_SECRET; to rehearse without an account, use --sandbox"
                .into(),
        )),
    }
}

fn random_secret() -> String {
    (0..24)
        .map(|_| char::from(b'a' + rand::random_range(0..26u8)))
        .collect()
}

/// Whether the flags (or the environment) carry credentials: a dry run with them also asks the
/// API which names exist.
pub fn has_credentials(api: &ApiArgs) -> bool {
    (api.username.is_some() && api.password.is_some())
        || (api.oauth_key.is_some() && api.oauth_secret.is_some())
}

/// The API to talk to: the remote one, or a sandbox started here (returned so it can be shut
/// down), with a client for it.
async fn connect(
    args: &ImportArgs,
    remote: Option<(Url, Credentials)>,
    lines: &mut Vec<String>,
) -> Result<(Option<Sandbox>, Client), InputError> {
    let api = &args.api;
    let (sandbox, url, creds) = match remote {
        Some((url, creds)) => (None, url, creds),
        None => {
            let password = random_secret();
            let state = args.sheet.state_dir.join("sandbox-state.json");
            let config = SandboxConfig {
                username: "sandbox".into(),
                password: password.clone(),
                state_file: Some(state.clone()),
                ..Default::default()
            };
            let sandbox =
                Sandbox::start(config, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))
                    .await
                    .map_err(|e| InputError::Usage(format!("cannot start the sandbox: {e}")))?;
            let url =
                Url::parse(&sandbox.base_url()).map_err(|e| InputError::Usage(e.to_string()))?;
            lines.push(format!(
                "sandbox: {} (state in {})",
                sandbox.base_url(),
                state.display()
            ));
            (
                Some(sandbox),
                url,
                Credentials::Basic {
                    username: "sandbox".into(),
                    password,
                },
            )
        }
    };
    let client = Client::new(ApiConfig {
        base_url: url,
        credentials: creds,
        concurrency: api.concurrency as usize,
        rate_limit: api.rate_limit,
        max_attempts: api.max_attempts,
        timeout: Duration::from_secs(api.timeout),
        max_wait: Duration::from_secs(api.max_wait),
    })
    .map_err(|e| InputError::Usage(format!("cannot set up the HTTP client: {e}")))?;
    Ok((sandbox, client))
}

/// What the summaries say of the API: where, and how the requests went.
fn api_block(client: &Client, sandbox: bool) -> ApiBlock {
    let traffic = client.traffic();
    ApiBlock {
        base_url: client.base_url().to_string(),
        sandbox,
        requests: traffic.requests,
        rate_limited: traffic.limited,
        retries: traffic.retries,
        pace_per_sec: traffic.pace,
    }
}

/// Ctrl-C once: no new requests, every wait ends at once. Twice: exit now (every journal line
/// is already handed to the OS).
fn on_ctrl_c(interrupt: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            interrupt.cancel();
            eprintln!("\nstopping: no new requests; waiting for those in flight (Ctrl-C again to quit now; the journal is safe)");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(exit::INTERRUPTED);
            }
        }
    });
}

pub fn run(args: &ImportArgs) -> Result<i32, InputError> {
    let sheet = &args.sheet;
    let mode = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Import
    };
    let prepared = Prepared::new(sheet, mode)?;
    let api = &args.api;
    // Everything about the API is checked before the sheet is read.
    let remote = if args.sandbox {
        if std::env::var_os(BASE_URL_ENV).is_some() {
            eprintln!("note: {BASE_URL_ENV} is set, but --sandbox imports into a sandbox started here: the variable is not used");
        }
        None
    } else {
        Some((base_url(api)?, credentials(api)?))
    };

    let progress = if sheet.quiet || sheet.json {
        Progress::hidden()
    } else {
        Progress::new(false)
    };
    let mut rows: Vec<RowOutcome> = Vec::new();
    let input = validate_file(
        &sheet.file,
        &prepared.options,
        prepared.now,
        &progress,
        &mut |outcomes| {
            rows.extend(outcomes);
            Ok(())
        },
    )?;
    let sha = crate::input_hash::of_input(&sheet.file, input.sha256.as_deref())?;
    let invalid = rows.iter().filter(|r| r.status == Status::Invalid).count();
    // Every report is created now: one that cannot be written stops the run before anything
    // is sent (dropped unlanded, the staged files are removed).
    let reports = prepared.open_reports()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| InputError::Usage(format!("cannot start the async runtime: {e}")))?;
    let mut lines = Vec::new();
    if args.dry_run {
        let payloads = match &prepared.payloads {
            Some(target) => vec![super::validate::stage_payloads(target, &rows)?],
            None => Vec::new(),
        };
        let (plan, api_block) = runtime.block_on(async {
            let (sandbox, client) = connect(args, remote, &mut lines).await?;
            let client = Arc::new(client);
            let plan = preview(
                &mut rows,
                client.clone(),
                api.concurrency as usize,
                &progress,
            )
            .await;
            let block = api_block(&client, sandbox.is_some());
            if let Some(s) = sandbox {
                s.shutdown().await;
            }
            Ok::<_, InputError>((plan, block))
        })?;
        let plan = match plan {
            Ok(plan) => plan,
            Err(stop) => {
                eprintln!("error: {}", printable(&stop.to_string()));
                return Ok(exit::API);
            }
        };
        lines.push(format!(
            "plan: will create {}, already exist {}, invalid {}; dry run: nothing was sent",
            plan.create, plan.exists, invalid
        ));
        let json_extra = serde_json::json!({ "plan": { "create": plan.create, "exists": plan.exists, "invalid": invalid } });
        let tally = write_reports(
            reports,
            &prepared,
            sheet,
            &input,
            &sha,
            &rows,
            payloads,
            &lines,
            Some(&api_block),
            json_extra,
        )?;
        return Ok(if tally.all_good() {
            exit::OK
        } else {
            exit::ROWS_FAILED
        });
    }

    let (ended, api_block) = if api.strict && invalid > 0 {
        for r in rows.iter_mut().filter(|r| r.status == Status::Valid) {
            r.status = Status::NotSent;
        }
        lines.push(format!(
            "--strict: {invalid} invalid rows, so nothing was sent"
        ));
        (Ended::Done, None)
    } else {
        let (journal, previous) = Journal::open(&sheet.state_dir, &sha, api.fresh)?;
        lines.push(format!("journal: {}", journal.path().display()));
        for warning in &previous.warnings {
            eprintln!("warning: journal {}", printable(warning));
        }
        runtime.block_on(async {
            let (sandbox, client) = connect(args, remote, &mut lines).await?;
            let interrupt = CancellationToken::new();
            on_ctrl_c(interrupt.clone());
            let client = Arc::new(client);
            let (ended, counts) = post_all(
                &mut rows,
                client.clone(),
                journal,
                previous,
                api.concurrency as usize,
                Duration::from_secs(api.timeout),
                interrupt,
                &progress,
            )
            .await;
            let block = api_block(&client, sandbox.is_some());
            if counts.skipped > 0 {
                lines.push(format!(
                    "{} already done by an earlier run of this file: not sent again",
                    plural(counts.skipped, "row was", "rows were")
                ));
            }
            if counts.reconciled > 0 {
                lines.push(format!(
                    "{} left in flight by an earlier run found on the server",
                    plural(counts.reconciled, "row", "rows")
                ));
            }
            if let Some(s) = sandbox {
                s.shutdown().await;
            }
            Ok::<_, InputError>((ended, Some(block)))
        })?
    };

    let json_extra = match &ended {
        Ended::Stopped(stop) => serde_json::json!({ "stopped": stop.to_string() }),
        Ended::Journal(e) => serde_json::json!({ "stopped": e.to_string() }),
        Ended::Interrupted => serde_json::json!({ "interrupted": true }),
        Ended::Done => serde_json::json!({}),
    };
    let tally = write_reports(
        reports,
        &prepared,
        sheet,
        &input,
        &sha,
        &rows,
        Vec::new(),
        &lines,
        api_block.as_ref(),
        json_extra,
    )?;
    Ok(match ended {
        Ended::Stopped(stop) => {
            eprintln!("error: {}", printable(&stop.to_string()));
            exit::API
        }
        Ended::Journal(e) => {
            eprintln!("error: {}", printable(&e.to_string()));
            exit::INPUT
        }
        Ended::Interrupted => exit::INTERRUPTED,
        Ended::Done if tally.all_good() => exit::OK,
        Ended::Done => exit::ROWS_FAILED,
    })
}

#[derive(Debug, Default, Clone, Copy)]
struct PlanCounts {
    create: u64,
    exists: u64,
}

/// The server preview of a dry run: for each valid row, whether its name is free
/// (`isValidName`), and for taken names the id of the existing group. Nothing is created.
async fn preview(
    rows: &mut [RowOutcome],
    client: Arc<Client>,
    concurrency: usize,
    progress: &Progress,
) -> Result<PlanCounts, Stop> {
    let todo: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].status == Status::Valid)
        .collect();
    let phase = progress.phase("previewing", Some(todo.len() as u64));
    let cancel = CancellationToken::new();
    let mut counts = PlanCounts::default();
    let mut tasks = tokio::task::JoinSet::new();
    let mut pending = todo.into_iter();
    loop {
        while tasks.len() < concurrency.max(1) {
            let Some(i) = pending.next() else { break };
            let (client, name) = (client.clone(), rows[i].name.clone());
            let cancel = cancel.clone();
            tasks.spawn(async move {
                let answer = client.name_is_free(&name, &cancel).await;
                let id = match answer {
                    Ok(false) => client.find_id(&name, &cancel).await.0,
                    _ => None,
                };
                (i, answer, id)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let Ok((i, answer, id)) = joined else {
            continue;
        };
        let answer = match answer {
            Ok(free) => free,
            Err(Halt::Stop(stop)) => return Err(stop),
            Err(_) => break,
        };
        match answer {
            true => {
                rows[i].plan = Some(Plan::Create);
                counts.create += 1;
            }
            false => {
                rows[i].plan = Some(Plan::Exists);
                rows[i].target_group_id = id;
                counts.exists += 1;
            }
        }
        phase.inc(1);
    }
    phase.finish(&format!(
        "{} to create, {} already existing",
        counts.create, counts.exists
    ));
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        api: ApiArgs,
    }

    fn api(argv: &[&str], from_env: &[&'static str]) -> ApiArgs {
        let mut api = Cli::try_parse_from(std::iter::once("import").chain(argv.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"))
            .api;
        api.from_env = from_env.to_vec();
        api
    }

    #[test]
    fn a_flag_beats_the_environment_for_the_base_url() {
        let env = Some("https://from-env.example".to_string());
        let host = |a: &ApiArgs, env: Option<String>| choose_base_url(a, env).unwrap().to_string();
        assert_eq!(
            host(&api(&["--cluster", "eu"], &[]), env.clone()),
            "https://eu.api.capillarytech.com/"
        );
        assert_eq!(
            host(
                &api(&["--base-url", "https://flag.example"], &[]),
                env.clone()
            ),
            "https://flag.example/"
        );
        assert_eq!(host(&api(&[], &[]), env), "https://from-env.example/");
        assert!(choose_base_url(&api(&[], &[]), Some("  ".into())).is_err());
    }

    #[test]
    fn a_credential_pair_from_flags_beats_one_from_the_environment() {
        let both = [
            "--username",
            "u",
            "--password",
            "p",
            "--oauth-key",
            "k",
            "--oauth-secret",
            "s",
        ];
        let oauth_env = ["oauth_key", "oauth_secret"];
        let basic_env = ["username", "password"];
        assert!(matches!(
            credentials(&api(&both, &oauth_env)),
            Ok(Credentials::Basic { .. })
        ));
        assert!(matches!(
            credentials(&api(&both, &basic_env)),
            Ok(Credentials::OAuth { .. })
        ));
        for from_env in [&[][..], &crate::cli::CREDENTIAL_IDS[..]] {
            let err = credentials(&api(&both, from_env)).unwrap_err().to_string();
            assert!(err.contains("Basic and OAuth credentials at once"), "{err}");
        }
        assert!(matches!(
            credentials(&api(&both[..4], &["password"])),
            Ok(Credentials::Basic { .. })
        ));
        assert!(credentials(&api(&both[..2], &[])).is_err());
    }
}
