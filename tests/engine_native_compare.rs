//! The native back end against its oracle, the Engine's own (classic)
//! builder fed the exported Dockerfile: the same project built both ways
//! must give the same files (paths, kinds, modes, owners, symlink targets,
//! contents) and the same image configuration, `null` and `[]` apart and
//! labels as they are. A warm native rebuild runs no container. Runs
//! against the real Engine; FAILS when it is unreachable.
//!
//! What the comparison forgives, and why Docker itself differs there, is
//! listed in one place: `engine_support/forgiven.rs`.

mod engine_support;

use std::collections::BTreeMap;

use engine_support::forgiven::{self, path_forgiven};
use engine_support::{FileEntry, Project, compared_config, engine, files, remove_images, unique};

fn manifest(tag: &str) -> String {
    format!(
        r#"
[project]
context = "."

[args]
BASE = "busybox:stages-test"
CHANNEL = "stable"

[stages.build]
from = "${{BASE}}"
workdir = "/src"
args = {{ VERSION = "1.0" }}
env = {{ MODE = "release" }}
steps = [
  {{ copy = ["hello.txt", "lib/"], to = "./" }},
  {{ run = "mkdir -p /out/bin && echo $VERSION-$MODE > /out/version && cp hello.txt /out/ && ln -s version /out/current && chmod 700 /out/bin" }},
]

[artifacts.out]
stage = "build"
path = "/out"

[stages.runtime]
from = "busybox:stages-test"
env = {{ APP_HOME = "/app", NOTE = "it's a \"note\" \\ for [$APP_HOME]" }}
workdir = "/app"
steps = [
  {{ artifact = "out", to = "./" }},
  {{ copy = "conf", to = "/etc/demo/", chown = "1000:1000" }},
  {{ run = "echo demo:x:1001:1001::/home/demo:/bin/sh >> /etc/passwd && mkdir -p /data && chown demo /data" }},
  {{ user = "demo" }},
  {{ workdir = "sub" }},
]
cmd = ["cat", "/app/version"]
expose = ["8080", "53/udp"]
labels = {{ "org.example.mode" = "fast" }}
volumes = ["/data"]
healthcheck = {{ cmd = "true", interval = "30s", retries = 3 }}
stop-signal = "SIGINT"
maintainer = "Jane Doe <jane@example.com> $APP_HOME"

[stages.minimal]
from = "scratch"
steps = [{{ artifact = "out", to = "/" }}]
entrypoint = ["/version"]

# Copies that share one container in the native build: each sees what
# the ones before it wrote (an account file, a directory, a WORKDIR).
[stages.gathered]
from = "busybox:stages-test"
steps = [
  {{ copy = "accounts/passwd", to = "/etc/passwd" }},
  {{ copy = "accounts/group", to = "/etc/group" }},
  {{ copy = "conf", to = "/srv/conf", chown = "app:app" }},
  {{ env = {{ STEP = "two" }} }},
  {{ copy = "hello.txt", to = "/srv/conf" }},
  {{ workdir = "/srv/new/place/" }},
  {{ artifact = "out", to = "copied/", chown = "app" }},
  {{ copy = "lib/util.h", to = "deep/er/" }},
]
cmd = ["ls", "/srv"]

# ARG scoping, ADD of a tarball, nested WORKDIR and USER changes, and
# ONBUILD triggers that run in the stage built on this one.
[stages.parent]
from = "${{BASE}}"
args = {{ CHANNEL = {{}} }}
workdir = "/p"
steps = [
  {{ run = "echo ${{CHANNEL:-unset}} > /p/channel" }},
  {{ add = "bundle.tar", to = "/p/unpacked/" }},
  {{ workdir = "inner" }},
  {{ user = "nobody" }},
  {{ run = "id -u > /tmp/whoami && pwd > /tmp/where" }},
  {{ user = "root" }},
  {{ arg = {{ LATE = "late" }} }},
  {{ run = "echo $LATE > late" }},
]
onbuild = ["RUN echo triggered > /onbuild.txt", "WORKDIR /from-trigger"]

# A chain from that stage: a file straight from an image, and context files
# through .dockerignore.
[stages.child]
from = {{ stage = "parent" }}
steps = [
  {{ copy = "/etc/group", from-image = "busybox:stages-test", to = "/copied-group" }},
  {{ copy = "assets", to = "/ctx/" }},
  {{ run = "ls /ctx > /ctx.list" }},
]

# Fan-out: two independent stages (built at once natively), one copying from both.
[stages.fan]
from = "scratch"
steps = [
  {{ copy = "/out/version", from = "build", to = "/from-build" }},
  {{ copy = "/p/channel", from = "parent", to = "/from-parent" }},
]

# Copies from a stage whose source is a link: Docker reads through it (a
# directory's contents, a file under the link's name); links inside a
# copied directory stay links.
[stages.linked]
from = "busybox:stages-test"
steps = [
  {{ run = "mkdir -p /opt/real/sub && echo inner > /opt/real/sub/f && ln -s sub/f /opt/real/keep && ln -s real /opt/current && ln -s current /opt/chain && ln -s /opt/real/sub/f /opt/flink" }},
]

[stages.follow]
from = "busybox:stages-test"
steps = [
  {{ copy = "/opt/current", from = "linked", to = "/dst/" }},
  {{ copy = "/opt/chain", from = "linked", to = "/chained" }},
  {{ copy = "/opt/flink", from = "linked", to = "/files/" }},
]

# Destination and ownership rules of COPY, and variables in settings.
[stages.edges]
from = "busybox:stages-test"
env = {{ ROOT = "/e" }}
steps = [
  {{ env = {{ SUB = "$ROOT/sub" }} }},
  {{ workdir = "$SUB" }},
  {{ copy = ["hello.txt", "lib/util.h"], to = "multi/" }},
  {{ run = "mkdir -p /e/existing" }},
  {{ copy = "hello.txt", to = "/e/existing" }},
  {{ copy = "links", to = "/e/links" }},
  {{ copy = "hello.txt", to = "renamed.txt", chown = "1234" }},
  {{ user = "1234:2345" }},
  {{ run = "touch /tmp/owned-by-user && stat -c %u:%g /tmp/owned-by-user > /tmp/owner.txt" }},
]

[targets.runtime]
stage = "runtime"
tags = ["{tag}-runtime:native"]

[targets.edges]
stage = "edges"
tags = ["{tag}-edges:native"]

[targets.fan]
stage = "fan"
tags = ["{tag}-fan:native"]

[targets.child]
stage = "child"
tags = ["{tag}-child:native"]

[targets.gathered]
stage = "gathered"
tags = ["{tag}-gathered:native"]

[targets.minimal]
stage = "minimal"
tags = ["{tag}-minimal:native"]

[targets.follow]
stage = "follow"
tags = ["{tag}-follow:native"]
"#
    )
}

