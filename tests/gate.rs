//! The server and CI gate: a pre-receive hook on a real bare repository, real `git push`es, and
//! pre-push from clients. What a push carries is judged under the policy the receiving side has
//! already accepted; every commit a ref update makes reachable is judged, whatever objects the
//! server already holds; tags, URLs and odd ref names are ordinary pushes.

mod common;

use common::*;

const ALLOW_ALL: &str = "[[allow]]\npaths = [\"**\"]\nreason = \"trust me\"\n";

#[test]
fn a_push_cannot_bring_the_policy_that_judges_it() {
    let server = Server::new("");
    let repo = &server.client;
    for (name, policy) in [
        ("dill-guard.toml", ALLOW_ALL),
        ("dill-guard.toml", "exclude = [\"**\"]\n"),
        (
            "pyproject.toml",
            "[tool.dill-guard]\nexclude = [\"**/*.py\", \"*.py\"]\n",
        ),
    ] {
        repo.write(name, policy);
        repo.write("loader.py", BAD);
        repo.commit_all("open the gate");
        let before = server.head("main");
        let (ok, shown) = server.push(&["main"]);
        assert!(!ok, "{name}: {policy}\n{shown}");
        assert!(shown.contains("loader.py:5:12"), "{shown}");
        assert!(
            shown.contains("the policy changes in refs/heads/main"),
            "{shown}"
        );
        assert_eq!(server.head("main"), before);
        repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    }

    // A `.dill-guard.toml` that shadows the accepted pyproject.toml is no way around it either.
    repo.write(
        "pyproject.toml",
        "[tool.dill-guard]\n[[tool.dill-guard.allow]]\npaths = [\"legacy/*.py\"]\nreason = \"signed payloads\"\n",
    );
    repo.commit_all("accepted policy");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    repo.write(".dill-guard.toml", ALLOW_ALL);
    repo.write("loader.py", BAD);
    repo.commit_all("shadow");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("loader.py:5:12"), "{shown}");
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);

    // The accepted policy rules: its allow entry lets the legacy file in.
    repo.write("legacy/old.py", BAD);
    repo.commit_all("legacy");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    assert!(shown.contains("1 allowed"), "{shown}");
    // A version bump of pyproject.toml is no change of policy.
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"x\"\n[tool.dill-guard]\n[[tool.dill-guard.allow]]\npaths = [\"legacy/*.py\"]\nreason = \"signed payloads\"\n",
    );
    repo.commit_all("bump");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    assert!(!shown.contains("the policy changes"), "{shown}");
}

