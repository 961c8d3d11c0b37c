//! The validation wing: a sheet's header mapped to the template's columns ([`header`], through a
//! legacy export's [`mapping`]), each cell read by its kind ([`values`]), each row checked and
//! its body built ([`validate`]), periods read, generated and checked ([`periods`]); the body's
//! wire shape is [`payload`].

pub mod header;
pub(crate) mod mapping;
pub(crate) mod payload;
pub mod periods;
pub mod validate;
pub mod values;
