//! Everything that talks to the Docker Engine: connection, build context, back ends, cache, progress.

pub mod native;
