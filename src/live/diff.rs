//! A sheet row's body against the live streak, field by field. Only what the API lets change
//! after creation (the target's expression, expressionJson, filters and defaultValues; the
//! group's name when the row names the streak by id) is `editable`; any other difference can
//! only be made by deleting the streak and creating it again, which loses members' progress.

use serde::Serialize;
use serde_json::Value;

pub use crate::outcome::Change;
use crate::payload::{Filter, Period, Target, TargetGroup};

/// What the sheet asks of a live streak.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Unchanged,
    /// Every difference is editable.
    Update(Vec<Change>),
    /// Some difference is fixed after creation; all differences are listed.
    Conflict(Vec<Change>),
}

/// The note every conflict carries.
pub const CONFLICT_NOTE: &str = "only deleting the streak and creating it again can change this, and that loses members' progress; the tool never does it";

/// Compares the body a row would create with the live streak. `by_id`: the row names the
/// streak by `target_group_id`, so a different name is a rename; matched by name, the names
/// are equal ignoring case and not compared.
pub fn verdict(sheet: &TargetGroup, live: &TargetGroup, by_id: bool) -> Verdict {
    let changes = compare(sheet, live, by_id);
    if changes.is_empty() {
        Verdict::Unchanged
    } else if changes.iter().all(|c| c.editable) {
        Verdict::Update(changes)
    } else {
        Verdict::Conflict(changes)
    }
}

struct Diff(Vec<Change>);

impl Diff {
    fn field(&mut self, field: &str, old: String, new: String, editable: bool) {
        if old != new {
            self.0.push(Change {
                field: field.to_string(),
                old,
                new,
                editable,
            });
        }
    }
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn shown<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(T::to_string)
        .unwrap_or_else(|| "(none)".into())
}

/// Every difference, in body order.
pub fn compare(sheet: &TargetGroup, live: &TargetGroup, by_id: bool) -> Vec<Change> {
    let mut d = Diff(Vec::new());
    if by_id {
        d.field("name", live.name.clone(), sheet.name.clone(), true);
    }
    d.field(
        "description",
        text(&live.description),
        text(&sheet.description),
        false,
    );
    d.field(
        "active",
        live.active.to_string(),
        sheet.active.to_string(),
        false,
    );
    d.field(
        "preferredTillId",
        shown(&live.preferred_till_id),
        shown(&sheet.preferred_till_id),
        false,
    );
    d.field(
        "trackingType",
        live.tracking_type.clone(),
        sheet.tracking_type.clone(),
        false,
    );
    d.field(
        "targetEvaluationType",
        live.target_evaluation_type.clone(),
        sheet.target_evaluation_type.clone(),
        false,
    );
    d.field(
        "frequencyType",
        live.frequency_type.clone(),
        sheet.frequency_type.clone(),
        false,
    );
    d.field(
        "frequency",
        live.frequency.to_string(),
        sheet.frequency.to_string(),
        false,
    );
    d.field(
        "recurringCycles",
        live.recurring_cycles.to_string(),
        sheet.recurring_cycles.to_string(),
        false,
    );
    d.field(
        "totalPeriods",
        live.total_periods.to_string(),
        sheet.total_periods.to_string(),
        false,
    );
    d.field(
        "userCreated",
        live.user_created.to_string(),
        sheet.user_created.to_string(),
        false,
    );
    d.field(
        "timeZoneName",
        shown(&live.time_zone_name),
        shown(&sheet.time_zone_name),
        false,
    );
    d.field(
        "periods",
        periods(&live.periods),
        periods(&sheet.periods),
        false,
    );
    d.field("streaks", levels(live), levels(sheet), false);
    if live.targets.len() != sheet.targets.len() {
        d.field(
            "targets",
            format!("{} targets", live.targets.len()),
            format!("{} targets", sheet.targets.len()),
            false,
        );
    }
    for (k, (l, s)) in live.targets.iter().zip(&sheet.targets).enumerate() {
        target(&mut d, k, (l, &live.name), (s, &sheet.name));
    }
    d.0
}

