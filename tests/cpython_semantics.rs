//! The fixtures' claims checked against CPython: each fixture listed here is run under the
//! python named by `DILL_GUARD_TEST_PYTHON`, with a dill module that records the line of the
//! fixture every loader call comes from. The lines that call a loader must be exactly the lines
//! annotated `call` — so every disguise the analysis finds is real Python that runs dill's
//! loader, and no line it leaves alone does; and SQLAlchemy's `PickleType` is run with the
//! recording dill. Ignored unless that python is named (`.ci/run` names one, with SQLAlchemy).

use std::path::Path;
use std::process::Command;

/// A dill stand-in: pickle's functions, each recording the fixture line that called it.
const RECORDING_DILL: &str = r#"
import os, pickle as _pickle, sys
CALLS = []
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

/// Runs the fixture and prints the sorted lines that called a loader.
const RUN: &str = r#"
import os, sys
path = os.environ["FIXTURE"]
sys.path.insert(0, os.environ["RECORDER"])
import dill
code = compile(open(path, encoding="utf-8").read(), path, "exec")
exec(code, {"__name__": "__main__", "__file__": path})
print(sorted({line for line in dill.CALLS if line}))
"#;

/// The lines annotated `call`. A line inside a multi-line string given to `exec` is where the
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
            spec.split(';')
                .any(|item| item.split_whitespace().nth(1) == Some("call"))
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
    let recorder = tempfile::tempdir().unwrap();
    std::fs::create_dir(recorder.path().join("dill")).unwrap();
    std::fs::write(recorder.path().join("dill/__init__.py"), RECORDING_DILL).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in ["disguises.py", "disguises_unnamed.py"] {
        let path = fixtures.join(name);
        let out = Command::new(&python)
            .args(["-c", RUN])
            .env("FIXTURE", &path)
            .env("RECORDER", recorder.path())
            .current_dir(recorder.path())
            .output()
            .expect("run the python named by DILL_GUARD_TEST_PYTHON");
        assert!(
            out.status.success(),
            "{name} did not run:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
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
    let recorder = tempfile::tempdir().unwrap();
    std::fs::create_dir(recorder.path().join("dill")).unwrap();
    std::fs::write(recorder.path().join("dill/__init__.py"), RECORDING_DILL).unwrap();
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
