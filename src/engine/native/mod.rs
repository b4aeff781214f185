//! The `native` back end: stages' own scheduler over Engine primitives.
//!
//! Owns variable expansion (`expand`) and ARG/ENV scoping (`scope`), the
//! stage scheduler (`scheduler`), COPY/ADD planning (`copy`, `pathmatch`,
//! `archive`, `retarget`, `source_link`, `image_wildcard`, `owner`), the step cache (`cache_key`,
//! `cache_admin`, `cache_usage`, `cache_gc`), step execution over the `StepEngine` trait
//! (`engine_api`, `stage_exec`, `run_step`, `copy_step`, `copy_group`,
//! `failed_run` for `--debug`,
//! `config_step`,
//! `mounts`, `settings`), what a build record learns of each step
//! (`step_record`), its bollard implementation (`docker_adapter`) and
//! the `Backend` the build command uses (`backend`, `limits`). Reads the
//! checked model and the graph; must not import the terminal layers (`cli`,
//! `commands`). See `docs/native-backend.md`.

pub mod archive;
pub mod backend;
pub mod build;
pub mod cache_admin;
pub mod cache_gc;
pub mod cache_key;
pub mod cache_usage;
pub mod config_step;
pub mod copy;
pub mod copy_group;
pub mod copy_in_turn;
pub mod copy_step;
pub mod debug_snapshot;
pub mod docker_adapter;
pub mod early_fetch;
pub mod engine_api;
pub mod expand;
pub mod extract_tree;
pub mod failed_run;
pub mod group_container;
pub mod image_wildcard;
pub mod limits;
mod mount_values;
mod mounts;
pub mod observer;
pub mod owner;
pub mod pathmatch;
pub mod retarget;
pub mod run_step;
pub mod scheduler;
pub mod scope;
pub mod settings;
pub mod source_date_times;
pub mod source_link;
pub mod stage_exec;
pub mod stage_plan;
pub mod step_common;
pub mod step_record;
pub mod step_text;
pub mod target_image;

#[cfg(test)]
mod early_fetch_tests;
#[cfg(test)]
mod executor_tests;
#[cfg(test)]
mod fake_engine;
