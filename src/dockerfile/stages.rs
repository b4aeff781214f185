//! Instructions grouped the way BuildKit groups them: meta-ARGs before the
//! first FROM, then one [`Stage`] per FROM. Also what a stage depends on,
//! the stages a target needs, and the cycle check.

use smallvec::SmallVec;

use super::codes;
use super::instructions::{Command, Instruction, instruction_as};
use super::keyword::Keyword;
use super::syntax::{Directive, Dockerfile};
use crate::diagnostics::{Diagnostic, Label, did_you_mean};

/// A whole Dockerfile, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program<'a> {
    pub directives: Vec<Directive>,
    /// `\` or `` ` ``.
    pub escape: char,
    /// ARG instructions before the first FROM.
    pub meta_args: Vec<Instruction<'a>>,
    pub stages: Vec<Stage<'a>>,
    /// Comments after the last instruction.
    pub trailing_comments: Vec<String>,
    /// By stage index, the base with the meta-ARGs expanded, for bases
    /// holding variables (see [`Program::expand_bases`]).
    pub expanded_bases: Vec<Option<String>>,
}

impl Default for Program<'_> {
    fn default() -> Self {
        Self {
            directives: Vec::new(),
            escape: '\\',
            meta_args: Vec::new(),
            stages: Vec::new(),
            trailing_comments: Vec::new(),
            expanded_bases: Vec::new(),
        }
    }
}

/// One FROM and the instructions after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage<'a> {
    /// Its FROM instruction (`Command::From`).
    pub from: Instruction<'a>,
    pub instructions: Vec<Instruction<'a>>,
}

impl<'a> Stage<'a> {
    fn base_command(&self) -> Option<&super::instructions::From<'a>> {
        match &self.from.command {
            Command::From(f) => Some(f),
            _ => None,
        }
    }

    /// The stage name, lower-cased as BuildKit compares it; `None` if unnamed.
    pub fn name(&self) -> Option<String> {
        self.base_command()?
            .alias
            .as_ref()
            .map(|a| a.name.to_lowercase())
    }

    /// The base: an image or an earlier stage's name.
    pub fn base(&self) -> &str {
        self.base_command().map_or("", |f| f.image.as_ref())
    }

    pub fn platform(&self) -> Option<&str> {
        self.base_command().and_then(|f| f.platform.as_deref())
    }

    /// `COPY --from` values, in order.
    pub fn copy_from(&self) -> Vec<&str> {
        self.instructions
            .iter()
            .filter_map(|i| match &i.command {
                Command::Copy(c) => c.from.as_deref(),
                _ => None,
            })
            .collect()
    }

    /// `RUN --mount=…,from=…` values, in order.
    pub fn mount_from(&self) -> Vec<&str> {
        self.instructions
            .iter()
            .flat_map(|i| match &i.command {
                Command::Run(r) => r.mounts.iter().filter_map(|m| m.from.as_deref()).collect(),
                _ => Vec::new(),
            })
            .collect()
    }
}

/// Groups parsed nodes into meta-ARGs and stages; the first instruction
/// BuildKit rejects is the error.
pub fn parse_program<'a>(file: &Dockerfile<'a>, source: &str) -> Result<Program<'a>, Diagnostic> {
    program_of(file.clone(), source)
}

/// [`parse_program`] taking the file, whose nodes then move into the
/// instructions instead of being copied.
pub fn program_of<'a>(file: Dockerfile<'a>, source: &str) -> Result<Program<'a>, Diagnostic> {
    let lengths = stage_lengths(&file.nodes);
    let mut program = Program {
        directives: file.directives,
        escape: file.escape,
        trailing_comments: file.trailing_comments,
        stages: Vec::with_capacity(lengths.len()),
        ..Program::default()
    };
    let mut lengths = lengths.iter();
    let mut nodes = file.nodes;
    for node in &mut nodes {
        // Where the instruction goes is told from its keyword before it is
        // read, so that it is moved once, into its place: instructions are
        // large.
        let keyword = node.known_keyword();
        if keyword == Some(Keyword::From) {
            let from = instruction_as(node, keyword, source)?;
            program.stages.push(Stage {
                from,
                // Sized at once, so that no instruction moves again.
                instructions: Vec::with_capacity(lengths.next().copied().unwrap_or_default()),
            });
            continue;
        }
        let into = match program.stages.last_mut() {
            Some(stage) => &mut stage.instructions,
            None if keyword == Some(Keyword::Arg) => &mut program.meta_args,
            None => {
                // An instruction BuildKit rejects is reported as that first.
                instruction_as(node, keyword, source)?;
                return Err(Diagnostic::error(
                    codes::NO_STAGE,
                    "no build stage in current context",
                )
                .with_label(Label::primary(node.span, "before any FROM"))
                .with_help("start the file with `FROM image`; only ARG may come before it"));
            }
        };
        into.push(instruction_as(node, keyword, source)?);
    }
    Ok(program)
}

