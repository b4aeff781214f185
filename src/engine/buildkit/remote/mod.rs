//! Remote BuildKit builders (`stages build --builder ADDR`): stages talks
//! to each daemon's Control API directly (Solve, Status, Session), serving
//! on the session the same services as with the Engine's BuildKit, plus
//! file send for the image or files the builder sends back. Targets are
//! spread over the builders (`farm`), and with them the platforms of a
//! pushed multi-platform image (`parts`, whose index stages assembles:
//! `index`, `index_push`); images are pushed by the builders
//! or loaded into the local Engine (`load`), artifact targets' files
//! placed in their output directories (`artifacts`), one directory per
//! platform when there are several (`platform_split`).

pub mod address;
pub mod artifacts;
pub mod connect;
pub mod dial_stdio;
pub mod farm;
pub mod filesend;
pub mod index;
pub mod index_push;
pub mod job;
pub mod load;
pub mod parts;
pub mod platform_split;
pub mod session;
pub mod solve;
pub mod tags;
pub mod vertex;
pub mod workers;
