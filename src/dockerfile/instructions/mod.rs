//! Typed instructions, BuildKit's second layer: each [`Node`] becomes an
//! [`Instruction`] with checked flags and arguments, and instructions are
//! grouped into [`Stage`]s after meta-ARGs (see `stages`).
//!
//! Every type has public fields so other layers can build instructions in
//! code and print them. The exact text of each argument is kept, so that
//! printing and reading again gives back the same instructions.

mod flags;
mod mount;
mod parse;

pub use flags::{Flag, FlagKind, FlagList, FlagSpec};
pub use mount::{Mount, MountType, parse_mount};
pub(crate) use parse::instruction_as;
pub use parse::{instruction_of, parse_instruction};

use std::borrow::Cow;

use smallvec::SmallVec;

use super::syntax::{Heredoc, Node, Texts};
use crate::located::Span;

/// One instruction with what it was written with. Equality looks at what
/// the instruction means and says (flags, arguments, comments), not at the
/// keyword's case or where it was written.
#[derive(Debug, Clone, Eq)]
pub struct Instruction<'a> {
    /// The keyword as written (`run`, `Run`, `RUN`); empty means upper case.
    pub keyword: Cow<'a, str>,
    /// Flags in the order written. This is what the printer prints;
    /// [`Instruction::new`] derives it from the typed fields.
    pub flags: FlagList<'a>,
    pub command: Command<'a>,
    /// Comment lines just before the instruction, without `#`.
    pub comments: Texts<'a>,
    pub span: Span,
    /// 1-based; 0 for instructions made in code.
    pub start_line: usize,
    pub end_line: usize,
}

impl PartialEq for Instruction<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.flags == other.flags
            && self.command == other.command
            && self.comments == other.comments
    }
}

impl<'a> Instruction<'a> {
    /// An instruction made in code: upper-case keyword, flags derived from
    /// the typed fields, no comments, no place in a file.
    pub fn new(command: Command<'a>) -> Self {
        let flags = command.canonical_flags();
        Self {
            keyword: Cow::Borrowed(""),
            flags,
            command,
            comments: Texts::new(),
            span: Span::default(),
            start_line: 0,
            end_line: 0,
        }
    }

    pub fn with_comments(mut self, comments: Vec<Cow<'a, str>>) -> Self {
        self.comments = Texts::from_vec(comments);
        self
    }

    /// The keyword in upper case (`RUN`).
    pub fn name(&self) -> &'static str {
        self.command.name()
    }

    /// The keyword as written, or the upper-case name for code-made ones.
    pub fn keyword_as_written(&self) -> &str {
        if self.keyword.is_empty() {
            self.command.name()
        } else {
            &self.keyword
        }
    }
}

