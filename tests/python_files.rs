//! Every file Python runs is judged, in every mode (issue #26, class 3): scripts whose shebang
//! or launcher line runs Python whatever their name, sh/Python polyglots, `.wsgi`, upper-case
//! extensions, zipapps (by name, and after a shebang), `.pth` import lines, Cython. Each kind is
//! committed with a real `git` (the pre-commit hook blocks it), checked with `--staged`, `--all`
//! and as a path, and pushed to a bare server whose pre-receive hook refuses it. Each fixture
//! that says it runs `dill.loads` is first run under CPython (or the shell) with a dill that
//! records the call.
//!
//! `DILL_GUARD_TEST_BINARY` runs these tests against another build (an older one, to see which
//! of them it fails).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{git_command, text, Repo, Server};

/// Python that calls `dill.loads` when run (not only when imported and called).
const PAYLOAD: &str =
    "import dill\n\n\ndef restore(blob):\n    return dill.loads(blob)\n\n\nrestore(b'')\n";

/// A dill stand-in that records each call to `loads` in the file `DILL_RECORD` names.
const RECORDING_DILL: &str = "import os\n\n\ndef loads(*args, **kwargs):\n    with open(os.environ['DILL_RECORD'], 'a') as f:\n        f.write('loads\\n')\n";

fn binary() -> String {
    std::env::var("DILL_GUARD_TEST_BINARY").unwrap_or_else(|_| common::binary().to_string())
}

