//! Reading one cell as a typed value, by the rules of SPEC §3. Each reader returns the value or an
//! [`Issue`]: a code, a message and, where one helps, a hint. Nothing here guesses.

use std::borrow::Cow;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

use crate::problem::Code;
use crate::sheet::{format_number, trim, Cell};
use crate::text::closest;

#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub code: Code,
    pub message: String,
    pub hint: Option<String>,
}

impl Issue {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Issue {
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Above this, an f64 no longer holds every whole number: Excel has already changed the digits.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0; // 2^53

/// Cells that can't be read as anything: formulas never calculated and error values.
fn unusable(cell: &Cell, invalid: Code) -> Option<Issue> {
    match cell {
        Cell::FormulaNoValue => Some(
            Issue::new(Code::FormulaWithoutValue, "the cell holds a formula whose result was never saved")
                .hint("open the file in Excel and save it, so the formula's value is stored, or paste the value instead"),
        ),
        Cell::Error(e) => Some(
            Issue::new(invalid, format!("the cell holds the error value {e}"))
                .hint("fix the formula or type the value"),
        ),
        _ => None,
    }
}

/// Text as written, trimmed; the flag says whether trimming changed it.
pub fn text(cell: &Cell) -> Result<(String, bool), Issue> {
    trimmed(cell.clone()).map(|(t, changed)| (t.into_owned(), changed))
}

/// Text as written, trimmed, borrowed from the row where it can be: most cells are read only to
/// be checked, and copying them would be most of the work.
pub fn trimmed(cell: Cell<'_>) -> Result<(Cow<'_, str>, bool), Issue> {
    if let Some(issue) = unusable(&cell, Code::MissingValue) {
        return Err(issue);
    }
    Ok(match cell {
        Cell::Text(Cow::Borrowed(raw)) => {
            let t = trim(raw);
            (Cow::Borrowed(t), t.len() != raw.len())
        }
        other => {
            let raw = other.text();
            let t = trim(&raw);
            (Cow::Owned(t.to_string()), t.len() != raw.len())
        }
    })
}

/// Enum cells ignore case and read spaces and `-` as `_` (`Half-yearly` → `HALF_YEARLY`).
pub fn enum_value(cell: &Cell, allowed: &[&'static str]) -> Result<&'static str, Issue> {
    if let Some(issue) = unusable(cell, Code::InvalidEnum) {
        return Err(issue);
    }
    let raw = cell.text();
    let fold = |c: char| {
        if c == ' ' || c == '-' {
            '_'
        } else {
            c.to_ascii_uppercase()
        }
    };
    // Compared char by char, so the common, valid cell allocates nothing.
    let wanted = trim(&raw);
    // Most cells are written exactly as allowed: compared byte by byte here, which for these
    // short words is quicker than calling the library's comparison for each allowed value.
    let exact =
        |v: &&&str| v.len() == wanted.len() && v.bytes().zip(wanted.bytes()).all(|(a, b)| a == b);
    if let Some(v) = allowed.iter().find(exact) {
        return Ok(v);
    }
    if let Some(v) = allowed
        .iter()
        .find(|v| v.len() == wanted.len() && wanted.chars().map(fold).eq(v.chars()))
    {
        return Ok(v);
    }
    let normalized: String = wanted.chars().map(fold).collect();
    let issue = Issue::new(
        Code::InvalidEnum,
        format!("`{}` is not one of {}", raw.trim(), allowed.join(", ")),
    );
    Err(match closest(&normalized, allowed.iter().copied()) {
        Some(near) => issue.hint(format!("did you mean {near}?")),
        // The message already lists the allowed values; a legacy value may need a --map entry.
        None => issue.hint(format!(
            "pick one of the values listed, or map `{}` to one of them with --map",
            raw.trim()
        )),
    })
}

pub fn boolean(cell: &Cell) -> Result<bool, Issue> {
    if let Some(issue) = unusable(cell, Code::InvalidBool) {
        return Err(issue);
    }
    match cell {
        Cell::Bool(b) => return Ok(*b),
        Cell::Int(1) => return Ok(true),
        Cell::Int(0) => return Ok(false),
        Cell::Number(n) if *n == 1.0 => return Ok(true),
        Cell::Number(n) if *n == 0.0 => return Ok(false),
        _ => {}
    }
    let raw = cell.text();
    let t = trim(&raw);
    let is = |words: [&str; 4]| words.iter().any(|w| w.eq_ignore_ascii_case(t));
    if is(["true", "yes", "y", "1"]) {
        return Ok(true);
    }
    if is(["false", "no", "n", "0"]) {
        return Ok(false);
    }
    Err(
        Issue::new(Code::InvalidBool, format!("`{t}` is not a yes/no value"))
            .hint("use TRUE or FALSE (yes/no, y/n and 1/0 also work)"),
    )
}

/// Text in plain decimal notation: digits, an optional sign and fraction; nothing else.
fn plain_decimal(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text).as_bytes();
    let (int, frac) = split_dot(body);
    !int.is_empty()
        && int.iter().all(u8::is_ascii_digit)
        && frac.is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit))
}

/// An optionally signed run of ASCII digits as a number; None when it does not fit.
fn whole_number(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    // Summed towards the sign, so that i64::MIN fits too.
    digits.iter().try_fold(0i64, |n, &d| {
        let d = i64::from(d - b'0');
        n.checked_mul(10)?
            .checked_add(if negative { -d } else { d })
    })
}

/// The parts before and after the first `.` (numbers are short: a plain loop is quickest).
fn split_dot(s: &[u8]) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&b| b == b'.') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

