//! A streak's later life: how a sheet row compares with its live streak ([`diff`]), and a live
//! streak written back as a sheet row ([`export`]).

pub mod diff;
pub mod export;

pub use diff::{verdict, Change, Verdict, CONFLICT_NOTE};
