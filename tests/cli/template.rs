//! `streak-import template`: the workbook and CSV it writes are generated from the column table,
//! carry a dropdown for every enum and boolean column, and validate — as written, and once rows
//! are filled into them.

use calamine::Data;
use serde_json::Value as Json;
use streak_import::columns::{Kind, COLUMNS, PERIOD_COLUMNS};
use streak_import::problem::column_letters;
use streak_import::sheet::Value;
use streak_import::template;

use crate::book::{at, read_sheet, sheet_names, text_at, zip_part};
use crate::util::*;

fn keys() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.key).collect()
}

/// The position of a column in the template, by key.
fn col(key: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| c.key == key)
        .unwrap_or_else(|| panic!("no column {key}"))
}

/// The cell of a column in a spreadsheet row, e.g. `F4`.
fn cell(key: &str, row: u32) -> String {
    format!("{}{row}", column_letters(col(key)))
}

/// The `<dataValidation …>…</dataValidation>` (or self-closed) elements of a sheet's XML.
pub fn data_validations(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<dataValidation ") {
        let tail = &rest[start..];
        let open_end = tail.find('>').expect("tag end");
        let end = if tail[..open_end].ends_with('/') {
            open_end + 1
        } else {
            tail.find("</dataValidation>").expect("closing tag") + "</dataValidation>".len()
        };
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// The value of attribute `name` in an element's opening tag.
pub fn attr(element: &str, name: &str) -> Option<String> {
    let open = &element[..element.find('>').unwrap_or(element.len())];
    let key = format!(" {name}=\"");
    let start = open.find(&key)? + key.len();
    let len = open[start..].find('"')?;
    Some(open[start..start + len].to_string())
}

/// The text of the first `<tag>…</tag>` inside an element.
pub fn inner(element: &str, tag: &str) -> Option<String> {
    let start = element.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = element[start..].find(&format!("</{tag}>"))?;
    Some(element[start..start + len].to_string())
}

/// The validation whose range starts at `first` (e.g. `F2`): sqref `F2:F10000` or the like.
pub fn validation_at<'a>(validations: &'a [String], first: &str) -> Option<&'a String> {
    validations.iter().find(|v| {
        attr(v, "sqref").is_some_and(|s| s.split(' ').any(|r| r.split(':').next() == Some(first)))
    })
}

/// The values a dropdown must offer for a kind, as the column table says.
pub fn expected_list(kind: Kind) -> Option<Vec<&'static str>> {
    match kind {
        Kind::Enum(values) => Some(values.to_vec()),
        Kind::Bool => Some(vec!["TRUE", "FALSE"]),
        _ => None,
    }
}

#[test]
fn template_xlsx_has_the_column_tables_headers_and_sheets() {
    let dir = TestDir::new();
    let run = dir.run(&["template", "-o", "t.xlsx"]);
    run.code(0);
    assert!(run.stdout.contains("t.xlsx"), "{}", run.describe());
    let path = dir.join("t.xlsx");
    // Every list fits Excel's inline limit, so there is no hidden lists sheet.
    assert_eq!(sheet_names(&path), ["streaks", "periods", "instructions"]);

    let streaks = read_sheet(&path, "streaks");
    let header: Vec<String> = (0..COLUMNS.len() as u32)
        .map(|c| text_at(&streaks, 0, c))
        .collect();
    assert_eq!(header, keys());
    assert_eq!(streaks.height(), 2, "header and one example row");
    assert_eq!(streaks.width(), COLUMNS.len());

    let periods = read_sheet(&path, "periods");
    let header: Vec<String> = (0..PERIOD_COLUMNS.len() as u32)
        .map(|c| text_at(&periods, 0, c))
        .collect();
    assert_eq!(
        header,
        PERIOD_COLUMNS.iter().map(|c| c.key).collect::<Vec<_>>()
    );
    assert_eq!(periods.height(), 1, "a header and no rows");

    // The header row is frozen.
    let xml = zip_part(&path, "xl/worksheets/sheet1.xml");
    assert!(
        xml.contains(
            r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
        ),
        "{xml}"
    );
}