/// How many instructions follow each FROM in `nodes`, up to the next.
/// Only a capacity hint, so FROM is told by an ASCII comparison, cheaper
/// than matching the keyword.
fn stage_lengths(nodes: &[super::syntax::Node]) -> SmallVec<[usize; 8]> {
    let mut lengths = SmallVec::new();
    for node in nodes {
        if node.keyword.eq_ignore_ascii_case("from") {
            lengths.push(0);
        } else if let Some(last) = lengths.last_mut() {
            *last += 1;
        }
    }
    lengths
}

/// Parses text all the way to typed stages.
pub fn read(text: &str) -> Result<Program<'_>, Diagnostic> {
    let file = super::parse(text)?;
    program_of(file, text)
}

impl Program<'_> {
    /// Gives every base holding a variable the value `expand` makes of it
    /// (the meta-ARGs substituted, which this layer cannot do itself), so
    /// that a base naming a stage through a variable counts as that stage,
    /// as BuildKit matches the expanded base against the earlier stages.
    pub fn expand_bases(&mut self, expand: impl Fn(&str) -> String) {
        self.expanded_bases = self
            .stages
            .iter()
            .map(|s| s.base().contains('$').then(|| expand(s.base())))
            .collect();
    }

    /// The base of stage `index` as it is matched against stage names.
    pub fn base_key(&self, index: usize) -> String {
        match self.expanded_bases.get(index).cloned().flatten() {
            Some(expanded) => expanded,
            None => self
                .stages
                .get(index)
                .map_or_else(String::new, |s| s.base().to_lowercase()),
        }
    }

    /// The earlier stage the base of stage `index` names, if any.
    pub fn base_stage(&self, index: usize) -> Option<usize> {
        let key = self.base_key(index);
        self.stages[..index.min(self.stages.len())]
            .iter()
            .position(|s| s.name().as_deref() == Some(key.as_str()))
    }

    /// Stage names (lower-cased) to the first stage with that name.
    fn names(&self) -> std::collections::HashMap<String, usize> {
        let mut names = std::collections::HashMap::new();
        for (i, stage) in self.stages.iter().enumerate() {
            if let Some(name) = stage.name() {
                names.entry(name).or_insert(i);
            }
        }
        names
    }

    /// The index of the stage a reference (`name` or index) means, if any.
    pub fn resolve(&self, reference: &str) -> Option<usize> {
        resolve_in(&self.names(), self.stages.len(), reference)
    }

    /// Stages a stage uses directly: an earlier stage as base, `COPY --from`
    /// and `RUN --mount from=` references to stages.
    pub fn dependencies(&self, index: usize) -> Vec<usize> {
        self.dependencies_in(&self.names(), index)
    }

    fn dependencies_in(
        &self,
        names: &std::collections::HashMap<String, usize>,
        index: usize,
    ) -> Vec<usize> {
        let Some(stage) = self.stages.get(index) else {
            return Vec::new();
        };
        let mut deps = Vec::new();
        if let Some(&b) = names.get(&self.base_key(index))
            && b < index
        {
            deps.push(b);
        }
        for r in stage.copy_from().into_iter().chain(stage.mount_from()) {
            if let Some(d) = resolve_in(names, self.stages.len(), r)
                && !deps.contains(&d)
            {
                deps.push(d);
            }
        }
        deps
    }

    /// Every stage the stage at `index` needs, itself included, in file order.
    pub fn closure(&self, index: usize) -> Vec<usize> {
        let names = self.names();
        let mut seen = vec![false; self.stages.len()];
        let mut todo = vec![index];
        while let Some(i) = todo.pop() {
            if i >= seen.len() || seen[i] {
                continue;
            }
            seen[i] = true;
            todo.extend(self.dependencies_in(&names, i));
        }
        (0..seen.len()).filter(|i| seen[*i]).collect()
    }

    /// The stage `--target` names, or a diagnostic with a suggestion.
    pub fn target(&self, name: &str) -> Result<usize, Diagnostic> {
        let lower = name.to_lowercase();
        self.stages
            .iter()
            .position(|s| s.name().as_deref() == Some(lower.as_str()))
            .ok_or_else(|| {
                let names: Vec<String> = self.stages.iter().filter_map(Stage::name).collect();
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_TARGET,
                    format!("target stage {name:?} could not be found"),
                );
                d = match did_you_mean(&lower, names.iter().map(String::as_str)) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None if names.is_empty() => {
                        d.with_help("no stage has a name (`FROM … AS name`)")
                    }
                    None => d.with_help(format!("stages are: {}", names.join(", "))),
                };
                d
            })
    }

    /// Graph problems BuildKit reports when it builds: duplicate stage
    /// names and circular dependencies between stages.
    pub fn check_graph(&self) -> Vec<Diagnostic> {
        let mut diags = Vec::new();
        let names = self.names();
        for (i, stage) in self.stages.iter().enumerate() {
            let Some(name) = stage.name() else { continue };
            if let Some(&first) = names.get(&name)
                && first < i
            {
                diags.push(
                    Diagnostic::error(
                        codes::DUPLICATE_STAGE_NAME,
                        format!("duplicate stage name {name:?}"),
                    )
                    .with_label(Label::primary(stage.from.span, "named again here"))
                    .with_label(Label::secondary(
                        self.stages[first].from.span,
                        "first named here",
                    ))
                    .with_help("give each stage its own name"),
                );
            }
        }
        if let Some(cycle) = self.find_cycle() {
            let names: Vec<String> = cycle
                .iter()
                .map(|i| self.stages[*i].name().unwrap_or_else(|| i.to_string()))
                .collect();
            let mut d = Diagnostic::error(
                codes::CIRCULAR_DEPENDENCY,
                format!("circular dependency detected on stage: {}", names[0]),
            )
            .with_help(format!(
                "stages depend on each other: {}",
                names.join(" → ")
            ));
            for (k, i) in cycle.iter().enumerate() {
                let span = self.stages[*i].from.span;
                d = d.with_label(if k == 0 {
                    Label::primary(span, "this stage needs itself")
                } else {
                    Label::secondary(span, "on the way")
                });
            }
            diags.push(d);
        }
        diags
    }

    /// A cycle of stage indices (first repeated at the end), if any.
    /// Iterative, so a file with very many stages cannot exhaust the stack.
    fn find_cycle(&self) -> Option<Vec<usize>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let names = self.names();
        let deps: Vec<Vec<usize>> = (0..self.stages.len())
            .map(|i| self.dependencies_in(&names, i))
            .collect();
        let mut marks = vec![Mark::New; deps.len()];
        for root in 0..deps.len() {
            if marks[root] != Mark::New {
                continue;
            }
            // (stage, next dependency to look at)
            let mut path: Vec<(usize, usize)> = vec![(root, 0)];
            marks[root] = Mark::Active;
            while let Some(&mut (node, ref mut next)) = path.last_mut() {
                let Some(&d) = deps[node].get(*next) else {
                    marks[node] = Mark::Done;
                    path.pop();
                    continue;
                };
                *next += 1;
                match marks[d] {
                    Mark::Active => {
                        let start = path.iter().position(|(x, _)| *x == d).unwrap_or(0);
                        let mut cycle: Vec<usize> = path[start..].iter().map(|(x, _)| *x).collect();
                        cycle.push(d);
                        return Some(cycle);
                    }
                    Mark::New => {
                        marks[d] = Mark::Active;
                        path.push((d, 0));
                    }
                    Mark::Done => {}
                }
            }
        }
        None
    }
}

