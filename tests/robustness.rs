//! Hostile and odd input: every case ends in a clear result and the exit status the contract
//! gives, never a crash, a hang or a silent pass. Deeply nested sources, binary content, huge
//! files and lines, odd index formats, corrupt or incomplete repositories; and a check never
//! changes the repository it reads.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;

/// Runs the binary on one file in a fresh directory; returns (exit code, JSON, stderr).
fn check_source(name: &str, content: &[u8]) -> (i32, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), content).unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), &["--format", "json", name]);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    (code, json, stderr)
}

fn assert_no_crash(stderr: &str) {
    for word in ["panicked", "overflow", "internal error", "fatal runtime"] {
        assert!(!stderr.contains(word), "{stderr}");
    }
}

/// A deep expression followed by a real sink call, which must still be found.
fn deep(prefix: &str, body: String) {
    let source = format!("import dill\nx = {body}\ndill.loads(x)\n");
    let (code, json, stderr) = check_source(&format!("{prefix}.py"), source.as_bytes());
    assert_no_crash(&stderr);
    assert_eq!(code, 1, "{prefix}: {json}");
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{prefix}");
    assert_eq!(findings[0]["line"], 3, "{prefix}");
}

#[test]
fn deep_parentheses() {
    deep(
        "parens",
        format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000)),
    );
}

#[test]
fn deep_lists() {
    deep(
        "lists",
        format!("{}{}", "[".repeat(50_000), "]".repeat(50_000)),
    );
}

#[test]
fn deep_fstrings() {
    // Nested f-strings (PEP 701 lets them reuse quotes) and fields in brackets, beyond any
    // limit: lowered to CPython's own nesting limit, then measured again before parsing.
    deep(
        "fstrings",
        format!("{}1{}", "f'{".repeat(100_000), "}'".repeat(100_000)),
    );
    deep(
        "fstring_fields",
        format!("f'{{{}1{}}}'", "(".repeat(100_000), ")".repeat(100_000)),
    );
    deep(
        "fstring_few",
        format!("{}1{}", "f\"{".repeat(100), "}\"".repeat(100)),
    );
}

#[test]
fn deep_unary_operators() {
    deep("minus", format!("{}1", "-".repeat(100_000)));
    deep("nots", format!("{}1", "not ".repeat(100_000)));
}

#[test]
fn a_million_terms() {
    // Within the full parse's size limit, past its chain limit.
    deep("plus", vec!["1"; 400_000].join("+"));
}

#[test]
fn long_attribute_and_call_chains() {
    deep("attrs", format!("a{}", ".b".repeat(100_000)));
    deep("calls", format!("f{}", "()".repeat(50_000)));
}

#[test]
fn deeply_nested_blocks() {
    // As deep as fits the full parse's size limit with one space a level.
    let mut source = String::from("import dill\n");
    for level in 0..1_400 {
        source.push_str(&format!("{}if x:\n", " ".repeat(level)));
    }
    source.push_str(&format!("{}dill.loads(x)\n", " ".repeat(1_400)));
    let (code, json, stderr) = check_source("blocks.py", source.as_bytes());
    assert_no_crash(&stderr);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["findings"][0]["line"], 1_402);
    assert_eq!(json["findings"][0]["degraded"], false);
}

#[test]
fn binary_content_under_a_python_name() {
    let mut content = b"import dill\n\x00\x01\x02\xff\xfe".to_vec();
    content.extend_from_slice(b"\ndill.loads(x)\n\x00");
    let (code, json, stderr) = check_source("blob.py", &content);
    assert_no_crash(&stderr);
    // What the token scanner finds is reported, and the file is an error: over bytes that are
    // not text, finding nothing would prove nothing.
    assert_eq!(code, 2, "{json}");
    assert_eq!(json["findings"][0]["degraded"], true);
    assert_eq!(json["errors"][0]["path"], "blob.py");
    // Binary without the bytes `dill` is checked and passes.
    let (code, json, _) = check_source("other.py", &[0u8, 159, 146, 150, 0, 1, 2]);
    assert_eq!((code, json["files_checked"].as_u64()), (0, Some(1)));
}

#[test]
fn empty_file() {
    let (code, json, stderr) = check_source("empty.py", b"");
    assert_no_crash(&stderr);
    assert_eq!((code, json["files_checked"].as_u64()), (0, Some(1)));
}

