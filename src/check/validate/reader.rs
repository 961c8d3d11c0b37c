//! Reading one row's cells by their kind: each problem recorded against its cell, each blank
//! read as the column's default from the column table.

use std::borrow::Cow;

use super::Context;
use crate::check::values::{self, Issue};
use crate::columns::{def, Col, Fallback, Kind, COLUMNS, COLUMN_COUNT};
use crate::outcome::RowOutcome;
use crate::problem::{cell_ref, Code, Problem};
use crate::sheet::{Cell, RawRow};

/// Reads the cells of one row and records what is wrong with them.
pub(super) struct RowReader<'a> {
    pub raw: &'a RawRow,
    pub ctx: &'a Context,
    /// Each template column's cell as [`RowReader::cell`] gives it, looked up once per row.
    cells: [Option<Cell<'a>>; COLUMN_COUNT],
    pub out: RowOutcome,
}

/// A cell's value as far as validation goes.
pub(super) enum Got<T> {
    /// The sheet has no such column.
    NoColumn,
    Blank,
    /// Present but wrong; the problem is already recorded.
    Bad,
    Ok(T),
}

impl<T> Got<T> {
    pub fn ok(self) -> Option<T> {
        match self {
            Got::Ok(v) => Some(v),
            _ => None,
        }
    }
}

impl<'a> RowReader<'a> {
    pub fn new(raw: &'a RawRow, ctx: &'a Context) -> Self {
        let mut cells: [Option<Cell<'a>>; COLUMN_COUNT] =
            std::array::from_fn(|t| ctx.map.position(t).map(|_| Cell::Empty));
        raw.for_each_cell(|i, cell| {
            if let Some(t) = ctx.map.column_at(i) {
                cells[t] = Some(cell);
            }
        });
        if let Some(m) = ctx.mapping.as_ref() {
            for (def, slot) in COLUMNS.iter().zip(cells.iter_mut()) {
                *slot = m.template_cell(def.col, slot.take());
            }
        }
        RowReader {
            raw,
            ctx,
            cells,
            out: RowOutcome::new(ctx.sheet, raw.row),
        }
    }

    /// The cell of `col` as the template would have it: the map's value map applied, and its
    /// constant where the cell is blank or the sheet lacks the column (no cell then).
    pub fn cell(&self, col: Col) -> Option<Cell<'a>> {
        self.cells[col as usize].clone()
    }

    /// Records a problem of `col`; its value is what the file has (before any value map), or
    /// the map's constant where the file has nothing. The cell reference is only made here:
    /// most cells have no problem.
    pub fn problem(&mut self, col: Col, issue: Issue) {
        let at = self
            .ctx
            .map
            .position(col as usize)
            .map(|p| cell_ref(p, self.raw.row))
            .unwrap_or_default();
        let written = self.ctx.map.position(col as usize).map(|p| self.raw.get(p));
        let value = match written {
            Some(c) if !c.is_blank() => c.display(),
            _ => self.cell(col).map(|c| c.display()).unwrap_or_default(),
        };
        self.out.push(Problem {
            column: def(col).key.to_string(),
            cell: at,
            value,
            code: issue.code,
            message: issue.message,
            hint: issue.hint,
        });
    }

    /// A problem about `col` that is not about its value (missing, or in conflict with another).
    pub fn flag(&mut self, col: Col, issue: Issue) {
        self.problem(col, issue);
    }

    /// Reads `col` with `parse`, recording the problem if it fails.
    pub fn get<T>(&mut self, col: Col, parse: impl FnOnce(&Cell) -> Result<T, Issue>) -> Got<T> {
        let Some(cell) = self.cell(col) else {
            return Got::NoColumn;
        };
        if cell.is_blank() {
            return Got::Blank;
        }
        match parse(&cell) {
            Ok(v) => Got::Ok(v),
            Err(issue) => {
                self.problem(col, issue);
                Got::Bad
            }
        }
    }

