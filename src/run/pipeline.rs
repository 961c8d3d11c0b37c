//! The streaming pipeline: a reader thread sends batches (workbook rows, or CSV text cut at record
//! ends); each piece is a rayon task, parsed and validated while reading goes on; outcomes come
//! out in input order to a sink. Memory holds a few batches plus one entry per name (for the
//! duplicate check), whatever the file size.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};

use chrono_tz::Tz;
use rayon::prelude::*;

use crate::check::header::map_columns_mapped;
use crate::check::mapping::Mapping;
use crate::check::periods::{self, PeriodsSheet};
use crate::check::validate::{validate_row, Context};
use crate::check::values::DateRules;
use crate::check::InputSummary;
use crate::clock::Now;
use crate::columns::{def, Col, COLUMNS};
use crate::error::InputError;
use crate::outcome::{NameKey, RowOutcome};
use crate::problem::{cell_ref, Code, Problem};
use crate::progress::Progress;
use crate::run::RunError;
use crate::sheet::{self, Batch, CsvBlock, RawRow, SheetInfo};

/// Batches read ahead of validation.
const BATCHES_AHEAD: usize = 4;

#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub sheet: Option<String>,
    pub periods_file: Option<PathBuf>,
    pub date_format: Option<String>,
    pub time_zone: Option<Tz>,
    /// `--map`: a legacy export read as the template (see `crate::check::mapping`).
    pub mapping: Option<Mapping>,
    /// Keep each row's cells (for the annotated workbook report).
    pub keep_cells: bool,
    /// Build request bodies (dry run, import); `validate` only checks.
    pub build_payload: bool,
}

/// Where the outcomes of [`validate_file`] go, in input order.
pub trait Sink {
    /// The header is read (headers, their mapping, the sheet): called once, before any row.
    fn header(&mut self, _summary: &InputSummary) -> Result<(), InputError> {
        Ok(())
    }
    fn rows(&mut self, rows: Vec<RowOutcome>) -> Result<(), InputError>;
}

impl<F: FnMut(Vec<RowOutcome>) -> Result<(), InputError>> Sink for F {
    fn rows(&mut self, rows: Vec<RowOutcome>) -> Result<(), InputError> {
        self(rows)
    }
}

