//! The command line as users meet it: help, usage errors, colour decisions, the human rendering
//! and `explain`. Runs the built binary outside any repository.

use std::path::Path;
use std::process::Command;

const BAD: &str = "import dill\n\n\ndef restore(blob):\n    return dill.loads(blob)\n";

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dill-guard"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("FORCE_COLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn dir_with_bad_file() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), BAD).unwrap();
    dir
}

/// Replaces the elapsed time, the one part of the output that changes between runs.
fn without_time(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        match line.find(" ms —") {
            Some(end) => {
                let start = line[..end].rfind(", ").unwrap() + 2;
                out.push_str(&format!("{}[time]{}\n", &line[..start], &line[end + 3..]));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn human_output_reads_like_a_compiler_error() {
    let dir = dir_with_bad_file();
    let (code, stdout, _) = run(dir.path(), &["--color", "never", "app.py"], &[]);
    assert_eq!(code, 1);
    let expected = "\
error[PYTHON-LANG-SEC-046]: unsafe dill deserialization: `dill.loads` call
 --> app.py:5:12
  |
5 |     return dill.loads(blob)
  |            ^^^^^^^^^^^^^^^^ `dill.loads` rebuilds objects from bytes and runs any code the bytes carry
  |
  = help: exchange plain data as JSON (`json.loads`) or another format that cannot carry code
  = help: to ship work, send the name of a function from an allowed registry, not a pickled closure
  = help: for models, load weights with safetensors, ONNX, TorchScript or `torch.load(..., weights_only=True)`
  = help: if producer and consumer share a trust boundary, sign payloads with HMAC and verify (`hmac.compare_digest`) before loading
  = help: if this is a trusted internal pipeline, allow it with a reason: `# dill-guard: allow <reason>` on this line, or an `[[allow]]` entry in dill-guard.toml
  = note: CWE-502 (deserialization of untrusted data), OWASP A08:2021; run `dill-guard explain` for details

dill-guard: 1 file checked, 1 finding, 0 allowed, [time] — blocked
";
    assert_eq!(without_time(&stdout), expected);
}

#[test]
fn guidance_fits_the_api() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.py"),
        "import dill\ndill.load_session('s.pkl')\ndill.temp.load_source(f)\n",
    )
    .unwrap();
    let (_, stdout, _) = run(dir.path(), &["--color", "never", "s.py"], &[]);
    assert!(stdout.contains("never restore a session or module that came from outside"));
    assert!(stdout.contains("this executes Python source read back from a file"));
    assert!(!stdout.contains("exchange plain data as JSON"), "{stdout}");
}

#[test]
fn colour_follows_the_flag_and_the_environment() {
    let dir = dir_with_bad_file();
    let has_colour = |args: &[&str], env: &[(&str, &str)]| {
        let (_, stdout, _) = run(dir.path(), args, env);
        stdout.contains("\u{1b}[")
    };
    // stdout is a pipe here, so `auto` means no colour unless forced.
    assert!(!has_colour(&["app.py"], &[]));
    assert!(has_colour(&["--color", "always", "app.py"], &[]));
    assert!(!has_colour(
        &["--color", "never", "app.py"],
        &[("FORCE_COLOR", "1")]
    ));
    assert!(has_colour(&["app.py"], &[("FORCE_COLOR", "1")]));
    assert!(has_colour(&["app.py"], &[("CLICOLOR_FORCE", "1")]));
    assert!(!has_colour(&["app.py"], &[("FORCE_COLOR", "0")]));
    assert!(!has_colour(
        &["app.py"],
        &[("NO_COLOR", "1"), ("FORCE_COLOR", "1")]
    ));
    // JSON is never coloured.
    assert!(!has_colour(
        &["--format", "json", "--color", "always", "app.py"],
        &[]
    ));
}

#[test]
fn quiet_and_exit_zero() {
    let dir = dir_with_bad_file();
    let (code, stdout, _) = run(dir.path(), &["--quiet", "--color", "never", "app.py"], &[]);
    assert_eq!(code, 1);
    assert!(stdout.contains("error[PYTHON-LANG-SEC-046]"));
    assert!(!stdout.contains("file checked"), "{stdout}");
    let (code, stdout, _) = run(
        dir.path(),
        &["--exit-zero", "--color", "never", "app.py"],
        &[],
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("not blocking (--exit-zero)"), "{stdout}");
}

#[test]
fn usage_errors_exit_2_with_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--bogus"][..],
        &["--staged", "--all"],
        &["--format", "xml"],
        &["--all", "a.py"],
        &["explain", "NOT-A-RULE"],
    ] {
        let (code, stdout, stderr) = run(dir.path(), args, &[]);
        assert_eq!(code, 2, "{args:?}");
        assert!(stdout.is_empty(), "{args:?}");
        assert!(
            stderr.starts_with("dill-guard: error: "),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("Usage:"), "{args:?}");
        // A short reminder, not the whole help.
        assert!(stderr.lines().count() <= 8, "{args:?}: {stderr}");
        assert!(stderr.contains("dill-guard --help"), "{args:?}");
    }
}

