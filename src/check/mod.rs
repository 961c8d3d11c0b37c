//! The validation wing: a sheet's header mapped to the template's columns ([`header`], through a
//! legacy export's `mapping`), each cell read by its kind ([`values`]), each row checked and
//! its body built ([`validate`]), periods read, generated and checked ([`periods`]); what it
//! learnt about the input as a whole is an [`InputSummary`]. The body's wire shape is
//! `crate::payload`, a leaf every stage shares.

pub mod header;
mod input;
pub(crate) mod mapping;
pub mod periods;
pub mod validate;
pub mod values;

pub use input::InputSummary;
