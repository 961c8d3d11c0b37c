//! `--map FILE.toml`: a legacy export read as if it were the template (SPEC §3, migration).
//!
//! ```toml
//! "Campaign Title" = "name"           # legacy header = "template column"
//! [values.frequency_type]             # per template column: legacy value = template value
//! "Bi-weekly" = "WEEKLY"
//! [constants]                         # columns the export lacks: one value for every row
//! target_entity = "TRANSACTION"
//! [date_formats]                      # chrono format per template column
//! start_date = "%d/%m/%Y"
//! ```
//!
//! Decisions:
//! - The file is read with serde into a `toml::Table` and then walked by hand, so that every
//!   message names the map file and the exact key (`[values.frequncy_type]`,
//!   `"Campaign Title" = "nmae"`) and suggests the closest template column ([`closest`]).
//!   Anything wrong in the map — bad TOML, an unknown column or section, an invalid chrono
//!   format, a constant or mapped value the column would refuse — is a usage error (exit 2)
//!   before any row is read: one message, not one per row.
//! - Template columns are named as headers are matched: ignoring case, spaces, `_` and `-`, and
//!   the API's field names are accepted too (`frequencyType`). Legacy headers are compared the same
//!   way ([`normalize_header`]).
//! - Renames apply before header matching, so they win over the template's own names: with
//!   `"name" = "description"` a legacy `name` column is read as `description`. A rename whose
//!   legacy header the sheet does not have is ignored (one map may serve several exports). Two
//!   headers that end up naming one column are the usual duplicate-header error.
//! - Value maps compare the cell's text ignoring case and surrounding spaces, and the whole cell
//!   only (not the items of a `;`-list). A mapped cell is validated as if the template value had
//!   been written; an unmapped value is validated as it stands (`Weekly` still reads as `WEEKLY`,
//!   `Fortnightly` is still `invalid_enum` with its hint). A legacy value mapped to `""` reads as
//!   a blank cell, so the column's default applies. In reports, a problem's `value` stays what the
//!   file had.
//! - Constants fill a column the sheet does not have, for every row, and they count as present
//!   for the required-column check. If the sheet has the column, the sheet wins: a value in it is
//!   never overridden. Its blank cells (after the value map) take the constant, though, so that the
//!   XLSX report's `retry` sheet — template headers, the export's cells, blanks where the export
//!   had no column — reads with the same map as the export did. Constants are template values (no
//!   value map applies to them); TOML numbers, booleans and dates may be written bare. A problem
//!   about a constant's column has no cell when the sheet lacks the column, and shows the constant
//!   as its value.
//! - A date format applies to text in that date column instead of `--date-format` (ISO dates are
//!   still read). Only the main sheet is mapped: a periods sheet or `--periods` file keeps the
//!   template's headers and `--date-format`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::check::values::date_format_problem;
use crate::check::values::{self, DateRules, Issue, MapEntry};
use crate::columns::{def, normalize_header, Col, Kind, COLUMNS};
use crate::error::InputError;
use crate::sheet::{format_number, Cell, Value};
use crate::text::closest;

/// A parsed `--map` file.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// The map file, for messages.
    pub path: PathBuf,
    /// Normalized legacy header → template column.
    renames: HashMap<String, Col>,
    /// Per template column: legacy value (trimmed, lower case) → template value.
    values: BTreeMap<Col, HashMap<String, String>>,
    constants: BTreeMap<Col, String>,
    dates: BTreeMap<Col, DateRules>,
}

const SECTIONS: [&str; 3] = ["values", "constants", "date_formats"];

