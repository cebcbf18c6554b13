//! mmapscope: an interactive explorer of `mmap(2)`.
//!
//! The crate is layered, every `use crate::` pointing down
//! (`tests/it/layering.rs` keeps it so), bottom first:
//!
//! - `text`, `geometry`: leaf helpers (escaping, numbers, sizes, page arithmetic);
//! - `sys`: the kernel, in rooms by role (`sys/mod.rs` lists them): the only unchecked code is
//!   `sys::raw`; `sys::map` the mapping and its policy, `sys::probe` the page state,
//!   `sys::ops` the operations and their words, `sys::contain::exit` cleanup on any way out;
//! - `demo`, `options`, then the pure core: `find` (what searches look for, the byte
//!   matcher), `action`, `keys` and `legend` (what the help and the manual say), `layout`,
//!   `model`, `update`, `keymap`, `script`, `lesson` (parsing);
//! - `report` (results as serde types), `seek` (searches that run across ticks), `session`
//!   (the one path of every action; its observer reads /proc at a pace its cost allows, its
//!   script runner runs batch and lesson lines), `player` (lessons over a script runner);
//! - `ui` (render a model, no kernel), `app` (the terminal and its loop), `cli`.
#![deny(unsafe_code)]

pub mod action;
pub mod app;
pub mod cli;
pub mod demo;
pub mod find;
pub mod geometry;
pub mod keymap;
pub mod keys;
pub mod layout;
pub mod legend;
pub mod lesson;
pub mod model;
pub mod options;
pub mod player;
pub mod report;
pub mod script;
pub mod seek;
pub mod session;
pub mod sys;
pub mod text;
pub mod ui;
pub mod update;
