//! The column table: the one source of truth for the sheet contract (SPEC §3).
//!
//! Header matching, the validator, the template, the retry sheet and the README table all read
//! [`COLUMNS`] and [`PERIOD_COLUMNS`]; nothing else lists columns.

/// What kind of value a column holds; the validator parses a cell by its kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Free text of at most `max` characters (after trimming).
    Text {
        max: usize,
    },
    Bool,
    /// One of a closed list of values, compared ignoring case, with spaces and `-` read as `_`.
    Enum(&'static [&'static str]),
    /// A whole number in `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    /// A calendar date.
    Date,
    /// An IANA time-zone name.
    TimeZone,
    /// A JSON object, sent as text.
    JsonObject,
    /// `;`-separated positive whole numbers.
    IdList,
    /// `;`-separated numbers ≥ 0: one value, or one per period.
    AmountList,
    /// `;`-separated whole numbers, strictly ascending.
    LevelList,
    /// A number ≥ 0.
    Amount,
}

/// What a blank cell means: the one place each column's default is written. Validation reads
/// the typed values, the request body gets them, the rules and the README show them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fallback {
    /// Blank is blank.
    None,
    Bool(bool),
    Int(i64),
    /// A word (of an enum) or a text.
    Text(&'static str),
    /// Worked out from the rest of the row or the run, as this says.
    Derived(&'static str),
}

impl Fallback {
    /// The default as a rule states it.
    pub fn shown(self) -> Option<String> {
        match self {
            Fallback::None => None,
            Fallback::Bool(b) => Some(if b { "TRUE" } else { "FALSE" }.into()),
            Fallback::Int(n) => Some(n.to_string()),
            Fallback::Text(t) if t.contains(' ') || t == "true" => Some(format!("\"{t}\"")),
            Fallback::Text(t) | Fallback::Derived(t) => Some(t.into()),
        }
    }
}

/// The expression of a target that every event meets: the default of `expression_json`.
pub const ALWAYS_TRUE_JSON: &str =
    r#"{"arity":"literal","value":"true","type":"boolean:primitive"}"#;

/// When a column must have a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Need {
    /// Every row needs it; a sheet without the column is an input error.
    Always,
    /// Needed by some rows only (the condition is in the rule text); a sheet without the column
    /// reports `missing_column` on exactly those rows.
    Sometimes,
    Optional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Col {
    Name,
    Description,
    Active,
    TrackingType,
    EvaluationType,
    FrequencyType,
    Frequency,
    TotalPeriods,
    RecurringCycles,
    StartDate,
    TimeZone,
    PreferredTillId,
    UserCreated,
    TargetName,
    TargetEntity,
    TargetType,
    EnrolmentMethod,
    DefaultValue,
    Expression,
    ExpressionJson,
    EventName,
    AlternateCurrencyId,
    ProgramId,
    AttributeName,
    AggregateFunction,
    StoreIds,
    ZoneIds,
    ConceptIds,
    StreakLevels,
    /// Not sent: names the live streak the row updates (`export` writes it).
    TargetGroupId,
}

/// How many columns the template has.
pub const COLUMN_COUNT: usize = Col::TargetGroupId as usize + 1;
const _: () = assert!(Col::TargetGroupId as usize + 1 == COLUMN_COUNT);

pub struct ColumnDef<C: 'static> {
    pub col: C,
    /// The template's header, snake_case.
    pub key: &'static str,
    pub need: Need,
    /// Where the value goes in the request body.
    pub api_field: &'static str,
    pub kind: Kind,
    /// Other headers accepted for this column (the API's own field names among them).
    pub aliases: &'static [&'static str],
    /// The rule, without its default; [`ColumnDef::rule_text`] is the whole rule as the
    /// template, the instructions sheet and the README state it.
    pub rule: &'static str,
    /// What a blank cell (or a missing column) means.
    pub default: Fallback,
    /// An example value; the template's example row is made of these.
    pub example: &'static str,
}

