//! A live streak written back in the template's own form: one `streaks` row (every template
//! column, `target_group_id` included) and, when its periods are not the ones the row would
//! generate, its rows of the `periods` sheet. What the template cannot hold is said in
//! `notes`, never dropped silently (the export also re-reads what it wrote and compares; see
//! `run::export`).

use chrono::NaiveDate;
use serde_json::Value;

use crate::check::periods;
use crate::columns::{Col, PCol, COLUMNS, COLUMN_COUNT, PERIOD_COLUMNS};
use crate::live::diff::number;
use crate::payload::{Period, TargetGroup};
use crate::sheet;
use crate::template::typed_value;

/// One streak as sheet rows.
#[derive(Debug, Clone)]
pub struct Exported {
    pub id: i64,
    pub name: String,
    pub row: Vec<sheet::Value>,
    pub periods: Vec<Vec<sheet::Value>>,
    /// What the template cannot express about this streak.
    pub notes: Vec<String>,
}

/// The id of a group as the API gives it (a number, or a number in a string).
pub fn group_id(group: &Value) -> Option<i64> {
    match group.get("id")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn day(wire: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(wire.get(..10)?, "%Y-%m-%d").ok()
}

/// The sheet rows of one live group; `Err` when it is not a streak body the tool can read.
pub fn to_sheet(group: &Value) -> Result<Exported, String> {
    let id = group_id(group).ok_or("it has no numeric id")?;
    let g: TargetGroup = serde_json::from_value(group.clone())
        .map_err(|e| format!("its body is not one the template can hold ({e})"))?;
    let mut notes = Vec::new();
    let mut cells: [String; COLUMN_COUNT] = Default::default();
    let mut set = |col: Col, v: String| cells[col as usize] = v;
    set(Col::Name, g.name.clone());
    set(Col::Description, g.description.clone().unwrap_or_default());
    set(Col::Active, bool_text(g.active));
    set(Col::TrackingType, g.tracking_type.clone());
    set(Col::EvaluationType, g.target_evaluation_type.clone());
    set(Col::FrequencyType, g.frequency_type.clone());
    set(Col::Frequency, g.frequency.to_string());
    set(Col::TotalPeriods, g.total_periods.to_string());
    if g.recurring_cycles as usize != g.periods.len() {
        set(Col::RecurringCycles, g.recurring_cycles.to_string());
    }
    let start = g.periods.first().and_then(|p| day(&p.start_date));
    if let Some(s) = start {
        set(Col::StartDate, s.format("%Y-%m-%d").to_string());
    }
    set(Col::TimeZone, g.time_zone_name.clone().unwrap_or_default());
    set(
        Col::PreferredTillId,
        g.preferred_till_id
            .map(|t| t.to_string())
            .unwrap_or_default(),
    );
    set(Col::UserCreated, bool_text(g.user_created));
    set(Col::TargetGroupId, id.to_string());
    if g.targets.len() != 1 {
        notes.push(format!(
            "it has {} targets; a sheet row holds one, so only the first is exported",
            g.targets.len()
        ));
    }
    if let Some(t) = g.targets.first() {
        if t.name != g.name {
            set(Col::TargetName, t.name.clone());
        }
        set(Col::TargetEntity, t.target_entity.clone());
        set(Col::TargetType, t.target_type.clone());
        set(Col::EnrolmentMethod, t.enrolment_method.clone());
        let values: Vec<String> = t
            .default_values
            .iter()
            .map(|d| number(d.default_value))
            .collect();
        let all_same = values.windows(2).all(|w| w[0] == w[1]);
        set(
            Col::DefaultValue,
            if all_same {
                values.first().cloned().unwrap_or_default()
            } else {
                values.join(";")
            },
        );
        set(Col::Expression, t.expression.clone());
        set(Col::ExpressionJson, t.expression_json.clone());
        set(Col::EventName, t.event_name.clone().unwrap_or_default());
        if let Some(x) = &t.extended_field_info {
            set(
                Col::AlternateCurrencyId,
                x.alternate_currency_identifier.clone().unwrap_or_default(),
            );
            set(
                Col::ProgramId,
                x.program_id.map(|p| p.to_string()).unwrap_or_default(),
            );
            set(Col::AttributeName, x.name.clone().unwrap_or_default());
            if x.name.is_some() {
                set(
                    Col::AggregateFunction,
                    x.aggregate_function.clone().unwrap_or_default(),
                );
            }
        }
        for f in &t.filters {
            let col = match f.entity_type.as_str() {
                "STORE" => Col::StoreIds,
                "ZONE" => Col::ZoneIds,
                "CONCEPT" => Col::ConceptIds,
                other => {
                    notes.push(format!("its {other} filter has no column in the template"));
                    continue;
                }
            };
            let ids: Vec<String> = f.entity_ids.iter().map(i64::to_string).collect();
            set(col, ids.join(";"));
        }
        if !t.target_milestone_triggers.is_empty() {
            notes.push("its target has milestone triggers, which the template cannot hold".into());
        }
        if !t.active {
            notes.push("its target is inactive; an imported target is active".into());
        }
        if !t.description.is_empty() {
            notes.push("its target has a description, which the template cannot hold".into());
        }
    }
    let levels: Vec<String> = g
        .streaks
        .iter()
        .map(|l| l.target_count_of_sequence.to_string())
        .collect();
    set(Col::StreakLevels, levels.join(";"));
    for (k, l) in g.streaks.iter().enumerate() {
        let named = format!("{}_{}", g.name, k + 1);
        if l.name != named {
            notes.push(format!(
                "streak level {} is named {:?}; an import names it {named:?}",
                k + 1,
                l.name
            ));
        }
    }
    let periods = if generated(&g, start) {
        Vec::new()
    } else {
        period_rows(&g)
    };
    let row = COLUMNS
        .iter()
        .zip(cells)
        .map(|(c, text)| typed_value(c.kind, &text))
        .collect();
    Ok(Exported {
        id,
        name: g.name,
        row,
        periods,
        notes,
    })
}

fn bool_text(b: bool) -> String {
    if b { "TRUE" } else { "FALSE" }.into()
}

/// Whether the live periods are exactly those the row would generate from its start date.
fn generated(g: &TargetGroup, start: Option<NaiveDate>) -> bool {
    let Some(start) = start else { return false };
    let specs = periods::generate(&g.frequency_type, g.frequency, start, g.total_periods);
    let wire = periods::to_wire(&specs, chrono::NaiveDateTime::MIN);
    let same = |a: &Period, b: &Period| {
        (
            &a.ref_code,
            &a.start_date,
            &a.end_date,
            a.active,
            &a.description,
        ) == (
            &b.ref_code,
            &b.start_date,
            &b.end_date,
            b.active,
            &b.description,
        )
    };
    wire.len() == g.periods.len() && wire.iter().zip(&g.periods).all(|(a, b)| same(a, b))
}

/// The `periods` sheet rows of a streak, one per period, in the periods sheet's column order.
fn period_rows(g: &TargetGroup) -> Vec<Vec<sheet::Value>> {
    let values = g.targets.first().map(|t| &t.default_values);
    g.periods
        .iter()
        .enumerate()
        .map(|(k, p)| {
            PERIOD_COLUMNS
                .iter()
                .map(|c| {
                    let text = match c.col {
                        PCol::StreakName => g.name.clone(),
                        PCol::StartDate => day(&p.start_date)
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                        PCol::EndDate => {
                            day(&p.end_date).map(|d| d.to_string()).unwrap_or_default()
                        }
                        PCol::RefCode => p.ref_code.clone(),
                        PCol::DefaultValue => values
                            .and_then(|v| v.get(k))
                            .map(|d| number(d.default_value))
                            .unwrap_or_default(),
                        PCol::Description => p.description.clone(),
                        PCol::Active => bool_text(p.active),
                    };
                    typed_value(c.kind, &text)
                })
                .collect()
        })
        .collect()
}
