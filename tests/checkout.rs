//! What git writes on checkout and into archives, judged as written: `.gitattributes` may turn
//! a blob without the word `dill` into a file that calls `dill.loads` (`working-tree-encoding`),
//! write a commit message into code (`export-subst` in `git archive`), or stand a Python file in
//! for content that is not in the repository (`filter=lfs`). Real git, real pushes to a bare
//! server with the pre-receive hook.

mod common;

use common::*;

/// `BAD` read as IBM037 (EBCDIC) and stored as UTF-8: the blob holds no `dill`, and a checkout
/// with `working-tree-encoding=IBM037` writes `BAD` back, byte for byte (checked with `git
/// clone` and CPython importing the file with a recording `dill`).
const BAD_AS_IBM037: &str = "\u{d1}_\u{f8}?\u{ca}\u{c8}\u{80}\u{c0}\u{d1}%%\u{8e}\u{8e}\u{8e}\u{c0}\u{c1}\u{c3}\u{80}\u{ca}\u{c1}\u{cb}\u{c8}?\u{ca}\u{c1}\u{88}\u{c2}%?\u{c2}\u{89}\u{9a}\u{8e}\u{80}\u{80}\u{80}\u{80}\u{ca}\u{c1}\u{c8}\u{cd}\u{ca}>\u{80}\u{c0}\u{d1}%%\u{6}%?/\u{c0}\u{cb}\u{88}\u{c2}%?\u{c2}\u{89}\u{8e}";

/// Stages `bytes` at `path` as they are, whatever the attributes say a checkout does to them.
fn stage_raw(repo: &Repo, path: &str, bytes: &str) {
    let tmp = repo.dir.join(".raw");
    std::fs::write(&tmp, bytes).unwrap();
    let id = repo.git(&["hash-object", "-w", "--no-filters", ".raw"]);
    std::fs::remove_file(&tmp).unwrap();
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{},{path}", id.trim()),
    ]);
}

fn error_paths(json: &serde_json::Value) -> Vec<String> {
    json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_working_tree_encoding_that_hides_the_sink_blocks() {
    let server = Server::new("");
    let repo = &server.client;
    repo.write(".gitattributes", "app.py working-tree-encoding=IBM037\n");
    repo.git(&["add", ".gitattributes"]);
    stage_raw(repo, "app.py", BAD_AS_IBM037);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 2, "{json}");
    assert_eq!(error_paths(&json), ["app.py"], "{json}");
    assert!(
        json["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("IBM037"),
        "{json}"
    );
    repo.git(&["commit", "-q", "--no-verify", "-m", "ebcdic"]);
    // What a clone holds: the sink, in plain text.
    let clone = tempfile::tempdir().unwrap();
    repo.git(&[
        "clone",
        "-q",
        repo.dir.to_str().unwrap(),
        clone.path().join("c").to_str().unwrap(),
    ]);
    if let Ok(on_disk) = std::fs::read_to_string(clone.path().join("c/app.py")) {
        assert_eq!(
            on_disk, BAD,
            "this git writes IBM037 the way the test assumes"
        );
    }
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(
        shown.contains("app.py") && shown.contains("IBM037"),
        "{shown}"
    );
    let (code, _) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 2);
}

/// Encodings whose result can be read are applied and judged: Latin-1 writes the same ASCII.
#[test]
fn an_encoding_that_can_be_written_is_judged_after_conversion() {
    let repo = Repo::new();
    repo.write(
        ".gitattributes",
        "*.py working-tree-encoding=ISO-8859-1 eol=crlf ident\n",
    );
    repo.git(&["add", ".gitattributes"]);
    stage_raw(
        &repo,
        "app.py",
        &format!("# -*- coding: latin-1 -*-\n# $Id$ é\n{BAD}"),
    );
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(
        places(&json),
        [("app.py".to_string(), 7, "call".to_string())],
        "{json}"
    );
    assert_eq!(json["warnings"], serde_json::json!([]), "{json}");
}

