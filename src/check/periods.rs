//! Periods (SPEC §4): generated from a start date and a frequency, or given explicitly in the
//! `periods` sheet (or `--periods FILE`) for CUSTOM streaks.

use std::collections::HashMap;

use chrono::{Duration, Months, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;

use crate::check::header::{map_columns, ColumnMap};
use crate::check::values::{self, DateRules, Issue};
use crate::columns::{pdef, Fallback, Kind, PCol, MAX_PERIODS, PERIOD_COLUMNS};
use crate::error::InputError;
use crate::outcome::{sheet_name, NameKey, RowOutcome};
use crate::payload::Period;
use crate::problem::{cell_ref, Code, Problem};
use crate::sheet::{RawRow, SheetInfo, Value};

/// One period, before it becomes wire format.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodSpec {
    pub start: NaiveDate,
    /// The last day of the period (inclusive).
    pub end: NaiveDate,
    pub ref_code: Option<String>,
    pub default_value: Option<f64>,
    pub description: String,
    pub active: bool,
    /// The periods-sheet row it came from, for messages.
    pub source: Option<Source>,
}

/// Where an explicit period was written: its row, and the streak name as written there.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub row: u32,
    pub name: String,
    pub name_cell: String,
}

/// The periods of a generated streak: period k starts at `start` + (k−1)·L, counted from `start`
/// each time so months never drift (Jan 31 + 1 month = Feb 28/29, + 2 months = Mar 31).
pub fn generate(
    frequency_type: &str,
    frequency: u32,
    start: NaiveDate,
    total: u32,
) -> Vec<PeriodSpec> {
    let mut specs = Vec::with_capacity(total as usize);
    for k in 0..total {
        let (Some(s), Some(e)) = (
            start_of(frequency_type, frequency, start, k),
            start_of(frequency_type, frequency, start, k + 1).and_then(|d| d.pred_opt()),
        ) else {
            break;
        };
        specs.push(PeriodSpec {
            start: s,
            end: e,
            ref_code: None,
            default_value: None,
            description: String::new(),
            active: true,
            source: None,
        });
    }
    specs
}

/// The start of period `k` (0-based), counted from `start` (no drift); `None` past the calendar.
/// The last day of the last of `total` generated periods.
pub fn generated_end(
    frequency_type: &str,
    frequency: u32,
    start: NaiveDate,
    total: u32,
) -> Option<NaiveDate> {
    start_of(frequency_type, frequency, start, total).and_then(|d| d.pred_opt())
}

fn start_of(frequency_type: &str, frequency: u32, start: NaiveDate, k: u32) -> Option<NaiveDate> {
    let n = k.checked_mul(frequency)?;
    match frequency_type {
        "DAILY" => start.checked_add_signed(Duration::days(n as i64)),
        "WEEKLY" => start.checked_add_signed(Duration::days(7 * n as i64)),
        "MONTHLY" => start.checked_add_months(Months::new(n)),
        "QUARTERLY" => start.checked_add_months(Months::new(n.checked_mul(3)?)),
        "HALF_YEARLY" => start.checked_add_months(Months::new(n.checked_mul(6)?)),
        "YEARLY" => start.checked_add_months(Months::new(n.checked_mul(12)?)),
        _ => None,
    }
}

/// Whether `total` generated periods fit in the calendar, without generating them.
pub fn generated_fit(frequency_type: &str, frequency: u32, start: NaiveDate, total: u32) -> bool {
    start_of(frequency_type, frequency, start, total).is_some_and(|d| d.pred_opt().is_some())
}

/// `2026-07-01T00:00:00.000`, written by hand: chrono's formatter re-parses its format string on
/// every call, and a dry run formats two dates per period.
fn wire_date(d: NaiveDate, end_of_day: bool) -> String {
    use chrono::Datelike;
    let time = if end_of_day {
        "23:59:59.999"
    } else {
        "00:00:00.000"
    };
    format!("{:04}-{:02}-{:02}T{time}", d.year(), d.month(), d.day())
}

/// Wire form: 00:00:00.000 to 23:59:59.999, `Cycle_k` unless the sheet named it (the
/// `ref_code` default of the column table), and
/// `NOT_STARTED` for periods that start after now.
pub fn to_wire(specs: &[PeriodSpec], now: NaiveDateTime) -> Vec<Period> {
    specs
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let start = p.start.and_time(NaiveTime::MIN);
            Period {
                ref_code: p
                    .ref_code
                    .clone()
                    .unwrap_or_else(|| format!("Cycle_{}", k + 1)),
                start_date: wire_date(p.start, false),
                end_date: wire_date(p.end, true),
                period_status: if start > now {
                    "NOT_STARTED"
                } else {
                    "RUNNING"
                }
                .to_string(),
                active: p.active,
                description: p.description.clone(),
            }
        })
        .collect()
}

