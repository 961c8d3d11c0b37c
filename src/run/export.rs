//! `export`: the org's streaks, read page by page, written in the template's own form — the
//! `streaks` sheet with `target_group_id`, and the `periods` sheet for streaks whose periods
//! are not the generated ones (beside a CSV, `<stem>-periods.csv`, where an import finds it). Then the file is read back
//! with the importer's own validation and each body compared with its live streak, so whatever
//! the template cannot express is said per streak, never dropped silently.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::connect;
use super::pipeline::validate_file;
use super::prepare::Prepared;
use super::{ApiOptions, Mode, RunError, SandboxInfo, SheetOptions};
use crate::error::InputError;
use crate::live::diff::compare;
use crate::live::export::{group_id, to_sheet, Exported};
use crate::outcome::{RowOutcome, Status};
use crate::payload::TargetGroup;
use crate::post::api::{Halt, LiveError};
use crate::progress::Progress;
use crate::report::ApiBlock;

/// What to export and where.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// `.xlsx` or `.csv`; never an existing file.
    pub output: PathBuf,
    /// Only streaks whose name contains this (ignoring case).
    pub name: Option<String>,
    /// Only streaks in these statuses (`LIVE`, `UPCOMING`, `ENDED`, `STOPPED`); empty: all.
    pub statuses: Vec<String>,
    /// Write each streak's `target_group_id` (blank for a copy to another org).
    pub with_ids: bool,
    pub state_dir: PathBuf,
}

/// What an export wrote.
#[derive(Debug)]
pub struct ExportResult {
    pub path: PathBuf,
    /// The CSV periods file, when one was needed.
    pub periods_path: Option<PathBuf>,
    pub streaks: u64,
    pub period_rows: u64,
    /// Per streak (id, name): what the file does not hold as the server has it.
    pub notes: Vec<(i64, String, String)>,
    /// Streaks the API listed that could not be exported: (id, why).
    pub skipped: Vec<(Option<i64>, String)>,
    pub api: ApiBlock,
    pub sandbox: Option<SandboxInfo>,
}

/// The periods file beside a CSV export.
pub fn periods_path(csv: &Path) -> PathBuf {
    let stem = csv
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    csv.with_file_name(format!("{stem}-periods.csv"))
}

fn refuse_existing(path: &Path) -> Result<(), InputError> {
    if path.exists() {
        return Err(InputError::Usage(format!(
            "{} already exists: export never writes over a file. Pass another -o, or move that file away.",
            path.display()
        )));
    }
    Ok(())
}

pub async fn export(
    options: &ExportOptions,
    api: &ApiOptions,
    progress: Arc<dyn Progress>,
    interrupt: CancellationToken,
) -> Result<ExportResult, RunError> {
    let csv = match options
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
    {
        Some(e) if e == "csv" => true,
        Some(e) if e == "xlsx" => false,
        _ => {
            return Err(InputError::Usage(format!(
                "-o {}: export writes .xlsx or .csv; name the file with one of those extensions.",
                options.output.display()
            ))
            .into())
        }
    };
    refuse_existing(&options.output)?;
    let periods_file = csv.then(|| periods_path(&options.output));
    if let Some(p) = &periods_file {
        refuse_existing(p)?;
    }
    let connection = connect::connect(&api.target, &api.client).await?;
    let fetched = fetch(&connection.client, options, progress.as_ref(), &interrupt).await;
    let api_block = connection.api_block();
    let sandbox = connection.sandbox_info.clone();
    connection.close().await;
    let (exported, skipped, live) = fetched?;
    let id_column = crate::columns::Col::TargetGroupId as usize;
    let rows: Vec<_> = exported
        .iter()
        .map(|e| {
            let mut row = e.row.clone();
            if !options.with_ids {
                row[id_column] = crate::sheet::Value::Empty;
            }
            row
        })
        .collect();
    let periods: Vec<_> = exported.iter().flat_map(|e| e.periods.clone()).collect();
    write(&options.output, periods_file.as_deref(), &rows, &periods)?;
    let mut notes: Vec<(i64, String, String)> = exported
        .iter()
        .flat_map(|e| e.notes.iter().map(|n| (e.id, e.name.clone(), n.clone())))
        .collect();
    notes.extend(read_back(
        options,
        periods_file.as_deref(),
        &exported,
        &live,
    )?);
    notes.sort();
    Ok(ExportResult {
        path: options.output.clone(),
        periods_path: periods_file.filter(|_| !periods.is_empty()),
        streaks: exported.len() as u64,
        period_rows: periods.len() as u64,
        notes,
        skipped,
        api: api_block,
        sandbox,
    })
}

type Fetched = (Vec<Exported>, Vec<(Option<i64>, String)>, Vec<TargetGroup>);

