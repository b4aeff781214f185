//! `[project] builder`: a builder address written in stages.toml, which is
//! shared and committed, so it may hold no secret. The address is checked
//! as `--builder` checks it; credentials in it (`user:password@`, a query
//! or fragment that could carry a token) are refused on their span.

use super::codes;
use crate::config::Located;
use crate::diagnostics::{Diagnostic, Label};
use crate::engine::buildkit::remote::address::{TlsFiles, parse_address};

/// The address, if it can be used; else its error is reported.
pub(super) fn lower_builder(
    builder: Option<Located<String>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Located<String>> {
    let builder = builder?;
    match refusal(&builder.value) {
        None => Some(builder),
        Some((message, help)) => {
            diagnostics.push(
                Diagnostic::error(codes::BUILDER_ADDRESS, message)
                    .with_label(Label::primary(builder.span, "this builder"))
                    .with_help(help),
            );
            None
        }
    }
}

/// Why `text` cannot be a builder address in the file, and what to do.
fn refusal(text: &str) -> Option<(String, String)> {
    let rest = text.split_once("://").map_or("", |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') || rest.contains('?') || rest.contains('#') {
        return Some((
            format!("`[project] builder` holds credentials: `{}`", redacted(text)),
            "stages.toml is shared: give the address without `user:password@` or a query, and pass secrets with --builder-tls-cert/--builder-tls-key or `--builder` on the command line".to_owned(),
        ));
    }
    match parse_address(text, &TlsFiles::default()) {
        Ok(_) => None,
        Err(error) => Some((
            format!("`[project] builder`: {error}"),
            "write `builder = \"tcp://HOST:PORT\"`, `\"unix:///PATH\"` or `\"docker-container://NAME\"`".to_owned(),
        )),
    }
}

/// `text` with whatever precedes `@` hidden, so an error does not repeat
/// the secret.
fn redacted(text: &str) -> String {
    match (text.split_once("://"), text.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://…@{host}"),
        _ => match text.split_once('?') {
            Some((address, _)) => format!("{address}?…"),
            None => text.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_secrets_are_refused_without_repeating_them() {
        assert!(refusal("tcp://10.0.0.5:1234").is_none());
        assert!(refusal("unix:///run/buildkit/buildkitd.sock").is_none());
        let (message, _) = refusal("tcp://me:hunter2@10.0.0.5:1234").expect("refused");
        assert!(message.contains("holds credentials"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let (message, _) = refusal("tcp://10.0.0.5:1234?token=abc").expect("refused");
        assert!(!message.contains("abc"), "{message}");
        let (message, _) = refusal("ssh://host").expect("refused");
        assert!(message.contains("tcp://HOST:PORT"), "{message}");
    }
}