/// The attributes change, the file does not: a checkout now writes something else.
#[test]
fn attributes_changed_alone_judge_the_files_they_change() {
    let server = Server::new("");
    let repo = &server.client;
    stage_raw(repo, "app.py", BAD_AS_IBM037);
    repo.git(&[
        "commit",
        "-q",
        "--no-verify",
        "-m",
        "gibberish, harmless as it is",
    ]);
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    repo.write("pkg/.gitattributes", "");
    repo.write(".gitattributes", "app.py working-tree-encoding=IBM037\n");
    repo.git(&["add", ".gitattributes", "pkg/.gitattributes"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, error_paths(&json)),
        (2, vec!["app.py".to_string()]),
        "{json}"
    );
    // A hook manager names only the changed file.
    let (code, json) = repo.json(&["--staged", "--", ".gitattributes"]);
    assert_eq!(code, 2, "{json}");
    repo.git(&["commit", "-q", "--no-verify", "-m", "attributes"]);
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("app.py"), "{shown}");
}

/// `git archive` writes the commit's subject where `$Format:%s$` stands: pushing the file with
/// a harmless message and the message later, on a commit that touches something else, are
/// both caught. `$Format:%H$`/`%d` in a version file (as versioneer writes it) pass.
#[test]
fn export_subst_is_judged_with_the_commit_an_archive_is_made_of() {
    let server = Server::new("");
    let repo = &server.client;
    repo.write(".gitattributes", "version.py export-subst\n");
    repo.write(
        "version.py",
        "full = '$Format:%H$'\nrefs = '$Format:%d$'\ndate = '$Format:%ci$'\n$Format:%s$\n",
    );
    repo.commit_all("x = 1");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    repo.write("notes.txt", "later\n");
    repo.git(&["add", "notes.txt"]);
    let subject = "import dill; dill.loads(open('m.bin', 'rb').read())";
    repo.git(&["commit", "-q", "--no-verify", "-m", subject]);
    // The premise: the archive holds the call.
    let archive = repo.git_try(&["archive", "HEAD", "version.py"]);
    assert!(String::from_utf8_lossy(&archive.stdout).contains(subject));
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["version.py".to_string()]),
        "{json}"
    );
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("version.py"), "{shown}");
    // A placeholder that writes text dill-guard does not expand is an error, not a pass.
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    repo.write("version.py", "tag = '$Format:%(describe)$'\n");
    repo.commit_all("describe");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("%(describe)"), "{shown}");
}

#[test]
fn filters_and_lfs_pointers_are_errors_for_python_files() {
    let repo = Repo::new();
    repo.write(
        ".gitattributes",
        "*.py filter=lfs diff=lfs merge=lfs -text\n",
    );
    repo.git(&["add", ".gitattributes"]);
    let pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n";
    stage_raw(&repo, "app.py", pointer);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, error_paths(&json)),
        (2, vec!["app.py".to_string()]),
        "{json}"
    );
    assert!(
        json["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("LFS"),
        "{json}"
    );
    // A filter on a file that is no pointer: the filter's program decides what lands.
    repo.write(".gitattributes", "*.py filter=crypt\n");
    repo.git(&["add", ".gitattributes"]);
    stage_raw(&repo, "app.py", GOOD);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, error_paths(&json)),
        (2, vec!["app.py".to_string()]),
        "{json}"
    );
    assert!(
        json["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("filter=crypt"),
        "{json}"
    );
    // The pointer without the attribute (it could be added later, alone): still never judged
    // as if it were the code.
    repo.write(".gitattributes", "");
    repo.git(&["add", ".gitattributes"]);
    stage_raw(&repo, "app.py", pointer);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, error_paths(&json)),
        (2, vec!["app.py".to_string()]),
        "{json}"
    );
    assert!(
        json["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("LFS"),
        "{json}"
    );
    // Excluding the path is how a policy says to leave it.
    repo.write("dill-guard.toml", "exclude = [\"app.py\"]\n");
    repo.git(&["add", "dill-guard.toml"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0, "{json}");
}

/// Everyday attributes change nothing Python reads, and cost nothing.
#[test]
fn everyday_attributes_pass() {
    let repo = Repo::new();
    repo.write(
        ".gitattributes",
        "* text=auto eol=lf\n*.py diff=python\n*.png binary\n",
    );
    repo.write("app.py", GOOD);
    repo.write("sub/.gitattributes", "*.py linguist-vendored\n");
    repo.write("sub/lib.py", GOOD);
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["files_checked"], 2, "{json}");
}

