//! The API flags and environment → the runner's [`ApiOptions`]: which API (a flag beats the
//! environment), which credentials (a pair given as flags beats a pair from the environment).

use std::time::Duration;

use url::Url;

use super::args::{ApiArgs, ImportArgs};
use crate::error::InputError;
use crate::post::api::Credentials;
use crate::run::{cluster_url, parse_base_url, ApiOptions, ClientOptions, Target};

/// The environment variable a base URL may come from.
pub const BASE_URL_ENV: &str = "CAPILLARY_BASE_URL";

impl ImportArgs {
    /// Where and how this import talks to the API, every flag checked before a row is read.
    pub fn api_options(&self) -> Result<ApiOptions, InputError> {
        let mut options = api_options(self.sandbox, &self.api, &self.sheet.state_dir)?;
        options.update = self.update;
        Ok(options)
    }

    /// Whether this dry run can ask an API which names exist (a sandbox, or credentials in the
    /// flags or the environment); without, it streams offline.
    pub fn can_preview(&self) -> bool {
        can_connect(self.sandbox, &self.api)
    }
}

/// Whether there is an API to ask: a sandbox, or credentials in the flags or the environment.
pub fn can_connect(sandbox: bool, api: &ApiArgs) -> bool {
    sandbox
        || (api.username.is_some() && api.password.is_some())
        || (api.oauth_key.is_some() && api.oauth_secret.is_some())
}

/// Where and how a command talks to the API (`--sandbox` keeps its state in `state_dir`).
pub fn api_options(
    sandbox: bool,
    api: &ApiArgs,
    state_dir: &std::path::Path,
) -> Result<ApiOptions, InputError> {
    {
        let target = if sandbox {
            if std::env::var_os(BASE_URL_ENV).is_some() {
                eprintln!("note: {BASE_URL_ENV} is set, but --sandbox imports into a sandbox started here: the variable is not used");
            }
            Target::Sandbox {
                state_file: state_dir.join("sandbox-state.json"),
            }
        } else {
            Target::Remote {
                base_url: choose_base_url(api, std::env::var(BASE_URL_ENV).ok())?,
                credentials: credentials(api)?,
            }
        };
        Ok(ApiOptions {
            target,
            client: client_options(api),
            strict: api.strict,
            fresh: api.fresh,
            update: false,
        })
    }
}

/// The base URL, with the environment variable's value given: a flag beats the environment
/// (`--base-url`, then `--cluster`, then `CAPILLARY_BASE_URL`).
fn choose_base_url(api: &ApiArgs, from_env: Option<String>) -> Result<Url, InputError> {
    let from_env = from_env.filter(|v| !v.trim().is_empty());
    let (text, source) = match (&api.base_url, &api.cluster, from_env) {
        (Some(u), _, _) => (u.clone(), "--base-url"),
        (None, Some(c), _) => (cluster_url(c).unwrap_or_default().to_string(), "--cluster"),
        (None, None, Some(u)) => (u, BASE_URL_ENV),
        (None, None, None) => {
            return Err(InputError::Usage(
                "no API given: pass --base-url URL (or set CAPILLARY_BASE_URL) or --cluster eu|apac|apac2|us; \
                 to rehearse without an account, use --sandbox"
                    .into(),
            ))
        }
    };
    parse_base_url(&text, api.allow_http, source)
}

/// The credentials: Basic or OAuth, whichever pair is complete. A pair given as flags beats a
/// pair from the environment; two pairs given the same way are an error naming both.
fn credentials(api: &ApiArgs) -> Result<Credentials, InputError> {
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
        (_, _, Some(key), Some(secret)) if use_oauth => Ok(Credentials::OAuth {
            key: key.clone(),
            secret: secret.clone(),
        }),
        (Some(username), Some(password), _, _) => Ok(Credentials::Basic {
            username: username.clone(),
            password: password.clone(),
        }),
        _ => Err(InputError::Usage(
            "no credentials: set CAPILLARY_USERNAME and CAPILLARY_PASSWORD (Basic auth), or CAPILLARY_OAUTH_KEY and \
             CAPILLARY_OAUTH_SECRET; to rehearse without an account, use --sandbox"
                .into(),
        )),
    }
}

/// The base URL the flags and the environment give, without credentials.
pub fn base_url_of(api: &ApiArgs) -> Result<Url, InputError> {
    choose_base_url(api, std::env::var(BASE_URL_ENV).ok())
}

/// How the client behaves, from the flags.
pub fn client_options(api: &ApiArgs) -> ClientOptions {
    ClientOptions {
        concurrency: api.concurrency as usize,
        rate_limit: api.rate_limit,
        max_attempts: api.max_attempts,
        timeout: Duration::from_secs(api.timeout),
        max_wait: Duration::from_secs(api.max_wait),
    }
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
        for from_env in [&[][..], &super::super::args::CREDENTIAL_IDS[..]] {
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
