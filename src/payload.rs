//! The request body of `POST /v3/targetGroups`, typed. Field order follows the API page's own
//! example so the dry-run files read like the documentation.

use serde::{Deserialize, Serialize, Serializer};

/// The API's wire format for period dates (no offset), as its page specifies.
pub const WIRE_DATE_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroup {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub preferred_till_id: Option<i64>,
    pub tracking_type: String,
    pub target_evaluation_type: String,
    pub frequency_type: String,
    pub frequency: u32,
    pub recurring_cycles: u32,
    pub total_periods: u32,
    pub user_created: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_zone_name: Option<String>,
    pub periods: Vec<Period>,
    pub targets: Vec<Target>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub streaks: Vec<StreakLevel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub ref_code: String,
    pub start_date: String,
    pub end_date: String,
    pub period_status: String,
    pub active: bool,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub name: String,
    pub active: bool,
    pub description: String,
    pub target_entity: String,
    pub target_type: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event_name: Option<String>,
    pub enrolment_method: String,
    pub expression: String,
    pub expression_json: String,
    pub filters: Vec<Filter>,
    pub target_milestone_triggers: Vec<serde_json::Value>,
    pub default_values: Vec<DefaultValue>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extended_field_info: Option<ExtendedFieldInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub entity_type: String,
    pub entity_ids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultValue {
    #[serde(serialize_with = "whole_numbers_as_integers")]
    pub default_value: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtendedFieldInfo {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub alternate_currency_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub program_id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub aggregate_function: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreakLevel {
    pub name: String,
    pub target_count_of_sequence: u32,
}

/// `500`, not `500.0`: the API's examples send whole targets as integers.
fn whole_numbers_as_integers<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        s.serialize_i64(*value as i64)
    } else {
        s.serialize_f64(*value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_targets_serialize_as_integers() {
        let v = serde_json::to_string(&DefaultValue {
            default_value: 500.0,
        })
        .unwrap();
        assert_eq!(v, r#"{"defaultValue":500}"#);
        let v = serde_json::to_string(&DefaultValue {
            default_value: 12.5,
        })
        .unwrap();
        assert_eq!(v, r#"{"defaultValue":12.5}"#);
    }
}
