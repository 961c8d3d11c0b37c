//! Hostile workbooks and CSVs: files that are small on disk but would unpack, expand or repeat
//! into gigabytes. Each test builds its file by hand (zip entries written with `zip`, XML as
//! text), runs the real binary and holds it to the requirement: it ends within 30 s, at no more
//! than 1 GB of memory (`ru_maxrss` from `wait4`), with either its rows or exit 2 naming the
//! limit it hit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::util::{ok_row, BIN, HEADER, NOW};

const WALL_LIMIT: Duration = Duration::from_secs(30);
const MEMORY_LIMIT_KB: u64 = 1 << 20;

/// One run of the binary, measured.
struct Measured {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    wall: Duration,
    peak_kb: u64,
}

impl Measured {
    fn describe(&self) -> String {
        format!(
            "exit {:?}, {:.1} s, {} MB peak\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.wall.as_secs_f64(),
            self.peak_kb / 1024,
            self.stdout,
            self.stderr
        )
    }

    /// Within the time and memory the requirement allows, with exit code `code`.
    #[track_caller]
    fn bounded(&self, code: i32) -> &Self {
        assert!(self.wall < WALL_LIMIT, "too slow: {}", self.describe());
        assert!(
            self.peak_kb < MEMORY_LIMIT_KB,
            "too much memory: {}",
            self.describe()
        );
        assert_eq!(self.code, Some(code), "{}", self.describe());
        self
    }

    /// The one `error:` line says `parts`, in that order.
    #[track_caller]
    fn says(&self, parts: &[&str]) -> &Self {
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{}", self.describe());
        let mut rest = errors[0];
        for p in parts {
            let Some(i) = rest.find(p) else {
                panic!("`{p}` missing from {:?}\n{}", rest, self.describe());
            };
            rest = &rest[i + p.len()..];
        }
        self
    }
}

/// `streak-import validate FILE --report out.json` in `dir`, measured with `wait4` (the JSON
/// report keeps the run about reading; a workbook's default XLSX report is a concern of its own).
fn validate(dir: &Path, file: &Path) -> Measured {
    validate_with(dir, file, &["--report", "out.json"])
}

fn validate_with(dir: &Path, file: &Path, extra: &[&str]) -> Measured {
    let out = dir.join("run.stdout");
    let err = dir.join("run.stderr");
    let mut cmd = Command::new(BIN);
    cmd.arg("validate")
        .arg(file)
        .args(extra)
        .current_dir(dir)
        .env("STREAK_IMPORT_NOW", NOW)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"));
    let started = Instant::now();
    // Reaped by wait4 below, which `Child` cannot do while also reading the usage.
    #[allow(clippy::zombie_processes)]
    let child = cmd.spawn().expect("start streak-import");
    let pid = child.id() as libc::pid_t;
    // A run past the limit is stopped, so a regression fails the test instead of hanging it.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx
            .recv_timeout(WALL_LIMIT + Duration::from_secs(5))
            .is_err()
        {
            // SAFETY: `pid` is this test's own child, not reaped yet (wait4 below reaps it).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; the child is reaped here, not by `Child`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    let wall = started.elapsed();
    let _ = done_tx.send(());
    let _ = watchdog.join();
    use std::os::unix::process::ExitStatusExt;
    Measured {
        code: std::process::ExitStatus::from_raw(status).code(),
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
        wall,
        peak_kb: usage.ru_maxrss as u64,
    }
}

/// A part of a hand-written zip: bytes, or bytes with a long run of one byte in the middle
/// (streamed into the compressor, never held).
enum Part {
    Bytes(Vec<u8>),
    Run {
        head: Vec<u8>,
        fill: u8,
        count: u64,
        tail: Vec<u8>,
    },
}

fn bytes(s: impl Into<Vec<u8>>) -> Part {
    Part::Bytes(s.into())
}

fn write_zip(path: &Path, parts: Vec<(&str, Part)>) {
    if parts.iter().any(|(_, p)| matches!(p, Part::Run { .. })) {
        return write_zip_by_hand(path, parts);
    }
    let file = std::fs::File::create(path).expect("create zip");
    let mut zip = ZipWriter::new(std::io::BufWriter::new(file));
    for (name, part) in parts {
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        zip.start_file(name, options).expect("start entry");
        if let Part::Bytes(b) = part {
            zip.write_all(&b).expect("write entry");
        }
    }
    zip.finish().expect("finish zip");
}

/// Bits for a deflate stream, least significant first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, bits: u32) {
        self.acc |= value << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code goes most significant bit first.
    fn code(&mut self, code: u64, len: u32) {
        let reversed = (0..len).fold(0, |r, i| r | (((code >> i) & 1) << (len - 1 - i)));
        self.put(reversed, len);
    }

    fn align(&mut self) {
        if self.n > 0 {
            self.put(0, 8 - self.n);
        }
    }

    fn stored(&mut self, data: &[u8], last: bool) {
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![data]
        } else {
            data.chunks(65_535).collect()
        };
        let count = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            self.put(u64::from(last && i + 1 == count), 1);
            self.put(0, 2);
            self.align();
            let len = chunk.len() as u16;
            self.out.extend_from_slice(&len.to_le_bytes());
            self.out.extend_from_slice(&(!len).to_le_bytes());
            self.out.extend_from_slice(chunk);
        }
    }

    /// Code-length symbols for `run` zero lengths (codes: 18 = `0`, 1 = `10`, 2 = `11`, and 0
    /// is never needed: runs of 1 or 2 zeros do not occur below).
    fn zeros(&mut self, mut run: u64) {
        while run >= 11 {
            let n = run.min(138);
            self.code(0, 1);
            self.put(n - 11, 7);
            run -= n;
        }
        assert_eq!(run, 0, "zero runs here are 0 or at least 11");
    }
}