#[test]
fn a_policy_pushed_on_one_ref_does_not_open_another() {
    let server = Server::new("");
    let repo = &server.client;
    // One ref carries an allow-everything policy, another in the same push the sink.
    repo.git(&["checkout", "-q", "-b", "policy"]);
    repo.write("dill-guard.toml", ALLOW_ALL);
    repo.commit_all("policy");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("loader.py", BAD);
    repo.commit_all("sink");
    let (ok, shown) = server.push(&["policy", "main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("loader.py:5:12"), "{shown}");
    // A policy change on its own is judged like any other change, and accepted.
    let (ok, shown) = server.push(&["policy:main"]);
    assert!(ok, "a clean policy change is accepted: {shown}");
    assert!(shown.contains("the policy changes"), "{shown}");
    // Once it is accepted on the default branch, new refs take it from there.
    repo.git(&["checkout", "-q", "-b", "next", "origin/main"]);
    repo.write("loader.py", BAD);
    repo.commit_all("sink on next");
    let (ok, shown) = server.push(&["next"]);
    assert!(ok, "{shown}");
    assert!(shown.contains("1 allowed"), "{shown}");
}

#[test]
fn the_operator_policy_wins_over_anything_pushed() {
    let server = Server::new("");
    let policy = server.bare.join("operator.toml");
    std::fs::write(
        &policy,
        "[[allow]]\npaths = [\"vetted/**\"]\nreason = \"reviewed by security\"\n",
    )
    .unwrap();
    server.hook(&format!("--config '{}'", policy.display()));
    let repo = &server.client;
    repo.write("dill-guard.toml", ALLOW_ALL);
    repo.write("vetted/ok.py", BAD);
    repo.commit_all("vetted");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    repo.write("other.py", BAD);
    repo.commit_all("other");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("other.py:5:12"), "{shown}");
}

#[test]
fn moving_a_ref_onto_commits_the_server_already_has_is_judged() {
    let server = Server::new("");
    let repo = &server.client;
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("worker.py", BAD);
    repo.commit_all("worker");
    let (ok, _) = server.without_hook(|| server.push(&["feature"]));
    assert!(ok);
    // `main` moves onto the feature branch: no object is new to the server.
    let before = server.head("main");
    let (ok, shown) = server.push(&["feature:main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("worker.py:5:12"), "{shown}");
    assert_eq!(server.head("main"), before);
    // A new ref at a commit the server already has is compared with the default branch's tip,
    // not with every ref: `feature` was never judged under main's policy.
    let (ok, shown) = server.push(&["feature:refs/heads/copy"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("worker.py:5:12"), "{shown}");
}

#[test]
fn commits_from_an_alternates_pool_are_judged() {
    let server = Server::new("");
    // A pool the server borrows objects from (as forks on hosting services do).
    let pool = server.bare.parent().unwrap().join("pool.git");
    let out = git_command(server.bare.parent().unwrap())
        .args([
            "clone",
            "-q",
            "--bare",
            server.bare.to_str().unwrap(),
            pool.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let repo = &server.client;
    repo.write("pooled.py", BAD);
    repo.commit_all("pooled");
    repo.git(&[
        "push",
        "-q",
        pool.to_str().unwrap(),
        "main:refs/heads/pooled",
    ]);
    std::fs::write(
        server.bare.join("objects/info/alternates"),
        format!("{}\n", pool.join("objects").display()),
    )
    .unwrap();
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("pooled.py:5:12"), "{shown}");
}

#[test]
fn tags_are_peeled_to_their_commits() {
    let server = Server::new("");
    let repo = &server.client;
    repo.git(&["tag", "-a", "v1", "-m", "release"]);
    repo.git(&["tag", "light"]);
    let (ok, shown) = server.push(&["v1", "light"]);
    assert!(ok, "{shown}");
    // A branch with --follow-tags and a clean annotated tag.
    repo.write("b.py", GOOD);
    repo.commit_all("b");
    repo.git(&["tag", "-a", "v2", "-m", "release 2"]);
    let (ok, shown) = server.push(&["--follow-tags", "main"]);
    assert!(ok, "{shown}");
    assert!(server.head("refs/tags/v2").is_some());
    // A tag on a commit that adds a sink, and a tag of a tag of it.
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("side.py", BAD);
    repo.commit_all("side");
    repo.git(&["tag", "-a", "bad", "-m", "bad"]);
    repo.git(&["tag", "-a", "worse", "-m", "worse", "bad"]);
    for tag in ["bad", "worse"] {
        let (ok, shown) = server.push(&[tag]);
        assert!(!ok, "{tag}: {shown}");
        assert!(shown.contains("side.py:5:12"), "{shown}");
    }
    repo.git(&["tag", "light-bad"]);
    let (ok, shown) = server.push(&["light-bad"]);
    assert!(!ok, "{shown}");
    // Updating a tag (forced) is compared with what it named before.
    repo.git(&["checkout", "-q", "main"]);
    let (ok, shown) = server.push(&["-f", "HEAD:refs/tags/v1"]);
    assert!(ok, "{shown}");
}

#[test]
fn ref_names_that_are_not_utf8_are_fine() {
    let server = Server::new("");
    let repo = &server.client;
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::OsStr::from_bytes(b"HEAD:refs/heads/caf\xe9");
    let out = git_command(&repo.dir)
        .args(["push", "--no-verify", "origin"])
        .arg(name)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    repo.write("loader.py", BAD);
    repo.commit_all("sink");
    let out = git_command(&repo.dir)
        .args(["push", "--no-verify", "origin"])
        .arg(std::ffi::OsStr::from_bytes(b"HEAD:refs/heads/caf\xe9"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("loader.py:5:12"), "{}", text(&out));
    // The same from the client's pre-push hook.
    let (code, _, stderr) = repo.run(&["install", "--hook", "pre-push"]);
    assert_eq!(code, 0, "{stderr}");
    let out = git_command(&repo.dir)
        .args(["push", "origin"])
        .arg(std::ffi::OsStr::from_bytes(b"HEAD:refs/heads/na\xefve"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(
        shown.contains("loader.py:5:12") && shown.contains("push blocked"),
        "{shown}"
    );
}

#[test]
fn pushes_to_a_url_work() {
    let server = Server::new("");
    let repo = &server.client;
    let (code, _, stderr) = repo.run(&["install", "--hook", "pre-push"]);
    assert_eq!(code, 0, "{stderr}");
    let url = server.bare.to_str().unwrap().to_string();
    // A URL of a configured remote: compared with what that remote is known to have.
    repo.write("b.py", GOOD);
    repo.commit_all("b");
    let out = repo.git_try(&["push", &url, "main"]);
    assert!(out.status.success(), "{}", text(&out));
    // A URL no remote names: the whole pushed history is judged.
    let other = bare_repository(server.bare.parent().unwrap(), "other.git");
    let out = repo.git_try(&["push", other.to_str().unwrap(), "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("2 files checked"), "{}", text(&out));
    repo.write("loader.py", BAD);
    repo.commit_all("sink");
    // A relative path, as `git push ../server.git` spells it.
    let up = repo.dir.components().count() - 1;
    let relative = format!("{}{}", "../".repeat(up), url.trim_start_matches('/'));
    for target in [url.as_str(), other.to_str().unwrap(), relative.as_str()] {
        let out = git_command(&repo.dir)
            .args(["push", target, "main"])
            .output()
            .unwrap();
        let shown = text(&out);
        assert!(!out.status.success(), "{target}: {shown}");
        assert!(shown.contains("loader.py:5:12"), "{target}: {shown}");
    }
}

#[test]
fn a_first_push_of_a_new_repository_is_judged_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repository(tmp.path(), "empty.git");
    let repo = Repo::new();
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let (code, _, stderr) = repo.run(&["install", "--hook", "pre-push"]);
    assert_eq!(code, 0, "{stderr}");
    repo.write("dill-guard.toml", ALLOW_ALL);
    repo.write("loader.py", BAD);
    repo.commit_all("root");
    let out = repo.git_try(&["push", "origin", "main"]);
    let shown = text(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(shown.contains("loader.py:5:12"), "{shown}");
    assert!(shown.contains("the policy changes"), "{shown}");
}

#[test]
fn a_mirror_push_of_many_refs_is_judged_once_per_new_file() {
    let server = Server::new("");
    let repo = &server.client;
    for i in 0..300 {
        repo.write(&format!("m{}.py", i % 7), &format!("x = {i}\n"));
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "--no-verify", "-m", &format!("c{i}")]);
        repo.git(&["tag", &format!("t{i}")]);
        if i == 150 {
            repo.write("mid.py", BAD);
            repo.git(&["add", "-A"]);
            repo.git(&["commit", "-q", "--no-verify", "-m", "mid"]);
            repo.git(&["tag", "-a", "mid", "-m", "mid"]);
            repo.git(&["rm", "-q", "mid.py"]);
            repo.git(&["commit", "-q", "--no-verify", "-m", "gone"]);
        }
    }
    let (ok, shown) = server.push(&["--mirror"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("mid.py:5:12"), "{shown}");
    // Without the tag that holds it, the same history passes: files are judged at each tip.
    repo.git(&["tag", "-d", "mid"]);
    let (ok, shown) = server.push(&["--mirror"]);
    assert!(ok, "{shown}");
}

#[test]
fn a_push_that_inflates_to_hundreds_of_megabytes_is_refused_within_bounds() {
    // The server's hook runs under an address-space limit far below what holding (let alone
    // parsing) the pushed file would take.
    let server = Server::new("");
    write_hook(
        &server.bare.join("hooks/pre-receive"),
        &format!(
            "#!/bin/sh\nulimit -v 1048576\nexec '{}' --pre-receive --color never\n",
            binary()
        ),
    );
    let repo = &server.client;
    let mut bomb = b"import dill\n".to_vec();
    bomb.extend(b"x=1\n".repeat(50 << 20));
    std::fs::write(repo.dir.join("bomb.py"), &bomb).unwrap();
    drop(bomb);
    repo.git(&["add", "bomb.py"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "bomb"]);
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(
        shown.contains("bomb.py") && shown.contains("more than the 64.0 MiB dill-guard reads"),
        "{shown}"
    );
    for word in [
        "panicked",
        "overflow",
        "internal error",
        "memory allocation",
    ] {
        assert!(!shown.contains(word), "{shown}");
    }
}

#[test]
fn a_pushed_python_named_link_is_judged_by_its_target() {
    let server = Server::new("");
    let repo = &server.client;
    repo.write("data/payload.txt", BAD);
    std::os::unix::fs::symlink("data/payload.txt", repo.dir.join("app.py")).unwrap();
    repo.commit_all("link");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("app.py:5:12"), "{shown}");
    // The same through --range.
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["app.py".to_string()]),
        "{json}"
    );
    // A link out of the repository is an error naming it.
    std::os::unix::fs::symlink("/usr/lib/python3/x.py", repo.dir.join("out.py")).unwrap();
    repo.commit_all("out");
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(
        (code, &json["errors"][0]["path"]),
        (2, &"out.py".into()),
        "{json}"
    );
}

#[test]
fn a_link_pushed_first_and_its_payload_later_is_caught() {
    let server = Server::new("");
    let repo = &server.client;
    repo.write("data/payload.txt", GOOD);
    std::os::unix::fs::symlink("data/payload.txt", repo.dir.join("app.py")).unwrap();
    repo.commit_all("a link to something harmless");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    // The next push changes only the payload.
    repo.write("data/payload.txt", BAD);
    repo.commit_all("payload");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("app.py:5:12"), "{shown}");
}

/// A push that only turns a shim to dill is refused for the code already on the server that
/// imports it (`from pkg.compat import codec; codec.loads(b)`, accepted while the shim held
/// json).
#[test]
fn a_push_that_turns_a_shim_to_dill_is_judged_with_its_users() {
    let server = Server::new("");
    let client = &server.client;
    client.write("pkg/__init__.py", "");
    client.write("pkg/compat.py", "import json as codec\n");
    client.write("app.py", "from pkg.compat import codec\n\ncodec.loads(b)\n");
    client.commit_all("users");
    let (accepted, shown) = server.push(&["main"]);
    assert!(accepted, "{shown}");
    client.write("pkg/compat.py", "import dill as codec\n");
    client.commit_all("turn");
    let (accepted, shown) = server.push(&["main"]);
    assert!(!accepted, "{shown}");
    assert!(shown.contains("app.py:3:1"), "{shown}");
}

/// Builds the two link layouts where reading a link's target as text names the wrong file:
/// `app/loader.py -> ../sub/../payload.txt` with `sub -> x/y` (the kernel opens
/// `x/payload.txt`; as text it is the clean `payload.txt` at the root), and
/// `app/mod.py -> ../lib/payload.txt` with `lib -> vendor`, a target reached through a
/// directory link. `python3 app/loader.py` runs `x/payload.txt`, `python3 app/mod.py`
/// `vendor/payload.txt`.
fn links_through_directories(repo: &Repo) {
    use std::os::unix::fs::symlink;
    repo.write("payload.txt", GOOD);
    repo.write("x/payload.txt", BAD);
    repo.write("x/y/keep.txt", "");
    repo.write("vendor/payload.txt", BAD);
    symlink("x/y", repo.dir.join("sub")).unwrap();
    symlink("vendor", repo.dir.join("lib")).unwrap();
    std::fs::create_dir_all(repo.dir.join("app")).unwrap();
    symlink("../sub/../payload.txt", repo.dir.join("app/loader.py")).unwrap();
    symlink("../lib/payload.txt", repo.dir.join("app/mod.py")).unwrap();
}

#[test]
fn links_are_resolved_as_the_kernel_opens_them() {
    let server = Server::new("");
    let repo = &server.client;
    links_through_directories(repo);
    repo.git(&["add", "-A"]);
    let want = vec!["app/loader.py".to_string(), "app/mod.py".to_string()];
    for mode in [&["--staged"][..], &["--all"]] {
        let (code, json) = repo.json(mode);
        assert_eq!((code, paths(&json)), (1, want.clone()), "{mode:?}: {json}");
    }
    repo.commit_all("links through directory links");
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!((code, paths(&json)), (1, want.clone()), "{json}");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(
        shown.contains("app/loader.py") && shown.contains("app/mod.py"),
        "{shown}"
    );
}

/// The link and its target stay as they were; only a directory link on the way changes, and
/// with it the file the kernel opens.
#[test]
fn a_directory_link_changed_under_an_unchanged_link_is_judged() {
    use std::os::unix::fs::symlink;
    let server = Server::new("");
    let repo = &server.client;
    repo.write("safe/payload.txt", GOOD);
    repo.write("vendor/payload.txt", BAD);
    symlink("safe", repo.dir.join("lib")).unwrap();
    std::fs::create_dir_all(repo.dir.join("app")).unwrap();
    symlink("../lib/payload.txt", repo.dir.join("app/mod.py")).unwrap();
    repo.commit_all("a link through a directory link to something harmless");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    std::fs::remove_file(repo.dir.join("lib")).unwrap();
    symlink("vendor", repo.dir.join("lib")).unwrap();
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["app/mod.py".to_string()]),
        "{json}"
    );
    // As a hook manager names it: only the directory link changed.
    let (code, json) = repo.json(&["--staged", "--", "lib"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["app/mod.py".to_string()]),
        "{json}"
    );
    repo.commit_all("swap the directory link");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("app/mod.py"), "{shown}");
}

/// A Python-named link that leads out of the repository, to nothing, or through a file blocks
/// in every gate mode: what Python would run there is nowhere in what is judged.
#[test]
fn a_link_that_leaves_the_repository_blocks_the_gate() {
    use std::os::unix::fs::symlink;
    let server = Server::new("");
    let repo = &server.client;
    symlink("/usr/lib/python3/x.py", repo.dir.join("out.py")).unwrap();
    symlink("../../elsewhere/x.py", repo.dir.join("up.py")).unwrap();
    symlink("a.py/x.py", repo.dir.join("through.py")).unwrap();
    symlink("missing.txt", repo.dir.join("gone.py")).unwrap();
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 2, "{json}");
    let errors: Vec<String> = json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        errors,
        ["gone.py", "out.py", "through.py", "up.py"],
        "{json}"
    );
    repo.commit_all("links out");
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 2, "{json}");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(
        shown.contains("out.py") && shown.contains("symbolic link"),
        "{shown}"
    );
}

