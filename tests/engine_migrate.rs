//! `stages migrate` then `stages build` on the real Engine: the migrated
//! projects of the hand-written builder-pattern cases that build on the
//! local base image make what their scripts made — the image's command run
//! as a step, a shell pipeline's tar stream, a tarball for the host.

mod engine_support;

use std::path::Path;

use engine_support::{Project, Run, engine, files, read_tar, remove_images, stages, unique};

/// A temporary project holding a copy of `tests/migrate/<case>`, with
/// `replace` applied to its build script, migrated to stages.toml.
fn migrated(case: &str, replace: &[(&str, &str)]) -> Project {
    let project = Project::new("");
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/migrate")
        .join(case);
    copy_dir(&from, project.path());
    let script = project.path().join("build.sh");
    let mut text = std::fs::read_to_string(&script).expect("build.sh");
    for (old, new) in replace {
        text = text.replace(old, new);
    }
    std::fs::write(&script, text).expect("write build.sh");
    let run = Run::from(
        stages()
            .current_dir(project.path())
            .args(["migrate", "--force"])
            .output()
            .expect("run stages migrate"),
    );
    assert_eq!(run.code, Some(0), "{case}: {}", run.describe());
    project
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("case directory") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

fn build(project: &Project, args: &[&str]) -> Run {
    Run::from(
        stages()
            .current_dir(project.path())
            .args(["build", "--progress", "plain"])
            .args(args)
            .output()
            .expect("run stages build"),
    )
}

#[test]
fn the_command_a_named_container_ran_becomes_a_build_step() {
    engine();
    let tag = format!("{}:latest", unique("stages-migrate-greeter"));
    let project = migrated("named-run", &[("greeter:latest", &tag)]);
    let run = build(&project, &[]);
    let image_files = (run.code == Some(0)).then(|| files(&tag, "/etc/greeting"));
    remove_images(&[&tag]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let image_files = image_files.expect("built");
    let greeting = image_files
        .get("greeting")
        .expect("/etc/greeting in the image");
    // What the builder's CMD made from greeting.txt when the script ran it.
    assert_eq!(greeting.text(), "HELLO FROM THE BUILDER\n");
}

#[test]
fn a_shell_pipeline_piped_into_tar_lands_in_the_same_directory() {
    engine();
    // Both back ends: stages' own, and the exported Dockerfile on the Engine's builder.
    for backend in ["native", "dockerfile"] {
        let project = migrated("tar-pipe-find", &[]);
        let run = build(&project, &["--backend", backend]);
        assert_eq!(run.code, Some(0), "{backend}: {}", run.describe());
        let site = project.path().join("site");
        let mut names: Vec<String> = std::fs::read_dir(&site)
            .expect("site/ written")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["docs"],
            "{backend}: only what `find -name '*.md'` listed"
        );
        assert_eq!(
            std::fs::read_to_string(site.join("docs/one.md")).expect("one.md"),
            "# One\n"
        );
        assert!(site.join("docs/two.md").is_file());
    }
}

#[test]
fn a_tarball_written_to_standard_output_goes_to_the_host() {
    engine();
    let project = migrated("stdout-tarball", &[]);
    let run = build(&project, &[]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let bytes = std::fs::read(project.path().join("out/pkg.tar")).expect("out/pkg.tar");
    let entries = read_tar(&bytes);
    assert_eq!(
        entries.get("share/notes.txt").map(|e| e.text()).as_deref(),
        Some("release notes\n"),
        "{:?}",
        entries.keys().collect::<Vec<_>>()
    );
}