/// Python code of even length, whose bytes read as UTF-16LE are CJK characters: with
/// `working-tree-encoding=UTF-16LE` (or `UCS-2`, which glibc writes little-endian without a
/// byte-order mark), `git add` stores those characters as UTF-8, and a checkout writes this
/// code back byte for byte.
const ASCII_CODE: &str = "import dill;print(dill.loads(b'xy'))#\n";

fn checked_out(repo: &Repo, path: &str) -> String {
    let clone = tempfile::tempdir().unwrap();
    let into = clone.path().join("c");
    repo.git(&[
        "clone",
        "-q",
        repo.dir.to_str().unwrap(),
        into.to_str().unwrap(),
    ]);
    String::from_utf8_lossy(&std::fs::read(into.join(path)).unwrap()).into_owned()
}

#[test]
fn an_encoding_whose_byte_order_is_the_platforms_is_judged_in_every_order() {
    assert_eq!(ASCII_CODE.len() % 2, 0);
    let server = Server::new("");
    let repo = &server.client;
    repo.write(".gitattributes", "payload.py working-tree-encoding=UCS-2\n");
    repo.git(&["add", ".gitattributes"]);
    repo.write("payload.py", ASCII_CODE);
    repo.git(&["add", "payload.py"]);
    let blob = repo.git(&["cat-file", "-p", ":payload.py"]);
    assert!(!blob.contains("dill"), "{blob}");
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["payload.py".to_string()]),
        "{json}"
    );
    repo.git(&["commit", "-q", "--no-verify", "-m", "ucs-2"]);
    assert_eq!(checked_out(repo, "payload.py"), ASCII_CODE);
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
}

/// `export-subst` rewrites archives only: a checkout writes the file as committed, where
/// `%n` did not close the string that hides the call.
#[test]
fn an_export_subst_file_is_judged_as_checked_out_too() {
    let server = Server::new("");
    let repo = &server.client;
    repo.write(".gitattributes", "*.py export-subst\n");
    repo.write(
        "payload.py",
        "#$Format:%n\"\"\"$\nimport dill; print(dill.loads(b\"x\"))\n#\"\"\"\n",
    );
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["payload.py".to_string()]),
        "{json}"
    );
    repo.git(&[
        "commit",
        "-q",
        "--no-verify",
        "-m",
        "hidden in the archive only",
    ]);
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
}

/// A link is written out as what its target is written out as: the target's attributes apply.
#[test]
fn a_link_is_judged_with_its_targets_attributes() {
    let server = Server::new("");
    let repo = &server.client;
    repo.write(
        ".gitattributes",
        "payload.txt working-tree-encoding=UTF-16LE\n",
    );
    repo.git(&["add", ".gitattributes"]);
    repo.write("payload.txt", ASCII_CODE);
    std::os::unix::fs::symlink("payload.txt", repo.dir.join("app2.py")).unwrap();
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["app2.py".to_string()]),
        "{json}"
    );
    repo.git(&["commit", "-q", "--no-verify", "-m", "link"]);
    assert_eq!(checked_out(repo, "app2.py"), ASCII_CODE);
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
}