#[test]
fn example_row_is_made_of_the_examples_with_the_right_cell_types() {
    let dir = TestDir::new();
    dir.run(&["template", "-o", "t.xlsx"]).code(0);
    let streaks = read_sheet(&dir.join("t.xlsx"), "streaks");
    for (i, c) in COLUMNS.iter().enumerate() {
        let got = at(&streaks, 1, i as u32);
        if c.example.is_empty() {
            assert_eq!(got, Data::Empty, "{}", c.key);
            continue;
        }
        match c.kind {
            // The example starts on a Monday two to three weeks after "now" (2026-07-01).
            Kind::Date => match &got {
                Data::DateTime(d) => {
                    let d = d.as_datetime().expect("a date");
                    assert_eq!(d.format("%Y-%m-%d").to_string(), "2026-07-20", "{}", c.key)
                }
                other => panic!("{}: {other:?} is not a date cell", c.key),
            },
            Kind::Bool => assert_eq!(got, Data::Bool(c.example == "TRUE"), "{}", c.key),
            // A 64-bit ID column is text, so that Excel never rounds an ID.
            Kind::Int { max, .. } if max > 1 << 53 => {
                assert_eq!(got, Data::String(c.example.to_string()), "{}", c.key)
            }
            Kind::Int { .. } | Kind::Amount => {
                assert_eq!(got, Data::Float(c.example.parse().unwrap()), "{}", c.key)
            }
            Kind::AmountList if !c.example.contains(';') => {
                assert_eq!(got, Data::Float(c.example.parse().unwrap()), "{}", c.key)
            }
            _ => assert_eq!(got, Data::String(c.example.to_string()), "{}", c.key),
        }
    }
}

#[test]
fn streaks_sheet_has_a_dropdown_for_every_enum_and_boolean_column() {
    let dir = TestDir::new();
    dir.run(&["template", "-o", "t.xlsx"]).code(0);
    let xml = zip_part(&dir.join("t.xlsx"), "xl/worksheets/sheet1.xml");
    let validations = data_validations(&xml);
    assert_eq!(
        validations.len(),
        COLUMNS.len(),
        "one validation per column"
    );
    let mut dropdowns = 0;
    for (i, c) in COLUMNS.iter().enumerate() {
        let letters = column_letters(i);
        let v = validation_at(&validations, &format!("{letters}2")).unwrap_or_else(|| {
            panic!(
                "{}: no validation from {letters}2 in {validations:#?}",
                c.key
            )
        });
        assert_eq!(
            attr(v, "sqref").unwrap(),
            format!("{letters}2:{letters}10000"),
            "{}",
            c.key
        );
        // Every column explains its rule when a cell is selected.
        assert_eq!(attr(v, "promptTitle").as_deref(), Some(c.key), "{v}");
        assert!(attr(v, "prompt").is_some_and(|p| !p.is_empty()), "{v}");
        match expected_list(c.kind) {
            Some(values) => {
                dropdowns += 1;
                assert_eq!(attr(v, "type").as_deref(), Some("list"), "{}: {v}", c.key);
                assert_eq!(
                    inner(v, "formula1").unwrap(),
                    format!("\"{}\"", values.join(",")),
                    "{}",
                    c.key
                );
            }
            None => match c.kind {
                Kind::Int { min, max } if max <= i32::MAX as i64 => {
                    assert_eq!(attr(v, "type").as_deref(), Some("whole"), "{}: {v}", c.key);
                    assert_eq!(inner(v, "formula1").unwrap(), min.to_string());
                    assert_eq!(inner(v, "formula2").unwrap(), max.to_string());
                }
                _ => assert_eq!(
                    attr(v, "type"),
                    None,
                    "{}: only an input message: {v}",
                    c.key
                ),
            },
        }
    }
    let expected = COLUMNS
        .iter()
        .filter(|c| expected_list(c.kind).is_some())
        .count();
    assert_eq!(dropdowns, expected);
    assert!(dropdowns >= 9, "the table has 7 enum and 2 boolean columns");

    // The periods sheet: a dropdown on its boolean column too.
    let xml = zip_part(&dir.join("t.xlsx"), "xl/worksheets/sheet2.xml");
    let validations = data_validations(&xml);
    for (i, c) in PERIOD_COLUMNS.iter().enumerate() {
        let v =
            validation_at(&validations, &format!("{}2", column_letters(i))).expect("a validation");
        if let Some(values) = expected_list(c.kind) {
            assert_eq!(
                inner(v, "formula1").unwrap(),
                format!("\"{}\"", values.join(","))
            );
        }
    }
}

