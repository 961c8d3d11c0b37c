//! The blank template (`streak-import template`), built from the column table alone: every
//! header, dropdown, number format, input message, instruction line and the example row comes
//! from [`COLUMNS`] and [`PERIOD_COLUMNS`], so the template can never drift from what the
//! validator reads.
//!
//! The workbook has a `streaks` sheet (header, example row, dropdowns on enum and boolean
//! columns, whole-number checks, date format, an input message per column), an empty `periods`
//! sheet for CUSTOM streaks, an `instructions` sheet, and — only when a value list is longer than
//! Excel accepts inline — a hidden `lists` sheet the dropdowns refer to.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, DataValidationRule, Format, FormatAlign, Formula,
    Workbook, Worksheet, XlsxError,
};

use crate::columns::{Col, ColumnDef, Kind, Need, COLUMNS, PERIOD_COLUMNS};
use crate::error::InputError;
use crate::sheet::Value;

/// The main sheet's name: the one `validate` reads by default.
pub const STREAKS_SHEET: &str = "streaks";
/// Explicit periods of CUSTOM streaks (SPEC §4).
pub const PERIODS_SHEET: &str = "periods";
pub const INSTRUCTIONS_SHEET: &str = "instructions";
/// Hidden; holds value lists too long for an inline dropdown.
pub const LISTS_SHEET: &str = "lists";

/// Dropdowns, checks and input messages cover the header's columns down to this spreadsheet row
/// (or further, when more rows are written).
pub const TEMPLATE_ROWS: u32 = 10_000;

/// Excel's limit for an inline dropdown list: the values joined with commas.
pub const LIST_LITERAL_LIMIT: usize = 255;
/// Excel's limits for a data validation's input message and its title.
pub const INPUT_MESSAGE_LIMIT: usize = 255;
pub const INPUT_TITLE_LIMIT: usize = 32;

/// The how-to lines at the top of the instructions sheet.
pub const HOW_TO: &[&str] = &[
    "Fill one row per streak on the `streaks` sheet, below the header. Row 2 is an example that validates: overwrite it or delete it.",
    "Selecting a cell shows its rule; enum and TRUE/FALSE columns have dropdowns. Leave a cell empty to use the default the rule names.",
    "CUSTOM streaks (frequency_type CUSTOM) take their periods from the `periods` sheet: one row per period, named by streak_name.",
    "Check the sheet offline with: streak-import validate FILE  (every problem, with its cell and a fix, and a report).",
    "Then preview with: streak-import import FILE --dry-run  and create the streaks with: streak-import import FILE",
];

/// What the instructions sheet says in its `required` column.
pub fn required_text(need: Need) -> &'static str {
    match need {
        Need::Always => "yes",
        Need::Sometimes => "when the rule says",
        Need::Optional => "no",
    }
}

/// The values a dropdown offers for a column kind: the enum's values, or TRUE/FALSE.
pub fn dropdown_values(kind: Kind) -> Option<Vec<&'static str>> {
    match kind {
        Kind::Enum(values) => Some(values.to_vec()),
        Kind::Bool => Some(vec!["TRUE", "FALSE"]),
        _ => None,
    }
}

/// `text` cut to `limit` characters, ending in `…` when it was cut.
pub fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// A column's example (or any text) as the typed cell a spreadsheet would hold: a date cell for
/// a date, a number for numbers, a boolean for booleans, text otherwise; empty text is an empty
/// cell. Text that does not fit the kind stays text (the validator then says what is wrong).
pub fn typed_value(kind: Kind, text: &str) -> Value {
    let t = text.trim();
    if t.is_empty() {
        return Value::Empty;
    }
    match kind {
        Kind::Date => match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Ok(d) => Value::Date(d.and_time(chrono::NaiveTime::MIN)),
            Err(_) => Value::Text(text.to_string()),
        },
        Kind::Int { .. } => match t.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Text(text.to_string()),
        },
        Kind::Amount | Kind::AmountList => match t.parse::<f64>() {
            Ok(n) if n.is_finite() && !t.contains(';') => Value::Number(n),
            _ => Value::Text(text.to_string()),
        },
        Kind::Bool => match t.to_ascii_uppercase().as_str() {
            "TRUE" => Value::Bool(true),
            "FALSE" => Value::Bool(false),
            _ => Value::Text(text.to_string()),
        },
        _ => Value::Text(text.to_string()),
    }
}