/// Lists the streaks (per status asked), then reads each with its periods.
async fn fetch(
    client: &crate::post::api::Client,
    options: &ExportOptions,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<Fetched, RunError> {
    let halted = |e: LiveError| match e {
        LiveError::Halt(Halt::Stop(stop)) => RunError::Api(stop),
        LiveError::Halt(_) => RunError::Interrupted,
        LiveError::Failed(detail) => RunError::Api(crate::post::api::Stop::BadAnswer {
            base: client.base_url().to_string(),
            detail: format!("listing the streaks: {detail}"),
        }),
    };
    let listing = progress.phase("listing streaks", None);
    let mut listed: Vec<Value> = Vec::new();
    let statuses: Vec<Option<&str>> = if options.statuses.is_empty() {
        vec![None]
    } else {
        options.statuses.iter().map(|s| Some(s.as_str())).collect()
    };
    for status in statuses {
        let page = client
            .streaks(status, cancel, &mut |_, _| listing.inc(0))
            .await
            .map_err(halted)?;
        listed.extend(page);
    }
    let wanted = options.name.as_ref().map(|n| n.to_lowercase());
    let mut ids: Vec<i64> = listed
        .iter()
        .filter(|g| {
            let name = g.get("name").and_then(Value::as_str).unwrap_or_default();
            wanted
                .as_ref()
                .is_none_or(|w| name.to_lowercase().contains(w))
        })
        .filter_map(group_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    listing.finish(&format!("{} streaks to export", ids.len()));
    let reading = progress.phase("reading streaks", Some(ids.len() as u64));
    let (mut exported, mut skipped, mut live) = (Vec::new(), Vec::new(), Vec::new());
    for id in ids {
        match client.group(id, cancel).await {
            Ok(Some(group)) => match to_sheet(&group) {
                Ok(e) => {
                    if let Ok(g) = serde_json::from_value::<TargetGroup>(group) {
                        live.push(g);
                    }
                    exported.push(e);
                }
                Err(why) => skipped.push((Some(id), why)),
            },
            Ok(None) => skipped.push((Some(id), "deleted while the export ran".into())),
            Err(LiveError::Failed(detail)) => skipped.push((Some(id), detail)),
            Err(e) => return Err(halted(e)),
        }
        reading.inc(1);
    }
    reading.finish(&format!("{} streaks read", exported.len()));
    Ok((exported, skipped, live))
}

/// Writes the sheet (and a CSV's periods file) to a temporary file, then links it into place:
/// a file that appeared meanwhile is never replaced.
fn write(
    path: &Path,
    periods_file: Option<&Path>,
    rows: &[Vec<crate::sheet::Value>],
    periods: &[Vec<crate::sheet::Value>],
) -> Result<(), InputError> {
    let place = |temp: &Path, to: &Path| {
        let linked = std::fs::hard_link(temp, to);
        let _ = std::fs::remove_file(temp);
        linked.map_err(|e| {
            InputError::Usage(format!(
                "{}: cannot write the export: {e}. Check the folder, or pass another -o.",
                to.display()
            ))
        })
    };
    let temp = |p: &Path| {
        p.with_file_name(format!(
            ".{}.partial-{}",
            p.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ))
    };
    match periods_file {
        None => {
            let t = temp(path).with_extension("xlsx");
            crate::template::write_xlsx(&t, rows, periods)?;
            place(&t, path)
        }
        Some(pf) => {
            let t = temp(path);
            crate::template::write_csv(&t, rows)?;
            place(&t, path)?;
            if !periods.is_empty() {
                let t = temp(pf);
                crate::template::write_periods_csv(&t, periods)?;
                place(&t, pf)?;
            }
            Ok(())
        }
    }
}

/// Reads the written file back as an import would and compares each body with its live
/// streak: every difference, and every row the import would refuse, becomes a note.
fn read_back(
    options: &ExportOptions,
    periods_file: Option<&Path>,
    exported: &[Exported],
    live: &[TargetGroup],
) -> Result<Vec<(i64, String, String)>, RunError> {
    let sheet = SheetOptions {
        file: options.output.clone(),
        periods: periods_file.filter(|p| p.exists()).map(Path::to_path_buf),
        state_dir: options.state_dir.clone(),
        ..Default::default()
    };
    let prepared = Prepared::new(&sheet, Mode::DryRun)?;
    let mut rows: Vec<RowOutcome> = Vec::new();
    validate_file(
        &sheet.file,
        &prepared.options,
        prepared.now,
        &crate::progress::Silent,
        &mut |o| {
            rows.extend(o);
            Ok(())
        },
    )?;
    let mut notes = Vec::new();
    for row in rows.iter().filter(|r| !r.is_period_row) {
        let Some(e) = exported.iter().find(|e| e.name == row.name) else {
            continue;
        };
        if row.status == Status::Invalid {
            let why: Vec<String> = row
                .errors
                .iter()
                .map(|p| format!("{} {}: {}", p.cell, p.column, p.message))
                .collect();
            notes.push((
                e.id,
                e.name.clone(),
                format!("an import of this row would be refused: {}", why.join("; ")),
            ));
            continue;
        }
        let (Some(body), Some(original)) = (&row.payload, live.iter().find(|g| g.name == row.name))
        else {
            continue;
        };
        for change in compare(body, original, options.with_ids) {
            notes.push((
                e.id,
                e.name.clone(),
                format!(
                    "the sheet cannot hold {} as the server has it ({} → {} on import)",
                    change.field, change.old, change.new
                ),
            ));
        }
    }
    Ok(notes)
}
