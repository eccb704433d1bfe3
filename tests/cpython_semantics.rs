//! The fixtures' claims checked against CPython: each fixture listed here is run under the
//! python named by `DILL_GUARD_TEST_PYTHON`, with a dill module that records the line of the
//! fixture every loader call comes from. The lines that call a loader must be exactly the lines
//! annotated `call` — so every disguise the analysis finds is real Python that runs dill's
//! loader, and no line it leaves alone does; SQLAlchemy's `PickleType` is run with the
//! recording dill; the flows of `flow_conservative.py` are run with stand-in sources; and the
//! libraries that load with dill themselves (multiprocess, klepto, ppft, pathos) run for real with
//! the real dill recording. Ignored unless that python is named (`.ci/run` names one, with
//! SQLAlchemy, those libraries and h5py).

use std::path::Path;
use std::process::Command;

/// A dill stand-in: pickle's functions, each recording the fixture line that called it.
const RECORDING_DILL: &str = r#"
import os, pickle as _pickle, sys
# Kept on `sys`, so that a reloaded or second copy of this module records into the same list.
CALLS = sys.__dict__.setdefault("_recorded_dill_calls", [])
_FIXTURE = os.environ["FIXTURE"]
def _line():
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename != _FIXTURE:
        frame = frame.f_back
    return frame.f_lineno if frame else None
def _recording(real):
    def call(*args, **kwargs):
        CALLS.append(_line())
        return real(*args, **kwargs)
    return call
loads = _recording(_pickle.loads)
load = _recording(_pickle.load)
dumps = _pickle.dumps
dump = _pickle.dump
class Unpickler(_pickle.Unpickler):
    def __init__(self, *args, **kwargs):
        CALLS.append(_line())
        super().__init__(*args, **kwargs)
"#;

/// A pytest stand-in: `mark.parametrize` calls the test with each value, as a pytest run
/// does; `importorskip` imports the module.
const PYTEST: &str = r#"
import importlib
class _Mark:
    @staticmethod
    def parametrize(names, values):
        def apply(test):
            for value in values:
                test(*value) if "," in names else test(value)
            return test
        return apply
mark = _Mark()
def importorskip(modname):
    return importlib.import_module(modname)
"#;

/// A torch stand-in: `torch.load` unpickles with `pickle_module.Unpickler`, as
/// torch/serialization.py does.
const TORCH: &str = r#"
import pickle
def load(f, map_location=None, pickle_module=pickle, **kwargs):
    return pickle_module.Unpickler(f).load()
"#;

/// Runs the fixture and prints the sorted lines that called a loader.
const RUN: &str = r#"
import builtins, os, sys
path = os.environ["FIXTURE"]
sys.path.insert(0, os.environ["RECORDER"])
import dill
code = compile(open(path, encoding="utf-8").read(), path, "exec")
# As for a script: `__builtins__` is the builtins module in `__main__`.
exec(code, {"__name__": "__main__", "__file__": path, "__builtins__": builtins})
print(sorted({line for line in dill.CALLS if line}))
"#;

