//! Problems found in the data: the stable codes of SPEC §5 and the problem record every report shows.

use serde::Serialize;

/// A stable code. The serialized form (`invalid_enum`, …) is part of the reports' contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    MissingColumn,
    MissingValue,
    TooLong,
    InvalidEnum,
    InvalidBool,
    InvalidNumber,
    OutOfRange,
    InvalidDate,
    AmbiguousDate,
    InvalidTimeZone,
    InvalidJson,
    DuplicateName,
    IncompatibleFields,
    InvalidPeriods,
    FormulaWithoutValue,
    // Warnings: the row is still sent.
    Trimmed,
    UnknownColumn,
    Backdated,
    /// Every period has ended: the streak would be over on creation.
    Ended,
}

impl Code {
    pub const ERRORS: [Code; 15] = [
        Code::MissingColumn,
        Code::MissingValue,
        Code::TooLong,
        Code::InvalidEnum,
        Code::InvalidBool,
        Code::InvalidNumber,
        Code::OutOfRange,
        Code::InvalidDate,
        Code::AmbiguousDate,
        Code::InvalidTimeZone,
        Code::InvalidJson,
        Code::DuplicateName,
        Code::IncompatibleFields,
        Code::InvalidPeriods,
        Code::FormulaWithoutValue,
    ];

    pub fn is_warning(self) -> bool {
        matches!(
            self,
            Code::Trimmed | Code::UnknownColumn | Code::Backdated | Code::Ended
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Code::MissingColumn => "missing_column",
            Code::MissingValue => "missing_value",
            Code::TooLong => "too_long",
            Code::InvalidEnum => "invalid_enum",
            Code::InvalidBool => "invalid_bool",
            Code::InvalidNumber => "invalid_number",
            Code::OutOfRange => "out_of_range",
            Code::InvalidDate => "invalid_date",
            Code::AmbiguousDate => "ambiguous_date",
            Code::InvalidTimeZone => "invalid_time_zone",
            Code::InvalidJson => "invalid_json",
            Code::DuplicateName => "duplicate_name",
            Code::IncompatibleFields => "incompatible_fields",
            Code::InvalidPeriods => "invalid_periods",
            Code::FormulaWithoutValue => "formula_without_value",
            Code::Trimmed => "trimmed",
            Code::UnknownColumn => "unknown_column",
            Code::Backdated => "backdated",
            Code::Ended => "ended",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one cell (or, for row-wide rules, the row's first cell involved).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// The template's column name (`frequency_type`); empty for a problem of the whole row.
    pub column: String,
    /// The cell reference as the spreadsheet shows it (`F7`); empty when the column is absent.
    pub cell: String,
    /// The value as read, for the user to find it.
    pub value: String,
    pub code: Code,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// `0` → `A`, `25` → `Z`, `26` → `AA`: the column letters a spreadsheet shows.
pub fn column_letters(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// `F7` → 5: the column index of a cell reference.
pub fn column_index(cell: &str) -> Option<usize> {
    let letters = cell.bytes().take_while(u8::is_ascii_uppercase);
    let n = letters.fold(0usize, |acc, b| acc * 26 + (b - b'A' + 1) as usize);
    n.checked_sub(1)
}

/// `F7` → 7: the row of a cell reference.
pub fn row_of(cell: &str) -> Option<u32> {
    cell.trim_start_matches(|c: char| c.is_ascii_uppercase())
        .parse()
        .ok()
}

pub fn cell_ref(col_index: usize, row: u32) -> String {
    format!("{}{}", column_letters(col_index), row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        assert_eq!(cell_ref(5, 7), "F7");
        for i in [0, 5, 25, 26, 27, 701, 702] {
            assert_eq!(column_index(&cell_ref(i, 3)), Some(i));
        }
        assert_eq!(column_index(""), None);
    }

    #[test]
    fn codes_serialize_as_spec_names() {
        for code in Code::ERRORS {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert!(!code.is_warning());
        }
    }
}
