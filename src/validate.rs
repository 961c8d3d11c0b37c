//! One row → one outcome: every rule of SPEC §3–4 checked, every problem kept (not just the
//! first), and for a valid row the typed request body. Pure and independent per row, so the
//! pipeline runs it in parallel; the one rule that spans rows (duplicate names) is in
//! [`crate::pipeline`].

use std::borrow::Cow;

use chrono::Months;
use chrono_tz::Tz;

use crate::clock::Now;
use crate::columns::{
    def, target_types_for, Col, Kind, COLUMNS, COLUMN_COUNT, MAX_PERIODS, MAX_STREAK_LEVELS,
    STREAK_TRACKING_TYPES,
};
use crate::header::ColumnMap;
use crate::mapping::Mapping;
use crate::outcome::{NameKey, RowOutcome};
use crate::payload::{
    DefaultValue, ExtendedFieldInfo, Filter, StreakLevel, Target, TargetGroup, ALWAYS_TRUE_JSON,
};
use crate::periods::{self, PeriodSpec, PeriodsSheet};
use crate::problem::{cell_ref, Code, Problem};
use crate::sheet::{Cell, RawRow};
use crate::values::{self, DateRules, Issue};

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

/// A start further back than this is flagged: the vendor's UI refuses it.
const BACKDATE_LIMIT: Months = Months::new(6);

/// Reads the cells of one row and records what is wrong with them.
struct RowReader<'a> {
    raw: &'a RawRow,
    ctx: &'a Context,
    /// Each template column's cell as [`RowReader::cell`] gives it, looked up once per row.
    cells: [Option<Cell<'a>>; COLUMN_COUNT],
    out: RowOutcome,
}

/// A cell's value as far as validation goes.
enum Got<T> {
    /// The sheet has no such column.
    NoColumn,
    Blank,
    /// Present but wrong; the problem is already recorded.
    Bad,
    Ok(T),
}

impl<T> Got<T> {
    fn ok(self) -> Option<T> {
        match self {
            Got::Ok(v) => Some(v),
            _ => None,
        }
    }
}

impl<'a> RowReader<'a> {
    fn new(raw: &'a RawRow, ctx: &'a Context) -> Self {
        let mut cells: [Option<Cell<'a>>; COLUMN_COUNT] =
            std::array::from_fn(|t| ctx.map.position(t).map(|_| Cell::Empty));
        raw.for_each_cell(|i, cell| {
            if let Some(t) = ctx.map.column_at(i) {
                cells[t] = Some(cell);
            }
        });
        if let Some(m) = ctx.mapping.as_ref() {
            for (def, slot) in COLUMNS.iter().zip(cells.iter_mut()) {
                *slot = m.template_cell(def.col, slot.take());
            }
        }
        RowReader {
            raw,
            ctx,
            cells,
            out: RowOutcome::new(ctx.sheet, raw.row),
        }
    }

    /// The cell of `col` as the template would have it: the map's value map applied, and its
    /// constant where the cell is blank or the sheet lacks the column (no cell then).
    fn cell(&self, col: Col) -> Option<Cell<'a>> {
        self.cells[col as usize].clone()
    }

    /// Records a problem of `col`; its value is what the file has (before any value map), or
    /// the map's constant where the file has nothing. The cell reference is only made here:
    /// most cells have no problem.
    fn problem(&mut self, col: Col, issue: Issue) {
        let at = self
            .ctx
            .map
            .position(col as usize)
            .map(|p| cell_ref(p, self.raw.row))
            .unwrap_or_default();
        let written = self.ctx.map.position(col as usize).map(|p| self.raw.get(p));
        let value = match written {
            Some(c) if !c.is_blank() => c.display(),
            _ => self.cell(col).map(|c| c.display()).unwrap_or_default(),
        };
        self.out.push(Problem {
            column: def(col).key.to_string(),
            cell: at,
            value,
            code: issue.code,
            message: issue.message,
            hint: issue.hint,
        });
    }

    /// A problem about `col` that is not about its value (missing, or in conflict with another).
    fn flag(&mut self, col: Col, issue: Issue) {
        self.problem(col, issue);
    }

