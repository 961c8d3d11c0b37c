//! A valid row's request body: the fields as read (defaults already applied by the reader), the
//! periods in full, the levels named.

use std::borrow::Cow;

use super::fields::Fields;
use super::rules::PeriodPlan;
use super::Context;
use crate::check::periods;
use crate::payload::{DefaultValue, ExtendedFieldInfo, StreakLevel, Target, TargetGroup};

/// The body of a row without errors; `None` if a value the body needs is missing, which the
/// checks rule out.
pub(super) fn build(f: Fields, plan: PeriodPlan, ctx: &Context) -> Option<TargetGroup> {
    let Fields {
        name: Some(name),
        active: Some(active),
        tracking: Some(tracking),
        evaluation: Some(evaluation),
        frequency_type: Some(frequency_type),
        frequency: Some(frequency),
        user_created: Some(user_created),
        entity: Some(entity),
        target_type: Some(target_type),
        enrolment: Some(enrolment),
        default_values: Some(values),
        expression: Some(expression),
        expression_json: Some(expression_json),
        ..
    } = &f
    else {
        return None;
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
    let extended = match (*entity, &f.attribute) {
        ("ALTERNATE_CURRENCIES", _) => Some(ExtendedFieldInfo {
            alternate_currency_identifier: f.currency.clone().map(Cow::into_owned),
            program_id: f.program.map(|p| p as i32),
            ..Default::default()
        }),
        (_, Some(attr)) => Some(ExtendedFieldInfo {
            name: Some(attr.to_string()),
            aggregate_function: f.aggregate.map(str::to_string),
            ..Default::default()
        }),
        _ => None,
    };
    Some(TargetGroup {
        name: name.to_string(),
        description: f.description.clone().map(Cow::into_owned),
        active: *active,
        preferred_till_id: f.till,
        tracking_type: (*tracking).into(),
        target_evaluation_type: (*evaluation).into(),
        frequency_type: (*frequency_type).into(),
        frequency: *frequency as u32,
        // The defaults worked out from the rest of the row (see the column table).
        recurring_cycles: f.recurring.map(|v| v as u32).unwrap_or(count),
        total_periods: count,
        user_created: *user_created,
        time_zone_name: f.zone.map(|z| z.name().to_string()),
        periods: periods::to_wire(&specs, ctx.now.in_zone(f.zone)),
        targets: vec![Target {
            name: f
                .target_name
                .as_deref()
                .unwrap_or(name.as_ref())
                .to_string(),
            active: true,
            description: String::new(),
            target_entity: (*entity).into(),
            target_type: (*target_type).into(),
            event_name: f.event_name.clone().map(Cow::into_owned),
            enrolment_method: (*enrolment).into(),
            expression: expression.to_string(),
            expression_json: expression_json.to_string(),
            filters: f.filters.clone(),
            target_milestone_triggers: Vec::new(),
            default_values: values
                .into_iter()
                .map(|v| DefaultValue { default_value: v })
                .collect(),
            extended_field_info: extended,
        }],
        streaks: f
            .levels
            .iter()
            .enumerate()
            .map(|(k, &n)| StreakLevel {
                name: format!("{name}_{}", k + 1),
                target_count_of_sequence: n as u32,
            })
            .collect(),
    })
}
