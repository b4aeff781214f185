//! The `native` back end: stages' own scheduler over Engine primitives.
//!
//! It owns variable expansion and ARG/ENV scoping, the stage scheduler,
//! COPY/ADD planning, the step cache key and step execution over an engine
//! trait. It reads the checked model (`crate::config::model`) and must not
//! import the terminal layers (`cli`, `commands`).

pub mod archive;
pub mod backend;
pub mod build;
pub mod cache_admin;
pub mod cache_key;
pub mod config_step;
pub mod copy;
pub mod copy_step;
pub mod docker_adapter;
pub mod engine_api;
pub mod expand;
pub mod limits;
pub mod mounts;
pub mod observer;
pub mod owner;
pub mod pathmatch;
pub mod retarget;
pub mod run_step;
pub mod scheduler;
pub mod scope;
pub mod settings;
pub mod stage_exec;
pub mod stage_plan;
pub mod step_common;
pub mod step_text;

#[cfg(test)]
mod executor_tests;
#[cfg(test)]
mod fake_engine;
