//! The user's files are safe (issue 9): a report is never written over an input, however its
//! path is spelled; a run that fails leaves nothing of its own behind and touches nothing else;
//! a default report the user edited is kept, and the new one lands beside it.

use crate::util::*;

fn sheet(dir: &TestDir) -> std::path::PathBuf {
    dir.write("campaign.csv", csv(&[&ok_row("Alpha"), &ok_row("Bravo")]))
}

#[test]
fn a_report_over_the_input_its_periods_or_its_map_is_refused_before_anything_happens() {
    let dir = TestDir::new();
    let input = sheet(&dir);
    let original = std::fs::read(&input).unwrap();
    dir.write("campaign-periods.csv", "streak_name,start_date,end_date\n");
    // A map is TOML whatever its name; one named like a report must be safe all the same.
    dir.write("map.json", "\"Campaign\" = \"name\"\n");
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::os::unix::fs::symlink(&input, dir.join("link.csv")).unwrap();
    std::fs::hard_link(&input, dir.join("hard.csv")).unwrap();
    for (report, what) in [
        ("campaign.csv", "the input sheet"),
        ("sub/../campaign.csv", "the input sheet"),
        ("link.csv", "the input sheet"),
        ("hard.csv", "the input sheet"),
        ("campaign-periods.csv", "the periods file beside the input"),
    ] {
        let run = dir.run(&["validate", "campaign.csv", "--report", report]);
        run.code(2);
        assert!(run.stderr.contains(what), "{report}: {}", run.describe());
    }
    let run = dir.run(&[
        "validate",
        "campaign.csv",
        "--map",
        "map.json",
        "--report",
        "map.json",
    ]);
    run.code(2);
    assert!(run.stderr.contains("the --map file"), "{}", run.describe());
    let run = dir.run(&[
        "validate",
        "campaign.csv",
        "--periods",
        "campaign-periods.csv",
        "--report",
        "out.json",
        "--report",
        "./campaign-periods.csv",
    ]);
    run.code(2);
    assert!(
        run.stderr.contains("the --periods file"),
        "{}",
        run.describe()
    );
    // The dry run's payloads file is checked too: `out.json` → `out.payloads.jsonl`.
    dir.write("out.payloads.jsonl", "\"Campaign\" = \"name\"\n");
    let run = dir.run(&[
        "import",
        "campaign.csv",
        "--dry-run",
        "--map",
        "out.payloads.jsonl",
        "--report",
        "out.json",
    ]);
    run.code(2);
    assert!(run.stderr.contains("the --map file"), "{}", run.describe());
    assert_eq!(
        std::fs::read(&input).unwrap(),
        original,
        "the input is untouched"
    );
    // Nothing was written by the refused runs.
    assert!(!dir.join("out.json").exists(), "{}", dir.listing());
}

#[test]
fn a_refused_import_sends_nothing_and_an_unwritable_report_stops_before_posting() {
    let dir = TestDir::new();
    let input = sheet(&dir);
    let original = std::fs::read(&input).unwrap();
    let run = dir.run(&[
        "import",
        "campaign.csv",
        "--sandbox",
        "--report",
        "campaign.csv",
    ]);
    run.code(2);
    assert_eq!(std::fs::read(&input).unwrap(), original);
    // The sandbox's state would hold anything created: nothing was, not even the state.
    assert!(
        !dir.join(".streak-import/sandbox-state.json").exists(),
        "{}",
        dir.listing()
    );
    let run = dir.run(&[
        "import",
        "campaign.csv",
        "--sandbox",
        "--report",
        "missing/out.json",
    ]);
    run.code(2);
    assert!(
        run.stderr.contains("missing/out.json"),
        "{}",
        run.describe()
    );
    assert!(
        !dir.join(".streak-import/sandbox-state.json").exists(),
        "{}",
        dir.listing()
    );
}

