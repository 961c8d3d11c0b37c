//! The reading options of SPEC §2: `--date-format`, `--time-zone` and `--periods FILE` (explicit
//! periods for a CSV, SPEC §4), with their effect on the exact request bodies.

use serde_json::json;

use crate::util::*;

#[test]
fn date_format_reads_non_iso_text_and_iso_still_works() {
    let dir = TestDir::new();
    let mut day_first = ok_row("Day first");
    day_first[3] = "04/07/2026";
    let mut wrong = ok_row("Not that format");
    wrong[3] = "2026.07.04";
    dir.write("dates.csv", csv(&[&day_first, &ok_row("ISO"), &wrong]));

    // Without the flag, 04/07/2026 is ambiguous: both readings are named, neither is picked.
    let report = dir.validate_json("dates.csv", &[], 1);
    assert_eq!(
        errors(&report),
        vec![e(2, "D2", "ambiguous_date"), e(4, "D4", "invalid_date")]
    );
    let message = error_at(&report, "D2")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("4 July 2026") && message.contains("7 April 2026"),
        "{message}"
    );

    let (report, payloads) = dir.dry_run("dates.csv", &["--date-format", "%d/%m/%Y"], 1);
    assert_eq!(errors(&report), vec![e(4, "D4", "invalid_date")]);
    assert_eq!(
        payloads,
        vec![
            json!({"row": 2, "body": ok_body("Day first")}),
            json!({"row": 3, "body": ok_body("ISO")})
        ]
    );
}

#[test]
fn time_zone_is_the_default_for_rows_without_one() {
    let dir = TestDir::new();
    let header = [&HEADER[..], &["time_zone"]].concat();
    let mut text = line(&header, ',') + "\n";
    // 20:00 UTC on 3 July is still 3 July in London (21:00) but already 4 July in Kolkata (01:30).
    text += "Default zone,WEEKLY,3,2026-07-03T20:00:00Z,TRANSACTION,SALES,500,\n";
    text += "Own zone,WEEKLY,3,2026-07-03T20:00:00Z,TRANSACTION,SALES,500,Asia/Kolkata\n";
    dir.write("zones.csv", text);
    let (_, payloads) = dir.dry_run("zones.csv", &["--time-zone", "Europe/London"], 0);
    let london = &payloads[0]["body"];
    assert_eq!(london["timeZoneName"], "Europe/London");
    assert_eq!(london["periods"][0]["startDate"], "2026-07-03T00:00:00.000");
    let kolkata = &payloads[1]["body"];
    assert_eq!(kolkata["timeZoneName"], "Asia/Kolkata");
    assert_eq!(
        kolkata["periods"][0]["startDate"],
        "2026-07-04T00:00:00.000"
    );
}

#[test]
fn a_start_more_than_six_months_back_is_a_warning_not_an_error() {
    let dir = TestDir::new();
    let mut old = ok_row("Backdated");
    old[3] = "2025-12-01";
    dir.write("old.csv", csv(&[&old]));
    let (report, payloads) = dir.dry_run("old.csv", &[], 0);
    let warnings: Vec<_> = report["rows"][0]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["cell"].clone(), w["code"].clone()))
        .collect();
    // Three weeks from December 2025 are long over by July 2026: `ended` as well.
    assert_eq!(
        warnings,
        vec![
            (json!("D2"), json!("backdated")),
            (json!("D2"), json!("ended"))
        ]
    );
    let statuses: Vec<_> = payloads[0]["body"]["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["periodStatus"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec![json!("RUNNING"), json!("RUNNING"), json!("RUNNING")]
    );
}

fn custom_sheet() -> String {
    let rows: [[&str; 7]; 5] = [
        ["Festival", "CUSTOM", "", "", "TRANSACTION", "SALES", "5"],
        ["Overlap", "custom", "", "", "TRANSACTION", "SALES", "5"],
        ["Nothing", "CUSTOM", "", "", "TRANSACTION", "SALES", "5"],
        [
            "Weekly override",
            "WEEKLY",
            "",
            "",
            "TRANSACTION",
            "SALES",
            "7",
        ],
        ["Mismatch", "CUSTOM", "3", "", "TRANSACTION", "SALES", "5"],
    ];
    csv(&rows.iter().map(|r| &r[..]).collect::<Vec<_>>())
}

const PERIODS: &str = "\
streak_name,start_date,end_date,ref_code,default_value,description,active
festival,2026-11-01,2026-11-07,,,Second week,
Festival,2026-10-20,2026-10-26,Diwali,2,,no
Overlap,2026-08-01,2026-08-10,,,,
Overlap,2026-08-10,2026-08-20,,,,
Weekly override,2026-09-01,2026-09-30,,,,
Mismatch,2026-09-01,2026-09-02,,,,
Backwards,2026-09-30,2026-09-01,,,,
";

