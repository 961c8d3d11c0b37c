//! The flags (clap), and how they become the runner's plain options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::InputError;
use crate::run::{parse_time_zone, SheetOptions};

#[derive(Debug, Parser)]
#[command(
    name = "streak-import",
    version,
    about = "Turn spreadsheets of loyalty streak campaigns into live streaks on Capillary's API.",
    long_about = "Reads a CSV or workbook of streak definitions, validates every row (in parallel), \
reports every problem with its row, column and a fix, and writes the exact request bodies.\n\n\
Exit codes: 0 all rows valid (and created, existing or updated); 1 some rows invalid, failed, \
not sent, differing from or in conflict with their live streak (reports written), or an export or \
undo with something it could not do; 2 usage or input error; \
3 stopped by the API side; 4 internal error (a bug: please report it); 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read and validate every row, offline; print a summary and write reports.
    #[command(
        after_help = "Examples:\n  streak-import validate samples/campaign.xlsx\n  \
streak-import validate samples/campaign.csv --report out.json --report out.xlsx\n  \
streak-import validate export.csv --date-format %d/%m/%Y --time-zone Asia/Kolkata"
    )]
    Validate(SheetArgs),
    /// Validate, then create every valid row on the API. With --dry-run: write the request bodies
    /// instead of sending them.
    #[command(
        after_help = "Examples:\n  streak-import import samples/campaign.xlsx --dry-run\n  \
CAPILLARY_USERNAME=till CAPILLARY_PASSWORD=… streak-import import campaign.xlsx --cluster eu"
    )]
    Import(ImportArgs),
    /// Show what an import would do against the live streaks, row by row (create, unchanged,
    /// update, conflict, invalid), with each differing field; nothing is changed. Needs
    /// credentials or --sandbox.
    #[command(
        after_help = "Examples:\n  streak-import plan campaign.xlsx --sandbox\n  \
CAPILLARY_USERNAME=till CAPILLARY_PASSWORD=… streak-import plan campaign.xlsx --cluster eu"
    )]
    Plan(ImportArgs),
    /// Write the org's streaks to a sheet in the template's form (with target_group_id), to
    /// copy them to another org, back them up, or edit and re-import them with --update.
    #[command(
        after_help = "Examples:\n  streak-import export -o live.xlsx --sandbox\n  \
streak-import export -o live.csv --cluster eu --status LIVE,UPCOMING --name summer"
    )]
    Export(ExportArgs),
    /// Delete the streaks one import created, and only those (checked by id and name); RUN is
    /// that import's JSON report or its input file.
    #[command(
        after_help = "Examples:\n  streak-import undo campaign.report.json --dry-run --sandbox\n  \
streak-import undo campaign.xlsx --cluster eu"
    )]
    Undo(UndoArgs),
    /// Serve the sandbox API on loopback, to rehearse imports and to test against.
    #[command(
        after_help = "Example:\n  SANDBOX_PASSWORD=secret streak-import sandbox --port 8787 --error-rate 0.1 --state sandbox.json"
    )]
    Sandbox(super::sandbox::SandboxArgs),
    /// Write a blank template: header row, dropdowns, instructions, one example row.
    #[command(
        after_help = "Examples:\n  streak-import template -o campaign.xlsx\n  streak-import template -o campaign.csv"
    )]
    Template(super::template::TemplateArgs),
    /// Serve the web page on 127.0.0.1: drop a sheet, fix it in the grid, plan and import with a
    /// live bar. Prints the page's URL (with its access token) first.
    #[command(after_help = "Examples:\n  streak-import ui --sandbox\n  \
CAPILLARY_USERNAME=till CAPILLARY_PASSWORD=… streak-import ui --cluster eu --port 8686 --no-open")]
    Ui(UiArgs),
}

