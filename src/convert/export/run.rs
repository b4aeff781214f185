//! RUN: exec or shell form, heredocs for multi-line scripts, commands laid
//! out over continuation lines written as they are, long `&&` chains
//! broken over continuation lines, and the BuildKit-only flags.

use super::words::{self, inexpressible};
use crate::config::continued;
use crate::config::forms::CommandForm;
use crate::config::model::{Mount, Run};
use crate::convert::heredoc;
use crate::diagnostics::Diagnostic;
use crate::located::Located;

/// Lines longer than this are broken at `&&` when they can be.
const LONG_LINE: usize = 100;

/// The RUN instruction's text, and whether only BuildKit can build it.
pub fn run(run: &Run) -> Result<(String, bool), Diagnostic> {
    let mut head = String::from("RUN");
    let mut buildkit = false;
    for mount in &run.mounts {
        head.push(' ');
        head.push_str(&mount_flag(mount)?);
        buildkit = true;
    }
    if let Some(network) = &run.network {
        head.push(' ');
        head.push_str(&words::flag("network", network, network.span)?);
        buildkit = true;
    }
    if let Some(security) = &run.security {
        head.push(' ');
        head.push_str(&words::flag("security", security, security.span)?);
        buildkit = true;
    }
    for device in &run.devices {
        head.push(' ');
        head.push_str(&words::flag("device", device, device.span)?);
        buildkit = true;
    }
    let (command, heredoc) = command(&run.command, head.len() + 1)?;
    Ok((format!("{head} {command}"), buildkit || heredoc))
}

/// The command part of RUN (or of a shell-form instruction that allows
/// heredocs), and whether it used a heredoc.
fn command(command: &Located<CommandForm>, indent: usize) -> Result<(String, bool), Diagnostic> {
    match &command.value {
        CommandForm::Exec(words) => Ok((words::json_array(words), false)),
        CommandForm::Shell(text) if continued::joined(text).is_some() => {
            laid_out(text, command.span).map(|text| (text, false))
        }
        CommandForm::Shell(text) if text.contains('\n') => {
            if let Some(first) = heredoc::first_line_written_as_is(text) {
                first_line(first, command.span)?;
            }
            Ok((script(text), true))
        }
        CommandForm::Shell(text) => {
            let text = words::rest_of_line(text, command.span, "the command")?;
            if !heredoc::openers(&text).is_empty() {
                return Err(inexpressible(
                    command.span,
                    "a one-line command with a heredoc opener (`<<WORD`) would swallow the lines after it"
                        .into(),
                ));
            }
            Ok((break_long(&text, indent), false))
        }
    }
}

/// A command laid out over continuation lines: written as it is, which
/// BuildKit joins back to the command. The joined command must be one a
/// single line could hold.
fn laid_out(text: &str, span: crate::located::Span) -> Result<String, Diagnostic> {
    let joined = continued::command_text(text);
    words::rest_of_line(&joined, span, "the command")?;
    if !heredoc::openers(&joined).is_empty() {
        return Err(inexpressible(
            span,
            "a command with a heredoc opener (`<<WORD`) would swallow the lines after it".into(),
        ));
    }
    Ok(text.to_owned())
}

/// The first line of a command written as it is: the rest of the RUN
/// line, so one BuildKit reads back unchanged.
fn first_line(text: &str, span: crate::located::Span) -> Result<(), Diagnostic> {
    let what = "the command's first line";
    words::rest_of_line(text, span, what)?;
    if text.starts_with("--") {
        return Err(inexpressible(
            span,
            format!("{what} cannot start with `--`: a Dockerfile reads it as a flag"),
        ));
    }
    Ok(())
}

/// A multi-line shell command: as written when it already is a closed
/// heredoc instruction text, else the body of a new heredoc.
fn script(text: &str) -> String {
    if heredoc::is_closed_heredoc_text(text) {
        return text.strip_suffix('\n').unwrap_or(text).to_owned();
    }
    let delimiter = heredoc::delimiter_for(text);
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("<<{delimiter}\n{text}{newline}{delimiter}")
}

/// Breaks a long command before (or after) each `&&` so that BuildKit,
/// which joins continuation lines without a separator, reads back exactly
/// `text`. A run of spaces before `&&` becomes the next line's indent;
/// a single space keeps `&&` at the end of the line.
fn break_long(text: &str, indent: usize) -> String {
    if indent + text.len() <= LONG_LINE {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut cuts = Vec::new();
    let mut search = 0;
    while let Some(found) = text[search..].find("&&") {
        let at = search + found;
        search = at + 2;
        let spaces = text[..at].len() - text[..at].trim_end_matches(' ').len();
        if spaces >= 2 {
            cuts.push(at - spaces + 1);
        } else if spaces == 1 && bytes.get(at + 2) == Some(&b' ') {
            let next = &text[at + 3..];
            if !next.is_empty() && !next.trim_start().starts_with('#') {
                cuts.push(at + 3);
            }
        }
    }
    if cuts.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + cuts.len() * 3);
    let mut start = 0;
    for cut in cuts {
        out.push_str(&text[start..cut]);
        out.push_str("\\\n");
        start = cut;
    }
    out.push_str(&text[start..]);
    out
}

