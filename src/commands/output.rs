//! The global output switches: `--color auto|always|never` (honouring
//! `NO_COLOR` and `CLICOLOR_FORCE`), `-q/--quiet` and `-v/--verbose`.
//! Set once by `main` before a command runs; read where output is printed.

use std::io::IsTerminal;
use std::sync::OnceLock;

use crate::cli::ColorChoice;

/// What the global switches decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSettings {
    /// Colours on standard error.
    pub color: bool,
    /// Only results and problems: no progress, no summaries, no "ok" lines.
    pub quiet: bool,
    /// Every line of progress, and what the build runs on.
    pub verbose: bool,
}

static SETTINGS: OnceLock<OutputSettings> = OnceLock::new();

/// Fixes the settings for this run (the first call wins) and tells the
/// libraries that draw in colour.
pub fn init(choice: ColorChoice, quiet: bool, verbose: bool) -> OutputSettings {
    let env = |key: &str| std::env::var(key).ok();
    let color = color_enabled(choice, env, std::io::stderr().is_terminal());
    let settings = *SETTINGS.get_or_init(|| OutputSettings {
        color,
        quiet,
        verbose,
    });
    console::set_colors_enabled_stderr(settings.color);
    console::set_colors_enabled(settings.color);
    settings
}

/// The settings of this run; without `init` (library use, tests): colours
/// on a terminal, neither quiet nor verbose.
pub fn settings() -> OutputSettings {
    SETTINGS.get().copied().unwrap_or_else(|| OutputSettings {
        color: color_enabled(
            ColorChoice::Auto,
            |key| std::env::var(key).ok(),
            std::io::stderr().is_terminal(),
        ),
        quiet: false,
        verbose: false,
    })
}

/// `--color` as the conventions say: `never`/`always` win; under `auto`,
/// a non-empty `NO_COLOR` turns colours off, a `CLICOLOR_FORCE` other than
/// `0` turns them on, and otherwise a terminal decides.
pub fn color_enabled(
    choice: ColorChoice,
    env: impl Fn(&str) -> Option<String>,
    terminal: bool,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                false
            } else if env("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else {
                terminal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::color_enabled;
    use crate::cli::ColorChoice;

    fn with(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_choice_wins_over_the_environment() {
        assert!(color_enabled(
            ColorChoice::Always,
            with(&[("NO_COLOR", "1")]),
            false
        ));
        assert!(!color_enabled(
            ColorChoice::Never,
            with(&[("CLICOLOR_FORCE", "1")]),
            true
        ));
    }

    #[test]
    fn auto_honours_no_color_then_clicolor_force_then_the_terminal() {
        assert!(!color_enabled(
            ColorChoice::Auto,
            with(&[("NO_COLOR", "1")]),
            true
        ));
        assert!(color_enabled(
            ColorChoice::Auto,
            with(&[("NO_COLOR", "")]),
            true
        ));
        assert!(color_enabled(
            ColorChoice::Auto,
            with(&[("CLICOLOR_FORCE", "1")]),
            false
        ));
        assert!(!color_enabled(
            ColorChoice::Auto,
            with(&[("CLICOLOR_FORCE", "0")]),
            false
        ));
        assert!(!color_enabled(
            ColorChoice::Auto,
            with(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]),
            true
        ));
        assert!(!color_enabled(ColorChoice::Auto, with(&[]), false));
    }
}