#[test]
fn typos_get_a_suggestion_and_a_mistyped_command_is_no_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(dir.path(), &["instal"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("dill-guard: error: unknown command `instal`; did you mean `install`?"),
        "{stderr}"
    );
    let (code, _, stderr) = run(dir.path(), &["--stagde"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean `--staged`?"), "{stderr}");
    // A file that exists under that name is a file.
    std::fs::write(
        dir.path().join("instal"),
        "#!/usr/bin/env python3\nimport dill\ndill.loads(b)\n",
    )
    .unwrap();
    let (code, stdout, _) = run(dir.path(), &["instal"], &[]);
    assert_eq!(code, 1, "{stdout}");
}

#[test]
fn standard_input_is_checked_as_the_file_it_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let check = |input: &str, extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dill-guard"));
        cmd.current_dir(dir.path())
            .args(["-", "--stdin-filename", "pkg/loader.py", "--color", "never"])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, stdout) = check(BAD, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("pkg/loader.py:5:12"), "{stdout}");
    let (code, stdout) = check("import json\njson.loads(b)\n", &[]);
    assert_eq!(code, 0, "{stdout}");
    // A notebook by its name.
    let notebook =
        r#"{"cells": [{"cell_type": "code", "source": ["import dill\n", "dill.loads(b)\n"]}]}"#;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dill-guard"));
    let out = cmd
        .current_dir(dir.path())
        .args(["-", "--stdin-filename", "a.ipynb", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(notebook.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"][0]["cell"], 1);
    assert_eq!(json["findings"][0]["path"], "a.ipynb");
}

#[test]
fn help_version_and_explain_need_no_repository() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &["--help"], &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("--staged"));
    let (code, stdout, _) = run(dir.path(), &["--version"], &[]);
    assert_eq!(code, 0);
    // The version, and the commit of the checkout the binary was built from.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout);
    let expected = match head.trim() {
        "" => format!("dill-guard {}", env!("CARGO_PKG_VERSION")),
        head => format!(
            "dill-guard {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            &head[..12]
        ),
    };
    assert_eq!(stdout.trim(), expected);
    for args in [&["explain"][..], &["explain", "PYTHON-LANG-SEC-046"]] {
        let (code, stdout, _) = run(dir.path(), args, &[]);
        assert_eq!(code, 0);
        assert!(stdout.contains("CWE-502"));
        assert!(stdout.contains("weights_only=True"));
        assert!(stdout.contains("hmac.compare_digest"));
    }
}

#[test]
fn bad_input_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.ipynb"), "{\"cells\": [ {\"dill\": ").unwrap();
    std::fs::write(
        dir.path().join("latin.py"),
        b"# -*- coding: latin-1 -*-\nimport dill\ns = '\xe9'; dill.loads(s)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("junk.py"),
        b"import dill\n\xff\xfe dill.load(f)\n",
    )
    .unwrap();
    let (code, stdout, _) = run(dir.path(), &["--format", "json", "."], &[]);
    assert_eq!(code, 2);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["errors"][0]["path"], "broken.ipynb");
    let findings: Vec<(String, u64, u64)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            ("junk.py".to_string(), 2, 4),
            ("latin.py".to_string(), 3, 10)
        ]
    );
    // The invalid bytes are said, and since the parser rejects them too, so is degraded mode.
    let warnings: Vec<(&str, &str)> = json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["path"].as_str().unwrap(), w["message"].as_str().unwrap()))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|(path, _)| *path == "junk.py"));
    assert!(warnings[0].1.contains("not valid UTF-8"));
    assert!(warnings[1].1.contains("degraded mode"));
    assert_eq!(json["findings"][0]["degraded"], true);
    assert_eq!(json["findings"][1]["degraded"], false);
}

#[test]
fn path_mode_skips_environments_dependencies_and_build_outputs() {
    let dir = tempfile::tempdir().unwrap();
    for path in [
        "src/app.py",
        ".venv/lib/python3.12/site-packages/x.py",
        "venv/x.py",
        "node_modules/pkg/x.py",
        "build/lib/x.py",
        "dist/x.py",
        "pkg.egg-info/x.py",
        ".tox/py312/x.py",
        "__pypackages__/3.12/lib/x.py",
        "vendor/site-packages/x.py",
    ] {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, BAD).unwrap();
    }
    let (code, stdout, _) = run(dir.path(), &["--format", "concise", "."], &[]);
    assert_eq!(code, 1);
    let found: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("PYTHON-LANG"))
        .collect();
    assert_eq!(found.len(), 1, "{stdout}");
    assert!(found[0].starts_with("src/app.py:5:12"), "{stdout}");
    // Named on the command line, such a directory is checked.
    let (code, stdout, _) = run(dir.path(), &["--format", "concise", "build"], &[]);
    assert_eq!(code, 1, "{stdout}");
    // As in ruff: `extend-exclude` adds to the directories skipped by default...
    let config = dir.path().join("dill-guard.toml");
    std::fs::write(&config, "extend-exclude = [\"src/**\"]\n").unwrap();
    let (code, stdout, _) = run(dir.path(), &["--format", "concise", "."], &[]);
    assert_eq!(code, 0, "{stdout}");
    // ...and `exclude`, set, replaces them: `exclude = []` walks everything.
    std::fs::write(&config, "exclude = []\n").unwrap();
    let (code, stdout, _) = run(dir.path(), &["--format", "concise", "."], &[]);
    assert_eq!(code, 1);
    let found = stdout.lines().filter(|l| l.contains("PYTHON-LANG")).count();
    assert_eq!(found, 10, "{stdout}");
}