fn not_a_number(text: &str, whole: bool) -> Issue {
    let issue = Issue::new(Code::InvalidNumber, format!("`{text}` is not a number"));
    let lower = text.to_ascii_lowercase();
    if lower.contains('e')
        && lower
            .replace(['e', '+', '-', '.'], "")
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        issue.hint("scientific notation means Excel has already rounded the number; format the column as Text and type the full number again")
    } else if text.contains(',')
        && text
            .replace([',', '.'], "")
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        issue.hint(format!(
            "write it without separators, e.g. {}",
            text.replace(',', "")
        ))
    } else if whole {
        issue.hint("write a whole number such as 4")
    } else {
        issue.hint("write a plain number such as 500 or 12.5")
    }
}

/// A whole number in `min..=max`.
pub fn integer(cell: &Cell, min: i64, max: i64) -> Result<i64, Issue> {
    if let Some(issue) = unusable(cell, Code::InvalidNumber) {
        return Err(issue);
    }
    let value = match cell {
        Cell::Int(i) => *i,
        Cell::Number(n) => {
            if n.abs() > MAX_EXACT_INTEGER {
                return Err(Issue::new(
                    Code::InvalidNumber,
                    format!("{} has more digits than a spreadsheet number keeps; its last digits are already lost", format_number(*n)),
                )
                .hint("format the column as Text and type the full ID again"));
            }
            if n.fract() != 0.0 {
                return Err(Issue::new(
                    Code::InvalidNumber,
                    format!("{n} is not a whole number"),
                ));
            }
            *n as i64
        }
        Cell::Bool(_) | Cell::Date(_) => {
            return Err(Issue::new(
                Code::InvalidNumber,
                format!("`{}` is not a number", cell.display()),
            ))
        }
        _ => {
            let raw = cell.text();
            let t = trim(&raw);
            if !plain_decimal(t) {
                return Err(not_a_number(t, true));
            }
            let (int, frac) = split_dot(t.as_bytes());
            if frac.is_some_and(|f| f.iter().any(|&b| b != b'0')) {
                return Err(Issue::new(
                    Code::InvalidNumber,
                    format!("{t} is not a whole number"),
                ));
            }
            match whole_number(int) {
                Some(v) => v,
                None => {
                    return Err(Issue::new(
                        Code::OutOfRange,
                        format!("{t} is too large (a 64-bit whole number at most)"),
                    ))
                }
            }
        }
    };
    if value < min || value > max {
        let range = if max == i64::MAX {
            format!("at least {min}")
        } else {
            format!("between {min} and {max}")
        };
        return Err(Issue::new(
            Code::OutOfRange,
            format!("{value} is out of range: must be {range}"),
        ));
    }
    Ok(value)
}