/// A raw deflate stream of `head`, `count` times `fill`, then `tail`: the run is one dynamic
/// block whose 258-byte copies cost 2 bits each (about 1,000 to 1), the way zip bombs are made.
fn deflate_run(head: &[u8], fill: u8, count: u64, tail: &[u8]) -> Vec<u8> {
    assert!(count >= 1 && (11..=244).contains(&fill), "fill byte {fill}");
    let mut b = Bits::default();
    b.stored(head, false);
    b.put(0, 1);
    b.put(2, 2);
    b.put(29, 5); // 286 literal/length codes
    b.put(0, 5); // 1 distance code
    b.put(14, 4); // 18 code-length codes
                  // Code lengths of the code-length alphabet, in deflate's order 16 17 18 0 8 7 9 6 10 5 11
                  // 4 12 3 13 2 14 1: symbol 18 → 1 bit, symbols 1 and 2 → 2 bits.
    for len in [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] {
        b.put(len, 3);
    }
    // Literal/length lengths: `fill` 2 bits, end-of-block (256) 2 bits, length 258 (285) 1 bit.
    b.zeros(u64::from(fill));
    b.code(0b11, 2);
    b.zeros(255 - u64::from(fill));
    b.code(0b11, 2);
    b.zeros(28);
    b.code(0b10, 2);
    b.code(0b10, 2); // distance 1: 1 bit
                     // Codes: 285 → `0`, fill → `10`, 256 → `11`; distance 1 → `0`.
    b.code(0b10, 2);
    let rest = count - 1;
    for _ in 0..rest / 258 {
        b.code(0, 1);
        b.code(0, 1);
    }
    for _ in 0..rest % 258 {
        b.code(0b10, 2);
    }
    b.code(0b11, 2);
    b.stored(tail, true);
    b.align();
    b.out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip written field by field: small parts stored, runs deflated by `deflate_run`. A run's
/// CRC is left 0: computing it would mean producing the gigabytes, and every reader refuses
/// such an entry long before its end, where the CRC is checked.
fn write_zip_by_hand(path: &Path, parts: Vec<(&str, Part)>) {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let count = parts.len() as u16;
    for (name, part) in parts {
        let (method, crc, data, size): (u16, u32, Vec<u8>, u64) = match part {
            Part::Bytes(b) => (0, crc32(&b), b.clone(), b.len() as u64),
            Part::Run {
                head,
                fill,
                count,
                tail,
            } => {
                let size = head.len() as u64 + count + tail.len() as u64;
                (8, 0, deflate_run(&head, fill, count, &tail), size)
            }
        };
        let size = u32::try_from(size).expect("no zip64 here");
        let offset = out.len() as u32;
        let mut fields = Vec::new();
        fields.extend_from_slice(&20u16.to_le_bytes()); // version needed
        fields.extend_from_slice(&0u16.to_le_bytes()); // flags
        fields.extend_from_slice(&method.to_le_bytes());
        fields.extend_from_slice(&0u16.to_le_bytes()); // time
        fields.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
        fields.extend_from_slice(&crc.to_le_bytes());
        fields.extend_from_slice(&(data.len() as u32).to_le_bytes());
        fields.extend_from_slice(&size.to_le_bytes());
        fields.extend_from_slice(&(name.len() as u16).to_le_bytes());
        fields.extend_from_slice(&0u16.to_le_bytes()); // extra
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&fields);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&data);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&fields);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let at = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(path, out).expect("write zip");
}