fn fixture(tag: &str) -> Project {
    let project = Project::new(&manifest(tag))
        .file("hello.txt", "hello\n")
        .file("lib/util.h", "#pragma once\n")
        .file("conf/app.conf", "key = value\n")
        .file("conf/nested/more.conf", "more\n")
        .file(
            "accounts/passwd",
            "root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345::/srv:/bin/sh\n",
        )
        .file("accounts/group", "root:x:0:\napp:x:2345:\n")
        .file(".dockerignore", "assets/*.tmp\n")
        .file("assets/keep.txt", "kept\n")
        .file("assets/drop.tmp", "ignored\n");
    std::fs::write(project.path().join("bundle.tar"), bundle()).expect("write bundle.tar");
    #[cfg(unix)]
    {
        std::fs::create_dir_all(project.path().join("links")).expect("links");
        std::fs::write(project.path().join("links/target.txt"), "target\n").expect("target");
        std::os::unix::fs::symlink("target.txt", project.path().join("links/link.txt"))
            .expect("symlink");
    }
    project
}

/// A small tarball for ADD to extract: a directory, a file and a link.
fn bundle() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o750);
    dir.set_size(0);
    builder
        .append_data(&mut dir, "pkg/", std::io::empty())
        .expect("dir entry");
    let data = b"bundled\n";
    let mut file = tar::Header::new_gnu();
    file.set_mode(0o640);
    file.set_size(data.len() as u64);
    builder
        .append_data(&mut file, "pkg/data.txt", &data[..])
        .expect("file entry");
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    builder
        .append_link(&mut link, "pkg/current", "data.txt")
        .expect("link entry");
    builder.into_inner().expect("tar")
}

/// The image's files, but for the paths `forgiven::PATHS` lists.
/// Mode, uid, gid, kind, link target and contents of one file.
type Compared = (u32, u64, u64, String, Option<String>, Vec<u8>);

fn tree(image: &str) -> BTreeMap<String, Compared> {
    files(image, "/")
        .into_iter()
        .filter(|(path, _)| !path_forgiven(path))
        .map(|(path, entry): (String, FileEntry)| {
            (
                path,
                (
                    entry.mode,
                    entry.uid,
                    entry.gid,
                    format!("{:?}", entry.kind),
                    entry.link,
                    entry.contents,
                ),
            )
        })
        .collect()
}

fn assert_same_image(native: &str, oracle: &str) {
    assert_eq!(
        compared_config(native),
        compared_config(oracle),
        "image config of {native} vs {oracle}"
    );
    let (ours, theirs) = (tree(native), tree(oracle));
    let only_ours: Vec<&String> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    let only_theirs: Vec<&String> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    let forgiven: Vec<&str> = forgiven::PATHS.iter().map(|(path, _)| *path).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "file lists differ (forgiven: {forgiven:?})\nonly native: {only_ours:?}\nonly classic: {only_theirs:?}"
    );
    for (path, entry) in &ours {
        assert_eq!(Some(entry), theirs.get(path), "{path} differs");
    }
}

