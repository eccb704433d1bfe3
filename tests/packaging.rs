//! The Python package and the hook repositories. The version checks always run; the install
//! checks need the built wheel and sdist (`DILL_GUARD_TEST_WHEELS`, a folder that also holds a
//! setuptools wheel) and a python with `uv` and `pipx` beside it (`DILL_GUARD_TEST_PYTHON`):
//! `.ci/run` builds and provides both. Each install is into a fresh place, from that folder
//! only, with no package index.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

fn toml(path: &str) -> toml::Table {
    read(path).parse().unwrap()
}

#[test]
fn the_wheel_hooks_pin_this_version() {
    let version = toml("Cargo.toml")["package"]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let mirror = toml("pre-commit-mirror/pyproject.toml");
    let project = mirror["project"].as_table().unwrap();
    assert_eq!(project["version"].as_str(), Some(version.as_str()));
    let pins: Vec<&str> = project["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(pins, [format!("dill-guard=={version}")]);
    // The package takes its version from Cargo.toml.
    let package = toml("pyproject.toml");
    assert_eq!(package["project"]["dynamic"][0].as_str(), Some("version"));
    assert_eq!(package["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    // Builds on users' machines are the quick ones; every published wheel is the optimised one.
    assert_eq!(
        package["tool"]["maturin"]["profile"].as_str(),
        Some("release")
    );
    let workflow = read(".github/workflows/release.yml");
    let builds: Vec<&str> = workflow
        .lines()
        .filter(|l| l.trim_start().starts_with("maturin build"))
        .collect();
    assert!(builds.len() >= 3, "{builds:?}");
    for build in builds {
        assert!(build.contains("--profile dist"), "{build}");
    }
    assert!(
        read("CHANGELOG.md").contains("## Unreleased")
            || read("CHANGELOG.md").contains(&format!("## {version}"))
    );
    assert!(read("LICENSE").starts_with("MIT License"));
}

#[test]
fn the_optimised_crates_of_a_source_build_are_in_the_lockfile() {
    // An override naming a crate the build no longer has is only a cargo warning: after a
    // dependency update renames one, the hot path would quietly compile unoptimised.
    let manifest = toml("Cargo.toml");
    let lock = toml("Cargo.lock");
    let locked: Vec<&str> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let overrides = manifest["profile"]["release"]["package"]
        .as_table()
        .unwrap();
    assert_eq!(overrides["*"]["opt-level"].as_integer(), Some(0));
    for name in [
        "rustpython-parser",
        "gix-index",
        "gix-odb",
        "zlib-rs",
        "regex-automata",
    ] {
        assert!(overrides.contains_key(name), "{name} is not optimised");
    }
    for (name, settings) in overrides {
        if name != "*" {
            assert!(
                locked.contains(&name.as_str()),
                "{name} is not in Cargo.lock"
            );
            assert_eq!(settings["opt-level"].as_integer(), Some(3), "{name}");
        }
    }
    // The published wheels optimise everything.
    let dist = manifest["profile"]["dist"].as_table().unwrap();
    assert_eq!(dist["package"]["*"]["opt-level"].as_integer(), Some(3));
}

/// The hooks of a `.pre-commit-hooks.yaml`, as `id` → its `key: value` lines.
fn hooks(path: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in read(path).lines() {
        if let Some(id) = line.strip_prefix("- id: ") {
            out.push((id.trim().to_string(), Vec::new()));
        } else if let (Some(hook), Some(field)) = (out.last_mut(), line.strip_prefix("  ")) {
            hook.1.push(field.trim().to_string());
        }
    }
    out
}

#[test]
fn the_wheel_hooks_run_what_the_source_hooks_run() {
    let source = hooks(".pre-commit-hooks.yaml");
    let wheel = hooks("pre-commit-mirror/.pre-commit-hooks.yaml");
    let same = |fields: &[String]| -> Vec<String> {
        fields
            .iter()
            .filter(|f| !f.starts_with("name:") && !f.starts_with("language:"))
            .cloned()
            .collect()
    };
    for (id, src_id) in [
        ("dill-guard", "dill-guard-src"),
        ("dill-guard-push", "dill-guard-src-push"),
    ] {
        let w = &wheel.iter().find(|h| h.0 == id).unwrap().1;
        let s = &source.iter().find(|h| h.0 == src_id).unwrap().1;
        assert!(w.contains(&"language: python".to_string()), "{id}: {w:?}");
        assert!(s.contains(&"language: rust".to_string()), "{src_id}: {s:?}");
        assert_eq!(same(w), same(s), "{id} and {src_id} differ");
    }
}

fn wheels() -> PathBuf {
    PathBuf::from(
        std::env::var_os("DILL_GUARD_TEST_WHEELS")
            .expect("DILL_GUARD_TEST_WHEELS names the folder with the built wheel and sdist"),
    )
}

fn tool(name: &str) -> PathBuf {
    let python = PathBuf::from(
        std::env::var_os("DILL_GUARD_TEST_PYTHON")
            .expect("DILL_GUARD_TEST_PYTHON names the python of a venv with uv and pipx"),
    );
    python.parent().unwrap().join(name)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", text(&out));
    text(&out)
}

/// The installed command against a staged `dill.loads` (exit 1) and a clean commit (exit 0).
fn judges_commits(command: &Path) {
    let version = run(Command::new(command).arg("--version"));
    assert!(version.starts_with("dill-guard "), "{version}");
    let repo = Repo::new();
    repo.write("clean.py", GOOD);
    repo.git(&["add", "clean.py"]);
    let out = Command::new(command)
        .arg("--staged")
        .current_dir(&repo.dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    repo.write("loader.py", BAD);
    repo.git(&["add", "loader.py"]);
    let out = Command::new(command)
        .arg("--staged")
        .current_dir(&repo.dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("loader.py:5:12"), "{}", text(&out));
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_WHEELS and DILL_GUARD_TEST_PYTHON: the built wheel, and a venv with uv and pipx (.ci/run sets both up)"]
fn the_wheel_installs_with_pip_uv_and_pipx() {
    let wheels = wheels();
    let tmp = tempfile::tempdir().unwrap();

    // pip, into a fresh virtualenv.
    let venv = tmp.path().join("venv");
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--no-index", "--find-links"])
        .arg(&wheels)
        .arg("dill-guard"));
    judges_commits(&venv.join("bin/dill-guard"));

    // uv tool install, with the system's python and nothing downloaded.
    let bin = tmp.path().join("uv-bin");
    run(Command::new(tool("uv"))
        .args(["tool", "install", "--no-index", "--find-links"])
        .arg(&wheels)
        .args(["--python", "python3", "dill-guard"])
        .env("UV_TOOL_DIR", tmp.path().join("uv-tools"))
        .env("UV_TOOL_BIN_DIR", &bin)
        .env("UV_CACHE_DIR", tmp.path().join("uv-cache"))
        .env("UV_PYTHON_DOWNLOADS", "never"));
    judges_commits(&bin.join("dill-guard"));

    // pipx, into its own home.
    let bin = tmp.path().join("pipx-bin");
    run(Command::new(tool("pipx"))
        .args(["install", "--pip-args"])
        .arg(format!("--no-index --find-links {}", wheels.display()))
        .arg("dill-guard")
        .env("PIPX_HOME", tmp.path().join("pipx-home"))
        .env("PIPX_BIN_DIR", &bin)
        .env("PIPX_MAN_DIR", tmp.path().join("pipx-man")));
    judges_commits(&bin.join("dill-guard"));
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_WHEELS: the built sdist (.ci/run builds it)"]
fn the_sdist_holds_what_a_build_needs_and_no_tests() {
    let sdist = std::fs::read_dir(wheels())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.to_string_lossy().ends_with(".tar.gz") && p.to_string_lossy().contains("dill_guard")
        })
        .expect("a dill_guard sdist");
    let listing = run(Command::new("tar").arg("tzf").arg(&sdist));
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "pyproject.toml",
        "src/main.rs",
        "src/analyze/mod.rs",
        "LICENSE",
        "README.md",
    ] {
        assert!(
            listing.lines().any(|l| l.ends_with(&format!("/{needed}"))),
            "{needed} missing:\n{listing}"
        );
    }
    for unwanted in ["tests/fixtures", "bench/", "fuzz/", "pre-commit-mirror"] {
        assert!(
            !listing.contains(unwanted),
            "{unwanted} shipped:\n{listing}"
        );
    }
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: a venv with check-jsonschema and zizmor (.ci/run sets it up)"]
fn workflow_and_action_files_validate_offline() {
    for (file, schema) in [
        (".github/workflows/release.yml", "vendor.github-workflows"),
        ("action.yml", "vendor.github-actions"),
    ] {
        let path = root().join(file);
        run(Command::new(tool("check-jsonschema"))
            .args(["--builtin-schema", schema])
            .arg(&path));
        let out = run(Command::new(tool("zizmor")).arg("--offline").arg(&path));
        assert!(out.contains("No findings"), "{file}: {out}");
    }
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON (a venv with uv and pipx) and the package index (for maturin): builds the crate (.ci/run sets it up)"]
fn pip_uv_and_pipx_install_from_a_clone() {
    // Each builds with maturin from the index, then cargo, with the release profile, as users'
    // installs from a clone do; the target directory the wheel of `.ci/run` was built in keeps
    // them from compiling everything again.
    let tmp = tempfile::tempdir().unwrap();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner-target");

    // pip install ., into a fresh virtualenv.
    let venv = tmp.path().join("venv");
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--disable-pip-version-check"])
        .arg(root())
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("DILL_GUARD_TEST_PYTHON"));
    judges_commits(&venv.join("bin/dill-guard"));

    // uv tool install ., with the system's python.
    let bin = tmp.path().join("uv-bin");
    run(Command::new(tool("uv"))
        .args(["tool", "install", "--python", "python3"])
        .arg(root())
        .env("UV_TOOL_DIR", tmp.path().join("uv-tools"))
        .env("UV_TOOL_BIN_DIR", &bin)
        .env("UV_CACHE_DIR", tmp.path().join("uv-cache"))
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("DILL_GUARD_TEST_PYTHON"));
    judges_commits(&bin.join("dill-guard"));

    // pipx install ., into its own home.
    let bin = tmp.path().join("pipx-bin");
    run(Command::new(tool("pipx"))
        .arg("install")
        .arg(root())
        .env("PIPX_HOME", tmp.path().join("pipx-home"))
        .env("PIPX_BIN_DIR", &bin)
        .env("PIPX_MAN_DIR", tmp.path().join("pipx-man"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("DILL_GUARD_TEST_PYTHON"));
    judges_commits(&bin.join("dill-guard"));
}
