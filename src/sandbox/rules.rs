//! Validation of a `POST /v3/targetGroups` body, the way the API answers (reference §2–§4, §7).
//!
//! Two tiers, like a server that validates the document before it looks at the business rules:
//!
//! 1. **Shape** (all problems at once, each as `300004` "Invalid input…: <detail>"): required
//!    fields and their types, enum values, `periods[].startDate/endDate` in
//!    `YYYY-MM-DDTHH:mm:ss.SSS` (exactly, as the API page specifies) with the end not before the
//!    start, `totalPeriods` = number of periods, each target's `defaultValues` count = number of
//!    periods, at most 100 periods, descriptions ≤ 255 characters, streak levels (name and
//!    `targetCountOfSequence` required, ≤ 10, strictly ascending, the last ≤ number of periods),
//!    streak tracking types need `FIXED_CALENDAR_WINDOW`, `userCreated` needs `IMPORT` enrolment.
//! 2. **Rules** (every violation, each with its own code): group or target name > 200 characters
//!    → `310008`; target entity/type pair not in [`target_types_for`] (an unknown entity or type
//!    included) → `310033`; `ALTERNATE_CURRENCIES` (or `EXTENDED_FIELD` / `EVENT_ATTRIBUTE`)
//!    without `extendedFieldInfo` → `310094`; `programId` missing or ≤ 0 → `310146`;
//!    `alternateCurrencyIdentifier` missing or blank → `310147`.
//!
//! The duplicate name check (`310069`) comes last, in the handler, atomically with the insert.

use std::fmt::Display;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use crate::columns::{
    target_types_for, AGGREGATE_FUNCTIONS, ENROLMENT_METHODS, EVALUATION_TYPES, FREQUENCY_TYPES,
    MAX_PERIODS, MAX_STREAK_LEVELS, STREAK_TRACKING_TYPES, TRACKING_TYPES,
};
use crate::payload::WIRE_DATE_FORMAT;

pub(crate) const INVALID_INPUT: i64 = 300004;
pub(crate) const NAME_TOO_LONG: i64 = 310008;
pub(crate) const NOT_FOUND: i64 = 310017;
pub(crate) const BAD_PAIR: i64 = 310033;
pub(crate) use crate::post::api::NAME_EXISTS;
pub(crate) const METADATA_REQUIRED: i64 = 310094;
pub(crate) const INVALID_KEY: i64 = 310145;
pub(crate) const BAD_PROGRAM: i64 = 310146;
pub(crate) const BAD_CURRENCY: i64 = 310147;

pub(crate) const INVALID_INPUT_MESSAGE: &str =
    "Invalid input, check all values and ensure they are correct.";
pub(crate) const NAME_EXISTS_MESSAGE: &str = "Target group name already exists";

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 255;
const PERIOD_STATUSES: &[&str] = &["RUNNING", "UPCOMING", "NOT_STARTED", "LIVE", "ENDED"];
const FILTER_ENTITIES: &[&str] = &["STORE", "ZONE", "CONCEPT"];
/// `UNIFIED` is a documented tracking type the importer never sends.
const EXTRA_TRACKING_TYPES: &[&str] = &["UNIFIED"];

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Violation {
    pub code: i64,
    pub message: String,
}

/// `300004` with the documented message and what exactly is wrong.
pub(crate) fn invalid_input(detail: impl Display) -> Violation {
    Violation {
        code: INVALID_INPUT,
        message: format!("{} {detail}", INVALID_INPUT_MESSAGE),
    }
}

