//! The Dockerfile language alone: syntax tree, parser, typed instructions, printer. Never imports `config`.