/// `--mount=type=…,target=…`: csv fields, quoted when they hold `,` or `"`.
fn mount_flag(mount: &Located<Mount>) -> Result<String, Diagnostic> {
    let m = &mount.value;
    let mut fields: Vec<(&str, String)> = vec![("type", m.kind.as_str().to_owned())];
    let text = |key: &'static str, value: &Option<String>| value.clone().map(|v| (key, v));
    fields.extend(text("target", &m.target));
    fields.extend(text("source", &m.source));
    fields.extend(m.from.as_ref().map(|f| ("from", f.value.clone())));
    fields.extend(text("id", &m.id));
    fields.extend(text("sharing", &m.sharing));
    fields.extend(m.readonly.map(|b| ("readonly", b.to_string())));
    fields.extend(m.required.map(|b| ("required", b.to_string())));
    fields.extend(text("mode", &m.mode));
    fields.extend(m.uid.map(|n| ("uid", n.to_string())));
    fields.extend(m.gid.map(|n| ("gid", n.to_string())));
    fields.extend(text("size", &m.size));
    fields.extend(text("env", &m.env));
    let mut parts = Vec::with_capacity(fields.len());
    for (key, value) in fields {
        if value.chars().any(char::is_whitespace) {
            return Err(inexpressible(
                mount.span,
                format!("the mount's `{key}` holds whitespace, which a --mount flag cannot carry"),
            ));
        }
        if value.contains('\'') {
            return Err(inexpressible(
                mount.span,
                format!(
                    "the mount's `{key}` holds a single quote, which BuildKit reads as the start of a quoted word"
                ),
            ));
        }
        let field = format!("{key}={value}");
        if field.contains([',', '"']) {
            parts.push(format!("\"{}\"", field.replace('"', "\"\"")));
        } else {
            parts.push(field);
        }
    }
    Ok(format!("--mount={}", parts.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{MountKind, MountType};

    fn shell(text: &str) -> Run {
        Run {
            command: Located::unplaced(CommandForm::Shell(text.into())),
            mounts: Vec::new(),
            network: None,
            security: None,
            devices: Vec::new(),
        }
    }

    /// What BuildKit's parser makes of continuation lines.
    fn joined(text: &str) -> String {
        text.split('\n')
            .map(|l| l.strip_suffix('\\').unwrap_or(l))
            .collect()
    }

    #[test]
    fn short_commands_stay_on_one_line() {
        assert_eq!(run(&shell("make")).ok(), Some(("RUN make".into(), false)));
    }

    #[test]
    fn long_chains_break_and_join_back_exactly() {
        let indented = format!(
            "apt-get update{}    && apt-get install -y {}",
            "",
            "x".repeat(90)
        );
        let single = format!(
            "apt-get update && apt-get install -y {} && rm -rf /tmp",
            "y".repeat(80)
        );
        for text in [indented, single] {
            let (line, _) = run(&shell(&text)).expect("expressible");
            assert!(line.contains("\\\n"), "{line}");
            assert_eq!(joined(line.strip_prefix("RUN ").expect("prefix")), text);
        }
    }

    #[test]
    fn scripts_become_heredocs() {
        let (line, buildkit) = run(&shell("set -e\necho hi\n")).expect("expressible");
        assert_eq!(line, "RUN <<EOF\nset -e\necho hi\nEOF");
        assert!(buildkit);
        let (line, _) = run(&shell("cat <<EOF > /x\nhello\nEOF\n")).expect("expressible");
        assert_eq!(line, "RUN cat <<EOF > /x\nhello\nEOF");
    }

    #[test]
    fn mounts_are_csv_fields() {
        let mut r = shell("go build");
        r.mounts.push(Located::unplaced(Mount {
            kind: MountType::Known(MountKind::Cache),
            target: Some("/root/.cache".into()),
            sharing: Some("locked".into()),
            ..Mount::default()
        }));
        let (line, buildkit) = run(&r).expect("expressible");
        assert_eq!(
            line,
            "RUN --mount=type=cache,target=/root/.cache,sharing=locked go build"
        );
        assert!(buildkit);
    }

    #[test]
    fn one_line_heredoc_openers_are_refused() {
        assert!(run(&shell("cat <<EOF")).is_err());
    }

    /// A closed heredoc text is written as it is: its first line, the
    /// rest of the RUN line, must read back unchanged.
    #[test]
    fn a_heredoc_text_whose_first_line_would_not_read_back_is_refused() {
        for text in [
            "--mount=target= <<EOT\nEOT",
            " cat <<EOT\nx\nEOT",
            "cat <<EOT \nx\nEOT",
        ] {
            assert!(run(&shell(text)).is_err(), "{text:?}");
        }
        assert!(run(&shell("cat <<EOT\nx\nEOT")).is_ok());
    }
}