/// Reads and validates `path`, handing `sink` runs of outcomes in input order: main-sheet rows
/// first, then the periods rows that have problems.
pub fn validate_file(
    path: &Path,
    options: &ReadOptions,
    now: Now,
    progress: &dyn Progress,
    sink: &mut dyn Sink,
) -> Result<InputSummary, RunError> {
    let opened = sheet::open(path, options.sheet.as_deref())?;
    let dates = DateRules {
        map_entry: None,
        format: options.date_format.clone(),
    };
    let (mut periods_sheet, periods_source) = load_periods(path, options, opened.periods, &dates)?;
    if !periods_sheet.by_name.is_empty() {
        // Which period rows name no streak is known only with every name of the main sheet,
        // and a streak a typo away from one must be judged before its own row is reported.
        periods_sheet.link(&main_names(path, options)?);
    }
    let main = opened.main;
    let notes = opened.notes;
    let info = main.info().clone();
    let phase = progress.phase("validating", None);

    let (tx, rx) = sync_channel::<Result<Batch, InputError>>(BATCHES_AHEAD);
    let mut summary = InputSummary {
        info: info.clone(),
        headers: Vec::new(),
        header_row: 0,
        warnings: Vec::new(),
        periods_source,
        rows: 0,
        columns: Vec::new(),
        period_rows: Vec::new(),
        sha256: None,
        mapping: options.mapping.clone(),
    };
    let mut periods_sheet = Some(periods_sheet);
    let ctx_slot: std::sync::OnceLock<Context> = std::sync::OnceLock::new();
    let mut first_row_of = crate::outcome::NameIndex::default();
    // Only rows that name a live streak by id are in it.
    let mut first_row_of_id: std::collections::HashMap<i64, u32> = std::collections::HashMap::new();

    std::thread::scope(|scope| -> Result<(), RunError> {
        let reader = scope.spawn(move || {
            let result = main.read_batches(&mut |batch| Ok(tx.send(Ok(batch)).is_ok()));
            match result {
                Ok(hash) => hash,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    None
                }
            }
        });

        // The first rows: the header, which sets up the validation context.
        let mut first = Vec::new();
        for batch in rx.iter() {
            let batch = batch?;
            let bytes = batch.csv_bytes();
            let mut batch = batch.into_rows(path)?;
            if batch.is_empty() {
                continue;
            }
            // Sized once for the rows the file likely holds: growing a large index step by step
            // would move every entry again at each step.
            if let (Some(bytes), Ok(meta)) = (bytes, std::fs::metadata(path)) {
                let rows = meta.len() as f64 * batch.len() as f64 / bytes.max(1) as f64;
                first_row_of.reserve(rows as usize);
            }
            let header = batch.remove(0);
            let (map, warnings) =
                map_columns_mapped(COLUMNS, &header, path, options.mapping.as_ref())?;
            summary.headers = map.headers.clone();
            summary.header_row = header.row;
            summary.columns = (0..COLUMNS.len()).map(|i| map.position(i)).collect();
            summary.warnings = warnings;
            sink.header(&summary)?;
            let _ = ctx_slot.set(Context {
                sheet: crate::outcome::sheet_name(&info.sheet),
                map,
                dates: dates.clone(),
                default_zone: options.time_zone,
                now,
                periods: periods_sheet.take().unwrap_or_default(),
                keep_cells: options.keep_cells,
                build_payload: options.build_payload,
                mapping: options.mapping.clone(),
            });
            first = batch;
            break;
        }
        let Some(ctx) = ctx_slot.get() else {
            return Ok(());
        };

        // Each piece of work (a CSV block, a batch of workbook rows) is a rayon task of its own,
        // queued as soon as it is read, so the cores never wait for the slowest piece of a batch.
        // Its outcomes come back through a channel of its own; those channels reach this thread
        // in input order, so the rows are written in input order.
        let (done_tx, done_rx) =
            sync_channel::<Receiver<Result<Validated, InputError>>>(PIECES_AHEAD);
        scope.spawn(move || {
            let batches = std::iter::once(Ok(Batch::Rows(first))).chain(rx);
            rayon::in_place_scope_fifo(|tasks| {
                for batch in batches {
                    let pieces = match batch {
                        Ok(Batch::Rows(rows)) => vec![Piece::Rows(rows)],
                        Ok(Batch::Csv(blocks)) => blocks.into_iter().map(Piece::Block).collect(),
                        Err(e) => vec![Piece::Failed(e)],
                    };
                    for piece in pieces {
                        let (tx, result) = sync_channel(1);
                        if done_tx.send(result).is_err() {
                            return;
                        }
                        tasks.spawn_fifo(move |_| {
                            let _ = tx.send(piece.validate(path, ctx));
                        });
                    }
                }
            });
        });
        for result in done_rx {
            let Validated {
                mut outcomes,
                names,
            } = result.recv().map_err(|_| {
                RunError::Internal("a validation task stopped unexpectedly".into())
            })??;
            // The whole piece's names first, from their own compact list: the index lookups are
            // then independent of each other, and the processor overlaps their cache misses.
            let duplicates: Vec<(usize, u32)> = names
                .iter()
                .enumerate()
                .filter_map(|(i, &(key, row))| {
                    let first = first_row_of.first_row(key?, row);
                    (first != row).then_some((i, first))
                })
                .collect();
            for (i, first) in duplicates {
                flag_duplicate(&mut outcomes[i], first, ctx);
            }
            // Two rows naming one live streak would each change it: the later is reported.
            for o in outcomes.iter_mut() {
                if let Some(id) = o.given_id {
                    let first = *first_row_of_id.entry(id).or_insert(o.row);
                    if first != o.row {
                        flag_duplicate_id(o, id, first, ctx);
                    }
                }
            }
            summary.rows += outcomes.len() as u64;
            sink.rows(outcomes)?;
            phase.set_position(summary.rows);
        }
        summary.sha256 = reader.join().ok().flatten();
        summary.warnings.extend(notes.take());
        Ok(())
    })?;

    let Some(ctx) = ctx_slot.into_inner() else {
        return Err(InputError::NoHeader {
            path: path.to_path_buf(),
            sheet: info.sheet.clone(),
        }
        .into());
    };
    if summary.rows == 0 {
        return Err(InputError::NoRows {
            path: path.to_path_buf(),
            sheet: info.sheet.clone(),
        }
        .into());
    }
    if options.keep_cells {
        summary.period_rows = ctx.periods.raw.clone();
    }
    let names = first_row_of;
    let mut extra: Vec<RowOutcome> = ctx.periods.problems.clone();
    extra.extend(ctx.periods.orphans(&names));
    extra.sort_by_key(|o| o.row);
    if !extra.is_empty() {
        sink.rows(extra)?;
    }
    phase.finish(&format!("{} rows read and validated", summary.rows));
    Ok(summary)
}

/// Validates a batch on all cores: rows one by one, CSV blocks each parsed and validated whole.
/// A piece's outcomes, and the name key and row of each.
struct Validated {
    outcomes: Vec<RowOutcome>,
    names: Vec<(Option<NameKey>, u32)>,
}

impl Validated {
    fn new(outcomes: Vec<RowOutcome>) -> Self {
        let names = outcomes.iter().map(|o| (o.name_key, o.row)).collect();
        Validated { outcomes, names }
    }
}

/// Pieces validated ahead of the writing: enough to keep the cores busy, few enough to bound memory.
const PIECES_AHEAD: usize = 8;

