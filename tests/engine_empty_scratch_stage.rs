//! A target that is an empty `FROM scratch` stage (istio's `FROM scratch
//! AS default`, chosen for the final stage by a build argument): every
//! back end makes the empty image, with the same configuration, and a
//! warm build moves no tag. The classic builder alone has no image for it
//! ("No image was generated"). Runs against the real Engine; FAILS when it
//! is unreachable.

mod engine_support;

use engine_support::image_views::{classic_reading, image_tree};
use engine_support::{Project, Run, engine, inspect, remove_images, stages, unique};

fn manifest(tag: &str) -> String {
    format!(
        r#"
[args]
BASE_DISTRIBUTION = "default"

[stages.builder]
from = "busybox:stages-test"
steps = [{{ run = "echo hello > /hello" }}]

[stages.default]
from = "scratch"

[stages.final]
from = "${{BASE_DISTRIBUTION}}"
workdir = "/bin/"
steps = [{{ copy = "/hello", from = "builder", to = "." }}]

[targets.empty]
stage = "default"
tags = ["{tag}-empty"]

[targets.alias]
stage = "final"
tags = ["{tag}-final"]
"#
    )
}

fn build(project: &Project, backend: &str, target: &str) -> Run {
    Run::from(
        stages()
            .current_dir(project.path())
            .args(["build", target, "--backend", backend, "--progress", "plain"])
            .output()
            .expect("run stages"),
    )
}

#[test]
fn an_empty_scratch_target_is_the_empty_image_on_every_back_end() {
    engine();
    let prefix = unique("stages-empty-scratch");
    let mut tags = Vec::new();
    let mut built = Vec::new();
    for backend in ["native", "dockerfile", "buildkit"] {
        let tag = format!("{prefix}-{backend}");
        let project = Project::new(&manifest(&tag));
        let run = build(&project, backend, "empty").success();
        let image = format!("{tag}-empty:latest");
        let first = inspect(&image).id;
        let layers = inspect(&image)
            .root_fs
            .and_then(|root| root.layers)
            .unwrap_or_default();
        assert!(
            layers.len() <= 1,
            "{backend}: at most one (empty) layer: {layers:?}\n{}",
            run.describe()
        );
        build(&project, backend, "empty").success();
        assert_eq!(
            inspect(&image).id,
            first,
            "{backend}: a warm build moves no tag"
        );
        // The stage built on it by the build argument's default.
        build(&project, backend, "alias").success();
        let final_image = format!("{tag}-final:latest");
        let final_tree = image_tree(&final_image);
        assert!(
            final_tree.contains_key("/bin/hello"),
            "{backend}: {:?}",
            final_tree.keys()
        );
        built.push((
            backend,
            classic_reading(&image),
            image_tree(&image),
            classic_reading(&final_image),
            final_tree,
        ));
        tags.push(image);
        tags.push(final_image);
    }
    let (reference, rest) = built.split_first().expect("native built");
    for (backend, config, tree, final_config, final_tree) in rest {
        assert_eq!(
            config, &reference.1,
            "{backend}: the empty image's configuration"
        );
        assert_eq!(tree, &reference.2, "{backend}: the empty image's files");
        assert_eq!(
            final_config, &reference.3,
            "{backend}: the final image's configuration"
        );
        assert_eq!(
            final_tree, &reference.4,
            "{backend}: the final image's files"
        );
    }
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    remove_images(&tags);
}
