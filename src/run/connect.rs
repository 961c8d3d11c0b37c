//! Connecting to the API, in one place for every command that talks to it: the base URL (a
//! cluster preset or a URL, checked), the credentials, the client; or a sandbox started here.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::RunError;
use crate::error::InputError;
use crate::post::api::{ApiConfig, Client, Credentials};
use crate::report::ApiBlock;
use crate::sandbox::{Sandbox, SandboxConfig};

/// The API hosts of Capillary's clusters.
pub const CLUSTERS: [(&str, &str); 4] = [
    ("eu", "https://eu.api.capillarytech.com"),
    ("apac", "https://apac.api.capillarytech.com"),
    ("apac2", "https://apac2.api.capillarytech.com"),
    ("us", "https://us.api.capillarytech.com"),
];

/// The base URL of a cluster preset.
pub fn cluster_url(name: &str) -> Option<&'static str> {
    CLUSTERS.iter().find(|(k, _)| *k == name).map(|(_, u)| *u)
}

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

/// A base URL, refusing credentials inside it and plain http except to loopback (or with
/// `allow_http`). `source` names where it came from, for messages (`--base-url`).
pub fn parse_base_url(text: &str, allow_http: bool, source: &str) -> Result<Url, InputError> {
    let shown = redacted(text);
    let url = Url::parse(text)
        .map_err(|e| InputError::Usage(format!("{source} {shown}: not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(InputError::Usage(format!(
            "{source} {shown}: the URL holds credentials (user:password@); they would travel in every request and show in logs. \
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
        "http" if loopback || allow_http => Ok(url),
        "http" => Err(InputError::Usage(format!(
            "{source} {shown}: plain http would send the credentials unencrypted; use https (or --allow-http if you really mean it)"
        ))),
        other => Err(InputError::Usage(format!(
            "{source} {shown}: unsupported scheme `{other}`; use https"
        ))),
    }
}

/// The API a run talks to.
#[derive(Debug, Clone)]
pub enum Target {
    Remote {
        base_url: Url,
        credentials: Credentials,
    },
    /// A sandbox started in this process, its state kept in this file.
    Sandbox { state_file: PathBuf },
}

/// How the client behaves, whatever the API.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub concurrency: usize,
    /// Requests per minute, if fixed.
    pub rate_limit: Option<u32>,
    pub max_attempts: u32,
    pub timeout: Duration,
    pub max_wait: Duration,
}

/// A sandbox started for a run: where it listens and where it keeps its state.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxInfo {
    pub url: String,
    pub state_file: PathBuf,
}

/// The client of a run, and the sandbox behind it if the run started one.
pub struct Connection {
    pub client: Arc<Client>,
    sandbox: Option<Sandbox>,
    pub sandbox_info: Option<SandboxInfo>,
}

fn random_secret() -> String {
    (0..24)
        .map(|_| char::from(b'a' + rand::random_range(0..26u8)))
        .collect()
}

/// Connects: a client for the remote API, or a sandbox started on a free loopback port (with
/// credentials of its own) and a client for it.
pub async fn connect(target: &Target, options: &ClientOptions) -> Result<Connection, RunError> {
    let (sandbox, base_url, credentials) = match target {
        Target::Remote {
            base_url,
            credentials,
        } => (None, base_url.clone(), credentials.clone()),
        Target::Sandbox { state_file } => {
            let password = random_secret();
            let config = SandboxConfig {
                username: "sandbox".into(),
                password: password.clone(),
                state_file: Some(state_file.clone()),
                ..Default::default()
            };
            let sandbox =
                Sandbox::start(config, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))
                    .await
                    .map_err(|e| InputError::Usage(format!("cannot start the sandbox: {e}")))?;
            let url = Url::parse(&sandbox.base_url())
                .map_err(|e| RunError::Internal(format!("the sandbox's own URL: {e}")))?;
            let credentials = Credentials::Basic {
                username: "sandbox".into(),
                password,
            };
            (Some(sandbox), url, credentials)
        }
    };
    let client = Client::new(ApiConfig {
        base_url,
        credentials,
        concurrency: options.concurrency,
        rate_limit: options.rate_limit,
        max_attempts: options.max_attempts,
        timeout: options.timeout,
        max_wait: options.max_wait,
    })
    .map_err(|e| RunError::Internal(format!("cannot set up the HTTP client: {e}")))?;
    let sandbox_info = match (&sandbox, target) {
        (Some(s), Target::Sandbox { state_file }) => Some(SandboxInfo {
            url: s.base_url(),
            state_file: state_file.clone(),
        }),
        _ => None,
    };
    Ok(Connection {
        client: Arc::new(client),
        sandbox,
        sandbox_info,
    })
}

impl Connection {
    /// What the summaries say of the API: where, and how the requests went.
    pub fn api_block(&self) -> ApiBlock {
        let traffic = self.client.traffic();
        ApiBlock {
            base_url: self.client.base_url().to_string(),
            sandbox: self.sandbox.is_some(),
            requests: traffic.requests,
            rate_limited: traffic.limited,
            retries: traffic.retries,
            pace_per_sec: traffic.pace,
        }
    }

    /// Stops the sandbox, if the run started one, after its last write.
    pub async fn close(self) {
        if let Some(s) = self.sandbox {
            s.shutdown().await;
        }
    }
}
