//! CSV input: UTF-8 (with or without BOM), Windows-1252 and UTF-16 (Excel's "Unicode text"),
//! delimiter detected from the header line, quoted newlines, blank rows skipped but counted.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{Batch, Cells, RawRow, RowSource, SheetInfo, MAX_CELL_BYTES};
use crate::error::{human_size, InputError};
use crate::input_hash::{hex, HashingReader};
use crate::problem::cell_ref;

/// How much of the file is looked at to detect the encoding and the delimiter.
const SNIFF_BYTES: usize = 64 * 1024;
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

pub struct CsvSource {
    info: SheetInfo,
    /// The input's hash so far: `head` as it was in the file (a BOM included).
    hasher: Sha256,
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
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut file)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(unreadable)?;
        let mut hasher = Sha256::new();
        hasher.update(&head);

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
                // Rows are not known until the file is read.
                size_hint: None,
            },
            hasher,
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

impl CsvSource {
    /// Cuts the stream into blocks of whole records without parsing them, and calls `each` with
    /// each until it returns false. Gives the input's sha256 when it read the whole input.
    fn blocks(
        self,
        each: &mut dyn FnMut(CsvBlock) -> Result<bool, InputError>,
    ) -> Result<Option<String>, InputError> {
        let path = self.info.path.clone();
        let mut hasher = self.hasher;
        let file = HashingReader::new(self.file, &mut hasher);
        let chained = Cursor::new(self.head).chain(file);
        let mut input: Box<dyn Read + '_> = if self.utf16 {
            Box::new(
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .bom_sniffing(true)
                    .build(chained),
            )
        } else {
            Box::new(chained)
        };
        let mut splitter = Splitter::new(self.delimiter, BLOCK_BYTES);
        loop {
            let block =
                splitter
                    .next_block(&mut input)
                    .map_err(|source| InputError::Unreadable {
                        path: path.clone(),
                        source,
                    })?;
            let Some(block) = block else { break };
            if !each(block)? {
                return Ok(None);
            }
        }
        let whole = splitter.read_all;
        drop(input);
        Ok(whole.then(|| hex(hasher)))
    }
}

impl RowSource for CsvSource {
    fn info(&self) -> &SheetInfo {
        &self.info
    }

    fn read(self: Box<Self>, emit: &mut dyn FnMut(RawRow) -> bool) -> Result<(), InputError> {
        let path = self.info.path.clone();
        self.blocks(&mut |block| {
            let mut go_on = true;
            block.rows(&path, &mut |row| {
                go_on = emit(row.take());
                Ok(go_on)
            })?;
            Ok(go_on)
        })?;
        Ok(())
    }

    /// Blocks unparsed, a few at a time: parsing happens on the validating cores, so this thread
    /// only reads, hashes and looks for record ends.
    fn read_batches(
        self: Box<Self>,
        emit: &mut dyn FnMut(Batch) -> Result<bool, InputError>,
    ) -> Result<Option<String>, InputError> {
        let mut blocks = Vec::with_capacity(BLOCKS_PER_BATCH);
        let hash = self.blocks(&mut |block| {
            blocks.push(block);
            if blocks.len() < BLOCKS_PER_BATCH {
                return Ok(true);
            }
            emit(Batch::Csv(std::mem::replace(
                &mut blocks,
                Vec::with_capacity(BLOCKS_PER_BATCH),
            )))
        })?;
        if !blocks.is_empty() && !emit(Batch::Csv(blocks))? {
            return Ok(None);
        }
        Ok(hash)
    }
}

/// About 1,400 rows of a typical sheet: blocks are the unit of parallel work.
const BLOCK_BYTES: usize = 256 * 1024;
/// Blocks sent together, so each hand-over between threads carries enough work.
const BLOCKS_PER_BATCH: usize = 4;
/// A record still open after this much text is not a record: an unclosed quote has swallowed
/// the rest of the file. The block is sent as it is, and parsing it finds the oversized cell.
const MAX_RECORD_BYTES: usize = 16 << 20;

/// A run of whole CSV records, cut from the stream just after a line end.
pub struct CsvBlock {
    bytes: Vec<u8>,
    /// The spreadsheet row of the block's first line.
    first_row: u64,
    delimiter: u8,
    /// No blank line and no lone CR: the block's records are its rows, one after the other.
    simple: bool,
    /// The block ends inside a record (see [`MAX_RECORD_BYTES`]).
    cut: bool,
}

