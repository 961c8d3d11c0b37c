//! The rules that span a row's columns: pairs that must go together, and the periods checked
//! as a whole (explicit or generated) against the levels, the values and the calendar.

use chrono::Months;

use super::fields::Fields;
use super::reader::RowReader;
use crate::check::periods::{self, PeriodSpec};
use crate::check::values::Issue;
use crate::columns::{target_types_for, Col, MAX_PERIODS, STREAK_TRACKING_TYPES};
use crate::problem::Code;

/// A start further back than this is flagged: the vendor's UI refuses it.
const BACKDATE_LIMIT: Months = Months::new(6);

/// Checks the pairs, then works out the row's periods and checks them; the plan is `None`
/// when the periods cannot be known.
pub(super) fn check(r: &mut RowReader, f: &Fields) -> Option<PeriodPlan> {
    check_pairs(r, f);
    let plan = plan_periods(r, f)?;
    check_against_periods(r, f, &plan);
    Some(plan)
}

/// Columns that must agree with each other.
fn check_pairs(r: &mut RowReader, f: &Fields) {
    if let (Some(t), Some(e)) = (f.tracking, f.evaluation) {
        if STREAK_TRACKING_TYPES.contains(&t) && e != "FIXED_CALENDAR_WINDOW" {
            r.flag(
                Col::EvaluationType,
                Issue::new(Code::IncompatibleFields, format!("tracking type {t} needs evaluation_type FIXED_CALENDAR_WINDOW, not {e}"))
                    .hint("streaks only run on the fixed calendar window; use FIXED_CALENDAR_WINDOW or leave it blank"),
            );
        }
    }
    if let (Some(e), Some(t)) = (f.entity, f.target_type) {
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
    if f.user_created == Some(true) && f.enrolment.is_some_and(|m| m != "IMPORT") {
        r.flag(
            Col::UserCreated,
            Issue::new(
                Code::IncompatibleFields,
                "user_created TRUE needs enrolment_method IMPORT",
            )
            .hint("set enrolment_method to IMPORT, or user_created to FALSE"),
        );
    }
}

/// Periods: explicit ones win; otherwise generated — but only when a body is wanted: the
/// checks need just their count and first start.
fn plan_periods(r: &mut RowReader, f: &Fields) -> Option<PeriodPlan> {
    if f.explicit || f.custom {
        return explicit_periods(r, f.custom, f.total).map(PeriodPlan::Explicit);
    }
    let (ft, freq, start, n) = (f.frequency_type?, f.frequency?, f.start?, f.total?);
    if periods::generated_fit(ft, freq as u32, start, n as u32) {
        Some(PeriodPlan::Generated {
            ft,
            f: freq as u32,
            start,
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

/// The levels and the values against the number of periods; the dates against today.
fn check_against_periods(r: &mut RowReader, f: &Fields, plan: &PeriodPlan) {
    let count = plan.count();
    if let Some(last) = f.levels.last() {
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
    if let Some(n) = f
        .default_values
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
    // Dates of explicit periods are the periods sheet's: the streak's own row is flagged at its name.
    let dated = if f.explicit || f.custom {
        Col::Name
    } else {
        Col::StartDate
    };
    let today = r.ctx.now.in_zone(f.zone).date();
    if let Some(first) = plan.first_start() {
        if today
            .checked_sub_months(BACKDATE_LIMIT)
            .is_some_and(|limit| first < limit)
        {
            r.flag(
                dated,
                Issue::new(
                    Code::Backdated,
                    format!("the streak starts on {first}, more than 6 months ago"),
                )
                .hint("the vendor's UI refuses this; past activity must be reprocessed to count"),
            );
        }
    }
    if let Some(last) = plan.last_end().filter(|last| *last < today) {
        r.flag(
            dated,
            Issue::new(
                Code::Ended,
                format!("every period of this streak has ended (the last on {last}): it would be created over"),
            )
            .hint("check the dates; a streak nobody can still take part in is rarely what was meant"),
        );
    }
}

/// A row's periods, before they are needed in full.
pub(super) enum PeriodPlan {
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

    pub fn specs(self) -> Vec<PeriodSpec> {
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