/// Sorts explicit periods and checks them as a set: 1–100 of them, none overlapping.
pub fn check_explicit(mut specs: Vec<PeriodSpec>) -> Result<Vec<PeriodSpec>, Issue> {
    if specs.len() as i64 > MAX_PERIODS {
        return Err(Issue::new(
            Code::InvalidPeriods,
            format!("{} periods: at most {MAX_PERIODS} are allowed", specs.len()),
        ));
    }
    specs.sort_by_key(|p| (p.start, p.end));
    for pair in specs.windows(2) {
        if pair[1].start <= pair[0].end {
            let at = |p: &PeriodSpec| {
                p.source
                    .as_ref()
                    .map(|s| format!(" (periods row {})", s.row))
                    .unwrap_or_default()
            };
            return Err(Issue::new(
                Code::InvalidPeriods,
                format!(
                    "periods overlap: {}–{}{} and {}–{}{}",
                    pair[0].start,
                    pair[0].end,
                    at(&pair[0]),
                    pair[1].start,
                    pair[1].end,
                    at(&pair[1])
                ),
            )
            .hint("make each period start after the previous one ends"));
        }
    }
    Ok(specs)
}

/// The explicit periods of a run, read once before the main sheet.
#[derive(Debug, Default)]
pub struct PeriodsSheet {
    pub sheet: String,
    /// Valid period rows by streak name (trimmed, lower case).
    pub by_name: HashMap<String, Vec<PeriodSpec>>,
    /// Streak names with at least one broken period row, and those rows.
    pub broken: HashMap<String, Vec<u32>>,
    /// One outcome per period row that has problems (reported against the periods sheet).
    pub problems: Vec<RowOutcome>,
    /// Every period row as read, in the template's column order, with its streak's key: the
    /// workbook report copies those of the rows to fix into its own `periods` sheet.
    pub raw: Vec<(String, Vec<Value>)>,
    /// Period rows naming no streak but close to one's name (a typo, most likely), by that
    /// streak's key: (period row, name as written there). See [`PeriodsSheet::link`].
    pub near_misses: HashMap<String, Vec<(u32, String)>>,
    /// For period names that are no streak's: the closest streak name, as written.
    pub closest: HashMap<String, String>,
}

/// Whether two names (trimmed, lower case) are a typo apart: one or two edits, and few for
/// their length, so that `Summer 1` and `Summer 2` count but `Tea` and `Sea` do not.
fn typo_apart(a: &str, b: &str) -> bool {
    let d = strsim::damerau_levenshtein(a, b);
    let len = a.chars().count().max(b.chars().count());
    (1..=2).contains(&d) && d * 4 <= len
}

impl PeriodsSheet {
    /// Whether the sheet has rows for the streak `name` (trimmed).
    pub fn mentions(&self, name: &str) -> bool {
        // Most sheets have no explicit periods: no lower-casing or hashing then.
        if self.by_name.is_empty() && self.broken.is_empty() {
            return false;
        }
        let key = name.to_lowercase();
        self.by_name.contains_key(&key) || self.broken.contains_key(&key)
    }

    /// Links the periods to every name of the main sheet (`names`: lower case → as written),
    /// read before the rows are validated: a period row naming no streak suggests the closest
    /// name, and one a typo away from a streak's name marks that streak, which validation then
    /// holds back rather than create with fewer periods (they cannot change after creation).
    pub fn link(&mut self, names: &HashMap<String, String>) {
        let mut near_misses: HashMap<String, Vec<(u32, String)>> = HashMap::new();
        let mut closest = HashMap::new();
        let orphans = self.by_name.iter().filter(|(k, _)| !names.contains_key(*k));
        for (key, specs) in orphans {
            if let Some(near) = crate::text::closest(key, names.keys().map(String::as_str)) {
                closest.insert(key.clone(), names[near].clone());
            }
            for main in names.keys().filter(|m| typo_apart(key, m)) {
                let rows = specs.iter().filter_map(|p| p.source.as_ref());
                near_misses
                    .entry(main.clone())
                    .or_default()
                    .extend(rows.map(|src| (src.row, src.name.clone())));
            }
        }
        for rows in near_misses.values_mut() {
            rows.sort();
        }
        self.near_misses = near_misses;
        self.closest = closest;
    }

