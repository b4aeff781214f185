//! Typed instructions → Dockerfile text in one canonical layout: directives
//! first, a blank line before each stage and before commented instructions,
//! upper-case keywords, JSON form kept as JSON, heredocs kept as heredocs,
//! long RUNs broken before `&&` with continuations.
//!
//! Reading the printed text gives back the same instructions: every
//! argument is printed exactly as it was read, and line breaks are only put
//! where they add nothing to the joined line.

use super::directives::looks_like_directive;
use super::instructions::{Command, CommandLine, Flag, Healthcheck, Instruction, KeyValue, Paths};
use super::split::original_flag_bytes;
use super::stages::Program;
use super::syntax::Heredoc;
use std::borrow::Cow;

/// Lines longer than this are broken where that changes nothing.
const WIDTH: usize = 80;
/// Continuation lines start with this.
const INDENT: &str = "    ";

/// Prints a whole program.
pub fn print(program: &Program) -> String {
    let mut out = String::new();
    for d in &program.directives {
        out.push_str(&format!("# {}={}\n", d.name, d.value));
    }
    let has_escape = program.directives.iter().any(|d| d.name == "escape");
    if program.escape != '\\' && !has_escape {
        out.push_str(&format!("# escape={}\n", program.escape));
    }
    let mut first = true;
    let mut emit = |out: &mut String, instruction: &Instruction, stage_start: bool| {
        let needs_gap = stage_start || !instruction.comments.is_empty();
        if first {
            let directive_like = instruction
                .comments
                .first()
                .is_some_and(|c| looks_like_directive(&format!("# {c}")));
            if !out.is_empty() || directive_like {
                out.push('\n');
            }
        } else if needs_gap {
            out.push('\n');
        }
        first = false;
        out.push_str(&print_instruction(instruction, program.escape));
    };
    for arg in &program.meta_args {
        emit(&mut out, arg, false);
    }
    for stage in &program.stages {
        emit(&mut out, &stage.from, true);
        for instruction in &stage.instructions {
            emit(&mut out, instruction, false);
        }
    }
    if !program.trailing_comments.is_empty() {
        out.push('\n');
        for c in &program.trailing_comments {
            out.push_str(&format!("# {c}\n"));
        }
    }
    out
}

/// Prints one instruction with its comments and heredoc bodies, ending in `\n`.
pub fn print_instruction(instruction: &Instruction, escape: char) -> String {
    let mut out = String::new();
    for c in &instruction.comments {
        out.push_str(&format!("# {c}\n"));
    }
    let flags: Vec<String> = instruction.flags.iter().map(flag_text).collect();
    let flat_head = std::iter::once(instruction.name().to_string())
        .chain(flags.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let (flat_body, _) = body(&instruction.command, escape, flat_head.len());
    // Long instructions put each flag, then the rest, on its own line; a flag
    // ending in the escape would swallow the blank before the break, and a
    // rest starting with `#` would be read as a comment on its own line.
    let stacked = !flags.is_empty()
        && !flat_body.is_empty()
        && flat_head.len() + 1 + first_line_len(&flat_body) > WIDTH
        && !flags.iter().any(|f| f.contains(escape))
        && !starts_comment(&flat_body);
    let (text, heredocs) = if stacked {
        let (body, heredocs) = body(&instruction.command, escape, INDENT.len());
        let separator = format!(" {escape}\n{INDENT}");
        let mut text = instruction.name().to_string();
        text.push(' ');
        text.push_str(&flags.join(&separator));
        text.push_str(&separator);
        text.push_str(&guard_flag_like(&body));
        (text, heredocs)
    } else {
        let (body, heredocs) = body(&instruction.command, escape, flat_head.len());
        let mut text = flat_head;
        if !body.is_empty() {
            text.push(' ');
            text.push_str(&guard_flag_like(&body));
        }
        (text, heredocs)
    };
    out.push_str(&text);
    if ends_in_continuation(&text, escape) {
        out.push_str(KEEP_LAST_ESCAPE);
    }
    out.push('\n');
    for doc in heredocs {
        out.push_str(&doc.content);
        if !doc.content.is_empty() && !doc.content.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&doc.name);
        out.push('\n');
    }
    out
}

/// What follows an instruction's final escape so that BuildKit keeps it
/// as text: a carriage return not at the end of the line stops the
/// continuation (only blanks may follow an escape that continues), and
/// the trailing whitespace is trimmed from the instruction. Only text
/// that was read through the same trick can end in the escape.
const KEEP_LAST_ESCAPE: &str = "\r ";