#[test]
fn a_run_that_fails_leaves_nothing_of_its_own_and_keeps_an_earlier_report() {
    let dir = TestDir::new();
    sheet(&dir);
    dir.run(&["validate", "campaign.csv"]).code(0);
    let report = dir.read("campaign.report.json");
    // The same name, now not a readable sheet: the run fails after the reports were opened.
    dir.write("campaign.csv", b"\xff\xfe\x00");
    dir.run(&["validate", "campaign.csv"]).code(2);
    assert_eq!(
        dir.read("campaign.report.json"),
        report,
        "the earlier report is kept"
    );
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_edited_default_report_is_kept_and_the_summary_says_where_the_new_one_is() {
    let dir = TestDir::new();
    sheet(&dir);
    dir.run(&["validate", "campaign.csv"]).code(0);
    // Run again: the report is ours and unchanged, so it is replaced in place.
    dir.run(&["validate", "campaign.csv"]).code(0);
    assert!(
        !dir.join("campaign.report.2.csv").exists(),
        "{}",
        dir.listing()
    );
    // The user edits the CSV report; the next run keeps it and writes beside it.
    let edited = dir.read("campaign.report.csv") + "my,notes\n";
    dir.write("campaign.report.csv", &edited);
    let run = dir.run(&["validate", "campaign.csv"]);
    run.code(0);
    assert_eq!(dir.read("campaign.report.csv"), edited);
    assert!(
        dir.join("campaign.report.2.csv").exists(),
        "{}",
        dir.listing()
    );
    assert!(
        run.stdout
            .contains("campaign.report.csv was changed since this tool wrote it")
            && run.stdout.contains("campaign.report.2.csv"),
        "{}",
        run.describe()
    );
    // The JSON report was not edited: it is replaced where it was.
    assert!(
        !dir.join("campaign.report.2.json").exists(),
        "{}",
        dir.listing()
    );
    // A file the tool never wrote is not its to replace either.
    dir.write("other.csv", csv(&[&ok_row("Charlie")]));
    dir.write("other.report.json", "{\"mine\": true}");
    dir.run(&["validate", "other.csv"]).code(0);
    assert_eq!(dir.read("other.report.json"), "{\"mine\": true}");
    assert!(
        dir.join("other.report.2.json").exists(),
        "{}",
        dir.listing()
    );
}

#[test]
fn content_a_workbook_cannot_hold_is_cut_with_a_note_not_a_failure() {
    use crate::book::{at, read_sheet, text_at, zip_names, zip_part};
    let dir = TestDir::new();
    let long = "x".repeat(40_000);
    let mut text = line(&HEADER, ',') + ",description\n";
    text += &(line(&ok_row("Alpha"), ',') + "," + &long + "\n");
    text += &(line(&ok_row("Bravo"), ',') + ",short\n");
    dir.write("long.csv", text);
    dir.run(&[
        "validate", "long.csv", "--report", "out.xlsx", "--report", "out.json",
    ])
    .code(1);
    let rows = read_sheet(&dir.join("out.xlsx"), "long");
    assert_eq!(text_at(&rows, 1, 7).chars().count(), 32_767);
    assert_eq!(text_at(&rows, 2, 7), "short");
    let notes: String = zip_names(&dir.join("out.xlsx"))
        .iter()
        .filter(|n| n.contains("comments"))
        .map(|n| zip_part(&dir.join("out.xlsx"), n))
        .collect();
    assert!(
        notes.contains("cut to 32767 characters, a cell&apos;s limit: the value has 40000")
            || notes.contains("cut to 32767 characters, a cell's limit: the value has 40000"),
        "{notes}"
    );
    let summary = read_sheet(&dir.join("out.xlsx"), "summary");
    let all: Vec<String> = (0..summary.height() as u32)
        .map(|r| at(&summary, r, 1).to_string())
        .collect();
    assert!(
        all.iter()
            .any(|t| t.contains("cells longer than 32767 characters")),
        "{all:?}"
    );
    // The JSON report is whole.
    assert_eq!(
        dir.json("out.json")["rows"][0]["errors"][0]["value"]
            .as_str()
            .unwrap()
            .len(),
        40_000
    );

    // More columns than a worksheet holds: the first 16,382 are shown, and status and message.
    let mut wide = line(&HEADER, ',');
    let mut row = line(&ok_row("Charlie"), ',');
    for i in 0..17_000 {
        wide += &format!(",extra{i}");
        row += ",v";
    }
    dir.write("wide.csv", format!("{wide}\n{row}\n"));
    dir.run(&["validate", "wide.csv", "--report", "wide.xlsx"])
        .code(0);
    let rows = read_sheet(&dir.join("wide.xlsx"), "wide");
    assert_eq!(text_at(&rows, 0, 16_382), "status");
    assert_eq!(text_at(&rows, 1, 16_382), "valid");
    let summary = read_sheet(&dir.join("wide.xlsx"), "summary");
    let all: Vec<String> = (0..summary.height() as u32)
        .map(|r| at(&summary, r, 1).to_string())
        .collect();
    assert!(
        all.iter()
            .any(|t| t.contains("only the first 16382 are shown")),
        "{all:?}"
    );
}

#[test]
fn escape_sequences_in_cells_and_headers_never_reach_the_terminal() {
    let dir = TestDir::new();
    let mut text = line(&HEADER, ',') + ",\u{1b}]0;owned\u{7}\n";
    let mut row = ok_row("Bad\u{1b}[2JName").map(str::to_string);
    row[1] = "WEEK\u{1b}[31mLY".into();
    text += &(row.join(",") + ",x\n");
    dir.write("evil.csv", text);
    for args in [
        &["validate", "evil.csv"][..],
        &["validate", "evil.csv", "--quiet"][..],
    ] {
        let run = dir.run(args);
        run.code(1);
        for out in [&run.stdout, &run.stderr] {
            assert!(
                !out.contains('\u{1b}') && !out.contains('\u{7}'),
                "{}",
                run.describe()
            );
        }
    }
    // The summary shows what was there, escaped.
    let run = dir.run(&["validate", "evil.csv"]);
    assert!(run.stdout.contains("\\u{1b}"), "{}", run.describe());
}
