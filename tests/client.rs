//! No silent pass on the developer's machine: commits that used to land with a dill sink and
//! "0 files checked — ok", each tried with real git in a temporary repository.

mod common;

use std::path::Path;

use common::*;

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
    // Shown from the directory the hook changed to.
    assert!(shown.contains("--> loader.py:5:12"), "{shown}");
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
    // As a hook manager calls it, naming only the changed file.
    let (code, json) = repo.json(&["--staged", "--", "data/payload.txt"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["app.py".to_string()]),
        "{json}"
    );
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
    // Out of the repository: an error, never a silent pass.
    repo.commit_all("links");
    std::os::unix::fs::symlink("/usr/lib/python3/evil.py", repo.dir.join("out.py")).unwrap();
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 2, "{json}");
    let errors = json["errors"].to_string();
    assert!(
        errors.contains("out.py") && errors.contains("not lead to a file of the repository"),
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
    // The concise format is read in terminals too.
    for format in ["human", "concise"] {
        let (code, stdout, stderr) =
            repo.run(&["--staged", "--color", "never", "--format", format]);
        assert_eq!(code, 1);
        let shown = stdout + &stderr;
        assert!(!shown.contains('\x1b'), "{format}: {shown:?}");
        assert!(!shown.contains("\nfake:"), "{format}: {shown:?}");
        assert!(shown.contains("evil\\u{1b}[2J"), "{format}: {shown:?}");
    }
}

fn hook_path(repo: &Repo) -> std::path::PathBuf {
    repo.dir.join(".git/hooks/pre-commit")
}

