//! `streak-import template -o FILE`: a blank template to fill in (see [`crate::template`]).

use std::path::PathBuf;

use clap::Args;

use crate::error::InputError;
use crate::template;

#[derive(Debug, Clone, Args)]
pub struct TemplateArgs {
    /// Where to write it: .xlsx (dropdowns, instructions and periods sheets) or .csv (header and
    /// example row).
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
}

enum Kind {
    Xlsx,
    Csv,
}

pub fn run(args: &TemplateArgs) -> Result<(), InputError> {
    let path = &args.output;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let kind = match ext.as_str() {
        "xlsx" => Kind::Xlsx,
        "csv" => Kind::Csv,
        _ => {
            return Err(InputError::Usage(format!(
                "-o {}: unsupported template type. Use a path ending in .xlsx (dropdowns and instructions) or .csv.",
                path.display()
            )))
        }
    };
    if path.is_dir() {
        return Err(InputError::Usage(format!(
            "-o {}: is a folder. Give a file name, e.g. {}.",
            path.display(),
            path.join(format!("template.{ext}")).display()
        )));
    }
    if path.exists() && !args.force {
        return Err(InputError::Usage(format!(
            "{} already exists; not overwriting it. Pass --force to replace it, or choose another path with -o.",
            path.display()
        )));
    }
    let today = crate::clock::Now::from_env()?.in_zone(None).date();
    let example = [template::example_row(today)];
    match kind {
        Kind::Xlsx => template::write_xlsx(path, &example, &[])?,
        Kind::Csv => template::write_csv(path, &example)?,
    }
    let what = match kind {
        Kind::Xlsx => {
            "header, dropdowns, an instructions sheet, an empty periods sheet and one example row"
        }
        Kind::Csv => "header and one example row",
    };
    println!(
        "Wrote {}: {what}. Fill one row per streak, then run: streak-import validate {}",
        path.display(),
        path.display()
    );
    Ok(())
}
