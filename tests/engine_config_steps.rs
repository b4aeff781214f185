//! Image configuration that must stay where the Dockerfile has it: a
//! LABEL reading a variable a later ENV sets (as kubernetes/ingress-nginx's
//! chroot image does with `org.opencontainers.image.version`), a
//! shell-form CMD followed by a SHELL. `stages import` keeps those as
//! config steps, the readable stage keys for the rest; the imported
//! project built by every back end must give the image configuration that
//! `docker build` gives the original Dockerfile (the classic builder: this
//! Engine's CLI has no buildx; BuildKit reads these instructions alike).
//! Runs against the real Engine; FAILS when it is unreachable.

mod engine_support;

use engine_support::{Run, compared_config, engine, remove_images, stages, unique};

const DOCKERFILE: &str = r#"ARG BASE_IMAGE=busybox:stages-test
FROM ${BASE_IMAGE} AS chroot
RUN mkdir -p /chroot/etc && echo chroot > /chroot/etc/marker

FROM ${BASE_IMAGE}
ARG VERSION=1.0
ARG COMMIT_SHA=abc123
LABEL org.opencontainers.image.title="NGINX Ingress Controller"
LABEL org.opencontainers.image.version="${VERSION}"
LABEL org.opencontainers.image.revision="${COMMIT_SHA}"
LABEL build_id="${BUILD_ID}"
ENV VERSION=2.0 \
    BUILD_ID=from-env
COPY --from=chroot /chroot /chroot
EXPOSE 80 443
CMD echo "running $VERSION"
SHELL ["/bin/sh", "-ec"]
RUN echo "$VERSION" > /version
"#;

fn run(dir: &std::path::Path, args: &[&str]) -> Run {
    Run::from(
        stages()
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run stages"),
    )
}

/// `docker build` of the Dockerfile's last stage, or of `target`.
fn docker_build(dir: &std::path::Path, tag: &str, target: Option<&str>) {
    let target: &[&str] = match &target {
        Some(target) => &["--target", target],
        None => &[],
    };
    let out = std::process::Command::new("docker")
        .current_dir(dir)
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", tag])
        .args(target)
        .arg(".")
        .output()
        .expect("run docker build");
    assert!(
        out.status.success(),
        "docker build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn config_kept_in_place_builds_as_docker_builds_the_dockerfile() {
    engine();
    let tag = unique("stages-config-steps");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).expect("write Dockerfile");
    let oracle = format!("{tag}:docker");
    // The first stage tagged too, so that removing the tags leaves none
    // of the classic builder's images behind.
    let chroot = format!("{tag}:docker-chroot");
    docker_build(dir.path(), &chroot, Some("chroot"));
    docker_build(dir.path(), &oracle, None);

    let imported = run(dir.path(), &["import", "Dockerfile", "-o", "-"]).success();
    let toml = imported.stdout;
    // Only what a later instruction changes is kept in place.
    for kept in [
        r#"{ label = { "org.opencontainers.image.version" = "${VERSION}" } }"#,
        r#"{ label = { build_id = "${BUILD_ID}" } }"#,
        r#"{ cmd = 'echo "running $VERSION"' }"#,
    ] {
        assert!(toml.contains(kept), "{kept} not in:\n{toml}");
    }
    assert!(
        toml.contains(r#""org.opencontainers.image.title" = "NGINX Ingress Controller""#)
            && toml.contains("expose = [80, 443]"),
        "harmless configuration stays in stage keys:\n{toml}"
    );

    let mut built = Vec::new();
    for backend in ["native", "buildkit", "dockerfile"] {
        let image = format!("{tag}:{backend}");
        let project =
            format!("{toml}\n[targets.image]\nstage = \"stage-1\"\ntags = [\"{image}\"]\n");
        std::fs::write(dir.path().join("stages.toml"), project).expect("write stages.toml");
        run(
            dir.path(),
            &[
                "build",
                "image",
                "--backend",
                backend,
                "--progress",
                "plain",
            ],
        )
        .success();
        built.push(image);
    }

    let expected = compared_config(&oracle);
    assert_eq!(
        expected["Labels"],
        serde_json::json!({
            "org.opencontainers.image.title": "NGINX Ingress Controller",
            "org.opencontainers.image.version": "1.0",
            "org.opencontainers.image.revision": "abc123",
            "build_id": "",
        }),
        "the labels read the values of their place"
    );
    assert_eq!(
        expected["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "echo \"running $VERSION\""])
    );
    for image in &built {
        let config = compared_config(image);
        for field in [
            "Labels",
            "Cmd",
            "Entrypoint",
            "Env",
            "ExposedPorts",
            "Shell",
        ] {
            assert_eq!(
                config[field], expected[field],
                "{field} of {image} differs from docker build's"
            );
        }
    }
    let _ = run(dir.path(), &["cache", "prune"]);
    let mut tags: Vec<&str> = built.iter().map(String::as_str).collect();
    tags.push(&oracle);
    tags.push(&chroot);
    remove_images(&tags);
}