/// Whether a whole-number column holds IDs past what a number cell keeps exactly (2^53): the
/// template formats it as text, so Excel never rounds a long ID.
fn holds_ids(kind: Kind) -> bool {
    matches!(kind, Kind::Int { max, .. } if max > 1 << 53)
}

/// The example row: each column's `example`, typed, in table order; its start is a Monday two
/// to three weeks after `today`, so the example validates without a `backdated` warning.
pub fn example_row(today: NaiveDate) -> Vec<Value> {
    let start = (14..21)
        .map(|d| today + chrono::Duration::days(d))
        .find(|d| d.weekday() == chrono::Weekday::Mon)
        .unwrap_or(today);
    COLUMNS
        .iter()
        .map(|c| match c.kind {
            Kind::Date if c.col == Col::StartDate => {
                Value::Date(start.and_time(chrono::NaiveTime::MIN))
            }
            kind if holds_ids(kind) => typed_value(Kind::Text { max: 0 }, c.example),
            kind => typed_value(kind, c.example),
        })
        .collect()
}

/// A cell value as CSV text: dates as `YYYY-MM-DD`, booleans as `TRUE`/`FALSE`.
pub fn csv_text(value: &Value) -> String {
    match value {
        Value::FormulaNoValue => String::new(),
        other => other.as_cell().display(),
    }
}

fn write_error(path: &Path, detail: impl std::fmt::Display) -> InputError {
    InputError::Usage(format!(
        "{}: cannot write the template: {detail}. Check that the folder exists and the file is not open in Excel.",
        path.display()
    ))
}

/// Writes the CSV template: the header (the keys of [`COLUMNS`]) and `rows`, each in table order.
pub fn write_csv(path: &Path, rows: &[Vec<Value>]) -> Result<(), InputError> {
    write_table(
        path,
        &COLUMNS.iter().map(|c| c.key).collect::<Vec<_>>(),
        rows,
    )
}

/// Writes a periods CSV (`--periods FILE`): the keys of [`PERIOD_COLUMNS`] and `rows`.
pub fn write_periods_csv(path: &Path, rows: &[Vec<Value>]) -> Result<(), InputError> {
    write_table(
        path,
        &PERIOD_COLUMNS.iter().map(|c| c.key).collect::<Vec<_>>(),
        rows,
    )
}

fn write_table(path: &Path, keys: &[&str], rows: &[Vec<Value>]) -> Result<(), InputError> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_path(path)
        .map_err(|e| write_error(path, e))?;
    out.write_record(keys).map_err(|e| write_error(path, e))?;
    for row in rows {
        let cells: Vec<String> = (0..keys.len().max(row.len()))
            .map(|i| row.get(i).map(csv_text).unwrap_or_default())
            .collect();
        out.write_record(&cells).map_err(|e| write_error(path, e))?;
    }
    out.flush().map_err(|e| write_error(path, e))
}

/// Writes the XLSX template with `rows` on the `streaks` sheet and `periods` on the `periods`
/// sheet, each row in table order ([`COLUMNS`], [`PERIOD_COLUMNS`]). The command writes
/// `[example_row(today)]` and no periods; tests fill in rows of their own.
pub fn write_xlsx(
    path: &Path,
    rows: &[Vec<Value>],
    periods: &[Vec<Value>],
) -> Result<(), InputError> {
    let mut book = build(rows, periods, LIST_LITERAL_LIMIT).map_err(|e| write_error(path, e))?;
    book.save(path).map_err(|e| write_error(path, e))
}

struct Formats {
    header: Format,
    /// The header of a column every row needs: bold on a fill of its own.
    required: Format,
    date: Format,
    text: Format,
    bold: Format,
    wrap: Format,
}

