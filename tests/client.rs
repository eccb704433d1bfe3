//! No silent pass on the developer's machine: commits that used to land with a dill sink and
//! "0 files checked — ok", each tried with real git in a temporary repository.

mod common;

use std::path::Path;

use common::*;

fn write_hook(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_hook_that_runs_the_check_from_a_subdirectory() {
    let repo = Repo::new();
    repo.write("sub/keep.txt", "x\n");
    repo.commit_all("base");
    // As lefthook's `root:` or a monorepo wrapper does: change directory, then check. git
    // exported GIT_INDEX_FILE=.git/index, relative to the top of the work tree.
    write_hook(
        &repo.dir.join(".git/hooks/pre-commit"),
        &format!(
            "#!/bin/sh\ncd sub && exec '{}' --staged --color never\n",
            binary()
        ),
    );
    repo.write("sub/loader.py", BAD);
    repo.git(&["add", "sub/loader.py"]);
    let out = repo.git_try(&["commit", "-m", "sneak"]);
    let shown = text(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(shown.contains("sub/loader.py:5:12"), "{shown}");
    // The same with `git commit -a` (an absolute temporary index).
    repo.write("sub/other.py", BAD);
    repo.git(&["add", "-N", "sub/other.py"]);
    let out = repo.git_try(&["commit", "-a", "-m", "sneak"]);
    assert!(!out.status.success(), "{}", text(&out));
}

#[test]
fn an_index_named_but_missing_is_an_error() {
    let repo = Repo::new();
    repo.write("loader.py", BAD);
    repo.git(&["add", "loader.py"]);
    let out = std::process::Command::new(binary())
        .args(["--staged"])
        .current_dir(&repo.dir)
        .env("GIT_INDEX_FILE", repo.dir.join(".git/no-such-index"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("GIT_INDEX_FILE"), "{}", text(&out));
}

#[test]
fn a_symlink_turned_into_a_file_with_the_same_bytes_is_a_change() {
    let repo = Repo::new();
    let payload = "import dill; dill.loads(open(0).buffer.read())";
    std::os::unix::fs::symlink(payload, repo.dir.join("app.py")).unwrap();
    repo.commit_all("a link");
    std::fs::remove_file(repo.dir.join("app.py")).unwrap();
    std::fs::write(repo.dir.join("app.py"), payload).unwrap();
    repo.git(&["add", "app.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(paths(&json), ["app.py"]);
}

#[test]
fn a_python_named_link_is_judged_by_what_it_points_at() {
    let repo = Repo::new();
    repo.write("data/payload.txt", GOOD);
    std::os::unix::fs::symlink("data/payload.txt", repo.dir.join("app.py")).unwrap();
    repo.commit_all("a link to a harmless payload");
    // Only the payload changes; `import app` now runs dill.loads.
    repo.write("data/payload.txt", BAD);
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(paths(&json), ["app.py"]);
    // A new link to a committed payload.
    repo.commit_all("payload");
    std::fs::create_dir_all(repo.dir.join("lib")).unwrap();
    std::os::unix::fs::symlink("../data/payload.txt", repo.dir.join("lib/mod.py")).unwrap();
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(paths(&json), ["lib/mod.py"]);
    repo.git(&["reset", "-q"]);
    std::fs::remove_file(repo.dir.join("lib/mod.py")).unwrap();
    // Links to links, and every mode that reads the index.
    std::fs::create_dir_all(repo.dir.join("pkg")).unwrap();
    std::os::unix::fs::symlink("../app.py", repo.dir.join("pkg/run.py")).unwrap();
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["pkg/run.py".to_string()]),
        "{json}"
    );
    let (code, json) = repo.json(&["--staged", "pkg/run.py"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["pkg/run.py".to_string()]),
        "{json}"
    );
    let (code, json) = repo.json(&["--all"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["app.py", "pkg/run.py"]);
    // Out of the repository: a warning, never a silent pass.
    repo.commit_all("links");
    std::os::unix::fs::symlink("/usr/lib/python3/evil.py", repo.dir.join("out.py")).unwrap();
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0, "{json}");
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("out.py") && warnings.contains("not a file of the repository"),
        "{json}"
    );
}

#[test]
fn staged_paths_fall_back_to_disk_only_when_git_has_no_entry() {
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::new();
    // A path that is not UTF-8: staged with dill, clean on disk.
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.py");
    std::fs::write(repo.dir.join(name), BAD).unwrap();
    repo.git(&["add", "-A"]);
    std::fs::write(repo.dir.join(name), GOOD).unwrap();
    let out = std::process::Command::new(binary())
        .args(["--staged", "--format", "json"])
        .arg(name)
        .current_dir(&repo.dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains("not in the index"), "{}", text(&out));
    repo.git(&["commit", "-q", "--no-verify", "-m", "x"]);

    // A path in a merge conflict: an error naming it, not the file on disk.
    repo.write("c.py", GOOD);
    repo.commit_all("c");
    repo.git(&["checkout", "-q", "-b", "other"]);
    repo.write("c.py", BAD);
    repo.commit_all("bad c");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("c.py", "x = 2\n");
    repo.commit_all("main c");
    let _ = repo.git_try(&["merge", "-q", "other"]);
    repo.write("c.py", GOOD);
    let (code, json) = repo.json(&["--staged", "c.py"]);
    assert_eq!(code, 2, "{json}");
    assert_eq!(json["errors"][0]["path"], "c.py");
    assert!(json["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("merge conflicts"));
}

#[test]
fn path_mode_follows_python_named_links_inside_the_tree_and_names_what_it_skips() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("payload.txt"), BAD).unwrap();
    std::os::unix::fs::symlink("payload.txt", root.join("app.py")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("out.py")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(root.join("pipe.py"))
        .status()
        .expect("mkfifo is needed for this test");
    assert!(fifo.success());
    let (code, stdout, stderr) = run_in(&root, &["--format", "json", "."]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(paths(&json), ["app.py"]);
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("out.py"), "{warnings}");
    assert!(
        warnings.contains("pipe.py") && warnings.contains("not a regular file"),
        "{warnings}"
    );
    // Named explicitly, a FIFO is said to be one (and never read: that would hang).
    let (code, stdout, _) = run_in(&root, &["--format", "json", "pipe.py"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("not a regular file"), "{stdout}");
}

#[test]
fn a_committed_policy_file_cannot_reach_out_of_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let secret = root.parent().unwrap().join(format!(
        "secret-{}.txt",
        root.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&secret, "API_TOKEN=hunter2-very-secret\n").unwrap();
    std::fs::write(root.join("a.py"), GOOD).unwrap();
    for target in [secret.as_path(), Path::new("/dev/zero")] {
        let _ = std::fs::remove_file(root.join("dill-guard.toml"));
        std::os::unix::fs::symlink(target, root.join("dill-guard.toml")).unwrap();
        let (code, stdout, stderr) = run_in(&root, &["."]);
        assert_eq!(code, 2, "{target:?}: {stdout}{stderr}");
        assert!(
            !stderr.contains("hunter2") && !stdout.contains("hunter2"),
            "{stderr}"
        );
        assert!(stderr.contains("symbolic link"), "{stderr}");
    }
    std::fs::remove_file(&secret).unwrap();
    // A FIFO in the repository: an error, not a hang.
    std::fs::remove_file(root.join("dill-guard.toml")).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(root.join("dill-guard.toml"))
        .status()
        .expect("mkfifo is needed for this test")
        .success());
    let (code, _, stderr) = run_in(&root, &["."]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    // A parse error quotes at most the offending line, cut short and escaped.
    std::fs::remove_file(root.join("dill-guard.toml")).unwrap();
    let long = format!("exclude = [\"{}\x1b[31m", "A".repeat(5_000));
    std::fs::write(root.join("dill-guard.toml"), &long).unwrap();
    let (code, _, stderr) = run_in(&root, &["."]);
    assert_eq!(code, 2);
    assert!(!stderr.contains('\x1b'), "{stderr}");
    assert!(stderr.len() < 2_000, "{stderr}");
}

#[test]
fn file_names_cannot_write_to_the_terminal() {
    let repo = Repo::new();
    let name = "evil\x1b[2J\x1b[31m\nfake: 0 findings — ok\n.py";
    repo.write(name, BAD);
    repo.git(&["add", "-A"]);
    let (code, stdout, stderr) = repo.run(&["--staged", "--color", "never"]);
    assert_eq!(code, 1);
    let shown = stdout + &stderr;
    assert!(!shown.contains('\x1b'), "{shown:?}");
    assert!(!shown.contains("\nfake:"), "{shown:?}");
    assert!(shown.contains("evil\\u{1b}[2J"), "{shown:?}");
}