/// A directory of stand-in modules (`dill/__init__.py`, `flask/__init__.py`...) to put first on
/// the path of a run.
fn stand_ins(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (file, text) in files {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// Runs `script` under `python` for the fixture at `path`, with the stand-in modules of
/// `recorder` importable; its standard output.
fn run_fixture(python: &str, script: &str, path: &Path, recorder: &Path) -> String {
    let out = Command::new(python)
        .args(["-c", script])
        .env("FIXTURE", path)
        .env("RECORDER", recorder)
        .current_dir(recorder)
        .output()
        .expect("run the python named by DILL_GUARD_TEST_PYTHON");
    assert!(
        out.status.success(),
        "{} did not run:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lines annotated `call`, `module` (dill handed over where the loader runs) or `library`
/// (a library that loads with dill). A line inside a multi-line string given to `exec` is where the
/// analysis reports it, but CPython's frame for it is the `exec(` line: that is the line
/// expected from CPython.
fn annotated_calls(path: &Path) -> Vec<usize> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut opened_at = None;
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("exec(\"\"\"") {
            opened_at = Some(n + 1);
        } else if line.starts_with("\"\"\")") {
            opened_at = None;
        }
        let annotated = line.split_once("# expect:").is_some_and(|(_, spec)| {
            spec.split(';').any(|item| {
                matches!(
                    item.split_whitespace().nth(1),
                    Some("call" | "module" | "library")
                )
            })
        });
        if annotated {
            lines.push(opened_at.unwrap_or(n + 1));
        }
    }
    lines.sort();
    lines.dedup();
    lines
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: any CPython 3.8 or newer (.ci/run sets it up)"]
fn every_disguise_in_the_fixtures_runs_dill_under_cpython() {
    let python = std::env::var("DILL_GUARD_TEST_PYTHON")
        .expect("DILL_GUARD_TEST_PYTHON must name a CPython 3.8 or newer");
    let recorder = stand_ins(&[
        ("dill/__init__.py", RECORDING_DILL),
        ("pytest/__init__.py", PYTEST),
        ("torch/__init__.py", TORCH),
    ]);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in ["disguises.py", "disguises_unnamed.py", "values.py"] {
        let path = fixtures.join(name);
        let stdout = run_fixture(&python, RUN, &path, recorder.path());
        let called = stdout.lines().last().unwrap_or_default().to_string();
        let expected = format!("{:?}", annotated_calls(&path));
        assert_eq!(called, expected, "lines of {name} that call a dill loader");
    }
}

/// `sqlalchemy.PickleType(pickler=dill)` (and positionally, `PickleType(5, dill)`) calls the
/// module's `loads` on every value read back: run against the real SQLAlchemy from PyPI, with
/// the recording dill, as the hand-over table claims.
#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: a CPython with SQLAlchemy (.ci/run sets it up)"]
fn pickle_type_loads_with_the_module_it_is_given() {
    let python = std::env::var("DILL_GUARD_TEST_PYTHON")
        .expect("DILL_GUARD_TEST_PYTHON must name a CPython with SQLAlchemy");
    let recorder = stand_ins(&[("dill/__init__.py", RECORDING_DILL)]);
    let script = recorder.path().join("pickle_type.py");
    std::fs::write(
        &script,
        r#"
import dill, sqlalchemy as sa
engine = sa.create_engine("sqlite://")
meta = sa.MetaData()
by_keyword = sa.Table("a", meta, sa.Column("id", sa.Integer, primary_key=True),
                      sa.Column("v", sa.PickleType(pickler=dill)))
by_position = sa.Table("b", meta, sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("v", sa.PickleType(5, dill)))
meta.create_all(engine)
with engine.begin() as db:
    for table in (by_keyword, by_position):
        db.execute(table.insert().values(id=1, v={"k": 1}))
        assert db.execute(sa.select(table.c.v)).scalar() == {"k": 1}
print(len(dill.CALLS))
"#,
    )
    .unwrap();
    let out = Command::new(&python)
        .arg(&script)
        .env("FIXTURE", &script)
        .env("PYTHONPATH", recorder.path())
        .output()
        .expect("run the python named by DILL_GUARD_TEST_PYTHON");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One row read back through each column: each read called dill's loads.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
}

/// Stand-ins for the sources `flow_conservative.py` reads: each gives bytes marked with where
/// they came from, and the recording dill notes, per line, the mark of what it was given.
const MARKED_SOURCES: &[(&str, &str)] = &[
    (
        "flask/__init__.py",
        r#"
import json
class _File:
    def __init__(self, data):
        self._data = data
    def read(self):
        return self._data
class _Request:
    data = b"REMOTE:data"
    args = {"p": "REMOTE:arg"}
    files = {"a": _File(b"REMOTE:a"), "b": _File(b"REMOTE:b")}
    stream = [json.dumps({"payload": "REMOTE:stream"})]
    def get_data(self):
        return b"REMOTE:body"
request = _Request()
"#,
    ),
    (
        "storage.py",
        "def fetch_blob(key):\n    return b'elsewhere'\n",
    ),
    (
        "dill/__init__.py",
        r#"
import os, sys
SEEN = {}
_FIXTURE = os.environ["FIXTURE"]
def _record(data):
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename != _FIXTURE:
        frame = frame.f_back
    text = data if isinstance(data, bytes) else str(data).encode()
    mark = "remote" if b"REMOTE:" in text else "local-file" if b"LOCAL:" in text else "unknown"
    SEEN.setdefault(frame.f_lineno, set()).add(mark)
def loads(data, *args, **kwargs):
    _record(data)
def load(file, *args, **kwargs):
    _record(file.read())
"#,
    ),
];

/// Calls every function of `flow_conservative.py` (standard input marked local), then prints
/// each line that loaded and the most outside mark it was given.
const RUN_FLOWS: &str = r#"
import io, os, sys
sys.path.insert(0, os.environ["RECORDER"])
sys.stdin = io.TextIOWrapper(io.BytesIO(b"LOCAL:stdin"))
import dill
path = os.environ["FIXTURE"]
space = {"__name__": "flows", "__file__": path}
exec(compile(open(path, encoding="utf-8").read(), path, "exec"), space)
for name, args in [("load_blob", (b"x",)), ("from_elsewhere", ("k",)), ("both", ()),
                   ("through_returns", ()), ("through_a_loop", ()), ("through_text", ()),
                   ("reassigned", ()), ("remember", ()), ("restore", ()), ("cycle", (b"",)),
                   ("start", ()), ("through_a_lambda", ()), ("through_a_generator", ()),
                   ("through_a_match", ()), ("through_an_attribute", ()),
                   ("through_setattr", ()), ("through_nonlocal", ()), ("through_stars", ()),
                   ("with_default", ()), ("fixed", ()), ("built", ())]:
    space[name](*args)
order = ["unknown", "local-file", "remote"]
for line in sorted(dill.SEEN):
    print(line, max(dill.SEEN[line], key=order.index))
"#;

/// The reach each annotated line of a flow fixture claims, and whether the claim is marked
/// wider than a run shows (`conservative`).
fn claimed_reach(path: &Path) -> Vec<(usize, String, bool)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut claims = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if let Some((_, spec)) = line.split_once("# expect:") {
            let words: Vec<&str> = spec.split_whitespace().collect();
            let reach = ["remote", "local-file"]
                .into_iter()
                .find(|r| words.contains(r))
                .unwrap_or("unknown");
            claims.push((n + 1, reach.to_string(), words.contains(&"conservative")));
        }
    }
    claims
}

/// Run, every dill call of `flow_conservative.py` is given data exactly as outside as the
/// fixture claims: never more (the walk misses no flow it claims to follow), and less only
/// where the fixture marks its claim `conservative`.
#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: any CPython 3.10 or newer (.ci/run sets it up)"]
fn conservative_flows_hold_under_cpython() {
    let python = std::env::var("DILL_GUARD_TEST_PYTHON")
        .expect("DILL_GUARD_TEST_PYTHON must name a CPython 3.10 or newer");
    let recorder = stand_ins(MARKED_SOURCES);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flow_conservative.py");
    let observed: Vec<(usize, String)> = run_fixture(&python, RUN_FLOWS, &fixture, recorder.path())
        .lines()
        .map(|l| {
            let (line, reach) = l.split_once(' ').unwrap();
            (line.parse().unwrap(), reach.to_string())
        })
        .collect();
    let claims = claimed_reach(&fixture);
    assert_eq!(
        observed.iter().map(|o| o.0).collect::<Vec<_>>(),
        claims.iter().map(|c| c.0).collect::<Vec<_>>(),
        "the lines that load"
    );
    for ((line, seen), (_, claimed, conservative)) in observed.iter().zip(&claims) {
        if *conservative {
            assert_ne!(
                seen, claimed,
                "line {line} is marked conservative but runs as claimed"
            );
        } else {
            assert_eq!(seen, claimed, "line {line}: run, it loads {seen} data");
        }
    }
}

/// The multi-module projects under `tests/projects`: each `app.py` is run from a copy of its
/// project (its directory first on the path, as for a script), with the recording dill; the
/// lines that call a loader must be exactly those annotated `call`.
#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: any CPython 3.8 or newer (.ci/run sets it up)"]
fn every_project_runs_dill_where_annotated_under_cpython() {
    let python = std::env::var("DILL_GUARD_TEST_PYTHON")
        .expect("DILL_GUARD_TEST_PYTHON must name a CPython 3.8 or newer");
    let recorder = stand_ins(&[("dill/__init__.py", RECORDING_DILL)]);
    let projects = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/projects");
    let run = format!(
        "import os, sys\nsys.path.insert(0, os.path.dirname(os.environ['FIXTURE']))\nsys.dont_write_bytecode = True\n{RUN}"
    );
    for project in std::fs::read_dir(&projects).unwrap() {
        let project = project.unwrap().path();
        let copy = tempfile::tempdir().unwrap();
        let mut dirs = vec![project.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let to = copy.path().join(path.strip_prefix(&project).unwrap());
                if path.is_dir() {
                    std::fs::create_dir_all(&to).unwrap();
                    dirs.push(path);
                } else {
                    std::fs::copy(&path, &to).unwrap();
                }
            }
        }
        let app = copy.path().join("app.py");
        let stdout = run_fixture(&python, &run, &app, recorder.path());
        let called = stdout.lines().last().unwrap_or_default().to_string();
        let expected = format!("{:?}", annotated_calls(&app));
        assert_eq!(
            called,
            expected,
            "lines of {} that call a dill loader",
            project.display()
        );
    }
}