/// The hidden sheet of long value lists, filled as dropdowns need it.
struct Lists {
    sheet: Worksheet,
    columns: Vec<Vec<&'static str>>,
}

impl Lists {
    /// The range of `values` on the lists sheet (added once per distinct list), as a formula.
    fn range(&mut self, values: &[&'static str]) -> Result<String, XlsxError> {
        let col = match self.columns.iter().position(|c| c == values) {
            Some(c) => c,
            None => {
                let c = self.columns.len();
                for (r, v) in values.iter().enumerate() {
                    self.sheet.write_string(r as u32, c as u16, *v)?;
                }
                self.columns.push(values.to_vec());
                c
            }
        };
        let letters = crate::problem::column_letters(col);
        Ok(format!(
            "{LISTS_SHEET}!${letters}$1:${letters}${}",
            values.len()
        ))
    }
}

fn build(
    rows: &[Vec<Value>],
    periods: &[Vec<Value>],
    literal_limit: usize,
) -> Result<Workbook, XlsxError> {
    let f = Formats {
        header: Format::new().set_bold(),
        required: Format::new()
            .set_bold()
            .set_background_color(rust_xlsxwriter::Color::RGB(0xFFE699)),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        text: Format::new().set_num_format("@"),
        bold: Format::new().set_bold(),
        wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
    };
    let mut book = Workbook::new();
    let mut lists = Lists {
        sheet: Worksheet::new(),
        columns: Vec::new(),
    };
    lists.sheet.set_name(LISTS_SHEET)?;

    let mut streaks = Worksheet::new();
    streaks.set_name(STREAKS_SHEET)?;
    data_sheet(&mut streaks, COLUMNS, rows, &f, &mut lists, literal_limit)?;
    streaks.set_active(true);
    book.push_worksheet(streaks);

    let mut period_sheet = Worksheet::new();
    period_sheet.set_name(PERIODS_SHEET)?;
    data_sheet(
        &mut period_sheet,
        PERIOD_COLUMNS,
        periods,
        &f,
        &mut lists,
        literal_limit,
    )?;
    book.push_worksheet(period_sheet);

    let mut instructions = Worksheet::new();
    instructions.set_name(INSTRUCTIONS_SHEET)?;
    instructions_sheet(&mut instructions, &f)?;
    book.push_worksheet(instructions);

    if !lists.columns.is_empty() {
        lists.sheet.set_hidden(true);
        book.push_worksheet(lists.sheet);
    }
    Ok(book)
}

/// A sheet of `table`'s columns: header, rows, and per column its width, number format,
/// dropdown or whole-number check, and input message.
fn data_sheet<C>(
    ws: &mut Worksheet,
    table: &[ColumnDef<C>],
    rows: &[Vec<Value>],
    f: &Formats,
    lists: &mut Lists,
    literal_limit: usize,
) -> Result<(), XlsxError> {
    let last_row = TEMPLATE_ROWS.max(rows.len() as u32 + 1) - 1;
    for (i, c) in table.iter().enumerate() {
        let col = i as u16;
        let header = if c.need == Need::Always {
            &f.required
        } else {
            &f.header
        };
        ws.write_string_with_format(0, col, c.key, header)?;
        let width = c.key.chars().count().max(c.example.chars().count()) + 3;
        ws.set_column_width(col, width.clamp(12, 36) as f64)?;
        match c.kind {
            Kind::Date => {
                ws.set_column_format(col, &f.date)?;
            }
            Kind::Text { .. }
            | Kind::TimeZone
            | Kind::JsonObject
            | Kind::IdList
            | Kind::LevelList => {
                ws.set_column_format(col, &f.text)?;
            }
            kind if holds_ids(kind) => {
                ws.set_column_format(col, &f.text)?;
            }
            _ => {}
        }
        ws.add_data_validation(1, col, last_row, col, &validation(c, lists, literal_limit)?)?;
    }
    ws.set_freeze_panes(1, 0)?;
    for (r, row) in rows.iter().enumerate() {
        for (i, value) in row.iter().enumerate() {
            write_cell(ws, r as u32 + 1, i as u16, value, f)?;
        }
    }
    Ok(())
}

/// The column's data validation: a dropdown for enum and boolean columns, a whole-number range
/// for whole-number columns that fit Excel's check, else none; always the input message.
fn validation<C>(
    c: &ColumnDef<C>,
    lists: &mut Lists,
    literal_limit: usize,
) -> Result<DataValidation, XlsxError> {
    let mut v = DataValidation::new();
    if let Some(values) = dropdown_values(c.kind) {
        let literal = values.join(",");
        v = if literal.chars().count() <= literal_limit {
            v.allow_list_strings(&values)?
        } else {
            v.allow_list_formula(Formula::new(lists.range(&values)?))
        };
        // Booleans also read yes/no, y/n, 1/0: warn, do not refuse.
        if c.kind == Kind::Bool {
            v = v.set_error_style(DataValidationErrorStyle::Warning);
        }
        v = v
            .set_error_title(truncate(c.key, INPUT_TITLE_LIMIT))?
            .set_error_message(truncate(
                &format!("Pick a value from the list: {literal}."),
                INPUT_MESSAGE_LIMIT,
            ))?;
    } else if let Kind::Int { min, max } = c.kind {
        if let (Ok(min), Ok(max)) = (i32::try_from(min), i32::try_from(max)) {
            v = v
                .allow_whole_number(DataValidationRule::Between(min, max))
                .set_error_title(truncate(c.key, INPUT_TITLE_LIMIT))?
                .set_error_message(truncate(
                    &format!("A whole number from {min} to {max}."),
                    INPUT_MESSAGE_LIMIT,
                ))?;
        }
    }
    let message = match c.need {
        Need::Always => format!("Required. {}", c.rule_text()),
        _ => c.rule_text(),
    };
    v.set_input_title(truncate(c.key, INPUT_TITLE_LIMIT))?
        .set_input_message(truncate(&message, INPUT_MESSAGE_LIMIT))
}

fn write_cell(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    value: &Value,
    f: &Formats,
) -> Result<(), XlsxError> {
    match value {
        Value::Empty | Value::FormulaNoValue => {}
        // Always a string cell: a value starting with `=` never becomes a formula.
        Value::Text(t) | Value::Error(t) => {
            ws.write_string(row, col, t)?;
        }
        // Beyond 2^53 a number cell would lose digits: keep such IDs as text.
        Value::Int(i) if i.unsigned_abs() > (1u64 << 53) => {
            ws.write_string(row, col, i.to_string())?;
        }
        Value::Int(i) => {
            ws.write_number(row, col, *i as f64)?;
        }
        Value::Number(n) => {
            ws.write_number(row, col, *n)?;
        }
        Value::Bool(b) => {
            ws.write_boolean(row, col, *b)?;
        }
        Value::Date(d) => {
            ws.write_datetime_with_format(row, col, d, &f.date)?;
        }
    }
    Ok(())
}

/// The header of each column table on the instructions sheet.
pub const INSTRUCTION_HEADER: [&str; 6] = [
    "column",
    "required",
    "API field",
    "rule",
    "example",
    "accepted header aliases",
];

fn instructions_sheet(ws: &mut Worksheet, f: &Formats) -> Result<(), XlsxError> {
    for (col, width) in [
        (0u16, 24.0),
        (1, 20.0),
        (2, 44.0),
        (3, 80.0),
        (4, 26.0),
        (5, 36.0),
    ] {
        ws.set_column_width(col, width)?;
    }
    ws.write_string_with_format(0, 0, "How to use this template", &f.bold)?;
    let mut r = 1;
    for line in HOW_TO {
        ws.write_string(r, 0, *line)?;
        r += 1;
    }
    r += 1;
    r = column_table(
        ws,
        r,
        "Columns of the `streaks` sheet (one row per streak)",
        COLUMNS,
        f,
    )?;
    r += 1;
    column_table(
        ws,
        r,
        "Columns of the `periods` sheet (CUSTOM streaks: one row per period)",
        PERIOD_COLUMNS,
        f,
    )?;
    Ok(())
}

/// A titled table of `table`'s columns from row `r`; returns the row after it.
fn column_table<C>(
    ws: &mut Worksheet,
    mut r: u32,
    title: &str,
    table: &[ColumnDef<C>],
    f: &Formats,
) -> Result<u32, XlsxError> {
    ws.write_string_with_format(r, 0, title, &f.bold)?;
    r += 1;
    for (i, h) in INSTRUCTION_HEADER.iter().enumerate() {
        ws.write_string_with_format(r, i as u16, *h, &f.header)?;
    }
    r += 1;
    for c in table {
        let cells = [
            c.key.to_string(),
            required_text(c.need).to_string(),
            c.api_field.to_string(),
            c.rule_text(),
            c.example.to_string(),
            c.aliases.join(", "),
        ];
        for (i, text) in cells.iter().enumerate() {
            ws.write_string_with_format(r, i as u16, text, &f.wrap)?;
        }
        r += 1;
    }
    Ok(r)
}

/// `2026-07-04` as the date value a template cell holds (for tests filling rows).
pub fn date(text: &str) -> Value {
    typed_value(Kind::Date, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn part(path: &Path, name: &str) -> String {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn truncates_to_the_limit_with_an_ellipsis() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("abcd", 3).chars().count(), 3);
    }

    #[test]
    fn examples_are_typed_by_kind() {
        assert_eq!(typed_value(Kind::Bool, "TRUE"), Value::Bool(true));
        assert_eq!(
            typed_value(Kind::Int { min: 1, max: 3 }, "3"),
            Value::Int(3)
        );
        assert_eq!(typed_value(Kind::AmountList, "500"), Value::Number(500.0));
        assert_eq!(
            typed_value(Kind::AmountList, "1;2"),
            Value::Text("1;2".into())
        );
        assert_eq!(typed_value(Kind::Text { max: 9 }, ""), Value::Empty);
        assert!(matches!(
            typed_value(Kind::Date, "2026-07-04"),
            Value::Date(_)
        ));
        assert_eq!(
            example_row(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()).len(),
            COLUMNS.len()
        );
    }

    #[test]
    fn every_rule_fits_an_input_message_once_truncated() {
        for c in COLUMNS {
            assert!(
                truncate(&c.rule_text(), INPUT_MESSAGE_LIMIT)
                    .chars()
                    .count()
                    <= INPUT_MESSAGE_LIMIT
            );
            assert!(c.key.chars().count() <= INPUT_TITLE_LIMIT, "{}", c.key);
        }
    }

    /// Lists longer than Excel's inline limit go to the hidden `lists` sheet, referenced by range.
    #[test]
    fn long_lists_move_to_the_hidden_lists_sheet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let mut book = build(
            &[example_row(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap())],
            &[],
            20,
        )
        .unwrap();
        book.save(&path).unwrap();
        let sheet1 = part(&path, "xl/worksheets/sheet1.xml");
        let workbook = part(&path, "xl/workbook.xml");
        assert!(
            workbook.contains(r#"<sheet name="lists" sheetId="4" state="hidden""#),
            "{workbook}"
        );
        // TRUE,FALSE is 10 characters: still inline; the enum lists are longer than 20.
        assert!(
            sheet1.contains("<formula1>\"TRUE,FALSE\"</formula1>"),
            "{sheet1}"
        );
        assert!(sheet1.contains("<formula1>lists!$A$1:$A$"), "{sheet1}");
        let lists = part(&path, "xl/worksheets/sheet4.xml");
        assert!(lists.contains("<c r=\"A1\""), "{lists}");

        // At Excel's real limit every list of the table is inline, and no lists sheet is added.
        let mut book = build(
            &[example_row(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap())],
            &[],
            LIST_LITERAL_LIMIT,
        )
        .unwrap();
        book.save(&path).unwrap();
        assert!(!part(&path, "xl/workbook.xml").contains("lists"));
    }
}
