//! The BuildKit back end: builds on the BuildKit every Docker Engine
//! embeds, as the docker CLI's BuildKit client does. stages opens its own
//! session with the Engine (`session`, over raw connections: `transport`)
//! and serves on it the context (`filesync`, walked as fsutil sends it:
//! `walk`), secrets, registry credentials and health; the exported
//! Dockerfile goes to BuildKit's built-in Dockerfile frontend (`solve`),
//! whose status stream becomes stages' progress (`status`).
//!
//! Imports only the shared engine layer (client, context, dockerignore,
//! progress, registry credentials, the back end trait), never another
//! back end.

pub mod auth;
pub mod backend;
pub mod filesync;
pub mod health;
pub mod ids;
pub mod probe;
pub mod remote;
pub mod secrets;
pub mod session;
pub mod solve;
pub mod status;
pub mod transport;
pub mod walk;