pub const TRACKING_TYPES: &[&str] = &[
    "STREAKS",
    "NON_CONTINUOUS_STREAKS",
    "STREAK",
    "DEFAULT",
    "CAPPING",
];
/// Tracking types that make the group a streak; streaks need the fixed calendar window.
pub const STREAK_TRACKING_TYPES: &[&str] = &["STREAKS", "NON_CONTINUOUS_STREAKS", "STREAK"];
pub const EVALUATION_TYPES: &[&str] = &[
    "FIXED_CALENDAR_WINDOW",
    "CYCLIC_WINDOW",
    "PERIOD_AGNOSTIC_WINDOW",
];
pub const FREQUENCY_TYPES: &[&str] = &[
    "DAILY",
    "WEEKLY",
    "MONTHLY",
    "QUARTERLY",
    "HALF_YEARLY",
    "YEARLY",
    "CUSTOM",
];
pub const TARGET_ENTITIES: &[&str] = &[
    "ALTERNATE_CURRENCIES",
    "TRANSACTION",
    "LINEITEM",
    "EVENT",
    "REWARDS",
    "POINTS",
];
pub const TARGET_TYPES: &[&str] = &[
    "ALL",
    "REGULAR",
    "PROMOTION",
    "SALES",
    "GROSS_SALES",
    "QUANTITY",
    "COUNT",
    "VISIT",
    "EXTENDED_FIELD",
    "EVENT_ATTRIBUTE",
    "REGULAR_POINTS",
    "PROMOTIONAL_POINTS",
    "ALL_POINTS",
];
pub const ENROLMENT_METHODS: &[&str] = &["TRANSACTION", "IMPORT", "AUDIENCE_FILTER"];
pub const AGGREGATE_FUNCTIONS: &[&str] = &["SUM", "COUNT"];

/// The target types each target entity accepts (SPEC §3); the API answers 310033 otherwise.
pub fn target_types_for(entity: &str) -> &'static [&'static str] {
    match entity {
        "ALTERNATE_CURRENCIES" => &["ALL", "REGULAR", "PROMOTION"],
        "TRANSACTION" | "LINEITEM" => &[
            "SALES",
            "GROSS_SALES",
            "QUANTITY",
            "COUNT",
            "VISIT",
            "EXTENDED_FIELD",
        ],
        "EVENT" => &["COUNT", "VISIT", "EVENT_ATTRIBUTE"],
        "REWARDS" | "POINTS" => &["REGULAR_POINTS", "PROMOTIONAL_POINTS", "ALL_POINTS"],
        _ => &[],
    }
}

pub const MAX_PERIODS: i64 = 100;
pub const MAX_STREAK_LEVELS: usize = 10;

/// One row of the table; positional so the table reads as a table.
#[allow(clippy::too_many_arguments)]
const fn col(
    col: Col,
    key: &'static str,
    need: Need,
    api_field: &'static str,
    kind: Kind,
    aliases: &'static [&'static str],
    rule: &'static str,
    default: Fallback,
    example: &'static str,
) -> ColumnDef<Col> {
    ColumnDef {
        col,
        key,
        need,
        api_field,
        kind,
        aliases,
        rule,
        default,
        example,
    }
}

use Kind::*;
use Need::*;

