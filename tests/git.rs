//! dill-guard against real git: temporary repositories built by the `git` program, commits made
//! through a real pre-commit hook that calls the built binary. Git is the reference for what a
//! commit contains; nothing here is mocked.

mod common;

use std::process::Command;

use common::*;

#[test]
fn the_staged_blob_is_judged_not_the_working_tree() {
    let repo = Repo::new();
    repo.write("app.py", BAD);
    repo.git(&["add", "app.py"]);
    repo.write("app.py", GOOD);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["app.py"]);
    assert_eq!(json["findings"][0]["line"], 5);
    assert_eq!(json["findings"][0]["api"], "dill.loads");
}

#[test]
fn a_clean_staged_file_passes_despite_a_dangerous_working_tree() {
    let repo = Repo::new();
    repo.write("app.py", GOOD);
    repo.git(&["add", "app.py"]);
    repo.write("app.py", BAD);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["files_checked"], 1);
    // Path mode reads the working tree, where the dangerous edit is.
    let (code, json) = repo.json(&["app.py"]);
    assert_eq!((code, paths(&json)), (1, vec!["app.py".to_string()]));
}

#[test]
fn blocked_commit_shows_the_finding_and_guidance() {
    let repo = Repo::new();
    repo.install_hook();
    repo.write("app.py", BAD);
    repo.git(&["add", "app.py"]);
    let out = repo.git_try(&["commit", "-m", "add loader"]);
    assert!(!out.status.success(), "the commit must be blocked");
    let text = text(&out);
    assert!(text.contains("error[PYTHON-LANG-SEC-046]"), "{text}");
    assert!(text.contains("--> app.py:5:12"), "{text}");
    assert!(text.contains("help: exchange plain data as JSON"), "{text}");
    assert!(text.contains("CWE-502"), "{text}");
    assert!(text.contains("commit blocked"), "{text}");
    // Nothing was committed: HEAD is still unborn.
    assert!(!repo
        .git_try(&["rev-parse", "--verify", "HEAD"])
        .status
        .success());
}

#[test]
fn initial_commit_on_an_unborn_head_checks_every_entry() {
    let repo = Repo::new();
    repo.write("a.py", GOOD);
    repo.write("pkg/b.py", BAD);
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(json["files_checked"], 2);
    assert_eq!(paths(&json), ["pkg/b.py"]);
}