/// Patches the real dill's loaders, before any library imports them (multiprocess binds
/// `ForkingPickler.loads = dill.loads` at import), to append `pid line` to `$DILL_RECORD` for
/// each call: the line of the fixture the calling thread is on, or 0.
const RECORDING_SITECUSTOMIZE: &str = r#"
import os, sys
_FIXTURE = os.environ.get("FIXTURE")
_RECORD = os.environ.get("DILL_RECORD")
if _FIXTURE and _RECORD:
    import dill, dill._dill
    def _note():
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename != _FIXTURE:
            frame = frame.f_back
        with open(_RECORD, "a") as record:
            record.write("%d %d\n" % (os.getpid(), frame.f_lineno if frame else 0))
    def _recording(real):
        def call(*args, **kwargs):
            _note()
            return real(*args, **kwargs)
        return call
    dill.loads = dill._dill.loads = _recording(dill._dill.loads)
    dill.load = dill._dill.load = _recording(dill._dill.load)
    _unpickler_load = dill._dill.Unpickler.load
    def _load(self, *args, **kwargs):
        _note()
        return _unpickler_load(self, *args, **kwargs)
    dill._dill.Unpickler.load = _load
"#;

/// The lines of a fixture that load with dill under CPython without being findings
/// (`# loads, not reported: why`).
fn loads_not_reported(path: &Path) -> Vec<usize> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains("# loads, not reported:"))
        .map(|(n, _)| n + 1)
        .collect()
}

