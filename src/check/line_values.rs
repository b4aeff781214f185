//! Values a Dockerfile holds on one line: what runs to the end of an
//! instruction (`workdir`, `user`, `stop-signal`, `onbuild` lines, shell
//! commands of `cmd`, `entrypoint` and health checks) must be one line,
//! not blank, without surrounding whitespace or a trailing `\` (which
//! would join the next line); ENV, LABEL and ARG values and paths must
//! be one line. `check` refuses them so that what it accepts also
//! exports; a multi-line `run` is fine (it becomes a heredoc).

use super::codes;
use crate::config::CommandForm;
use crate::config::Located;
use crate::config::model::{ArgDecl, Health, Project, StepKind};
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Span;

/// Why `text` cannot run to the end of a Dockerfile line, if it cannot.
pub fn rest_of_line_problem(text: &str) -> Option<String> {
    if text.contains(['\n', '\r']) {
        return Some("it spans several lines".into());
    }
    if text.trim().is_empty() {
        return Some("it is blank".into());
    }
    if text.trim() != text {
        return Some("it starts or ends with whitespace".into());
    }
    if text.ends_with('\\') {
        return Some("it ends with `\\`, which would join the next line".into());
    }
    if text.starts_with("--") {
        return Some("it starts with `--`, which a Dockerfile reads as a flag".into());
    }
    None
}

/// A one-line command holding `<<WORD` would make the Dockerfile read the
/// lines after it as a heredoc's body.
fn heredoc_opener_problem(text: &str) -> Option<(String, &'static str)> {
    (!crate::convert::heredoc::openers(text).is_empty()).then(|| {
        (
            "it holds a heredoc opener (`<<WORD`), so the Dockerfile would read the lines after it as the heredoc's body".to_owned(),
            "write a heredoc as a multi-line `run`: its first line (`cat <<EOF > /file`), its body, then `EOF`",
        )
    })
}

fn error(what: &str, problem: String, span: Span, help: &str) -> Diagnostic {
    Diagnostic::error(
        codes::INVALID_LINE_VALUE,
        format!("{what} cannot be written in a Dockerfile: {problem}"),
    )
    .with_label(Label::primary(span, problem))
    .with_help(help.to_owned())
}

fn rest_of_line(what: &str, value: &Located<String>, out: &mut Vec<Diagnostic>) {
    if let Some(problem) = rest_of_line_problem(&value.value) {
        out.push(error(
            what,
            problem,
            value.span,
            "write it on one line, without surrounding spaces or a trailing `\\`",
        ));
    }
}

fn one_line(what: &str, text: &str, span: Span, out: &mut Vec<Diagnostic>) {
    if text.contains(['\n', '\r']) {
        out.push(error(
            what,
            "it spans several lines".into(),
            span,
            "write it on one line",
        ));
    }
}

fn shell_form(what: &str, command: &CommandForm, span: Span, out: &mut Vec<Diagnostic>) {
    if let CommandForm::Shell(text) = command
        && let Some(problem) = rest_of_line_problem(text)
    {
        out.push(error(
            what,
            problem,
            span,
            "write it on one line, or as an array (exec form)",
        ));
    }
}

fn decls(decls: &[ArgDecl], out: &mut Vec<Diagnostic>) {
    for decl in decls {
        if let Some(default) = &decl.default {
            one_line("a build argument's default", default, decl.name.span, out);
        }
    }
}

fn paths(sources: &[Located<String>], to: &Located<String>, out: &mut Vec<Diagnostic>) {
    for path in sources.iter().chain([to]) {
        one_line("a path", &path.value, path.span, out);
        if path.value.starts_with("--") {
            let problem = "it starts with `--`, which a Dockerfile reads as a flag".to_owned();
            out.push(error(
                "a path",
                problem,
                path.span,
                "write it as `./--…` (a path relative to the context or working directory)",
            ));
        }
    }
}