    /// A value the row must have (given the rest of the row): blank is `missing_value`, an absent
    /// column is `missing_column`.
    pub fn require<T>(&mut self, col: Col, got: Got<T>, why: &str) -> Option<T> {
        match got {
            Got::Ok(v) => Some(v),
            Got::Bad => None,
            Got::Blank => {
                self.flag(
                    col,
                    Issue::new(
                        Code::MissingValue,
                        format!("{} is required{why}", def(col).key),
                    ),
                );
                None
            }
            Got::NoColumn => {
                self.flag(
                    col,
                    Issue::new(
                        Code::MissingColumn,
                        format!(
                            "the sheet has no `{}` column, which this row needs{why}",
                            def(col).key
                        ),
                    )
                    .hint(format!(
                        "add the column `{}` to the header row",
                        def(col).key
                    )),
                );
                None
            }
        }
    }

    pub fn text(&mut self, col: Col) -> Got<Cow<'a, str>> {
        let max = match def(col).kind {
            Kind::Text { max } => max,
            _ => usize::MAX,
        };
        let Some(cell) = self.cell(col) else {
            return Got::NoColumn;
        };
        if cell.is_blank() {
            return Got::Blank;
        }
        match values::trimmed(cell) {
            Err(issue) => {
                self.problem(col, issue);
                Got::Bad
            }
            Ok((text, trimmed)) => {
                if trimmed {
                    self.problem(
                        col,
                        Issue::new(Code::Trimmed, "spaces at the start or end were removed"),
                    );
                }
                // A text no longer in bytes than the limit is within it in characters too.
                let chars = if text.len() <= max {
                    text.len()
                } else {
                    text.chars().count()
                };
                if chars > max {
                    self.problem(
                        col,
                        Issue::new(
                            Code::TooLong,
                            format!("{chars} characters: at most {max} are allowed"),
                        )
                        .hint(format!("shorten it by {} characters", chars - max)),
                    );
                    return Got::Bad;
                }
                Got::Ok(text)
            }
        }
    }

    pub fn enumeration(&mut self, col: Col) -> Got<&'static str> {
        let Kind::Enum(allowed) = def(col).kind else {
            return Got::NoColumn;
        };
        self.get(col, |c| values::enum_value(c, allowed))
    }

    pub fn int(&mut self, col: Col) -> Got<i64> {
        let Kind::Int { min, max } = def(col).kind else {
            return Got::NoColumn;
        };
        self.get(col, |c| values::integer(c, min, max))
    }

    pub fn boolean(&mut self, col: Col) -> Got<bool> {
        self.get(col, values::boolean)
    }

    /// `got`, or the column's default (from the column table) where the cell is blank or the
    /// column absent; `None` only when the value is wrong (its problem is recorded).
    pub fn or_default<T: FromFallback<'a>>(&self, col: Col, got: Got<T>) -> Option<T> {
        match got {
            Got::Ok(v) => Some(v),
            Got::Bad => None,
            Got::Blank | Got::NoColumn => T::from_fallback(def(col).default),
        }
    }

    pub fn bool_or_default(&mut self, col: Col) -> Option<bool> {
        let got = self.boolean(col);
        self.or_default(col, got)
    }

    pub fn enum_or_default(&mut self, col: Col) -> Option<&'static str> {
        let got = self.enumeration(col);
        self.or_default(col, got)
    }

    pub fn int_or_default(&mut self, col: Col) -> Option<i64> {
        let got = self.int(col);
        self.or_default(col, got)
    }
}

/// A value a column's default (in the column table) can be.
pub(super) trait FromFallback<'a>: Sized {
    fn from_fallback(fallback: Fallback) -> Option<Self>;
}

impl FromFallback<'_> for bool {
    fn from_fallback(fallback: Fallback) -> Option<Self> {
        match fallback {
            Fallback::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl FromFallback<'_> for i64 {
    fn from_fallback(fallback: Fallback) -> Option<Self> {
        match fallback {
            Fallback::Int(n) => Some(n),
            _ => None,
        }
    }
}

impl FromFallback<'_> for &'static str {
    fn from_fallback(fallback: Fallback) -> Option<Self> {
        match fallback {
            Fallback::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl<'a> FromFallback<'a> for Cow<'a, str> {
    fn from_fallback(fallback: Fallback) -> Option<Self> {
        <&'static str>::from_fallback(fallback).map(Cow::Borrowed)
    }
}
