//! Lowering checked against CPython's own parser. For every file of a CPython 3.12+ standard
//! library (its test suite included, where PEP 701 is exercised hardest) that CPython parses,
//! the lowered text must parse, and the names it reads must be exactly the names CPython reads,
//! at the same byte offsets: no code in an f-string field is lost to the blanks, and no text
//! becomes code. Ignored unless `DILL_GUARD_TEST_PYTHON312` names a CPython 3.12 or newer
//! (`.ci/run` sets it when one is installed).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// Prints, for each file under the standard library CPython parses, the names it reads as
/// `[id, byte offset]`; lines are counted as CPython counts them.
const NAMES: &str = r#"
import ast, json, os, re, sys, sysconfig, warnings
warnings.simplefilter("ignore")
root = sysconfig.get_paths()["stdlib"]
out = {}
for top, dirs, files in os.walk(root):
    dirs[:] = [d for d in dirs if d not in ("site-packages", "lib2to3", "__pycache__")]
    for name in files:
        if not name.endswith(".py"):
            continue
        path = os.path.join(top, name)
        data = open(path, "rb").read()
        if not re.search(rb"""[fFtT][rR]?['"]|[rR][fFtT]['"]|except|\[""", data):
            continue
        try:
            text = data.decode("utf-8")
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        starts, at = [0], 0
        for line in re.split(rb"(\r\n|\r|\n)", data):
            at += len(line)
            if line in (b"\r\n", b"\r", b"\n"):
                starts.append(at)
        names = sorted(
            [n.id, starts[n.lineno - 1] + n.col_offset]
            for n in ast.walk(tree) if isinstance(n, ast.Name))
        out[path] = names
json.dump(out, sys.stdout)
"#;

/// Every name node of a parsed module with its start, read from the tree's debug form (which
/// shows every node, where a hand-written walk could miss a kind).
fn names_read(module: &impl std::fmt::Debug) -> Vec<(String, usize)> {
    let tree = format!("{module:?}");
    let mut out = Vec::new();
    let marker = "Name(ExprName { range: ";
    for (at, _) in tree.match_indices(marker) {
        let rest = &tree[at + marker.len()..];
        let start: usize = rest[..rest.find("..").unwrap()].parse().unwrap();
        let id_at = rest.find("id: Identifier(\"").unwrap() + "id: Identifier(\"".len();
        let id = &rest[id_at..id_at + rest[id_at..].find('"').unwrap()];
        // Python compares identifiers in NFKC form, and so does CPython's tree.
        let id: String = unicode_normalization::UnicodeNormalization::nfkc(id).collect();
        out.push((id, start));
    }
    out.sort();
    out
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON312: a CPython 3.12 or newer (.ci/run sets it when one is installed)"]
fn lowering_keeps_every_name_cpython_reads() {
    let python = PathBuf::from(
        std::env::var_os("DILL_GUARD_TEST_PYTHON312")
            .expect("DILL_GUARD_TEST_PYTHON312 names a CPython 3.12 or newer"),
    );
    let output = Command::new(&python).args(["-c", NAMES]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected: BTreeMap<String, Vec<(String, usize)>> =
        serde_json::from_slice(&output.stdout).unwrap();
    assert!(expected.len() > 100, "too few files: {}", expected.len());
    let (mut lowered_files, mut yield_fields, mut failures) = (0, 0, Vec::new());
    for (path, names) in &expected {
        let text = std::fs::read_to_string(path).unwrap();
        let as_written = rustpython_parser::parse(&text, rustpython_parser::Mode::Module, path);
        let Some(lowered) = dill_guard::analyze::lower(&text) else {
            assert!(as_written.is_ok(), "{path}: rejected and nothing to lower");
            continue;
        };
        assert_eq!(lowered.len(), text.len(), "{path}: lowering moved bytes");
        if as_written.is_err() {
            lowered_files += 1;
        }
        match rustpython_parser::parse(&lowered, rustpython_parser::Mode::Module, path) {
            Ok(module) => {
                let seen = names_read(&module);
                if &seen != names {
                    let missing: Vec<_> =
                        names.iter().filter(|n| !seen.contains(n)).take(5).collect();
                    let extra: Vec<_> =
                        seen.iter().filter(|n| !names.contains(n)).take(5).collect();
                    failures.push(format!("{path}: missing {missing:?}, extra {extra:?}"));
                }
            }
            // A bare `yield` in a field (`f"{yield x}"`) has no place in a subscript: such a
            // file is checked by the token scanner, which reads the field as code.
            Err(err) if err.to_string().contains("unexpected token 'yield'") => yield_fields += 1,
            Err(err) => failures.push(format!("{path}: lowered text rejected: {err}")),
        }
    }
    eprintln!(
        "{} files CPython parses; {lowered_files} of them needed lowering; \
         {yield_fields} left to the scanner for a bare `yield` in an f-string field",
        expected.len()
    );
    assert!(
        yield_fields <= 2,
        "{yield_fields} files with `yield` in a field"
    );
    assert!(
        failures.is_empty(),
        "{} files differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
