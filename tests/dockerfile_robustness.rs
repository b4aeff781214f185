//! No input makes the Dockerfile layer panic: arbitrary text, arbitrary
//! bytes, and corpus files with random edits all go through parse, dump,
//! typed stages, graph checks, outline and print.

mod corpus;

use proptest::prelude::*;
use stages::dockerfile;

/// Runs every stage of the layer on `text`; only a panic can fail this.
fn exercise(text: &str) {
    let Ok(file) = dockerfile::parse(text) else {
        return;
    };
    let _ = dockerfile::dump(&file);
    let Ok(program) = dockerfile::parse_program(&file, text) else {
        return;
    };
    let _ = program.check_graph();
    let target = program.stages.iter().position(|s| s.name().is_some());
    let _ = dockerfile::outline::outline(&program, target).to_text();
    let printed = dockerfile::print(&program);
    // What the printer prints must read back as the same instructions.
    let again = dockerfile::parse(&printed);
    assert!(again.is_ok(), "printed text does not parse:\n{printed}");
    if let Ok(again) = again {
        assert_eq!(
            dockerfile::dump(&again),
            dockerfile::dump(&file),
            "input {text:?}\nprinted {printed:?}"
        );
    }
}

/// Dockerfile-flavoured fragments, so random text reaches deep paths.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("FROM ".to_string()),
        Just("RUN ".to_string()),
        Just("COPY ".to_string()),
        Just("ONBUILD ".to_string()),
        Just("ENV ".to_string()),
        Just("HEALTHCHECK ".to_string()),
        Just("--mount=".to_string()),
        Just("--from=".to_string()),
        Just("<<EOF".to_string()),
        Just("<<-\"EOF\"".to_string()),
        Just("EOF".to_string()),
        Just("\\\n".to_string()),
        Just("`\n".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("# escape=`\n".to_string()),
        Just("[\"a\", ".to_string()),
        Just(" AS ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("=".to_string()),
        Just("&&".to_string()),
        "[ -~]{0,8}",
        any::<char>().prop_map(String::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_do_not_panic(text in "\\PC{0,200}") {
        exercise(&text);
    }

    #[test]
    fn arbitrary_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn dockerfile_like_text_does_not_panic(parts in proptest::collection::vec(fragment(), 0..40)) {
        exercise(&parts.concat());
    }
}

/// Corpus files with random insertions, deletions and replacements.
#[test]
fn mutated_corpus_files_do_not_panic() {
    let cases = corpus::cases("real");
    if cases.is_empty() {
        return;
    }
    let inserts = [
        "\\\n",
        "\n",
        "<<EOF\n",
        "EOF\n",
        "\"",
        "--mount=from=$x ",
        "ONBUILD ",
        "# escape=`\n",
        "[",
        "\u{feff}",
        "`",
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        ..ProptestConfig::default()
    });
    let strategy = (0..cases.len(), any::<u64>(), 0..inserts.len(), 0u8..3);
    let result = runner.run(&strategy, |(which, at, insert, op)| {
        let text = &cases[which].text;
        let mut at = (at % (text.len() as u64 + 1)) as usize;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mut mutated = text[..at].to_string();
        match op {
            0 => {
                mutated.push_str(inserts[insert]);
                mutated.push_str(&text[at..]);
            }
            1 => {
                let mut rest = text[at..].chars();
                rest.next();
                mutated.push_str(rest.as_str());
            }
            _ => {
                mutated.push_str(inserts[insert]);
                let mut rest = text[at..].chars();
                rest.next();
                mutated.push_str(rest.as_str());
            }
        }
        exercise(&mutated);
        Ok(())
    });
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn deep_onbuild_nesting_is_refused_not_overflowing() {
    let text = format!("FROM a\n{}RUN x\n", "ONBUILD ".repeat(10_000));
    assert!(dockerfile::parse(&text).is_err());
}

#[test]
fn many_chained_stages_do_not_overflow() {
    let mut text = String::from("FROM scratch AS s0\n");
    for i in 1..20_000 {
        text.push_str(&format!("FROM s{} AS s{i}\n", i - 1));
    }
    text.push_str("COPY --from=s19999 /a /b\n");
    let program = dockerfile::read(&text).expect("valid file");
    let diags = program.check_graph();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].code, dockerfile::codes::CIRCULAR_DEPENDENCY);
}