impl CsvBlock {
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Calls `each` with every non-blank record, numbered as a spreadsheet numbers it, until it
    /// returns false. The row's record buffer is reused for the next row unless `each` takes it.
    ///
    /// A spreadsheet row is a physical line, except that newlines inside quoted cells do not
    /// start a row. The csv crate's own line numbers skip blank lines, and its byte positions
    /// land inside a CRLF, so the lines are counted here.
    pub fn rows(
        &self,
        path: &Path,
        each: &mut dyn FnMut(&mut RawRow) -> Result<bool, InputError>,
    ) -> Result<(), InputError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .buffer_capacity(64 * 1024)
            .from_reader(self.bytes.as_slice());
        let mut lines = LineCount::default();
        let mut records = 0u64;
        let mut row = RawRow {
            row: 0,
            cells: Cells::Csv(csv::ByteRecord::new()),
        };
        loop {
            let mut record = match std::mem::replace(&mut row.cells, Cells::Book(Vec::new())) {
                Cells::CsvText(r) => r.into_byte_record(),
                Cells::Csv(r) => r,
                Cells::Book(_) => csv::ByteRecord::new(),
            };
            let more = reader
                .read_byte_record(&mut record)
                .map_err(|e| csv_error(path, &e))?;
            if !more {
                break;
            }
            // In a block without blank lines or lone CRs (nearly all), each record is one row.
            let line = if self.simple {
                records
            } else {
                lines.before(&record, &self.bytes)
            };
            records += 1;
            row.row = u32::try_from(self.first_row + line).unwrap_or(u32::MAX);
            if record.as_slice().len() > MAX_CELL_BYTES || self.cut {
                if let Some((i, field)) = record
                    .iter()
                    .enumerate()
                    .find(|(_, f)| f.len() > MAX_CELL_BYTES)
                {
                    return Err(InputError::CellTooLarge {
                        path: path.to_path_buf(),
                        row: row.row,
                        cell: cell_ref(i, row.row),
                        size: human_size(field.len()),
                        limit: human_size(MAX_CELL_BYTES),
                    });
                }
            }
            if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                row.cells = Cells::Csv(record);
                continue;
            }
            row.cells = match csv::StringRecord::from_byte_record(record) {
                Ok(text) => Cells::CsvText(text),
                Err(e) => Cells::Csv(e.into_byte_record()),
            };
            if !each(&mut row)? {
                return Ok(());
            }
        }
        if self.cut {
            return Err(InputError::MalformedCsv {
                path: path.to_path_buf(),
                row: u32::try_from(self.first_row).unwrap_or(u32::MAX),
                detail: format!(
                    "a record runs on for more than {} without ending; check for a quote (\") \
                     that is never closed",
                    human_size(MAX_RECORD_BYTES)
                ),
            });
        }
        Ok(())
    }
}

/// Counts the rows of a block record by record, for blocks with blank lines or lone CRs.
#[derive(Default)]
struct LineCount {
    /// Line ends in the block before `counted_to`.
    newlines: u64,
    counted_to: usize,
    /// Line ends inside the cells of the records read: they do not start a row.
    in_cells: u64,
}

impl LineCount {
    /// Rows of the block before `record`, which must come after the last one asked about. The
    /// reported position may precede blank lines and the tail of the previous line end, so those
    /// are stepped over first.
    fn before(&mut self, record: &csv::ByteRecord, bytes: &[u8]) -> u64 {
        let offset = record.position().map_or(0, |p| p.byte()) as usize;
        if offset > self.counted_to {
            self.newlines += line_ends(&bytes[self.counted_to..offset], bytes.get(offset));
            self.counted_to = offset;
        }
        while let Some(&b @ (b'\r' | b'\n')) = bytes.get(self.counted_to) {
            self.newlines +=
                u64::from(b == b'\n' || bytes.get(self.counted_to + 1) != Some(&b'\n'));
            self.counted_to += 1;
        }
        let line = self.newlines - self.in_cells;
        // Per cell: a CR at the end of one cell and an LF at the start of the next are two.
        self.in_cells += record.iter().map(|f| line_ends(f, None)).sum::<u64>();
        line
    }
}

/// Line ends in `bytes`: LF, CRLF and a lone CR (old Mac exports) count one each. `next` is the
/// byte after the slice, if any.
fn line_ends(bytes: &[u8], next: Option<&u8>) -> u64 {
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1).or(next) != Some(&b'\n'))
        .count() as u64
}