/// A number ≥ 0.
pub fn amount(cell: &Cell) -> Result<f64, Issue> {
    if let Some(issue) = unusable(cell, Code::InvalidNumber) {
        return Err(issue);
    }
    let value = match cell {
        Cell::Int(i) => *i as f64,
        Cell::Number(n) => *n,
        Cell::Text(t) => amount_text(trim(t))?,
        _ => {
            return Err(Issue::new(
                Code::InvalidNumber,
                format!("`{}` is not a number", cell.display()),
            ))
        }
    };
    check_amount(value)
}

fn amount_text(t: &str) -> Result<f64, Issue> {
    if !plain_decimal(t) {
        return Err(not_a_number(t, false));
    }
    t.parse::<f64>().map_err(|_| not_a_number(t, false))
}

fn check_amount(value: f64) -> Result<f64, Issue> {
    if !value.is_finite() || value < 0.0 {
        return Err(Issue::new(
            Code::OutOfRange,
            format!(
                "{} is negative: target values must be 0 or more",
                format_number(value)
            ),
        ));
    }
    Ok(value)
}

/// The `;`-separated items of a text cell, trimmed, empty ones skipped (borrowed: no copies).
fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split(';').map(trim).filter(|s| !s.is_empty())
}

/// `500` or `100;200;300`.
pub fn amount_list(cell: &Cell) -> Result<Vec<f64>, Issue> {
    if let Some(issue) = unusable(cell, Code::InvalidNumber) {
        return Err(issue);
    }
    if let Cell::Int(_) | Cell::Number(_) = cell {
        return amount(cell).map(|v| vec![v]);
    }
    items(&cell.text())
        .map(|t| amount_text(t).and_then(check_amount))
        .collect()
}

/// `;`-separated positive whole numbers (store, zone and concept IDs).
pub fn id_list(cell: &Cell) -> Result<Vec<i64>, Issue> {
    if let Some(issue) = unusable(cell, Code::InvalidNumber) {
        return Err(issue);
    }
    if let Cell::Int(_) | Cell::Number(_) = cell {
        return integer(cell, 1, i64::MAX).map(|v| vec![v]);
    }
    let whole = cell.text();
    let several = items(&whole).nth(1).is_some();
    items(&whole)
        .map(|t| {
            integer(&Cell::Text(t.into()), 1, i64::MAX).map_err(|mut issue| {
                if several {
                    issue.message = format!("in `{}`: {}", whole.trim(), issue.message);
                }
                issue.hint("write positive whole numbers separated by ;, e.g. 101;102")
            })
        })
        .collect()
}

pub fn time_zone(cell: &Cell) -> Result<Tz, Issue> {
    thread_local! {
        /// The zone read last: a sheet's rows mostly share one, and looking a name up costs
        /// more than comparing it.
        static LAST: std::cell::RefCell<(String, Option<Tz>)> = const {
            std::cell::RefCell::new((String::new(), None))
        };
    }
    let (name, _) = trimmed(cell.clone())?;
    let known = LAST.with_borrow(|(last, tz)| tz.filter(|_| *last == name));
    if let Some(tz) = known {
        return Ok(tz);
    }
    let parsed = name.parse::<Tz>();
    if let Ok(tz) = parsed {
        LAST.with_borrow_mut(|last| *last = (name.to_string(), Some(tz)));
    }
    parsed.map_err(|_| {
        let issue = Issue::new(
            Code::InvalidTimeZone,
            format!("`{name}` is not an IANA time zone"),
        );
        match closest(&name, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name())) {
            Some(near) => issue.hint(format!("did you mean {near}?")),
            None => issue.hint("use a name like Asia/Kolkata or Europe/London"),
        }
    })
}