/// What an instruction does, with its typed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    From(From<'a>),
    Run(Run<'a>),
    Cmd(CommandLine<'a>),
    Entrypoint(CommandLine<'a>),
    /// Always the JSON form.
    Shell(Vec<Cow<'a, str>>),
    Copy(Copy<'a>),
    Add(Add<'a>),
    /// Pairs, and names with defaults, keep the usual one inline.
    Env(SmallVec<[KeyValue<'a>; 1]>),
    Label(SmallVec<[KeyValue<'a>; 1]>),
    Arg(SmallVec<[ArgDecl<'a>; 1]>),
    Workdir(Cow<'a, str>),
    User(Cow<'a, str>),
    Expose(Texts<'a>),
    Volume(Volume<'a>),
    Healthcheck(Healthcheck<'a>),
    StopSignal(Cow<'a, str>),
    Onbuild(Onbuild<'a>),
    Maintainer(Cow<'a, str>),
}

impl<'a> Command<'a> {
    pub fn name(&self) -> &'static str {
        match self {
            Command::From(_) => "FROM",
            Command::Run(_) => "RUN",
            Command::Cmd(_) => "CMD",
            Command::Entrypoint(_) => "ENTRYPOINT",
            Command::Shell(_) => "SHELL",
            Command::Copy(_) => "COPY",
            Command::Add(_) => "ADD",
            Command::Env(_) => "ENV",
            Command::Label(_) => "LABEL",
            Command::Arg(_) => "ARG",
            Command::Workdir(_) => "WORKDIR",
            Command::User(_) => "USER",
            Command::Expose(_) => "EXPOSE",
            Command::Volume(_) => "VOLUME",
            Command::Healthcheck(_) => "HEALTHCHECK",
            Command::StopSignal(_) => "STOPSIGNAL",
            Command::Onbuild(_) => "ONBUILD",
            Command::Maintainer(_) => "MAINTAINER",
        }
    }

    /// Flags that express the typed fields, in a fixed order.
    pub fn canonical_flags(&self) -> FlagList<'a> {
        let mut flags = FlagList::new();
        fn opt<'a>(flags: &mut FlagList<'a>, name: &'static str, v: &Option<Cow<'a, str>>) {
            if let Some(v) = v {
                flags.push(Flag::with_value(name, v.clone()));
            }
        }
        match self {
            Command::From(f) => opt(&mut flags, "platform", &f.platform),
            Command::Run(r) => {
                for m in &r.mounts {
                    flags.push(Flag::with_value("mount", m.to_flag_value()));
                }
                opt(&mut flags, "network", &r.network);
                opt(&mut flags, "security", &r.security);
                for d in &r.devices {
                    flags.push(Flag::with_value("device", d.clone()));
                }
            }
            Command::Copy(c) => {
                opt(&mut flags, "from", &c.from);
                opt(&mut flags, "chown", &c.chown);
                opt(&mut flags, "chmod", &c.chmod);
                if c.link {
                    flags.push(Flag::bare("link"));
                }
                if c.parents {
                    flags.push(Flag::bare("parents"));
                }
                for e in &c.exclude {
                    flags.push(Flag::with_value("exclude", e.clone()));
                }
            }
            Command::Add(a) => {
                opt(&mut flags, "chown", &a.chown);
                opt(&mut flags, "chmod", &a.chmod);
                opt(&mut flags, "checksum", &a.checksum);
                if a.link {
                    flags.push(Flag::bare("link"));
                }
                if a.keep_git_dir {
                    flags.push(Flag::bare("keep-git-dir"));
                }
                if let Some(unpack) = a.unpack {
                    flags.push(Flag::with_value("unpack", unpack.to_string()));
                }
                for e in &a.exclude {
                    flags.push(Flag::with_value("exclude", e.clone()));
                }
            }
            Command::Healthcheck(Healthcheck::Cmd(h)) => {
                opt(&mut flags, "interval", &h.interval);
                opt(&mut flags, "timeout", &h.timeout);
                opt(&mut flags, "start-period", &h.start_period);
                opt(&mut flags, "start-interval", &h.start_interval);
                opt(&mut flags, "retries", &h.retries);
            }
            _ => {}
        }
        flags
    }
}

/// `FROM [--platform=…] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct From<'a> {
    pub image: Cow<'a, str>,
    pub platform: Option<Cow<'a, str>>,
    pub alias: Option<StageAlias<'a>>,
}

/// The `AS name` of a FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageAlias<'a> {
    /// `AS` as written (`as`, `AS`).
    pub as_keyword: Cow<'a, str>,
    /// The name as written; stage names compare lower-cased.
    pub name: Cow<'a, str>,
}

/// The command of RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandLine<'a> {
    /// Exec form: the JSON elements. Shell form: one element, the line.
    pub args: Texts<'a>,
    /// Exec (JSON array) form.
    pub json: bool,
    pub heredocs: Vec<Heredoc>,
}

impl<'a> CommandLine<'a> {
    /// A shell-form command.
    pub fn shell(line: impl Into<Cow<'a, str>>) -> Self {
        Self {
            args: smallvec::smallvec![line.into()],
            json: false,
            heredocs: Vec::new(),
        }
    }

    /// An exec-form command.
    pub fn exec(args: impl IntoIterator<Item = impl Into<Cow<'a, str>>>) -> Self {
        Self {
            args: args.into_iter().map(Into::into).collect(),
            json: true,
            heredocs: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Run<'a> {
    pub command: CommandLine<'a>,
    pub mounts: Vec<Mount<'a>>,
    pub network: Option<Cow<'a, str>>,
    pub security: Option<Cow<'a, str>>,
    pub devices: Vec<Cow<'a, str>>,
}

/// Sources and destination of COPY and ADD.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Paths<'a> {
    /// As written, heredoc markers (`<<EOF`) included.
    pub sources: Texts<'a>,
    pub dest: Cow<'a, str>,
    /// Written as a JSON array.
    pub json: bool,
    /// Bodies of heredoc sources.
    pub heredocs: Vec<Heredoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Copy<'a> {
    pub paths: Paths<'a>,
    /// `--from`: a stage name, index or image.
    pub from: Option<Cow<'a, str>>,
    pub chown: Option<Cow<'a, str>>,
    pub chmod: Option<Cow<'a, str>>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Add<'a> {
    pub paths: Paths<'a>,
    pub chown: Option<Cow<'a, str>>,
    pub chmod: Option<Cow<'a, str>>,
    pub checksum: Option<Cow<'a, str>>,
    pub link: bool,
    pub keep_git_dir: bool,
    pub unpack: Option<bool>,
    pub exclude: Vec<Cow<'a, str>>,
}

/// One ENV or LABEL pair; the value keeps its quotes, as BuildKit does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue<'a> {
    pub key: Cow<'a, str>,
    pub value: Cow<'a, str>,
    /// Written in the legacy `ENV key value` form.
    pub legacy: bool,
}

/// One ARG name with its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl<'a> {
    pub name: Cow<'a, str>,
    pub default: Option<Cow<'a, str>>,
}

impl ArgDecl<'_> {
    /// `NAME` or `NAME=default`, as BuildKit lists meta-ARGs.
    pub fn to_text(&self) -> String {
        match &self.default {
            Some(d) => format!("{}={d}", self.name),
            None => self.name.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Volume<'a> {
    pub paths: Texts<'a>,
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck<'a> {
    /// `HEALTHCHECK NONE`; the word as written.
    None(Cow<'a, str>),
    Cmd(HealthcheckCmd<'a>),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthcheckCmd<'a> {
    /// `CMD` as written.
    pub cmd_keyword: Cow<'a, str>,
    pub command: CommandLine<'a>,
    pub interval: Option<Cow<'a, str>>,
    pub timeout: Option<Cow<'a, str>>,
    pub start_period: Option<Cow<'a, str>>,
    pub start_interval: Option<Cow<'a, str>>,
    pub retries: Option<Cow<'a, str>>,
}

/// `ONBUILD <instruction>`: BuildKit keeps the trigger as text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Onbuild<'a> {
    /// The trigger as written, heredoc bodies appended (BuildKit's `Expression`).
    pub expression: Cow<'a, str>,
    /// The trigger's syntax node, when read from a file. Boxed: a node is
    /// larger than any other command, and every instruction would grow to it.
    pub trigger: Option<Box<Node<'static>>>,
}