#[test]
fn long_rules_are_cut_to_excels_input_message_limit() {
    let dir = TestDir::new();
    dir.run(&["template", "-o", "t.xlsx"]).code(0);
    let xml = zip_part(&dir.join("t.xlsx"), "xl/worksheets/sheet1.xml");
    let validations = data_validations(&xml);
    let longest = COLUMNS
        .iter()
        .max_by_key(|c| c.rule_text().chars().count())
        .unwrap();
    let v = validation_at(
        &validations,
        &format!("{}2", column_letters(col(longest.key))),
    )
    .unwrap();
    let prompt = attr(v, "prompt")
        .unwrap()
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&");
    assert!(prompt.chars().count() <= 255, "{prompt}");
    let message = match longest.need {
        streak_import::columns::Need::Always => format!("Required. {}", longest.rule_text()),
        _ => longest.rule_text(),
    };
    if message.chars().count() > 255 {
        assert!(prompt.ends_with('…'), "{prompt}");
        assert!(message.starts_with(prompt.trim_end_matches('…')));
    } else {
        assert_eq!(prompt, message);
    }
}

#[test]
fn instructions_sheet_has_a_line_per_column() {
    let dir = TestDir::new();
    dir.run(&["template", "-o", "t.xlsx"]).code(0);
    let sheet = read_sheet(&dir.join("t.xlsx"), "instructions");
    let column_a: Vec<String> = (0..sheet.height() as u32)
        .map(|r| text_at(&sheet, r, 0))
        .collect();
    let all = column_a.join("\n");
    assert!(all.contains("one row per streak"), "{all}");
    assert!(
        all.contains("CUSTOM") && all.contains("`periods` sheet"),
        "{all}"
    );
    assert!(all.contains("streak-import validate FILE"), "{all}");

    let tables: Vec<usize> = column_a
        .iter()
        .enumerate()
        .filter(|(_, a)| *a == "column")
        .map(|(r, _)| r)
        .collect();
    assert_eq!(
        tables.len(),
        2,
        "a table for the streaks sheet and one for the periods sheet:\n{all}"
    );
    let head: Vec<String> = (0..6)
        .map(|c| text_at(&sheet, tables[0] as u32, c))
        .collect();
    assert_eq!(
        head,
        [
            "column",
            "required",
            "API field",
            "rule",
            "example",
            "accepted header aliases"
        ]
    );
    for (i, c) in COLUMNS.iter().enumerate() {
        let r = (tables[0] + 1 + i) as u32;
        let line: Vec<String> = (0..6).map(|k| text_at(&sheet, r, k)).collect();
        let required = match c.need {
            streak_import::columns::Need::Always => "yes",
            streak_import::columns::Need::Sometimes => "when the rule says",
            streak_import::columns::Need::Optional => "no",
        };
        assert_eq!(
            line,
            [
                c.key,
                required,
                c.api_field,
                &c.rule_text(),
                c.example,
                &c.aliases.join(", ")
            ],
            "instructions row {}",
            r + 1
        );
    }
    // Nothing between the last column line and the periods table but a blank line and its title.
    assert_eq!(tables[1], tables[0] + 1 + COLUMNS.len() + 2);
    for (i, c) in PERIOD_COLUMNS.iter().enumerate() {
        assert_eq!(text_at(&sheet, (tables[1] + 1 + i) as u32, 0), c.key);
    }
    assert_eq!(
        text_at(&sheet, (tables[1] + 1 + PERIOD_COLUMNS.len()) as u32, 0),
        ""
    );
}