impl Mapping {
    /// Reads and checks a map file; `date_format` is `--date-format`, used to check mapped dates
    /// of a column the map gives no format for.
    pub fn load(path: &Path, date_format: Option<&str>) -> Result<Mapping, InputError> {
        crate::sheet::check_file(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| InputError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        Mapping::parse(&text, path, date_format)
    }

    pub fn parse(
        text: &str,
        path: &Path,
        date_format: Option<&str>,
    ) -> Result<Mapping, InputError> {
        let fail = |what: String| InputError::Usage(format!("--map {}: {what}", path.display()));
        let table: toml::Table =
            toml::from_str(text).map_err(|e| fail(format!("not a valid TOML file: {e}")))?;
        let mut m = Mapping {
            path: path.to_path_buf(),
            ..Default::default()
        };
        let global = DateRules {
            format: date_format.map(str::to_string),
            map_entry: None,
        };

        // Date formats first: mapped dates and date constants are checked with them.
        for (key, v) in section(&table, "date_formats").map_err(&fail)? {
            let at = format!("[date_formats] {}", quoted(key));
            let col = column(key).map_err(|e| fail(format!("{at}: {e}")))?;
            let toml::Value::String(format) = v else {
                return Err(fail(format!(
                    "{at}: write the format as text in quotes, e.g. \"%d/%m/%Y\""
                )));
            };
            if def(col).kind != Kind::Date {
                let dates: Vec<&str> = COLUMNS
                    .iter()
                    .filter(|c| c.kind == Kind::Date)
                    .map(|c| c.key)
                    .collect();
                return Err(fail(format!(
                    "{at}: `{}` is not a date column (date columns: {})",
                    def(col).key,
                    dates.join(", ")
                )));
            }
            if let Some(why) = date_format_problem(format) {
                return Err(fail(format!("{at} = \"{format}\": {why}")));
            }
            m.dates.insert(
                col,
                DateRules {
                    format: Some(format.clone()),
                    map_entry: Some(MapEntry {
                        key: key.clone(),
                        file: path.file_name().map_or_else(
                            || path.display().to_string(),
                            |n| n.to_string_lossy().into(),
                        ),
                    }),
                },
            );
        }
        for (key, v) in section(&table, "constants").map_err(&fail)? {
            let at = format!("[constants] {}", quoted(key));
            let col = column(key).map_err(|e| fail(format!("{at}: {e}")))?;
            let value = scalar(v).ok_or_else(|| fail(format!("{at}: {ONE_VALUE}")))?;
            m.check(col, &value, &global)
                .map_err(|e| fail(format!("{at} = {v}: {e}")))?;
            m.constants.insert(col, value);
        }
        for (key, v) in section(&table, "values").map_err(&fail)? {
            let at = format!("[values.{}]", quoted(key));
            let col = column(key).map_err(|e| fail(format!("{at}: {e}")))?;
            let toml::Value::Table(pairs) = v else {
                return Err(fail(format!(
                    "{at}: write the value map as a table of \"legacy value\" = \"template value\""
                )));
            };
            let mut map = HashMap::new();
            for (legacy, v) in pairs {
                let at = format!("{at} {}", quoted(legacy));
                let value = scalar(v).ok_or_else(|| fail(format!("{at}: {ONE_VALUE}")))?;
                if !value.is_empty() {
                    m.check(col, &value, &global)
                        .map_err(|e| fail(format!("{at} = {v}: {e}")))?;
                }
                if map.insert(value_key(legacy), value).is_some() {
                    return Err(fail(format!("{at}: maps the same legacy value as another key (they are compared ignoring case and spaces)")));
                }
            }
            m.values.entry(col).or_default().extend(map);
        }
        for (legacy, v) in &table {
            if SECTIONS.contains(&legacy.as_str()) {
                continue;
            }
            let toml::Value::String(target) = v else {
                let near = closest(legacy, SECTIONS)
                    .map(|s| format!(" (did you mean [{s}]?)"))
                    .unwrap_or_default();
                return Err(fail(format!(
                    "{}: not a rename (\"legacy header\" = \"template column\", in quotes) nor one of the sections [values.COLUMN], [constants], [date_formats]{near}",
                    quoted(legacy)
                )));
            };
            let at = format!("{} = {v}", quoted(legacy));
            let col = column(target).map_err(|e| fail(format!("{at}: {e}")))?;
            if m.renames
                .insert(normalize_header(legacy), col)
                .is_some_and(|c| c != col)
            {
                return Err(fail(format!("{at}: another key names the same legacy header (headers are compared ignoring case, spaces, _ and -)")));
            }
        }
        Ok(m)
    }

    /// The template column a legacy header is renamed to, if the map renames it.
    pub fn rename(&self, header: &str) -> Option<&'static str> {
        self.renames
            .get(&normalize_header(header))
            .map(|&c| def(c).key)
    }

