//! CSV input: UTF-8 (with or without BOM), Windows-1252 and UTF-16 (Excel's "Unicode text"),
//! delimiter detected from the header line, quoted newlines, blank rows skipped but counted.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;
use std::rc::Rc;

use super::{Cells, RawRow, RowSource, SheetInfo, MAX_CELL_BYTES};
use crate::error::{human_size, InputError};
use crate::problem::cell_ref;

/// How much of the file is looked at to detect the encoding and the delimiter.
const SNIFF_BYTES: usize = 64 * 1024;
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

pub struct CsvSource {
    info: SheetInfo,
    head: Vec<u8>,
    file: File,
    delimiter: u8,
    utf16: bool,
}

impl CsvSource {
    pub fn open(path: &Path, tab: bool) -> Result<Self, InputError> {
        let unreadable = |source| InputError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(unreadable)?;
        let size = file.metadata().map_err(unreadable)?.len();
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut file)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(unreadable)?;

        let utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
        let mut encoding = "UTF-8";
        if utf16 {
            encoding = "UTF-16";
        } else if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            head.drain(..3);
            encoding = "UTF-8 with BOM";
        } else if head.contains(&0) {
            return Err(InputError::Usage(format!(
                "{}: this is not a CSV file: it holds binary data. If it is a workbook, give it its \
                 real extension (.xlsx, .xls, .ods); otherwise export the sheet as CSV again.",
                path.display()
            )));
        } else if std::str::from_utf8(utf8_prefix(&head)).is_err() {
            encoding = "Windows-1252";
        }
        let sniffed = if utf16 {
            let mut text = String::new();
            let decoded = encoding_rs::Encoding::for_bom(&head)
                .map(|(enc, _)| enc.decode(&head).0.into_owned())
                .unwrap_or_default();
            text.push_str(&decoded);
            detect_delimiter(text.as_bytes())
        } else {
            detect_delimiter(&head)
        };
        let delimiter = if tab { b'\t' } else { sniffed };
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("sheet")
            .to_string();
        let shown = match delimiter {
            b'\t' => "tab".to_string(),
            d => format!("'{}'", d as char),
        };
        Ok(Self {
            info: SheetInfo {
                path: path.to_path_buf(),
                sheet: stem,
                format: if tab { "tsv" } else { "csv" }.into(),
                dialect: Some(format!("{encoding}, delimiter {shown}")),
                size_hint: Some(size),
            },
            head,
            file,
            delimiter,
            utf16,
        })
    }
}

/// The sniffed prefix may end inside a multi-byte character; judge only the complete part.
fn utf8_prefix(head: &[u8]) -> &[u8] {
    match std::str::from_utf8(head) {
        Ok(_) => head,
        Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
        Err(_) => head,
    }
}

/// The delimiter is the candidate that occurs most often outside quotes on the first non-blank
/// line; a tie or none goes to `,`.
pub fn detect_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; DELIMITERS.len()];
    let mut in_quotes = false;
    let mut seen_content = false;
    for &b in head {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => {
                if seen_content && counts.iter().any(|&c| c > 0) {
                    break;
                }
                seen_content = false;
                counts = [0; DELIMITERS.len()];
            }
            _ if !in_quotes => {
                if let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
                    counts[i] += 1;
                }
                if !b.is_ascii_whitespace() {
                    seen_content = true;
                }
            }
            _ => {}
        }
    }
    let best = (0..DELIMITERS.len()).max_by_key(|&i| (counts[i], std::cmp::Reverse(i)));
    match best {
        Some(i) if counts[i] > 0 => DELIMITERS[i],
        _ => b',',
    }
}

impl RowSource for CsvSource {
    fn info(&self) -> &SheetInfo {
        &self.info
    }

    fn read(self: Box<Self>, emit: &mut dyn FnMut(RawRow) -> bool) -> Result<(), InputError> {
        let path = self.info.path.clone();
        let chained = Cursor::new(self.head).chain(self.file);
        let input: Box<dyn Read> = if self.utf16 {
            Box::new(
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .bom_sniffing(true)
                    .build(chained),
            )
        } else {
            Box::new(chained)
        };
        let lines = Rc::new(RefCell::new(LineIndex::default()));
        let counted = CountingReader {
            inner: input,
            lines: lines.clone(),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .buffer_capacity(256 * 1024)
            .from_reader(BufReader::with_capacity(256 * 1024, counted));
        read_records(&mut reader, &lines, &path, emit)
    }
}

/// Counts the newlines of the stream before each record. The csv crate's own line numbers skip
/// blank lines and its byte positions land inside a CRLF, while a spreadsheet shows every line as
/// a row, so the tool counts the bytes itself. Each chunk read is kept only until the count has
/// passed it (a few buffers).
#[derive(Default)]
struct LineIndex {
    chunks: VecDeque<(u64, Vec<u8>)>,
    /// Buffers of counted chunks, reused: fresh ones would be fresh pages the kernel must zero.
    spare: Vec<Vec<u8>>,
    read: u64,
    counted_to: u64,
    newlines: u64,
}

impl LineIndex {
    fn byte_at(&mut self, offset: u64) -> Option<u8> {
        while let Some((start, bytes)) = self.chunks.front() {
            if offset < start + bytes.len() as u64 {
                return bytes.get((offset - start) as usize).copied();
            }
            self.recycle();
        }
        None
    }

