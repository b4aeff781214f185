//! Finding the glue in a Makefile: the first target whose recipe (with the
//! recipes of its prerequisites, in the order make runs them) calls
//! `docker build`, its recipe lines as spans of the file, and the simple
//! variable assignments (`NAME = value`, `:=`, `?=`) the recipes may use.

use std::collections::HashSet;

use crate::located::Span;

/// The recipe chosen for migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    pub target: String,
    /// Each recipe line without its tab and `@`/`-`/`+` prefixes; a line
    /// continued with `\` is one span.
    pub lines: Vec<Span>,
    /// Make variables, values already expanded.
    pub variables: Vec<(String, String)>,
    /// The other targets, which were not read.
    pub others: Vec<String>,
}

#[derive(Debug)]
struct Rule {
    targets: Vec<String>,
    prerequisites: Vec<String>,
    lines: Vec<Span>,
}

/// The recipe to migrate, or `None` when no target calls `docker build`.
pub fn find_recipe(text: &str) -> Option<Recipe> {
    find_recipe_for(text, None)
}

/// The recipe of `target` (what `make target` runs), or with no target the
/// first whose recipe calls `docker build`; `None` when it calls none.
pub fn find_recipe_for(text: &str, target: Option<&str>) -> Option<Recipe> {
    let (rules, variables) = read(text);
    let mut chosen: Option<(String, Vec<Span>, HashSet<String>)> = None;
    for rule in &rules {
        let Some(name) = rule.targets.first().filter(|t| !t.starts_with('.')) else {
            continue;
        };
        let name = match target {
            Some(target) if rule.targets.iter().any(|t| t == target) => target.to_owned(),
            Some(_) => continue,
            None => name.clone(),
        };
        let mut seen = HashSet::new();
        let lines = collect(&rules, &name, &mut seen);
        if lines
            .iter()
            .any(|span| calls_docker_build(&text[span.start..span.end]))
        {
            chosen = Some((name, lines, seen));
            break;
        }
    }
    let (target, lines, read) = chosen?;
    let mut others: Vec<String> = Vec::new();
    for name in rules.iter().flat_map(|r| r.targets.iter()) {
        if !read.contains(name) && !name.starts_with('.') && !others.contains(name) {
            others.push(name.clone());
        }
    }
    Some(Recipe {
        target,
        lines,
        variables,
        others,
    })
}

/// Whether `text` holds `docker build` in one of its spellings (buildx's
/// own flags may come between `buildx` and `build`).
pub fn calls_docker_build(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.iter().enumerate().any(|(i, word)| {
        if *word != "docker" {
            return false;
        }
        let rest = &words[i + 1..];
        match rest {
            ["build", ..] => true,
            ["image" | "builder", "build", ..] => true,
            ["buildx", after @ ..] => after.iter().take(3).any(|w| *w == "build"),
            _ => false,
        }
    })
}

/// The lines make runs for `target`: prerequisites first, each target once.
fn collect(rules: &[Rule], target: &str, seen: &mut HashSet<String>) -> Vec<Span> {
    if !seen.insert(target.to_owned()) {
        return Vec::new();
    }
    let mut lines = Vec::new();
    for rule in rules
        .iter()
        .filter(|r| r.targets.iter().any(|t| t == target))
    {
        for prerequisite in &rule.prerequisites {
            lines.extend(collect(rules, prerequisite, seen));
        }
        lines.extend(rule.lines.iter().copied());
    }
    lines
}

/// Logical lines (continuations joined) with their byte ranges.
fn logical_lines(text: &str) -> Vec<Span> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            let continued = i > start && bytes[i - 1] == b'\\';
            if !continued {
                lines.push(Span::new(start, i));
                start = i + 1;
            }
        }
        i += 1;
    }
    if start < bytes.len() {
        lines.push(Span::new(start, bytes.len()));
    }
    lines
}

