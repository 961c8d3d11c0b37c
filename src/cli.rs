//! The command line: flags (clap), and the one place that turns a run's result into an exit code
//! and a message on stderr.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands;
use crate::error::{exit, InputError};

#[derive(Debug, Parser)]
#[command(
    name = "streak-import",
    version,
    about = "Turn spreadsheets of loyalty streak campaigns into live streaks on Capillary's API.",
    long_about = "Reads a CSV or workbook of streak definitions, validates every row (in parallel), \
reports every problem with its row, column and a fix, and writes the exact request bodies.\n\n\
Exit codes: 0 all rows valid; 1 some rows invalid (reports written); 2 usage or input error; \
3 stopped by the API side; 130 interrupted."
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
    /// Time zone for rows without one (IANA name, e.g. Asia/Kolkata).
    #[arg(long, value_name = "TZ")]
    pub time_zone: Option<String>,
    /// No progress and no summary; only errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print one JSON summary object on stdout instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub sheet: SheetArgs,
    /// Everything but the POSTs: validate and write the request bodies (JSON Lines) and reports.
    #[arg(long)]
    pub dry_run: bool,
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::INPUT
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

pub fn run(cli: Cli) -> Result<i32, InputError> {
    match cli.command {
        Command::Validate(args) => commands::validate::run(&args, commands::Mode::Validate),
        Command::Import(args) => {
            if args.dry_run {
                commands::validate::run(&args.sheet, commands::Mode::DryRun)
            } else {
                Err(InputError::Usage(
                    "posting to the API is not available in this version yet; run `import --dry-run` to validate and see the request bodies".into(),
                ))
            }
        }
    }
}

/// Checks a `--date-format` before any row is read, so a typo is one message, not one per row.
pub fn check_date_format(format: &str) -> Result<(), InputError> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        return Err(InputError::Usage(format!(
            "--date-format {format}: not a valid chrono format. Use e.g. %d/%m/%Y, %m/%d/%Y or %d.%m.%Y."
        )));
    }
    if !format.contains("%d") && !format.contains("%e") && !format.contains("%j") {
        return Err(InputError::Usage(format!(
            "--date-format {format}: has no day (%d); e.g. %d/%m/%Y."
        )));
    }
    Ok(())
}

pub fn parse_time_zone(name: &str) -> Result<chrono_tz::Tz, InputError> {
    name.parse().map_err(|_| {
        let near = crate::header::closest(name, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()));
        InputError::Usage(format!(
            "--time-zone {name}: not an IANA time zone{}.",
            near.map(|n| format!(" (did you mean {n}?)"))
                .unwrap_or_default()
        ))
    })
}
