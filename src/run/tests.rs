//! The runner from a caller's own tokio runtime, as a server (the web page) will call it.

use std::sync::Mutex;

use super::*;
use crate::progress::{Phase, Silent};

/// Progress that remembers what it was told.
#[derive(Default)]
struct Recorder {
    phases: Mutex<Vec<&'static str>>,
    landed: Mutex<Vec<(u32, Status)>>,
}

struct Quiet;

impl Phase for Quiet {
    fn inc(&self, _: u64) {}
    fn set_position(&self, _: u64) {}
    fn set_message(&self, _: String) {}
    fn finish(self: Box<Self>, _: &str) {}
}

impl Progress for Recorder {
    fn phase(&self, label: &'static str, _: Option<u64>) -> Box<dyn Phase> {
        self.phases.lock().unwrap().push(label);
        Box::new(Quiet)
    }
    fn landed(&self, row: &RowOutcome) {
        self.landed.lock().unwrap().push((row.row, row.status));
    }
}

fn options(dir: &std::path::Path) -> (SheetOptions, ApiOptions) {
    let sheet = SheetOptions {
        file: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/campaign.csv"),
        reports: vec![dir.join("out.report.json")],
        state_dir: dir.join("state"),
        ..Default::default()
    };
    let api = ApiOptions {
        target: Target::Sandbox {
            state_file: dir.join("sandbox.json"),
        },
        client: ClientOptions {
            concurrency: 4,
            rate_limit: None,
            max_attempts: 3,
            timeout: std::time::Duration::from_secs(10),
            max_wait: std::time::Duration::from_secs(10),
        },
        strict: false,
        fresh: false,
        update: false,
    };
    (sheet, api)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_runs_inside_the_callers_runtime_and_reports_through_the_trait() {
    let dir = tempfile::tempdir().unwrap();
    let (sheet, api) = options(dir.path());
    let recorder = Arc::new(Recorder::default());
    let first = import(
        &sheet,
        &api,
        false,
        recorder.clone(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let rows = first.tally.counts.rows;
    assert!(rows > 10, "{rows} rows");
    assert_eq!(first.tally.counts.created, rows);
    assert!(first.all_good() && matches!(first.ended, Ended::Done));
    assert_eq!(first.posted.sent, rows);
    assert_eq!(*recorder.phases.lock().unwrap(), ["validating", "posting"]);
    let mut landed = recorder.landed.lock().unwrap().clone();
    landed.sort_by_key(|(row, _)| *row);
    let expected: Vec<(u32, Status)> = (2..rows as u32 + 2).map(|r| (r, Status::Created)).collect();
    assert_eq!(landed, expected);
    assert!(first.sandbox.is_some() && first.api.as_ref().unwrap().sandbox);

    // The same file again: the journal says every row is done, so nothing is sent.
    let again = import(
        &sheet,
        &api,
        false,
        Arc::new(Silent),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(again.tally.counts.already_done, rows);
    assert_eq!(again.posted.sent, 0);
    assert_eq!(again.api.unwrap().requests, 0);

    // A dry run against the same sandbox: every name exists now.
    let plan = import(
        &sheet,
        &api,
        true,
        Arc::new(Silent),
        CancellationToken::new(),
    )
    .await
    .unwrap()
    .plan
    .unwrap();
    assert_eq!(
        plan,
        PlanCounts {
            create: 0,
            unchanged: rows,
            update: 0,
            conflict: 0,
            invalid: 0
        }
    );
}

#[test]
fn validation_prints_nothing_and_returns_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sheet, _) = options(dir.path());
    sheet.file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/with-errors.csv");
    let result = validate(&sheet, Mode::Validate, &Silent).unwrap();
    let c = &result.tally.counts;
    assert!(c.invalid > 0 && c.valid > 0 && c.valid + c.invalid == c.rows);
    assert!(!result.all_good());
    assert_eq!(result.landed.len(), 1);
    assert!(result.landed[0].path.ends_with("out.report.json"));
}
