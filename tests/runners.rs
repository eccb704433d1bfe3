//! The hooks under the real pre-commit framework and prek, both from PyPI. Each test publishes
//! a hook repository (a git repository, committed), points a `.pre-commit-config.yaml` at it,
//! installs the runner's git hooks, and makes real commits and pushes: one that adds
//! `dill.loads` must be blocked with the guidance shown, a clean one must pass.
//!
//! Two hook repositories: this crate itself (`dill-guard-src`, `language: rust`: the runner
//! builds dill-guard from source with `cargo install`), and `pre-commit-mirror/`
//! (`dill-guard`, `language: python`: the runner installs the wheel, with no `cargo` on `PATH`
//! and no package index, from the wheels `DILL_GUARD_TEST_WHEELS` names). They are ignored
//! unless `DILL_GUARD_TEST_PYTHON` names the python of a virtualenv that has `pre-commit`, `prek`
//! and `uv` installed (and, for the wheel hooks, `DILL_GUARD_TEST_WHEELS` a folder holding the
//! dill-guard wheel and a setuptools wheel); `.ci/run` sets both up.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn runner(name: &str) -> PathBuf {
    let python = std::env::var("DILL_GUARD_TEST_PYTHON")
        .expect("DILL_GUARD_TEST_PYTHON must name the python of a venv with pre-commit and prek");
    let tool = Path::new(&python).parent().unwrap().join(name);
    assert!(
        tool.exists(),
        "{} is not installed next to {python}",
        tool.display()
    );
    tool
}

/// Where the hooks come from.
#[derive(Clone, Copy)]
enum Hooks {
    /// This crate's own repository: built from source.
    Source,
    /// The wheel's hook repository (`pre-commit-mirror/`), installing from local wheels.
    Wheel,
}

impl Hooks {
    fn ids(self) -> (&'static str, &'static str) {
        match self {
            Hooks::Source => ("dill-guard-src", "dill-guard-src-push"),
            Hooks::Wheel => ("dill-guard", "dill-guard-push"),
        }
    }
}

/// A git repository holding the hooks, as users reference it from their config.
fn hook_repository(dir: &Path, hooks: Hooks) -> (PathBuf, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = dir.join("dill-guard-hooks");
    std::fs::create_dir_all(&repo).unwrap();
    match hooks {
        Hooks::Source => {
            for file in [
                "Cargo.toml",
                "Cargo.lock",
                ".pre-commit-hooks.yaml",
                "README.md",
            ] {
                std::fs::copy(root.join(file), repo.join(file)).unwrap();
            }
            copy_tree(&root.join("src"), &repo.join("src"));
        }
        Hooks::Wheel => copy_tree(&root.join("pre-commit-mirror"), &repo),
    }
    let run = |args: &[&str]| {
        let out = git_command(&repo).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    run(&["init", "-q", "-b", "main"]);
    run(&["add", "-A"]);
    run(&["commit", "-q", "-m", "hooks"]);
    let rev = run(&["rev-parse", "HEAD"]);
    (repo, rev)
}

/// Copies a directory with everything below it.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// `PATH` without any directory that holds `cargo` (or `rustc`), with the test venv's tools.
fn path_without_rust(venv_bin: &Path) -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept = std::iter::once(venv_bin.to_path_buf()).chain(
        std::env::split_paths(&path)
            .filter(|dir| !dir.join("cargo").exists() && !dir.join("rustc").exists()),
    );
    std::env::join_paths(kept).unwrap()
}