    /// Whether the map gives a constant for the column with this template key.
    pub fn supplies(&self, key: &str) -> bool {
        self.constants.keys().any(|&c| def(c).key == key)
    }

    /// The cell of `col` as the template would have it: the value map applied, and the constant
    /// where the cell is blank or the sheet lacks the column (`written` is None then).
    pub fn template_cell<'a>(&'a self, col: Col, written: Option<Cell<'a>>) -> Option<Cell<'a>> {
        match (written.map(|c| self.apply(col, c)), self.constant(col)) {
            (Some(c), _) if !c.is_blank() => Some(c),
            (_, Some(constant)) => Some(Cell::Text(Cow::Borrowed(constant))),
            (c, None) => c,
        }
    }

    /// [`Mapping::template_cell`] as a value for the retry sheet, with a date in the map's format
    /// turned into a date, so the sheet imports without the map. A value the map cannot read
    /// stays as the file has it.
    pub fn template_value(&self, col: Col, cell: Option<&Value>) -> Option<Value> {
        let mapped = self.template_cell(col, cell.map(Value::as_cell))?;
        if let (Kind::Date, Some(rules), Cell::Text(_)) =
            (def(col).kind, self.date_rules(col), &mapped)
        {
            if let Ok(date) = values::date(&mapped, rules, None) {
                return Some(Value::Date(date.and_time(chrono::NaiveTime::MIN)));
            }
        }
        Some(mapped.to_value())
    }

    /// The constant for a column the sheet lacks.
    pub fn constant(&self, col: Col) -> Option<&str> {
        self.constants.get(&col).map(String::as_str)
    }

    /// The cell as the template would have it: its value map applied.
    pub fn apply<'a>(&'a self, col: Col, cell: Cell<'a>) -> Cell<'a> {
        let Some(map) = self.values.get(&col) else {
            return cell;
        };
        if cell.is_blank() {
            return cell;
        }
        match map.get(&value_key(&cell.display())) {
            Some(v) if v.is_empty() => Cell::Empty,
            Some(v) => Cell::Text(Cow::Borrowed(v)),
            None => cell,
        }
    }

    /// The map's date format for a column, if it gives one.
    pub fn date_rules(&self, col: Col) -> Option<&DateRules> {
        self.dates.get(&col)
    }

    /// Whether `value` is one the column accepts on its own (the rules that need the rest of the
    /// row are checked row by row).
    fn check(&self, col: Col, value: &str, global: &DateRules) -> Result<(), String> {
        let cell = Cell::Text(Cow::Borrowed(value));
        let result = match def(col).kind {
            Kind::Text { .. } => Ok(()),
            Kind::Bool => values::boolean(&cell).map(drop),
            Kind::Enum(allowed) => values::enum_value(&cell, allowed).map(drop),
            Kind::Int { min, max } => values::integer(&cell, min, max).map(drop),
            Kind::Date => {
                values::date(&cell, self.date_rules(col).unwrap_or(global), None).map(drop)
            }
            Kind::TimeZone => values::time_zone(&cell).map(drop),
            Kind::JsonObject => values::json_object(&cell).map(drop),
            Kind::IdList | Kind::LevelList => values::id_list(&cell).map(drop),
            Kind::AmountList => values::amount_list(&cell).map(drop),
            Kind::Amount => values::amount(&cell).map(drop),
        };
        result.map_err(|Issue { message, hint, .. }| match hint {
            Some(h) => format!("{message} ({h})"),
            None => message,
        })
    }
}

const ONE_VALUE: &str = "must be one value: text in quotes, a number, true/false or a date";

/// A section's entries: none when the file has no such section.
fn section<'t>(table: &'t toml::Table, name: &str) -> Result<&'t toml::Table, String> {
    static EMPTY: std::sync::OnceLock<toml::Table> = std::sync::OnceLock::new();
    match table.get(name) {
        None => Ok(EMPTY.get_or_init(toml::Table::new)),
        Some(toml::Value::Table(t)) => Ok(t),
        Some(_) => Err(format!(
            "`{name}` must be a section ([{name}]), not a single value"
        )),
    }
}