/// Compares target `k`; each side comes with its group's name. A sheet target named after its
/// group (a blank `target_name`) follows the group: its name is not compared, so a name matched
/// in another case, or a rename (which the API applies to the group alone), is no change of
/// the target.
fn target(d: &mut Diff, k: usize, (l, _): (&Target, &str), (s, s_group): (&Target, &str)) {
    let f = |name: &str| format!("targets[{k}].{name}");
    if s.name != s_group {
        d.field(&f("name"), l.name.clone(), s.name.clone(), false);
    }
    d.field(
        &f("targetEntity"),
        l.target_entity.clone(),
        s.target_entity.clone(),
        false,
    );
    d.field(
        &f("targetType"),
        l.target_type.clone(),
        s.target_type.clone(),
        false,
    );
    d.field(
        &f("eventName"),
        shown(&l.event_name),
        shown(&s.event_name),
        false,
    );
    d.field(
        &f("enrolmentMethod"),
        l.enrolment_method.clone(),
        s.enrolment_method.clone(),
        false,
    );
    d.field(
        &f("extendedFieldInfo"),
        json_text(&l.extended_field_info),
        json_text(&s.extended_field_info),
        false,
    );
    d.field(
        &f("expression"),
        l.expression.clone(),
        s.expression.clone(),
        true,
    );
    // The same JSON written with other spacing or key order is the same expression.
    let (lj, sj) = (json_of(&l.expression_json), json_of(&s.expression_json));
    if lj != sj {
        d.field(
            &f("expressionJson"),
            l.expression_json.clone(),
            s.expression_json.clone(),
            true,
        );
    }
    d.field(
        &f("filters"),
        filters(&l.filters),
        filters(&s.filters),
        true,
    );
    d.field(&f("defaultValues"), values(l), values(s), true);
}

fn json_of(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Periods by their codes and dates (a time shown only when it is not the day's start or end),
/// with their other fields where they are not the defaults. Their status moves with the clock,
/// so it is not compared.
fn periods(list: &[Period]) -> String {
    let shown: Vec<String> = list
        .iter()
        .map(|p| {
            let start = p
                .start_date
                .strip_suffix("T00:00:00.000")
                .unwrap_or(&p.start_date);
            let end = p
                .end_date
                .strip_suffix("T23:59:59.999")
                .unwrap_or(&p.end_date);
            let mut s = format!("{} {start}…{end}", p.ref_code);
            if !p.active {
                s.push_str(" (inactive)");
            }
            if !p.description.is_empty() {
                s.push_str(&format!(" {:?}", p.description));
            }
            s
        })
        .collect();
    format!("{} periods: {}", list.len(), shown.join(", "))
}

/// The streak levels: their counts, and each name unless it is `<group name>_k` (what an
/// import names them), so a rename of the group is not a change of its levels.
fn levels(g: &TargetGroup) -> String {
    if g.streaks.is_empty() {
        return "(none)".into();
    }
    g.streaks
        .iter()
        .enumerate()
        .map(|(k, l)| {
            if l.name == format!("{}_{}", g.name, k + 1) {
                l.target_count_of_sequence.to_string()
            } else {
                format!("{}={}", l.name, l.target_count_of_sequence)
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn filters(list: &[Filter]) -> String {
    let mut parts: Vec<String> = list
        .iter()
        .map(|f| {
            let mut ids = f.entity_ids.clone();
            ids.sort_unstable();
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            format!("{} {}", f.entity_type, ids.join(";"))
        })
        .collect();
    parts.sort();
    if parts.is_empty() {
        "(none)".into()
    } else {
        parts.join(", ")
    }
}

fn values(t: &Target) -> String {
    let v: Vec<String> = t
        .default_values
        .iter()
        .map(|d| number(d.default_value))
        .collect();
    v.join(";")
}

/// `500`, not `500.0`.
pub fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}