/// One unit of validation work.
enum Piece {
    /// Workbook rows: validated in parallel among themselves.
    Rows(Vec<RawRow>),
    /// CSV text: parsed and validated on one core.
    Block(CsvBlock),
    /// Reading failed here: the error takes the piece's place in the order.
    Failed(InputError),
}

impl Piece {
    fn validate(self, path: &Path, ctx: &Context) -> Result<Validated, InputError> {
        let outcomes = match self {
            Piece::Rows(rows) => rows.par_iter().map(|raw| validate_row(raw, ctx)).collect(),
            Piece::Block(block) => {
                let mut outcomes = Vec::with_capacity(1024);
                block.rows(path, &mut |raw| {
                    outcomes.push(validate_row(raw, ctx));
                    Ok(true)
                })?;
                outcomes
            }
            Piece::Failed(e) => return Err(e),
        };
        Ok(Validated::new(outcomes))
    }
}

/// Names are unique ignoring case: the later row is the one reported, naming the first.
fn flag_duplicate(outcome: &mut RowOutcome, first: u32, ctx: &Context) {
    let at = ctx
        .map
        .position(Col::Name as usize)
        .map(|p| cell_ref(p, outcome.row))
        .unwrap_or_default();
    outcome.push(Problem {
        column: def(Col::Name).key.to_string(),
        cell: at,
        value: outcome.name.clone(),
        code: Code::DuplicateName,
        message: format!(
            "the name is already used by row {first} (names are compared ignoring case)"
        ),
        hint: Some("give each streak its own name".into()),
    });
}

/// A `target_group_id` is one streak: a second row with it is reported, naming the first.
fn flag_duplicate_id(outcome: &mut RowOutcome, id: i64, first: u32, ctx: &Context) {
    let at = ctx
        .map
        .position(Col::TargetGroupId as usize)
        .map(|p| cell_ref(p, outcome.row))
        .unwrap_or_default();
    outcome.push(Problem {
        column: def(Col::TargetGroupId).key.to_string(),
        cell: at,
        value: id.to_string(),
        code: Code::DuplicateName,
        message: format!(
            "target_group_id {id} is already used by row {first}: one row per live streak"
        ),
        hint: Some(
            "keep one row for this streak, or clear the id of a row meant as a new streak".into(),
        ),
    });
}

/// Every name of the main sheet (lower case → as written): a pass over the sheet that reads the
/// name column only, made when there are explicit periods to link to the streaks.
fn main_names(
    path: &Path,
    options: &ReadOptions,
) -> Result<std::collections::HashMap<String, String>, InputError> {
    let main = sheet::open(path, options.sheet.as_deref())?.main;
    let mut names = std::collections::HashMap::new();
    let mut column: Option<Option<usize>> = None;
    let mut failed = None;
    main.read(&mut |raw| {
        match column {
            None => match map_columns_mapped(COLUMNS, &raw, path, options.mapping.as_ref()) {
                Ok((map, _)) => column = Some(map.position(Col::Name as usize)),
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            },
            Some(Some(at)) => {
                let name = raw.get(at).text().trim().to_string();
                if !name.is_empty() {
                    names.entry(name.to_lowercase()).or_insert(name);
                }
            }
            Some(None) => return false,
        }
        true
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(names),
    }
}

/// `<stem>-periods.csv` beside `input`: the periods file a CSV input picks up by itself.
pub fn periods_beside(input: &Path) -> std::path::PathBuf {
    input.with_file_name(format!(
        "{}-periods.csv",
        input
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
    ))
}

/// Explicit periods: the workbook's `periods` sheet, else `--periods FILE`, else a
/// `<stem>-periods.csv` beside a CSV input (announced, never silent).
fn load_periods(
    path: &Path,
    options: &ReadOptions,
    from_book: Option<(SheetInfo, Vec<RawRow>)>,
    dates: &DateRules,
) -> Result<(PeriodsSheet, Option<String>), InputError> {
    let beside = periods_beside(path);
    let (info, rows, source) = if let Some(file) = &options.periods_file {
        let opened = sheet::open(file, None)?;
        let (info, rows) = sheet::read_all(opened.main)?;
        (info, rows, format!("{} (--periods)", file.display()))
    } else if let Some((info, rows)) = from_book {
        let source = format!("sheet `{}`", info.sheet);
        (info, rows, source)
    } else if matches!(sheet::format_of(path), Ok(sheet::Format::Csv { .. })) && beside.is_file() {
        let opened = sheet::open(&beside, None)?;
        let (info, rows) = sheet::read_all(opened.main)?;
        (
            info,
            rows,
            format!(
                "{} (found beside the input; pass --periods to use another file)",
                beside.display()
            ),
        )
    } else {
        return Ok((PeriodsSheet::default(), None));
    };
    let sheet = periods::read_sheet(&info, &rows, dates, options.time_zone)?;
    Ok((sheet, Some(source)))
}