/// Options for reading a sheet and writing reports, shared by every command that reads one.
#[derive(Debug, Clone, Args)]
pub struct SheetArgs {
    /// The sheet to read: .csv, .tsv, .xlsx, .xlsm, .xls, .xlsb or .ods.
    pub file: PathBuf,
    /// Worksheet to read (default: the sheet named `streaks`, else the first).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Explicit periods for CUSTOM streaks (for CSV input; a workbook uses its `periods` sheet).
    #[arg(long, value_name = "FILE")]
    pub periods: Option<PathBuf>,
    /// Report to write: .json, .csv or .xlsx by extension; may repeat.
    /// Default: <input>.report.json plus <input>.report.csv (CSV input) or .report.xlsx (workbook).
    #[arg(long, value_name = "PATH")]
    pub report: Vec<PathBuf>,
    /// chrono format for dates written as text other than YYYY-MM-DD, e.g. %d/%m/%Y.
    #[arg(long, value_name = "FMT")]
    pub date_format: Option<String>,
    /// Read a legacy export through a map: header renames, value maps, constants for missing
    /// columns and date formats per column (TOML; see samples/legacy/mapping.toml).
    #[arg(long, value_name = "FILE.toml")]
    pub map: Option<PathBuf>,
    /// Time zone for rows without one (IANA name, e.g. Asia/Kolkata).
    #[arg(long, value_name = "TZ")]
    pub time_zone: Option<String>,
    /// No progress and no summary; only errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print one JSON summary object on stdout instead of the text summary.
    #[arg(long)]
    pub json: bool,
    /// Where the tool keeps what it must remember between runs: each input's journal (import)
    /// and what it last wrote at each default report path.
    #[arg(long, default_value = ".streak-import", value_name = "DIR")]
    pub state_dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub sheet: SheetArgs,
    /// Everything but the POSTs: validate and write the request bodies (JSON Lines) and reports.
    /// With credentials or --sandbox, also ask the API which names already exist (the plan).
    #[arg(long)]
    pub dry_run: bool,
    /// Apply what differs from a live streak and the API can change (the target's expression,
    /// expressionJson, filters and default values; the name of a streak named by
    /// target_group_id). Without it such rows are reported `differs` (exit 1).
    #[arg(long, conflicts_with = "dry_run")]
    pub update: bool,
    /// Import into a sandbox API started in this process on a free loopback port (no credentials
    /// needed); its state is kept in the state dir, so re-runs see what earlier runs created.
    #[arg(long, conflicts_with_all = ["base_url", "cluster"])]
    pub sandbox: bool,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `export`'s options.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The file to write: .xlsx (with a periods sheet) or .csv (periods beside it in
    /// <stem>-periods.csv). Never an existing file.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Only streaks whose name contains this text (ignoring case).
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,
    /// Only streaks in these statuses, comma-separated: LIVE, UPCOMING, ENDED, STOPPED.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = ["LIVE", "UPCOMING", "ENDED", "STOPPED"])]
    pub status: Vec<String>,
    /// Leave target_group_id blank: for copying the streaks to another org, where these ids
    /// mean nothing (with ids, an import matches each row to the streak of that id).
    #[arg(long)]
    pub without_ids: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `undo`'s options.
#[derive(Debug, Clone, Args)]
pub struct UndoArgs {
    /// The import to take back: its JSON report, or the input file it imported (its journal
    /// in the state dir holds the run).
    #[arg(value_name = "RUN")]
    pub run: PathBuf,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Where the undo's JSON report goes (default: <RUN stem>.undo.json beside RUN).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `ui`'s options.
#[derive(Debug, Clone, Args)]
pub struct UiArgs {
    /// The port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Do not open the browser (the URL is printed either way).
    #[arg(long)]
    pub no_open: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// How `export` and `undo` reach the API, and where they keep state.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Use the sandbox API of the state dir (the one `import --sandbox` fills).
    #[arg(long, conflicts_with_all = ["base_url", "cluster"])]
    pub sandbox: bool,
    /// Where the tool keeps what it must remember between runs (journals; the sandbox state).
    #[arg(long, default_value = ".streak-import", value_name = "DIR")]
    pub state_dir: PathBuf,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Where and how to reach the API. Secrets come from the environment; their values never show
/// in --help, output, logs, reports or journals.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// API base URL, e.g. https://eu.api.capillarytech.com. Without it or --cluster, the
    /// CAPILLARY_BASE_URL environment variable is used (a flag always beats it).
    #[arg(long, value_name = "URL", conflicts_with = "cluster")]
    pub base_url: Option<String>,
    /// A cluster preset instead of --base-url.
    #[arg(long, value_parser = ["eu", "apac", "apac2", "us"])]
    pub cluster: Option<String>,
    /// Till username for Basic auth.
    #[arg(long, env = "CAPILLARY_USERNAME", hide_env_values = true)]
    pub username: Option<String>,
    /// Till password for Basic auth (prefer the environment variable to keep it out of shell history).
    #[arg(long, env = "CAPILLARY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// OAuth client key (instead of Basic auth).
    #[arg(long, env = "CAPILLARY_OAUTH_KEY", hide_env_values = true)]
    pub oauth_key: Option<String>,
    /// OAuth client secret.
    #[arg(long, env = "CAPILLARY_OAUTH_SECRET", hide_env_values = true)]
    pub oauth_secret: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Requests per minute, e.g. 100/min (default: none, adapt to 429 answers).
    #[arg(long, value_name = "N/min", value_parser = parse_rate)]
    pub rate_limit: Option<u32>,
    /// Attempts per row before it is reported failed.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: u32,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
    /// The longest wait the run accepts, in seconds: a Retry-After beyond it, or a rate limit
    /// that admits nothing for longer, stops the run (exit 3) with the rows not sent kept.
    #[arg(long, value_name = "SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub max_wait: u64,
    /// Post nothing when any row is invalid.
    #[arg(long)]
    pub strict: bool,
    /// Ignore earlier runs of the same file (their journal is moved aside, not deleted).
    #[arg(long)]
    pub fresh: bool,
    /// Allow plain http to a host that is not loopback.
    #[arg(long)]
    pub allow_http: bool,
    /// The credential options whose value came from the environment rather than a flag (filled
    /// in from clap's value sources): a pair given as flags beats a pair from the environment.
    #[arg(skip)]
    pub from_env: Vec<&'static str>,
}

/// The API options that can come from the environment, by clap id.
pub(crate) const CREDENTIAL_IDS: [&str; 4] = ["username", "password", "oauth_key", "oauth_secret"];

/// `100/min`, `100` → 100 requests per minute.
fn parse_rate(text: &str) -> Result<u32, String> {
    let number = text.trim().strip_suffix("/min").unwrap_or(text.trim());
    match number.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{text}` is not a rate; write it like 100/min")),
    }
}

impl SheetArgs {
    /// The runner's options for reading this sheet.
    pub fn options(&self) -> Result<SheetOptions, InputError> {
        Ok(SheetOptions {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            periods: self.periods.clone(),
            reports: self.report.clone(),
            date_format: self.date_format.clone(),
            time_zone: self.time_zone.as_deref().map(parse_time_zone).transpose()?,
            map: self.map.clone(),
            state_dir: self.state_dir.clone(),
        })
    }
}