/// The template column a name in the map stands for, or a message naming the closest one.
fn column(name: &str) -> Result<Col, String> {
    let normalized = normalize_header(name);
    if let Some(c) = COLUMNS.iter().find(|c| c.matches(&normalized)) {
        return Ok(c.col);
    }
    Err(match closest(name, COLUMNS.iter().map(|c| c.key)) {
        Some(near) => format!("`{name}` is not a template column (did you mean `{near}`?)"),
        None => format!(
            "`{name}` is not a template column; the columns are {}",
            COLUMNS.iter().map(|c| c.key).collect::<Vec<_>>().join(", ")
        ),
    })
}

/// A TOML scalar as the text a cell would hold.
fn scalar(v: &toml::Value) -> Option<String> {
    Some(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => format_number(*f),
        toml::Value::Boolean(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(_) | toml::Value::Table(_) => return None,
    })
}

/// Legacy values are compared ignoring case and surrounding spaces.
fn value_key(text: &str) -> String {
    text.trim().to_lowercase()
}

/// A key as it would be written in the file.
fn quoted(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Mapping, String> {
        Mapping::parse(text, Path::new("map.toml"), None).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_every_section() {
        let m = parse(
            r#"
            "Campaign Title" = "name"
            Cadence = "frequencyType"
            [values.frequency_type]
            " Bi-weekly " = "WEEKLY"
            [values.active]
            Live = true
            "N/A" = ""
            [constants]
            frequency = 2
            target_entity = "TRANSACTION"
            [date_formats]
            start_date = "%d/%m/%Y"
            "#,
        )
        .unwrap();
        assert_eq!(m.rename("campaign_title"), Some("name"));
        assert_eq!(m.rename("CADENCE"), Some("frequency_type"));
        assert_eq!(m.rename("Title"), None);
        assert!(m.supplies("frequency") && !m.supplies("name"));
        assert_eq!(m.constant(Col::Frequency), Some("2"));
        let mapped = m.apply(Col::FrequencyType, Cell::Text("bi-WEEKLY".into()));
        assert_eq!(mapped, Cell::Text("WEEKLY".into()));
        assert_eq!(
            m.apply(Col::Active, Cell::Text("live".into())),
            Cell::Text("TRUE".into())
        );
        assert_eq!(m.apply(Col::Active, Cell::Text("n/a".into())), Cell::Empty);
        assert_eq!(
            m.apply(Col::Active, Cell::Text("Off".into())),
            Cell::Text("Off".into())
        );
        assert_eq!(
            m.date_rules(Col::StartDate).unwrap().format.as_deref(),
            Some("%d/%m/%Y")
        );
    }

    #[test]
    fn errors_name_the_file_the_key_and_the_closest_column() {
        for (text, wanted) in [
            ("\"Campaign Title\" = \"nmae\"", "--map map.toml: \"Campaign Title\" = \"nmae\": `nmae` is not a template column (did you mean `name`?)"),
            ("[values.frequncy_type]\nx = \"WEEKLY\"", "[values.frequncy_type]: `frequncy_type` is not a template column (did you mean `frequency_type`?)"),
            ("[constants]\nfrequncy = 2", "[constants] frequncy: `frequncy` is not a template column (did you mean `frequency`?)"),
            ("[date_formats]\nstart_dat = \"%d\"", "[date_formats] start_dat: `start_dat` is not a template column (did you mean `start_date`?)"),
            ("[date_formats]\nstart_date = \"%Q/%m\"", "[date_formats] start_date = \"%Q/%m\": not a valid chrono format"),
            ("[date_formats]\nname = \"%d/%m/%Y\"", "`name` is not a date column"),
            ("[value.frequency_type]\nx = \"WEEKLY\"", "(did you mean [values]?)"),
            ("[values.frequency_type]\n\"Bi-weekly\" = \"WEKLY\"", "[values.frequency_type] Bi-weekly = \"WEKLY\": `WEKLY` is not one of"),
            ("[constants]\nfrequency = 0", "[constants] frequency = 0: 0 is out of range"),
            ("[constants]\nstore_ids = [1, 2]", "[constants] store_ids: must be one value"),
            ("\"Title\" = ", "--map map.toml: not a valid TOML file"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(wanted), "{text}\n→ {err}");
        }
    }
}