    /// Reads `col` with `parse`, recording the problem if it fails.
    fn get<T>(&mut self, col: Col, parse: impl FnOnce(&Cell) -> Result<T, Issue>) -> Got<T> {
        let Some(cell) = self.cell(col) else {
            return Got::NoColumn;
        };
        if cell.is_blank() {
            return Got::Blank;
        }
        match parse(&cell) {
            Ok(v) => Got::Ok(v),
            Err(issue) => {
                self.problem(col, issue);
                Got::Bad
            }
        }
    }

    /// A value the row must have (given the rest of the row): blank is `missing_value`, an absent
    /// column is `missing_column`.
    fn require<T>(&mut self, col: Col, got: Got<T>, why: &str) -> Option<T> {
        match got {
            Got::Ok(v) => Some(v),
            Got::Bad => None,
            Got::Blank => {
                self.flag(
                    col,
                    Issue::new(
                        Code::MissingValue,
                        format!("{} is required{why}", def(col).key),
                    ),
                );
                None
            }
            Got::NoColumn => {
                self.flag(
                    col,
                    Issue::new(
                        Code::MissingColumn,
                        format!(
                            "the sheet has no `{}` column, which this row needs{why}",
                            def(col).key
                        ),
                    )
                    .hint(format!(
                        "add the column `{}` to the header row",
                        def(col).key
                    )),
                );
                None
            }
        }
    }

    fn text(&mut self, col: Col) -> Got<Cow<'a, str>> {
        let max = match def(col).kind {
            Kind::Text { max } => max,
            _ => usize::MAX,
        };
        let Some(cell) = self.cell(col) else {
            return Got::NoColumn;
        };
        if cell.is_blank() {
            return Got::Blank;
        }
        match values::trimmed(cell) {
            Err(issue) => {
                self.problem(col, issue);
                Got::Bad
            }
            Ok((text, trimmed)) => {
                if trimmed {
                    self.problem(
                        col,
                        Issue::new(Code::Trimmed, "spaces at the start or end were removed"),
                    );
                }
                // A text no longer in bytes than the limit is within it in characters too.
                let chars = if text.len() <= max {
                    text.len()
                } else {
                    text.chars().count()
                };
                if chars > max {
                    self.problem(
                        col,
                        Issue::new(
                            Code::TooLong,
                            format!("{chars} characters: at most {max} are allowed"),
                        )
                        .hint(format!("shorten it by {} characters", chars - max)),
                    );
                    return Got::Bad;
                }
                Got::Ok(text)
            }
        }
    }

    fn enumeration(&mut self, col: Col) -> Got<&'static str> {
        let Kind::Enum(allowed) = def(col).kind else {
            return Got::NoColumn;
        };
        self.get(col, |c| values::enum_value(c, allowed))
    }

    fn int(&mut self, col: Col) -> Got<i64> {
        let Kind::Int { min, max } = def(col).kind else {
            return Got::NoColumn;
        };
        self.get(col, |c| values::integer(c, min, max))
    }

    fn boolean(&mut self, col: Col) -> Got<bool> {
        self.get(col, values::boolean)
    }
}

fn or_default<T>(got: Got<T>, default: T) -> Option<T> {
    match got {
        Got::Ok(v) => Some(v),
        Got::Bad => None,
        Got::Blank | Got::NoColumn => Some(default),
    }
}