#[cfg(test)]
thread_local! {
    /// Tests set it to count every block's lines the slow way, to check the fast way against it.
    static FORCE_COUNT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn force_count() -> bool {
    #[cfg(test)]
    return FORCE_COUNT.get();
    #[cfg(not(test))]
    false
}

/// Finds where records end without parsing them, following the csv crate's quoting rules: a
/// quote opens a quoted cell only at the start of a cell; inside one, `""` is a quote and a lone
/// `"` closes it; a line end outside quotes ends the record.
struct Splitter {
    delimiter: u8,
    /// The size blocks are cut at (the first record end past it).
    block_bytes: usize,
    /// Bytes read and not yet sent.
    buf: Vec<u8>,
    /// How far `buf` has been scanned; `quoted` and `lines` hold at that point.
    scanned: usize,
    quoted: bool,
    /// Line ends outside quotes in `buf[..scanned]`.
    lines: u64,
    /// Just after the last record end found in `buf`, and the line ends before it.
    cut_at: usize,
    lines_to_cut: u64,
    /// The row of `buf[0]`.
    row: u64,
    /// The input was read to its end (not cut short by a runaway record).
    read_all: bool,
    /// Just after the last line end outside quotes, and where the last blank line or lone CR
    /// (which make a block's rows differ from its records) is.
    line_start: usize,
    irregular: Option<usize>,
    eof: bool,
}

impl Splitter {
    fn new(delimiter: u8, block_bytes: usize) -> Self {
        Splitter {
            delimiter,
            block_bytes,
            buf: Vec::new(),
            scanned: 0,
            quoted: false,
            lines: 0,
            cut_at: 0,
            lines_to_cut: 0,
            row: 1,
            read_all: false,
            line_start: 0,
            irregular: None,
            eof: false,
        }
    }

    /// The next block, or None at the end of the input.
    fn next_block(&mut self, input: &mut dyn Read) -> std::io::Result<Option<CsvBlock>> {
        loop {
            if self.cut_at > 0 && (self.buf.len() >= self.block_bytes || self.eof) {
                return Ok(Some(self.take(self.cut_at, self.lines_to_cut, false)));
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                let (end, lines) = (self.buf.len(), self.lines);
                return Ok(Some(self.take(end, lines, false)));
            }
            if self.buf.len() > MAX_RECORD_BYTES {
                let (end, lines) = (self.buf.len(), self.lines);
                self.eof = true;
                let block = self.take(end, lines, true);
                self.buf.clear();
                return Ok(Some(block));
            }
            self.fill(input)?;
            self.scan();
        }
    }

    /// Reads until the buffer holds a block's worth past the last cut, or the input ends.
    fn fill(&mut self, input: &mut dyn Read) -> std::io::Result<()> {
        let want = if self.buf.len() < self.block_bytes {
            self.block_bytes
        } else {
            self.buf.len() + self.block_bytes
        };
        let mut len = self.buf.len();
        self.buf.resize(want, 0);
        while len < want {
            match input.read(&mut self.buf[len..]) {
                Ok(0) => {
                    self.eof = true;
                    self.read_all = true;
                    break;
                }
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.buf.truncate(len);
        Ok(())
    }

    fn scan(&mut self) {
        let buf = &self.buf;
        let mut i = self.scanned;
        while i < buf.len() {
            if self.quoted {
                let Some(p) = memchr::memchr(b'"', &buf[i..]) else {
                    i = buf.len();
                    break;
                };
                let q = i + p;
                match buf.get(q + 1) {
                    // Whether the quote closes the cell depends on the next byte: wait for it.
                    None if !self.eof => {
                        i = q;
                        break;
                    }
                    Some(b'"') => i = q + 2,
                    _ => {
                        self.quoted = false;
                        i = q + 1;
                    }
                }
                continue;
            }
            let Some(p) = memchr::memchr3(b'"', b'\n', b'\r', &buf[i..]) else {
                i = buf.len();
                break;
            };
            let q = i + p;
            match buf[q] {
                b'"' => {
                    // `buf` starts just after a line end (or at the start of the input).
                    let starts_cell = q == 0
                        || matches!(buf[q - 1], b'\n' | b'\r')
                        || buf[q - 1] == self.delimiter;
                    self.quoted = starts_cell;
                    i = q + 1;
                }
                b'\n' => {
                    let content = &buf[self.line_start..q];
                    if content.is_empty() || content == b"\r" {
                        self.irregular = Some(q);
                    }
                    self.line_start = q + 1;
                    self.lines += 1;
                    i = q + 1;
                    self.cut_at = i;
                    self.lines_to_cut = self.lines;
                }
                _ => match buf.get(q + 1) {
                    None if !self.eof => {
                        i = q;
                        break;
                    }
                    // A CRLF ends at its `\n`.
                    Some(b'\n') => i = q + 1,
                    // A lone CR (old Mac files) ends a record too.
                    _ => {
                        self.irregular = Some(q);
                        self.line_start = q + 1;
                        self.lines += 1;
                        i = q + 1;
                        self.cut_at = i;
                        self.lines_to_cut = self.lines;
                    }
                },
            }
        }
        self.scanned = i;
    }

    /// Sends `buf[..end]` as a block and keeps the rest.
    fn take(&mut self, end: usize, lines: u64, cut: bool) -> CsvBlock {
        let mut rest = Vec::with_capacity(self.block_bytes);
        rest.extend_from_slice(&self.buf[end..]);
        let mut bytes = std::mem::replace(&mut self.buf, rest);
        bytes.truncate(end);
        let block = CsvBlock {
            bytes,
            first_row: self.row,
            delimiter: self.delimiter,
            simple: self.irregular.is_none_or(|at| at >= end) && !force_count(),
            cut,
        };
        self.irregular = self.irregular.and_then(|at| at.checked_sub(end));
        self.line_start = self.line_start.saturating_sub(end);
        self.row += lines;
        self.scanned -= end.min(self.scanned);
        self.lines -= lines;
        self.cut_at = 0;
        self.lines_to_cut = 0;
        block
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

    /// Every row of `text` (number and cells) as blocks of about `block_bytes` give them.
    fn rows_in_blocks(text: &[u8], block_bytes: usize) -> Vec<(u32, Vec<Vec<u8>>)> {
        let fast = rows_counted(text, block_bytes, false);
        assert_eq!(
            fast,
            rows_counted(text, block_bytes, true),
            "fast and slow row numbers differ"
        );
        fast
    }

    fn rows_counted(text: &[u8], block_bytes: usize, slow: bool) -> Vec<(u32, Vec<Vec<u8>>)> {
        FORCE_COUNT.set(slow);
        let mut splitter = Splitter::new(b',', block_bytes);
        let mut input = text;
        let mut rows = Vec::new();
        while let Some(block) = splitter.next_block(&mut input).unwrap() {
            block
                .rows(Path::new("t.csv"), &mut |row| {
                    let cells = (0..row.len())
                        .map(|i| row.get(i).display().into_bytes())
                        .collect();
                    rows.push((row.row, cells));
                    Ok(true)
                })
                .unwrap();
        }
        rows
    }

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_shows_them() {
        let text = b"h1,h2\r\n\r\na,\"two\r\nlines\"\r\nb,c\n\n\n\"x\"\"y\",z\rlone,cr\n";
        let rows = rows_in_blocks(text, 1 << 20);
        let numbered: Vec<(u32, Vec<&str>)> = rows
            .iter()
            .map(|(n, c)| {
                (
                    *n,
                    c.iter().map(|b| std::str::from_utf8(b).unwrap()).collect(),
                )
            })
            .collect();
        assert_eq!(
            numbered,
            vec![
                (1, vec!["h1", "h2"]),
                (3, vec!["a", "two\r\nlines"]),
                (4, vec!["b", "c"]),
                (7, vec!["x\"y", "z"]),
                (8, vec!["lone", "cr"]),
            ]
        );
    }

    #[test]
    fn a_lone_cr_in_a_cell_is_not_a_row() {
        let rows = rows_in_blocks(b"a,\"x\r\",\"\ny\"\rb\r\nc", 3);
        let numbers: Vec<u32> = rows.iter().map(|r| r.0).collect();
        assert_eq!(numbers, vec![1, 2, 3]);
    }

    proptest::proptest! {
        /// Cutting the text into blocks anywhere a record ends (even one byte at a time) changes
        /// no row and no row number, whatever mix of quotes, line ends and stray quotes it holds.
        #[test]
        fn blocks_cut_only_between_records(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::string_regex("[a-z ]{0,6}").unwrap(),
                    proptest::strategy::Just(",".to_string()),
                    proptest::strategy::Just("\"".to_string()),
                    proptest::strategy::Just("\"\"".to_string()),
                    proptest::strategy::Just("\n".to_string()),
                    proptest::strategy::Just("\r\n".to_string()),
                    proptest::strategy::Just("\r".to_string()),
                    proptest::strategy::Just("\"a,\nb\"".to_string()),
                ],
                0..60,
            ),
            block_bytes in 1usize..40,
        ) {
            let text = parts.concat();
            let whole = rows_in_blocks(text.as_bytes(), 1 << 20);
            proptest::prop_assert_eq!(rows_in_blocks(text.as_bytes(), block_bytes), whole);
        }
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