fn commit_through(runner_name: &str, home_var: &str, hooks: Hooks) {
    let tool = runner(runner_name);
    let tmp = tempfile::tempdir().unwrap();
    let (hook_repo, rev) = hook_repository(tmp.path(), hooks);
    let (commit_id, push_id) = hooks.ids();
    let repo = Repo::new();
    repo.write(
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: {commit_id}\n      - id: {push_id}\n",
            hook_repo.display()
        ),
    );
    repo.commit_all("configure hooks");
    // One cargo target directory for both runners' builds, so CI compiles the crate once.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner-target");
    let wheels = match hooks {
        Hooks::Wheel => Some(PathBuf::from(std::env::var("DILL_GUARD_TEST_WHEELS").expect(
            "DILL_GUARD_TEST_WHEELS must name a folder with the dill-guard and setuptools wheels",
        ))),
        Hooks::Source => None,
    };
    let no_rust = path_without_rust(tool.parent().unwrap());
    let with_env = |mut cmd: Command| {
        cmd.env(home_var, tmp.path().join("runner-home"))
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("DILL_GUARD_TEST_PYTHON");
        if let Some(wheels) = &wheels {
            // No Rust, no package index: the wheel (and the hook repository's build backend)
            // come from the local folder, for pip (pre-commit) and uv (prek) alike.
            cmd.env("PATH", &no_rust)
                .env("PIP_NO_INDEX", "1")
                .env("PIP_FIND_LINKS", wheels)
                .env("UV_NO_INDEX", "1")
                .env("UV_FIND_LINKS", wheels)
                .env("UV_CACHE_DIR", tmp.path().join("uv-cache"))
                .env("PIP_CACHE_DIR", tmp.path().join("pip-cache"));
        }
        cmd
    };
    if wheels.is_some() {
        let out = with_env(Command::new("sh"))
            .args(["-c", "command -v cargo || command -v rustc || echo none"])
            .output()
            .unwrap();
        assert_eq!(text(&out).trim(), "none", "Rust is still on PATH");
    }
    // git itself, run as the user would: the runner's hooks fire, with the runner's environment.
    let hooked = |args: &[&str]| {
        let out = with_env(git_command(&repo.dir))
            .args(args)
            .output()
            .unwrap();
        (out.status.success(), text(&out))
    };
    for hook_type in ["pre-commit", "pre-push"] {
        let out = with_env(Command::new(&tool))
            .args(["install", "--hook-type", hook_type])
            .current_dir(&repo.dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{runner_name} install: {}",
            text(&out)
        );
    }

    repo.write("loader.py", BAD);
    repo.git(&["add", "loader.py"]);
    let (ok, shown) = hooked(&["commit", "-m", "add loader"]);
    assert!(!ok, "{runner_name} let the commit through:\n{shown}");
    assert!(shown.contains("error[PYTHON-LANG-SEC-046]"), "{shown}");
    assert!(shown.contains("loader.py:5:12"), "{shown}");
    assert!(
        shown.contains("help: exchange plain data as JSON"),
        "{shown}"
    );
    assert!(shown.contains("commit blocked"), "{shown}");

    repo.git(&["reset", "-q", "loader.py"]);

    // An extensionless script with a python shebang and no execute bit: the frameworks tag it
    // as plain text; dill-guard must still be given it, and judge it Python.
    repo.write("tool", &format!("#!/usr/bin/env python3\n{BAD}"));
    repo.git(&["add", "tool"]);
    let (ok, shown) = hooked(&["commit", "-m", "add a script"]);
    assert!(!ok, "{runner_name} let a python script through:\n{shown}");
    assert!(shown.contains("tool:6:12"), "{shown}");
    repo.git(&["reset", "-q", "tool"]);

    // A file whose name starts with `-` is a file, not an option.
    repo.write("-dash.py", BAD);
    repo.git(&["add", "--", "-dash.py"]);
    let (ok, shown) = hooked(&["commit", "-m", "add a dash"]);
    assert!(!ok, "{runner_name} let -dash.py through:\n{shown}");
    assert!(shown.contains("-dash.py:5:12"), "{shown}");
    repo.git(&["reset", "-q", "--", "-dash.py"]);
    repo.write("clean.py", GOOD);
    repo.git(&["add", "clean.py"]);
    let (ok, shown) = hooked(&["commit", "-m", "add clean code"]);
    assert!(ok, "{runner_name} blocked a clean commit:\n{shown}");
    let committed = repo.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(committed.trim(), "clean.py");

    // The pre-push stage: a push of clean commits passes, one carrying dill.loads (committed
    // with --no-verify) is blocked.
    let bare = bare_repository(tmp.path(), "remote.git");
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let (ok, shown) = hooked(&["push", "origin", "main"]);
    assert!(ok, "{runner_name} blocked a clean push:\n{shown}");
    assert!(
        shown.contains("dill-guard"),
        "the pre-push hook did not run:\n{shown}"
    );
    repo.git(&["add", "loader.py"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "sneak"]);
    let (ok, shown) = hooked(&["push", "origin", "main"]);
    assert!(!ok, "{runner_name} let the push through:\n{shown}");
    assert!(
        shown.contains("loader.py:5:12") && shown.contains("— blocked"),
        "{shown}"
    );

    // The first push of a new repository to an empty remote holds the root commit: the
    // framework then passes no refs at all (prek only the pushed tip). The whole pushed history
    // is judged, never nothing.
    let fresh = Repo::new();
    std::fs::copy(
        repo.dir.join(".pre-commit-config.yaml"),
        fresh.dir.join(".pre-commit-config.yaml"),
    )
    .unwrap();
    fresh.write("loader.py", BAD);
    fresh.commit_all("root");
    let out = with_env(Command::new(&tool))
        .args(["install", "--hook-type", "pre-push"])
        .current_dir(&fresh.dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let empty = bare_repository(tmp.path(), "empty.git");
    fresh.git(&["remote", "add", "origin", empty.to_str().unwrap()]);
    let out = with_env(git_command(&fresh.dir))
        .args(["push", "origin", "main"])
        .output()
        .unwrap();
    let shown = text(&out);
    assert!(
        !out.status.success(),
        "{runner_name} let a first push through:\n{shown}"
    );
    assert!(shown.contains("loader.py:5:12"), "{shown}");
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: a venv with pre-commit (.ci/run sets it up); builds the crate"]
fn pre_commit_framework_from_source() {
    commit_through("pre-commit", "PRE_COMMIT_HOME", Hooks::Source);
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: a venv with prek (.ci/run sets it up); builds the crate"]
fn prek_from_source() {
    commit_through("prek", "PREK_HOME", Hooks::Source);
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON and DILL_GUARD_TEST_WHEELS: a venv with pre-commit, and the built wheel (.ci/run sets both up)"]
fn pre_commit_framework_from_the_wheel() {
    commit_through("pre-commit", "PRE_COMMIT_HOME", Hooks::Wheel);
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON and DILL_GUARD_TEST_WHEELS: a venv with prek and uv, and the built wheel (.ci/run sets both up)"]
fn prek_from_the_wheel() {
    commit_through("prek", "PREK_HOME", Hooks::Wheel);
}
