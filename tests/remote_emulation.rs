//! RUN steps for a platform the builders' host cannot run natively: with
//! arm64 emulation registered (Debian's qemu-user-static, through the
//! kernel's binfmt_misc), real `buildkitd` daemons run an arm64 program for
//! `linux/arm64` and an amd64 one for `linux/amd64` in one build.
//!
//! The test registers the emulator itself when the machine allows it and
//! takes the registration away again afterwards; an emulator the machine
//! already had is used and left. Where emulation cannot be had, it says so
//! and stops: `remote_builders` then checks the refusal instead.

mod buildkitd_support;
mod emulation_support;
mod engine_support;
mod registry_support;

use std::path::Path;

use buildkitd_support::{Farm, build_on};
use emulation_support::{Arm64Emulation, arch_probes};
use engine_support::{Project, engine};

/// A stage `FROM scratch` that copies the probe built for its target
/// architecture and runs it (exec form: there is no shell), so the file it
/// writes names the machine the kernel says the program ran on.
fn probe_project(probes: &Path) -> Project {
    let project = Project::new(
        r#"[stages.probe]
from = "scratch"
args = { TARGETARCH = {} }
steps = [
  { copy = "probe-${TARGETARCH}", to = "/probe" },
  { run = ["/probe"] },
]

[artifacts.arch]
stage = "probe"
path = "/out/arch"

[targets.dist]
artifacts = ["arch"]
output = "dist/"
platforms = ["linux/amd64", "linux/arm64"]
"#,
    );
    for arch in ["amd64", "arm64"] {
        let name = format!("probe-{arch}");
        // A copy keeps the executable mode the step needs.
        std::fs::copy(probes.join(&name), project.path().join(&name)).expect("copy a probe");
    }
    project
}

#[test]
fn an_arm64_run_step_runs_under_emulation_beside_an_amd64_one() {
    engine();
    // Before the daemons start: a worker learns its platforms then.
    let emulation = match Arm64Emulation::enable() {
        Ok(emulation) => emulation,
        Err(why) => {
            eprintln!(
                "skipped: no arm64 emulation here ({why}); remote_builders checks the refusal"
            );
            return;
        }
    };
    let Some(farm) = Farm::start() else { return };
    let probes = arch_probes().unwrap_or_else(|why| panic!("no probes: {why}"));
    let project = probe_project(&probes);
    let run = build_on(&project, &farm.addresses(), &["dist"]).success();
    let read = |platform: &str| {
        let path = project.path().join("dist").join(platform).join("arch");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} ({e}):\n{}", path.display(), run.describe()))
    };
    assert_eq!(read("linux_arm64"), "aarch64\n", "{}", run.describe());
    assert_eq!(read("linux_amd64"), "x86_64\n", "{}", run.describe());
    let registered_here = emulation.registered_here();
    drop(emulation);
    assert!(
        !(registered_here && Arm64Emulation::registered()),
        "the emulator this test registered is still registered"
    );
}