#[test]
fn the_hand_made_deflate_stream_unpacks_to_what_it_says() {
    use std::io::Read;
    let dir = tmp();
    let path = file(&dir, "run.zip");
    for count in [1, 2, 258, 259, 1_000_003] {
        write_zip(
            &path,
            vec![(
                "a.txt",
                Part::Run {
                    head: b"<head>".to_vec(),
                    fill: b' ',
                    count,
                    tail: b"</tail>".to_vec(),
                },
            )],
        );
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut entry = zip.by_index(0).unwrap();
        let mut got = Vec::new();
        // The CRC is 0 on purpose: the bytes are all there before the check fails.
        let _ = entry.read_to_end(&mut got);
        let mut want = b"<head>".to_vec();
        want.extend(std::iter::repeat_n(b' ', count as usize));
        want.extend_from_slice(b"</tail>");
        assert!(
            got == want,
            "count {count}: {} bytes, not {}",
            got.len(),
            want.len()
        );
    }
}

/// Sets the uncompressed size the zip declares for `name` (central directory and local
/// header): a lying header.
fn declare_size(path: &Path, name: &str, declared: u32) {
    let mut data = std::fs::read(path).expect("read zip");
    let eocd = data
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .expect("end of central directory");
    let le32 = |d: &[u8], at: usize| u32::from_le_bytes(d[at..at + 4].try_into().unwrap());
    let le16 = |d: &[u8], at: usize| u16::from_le_bytes(d[at..at + 2].try_into().unwrap());
    let mut at = le32(&data, eocd + 16) as usize;
    let entries = le16(&data, eocd + 10);
    for _ in 0..entries {
        let name_len = le16(&data, at + 28) as usize;
        let extra_len = le16(&data, at + 30) as usize;
        let comment_len = le16(&data, at + 32) as usize;
        if &data[at + 46..at + 46 + name_len] == name.as_bytes() {
            let local = le32(&data, at + 42) as usize;
            data[at + 24..at + 28].copy_from_slice(&declared.to_le_bytes());
            data[local + 22..local + 26].copy_from_slice(&declared.to_le_bytes());
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    std::fs::write(path, data).expect("write zip");
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;

/// The parts of an `.xlsx` around its sheets: `sheets` are `(name, part)`, stored as
/// `xl/worksheets/sheetN.xml`; `strings` the shared strings part, if any.
fn xlsx_parts(sheets: Vec<(&str, Part)>, strings: Option<Part>) -> Vec<(String, Part)> {
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    let mut book = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
    );
    let mut parts = vec![
        ("[Content_Types].xml".to_string(), bytes(CONTENT_TYPES)),
        (
            "_rels/.rels".to_string(),
            bytes(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
            ),
        ),
    ];
    let count = sheets.len();
    for (i, (name, part)) in sheets.into_iter().enumerate() {
        let n = i + 1;
        rels.push_str(&format!(r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#));
        book.push_str(&format!(
            r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#
        ));
        parts.push((format!("xl/worksheets/sheet{n}.xml"), part));
    }
    if let Some(strings) = strings {
        rels.push_str(&format!(r#"<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>"#, count + 1));
        parts.push(("xl/sharedStrings.xml".to_string(), strings));
    }
    rels.push_str("</Relationships>");
    book.push_str("</sheets></workbook>");
    parts.push(("xl/_rels/workbook.xml.rels".to_string(), bytes(rels)));
    parts.push(("xl/workbook.xml".to_string(), bytes(book)));
    parts
}

fn write_xlsx(path: &Path, sheets: Vec<(&str, Part)>, strings: Option<Part>) {
    let parts = xlsx_parts(sheets, strings);
    write_zip(path, parts.into_iter().map(|(n, p)| (leak(n), p)).collect());
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `A`, `B`, … `XFD` for a 0-based column.
fn letters(mut col: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap()
}

/// A row of inline-string cells from column A, plus `extra` raw cells.
fn row_xml(r: usize, cells: &[&str], extra: &str) -> String {
    let mut s = format!(r#"<row r="{r}">"#);
    for (c, text) in cells.iter().enumerate() {
        s.push_str(&format!(
            r#"<c r="{}{r}" t="inlineStr"><is><t>{}</t></is></c>"#,
            letters(c),
            escape(text)
        ));
    }
    s.push_str(extra);
    s.push_str("</row>");
    s
}

fn sheet_xml(rows: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
    )
}

/// The header and `n` valid rows, as sheet rows from row 1.
fn valid_rows(n: usize, extra: impl Fn(usize) -> String) -> String {
    let mut rows = row_xml(1, &HEADER, &extra(1));
    for i in 0..n {
        let name = format!("Streak {i}");
        rows.push_str(&row_xml(i + 2, &ok_row(&name), &extra(i + 2)));
    }
    rows
}

/// The sheet-level warnings of the JSON report, their messages.
fn report_warnings(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("out.json")).expect("out.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON report");
    json["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn report_rows(dir: &Path) -> usize {
    let text = std::fs::read_to_string(dir.join("out.json")).expect("out.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON report");
    json["rows"].as_array().expect("rows").len()
}

/// A folder for one test; with `HOSTILE_BOOKS_KEEP` set it stays, files and all, for
/// measuring an older build by hand.
fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("hostile-")
        .disable_cleanup(std::env::var_os("HOSTILE_BOOKS_KEEP").is_some())
        .tempdir()
        .expect("temp dir")
}

fn file(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[test]
fn a_sheet_padded_with_gigabytes_of_whitespace_is_refused_by_its_size() {
    // 3.5 GB of spaces between two tags pack into a few MB; quick-xml would hold them whole.
    let dir = tmp();
    let path = file(&dir, "padded.xlsx");
    let head = sheet_xml(&valid_rows(1, |_| String::new()));
    let (head, tail) = head.split_at(head.find("</sheetData>").unwrap());
    let sheet = Part::Run {
        head: head.as_bytes().to_vec(),
        fill: b' ',
        count: 3_500_000_000,
        tail: tail.as_bytes().to_vec(),
    };
    write_xlsx(&path, vec![("streaks", sheet)], None);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 10_000_000, "{size} bytes");
    validate(dir.path(), &path).bounded(2).says(&[
        "sheet `streaks` (xl/worksheets/sheet1.xml)",
        "it unpacks to 3.5 GB",
        "over the limit of 2.1 GB",
        "save it again",
    ]);
}

#[test]
fn a_whitespace_run_longer_than_any_cell_is_refused_as_it_is_read() {
    // Within every size limit, but one text between two tags of 20 MB.
    let dir = tmp();
    let path = file(&dir, "run.xlsx");
    let head = sheet_xml(&valid_rows(3, |_| String::new()));
    let (head, tail) = head.split_at(head.find("<row r=\"3\"").unwrap());
    let sheet = Part::Run {
        head: head.as_bytes().to_vec(),
        fill: b' ',
        count: 20_000_000,
        tail: tail.as_bytes().to_vec(),
    };
    write_xlsx(&path, vec![("streaks", sheet)], None);
    validate(dir.path(), &path).bounded(2).says(&[
        "sheet `streaks`",
        "a text between two tags of",
        "over the limit of 16.8 MB",
    ]);
}

#[test]
fn a_zip_entry_that_unpacks_past_its_declared_size_is_stopped_there() {
    // The header says 2 KB; the entry unpacks to 3 GB.
    let dir = tmp();
    let path = file(&dir, "liar.xlsx");
    let head = sheet_xml(&valid_rows(1, |_| String::new()));
    let (head, tail) = head.split_at(head.find("</sheetData>").unwrap());
    let sheet = Part::Run {
        head: head.as_bytes().to_vec(),
        fill: b' ',
        count: 3_000_000_000,
        tail: tail.as_bytes().to_vec(),
    };
    write_xlsx(&path, vec![("streaks", sheet)], None);
    declare_size(&path, "xl/worksheets/sheet1.xml", 2_000);
    validate(dir.path(), &path).bounded(2).says(&[
        "sheet `streaks`",
        "more than the 2.0 KB its zip header declares",
    ]);
}

#[test]
fn a_packed_entry_past_the_ratio_is_refused_before_it_is_unpacked() {
    // 100 MB of one byte: over the size past which the packing ratio is checked.
    let dir = tmp();
    let path = file(&dir, "ratio.xlsx");
    let head = sheet_xml(&valid_rows(1, |_| String::new()));
    let (head, tail) = head.split_at(head.find("</sheetData>").unwrap());
    let sheet = Part::Run {
        head: head.as_bytes().to_vec(),
        fill: b' ',
        count: 100_000_000,
        tail: tail.as_bytes().to_vec(),
    };
    write_xlsx(&path, vec![("streaks", sheet)], None);
    validate(dir.path(), &path).bounded(2).says(&[
        "sheet `streaks`",
        "times its packed size",
        "over the limit of 100 times",
    ]);
}

#[test]
fn a_cell_at_column_xfd_on_every_row_is_ignored_and_said_so() {
    // Each row would be 16,384 cells wide: only the header's 7 are kept.
    let dir = tmp();
    let path = file(&dir, "xfd.xlsx");
    let rows = valid_rows(5_000, |r| {
        format!(r#"<c r="XFD{r}" t="inlineStr"><is><t>x</t></is></c>"#)
    });
    write_xlsx(&path, vec![("streaks", bytes(sheet_xml(&rows)))], None);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 200_000, "{size} bytes");
    let run = validate(dir.path(), &path);
    run.bounded(0);
    assert_eq!(report_rows(dir.path()), 5_000);
    // A sheet-level warning, in the summary and every report, like an unknown column.
    assert!(
        run.stdout.contains(
            "5001 cells right of column G (the header's last) have no column and are ignored, the first at XFD1"
        ),
        "{}",
        run.describe()
    );
    assert!(report_warnings(dir.path())
        .iter()
        .any(|w| w.contains("5001 cells right of column G")));
    // The workbook report keeps every row's cells: it stays bounded too.
    validate_with(dir.path(), &path, &[]).bounded(0);
}

#[test]
fn a_periods_sheet_spanning_a1_to_xfd1048576_is_streamed() {
    // calamine's dense range of it would be 17 billion cells.
    let dir = tmp();
    let path = file(&dir, "periods.xlsx");
    let main = sheet_xml(&valid_rows(3, |_| String::new()));
    let periods = sheet_xml(&format!(
        "{}{}",
        row_xml(1, &["streak_name", "start_date", "end_date"], ""),
        r#"<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#
    ));
    write_xlsx(
        &path,
        vec![("streaks", bytes(main)), ("periods", bytes(periods))],
        None,
    );
    let run = validate(dir.path(), &path);
    run.bounded(0);
    assert_eq!(report_rows(dir.path()), 3);
    assert!(
        report_warnings(dir.path()).iter().any(|w| w
            .contains("1 cell right of column C (the header's last) has no column and is ignored")),
        "{}",
        run.describe()
    );
}

#[test]
fn a_cell_below_excels_last_row_is_refused() {
    let dir = tmp();
    let path = file(&dir, "deep.xlsx");
    let rows = format!(
        "{}{}",
        valid_rows(2, |_| String::new()),
        r#"<row r="2000000"><c r="A2000000" t="inlineStr"><is><t>x</t></is></c></row>"#
    );
    write_xlsx(&path, vec![("streaks", bytes(sheet_xml(&rows)))], None);
    validate(dir.path(), &path).bounded(2).says(&[
        "sheet `streaks`",
        "a cell on row 2,000,000",
        "1,048,576 rows",
    ]);
    // A row number calamine cannot even count: a damaged file, not a crash (calamine's count
    // overflows: a panic where overflows are checked, a wrapped row number where not).
    let rows = rows.replace("2000000", "99999999999");
    write_xlsx(&path, vec![("streaks", bytes(sheet_xml(&rows)))], None);
    let run = validate(dir.path(), &path);
    run.bounded(2);
    assert!(
        run.stderr.contains("not a readable Excel (.xlsx) workbook")
            || run.stderr.contains("1,048,576 rows, Excel's last row"),
        "{}",
        run.describe()
    );
    // A panic caught inside the reader is the message above and nothing else.
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
}

#[test]
fn a_gigabyte_shared_string_is_refused_by_the_shared_strings_limit() {
    let dir = tmp();
    let path = file(&dir, "sst.xlsx");
    let strings = Part::Run {
        head: br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>"#.to_vec(),
        fill: b'a',
        count: 1_000_000_000,
        tail: b"</t></si></sst>".to_vec(),
    };
    let rows = format!(
        "{}{}",
        valid_rows(1, |_| String::new()),
        r#"<row r="3"><c r="A3" t="s"><v>0</v></c></row>"#
    );
    write_xlsx(
        &path,
        vec![("streaks", bytes(sheet_xml(&rows)))],
        Some(strings),
    );
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 10_000_000, "{size} bytes");
    validate(dir.path(), &path).bounded(2).says(&[
        "shared strings (xl/sharedStrings.xml)",
        "it unpacks to 1.0 GB",
        "over the limit of 268.4 MB",
    ]);
}

#[test]
fn a_shared_string_joined_from_many_runs_is_refused_by_the_value_limit() {
    // Rich text: every run is small, the string they make is 40 MB.
    let dir = tmp();
    let path = file(&dir, "rich.xlsx");
    let mut si = String::from(
        r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si>"#,
    );
    let run = format!("<r><t>{}</t></r>", "a".repeat(1000));
    for _ in 0..40_000 {
        si.push_str(&run);
    }
    si.push_str("</si></sst>");
    let rows = format!(
        "{}{}",
        valid_rows(1, |_| String::new()),
        r#"<row r="3"><c r="A3" t="s"><v>0</v></c></row>"#
    );
    write_xlsx(
        &path,
        vec![("streaks", bytes(sheet_xml(&rows)))],
        Some(bytes(si)),
    );
    validate(dir.path(), &path).bounded(2).says(&[
        "shared strings",
        "one <si> element of",
        "16.8 MB for one value",
    ]);
}

#[test]
fn one_long_shared_string_in_every_cell_is_refused_by_the_text_budget() {
    // A 1 MB string, used by 7,000 cells: 7 GB of text once every cell holds its copy.
    let dir = tmp();
    let path = file(&dir, "amplified.xlsx");
    let strings = format!(
        r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>{}</t></si></sst>"#,
        "a".repeat(1_000_000)
    );
    let mut rows = row_xml(1, &HEADER, "");
    for r in 2..1002 {
        rows.push_str(&format!(r#"<row r="{r}">"#));
        for c in 0..HEADER.len() {
            rows.push_str(&format!(r#"<c r="{}{r}" t="s"><v>0</v></c>"#, letters(c)));
        }
        rows.push_str("</row>");
    }
    write_xlsx(
        &path,
        vec![("streaks", bytes(sheet_xml(&rows)))],
        Some(bytes(strings)),
    );
    validate(dir.path(), &path).bounded(2).says(&[
        "sheet `streaks`",
        "its cells hold more than",
        "of text",
        "for a file of",
    ]);
}

#[test]
fn a_document_type_declaration_is_refused() {
    let dir = tmp();
    let path = file(&dir, "dtd.xlsx");
    let sheet = sheet_xml(&valid_rows(1, |_| String::new())).replacen(
        "<worksheet",
        r#"<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]><worksheet"#,
        1,
    );
    write_xlsx(&path, vec![("streaks", bytes(sheet))], None);
    validate(dir.path(), &path).bounded(2).says(&[
        "not a readable Excel (.xlsx) workbook",
        "document type declaration",
    ]);
}

/// A minimal `.ods` whose first table is `rows` (XML of `table:table-row`s).
fn write_ods(path: &Path, rows: &str) {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="streaks">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    let file = std::fs::File::create(path).expect("create ods");
    let mut zip = ZipWriter::new(file);
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    zip.start_file("META-INF/manifest.xml", deflated).unwrap();
    zip.write_all(manifest.as_bytes()).unwrap();
    zip.start_file("content.xml", deflated).unwrap();
    zip.write_all(content.as_bytes()).unwrap();
    zip.finish().unwrap();
}

fn ods_row(cells: &[&str]) -> String {
    let mut s = String::from("<table:table-row>");
    for c in cells {
        s.push_str(&format!(
            r#"<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>"#,
            escape(c)
        ));
    }
    s.push_str("</table:table-row>");
    s
}

#[test]
fn ods_rows_repeated_a_million_times_are_refused_naming_the_repeat() {
    let dir = tmp();
    let path = file(&dir, "repeat.ods");
    let rows = format!(
        r#"{}<table:table-row table:number-rows-repeated="1048575"><table:table-cell office:value-type="string" table:number-columns-repeated="1024"><text:p>x</text:p></table:table-cell></table:table-row>"#,
        ods_row(&HEADER)
    );
    write_ods(&path, &rows);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 2_000, "{size} bytes");
    validate(dir.path(), &path).bounded(2).says(&[
        "content (content.xml)",
        "table `streaks`",
        "more than 4,000,000 cells at row 2 (repeated 1,048,575 times, a cell in it 1,024 times)",
        "over the limit of 4,000,000 cells",
    ]);
}

#[test]
fn an_ods_cell_repeated_a_billion_times_is_refused() {
    let dir = tmp();
    let path = file(&dir, "columns.ods");
    let rows = format!(
        r#"{}<table:table-row><table:table-cell office:value="1" office:value-type="float" table:number-columns-repeated="1000000000"/></table:table-row>"#,
        ods_row(&HEADER)
    );
    write_ods(&path, &rows);
    validate(dir.path(), &path).bounded(2).says(&[
        "table `streaks`",
        "row 2 expands to more than 4,000,000 cells (a cell repeated 1,000,000,000 times)",
    ]);
}

#[test]
fn an_ods_cell_of_four_billion_spaces_is_refused() {
    let dir = tmp();
    let path = file(&dir, "spaces.ods");
    let rows = format!(
        r#"{}<table:table-row><table:table-cell office:value-type="string"><text:p><text:s text:c="4000000000"/></text:p></table:table-cell></table:table-row>"#,
        ods_row(&HEADER)
    );
    write_ods(&path, &rows);
    validate(dir.path(), &path)
        .bounded(2)
        .says(&["table `streaks`", "one cell's text of 4.0 GB"]);
}

#[test]
fn a_real_looking_ods_with_trailing_repeats_still_reads() {
    // LibreOffice ends every sheet with empty rows and cells repeated to the sheet's edge.
    let dir = tmp();
    let path = file(&dir, "ok.ods");
    let mut rows = String::new();
    rows.push_str(&ods_row(&HEADER).replace(
        "</table:table-row>",
        r#"<table:table-cell table:number-columns-repeated="16377"/></table:table-row>"#,
    ));
    for i in 0..3 {
        rows.push_str(&ods_row(&ok_row(&format!("Streak {i}"))));
    }
    rows.push_str(r#"<table:table-row table:number-rows-repeated="1048572"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#);
    write_ods(&path, &rows);
    validate(dir.path(), &path).bounded(0);
    assert_eq!(report_rows(dir.path()), 3);
}

#[test]
fn a_ten_megabyte_csv_of_one_line_ends_quickly() {
    let dir = tmp();
    let path = file(&dir, "line.csv");
    let mut line = HEADER.join(",");
    while line.len() < 10_000_000 {
        line.push_str(",x");
    }
    line.push('\n');
    std::fs::write(&path, line).unwrap();
    validate(dir.path(), &path).bounded(2).says(&[
        "the header row (row 1) has",
        "more than the 100000 this tool reads",
    ]);
}

#[test]
fn a_ten_megabyte_csv_row_of_a_million_cells_under_a_normal_header_ends_quickly() {
    let dir = tmp();
    let path = file(&dir, "row.csv");
    let mut text = HEADER.join(",");
    text.push('\n');
    let mut row = "Wide,WEEKLY,3,2026-08-03,TRANSACTION,SALES,100".to_string();
    while row.len() < 10_000_000 {
        row.push_str(",x");
    }
    text.push_str(&row);
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    validate(dir.path(), &path).bounded(0);
}

#[test]
fn a_ten_megabyte_csv_of_one_cell_is_refused_as_too_large_a_cell() {
    let dir = tmp();
    let path = file(&dir, "cell.csv");
    let mut text = HEADER.join(",");
    text.push('\n');
    text.push_str(&"x".repeat(10_000_000));
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    validate(dir.path(), &path)
        .bounded(2)
        .says(&["row 2", "larger than the 1.0 MB a streak cell can hold"]);
}

#[test]
fn a_ten_megabyte_csv_of_blank_lines_ends_quickly() {
    let dir = tmp();
    let path = file(&dir, "blank.csv");
    let mut text = HEADER.join(",");
    text.push('\n');
    text.push_str(&format!("{}\n", ok_row("Streak 0").join(",")));
    text.push_str(&"\n".repeat(10_000_000));
    text.push_str(&format!("{}\n", ok_row("Streak 1").join(",")));
    std::fs::write(&path, text).unwrap();
    validate(dir.path(), &path).bounded(0);
    assert_eq!(report_rows(dir.path()), 2);
}
