//! The ways a project is built: the reference, `docker build` with the
//! classic builder on the original Dockerfile, and `stages build` after
//! `stages import` with each back end this `stages` has. A new back end is
//! one line in `STAGES_BACKENDS`; one the binary does not offer yet is
//! left out (and said so), so the list can name back ends being written.

use std::process::Command;
use std::sync::OnceLock;

/// `stages build --backend NAME`, with the flags that make its build a
/// real one: the native back end keeps its own cache, so `--no-cache`
/// makes it run every step; the Engine's builders share the reference's
/// layer cache, so an instruction that reads as the original's reuses the
/// same layer, as it would for a user.
pub struct StagesBackend {
    pub name: &'static str,
    pub flags: &'static [&'static str],
    /// Build every stage the target needs as a target of its own first, to
    /// learn the ids of the stage images the Engine's classic builder
    /// leaves behind (the target's build then takes them from the cache):
    /// the comparison removes them at the end.
    pub stage_by_stage: bool,
}

pub const STAGES_BACKENDS: &[StagesBackend] = &[
    StagesBackend {
        name: "native",
        flags: &["--no-cache"],
        stage_by_stage: false,
    },
    StagesBackend {
        name: "dockerfile",
        flags: &[],
        stage_by_stage: true,
    },
    StagesBackend {
        name: "buildkit",
        flags: &[],
        stage_by_stage: false,
    },
];

/// Whether `stages build --backend NAME` is accepted by this binary (its
/// help lists the value).
pub fn offered(name: &str) -> bool {
    static HELP: OnceLock<String> = OnceLock::new();
    let help = HELP.get_or_init(|| {
        let out = crate::engine_support::stages()
            .args(["build", "--help"])
            .output()
            .expect("run stages build --help");
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    backend_values(help).iter().any(|value| value == name)
}

/// The values clap lists for `--backend` in long help: the `- NAME:` lines
/// after the option (or its `[possible values: …]`), up to the next option.
fn backend_values(help: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("--backend") {
            inside = true;
        } else if inside && trimmed.starts_with('-') && !trimmed.starts_with("- ") {
            break;
        }
        if let Some((_, list)) = inside
            .then(|| line.split_once("[possible values: "))
            .flatten()
        {
            let list = list.split(']').next().unwrap_or_default();
            values.extend(list.split(", ").map(|v| v.trim().to_owned()));
            continue;
        }
        if let Some(value) = inside.then(|| trimmed.strip_prefix("- ")).flatten() {
            let name = value.split([':', ' ']).next().unwrap_or_default();
            values.push(name.to_owned());
        }
    }
    values
}

/// The classic builder's output with BuildKit off, as `docker build` runs
/// without buildx.
pub fn docker_classic() -> Command {
    let mut command = Command::new("docker");
    command.env("DOCKER_BUILDKIT", "0");
    command
}

#[cfg(test)]
mod tests {
    use super::backend_values;

    #[test]
    fn backend_values_are_read_from_long_help() {
        let help = "Options:\n      --backend <BACKEND>\n          Which builder runs the steps.\n\n          Possible values:\n          - native:     stages' own scheduler\n          - dockerfile: The Engine's own builder\n\n      --build-arg <KEY=VALUE>\n          Set\n";
        assert_eq!(backend_values(help), ["native", "dockerfile"]);
        let short = "      --backend <BACKEND>  Which builder [default: native] [possible values: native, dockerfile, buildkit]\n      --jobs <N>  How many\n";
        assert_eq!(backend_values(short), ["native", "dockerfile", "buildkit"]);
    }
}