/// `refs/replace/<clean blob>` pointing at a blob with a sink: once the server holds it,
/// `git show main:a.py`, `git archive` and checkouts on the server read the sink at a path the
/// gate judged clean. The push is refused (in pre-push too); a deletion passes.
#[test]
fn a_replace_ref_is_refused() {
    let server = Server::new("");
    let repo = &server.client;
    let clean = repo.git(&["rev-parse", "HEAD:a.py"]).trim().to_string();
    std::fs::write(repo.dir.join("bad.txt"), BAD).unwrap();
    let bad = repo
        .git(&["hash-object", "-w", "bad.txt"])
        .trim()
        .to_string();
    std::fs::remove_file(repo.dir.join("bad.txt")).unwrap();
    repo.git(&["replace", &clean, &bad]);
    let (ok, shown) = server.push(&["refs/replace/*:refs/replace/*"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("replace ref"), "{shown}");
    let show = git_command(&server.bare)
        .args(["show", "main:a.py"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&show.stdout), GOOD);
    // The same judgement before the push leaves the client, in its pre-push hook.
    let (code, _, stderr) = repo.run(&["install", "--hook", "pre-push"]);
    assert_eq!(code, 0, "{stderr}");
    let out = repo.git_try(&["push", "origin", "refs/replace/*:refs/replace/*"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("replace ref"), "{}", text(&out));
    assert_eq!(server.head(&format!("refs/replace/{clean}")), None);
    // A commit or tree replacement is refused the same way.
    let head = repo.head();
    repo.write("a.py", BAD);
    repo.commit_all("sink");
    let sink = repo.head();
    repo.git(&["replace", "-f", &head, &sink]);
    let (ok, shown) = server.push(&["refs/replace/*:refs/replace/*"]);
    assert!(!ok, "{shown}");
    // One the operator made on the server can be deleted by a push.
    server.without_hook(|| server.push(&["-f", "refs/replace/*:refs/replace/*"]));
    let (ok, shown) = server.push(&[&format!(":refs/replace/{head}")]);
    assert!(ok, "{shown}");
}

/// Only a directory link on the way changes, and it now leads out of the repository: the
/// unchanged Python-named link runs whatever is there.
#[test]
fn a_directory_link_swapped_to_outside_under_an_unchanged_link_blocks() {
    use std::os::unix::fs::symlink;
    let server = Server::new("");
    let repo = &server.client;
    repo.write("safe/payload.txt", GOOD);
    symlink("safe", repo.dir.join("lib")).unwrap();
    std::fs::create_dir_all(repo.dir.join("app")).unwrap();
    symlink("../lib/payload.txt", repo.dir.join("app/mod.py")).unwrap();
    repo.commit_all("a link through a directory link");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    std::fs::remove_file(repo.dir.join("lib")).unwrap();
    symlink("/opt/elsewhere", repo.dir.join("lib")).unwrap();
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, &json["errors"][0]["path"]),
        (2, &"app/mod.py".into()),
        "{json}"
    );
    repo.commit_all("lib leads out");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("app/mod.py"), "{shown}");
}
