//! Writing then checking gives back an equal project.

use super::*;
use crate::check::check;
use crate::diagnostics::SourceFile;

const SAMPLE: &str = r#"
[project]
name = "demo"
default-target = "app"

[args]
GO_VERSION = "1.16"
REVISION = {}

[stages.builder]
from = "golang:${GO_VERSION}"
platform = "$BUILDPLATFORM"
args = { REVISION = {} }
env = { CGO_ENABLED = "0", "my.key" = "a \"quoted\" value" }
workdir = "/src"
shell = ["/bin/sh", "-ec"]
steps = [
  { copy = ["go.mod", "go.sum"], to = "./", chown = "1000:1000" },
  { run = "go mod download", mounts = [{ type = "cache", target = "/go/pkg/mod", sharing = "locked" }] },
  { copy = ".", to = ".", exclude = ["*.md"] },
  { run = """
set -e
go build -o /out/app .
""" },
  { env = { STAGE = "built" } },
  { arg = { EXTRA = "x" } },
  { add = "https://example.com/a.tgz", to = "/tmp/", checksum = "sha256:abc" },
]

[stages.app]
from = { stage = "builder" }
user = "nobody"
steps = [
  { artifact = "bin", to = "/usr/local/bin/app", chmod = "0755", link = true },
  { copy = "/etc/nginx", to = "/etc/nginx", from-image = "nginx:latest" },
  { workdir = "/data" },
]
cmd = ["app", "serve"]
entrypoint = "/entry.sh"
expose = [8080, "53/udp"]
labels = { "org.opencontainers.image.title" = "demo" }
volumes = ["/data"]
healthcheck = { cmd = "wget -q localhost", interval = "30s", retries = 3 }
stop-signal = "SIGTERM"
onbuild = ["RUN echo child"]

[artifacts.bin]
stage = "builder"
path = "/out/app"
description = "the server"

[targets.app]
stage = "app"
tags = ["demo:latest"]
args = { REVISION = "abc" }

[targets.binary]
artifacts = ["bin"]
output = "dist/"
"#;

fn checked(text: &str) -> Project {
    let outcome = check(&SourceFile::new("stages.toml", text));
    let errors: Vec<_> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{text}");
    outcome.project.expect("no errors, so a project")
}

#[test]
fn write_then_check_gives_the_same_project() {
    let project = checked(SAMPLE);
    let text = write_project(&project, &Notes::default(), WriteOptions { schema: true });
    assert!(text.starts_with(SCHEMA_LINE));
    assert_eq!(checked(&text), project, "{text}");
    // Writing is stable.
    assert_eq!(
        write_project(
            &checked(&text),
            &Notes::default(),
            WriteOptions { schema: true }
        ),
        text
    );
}

#[test]
fn one_step_per_line_and_scripts_as_multiline_strings() {
    let text = write_project(&checked(SAMPLE), &Notes::default(), WriteOptions::default());
    assert!(text.contains("steps = [\n  { copy = [\"go.mod\", \"go.sum\"], to = \"./\", chown = \"1000:1000\" },\n"), "{text}");
    assert!(
        text.contains("{ run = \"\"\"\nset -e\ngo build -o /out/app .\n\"\"\" },"),
        "{text}"
    );
    assert!(text.contains("from = { stage = \"builder\" }\n"));
    assert!(text.contains("expose = [8080, \"53/udp\"]\n"));
}

#[test]
fn comments_land_where_they_are_attached() {
    let project = checked(SAMPLE);
    let mut notes = Notes {
        header: vec!["Imported from Dockerfile".into()],
        ..Notes::default()
    };
    notes
        .stages
        .insert("app".into(), vec!["the runtime image".into()]);
    notes
        .steps
        .insert(("builder".into(), 1), vec!["download modules first".into()]);
    notes.keys.insert(
        ("app".into(), "cmd".into()),
        vec!["start the server".into()],
    );
    let text = write_project(&project, &notes, WriteOptions { schema: true });
    assert!(text.starts_with(&format!("{SCHEMA_LINE}\n# Imported from Dockerfile\n")));
    assert!(text.contains("# the runtime image\n[stages.app]\n"));
    assert!(text.contains("  # download modules first\n  { run = \"go mod download\""));
    assert!(text.contains("# start the server\ncmd = "));
    assert_eq!(checked(&text), project);
}

#[test]
fn comments_with_control_characters_stay_valid_toml() {
    let project = checked(SAMPLE);
    let notes = Notes {
        header: vec!["check=skip=R\redundant\u{0}x\u{7f}\ttab".into()],
        ..Notes::default()
    };
    let text = write_project(&project, &notes, WriteOptions { schema: true });
    assert!(
        text.contains("# check=skip=R\n# edundant\u{fffd}x\u{fffd}\ttab\n"),
        "{text}"
    );
    assert_eq!(checked(&text), project);
}
