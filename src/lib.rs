//! streak-import: spreadsheets of loyalty streak campaigns → streaks on Capillary's API.
//!
//! The folders are the layers, top to bottom; an arrow only ever points down:
//!
//! - faces: [`cli`] (flags → options → the runner → a summary and an exit code) and [`ui`]
//!   (a web page served on loopback: the same runner behind a grid);
//! - the runner, [`run`]: validate, dry run and import from plain options, returning a typed
//!   [`run::RunResult`]; it reports progress through [`progress::Progress`];
//! - the stages: [`sheet`] reads rows → [`check`] maps the header, reads the cells, checks each
//!   row and builds its body (in parallel, see `run::pipeline`) → [`post`] sends the bodies
//!   (the API client, its pacing and the journal that makes "exactly once" hold) → [`report`]
//!   writes what happened; [`live`] compares a row with its live streak and turns a live
//!   streak back into a sheet row (plan, update, export);
//! - [`sandbox`]: a local API to rehearse and test against; [`template`]: the blank template;
//! - shared leaves: the column table ([`columns`]), problems ([`problem`]), what happened to a
//!   row ([`outcome`]), the request body's wire shape (`payload`), errors ([`error`]), the
//!   clock ([`clock`]).
//!
//! The library's public surface is what a face needs: [`run::validate`], [`run::import`] and
//! their options and result, [`progress::Progress`], [`sandbox::Sandbox`] and
//! [`template`]; the stages are public for the tests and benches that drive them directly.

pub mod check;
pub mod cli;
pub mod clock;
pub mod columns;
pub mod error;
pub(crate) mod input_hash;
pub mod live;
pub mod outcome;
pub(crate) mod payload;
pub mod post;
pub mod problem;
pub mod progress;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod sheet;
pub mod template;
pub(crate) mod text;
pub mod ui;
