//! The server side of a dry run (and of `plan`): for each valid row, what an import would do
//! now. A row naming its streak by `target_group_id` is compared with that streak; any other
//! row's name is looked up (`isValidName`, then the streak's id), and a taken name's streak is
//! read and compared. Nothing is changed.

use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::live::{compare, mark_plan, Compared};
use crate::outcome::{Change, Plan, RowOutcome, Status};
use crate::payload::TargetGroup;
use crate::post::api::{Client, Halt, LiveError, Stop};
use crate::progress::Progress;

/// What an import of the sheet would do now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanCounts {
    pub create: u64,
    pub unchanged: u64,
    pub update: u64,
    pub conflict: u64,
    pub invalid: u64,
}

impl PlanCounts {
    fn add(&mut self, plan: Plan) {
        match plan {
            Plan::Create => self.create += 1,
            Plan::Unchanged => self.unchanged += 1,
            Plan::Update => self.update += 1,
            Plan::Conflict => self.conflict += 1,
        }
    }
}

/// What the server said about one row.
enum Found {
    Free,
    Compared(i64, Compared),
    /// The name is taken, but no streak of that name could be found to compare.
    TakenUnlisted,
}

async fn look_up(
    client: &Client,
    name: &str,
    given: Option<i64>,
    body: Option<&TargetGroup>,
    cancel: &CancellationToken,
) -> Result<Found, LiveError> {
    let Some(body) = body else {
        return Ok(Found::Free);
    };
    let id = match given {
        Some(id) => id,
        None => {
            if client
                .name_is_free(name, cancel)
                .await
                .map_err(LiveError::Halt)?
            {
                return Ok(Found::Free);
            }
            match client.find_id(name, cancel).await {
                (Some(id), _) => id,
                (None, Some(halt)) => return Err(LiveError::Halt(halt)),
                (None, None) => return Ok(Found::TakenUnlisted),
            }
        }
    };
    let compared = compare(client, id, body, given.is_some(), cancel).await?;
    Ok(Found::Compared(id, compared))
}

/// Asks the API about every valid row, `concurrency` at a time, and marks each row's plan.
pub(super) async fn preview(
    rows: &mut [RowOutcome],
    client: Arc<Client>,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<PlanCounts, Stop> {
    let todo: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].status == Status::Valid)
        .collect();
    let phase = progress.phase("planning", Some(todo.len() as u64));
    let cancel = CancellationToken::new();
    let mut counts = PlanCounts::default();
    let mut tasks = tokio::task::JoinSet::new();
    let mut pending = todo.into_iter();
    loop {
        while tasks.len() < concurrency.max(1) {
            let Some(i) = pending.next() else { break };
            let (client, name) = (client.clone(), rows[i].name.clone());
            let (given, body) = (rows[i].given_id, rows[i].payload.clone());
            let cancel = cancel.clone();
            tasks.spawn(async move {
                (
                    i,
                    look_up(&client, &name, given, body.as_deref(), &cancel).await,
                )
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let Ok((i, found)) = joined else {
            continue;
        };
        let row = &mut rows[i];
        let plan = match found {
            Ok(Found::Free) => {
                row.plan = Some(Plan::Create);
                Plan::Create
            }
            Ok(Found::Compared(id, compared)) => mark_plan(row, id, compared),
            Ok(Found::TakenUnlisted) => {
                row.plan = Some(Plan::Conflict);
                row.changes = vec![Change {
                    field: "name".into(),
                    old: "(taken by a target group the streak search does not list)".into(),
                    new: row.name.clone(),
                    editable: false,
                }];
                Plan::Conflict
            }
            Err(LiveError::Halt(Halt::Stop(stop))) => return Err(stop),
            Err(LiveError::Halt(_)) => break,
            Err(LiveError::Failed(detail)) => {
                row.note = Some(format!("could not be compared with the server: {detail}"));
                continue;
            }
        };
        counts.add(plan);
        phase.inc(1);
        progress.landed(&rows[i]);
    }
    phase.finish(&format!(
        "{} to create, {} unchanged, {} to update, {} in conflict",
        counts.create, counts.unchanged, counts.update, counts.conflict
    ));
    Ok(counts)
}
