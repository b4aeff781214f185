//! The BuildKit back end: builds on the BuildKit every Docker Engine
//! embeds, as the docker CLI's BuildKit client does. stages opens its own
//! session with the Engine (`session`, over raw connections: `transport`)
//! and serves on it the context (`filesync`, walked as fsutil sends it:
//! `walk`), secrets, registry credentials and health; the exported
//! Dockerfile goes to BuildKit's built-in Dockerfile frontend (`solve`),
//! whose status stream becomes stages' progress (`status`). Artifact
//! targets come back through the `local` exporter (`artifacts`, received
//! by `filesend` and `receive`). A stage whose inputs are unchanged since
//! a successful build is taken from that build without a solve
//! (`up_to_date`: the key and context digest in `unchanged`, kept in the
//! project's state by `solve_records`).
//!
//! Imports only the shared engine layer (client, context, dockerignore,
//! progress, registry credentials, the back end trait), never another
//! back end.

pub mod artifacts;
pub mod auth;
pub mod backend;
pub mod filesend;
pub mod filesync;
pub mod health;
pub mod ids;
pub mod probe;
pub mod receive;
pub mod remote;
pub mod secrets;
pub mod session;
pub mod solve;
pub mod solve_records;
pub mod status;
pub mod step_record;
pub mod transport;
pub mod unchanged;
pub mod up_to_date;
pub mod walk;
