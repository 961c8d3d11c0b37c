//! The command-line tests: one test binary (ripgrep/uv style) running the real `streak-import`
//! in a temporary folder per test, with the clock fixed by `STREAK_IMPORT_NOW`.
//!
//! Modules: `util` (the temp-folder runner and report helpers), `book` (workbooks built and read
//! back in tests), then one module per concern.

mod bad_input;
mod book;
mod excel;
mod files;
mod hostile_books;
mod libreoffice;
mod mapping;
mod options;
mod properties;
mod reading;
mod reports;
mod samples;
mod template;
mod util;