    /// Period rows whose streak is not in the main sheet: each is an error on its own row.
    pub fn orphans(&self, names: &crate::outcome::NameIndex) -> Vec<RowOutcome> {
        let mut out: Vec<RowOutcome> = self
            .by_name
            .iter()
            .filter(|(k, _)| !names.contains(NameKey::of(k)))
            .flat_map(|(_, specs)| specs.iter())
            .filter_map(|p| p.source.as_ref())
            .map(|src| {
                let mut o = RowOutcome::new(sheet_name(&self.sheet), src.row);
                o.is_period_row = true;
                o.name = src.name.clone();
                o.push(Problem {
                    column: pdef(PCol::StreakName).key.to_string(),
                    cell: src.name_cell.clone(),
                    value: src.name.clone(),
                    code: Code::InvalidPeriods,
                    message: "this period names no streak of the main sheet".into(),
                    hint: Some(match self.closest.get(&src.name.trim().to_lowercase()) {
                        Some(name) => format!("did you mean `{name}`? Check the spelling of streak_name against the name column"),
                        None => "check the spelling of streak_name against the name column".into(),
                    }),
                });
                o
            })
            .collect();
        out.sort_by_key(|o| o.row);
        out
    }
}

/// Reads the rows of a periods sheet.
pub fn read_sheet(
    info: &SheetInfo,
    rows: &[RawRow],
    rules: &DateRules,
    default_zone: Option<Tz>,
) -> Result<PeriodsSheet, InputError> {
    let mut out = PeriodsSheet {
        sheet: info.sheet.clone(),
        ..Default::default()
    };
    let Some((header, data)) = rows.split_first() else {
        return Ok(out);
    };
    let (map, _) = map_columns(PERIOD_COLUMNS, header, &info.path)?;
    for raw in data {
        let (spec, name, problems) = read_period_row(raw, &map, rules, default_zone);
        let key = name.to_lowercase();
        let cells = (0..PERIOD_COLUMNS.len())
            .map(|c| {
                map.position(c)
                    .map(|p| raw.get(p).to_value())
                    .unwrap_or(Value::Empty)
            })
            .collect();
        out.raw.push((key.clone(), cells));
        match spec {
            Some(spec) if problems.is_empty() => out.by_name.entry(key).or_default().push(spec),
            _ => {
                if !key.is_empty() {
                    out.broken.entry(key).or_default().push(raw.row);
                }
                let mut o = RowOutcome::new(sheet_name(&info.sheet), raw.row);
                o.is_period_row = true;
                o.name = name;
                for p in problems {
                    o.push(p);
                }
                out.problems.push(o);
            }
        }
    }
    Ok(out)
}