#[test]
fn the_plain_template_validates_with_one_valid_row() {
    let dir = TestDir::new();
    dir.run(&["template", "-o", "template.xlsx"]).code(0);
    let report = dir.validate_json("template.xlsx", &[], 0);
    assert_eq!(report["summary"]["rows"], 1);
    assert_eq!(report["summary"]["valid"], 1);
    assert_eq!(statuses(&report), [(2, "valid".to_string())]);
    assert!(problems(&report).is_empty(), "{:?}", problems(&report));

    let (_, payloads) = dir.dry_run("template.xlsx", &[], 0);
    assert_eq!(payloads.len(), 1);
    let body = &payloads[0]["body"];
    let example = |key: &str| COLUMNS[col(key)].example;
    assert_eq!(body["name"], example("name"));
    assert_eq!(body["frequencyType"], example("frequency_type"));
    assert_eq!(
        body["totalPeriods"],
        example("total_periods").parse::<u64>().unwrap()
    );
    assert_eq!(body["targets"][0]["targetEntity"], example("target_entity"));
    assert_eq!(body["targets"][0]["targetType"], example("target_type"));
    // Dated in the future: the Monday two to three weeks after "now" (2026-07-01).
    assert_eq!(body["periods"][0]["startDate"], "2026-07-20T00:00:00.000");
    assert!(report["rows"][0]["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn the_csv_template_is_the_header_and_the_example_row_and_validates() {
    let dir = TestDir::new();
    dir.run(&["template", "-o", "template.csv"]).code(0);
    let text = dir.read("template.csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], keys().join(","));
    let examples: Vec<&str> = COLUMNS
        .iter()
        .map(|c| {
            if c.key == "start_date" {
                "2026-07-20"
            } else {
                c.example
            }
        })
        .collect();
    assert_eq!(lines[1], line(&examples, ','));

    let report = dir.validate_json("template.csv", &[], 0);
    assert_eq!(report["summary"]["valid"], 1);
    assert!(problems(&report).is_empty(), "{:?}", problems(&report));
}

/// A row of the example with some cells replaced, by key.
fn example_with(changes: &[(&str, Value)]) -> Vec<Value> {
    let mut row = template::example_row(chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
    for (key, value) in changes {
        row[col(key)] = value.clone();
    }
    row
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

#[test]
fn rows_filled_into_the_template_validate_and_the_bad_one_is_pinned_to_its_cell() {
    let dir = TestDir::new();
    let rows = vec![
        example_with(&[("name", text("Streak one"))]),
        example_with(&[
            ("name", text("Streak two")),
            ("frequency_type", text("Monthly")),
            ("streak_levels", text("3")),
        ]),
        // Row 4: the one bad row — a frequency type the API does not know.
        example_with(&[
            ("name", text("Streak three")),
            ("frequency_type", text("FORTNIGHTLY")),
        ]),
        example_with(&[
            ("name", text("Streak four")),
            ("target_entity", text("ALTERNATE_CURRENCIES")),
            ("target_type", text("REGULAR")),
            ("alternate_currency_id", text("badges")),
            ("program_id", Value::Int(973)),
            ("start_date", template::date("2026-08-01")),
        ]),
        // Row 6: CUSTOM, its periods on the periods sheet.
        example_with(&[
            ("name", text("Streak five")),
            ("frequency_type", text("CUSTOM")),
            ("total_periods", Value::Empty),
            ("start_date", Value::Empty),
            ("streak_levels", text("2")),
        ]),
    ];
    let periods = vec![
        vec![
            text("Streak five"),
            template::date("2026-07-10"),
            template::date("2026-07-20"),
        ],
        vec![
            text("streak FIVE"),
            template::date("2026-08-01"),
            template::date("2026-08-31"),
        ],
    ];
    template::write_xlsx(&dir.join("filled.xlsx"), &rows, &periods).expect("write the template");

    let report = dir.validate_json("filled.xlsx", &[], 1);
    assert_eq!(
        errors(&report),
        [e(4, &cell("frequency_type", 4), "invalid_enum")]
    );
    assert_eq!(report["summary"]["rows"], 5);
    assert_eq!(report["summary"]["valid"], 4);
    assert_eq!(report["summary"]["invalid"], 1);
    assert!(error_at(&report, &cell("frequency_type", 4))["value"] == "FORTNIGHTLY");

    let (_, payloads) = dir.dry_run("filled.xlsx", &[], 1);
    assert_eq!(
        payload_names(&payloads),
        [
            (2, "Streak one"),
            (3, "Streak two"),
            (5, "Streak four"),
            (6, "Streak five")
        ]
        .map(|(r, n)| (r, n.to_string()))
    );
    let body = |name: &str| -> &Json {
        &payloads.iter().find(|p| p["body"]["name"] == name).unwrap()["body"]
    };
    assert_eq!(body("Streak two")["frequencyType"], "MONTHLY");
    assert_eq!(
        body("Streak four")["targets"][0]["extendedFieldInfo"]["programId"],
        973
    );
    let custom = body("Streak five");
    assert_eq!(custom["totalPeriods"], 2);
    assert_eq!(custom["periods"][0]["startDate"], "2026-07-10T00:00:00.000");
    assert_eq!(custom["periods"][1]["endDate"], "2026-08-31T23:59:59.999");
}

#[test]
fn template_refuses_to_overwrite_a_file_without_force() {
    let dir = TestDir::new();
    dir.write("t.xlsx", "my campaign");
    let run = dir.run(&["template", "-o", "t.xlsx"]);
    run.code(2);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.describe());
    assert!(
        errors[0].contains("t.xlsx already exists") && errors[0].contains("--force"),
        "{}",
        errors[0]
    );
    assert_eq!(dir.read("t.xlsx"), "my campaign", "left as it was");

    dir.run(&["template", "-o", "t.xlsx", "--force"]).code(0);
    assert_eq!(sheet_names(&dir.join("t.xlsx"))[0], "streaks");

    dir.write("t.csv", "mine");
    dir.run(&["template", "--output", "t.csv"]).code(2);
    assert_eq!(dir.read("t.csv"), "mine");
}

#[test]
fn template_of_an_unknown_type_is_a_usage_error() {
    let dir = TestDir::new();
    let run = dir.run(&["template", "-o", "t.ods"]);
    run.code(2);
    assert!(
        run.stderr.contains(".xlsx") && run.stderr.contains(".csv"),
        "{}",
        run.describe()
    );
    assert!(!dir.join("t.ods").exists());
    dir.run(&["template"]).code(2);
}

#[test]
fn required_columns_stand_out_and_say_so_and_id_columns_are_text() {
    let dir = TestDir::new();
    dir.run(&["template", "-o", "t.xlsx"]).code(0);
    let xml = zip_part(&dir.join("t.xlsx"), "xl/worksheets/sheet1.xml");
    let styles = zip_part(&dir.join("t.xlsx"), "xl/styles.xml");
    assert!(styles.contains("FFE699"), "the required-column fill");
    // Every required column's header has one style, the others another.
    let style_of = |cell: &str| -> String {
        let at = xml
            .find(&format!("r=\"{cell}\""))
            .unwrap_or_else(|| panic!("{cell}"));
        let rest = &xml[at..];
        let s = rest.find(" s=\"").map(|i| &rest[i + 4..]).unwrap_or("");
        s.split('"').next().unwrap_or("").to_string()
    };
    let required: Vec<String> = COLUMNS
        .iter()
        .enumerate()
        .filter(|(_, c)| c.need == streak_import::columns::Need::Always)
        .map(|(i, _)| style_of(&format!("{}1", streak_import::problem::column_letters(i))))
        .collect();
    let optional = style_of(&format!("{}1", streak_import::problem::column_letters(1)));
    assert!(!required.is_empty() && required.iter().all(|s| s == &required[0]));
    assert_ne!(required[0], optional);
    assert!(
        xml.contains("promptTitle=\"name\" prompt=\"Required."),
        "{xml}"
    );
    // preferred_till_id is formatted as text, like the other ID columns.
    let till = COLUMNS
        .iter()
        .position(|c| c.key == "preferred_till_id")
        .unwrap();
    let letter = streak_import::problem::column_letters(till);
    let streaks = read_sheet(&dir.join("t.xlsx"), "streaks");
    assert!(
        matches!(at(&streaks, 1, till as u32), Data::String(_)),
        "{letter}2 is text"
    );
}
