//! Who may relax the gate. A pre-receive hook on a real bare repository, real `git push`es:
//! a push cannot relax the policy that judges it, nor launder content accepted under a wider
//! policy into a ref ruled by a stricter one; a policy that cannot be read is refused when it is
//! pushed and locks nothing when it is already in force; the operator's switches
//! (`--policy-changes block`, `--inline-allows refuse`) make relaxing it take the operator.
//! And on the client: a hook manager names one ref of a push, and every ref the push may carry
//! is judged. Normal work (tags, merges, a mirror of hundreds of refs, a pull request's range)
//! still passes, quickly.

mod common;

use std::time::Instant;

use common::*;

const ALLOW_APP: &str = "[[allow]]\npaths = [\"app/**\"]\nreason = \"internal queue\"\n";

/// Attack (a): the first push widens the policy (a warning only the pusher sees), the second
/// lands the sink under it. With `--policy-changes block` the first is refused.
#[test]
fn a_push_that_widens_the_policy_is_refused_under_policy_changes_block() {
    let server = Server::new("--policy-changes block");
    let repo = &server.client;
    repo.write("b.py", GOOD);
    repo.commit_all("clean work");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "a clean push passes under the hardened hook:\n{shown}");

    repo.write("dill-guard.toml", ALLOW_APP);
    repo.commit_all("relax");
    let before = server.head("main");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(
        shown.contains("error[policy-change]: dill-guard.toml: refs/heads/main widens the policy"),
        "{shown}"
    );
    assert!(
        shown.contains("[[allow]] for app/** (\"internal queue\") is new"),
        "{shown}"
    );
    assert!(shown.contains("1 policy change"), "{shown}");
    assert_eq!(server.head("main"), before);
    // The second push of the attack carries both: still refused, for both reasons.
    repo.write("app/x.py", BAD);
    repo.commit_all("sink");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("app/x.py:5:12"), "{shown}");
    assert!(shown.contains("widens the policy"), "{shown}");
    assert_eq!(server.head("main"), before);
    // A new ref is compared with the policy it would be judged under: the default branch's.
    let (ok, shown) = server.push(&["main:refs/heads/elsewhere"]);
    assert!(!ok, "{shown}");
    assert!(
        shown.contains("refs/heads/elsewhere widens the policy"),
        "{shown}"
    );

    // The operator lands a policy; narrowing it, or rewording a reason, passes.
    repo.git(&["reset", "-q", "--hard", "origin/main"]);
    repo.write(
        "dill-guard.toml",
        "extend-exclude = [\"vendor/**\"]\n\n[[allow]]\npaths = [\"app/**\", \"jobs/**\"]\nreason = \"internal queue\"\napis = [\"dill.loads\"]\nexpires = \"2030-01-01\"\nunless-reachable = \"local-file\"\n",
    );
    repo.commit_all("operator's policy");
    let (ok, shown) = server.without_hook(|| server.push(&["main"]));
    assert!(ok, "{shown}");
    repo.write(
        "dill-guard.toml",
        "extend-exclude = [\"vendor/**\"]\n\n[[allow]]\npaths = [\"app/**\"]\nreason = \"internal queue, signed\"\napis = [\"dill.loads\"]\nexpires = \"2029-01-01\"\nunless-reachable = \"local-file\"\n",
    );
    repo.commit_all("narrow");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "narrowing is no widening:\n{shown}");
    assert!(shown.contains("the policy changes"), "{shown}");

    // Each way of widening is named.
    for (policy, named) in [
        (
            "extend-exclude = [\"vendor/**\", \"app/**\"]\n\n[[allow]]\npaths = [\"app/**\"]\nreason = \"r\"\napis = [\"dill.loads\"]\nexpires = \"2029-01-01\"\nunless-reachable = \"local-file\"\n",
            "a new exclude glob `app/**`",
        ),
        (
            "extend-exclude = [\"vendor/**\"]\n\n[[allow]]\npaths = [\"app/**\"]\nreason = \"r\"\napis = [\"dill.loads\"]\nexpires = \"2031-01-01\"\nunless-reachable = \"local-file\"\n",
            "expires 2031-01-01 (was 2029-01-01)",
        ),
        (
            "extend-exclude = [\"vendor/**\"]\n\n[[allow]]\npaths = [\"app/**\"]\nreason = \"r\"\napis = [\"dill.loads\"]\nexpires = \"2029-01-01\"\n",
            "no `unless-reachable` (was local-file)",
        ),
        (
            "extend-exclude = [\"vendor/**\"]\n\n[[allow]]\npaths = [\"app/**\"]\nreason = \"r\"\nexpires = \"2029-01-01\"\nunless-reachable = \"local-file\"\n",
            "APIs every sink (was dill.loads)",
        ),
        (
            "extend-exclude = [\"vendor/**\"]\nnew-only = true\n\n[[allow]]\npaths = [\"app/**\"]\nreason = \"r\"\napis = [\"dill.loads\"]\nexpires = \"2029-01-01\"\nunless-reachable = \"local-file\"\n",
            "`new-only = true`",
        ),
    ] {
        repo.write("dill-guard.toml", policy);
        repo.commit_all("widen");
        let (ok, shown) = server.push(&["main"]);
        assert!(!ok, "{policy}\n{shown}");
        assert!(shown.contains(named), "{named}:\n{shown}");
        repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    }

    // Without the switch the widening is told, not blocked (the default).
    server.hook("");
    repo.write("dill-guard.toml", ALLOW_APP);
    repo.commit_all("relax");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    assert!(
        shown.contains("the policy changes in refs/heads/main"),
        "{shown}"
    );
}