#[test]
fn periods_file_gives_custom_streaks_their_periods() {
    let dir = TestDir::new();
    dir.write("custom.csv", custom_sheet());
    dir.write("periods.csv", PERIODS);
    let (report, payloads) = dir.dry_run("custom.csv", &["--periods", "periods.csv"], 1);
    assert_eq!(
        statuses(&report),
        vec![
            (2, "valid".into()),
            (3, "invalid".into()),
            (4, "invalid".into()),
            (5, "valid".into()),
            (6, "invalid".into()),
            (8, "invalid".into())
        ]
    );
    let sheets: Vec<_> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sheet"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        sheets,
        ["custom", "custom", "custom", "custom", "custom", "periods"]
    );
    assert_eq!(
        errors(&report),
        vec![
            e(3, "B3", "invalid_periods"),
            e(4, "B4", "invalid_periods"),
            e(6, "C6", "incompatible_fields"),
            e(8, "C8", "invalid_periods"),
        ]
    );
    let overlap = error_at(&report, "B3")["message"].as_str().unwrap();
    assert!(
        overlap.contains("row 4") && overlap.contains("row 5"),
        "the overlap names both period rows: {overlap}"
    );
    assert_eq!(
        report["summary"]["rows"], 5,
        "period rows are not streak rows"
    );

    assert_eq!(
        payload_names(&payloads),
        vec![(2, "Festival".into()), (5, "Weekly override".into())]
    );
    let festival = &payloads[0]["body"];
    assert_eq!(festival["totalPeriods"], 2);
    assert_eq!(festival["recurringCycles"], 2);
    assert_eq!(
        festival["periods"],
        json!([
            {"refCode": "Diwali", "startDate": "2026-10-20T00:00:00.000", "endDate": "2026-10-26T23:59:59.999",
             "periodStatus": "NOT_STARTED", "active": false, "description": ""},
            {"refCode": "Cycle_2", "startDate": "2026-11-01T00:00:00.000", "endDate": "2026-11-07T23:59:59.999",
             "periodStatus": "NOT_STARTED", "active": true, "description": "Second week"},
        ])
    );
    assert_eq!(
        festival["targets"][0]["defaultValues"],
        json!([{"defaultValue": 2}, {"defaultValue": 5}])
    );
    // Explicit periods win over generated ones for any streak the periods file names.
    let weekly = &payloads[1]["body"];
    assert_eq!(weekly["frequencyType"], "WEEKLY");
    assert_eq!(weekly["totalPeriods"], 1);
    assert_eq!(weekly["periods"][0]["endDate"], "2026-09-30T23:59:59.999");
}

#[test]
fn a_period_row_naming_no_streak_is_an_error_on_its_own_cell() {
    let dir = TestDir::new();
    dir.write("custom.csv", custom_sheet());
    dir.write(
        "periods.csv",
        format!("{PERIODS}Ghost,2026-08-01,2026-08-10,,,,\n"),
    );
    let (report, _) = dir.dry_run("custom.csv", &["--periods", "periods.csv"], 1);
    let ghost = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sheet"] == "periods" && r["row"] == 9)
        .expect("periods row 9 reported");
    assert_eq!(ghost["name"], "Ghost");
    assert_eq!(ghost["errors"].as_array().unwrap().len(), 1);
    let problem = &ghost["errors"][0];
    assert_eq!(
        (
            problem["column"].clone(),
            problem["cell"].clone(),
            problem["value"].clone(),
            problem["code"].clone()
        ),
        (
            json!("streak_name"),
            json!("A9"),
            json!("Ghost"),
            json!("invalid_periods")
        )
    );
}

#[test]
fn a_period_row_a_typo_off_a_custom_streak_holds_that_streak_back_and_suggests_its_name() {
    let dir = TestDir::new();
    dir.write(
        "c.csv",
        "name,frequency_type,total_periods,start_date,target_entity,target_type,default_value\n\
         Summer Sprint,CUSTOM,,,TRANSACTION,SALES,100\n\
         Streak 1,CUSTOM,,,TRANSACTION,SALES,100\n\
         Streak 2,CUSTOM,,,TRANSACTION,SALES,100\n",
    );
    dir.write(
        "c-periods.csv",
        "streak_name,start_date,end_date\n\
         Summer Sprint,2026-08-01,2026-08-07\n\
         Sumer Sprint,2026-08-08,2026-08-14\n\
         Streak 1,2026-08-01,2026-08-07\n\
         Streak 2,2026-08-01,2026-08-07\n\
         Completely Else,2026-08-01,2026-08-07\n",
    );
    let report = dir.validate_json("c.csv", &[], 1);
    // The streak the typo was meant for is held back, not created with one period of two;
    // streaks whose names are close to each other but both real are left alone.
    assert_eq!(
        statuses(&report)[..3],
        [
            (2, "invalid".to_string()),
            (3, "valid".to_string()),
            (4, "valid".to_string())
        ]
    );
    let held = error_at(&report, "B2");
    assert_eq!(held["code"], "invalid_periods");
    assert!(
        held["message"]
            .as_str()
            .unwrap()
            .contains("row 3 names `Sumer Sprint`"),
        "{held}"
    );
    // The orphan period rows: one suggests the name it was meant for, one has none to suggest.
    let orphans: Vec<&serde_json::Value> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["sheet"] == "c-periods")
        .collect();
    assert_eq!(orphans.len(), 2);
    assert!(orphans[0]["errors"][0]["hint"]
        .as_str()
        .unwrap()
        .starts_with("did you mean `Summer Sprint`?"));
    assert!(!orphans[1]["errors"][0]["hint"]
        .as_str()
        .unwrap()
        .contains("did you mean"));
}
