//! mmapscope: an interactive explorer of `mmap(2)`.
//!
//! The crate is layered, every `use crate::` pointing down
//! (`tests/it/layering.rs` keeps it so), bottom first:
//!
//! - `text`, `geometry`: leaf helpers (escaping, numbers, sizes, page arithmetic);
//! - `sys`: the kernel, in rooms by role (`sys/mod.rs` lists them): the only unchecked code is
//!   `sys::raw`; `sys::map` the mapping and its policy, `sys::probe` the page state,
//!   `sys::ops` the operations and their words, `sys::contain::exit` cleanup on any way out;
//! - `record`: recordings, frames written to a file and read back (data and file I/O only);
//! - `demo`, `options`, then the pure core: `search` (what a search looks for and the byte
//!   matcher, `search::query`; a search run across ticks within a time budget, `search::job`),
//!   `layout`, `model` (the state, a part per feature), `action` (what the user asks), `keys`
//!   and `legend` (what the help and the manual say), `help_text` (the help overlay's lines
//!   laid out), `update`, `input` (a key press in its context becomes an action), `script`
//!   (the batch language, and `script::lesson`: lessons, a script with narration, parsed);
//! - `report` (results as serde types), `session` (the one path of every action; its observer
//!   reads /proc at a pace its cost allows, its script runner runs batch and lesson lines, its
//!   `lecture` plays a lesson's steps over a runner);
//! - `ui` (render a model, no kernel), `app` (the terminal and its loop), `cli`.
#![deny(unsafe_code)]

pub mod action;
pub mod app;
pub mod cli;
pub mod demo;
pub mod geometry;
pub mod help_text;
pub mod input;
pub mod keys;
pub mod layout;
pub mod legend;
pub mod model;
pub mod options;
pub mod record;
pub mod report;
pub mod script;
pub mod search;
pub mod session;
pub mod sys;
pub mod text;
pub mod ui;
pub mod update;