    fn recycle(&mut self) {
        if let Some((_, buf)) = self.chunks.pop_front() {
            self.spare.push(buf);
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(bytes);
        self.chunks.push_back((self.read, buf));
        self.read += bytes.len() as u64;
    }

    /// The 1-based physical line on which the record reported at `offset` starts. The reported
    /// offset may precede blank lines and the tail of the previous line end, so those are
    /// stepped over first. Records must be asked in order.
    fn line_of_record(&mut self, offset: u64) -> u64 {
        while self.counted_to < offset {
            let Some((start, bytes)) = self.chunks.front() else {
                break;
            };
            let end = start + bytes.len() as u64;
            let from = (self.counted_to - start) as usize;
            let to = (offset.min(end) - start) as usize;
            self.newlines += bytes[from..to].iter().filter(|&&b| b == b'\n').count() as u64;
            self.counted_to = start + to as u64;
            if self.counted_to >= end {
                self.recycle();
            }
        }
        while let Some(b @ (b'\r' | b'\n')) = self.byte_at(self.counted_to) {
            self.newlines += u64::from(b == b'\n');
            self.counted_to += 1;
        }
        self.newlines + 1
    }
}

/// Feeds every byte the csv reader reads into the [`LineIndex`].
struct CountingReader<R> {
    inner: R,
    lines: Rc<RefCell<LineIndex>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.lines.borrow_mut().keep(&buf[..n]);
        }
        Ok(n)
    }
}

fn read_records<R: Read>(
    reader: &mut csv::Reader<R>,
    lines: &RefCell<LineIndex>,
    path: &Path,
    emit: &mut dyn FnMut(RawRow) -> bool,
) -> Result<(), InputError> {
    // A spreadsheet row is a physical line, except that newlines inside quoted cells do not
    // start a row: those are subtracted.
    let mut newlines_in_cells: u64 = 0;
    let mut scratch = csv::ByteRecord::new();
    loop {
        // Read into one reused record and send an exact-size copy: no growing per row.
        let more = reader
            .read_byte_record(&mut scratch)
            .map_err(|e| csv_error(path, &e))?;
        if !more {
            return Ok(());
        }
        let record = scratch.clone();
        let offset = record.position().map(|p| p.byte()).unwrap_or(0);
        let line = lines.borrow_mut().line_of_record(offset);
        let row = u32::try_from(line - newlines_in_cells).unwrap_or(u32::MAX);
        let inner = record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
        newlines_in_cells += inner;
        if inner > 0 || record.as_slice().len() > MAX_CELL_BYTES {
            if let Some((i, field)) = record
                .iter()
                .enumerate()
                .find(|(_, f)| f.len() > MAX_CELL_BYTES)
            {
                return Err(InputError::CellTooLarge {
                    path: path.to_path_buf(),
                    row,
                    cell: cell_ref(i, row),
                    size: human_size(field.len()),
                    limit: human_size(MAX_CELL_BYTES),
                });
            }
        }
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let cells = match csv::StringRecord::from_byte_record(record) {
            Ok(text) => Cells::CsvText(text),
            Err(e) => Cells::Csv(e.into_byte_record()),
        };
        if !emit(RawRow { row, cells }) {
            return Ok(());
        }
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> InputError {
    let row = e.position().map(|p| p.line() as u32).unwrap_or(0);
    match e.kind() {
        csv::ErrorKind::Io(io) => InputError::Unreadable {
            path: path.to_path_buf(),
            source: std::io::Error::new(io.kind(), io.to_string()),
        },
        _ => InputError::MalformedCsv {
            path: path.to_path_buf(),
            row,
            detail: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_delimiter() {
        assert_eq!(
            detect_delimiter(b"name,frequency_type,total_periods\n"),
            b','
        );
        assert_eq!(
            detect_delimiter(b"name;frequency_type;total_periods\r\n"),
            b';'
        );
        assert_eq!(
            detect_delimiter(b"name\tfrequency_type\ttotal_periods\n"),
            b'\t'
        );
        assert_eq!(
            detect_delimiter(b"name|frequency_type|total_periods\n"),
            b'|'
        );
    }

    #[test]
    fn delimiter_ignores_quoted_text_and_blank_lines() {
        assert_eq!(
            detect_delimiter(b"\n\n\"a,b,c\";\"d\";e\n1,2,3,4,5,6"),
            b';'
        );
        assert_eq!(detect_delimiter(b"single"), b',');
    }
}