pub fn json_object(cell: &Cell) -> Result<String, Issue> {
    let (t, _) = text(cell)?;
    match serde_json::from_str::<serde_json::Value>(&t) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v.to_string()),
        Ok(_) => Err(Issue::new(
            Code::InvalidJson,
            "expression_json must be a JSON object ({…})",
        )),
        Err(e) => Err(Issue::new(
            Code::InvalidJson,
            format!("not valid JSON: {e}"),
        )),
    }
}

/// The date an Excel serial number stands for (the 1900 date system).
pub fn excel_serial_date(serial: f64) -> Option<NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    base.checked_add_signed(Duration::days(serial.floor() as i64))
}

/// How dates in text are read: ISO always, and the user's `--date-format` if given.
#[derive(Debug, Clone, Default)]
pub struct DateRules {
    pub format: Option<String>,
    /// Where the format is set when not by `--date-format`: a `--map` file's `[date_formats]`
    /// entry, which is what a hint must name.
    pub map_entry: Option<MapEntry>,
}

/// A `[date_formats]` entry of a map file.
#[derive(Debug, Clone)]
pub struct MapEntry {
    pub key: String,
    pub file: String,
}

impl DateRules {
    /// The setting that holds `format`, as a message names it.
    fn setting(&self, format: &str) -> String {
        match &self.map_entry {
            Some(m) => format!("{} = \"{format}\" in {}", m.key, m.file),
            None => format!("--date-format {format}"),
        }
    }

    /// How to read dates as `format`: what the user should change.
    fn advice(&self, format: &str) -> String {
        match &self.map_entry {
            Some(m) => format!(
                "set {} = \"{format}\" under [date_formats] in {}",
                m.key, m.file
            ),
            None => format!("pass --date-format {format}"),
        }
    }
}

/// A calendar date in the row's time zone. ISO text with `Z` or an offset is converted to `zone`
/// first (UTC when the row has none).
pub fn date(cell: &Cell, rules: &DateRules, zone: Option<Tz>) -> Result<NaiveDate, Issue> {
    if let Some(issue) = unusable(cell, Code::InvalidDate) {
        return Err(issue);
    }
    match cell {
        Cell::Date(d) => Ok(d.date()),
        Cell::Int(_) | Cell::Number(_) => {
            let n = match cell {
                Cell::Int(i) => *i as f64,
                Cell::Number(n) => *n,
                _ => unreachable!("matched above"),
            };
            Err(serial_issue(&format_number(n), n))
        }
        Cell::Bool(_) => Err(Issue::new(
            Code::InvalidDate,
            format!("`{}` is not a date", cell.display()),
        )),
        _ => date_text(trim(&cell.text()), rules, zone),
    }
}

fn serial_issue(shown: &str, n: f64) -> Issue {
    let issue = Issue::new(
        Code::InvalidDate,
        format!("{shown} is a plain number, not a date"),
    );
    match excel_serial_date(n) {
        Some(d) => issue.hint(format!(
            "as an Excel date serial, {shown} would be {d}; format the cell as a date, or write {d}"
        )),
        None => issue.hint("write the date as YYYY-MM-DD"),
    }
}

pub fn date_text(t: &str, rules: &DateRules, zone: Option<Tz>) -> Result<NaiveDate, Issue> {
    if let Some(d) = iso_date(t, zone) {
        return d;
    }
    if let Some(format) = &rules.format {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(dt.date());
        }
        if let Ok(d) = NaiveDate::parse_from_str(t, format) {
            return Ok(d);
        }
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        if let Ok(n) = t.parse::<f64>() {
            return Err(serial_issue(t, n));
        }
    }
    if let Some(issue) = day_month_issue(t, rules) {
        return Err(issue);
    }
    let issue = Issue::new(Code::InvalidDate, format!("`{t}` is not a date"));
    Err(match &rules.format {
        Some(f) => issue.hint(format!(
            "it matches neither YYYY-MM-DD nor {}",
            rules.setting(f)
        )),
        None => issue.hint("write it as YYYY-MM-DD, or pass --date-format with the sheet's format"),
    })
}

