//! One row → one outcome: every rule of SPEC §3–4 checked, every problem kept (not just the
//! first), and for a valid row the typed request body. Pure and independent per row, so the
//! pipeline runs it in parallel; the one rule that spans rows (duplicate names) is in
//! `crate::run::pipeline`.
//!
//! In three steps: `fields` reads each column (through `reader`, which applies the column
//! table's defaults), `rules` checks what spans columns and works out the periods, `body`
//! builds the request.

mod body;
mod fields;
mod reader;
mod rules;

use chrono_tz::Tz;

use crate::check::header::ColumnMap;
use crate::check::mapping::Mapping;
use crate::check::periods::PeriodsSheet;
use crate::check::values::DateRules;
use crate::clock::Now;
use crate::columns::Col;
use crate::outcome::RowOutcome;
use crate::problem::Problem;
use crate::sheet::RawRow;

/// Everything a row's validation reads besides the row itself.
pub struct Context {
    pub sheet: &'static str,
    pub map: ColumnMap,
    pub dates: DateRules,
    pub default_zone: Option<Tz>,
    pub now: Now,
    pub periods: PeriodsSheet,
    /// Keep each row's cells for the annotated workbook report.
    pub keep_cells: bool,
    /// Build the request body of valid rows (dry run, import); `validate` needs only the checks.
    pub build_payload: bool,
    /// `--map`: value maps, constants and per-column date formats (renames are in `map`).
    pub mapping: Option<Mapping>,
}

impl Context {
    /// How `col`'s text dates are read: the map's format for it, else `--date-format`.
    fn date_rules(&self, col: Col) -> &DateRules {
        self.mapping
            .as_ref()
            .and_then(|m| m.date_rules(col))
            .unwrap_or(&self.dates)
    }
}

/// Validates one row of the main sheet.
pub fn validate_row(raw: &RawRow, ctx: &Context) -> RowOutcome {
    let mut r = reader::RowReader::new(raw, ctx);
    if ctx.keep_cells {
        r.out.cells = Some(
            (0..raw.len().max(ctx.map.width()))
                .map(|i| raw.get(i).to_value())
                .collect(),
        );
    }
    let fields = fields::read(&mut r);
    let plan = rules::check(&mut r, &fields);

    // Problems read left to right, as the sheet does; those without a cell (absent columns) last.
    let by_position = |p: &Problem| crate::problem::column_index(&p.cell).unwrap_or(usize::MAX);
    r.out.errors.sort_by_key(by_position);
    r.out.warnings.sort_by_key(by_position);
    if !r.out.errors.is_empty() || !ctx.build_payload {
        return r.out;
    }
    if let Some(plan) = plan {
        r.out.payload = body::build(fields, plan, ctx).map(Box::new);
    }
    r.out
}
