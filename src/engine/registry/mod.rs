//! Registries: image references, credentials from Docker's client
//! configuration, pulling the images a build reads before its first step,
//! and pushing the tags it made once every target succeeded. The Engine
//! does the transfers; stages chooses what to move, supplies credentials,
//! bounds how long a silent registry may stall, and reports progress. The
//! registry's own API (`api`) reads manifests and tags them directly.

pub mod api;
pub mod credentials;
pub mod errors;
pub mod pull;
pub mod push;
pub mod reference;
pub mod transfer;
