//! A sink call is found however it is laid out: thousands of generated variants of
//! `x = dill.loads(payload)` with arbitrary whitespace, comments and newlines inside brackets,
//! backslash continuations, and extra parentheses around the call, the callee and the module.
//! Each variant is valid Python; each must parse (not degrade) and give exactly one call.

/// A small deterministic generator (xorshift), so every run checks the same variants and a
/// failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Filler between two tokens: inside brackets anything goes, outside only spaces and
/// backslash continuations.
fn gap(rng: &mut Rng, inside_brackets: bool) -> &'static str {
    const INSIDE: [&str; 8] = [
        "",
        " ",
        "\t",
        "\n",
        "  # a comment\n",
        " \\\n",
        "\n\n    ",
        " \t ",
    ];
    const OUTSIDE: [&str; 3] = ["", " ", " \\\n  "];
    if inside_brackets {
        INSIDE[rng.below(INSIDE.len())]
    } else {
        OUTSIDE[rng.below(OUTSIDE.len())]
    }
}

fn variant(rng: &mut Rng) -> String {
    let outer = rng.below(3); // parentheses around the whole call
    let callee = rng.below(3); // around `dill.loads`
    let module = rng.below(3); // around `dill`
    let mut depth = 0usize;
    let mut out = String::from("import dill\n\nx =");
    let token = |out: &mut String, rng: &mut Rng, text: &str, depth: &mut usize| {
        out.push_str(gap(rng, *depth > 0));
        out.push_str(text);
        match text {
            "(" => *depth += 1,
            ")" => *depth -= 1,
            _ => {}
        }
    };
    out.push(' ');
    for _ in 0..outer {
        token(&mut out, rng, "(", &mut depth);
    }
    for _ in 0..callee {
        token(&mut out, rng, "(", &mut depth);
    }
    for _ in 0..module {
        token(&mut out, rng, "(", &mut depth);
    }
    token(&mut out, rng, "dill", &mut depth);
    for _ in 0..module {
        token(&mut out, rng, ")", &mut depth);
    }
    token(&mut out, rng, ".", &mut depth);
    token(&mut out, rng, "loads", &mut depth);
    for _ in 0..callee {
        token(&mut out, rng, ")", &mut depth);
    }
    token(&mut out, rng, "(", &mut depth);
    token(&mut out, rng, "payload", &mut depth);
    if rng.below(2) == 0 {
        token(&mut out, rng, ",", &mut depth);
    }
    token(&mut out, rng, ")", &mut depth);
    for _ in 0..outer {
        token(&mut out, rng, ")", &mut depth);
    }
    assert_eq!(depth, 0);
    out.push_str("\nprint(x)\n");
    out
}

#[test]
fn sink_calls_survive_any_layout() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..3_000 {
        let source = variant(&mut rng);
        let analysis = dill_guard::analyze::analyze(&[&source]);
        assert!(
            analysis.degraded.is_none(),
            "case {case} did not parse ({:?}):\n{source}",
            analysis.degraded
        );
        let hits: Vec<_> = analysis.hits.iter().map(|h| (h.sink.api, h.kind)).collect();
        assert_eq!(
            hits,
            [("dill.loads", dill_guard::UseKind::Call)],
            "case {case}:\n{source}"
        );
        let hit = &analysis.hits[0];
        assert!(
            source[hit.start..hit.end].contains("loads"),
            "case {case}:\n{source}"
        );
    }
}

#[test]
fn the_token_scanner_finds_them_too() {
    // The same layouts, made unparsable by a Python 2 statement, go through the degraded scan.
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for case in 0..1_000 {
        let source = variant(&mut rng) + "print 'python 2'\n";
        let analysis = dill_guard::analyze::analyze(&[&source]);
        assert!(analysis.degraded.is_some(), "case {case}");
        assert_eq!(analysis.hits.len(), 1, "case {case}:\n{source}");
        assert_eq!(analysis.hits[0].sink.api, "dill.loads", "case {case}");
    }
}