pub(super) fn check_line_values(project: &Project) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    decls(&project.args, &mut out);
    for stage in &project.stages {
        decls(&stage.args, &mut out);
        for (_, value) in &stage.env {
            one_line("an environment value", &value.value, value.span, &mut out);
        }
        if let Some(workdir) = &stage.workdir {
            rest_of_line("the working directory", workdir, &mut out);
        }
        if let Some(user) = &stage.user {
            rest_of_line("the user", user, &mut out);
        }
        for step in &stage.steps {
            match &step.kind {
                StepKind::Workdir(dir) => rest_of_line("the working directory", dir, &mut out),
                StepKind::User(user) => rest_of_line("the user", user, &mut out),
                StepKind::Env(pairs) => {
                    for (_, value) in pairs {
                        one_line("an environment value", &value.value, value.span, &mut out);
                    }
                }
                StepKind::Arg(list) => decls(list, &mut out),
                StepKind::Copy(copy) => paths(&copy.sources, &copy.to, &mut out),
                StepKind::Add(add) => paths(&add.sources, &add.to, &mut out),
                StepKind::Artifact(copy) => {
                    one_line("a path", &copy.to.value, copy.to.span, &mut out)
                }
                StepKind::Run(run) => {
                    if let CommandForm::Shell(text) = &run.command.value
                        && let text = crate::config::continued::command_text(text)
                        && !text.contains('\n')
                        && let Some((problem, help)) = rest_of_line_problem(&text)
                            .map(|problem| (problem, "write the command without surrounding spaces or a trailing `\\`"))
                            .or_else(|| heredoc_opener_problem(&text))
                    {
                        out.push(error("the command", problem, run.command.span, help));
                    } else if let CommandForm::Shell(text) = &run.command.value
                        && let Some(first) = crate::convert::heredoc::first_line_written_as_is(text)
                        && let Some(problem) = rest_of_line_problem(first)
                    {
                        out.push(error(
                            "the command's first line",
                            problem,
                            run.command.span,
                            "a heredoc's first line (`cat <<EOF > /file`) is the rest of the RUN line: write it without surrounding spaces, a trailing `\\` or a leading `--`",
                        ));
                    }
                }
                // Checked with the stage's other configuration below.
                StepKind::Shell(_) | StepKind::Config(_) => {}
            }
        }
        for config in stage.image_configs() {
            if let Some(cmd) = &config.cmd {
                shell_form("the command (`cmd`)", &cmd.value, cmd.span, &mut out);
            }
            if let Some(entrypoint) = &config.entrypoint {
                shell_form(
                    "the entrypoint",
                    &entrypoint.value,
                    entrypoint.span,
                    &mut out,
                );
            }
            if let Some(health) = &config.healthcheck
                && let Health::Check(table) = &health.value
            {
                shell_form(
                    "the health check command",
                    &table.cmd,
                    health.span,
                    &mut out,
                );
            }
            if let Some(signal) = &config.stop_signal {
                rest_of_line("the stop signal", signal, &mut out);
            }
            if let Some(author) = &config.maintainer {
                rest_of_line("the maintainer", author, &mut out);
            }
            for line in &config.onbuild {
                rest_of_line("an `onbuild` line", line, &mut out);
            }
            for volume in &config.volumes {
                one_line("a volume", &volume.value, volume.span, &mut out);
            }
            for (key, value) in &config.labels {
                // `LABEL` ends a name at its first `=`, quoted or not.
                if key.contains('=') {
                    out.push(
                        Diagnostic::error(
                            codes::INVALID_LINE_VALUE,
                            format!("the label name `{key}` holds `=`"),
                        )
                        .with_label(Label::primary(stage.name.span, "in this stage's labels"))
                        .with_help(
                            "a Dockerfile's LABEL ends the name at its first `=`: rename the label",
                        ),
                    );
                }
                one_line(
                    "a label",
                    &format!("{key}{value}"),
                    stage.name.span,
                    &mut out,
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::rest_of_line_problem;

    #[test]
    fn one_line_values() {
        for ok in ["/app", "1000:1000", "SIGTERM", "echo hi"] {
            assert_eq!(rest_of_line_problem(ok), None, "{ok}");
        }
        for bad in ["", " ", "yh ", " /a", "a\nb", "echo \\", "--build-arg"] {
            assert!(rest_of_line_problem(bad).is_some(), "{bad}");
        }
    }
}
