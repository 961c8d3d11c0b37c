//! `streak-import sandbox`: serve the API emulation (SPEC §7) on loopback until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::InputError;
use crate::sandbox::{LimitShape, RateLimit, Sandbox, SandboxConfig};

#[derive(clap::Args, Debug, Clone)]
pub struct SandboxArgs {
    /// Port to listen on; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Loopback address to listen on (127.0.0.1, ::1 or localhost); other addresses are refused.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Basic-auth user the sandbox accepts.
    #[arg(
        long,
        env = "SANDBOX_USERNAME",
        default_value = "sandbox",
        hide_env_values = true
    )]
    pub username: String,
    /// Basic-auth password the sandbox accepts (clients send its MD5).
    #[arg(
        long,
        env = "SANDBOX_PASSWORD",
        default_value = "sandbox",
        hide_env_values = true
    )]
    pub password: String,
    /// OAuth client key accepted by POST /v3/oauth/token/generate.
    #[arg(
        long,
        env = "SANDBOX_OAUTH_KEY",
        default_value = "sandbox-key",
        hide_env_values = true
    )]
    pub oauth_key: String,
    /// OAuth client secret accepted by POST /v3/oauth/token/generate.
    #[arg(
        long,
        env = "SANDBOX_OAUTH_SECRET",
        default_value = "sandbox-secret",
        hide_env_values = true
    )]
    pub oauth_secret: String,
    /// Lifetime of issued OAuth tokens, in seconds.
    #[arg(long = "token-ttl", value_name = "SECS", default_value_t = 300)]
    pub token_ttl: u64,
    /// Delay added to every request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Share (0–1) of create requests answered 503 before anything is stored.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub error_rate: f64,
    /// Rate limit on every authenticated request: N per second (`N` or `N/s`) or per minute
    /// (`N/min`); above it the sandbox answers 429.
    #[arg(long, value_name = "N[/s|/min]", value_parser = parse_quota)]
    pub rate_limit: Option<(u32, Duration)>,
    /// How the rate limit counts: `fixed` windows (from the first request), a `sliding`
    /// window, or a token `bucket` (bursts up to N).
    #[arg(long, value_name = "SHAPE", default_value = "fixed")]
    pub rate_shape: LimitShape,
    /// Answer 429 without a Retry-After header.
    #[arg(long)]
    pub no_retry_after: bool,
    /// Change the rate limit's N once, SECS after the first request (e.g. 30:200).
    #[arg(long, value_name = "SECS:N", value_parser = parse_change)]
    pub rate_change: Option<(Duration, u32)>,
    /// Share (0–1) of create requests that are stored and then dropped without any response.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Keep the target groups in FILE: loaded at start, rewritten after each change.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Seed for the fault draws, for reproducible rehearsals.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `20`, `20/s` → 20 a second; `100/min` → 100 a minute.
fn parse_quota(text: &str) -> Result<(u32, Duration), String> {
    let t = text.trim();
    let (number, period) = if let Some(n) = t.strip_suffix("/min") {
        (n, Duration::from_secs(60))
    } else {
        (t.strip_suffix("/s").unwrap_or(t), Duration::from_secs(1))
    };
    match number.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok((n, period)),
        _ => Err(format!(
            "`{text}` is not a rate; write it like 20/s or 100/min (at least 1)"
        )),
    }
}

/// `30:200` → after 30 s, 200 per period.
fn parse_change(text: &str) -> Result<(Duration, u32), String> {
    let bad = || format!("`{text}` is not SECS:N; write it like 30:200");
    let (secs, n) = text.split_once(':').ok_or_else(bad)?;
    let secs: f64 = secs.trim().parse().map_err(|_| bad())?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if !(0.0..=86_400.0).contains(&secs) || n == 0 {
        return Err(bad());
    }
    Ok((Duration::from_secs_f64(secs), n))
}

impl SandboxArgs {
    /// The listening address, refusing anything but loopback.
    pub fn listen_addr(&self) -> Result<SocketAddr, InputError> {
        let host = self.host.trim();
        let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| {
                    InputError::Usage(format!(
                        "--host {host}: not an IP address. Use 127.0.0.1 (the default), ::1 or localhost."
                    ))
                })?
        };
        if !ip.is_loopback() {
            return Err(InputError::Usage(format!(
                "--host {host}: the sandbox listens on loopback only (127.0.0.1, ::1 or localhost), because its credentials are well known. Use 127.0.0.1."
            )));
        }
        Ok(SocketAddr::new(ip, self.port))
    }

    /// The sandbox configuration, with the fault options checked.
    pub fn config(&self) -> Result<SandboxConfig, InputError> {
        for (flag, rate) in [
            ("--error-rate", self.error_rate),
            ("--drop-rate", self.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(InputError::Usage(format!(
                    "{flag} {rate}: give a share between 0 and 1, e.g. 0.1 for one request in ten."
                )));
            }
        }
        if self.rate_limit.is_none() && self.rate_change.is_some() {
            return Err(InputError::Usage(
                "--rate-change needs a --rate-limit to change.".into(),
            ));
        }
        if self.token_ttl == 0 {
            return Err(InputError::Usage(
                "--token-ttl 0: tokens must live at least 1 second.".into(),
            ));
        }
        if self.username.is_empty() {
            return Err(InputError::Usage("--username: must not be empty.".into()));
        }
        Ok(SandboxConfig {
            username: self.username.clone(),
            password: self.password.clone(),
            oauth_key: self.oauth_key.clone(),
            oauth_secret: self.oauth_secret.clone(),
            token_ttl_secs: self.token_ttl,
            latency_ms: self.latency_ms,
            error_rate: self.error_rate,
            rate_limit: self.rate_limit.map(|(quota, period)| RateLimit {
                quota,
                period,
                shape: self.rate_shape,
                retry_after: !self.no_retry_after,
                change: self.rate_change,
            }),
            drop_rate: self.drop_rate,
            state_file: self.state.clone(),
            seed: self.seed,
        })
    }
}