#[test]
fn commit_dash_a_judges_the_files_it_adds() {
    let repo = Repo::new();
    repo.install_hook();
    repo.write("app.py", GOOD);
    repo.commit_all("clean");
    let before = repo.head();
    repo.write("app.py", BAD);
    // Not staged: a plain commit of something else does not carry it, and passes.
    repo.write("other.py", "x = 1\n");
    repo.git(&["add", "other.py"]);
    let out = repo.git_try(&["commit", "-q", "-m", "other"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let after_other = repo.head();
    assert_ne!(before, after_other);
    // `git commit -a` stages the edit into a temporary index: the hook must see it.
    let out = repo.git_try(&["commit", "-a", "-m", "sneak"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("dill.loads"));
    assert_eq!(repo.head(), after_other);
}

#[test]
fn commit_with_paths_judges_only_those_paths() {
    let repo = Repo::new();
    repo.install_hook();
    repo.write("a.py", GOOD);
    repo.write("bad.py", GOOD);
    repo.commit_all("base");
    repo.write("bad.py", BAD);
    repo.git(&["add", "bad.py"]);
    repo.write("a.py", "x = 2\n");
    // `git commit a.py` commits HEAD + a.py only: the staged bad.py is not part of it.
    let out = repo.git_try(&["commit", "-q", "a.py", "-m", "only a"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = repo.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(committed.trim(), "a.py");
    // Committing bad.py by path is blocked.
    let out = repo.git_try(&["commit", "-q", "bad.py", "-m", "bad"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("bad.py:5:12"));
}

#[test]
fn renamed_files_are_checked_and_deletions_are_not() {
    let repo = Repo::new();
    repo.write("old.py", BAD);
    repo.write("gone.py", BAD);
    repo.commit_all("legacy");
    repo.git(&["mv", "old.py", "new.py"]);
    repo.git(&["rm", "-q", "gone.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["new.py"]);
    assert_eq!(json["files_checked"], 1);
}

#[test]
fn only_deleting_a_dangerous_file_passes() {
    let repo = Repo::new();
    repo.write("gone.py", BAD);
    repo.commit_all("legacy");
    repo.git(&["rm", "-q", "gone.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!((code, json["files_checked"].as_u64()), (0, Some(0)));
}

#[test]
fn unchanged_and_mode_only_changes_are_not_rechecked() {
    let repo = Repo::new();
    repo.write("legacy.py", BAD);
    repo.write("tool.py", GOOD);
    repo.commit_all("legacy");
    repo.git(&["update-index", "--chmod=+x", "tool.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!((code, json["files_checked"].as_u64()), (0, Some(0)));
}

#[test]
fn nothing_staged_passes_quickly() {
    let repo = Repo::new();
    repo.write("a.py", BAD);
    repo.commit_all("legacy");
    let (code, stdout, _) = repo.run(&["--staged", "--color", "never"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("0 files checked, 0 findings"), "{stdout}");
    assert!(stdout.contains("ok"), "{stdout}");
}

#[test]
fn sha256_repository() {
    let repo = Repo::with_init(&["--object-format=sha256"]);
    repo.write("a.py", GOOD);
    repo.commit_all("base");
    repo.write("b.py", BAD);
    repo.git(&["add", "b.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(paths(&json), ["b.py"]);
}

#[test]
fn linked_worktree_commits_use_the_worktree_index() {
    let repo = Repo::new();
    repo.install_hook();
    repo.write("a.py", GOOD);
    repo.commit_all("base");
    let wt = repo.add_worktree("feature");
    std::fs::write(wt.join("feature.py"), BAD).unwrap();
    repo.git_in(&wt, &["add", "feature.py"]);
    let (code, json) = json_in(&wt, &["--staged"]);
    assert_eq!((code, paths(&json)), (1, vec!["feature.py".to_string()]));
    // The main worktree's index has nothing staged.
    let (code, _) = repo.json(&["--staged"]);
    assert_eq!(code, 0);
    // The hook (in the common directory) blocks the commit made in the linked worktree.
    let out = git_command(&wt)
        .args(["commit", "-m", "feature"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("feature.py:5:12"));
}

#[test]
fn git_dir_and_work_tree_from_the_environment() {
    let repo = Repo::new();
    repo.write("a.py", BAD);
    repo.git(&["add", "a.py"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(binary())
        .args(["--staged", "--format", "json"])
        .current_dir(elsewhere.path())
        .env("GIT_DIR", repo.dir.join(".git"))
        .env("GIT_WORK_TREE", &repo.dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paths(&json), ["a.py"]);
}

#[test]
fn git_index_file_selects_the_index() {
    let repo = Repo::new();
    repo.write("a.py", BAD);
    repo.git(&["add", "a.py"]);
    // An alternative, empty index: nothing is staged in it.
    let alt = repo.dir.join(".git/alt-index");
    let out = git_command(&repo.dir)
        .env("GIT_INDEX_FILE", &alt)
        .args(["read-tree", "--empty"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = Command::new(binary())
        .args(["--staged", "--format", "json"])
        .current_dir(&repo.dir)
        .env("GIT_INDEX_FILE", &alt)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn gitlinks_and_intent_to_add_are_skipped() {
    let repo = Repo::new();
    // A gitlink (submodule entry) whose path looks like Python.
    let commit = {
        repo.write("seed.txt", "seed\n");
        repo.git(&["add", "seed.txt"]);
        repo.git(&["commit", "-q", "--no-verify", "-m", "seed"]);
        repo.head()
    };
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{commit},sub.py"),
    ]);
    repo.write("later.py", BAD);
    repo.git(&["add", "-N", "later.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["files_checked"], 0, "{json}");
}

#[test]
fn all_checks_every_python_file_in_the_index() {
    let repo = Repo::new();
    repo.write("old.py", BAD);
    repo.write("notes.txt", "dill.loads(x)\n");
    repo.write(
        "bin/tool",
        "#!/usr/bin/env python3\nimport dill\ndill.load(open('x'))\n",
    );
    repo.write("bin/run.sh", "#!/bin/sh\necho dill.loads\n");
    repo.commit_all("legacy");
    let (code, json) = repo.json(&["--all"]);
    assert_eq!(code, 1);
    assert_eq!(json["files_checked"], 2);
    assert_eq!(paths(&json), ["bin/tool", "old.py"]);
}

#[test]
fn staged_paths_read_the_index_and_fall_back_to_disk() {
    let repo = Repo::new();
    repo.write("a.py", BAD);
    repo.write("b.py", GOOD);
    repo.commit_all("base");
    repo.write("a.py", GOOD);
    repo.write("untracked.py", BAD);
    // a.py's index blob is the committed, dangerous one; the working tree is clean.
    let (code, json) = repo.json(&["--staged", "a.py", "b.py", "untracked.py"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["a.py", "untracked.py"]);
    let warnings = json["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["path"], "untracked.py");
    // From a subdirectory, paths are relative to it and reported relative to the root.
    repo.write("pkg/c.py", BAD);
    repo.git(&["add", "pkg/c.py"]);
    let (code, json) = json_in(&repo.dir.join("pkg"), &["--staged", "c.py"]);
    assert_eq!((code, paths(&json)), (1, vec!["pkg/c.py".to_string()]));
}

#[test]
fn path_mode_walks_directories_and_honours_gitignore() {
    let repo = Repo::new();
    repo.write(".gitignore", "build/\n");
    repo.write("src/app.py", BAD);
    repo.write("build/gen.py", BAD);
    repo.write(".hidden/tool.py", BAD);
    let (code, json) = repo.json(&["."]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), [".hidden/tool.py", "src/app.py"]);
    let (code, json) = json_in(&repo.dir.join("src"), &["app.py"]);
    assert_eq!((code, paths(&json)), (1, vec!["src/app.py".to_string()]));
}

/// A path that reaches the work tree through a symlink is shown relative to the repository;
/// files outside it are shown as they were named.
#[cfg(unix)]
#[test]
fn path_mode_shows_paths_reached_through_symlinks_from_the_root() {
    let repo = Repo::new();
    repo.write("pkg/deep/a.py", BAD);
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("b.py"), BAD).unwrap();
    let link = outside.path().join("link");
    std::os::unix::fs::symlink(repo.dir.join("pkg"), &link).unwrap();
    let link_text = link.to_str().unwrap();
    for arg in [link_text.to_string(), format!("{link_text}/deep/a.py")] {
        let (code, json) = repo.json(&[&arg]);
        assert_eq!((code, paths(&json)), (1, vec!["pkg/deep/a.py".to_string()]));
    }
    let b = outside.path().join("b.py");
    let (code, json) = repo.json(&[b.to_str().unwrap()]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec![b.to_str().unwrap().to_string()])
    );
}

#[test]
fn outside_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_in(dir.path(), &["--staged"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("needs a git repository"), "{stderr}");
    std::fs::write(dir.path().join("x.py"), BAD).unwrap();
    let (code, json) = json_in(dir.path(), &["x.py"]);
    assert_eq!((code, paths(&json)), (1, vec!["x.py".to_string()]));
    let (code, json) = json_in(dir.path(), &["missing.py"]);
    assert_eq!(code, 2);
    assert_eq!(json["errors"][0]["path"], "missing.py");
}

#[test]
fn unmerged_paths_are_reported() {
    let repo = Repo::new();
    repo.write("c.py", "x = 1\n");
    repo.commit_all("base");
    repo.git(&["checkout", "-q", "-b", "other"]);
    repo.write("c.py", "x = 2\n");
    repo.commit_all("other");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("c.py", "x = 3\n");
    repo.commit_all("main");
    let out = repo.git_try(&["merge", "-q", "other"]);
    assert!(!out.status.success(), "the merge should conflict");
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 2);
    assert_eq!(json["errors"][0]["path"], "c.py");
}

/// Many files are read on several threads, from loose objects and from packs alike; what is
/// reported does not depend on which thread read what.
#[test]
fn many_files_loose_and_packed_give_the_same_report() {
    let repo = Repo::new();
    let bad = |i: usize| i.is_multiple_of(37);
    let name = |i: usize| format!("pkg{}/m{i:03}.py", i % 9);
    for i in 0..400 {
        repo.write(&name(i), if bad(i) { BAD } else { GOOD });
    }
    let mut expected: Vec<String> = (0..400).filter(|i| bad(*i)).map(name).collect();
    expected.sort();
    repo.git(&["add", "-A"]);
    let (code, staged) = repo.json(&["--staged"]);
    assert_eq!((code, paths(&staged)), (1, expected.clone()));
    assert_eq!(staged["files_checked"], 400);
    repo.git(&["commit", "-q", "-m", "all"]);
    repo.git(&["gc", "-q", "--prune=now"]);
    assert!(repo.git(&["count-objects", "-v"]).starts_with("count: 0\n"));
    let (code, packed) = repo.json(&["--all"]);
    assert_eq!((code, paths(&packed)), (1, expected.clone()));
    assert_eq!(packed["findings"], staged["findings"]);
    // A change on top of the pack: loose and packed objects in one read.
    repo.write("pkg0/m001.py", BAD);
    repo.git(&["add", "pkg0/m001.py"]);
    let (code, mixed) = repo.json(&["--all"]);
    expected.push("pkg0/m001.py".into());
    expected.sort();
    assert_eq!((code, paths(&mixed)), (1, expected));
}
