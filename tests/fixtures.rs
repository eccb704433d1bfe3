//! The annotated fixture corpus: every file in tests/fixtures is checked by the real binary, and
//! its findings must equal the `# expect: API KIND [degraded]` annotations, line by line. A line
//! without an annotation must have no finding, so false positives fail as loudly as misses.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expected {
    cell: Option<u64>,
    line: u64,
    api: String,
    kind: String,
    degraded: bool,
    /// How far outside data reaches it (`remote`, `local-file`, `unknown`), and the line its
    /// flow starts on: checked for the flow fixtures (`flow_*.py`) only.
    reach: Option<String>,
    from: Option<u64>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Parses `# expect: dill.loads call; dill.load reference degraded` annotations from one line;
/// in a flow fixture, `dill.loads call remote from=12` (the reach and the line the flow starts
/// on; a finding without them is `unknown`, with no flow).
fn parse_line(cell: Option<u64>, line: u64, text: &str, flows: bool, out: &mut Vec<Expected>) {
    let Some((_, spec)) = text.split_once("# expect:") else {
        return;
    };
    for item in spec.split(';') {
        let words: Vec<&str> = item.split_whitespace().collect();
        assert!(words.len() >= 2, "bad annotation on line {line}: {text}");
        let mut expected = Expected {
            cell,
            line,
            api: words[0].to_string(),
            kind: words[1].to_string(),
            degraded: false,
            reach: flows.then(|| "unknown".to_string()),
            from: None,
        };
        for word in &words[2..] {
            match *word {
                "degraded" => expected.degraded = true,
                // A claim wider than what running it shows (see tests/cpython_semantics.rs).
                "conservative" if flows => {}
                "remote" | "local-file" | "unknown" if flows => {
                    expected.reach = Some(word.to_string())
                }
                _ => match word.strip_prefix("from=") {
                    Some(n) if flows => expected.from = Some(n.parse().unwrap()),
                    _ => panic!("bad annotation on line {line}: {text}"),
                },
            }
        }
        out.push(expected);
    }
}

/// Whether a fixture pins where the data of each finding comes from.
fn pins_flows(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("flow_"))
}

fn expectations(path: &Path) -> Vec<Expected> {
    let bytes = std::fs::read(path).unwrap();
    let flows = pins_flows(path);
    let mut out = Vec::new();
    if path.extension().is_some_and(|e| e == "ipynb") {
        let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for (i, cell) in doc["cells"].as_array().unwrap().iter().enumerate() {
            if cell["cell_type"] != "code" {
                continue;
            }
            let source = match &cell["source"] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(parts) => {
                    parts.iter().map(|p| p.as_str().unwrap()).collect()
                }
                _ => unreachable!(),
            };
            for (n, text) in source.lines().enumerate() {
                parse_line(Some(i as u64 + 1), n as u64 + 1, text, flows, &mut out);
            }
        }
    } else {
        for (n, text) in String::from_utf8_lossy(&bytes).lines().enumerate() {
            parse_line(None, n as u64 + 1, text, flows, &mut out);
        }
    }
    out.sort();
    out
}

fn run_json(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_dill-guard"))
        .args(["--format", "json"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap(), json)
}

fn found(json: &serde_json::Value, flows: bool) -> Vec<Expected> {
    let mut out: Vec<Expected> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Expected {
            cell: f["cell"].as_u64(),
            line: f["line"].as_u64().unwrap(),
            api: f["api"].as_str().unwrap().to_string(),
            kind: f["kind"].as_str().unwrap().to_string(),
            degraded: f["degraded"].as_bool().unwrap(),
            reach: flows.then(|| f["reachable"].as_str().unwrap().to_string()),
            from: if flows {
                f["flow"][0]["line"].as_u64()
            } else {
                None
            },
        })
        .collect();
    out.sort();
    out
}

fn check_fixture(name: &str) {
    let dir = fixtures_dir();
    let expected = expectations(&dir.join(name));
    let (code, json) = run_json(&dir, &[name]);
    assert_eq!(
        found(&json, pins_flows(&dir.join(name))),
        expected,
        "findings of {name}"
    );
    assert_eq!(json["files_checked"], 1, "{name} was not checked as Python");
    assert_eq!(json["errors"], serde_json::json!([]), "{name}");
    assert_eq!(
        code,
        if expected.is_empty() { 0 } else { 1 },
        "exit status for {name}"
    );
}

macro_rules! fixture_tests {
    ($($test:ident => $file:literal,)*) => {
        $(#[test] fn $test() { check_fixture($file); })*

        /// Every fixture on disk has a test above, so none is silently left out.
        #[test]
        fn every_fixture_is_tested() {
            let listed = [$($file),*];
            for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                assert!(listed.contains(&name.as_str()), "fixture {name} has no test");
            }
        }
    };
}

