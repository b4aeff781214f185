//! Reading `stages.lock`. A file that is not TOML, has keys the format does
//! not know, or holds values no `stages lock` writes (a digest cut short,
//! a reference that names no image, an entry written twice) gets
//! diagnostics pointing into the lock, as stages.toml's do: a lock edited
//! by hand or mangled by a merge is refused before anything is built.

use serde::Deserialize;
use toml::Spanned;

use super::codes;
use super::model::{Lock, LockedGit, LockedImage, LockedUrl, Resolution};
use super::render::VERSION;
use crate::diagnostics::{Diagnostic, Label, SourceFile};
use crate::engine::registry::reference::ImageRef;
use crate::located::Span;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLock {
    version: Spanned<i64>,
    #[serde(default)]
    image: Vec<Spanned<RawImage>>,
    #[serde(default)]
    url: Vec<Spanned<RawUrl>>,
    #[serde(default)]
    git: Vec<Spanned<RawGit>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawImage {
    reference: Spanned<String>,
    digest: Spanned<String>,
    #[serde(default)]
    platforms: Vec<Spanned<String>>,
    #[serde(default)]
    manifests: std::collections::BTreeMap<String, Spanned<String>>,
    resolved_from: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUrl {
    url: Spanned<String>,
    checksum: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGit {
    source: Spanned<String>,
    commit: Spanned<String>,
}

/// The lock in `file`, or every problem found in it.
pub fn parse_lock(file: &SourceFile) -> Result<Lock, Vec<Diagnostic>> {
    if let Err(error) = toml::from_str::<toml::Table>(&file.text) {
        let message = error.message().trim().to_owned();
        return Err(vec![
            Diagnostic::error(
                codes::SYNTAX,
                format!("stages.lock is not valid TOML: {message}"),
            )
            .with_label(Label::primary(span_of(file, &error), message))
            .with_help(REGENERATE),
        ]);
    }
    let raw = match toml::from_str::<RawLock>(&file.text) {
        Ok(raw) => raw,
        Err(error) => {
            let message = error.message().trim().to_owned();
            return Err(vec![
                Diagnostic::error(codes::SHAPE, format!("stages.lock: {message}"))
                    .with_label(Label::primary(
                        span_of(file, &error),
                        "not what a lock holds here",
                    ))
                    .with_help(REGENERATE),
            ]);
        }
    };
    let mut problems = Vec::new();
    if *raw.version.get_ref() != VERSION {
        problems.push(
            Diagnostic::error(
                codes::VERSION,
                format!(
                    "stages.lock has format version {}; this stages reads version {VERSION}",
                    raw.version.get_ref()
                ),
            )
            .with_label(Label::primary(span(&raw.version), "unknown version"))
            .with_help(REGENERATE),
        );
    }
    let mut lock = Lock::default();
    for entry in raw.image {
        let entry_span = span(&entry);
        let image = entry.into_inner();
        if ImageRef::parse(image.reference.get_ref()).is_none() {
            problems.push(bad(
                codes::REFERENCE,
                &image.reference,
                "not an image reference",
                "an image reference such as `alpine:3.20`",
            ));
        }
        check_digest(&image.digest, &mut problems);
        for digest in image.manifests.values() {
            check_digest(digest, &mut problems);
        }
        let resolution = Resolution::parse(image.resolved_from.get_ref()).unwrap_or_else(|| {
            problems.push(bad(
                codes::SOURCE,
                &image.resolved_from,
                "neither `registry` nor `engine`",
                "`registry` or `engine`",
            ));
            Resolution::Registry
        });
        if let Some(first) = lock.image(image.reference.get_ref()) {
            problems.push(duplicate("image", &image.reference, first.span));
        }
        lock.images.push(LockedImage {
            reference: image.reference.into_inner(),
            digest: image.digest.into_inner(),
            platforms: image
                .platforms
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            manifests: image
                .manifests
                .into_iter()
                .map(|(platform, digest)| (platform, digest.into_inner()))
                .collect(),
            resolution,
            span: entry_span,
        });
    }
    for entry in raw.url {
        let entry_span = span(&entry);
        let url = entry.into_inner();
        if !Lock::is_digest(url.checksum.get_ref()) {
            problems.push(bad(
                codes::CHECKSUM,
                &url.checksum,
                "not a sha256 checksum",
                "`sha256:` and 64 lower-case hex digits",
            ));
        }
        if let Some(first) = lock.url(url.url.get_ref()) {
            problems.push(duplicate("URL", &url.url, first.span));
        }
        lock.urls.push(LockedUrl {
            url: url.url.into_inner(),
            checksum: url.checksum.into_inner(),
            span: entry_span,
        });
    }
    for entry in raw.git {
        let entry_span = span(&entry);
        let git = entry.into_inner();
        if !Lock::is_commit(git.commit.get_ref()) {
            problems.push(bad(
                codes::COMMIT,
                &git.commit,
                "not a full commit hash",
                "the 40 lower-case hex digits of a commit",
            ));
        }
        if let Some(first) = lock.git(git.source.get_ref()) {
            problems.push(duplicate("git source", &git.source, first.span));
        }
        lock.git.push(LockedGit {
            source: git.source.into_inner(),
            commit: git.commit.into_inner(),
            span: entry_span,
        });
    }
    if problems.is_empty() {
        Ok(lock)
    } else {
        Err(problems)
    }
}

const REGENERATE: &str = "stages.lock is generated: run `stages lock --update` to write it again";

fn span<T>(value: &Spanned<T>) -> Span {
    let range = value.span();
    Span::new(range.start, range.end)
}

fn span_of(file: &SourceFile, error: &toml::de::Error) -> Span {
    let len = file.text.len();
    error.span().map_or(Span::new(0, 0), |range| {
        let start = range.start.min(len);
        Span::new(start, range.end.clamp(start, len))
    })
}

fn check_digest(digest: &Spanned<String>, problems: &mut Vec<Diagnostic>) {
    if !Lock::is_digest(digest.get_ref()) {
        problems.push(bad(
            codes::DIGEST,
            digest,
            "not a sha256 digest",
            "`sha256:` and 64 lower-case hex digits",
        ));
    }
}

fn bad(code: &'static str, value: &Spanned<String>, what: &str, wanted: &str) -> Diagnostic {
    Diagnostic::error(code, format!("`{}` is {what}", value.get_ref()))
        .with_label(Label::primary(span(value), what.to_owned()))
        .with_help(format!("a lock holds {wanted} here; {REGENERATE}"))
}

fn duplicate(what: &str, key: &Spanned<String>, first: Span) -> Diagnostic {
    Diagnostic::error(
        codes::DUPLICATE,
        format!("the {what} `{}` is locked twice", key.get_ref()),
    )
    .with_label(Label::primary(span(key), "locked again here"))
    .with_label(Label::secondary(first, "first locked here"))
    .with_help(REGENERATE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::render::render;

    const DIGEST_A: &str =
        "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const DIGEST_B: &str =
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn sample() -> Lock {
        Lock {
            images: vec![
                LockedImage {
                    reference: "reg.example:5000/team/base:v1".into(),
                    digest: DIGEST_B.into(),
                    platforms: vec!["linux/amd64".into(), "linux/arm64/v8".into()],
                    manifests: vec![
                        ("linux/amd64".into(), DIGEST_A.into()),
                        ("linux/arm64/v8".into(), DIGEST_B.into()),
                    ],
                    resolution: Resolution::Registry,
                    span: Span::default(),
                },
                LockedImage {
                    reference: "alpine:3.20".into(),
                    digest: DIGEST_A.into(),
                    platforms: Vec::new(),
                    manifests: Vec::new(),
                    resolution: Resolution::Engine,
                    span: Span::default(),
                },
            ],
            urls: vec![LockedUrl {
                url: "https://example.com/a \"quoted\" file.tar.gz".into(),
                checksum: DIGEST_A.into(),
                span: Span::default(),
            }],
            git: vec![LockedGit {
                source: "https://example.com/repo.git#v1".into(),
                commit: "0123456789abcdef0123456789abcdef01234567".into(),
                span: Span::default(),
            }],
        }
    }

    fn without_spans(mut lock: Lock) -> Lock {
        lock.images
            .iter_mut()
            .for_each(|i| i.span = Span::default());
        lock.urls.iter_mut().for_each(|u| u.span = Span::default());
        lock.git.iter_mut().for_each(|g| g.span = Span::default());
        lock
    }

    fn parse(text: &str) -> Result<Lock, Vec<Diagnostic>> {
        parse_lock(&SourceFile::new("stages.lock", text))
    }

    #[test]
    fn a_rendered_lock_reads_back_the_same_and_renders_the_same() {
        let text = render(&sample());
        assert!(text.starts_with(crate::lockfile::HEADER_FIRST_LINE));
        let read = without_spans(parse(&text).expect("a rendered lock parses"));
        let mut sorted = sample();
        sorted.sort();
        assert_eq!(read, sorted);
        assert_eq!(render(&read), text, "rendering is stable");
    }

    #[test]
    fn entries_are_written_in_a_stable_order() {
        let mut reversed = sample();
        reversed.images.reverse();
        assert_eq!(render(&reversed), render(&sample()));
        let text = render(&sample());
        let alpine = text.find("alpine:3.20").expect("alpine");
        let base = text.find("reg.example").expect("base");
        assert!(alpine < base, "{text}");
    }

    #[test]
    fn an_empty_lock_round_trips() {
        let text = render(&Lock::default());
        assert_eq!(
            without_spans(parse(&text).expect("parses")),
            Lock::default()
        );
    }

    #[test]
    fn a_hand_edited_digest_is_pointed_at() {
        let text = render(&sample()).replace(
            &format!("digest = \"{DIGEST_B}\""),
            "digest = \"sha256:0123\"",
        );
        let problems = parse(&text).expect_err("a short digest");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, codes::DIGEST);
        let span = problems[0].primary_span().expect("a span");
        assert_eq!(&text[span.start..span.end], "\"sha256:0123\"");
    }

    #[test]
    fn syntax_shape_and_duplicates_are_diagnosed_with_spans() {
        let syntax = parse("version = 1\n[[image]\n").expect_err("syntax");
        assert_eq!(syntax[0].code, codes::SYNTAX);
        let shape = parse("version = 1\n[[image]]\nreference = \"a:1\"\ndigets = \"x\"\n")
            .expect_err("unknown key");
        assert_eq!(shape[0].code, codes::SHAPE);
        let span = shape[0].primary_span().expect("a span");
        assert!(!span.is_empty());
        let version = parse("version = 7\n").expect_err("version");
        assert_eq!(version[0].code, codes::VERSION);
        let entry = format!(
            "\n[[image]]\nreference = \"a:1\"\ndigest = \"{DIGEST_A}\"\nresolved-from = \"registry\"\n"
        );
        let twice = parse(&format!("version = 1\n{entry}{entry}")).expect_err("duplicate");
        assert_eq!(twice[0].code, codes::DUPLICATE);
        assert_eq!(twice[0].labels.len(), 2);
    }

    #[test]
    fn every_cut_of_a_lock_is_read_or_refused_with_a_diagnostic_in_the_file() {
        let text = render(&sample());
        for end in (0..=text.len()).filter(|&end| text.is_char_boundary(end)) {
            let cut = &text[..end];
            if let Err(problems) = parse(cut) {
                assert!(!problems.is_empty());
                for problem in problems {
                    let span = problem.primary_span().expect("a span");
                    assert!(span.end <= cut.len(), "{cut:?}: {problem:?}");
                }
            }
        }
    }
}
