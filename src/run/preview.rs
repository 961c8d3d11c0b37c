//! The server side of a dry run: for each valid row, whether its name is free (`isValidName`),
//! and for a taken name the id of the existing group. Nothing is created.

use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::outcome::{Plan, RowOutcome, Status};
use crate::post::api::{Client, Halt, Stop};
use crate::progress::Progress;

/// What an import of the sheet would do now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanCounts {
    pub create: u64,
    pub exists: u64,
    pub invalid: u64,
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
    let phase = progress.phase("previewing", Some(todo.len() as u64));
    let cancel = CancellationToken::new();
    let mut counts = PlanCounts::default();
    let mut tasks = tokio::task::JoinSet::new();
    let mut pending = todo.into_iter();
    loop {
        while tasks.len() < concurrency.max(1) {
            let Some(i) = pending.next() else { break };
            let (client, name) = (client.clone(), rows[i].name.clone());
            let cancel = cancel.clone();
            tasks.spawn(async move {
                let answer = client.name_is_free(&name, &cancel).await;
                let id = match answer {
                    Ok(false) => client.find_id(&name, &cancel).await.0,
                    _ => None,
                };
                (i, answer, id)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let Ok((i, answer, id)) = joined else {
            continue;
        };
        let free = match answer {
            Ok(free) => free,
            Err(Halt::Stop(stop)) => return Err(stop),
            Err(_) => break,
        };
        if free {
            rows[i].plan = Some(Plan::Create);
            counts.create += 1;
        } else {
            rows[i].plan = Some(Plan::Exists);
            rows[i].target_group_id = id;
            counts.exists += 1;
        }
        phase.inc(1);
    }
    phase.finish(&format!(
        "{} to create, {} already existing",
        counts.create, counts.exists
    ));
    Ok(counts)
}