pub static COLUMNS: &[ColumnDef<Col>] = &[
    col(Col::Name, "name", Always, "name", Text { max: 200 }, &["streak_name", "target_group_name"],
        "1–200 characters; unique in the file ignoring case", Fallback::None, "Weekend Shopper Streak"),
    col(Col::Description, "description", Optional, "description", Text { max: 255 }, &[],
        "at most 255 characters", Fallback::None, "Shop three weekends in a row"),
    col(Col::Active, "active", Optional, "active", Bool, &["is_active"],
        "TRUE or FALSE (also yes/no, y/n, 1/0)", Fallback::Bool(true), "TRUE"),
    col(Col::TrackingType, "tracking_type", Optional, "trackingType", Enum(TRACKING_TYPES), &[],
        "STREAKS, NON_CONTINUOUS_STREAKS, STREAK, DEFAULT or CAPPING", Fallback::Text("STREAKS"), "STREAKS"),
    col(Col::EvaluationType, "evaluation_type", Optional, "targetEvaluationType",
        Enum(EVALUATION_TYPES), &["target_evaluation_type"],
        "FIXED_CALENDAR_WINDOW, CYCLIC_WINDOW or PERIOD_AGNOSTIC_WINDOW; streak tracking types need FIXED_CALENDAR_WINDOW",
        Fallback::Text("FIXED_CALENDAR_WINDOW"), "FIXED_CALENDAR_WINDOW"),
    col(Col::FrequencyType, "frequency_type", Always, "frequencyType", Enum(FREQUENCY_TYPES), &[],
        "DAILY, WEEKLY, MONTHLY, QUARTERLY, HALF_YEARLY, YEARLY or CUSTOM (periods from the periods sheet)",
        Fallback::None, "WEEKLY"),
    col(Col::Frequency, "frequency", Optional, "frequency", Int { min: 1, max: 1000 }, &[],
        "whole number 1–1000: units of frequency_type per period", Fallback::Int(1), "1"),
    col(Col::TotalPeriods, "total_periods", Sometimes, "totalPeriods", Int { min: 1, max: MAX_PERIODS },
        &["periods", "number_of_periods"],
        "whole number 1–100; required unless frequency_type is CUSTOM (then counted from the periods)", Fallback::None, "3"),
    col(Col::RecurringCycles, "recurring_cycles", Optional, "recurringCycles",
        Int { min: 1, max: MAX_PERIODS }, &[],
        "whole number 1–100", Fallback::Derived("the number of periods"), ""),
    col(Col::StartDate, "start_date", Sometimes, "periods[0].startDate", Date, &["start", "from_date"],
        "a date (a date cell, or YYYY-MM-DD); required unless frequency_type is CUSTOM", Fallback::None, "2026-07-04"),
    col(Col::TimeZone, "time_zone", Optional, "timeZoneName", TimeZone, &["time_zone_name", "timezone"],
        "IANA time zone, e.g. Asia/Kolkata", Fallback::Derived("--time-zone"), "Asia/Kolkata"),
    col(Col::PreferredTillId, "preferred_till_id", Optional, "preferredTillId",
        Int { min: 1, max: i64::MAX }, &["till_id"],
        "positive whole number (64-bit); store long IDs as text in Excel", Fallback::None, "75000001"),
    col(Col::UserCreated, "user_created", Optional, "userCreated", Bool, &[],
        "TRUE or FALSE; TRUE needs enrolment_method IMPORT", Fallback::Bool(false), "FALSE"),
    col(Col::TargetName, "target_name", Optional, "targets[0].name", Text { max: 200 }, &[],
        "at most 200 characters", Fallback::Derived("the name"), ""),
    col(Col::TargetEntity, "target_entity", Optional, "targets[0].targetEntity", Enum(TARGET_ENTITIES),
        &[], "ALTERNATE_CURRENCIES, TRANSACTION, LINEITEM, EVENT, REWARDS or POINTS", Fallback::Text("ALTERNATE_CURRENCIES"), "TRANSACTION"),
    col(Col::TargetType, "target_type", Always, "targets[0].targetType", Enum(TARGET_TYPES), &[],
        "must pair with target_entity: ALTERNATE_CURRENCIES → ALL, REGULAR, PROMOTION; TRANSACTION, LINEITEM → SALES, GROSS_SALES, QUANTITY, COUNT, VISIT, EXTENDED_FIELD; EVENT → COUNT, VISIT, EVENT_ATTRIBUTE; REWARDS, POINTS → REGULAR_POINTS, PROMOTIONAL_POINTS, ALL_POINTS",
        Fallback::None, "SALES"),
    col(Col::EnrolmentMethod, "enrolment_method", Optional, "targets[0].enrolmentMethod",
        Enum(ENROLMENT_METHODS), &["enrollment_method"],
        "TRANSACTION, IMPORT or AUDIENCE_FILTER", Fallback::Text("TRANSACTION"), "TRANSACTION"),
    col(Col::DefaultValue, "default_value", Always, "targets[0].defaultValues[]", AmountList,
        &["default_values", "target_value"],
        "number ≥ 0: one value for every period, or ;-separated, one per period", Fallback::None, "500"),
    col(Col::Expression, "expression", Optional, "targets[0].expression", Text { max: 10_000 }, &[],
        "rule expression", Fallback::Text("true"), ""),
    col(Col::ExpressionJson, "expression_json", Optional, "targets[0].expressionJson", JsonObject, &[],
        "a JSON object", Fallback::Text(ALWAYS_TRUE_JSON), ""),
    col(Col::EventName, "event_name", Sometimes, "targets[0].eventName", Text { max: 200 }, &[],
        "required when target_entity is EVENT", Fallback::None, ""),
    col(Col::AlternateCurrencyId, "alternate_currency_id", Sometimes,
        "targets[0].extendedFieldInfo.alternateCurrencyIdentifier", Text { max: 200 },
        &["alternate_currency_identifier"], "required when target_entity is ALTERNATE_CURRENCIES", Fallback::None, ""),
    col(Col::ProgramId, "program_id", Sometimes, "targets[0].extendedFieldInfo.programId",
        Int { min: 1, max: i32::MAX as i64 }, &[],
        "positive 32-bit whole number; required when target_entity is ALTERNATE_CURRENCIES", Fallback::None, ""),
    col(Col::AttributeName, "attribute_name", Sometimes, "targets[0].extendedFieldInfo.name",
        Text { max: 200 }, &["extended_field_name"],
        "required when target_type is EVENT_ATTRIBUTE or EXTENDED_FIELD", Fallback::None, ""),
    col(Col::AggregateFunction, "aggregate_function", Optional,
        "targets[0].extendedFieldInfo.aggregateFunction", Enum(AGGREGATE_FUNCTIONS), &[],
        "SUM or COUNT", Fallback::Text("SUM"), ""),
    col(Col::StoreIds, "store_ids", Optional, "targets[0].filters[STORE]", IdList, &["stores"],
        ";-separated positive whole numbers", Fallback::None, ""),
    col(Col::ZoneIds, "zone_ids", Optional, "targets[0].filters[ZONE]", IdList, &["zones"],
        ";-separated positive whole numbers", Fallback::None, ""),
    col(Col::ConceptIds, "concept_ids", Optional, "targets[0].filters[CONCEPT]", IdList, &["concepts"],
        ";-separated positive whole numbers", Fallback::None, ""),
    col(Col::StreakLevels, "streak_levels", Optional, "streaks[]", LevelList, &["levels", "streaks"],
        ";-separated, strictly ascending, at most 10 levels, the last at most the number of periods; level k is named <name>_k",
        Fallback::None, "2;3"),
    col(Col::TargetGroupId, "target_group_id", Optional, "(matches the live streak; not sent)",
        Int { min: 1, max: i64::MAX }, &["id", "streak_id"],
        "the live streak this row is (export writes it); blank to create a new streak", Fallback::None, ""),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PCol {
    StreakName,
    StartDate,
    EndDate,
    RefCode,
    DefaultValue,
    Description,
    Active,
}

/// The `periods` sheet (or `--periods FILE`): explicit periods for CUSTOM streaks (SPEC §4).
pub static PERIOD_COLUMNS: &[ColumnDef<PCol>] = &[
    ColumnDef {
        col: PCol::StreakName,
        key: "streak_name",
        need: Always,
        api_field: "(matches name)",
        kind: Text { max: 200 },
        aliases: &["name", "streak"],
        rule: "the name of a streak in the main sheet (ignoring case)",
        default: Fallback::None,
        example: "",
    },
    ColumnDef {
        col: PCol::StartDate,
        key: "start_date",
        need: Always,
        api_field: "periods[].startDate",
        kind: Date,
        aliases: &["start"],
        rule: "a date; the period starts at 00:00:00.000",
        default: Fallback::None,
        example: "",
    },
    ColumnDef {
        col: PCol::EndDate,
        key: "end_date",
        need: Always,
        api_field: "periods[].endDate",
        kind: Date,
        aliases: &["end"],
        rule: "a date, not before start_date; the period ends at 23:59:59.999",
        default: Fallback::None,
        example: "",
    },
    ColumnDef {
        col: PCol::RefCode,
        key: "ref_code",
        need: Optional,
        api_field: "periods[].refCode",
        kind: Text { max: 200 },
        aliases: &[],
        rule: "",
        default: Fallback::Derived("Cycle_k"),
        example: "",
    },
    ColumnDef {
        col: PCol::DefaultValue,
        key: "default_value",
        need: Optional,
        api_field: "targets[0].defaultValues[k]",
        kind: Amount,
        aliases: &[],
        rule: "number ≥ 0; overrides the streak's default_value for this period",
        default: Fallback::None,
        example: "",
    },
    ColumnDef {
        col: PCol::Description,
        key: "description",
        need: Optional,
        api_field: "periods[].description",
        kind: Text { max: 255 },
        aliases: &[],
        rule: "at most 255 characters",
        default: Fallback::None,
        example: "",
    },
    ColumnDef {
        col: PCol::Active,
        key: "active",
        need: Optional,
        api_field: "periods[].active",
        kind: Bool,
        aliases: &[],
        rule: "TRUE or FALSE",
        default: Fallback::Bool(true),
        example: "",
    },
];

/// The form headers are compared in: case, spaces, `_` and `-` ignored.
pub fn normalize_header(header: &str) -> String {
    header
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '\u{a0}'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl<C> ColumnDef<C> {
    /// The whole rule: what the column holds, then its default.
    pub fn rule_text(&self) -> String {
        match (self.default.shown(), self.rule.is_empty()) {
            (None, _) => self.rule.to_string(),
            (Some(d), true) => format!("default {d}"),
            (Some(d), false) => format!("{}; default {d}", self.rule),
        }
    }

    /// Whether a header (already normalized) names this column: its key or one of its aliases.
    /// API field names normalize to the key for most columns; the others are listed as aliases.
    pub fn matches(&self, normalized: &str) -> bool {
        normalize_header(self.key) == normalized
            || self
                .aliases
                .iter()
                .any(|a| normalize_header(a) == normalized)
    }
}

/// The column table as Markdown, for the README (a test keeps the README's copy identical).
pub fn markdown_table<C>(table: &[ColumnDef<C>]) -> String {
    let mut out = String::from(
        "| column | required | default | API field | rule | example |\n|---|---|---|---|---|---|\n",
    );
    for c in table {
        let need = match c.need {
            Need::Always => "yes",
            Need::Sometimes => "when the rule says",
            Need::Optional => "",
        };
        let aliases = if c.aliases.is_empty() {
            String::new()
        } else {
            format!(
                " (also: {})",
                c.aliases
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let example = if c.example.is_empty() {
            String::new()
        } else {
            format!("`{}`", c.example)
        };
        let default = match c.default {
            Fallback::Derived(how) => how.to_string(),
            other => other.shown().map(|d| format!("`{d}`")).unwrap_or_default(),
        };
        out.push_str(&format!(
            "| `{}`{aliases} | {need} | {default} | `{}` | {} | {example} |\n",
            c.key,
            c.api_field,
            c.rule.replace('|', "\\|")
        ));
    }
    out
}

pub fn def(col: Col) -> &'static ColumnDef<Col> {
    &COLUMNS[col as usize]
}

pub fn pdef(col: PCol) -> &'static ColumnDef<PCol> {
    &PERIOD_COLUMNS[col as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_its_enum() {
        for (i, c) in COLUMNS.iter().enumerate() {
            assert_eq!(c.col as usize, i, "{} is out of place", c.key);
        }
        for (i, c) in PERIOD_COLUMNS.iter().enumerate() {
            assert_eq!(c.col as usize, i, "{} is out of place", c.key);
        }
    }

    #[test]
    fn headers_match_ignoring_case_space_underscore_dash() {
        let start = def(Col::StartDate);
        for h in ["Start Date", "start_date", "startDate", "START-DATE"] {
            assert!(start.matches(&normalize_header(h)), "{h}");
        }
        assert!(def(Col::EvaluationType).matches(&normalize_header("targetEvaluationType")));
        assert!(
            def(Col::AlternateCurrencyId).matches(&normalize_header("alternateCurrencyIdentifier"))
        );
        assert!(def(Col::TimeZone).matches(&normalize_header("timeZoneName")));
        assert!(!def(Col::Name).matches(&normalize_header("description")));
    }

    #[test]
    fn no_header_matches_two_columns() {
        for a in COLUMNS {
            for b in COLUMNS {
                if a.col != b.col {
                    assert!(
                        !b.matches(&normalize_header(a.key)),
                        "{} also matches {}",
                        a.key,
                        b.key
                    );
                    for alias in a.aliases {
                        assert!(
                            !b.matches(&normalize_header(alias)),
                            "{alias} matches {}",
                            b.key
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_default_is_a_value_of_its_column() {
        for c in COLUMNS {
            let fits = match (c.default, c.kind) {
                (Fallback::None | Fallback::Derived(_), _) => true,
                (Fallback::Bool(_), Kind::Bool) => true,
                (Fallback::Int(n), Kind::Int { min, max }) => (min..=max).contains(&n),
                (Fallback::Text(t), Kind::Enum(allowed)) => allowed.contains(&t),
                (Fallback::Text(t), Kind::Text { max }) => t.chars().count() <= max,
                (Fallback::Text(t), Kind::JsonObject) => {
                    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(t).is_ok()
                }
                _ => false,
            };
            assert!(
                fits,
                "{}: default {:?} is not a {:?}",
                c.key, c.default, c.kind
            );
            assert!(
                c.need == Need::Optional || matches!(c.default, Fallback::None),
                "{}: a column that is needed has no default",
                c.key
            );
        }
    }

    #[test]
    fn every_entity_has_target_types_from_the_list() {
        for e in TARGET_ENTITIES {
            let types = target_types_for(e);
            assert!(!types.is_empty());
            assert!(types.iter().all(|t| TARGET_TYPES.contains(t)));
        }
    }
}
