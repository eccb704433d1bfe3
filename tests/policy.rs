//! The policy against real repositories: where it is read from (the index when staged), what
//! `exclude` and `[[allow]]` accept, inline directives, expiry (with the date passed in, never
//! the real clock), unused entries, and configuration errors that name file, key and line.

mod common;

use common::*;

const TRUSTED: &str = "import dill\n\n\ndef run(task):\n    return dill.loads(task)\n";

fn allowed(json: &serde_json::Value) -> Vec<(String, String, String)> {
    json["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap().to_string(),
                a["by"].as_str().unwrap().to_string(),
                a["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn warnings(json: &serde_json::Value) -> Vec<String> {
    json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{}: {}",
                w["path"].as_str().unwrap(),
                w["message"].as_str().unwrap()
            )
        })
        .collect()
}

const POLICY: &str = r#"
exclude = ["third_party/**"]

[[allow]]
paths = ["pipelines/internal/**"]
reason = "task payloads are HMAC-signed by the scheduler"
apis = ["dill.loads"]
"#;

#[test]
fn allow_entries_accept_exactly_what_they_name() {
    let repo = Repo::new();
    repo.write("dill-guard.toml", POLICY);
    repo.write("pipelines/internal/worker.py", TRUSTED);
    // Same path pattern, other API: still blocks.
    repo.write(
        "pipelines/internal/restore.py",
        "import dill\ndill.load(open('s'))\n",
    );
    // Same API, other path: still blocks.
    repo.write("pipelines/public/api.py", TRUSTED);
    repo.write("third_party/vendored.py", TRUSTED);
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(
        paths(&json),
        ["pipelines/internal/restore.py", "pipelines/public/api.py"]
    );
    assert_eq!(
        allowed(&json),
        [(
            "pipelines/internal/worker.py".to_string(),
            "config".to_string(),
            "task payloads are HMAC-signed by the scheduler".to_string()
        )]
    );
    assert_eq!(json["allowed"][0]["line"], 5);
    assert_eq!(json["allowed"][0]["api"], "dill.loads");
    // Excluded files are not even counted, whether read from the index or the disk.
    assert_eq!(json["files_checked"], 3);
    let (_, json) = repo.json(&["."]);
    assert_eq!(json["files_checked"], 3);
    assert!(!paths(&json).iter().any(|p| p.starts_with("third_party/")));
    assert!(warnings(&json).is_empty(), "{:?}", warnings(&json));
    // The human summary counts what was allowed.
    let (_, stdout, _) = repo.run(&["--staged", "--color", "never"]);
    assert!(stdout.contains("2 findings, 1 allowed"), "{stdout}");
}

#[test]
fn the_staged_policy_rules_not_the_working_tree() {
    let repo = Repo::new();
    repo.write("pipelines/internal/worker.py", TRUSTED);
    repo.git(&["add", "-A"]);
    // A policy written but not staged does not apply to the commit.
    repo.write("dill-guard.toml", POLICY);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    assert!(allowed(&json).is_empty());
    // Staged, it does.
    repo.git(&["add", "dill-guard.toml"]);
    let (code, _) = repo.json(&["--staged"]);
    assert_eq!(code, 0);
    // A staged policy edit that removes the entry rules again, whatever the disk says.
    repo.write("dill-guard.toml", "exclude = []\n");
    repo.git(&["add", "dill-guard.toml"]);
    repo.write("dill-guard.toml", POLICY);
    let (code, _) = repo.json(&["--staged"]);
    assert_eq!(code, 1);
    // Path mode reads the policy on disk.
    let (code, _) = repo.json(&["pipelines"]);
    assert_eq!(code, 0);
}

