//! Feeds arbitrary bytes to everything that reads untrusted file content: decoding, the
//! parser path and the token scanner of the analysis, comment directives, and the notebook
//! reader. Any panic, hang or abort is a bug: in a hook it would block every commit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn check(pieces: &[&str]) {
    let analysis = dill_guard::analyze::analyze(pieces);
    for hit in &analysis.hits {
        let text = pieces[hit.piece];
        // Every reported range must be a valid place in the text it came from.
        assert!(hit.start <= hit.end && hit.end <= text.len());
        assert!(text.is_char_boundary(hit.start) && text.is_char_boundary(hit.end));
        assert!(hit.stmt <= text.len() && text.is_char_boundary(hit.stmt));
    }
    for text in pieces {
        for (at, comment) in dill_guard::analyze::comments(text) {
            assert!(text.is_char_boundary(at));
            let _ = dill_guard::policy::directive(comment);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = dill_guard::python::decode(data) {
        check(&[&decoded.text]);
    }
    for kind in [dill_guard::python::Kind::Source, dill_guard::python::Kind::Notebook] {
        let _ = dill_guard::analyze::worth_analysing(data, kind);
    }
    if let Ok(cells) = dill_guard::python::notebook_cells(data) {
        let texts: Vec<&str> = cells.iter().map(|c| c.source.as_str()).collect();
        check(&texts);
    }
});