#[test]
fn native_and_classic_builds_give_the_same_images() {
    let _serial = serial();
    engine();
    let tag = unique("stages-compare");
    let project = fixture(&tag);
    project.build_on("native", &[]).success();
    // The classic build of the same project, tagged apart.
    let toml = manifest(&tag).replace(":native\"", ":classic\"");
    std::fs::write(project.path().join("stages.toml"), toml).expect("write");
    project.build_on("dockerfile", &[]).success();
    for target in [
        "runtime", "minimal", "gathered", "child", "fan", "edges", "follow",
    ] {
        assert_same_image(
            &format!("{tag}-{target}:native"),
            &format!("{tag}-{target}:classic"),
        );
    }
    // Both ran the parent's ONBUILD triggers (and the image says where).
    let child = tree(&format!("{tag}-child:native"));
    let has = |name: &str| {
        child
            .keys()
            .any(|k| k.trim_start_matches("./").trim_start_matches('/') == name)
    };
    assert!(
        has("onbuild.txt"),
        "no trigger output in {:?}",
        child.keys()
    );
    assert!(has("ctx/keep.txt") && !has("ctx/drop.tmp"), ".dockerignore");
    assert!(
        has("p/unpacked/pkg/data.txt"),
        "the tarball was not extracted"
    );
    // The links were read through, as both builders must.
    let follow = files(&format!("{tag}-follow:native"), "/");
    let kind = |path: &str| {
        follow
            .iter()
            .find(|(k, _)| k.trim_start_matches("./").trim_start_matches('/') == path)
            .map(|(_, entry)| entry.kind)
    };
    assert_eq!(kind("dst/sub/f"), Some(tar::EntryType::Regular));
    assert_eq!(kind("dst/keep"), Some(tar::EntryType::Symlink));
    assert_eq!(kind("chained/sub/f"), Some(tar::EntryType::Regular));
    assert_eq!(kind("files/flink"), Some(tar::EntryType::Regular));
    // No builder bookkeeping on a user's image: the stage's labels only.
    let runtime = compared_config(&format!("{tag}-runtime:native"));
    assert_eq!(
        runtime["Labels"],
        serde_json::json!({ "org.example.mode": "fast" })
    );
    assert_eq!(runtime["Entrypoint"], serde_json::Value::Null);
    assert_eq!(runtime["OnBuild"], serde_json::Value::Null);
    remove_images(&[
        &format!("{tag}-runtime:native"),
        &format!("{tag}-runtime:classic"),
        &format!("{tag}-minimal:native"),
        &format!("{tag}-minimal:classic"),
        &format!("{tag}-gathered:native"),
        &format!("{tag}-gathered:classic"),
        &format!("{tag}-child:native"),
        &format!("{tag}-child:classic"),
        &format!("{tag}-fan:native"),
        &format!("{tag}-fan:classic"),
        &format!("{tag}-edges:native"),
        &format!("{tag}-edges:classic"),
        &format!("{tag}-follow:native"),
        &format!("{tag}-follow:classic"),
    ]);
}

/// The tests of this file count container starts: one at a time.
static ENGINE_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ENGINE_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Containers started by native builds (they carry `dev.stages.build`).
fn container_starts_since(since: &str) -> Vec<String> {
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() + 1);
    let output = std::process::Command::new("docker")
        .args([
            "events",
            "--since",
            since,
            "--until",
            &until.to_string(),
            "--filter",
            "type=container",
            "--filter",
            "event=start",
            "--filter",
            "label=dev.stages.build",
            "--format",
            "{{.Actor.Attributes.image}}",
        ])
        .output()
        .expect("docker events");
    assert!(output.status.success(), "docker events failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_warm_native_rebuild_runs_no_container() {
    let _serial = serial();
    engine();
    let tag = unique("stages-warm");
    let project = fixture(&tag);
    project.build_on("native", &["runtime"]).success();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string();
    let warm = project.build_on("native", &["runtime"]).success();
    assert!(warm.stderr.contains("cached"), "{}", warm.stderr);
    let starts = container_starts_since(&since);
    assert!(
        starts.is_empty(),
        "a warm rebuild started containers of {starts:?}"
    );
    // A changed input runs its step again (content no earlier run had).
    std::fs::write(project.path().join("hello.txt"), unique("changed")).expect("write");
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string();
    project.build_on("native", &["runtime"]).success();
    assert_eq!(
        container_starts_since(&since).len(),
        2,
        "the build RUN and the runtime RUN"
    );
    remove_images(&[&format!("{tag}-runtime:native")]);
}

#[test]
fn the_quickstart_example_builds_the_same_both_ways() {
    let _serial = serial();
    engine();
    let source = engine_support::repo_root().join("examples/quickstart");
    let tag = unique("stages-quickstart-compare");
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["greet.sh.in", "message.txt", ".dockerignore"] {
        std::fs::copy(source.join(name), dir.path().join(name)).expect("copy example");
    }
    let toml = std::fs::read_to_string(source.join("stages.toml")).expect("read example");
    let project = Project { dir };
    for backend in ["native", "dockerfile"] {
        let tagged = toml.replace("stages-quickstart:latest", &format!("{tag}:{backend}"));
        std::fs::write(project.path().join("stages.toml"), tagged).expect("write");
        project.build_on(backend, &["app"]).success();
    }
    assert_same_image(&format!("{tag}:native"), &format!("{tag}:dockerfile"));
    remove_images(&[&format!("{tag}:native"), &format!("{tag}:dockerfile")]);
}
