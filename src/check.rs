//! The semantic rules of stages.toml and the lowering to `config::model`.