/// Checks a parsed body; `Err` holds what the API answers in `errors[]`.
pub(crate) fn check(body: &Value) -> Result<(), Vec<Violation>> {
    let Some(group) = body.as_object() else {
        return Err(vec![invalid_input(
            "The request body must be a JSON object.",
        )]);
    };
    let mut shape = Shape::default();
    shape.group(group);
    if !shape.problems.is_empty() {
        return Err(shape.problems.into_iter().map(invalid_input).collect());
    }
    let violations = rules(group);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// Collects shape problems as `path: what is wrong` lines.
#[derive(Default)]
struct Shape {
    problems: Vec<String>,
}

/// How many shape problems one answer lists.
const MAX_PROBLEMS: usize = 20;

fn show(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

impl Shape {
    fn fail(&mut self, path: &str, what: impl Display) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(format!("{path}: {what}."));
        }
    }

    /// A present, non-null value, or a "required" problem.
    fn required<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Value> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.fail(&join(path, key), "is required");
                None
            }
            Some(v) => Some(v),
        }
    }

    fn optional<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
        obj.get(key).filter(|v| !v.is_null())
    }

    /// A required, non-blank string.
    fn text<'a>(&mut self, obj: &'a Map<String, Value>, key: &str, path: &str) -> Option<&'a str> {
        let v = self.required(obj, key, path)?;
        match v.as_str() {
            Some(s) if !s.trim().is_empty() => Some(s),
            Some(_) => {
                self.fail(&join(path, key), "must not be blank");
                None
            }
            None => {
                self.fail(
                    &join(path, key),
                    format!("must be a string, got {}", show(v)),
                );
                None
            }
        }
    }

    fn optional_text(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
        max: Option<usize>,
    ) {
        let Some(v) = Self::optional(obj, key) else {
            return;
        };
        match v.as_str() {
            Some(s) => {
                if let Some(max) = max {
                    let n = s.chars().count();
                    if n > max {
                        self.fail(
                            &join(path, key),
                            format!("has {n} characters; at most {max} are allowed"),
                        );
                    }
                }
            }
            None => self.fail(
                &join(path, key),
                format!("must be a string, got {}", show(v)),
            ),
        }
    }

    fn optional_bool(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<bool> {
        let v = Self::optional(obj, key)?;
        if v.as_bool().is_none() {
            self.fail(
                &join(path, key),
                format!("must be true or false, got {}", show(v)),
            );
        }
        v.as_bool()
    }

    fn whole(&mut self, v: &Value, path: &str, min: i64, max: i64) -> Option<i64> {
        match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(n) => {
                self.fail(path, format!("must be between {min} and {max}, got {n}"));
                None
            }
            None => {
                self.fail(path, format!("must be a whole number, got {}", show(v)));
                None
            }
        }
    }

    fn required_whole(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let v = self.required(obj, key, path)?;
        self.whole(v, &join(path, key), min, max)
    }

    /// A string from `allowed` (exact case, as the API's enums are).
    fn one_of<'a>(&mut self, v: &'a Value, path: &str, allowed: &[&[&str]]) -> Option<&'a str> {
        let all: Vec<&str> = allowed.iter().flat_map(|a| a.iter().copied()).collect();
        match v.as_str() {
            Some(s) if all.contains(&s) => Some(s),
            _ => {
                self.fail(
                    path,
                    format!("must be one of {}, got {}", all.join(", "), show(v)),
                );
                None
            }
        }
    }

    fn group(&mut self, g: &Map<String, Value>) {
        self.text(g, "name", "");
        self.optional_text(g, "description", "", Some(MAX_DESCRIPTION));
        self.optional_bool(g, "active", "");
        if let Some(v) = Self::optional(g, "preferredTillId") {
            if v.as_i64().is_none() {
                self.fail(
                    "preferredTillId",
                    format!("must be a whole number, got {}", show(v)),
                );
            }
        }
        let tracking = self
            .required(g, "trackingType", "")
            .and_then(|v| self.one_of(v, "trackingType", &[TRACKING_TYPES, EXTRA_TRACKING_TYPES]));
        let evaluation = self
            .required(g, "targetEvaluationType", "")
            .and_then(|v| self.one_of(v, "targetEvaluationType", &[EVALUATION_TYPES]));
        if let (Some(t), Some(e)) = (tracking, evaluation) {
            if STREAK_TRACKING_TYPES.contains(&t) && e != "FIXED_CALENDAR_WINDOW" {
                self.fail(
                    "targetEvaluationType",
                    format!("streaks ({t}) support only FIXED_CALENDAR_WINDOW, got {e}"),
                );
            }
        }
        if let Some(v) = self.required(g, "frequencyType", "") {
            self.one_of(v, "frequencyType", &[FREQUENCY_TYPES]);
        }
        self.required_whole(g, "frequency", "", 0, i64::from(i32::MAX));
        self.required_whole(g, "recurringCycles", "", -1, MAX_PERIODS);
        let total = self.required_whole(g, "totalPeriods", "", 1, MAX_PERIODS);
        let user_created = self.optional_bool(g, "userCreated", "").unwrap_or(false);
        self.optional_bool(g, "leaderboardEnabled", "");
        if let Some(v) = Self::optional(g, "timeZoneName") {
            match v.as_str() {
                Some(tz) if tz.parse::<chrono_tz::Tz>().is_ok() => {}
                _ => self.fail(
                    "timeZoneName",
                    format!(
                        "must be an IANA time zone such as Asia/Kolkata, got {}",
                        show(v)
                    ),
                ),
            }
        }

        let periods = self.periods(g);
        if let (Some(total), Some(n)) = (total, periods) {
            if total != n as i64 {
                self.fail(
                    "totalPeriods",
                    format!("is {total} but periods has {n} entries; they must be equal"),
                );
            }
        }
        self.targets(g, periods, user_created);
        self.streaks(g, periods);
    }

    /// Checks `periods[]`; the number of periods when the array itself is usable.
    fn periods(&mut self, g: &Map<String, Value>) -> Option<usize> {
        let v = self.required(g, "periods", "")?;
        let Some(periods) = v.as_array() else {
            self.fail("periods", "must be an array of periods");
            return None;
        };
        if periods.is_empty() {
            self.fail("periods", "must have at least one period");
        }
        if periods.len() as i64 > MAX_PERIODS {
            self.fail(
                "periods",
                format!(
                    "has {} entries; at most {MAX_PERIODS} are allowed",
                    periods.len()
                ),
            );
        }
        for (i, p) in periods.iter().enumerate() {
            let path = format!("periods[{i}]");
            let Some(p) = p.as_object() else {
                self.fail(&path, "must be an object");
                continue;
            };
            match p.get("refCode") {
                None | Some(Value::Null) => self.fail(&join(&path, "refCode"), "is required"),
                Some(Value::String(s)) if s.trim().is_empty() => {
                    self.fail(&join(&path, "refCode"), "must not be blank")
                }
                Some(Value::String(_)) | Some(Value::Number(_)) => {}
                Some(other) => self.fail(
                    &join(&path, "refCode"),
                    format!("must be a string, got {}", show(other)),
                ),
            }
            let start = self.date(p, "startDate", &path);
            let end = self.date(p, "endDate", &path);
            if let (Some(start), Some(end)) = (start, end) {
                if end < start {
                    self.fail(&join(&path, "endDate"), "is before its startDate");
                }
            }
            if let Some(v) = Self::optional(p, "periodStatus") {
                self.one_of(v, &join(&path, "periodStatus"), &[PERIOD_STATUSES]);
            }
            self.optional_bool(p, "active", &path);
            self.optional_text(p, "description", &path, Some(MAX_DESCRIPTION));
        }
        Some(periods.len())
    }

    fn date(&mut self, p: &Map<String, Value>, key: &str, path: &str) -> Option<NaiveDateTime> {
        let v = self.required(p, key, path)?;
        let parsed = v.as_str().and_then(wire_date);
        if parsed.is_none() {
            self.fail(
                &join(path, key),
                format!("must be a date-time in the format YYYY-MM-DDTHH:mm:ss.SSS (e.g. 2026-07-01T00:00:00.000), got {}", show(v)),
            );
        }
        parsed
    }

    fn targets(&mut self, g: &Map<String, Value>, periods: Option<usize>, user_created: bool) {
        let Some(v) = self.required(g, "targets", "") else {
            return;
        };
        let Some(targets) = v.as_array() else {
            self.fail("targets", "must be an array of targets");
            return;
        };
        if targets.is_empty() {
            self.fail("targets", "must have at least one target");
        }
        for (i, t) in targets.iter().enumerate() {
            let path = format!("targets[{i}]");
            let Some(t) = t.as_object() else {
                self.fail(&path, "must be an object");
                continue;
            };
            self.text(t, "name", &path);
            self.optional_text(t, "description", &path, Some(MAX_DESCRIPTION));
            self.optional_bool(t, "active", &path);
            // Unknown values are left to the pair check (310033).
            self.text(t, "targetEntity", &path);
            self.text(t, "targetType", &path);
            self.optional_text(t, "eventName", &path, None);
            let method = Self::optional(t, "enrolmentMethod").and_then(|v| {
                self.one_of(v, &join(&path, "enrolmentMethod"), &[ENROLMENT_METHODS])
            });
            if user_created && method != Some("IMPORT") {
                self.fail(
                    &join(&path, "enrolmentMethod"),
                    "must be IMPORT when userCreated is true",
                );
            }
            if let Some(v) = Self::optional(t, "expression") {
                if !(v.is_string() || v.is_boolean()) {
                    self.fail(
                        &join(&path, "expression"),
                        format!("must be a string, got {}", show(v)),
                    );
                }
            }
            if let Some(v) = Self::optional(t, "expressionJson") {
                match v.as_str() {
                    Some(s) if serde_json::from_str::<Value>(s).is_ok() => {}
                    _ => self.fail(
                        &join(&path, "expressionJson"),
                        "must be a string holding JSON",
                    ),
                }
            }
            self.filters(t, &path);
            if let Some(v) = Self::optional(t, "targetMilestoneTriggers") {
                if !v.is_array() {
                    self.fail(&join(&path, "targetMilestoneTriggers"), "must be an array");
                }
            }
            match Self::optional(t, "extendedFieldInfo") {
                Some(Value::Object(info)) => {
                    let info_path = join(&path, "extendedFieldInfo");
                    if let Some(v) = Self::optional(info, "aggregateFunction") {
                        self.one_of(
                            v,
                            &join(&info_path, "aggregateFunction"),
                            &[AGGREGATE_FUNCTIONS],
                        );
                    }
                }
                Some(other) => self.fail(
                    &join(&path, "extendedFieldInfo"),
                    format!("must be an object, got {}", show(other)),
                ),
                None => {}
            }
            self.default_values(t, &path, periods);
        }
    }

    fn filters(&mut self, t: &Map<String, Value>, path: &str) {
        let Some(v) = Self::optional(t, "filters") else {
            return;
        };
        let path = join(path, "filters");
        let Some(filters) = v.as_array() else {
            self.fail(&path, "must be an array");
            return;
        };
        for (j, f) in filters.iter().enumerate() {
            let fpath = format!("{path}[{j}]");
            let Some(f) = f.as_object() else {
                self.fail(&fpath, "must be an object");
                continue;
            };
            if let Some(v) = self.required(f, "entityType", &fpath) {
                self.one_of(v, &join(&fpath, "entityType"), &[FILTER_ENTITIES]);
            }
            if let Some(v) = self.required(f, "entityIds", &fpath) {
                let ok = v
                    .as_array()
                    .is_some_and(|ids| ids.iter().all(|id| id.as_i64().is_some()));
                if !ok {
                    self.fail(
                        &join(&fpath, "entityIds"),
                        "must be an array of whole numbers",
                    );
                }
            }
        }
    }

    fn default_values(&mut self, t: &Map<String, Value>, path: &str, periods: Option<usize>) {
        let Some(v) = self.required(t, "defaultValues", path) else {
            return;
        };
        let path = join(path, "defaultValues");
        let Some(values) = v.as_array() else {
            self.fail(
                &path,
                "must be an array of {\"defaultValue\": …}, one per period",
            );
            return;
        };
        if let Some(n) = periods {
            if values.len() != n {
                self.fail(&path, format!("has {} entries but there are {n} periods; give one value per period, in period order", values.len()));
            }
        }
        for (k, d) in values.iter().enumerate() {
            let dpath = format!("{path}[{k}].defaultValue");
            let value = d.as_object().and_then(|d| d.get("defaultValue"));
            let number = match value {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
                _ => None,
            };
            match (value, number) {
                (None | Some(Value::Null), _) => self.fail(&dpath, "is required"),
                (Some(v), None) => self.fail(&dpath, format!("must be a number, got {}", show(v))),
                (_, Some(x)) if x < 0.0 => {
                    self.fail(&dpath, format!("must not be negative, got {x}"))
                }
                _ => {}
            }
        }
    }

    fn streaks(&mut self, g: &Map<String, Value>, periods: Option<usize>) {
        let Some(v) = Self::optional(g, "streaks") else {
            return;
        };
        let Some(levels) = v.as_array() else {
            self.fail("streaks", "must be an array of streak levels");
            return;
        };
        if levels.len() > MAX_STREAK_LEVELS {
            self.fail(
                "streaks",
                format!(
                    "has {} levels; at most {MAX_STREAK_LEVELS} are allowed",
                    levels.len()
                ),
            );
        }
        let mut previous: Option<i64> = None;
        for (j, level) in levels.iter().enumerate() {
            let path = format!("streaks[{j}]");
            let Some(level) = level.as_object() else {
                self.fail(&path, "must be an object");
                continue;
            };
            self.text(level, "name", &path);
            let Some(count) =
                self.required_whole(level, "targetCountOfSequence", &path, 1, MAX_PERIODS)
            else {
                continue;
            };
            if let Some(p) = previous {
                if count <= p {
                    self.fail(&join(&path, "targetCountOfSequence"), format!("is {count}, not more than the level before ({p}); levels must be strictly ascending"));
                }
            }
            if let Some(n) = periods {
                if count > n as i64 {
                    self.fail(
                        &join(&path, "targetCountOfSequence"),
                        format!("is {count}, more than the {n} periods"),
                    );
                }
            }
            previous = Some(count);
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `YYYY-MM-DDTHH:mm:ss.SSS`, exactly: no offset, no `Z`, three fraction digits.
pub(crate) fn wire_date(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() != 23 || b[10] != b'T' || b[19] != b'.' || !b[20..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    NaiveDateTime::parse_from_str(s, WIRE_DATE_FORMAT).ok()
}

/// Tier 2, on a body whose shape is right.
fn rules(g: &Map<String, Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    let too_long = |what: &str, path: &str, name: &str| {
        let n = name.chars().count();
        (n > MAX_NAME).then(|| Violation {
            code: NAME_TOO_LONG,
            message: format!(
                "Length of {what} name cannot exceed {MAX_NAME} ({path} has {n} characters)"
            ),
        })
    };
    let name = g.get("name").and_then(Value::as_str).unwrap_or_default();
    out.extend(too_long("Target group", "name", name));
    let targets = g
        .get("targets")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, t) in targets.iter().enumerate() {
        let path = format!("targets[{i}]");
        let str_of = |key: &str| t.get(key).and_then(Value::as_str).unwrap_or_default();
        out.extend(too_long(
            "Target rule",
            &join(&path, "name"),
            str_of("name"),
        ));
        let (entity, kind) = (str_of("targetEntity"), str_of("targetType"));
        if !target_types_for(entity).contains(&kind) {
            let allowed = target_types_for(entity);
            let hint = if allowed.is_empty() {
                format!("unknown targetEntity {entity:?}")
            } else {
                format!("{entity} takes {}", allowed.join(", "))
            };
            out.push(Violation {
                code: BAD_PAIR,
                message: format!("Invalid target entity and target type combination ({path}: {entity}/{kind}; {hint})"),
            });
            continue;
        }
        let info = t.get("extendedFieldInfo").and_then(Value::as_object);
        let needs_info = entity == "ALTERNATE_CURRENCIES"
            || kind == "EXTENDED_FIELD"
            || kind == "EVENT_ATTRIBUTE";
        if needs_info && info.is_none() {
            out.push(Violation {
                code: METADATA_REQUIRED,
                message: format!("Target rule metadata is required in case of EXTENDED_FIELD/ALTERNATE_CURRENCIES target type ({path}.extendedFieldInfo is missing)"),
            });
            continue;
        }
        let Some(info) = info else { continue };
        if entity == "ALTERNATE_CURRENCIES" {
            let program = info.get("programId").and_then(Value::as_i64);
            if program.is_none_or(|p| p <= 0) {
                out.push(Violation {
                    code: BAD_PROGRAM,
                    message: format!("Invalid program id ({path}.extendedFieldInfo.programId must be a positive whole number)"),
                });
            }
            let currency = info
                .get("alternateCurrencyIdentifier")
                .and_then(Value::as_str);
            if currency.is_none_or(|c| c.trim().is_empty()) {
                out.push(Violation {
                    code: BAD_CURRENCY,
                    message: format!("Invalid or null Alternate Currency Identifier for target rule ({path}.extendedFieldInfo.alternateCurrencyIdentifier)"),
                });
            }
        } else if info
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(|n| n.trim().is_empty())
        {
            out.push(Violation {
                code: METADATA_REQUIRED,
                message: format!("Target rule metadata is required in case of EXTENDED_FIELD/ALTERNATE_CURRENCIES target type ({path}.extendedFieldInfo.name is missing)"),
            });
        }
    }
    out
}

/// The body of a target edit: each editable field that is present has its JSON type, and
/// `defaultValues` holds one number ≥ 0 per period of the group.
pub(crate) fn check_target_edit(fields: &Map<String, Value>, periods: usize) -> Vec<Violation> {
    let mut problems = Vec::new();
    for key in ["expression", "expressionJson"] {
        if fields.get(key).is_some_and(|v| !v.is_string()) {
            problems.push(invalid_input(format!("{key} must be a string.")));
        }
    }
    if let Some(f) = fields.get("filters") {
        let ok = f.as_array().is_some_and(|list| {
            list.iter().all(|f| {
                f.get("entityType")
                    .and_then(Value::as_str)
                    .is_some_and(|t| FILTER_ENTITIES.contains(&t))
                    && f.get("entityIds").is_some_and(Value::is_array)
            })
        });
        if !ok {
            problems.push(invalid_input(
                "filters must be a list of {entityType: STORE|ZONE|CONCEPT, entityIds: [...]}.",
            ));
        }
    }
    if let Some(v) = fields.get("defaultValues") {
        let values = v.as_array().map(|list| {
            list.iter()
                .filter(|d| {
                    d.get("defaultValue")
                        .and_then(Value::as_f64)
                        .is_some_and(|n| n >= 0.0)
                })
                .count()
        });
        match values {
            Some(n) if n == periods && v.as_array().is_some_and(|l| l.len() == n) => {}
            _ => problems.push(invalid_input(format!(
                "defaultValues must hold one {{defaultValue: number ≥ 0}} per period ({periods})."
            ))),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_dates_are_exact() {
        assert!(wire_date("2026-07-01T00:00:00.000").is_some());
        assert!(wire_date("2026-07-01T23:59:59.999").is_some());
        for bad in [
            "2026-07-01",
            "2026-07-01T00:00:00",
            "2026-07-01T00:00:00.000Z",
            "2026-07-01T00:00:00.000+05:30",
            "2026-07-01 00:00:00.000",
            "2026-02-30T00:00:00.000",
            "2026-07-01T00:00:00.0000",
        ] {
            assert!(wire_date(bad).is_none(), "{bad}");
        }
    }
}