#[test]
fn discovery_order_and_explicit_choices() {
    let repo = Repo::new();
    repo.write("a.py", TRUSTED);
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.dill-guard]\n[[tool.dill-guard.allow]]\npaths = [\"a.py\"]\nreason = \"from pyproject\"\n",
    );
    let (code, json) = repo.json(&["a.py"]);
    assert_eq!(code, 0);
    assert_eq!(allowed(&json)[0].2, "from pyproject");
    // .dill-guard.toml comes before pyproject.toml, dill-guard.toml before both.
    repo.write(
        ".dill-guard.toml",
        "[[allow]]\npaths = [\"a.py\"]\nreason = \"from hidden file\"\n",
    );
    let (_, json) = repo.json(&["a.py"]);
    assert_eq!(allowed(&json)[0].2, "from hidden file");
    repo.write(
        "dill-guard.toml",
        "[[allow]]\npaths = [\"a.py\"]\nreason = \"from dill-guard.toml\"\n",
    );
    let (_, json) = repo.json(&["a.py"]);
    assert_eq!(allowed(&json)[0].2, "from dill-guard.toml");
    // --no-config ignores them all; --config names one.
    let (code, json) = repo.json(&["--no-config", "a.py"]);
    assert_eq!(code, 1);
    assert!(allowed(&json).is_empty());
    repo.write(
        "ci/policy.toml",
        "[[allow]]\npaths = [\"a.py\"]\nreason = \"from --config\"\n",
    );
    let (code, json) = repo.json(&["--config", "ci/policy.toml", "a.py"]);
    assert_eq!(code, 0);
    assert_eq!(allowed(&json)[0].2, "from --config");
}

#[test]
fn inline_directives() {
    let repo = Repo::new();
    repo.write(
        "app.py",
        "import dill\n\
         a = dill.loads(x)  # dill-guard: allow signed by our own scheduler\n\
         b = dill.loads(x)  # noqa: S301, PYTHON-LANG-SEC-046\n\
         c = dill.loads(x)  # dill-guard: allow\n\
         d = dill.loads(x)  # noqa\n\
         e = [  # dill-guard: allow statement-level reason\n\
             dill.loads(x),\n\
         ]\n\
         s = '# dill-guard: allow not a comment'; dill.loads(x)\n\
         f = 1  # dill-guard: allow nothing here\n",
    );
    let (code, json) = repo.json(&["app.py"]);
    assert_eq!(code, 1);
    assert_eq!(lines(&json), [4, 5, 9]);
    let reasons: Vec<String> = allowed(&json).into_iter().map(|a| a.2).collect();
    assert_eq!(
        reasons,
        [
            "signed by our own scheduler",
            "noqa: PYTHON-LANG-SEC-046",
            "statement-level reason"
        ]
    );
    assert!(json["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["by"] == "inline"));
    let warnings = warnings(&json);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].contains("line 4") && warnings[0].contains("needs a reason"));
    // Another tool's suppression allows nothing, and the output says what to write instead.
    assert!(
        warnings[1].contains("line 5: `# noqa` does not allow this dill-guard finding")
            && warnings[1].contains("`# dill-guard: allow <reason>`"),
        "{warnings:?}"
    );
    assert!(warnings[2].contains("line 10") && warnings[2].contains("matched no finding"));
}

#[test]
fn other_tools_suppressions_block_and_say_why() {
    let repo = Repo::new();
    repo.write(
        "app.py",
        "import dill\n\
         a = dill.loads(x)  # noqa: S301\n\
         b = dill.loads(x)  # nosec B301\n\
         c = dill.loads(x)  # dill-guard: ignore\n\
         d = 1  # noqa: E501\n",
    );
    let (code, json) = repo.json(&["app.py"]);
    assert_eq!(code, 1);
    assert_eq!(lines(&json), [2, 3, 4]);
    let warnings = warnings(&json);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    for (warning, comment) in
        warnings
            .iter()
            .zip(["# noqa: S301", "# nosec B301", "# dill-guard: ignore"])
    {
        assert!(
            warning.contains(&format!("`{comment}` does not allow")),
            "{warning}"
        );
        assert!(warning.contains("the finding still blocks"), "{warning}");
    }
}

#[test]
fn expired_entries_stop_applying_and_say_so() {
    let repo = Repo::new();
    repo.write(
        "dill-guard.toml",
        "[[allow]]\npaths = [\"legacy/**\"]\nreason = \"migration to JSON\"\nexpires = \"2027-06-30\"\n",
    );
    repo.write("legacy/old.py", TRUSTED);
    let run_on = |today: &str| {
        let out = std::process::Command::new(binary())
            .args(["--format", "json", "legacy"])
            .current_dir(&repo.dir)
            .env("DILL_GUARD_TODAY", today)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        )
    };
    let (code, json) = run_on("2027-06-30");
    assert_eq!(code, 0, "the last day still applies");
    assert!(warnings(&json).is_empty());
    let (code, json) = run_on("2027-07-01");
    assert_eq!(code, 1);
    let warnings = warnings(&json);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("dill-guard.toml: line 1:")
            && warnings[0].contains("expired on 2027-06-30"),
        "{warnings:?}"
    );
}

