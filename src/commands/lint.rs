//! `stages lint` and `stages dockerfile lint`: the lint rules on stages.toml
//! or on a Dockerfile, for people, as JSON lines or as SARIF. Exit 0 when
//! clean or only warnings, 1 on errors (or on warnings with
//! `--error-on-warning`), 2 when the file cannot be read or a control is
//! wrong. Also what `stages check` adds of lint's rules.

use std::io::Write;
use std::path::Path;

use super::Exit;
use super::common::{find_config, print_diagnostics, read_source, summary};
use crate::check::{BaseEnv, check};
use crate::cli::{DockerfileLintArgs, EngineArg, LintArgs, LintControlArgs, LintFormat};
use crate::config::model::{Base, Project};
use crate::diagnostics::{Diagnostic, Label, SourceFile, did_you_mean, render_json};
use crate::engine::connection::EngineAddress;
use crate::engine::dockerignore::DockerIgnore;
use crate::engine::image_facts::{ImageFacts, image_facts};
use crate::lint::controls::project_controls;
use crate::lint::sarif::render_sarif;
use crate::lint::{Controls, IgnoredPaths, LintContext, lint_dockerfile, lint_project, rules};

/// Code of a `[lint] skip` entry that names no rule.
pub const UNKNOWN_RULE: &str = "stages::lint::unknown-rule";

pub fn run(args: LintArgs) -> miette::Result<Exit> {
    let path = find_config(&args.config);
    let file = match read_source(&path) {
        Ok(file) => file,
        Err(exit) => return Ok(exit),
    };
    let cli = command_line_controls(&args.controls)?;
    let outcome = check(&file);
    let Some(project) = outcome.project else {
        print_diagnostics(&file, &outcome.diagnostics);
        eprintln!(
            "{}: {}; lint runs once check passes",
            file.name,
            summary(&outcome.diagnostics)
        );
        return Ok(Exit::Failure);
    };
    let check_build_arg = check_build_arg(&args.controls)?;
    let mut diagnostics = unknown_skipped_rules(&project);
    let cx = LintContext {
        locked_images: locked_images_beside(&path),
        ..context_for(&base_images(&project), Some(&args.controls.engine))
    };
    // The build argument takes the place of `[lint]`, as it takes the
    // place of a Dockerfile's `# check=` directive.
    let own = check_build_arg.unwrap_or_else(|| project_controls(&project));
    diagnostics.extend(lint_project(&project, &cx, &cli.merged(&own)));
    Ok(report(&file, &diagnostics, &args.controls))
}

pub fn dockerfile(args: DockerfileLintArgs) -> miette::Result<Exit> {
    let cli = command_line_controls(&args.controls)?;
    let file = super::dockerfile::read_source(&args.file)?;
    let images = match crate::dockerfile::read(&file.text) {
        Ok(program) => {
            let meta = crate::lint::dockerfile::from::meta_arg_defaults(&program);
            program
                .stages
                .iter()
                .enumerate()
                .filter(|(i, s)| program.resolve(s.base()).is_none_or(|j| j >= *i))
                .map(|(_, s)| {
                    crate::lint::dockerfile::from::expand_with(s.base(), &meta, program.escape)
                })
                .collect()
        }
        Err(_) => Vec::new(),
    };
    let cx = LintContext {
        ignored: dockerignore_beside(&args.file)?,
        check_build_arg: check_build_arg(&args.controls)?,
        ..context_for(&images, Some(&args.controls.engine))
    };
    match lint_dockerfile(&file.text, &cx, &cli) {
        Ok(diagnostics) => Ok(report(&file, &diagnostics, &args.controls)),
        Err(unreadable) => {
            // What BuildKit reports before it stops, then why it stops.
            let mut diagnostics = unreadable.findings;
            diagnostics.push(unreadable.error);
            report(&file, &diagnostics, &args.controls);
            Ok(Exit::Failure)
        }
    }
}

/// The build argument BuildKit reads its check setting from.
const CHECK_BUILD_ARG: &str = "BUILDKIT_DOCKERFILE_CHECK";