fn read_period_row(
    raw: &RawRow,
    map: &ColumnMap,
    rules: &DateRules,
    zone: Option<Tz>,
) -> (Option<PeriodSpec>, String, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut field = |col: PCol| -> Option<(crate::sheet::Cell<'_>, String)> {
        let pos = map.position(col as usize)?;
        let cell = raw.get(pos);
        if cell.is_blank() {
            if pdef(col).need == crate::columns::Need::Always {
                problems.push(Problem {
                    column: pdef(col).key.into(),
                    cell: cell_ref(pos, raw.row),
                    value: String::new(),
                    code: Code::MissingValue,
                    message: format!("{} is required", pdef(col).key),
                    hint: None,
                });
            }
            return None;
        }
        Some((cell, cell_ref(pos, raw.row)))
    };
    let name_cell = field(PCol::StreakName);
    let start_cell = field(PCol::StartDate);
    let end_cell = field(PCol::EndDate);
    let ref_cell = field(PCol::RefCode);
    let value_cell = field(PCol::DefaultValue);
    let desc_cell = field(PCol::Description);
    let active_cell = field(PCol::Active);

    let mut report = |col: PCol, cell: &crate::sheet::Cell, at: &str, issue: Issue| {
        problems.push(Problem {
            column: pdef(col).key.into(),
            cell: at.to_string(),
            value: cell.display(),
            code: issue.code,
            message: issue.message,
            hint: issue.hint,
        });
    };
    let name = name_cell
        .as_ref()
        .map(|(c, _)| c.display().trim().to_string())
        .unwrap_or_default();
    let mut date_of = |col: PCol, cell: Option<(crate::sheet::Cell, String)>| {
        let (c, at) = cell?;
        values::date(&c, rules, zone)
            .map_err(|i| report(col, &c, &at, i))
            .ok()
    };
    let start = date_of(PCol::StartDate, start_cell);
    let end = date_of(PCol::EndDate, end_cell);
    let mut text_of = |col: PCol, cell: Option<(crate::sheet::Cell, String)>| -> Option<String> {
        let (c, at) = cell?;
        let max = match pdef(col).kind {
            Kind::Text { max } => max,
            _ => usize::MAX,
        };
        match values::text(&c) {
            Ok((t, _)) if t.chars().count() > max => {
                report(
                    col,
                    &c,
                    &at,
                    Issue::new(
                        Code::TooLong,
                        format!("{} characters: at most {max}", t.chars().count()),
                    ),
                );
                None
            }
            Ok((t, _)) => Some(t),
            Err(i) => {
                report(col, &c, &at, i);
                None
            }
        }
    };
    let ref_code = text_of(PCol::RefCode, ref_cell);
    let description = text_of(PCol::Description, desc_cell).unwrap_or_default();
    let default_value = value_cell.and_then(|(c, at)| {
        values::amount(&c)
            .map_err(|i| report(PCol::DefaultValue, &c, &at, i))
            .ok()
    });
    let active = active_cell
        .and_then(|(c, at)| {
            values::boolean(&c)
                .map_err(|i| report(PCol::Active, &c, &at, i))
                .ok()
        })
        .unwrap_or(pdef(PCol::Active).default == Fallback::Bool(true));
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            problems.push(Problem {
                column: pdef(PCol::EndDate).key.into(),
                cell: map
                    .position(PCol::EndDate as usize)
                    .map(|p| cell_ref(p, raw.row))
                    .unwrap_or_default(),
                value: e.to_string(),
                code: Code::InvalidPeriods,
                message: format!("the period ends ({e}) before it starts ({s})"),
                hint: Some("swap start_date and end_date".into()),
            });
        }
    }
    let spec = match (start, end) {
        (Some(start), Some(end)) if !name.is_empty() => Some(PeriodSpec {
            start,
            end,
            ref_code,
            default_value,
            description,
            active,
            source: Some(Source {
                row: raw.row,
                name: name.clone(),
                name_cell: map
                    .position(PCol::StreakName as usize)
                    .map(|p| cell_ref(p, raw.row))
                    .unwrap_or_default(),
            }),
        }),
        _ => None,
    };
    (spec, name, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn months_clamp_at_month_end_without_drift() {
        let p = generate("MONTHLY", 1, d(2026, 1, 31), 4);
        let starts: Vec<_> = p.iter().map(|p| p.start).collect();
        assert_eq!(
            starts,
            vec![
                d(2026, 1, 31),
                d(2026, 2, 28),
                d(2026, 3, 31),
                d(2026, 4, 30)
            ]
        );
        assert_eq!(p[0].end, d(2026, 2, 27));
        assert_eq!(p[1].end, d(2026, 3, 30));
    }

    #[test]
    fn every_frequency_type_has_its_length() {
        let s = d(2026, 7, 1);
        assert_eq!(generate("DAILY", 2, s, 2)[1].start, d(2026, 7, 3));
        assert_eq!(generate("WEEKLY", 1, s, 2)[0].end, d(2026, 7, 7));
        assert_eq!(generate("QUARTERLY", 1, s, 2)[1].start, d(2026, 10, 1));
        assert_eq!(generate("HALF_YEARLY", 1, s, 2)[1].start, d(2027, 1, 1));
        assert_eq!(generate("YEARLY", 2, s, 2)[1].start, d(2028, 7, 1));
    }

    #[test]
    fn wire_dates_and_status() {
        let p = generate("WEEKLY", 1, d(2026, 7, 1), 2);
        let now = d(2026, 7, 1).and_hms_opt(9, 0, 0).unwrap();
        let w = to_wire(&p, now);
        assert_eq!(w[0].start_date, "2026-07-01T00:00:00.000");
        assert_eq!(w[0].end_date, "2026-07-07T23:59:59.999");
        assert_eq!(w[0].period_status, "RUNNING");
        assert_eq!(w[1].period_status, "NOT_STARTED");
        assert_eq!(w[1].ref_code, "Cycle_2");
    }

    #[test]
    fn explicit_periods_are_sorted_and_overlaps_reported() {
        let spec = |s, e, row| PeriodSpec {
            start: s,
            end: e,
            ref_code: None,
            default_value: None,
            description: String::new(),
            active: true,
            source: Some(Source {
                row,
                name: "S".into(),
                name_cell: format!("A{row}"),
            }),
        };
        let sorted = check_explicit(vec![
            spec(d(2026, 8, 1), d(2026, 8, 10), 3),
            spec(d(2026, 7, 1), d(2026, 7, 10), 2),
        ])
        .unwrap();
        assert_eq!(sorted[0].source.as_ref().map(|s| s.row), Some(2));
        let err = check_explicit(vec![
            spec(d(2026, 7, 1), d(2026, 7, 10), 2),
            spec(d(2026, 7, 10), d(2026, 7, 20), 3),
        ])
        .unwrap_err();
        assert_eq!(err.code, Code::InvalidPeriods);
        assert!(err.message.contains("periods row 2") && err.message.contains("periods row 3"));
    }
}
