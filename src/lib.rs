//! mmapscope: an interactive explorer of `mmap(2)`.
//!
//! The crate is split along the lines of `shared/style.md`: `sys` talks to the kernel (and holds the
//! only unchecked code, in `sys::region`), `model`/`update`/`keymap` are the pure core of the TUI, `ui`
//! draws a model without touching the kernel, and `report` turns a probe into JSON or a text table.
#![deny(unsafe_code)]

pub mod action;
pub mod app;
pub mod cli;
pub mod demo;
pub mod geometry;
pub mod keymap;
pub mod keys;
pub mod layout;
pub mod lesson;
pub mod model;
pub mod options;
pub mod player;
pub mod report;
pub mod script;
pub mod session;
pub mod sys;
pub mod text;
pub mod ui;
pub mod update;