/// `--build-arg BUILDKIT_DOCKERFILE_CHECK=…`, read as BuildKit reads it;
/// a later one wins, as with `docker build`. Other build arguments are
/// refused: no rule here reads them, and accepting them would suggest one
/// does.
fn check_build_arg(args: &LintControlArgs) -> miette::Result<Option<Controls>> {
    let mut found = None;
    for arg in &args.build_args {
        let Some((name, value)) = arg.split_once('=') else {
            return Err(miette::miette!(
                help = format!("write `--build-arg {CHECK_BUILD_ARG}=skip=RULE;error=true`"),
                "--build-arg {arg}: expected KEY=VALUE"
            ));
        };
        if name != CHECK_BUILD_ARG {
            return Err(miette::miette!(
                help = format!(
                    "lint reads only {CHECK_BUILD_ARG} among build arguments (BuildKit's check setting)"
                ),
                "--build-arg {name}: not a build argument lint reads"
            ));
        }
        let controls = Controls::parse(value)
            .map_err(|why| miette::miette!("failed to parse {CHECK_BUILD_ARG}: {why}"))?;
        found = Some(controls);
    }
    Ok(found)
}

/// The `.dockerignore` a build of the Dockerfile in its own directory
/// honours: `<file>.dockerignore` beside it, else the directory's
/// `.dockerignore`. None for standard input, for no file, and for one that
/// re-includes (`!`), which BuildKit does not check either.
fn dockerignore_beside(dockerfile: &Path) -> miette::Result<Option<IgnoredPaths>> {
    if dockerfile.as_os_str() == "-" {
        return Ok(None);
    }
    let dir = dockerfile
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let own = dockerfile
        .file_name()
        .map(|name| dir.join(format!("{}.dockerignore", name.to_string_lossy())));
    let Some(path) = own
        .filter(|p| p.is_file())
        .or_else(|| Some(dir.join(".dockerignore")).filter(|p| p.is_file()))
    else {
        return Ok(None);
    };
    let text = crate::input::read_text(&path)
        .map_err(|e| miette::miette!("cannot read {}: {e}", path.display()))?;
    let ignore =
        DockerIgnore::parse(&text).map_err(|e| miette::miette!("{}: {e}", path.display()))?;
    if ignore.is_empty() || ignore.has_exclusions() {
        return Ok(None);
    }
    Ok(Some(IgnoredPaths::new(move |p| ignore.is_excluded(p))))
}

/// The lint warnings `stages check` adds: every rule but those check
/// reports itself (UndefinedVar and UndefinedArgInFrom are its
/// `undeclared-variable`), under the file's `[lint]` controls.
pub fn for_check(project: &Project, config: &Path) -> Vec<Diagnostic> {
    let mut diagnostics = unknown_skipped_rules(project);
    let own = Controls {
        skip: vec![
            rules::UNDEFINED_VAR.name.to_owned(),
            rules::UNDEFINED_ARG_IN_FROM.name.to_owned(),
        ],
        ..Controls::default()
    };
    let controls = project_controls(project).merged(&own);
    // Rules that need the Engine's knowledge of base images are left to
    // `stages lint`, so that check stays quick and offline.
    let cx = LintContext {
        locked_images: locked_images_beside(config),
        ..LintContext::default()
    };
    diagnostics.extend(lint_project(project, &cx, &controls));
    diagnostics
}

/// Check's variable warnings again, knowing the env of the base images the
/// Engine has: only asked for when an image's env would change them.
pub fn base_env_for_check(project: &Project) -> Option<BaseEnv> {
    let unknown: Vec<String> = crate::check::undefined_uses(project, &BaseEnv::new())
        .into_iter()
        .filter(|u| u.base_unknown)
        .filter_map(|u| match &project.stage(&u.stage)?.from.value {
            Base::Image(image) => Some(image.clone()),
            Base::Stage(_) => None,
        })
        .collect();
    if unknown.is_empty() {
        return None;
    }
    Some(context_for(&unknown, None).base_env)
}

