//! A mount type given by a variable (`RUN --mount=type=$MNT_TYPE`), as
//! BuildKit's own tests write it: imported as written and expanded by each
//! native build with the variables in scope at the RUN, so a build arg
//! changes the type; the Engine's BuildKit (whose frontend predates that)
//! refuses it up front and `auto` builds it on native. FAILS when the
//! Engine is unreachable.

mod engine_support;

use engine_support::{
    Project, Run, engine, files, remove_cache_volumes, remove_images, stages, unique,
};

/// The second RUN mounts at the first one's cache directory with the type
/// the build arg gives: a cache mount sees the first RUN's file, a tmpfs
/// an empty directory.
const DOCKERFILE: &str = r#"FROM busybox:stages-test
ARG MNT_TYPE=cache
ARG DIR
RUN --mount=type=cache,target=$DIR echo kept > $DIR/mark
RUN --mount=type=$MNT_TYPE,target=$DIR (cat $DIR/mark 2>/dev/null || echo fresh) > /seen
"#;

fn seen(image: &str) -> String {
    files(image, "/seen")
        .into_values()
        .next()
        .map(|entry| entry.text())
        .unwrap_or_else(|| panic!("/seen missing from {image}"))
}

#[test]
fn a_build_arg_chooses_the_mount_type_on_native_and_buildkit() {
    engine();
    let project = Project::new("").file("Dockerfile", DOCKERFILE);
    let imported = stages()
        .current_dir(project.path())
        .args(["import", "Dockerfile", "-o", "-"])
        .output()
        .expect("run stages import");
    let toml = Run::from(imported).success().stdout;
    assert!(toml.contains(r#"type = "$MNT_TYPE""#), "{toml}");

    let dir = format!("/cache-{}", unique("native"));
    let dir_arg = format!("DIR={dir}");
    let tag = format!("{}:latest", unique("stages-mount-type"));
    let with_target = format!("{toml}\n[targets.image]\nstage = \"stage-0\"\ntags = [\"{tag}\"]\n");
    std::fs::write(project.path().join("stages.toml"), with_target).expect("stages.toml");

    project
        .build_on("native", &["image", "--build-arg", &dir_arg])
        .success();
    assert_eq!(seen(&tag).trim(), "kept", "the default type is cache");
    project
        .build_on(
            "native",
            &[
                "image",
                "--build-arg",
                &dir_arg,
                "--build-arg",
                "MNT_TYPE=tmpfs",
            ],
        )
        .success();
    assert_eq!(seen(&tag).trim(), "fresh", "tmpfs from the build arg");

    let refused = project
        .build_on(
            "native",
            &[
                "image",
                "--build-arg",
                &dir_arg,
                "--build-arg",
                "MNT_TYPE=tmp",
            ],
        )
        .exit(1);
    assert!(
        refused
            .flat_stderr()
            .contains("the mount type `$MNT_TYPE` is `tmp`, which is not a mount type"),
        "{}",
        refused.describe()
    );
    assert_eq!(seen(&tag).trim(), "fresh", "a failed build moves no tag");

    // The Engine's built-in Dockerfile frontend takes `$MNT_TYPE` for a
    // type name: refused before anything is sent, and `auto` builds on
    // native instead.
    let buildkit = project
        .build_on("buildkit", &["image", "--build-arg", &dir_arg])
        .exit(1);
    assert!(
        buildkit
            .flat_stderr()
            .contains("cannot express a mount type given by a variable"),
        "{}",
        buildkit.describe()
    );
    assert!(
        !buildkit.stderr.contains("building stages"),
        "{}",
        buildkit.describe()
    );
    let auto = project
        .build_on("auto", &["image", "--build-arg", &dir_arg])
        .success();
    assert!(
        auto.flat_stderr().contains(
            "backend: native (auto: the Engine's built-in BuildKit frontend cannot express a mount type given by a variable)"
        ),
        "{}",
        auto.describe()
    );
    assert_eq!(
        seen(&tag).trim(),
        "kept",
        "auto builds with the default type"
    );

    remove_images(&[&tag]);
    remove_cache_volumes(&dir);
}
