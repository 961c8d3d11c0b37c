//! A row's columns read one by one, each by its kind and with its own need: always, or when
//! another column of the row asks for it (as the column table's rule says).

use std::borrow::Cow;

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::reader::{Got, RowReader};
use crate::check::values::{self, Issue};
use crate::columns::{Col, MAX_STREAK_LEVELS};
use crate::outcome::NameKey;
use crate::payload::Filter;
use crate::problem::Code;

/// What a row says, column by column. `None` is a value that is wrong (its problem recorded)
/// or blank without a default.
pub(super) struct Fields<'a> {
    pub name: Option<Cow<'a, str>>,
    pub description: Option<Cow<'a, str>>,
    pub active: Option<bool>,
    pub tracking: Option<&'static str>,
    pub evaluation: Option<&'static str>,
    pub frequency_type: Option<&'static str>,
    pub frequency: Option<i64>,
    pub zone: Option<Tz>,
    /// `frequency_type` is CUSTOM: the periods come from the periods sheet.
    pub custom: bool,
    /// The periods sheet names this streak.
    pub explicit: bool,
    pub start: Option<NaiveDate>,
    pub total: Option<i64>,
    pub recurring: Option<i64>,
    pub till: Option<i64>,
    pub user_created: Option<bool>,
    pub target_name: Option<Cow<'a, str>>,
    pub entity: Option<&'static str>,
    pub target_type: Option<&'static str>,
    pub enrolment: Option<&'static str>,
    pub default_values: Option<Vec<f64>>,
    pub expression: Option<Cow<'a, str>>,
    pub expression_json: Option<Cow<'a, str>>,
    pub event_name: Option<Cow<'a, str>>,
    pub currency: Option<Cow<'a, str>>,
    pub program: Option<i64>,
    pub attribute: Option<Cow<'a, str>>,
    pub aggregate: Option<&'static str>,
    pub filters: Vec<Filter>,
    pub levels: Vec<i64>,
}

/// Reads every column of the row.
pub(super) fn read<'a>(r: &mut RowReader<'a>) -> Fields<'a> {
    let ctx = r.ctx;
    let name = read_name(r);
    let description = r.text(Col::Description).ok();
    let active = r.bool_or_default(Col::Active);
    let tracking = r.enum_or_default(Col::TrackingType);
    let evaluation = r.enum_or_default(Col::EvaluationType);
    let frequency_type = r.enumeration(Col::FrequencyType);
    let frequency_type = r.require(Col::FrequencyType, frequency_type, "");
    let frequency = r.int_or_default(Col::Frequency);

    // A blank time zone is the run's (`--time-zone`), as is one that is wrong (reported).
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
    let total = r.int(Col::TotalPeriods);
    let (start, total) = if needs_generated {
        (
            r.require(Col::StartDate, start, why_generated),
            r.require(Col::TotalPeriods, total, why_generated),
        )
    } else {
        (start.ok(), total.ok())
    };
    let recurring = r.int(Col::RecurringCycles).ok();
    let till = r.int(Col::PreferredTillId).ok();
    let user_created = r.bool_or_default(Col::UserCreated);
    let target_name = r.text(Col::TargetName).ok();

    let entity = r.enum_or_default(Col::TargetEntity);
    let target_type = r.enumeration(Col::TargetType);
    let target_type = r.require(Col::TargetType, target_type, "");
    let enrolment = r.enum_or_default(Col::EnrolmentMethod);
    let default_values = r.get(Col::DefaultValue, values::amount_list);
    let default_values = r.require(Col::DefaultValue, default_values, "");
    let expression = r.text(Col::Expression);
    let expression = r.or_default(Col::Expression, expression);
    let expression_json = r.get(Col::ExpressionJson, |c| {
        values::json_object(c).map(Cow::Owned)
    });
    let expression_json = r.or_default(Col::ExpressionJson, expression_json);

    let event_name = r.text(Col::EventName);
    let event_name = if entity == Some("EVENT") {
        r.require(Col::EventName, event_name, " for target_entity EVENT")
    } else {
        event_name.ok()
    };
    let (currency, program) = read_currency(r, entity);
    let attribute = r.text(Col::AttributeName);
    let attribute = match target_type {
        Some(t @ ("EVENT_ATTRIBUTE" | "EXTENDED_FIELD")) => r.require(
            Col::AttributeName,
            attribute,
            &format!(" for target_type {t}"),
        ),
        _ => attribute.ok(),
    };
    let aggregate = r.enum_or_default(Col::AggregateFunction);
    let filters = read_filters(r);
    let levels = read_levels(r);
    r.out.given_id = r.int(Col::TargetGroupId).ok();
    Fields {
        name,
        description,
        active,
        tracking,
        evaluation,
        frequency_type,
        frequency,
        zone,
        custom,
        explicit,
        start,
        total,
        recurring,
        till,
        user_created,
        target_name,
        entity,
        target_type,
        enrolment,
        default_values,
        expression,
        expression_json,
        event_name,
        currency,
        program,
        attribute,
        aggregate,
        filters,
        levels,
    }
}

/// The name, which also names the row in every report (as written, when it is wrong).
fn read_name<'a>(r: &mut RowReader<'a>) -> Option<Cow<'a, str>> {
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
    name
}

/// The alternate currency and its program: both required for ALTERNATE_CURRENCIES targets.
fn read_currency<'a>(
    r: &mut RowReader<'a>,
    entity: Option<&'static str>,
) -> (Option<Cow<'a, str>>, Option<i64>) {
    let currency = r.text(Col::AlternateCurrencyId);
    let program = r.int(Col::ProgramId);
    if entity != Some("ALTERNATE_CURRENCIES") {
        return (currency.ok(), program.ok());
    }
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
}

/// The store, zone and concept filters that have ids.
fn read_filters(r: &mut RowReader) -> Vec<Filter> {
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
    filters
}

/// The streak levels: strictly ascending, at most [`MAX_STREAK_LEVELS`].
fn read_levels(r: &mut RowReader) -> Vec<i64> {
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
    levels.ok().unwrap_or_default()
}
