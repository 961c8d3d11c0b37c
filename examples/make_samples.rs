//! Builds `samples/campaign.xlsx` from `samples/campaign.csv` and `samples/campaign-periods.csv`.
//!
//!     cargo run --example make_samples
//!
//! Each cell is written as the type its column holds (read from the column table, not
//! hard-coded): dates as real date cells, numbers as number cells, booleans as boolean cells,
//! everything else as text. A workbook made this way is what a user's Excel file looks like.

use std::error::Error;
use std::path::Path;

use chrono::NaiveDate;
use rust_xlsxwriter::{DocProperties, Format, Workbook, Worksheet};
use streak_import::columns::{normalize_header, Kind, COLUMNS, PERIOD_COLUMNS};

/// Excel keeps 15 significant digits; longer IDs must be text or they lose their last digits.
const MAX_NUMBER_DIGITS: usize = 15;

fn main() -> Result<(), Box<dyn Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let streaks: Vec<(&str, Kind)> = COLUMNS.iter().map(|c| (c.key, c.kind)).collect();
    let periods: Vec<(&str, Kind)> = PERIOD_COLUMNS.iter().map(|c| (c.key, c.kind)).collect();

    let mut book = Workbook::new();
    // A fixed creation date: regenerating unchanged data gives the same file, not a new diff.
    let created = NaiveDate::from_ymd_opt(2026, 7, 1).ok_or("bad date")?;
    book.set_properties(
        &DocProperties::new()
            .set_title("streak-import sample campaign")
            .set_creation_datetime(&created),
    );
    add_sheet(
        book.add_worksheet().set_name("streaks")?,
        &dir.join("campaign.csv"),
        &streaks,
    )?;
    add_sheet(
        book.add_worksheet().set_name("periods")?,
        &dir.join("campaign-periods.csv"),
        &periods,
    )?;
    let out = dir.join("campaign.xlsx");
    book.save(&out)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// Copies one CSV into `sheet`: a bold header row, then each cell typed by its column's kind.
fn add_sheet(
    sheet: &mut Worksheet,
    csv_path: &Path,
    table: &[(&str, Kind)],
) -> Result<(), Box<dyn Error>> {
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut reader = csv::Reader::from_path(csv_path)?;
    let headers = reader.headers()?.clone();
    let kinds: Vec<Option<Kind>> = headers
        .iter()
        .map(|h| {
            table
                .iter()
                .find(|(key, _)| normalize_header(key) == normalize_header(h))
                .map(|(_, k)| *k)
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(str::len).collect();

    for (col, header) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, header, &bold)?;
    }
    for (i, record) in reader.records().enumerate() {
        let row = i as u32 + 1;
        for (col, text) in record?.iter().enumerate() {
            let c = col as u16;
            widths[col] = widths[col].max(text.chars().count());
            if text.is_empty() {
                continue;
            }
            match (kinds[col], text.parse::<f64>()) {
                (Some(Kind::Date), _) => sheet.write_datetime_with_format(
                    row,
                    c,
                    NaiveDate::parse_from_str(text, "%Y-%m-%d")?,
                    &date,
                )?,
                (Some(Kind::Bool), _) if text.eq_ignore_ascii_case("true") => {
                    sheet.write_boolean(row, c, true)?
                }
                (Some(Kind::Bool), _) if text.eq_ignore_ascii_case("false") => {
                    sheet.write_boolean(row, c, false)?
                }
                (Some(kind), Ok(n))
                    if numeric(kind) && n.is_finite() && digits(text) <= MAX_NUMBER_DIGITS =>
                {
                    sheet.write_number(row, c, n)?
                }
                _ => sheet.write_string(row, c, text)?,
            };
        }
    }
    for (col, width) in widths.iter().enumerate() {
        sheet.set_column_width(col as u16, (*width).clamp(10, 60) as f64 + 2.0)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// Kinds held as number cells. A `;`-list holding a single number is a number too, as Excel makes
/// it when one is typed; longer lists stay text.
fn numeric(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Int { .. } | Kind::Amount | Kind::AmountList | Kind::IdList | Kind::LevelList
    )
}

fn digits(text: &str) -> usize {
    text.bytes().filter(u8::is_ascii_digit).count()
}
