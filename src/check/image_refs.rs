//! Image references, image tags and variable names must be what Docker
//! accepts, or `check` passes a file that export or the Engine rejects
//! after the whole build.
//!
//! References follow the grammar of distribution/reference (the one the
//! Engine parses `FROM`, `COPY --from` and `docker build -t` with):
//! `[host[:port]/]path[:tag][@algo:hex]`, the path lower-case components
//! (`[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`) separated by
//! `/`, the tag `[\w][\w.-]{0,127}`, the name at most 255 characters. A
//! reference with `${VAR}`s is checked after expansion when every variable
//! has a known value (a global arg's default, for `from`); otherwise only
//! the text around the variables is checked, for characters no reference
//! can hold.

use super::codes;
use crate::config::Located;
use crate::config::model::{ArgDecl, Base, CopyFrom, Project, StepKind, TargetKind};
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Span;

/// Why `reference` is not an image reference Docker accepts, if it is not.
/// `digest` says whether `@algo:hex` may follow (not in a tag to set).
pub fn reference_problem(reference: &str, digest: bool) -> Option<String> {
    if reference.is_empty() {
        return Some("it is empty".into());
    }
    if let Some(c) = reference.chars().find(|c| c.is_whitespace()) {
        return Some(format!("it holds whitespace ({})", char_name(c)));
    }
    let (rest, digest_part) = match reference.split_once('@') {
        Some((rest, d)) => (rest, Some(d)),
        None => (reference, None),
    };
    if let Some(d) = digest_part {
        if !digest {
            return Some("a tag to set cannot hold a digest (`@…`)".into());
        }
        if !is_digest(d) {
            return Some(format!(
                "`{d}` is not a digest (`algorithm:hex`, e.g. `sha256:` and 64 hex digits)"
            ));
        }
    }
    // The tag is after the last `:` that follows the last `/`.
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag
        && !is_tag(tag)
    {
        return Some(if tag.is_empty() {
            "the tag after `:` is empty".into()
        } else {
            format!(
                "`{tag}` is not a tag: up to 128 letters, digits, `_`, `.`, `-`, not starting with `.` or `-`"
            )
        });
    }
    if name.len() > 255 {
        return Some("the name is longer than 255 characters".into());
    }
    let (domain, path) = split_domain(name);
    if let Some(domain) = domain
        && !is_domain(domain)
    {
        return Some(format!("`{domain}` is not a registry host (`host[:port]`)"));
    }
    if path.is_empty() {
        return Some("the name is empty".into());
    }
    for component in path.split('/') {
        if component.chars().any(|c| c.is_ascii_uppercase()) {
            return Some("image names are lower-case".into());
        }
        if !is_path_component(component) {
            return Some(if component.is_empty() {
                "a `/` without a name component on one side".into()
            } else if component.contains(':') {
                format!("`{component}` has a `:` where none belongs (one `:` before the tag)")
            } else {
                format!(
                    "`{component}` is not a name component: lower-case letters and digits, joined by `.`, `_`, `__` or `-`"
                )
            });
        }
    }
    None
}