/// The binary run in `dir`, with git's clean environment.
fn run(dir: &Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut cmd = Command::new(binary());
    for (key, value) in git_command(dir).get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let out = cmd
        .current_dir(dir)
        .args(["--format", "json", "--color", "never"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    (out.status.code().unwrap(), json, stderr)
}

fn finding_paths(json: &serde_json::Value) -> Vec<String> {
    let mut paths: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

fn error_paths(json: &serde_json::Value) -> Vec<String> {
    json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect()
}

/// A file to put in a repository.
struct Fixture {
    path: &'static str,
    bytes: Vec<u8>,
    executable: bool,
}

fn file(path: &'static str, text: &str) -> Fixture {
    Fixture {
        path,
        bytes: text.as_bytes().to_vec(),
        executable: false,
    }
}

fn program(path: &'static str, text: &str) -> Fixture {
    Fixture {
        executable: true,
        ..file(path, text)
    }
}

fn put(dir: &Path, fixture: &Fixture) {
    let full = dir.join(fixture.path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(&full, &fixture.bytes).unwrap();
    let mode = if fixture.executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(&full, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A directory holding the recording dill, and the file it records into.
struct Recorder {
    _tmp: tempfile::TempDir,
    lib: PathBuf,
    record: PathBuf,
}

impl Recorder {
    fn new() -> Recorder {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("lib");
        std::fs::create_dir(&lib).unwrap();
        std::fs::write(lib.join("dill.py"), RECORDING_DILL).unwrap();
        let record = tmp.path().join("calls");
        Recorder {
            _tmp: tmp,
            lib,
            record,
        }
    }

    /// Runs `argv` in `dir` with the recording dill importable; returns how many times
    /// `dill.loads` was called.
    fn loads_called(&self, dir: &Path, argv: &[&str]) -> usize {
        let _ = std::fs::remove_file(&self.record);
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .current_dir(dir)
            .env("PYTHONPATH", &self.lib)
            .env("DILL_RECORD", &self.record)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            // uv, where it runs a script, must not reach for packages.
            .env("UV_OFFLINE", "1")
            .env("UV_PYTHON_DOWNLOADS", "never")
            .output()
            .unwrap_or_else(|e| panic!("{argv:?} could not run: {e}"));
        assert!(
            out.status.success(),
            "{argv:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == "loads")
            .count()
    }
}

/// Checks that CPython (or the shell, or another runner) run by `argv` in a directory holding
/// `fixtures` calls `dill.loads`.
fn assert_runs_dill_loads(fixtures: &[Fixture], argv: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    for fixture in fixtures {
        put(tmp.path(), fixture);
    }
    let recorder = Recorder::new();
    assert!(
        recorder.loads_called(tmp.path(), argv) > 0,
        "{argv:?} did not call dill.loads"
    );
}

/// Commits `fixtures` for real (the pre-commit hook must block it), then checks them with
/// `--staged`, `--all`, as paths on disk, `--range` and a push to a server: each must report a
/// finding in exactly the files `expected` names.
fn assert_judged_in_every_mode(fixtures: &[Fixture], expected: &[&str]) {
    let server = Server::new("");
    let repo = &server.client;
    let hooks = repo.dir.join(".git/hooks");
    common::write_hook(
        &hooks.join("pre-commit"),
        &format!("#!/bin/sh\nexec '{}' --staged --color never\n", binary()),
    );
    for fixture in fixtures {
        put(&repo.dir, fixture);
    }
    repo.git(&["add", "-A"]);
    let want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();

    let (code, json, stderr) = run(&repo.dir, &["--staged"]);
    assert_eq!(
        (code, finding_paths(&json)),
        (1, want.clone()),
        "--staged: {json}\n{stderr}"
    );

    let commit = repo.git_try(&["commit", "-q", "-m", "add"]);
    assert!(!commit.status.success(), "the hook let the commit through");
    assert!(text(&commit).contains(expected[0]), "{}", text(&commit));
    repo.git(&["commit", "-q", "--no-verify", "-m", "add"]);

    let (code, json, stderr) = run(&repo.dir, &["--all"]);
    assert_eq!(
        (code, finding_paths(&json)),
        (1, want.clone()),
        "--all: {json}\n{stderr}"
    );

    let (code, json, stderr) = run(&repo.dir, &["."]);
    assert_eq!(
        (code, finding_paths(&json)),
        (1, want.clone()),
        "paths: {json}\n{stderr}"
    );

    let (code, json, stderr) = run(&repo.dir, &["--range", "HEAD~1..HEAD"]);
    assert_eq!(
        (code, finding_paths(&json)),
        (1, want),
        "--range: {json}\n{stderr}"
    );

    let push = repo.git_try(&["push", "--no-verify", "origin", "main"]);
    assert!(!push.status.success(), "the server accepted the push");
    assert!(text(&push).contains(expected[0]), "{}", text(&push));
}

/// The same, for files that are errors (exit 2, naming `path`) in every mode.
fn assert_refused_in_every_mode(fixtures: &[Fixture], path: &str, why: &str) {
    let server = Server::new("");
    let repo = &server.client;
    for fixture in fixtures {
        put(&repo.dir, fixture);
    }
    repo.git(&["add", "-A"]);
    for args in [&["--staged"][..], &["."][..]] {
        let (code, json, stderr) = run(&repo.dir, args);
        assert_eq!(code, 2, "{args:?}: {json}\n{stderr}");
        assert_eq!(error_paths(&json), [path], "{args:?}: {json}");
        assert!(
            json["errors"][0]["message"].as_str().unwrap().contains(why),
            "{json}"
        );
    }
    repo.git(&["commit", "-q", "--no-verify", "-m", "add"]);
    for args in [&["--all"][..], &["--range", "HEAD~1..HEAD"][..]] {
        let (code, json, stderr) = run(&repo.dir, args);
        assert_eq!(code, 2, "{args:?}: {json}\n{stderr}");
        assert_eq!(error_paths(&json), [path], "{args:?}: {json}");
    }
    let push = repo.git_try(&["push", "--no-verify", "origin", "main"]);
    assert!(!push.status.success(), "the server accepted the push");
    assert!(text(&push).contains(path), "{}", text(&push));
}

fn python() -> &'static str {
    "python3"
}

/// `python3 -m zipapp` of a package whose module calls `dill.loads` when `__main__` imports
/// it, written to `out` in `dir` (with `shebang`, if any); returns the archive's bytes.
fn zipapp(shebang: Option<&str>) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("pkg")).unwrap();
    std::fs::write(src.join("__main__.py"), "import pkg.mod\n").unwrap();
    std::fs::write(src.join("pkg/__init__.py"), "").unwrap();
    std::fs::write(src.join("pkg/mod.py"), PAYLOAD).unwrap();
    let out = tmp.path().join("app");
    let mut cmd = Command::new(python());
    cmd.args(["-m", "zipapp", "src", "-c", "-o", "app"])
        .current_dir(tmp.path());
    if let Some(shebang) = shebang {
        cmd.args(["-p", shebang]);
    }
    let status = cmd
        .status()
        .expect("python3 must be installed to run these tests");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

// The plainest form, which was judged before: an extensionless script with a python shebang.
#[test]
fn an_extensionless_python_script() {
    let fixture = || program("bin/restore", &format!("#!/usr/bin/env python3\n{PAYLOAD}"));
    assert_runs_dill_loads(&[fixture()], &["./bin/restore"]);
    assert_judged_in_every_mode(&[fixture()], &["bin/restore"]);
}

#[test]
fn a_uv_run_script_with_inline_metadata() {
    let script = format!(
        "#!/usr/bin/env -S uv run --script\n# /// script\n# dependencies = []\n# ///\n{PAYLOAD}"
    );
    // uv runs it with a Python interpreter, as this does; where uv is installed, uv itself
    // runs it (offline: the script needs no package).
    assert_runs_dill_loads(
        &[program("bin/restore", &script)],
        &[python(), "bin/restore"],
    );
    if Command::new("uv").arg("--version").output().is_ok() {
        assert_runs_dill_loads(&[program("bin/restore", &script)], &["./bin/restore"]);
    } else {
        eprintln!("uv is not installed: the script was run with python, not through uv");
    }
    assert_judged_in_every_mode(&[program("bin/restore", &script)], &["bin/restore"]);
}

#[test]
fn scripts_for_other_python_interpreters() {
    let fixtures = || {
        vec![
            program("bin/a", &format!("#!/usr/bin/env pypy3\n{PAYLOAD}")),
            program("bin/b", &format!("#!/usr/bin/env ipython\n{PAYLOAD}")),
            program("bin/c", &format!("#!/opt/graalpy/bin/graalpy\n{PAYLOAD}")),
            program(
                "bin/d",
                &format!("#!/usr/bin/env -S poetry run python\n{PAYLOAD}"),
            ),
        ]
    };
    for path in ["bin/a", "bin/c", "bin/d"] {
        assert_runs_dill_loads(&fixtures(), &[python(), path]);
    }
    if Command::new("ipython").arg("--version").output().is_ok() {
        assert_runs_dill_loads(&fixtures(), &["ipython", "bin/b"]);
    } else {
        eprintln!("ipython is not installed: bin/b was not run through it");
    }
    assert_judged_in_every_mode(&fixtures(), &["bin/a", "bin/b", "bin/c", "bin/d"]);
}

#[test]
fn python_scripts_named_as_shell_or_cgi() {
    let fixtures = || {
        vec![
            file(
                "cgi-bin/restore.cgi",
                &format!("#!/usr/bin/env python3\n{PAYLOAD}"),
            ),
            program("tool.sh", &format!("#!/usr/bin/python3\n{PAYLOAD}")),
            program("tool.txt", &format!("#!/usr/bin/env python3\n{PAYLOAD}")),
        ]
    };
    assert_runs_dill_loads(&fixtures(), &["./tool.sh"]);
    assert_runs_dill_loads(&fixtures(), &["./tool.txt"]);
    assert_runs_dill_loads(&fixtures(), &[python(), "cgi-bin/restore.cgi"]);
    assert_judged_in_every_mode(&fixtures(), &["cgi-bin/restore.cgi", "tool.sh", "tool.txt"]);
}

#[test]
fn a_shell_python_polyglot_run_by_sh() {
    let fixtures = || {
        vec![
            file(
                "tool.sh",
                &format!("#!/bin/sh\n\"\"\"exec\" python3 \"$0\" \"$@\"\n\"\"\"\n{PAYLOAD}"),
            ),
            file(
                "other.sh",
                &format!("#!/bin/sh\n''''exec python3 -u -- \"$0\" \"$@\" # '''\n{PAYLOAD}"),
            ),
        ]
    };
    assert_runs_dill_loads(&fixtures(), &["sh", "tool.sh"]);
    assert_runs_dill_loads(&fixtures(), &["sh", "other.sh"]);
    assert_judged_in_every_mode(&fixtures(), &["other.sh", "tool.sh"]);
}

#[test]
fn wsgi_files_and_upper_case_extensions() {
    let fixtures = || {
        vec![
            file("site/app.wsgi", &format!("{PAYLOAD}application = None\n")),
            file("helpers.PY", PAYLOAD),
            file("gui.Pyw", PAYLOAD),
        ]
    };
    // mod_wsgi runs a .wsgi file as Python source, as this does.
    assert_runs_dill_loads(&fixtures(), &[python(), "site/app.wsgi"]);
    assert_runs_dill_loads(&fixtures(), &[python(), "helpers.PY"]);
    assert_runs_dill_loads(&fixtures(), &[python(), "gui.Pyw"]);
    assert_judged_in_every_mode(&fixtures(), &["gui.Pyw", "helpers.PY", "site/app.wsgi"]);
}

#[test]
fn a_zipapp_by_name_and_one_after_a_shebang() {
    let fixtures = || {
        vec![
            Fixture {
                path: "apps/app.pyz",
                bytes: zipapp(None),
                executable: false,
            },
            Fixture {
                path: "bin/app",
                bytes: zipapp(Some("/usr/bin/env python3")),
                executable: true,
            },
        ]
    };
    assert_runs_dill_loads(&fixtures(), &[python(), "apps/app.pyz"]);
    assert_runs_dill_loads(&fixtures(), &["./bin/app"]);
    // Members are reported below the archive's path.
    assert_judged_in_every_mode(
        &fixtures(),
        &["apps/app.pyz/pkg/mod.py", "bin/app/pkg/mod.py"],
    );
}

#[test]
fn a_pyz_that_is_not_a_zip_is_python_source() {
    // `python3 app.pyz` runs it as source when it is no archive.
    let fixture = || file("app.pyz", PAYLOAD);
    assert_runs_dill_loads(&[fixture()], &[python(), "app.pyz"]);
    assert_judged_in_every_mode(&[fixture()], &["app.pyz"]);
}

#[test]
fn a_zip_bomb_or_a_member_compressed_otherwise_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let script = "import sys, zipfile\n\
        with zipfile.ZipFile('bomb.pyz', 'w', zipfile.ZIP_DEFLATED) as z:\n\
        \x20   z.writestr('__main__.py', '#' * (40 << 20))\n\
        with zipfile.ZipFile('bz.pyz', 'w', zipfile.ZIP_BZIP2) as z:\n\
        \x20   z.writestr('__main__.py', 'import dill\\ndill.loads(b\"\")\\n')\n";
    let status = Command::new(python())
        .args(["-c", script])
        .current_dir(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    let bomb = std::fs::read(tmp.path().join("bomb.pyz")).unwrap();
    let bz = std::fs::read(tmp.path().join("bz.pyz")).unwrap();
    assert!(bomb.len() < 1 << 20);
    assert_refused_in_every_mode(
        &[Fixture {
            path: "bomb.pyz",
            bytes: bomb,
            executable: false,
        }],
        "bomb.pyz",
        "zip bomb",
    );
    assert_refused_in_every_mode(
        &[Fixture {
            path: "bz.pyz",
            bytes: bz,
            executable: false,
        }],
        "bz.pyz",
        "method 12",
    );
}

#[test]
fn pth_import_lines_run_by_site() {
    let pth = "/opt/elsewhere\nimport dill; dill.loads(b'')\n";
    let fixture = || file("extra-site/zz-restore.pth", pth);
    assert_runs_dill_loads(
        &[fixture()],
        &[python(), "-c", "import site; site.addsitedir('extra-site')"],
    );
    assert_judged_in_every_mode(&[fixture()], &["extra-site/zz-restore.pth"]);
}

#[test]
fn cython_is_checked_by_the_token_scanner() {
    // Not Python syntax: the parser rejects `cdef`; the scanner still finds the call.
    let pyx = "import dill\n\ncdef object restore(bytes blob):\n    return dill.loads(blob)\n";
    assert_judged_in_every_mode(&[file("fast/restore.pyx", pyx)], &["fast/restore.pyx"]);
}

#[test]
fn a_python_script_of_bytes_that_are_not_text_is_an_error() {
    let mut bytes = b"#!/usr/bin/env python3\n".to_vec();
    bytes.extend_from_slice(b"\x00\x01\x02 dill \x00\xff\xfe payload\n");
    assert_refused_in_every_mode(
        &[Fixture {
            path: "bin/blob",
            bytes,
            executable: true,
        }],
        "bin/blob",
        "NUL bytes",
    );
}

#[test]
fn a_file_made_executable_is_a_change() {
    let repo = Repo::new();
    let fixture = file("notes.txt", &format!("#!/usr/bin/env python3\n{PAYLOAD}"));
    put(&repo.dir, &fixture);
    repo.commit_all("a text file, which is not read");
    let (code, json, _) = run(&repo.dir, &["--all"]);
    assert_eq!(
        (code, json["files_checked"].as_u64()),
        (0, Some(0)),
        "{json}"
    );
    std::fs::set_permissions(
        repo.dir.join("notes.txt"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    repo.git(&["add", "-A"]);
    let (code, json, _) = run(&repo.dir, &["--staged"]);
    assert_eq!(
        (code, finding_paths(&json)),
        (1, vec!["notes.txt".to_string()])
    );
}

#[test]
fn files_that_do_not_run_python_are_left_alone() {
    let repo = Repo::new();
    let text = "#!/usr/bin/env python3\nimport dill\ndill.loads(b'')\n";
    put(&repo.dir, &file("README.md", text));
    put(&repo.dir, &file("data.json", text));
    put(
        &repo.dir,
        &file("run.sh", "#!/bin/sh\necho 'import dill; dill.loads(x)'\n"),
    );
    put(
        &repo.dir,
        &program(
            "bin/uv-tool",
            "#!/usr/bin/env -S uv run\nimport dill\ndill.loads(b'')\n",
        ),
    );
    repo.git(&["add", "-A"]);
    for args in [&["--staged"][..], &["."][..]] {
        let (code, json, stderr) = run(&repo.dir, args);
        assert_eq!(code, 0, "{args:?}: {json}\n{stderr}");
        assert!(finding_paths(&json).is_empty(), "{json}");
    }
}

/// Whether uv is installed (where it is, scripts that name it are run through it too).
fn has_uv() -> bool {
    Command::new("uv").arg("--version").output().is_ok()
}

#[test]
fn shebangs_as_env_split_string_and_uv_read_them() {
    // Quotes, `\_` (env -S's escaped blank), `=`, a program before the interpreter, and uv's
    // options anywhere between `uv`, `run` and `--script`/`-s`.
    const PLAIN: &[(&str, &str)] = &[
        ("bin/a", "#!/usr/bin/env -S \"python3\""),
        ("bin/b", "#!/usr/bin/env -S 'python3'"),
        ("bin/c", "#!/usr/bin/env -S p\"ython3\""),
        ("bin/d", "#!/usr/bin/env -S\"python3\""),
        ("bin/e", "#!/usr/bin/env --split-string=python3"),
        ("bin/f", "#!/usr/bin/env -S PYX=1\\_python3"),
        ("bin/g", "#!/usr/bin/env -S timeout 9 \"python3\""),
    ];
    const UV: &[(&str, &str)] = &[
        ("bin/u1", "#!/usr/bin/env -S uv --quiet run --script"),
        ("bin/u2", "#!/usr/bin/env -S uv -q run -s"),
        (
            "bin/u3",
            "#!/usr/bin/env -S uv --offline run --no-project -s",
        ),
        ("bin/u4", "#!/usr/bin/env -S uv run \"--script\""),
    ];
    let fixtures = || {
        PLAIN
            .iter()
            .chain(UV)
            .map(|(path, line)| program(path, &format!("{line}\n{PAYLOAD}")))
            .collect::<Vec<_>>()
    };
    // The kernel and env run each as the first line says.
    for (path, _) in PLAIN {
        assert_runs_dill_loads(&fixtures(), &[&format!("./{path}")]);
    }
    for (path, _) in UV {
        assert_runs_dill_loads(&fixtures(), &[python(), path]);
        if has_uv() {
            assert_runs_dill_loads(&fixtures(), &[&format!("./{path}")]);
        }
    }
    if !has_uv() {
        eprintln!("uv is not installed: the uv scripts were run with python, not through uv");
    }
    let paths: Vec<&str> = PLAIN.iter().chain(UV).map(|(path, _)| *path).collect();
    assert_judged_in_every_mode(&fixtures(), &paths);
}

#[test]
fn shell_python_polyglots_without_exec_or_with_other_spellings() {
    const FORMS: &[(&str, &str)] = &[
        ("a.sh", "\"\"\"python3\" \"$0\" \"$@\"; exit #\"\"\""),
        ("b.sh", "\"\"\"command\" exec python3 \"$0\" #\"\"\""),
        (
            "c.sh",
            "\"\"\"exec\" \"${PYTHON:-python3}\" \"$0\" \"$@\" #\"\"\"",
        ),
        (
            "d.sh",
            "\"\"\"exec\" python3 \"$(readlink -f \"$0\")\" #\"\"\"",
        ),
        ("e.sh", "\"\"\"exec\" python3 \"./$0\" #\"\"\""),
    ];
    let fixtures = || {
        FORMS
            .iter()
            .map(|(path, line)| file(path, &format!("#!/bin/sh\n{line}\n{PAYLOAD}")))
            .collect::<Vec<_>>()
    };
    for (path, _) in FORMS {
        assert_runs_dill_loads(&fixtures(), &["sh", path]);
    }
    let paths: Vec<&str> = FORMS.iter().map(|(path, _)| *path).collect();
    assert_judged_in_every_mode(&fixtures(), &paths);
}

#[test]
fn a_py_file_that_also_ends_as_a_zip_is_read_as_source() {
    // An end-of-central-directory record in a comment: its fields must hold no NUL byte (Python
    // source cannot), so the directory it describes is 16 MiB away and its offset as much again,
    // which makes this the smallest such file that reads as a zip (34 MB of comment lines,
    // which git compresses).
    let mut bytes = PAYLOAD.as_bytes().to_vec();
    let need = 2 * 0x0101_0101 + 64;
    let line = format!("#{}\n", "#".repeat(1022));
    while bytes.len() < need {
        bytes.extend_from_slice(line.as_bytes());
    }
    bytes.extend_from_slice(b"#PK\x05\x06");
    bytes.extend_from_slice(&[1; 18]);
    let fixtures = || {
        vec![
            Fixture {
                path: "helper.py",
                bytes: bytes.clone(),
                executable: false,
            },
            file("main.py", "import helper\n"),
        ]
    };
    assert_runs_dill_loads(&fixtures(), &[python(), "main.py"]);
    // Read as source, it is more source mentioning dill than is analysed: an error, where it
    // was judged by its (no) members before.
    assert_refused_in_every_mode(&fixtures(), "helper.py", "dill-guard can analyse");
}

/// `helper.py` (a module that calls `dill.loads` when imported) compiled to bytecode.
fn compiled_helper() -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("helper.py"), PAYLOAD).unwrap();
    let status = Command::new(python())
        .args([
            "-c",
            "import py_compile; py_compile.compile('helper.py', cfile='helper.pyc', doraise=True)",
        ])
        .current_dir(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(tmp.path().join("helper.pyc")).unwrap()
}

#[test]
fn compiled_python_outside_pycache_is_an_error() {
    let fixtures = || {
        vec![
            Fixture {
                path: "helper.pyc",
                bytes: compiled_helper(),
                executable: false,
            },
            // Beside its source only: not read.
            Fixture {
                path: "pkg/__pycache__/other.cpython-311.pyc",
                bytes: compiled_helper(),
                executable: false,
            },
            file("main.py", "import helper\n"),
        ]
    };
    assert_runs_dill_loads(&fixtures(), &[python(), "main.py"]);
    assert_refused_in_every_mode(
        &fixtures(),
        "helper.pyc",
        "compiled Python cannot be judged",
    );
}

/// A zip archive holding `evil.py`, which calls `dill.loads` when imported.
fn zip_of_evil() -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let script = format!(
        "import zipfile\nwith zipfile.ZipFile('lib.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n    \
         z.writestr('evil.py', {PAYLOAD:?})\n"
    );
    let status = Command::new(python())
        .args(["-c", &script])
        .current_dir(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(tmp.path().join("lib.zip")).unwrap()
}

#[test]
fn eggs_and_wheels_put_on_sys_path() {
    let fixtures = || {
        vec![
            Fixture {
                path: "lib.egg",
                bytes: zip_of_evil(),
                executable: false,
            },
            Fixture {
                path: "wheels/lib-1.0-py3-none-any.whl",
                bytes: zip_of_evil(),
                executable: false,
            },
            file(
                "main.py",
                "import sys\n\nsys.path.insert(0, 'lib.egg')\nimport evil\n",
            ),
            file(
                "other.py",
                "import sys\n\nsys.path.insert(0, 'wheels/lib-1.0-py3-none-any.whl')\nimport evil\n",
            ),
        ]
    };
    assert_runs_dill_loads(&fixtures(), &[python(), "main.py"]);
    assert_runs_dill_loads(&fixtures(), &[python(), "other.py"]);
    assert_judged_in_every_mode(
        &fixtures(),
        &["lib.egg/evil.py", "wheels/lib-1.0-py3-none-any.whl/evil.py"],
    );
    assert_refused_in_every_mode(&[file("lib.whl", PAYLOAD)], "lib.whl", "not a zip archive");
}

#[test]
fn a_codec_that_reads_a_backslash_as_yen() {
    // In Shift_JIS-2004 `\` is `¥`: the string ends where a UTF-8 reading says it goes on.
    let text = "# coding: shift_jis_2004\nx = \"\\\" ; import dill ; dill.loads(b\"\") #\"\n";
    assert_runs_dill_loads(&[file("sj.py", text)], &[python(), "sj.py"]);
    assert_refused_in_every_mode(&[file("sj.py", text)], "sj.py", "cannot read exactly");
}

#[test]
fn a_codec_registered_at_run_time_is_an_error() {
    let main = "import codecs\n\n\ndef _decode(data, errors='strict'):\n    \
        return codecs.decode(bytes(data).decode('ascii'), 'rot13'), len(data)\n\n\n\
        codecs.register(lambda n: codecs.CodecInfo(None, _decode, name='rotx') if n == 'rotx' else None)\n\
        import helper\n";
    // `import dill; dill.loads(b'')` in rot13.
    let helper = "# coding: rotx\nvzcbeg qvyy\nqvyy.ybnqf(o'')\n";
    let fixtures = || vec![file("main.py", main), file("helper.py", helper)];
    assert_runs_dill_loads(&fixtures(), &[python(), "main.py"]);
    assert_refused_in_every_mode(&fixtures(), "helper.py", "no codec CPython ships");
}
