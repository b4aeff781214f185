//! RUN commands written over continuation lines keep their layout: the
//! command becomes the lines as the Dockerfile has them (from where the
//! command starts, after the flags), which `config::continued` joins back
//! to exactly the command BuildKit reads. Where the layout would not join
//! back to it, the command stays on one line.

use crate::config::continued::{continues, is_dropped, joined};
use crate::config::forms::CommandForm;
use crate::config::model::{Project, StepKind};

/// Lays out every one-line shell-form `run` whose instruction spans lines.
pub fn lay_out_runs(project: &mut Project, source: &str) {
    for stage in &mut project.stages {
        for step in &mut stage.steps {
            let StepKind::Run(run) = &mut step.kind else {
                continue;
            };
            let CommandForm::Shell(command) = &run.command.value else {
                continue;
            };
            if command.contains('\n') {
                continue;
            }
            let Some(raw) = source.get(step.span.start..step.span.end) else {
                continue;
            };
            if let Some(layout) = layout(raw, command) {
                run.command.value = CommandForm::Shell(layout);
            }
        }
    }
}

/// One physical line's share of the joined instruction.
struct Piece<'a> {
    line: usize,
    /// The line's text without its continuation.
    content: &'a str,
    /// Where `content` starts in the joined instruction.
    at: usize,
}

/// `command` (the end of the instruction `raw` once joined) as the lines
/// `raw` writes it over.
fn layout(raw: &str, command: &str) -> Option<String> {
    if raw.contains('\r') || !raw.contains('\n') {
        return None;
    }
    let lines: Vec<&str> = raw.split('\n').collect();
    let mut pieces = Vec::new();
    let mut joined_len = 0;
    for (index, line) in lines.iter().enumerate() {
        let line = if index == 0 { line.trim_start() } else { line };
        if index > 0 && is_dropped(line) {
            continue;
        }
        let content = continues(line).unwrap_or(line);
        pieces.push(Piece {
            line: index,
            content,
            at: joined_len,
        });
        joined_len += content.len();
        if continues(line).is_none() {
            break;
        }
    }
    let whole: String = pieces.iter().map(|p| p.content).collect();
    let trimmed = whole.trim_end();
    let start = trimmed.len().checked_sub(command.len())?;
    if !trimmed.ends_with(command) {
        return None;
    }
    let first = pieces
        .iter()
        .position(|p| start >= p.at && start < p.at + p.content.len())?;
    let piece = &pieces[first];
    let mut out = String::from(piece.content.get(start - piece.at..)?);
    let last_line = pieces.last()?.line;
    if piece.line == last_line {
        return None;
    }
    out.push('\\');
    for line in &lines[piece.line + 1..=last_line] {
        out.push('\n');
        if is_dropped(line) {
            out.push_str(line.trim_end());
        } else if let Some(content) = continues(line) {
            out.push_str(content);
            out.push('\\');
        } else {
            out.push_str(line.trim_end());
        }
    }
    (joined(&out).as_deref() == Some(command)).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::layout;

    #[test]
    fn the_command_keeps_its_lines_from_after_the_flags() {
        let raw = "RUN --mount=type=cache,target=/var/cache/apt \\\n    apt-get update && \\\n    # tools\n    apt-get install -y curl   ";
        let command = "apt-get update &&     apt-get install -y curl";
        assert_eq!(
            layout(raw, command).as_deref(),
            Some("apt-get update && \\\n    # tools\n    apt-get install -y curl")
        );
        let raw = "RUN set -eux; \\\n  case x in \\\n    x) echo x ;; \\\n  esac";
        assert_eq!(
            layout(raw, "set -eux;   case x in     x) echo x ;;   esac").as_deref(),
            Some("set -eux; \\\n  case x in \\\n    x) echo x ;; \\\n  esac")
        );
    }

    #[test]
    fn one_line_or_unmatched_commands_stay_as_they_are() {
        assert_eq!(layout("RUN make", "make"), None);
        assert_eq!(layout("RUN make \\\n  all", "other"), None);
        // The command starts on the last line: nothing to lay out.
        assert_eq!(
            layout("RUN --network=none \\\n  make all", "make all"),
            None
        );
    }
}