/// ISO 8601: `YYYY-MM-DD`, optionally `THH:mm[:ss[.SSS]]` and `Z` or an offset.
/// `None` when the text is not ISO-shaped at all; `Some(Err)` when it is but names no real date.
fn iso_date(t: &str, zone: Option<Tz>) -> Option<Result<NaiveDate, Issue>> {
    let b = t.as_bytes();
    let iso_shaped = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b.len() == 10 || b[10] == b'T');
    if !iso_shaped {
        return None;
    }
    if b.len() == 10 {
        // By hand: chrono's parser re-reads its format string on every call.
        let num = |r: std::ops::Range<usize>| {
            let digits = t.get(r)?;
            digits
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| digits.parse::<u32>().ok())?
        };
        let date = match (num(0..4), num(5..7), num(8..10)) {
            (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d),
            _ => None,
        };
        return Some(date.ok_or_else(|| no_such_day(t)));
    }
    let with_offset = t
        .strip_suffix('Z')
        .map(|s| format!("{s}+00:00"))
        .unwrap_or_else(|| t.to_string());
    for f in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z"] {
        if let Ok(dt) = DateTime::parse_from_str(&with_offset, f) {
            let local = match zone {
                Some(z) => dt.with_timezone(&z).date_naive(),
                None => dt.naive_utc().date(),
            };
            return Some(Ok(local));
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, f) {
            return Some(Ok(dt.date()));
        }
    }
    Some(Err(no_such_day(t)))
}

fn no_such_day(t: &str) -> Issue {
    if t.len() == 10 {
        return Issue::new(Code::InvalidDate, format!("`{t}` is not a real date"))
            .hint("check the day and the month (YYYY-MM-DD)");
    }
    Issue::new(
        Code::InvalidDate,
        format!("`{t}` is not a real date and time"),
    )
    .hint("check the day and month (YYYY-MM-DD) and the time (THH:mm[:ss[.SSS]])")
}

/// `03/04/2026`: two readings are possible, so the message names both and the tool picks neither.
fn day_month_issue(t: &str, rules: &DateRules) -> Option<Issue> {
    let sep = t.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
    let parts: Vec<&str> = t.split(sep).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (a, b): (u32, u32) = (parts[0].parse().ok()?, parts[1].parse().ok()?);
    let mut year: i32 = parts[2].parse().ok()?;
    if parts[2].len() == 2 {
        year += 2000;
    }
    let day_first = NaiveDate::from_ymd_opt(year, b, a);
    let month_first = NaiveDate::from_ymd_opt(year, a, b);
    let y = if parts[2].len() == 2 { "%y" } else { "%Y" };
    let fmt_dm = format!("%d{sep}%m{sep}{y}");
    let fmt_md = format!("%m{sep}%d{sep}{y}");
    let long = |d: NaiveDate| d.format("%-d %B %Y").to_string();
    let tried = rules
        .format
        .as_ref()
        .map(|f| format!(" (it does not match {})", rules.setting(f)))
        .unwrap_or_default();
    match (day_first, month_first) {
        (Some(d1), Some(d2)) if d1 != d2 => Some(
            Issue::new(
                Code::AmbiguousDate,
                format!(
                    "`{t}` could be {} (day first) or {} (month first){tried}",
                    long(d1),
                    long(d2)
                ),
            )
            .hint(format!(
                "write {d1} or {d2}, or {} (or {fmt_md})",
                rules.advice(&fmt_dm)
            )),
        ),
        (Some(d), _) => Some(
            Issue::new(
                Code::InvalidDate,
                format!("`{t}` is not in YYYY-MM-DD form{tried}"),
            )
            .hint(format!(
                "if it means {}, write {d} or {}",
                long(d),
                rules.advice(&fmt_dm)
            )),
        ),
        (None, Some(d)) => Some(
            Issue::new(
                Code::InvalidDate,
                format!("`{t}` is not in YYYY-MM-DD form{tried}"),
            )
            .hint(format!(
                "if it means {}, write {d} or {}",
                long(d),
                rules.advice(&fmt_md)
            )),
        ),
        (None, None) => None,
    }
}

