//! The options of a run, checked before any row is read so a typo is one message, not one per
//! row: the clock, the date format, the map, the files, and where every report goes (never over
//! an input).

use chrono::Utc;

use super::{Mode, SheetOptions};
use crate::check::mapping::Mapping;
use crate::clock::Now;
use crate::error::InputError;
use crate::report::landing::{self, Protected};
use crate::report::{self, ReportKind, Reports, RunMeta, Target};
use crate::run::pipeline::{periods_beside, ReadOptions};

/// A run's options, checked.
pub(super) struct Prepared {
    pub now: Now,
    pub options: ReadOptions,
    /// Where the reports go, checked never to be an input.
    pub targets: Vec<Target>,
    /// The dry run's request bodies, beside the first report.
    pub payloads: Option<Target>,
    pub meta: RunMeta,
}

/// Checks a date format before any row is read.
fn check_date_format(format: &str) -> Result<(), InputError> {
    match crate::check::values::date_format_problem(format) {
        Some(why) => Err(InputError::Usage(format!("--date-format {format}: {why}"))),
        None => Ok(()),
    }
}

/// An IANA time zone, or a message naming the closest one.
pub fn parse_time_zone(name: &str) -> Result<chrono_tz::Tz, InputError> {
    name.parse().map_err(|_| {
        let near = crate::text::closest(name, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()));
        InputError::Usage(format!(
            "--time-zone {name}: not an IANA time zone{}.",
            near.map(|n| format!(" (did you mean {n}?)"))
                .unwrap_or_default()
        ))
    })
}

impl Prepared {
    pub fn new(sheet: &SheetOptions, mode: Mode) -> Result<Self, InputError> {
        let now = Now::from_env()?;
        if let Some(f) = &sheet.date_format {
            check_date_format(f)?;
        }
        let mapping = sheet
            .map
            .as_deref()
            .map(|m| Mapping::load(m, sheet.date_format.as_deref()))
            .transpose()?;
        crate::sheet::check_file(&sheet.file)?;
        if let Some(periods) = &sheet.periods {
            crate::sheet::check_file(periods)
                .map_err(|e| InputError::Usage(format!("--periods {}: {e}", periods.display())))?;
        }
        let targets = report::targets(&sheet.file, &sheet.reports);
        let mut keep_cells = false;
        for t in &targets {
            keep_cells |= ReportKind::of(&t.path)? == ReportKind::Xlsx;
        }
        let payloads = (mode == Mode::DryRun).then(|| Target {
            path: super::payloads::payloads_path(&targets[0].path),
            default: targets[0].default,
        });
        check_targets(sheet, &targets, payloads.as_ref())?;
        Ok(Prepared {
            now,
            options: ReadOptions {
                sheet: sheet.sheet.clone(),
                periods_file: sheet.periods.clone(),
                date_format: sheet.date_format.clone(),
                time_zone: sheet.time_zone,
                mapping,
                keep_cells,
                build_payload: mode != Mode::Validate,
            },
            targets,
            payloads,
            meta: RunMeta {
                mode: mode.as_str(),
                started_at: Utc::now(),
            },
        })
    }

    /// Creates every report's staged file (see [`landing`]), before reading or sending.
    pub fn open_reports(&self) -> Result<Reports, InputError> {
        Reports::open(&self.targets, &self.meta)
    }
}

/// Refuses any report (or the request bodies) that would land on one of the run's inputs.
fn check_targets(
    sheet: &SheetOptions,
    targets: &[Target],
    payloads: Option<&Target>,
) -> Result<(), InputError> {
    let sibling = periods_beside(&sheet.file);
    let mut protected = vec![Protected {
        path: &sheet.file,
        what: "the input sheet",
    }];
    if let Some(p) = &sheet.periods {
        protected.push(Protected {
            path: p,
            what: "the --periods file",
        });
    } else if sibling.is_file() {
        protected.push(Protected {
            path: &sibling,
            what: "the periods file beside the input",
        });
    }
    if let Some(m) = &sheet.map {
        protected.push(Protected {
            path: m,
            what: "the --map file",
        });
    }
    let all: Vec<Target> = targets.iter().chain(payloads).cloned().collect();
    landing::check_targets(&all, &protected)
}