#[test]
fn unused_entries_are_reported_where_they_could_apply() {
    let repo = Repo::new();
    repo.write(
        "dill-guard.toml",
        "[[allow]]\npaths = [\"old/**\"]\nreason = \"r\"\n\n[[allow]]\npaths = [\"src/**\"]\nreason = \"r\"\n",
    );
    repo.write("old/clean.py", "x = 1\n");
    repo.write("src/clean.py", "y = 1\n");
    repo.commit_all("base");
    repo.write("src/clean.py", "y = 2\n");
    repo.git(&["add", "-A"]);
    // Staged: only src/ was checked, so only its entry can be said to be unused.
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0);
    let w = warnings(&json);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("line 5") && w[0].contains("src/**"), "{w:?}");
    // A full check judges every entry.
    let (_, json) = repo.json(&["--all"]);
    assert_eq!(warnings(&json).len(), 2);
}

#[test]
fn configuration_errors_name_the_file_key_and_line() {
    let repo = Repo::new();
    repo.write("a.py", TRUSTED);
    let cases = [
        ("[[allow]]\npaths = [\"a.py\"]\n", "reason"),
        (
            "exclude = [\"x\"]\n[[allow]]\npaths = [\"a.py\"]\nreason = \"r\"\nwhy = 1\n",
            "line 5",
        ),
        ("exclude = [\"a/{b\"]\n", "bad glob"),
        (
            "[[allow]]\npaths = [\"a.py\"]\nreason = \"r\"\nexpires = \"June\"\n",
            "line 4: `allow[0].expires`",
        ),
        ("this is = not toml\n", "line 1"),
    ];
    for (text, expected) in cases {
        repo.write("dill-guard.toml", text);
        let (code, stdout, stderr) = repo.run(&["a.py"]);
        assert_eq!(code, 2, "{text}");
        assert!(stdout.is_empty());
        assert!(
            stderr.contains("invalid configuration in dill-guard.toml")
                && stderr.contains(expected),
            "{text}\n{stderr}"
        );
    }
    std::fs::remove_file(repo.dir.join("dill-guard.toml")).unwrap();
    let (code, _, stderr) = repo.run(&["--config", "missing.toml", "a.py"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.toml"), "{stderr}");
}

#[test]
fn new_only_reports_just_the_lines_the_change_touches() {
    let repo = Repo::new();
    let legacy = "import dill\n\n\ndef old(blob):\n    return dill.loads(blob)\n\n\nVERSION = 1\n";
    repo.write("legacy.py", legacy);
    repo.commit_all("legacy");
    // An unrelated edit of the same file.
    repo.write("legacy.py", &legacy.replace("VERSION = 1", "VERSION = 2"));
    repo.git(&["add", "legacy.py"]);
    let (code, _) = repo.json(&["--staged"]);
    assert_eq!(
        code, 1,
        "the default stays strict: every finding in every touched file"
    );
    let (code, json) = repo.json(&["--staged", "--new-only"]);
    assert_eq!(code, 0, "{json}");
    let w = warnings(&json);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].starts_with("legacy.py: 1 finding on lines this change does not touch"),
        "{w:?}"
    );
    // A new use in the same file is reported, the old one is not.
    repo.write(
        "legacy.py",
        &(legacy.replace("VERSION = 1", "VERSION = 2") + "NEW = dill.load(open('x'))\n"),
    );
    repo.git(&["add", "legacy.py"]);
    let (code, json) = repo.json(&["--staged", "--new-only"]);
    assert_eq!(code, 1);
    assert_eq!(lines(&json), [9]);
    // A new file is new on every line; the config key turns the mode on too.
    repo.write("fresh.py", TRUSTED);
    repo.write("dill-guard.toml", "new-only = true\n");
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["fresh.py", "legacy.py"]);
}

