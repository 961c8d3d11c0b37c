//! The command line, a face of the runner: flags → plain options (`args`, `api`) → the
//! runner ([`crate::run`]) → the summary (`present`) → an exit code ([`exit`]). It owns
//! everything a terminal adds: bars, Ctrl-C, messages on stderr.

mod api;
mod args;
mod bars;
pub mod exit;
mod lifecycle;
mod present;
mod sandbox;
mod summary;
mod template;

use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub use args::{ApiArgs, Cli, Command, ImportArgs, SheetArgs};
pub use bars::Bars;
use exit::Finished;

use crate::progress::Progress;
use crate::run::{self, Ended, Mode, RunError, RunResult};
use crate::text::printable;

/// Parses the arguments, runs the command, says how it ended and returns the exit code.
pub fn main() -> ExitCode {
    let finished = match parse() {
        Ok(cli) => dispatch(cli),
        Err(finished) => finished,
    };
    match &finished {
        Finished::Failed(e) => eprintln!("error: {}", printable(&e.to_string())),
        Finished::Run(result) => match &result.ended {
            Ended::Stopped(stop) => eprintln!("error: {}", printable(&stop.to_string())),
            Ended::Journal(e) => eprintln!("error: {}", printable(&e.to_string())),
            Ended::Interrupted | Ended::Done => {}
        },
        Finished::Exported(_) | Finished::Undone(_) | Finished::Done | Finished::BadFlags => {}
    }
    exit::code(&finished)
}

/// The flags, with the credentials that came from the environment noted (a pair given as flags
/// beats a pair from the environment).
fn parse() -> Result<Cli, Finished> {
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (mut cli, matches) = parsed.map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            Finished::BadFlags
        } else {
            Finished::Done
        }
    })?;
    if let Some((_, sub)) = matches.subcommand() {
        let api = match &mut cli.command {
            Command::Import(args) | Command::Plan(args) => Some(&mut args.api),
            Command::Export(args) => Some(&mut args.connect.api),
            Command::Undo(args) => Some(&mut args.connect.api),
            Command::Ui(args) => Some(&mut args.connect.api),
            _ => None,
        };
        if let Some(api) = api {
            api.from_env = args::CREDENTIAL_IDS
                .into_iter()
                .filter(|id| sub.value_source(id) == Some(clap::parser::ValueSource::EnvVariable))
                .collect();
        }
    }
    Ok(cli)
}

fn dispatch(cli: Cli) -> Finished {
    let ran = match cli.command {
        Command::Validate(args) => validate(&args, Mode::Validate),
        // A dry run streams offline unless it can ask the API which names exist.
        Command::Import(args) if args.dry_run && !args.can_preview() => {
            validate(&args.sheet, Mode::DryRun)
        }
        Command::Import(args) => import(&args),
        Command::Plan(args) if !args.can_preview() => Err(RunError::Input(crate::error::InputError::Usage(
            "plan compares the sheet with the live streaks, so it needs an API: pass --sandbox, or set CAPILLARY_USERNAME and CAPILLARY_PASSWORD (or the OAuth key and secret) with --base-url/--cluster. To check the sheet offline, use validate.".into(),
        ))),
        Command::Plan(mut args) => {
            args.dry_run = true;
            import(&args)
        }
        Command::Export(args) => {
            return match lifecycle::export(&args) {
                Ok(r) => Finished::Exported(Box::new(r)),
                Err(e) => Finished::Failed(e),
            }
        }
        Command::Undo(args) => {
            return match lifecycle::undo(&args) {
                Ok(r) => Finished::Undone(Box::new(r)),
                Err(e) => Finished::Failed(e),
            }
        }
        Command::Sandbox(args) => return done(sandbox::run(&args)),
        Command::Ui(args) => return done(lifecycle::ui(&args)),
        Command::Template(args) => return done(template::run(&args)),
    };
    match ran {
        Ok(result) => Finished::Run(Box::new(result)),
        Err(e) => Finished::Failed(e),
    }
}

fn done<E: Into<RunError>>(result: Result<(), E>) -> Finished {
    match result {
        Ok(()) => Finished::Done,
        Err(e) => Finished::Failed(e.into()),
    }
}

/// The bars of a run: none with `--quiet` or `--json` (stdout is then for the summary alone).
fn bars(args: &SheetArgs) -> Bars {
    Bars::new(args.quiet || args.json)
}

fn validate(args: &SheetArgs, mode: Mode) -> Result<RunResult, RunError> {
    let options = args.options()?;
    let result = run::validate(&options, mode, &bars(args))?;
    present::print_summary(&result, args);
    Ok(result)
}

fn import(args: &ImportArgs) -> Result<RunResult, RunError> {
    let sheet = args.sheet.options()?;
    // Everything about the API is checked before the sheet is read.
    let api = args.api_options()?;
    let progress: Arc<dyn Progress> = Arc::new(bars(&args.sheet));
    let result = runtime()?.block_on(async {
        let interrupt = CancellationToken::new();
        on_ctrl_c(interrupt.clone());
        run::import(&sheet, &api, args.dry_run, progress, interrupt).await
    })?;
    present::print_summary(&result, &args.sheet);
    Ok(result)
}

/// The async runtime a command runs its engine on.
fn runtime() -> Result<tokio::runtime::Runtime, RunError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::Internal(format!("cannot start the async runtime: {e}")))
}

/// Ctrl-C once: no new requests, every wait ends at once. Twice: exit now (every journal line
/// is already handed to the OS).
fn on_ctrl_c(interrupt: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            interrupt.cancel();
            eprintln!("\nstopping: no new requests; waiting for those in flight (Ctrl-C again to quit now; the journal is safe)");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(exit::INTERRUPTED));
            }
        }
    });
}