/// The libraries that load with dill themselves, run for real (multiprocess, klepto, ppft and
/// pathos from PyPI, a listener and a client on localhost, a manager, a ppft server in a
/// process of its own) with the real dill's loaders recording the fixture line they are
/// called from in the fixture's process: the lines that load are the lines annotated as
/// findings, and those marked as loading between the processes of one program.
#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: a CPython with multiprocess, klepto, ppft and pathos (.ci/run sets it up)"]
fn every_library_finding_loads_with_dill_under_cpython() {
    let python = std::env::var("DILL_GUARD_TEST_PYTHON")
        .expect("DILL_GUARD_TEST_PYTHON must name a CPython with the libraries");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/libraries.py");
    let loaded = lines_loading_under_cpython(&python, &fixture);
    // An archive written here and read later is reported where it is made.
    let written_only: Vec<usize> = std::fs::read_to_string(&fixture)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains("# written only, reported here"))
        .map(|(n, _)| n + 1)
        .collect();
    let mut expected = annotated_calls(&fixture);
    expected.retain(|line| !written_only.contains(line));
    expected.extend(loads_not_reported(&fixture));
    expected.sort();
    expected.dedup();
    assert_eq!(
        loaded, expected,
        "lines of libraries.py that load with dill"
    );
}

/// A project whose modules hand on the libraries (a shim that only imports them, a module
/// alias, a helper returning a connection, a renamed archive), run for real: its `app.py`
/// loads on the lines annotated (see `tests/modules.rs` for the same project in every mode).
#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: a CPython with multiprocess, klepto, ppft and pathos (.ci/run sets it up)"]
fn a_project_handing_the_libraries_on_loads_where_annotated_under_cpython() {
    let python = std::env::var("DILL_GUARD_TEST_PYTHON")
        .expect("DILL_GUARD_TEST_PYTHON must name a CPython with the libraries");
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/library_projects/shims/app.py");
    assert_eq!(
        lines_loading_under_cpython(&python, &app),
        annotated_calls(&app),
        "lines of the project's app.py that load with dill"
    );
}

/// Runs `script` (from its own directory) under `python` with the real dill's loaders
/// recording: the sorted lines of the script that called one, in the script's own process.
fn lines_loading_under_cpython(python: &str, script: &Path) -> Vec<usize> {
    let recorder = stand_ins(&[("sitecustomize.py", RECORDING_SITECUSTOMIZE)]);
    let record = recorder.path().join("record.txt");
    let child = Command::new(python)
        .arg(script)
        .env("FIXTURE", script)
        .env("DILL_RECORD", &record)
        .env("PYTHONPATH", recorder.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(script.parent().unwrap())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the python named by DILL_GUARD_TEST_PYTHON");
    let pid = child.id();
    // A fixture that blocks (a peer that never answers) fails the test instead of hanging it.
    let started = std::time::Instant::now();
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(180) {
            let _ = child.kill();
            panic!("{} did not finish in 180 s", script.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} did not run:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let record = std::fs::read_to_string(&record).unwrap_or_default();
    let mut loaded: Vec<usize> = record
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(p, _)| p.parse() == Ok(pid))
        .filter_map(|(_, line)| line.parse().ok())
        .filter(|&line| line != 0)
        .collect();
    loaded.sort();
    loaded.dedup();
    loaded
}