#[test]
fn new_only_does_not_make_allow_entries_look_unused() {
    let repo = Repo::new();
    repo.write(
        "dill-guard.toml",
        "new-only = true\n[[allow]]\npaths = [\"legacy.py\"]\nreason = \"reviewed\"\n",
    );
    repo.write("legacy.py", TRUSTED);
    repo.commit_all("legacy");
    repo.write("legacy.py", &format!("{TRUSTED}\nVERSION = 2\n"));
    repo.git(&["add", "legacy.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0, "{json}");
    assert!(warnings(&json).is_empty(), "{:?}", warnings(&json));
    assert_eq!(allowed(&json).len(), 1);
}

#[test]
fn a_policy_that_switches_the_check_off_is_loud_in_every_mode() {
    let repo = Repo::new();
    repo.write("a.py", GOOD);
    repo.commit_all("base");
    let base = repo.head();
    repo.write(
        "dill-guard.toml",
        "exclude = [\"**\"]\n\n[[allow]]\npaths = [\"**/*.py\", \"src/*.py\"]\nreason = \"everything\"\n\n[[allow]]\npaths = [\"legacy/\", \"docs/*.md\"]\nreason = \"typos\"\n",
    );
    repo.write("b.py", BAD);
    repo.commit_all("policy");
    let expect = [
        "line 1: `exclude` = \"**\" excludes every Python file: nothing is checked at all",
        "line 4: `allow[0].paths` = \"**/*.py\" allows every Python file: no finding can block",
        "line 8: `allow[1].paths` = \"legacy/\" ends with `/` and so matches no file",
        "line 8: `allow[1].paths` = \"docs/*.md\" can match no Python file",
    ];
    let range = format!("{base}..HEAD");
    for mode in [
        vec!["--all"],
        vec!["."],
        vec!["--staged"],
        vec!["--range", "HEAD..HEAD"],
        vec!["--range", range.as_str()],
    ] {
        let (_, json) = repo.json(&mode);
        let shown = warnings(&json).join("\n");
        if mode == ["--range", range.as_str()] {
            // The policy at the base rules there, and it has none: the new one is a change.
            assert!(shown.contains("the policy changes"), "{mode:?}: {shown}");
            continue;
        }
        for line in expect {
            assert!(shown.contains(line), "{mode:?}: {line}\n{shown}");
        }
        assert!(
            !shown.contains("`allow[0].paths` = \"src/*.py\""),
            "{shown}"
        );
    }
    // Human output says it where a person sees it.
    let (_, _, stderr) = repo.run(&["--all", "--color", "never"]);
    let (_, stdout, _) = repo.run(&["--all", "--color", "never"]);
    let shown = stdout + &stderr;
    assert!(
        shown.contains("warning") && shown.contains("excludes every Python file"),
        "{shown}"
    );
}

#[test]
fn configuration_below_the_root_is_reported_not_ignored() {
    let repo = Repo::new();
    repo.write(
        "services/api/dill-guard.toml",
        "[[allow]]\npaths = [\"**\"]\nreason = \"trusted\"\n",
    );
    repo.write("services/api/app.py", BAD);
    repo.write(
        "libs/core/pyproject.toml",
        "[project]\nname = \"core\"\n[tool.dill-guard]\nexclude = [\"**/*.py\"]\n",
    );
    repo.write("libs/core/src/core/x.py", BAD);
    repo.write("other/pyproject.toml", "[project]\nname = \"other\"\n");
    repo.write("other/y.py", BAD);
    repo.git(&["add", "-A"]);
    for args in [&["--staged"][..], &["--all"], &["."]] {
        let (code, json) = repo.json(args);
        // Not read: every finding still blocks.
        assert_eq!(code, 1, "{args:?}");
        assert_eq!(json["findings"].as_array().unwrap().len(), 3, "{args:?}");
        let reported: Vec<String> = json["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| {
                w["message"]
                    .as_str()
                    .unwrap()
                    .contains("below the repository root")
            })
            .map(|w| w["path"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            reported,
            ["libs/core/pyproject.toml", "services/api/dill-guard.toml"],
            "{args:?}"
        );
    }
    // A run that names its policy was told where it is.
    let (_, json) = repo.json(&["--no-config", "--all"]);
    assert!(json["warnings"].as_array().unwrap().is_empty(), "{json}");
}

#[test]
fn an_allow_inside_a_newer_f_string_is_no_comment() {
    // Read with the rules before Python 3.12, the string would end at the inner quote and
    // `# dill-guard: allow ...` look like a comment allowing the call on its line.
    let repo = Repo::new();
    repo.write(
        "app.py",
        "import dill\nx = f\"{\"# dill-guard: allow looks like a comment\"}\"; dill.loads(b)\n",
    );
    let (code, json) = repo.json(&["app.py"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(lines(&json), [2]);
    assert!(json["allowed"].as_array().unwrap().is_empty(), "{json}");
}

const SIGNED_POLICY: &str = r#"
[[allow]]
paths = ["pipelines/**"]
reason = "task payloads are HMAC-signed by the scheduler"
unless-reachable = "remote"
"#;

/// An allowance for trusted input only: it holds while no flow from outside reaches the call,
/// and a commit that adds one (a web handler passing a request body to the allowed function) is
/// blocked by the hook, with the flow that broke the allowance named.
#[test]
fn an_allowance_for_trusted_input_breaks_when_a_remote_flow_reaches_it() {
    let repo = Repo::new();
    repo.install_hook();
    repo.write("dill-guard.toml", SIGNED_POLICY);
    repo.write("pipelines/worker.py", TRUSTED);
    repo.git(&["add", "-A"]);
    let commit = repo.git_try(&["commit", "-q", "-m", "signed tasks"]);
    assert!(commit.status.success(), "{}", text(&commit));
    let (code, json) = repo.json(&["--all"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["allowed"][0]["reachable"], "unknown");

    // A handler in the same file hands the allowed call a request body.
    repo.write(
        "pipelines/worker.py",
        &format!(
            "{TRUSTED}\n\nfrom flask import request\n\n\ndef submit():\n    body = request.get_data()\n    return run(body)\n"
        ),
    );
    repo.git(&["add", "-A"]);
    let commit = repo.git_try(&["commit", "-q", "-m", "accept tasks over HTTP"]);
    assert!(!commit.status.success(), "the commit must be blocked");
    let out = text(&commit);
    assert!(out.contains("reachable: remote"), "{out}");
    assert!(
        out.contains("holds only unless remote data reaches the call"),
        "{out}"
    );
    assert!(
        out.contains("`request.get_data()`: a web request (Flask) (12:12)"),
        "{out}"
    );
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(json["findings"][0]["reachable"], "remote");
    assert_eq!(json["findings"][0]["line"], 5);
    assert!(json["allowed"].as_array().unwrap().is_empty());
    // The entry matched: it is not reported unused.
    assert!(
        !warnings(&json)
            .iter()
            .any(|w| w.contains("matched no finding")),
        "{:?}",
        warnings(&json)
    );

    // Local input does not break an allowance limited to remote data; `local-file` does.
    repo.write(
        "pipelines/worker.py",
        &format!("{TRUSTED}\n\nimport sys\nrun(sys.stdin.buffer.read())\n"),
    );
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["allowed"][0]["reachable"], "local-file");
    repo.write(
        "dill-guard.toml",
        &SIGNED_POLICY.replace("\"remote\"", "\"local-file\""),
    );
    repo.git(&["add", "-A"]);
    let (code, _) = repo.json(&["--staged"]);
    assert_eq!(code, 1);
}

#[test]
fn an_inline_allowance_for_trusted_input_breaks_too() {
    let repo = Repo::new();
    let allowed_call = "import dill\n\n\ndef run(task):\n    return dill.loads(task)  # dill-guard: allow unless-reachable=remote signed by the scheduler\n";
    repo.write("worker.py", allowed_call);
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        allowed(&json),
        [(
            "worker.py".to_string(),
            "inline".to_string(),
            "signed by the scheduler".to_string()
        )]
    );
    repo.write(
        "worker.py",
        &format!("{allowed_call}\n\nimport socket\nconn = socket.create_connection(('h', 1))\nrun(conn.recv(4096))\n"),
    );
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    assert!(
        warnings(&json).iter().any(|w| w.starts_with(
            "worker.py: line 5: the inline allow holds only unless remote data reaches the call"
        ) && w.contains("`conn.recv(4096)`: a socket (10:5)")),
        "{:?}",
        warnings(&json)
    );
    // An option it cannot read allows nothing, and says why.
    repo.write(
        "worker.py",
        &allowed_call.replace("unless-reachable=remote", "unless-reachable=anywhere"),
    );
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1);
    assert!(
        warnings(&json)
            .iter()
            .any(|w| w.contains("`unless-reachable=anywhere`: `anywhere` is not a reach")),
        "{:?}",
        warnings(&json)
    );
}

#[test]
fn unless_reachable_takes_remote_or_local_file() {
    let repo = Repo::new();
    repo.write("worker.py", TRUSTED);
    for (value, says) in [
        ("\"unknown\"", "would never allow anything"),
        ("\"far\"", "`far` is not a reach"),
    ] {
        repo.write(
            "dill-guard.toml",
            &format!(
                "[[allow]]\npaths = [\"*.py\"]\nreason = \"signed\"\nunless-reachable = {value}\n"
            ),
        );
        repo.git(&["add", "-A"]);
        let (code, _, stderr) = repo.run(&["--all"]);
        assert_eq!(code, 2);
        assert!(
            stderr.contains("line 4: `allow[0].unless-reachable`") && stderr.contains(says),
            "{stderr}"
        );
    }
}

/// A file the parser cannot read has no flows worked out, so an allowance limited to trusted
/// input cannot tell that none reaches the call: it does not hold there (an unlimited one does).
#[test]
fn a_limited_allowance_does_not_hold_in_a_degraded_file() {
    let repo = Repo::new();
    let python2 = "import dill\nprint 'legacy'\n\n\ndef run(task):\n    return dill.loads(task)  # dill-guard: allow unless-reachable=remote signed\n";
    repo.write("legacy.py", python2);
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    assert!(json["findings"][0]["degraded"].as_bool().unwrap());
    assert!(
        warnings(&json)
            .iter()
            .any(|w| w.contains("checked in degraded mode, where no flow can be ruled out")),
        "{:?}",
        warnings(&json)
    );
    repo.write(
        "legacy.py",
        &python2.replace("allow unless-reachable=remote signed", "allow signed"),
    );
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0, "{json}");
}

/// `--new-only` leaves old findings alone, but not an old call that a change makes reachable
/// from outside: a new caller passing it a request body makes the finding new.
#[test]
fn new_only_reports_an_old_call_a_change_feeds_outside_data() {
    let repo = Repo::new();
    let legacy =
        "import dill\nfrom flask import request\n\n\ndef run(task):\n    return dill.loads(task)\n";
    repo.write("worker.py", legacy);
    repo.commit_all("legacy");
    repo.write("worker.py", &format!("{legacy}\n\nVERSION = 2\n"));
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged", "--new-only"]);
    assert_eq!(code, 0, "{json}");
    repo.write(
        "worker.py",
        &format!("{legacy}\n\ndef submit():\n    return run(request.get_data())\n"),
    );
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged", "--new-only"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(lines(&json), [6]);
    assert_eq!(json["findings"][0]["reachable"], "remote");
    assert_eq!(json["findings"][0]["flow"][0]["line"], 10);
}

/// A limited allowance holds only when the walk back from the call was finished: a flow padded
/// past the walk's bounds, a call past the findings traced in a file, or a call in a string of
/// code says `unknown`, and that rules nothing out (before, each of these let the allowance hold).
#[test]
fn a_limited_allowance_does_not_hold_where_the_walk_was_cut_short() {
    let repo = Repo::new();
    repo.write(
        "dill-guard.toml",
        "[[allow]]\npaths = [\"*.py\"]\nreason = \"signed\"\nunless-reachable = \"remote\"\n",
    );
    // 150 assignments between the request and the call: past the walk's nesting bound.
    let mut padded = String::from(
        "import dill\nfrom flask import request\n\n\ndef run(task):\n    return dill.loads(task)\n\n\ndef submit():\n    x0 = request.get_data()\n",
    );
    for i in 1..150 {
        padded.push_str(&format!("    x{i} = x{}\n", i - 1));
    }
    padded.push_str("    return run(x149)\n");
    repo.write("padded.py", &padded);
    // The allowed call after 200 other findings, which are all that is traced in a file.
    let mut crowded = String::from("import dill\nfrom flask import request\n");
    for i in 0..200 {
        crowded.push_str(&format!("dill.loads(b'{i}')\n"));
    }
    crowded.push_str("\n\ndef run(task):\n    return dill.loads(task)\n\n\nrun(request.data)\n");
    repo.write("crowded.py", &crowded);
    // A call in a string of code.
    repo.write("embedded.py", "import dill\nexec(\"dill.loads(blob)\")\n");
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    let blocked: Vec<(String, u64)> = places(&json)
        .into_iter()
        .map(|(path, line, _)| (path, line))
        .collect();
    assert_eq!(
        blocked,
        [
            ("crowded.py".to_string(), 206),
            ("embedded.py".to_string(), 2),
            ("padded.py".to_string(), 6),
        ]
    );
    assert_eq!(json["allowed"].as_array().unwrap().len(), 200);
    let cut: Vec<String> = warnings(&json)
        .into_iter()
        .filter(|w| w.contains("the walk back from the call was not finished"))
        .collect();
    assert_eq!(cut.len(), 3, "{cut:?}");
}