/// Validates one row of the main sheet.
pub fn validate_row(raw: &RawRow, ctx: &Context) -> RowOutcome {
    let mut r = RowReader::new(raw, ctx);
    if ctx.keep_cells {
        r.out.cells = Some(
            (0..raw.len().max(ctx.map.width()))
                .map(|i| raw.get(i).to_value())
                .collect(),
        );
    }

    let name = r.text(Col::Name);
    let name = r.require(Col::Name, name, "");
    if let Some(n) = &name {
        r.out.name = n.to_string();
    } else if let Some(c) = r.cell(Col::Name) {
        r.out.name = c.display().trim().to_string();
    }
    if !r.out.name.is_empty() {
        r.out.name_key = Some(NameKey::of(&r.out.name));
    }
    let description = r.text(Col::Description).ok();
    let active = r.boolean(Col::Active);
    let active = or_default(active, true);
    let tracking = r.enumeration(Col::TrackingType);
    let tracking = or_default(tracking, "STREAKS");
    let evaluation = r.enumeration(Col::EvaluationType);
    let evaluation = or_default(evaluation, "FIXED_CALENDAR_WINDOW");
    if let (Some(t), Some(e)) = (tracking, evaluation) {
        if STREAK_TRACKING_TYPES.contains(&t) && e != "FIXED_CALENDAR_WINDOW" {
            r.flag(
                Col::EvaluationType,
                Issue::new(Code::IncompatibleFields, format!("tracking type {t} needs evaluation_type FIXED_CALENDAR_WINDOW, not {e}"))
                    .hint("streaks only run on the fixed calendar window; use FIXED_CALENDAR_WINDOW or leave it blank"),
            );
        }
    }
    let frequency_type = r.enumeration(Col::FrequencyType);
    let frequency_type = r.require(Col::FrequencyType, frequency_type, "");
    let frequency = r.int(Col::Frequency);
    let frequency = or_default(frequency, 1);

    let zone = match r.get(Col::TimeZone, values::time_zone) {
        Got::Ok(z) => Some(z),
        _ => ctx.default_zone,
    };
    let custom = frequency_type == Some("CUSTOM");
    let explicit = ctx.periods.mentions(&r.out.name);
    let needs_generated = !custom && !explicit;
    let why_generated = " (the periods are generated from it unless frequency_type is CUSTOM)";

    let start = r.get(Col::StartDate, |c| {
        values::date(c, ctx.date_rules(Col::StartDate), zone)
    });
    let start = if needs_generated {
        r.require(Col::StartDate, start, why_generated)
    } else {
        start.ok()
    };
    let total = r.int(Col::TotalPeriods);
    let total = if needs_generated {
        r.require(Col::TotalPeriods, total, why_generated)
    } else {
        total.ok()
    };
    let recurring = r.int(Col::RecurringCycles).ok();
    let till = r.int(Col::PreferredTillId).ok();
    let user_created = r.boolean(Col::UserCreated);
    let user_created = or_default(user_created, false);
    let target_name = r.text(Col::TargetName).ok();

    let entity = r.enumeration(Col::TargetEntity);
    let entity = or_default(entity, "ALTERNATE_CURRENCIES");
    let target_type = r.enumeration(Col::TargetType);
    let target_type = r.require(Col::TargetType, target_type, "");
    if let (Some(e), Some(t)) = (entity, target_type) {
        let allowed = target_types_for(e);
        if !allowed.contains(&t) {
            r.flag(
                Col::TargetType,
                Issue::new(
                    Code::IncompatibleFields,
                    format!("target type {t} does not go with target entity {e}"),
                )
                .hint(format!("for {e} use one of {}", allowed.join(", "))),
            );
        }
    }
    let enrolment = r.enumeration(Col::EnrolmentMethod);
    let enrolment = or_default(enrolment, "TRANSACTION");
    if user_created == Some(true) && enrolment.is_some_and(|m| m != "IMPORT") {
        r.flag(
            Col::UserCreated,
            Issue::new(
                Code::IncompatibleFields,
                "user_created TRUE needs enrolment_method IMPORT",
            )
            .hint("set enrolment_method to IMPORT, or user_created to FALSE"),
        );
    }
    let default_values = r.get(Col::DefaultValue, values::amount_list);
    let default_values = r.require(Col::DefaultValue, default_values, "");
    let expression = r.text(Col::Expression);
    let expression = or_default(expression, Cow::Borrowed("true"));
    let expression_json = r.get(Col::ExpressionJson, |c| {
        values::json_object(c).map(Cow::Owned)
    });
    let expression_json = or_default(expression_json, Cow::Borrowed(ALWAYS_TRUE_JSON));

    let event_name = r.text(Col::EventName);
    let event_name = if entity == Some("EVENT") {
        r.require(Col::EventName, event_name, " for target_entity EVENT")
    } else {
        event_name.ok()
    };
    let currency = r.text(Col::AlternateCurrencyId);
    let program = r.int(Col::ProgramId);
    let (currency, program) = if entity == Some("ALTERNATE_CURRENCIES") {
        let defaulted = r.cell(Col::TargetEntity).is_none_or(|c| c.is_blank());
        let why = if defaulted {
            " for target_entity ALTERNATE_CURRENCIES (the default when target_entity is blank)"
        } else {
            " for target_entity ALTERNATE_CURRENCIES"
        };
        (
            r.require(Col::AlternateCurrencyId, currency, why),
            r.require(Col::ProgramId, program, why),
        )
    } else {
        (currency.ok(), program.ok())
    };
    let attribute = r.text(Col::AttributeName);
    let attribute = match target_type {
        Some(t @ ("EVENT_ATTRIBUTE" | "EXTENDED_FIELD")) => r.require(
            Col::AttributeName,
            attribute,
            &format!(" for target_type {t}"),
        ),
        _ => attribute.ok(),
    };
    let aggregate = r.enumeration(Col::AggregateFunction);
    let aggregate = or_default(aggregate, "SUM");
    let mut filters = Vec::new();
    for (col, entity_type) in [
        (Col::StoreIds, "STORE"),
        (Col::ZoneIds, "ZONE"),
        (Col::ConceptIds, "CONCEPT"),
    ] {
        if let Got::Ok(ids) = r.get(col, values::id_list) {
            if !ids.is_empty() {
                filters.push(Filter {
                    entity_type: entity_type.into(),
                    entity_ids: ids,
                });
            }
        }
    }
    let levels = r.get(Col::StreakLevels, |c| {
        let levels = values::id_list(c)?;
        if levels.len() > MAX_STREAK_LEVELS {
            return Err(Issue::new(
                Code::OutOfRange,
                format!(
                    "{} levels: at most {MAX_STREAK_LEVELS} are allowed",
                    levels.len()
                ),
            ));
        }
        if levels.windows(2).any(|w| w[1] <= w[0]) {
            return Err(
                Issue::new(Code::OutOfRange, "levels must be strictly ascending")
                    .hint("e.g. 2;3;5"),
            );
        }
        Ok(levels)
    });
    let levels = levels.ok().unwrap_or_default();

    // Periods: explicit ones win; otherwise generated — but only when a body is wanted: the
    // checks need just their count and first start.
    let plan: Option<PeriodPlan> = if explicit || custom {
        explicit_periods(&mut r, custom, total).map(PeriodPlan::Explicit)
    } else {
        match (frequency_type, frequency, start, total) {
            (Some(ft), Some(f), Some(s), Some(n)) => {
                if periods::generated_fit(ft, f as u32, s, n as u32) {
                    Some(PeriodPlan::Generated {
                        ft,
                        f: f as u32,
                        start: s,
                        n: n as u32,
                    })
                } else {
                    r.flag(
                        Col::StartDate,
                        Issue::new(
                            Code::OutOfRange,
                            "the periods run past the last date the calendar can hold",
                        ),
                    );
                    None
                }
            }
            _ => None,
        }
    };

    if let Some(plan) = &plan {
        let count = plan.count();
        if let Some(last) = levels.last() {
            if *last as usize > count {
                r.flag(
                    Col::StreakLevels,
                    Issue::new(
                        Code::IncompatibleFields,
                        format!("the last level ({last}) is longer than the {count} periods"),
                    )
                    .hint(format!("use levels of at most {count}, or add periods")),
                );
            }
        }
        if let Some(n) = default_values
            .as_ref()
            .map(Vec::len)
            .filter(|&n| n != 1 && n != count)
        {
            r.flag(
                Col::DefaultValue,
                Issue::new(
                    Code::IncompatibleFields,
                    format!("{n} default values for {count} periods"),
                )
                .hint(format!(
                    "give one value for every period, or exactly {count} separated by ;"
                )),
            );
        }
        let today = ctx.now.in_zone(zone).date();
        if let Some(first) = plan.first_start() {
            if today
                .checked_sub_months(BACKDATE_LIMIT)
                .is_some_and(|limit| first < limit)
            {
                r.flag(
                    if explicit || custom {
                        Col::Name
                    } else {
                        Col::StartDate
                    },
                    Issue::new(
                        Code::Backdated,
                        format!("the streak starts on {first}, more than 6 months ago"),
                    )
                    .hint(
                        "the vendor's UI refuses this; past activity must be reprocessed to count",
                    ),
                );
            }
        }
        if let Some(last) = plan.last_end().filter(|last| *last < today) {
            r.flag(
                if explicit || custom {
                    Col::Name
                } else {
                    Col::StartDate
                },
                Issue::new(
                    Code::Ended,
                    format!("every period of this streak has ended (the last on {last}): it would be created over"),
                )
                .hint("check the dates; a streak nobody can still take part in is rarely what was meant"),
            );
        }
    }

    // Problems read left to right, as the sheet does; those without a cell (absent columns) last.
    let by_position = |p: &Problem| crate::problem::column_index(&p.cell).unwrap_or(usize::MAX);
    r.out.errors.sort_by_key(by_position);
    r.out.warnings.sort_by_key(by_position);
    if !r.out.errors.is_empty() || !ctx.build_payload {
        return r.out;
    }
    // Every input the body needs is present when no error was recorded.
    let (Some(name), Some(plan), Some(values), Some(frequency_type), Some(target_type)) =
        (name, plan, default_values, frequency_type, target_type)
    else {
        return r.out;
    };
    let specs = plan.specs();
    // One value for every period, or one each; a period's own value (periods sheet) wins.
    let values: Vec<f64> = specs
        .iter()
        .enumerate()
        .map(|(k, p)| {
            p.default_value
                .unwrap_or(values[if values.len() == 1 { 0 } else { k }])
        })
        .collect();
    let count = specs.len() as u32;
    let extended = match (entity, &attribute) {
        (Some("ALTERNATE_CURRENCIES"), _) => Some(ExtendedFieldInfo {
            alternate_currency_identifier: currency.map(Cow::into_owned),
            program_id: program.map(|p| p as i32),
            ..Default::default()
        }),
        (_, Some(attr)) => Some(ExtendedFieldInfo {
            name: Some(attr.to_string()),
            aggregate_function: aggregate.map(str::to_string),
            ..Default::default()
        }),
        _ => None,
    };
    let body = TargetGroup {
        name: name.to_string(),
        description: description.map(Cow::into_owned),
        active: active.unwrap_or(true),
        preferred_till_id: till,
        tracking_type: tracking.unwrap_or("STREAKS").into(),
        target_evaluation_type: evaluation.unwrap_or("FIXED_CALENDAR_WINDOW").into(),
        frequency_type: frequency_type.into(),
        frequency: frequency.unwrap_or(1) as u32,
        recurring_cycles: recurring.map(|v| v as u32).unwrap_or(count),
        total_periods: count,
        user_created: user_created.unwrap_or(false),
        time_zone_name: zone.map(|z| z.name().to_string()),
        periods: periods::to_wire(&specs, ctx.now.in_zone(zone)),
        targets: vec![Target {
            name: target_name.map_or_else(|| name.to_string(), Cow::into_owned),
            active: true,
            description: String::new(),
            target_entity: entity.unwrap_or("ALTERNATE_CURRENCIES").into(),
            target_type: target_type.into(),
            event_name: event_name.map(Cow::into_owned),
            enrolment_method: enrolment.unwrap_or("TRANSACTION").into(),
            expression: expression.map_or_else(|| "true".into(), Cow::into_owned),
            expression_json: expression_json
                .map_or_else(|| ALWAYS_TRUE_JSON.into(), Cow::into_owned),
            filters,
            target_milestone_triggers: Vec::new(),
            default_values: values
                .into_iter()
                .map(|v| DefaultValue { default_value: v })
                .collect(),
            extended_field_info: extended,
        }],
        streaks: levels
            .iter()
            .enumerate()
            .map(|(k, &n)| StreakLevel {
                name: format!("{name}_{}", k + 1),
                target_count_of_sequence: n as u32,
            })
            .collect(),
    };
    r.out.payload = Some(Box::new(body));
    r.out
}