/// Attack (b): relax the policy on a side branch, land the sink there, drop the allow again,
/// then have a new ref (a tag, a recreated branch) come to hold those commits: everything it
/// holds was already on the server, "nothing new". The new ref is judged under the default
/// branch's policy against what the default branch holds, so the sink is found.
#[test]
fn content_laundered_through_a_relaxed_side_branch_is_judged_again() {
    let server = Server::new("");
    let repo = &server.client;
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("dill-guard.toml", ALLOW_APP);
    repo.commit_all("relax on a side branch");
    let (ok, shown) = server.push(&["side"]);
    assert!(ok, "{shown}");
    repo.write("app/x.py", BAD);
    repo.commit_all("sink");
    let (ok, shown) = server.push(&["side"]);
    assert!(ok, "accepted under the side branch's own policy:\n{shown}");
    assert!(shown.contains("1 allowed"), "{shown}");
    repo.git(&["rm", "-q", "dill-guard.toml"]);
    repo.commit_all("drop the allow");
    let (ok, shown) = server.push(&["side"]);
    assert!(ok, "{shown}");

    // Every commit is on the server now; the side branch's policy is the default branch's
    // again, and still its content was accepted under a wider one.
    for target in [
        "side:refs/tags/v1",
        "side~1:refs/tags/v0",
        "side:refs/heads/other",
    ] {
        let (ok, shown) = server.push(&[target]);
        assert!(!ok, "{target}:\n{shown}");
        assert!(shown.contains("app/x.py:5:12"), "{target}:\n{shown}");
    }
    // A branch deleted and pushed again.
    let (ok, shown) = server.push(&[":side"]);
    assert!(ok, "{shown}");
    let (ok, shown) = server.push(&["side"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("app/x.py:5:12"), "{shown}");
    assert_eq!(server.head("refs/heads/side"), None);

    // Moving main there is judged as before.
    let (ok, shown) = server.push(&["side:main"]);
    assert!(!ok, "{shown}");
}

/// A push is judged at its tips: a commit in its middle that relaxes the policy and adds a
/// sink, undone by the next, passes unjudged on its own. A ref that later comes to hold that
/// commit (a tag on it, a branch built on it) is compared with the default branch's tip, so
/// the sink is found, and under `--policy-changes block` the relaxed policy too.
#[test]
fn a_commit_in_the_middle_of_an_accepted_push_is_judged_when_a_ref_holds_it() {
    let server = Server::new("--policy-changes block");
    let repo = &server.client;
    repo.write("dill-guard.toml", ALLOW_APP);
    repo.write("app/x.py", BAD);
    repo.commit_all("relax, and a sink");
    repo.git(&["rm", "-q", "dill-guard.toml", "app/x.py"]);
    repo.commit_all("undo it");
    let (ok, shown) = server.push(&["main"]);
    assert!(
        ok,
        "the tip brings nothing:
{shown}"
    );
    let (ok, shown) = server.push(&["main~1:refs/tags/hidden"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("app/x.py:5:12"), "{shown}");
    assert!(
        shown.contains("refs/tags/hidden widens the policy"),
        "{shown}"
    );
    repo.git(&["checkout", "-q", "-b", "built-on-it", "main~1"]);
    repo.write("b.py", GOOD);
    repo.commit_all("more");
    let (ok, shown) = server.push(&["built-on-it"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("app/x.py:5:12"), "{shown}");
}

/// Attack (c): a policy that cannot be read is refused when pushed (exit status 2, naming the
/// ref and the file); one already in force (it predates the hook) rules as the strictest
/// policy, so later pushes, and the one that repairs it, still land.
#[test]
fn an_unreadable_policy_is_refused_and_one_in_force_locks_nothing() {
    let server = Server::new("");
    let repo = &server.client;
    repo.write("dill-guard.toml", "[[allow]]\npaths = [\"app/**\"]\n");
    repo.commit_all("no reason given");
    let before = server.head("main");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(
        shown.contains("error: dill-guard.toml: refs/heads/main brings a policy that cannot be read, and is refused: invalid configuration in dill-guard.toml"),
        "{shown}"
    );
    assert!(shown.contains("missing field `reason`"), "{shown}");
    assert_eq!(server.head("main"), before);
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);

    // 17 MiB of comments: valid TOML, larger than a policy may be.
    let mut big = String::from(ALLOW_APP);
    let line = format!("# {}\n", "x".repeat(1022));
    big.push_str(&line.repeat(17 * 1024));
    repo.write("dill-guard.toml", &big);
    repo.commit_all("a large policy");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(
        shown.contains("refs/heads/main brings a policy that cannot be read")
            && shown.contains("more than the 16.0 MiB a policy may be"),
        "{shown}"
    );
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);

    // One in force already: no allowances, no inline allows, but no lock either.
    repo.write(
        "dill-guard.toml",
        "[[allow]]\npaths = [\"app/**\"]\nreason = \n",
    );
    repo.commit_all("broken policy, from before the hook");
    let (ok, shown) = server.without_hook(|| server.push(&["main"]));
    assert!(ok, "{shown}");
    repo.write("b.py", GOOD);
    repo.commit_all("clean work");
    let (ok, shown) = server.push(&["main"]);
    assert!(
        ok,
        "a broken policy in force must not lock the branch:\n{shown}"
    );
    assert!(
        shown.contains("the policy in force") && shown.contains("cannot be read"),
        "{shown}"
    );
    repo.write(
        "app/x.py",
        &BAD.replace("loads(blob)", "loads(blob)  # dill-guard: allow signed"),
    );
    repo.commit_all("sink");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("app/x.py:5:12"), "{shown}");
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    // The repair lands, and rules from then on.
    repo.write("dill-guard.toml", ALLOW_APP);
    repo.commit_all("repair the policy");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "the repair lands:\n{shown}");
    repo.write("app/x.py", BAD);
    repo.commit_all("sink, allowed now");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    assert!(shown.contains("1 allowed"), "{shown}");
}