/// Deleting the `.gitattributes` that unset a conversion turns it back on for the files below.
#[test]
fn a_deleted_gitattributes_judges_the_files_below_it() {
    let server = Server::new("");
    let repo = &server.client;
    repo.write(
        ".gitattributes",
        "payload.py working-tree-encoding=UTF-16LE\nprobe.py working-tree-encoding=UTF-16LE\n",
    );
    repo.write("sub/.gitattributes", "payload.py -working-tree-encoding\n");
    repo.git(&["add", "-A"]);
    // The CJK blob, stored as it is: under `sub/` it is written out as it stands.
    let cjk = repo.git(&["cat-file", "-p", &{
        repo.write("probe.py", ASCII_CODE);
        repo.git(&["add", "probe.py"]);
        ":probe.py".to_string()
    }]);
    repo.git(&["rm", "-q", "--cached", "probe.py"]);
    std::fs::remove_file(repo.dir.join("probe.py")).unwrap();
    stage_raw(repo, "sub/payload.py", &cjk);
    repo.git(&["commit", "-q", "--no-verify", "-m", "harmless as written"]);
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    repo.git(&["rm", "-q", "sub/.gitattributes"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["sub/payload.py".to_string()]),
        "{json}"
    );
    repo.git(&["commit", "-q", "--no-verify", "-m", "drop the unset"]);
    assert_eq!(checked_out(repo, "sub/payload.py"), ASCII_CODE);
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 1, "{json}");
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
}