/// Docker's split (normalize.go): the first component is a registry when
/// it has a `.` or `:`, is `localhost`, or has an upper-case letter.
fn split_domain(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn is_domain(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.contains(']') => (host, Some(port)),
        _ => (domain, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
    }
    !host.is_empty()
        && host.split('.').all(|part| {
            let bytes = part.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-'
        })
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[\w][\w.-]{0,127}`.
pub fn is_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`.
fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['-', '_', '+', '.']).all(|part| {
        part.starts_with(|c: char| c.is_ascii_alphabetic())
            && part.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn char_name(c: char) -> String {
    if c == ' ' {
        "a space".into()
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

/// A close valid spelling, for the help line: lower case, one `:`, words
/// joined by `:` (`alpine latest` → `alpine:latest`).
fn suggest(reference: &str, digest: bool) -> Option<String> {
    let words: Vec<&str> = reference
        .split(char::is_whitespace)
        .filter(|w| !w.is_empty())
        .collect();
    let mut text = words.join(":");
    while text.contains("::") {
        text = text.replace("::", ":");
    }
    let text = text.trim_matches(':');
    let (name, rest) = match text.find([':', '@']) {
        Some(i) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    let candidate = format!("{}{rest}", name.to_lowercase());
    (candidate != reference && reference_problem(&candidate, digest).is_none()).then_some(candidate)
}

/// Characters no image reference holds, outside its variables.
fn impossible_char(skeleton: &str) -> Option<char> {
    skeleton
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-/:@[]".contains(*c)))
}

/// `text` expanded with `known` values; `None` when some variable has none.
fn expand_known(text: &str, known: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let unknown = std::cell::Cell::new(false);
    let expanded = crate::config::expand::expand(text, &|name| {
        let value = known(name);
        if value.is_none() {
            unknown.set(true);
        }
        value
    });
    (!unknown.get()).then_some(expanded)
}

/// A character no reference can hold, in the text a reference keeps
/// whether its variables are set (`${A:+alt}` gives `alt`) or not
/// (`${A:-default}` gives `default`), or whitespace anywhere: a Dockerfile
/// splits `FROM ${REGISTRY:-Bad Host}/x` into two words, and `${ }` names
/// no variable. A quote anywhere, inside a variable's braces too: BuildKit
/// removes quotes from the word (and import with it), so `${'}` would come
/// back as `${}`.
fn impossible_char_anywhere(text: &str) -> Option<char> {
    if let Some(c) = text
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '\'' | '"'))
    {
        return Some(c);
    }
    let set = crate::config::expand::expand(text, &|_| Some("x".to_owned()));
    let unset = crate::config::expand::expand(text, &|_| None);
    impossible_char(&set).or_else(|| impossible_char(&unset))
}

fn reference_diagnostic(
    what: &str,
    text: &str,
    expanded: Option<&str>,
    span: Span,
    digest: bool,
) -> Option<Diagnostic> {
    let has_variables = text.contains('$');
    let problem = match expanded {
        Some(value) => reference_problem(value, digest),
        None => impossible_char_anywhere(text)
            .map(|c| format!("it holds {}, which no image reference can", quoted_char(c))),
    }?;
    let shown = match expanded {
        Some(value) if has_variables => format!("`{text}` (by default `{value}`)"),
        _ => format!("`{text}`"),
    };
    let help = match suggest(text, digest).filter(|_| !has_variables) {
        Some(close) if problem == "image names are lower-case" => {
            format!("image names are lower-case: did you mean `{close}`?")
        }
        Some(close) => format!("did you mean `{close}`?"),
        None => "write `[host[:port]/]name[:tag][@sha256:…]`: lower-case name components (letters, digits, `.`, `_`, `-`) separated by `/`".to_owned(),
    };
    Some(
        Diagnostic::error(
            codes::INVALID_IMAGE_REFERENCE,
            format!("{shown} is not a valid {what}: {problem}"),
        )
        .with_label(Label::primary(span, problem))
        .with_help(help),
    )
}

fn quoted_char(c: char) -> String {
    if c.is_whitespace() || c.is_control() {
        char_name(c)
    } else {
        format!("`{c}`")
    }
}

/// Why `name` cannot be an ARG or ENV name in a Dockerfile, if it cannot.
pub fn variable_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.starts_with('-') {
        return Some("it starts with `-`, so a Dockerfile reads it as a flag".into());
    }
    name.chars()
        .find(|c| c.is_whitespace() || c.is_control() || "=\"'`\\$".contains(*c))
        .map(|c| format!("it holds {}", quoted_char(c)))
}

fn variable_name_diagnostic(name: &Located<String>, what: &str) -> Option<Diagnostic> {
    let problem = variable_name_problem(&name.value)?;
    let suggestion: String = name
        .value
        .trim_start_matches('-')
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let help = if suggestion.is_empty() || suggestion == name.value {
        "name it with letters, digits and `_`".to_owned()
    } else {
        format!("name it with letters, digits and `_`, e.g. `{suggestion}`")
    };
    Some(
        Diagnostic::error(
            codes::INVALID_VARIABLE_NAME,
            format!("`{}` is not a valid {what} name: {problem}", name.value),
        )
        .with_label(Label::primary(name.span, problem))
        .with_help(help),
    )
}

/// A global arg's value when nothing overrides it: its default, itself
/// expanded with the args before it, as Docker does; `None` when unknown
/// (no default, an undeclared or predefined arg, or nested too deep).
/// A name declared again takes the value of its last declaration, whose
/// default sees the declarations before it.
fn global_value(project: &Project, name: &str, depth: usize) -> Option<String> {
    global_value_before(project, name, project.args.len(), depth)
}

fn global_value_before(
    project: &Project,
    name: &str,
    before: usize,
    depth: usize,
) -> Option<String> {
    const MAX_DEPTH: usize = 16;
    if depth > MAX_DEPTH {
        return None;
    }
    let position = project.args[..before]
        .iter()
        .rposition(|a| a.name.value == name)?;
    let default = project.args[position].default.as_deref()?;
    let earlier = &project.args[..position];
    expand_known(default, &|inner| {
        if earlier.iter().any(|a| a.name.value == inner) {
            global_value_before(project, inner, position, depth + 1)
        } else {
            None
        }
    })
}

pub(super) fn check_image_refs(project: &Project) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let global_default = |name: &str| global_value(project, name, 0);
    let decls = |decls: &[ArgDecl], out: &mut Vec<Diagnostic>| {
        out.extend(
            decls
                .iter()
                .filter_map(|d| variable_name_diagnostic(&d.name, "build argument")),
        );
    };
    decls(&project.args, &mut out);
    for stage in &project.stages {
        if let Base::Image(image) = &stage.from.value
            && image != "scratch"
        {
            let expanded = expand_known(image, &global_default);
            out.extend(reference_diagnostic(
                "image reference",
                image,
                expanded.as_deref(),
                stage.from.span,
                true,
            ));
        }
        decls(&stage.args, &mut out);
        out.extend(
            stage
                .env
                .iter()
                .filter_map(|(k, _)| variable_name_diagnostic(k, "variable")),
        );
        for step in &stage.steps {
            match &step.kind {
                StepKind::Copy(copy) => {
                    if let Some(CopyFrom::Image(image)) = &copy.from {
                        let expanded = expand_known(&image.value, &|_| None);
                        out.extend(reference_diagnostic(
                            "image reference",
                            &image.value,
                            expanded.as_deref(),
                            image.span,
                            true,
                        ));
                    }
                }
                StepKind::Run(run) => {
                    for mount in &run.mounts {
                        if let Some(from) = &mount.value.from
                            && project.stage(&from.value).is_none()
                        {
                            let expanded = expand_known(&from.value, &|_| None);
                            out.extend(reference_diagnostic(
                                "image reference",
                                &from.value,
                                expanded.as_deref(),
                                from.span,
                                true,
                            ));
                        }
                    }
                }
                StepKind::Arg(list) => decls(list, &mut out),
                StepKind::Env(pairs) => {
                    out.extend(
                        pairs
                            .iter()
                            .filter_map(|(k, _)| variable_name_diagnostic(k, "variable")),
                    );
                }
                _ => {}
            }
        }
    }
    for target in &project.targets {
        if let TargetKind::Image { tags, .. } = &target.kind {
            for tag in tags {
                let expanded = expand_known(&tag.value, &|_| None);
                out.extend(reference_diagnostic(
                    "image tag",
                    &tag.value,
                    expanded.as_deref(),
                    tag.span,
                    false,
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_references() {
        for ok in [
            "alpine",
            "alpine:3.20",
            "library/alpine:latest",
            "docker.io/library/alpine",
            "localhost:5000/a/b:c",
            "Registry.Example.com/team/app",
            "[::1]:5000/app:v1",
            "a__b/c--d.e_f:T_1.0-x",
            "alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "busybox:stages-test",
        ] {
            assert_eq!(reference_problem(ok, true), None, "{ok}");
        }
        for bad in [
            "alpine latest",
            "alpine\u{a0}latest",
            "Alpine::3.20::",
            "Newcomer-Hello:dev",
            "a b",
            "'''assets",
            "alpine:",
            "alpine:-x",
            ":tag",
            "a//b",
            "a/",
            "-a",
            "a___b",
            "host:port/x",
            "alpine@sha256:abc",
            "",
        ] {
            assert!(reference_problem(bad, true).is_some(), "{bad}");
        }
        assert!(
            reference_problem("app:1@sha256:0123456789abcdef0123456789abcdef", false).is_some()
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("alpine latest", true).as_deref(),
            Some("alpine:latest")
        );
        assert_eq!(
            suggest("Newcomer-Hello:dev", false).as_deref(),
            Some("newcomer-hello:dev")
        );
        assert_eq!(
            suggest("Alpine::3.20::", true).as_deref(),
            Some("alpine:3.20")
        );
    }

    #[test]
    fn variable_names() {
        for ok in ["A", "http_proxy", "a.b", "é"] {
            assert_eq!(variable_name_problem(ok), None, "{ok}");
        }
        for bad in ["", "--build-arg", "-x", "a b", "a=b", "a\"b", "a$b"] {
            assert!(variable_name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn references_with_variables() {
        let known = |name: &str| (name == "TAG").then(|| "3.20".to_owned());
        assert_eq!(
            expand_known("alpine:${TAG}", &known).as_deref(),
            Some("alpine:3.20")
        );
        assert_eq!(expand_known("alpine:${OTHER}", &known), None);
        assert_eq!(impossible_char_anywhere("${REGISTRY}/app:${TAG}"), None);
        assert_eq!(impossible_char_anywhere("${REGISTRY:-docker.io}/app"), None);
        assert_eq!(impossible_char_anywhere("${REGISTRY} app"), Some(' '));
        assert_eq!(
            impossible_char_anywhere("${REGISTRY:-Bad Host}/x"),
            Some(' ')
        );
        assert_eq!(impossible_char_anywhere("${REGISTRY:-a%b}/x"), Some('%'));
        assert_eq!(impossible_char_anywhere("x${TAG:+!}"), Some('!'));
        assert_eq!(impossible_char_anywhere("${\u{3000}}"), Some('\u{3000}'));
        // Quotes vanish from the expansion, but BuildKit's reading of the
        // word removes them: `${'}` would come back as `${}`.
        assert_eq!(impossible_char_anywhere("${'}"), Some('\''));
        assert_eq!(impossible_char_anywhere("${A:-\"x\"}"), Some('"'));
    }
}