/// Attack (d): an inline allow lets anyone approve their own code; `--inline-allows refuse`
/// makes only the policy file allow, on the server and in a pull request's range.
#[test]
fn inline_allows_can_be_refused() {
    let server = Server::new("--inline-allows refuse");
    let repo = &server.client;
    repo.write("b.py", GOOD);
    repo.commit_all("clean work");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    let allowed_inline = BAD.replace("loads(blob)", "loads(blob)  # dill-guard: allow trust me");
    repo.write("app/x.py", &allowed_inline);
    repo.write(
        "app/y.py",
        &BAD.replace("loads(blob)", "loads(blob)  # noqa: PYTHON-LANG-SEC-046"),
    );
    repo.commit_all("approve my own code");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    for path in ["app/x.py", "app/y.py"] {
        assert!(shown.contains(&format!("{path}:5:12")), "{shown}");
        assert!(
            shown.contains(&format!(
                "{path}: line 5: inline allowances are refused here"
            )),
            "{shown}"
        );
    }
    // The policy file still allows.
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD", "--inline-allows", "refuse"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["findings"].as_array().unwrap().len(), 2, "{json}");
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 0, "honoured by default: {json}");
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    repo.write("dill-guard.toml", ALLOW_APP);
    repo.commit_all("policy");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    repo.write("app/x.py", &allowed_inline);
    repo.commit_all("allowed by the policy");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    assert!(shown.contains("1 allowed"), "{shown}");
}

