//! The integration tests, as one test crate: one binary links the library once (it was one
//! binary per file), and `common` is compiled once for all of them, so a helper no test uses is
//! a dead-code warning again. A module per subject; `cargo test --test it MODULE::` runs one,
//! `cargo test --test it -- --exact MODULE::NAME` one test.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a failed unwrap is a failed test"
)]

mod common;

mod also;
mod attach;
mod batch;
mod bounds;
mod classroom;
mod cli;
mod containment;
mod docs;
mod e2e_pty;
mod exit;
mod export;
mod find;
mod gate;
mod jumps;
mod kernel;
mod lab;
mod layering;
mod lesson_screens;
mod lessons;
mod looking;
mod measures;
mod out;
mod page_state;
mod picker;
mod property;
mod record;
mod replay;
mod routes;
mod rss;
mod safety;
mod screens;
mod time;
mod time_screens;
mod track;
mod track_screens;
mod typed_screens;
mod typed_views;