/// What is wrong with a chrono date format, if anything (`--date-format`, a map's `[date_formats]`).
pub fn date_format_problem(format: &str) -> Option<&'static str> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        return Some("not a valid chrono format. Use e.g. %d/%m/%Y, %m/%d/%Y or %d.%m.%Y.");
    }
    if !format.contains("%d") && !format.contains("%e") && !format.contains("%j") {
        return Some("has no day (%d); e.g. %d/%m/%Y.");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Cell<'_> {
        Cell::Text(s.into())
    }

    #[test]
    fn enums_normalize_case_space_and_dash() {
        let f = crate::columns::FREQUENCY_TYPES;
        assert_eq!(enum_value(&t("Half-yearly"), f), Ok("HALF_YEARLY"));
        assert_eq!(enum_value(&t(" weekly "), f), Ok("WEEKLY"));
        let e = enum_value(&t("Weekley"), f).unwrap_err();
        assert_eq!(e.code, Code::InvalidEnum);
        assert_eq!(e.hint.as_deref(), Some("did you mean WEEKLY?"));
    }

    #[test]
    fn booleans() {
        for (s, v) in [
            ("TRUE", true),
            ("yes", true),
            ("Y", true),
            ("1", true),
            ("false", false),
            ("No", false),
            ("n", false),
            ("0", false),
        ] {
            assert_eq!(boolean(&t(s)), Ok(v), "{s}");
        }
        assert_eq!(boolean(&Cell::Bool(false)), Ok(false));
        assert_eq!(boolean(&t("maybe")).unwrap_err().code, Code::InvalidBool);
    }

    proptest::proptest! {
        #[test]
        fn whole_numbers_read_as_std_reads_them(s in "[+-]?[0-9]{1,21}") {
            proptest::prop_assert_eq!(whole_number(s.as_bytes()), s.parse::<i64>().ok());
        }
    }

    #[test]
    fn time_zones_read_again_from_the_last_one() {
        assert_eq!(time_zone(&t("Asia/Dubai")), Ok(Tz::Asia__Dubai));
        assert_eq!(time_zone(&t(" Asia/Dubai ")), Ok(Tz::Asia__Dubai));
        assert_eq!(time_zone(&t("Europe/London")), Ok(Tz::Europe__London));
        assert_eq!(
            time_zone(&t("Asia/Dubia")).unwrap_err().code,
            Code::InvalidTimeZone
        );
        assert_eq!(time_zone(&t("Europe/London")), Ok(Tz::Europe__London));
        assert_eq!(whole_number(b"-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn integers_from_text_and_cells() {
        assert_eq!(integer(&t("12"), 1, 100), Ok(12));
        assert_eq!(integer(&t("12.0"), 1, 100), Ok(12));
        assert_eq!(integer(&Cell::Number(3.0), 1, 100), Ok(3));
        assert_eq!(
            integer(&t("12.5"), 1, 100).unwrap_err().code,
            Code::InvalidNumber
        );
        assert_eq!(
            integer(&t("101"), 1, 100).unwrap_err().code,
            Code::OutOfRange
        );
        assert_eq!(integer(&t("0"), 1, 100).unwrap_err().code, Code::OutOfRange);
        assert_eq!(
            integer(&t("abc"), 1, 100).unwrap_err().code,
            Code::InvalidNumber
        );
        // Long IDs: exact as text, refused once a number cell has lost digits.
        assert_eq!(
            integer(&t("9007199254740993"), 1, i64::MAX),
            Ok(9_007_199_254_740_993)
        );
        let lost = integer(&Cell::Number(12345678901234567890.0), 1, i64::MAX).unwrap_err();
        assert_eq!(lost.code, Code::InvalidNumber);
        assert!(lost.message.contains("digits"));
        let sci = integer(&t("1.23457E+17"), 1, i64::MAX).unwrap_err();
        assert!(sci.hint.unwrap().contains("scientific"));
        assert_eq!(
            integer(&t("99999999999999999999"), 1, i64::MAX)
                .unwrap_err()
                .code,
            Code::OutOfRange
        );
    }

    #[test]
    fn amounts_and_lists() {
        assert_eq!(
            amount_list(&t("100;200; 300")),
            Ok(vec![100.0, 200.0, 300.0])
        );
        assert_eq!(amount_list(&Cell::Number(12.5)), Ok(vec![12.5]));
        assert_eq!(amount_list(&t("-1")).unwrap_err().code, Code::OutOfRange);
        assert_eq!(
            amount_list(&t("1,000")).unwrap_err().hint.as_deref(),
            Some("write it without separators, e.g. 1000")
        );
        assert_eq!(id_list(&t("101;102")), Ok(vec![101, 102]));
        assert_eq!(id_list(&t("101;x")).unwrap_err().code, Code::InvalidNumber);
    }

    #[test]
    fn iso_dates_with_and_without_offsets() {
        let r = DateRules::default();
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(date(&t("2026-07-01"), &r, None), Ok(d(2026, 7, 1)));
        assert_eq!(date(&t("2026-07-01T10:30"), &r, None), Ok(d(2026, 7, 1)));
        assert_eq!(
            date(&t("2026-07-01T10:30:00.000"), &r, None),
            Ok(d(2026, 7, 1))
        );
        // 22:00 UTC on June 30 is already July 1 in Kolkata.
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            date(&t("2026-06-30T22:00:00Z"), &r, Some(kolkata)),
            Ok(d(2026, 7, 1))
        );
        assert_eq!(
            date(&t("2026-07-01T01:00:00+05:30"), &r, None),
            Ok(d(2026, 6, 30))
        );
        assert_eq!(
            date(&t("2026-02-30"), &r, None).unwrap_err().code,
            Code::InvalidDate
        );
    }

    #[test]
    fn ambiguous_dates_name_both_readings() {
        let e = date(&t("03/04/2026"), &DateRules::default(), None).unwrap_err();
        assert_eq!(e.code, Code::AmbiguousDate);
        assert!(
            e.message.contains("3 April 2026") && e.message.contains("4 March 2026"),
            "{}",
            e.message
        );
        let with_format = DateRules {
            format: Some("%d/%m/%Y".into()),
            map_entry: None,
        };
        assert_eq!(
            date(&t("03/04/2026"), &with_format, None),
            NaiveDate::from_ymd_opt(2026, 4, 3).ok_or_else(|| unreachable!())
        );
        let one_way = date(&t("25/12/2026"), &DateRules::default(), None).unwrap_err();
        assert_eq!(one_way.code, Code::InvalidDate);
        assert!(one_way.hint.unwrap().contains("%d/%m/%Y"));
    }

    #[test]
    fn numbers_in_date_columns_show_the_serial_date() {
        let e = date(&Cell::Number(46204.0), &DateRules::default(), None).unwrap_err();
        assert_eq!(e.code, Code::InvalidDate);
        assert!(e.hint.unwrap().contains("2026-07-01"));
        let e = date(&t("46204"), &DateRules::default(), None).unwrap_err();
        assert!(e.hint.unwrap().contains("2026-07-01"));
    }

    #[test]
    fn formulas_without_values_are_never_zero() {
        assert_eq!(
            integer(&Cell::FormulaNoValue, 1, 100).unwrap_err().code,
            Code::FormulaWithoutValue
        );
        assert_eq!(
            date(&Cell::FormulaNoValue, &DateRules::default(), None)
                .unwrap_err()
                .code,
            Code::FormulaWithoutValue
        );
    }

    #[test]
    fn time_zones_suggest_the_closest() {
        assert!(time_zone(&t("Asia/Kolkata")).is_ok());
        let e = time_zone(&t("Asia/Kolkatta")).unwrap_err();
        assert_eq!(e.code, Code::InvalidTimeZone);
        assert_eq!(e.hint.as_deref(), Some("did you mean Asia/Kolkata?"));
    }
}
