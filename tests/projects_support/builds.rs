//! Building one manifest build one way: `docker build` (classic) on the
//! original Dockerfile, or `stages build` of the imported stages.toml with
//! one back end. Every image is tagged with a tag of this run.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

use super::backends::{StagesBackend, docker_classic};
use super::manifest::BuildEntry;
use super::tracked::Tracked;

/// A finished build: its tag, or why there is none.
pub struct Built {
    pub result: Result<String, String>,
    pub seconds: f64,
}

/// The classic builder on the original Dockerfile, in the copy of the
/// project at `src`.
pub fn docker_build(
    src: &Path,
    build: &BuildEntry,
    args: &[(String, String)],
    tag: &str,
    flags: &[&str],
    tracked: &mut Tracked,
) -> Built {
    let started = Instant::now();
    let mut command = docker_classic();
    command
        .current_dir(src)
        .args(["build", "-t", tag])
        .args(flags);
    for (key, value) in args {
        command.args(["--build-arg", &format!("{key}={value}")]);
    }
    if let Some(target) = &build.target {
        command.args(["--target", target]);
    }
    command.args(["-f", &build.dockerfile, &build.context]);
    let out = command.output().expect("run docker build");
    tracked.classic_output(&String::from_utf8_lossy(&out.stdout));
    let result = if out.status.success() {
        Ok(tag.to_owned())
    } else {
        Err(format!("docker build failed: {}", tail(&out, 12)))
    };
    Built {
        result,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Where `stages import` put the stages.toml of build `index`, its context
/// being the build's context in the copy of the project.
pub struct Imported {
    pub dir: PathBuf,
    /// The stage `docker build` builds: `--target`, else the last stage.
    pub target: String,
    /// Its artifacts, each with an artifact target `files-NAME`.
    pub artifacts: Vec<super::artifacts::Artifact>,
}

/// `stages import` of the build's Dockerfile into `work/stages-INDEX/`,
/// kept out of the build context (a `COPY . .` would take it into the
/// image) by naming the context in `[project]`.
pub fn import(
    work: &Path,
    src: &Path,
    index: usize,
    build: &BuildEntry,
) -> Result<Imported, String> {
    let dir = work.join(format!("stages-{index}"));
    std::fs::create_dir_all(&dir).expect("mkdir for stages.toml");
    let file = dir.join("stages.toml");
    let out = crate::engine_support::stages()
        .arg("import")
        .arg(src.join(&build.dockerfile))
        .arg("-o")
        .arg(&file)
        .output()
        .expect("run stages import");
    if !out.status.success() {
        return Err(format!("stages import failed: {}", tail(&out, 20)));
    }
    let mut text = std::fs::read_to_string(&file).expect("read the imported stages.toml");
    let parsed: toml::Table =
        toml::from_str(&text).map_err(|e| format!("the imported stages.toml: {e}"))?;
    let last = parsed
        .get("stages")
        .and_then(toml::Value::as_table)
        .and_then(|stages| stages.keys().next_back().cloned())
        .ok_or_else(|| "the imported stages.toml has no stage".to_owned())?;
    let context = Path::new("../src").join(&build.context);
    let context_line = format!(
        "context = {}\n",
        toml::Value::String(context.to_string_lossy().into_owned())
    );
    // Import writes a [project] table of its own (its default target)
    // when the Dockerfile has several final stages.
    match parsed.get("project").and_then(toml::Value::as_table) {
        Some(project) if project.contains_key("context") => {
            return Err("the imported stages.toml names a context already".to_owned());
        }
        Some(_) => {
            let header = text
                .find("[project]\n")
                .ok_or_else(|| "the imported [project] table is not a plain header".to_owned())?;
            text.insert_str(header + "[project]\n".len(), &context_line);
        }
        None => text.push_str(&format!("\n[project]\n{context_line}")),
    }
    std::fs::write(&file, text).expect("write stages.toml");
    let mut imported = Imported {
        dir,
        target: build.target.clone().unwrap_or(last),
        artifacts: Vec::new(),
    };
    // Before any build: the file then stays as the builds read it.
    imported.artifacts = super::artifacts::add_targets(&imported);
    Ok(imported)
}

/// `stages build TARGET --backend NAME` of an imported build; the image is
/// then tagged `tag`.
pub fn stages_build(
    imported: &Imported,
    backend: &StagesBackend,
    args: &[(String, String)],
    tag: &str,
    tracked: &mut Tracked,
) -> Built {
    let started = Instant::now();
    tracked.stages_project(imported.dir.clone());
    let result = (|| {
        if backend.stage_by_stage {
            for stage in needed_stages(imported)? {
                if stage != imported.target {
                    let id = stages_build_one(imported, backend, args, &stage)?;
                    tracked.image(&id);
                }
            }
        }
        let id = stages_build_one(imported, backend, args, &imported.target)?;
        let out = std::process::Command::new("docker")
            .args(["tag", &id, tag])
            .output()
            .expect("run docker tag");
        if !out.status.success() {
            tracked.image(&id);
            return Err(format!("docker tag {id}: {}", tail(&out, 4)));
        }
        Ok(tag.to_owned())
    })();
    Built {
        result,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn stages_build_one(
    imported: &Imported,
    backend: &StagesBackend,
    args: &[(String, String)],
    stage: &str,
) -> Result<String, String> {
    let mut command = crate::engine_support::stages();
    command
        .current_dir(&imported.dir)
        .args([
            "build",
            stage,
            "--backend",
            backend.name,
            "--progress",
            "quiet",
        ])
        .args(backend.flags);
    for (key, value) in args {
        command.args(["--build-arg", &format!("{key}={value}")]);
    }
    let out = command.output().expect("run stages build");
    if !out.status.success() {
        return Err(format!(
            "stages build {stage} --backend {} failed: {}",
            backend.name,
            tail(&out, 20)
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find_map(|line| {
            line.trim()
                .strip_prefix("sha256:")
                .map(|hex| format!("sha256:{hex}"))
        })
        .ok_or_else(|| {
            format!(
                "stages build {stage} printed no image id: {}",
                tail(&out, 8)
            )
        })
}

/// The stages `stages plan TARGET` runs, in its order.
fn needed_stages(imported: &Imported) -> Result<Vec<String>, String> {
    // `stages plan` takes no build arguments: it plans with the defaults.
    let out = crate::engine_support::stages()
        .current_dir(&imported.dir)
        .args(["plan", &imported.target])
        .output()
        .expect("run stages plan");
    if !out.status.success() {
        return Err(format!("stages plan failed: {}", tail(&out, 12)));
    }
    Ok(plan_stages(&String::from_utf8_lossy(&out.stdout)))
}

/// The stage names under `waves:` in `stages plan`'s output.
fn plan_stages(plan: &str) -> Vec<String> {
    plan.lines()
        .skip_while(|line| line.trim() != "waves:")
        .skip(1)
        .take_while(|line| line.starts_with(' '))
        .filter_map(|line| line.split_once(": ").map(|(_, stages)| stages))
        .flat_map(|stages| stages.split(", ").map(|s| s.trim().to_owned()))
        .collect()
}

/// The last lines of a command's standard error (else output), on one line.
pub fn tail(out: &Output, lines: usize) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = if stderr.trim().is_empty() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        stderr.into_owned()
    };
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join(" / ")
}

#[cfg(test)]
mod tests {
    use super::plan_stages;

    #[test]
    fn plan_waves_list_the_stages() {
        let plan = "targets:\n  x: image of stage app, untagged\nimages:\n  golang:1.22\nwaves:\n  1: build, assets\n  2: app\n2 of 3 stages in 2 waves, 1 pruned\n";
        assert_eq!(plan_stages(plan), ["build", "assets", "app"]);
    }
}
