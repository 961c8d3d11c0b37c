//! streak-import: spreadsheets of loyalty streak campaigns → streaks on Capillary's API.
//!
//! The modules follow the data: [`sheet`] reads rows → [`header`] maps the columns →
//! [`validate`] checks each row (in parallel, see [`pipeline`]) → [`periods`] and [`payload`]
//! build the request body → [`report`] writes what happened.

pub mod api;
pub mod cli;
pub mod clock;
pub mod columns;
pub mod error;
pub mod header;
pub mod input_hash;
pub mod journal;
pub mod mapping;
pub mod outcome;
pub mod pace;
pub mod payload;
pub mod periods;
pub mod post;
pub mod problem;
pub mod progress;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod sheet;
pub mod template;
pub mod text;
pub mod validate;
pub mod values;