/// Whether BuildKit would read `text`'s last line as continued on the next.
fn ends_in_continuation(text: &str, escape: char) -> bool {
    let last = text.rsplit('\n').next().unwrap_or(text);
    last.trim_end_matches([' ', '\t']).ends_with(escape)
}

/// Arguments that start like a flag need a `--` before them.
fn guard_flag_like(body: &str) -> String {
    if body.starts_with("--") {
        format!("-- {body}")
    } else {
        body.to_string()
    }
}

/// Whether `text` put at the start of a continuation line would make
/// BuildKit read that line as a comment (and drop it).
fn starts_comment(text: &str) -> bool {
    text.trim_start().starts_with('#')
}

fn first_line_len(text: &str) -> usize {
    text.lines().next().map_or(0, str::len)
}

/// `--name=value`, quoted when it would not survive as one word.
fn flag_text(flag: &Flag) -> String {
    let needs_quotes =
        |t: &str| t.is_empty() || t.contains(|c: char| c.is_whitespace() || "\"'\\".contains(c));
    let quoted = |t: &str| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""));
    // A character cut by the word's end is printed whole, after any quotes,
    // so that its last byte ends the word again.
    let with_cut = |text: String, cut: Option<char>| match cut {
        Some(c) => format!("{text}{c}"),
        None => text,
    };
    let (name, name_cut) = original_flag_bytes(&flag.name);
    match &flag.value {
        _ if needs_quotes(&name) || name.contains('=') => {
            let whole = flag.to_text();
            let (text, cut) = original_flag_bytes(&whole[2..]);
            with_cut(format!("--{}", quoted(&text)), cut)
        }
        Some(v) => {
            let (text, cut) = original_flag_bytes(v);
            if needs_quotes(&text) && !(text.is_empty() && cut.is_some()) {
                with_cut(format!("--{name}={}", quoted(&text)), cut)
            } else {
                with_cut(format!("--{name}={text}"), cut)
            }
        }
        None => with_cut(format!("--{name}"), name_cut),
    }
}

fn json_array(items: &[impl serde::Serialize]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string()))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// The text after keyword and flags, and the heredocs to print after it.
fn body(command: &Command, escape: char, indent: usize) -> (String, Vec<Heredoc>) {
    match command {
        Command::From(f) => {
            let mut s = f.image.to_string();
            if let Some(alias) = &f.alias {
                let as_keyword = if alias.as_keyword.is_empty() {
                    "AS"
                } else {
                    alias.as_keyword.as_ref()
                };
                s.push_str(&format!(" {as_keyword} {}", alias.name));
            }
            (s, Vec::new())
        }
        Command::Run(r) => command_line(&r.command, escape, indent, true),
        Command::Cmd(c) | Command::Entrypoint(c) => command_line(c, escape, indent, false),
        Command::Shell(args) => (json_array(args), Vec::new()),
        Command::Copy(c) => paths(&c.paths),
        Command::Add(a) => paths(&a.paths),
        Command::Env(pairs) | Command::Label(pairs) => {
            (key_values(pairs, escape, indent), Vec::new())
        }
        Command::Arg(decls) => {
            let words: Vec<String> = decls.iter().map(|d| d.to_text()).collect();
            (wrap_words(&words, escape, indent), Vec::new())
        }
        Command::Workdir(s)
        | Command::User(s)
        | Command::StopSignal(s)
        | Command::Maintainer(s) => (s.to_string(), Vec::new()),
        Command::Expose(ports) => (ports.join(" "), Vec::new()),
        Command::Volume(v) => {
            if v.json {
                (json_array(&v.paths), Vec::new())
            } else {
                (word_list(&v.paths), Vec::new())
            }
        }
        Command::Healthcheck(Healthcheck::None(word)) => {
            let word = if word.is_empty() { "NONE" } else { word };
            (word.to_string(), Vec::new())
        }
        Command::Healthcheck(Healthcheck::Cmd(h)) => {
            let word = if h.cmd_keyword.is_empty() {
                "CMD"
            } else {
                h.cmd_keyword.as_ref()
            };
            let (cmd, _) = command_line(&h.command, escape, indent, false);
            (format!("{word} {cmd}"), Vec::new())
        }
        // The trigger keeps its own heredoc bodies in the expression.
        Command::Onbuild(o) => (o.expression.to_string(), Vec::new()),
    }
}

fn command_line(
    c: &CommandLine,
    escape: char,
    indent: usize,
    break_long: bool,
) -> (String, Vec<Heredoc>) {
    if c.json {
        return (json_array(&c.args), Vec::new());
    }
    let line = c.args.join(" ");
    let text = if break_long {
        break_before_and(&line, escape, indent + line.len() > WIDTH)
    } else {
        line
    };
    (text, c.heredocs.clone())
}