fixture_tests! {
    import_forms => "imports.py",
    libraries_that_load_with_dill => "libraries.py",
    star_import => "star_import.py",
    every_sink => "sinks.py",
    shadowing_is_not_dill => "shadowing.py",
    rebinding_and_scopes => "rebinding.py",
    strings_comments_docstrings => "strings_comments.py",
    dynamic_imports => "dynamic.py",
    unparsable_file_is_scanned_degraded => "python2_degraded.py",
    notebook_cells => "notebook.ipynb",
    notebook_json_escapes => "notebook_escapes.ipynb",
    shebang_script => "run_session",
    stub_annotations => "stub.pyi",
    references => "references.py",
    aliases => "aliases.py",
    scopes_classes_comprehensions_match => "scopes.py",
    python_312_and_313_syntax_is_analysed => "modern_syntax.py",
    python_314_syntax_is_analysed => "python314.py",
    annotations_run => "annotations.py",
    writes_from_inside_functions => "outer_writes.py",
    reexports_in_all => "reexport.py",
    unpacking_assignments => "unpacking.py",
    parameter_defaults => "defaults.py",
    fstring_fields_are_scanned_as_code => "syntax_error_fstrings.py",
    syntax_error_is_scanned_degraded => "syntax_error.py",
    utf8_bom_and_crlf => "bom_crlf.py",
    pep263_latin1 => "latin1.py",
    metadata_reads_and_match_patterns => "precision.py",
    dynamic_imports_spelled_by_escapes => "dynamic_escapes.py",
    dill_as_a_value => "values.py",
    a_name_that_may_be_dill_is_dill => "may_be_dill.py",
    class_scopes_and_relative_imports => "class_scopes_and_relative_imports.py",
    a_later_star_import_shadows => "star_shadow.py",
    dill_handed_to_a_loader => "handover.py",
    disguised_names_and_routes => "disguises.py",
    names_built_without_the_word => "disguises_unnamed.py",
    flows_from_web_requests => "flow_web.py",
    flows_from_sockets_streams_and_http_clients => "flow_network.py",
    flows_from_queues_and_stores => "flow_stores.py",
    flows_from_files_and_downloads => "flow_files.py",
    flows_followed_conservatively => "flow_conservative.py",
}

/// `torch.load(f, pickle_module=dill)` is found from the code alone (no torch here), reported
/// as the module handed over, with the API it reaches and guidance for checkpoints.
#[test]
fn a_handover_says_where_dill_goes() {
    let (code, json) = run_json(&fixtures_dir(), &["handover.py"]);
    assert_eq!(code, 1);
    let first = &json["findings"][0];
    assert_eq!(first["kind"], "module");
    assert_eq!(first["api"], "dill.Unpickler");
    assert_eq!(first["via"], "torch.load(pickle_module=)");
    assert!(first["message"]
        .as_str()
        .unwrap()
        .starts_with("the dill module is handed to `torch.load(pickle_module=)`"));
    let human = Command::new(env!("CARGO_BIN_EXE_dill-guard"))
        .args(["--color", "never", "handover.py"])
        .current_dir(fixtures_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("weights_only=True"), "{text}");
    assert!(
        text.contains("`dill.Unpickler` reached by handing over the dill module"),
        "{text}"
    );
    // Code in a string is said to be in a string.
    let (_, json) = run_json(&fixtures_dir(), &["disguises.py"]);
    let embedded: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["via"] == "exec")
        .collect();
    assert_eq!(embedded.len(), 5, "{json}");
    assert!(embedded[0]["message"]
        .as_str()
        .unwrap()
        .ends_with("(in a string of code given to `exec`)"));
    // Inside a plain literal the finding points at the code in it.
    assert_eq!(embedded[0]["column"], 7);
}

#[test]
fn degraded_files_are_announced() {
    let (_, json) = run_json(&fixtures_dir(), &["python2_degraded.py"]);
    let warnings = json["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| {
            let message = w["message"].as_str().unwrap();
            message.contains("degraded")
                && message.contains("it is Python 2 (line 4: a `print` statement)")
        }),
        "{warnings:?}"
    );
}

#[test]
fn newer_syntax_is_not_degraded() {
    let (_, json) = run_json(
        &fixtures_dir(),
        &["modern_syntax.py", "python314.py", "annotations.py"],
    );
    assert_eq!(json["warnings"].as_array().unwrap().len(), 0, "{json}");
    assert_eq!(json["files_checked"], 3);
}

#[test]
fn whole_corpus_in_one_run() {
    let dir = fixtures_dir();
    let (code, json) = run_json(&dir, &["."]);
    assert_eq!(code, 1);
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(json["files_checked"].as_u64().unwrap() as usize, files);
    let total: usize = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| expectations(&e.unwrap().path()).len())
        .sum();
    assert_eq!(json["findings"].as_array().unwrap().len(), total);
}

#[test]
fn sarif_points_into_the_notebook_file() {
    let dir = fixtures_dir();
    let output = Command::new(env!("CARGO_BIN_EXE_dill-guard"))
        .args(["--format", "sarif", "notebook.ipynb"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let file = std::fs::read_to_string(dir.join("notebook.ipynb")).unwrap();
    let lines: Vec<&str> = file.lines().collect();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        let region = &result["locations"][0]["physicalLocation"]["region"];
        let line = region["startLine"].as_u64().unwrap() as usize;
        let code = region["snippet"]["text"].as_str().unwrap().trim();
        // The JSON line holds the cell's line of code as a string.
        assert!(
            lines[line - 1].contains(code),
            "line {line}: {}",
            lines[line - 1]
        );
        assert!(region.get("startColumn").is_none());
        let props = &result["properties"];
        assert_eq!(props["cellLine"], 2);
        assert!(props["cell"].as_u64().is_some());
    }
}