/// Serves until Ctrl-C (or SIGTERM), then stops cleanly and returns exit code 0.
pub fn run(args: &SandboxArgs) -> Result<(), InputError> {
    let addr = args.listen_addr()?;
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| InputError::Usage(format!("cannot start the sandbox: {e}")))?;
    runtime.block_on(async {
        let sandbox = Sandbox::start(config, addr).await.map_err(|e| {
            let detail = match e.kind() {
                std::io::ErrorKind::AddrInUse => format!(
                    "{addr} is already in use. Pick another --port, or --port 0 for a free one."
                ),
                std::io::ErrorKind::PermissionDenied => format!(
                    "not allowed to listen on {addr}. Pick a --port above 1024, or --port 0."
                ),
                _ => e.to_string(),
            };
            InputError::Usage(format!("cannot start the sandbox: {detail}"))
        })?;
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "sandbox listening on {} (user {}; password from --password or SANDBOX_PASSWORD)",
                sandbox.base_url(),
                args.username
            );
            let _ = out.flush();
        }
        stop_signal().await;
        sandbox.shutdown().await;
        Ok(())
    })
}

/// Ctrl-C, or SIGTERM on Unix (what `kill` and process supervisors send).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    fn parse(argv: &[&str]) -> SandboxArgs {
        let mut all = vec!["sandbox"];
        all.extend_from_slice(argv);
        Cli::try_parse_from(all)
            .map(|c| c.args)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn defaults_are_loopback_8787() {
        let args = parse(&[]);
        assert_eq!(
            args.listen_addr().ok(),
            Some("127.0.0.1:8787".parse().unwrap())
        );
        let config = args.config().unwrap();
        assert_eq!(config.token_ttl_secs, 300);
        assert_eq!(config.error_rate, 0.0);
    }

    #[test]
    fn hosts_other_than_loopback_are_refused() {
        for ok in ["127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"] {
            assert!(
                parse(&["--host", ok, "--port", "0"]).listen_addr().is_ok(),
                "{ok}"
            );
        }
        for bad in ["0.0.0.0", "192.168.1.10", "example.com", "::"] {
            let err = parse(&["--host", bad])
                .listen_addr()
                .unwrap_err()
                .to_string();
            assert!(err.contains("--host"), "{err}");
        }
    }

    #[test]
    fn fault_options_are_checked() {
        for (argv, flag) in [
            (vec!["--error-rate", "1.5"], "--error-rate"),
            (vec!["--drop-rate=-0.1"], "--drop-rate"),
            (vec!["--token-ttl", "0"], "--token-ttl"),
            (vec!["--rate-change", "5:10"], "--rate-change"),
        ] {
            let err = parse(&argv).config().unwrap_err().to_string();
            assert!(err.contains(flag), "{err}");
        }
        for bad in [
            ["--rate-limit", "0"],
            ["--rate-limit", "ten"],
            ["--rate-shape", "round"],
            ["--rate-change", "soon:5"],
        ] {
            let err = Cli::try_parse_from(std::iter::once("sandbox").chain(bad))
                .err()
                .unwrap_or_else(|| panic!("{bad:?} was accepted"))
                .to_string();
            assert!(err.contains(bad[0]), "{err}");
        }
        let limit = parse(&[
            "--rate-limit",
            "100/min",
            "--rate-shape",
            "sliding",
            "--no-retry-after",
            "--rate-change",
            "30:200",
        ])
        .config()
        .unwrap()
        .rate_limit
        .unwrap();
        assert_eq!(
            limit,
            RateLimit {
                quota: 100,
                period: Duration::from_secs(60),
                shape: LimitShape::Sliding,
                retry_after: false,
                change: Some((Duration::from_secs(30), 200)),
            }
        );
        assert!(parse(&[
            "--error-rate",
            "1",
            "--drop-rate",
            "0.25",
            "--rate-limit",
            "5"
        ])
        .config()
        .is_ok());
    }

    #[test]
    fn errors_never_show_the_password() {
        let err = parse(&["--password", "hunter2-secret", "--host", "10.0.0.1"])
            .listen_addr()
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2-secret"));
    }
}
