//! The platforms of one pushed multi-platform image target spread over
//! several builders: the target becomes one job per platform (a part),
//! each scheduled by the farm like a target of its own and pushed by
//! digest; once every part succeeded, stages assembles their manifests
//! into the target's index (`index`, `index_push`). With one builder the
//! target stays one solve: BuildKit builds every platform and pushes its
//! own index. Images loaded into the Engine have one platform, and
//! artifact targets keep their one solve (its `local` exporter splits the
//! platforms itself).

use super::job::Job;
use super::solve::Publish;

/// `jobs` with every target whose platforms can be spread replaced by its
/// parts, in the order of its platforms, where the target was.
pub fn spread_platforms(jobs: Vec<Job>, builders: usize) -> Vec<Job> {
    jobs.into_iter()
        .flat_map(|job| {
            if builders >= 2 && is_spreadable(&job) {
                parts_of(&job)
            } else {
                vec![job]
            }
        })
        .collect()
}

/// A pushed image target of several platforms, not yet split.
fn is_spreadable(job: &Job) -> bool {
    matches!(job.publish, Publish::Push { .. })
        && job.files.is_none()
        && job.part.is_none()
        && job.platforms.len() >= 2
}

fn parts_of(job: &Job) -> Vec<Job> {
    job.platforms
        .iter()
        .map(|platform| Job {
            platforms: vec![platform.clone()],
            part: Some(platform.clone()),
            ..job.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::model::Project;
    use crate::convert::export::ExportedDockerfile;

    fn job(publish: Publish, platforms: &[&str]) -> Job {
        Job {
            target: "app".into(),
            stage: "app".into(),
            project: Project::default(),
            exported: ExportedDockerfile {
                text: "FROM busybox AS app\n".into(),
                needs_buildkit: false,
                instructions: Vec::new(),
            },
            args: BTreeMap::new(),
            labels: BTreeMap::new(),
            platforms: platforms.iter().map(|p| (*p).to_owned()).collect(),
            runs_commands: true,
            tags: vec!["r/app:1".into()],
            publish,
            files: None,
            part: None,
        }
    }

    fn push() -> Publish {
        Publish::Push {
            tags: vec!["r/app:1".into()],
        }
    }

    #[test]
    fn a_pushed_multi_platform_target_becomes_one_part_per_platform() {
        let jobs = vec![
            job(push(), &["linux/amd64", "linux/arm64"]),
            job(push(), &["linux/amd64"]),
        ];
        let spread = spread_platforms(jobs, 2);
        let labels: Vec<String> = spread.iter().map(Job::label).collect();
        assert_eq!(labels, ["app (linux/amd64)", "app (linux/arm64)", "app"]);
        assert_eq!(spread[1].platforms, ["linux/arm64"]);
        assert_eq!(spread[1].publish, push());
    }

    #[test]
    fn one_builder_or_nothing_pushed_keeps_the_one_solve() {
        let two = ["linux/amd64", "linux/arm64"];
        assert_eq!(spread_platforms(vec![job(push(), &two)], 1).len(), 1);
        assert_eq!(
            spread_platforms(vec![job(Publish::DockerTarball, &two)], 3).len(),
            1
        );
        assert_eq!(
            spread_platforms(vec![job(Publish::Files, &two)], 3).len(),
            1
        );
    }
}