#[test]
fn huge_files_and_lines() {
    // 50 MB without dill: read, prefiltered, passed.
    let line = "value = compute(alpha, beta, gamma)  # a perfectly ordinary line\n";
    let big = line.repeat(50 * 1024 * 1024 / line.len());
    let (code, json, stderr) = check_source("big.py", big.as_bytes());
    assert_no_crash(&stderr);
    assert_eq!((code, json["files_checked"].as_u64()), (0, Some(1)));
    // A 1.5 MB single line that ends in a sink call: past the full parse, scanned.
    let long = format!(
        "import dill\nx = [{}]; dill.loads(x)\n",
        vec!["1"; 750_000].join(",")
    );
    let (code, json, stderr) = check_source("long.py", long.as_bytes());
    assert_no_crash(&stderr);
    assert_eq!(code, 1);
    assert_eq!(json["findings"][0]["line"], 2);
    assert_eq!(json["findings"][0]["column"], 1_500_008);
    assert_eq!(json["findings"][0]["degraded"], true);
    assert!(
        json["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("more than the 1.0 MiB the full parse takes"),
        "{json}"
    );
    // 5 MB that mention dill: too large to analyse, an error naming the file.
    let longer = format!(
        "import dill\nx = [{}]; dill.loads(x)\n",
        vec!["1"; 2_500_000].join(",")
    );
    let (code, json, stderr) = check_source("longer.py", longer.as_bytes());
    assert_no_crash(&stderr);
    assert_eq!(code, 2, "{json}");
    assert_eq!(json["errors"][0]["path"], "longer.py");
    assert!(
        json["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("more than the 2.0 MiB dill-guard can analyse"),
        "{json}"
    );
    // Past the largest file dill-guard reads at all: an error, whatever it holds.
    let huge = line.repeat(65 * 1024 * 1024 / line.len());
    let (code, json, stderr) = check_source("huge.py", huge.as_bytes());
    assert_no_crash(&stderr);
    assert_eq!(code, 2, "{json}");
    assert!(
        json["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("more than the 64.0 MiB dill-guard reads of one file"),
        "{json}"
    );
}

#[test]
fn a_directory_named_like_python() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("x.py")).unwrap();
    std::fs::write(dir.path().join("x.py/inner.py"), BAD).unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), &["--format", "json", "x.py"]);
    assert_no_crash(&stderr);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(paths(&json), ["x.py/inner.py"]);
}

#[test]
fn index_v4_split_index_and_skip_worktree() {
    let repo = Repo::new();
    repo.write("a.py", GOOD);
    repo.write("b.py", GOOD);
    repo.commit_all("base");
    repo.git(&["update-index", "--index-version", "4"]);
    repo.write("a.py", BAD);
    repo.git(&["add", "a.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["a.py".to_string()]),
        "index v4"
    );

    repo.git(&["update-index", "--index-version", "2", "--split-index"]);
    repo.write("b.py", BAD);
    repo.git(&["add", "b.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "split index");
    assert_eq!(paths(&json), ["a.py", "b.py"]);

    // skip-worktree: the index blob is what gets committed, whatever the disk says.
    repo.git(&["update-index", "--no-split-index"]);
    repo.git(&["update-index", "--skip-worktree", "b.py"]);
    repo.write("b.py", GOOD);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["a.py".to_string(), "b.py".to_string()])
    );
}

#[test]
fn sparse_index() {
    let repo = Repo::new();
    repo.write("src/app.py", GOOD);
    repo.write("legacy/old.py", BAD);
    repo.commit_all("base");
    repo.git(&["sparse-checkout", "set", "--cone", "--sparse-index", "src"]);
    let listing = repo.git(&["ls-files", "--sparse"]);
    assert!(
        listing.contains("legacy/"),
        "the index is really sparse: {listing}"
    );
    // Nothing staged: the collapsed directory is not mistaken for a change.
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, json["files_checked"].as_u64()),
        (0, Some(0)),
        "{json}"
    );
    repo.write("src/app.py", BAD);
    repo.git(&["add", "src/app.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!((code, paths(&json)), (1, vec!["src/app.py".to_string()]));
    // --all sees the files inside the collapsed directory too.
    let (code, json) = repo.json(&["--all"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["legacy/old.py", "src/app.py"]);
}

/// Git verifies the index's trailing checksum only in `git fsck`; everyday commands, hooks
/// included, read an index whose checksum is wrong. dill-guard reads it the same way (hashing a
/// large index costs more than decoding it), and still judges what it holds.
#[test]
fn index_checksum_is_not_verified_as_git_does_not() {
    let repo = Repo::new();
    repo.write("a.py", BAD);
    repo.git(&["add", "a.py"]);
    let index = repo.dir.join(".git/index");
    let mut bytes = std::fs::read(&index).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&index, bytes).unwrap();
    assert_eq!(
        repo.git(&["diff", "--cached", "--name-only"]).trim(),
        "a.py"
    );
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(paths(&json), ["a.py"]);
}

#[test]
fn corrupt_index_is_an_error_naming_it() {
    let repo = Repo::new();
    repo.write("a.py", BAD);
    repo.git(&["add", "a.py"]);
    std::fs::write(repo.dir.join(".git/index"), b"DIRC\x00\x00\x00\x02garbage").unwrap();
    let (code, stdout, stderr) = repo.run(&["--staged"]);
    assert_no_crash(&stderr);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("could not read the index") && stderr.contains("index"),
        "{stderr}"
    );
}