/// `%d` writes the names of every ref at the archived commit, in git's order, whenever they
/// come: a name that is more than a plain name is refused where such a file is.
#[test]
fn a_ref_name_that_export_subst_would_write_into_code_is_refused() {
    let server = Server::new("");
    let repo = &server.client;
    repo.write(".gitattributes", "payload.py export-subst\n");
    repo.write("payload.py", "s = \"$Format:%d$\"\nx = 1 #'''\n");
    repo.commit_all("versioneer-like");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    repo.git(&["tag", "v1.0"]);
    let out = repo.git_try(&["push", "--no-verify", "origin", "v1.0"]);
    assert!(out.status.success(), "{}", text(&out));
    let name = "z\"+'''";
    repo.git(&["tag", name]);
    let out = repo.git_try(&[
        "push",
        "--no-verify",
        "origin",
        &format!("refs/tags/{name}"),
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("export-subst"), "{}", text(&out));
}

/// `ASCII_CODE` read as UTF-16LE: what `git add` stores under `working-tree-encoding=UTF-16LE`.
fn cjk() -> String {
    let units: Vec<u16> = ASCII_CODE
        .as_bytes()
        .chunks(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16(&units).unwrap()
}

/// Found by outside review: a `.gitattributes` that is a symbolic link is read by git as its
/// text; attributes matched whatever the case (`core.ignoreCase`, clones on macOS and
/// Windows); a change of attributes re-judges the links written out under them.
#[test]
fn attributes_as_git_reads_them_in_every_checkout() {
    use std::os::unix::fs::symlink;
    let repo = Repo::new();
    stage_raw(&repo, "v.py", &cjk());
    symlink(
        "*.py working-tree-encoding=UTF-16LE",
        repo.dir.join(".gitattributes"),
    )
    .unwrap();
    repo.git(&["add", ".gitattributes"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["v.py".to_string()]),
        "{json}"
    );
    repo.git(&["rm", "-q", "--cached", ".gitattributes"]);
    std::fs::remove_file(repo.dir.join(".gitattributes")).unwrap();
    repo.write(".gitattributes", "*.PY working-tree-encoding=UTF-16LE\n");
    repo.git(&["add", ".gitattributes"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["v.py".to_string()]),
        "{json}"
    );

    let server = Server::new("");
    let repo = &server.client;
    repo.write("d/x.txt", ASCII_CODE);
    stage_raw(repo, "d/x.txt", &cjk());
    symlink("d/x.txt", repo.dir.join("v.py")).unwrap();
    repo.git(&["add", "v.py"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "link to gibberish"]);
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    std::fs::remove_file(repo.dir.join("d/x.txt")).unwrap();
    repo.write("d/.gitattributes", "x.txt working-tree-encoding=UTF-16LE\n");
    repo.git(&["add", "d/.gitattributes"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["v.py".to_string()]),
        "{json}"
    );
    repo.git(&["commit", "-q", "--no-verify", "-m", "attributes only"]);
    let (ok, shown) = server.push(&["main"]);
    assert!(!ok, "{shown}");
}

/// `ident` leaves some `$Id: ... $` runs alone: what it may leave is judged too.
#[test]
fn ident_is_judged_as_left_and_as_written() {
    let repo = Repo::new();
    // Staged before the attribute, so `git add` did not fold the run back to `$Id$`.
    repo.write(
        "v.py",
        "x = \"$Id: a\"; __import__(\"dill\").loads(b\"\"); y = \"b $\"\n",
    );
    repo.git(&["add", "v.py"]);
    repo.write(".gitattributes", "*.py ident\n");
    repo.git(&["add", ".gitattributes"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json)),
        (1, vec!["v.py".to_string()]),
        "{json}"
    );
}

/// `%s` as git writes it (leading blank lines skipped, the subject's lines joined), `%e` as the
/// raw header, and what is not modelled (a message in another encoding, `.mailmap` names) an
/// error; semantic-version tags pass beside `%d`.
#[test]
fn export_subst_text_as_git_archive_writes_it() {
    let server = Server::new("");
    let repo = &server.client;
    repo.write(".gitattributes", "v.py export-subst\n");
    repo.write("v.py", "$Format:%s$\n");
    repo.commit_all("subject");
    let (ok, shown) = server.push(&["main"]);
    assert!(ok, "{shown}");
    let push = |message: &str, extra: &[&str]| {
        repo.write("n.txt", message);
        repo.git(&["add", "n.txt"]);
        let mut args = extra.to_vec();
        args.extend([
            "commit",
            "-q",
            "--no-verify",
            "--cleanup=verbatim",
            "-m",
            message,
        ]);
        repo.git(&args);
        let out = repo.git_try(&["push", "--no-verify", "origin", "main"]);
        repo.git(&["reset", "-q", "--hard", "origin/main"]);
        (out.status.success(), text(&out))
    };
    let (ok, shown) = push("\n\nimport dill;dill.loads(b\"\")", &[]);
    assert!(!ok, "leading blank lines: {shown}");
    let (ok, shown) = push("s = '\n'; import dill; dill.loads(b'')", &[]);
    assert!(!ok, "two-line subject: {shown}");
    let (ok, shown) = push("plain", &["-c", "i18n.commitEncoding=ISO-8859-1"]);
    assert!(
        !ok && shown.contains("ISO-8859-1"),
        "message encoding: {shown}"
    );
    repo.write("v.py", "s = '$Format:%e$'\n");
    repo.commit_all("e");
    let out = repo.git_try(&["push", "--no-verify", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    let (ok, shown) = push(
        "e",
        &[
            "-c",
            "i18n.commitEncoding=x'+__import__(\"dill\").loads(b\"\")+'",
        ],
    );
    assert!(!ok, "%e: {shown}");
    repo.write("v.py", "s = '$Format:%aN$'\n");
    repo.commit_all("mailmap");
    let out = repo.git_try(&["push", "--no-verify", "origin", "main"]);
    assert!(
        !out.status.success() && text(&out).contains("%aN"),
        "{}",
        text(&out)
    );
    repo.git(&["reset", "-q", "--hard", "origin/main"]);
    repo.write("v.py", "refs = '$Format:%d$'\n");
    repo.commit_all("versioneer");
    repo.git(&["tag", "v1.0.0-rc.1+build.5"]);
    let out = repo.git_try(&[
        "push",
        "--no-verify",
        "origin",
        "main",
        "v1.0.0-rc.1+build.5",
    ]);
    assert!(out.status.success(), "{}", text(&out));
}