fn unknown_skipped_rules(project: &Project) -> Vec<Diagnostic> {
    let names = rules::ALL.iter().map(|r| r.name);
    project
        .lint
        .skip
        .iter()
        .filter(|r| r.value != "all" && rules::by_name(&r.value).is_none())
        .map(|r| {
            let help = match did_you_mean(&r.value, names.clone()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "`stages lint --help` lists the rules; see docs/lint.md".to_owned(),
            };
            Diagnostic::error(UNKNOWN_RULE, format!("`{}` is not a lint rule", r.value))
                .with_label(Label::primary(r.span, "no rule has this name"))
                .with_help(help)
        })
        .collect()
}

fn command_line_controls(args: &LintControlArgs) -> miette::Result<Controls> {
    let mut controls = Controls::default();
    for rule in &args.skip {
        let rule = rule.trim();
        if rule == "all" {
            controls.skip_all = true;
        } else if rules::by_name(rule).is_some() {
            controls.skip.push(rule.to_owned());
        } else {
            let close = did_you_mean(rule, rules::ALL.iter().map(|r| r.name));
            return Err(miette::miette!(
                help = close.map_or_else(
                    || "see docs/lint.md for the rules".to_owned(),
                    |c| format!("did you mean `{c}`?")
                ),
                "--skip {rule}: no lint rule has this name"
            ));
        }
    }
    Ok(controls)
}

fn base_images(project: &Project) -> Vec<String> {
    project
        .stages
        .iter()
        .filter_map(|s| match &s.from.value {
            Base::Image(image) if image != "scratch" => Some(project.expand_global(image, &[])),
            _ => None,
        })
        .collect()
}

/// Asks the Engine about `images`; an Engine that cannot be reached leaves
/// them unknown (the rules then assume only what BuildKit always sets).
fn context_for(images: &[String], engine: Option<&EngineArg>) -> LintContext {
    let facts = (!images.is_empty())
        .then(|| engine_facts(images, engine))
        .flatten()
        .unwrap_or_default();
    LintContext {
        base_env: facts.env,
        base_users: facts.user,
        base_platforms: facts.platform,
        engine_platform: facts.engine_platform,
        ..LintContext::default()
    }
}

fn engine_facts(images: &[String], engine: Option<&EngineArg>) -> Option<ImageFacts> {
    let address = EngineAddress::resolve_with(
        engine.and_then(|e| e.host.as_deref()),
        engine.and_then(|e| e.context.as_deref()),
    )
    .ok()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let engine = address.connect().await.ok()?;
        Some(image_facts(&engine, images).await)
    })
}

fn report(file: &SourceFile, diagnostics: &[Diagnostic], args: &LintControlArgs) -> Exit {
    let mut stdout = std::io::stdout().lock();
    match args.message_format {
        LintFormat::Json => {
            let _ = stdout.write_all(render_json(file, diagnostics).as_bytes());
        }
        LintFormat::Sarif => {
            let _ = stdout.write_all(render_sarif(file, diagnostics).as_bytes());
        }
        LintFormat::Human => {
            print_diagnostics(file, diagnostics);
            if diagnostics.iter().any(Diagnostic::is_error) {
                eprintln!("{}: {}", file.name, summary(diagnostics));
            } else {
                let _ = writeln!(stdout, "{}: {}", file.name, summary(diagnostics));
            }
        }
    }
    let errors = diagnostics.iter().any(Diagnostic::is_error);
    if errors || (args.error_on_warning && !diagnostics.is_empty()) {
        Exit::Failure
    } else {
        Exit::Success
    }
}

/// The image references the `stages.lock` next to `config` pins; `None`
/// when there is no lock, or one that cannot be read (the commands that
/// use it, `build`, `lock` and `export-dockerfile --locked`, report why).
fn locked_images_beside(config: &Path) -> Option<Vec<String>> {
    let dir = config.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let text = crate::input::read_text(&dir.join(crate::lockfile::LOCK_NAME)).ok()?;
    let file = crate::diagnostics::SourceFile::new(crate::lockfile::LOCK_NAME, text);
    let lock = crate::lockfile::parse::parse_lock(&file).ok()?;
    Some(lock.images.into_iter().map(|i| i.reference).collect())
}