#[test]
fn missing_object_is_an_error_naming_the_file() {
    let repo = Repo::new();
    repo.write("a.py", BAD);
    repo.git(&["add", "a.py"]);
    let id = repo.git(&["rev-parse", ":a.py"]);
    let id = id.trim();
    std::fs::remove_file(repo.dir.join(".git/objects").join(&id[..2]).join(&id[2..])).unwrap();
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 2);
    assert_eq!(json["errors"][0]["path"], "a.py");
    assert!(
        json["errors"][0]["message"].as_str().unwrap().contains(id),
        "{json}"
    );
}

/// Loose objects are read and inflated without the general lookup; damage to one is still an
/// error naming the file, whatever the damage.
#[test]
fn corrupt_loose_objects_are_errors_naming_the_file() {
    let cases = [
        ("not zlib", b"this is not a zlib stream".to_vec()),
        ("empty", Vec::new()),
        // A valid stream whose header claims far more than it holds.
        ("short", zlib_stored(b"blob 999999\0import dill\n")),
        // A tree where the index says a file is.
        ("wrong kind", zlib_stored(b"tree 0\0")),
    ];
    for (name, bytes) in cases {
        let repo = Repo::new();
        repo.write("a.py", BAD);
        repo.git(&["add", "a.py"]);
        let id = repo.git(&["rev-parse", ":a.py"]);
        let id = id.trim();
        let object = repo.dir.join(".git/objects").join(&id[..2]).join(&id[2..]);
        std::fs::remove_file(&object).unwrap();
        std::fs::write(&object, bytes).unwrap();
        let (code, json) = repo.json(&["--staged"]);
        assert_eq!(code, 2, "{name}: {json}");
        assert_eq!(json["errors"][0]["path"], "a.py", "{name}");
        let message = json["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(id), "{name}: {message}");
    }
}

/// A zlib stream of stored (uncompressed) blocks, to write objects by hand.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let len = data.len() as u16;
    out.push(1);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    let (mut a, mut b) = (1u32, 0u32);
    for byte in data {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

#[test]
fn ranges_in_a_bare_repository() {
    let repo = Repo::new();
    repo.write("a.py", GOOD);
    repo.commit_all("one");
    repo.write("b.py", BAD);
    repo.commit_all("two");
    let holder = tempfile::tempdir().unwrap();
    let bare = holder.path().join("mirror.git");
    repo.git(&[
        "clone",
        "-q",
        "--bare",
        repo.dir.to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    let (code, json) = json_in(&bare, &["--range", "HEAD~1..HEAD"]);
    assert_eq!((code, paths(&json)), (1, vec!["b.py".to_string()]));
    let (code, _, stderr) = run_in(&bare, &["--staged"]);
    assert_ne!(code, 1, "{stderr}");
    assert_no_crash(&stderr);
}

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.insert(
                    path.strip_prefix(dir).unwrap().display().to_string(),
                    (bytes, meta.modified().unwrap()),
                );
            }
        }
    }
    out
}

#[test]
fn a_check_never_modifies_the_repository() {
    let repo = Repo::new();
    repo.write("a.py", GOOD);
    repo.write("dill-guard.toml", "exclude = []\n");
    repo.commit_all("base");
    repo.write("a.py", BAD);
    repo.write("b.py", BAD);
    repo.git(&["add", "a.py"]);
    let before = snapshot(&repo.dir);
    for args in [
        &["--staged"][..],
        &["--staged", "a.py", "b.py"],
        &["--all"],
        &["."],
        &["--range", "HEAD..HEAD"],
        &["--staged", "--new-only", "--format", "sarif"],
    ] {
        let (code, _, stderr) = repo.run(args);
        assert!(code == 0 || code == 1, "{args:?}: {stderr}");
    }
    assert_eq!(
        snapshot(&repo.dir),
        before,
        "the index, work tree or .git changed"
    );
}

