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
}

/// How many columns the template has.
pub const COLUMN_COUNT: usize = Col::StreakLevels as usize + 1;
const _: () = assert!(Col::StreakLevels as usize + 1 == COLUMN_COUNT);

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
    /// The rule, as the template, the instructions sheet and the README state it.
    pub rule: &'static str,
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
        example,
    }
}

use Kind::*;
use Need::*;

pub static COLUMNS: &[ColumnDef<Col>] = &[
    col(Col::Name, "name", Always, "name", Text { max: 200 }, &["streak_name", "target_group_name"],
        "1–200 characters; unique in the file ignoring case", "Weekend Shopper Streak"),
    col(Col::Description, "description", Optional, "description", Text { max: 255 }, &[],
        "at most 255 characters", "Shop three weekends in a row"),
    col(Col::Active, "active", Optional, "active", Bool, &["is_active"],
        "TRUE or FALSE (also yes/no, y/n, 1/0); default TRUE", "TRUE"),
    col(Col::TrackingType, "tracking_type", Optional, "trackingType", Enum(TRACKING_TYPES), &[],
        "STREAKS (default), NON_CONTINUOUS_STREAKS, STREAK, DEFAULT or CAPPING", "STREAKS"),
    col(Col::EvaluationType, "evaluation_type", Optional, "targetEvaluationType",
        Enum(EVALUATION_TYPES), &["target_evaluation_type"],
        "FIXED_CALENDAR_WINDOW (default), CYCLIC_WINDOW or PERIOD_AGNOSTIC_WINDOW; streak tracking types need FIXED_CALENDAR_WINDOW",
        "FIXED_CALENDAR_WINDOW"),
    col(Col::FrequencyType, "frequency_type", Always, "frequencyType", Enum(FREQUENCY_TYPES), &[],
        "DAILY, WEEKLY, MONTHLY, QUARTERLY, HALF_YEARLY, YEARLY or CUSTOM (periods from the periods sheet)",
        "WEEKLY"),
    col(Col::Frequency, "frequency", Optional, "frequency", Int { min: 1, max: 1000 }, &[],
        "whole number 1–1000, default 1: units of frequency_type per period", "1"),
    col(Col::TotalPeriods, "total_periods", Sometimes, "totalPeriods", Int { min: 1, max: MAX_PERIODS },
        &["periods", "number_of_periods"],
        "whole number 1–100; required unless frequency_type is CUSTOM (then counted from the periods)", "3"),
    col(Col::RecurringCycles, "recurring_cycles", Optional, "recurringCycles",
        Int { min: 1, max: MAX_PERIODS }, &[],
        "whole number 1–100; default the number of periods", ""),
    col(Col::StartDate, "start_date", Sometimes, "periods[0].startDate", Date, &["start", "from_date"],
        "a date (a date cell, or YYYY-MM-DD); required unless frequency_type is CUSTOM", "2026-07-04"),
    col(Col::TimeZone, "time_zone", Optional, "timeZoneName", TimeZone, &["time_zone_name", "timezone"],
        "IANA time zone, e.g. Asia/Kolkata; default --time-zone", "Asia/Kolkata"),
    col(Col::PreferredTillId, "preferred_till_id", Optional, "preferredTillId",
        Int { min: 1, max: i64::MAX }, &["till_id"],
        "positive whole number (64-bit); store long IDs as text in Excel", "75000001"),
    col(Col::UserCreated, "user_created", Optional, "userCreated", Bool, &[],
        "TRUE or FALSE, default FALSE; TRUE needs enrolment_method IMPORT", "FALSE"),
    col(Col::TargetName, "target_name", Optional, "targets[0].name", Text { max: 200 }, &[],
        "at most 200 characters; default the name", ""),
    col(Col::TargetEntity, "target_entity", Optional, "targets[0].targetEntity", Enum(TARGET_ENTITIES),
        &[], "ALTERNATE_CURRENCIES (default), TRANSACTION, LINEITEM, EVENT, REWARDS or POINTS", "TRANSACTION"),
    col(Col::TargetType, "target_type", Always, "targets[0].targetType", Enum(TARGET_TYPES), &[],
        "must pair with target_entity: ALTERNATE_CURRENCIES → ALL, REGULAR, PROMOTION; TRANSACTION, LINEITEM → SALES, GROSS_SALES, QUANTITY, COUNT, VISIT, EXTENDED_FIELD; EVENT → COUNT, VISIT, EVENT_ATTRIBUTE; REWARDS, POINTS → REGULAR_POINTS, PROMOTIONAL_POINTS, ALL_POINTS",
        "SALES"),
    col(Col::EnrolmentMethod, "enrolment_method", Optional, "targets[0].enrolmentMethod",
        Enum(ENROLMENT_METHODS), &["enrollment_method"],
        "TRANSACTION (default), IMPORT or AUDIENCE_FILTER", "TRANSACTION"),
    col(Col::DefaultValue, "default_value", Always, "targets[0].defaultValues[]", AmountList,
        &["default_values", "target_value"],
        "number ≥ 0: one value for every period, or ;-separated, one per period", "500"),
    col(Col::Expression, "expression", Optional, "targets[0].expression", Text { max: 10_000 }, &[],
        "rule expression, default \"true\"", ""),
    col(Col::ExpressionJson, "expression_json", Optional, "targets[0].expressionJson", JsonObject, &[],
        "a JSON object; default the always-true literal", ""),
    col(Col::EventName, "event_name", Sometimes, "targets[0].eventName", Text { max: 200 }, &[],
        "required when target_entity is EVENT", ""),
    col(Col::AlternateCurrencyId, "alternate_currency_id", Sometimes,
        "targets[0].extendedFieldInfo.alternateCurrencyIdentifier", Text { max: 200 },
        &["alternate_currency_identifier"], "required when target_entity is ALTERNATE_CURRENCIES", ""),
    col(Col::ProgramId, "program_id", Sometimes, "targets[0].extendedFieldInfo.programId",
        Int { min: 1, max: i32::MAX as i64 }, &[],
        "positive 32-bit whole number; required when target_entity is ALTERNATE_CURRENCIES", ""),
    col(Col::AttributeName, "attribute_name", Sometimes, "targets[0].extendedFieldInfo.name",
        Text { max: 200 }, &["extended_field_name"],
        "required when target_type is EVENT_ATTRIBUTE or EXTENDED_FIELD", ""),
    col(Col::AggregateFunction, "aggregate_function", Optional,
        "targets[0].extendedFieldInfo.aggregateFunction", Enum(AGGREGATE_FUNCTIONS), &[],
        "SUM (default) or COUNT", ""),
    col(Col::StoreIds, "store_ids", Optional, "targets[0].filters[STORE]", IdList, &["stores"],
        ";-separated positive whole numbers", ""),
    col(Col::ZoneIds, "zone_ids", Optional, "targets[0].filters[ZONE]", IdList, &["zones"],
        ";-separated positive whole numbers", ""),
    col(Col::ConceptIds, "concept_ids", Optional, "targets[0].filters[CONCEPT]", IdList, &["concepts"],
        ";-separated positive whole numbers", ""),
    col(Col::StreakLevels, "streak_levels", Optional, "streaks[]", LevelList, &["levels", "streaks"],
        ";-separated, strictly ascending, at most 10 levels, the last at most the number of periods; level k is named <name>_k",
        "2;3"),
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
        example: "",
    },
    ColumnDef {
        col: PCol::RefCode,
        key: "ref_code",
        need: Optional,
        api_field: "periods[].refCode",
        kind: Text { max: 200 },
        aliases: &[],
        rule: "default Cycle_k",
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
        example: "",
    },
    ColumnDef {
        col: PCol::Active,
        key: "active",
        need: Optional,
        api_field: "periods[].active",
        kind: Bool,
        aliases: &[],
        rule: "TRUE or FALSE, default TRUE",
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
    let mut out =
        String::from("| column | required | API field | rule | example |\n|---|---|---|---|---|\n");
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
        out.push_str(&format!(
            "| `{}`{aliases} | {need} | `{}` | {} | {example} |\n",
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
    fn every_entity_has_target_types_from_the_list() {
        for e in TARGET_ENTITIES {
            let types = target_types_for(e);
            assert!(!types.is_empty());
            assert!(types.iter().all(|t| TARGET_TYPES.contains(t)));
        }
    }
}