fn read(text: &str) -> (Vec<Rule>, Vec<(String, String)>) {
    let mut rules: Vec<Rule> = Vec::new();
    let mut variables: Vec<(String, String)> = Vec::new();
    let mut in_rule = false;
    for span in logical_lines(text) {
        let line = &text[span.start..span.end];
        if let Some(body) = line.strip_prefix('\t') {
            if in_rule && let Some(rule) = rules.last_mut() {
                let trimmed = body.trim_start_matches(['@', '-', '+', ' ', '\t']);
                let start = span.end - trimmed.len();
                if !trimmed.trim().is_empty() && !trimmed.starts_with('#') {
                    rule.lines.push(Span::new(start, span.end));
                }
            }
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some((name, value)) = assignment(trimmed) {
            let value = expand(&value, &variables);
            variables.retain(|(n, _)| *n != name);
            variables.push((name, value));
            in_rule = false;
            continue;
        }
        let trimmed_start = span.start + (line.len() - line.trim_start().len());
        if let Some((targets, rest)) = trimmed.split_once(':')
            && !rest.starts_with('=')
        {
            let (prerequisites, inline) = rest
                .split_once(';')
                .map_or((rest, None), |(p, r)| (p, Some(r)));
            let mut rule = Rule {
                targets: targets.split_whitespace().map(str::to_owned).collect(),
                prerequisites: prerequisites
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                lines: Vec::new(),
            };
            if let Some(inline) = inline.filter(|r| !r.trim().is_empty()) {
                // `target: prerequisites ; command` — the command after the `;`.
                let command_start = trimmed_start + targets.len() + 1 + prerequisites.len() + 1;
                let start = command_start + (inline.len() - inline.trim_start().len());
                rule.lines
                    .push(Span::new(start, trimmed_start + trimmed.len()));
            }
            rules.push(rule);
            in_rule = true;
            continue;
        }
        in_rule = false;
    }
    (rules, variables)
}

/// `NAME = value`, `NAME := value`, `NAME ?= value`, `export NAME = value`.
fn assignment(line: &str) -> Option<(String, String)> {
    let line = line.strip_prefix("export ").unwrap_or(line);
    let eq = line.find('=')?;
    let name = line[..eq].trim_end_matches([':', '?', '+', '!']).trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return None;
    }
    Some((name.to_owned(), line[eq + 1..].trim().to_owned()))
}

/// `$(NAME)` and `${NAME}` of variables defined so far.
fn expand(value: &str, variables: &[(String, String)]) -> String {
    let mut out = value.to_owned();
    for (name, replacement) in variables {
        out = out
            .replace(&format!("$({name})"), replacement)
            .replace(&format!("${{{name}}}"), replacement);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_recipes_keep_their_place() {
        let text = "all: ; docker build -t é .  \n";
        let recipe = find_recipe(text).expect("a recipe");
        let span = recipe.lines[0];
        assert_eq!(&text[span.start..span.end], "docker build -t é .");
    }

    const MAKEFILE: &str = "IMAGE := tiny\nBUILD = $(IMAGE)build\n\nall: extract\n\tdocker build -t $(IMAGE) .\n\nextract:\n\t@docker build -f Dockerfile.build \\\n\t  -t $(BUILD) .\n\t-docker cp x:/hello .\n\nclean:\n\t-rm -f hello\n";

    #[test]
    fn follows_prerequisites_and_strips_prefixes() {
        let recipe = find_recipe(MAKEFILE).expect("a recipe");
        assert_eq!(recipe.target, "all");
        let lines: Vec<&str> = recipe
            .lines
            .iter()
            .map(|s| &MAKEFILE[s.start..s.end])
            .collect();
        assert_eq!(
            lines,
            [
                "docker build -f Dockerfile.build \\\n\t  -t $(BUILD) .",
                "docker cp x:/hello .",
                "docker build -t $(IMAGE) .",
            ]
        );
        assert_eq!(
            recipe.variables,
            [
                ("IMAGE".to_owned(), "tiny".to_owned()),
                ("BUILD".to_owned(), "tinybuild".to_owned())
            ]
        );
        assert_eq!(recipe.others, ["clean"]);
    }

    #[test]
    fn the_target_make_is_asked_for_is_the_one_read() {
        let text = "lint:\n\tdocker build -t lint -f Dockerfile.lint .\n\nimage:\n\tdocker build -t app .\n\nclean:\n\trm -rf out\n";
        let first = find_recipe_for(text, None).expect("a recipe");
        assert_eq!(first.target, "lint");
        let asked = find_recipe_for(text, Some("image")).expect("a recipe");
        assert_eq!(asked.target, "image");
        assert_eq!(asked.lines.len(), 1);
        assert!(find_recipe_for(text, Some("clean")).is_none());
        assert!(find_recipe_for(text, Some("missing")).is_none());
    }

    #[test]
    fn no_docker_build_no_recipe() {
        assert!(find_recipe("clean:\n\trm -f x\n").is_none());
    }
}