fn resolve_in(
    names: &std::collections::HashMap<String, usize>,
    count: usize,
    reference: &str,
) -> Option<usize> {
    if let Some(&i) = names.get(&reference.to_lowercase()) {
        return Some(i);
    }
    reference.parse::<usize>().ok().filter(|i| *i < count)
}

#[cfg(test)]
mod tests {
    use super::read;
    use crate::dockerfile::codes;

    #[test]
    fn target_closure_follows_bases_copies_and_mounts() {
        let program = read(
            "FROM a AS tools\nFROM b AS deps\nFROM deps AS build\n\
             RUN --mount=from=tools,target=/t make\nFROM scratch AS out\nCOPY --from=2 /x /x\n",
        )
        .expect("valid");
        let out = program.target("OUT").expect("named stage");
        assert_eq!(program.closure(out), vec![0, 1, 2, 3]);
        assert!(program.check_graph().is_empty());
        assert!(program.target("bild").is_err());
    }

    #[test]
    fn duplicate_names_and_cycles_are_reported() {
        let program = read("FROM a AS x\nFROM b AS X\nCOPY --from=x /a /a\n").expect("valid");
        let codes: Vec<_> = program.check_graph().iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![codes::DUPLICATE_STAGE_NAME]);
        let program = read("FROM a AS x\nCOPY --from=x /a /a\n").expect("valid");
        let codes: Vec<_> = program.check_graph().iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![codes::CIRCULAR_DEPENDENCY]);
    }
}