/// A row's periods, before they are needed in full.
enum PeriodPlan {
    Explicit(Vec<PeriodSpec>),
    Generated {
        ft: &'static str,
        f: u32,
        start: chrono::NaiveDate,
        n: u32,
    },
}

impl PeriodPlan {
    fn count(&self) -> usize {
        match self {
            PeriodPlan::Explicit(specs) => specs.len(),
            PeriodPlan::Generated { n, .. } => *n as usize,
        }
    }

    fn first_start(&self) -> Option<chrono::NaiveDate> {
        match self {
            PeriodPlan::Explicit(specs) => specs.first().map(|p| p.start),
            PeriodPlan::Generated { start, .. } => Some(*start),
        }
    }

    fn last_end(&self) -> Option<chrono::NaiveDate> {
        match self {
            PeriodPlan::Explicit(specs) => specs.iter().map(|p| p.end).max(),
            PeriodPlan::Generated { ft, f, start, n } => periods::generated_end(ft, *f, *start, *n),
        }
    }

    fn specs(self) -> Vec<PeriodSpec> {
        match self {
            PeriodPlan::Explicit(specs) => specs,
            PeriodPlan::Generated { ft, f, start, n } => periods::generate(ft, f, start, n),
        }
    }
}

/// The streak's periods from the periods sheet, checked as a set.
fn explicit_periods(
    r: &mut RowReader,
    custom: bool,
    total: Option<i64>,
) -> Option<Vec<PeriodSpec>> {
    let key = r.out.name.to_lowercase();
    if key.is_empty() {
        return None;
    }
    let sheet = &r.ctx.periods;
    if let Some(near) = sheet.near_misses.get(&key) {
        let rows = near
            .iter()
            .map(|(row, name)| format!("row {row} names `{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let name = sheet.sheet.clone();
        r.flag(
            Col::FrequencyType,
            Issue::new(
                Code::InvalidPeriods,
                format!("sheet {name}, {rows}: no streak has that name, but this one nearly does; held back, so it is not created with fewer periods (they cannot change after creation)"),
            )
            .hint("if those periods belong to this streak, correct their streak_name; if not, fix or remove them"),
        );
        return None;
    }
    if let Some(rows) = sheet.broken.get(&key) {
        let rows = rows
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let name = sheet.sheet.clone();
        r.flag(
            Col::FrequencyType,
            Issue::new(
                Code::InvalidPeriods,
                format!("its periods have errors (sheet {name}, row {rows})"),
            )
            .hint("fix those period rows; their problems are listed under that sheet"),
        );
        return None;
    }
    let Some(specs) = sheet.by_name.get(&key).cloned() else {
        let hint = if sheet.sheet.is_empty() {
            "give its periods (streak_name, start_date, end_date) in a `periods` sheet of the workbook, in `<input name>-periods.csv` beside a CSV, or in a file named with --periods"
        } else {
            "add rows for this streak to the periods sheet"
        };
        if custom {
            r.flag(
                Col::FrequencyType,
                Issue::new(
                    Code::InvalidPeriods,
                    "a CUSTOM streak needs at least one period, and none names it",
                )
                .hint(hint),
            );
        }
        return None;
    };
    match periods::check_explicit(specs) {
        Ok(specs) => {
            if let Some(n) = total {
                if n as usize != specs.len() {
                    r.flag(
                        Col::TotalPeriods,
                        Issue::new(
                            Code::IncompatibleFields,
                            format!(
                                "total_periods is {n} but the periods sheet gives {}",
                                specs.len()
                            ),
                        )
                        .hint("leave total_periods blank for streaks with explicit periods"),
                    );
                    return None;
                }
            }
            if specs.len() as i64 > MAX_PERIODS {
                return None;
            }
            Some(specs)
        }
        Err(issue) => {
            r.flag(Col::FrequencyType, issue);
            None
        }
    }
}
