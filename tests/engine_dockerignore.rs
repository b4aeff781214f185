//! `.dockerignore` through a real build: `COPY . /ctx` sees exactly what
//! Docker's rules keep, and never the generated Dockerfile.

mod engine_support;

use engine_support::{Project, engine, files, remove_images, unique};

fn copied(ignore: Option<&str>) -> Vec<String> {
    let tag = format!("{}:v1", unique("stages-ignore"));
    let mut project = Project::new(&format!(
        "[stages.app]\nfrom = \"busybox:stages-test\"\nsteps = [{{ copy = \".\", to = \"/ctx/\" }}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\n"
    ))
    .file("src/main.rs", "fn main() {}")
    .file("src/target/generated.rs", "// kept: only ./target is ignored")
    .file("target/debug/app", "binary")
    .file("docs/guide.md", "guide")
    .file("docs/keep/notes.md", "notes")
    .file("logs/a.log", "log")
    .file("app.log", "log")
    .file("deep/er/x.tmp", "tmp")
    .file("README.md", "readme");
    if let Some(ignore) = ignore {
        project = project.file(".dockerignore", ignore);
    }
    project.build(&[]).success();
    let mut names: Vec<String> = files(&tag, "/ctx")
        .into_iter()
        .filter(|(_, entry)| entry.kind.is_file())
        .map(|(path, _)| path.trim_start_matches("ctx/").to_owned())
        .collect();
    names.sort();
    remove_images(&[&tag]);
    names
}

#[test]
fn dockerignore_rules_decide_what_copy_sees() {
    engine();
    let kept = copied(Some(
        "# build output\ntarget\n*.log\n**/*.tmp\ndocs\n!docs/keep\n.dockerignore\n",
    ));
    assert_eq!(
        kept,
        vec![
            "README.md",
            "docs/keep/notes.md",
            "logs/a.log",
            "src/main.rs",
            "src/target/generated.rs",
            "stages.toml",
        ]
    );
}

#[test]
fn without_dockerignore_everything_but_the_generated_files_is_sent() {
    engine();
    let kept = copied(None);
    assert!(kept.contains(&"target/debug/app".to_owned()), "{kept:?}");
    assert!(kept.contains(&"app.log".to_owned()), "{kept:?}");
    assert!(!kept.iter().any(|n| n.contains("Dockerfile")), "{kept:?}");
    assert!(!kept.contains(&".dockerignore".to_owned()), "{kept:?}");
}

#[test]
fn a_dockerignore_that_keeps_itself_is_copied() {
    engine();
    let kept = copied(Some("target\n"));
    assert!(kept.contains(&".dockerignore".to_owned()), "{kept:?}");
    assert!(!kept.iter().any(|n| n.contains("Dockerfile")), "{kept:?}");
    assert!(!kept.iter().any(|n| n.starts_with("target/")), "{kept:?}");
}