#[test]
fn install_keeps_links_as_links() {
    let repo = Repo::new();
    repo.write("scripts/hook.sh", "#!/bin/sh\necho OLD HOOK RAN\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        repo.dir.join("scripts/hook.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::create_dir_all(repo.dir.join(".git/hooks")).unwrap();
    std::os::unix::fs::symlink("../../scripts/hook.sh", hook_path(&repo)).unwrap();
    let (code, _, stderr) = repo.run(&["install", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = repo.run(&["uninstall"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_link(hook_path(&repo)).unwrap(),
        Path::new("../../scripts/hook.sh")
    );
    // A link to nothing is a hook too: never replaced without a backup.
    std::fs::remove_file(hook_path(&repo)).unwrap();
    std::os::unix::fs::symlink("../../scripts/gone.sh", hook_path(&repo)).unwrap();
    let (code, _, _) = repo.run(&["install"]);
    assert_eq!(code, 2);
    let (code, _, stderr) = repo.run(&["install", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, _) = repo.run(&["uninstall"]);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_link(hook_path(&repo)).unwrap(),
        Path::new("../../scripts/gone.sh")
    );
}

#[test]
fn chaining_always_ends_in_a_working_hook() {
    let repo = Repo::new();
    repo.write("a.py", GOOD);
    repo.commit_all("base");
    write_hook(&hook_path(&repo), "#!/bin/sh\necho OLD HOOK RAN\n");
    // --force, then --chain: the hook kept aside by --force becomes the one run first.
    assert_eq!(repo.run(&["install", "--force"]).0, 0);
    let (code, stdout, stderr) = repo.run(&["install", "--chain"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    repo.write("b.py", GOOD);
    repo.git(&["add", "b.py"]);
    let out = repo.git_try(&["commit", "-m", "b"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("OLD HOOK RAN"), "{}", text(&out));
    assert_eq!(repo.run(&["uninstall"]).0, 0);

    // --chain over a hook that is not executable (git ignores it): commits still work.
    std::fs::write(hook_path(&repo), "#!/bin/sh\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(hook_path(&repo), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(repo.run(&["install", "--chain"]).0, 0);
    repo.write("c.py", GOOD);
    repo.git(&["add", "c.py"]);
    let out = repo.git_try(&["commit", "-m", "c"]);
    assert!(out.status.success(), "{}", text(&out));
    repo.write("d.py", BAD);
    repo.git(&["add", "d.py"]);
    let out = repo.git_try(&["commit", "-m", "d"]);
    assert!(
        !out.status.success(),
        "the chained hook still blocks: {}",
        text(&out)
    );
    repo.git(&["reset", "-q", "d.py"]);
    assert_eq!(repo.run(&["uninstall"]).0, 0);

    // Many installs at once: each finishes or refuses; the hook left behind works.
    write_hook(&hook_path(&repo), "#!/bin/sh\necho OLD HOOK RAN\n");
    let children: Vec<_> = (0..16)
        .map(|i| {
            std::process::Command::new(binary())
                .args(["install", if i % 2 == 0 { "--chain" } else { "--force" }])
                .current_dir(&repo.dir)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let code = out.status.code();
        assert!(code == Some(0) || code == Some(2), "{out:?}");
    }
    repo.write("e.py", GOOD);
    repo.git(&["add", "e.py"]);
    let out = repo.git_try(&["commit", "-m", "e"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn husky_gets_the_line_to_add() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.dir.join(".husky/_")).unwrap();
    repo.git(&["config", "core.hooksPath", ".husky/_"]);
    let (code, _, stderr) = repo.run(&["install"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("husky")
            && stderr.contains(".husky/pre-commit")
            && stderr.contains("dill-guard --staged"),
        "{stderr}"
    );
    assert!(!repo.dir.join(".husky/_/pre-commit").exists());
}

#[test]
fn output_that_cannot_be_written_is_no_crash() {
    let repo = Repo::new();
    repo.write("a.py", BAD);
    repo.git(&["add", "a.py"]);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full is needed for this test");
    // A usage error whose message cannot be written: still exit 2, no abort.
    let out = std::process::Command::new(binary())
        .arg("--bogus")
        .stderr(full.try_clone().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A report that cannot be written: still the exit status of the check... and the error
    // about stdout goes to a stderr that cannot be written either.
    let out = std::process::Command::new(binary())
        .arg("--staged")
        .current_dir(&repo.dir)
        .stdout(full.try_clone().unwrap())
        .stderr(full.try_clone().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // install with stdout unwritable: the hook is written, and it says nothing false.
    let out = std::process::Command::new(binary())
        .arg("install")
        .current_dir(&repo.dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("internal error"), "{}", text(&out));
    assert!(hook_path(&repo).exists());
    // A hooks directory that cannot be written is said to be so (as root, permissions stop
    // nothing: a directory that would have to be made inside a file does).
    repo.write("blocker", "a file\n");
    repo.git(&["config", "core.hooksPath", "blocker/hooks"]);
    let (code, _, stderr) = repo.run(&["install"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot write"), "{stderr}");
}

#[test]
fn small_things_that_used_to_pass_quietly() {
    let repo = Repo::new();
    repo.write("a.py", BAD);
    repo.git(&["add", "a.py"]);
    // A reason of nothing visible is no reason; a date with a sign is no date.
    for (policy, key) in [
        (
            "[[allow]]\npaths = [\"a.py\"]\nreason = \"\u{200b}\"\n",
            "reason",
        ),
        (
            "[[allow]]\npaths = [\"a.py\"]\nreason = \"ok\"\nexpires = \"2099-+1-01\"\n",
            "expires",
        ),
    ] {
        repo.write("dill-guard.toml", policy);
        repo.git(&["add", "dill-guard.toml"]);
        let (code, _, stderr) = repo.run(&["--staged"]);
        assert_eq!(code, 2, "{policy}");
        assert!(stderr.contains(key), "{stderr}");
    }
    repo.git(&["rm", "-q", "--cached", "dill-guard.toml"]);
    // A date fixed wrongly is an error, not the real clock.
    let out = std::process::Command::new(binary())
        .arg("--staged")
        .current_dir(&repo.dir)
        .env("DILL_GUARD_TODAY", "tomorrow")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("DILL_GUARD_TODAY"), "{}", text(&out));
    // A file whose name starts with `-`, as the framework passes it (after the entry's `--`).
    repo.write("-dash.py", BAD);
    repo.git(&["add", "--", "-dash.py"]);
    let (code, json) = repo.json(&["--staged", "--", "-dash.py"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["-dash.py".to_string()]),
        "{json}"
    );
    // --all and --staged in a bare repository: no index to read, and it says so.
    repo.commit_all("x");
    let tmp = tempfile::tempdir().unwrap();
    let bare = tmp.path().join("bare.git");
    repo.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    for mode in ["--all", "--staged"] {
        let (code, _, stderr) = run_in(&bare, &[mode]);
        assert_eq!(code, 2, "{mode}: {stderr}");
        assert!(stderr.contains("bare repository"), "{stderr}");
    }
}

#[test]
fn reftable_repositories_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let out = git_command(tmp.path())
        .args(["init", "-q", "--ref-format=reftable", "rt"])
        .output()
        .unwrap();
    if !out.status.success() {
        panic!("this git cannot make reftable repositories: {}", text(&out));
    }
    let dir = tmp.path().join("rt");
    std::fs::write(dir.join("a.py"), BAD).unwrap();
    let (code, _, stderr) = run_in(&dir, &["--staged"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("reftable"), "{stderr}");
}

#[test]
fn new_only_keeps_findings_whose_resolution_the_change_touched() {
    // Each "after" was run under CPython with a recording `dill` module: `f(b)` calls
    // dill.loads. Only the binding changes; the line of the call does not.
    let cases = [
        (
            "import pickle\n\n\ndef f(b):\n    return pickle.loads(b)\n",
            "import dill as pickle\n\n\ndef f(b):\n    return pickle.loads(b)\n",
        ),
        (
            "import json\nimport dill\n\nloader = json.loads\n\n\ndef f(b):\n    return loader(b)\n",
            "import json\nimport dill\n\nloader = dill.loads\n\n\ndef f(b):\n    return loader(b)\n",
        ),
        (
            "import json\nimport dill\ndill = json\n\n\ndef f(b):\n    return dill.loads(b)\n",
            "import json\nimport dill\n\n\ndef f(b):\n    return dill.loads(b)\n",
        ),
    ];
    for (before, after) in cases {
        let repo = Repo::new();
        repo.write("app.py", before);
        repo.commit_all("before");
        repo.write("app.py", after);
        repo.git(&["add", "app.py"]);
        let (code, json) = repo.json(&["--staged", "--new-only"]);
        assert_eq!(code, 1, "{after}\n{json}");
    }
    // An unrelated binding changes nothing for an old finding.
    let repo = Repo::new();
    let legacy = "import dill\n\n\ndef f(b):\n    return dill.loads(b)\n\n\nLIMIT = 1\n";
    repo.write("app.py", legacy);
    repo.commit_all("legacy");
    repo.write("app.py", &legacy.replace("LIMIT = 1", "LIMIT = 2"));
    repo.git(&["add", "app.py"]);
    let (code, json) = repo.json(&["--staged", "--new-only"]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn lone_carriage_returns_end_lines_as_python_counts_them() {
    // CPython's ast puts the call on line 4, column 12.
    let repo = Repo::new();
    let text = "import dill\r\rdef f(b):\r    return dill.loads(b)\r";
    repo.write("cr.py", text);
    repo.git(&["add", "cr.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(
        (
            json["findings"][0]["line"].as_u64(),
            json["findings"][0]["column"].as_u64()
        ),
        (Some(4), Some(12))
    );
    // --new-only counts the same lines: a file new to HEAD keeps its finding; an old one whose
    // line is untouched drops it.
    repo.commit_all("cr");
    repo.write("cr.py", &format!("{text}X = 1\r"));
    repo.git(&["add", "cr.py"]);
    let (code, json) = repo.json(&["--staged", "--new-only"]);
    assert_eq!(code, 0, "{json}");
    repo.write("cr.py", &text.replace("f(b)", "f(b, c=None)"));
    repo.git(&["add", "cr.py"]);
    let (code, json) = repo.json(&["--staged", "--new-only"]);
    assert_eq!(code, 1, "{json}");
}

#[test]
fn a_notebook_cell_split_across_source_strings_is_read_joined() {
    // Jupyter joins a cell's source list as it is: this cell is `import dill` and
    // `dill.loads(b)`.
    let notebook = r#"{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
        "execution_count": null,
        "source": ["import di", "ll\n", "di", "ll.lo", "ads(b)\n"]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#;
    let repo = Repo::new();
    repo.write("split.ipynb", notebook);
    repo.git(&["add", "split.ipynb"]);
    for mode in [&["--staged"][..], &["--all"], &["."]] {
        let (code, json) = repo.json(mode);
        assert_eq!(code, 1, "{mode:?}: {json}");
        assert_eq!(json["findings"][0]["cell"], 1, "{json}");
        assert_eq!(json["findings"][0]["line"], 2, "{json}");
    }
}

#[test]
fn notebook_magics_that_run_python_are_analysed() {
    // IPython runs the statement after `%time` and the body of `%%python3`; `len?` asks for
    // help and is no syntax error.
    let notebook = r#"{"cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
         "source": ["import dill\n", "len?\n", "%time model = dill.load(f)\n"]},
        {"cell_type": "markdown", "metadata": {}, "source": ["notes"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
         "source": ["%%python3\n", "import dill\n", "dill.loads(b)\n"]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#;
    let repo = Repo::new();
    repo.write("magic.ipynb", notebook);
    repo.git(&["add", "magic.ipynb"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    let found: Vec<(u64, u64, u64, bool)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["cell"].as_u64().unwrap(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["degraded"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(found, [(1, 3, 15, false), (3, 3, 1, false)], "{json}");
}

#[test]
fn a_degraded_notebook_names_the_cell_by_its_index() {
    // The syntax error is in the third cell of `cells` (the second code cell).
    let notebook = r#"{"cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
         "source": ["import dill\n"]},
        {"cell_type": "markdown", "metadata": {}, "source": ["notes"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
         "source": ["x = (\n", "dill.loads(b)\n"]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#;
    let repo = Repo::new();
    repo.write("broken.ipynb", notebook);
    repo.git(&["add", "broken.ipynb"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    let warning = json["warnings"][0]["message"].as_str().unwrap();
    assert!(warning.contains("(cell 3, line"), "{warning}");
    // A plain file keeps its line, counted as Python counts lines.
    repo.write("bad.py", "import dill\rx = (\rdill.loads(b)\r");
    repo.git(&["add", "bad.py"]);
    let (_, json) = repo.json(&["--staged", "bad.py"]);
    let warning = json["warnings"][0]["message"].as_str().unwrap();
    assert!(warning.contains("(line 4:"), "{warning}");
}

#[test]
fn human_paths_are_shown_from_the_current_directory() {
    let repo = Repo::new();
    repo.write("app/main.py", BAD);
    repo.write("lib/codec.py", BAD);
    repo.git(&["add", "-A"]);
    let app = repo.dir.join("app");
    let (code, stdout, _) = run_in(&app, &["--staged", "--color", "never"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("--> main.py:5:12"), "{stdout}");
    assert!(stdout.contains("--> ../lib/codec.py:5:12"), "{stdout}");
    let (_, stdout, _) = run_in(&app, &["--staged", "--format", "concise"]);
    assert!(stdout.contains("../lib/codec.py:5:12:"), "{stdout}");
    // Machine formats stay relative to the repository root.
    let (_, json) = json_in(&app, &["--staged"]);
    assert_eq!(paths(&json), ["app/main.py", "lib/codec.py"]);
}
