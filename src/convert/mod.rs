//! Conversions: checked project → Dockerfile (export), Dockerfile → project (import), builder pattern → project (migrate).