/// Python reads names through the declared source encoding and in NFKC form, so these files
/// import dill although their bytes never spell it; each must be found. Codecs that could hide
/// it and that dill-guard cannot read exactly make the file an error, never a pass.
#[test]
fn spellings_python_reads_as_dill_are_found() {
    let found: [(&str, &str, u64); 5] = [
        (
            "utf7.py",
            "# coding: utf-7\nimport +AGQ-ill\nx = +AGQ-ill.loads(b)\n",
            3,
        ),
        (
            "fullwidth.py",
            "import ｄｉｌｌ\nx = ｄｉｌｌ.ｌｏａｄｓ(b)\n",
            2,
        ),
        ("bold.py", "import 𝐝𝐢𝐥𝐥 as d\n\nx = d.loads(b)\n", 3),
        ("mixed.py", "from ⅾill import ｌoads\nｌoads(b)\n", 2),
        // Non-ASCII white space around them is not part of any name.
        (
            "spaces.py",
            "s = '\u{3000}a\u{a0}'  # \u{a0}\nimport ｄｉｌｌ\nｄｉｌｌ.loads(b)\n",
            3,
        ),
    ];
    for (name, source, line) in found {
        assert!(
            !source.contains("dill"),
            "{name} must not spell the name plainly"
        );
        let (code, json, stderr) = check_source(name, source.as_bytes());
        assert_no_crash(&stderr);
        assert_eq!(code, 1, "{name}: {json}");
        assert_eq!(lines(&json), [line], "{name}: {json}");
    }
    // Normalised strings and other words stay what they were: no finding.
    let (code, json, _) = check_source("clean.py", "s = 'ｄｉｌｌ.loads'\ncafé = 1\n".as_bytes());
    assert_eq!((code, lines(&json)), (0, vec![]), "{json}");
    for (name, source) in [
        (
            "escape.py",
            "# coding: unicode_escape\nimport \\x64ill\n".as_bytes(),
        ),
        ("cyrillic.py", b"# coding: cp1251\ns = '\xe9'\n".as_slice()),
    ] {
        let (code, json, stderr) = check_source(name, source);
        assert_no_crash(&stderr);
        assert_eq!(code, 2, "{name}: {json}");
        assert_eq!(json["errors"][0]["path"], name);
        assert!(
            json["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("convert it to UTF-8"),
            "{json}"
        );
    }
}

#[test]
fn deep_nesting_under_an_address_space_limit() {
    // Under `ulimit -v`, workers cannot reserve 512 MiB stacks: the check must fall back to
    // smaller stacks with nesting limits to match, never overflow or run out of heap.
    let dir = tempfile::tempdir().unwrap();
    for (name, depth) in [("shallow.py", 10_000), ("deep.py", 100_000)] {
        let source = format!(
            "import dill\nx = {}1{}\ndill.loads(x)\n",
            "(".repeat(depth),
            ")".repeat(depth)
        );
        std::fs::write(dir.path().join(name), source).unwrap();
    }
    // From 1 GiB, where one 512 MiB stack may fit, down to 200 MiB, where only small ones do.
    for limit in [1_048_576, 400_000, 200_000] {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -s 8192 && ulimit -v {limit} && exec '{}' --format json --no-config shallow.py deep.py",
                binary()
            ))
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_no_crash(&stderr);
        assert_eq!(out.status.code(), Some(1), "ulimit -v {limit}: {stderr}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(paths(&json), ["deep.py", "shallow.py"], "ulimit -v {limit}");
    }
}

#[test]
fn one_change_gives_the_analysis_a_bounded_amount() {
    // Thirteen 4 MiB files that mention dill: each is an error of its own (too large to
    // analyse), and past 48 MiB in all the rest are not even handed to the analysis.
    let repo = Repo::new();
    let body = format!(
        "import dill\ndill.loads(b)\n{}",
        "x = 1\n".repeat((4 << 20) / 6)
    );
    for i in 0..13 {
        repo.write(&format!("big{i:02}.py"), &body);
    }
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 2, "{json}");
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 13, "{json}");
    let refused = errors
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .unwrap()
                .contains("more than 48.0 MiB of Python that mentions dill")
        })
        .count();
    assert_eq!(refused, 2, "{json}");
    // A full check of the tree has no such bound.
    let (code, json) = repo.json(&["."]);
    assert_eq!(code, 2);
    assert!(!json.to_string().contains("not analysed"), "{json}");
}
