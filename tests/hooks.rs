//! Plain git hooks, installed by `dill-guard install` and exercised by real git: commits, pushes
//! to a local bare remote through pre-push, and a bare server repository with a pre-receive hook.
//! Also `--range`, the mode CI and server hooks use.

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn hook_file(repo: &Repo, name: &str) -> PathBuf {
    repo.dir.join(".git/hooks").join(name)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn install_writes_a_working_hook_and_reinstalling_changes_nothing() {
    let repo = Repo::new();
    let (code, stdout, stderr) = repo.run(&["install"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("installed the dill-guard pre-commit hook"));
    let hook = hook_file(&repo, "pre-commit");
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.starts_with("#!/bin/sh\n"));
    assert!(
        script.contains(binary()),
        "records the binary's absolute path"
    );
    assert!(
        script.contains("dill_guard=dill-guard"),
        "falls back to PATH"
    );
    assert!(
        script.contains("git commit --no-verify"),
        "says how to bypass once"
    );
    assert_eq!(mode(&hook), 0o755);

    let (code, stdout, _) = repo.run(&["install"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("already installed"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), script);

    repo.write("app.py", BAD);
    repo.git(&["add", "app.py"]);
    let out = repo.git_try(&["commit", "-m", "bad"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("app.py:5:12"));
    repo.write("app.py", GOOD);
    repo.git(&["add", "app.py"]);
    assert!(repo
        .git_try(&["commit", "-q", "-m", "good"])
        .status
        .success());
}

#[test]
fn a_foreign_hook_is_never_destroyed_without_a_flag() {
    let repo = Repo::new();
    let hook = hook_file(&repo, "pre-commit");
    write_hook(&hook, "#!/bin/sh\necho theirs\n");
    let before = std::fs::read(&hook).unwrap();
    let (code, stdout, stderr) = repo.run(&["install"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("--chain") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(std::fs::read(&hook).unwrap(), before);
    // Nor does uninstall touch it.
    let (code, _, stderr) = repo.run(&["uninstall"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not written by dill-guard"));
    assert_eq!(std::fs::read(&hook).unwrap(), before);
}

#[test]
fn chain_runs_the_old_hook_first_and_uninstall_restores_it() {
    let repo = Repo::new();
    let hook = hook_file(&repo, "pre-commit");
    let marker = repo.dir.join("old-hook-ran");
    let original = format!(
        "#!/bin/sh\ntouch '{}'\nif [ -f stop ]; then echo old hook says no; exit 3; fi\n",
        marker.display()
    );
    write_hook(&hook, &original);
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o750)).unwrap();
    let (code, stdout, stderr) = repo.run(&["install", "--chain"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("runs first"), "{stdout}");

    // A clean commit: the old hook ran, then dill-guard passed.
    repo.write("ok.py", GOOD);
    repo.git(&["add", "ok.py"]);
    let out = repo.git_try(&["commit", "-q", "-m", "ok"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(marker.exists(), "the chained hook must run");
    // The old hook's failure stops the commit, whatever dill-guard would say.
    repo.write("stop", "");
    repo.write("ok2.py", GOOD);
    repo.git(&["add", "ok2.py"]);
    let out = repo.git_try(&["commit", "-q", "-m", "stopped"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("old hook says no"));
    std::fs::remove_file(repo.dir.join("stop")).unwrap();
    // And dill-guard still blocks what it should.
    repo.write("bad.py", BAD);
    repo.git(&["add", "bad.py"]);
    let out = repo.git_try(&["commit", "-q", "-m", "bad"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("bad.py:5:12"));
    // Reinstalling keeps the chain.
    let (code, _, _) = repo.run(&["install"]);
    assert_eq!(code, 0);
    assert!(std::fs::read_to_string(&hook).unwrap().contains(".legacy"));

    let (code, _, stderr) = repo.run(&["uninstall"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        original,
        "restored byte for byte"
    );
    assert_eq!(mode(&hook), 0o750, "with its mode");
    assert!(!repo.dir.join(".git/hooks/pre-commit.legacy").exists());
}

#[test]
fn force_keeps_a_backup_that_uninstall_restores() {
    let repo = Repo::new();
    let hook = hook_file(&repo, "pre-commit");
    write_hook(&hook, "#!/bin/sh\nexit 1\n");
    let (code, stdout, _) = repo.run(&["install", "--force"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("backed up"), "{stdout}");
    let backup = repo.dir.join(".git/hooks/pre-commit.dill-guard-backup");
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        "#!/bin/sh\nexit 1\n"
    );
    // The replaced hook no longer runs: a clean commit passes.
    repo.write("ok.py", GOOD);
    repo.git(&["add", "ok.py"]);
    assert!(repo.git_try(&["commit", "-q", "-m", "ok"]).status.success());
    let (code, _, _) = repo.run(&["uninstall"]);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\nexit 1\n"
    );
    assert!(!backup.exists());
    // A second --force over another foreign hook must not overwrite a backup still there.
    repo.run(&["install", "--force"]);
    write_hook(&hook, "#!/bin/sh\nexit 4\n");
    let (code, _, stderr) = repo.run(&["install", "--force"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("holds an earlier hook"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        "#!/bin/sh\nexit 1\n"
    );
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\nexit 4\n"
    );
    std::fs::remove_file(&backup).unwrap();
    write_hook(&hook, "#!/bin/sh\nexit 1\n");
    // Uninstalling again: nothing of ours is there.
    let (code, _, stderr) = repo.run(&["uninstall"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn uninstall_without_a_hook_is_a_no_op() {
    let repo = Repo::new();
    let (code, stdout, _) = repo.run(&["uninstall"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("nothing to do"), "{stdout}");
    repo.run(&["install", "--hook", "pre-merge-commit"]);
    assert!(hook_file(&repo, "pre-merge-commit").exists());
    let (code, _, _) = repo.run(&["uninstall", "--hook", "pre-merge-commit"]);
    assert_eq!(code, 0);
    assert!(!hook_file(&repo, "pre-merge-commit").exists());
}

#[test]
fn hooks_path_relative_and_absolute() {
    let repo = Repo::new();
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let (code, stdout, _) = repo.run(&["install"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(".githooks/pre-commit"), "{stdout}");
    assert!(repo.dir.join(".githooks/pre-commit").exists());
    assert!(!hook_file(&repo, "pre-commit").exists());
    repo.write("bad.py", BAD);
    repo.git(&["add", "bad.py"]);
    assert!(!repo
        .git_try(&["commit", "-q", "-m", "bad"])
        .status
        .success());

    let elsewhere = tempfile::tempdir().unwrap();
    let abs = elsewhere.path().join("hooks");
    repo.git(&["config", "core.hooksPath", abs.to_str().unwrap()]);
    let (code, _, _) = repo.run(&["install"]);
    assert_eq!(code, 0);
    assert!(abs.join("pre-commit").exists());
    assert!(!repo
        .git_try(&["commit", "-q", "-m", "bad"])
        .status
        .success());
}

#[test]
fn a_linked_worktree_installs_into_the_common_directory() {
    let repo = Repo::new();
    repo.write("a.py", GOOD);
    repo.commit_all("base");
    let wt = repo.add_worktree("feature");
    let (code, stdout, _) = run_in(&wt, &["install"]);
    assert_eq!(code, 0);
    assert!(hook_file(&repo, "pre-commit").exists(), "{stdout}");
    // It guards commits in the main worktree too.
    repo.write("bad.py", BAD);
    repo.git(&["add", "bad.py"]);
    assert!(!repo
        .git_try(&["commit", "-q", "-m", "bad"])
        .status
        .success());
}

/// A bare "remote" and a clone of it with the pre-push hook installed.
fn remote_and_clone() -> (tempfile::TempDir, Repo, PathBuf) {
    let server = tempfile::tempdir().unwrap();
    let bare = bare_repository(server.path(), "remote.git");
    let repo = Repo::new();
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    repo.write("a.py", GOOD);
    repo.commit_all("base");
    repo.git(&["push", "-q", "origin", "main"]);
    let (code, _, stderr) = repo.run(&["install", "--hook", "pre-push"]);
    assert_eq!(code, 0, "{stderr}");
    (server, repo, bare)
}

fn remote_head(bare: &Path, branch: &str) -> Option<String> {
    let out = git_command(bare)
        .args(["rev-parse", "--verify", "-q", branch])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn pre_push_blocks_what_the_push_adds() {
    let (_server, repo, bare) = remote_and_clone();
    let before = remote_head(&bare, "main");
    repo.write("bad.py", BAD);
    repo.commit_all("bad");
    let out = repo.git_try(&["push", "origin", "main"]);
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(
        shown.contains("bad.py:5:12") && shown.contains("push blocked"),
        "{shown}"
    );
    assert_eq!(
        remote_head(&bare, "main"),
        before,
        "nothing reached the remote"
    );

    // Removing the file in a later commit: the push still carries the bad commit, but files are
    // judged as they are at the pushed tip, where it is gone.
    repo.git(&["rm", "-q", "bad.py"]);
    repo.commit_all("remove");
    let out = repo.git_try(&["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));

    // A new branch is compared with what the remote already has.
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.write("topic.py", GOOD);
    repo.commit_all("topic");
    let out = repo.git_try(&["push", "-q", "origin", "topic"]);
    assert!(out.status.success(), "{}", text(&out));
    repo.write("topic_bad.py", BAD);
    repo.commit_all("topic bad");
    let out = repo.git_try(&["push", "origin", "HEAD:refs/heads/topic2"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("topic_bad.py"));
    assert!(
        !text(&out).contains("a.py:"),
        "what the remote has is not rechecked"
    );
    // Deleting a branch pushes nothing to check.
    let out = repo.git_try(&["push", "-q", "origin", "--delete", "topic"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn pre_receive_rejects_a_push_on_the_server() {
    let server = tempfile::tempdir().unwrap();
    let bare = bare_repository(server.path(), "server.git");
    write_hook(
        &bare.join("hooks/pre-receive"),
        &format!(
            "#!/bin/sh\nexec '{}' --pre-receive --color never\n",
            binary()
        ),
    );
    let repo = Repo::new();
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    repo.write("legacy.py", BAD);
    repo.commit_all("legacy");
    // The first push brings a dangerous file: rejected, whatever the client's hooks say.
    let out = repo.git_try(&["push", "--no-verify", "origin", "main"]);
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(shown.contains("legacy.py:5:12"), "{shown}");
    assert!(shown.contains("pre-receive hook declined"), "{shown}");
    assert_eq!(remote_head(&bare, "main"), None);

    // Let the legacy file in (as if it predates the hook), then check that later pushes are
    // judged on what they add only.
    std::fs::rename(bare.join("hooks/pre-receive"), bare.join("hooks/off")).unwrap();
    assert!(repo
        .git_try(&["push", "-q", "origin", "main"])
        .status
        .success());
    std::fs::rename(bare.join("hooks/off"), bare.join("hooks/pre-receive")).unwrap();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("clean.py", GOOD);
    repo.commit_all("clean");
    let out = repo.git_try(&["push", "origin", "feature"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 file checked"), "{}", text(&out));
    repo.write("worker.py", BAD);
    repo.commit_all("worker");
    let before = remote_head(&bare, "feature");
    let out = repo.git_try(&["push", "origin", "feature"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("worker.py:5:12"));
    assert_eq!(remote_head(&bare, "feature"), before);
}

#[test]
fn range_checks_files_changed_between_commits_as_they_are_at_b() {
    let repo = Repo::new();
    repo.write("legacy.py", BAD);
    repo.write("a.py", GOOD);
    repo.commit_all("one");
    let a = repo.head();
    repo.write("new.py", BAD);
    repo.write("a.py", "x = 2\n");
    repo.commit_all("two");
    repo.write("temp.py", BAD);
    repo.commit_all("three");
    repo.git(&["rm", "-q", "temp.py"]);
    repo.commit_all("four");
    let (code, json) = repo.json(&["--range", &format!("{a}..HEAD")]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["new.py"]);
    assert_eq!(json["files_checked"], 2);
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!((code, json["files_checked"].as_u64()), (0, Some(0)));
    // The policy is read at A, the base: a range that brings its own allowlist is judged
    // without it, and told so.
    repo.write(
        "dill-guard.toml",
        "[[allow]]\npaths = [\"new.py\"]\nreason = \"reviewed\"\n",
    );
    repo.commit_all("policy");
    let (code, json) = repo.json(&["--range", &format!("{a}..HEAD")]);
    assert_eq!(code, 1, "{json}");
    let warning = &json["warnings"][0];
    assert_eq!(warning["path"], "dill-guard.toml", "{json}");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("the policy changes"),
        "{json}"
    );
    // Once the policy is part of the base, it rules.
    repo.write("newer.py", BAD);
    repo.commit_all("newer");
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 1, "{json}");
    repo.write(
        "dill-guard.toml",
        "[[allow]]\npaths = [\"new*.py\"]\nreason = \"reviewed\"\n",
    );
    repo.commit_all("policy 2");
    repo.write("newest.py", BAD);
    repo.commit_all("newest");
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 0, "{json}");
    // Bad revisions are errors that say so.
    let (code, _, stderr) = repo.run(&["--range", "nope..HEAD"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown revision `nope`"), "{stderr}");
}
