//! ADD of a local tar on the native back end against the real Engine: a
//! link the archive makes never leads an entry out of the destination. The
//! outcomes are the classic builder's: `l -> /etc` then `l/probe-evil`, and
//! `d -> /tmp` then `d/sub/f`, are refused (naming the entry); `l2 ->
//! ../../..` then `l2/tmp/x` lands in `/dest/tmp/x`. A link the image
//! already holds under the destination is not followed either. FAILS when
//! the Engine is unreachable.

mod engine_support;

use engine_support::{Project, Run, engine, files, image_exists, remove_images, stages, unique};

/// Entries of a test tar: a path and, for a link, its target.
type Entries<'a> = &'a [(&'a str, Option<&'a str>)];

/// A plain tar of links (`Some(target)`) and one-byte files (`None`).
fn tarball(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, link) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        match link {
            Some(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder
                    .append_link(&mut header, path, target)
                    .expect("link");
            }
            None => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(1);
                builder
                    .append_data(&mut header, path, &b"x"[..])
                    .expect("file");
            }
        }
    }
    builder.into_inner().expect("tar")
}

/// Builds a stage that runs `prepare` and then adds `t.tar` at `/dest/`,
/// natively; returns the run and the tag.
fn add_tar(entries: &[(&str, Option<&str>)], prepare: &str) -> (Run, String, Project) {
    let tag = format!("{}:latest", unique("stages-archive-links"));
    let toml = format!(
        r#"
[stages.app]
from = "busybox:stages-test"
steps = [
  {{ run = "{prepare}" }},
  {{ add = "t.tar", to = "/dest/" }},
]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    );
    let project = Project::new(&toml);
    std::fs::write(project.path().join("t.tar"), tarball(entries)).expect("write t.tar");
    let output = stages()
        .current_dir(project.path())
        .args(["build", "--backend", "native", "--progress", "plain"])
        .output()
        .expect("run stages");
    (Run::from(output), tag, project)
}

fn paths(image: &str) -> Vec<String> {
    files(image, "/")
        .into_keys()
        .map(|p| format!("/{}", p.trim_start_matches("./").trim_start_matches('/')))
        .collect()
}

#[test]
fn links_in_an_added_tar_never_lead_out_of_the_destination() {
    engine();
    let refused: &[(Entries, &str)] = &[
        (
            &[("l", Some("/etc")), ("l/probe-evil", None)],
            "l/probe-evil",
        ),
        (&[("d", Some("/tmp")), ("d/sub/f", None)], "d/sub/f"),
    ];
    for (entries, entry) in refused {
        let (run, tag, _project) = add_tar(entries, "true");
        let run = run.exit(1);
        let stderr = run.flat_stderr();
        assert!(
            stderr.contains(&format!("entry \"{entry}\" is refused")),
            "{}",
            run.describe()
        );
        assert!(stderr.contains("t.tar"), "{}", run.describe());
        assert!(!image_exists(&tag), "{tag} was built");
    }

    let (run, tag, _project) = add_tar(&[("l2", Some("../../..")), ("l2/tmp/x", None)], "true");
    run.success();
    let tree = files(&tag, "/dest");
    let link = tree
        .iter()
        .find(|(p, _)| p.ends_with("dest/l2"))
        .map(|(_, e)| e.link.clone());
    assert_eq!(link, Some(Some("../../..".to_owned())), "{tree:?}");
    let all = paths(&tag);
    assert!(all.iter().any(|p| p == "/dest/tmp/x"), "{all:?}");
    assert!(!all.iter().any(|p| p == "/tmp/x"), "{all:?}");
    remove_images(&[&tag]);
}

#[test]
fn a_link_the_image_holds_under_the_destination_is_not_followed() {
    engine();
    let (run, tag, _project) = add_tar(
        &[("l/probe-evil", None)],
        "mkdir -p /dest && ln -s /etc /dest/l",
    );
    let run = run.exit(1);
    assert!(
        run.flat_stderr()
            .contains("entry \"l/probe-evil\" is refused"),
        "{}",
        run.describe()
    );
    assert!(!image_exists(&tag), "{tag} was built");
}
