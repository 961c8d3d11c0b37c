//! Header matching: which cell of a row holds which column of the table (SPEC §3).

use std::path::Path;

use crate::check::mapping::Mapping;
use crate::columns::{normalize_header, ColumnDef, Need};
use crate::error::InputError;
use crate::problem::{cell_ref, Code, Problem};
use crate::sheet::RawRow;
use crate::text::closest;

/// Where each column of a table sits in the sheet.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// Indexed like the table: the cell index of each column, if the sheet has it.
    positions: Vec<Option<usize>>,
    /// Indexed by cell: the table index of the column the cell holds, if any.
    by_cell: Vec<Option<usize>>,
    /// The header row as written, by cell index.
    pub headers: Vec<String>,
}

impl ColumnMap {
    pub fn position(&self, table_index: usize) -> Option<usize> {
        self.positions.get(table_index).copied().flatten()
    }

    pub fn width(&self) -> usize {
        self.headers.len()
    }

    /// The table index of the column at cell index `cell`, if it is one of the table's.
    pub fn column_at(&self, cell: usize) -> Option<usize> {
        self.by_cell.get(cell).copied().flatten()
    }
}

/// Maps the header row onto `table`. A missing required column is an input error naming the
/// closest header the sheet does have; unknown headers come back as `unknown_column` warnings.
pub fn map_columns<C>(
    table: &[ColumnDef<C>],
    header: &RawRow,
    path: &Path,
) -> Result<(ColumnMap, Vec<Problem>), InputError> {
    map_columns_mapped(table, header, path, None)
}

/// More header cells than this is not a streak sheet (about 30 columns): a wrong delimiter, or a
/// file made to be slow.
pub const MAX_HEADER_CELLS: usize = 100_000;

/// Unknown columns that get a "did you mean" suggestion.
const SUGGEST_AT_MOST: usize = 200;

/// [`map_columns`] through a `--map` file: its renames apply before matching, and a column it
/// gives a constant for counts as present.
pub fn map_columns_mapped<C>(
    table: &[ColumnDef<C>],
    header: &RawRow,
    path: &Path,
    mapping: Option<&Mapping>,
) -> Result<(ColumnMap, Vec<Problem>), InputError> {
    if header.len() > MAX_HEADER_CELLS {
        return Err(InputError::HeaderTooWide {
            path: path.to_path_buf(),
            row: header.row,
            cells: header.len(),
            limit: MAX_HEADER_CELLS,
        });
    }
    let headers: Vec<String> = (0..header.len())
        .map(|i| header.get(i).display().trim().to_string())
        .collect();
    // Each column's key and aliases normalized once, not once per header cell.
    let names: Vec<Vec<String>> = table
        .iter()
        .map(|c| {
            std::iter::once(c.key)
                .chain(c.aliases.iter().copied())
                .map(normalize_header)
                .collect()
        })
        .collect();
    let mut positions: Vec<Option<usize>> = vec![None; table.len()];
    let mut unknown = Vec::new();
    for (i, text) in headers.iter().enumerate() {
        if text.is_empty() {
            continue;
        }
        let normalized = normalize_header(mapping.and_then(|m| m.rename(text)).unwrap_or(text));
        match names.iter().position(|n| n.contains(&normalized)) {
            Some(t) => {
                if positions[t].is_some() {
                    return Err(InputError::DuplicateHeader {
                        path: path.to_path_buf(),
                        header: text.clone(),
                        cell: cell_ref(i, header.row),
                        column: table[t].key,
                    });
                }
                positions[t] = Some(i);
            }
            None => unknown.push(i),
        }
    }
    for (t, column) in table.iter().enumerate() {
        if column.need == Need::Always
            && positions[t].is_none()
            && !mapping.is_some_and(|m| m.supplies(column.key))
        {
            let near = closest(column.key, unknown.iter().map(|&i| headers[i].as_str()));
            return Err(InputError::MissingColumn {
                path: path.to_path_buf(),
                column: column.key,
                closest: near
                    .map(|h| match mapping {
                        Some(m) => format!(
                            " (the closest header is `{h}`: map it in {} with \"{h}\" = \"{}\")",
                            m.path.display(),
                            column.key
                        ),
                        None => format!(
                            " (the closest header is `{h}`: rename it to `{}`)",
                            column.key
                        ),
                    })
                    .unwrap_or_default(),
            });
        }
    }
    let warnings = unknown
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            // Past the first few hundred, a sheet of unknown columns is not a near miss of the
            // template: no suggestion is worth a fuzzy search each.
            let near = (n < SUGGEST_AT_MOST)
                .then(|| closest(&headers[i], table.iter().map(|c| c.key)))
                .flatten();
            Problem {
                column: headers[i].clone(),
                cell: cell_ref(i, header.row),
                value: headers[i].clone(),
                code: Code::UnknownColumn,
                message: format!(
                    "column `{}` is not part of the template; its values are ignored",
                    headers[i]
                ),
                hint: near.map(|k| format!("did you mean `{k}`?")),
            }
        })
        .collect();
    let mut by_cell = vec![None; positions.iter().flatten().max().map_or(0, |&p| p + 1)];
    for (t, p) in positions.iter().enumerate() {
        if let Some(p) = *p {
            by_cell[p] = Some(t);
        }
    }
    Ok((
        ColumnMap {
            positions,
            by_cell,
            headers,
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::{Col, COLUMNS};
    use crate::sheet::{Cells, Value};

    fn header(cells: &[&str]) -> RawRow {
        RawRow {
            row: 1,
            cells: Cells::Book(cells.iter().map(|c| Value::Text(c.to_string())).collect()),
        }
    }

    #[test]
    fn maps_aliases_and_reports_unknown_columns() {
        let row = header(&[
            "Name",
            "Frequency Type",
            "targetType",
            "Default Value",
            "Colour",
        ]);
        let (map, warnings) = map_columns(COLUMNS, &row, Path::new("x.csv")).unwrap();
        assert_eq!(map.position(Col::Name as usize), Some(0));
        assert_eq!(map.position(Col::FrequencyType as usize), Some(1));
        assert_eq!(map.position(Col::TargetType as usize), Some(2));
        assert_eq!(map.position(Col::StartDate as usize), None);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].cell, "E1");
        assert_eq!(warnings[0].code, Code::UnknownColumn);
    }

    #[test]
    fn missing_required_column_names_the_closest_header() {
        let row = header(&["name", "frequncy typ", "target_type", "default_value"]);
        let err = map_columns(COLUMNS, &row, Path::new("x.csv")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`frequency_type` is missing"), "{text}");
        assert!(text.contains("`frequncy typ`"), "{text}");
    }
}
