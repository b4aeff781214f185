//! Same image as `docker build`, on real projects: every build of every
//! project in the corpus (`projects/manifest.json`: real multi-stage
//! Dockerfiles with their sources, on base images made from Debian
//! packages by `scripts/base-images.sh --projects`) is built
//!
//! - by `DOCKER_BUILDKIT=0 docker build` on the original Dockerfile (the
//!   reference, built once per project and shared by the comparisons);
//! - by `stages import`, then `stages build` with every back end this
//!   `stages` offers (`projects_support::backends`).
//!
//! The images must have the same configuration (Env, Cmd, Entrypoint,
//! WorkingDir, User, ExposedPorts, Volumes, Labels, Healthcheck,
//! StopSignal, OnBuild, Shell, ArgsEscaped, compared as the Engine wrote
//! them: `null` is not `[]`) and the same files (path, kind, mode, owner,
//! size, content hash, link target), except what
//! `projects_support::exclusions` lists with the reason Docker itself does
//! not reproduce it. Each image also passes the project's smoke test.
//!
//! A report per project goes to `equivalence-projects/` in Cargo's test
//! temp dir (and to standard error). Runs against the real Engine; FAILS
//! when it is unreachable, and, under CI, when the corpus is missing.

mod corpus;
mod engine_support;
mod projects_support;

use std::sync::Once;

use projects_support::{Slot, manifest, project, twice};

static BASE_IMAGES: Once = Once::new();

/// The projects' base images (quick when they exist), once per run.
fn project_base_images() {
    engine_support::engine();
    BASE_IMAGES.call_once(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let status = std::process::Command::new("flock")
            .arg(std::env::temp_dir().join("stages-base-images.lock"))
            .arg(format!("{root}/scripts/base-images.sh"))
            .arg("--projects")
            .status()
            .expect("run scripts/base-images.sh --projects");
        assert!(status.success(), "scripts/base-images.sh --projects failed");
    });
}

fn compare(name: &str) {
    let Some(projects) = manifest::projects_dir() else {
        return;
    };
    project_base_images();
    let manifest = manifest::load(&projects);
    let entry = manifest.project(name);
    let _slot = Slot::take();
    let report = project::compare_project(entry, &projects);
    let text = report.markdown();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("equivalence-projects");
    std::fs::create_dir_all(&dir).expect("report dir");
    std::fs::write(dir.join(format!("{name}.md")), &text).expect("write the report");
    eprintln!("{text}");
    assert!(
        report.passed(),
        "{name} is not built as docker build builds it:\n{text}"
    );
}

macro_rules! projects {
    ($($test:ident => $name:literal,)*) => {
        const PROJECTS: &[&str] = &[$($name),*];
        $(
            #[test]
            #[ignore = "builds a real project four ways (minutes each, and its base images \
                        once): cargo test --test equivalence_projects -- --ignored"]
            fn $test() {
                compare($name);
            }
        )*
    };
}

projects! {
    distroless_go => "distroless-go",
    distroless_rust => "distroless-rust",
    distroless_nodejs => "distroless-nodejs",
    golang_samples_run_helloworld => "golang-samples-run-helloworld",
    kubernetes_engine_samples_hello_app => "kubernetes-engine-samples-hello-app",
    istio_tcp_echo => "istio-tcp-echo",
    skaffold_microservices => "skaffold-microservices",
    cpp_httplib => "cpp-httplib",
    go_httpbin => "go-httpbin",
    awesome_compose_traefik_golang_backend => "awesome-compose-traefik-golang-backend",
}

#[test]
fn every_project_of_the_manifest_is_compared() {
    let Some(projects) = manifest::projects_dir() else {
        return;
    };
    let manifest = manifest::load(&projects);
    let listed: Vec<&str> = manifest.projects.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        listed, PROJECTS,
        "add a test line for each project of manifest.json"
    );
}

/// The exclusions are what two `docker build --no-cache` of the same
/// project differ in: no more, no less. Slow (every project built twice
/// from scratch): run with `cargo test --test equivalence_projects --
/// --ignored`.
#[test]
#[ignore = "builds every project twice from scratch"]
fn classic_builds_differ_only_in_the_exclusions() {
    let Some(projects) = manifest::projects_dir() else {
        return;
    };
    project_base_images();
    let manifest = manifest::load(&projects);
    let mut problems = Vec::new();
    for entry in manifest.projects.iter().filter(|p| !p.buildkit_only) {
        let found = twice::classic_twice(entry, &projects);
        eprintln!("{}: {found:#?}", entry.name);
        problems.extend(found.into_iter().map(|p| format!("{}: {p}", entry.name)));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