/// A pre-push hook that passes the push on as the pre-commit framework and prek do: the first
/// of git's ref lines, in `PRE_COMMIT_*` variables, with nothing on stdin.
fn install_manager_like_hook(repo: &Repo) {
    let hooks = repo.dir.join(".git/hooks");
    write_hook(
        &hooks.join("pre-push"),
        &format!(
            r#"#!/bin/sh
read local_ref local_id remote_ref remote_id || exit 0
export PRE_COMMIT=1 PRE_COMMIT_REMOTE_NAME="$1" PRE_COMMIT_REMOTE_URL="$2"
export PRE_COMMIT_TO_REF="$local_id" PRE_COMMIT_REMOTE_BRANCH="$remote_ref" PRE_COMMIT_LOCAL_BRANCH="$local_ref"
case "$remote_id" in
  0000000000000000000000000000000000000000) ;;
  *) export PRE_COMMIT_FROM_REF="$remote_id" ;;
esac
exec '{}' --pre-push "$1" "$2" --color never </dev/null
"#,
            binary()
        ),
    );
}

/// The client side: under a hook manager, a push of two branches was judged by its first
/// alone. Every local branch and tag with commits the remote lacks is judged now.
#[test]
fn a_hook_manager_push_of_two_branches_judges_both() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repository(tmp.path(), "remote.git");
    let repo = Repo::new();
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    repo.write("a.py", GOOD);
    repo.commit_all("base");
    repo.git(&["push", "-q", "origin", "main"]);
    install_manager_like_hook(&repo);
    repo.git(&["checkout", "-q", "-b", "a-clean"]);
    repo.write("b.py", GOOD);
    repo.commit_all("clean");
    repo.git(&["checkout", "-q", "-b", "b-dirty", "main"]);
    repo.write("loader.py", BAD);
    repo.commit_all("sink");
    repo.git(&["checkout", "-q", "main"]);
    let out = repo.git_try(&["push", "origin", "a-clean", "b-dirty"]);
    let shown = text(&out);
    assert!(
        !out.status.success(),
        "the second branch went unchecked:\n{shown}"
    );
    assert!(shown.contains("loader.py:5:12"), "{shown}");
    assert!(
        shown.contains("the hook manager names one ref of the push")
            && shown.contains("refs/heads/b-dirty"),
        "{shown}"
    );
    // An existing branch updated, with the same dirty branch beside it locally.
    repo.git(&["checkout", "-q", "main"]);
    repo.write("c.py", GOOD);
    repo.commit_all("clean on main");
    let out = repo.git_try(&["push", "origin", "main"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("loader.py:5:12"), "{}", text(&out));
    // Once nothing local holds the sink, the same pushes pass.
    repo.git(&["branch", "-q", "-D", "b-dirty"]);
    let out = repo.git_try(&["push", "origin", "main", "a-clean"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = repo.git_try(&["push", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// Normal work stays free: a tag on main, a branch and its merge, a tag on an older commit of
/// main, a branch built on another branch.
#[test]
fn normal_work_passes() {
    let server = Server::new("--policy-changes block --inline-allows refuse");
    let repo = &server.client;
    let (ok, shown) = server.without_hook(|| {
        repo.write("dill-guard.toml", ALLOW_APP);
        repo.write("app/legacy.py", BAD);
        repo.commit_all("legacy, allowed by the operator's policy");
        server.push(&["main"])
    });
    assert!(ok, "{shown}");
    repo.git(&["tag", "-a", "v1", "-m", "release"]);
    let (ok, shown) = server.push(&["v1"]);
    assert!(ok, "{shown}");
    assert!(
        shown.contains("0 files checked"),
        "a tag on main is free:\n{shown}"
    );
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.py", GOOD);
    repo.commit_all("feature");
    let (ok, shown) = server.push(&["feature"]);
    assert!(ok, "{shown}");
    repo.git(&["checkout", "-q", "-b", "feature-2"]);
    repo.write("feature2.py", GOOD);
    repo.commit_all("feature 2");
    let (ok, shown) = server.push(&["feature-2"]);
    assert!(ok, "{shown}");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("main.py", GOOD);
    repo.commit_all("main moves on");
    repo.git(&["merge", "-q", "--no-edit", "feature-2"]);
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    repo.git(&["tag", "old", "HEAD~2"]);
    let (ok, shown) = server.push(&["old"]);
    assert!(ok, "{shown}");
    assert!(shown.contains("0 files checked"), "{shown}");
}

/// A fast-import stream: `commits` commits on main, each changing one of seven files, a
/// lightweight tag on each and a branch on every third.
fn many_refs(commits: usize) -> String {
    let mut stream = String::new();
    for i in 0..commits {
        let content = format!("x = {i}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\nmark :{}\ncommitter T <t@example.com> {} +0000\ndata 3\nc{:<1}\n",
            i + 1,
            1_700_000_000 + i,
            i % 10
        ));
        if i > 0 {
            stream.push_str(&format!("from :{i}\n"));
        }
        stream.push_str(&format!(
            "M 100644 inline m{}.py\ndata {}\n{content}\n",
            i % 7,
            content.len()
        ));
        stream.push_str(&format!("reset refs/tags/t{i}\nfrom :{}\n\n", i + 1));
        if i % 3 == 0 {
            stream.push_str(&format!("reset refs/heads/b{i}\nfrom :{}\n\n", i + 1));
        }
    }
    stream
}

/// `git push --mirror` of hundreds of refs stays quick: a first mirror of 400 tags and 134
/// branches, then one that adds a commit and a tag and moves a branch.
#[test]
fn a_mirror_push_of_hundreds_of_refs_stays_quick() {
    let server = Server::new("--policy-changes block");
    let repo = &server.client;
    let stream = many_refs(400);
    let mut import = git_command(&repo.dir)
        .args(["fast-import", "--quiet", "--force"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    import
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(import.wait().unwrap().success());
    repo.git(&["reset", "-q", "--hard", "main"]);
    let started = Instant::now();
    let (ok, shown) = server.push(&["--mirror"]);
    let first = started.elapsed();
    assert!(ok, "{shown}");
    repo.write("m0.py", GOOD);
    repo.commit_all("one more");
    repo.git(&["tag", "t-new"]);
    repo.git(&["branch", "-f", "b3", "main"]);
    let started = Instant::now();
    let (ok, shown) = server.push(&["--mirror"]);
    let second = started.elapsed();
    assert!(ok, "{shown}");
    eprintln!("mirror of 534 refs: {first:?}; again with 3 changed refs: {second:?}");
    // A sink on a new tag of the mirror is still found.
    repo.git(&["checkout", "-q", "-b", "x", "t100"]);
    repo.write("side.py", BAD);
    repo.commit_all("side");
    repo.git(&["tag", "bad"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "x"]);
    let (ok, shown) = server.push(&["--mirror"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("side.py:5:12"), "{shown}");
}

/// A pull request's range in CI: judged under the policy at its base; with
/// `--policy-changes block` an allow entry the pull request adds for itself blocks on its own.
#[test]
fn a_pull_request_range_cannot_approve_itself() {
    let repo = Repo::new();
    repo.write("dill-guard.toml", ALLOW_APP);
    repo.write("a.py", GOOD);
    repo.commit_all("base");
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo.write("app/x.py", BAD);
    repo.write("b.py", GOOD);
    repo.commit_all("work");
    let hardened = [
        "--range",
        "main..pr",
        "--policy-changes",
        "block",
        "--inline-allows",
        "refuse",
    ];
    let (code, json) = repo.json(&hardened);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["allowed"].as_array().unwrap().len(), 1, "{json}");
    assert!(json.get("policy_changes").is_none(), "{json}");
    repo.write(
        "dill-guard.toml",
        &format!("{ALLOW_APP}\n[[allow]]\npaths = [\"lib/**\"]\nreason = \"mine\"\n"),
    );
    repo.commit_all("allow myself");
    let (code, json) = repo.json(&hardened);
    assert_eq!(code, 1, "{json}");
    let changes = json["policy_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{json}");
    assert_eq!(changes[0]["path"], "dill-guard.toml");
    let message = changes[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("B widens the policy: line 5: [[allow]] for lib/** (\"mine\") is new"),
        "{message}"
    );
    // Told, not blocked, by default.
    let (code, json) = repo.json(&["--range", "main..pr"]);
    assert_eq!(code, 0, "{json}");
    // The switch is for the history modes.
    let (code, _, stderr) = repo.run(&["--all", "--policy-changes", "block"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--policy-changes"), "{stderr}");
}

/// In CI as on the server: a base whose policy cannot be read rules as the strictest policy,
/// a pull request that brings one that cannot be read fails (exit 2, naming the file), and a
/// full check of a tree (`--range ..B`) with one fails as `--all` does.
#[test]
fn a_range_treats_an_unreadable_policy_as_the_server_does() {
    let repo = Repo::new();
    repo.write("dill-guard.toml", "[[allow]]\npaths = [\"app/**\"]\n");
    repo.write("a.py", GOOD);
    repo.commit_all("base with a broken policy");
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo.write("b.py", GOOD);
    repo.commit_all("clean work");
    let (code, json) = repo.json(&["--range", "main..pr"]);
    assert_eq!(code, 0, "{json}");
    let warning = json["warnings"][0]["message"].as_str().unwrap();
    assert!(
        warning.starts_with("the policy in force (at ") && warning.contains("cannot be read"),
        "{json}"
    );
    repo.write("app/x.py", BAD);
    repo.commit_all("sink");
    let (code, json) = repo.json(&["--range", "main..pr"]);
    assert_eq!(code, 1, "no allowances under a broken policy: {json}");
    let (code, _, stderr) = repo.run(&["--range", "..pr"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("invalid configuration in dill-guard.toml"),
        "{stderr}"
    );
    // A pull request that breaks a good policy.
    let repo = Repo::new();
    repo.write("dill-guard.toml", ALLOW_APP);
    repo.commit_all("base");
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo.write(
        "dill-guard.toml",
        "[[allow]]\npaths = [\"app/[\"]\nreason = \"r\"\n",
    );
    repo.commit_all("break it");
    let (code, json) = repo.json(&["--range", "main..pr"]);
    assert_eq!(code, 2, "{json}");
    assert_eq!(json["errors"][0]["path"], "dill-guard.toml", "{json}");
    let message = json["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("B brings a policy that cannot be read, and is refused")
            && message.contains("bad glob"),
        "{message}"
    );
}

/// The real pre-commit framework and prek, running a local pre-push hook that calls the built
/// binary: a push of two branches, the second dirty, is refused.
fn two_branches_through(runner_name: &str, home_var: &str) {
    let python = std::env::var("DILL_GUARD_TEST_PYTHON")
        .expect("DILL_GUARD_TEST_PYTHON must name the python of a venv with pre-commit and prek");
    let tool = std::path::Path::new(&python)
        .parent()
        .unwrap()
        .join(runner_name);
    assert!(tool.exists(), "{} is not installed", tool.display());
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repository(tmp.path(), "remote.git");
    let repo = Repo::new();
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    // The published hook's own settings (stages, pass_filenames, always_run...), with the
    // built binary as its entry: a framework that skips the hook ("no files to check") lets
    // the push through.
    let published = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    let settings: String = published
        .split("\n- id: ")
        .find(|hook| hook.starts_with("dill-guard-push\n"))
        .expect("the published pre-push hook")
        .lines()
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter(|line| {
            ![
                "name:",
                "description:",
                "entry:",
                "language:",
                "minimum_pre_commit_version:",
            ]
            .iter()
            .any(|key| line.trim_start().starts_with(key))
        })
        .map(|line| format!("      {line}\n"))
        .collect();
    repo.write(
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n  - repo: local\n    hooks:\n      - id: dill-guard-push\n        name: dill-guard\n        entry: \"'{}' --pre-push --color never\"\n        language: system\n{settings}",
            binary()
        ),
    );
    repo.write("a.py", GOOD);
    repo.commit_all("base");
    repo.git(&["push", "-q", "origin", "main"]);
    let mut install = std::process::Command::new(&tool);
    install
        .args(["install", "--hook-type", "pre-push"])
        .current_dir(&repo.dir)
        .env(home_var, tmp.path().join("home"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    let installed = install.output().unwrap();
    assert!(installed.status.success(), "{}", text(&installed));
    repo.git(&["checkout", "-q", "-b", "a-clean"]);
    repo.write("b.py", GOOD);
    repo.commit_all("clean");
    repo.git(&["checkout", "-q", "-b", "b-dirty", "main"]);
    repo.write("loader.py", BAD);
    repo.commit_all("sink");
    repo.git(&["checkout", "-q", "main"]);
    let pushed = git_command(&repo.dir)
        .env(home_var, tmp.path().join("home"))
        .args(["push", "origin", "a-clean", "b-dirty"])
        .output()
        .unwrap();
    let shown = text(&pushed);
    assert!(
        !pushed.status.success(),
        "{runner_name} let the second branch through:\n{shown}"
    );
    assert!(shown.contains("loader.py:5:12"), "{shown}");
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: a venv with pre-commit (.ci/run sets it up)"]
fn pre_commit_framework_push_of_two_branches() {
    two_branches_through("pre-commit", "PRE_COMMIT_HOME");
}

#[test]
#[ignore = "needs DILL_GUARD_TEST_PYTHON: a venv with prek (.ci/run sets it up)"]
fn prek_push_of_two_branches() {
    two_branches_through("prek", "PREK_HOME");
}