/// Breaks a shell line before `&&`: the first blank before it stays on the
/// line, the escape ends it, and the other blanks start the next one, so
/// joining the lines gives back exactly the same text. Breaks where several
/// blanks show an earlier line break; with `all`, before every `&&`.
fn break_before_and(line: &str, escape: char, all: bool) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len() + 16);
    let mut last = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'&' && bytes[i + 1] == b'&' {
            let mut start = i;
            while start > last && matches!(bytes[start - 1], b' ' | b'\t') {
                start -= 1;
            }
            let blanks = i - start;
            if start > last && (blanks >= 2 || (all && blanks == 1)) {
                out.push_str(&line[last..=start]);
                out.push(escape);
                out.push('\n');
                last = start + 1;
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    out.push_str(&line[last..]);
    out
}

fn paths(p: &Paths) -> (String, Vec<Heredoc>) {
    let mut all = p.sources.clone();
    all.push(p.dest.clone());
    if p.json {
        (json_array(&all), Vec::new())
    } else {
        (word_list(&all), p.heredocs.clone())
    }
}

/// Words split on blanks when read. Should the words joined by spaces read
/// as a JSON array (the file separated them with a vertical tab, which JSON
/// refuses), a vertical tab keeps them a word list.
fn word_list(words: &[Cow<'_, str>]) -> String {
    let text = words.join(" ");
    let reads_as_json = text.trim_start().starts_with('[')
        && serde_json::from_str::<Vec<serde_json::Value>>(&text).is_ok();
    if reads_as_json {
        words.join("\u{b}")
    } else {
        text
    }
}

fn key_values(pairs: &[KeyValue], escape: char, indent: usize) -> String {
    if let [pair] = pairs
        && pair.legacy
    {
        return format!("{} {}", pair.key, pair.value);
    }
    let words: Vec<String> = pairs
        .iter()
        .map(|p| format!("{}={}", p.key, p.value))
        .collect();
    wrap_words(&words, escape, indent)
}

/// Words on one line, or one per line when that is too long; the words
/// are split on blanks when read, so the indentation changes nothing.
fn wrap_words(words: &[String], escape: char, indent: usize) -> String {
    let one_line = words.join(" ");
    // A word ending in the escape would escape the blank before the break;
    // one starting with `#` would begin a continuation line, which BuildKit
    // drops as a comment.
    let unsafe_break =
        words.iter().any(|w| w.contains(escape)) || words.iter().skip(1).any(|w| starts_comment(w));
    if words.len() < 2 || unsafe_break || indent + 1 + one_line.len() <= WIDTH {
        return one_line;
    }
    words.join(&format!(" {escape}\n{INDENT}"))
}

#[cfg(test)]
mod tests {
    use super::{break_before_and, flag_text};
    use crate::dockerfile::instructions::Flag;
    use crate::dockerfile::split::split_command;

    #[test]
    fn flags_read_back_the_same() {
        for text in [
            r#"--mount="type=bind,source=a b""#,
            "--x=é",
            r#"--"a b"=c"#,
            r#"--chown=a\"b"#,
            "--link",
            // A Latin-1 blank byte (0xA0, 0x85) that is the last byte of a
            // character ends the word inside that character.
            "--from=\u{a0}build",
            "--chown=voilà",
            "--mount=tcafé,id=x\u{a0}t",
            "--x=\u{20a0}y",
            "--x=ą",
            "--lin\u{a0}k",
            r#"--"a b"=c\u{a0}"#,
            "--x=\"a b\"\u{a0}",
        ] {
            let line = format!("COPY {text} a b");
            let (_, flags, _) = split_command(&line);
            let flag = Flag::from_text(&flags[0]);
            let printed = flag_text(&flag);
            let line = format!("COPY {printed} a b");
            let (_, again, _) = split_command(&line);
            assert_eq!(again, flags, "{text} printed as {printed}");
        }
    }

    #[test]
    fn a_final_escape_stays_text() {
        let text = "FROM h\nRUN \\\r \n";
        let original = crate::dockerfile::parse(text).expect("reads");
        let program = crate::dockerfile::parse_program(&original, text).expect("a program");
        let printed = super::print(&program);
        let reread = crate::dockerfile::parse(&printed).expect("printed text reads");
        assert_eq!(
            crate::dockerfile::dump(&original),
            crate::dockerfile::dump(&reread),
            "printed: {printed:?}"
        );
        assert_eq!(
            crate::dockerfile::faithful::changed_meaning(text, &printed),
            None
        );
    }

    /// A word starting with `#` at the start of a continuation line would
    /// be a comment: the printer keeps such words off line starts.
    #[test]
    fn words_starting_with_a_hash_never_start_a_continuation_line() {
        let long = "a=b ".repeat(18);
        for text in [
            format!("FROM h\nARG {long}# a=b\n"),
            format!("FROM h\nENV {long}#c=d\n"),
            format!(
                "FROM h\nRUN --network=none --mount=type=cache,target=/{} #x\n",
                "c".repeat(70)
            ),
        ] {
            let original = crate::dockerfile::parse(&text).expect("reads");
            let program = crate::dockerfile::parse_program(&original, &text).expect("a program");
            let printed = super::print(&program);
            let reread = crate::dockerfile::parse(&printed).expect("printed text reads");
            assert_eq!(
                crate::dockerfile::dump(&original),
                crate::dockerfile::dump(&reread),
                "printed: {printed:?}"
            );
        }
    }

    #[test]
    fn breaks_keep_the_joined_line() {
        let line = "apt-get update && apt-get install -y curl     && rm -rf /var/lib/apt/lists/*";
        let broken = break_before_and(line, '\\', true);
        let joined: String = broken
            .split('\n')
            .map(|l| l.strip_suffix('\\').unwrap_or(l))
            .collect();
        assert_eq!(joined, line);
        assert_eq!(broken.lines().count(), 3);
    }
}

#[cfg(test)]
mod code_made {
    use crate::dockerfile::instructions::{
        Command, CommandLine, Copy, From, Instruction, KeyValue, Mount, MountType, Paths, Run,
        StageAlias,
    };
    use crate::dockerfile::{Heredoc, Program, Stage, print, read};

    /// Made for any lifetime, so that it compares with what is read back
    /// from its own printed text.
    fn program_made_in_code<'a>() -> Program<'a> {
        let from = |image: &'static str, name: &'static str| {
            Instruction::new(Command::From(From {
                image: image.into(),
                platform: None,
                alias: Some(StageAlias {
                    as_keyword: "AS".into(),
                    name: name.into(),
                }),
            }))
        };
        let run = Instruction::new(Command::Run(Run {
            command: CommandLine::shell("cargo build --release"),
            mounts: vec![Mount {
                kind: MountType::Cache,
                target: Some("/usr/local/cargo/registry".into()),
                ..Mount::default()
            }],
            ..Run::default()
        }))
        .with_comments(vec!["build once".into()]);
        let script = Instruction::new(Command::Copy(Copy {
            paths: Paths {
                sources: smallvec::smallvec!["<<EOF".into()],
                dest: "/start.sh".into(),
                json: false,
                heredocs: vec![Heredoc {
                    name: "EOF".to_string(),
                    content: "#!/bin/sh\nexec /app \"$@\"\n".to_string(),
                    expand: true,
                    ..Heredoc::default()
                }],
            },
            chmod: Some("0755".into()),
            link: true,
            ..Copy::default()
        }));
        let copy = Instruction::new(Command::Copy(Copy {
            paths: Paths {
                sources: smallvec::smallvec!["/src/target/release/app".into()],
                dest: "/app".into(),
                ..Paths::default()
            },
            from: Some("build".into()),
            ..Copy::default()
        }));
        let env = Instruction::new(Command::Env(smallvec::smallvec![KeyValue {
            key: "RUST_LOG".into(),
            value: "info".into(),
            legacy: false,
        }]));
        let entry = Instruction::new(Command::Entrypoint(CommandLine::exec(["/start.sh"])));
        Program {
            stages: vec![
                Stage {
                    from: from("rust:1", "build"),
                    instructions: vec![run],
                },
                Stage {
                    from: from("debian:stable-slim", "app"),
                    instructions: vec![copy, script, env, entry],
                },
            ],
            ..Program::default()
        }
    }

    #[test]
    fn instructions_made_in_code_print_and_read_back() {
        let text = print(&program_made_in_code());
        assert_eq!(
            text,
            "FROM rust:1 AS build\n\
             \n\
             # build once\n\
             RUN --mount=type=cache,target=/usr/local/cargo/registry cargo build --release\n\
             \n\
             FROM debian:stable-slim AS app\n\
             COPY --from=build /src/target/release/app /app\n\
             COPY --chmod=0755 --link <<EOF /start.sh\n\
             #!/bin/sh\n\
             exec /app \"$@\"\n\
             EOF\n\
             ENV RUST_LOG=info\n\
             ENTRYPOINT [\"/start.sh\"]\n"
        );
        let back = read(&text).expect("printed text reads back");
        assert_eq!(back.stages, program_made_in_code().stages);
    }
}
