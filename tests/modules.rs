//! Names imported from other modules of the same repository, against real git repositories:
//! the module is read from the same source as the check (the index for a commit, a commit for
//! a range, the disk for paths), whatever the working tree holds.

mod common;

use common::*;

/// A module that binds dill's loader under its own names, as compatibility shims do.
const COMPAT: &str =
    "try:\n    import dill\nexcept ImportError:\n    import pickle as dill\n\nloads = dill.loads\n";
/// The same module once it no longer hands dill on.
const COMPAT_JSON: &str = "import json\n\nloads = json.loads\n";
/// A file that never names dill: what it imports is dill's loader (checked under CPython with
/// a recording dill module).
const APP: &str = "from pkg.serial import loads as decode\nfrom pkg import compat\n\n\ndef handle(blob):\n    decode(blob)\n    return compat.loads(blob)\n";

fn project(repo: &Repo) {
    repo.write("pkg/__init__.py", "");
    repo.write("pkg/compat.py", COMPAT);
    repo.write("pkg/serial.py", "from .compat import loads\n");
}

#[test]
fn a_name_imported_from_a_module_of_the_repository_is_what_that_module_binds() {
    let repo = Repo::new();
    project(&repo);
    repo.commit_all("shim");
    repo.install_hook();
    repo.write("app.py", APP);
    repo.git(&["add", "app.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(lines(&json), [6, 7]);
    assert_eq!(json["findings"][0]["api"], "dill.loads");
    assert_eq!(json["findings"][0]["kind"], "call");
    // The real hook blocks the commit.
    let out = repo.git_try(&["commit", "-m", "handler"]);
    assert!(!out.status.success(), "{}", text(&out));
}

#[test]
fn the_module_is_read_from_the_index_not_the_working_tree() {
    let repo = Repo::new();
    project(&repo);
    repo.commit_all("shim");
    repo.write("app.py", APP);
    repo.git(&["add", "app.py"]);
    // Unstaged: the commit still holds the dill shim.
    repo.write("pkg/compat.py", COMPAT_JSON);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!((code, lines(&json)), (1, vec![6, 7]), "{json}");
    // Path mode reads the disk, where the shim no longer hands dill on.
    let (code, json) = repo.json(&["app.py"]);
    assert_eq!(code, 0, "{json}");
    // Staged the other way round: a clean index passes whatever the disk holds.
    repo.git(&["add", "pkg/compat.py"]);
    repo.write("pkg/compat.py", COMPAT);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn a_range_reads_the_module_from_the_commit_it_checks() {
    let repo = Repo::new();
    project(&repo);
    repo.commit_all("shim");
    repo.write("app.py", APP);
    repo.commit_all("handler");
    repo.write("pkg/compat.py", COMPAT_JSON);
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(paths(&json), ["app.py", "app.py"]);
}

#[test]
fn relative_imports_star_imports_and_attribute_chains() {
    let repo = Repo::new();
    project(&repo);
    repo.write(
        "pkg/api/handlers.py",
        "from ..compat import *\nfrom .. import serial\nimport pkg.compat\n\nloads(b)\nserial.loads(b)\npkg.compat.dill.load(f)\n",
    );
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    let found = places(&json);
    for line in [5, 6, 7] {
        let place = ("pkg/api/handlers.py".to_string(), line, "call".to_string());
        assert!(found.contains(&place), "{json}");
    }
}

#[test]
fn a_module_that_does_not_hand_dill_on_gives_nothing() {
    let repo = Repo::new();
    repo.write("pkg/__init__.py", "");
    repo.write("pkg/compat.py", COMPAT_JSON);
    repo.write("pkg/serial.py", "from .compat import loads\n");
    repo.write("app.py", APP);
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 0, "{json}");
    // A cycle of imports ends.
    repo.write(
        "pkg/a.py",
        "from .b import x\nimport dill\ny = dill.loads\n",
    );
    repo.write("pkg/b.py", "from .a import y as x\n");
    repo.write("use.py", "from pkg.b import x\nx(blob)\n");
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    assert!(paths(&json).contains(&"use.py".to_string()), "{json}");
}

/// `serialize.pickle = dill` in one file makes `pickle.loads` in serialize.py dill's (checked
/// under CPython with a recording dill): found at the patch, and in the module itself when the
/// check holds it.
#[test]
fn a_module_global_set_to_dill_elsewhere_is_dill_in_that_module() {
    let repo = Repo::new();
    repo.write(
        "pkg/serialize.py",
        "import pickle\n\n\ndef read(blob):\n    return pickle.loads(blob)\n",
    );
    repo.write(
        "pkg/setup.py",
        "import dill\n\nfrom . import serialize\n\n\ndef use_dill():\n    serialize.pickle = dill\n",
    );
    repo.write(
        "boot.py",
        "import dill\nimport pkg.serialize\n\npkg.serialize.pickle = dill\n",
    );
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--all"]);
    assert_eq!(code, 1, "{json}");
    let found = places(&json);
    assert_eq!(
        found,
        [
            ("boot.py".to_string(), 4, "module".to_string()),
            ("pkg/serialize.py".to_string(), 5, "call".to_string()),
            ("pkg/setup.py".to_string(), 7, "module".to_string()),
        ],
        "{json}"
    );
    // Without the patch the module is clean.
    repo.write("pkg/setup.py", "from . import serialize\n");
    repo.write("boot.py", "import pkg.serialize\n");
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--all"]);
    assert_eq!(code, 0, "{json}");
}

/// A notebook's cells import from the repository's modules like any file.
#[test]
fn a_notebook_cell_importing_a_dill_name_from_the_repository() {
    let repo = Repo::new();
    project(&repo);
    repo.write(
        "explore.ipynb",
        r#"{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
  "source": ["from pkg.serial import loads\n"]},
 {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
  "source": ["model = loads(open('m.bin', 'rb').read())\n"]}],
 "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#,
    );
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(code, 1, "{json}");
    let finding = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "explore.ipynb")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(
        (finding["cell"].as_u64(), finding["line"].as_u64()),
        (Some(2), Some(1))
    );
}

/// A repository that keeps a copy of dill (vendored, or dill's own sources): `import dill` is
/// still dill, also in a file that imports a dill name from another module.
#[test]
fn a_copy_of_dill_in_the_repository_is_still_dill() {
    let repo = Repo::new();
    repo.write("dill/__init__.py", "from ._dill import loads\n");
    repo.write("dill/_dill.py", "def loads(blob):\n    pass\n");
    repo.write("pkg/__init__.py", "");
    repo.write("pkg/compat.py", "import dill\nloads = dill.loads\n");
    repo.write(
        "app.py",
        "import dill\nimport torch\nfrom pkg.compat import loads\n\nloads(b)\ndill.loads(b)\ntorch.load(f, pickle_module=dill)\n",
    );
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--staged", "app.py"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(lines(&json), [5, 6, 7], "{json}");
}

/// Copies the project `tests/<name>` into the repository's working tree.
fn copy_project(repo: &Repo, name: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path.strip_prefix(&root).unwrap().to_str().unwrap();
                repo.write(relative, &std::fs::read_to_string(&path).unwrap());
            }
        }
    }
}

/// The lines of a project's `app.py` annotated `# expect:` (`name` under `tests/`).
fn expected_lines(name: &str) -> Vec<u64> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
        .join("app.py");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains("# expect:"))
        .map(|(n, _)| n as u64 + 1)
        .collect()
}

/// The lines of `app.py` with findings.
fn consumer_lines(json: &serde_json::Value) -> Vec<u64> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == "app.py")
        .map(|f| f["line"].as_u64().unwrap())
        .collect()
}

/// For each way of running, the findings are exactly `app.py`'s `expected` lines.
fn only_consumer_found(repo: &Repo, runs: &[&[&str]], expected: &[u64]) {
    for args in runs {
        let (code, json) = repo.json(args);
        assert_eq!(
            (code, consumer_lines(&json)),
            (1, expected.to_vec()),
            "{args:?} {json}"
        );
        assert!(
            paths(&json).iter().all(|p| p == "app.py"),
            "{args:?} {json}"
        );
    }
}

/// Shims that only bind dill (`import dill`, `codec = dill`, `import dill as codec`,
/// `from dill import *`, and a name assembled from pieces) spell no loader; every file that
/// imports from them is judged with what they bind, in every mode, with only the consumer
/// staged too. (The project is run under CPython in `tests/cpython_semantics.rs`.)
#[test]
fn a_module_that_only_re_exports_dill_is_followed_in_every_mode() {
    let repo = Repo::new();
    copy_project(&repo, "projects/plain_shims");
    std::fs::remove_file(repo.dir.join("app.py")).unwrap();
    repo.commit_all("shims");
    copy_project(&repo, "projects/plain_shims");
    let expected = expected_lines("projects/plain_shims");
    assert_eq!(expected.len(), 8);
    // Only the consumer staged: the shims are read from the index. Then path mode, the
    // consumer alone and the whole tree; the index; a range. The shims reach no sink.
    repo.git(&["add", "app.py"]);
    only_consumer_found(
        &repo,
        &[&["--staged"], &["app.py"], &["."], &["--all"]],
        &expected,
    );
    repo.commit_all("consumer");
    only_consumer_found(&repo, &[&["--range", "HEAD~1..HEAD"]], &expected);
}

/// Chains of two and three hops whose first module holds only `import dill as d`: through
/// `from a import d`, a star re-export, `from . import` inside a package, and a module under
/// `src/`.
#[test]
fn chains_of_re_exports_that_start_with_a_bare_import() {
    let repo = Repo::new();
    copy_project(&repo, "projects/chains");
    repo.git(&["add", "-A"]);
    let expected = expected_lines("projects/chains");
    assert_eq!(expected.len(), 7);
    only_consumer_found(
        &repo,
        &[&["--staged"], &["--all"], &["."], &["app.py"]],
        &expected,
    );
}

/// A module the policy excludes is never checked, but it can still be imported: what it
/// binds to dill is dill in the files that import it.
#[test]
fn an_excluded_module_still_exports_dill() {
    let repo = Repo::new();
    repo.write("dill-guard.toml", "extend-exclude = [\"vendor/**\"]\n");
    repo.write("vendor/__init__.py", "");
    repo.write(
        "vendor/codec.py",
        "import dill as codec\nloads = codec.loads\n",
    );
    repo.write("vendor/plain.py", "import dill as codec\n");
    repo.write(
        "app.py",
        "from vendor.codec import loads\nfrom vendor import plain\n\nloads(b)\nplain.codec.loads(b)\n",
    );
    repo.git(&["add", "-A"]);
    for args in [&["--staged"][..], &["--all"], &["."]] {
        let (code, json) = repo.json(args);
        assert_eq!(
            (code, paths(&json)),
            (1, vec!["app.py".to_string(); 2]),
            "{args:?} {json}"
        );
        assert_eq!(lines(&json), [4, 5], "{args:?} {json}");
    }
}

/// A whole-tree check in which no file it reads names dill skips resolution, unless some
/// module was left unread: one the walk skips by default (`build/`) can still be imported.
#[test]
fn a_module_in_a_directory_skipped_by_default_still_exports_dill() {
    let repo = Repo::new();
    repo.write("build/__init__.py", "");
    repo.write("build/codec.py", "import dill as codec\n");
    repo.write(
        "app.py",
        "from build.codec import codec\n\ncodec.loads(b)\n",
    );
    let (code, json) = repo.json(&["."]);
    assert_eq!(
        (code, paths(&json), lines(&json)),
        (1, vec!["app.py".to_string()], vec![3]),
        "{json}"
    );
    repo.git(&["add", "-A"]);
    let (code, json) = repo.json(&["--all"]);
    assert_eq!((code, lines(&json)), (1, vec![3]), "{json}");
}

/// Absolute imports are looked for from the importing file's own directory (`sys.path[0]`
/// for a script) and every ancestor, so a script's sibling module and a project checked from
/// outside its root are followed; a package is found before a module of the same name, as
/// Python finds it (each checked under CPython by hand with a recording dill).
#[test]
fn imports_from_the_scripts_directory_and_from_outside_the_root() {
    let repo = Repo::new();
    repo.write("scripts/helpers.py", "import dill as codec\n");
    repo.write(
        "scripts/run.py",
        "from helpers import codec\n\ncodec.loads(b)\n",
    );
    repo.write("pkg/__init__.py", "");
    repo.write("pkg/compat/__init__.py", "import dill as codec\n");
    repo.write("pkg/compat.py", "import json as codec\n");
    repo.write("pkg/other/__init__.py", "import json as codec\n");
    repo.write("pkg/other.py", "import dill as codec\n");
    repo.write(
        "app.py",
        "from pkg.compat import codec\nfrom pkg.other import codec as other\n\ncodec.loads(b)\nother.loads(b)\n",
    );
    repo.git(&["add", "-A"]);
    let expected = vec![
        ("app.py".to_string(), 4, "call".to_string()),
        ("scripts/run.py".to_string(), 3, "call".to_string()),
    ];
    for args in [&["--staged"][..], &["."], &["--all"]] {
        let (code, json) = repo.json(args);
        assert_eq!(
            (code, places(&json)),
            (1, expected.clone()),
            "{args:?} {json}"
        );
    }
    // From the directory above, with no repository: the project's root is not the working
    // directory, and the files are named through it.
    let outside = tempfile::tempdir().unwrap();
    let project = outside.path().join("project");
    std::fs::create_dir_all(project.join("pkg")).unwrap();
    std::fs::write(project.join("pkg/__init__.py"), "").unwrap();
    std::fs::write(project.join("pkg/compat.py"), "import dill as codec\n").unwrap();
    std::fs::write(
        project.join("app.py"),
        "from pkg.compat import codec\n\ncodec.loads(b)\n",
    )
    .unwrap();
    for args in [&["project/app.py"][..], &["project"]] {
        let (code, json) = json_in(outside.path(), args);
        assert_eq!((code, lines(&json)), (1, vec![3]), "{args:?} {json}");
    }
}

/// `helpers.codec = dill` in a file that names no loader makes `codec.loads` in helpers.py
/// dill's (checked under CPython with a recording dill): found in the whole tree, and when only
/// the patching file is staged, with helpers.py read from the index.
#[test]
fn a_global_set_to_dill_by_a_file_that_names_no_loader() {
    let repo = Repo::new();
    repo.write(
        "helpers.py",
        "import json\n\ncodec = json\n\n\ndef dec(b):\n    return codec.loads(b)\n",
    );
    repo.write("app.py", "import patch, helpers\n\nhelpers.dec(b)\n");
    repo.commit_all("helpers");
    repo.write("patch.py", "import dill, helpers\n\nhelpers.codec = dill\n");
    repo.git(&["add", "patch.py"]);
    let expected = vec![("helpers.py".to_string(), 7, "call".to_string())];
    for args in [&["--staged"][..], &["."], &["--all"]] {
        let (code, json) = repo.json(args);
        assert_eq!(
            (code, places(&json)),
            (1, expected.clone()),
            "{args:?} {json}"
        );
    }
}

/// A change that turns a shim to dill turns the code already committed against it: the
/// files that import it (directly or through a module that hands it on) are found in the rest
/// of the repository and judged, with only the shim staged, and in a range that changes only
/// the shim (checked under CPython with a recording dill).
#[test]
fn a_shim_turned_to_dill_after_its_users_were_committed() {
    let repo = Repo::new();
    repo.write("pkg/__init__.py", "");
    repo.write("pkg/compat.py", "import json as codec\n");
    repo.write("pkg/middle.py", "from .compat import codec\n");
    repo.write(
        "app.py",
        "from pkg.compat import codec\nfrom pkg import middle\n\ncodec.loads(b)\nmiddle.codec.loads(b)\n",
    );
    repo.write("other.py", "import json\n\njson.loads(b)\n");
    repo.commit_all("users");
    repo.write("pkg/compat.py", "import dill as codec\n");
    repo.git(&["add", "pkg/compat.py"]);
    let expected = vec![
        ("app.py".to_string(), 4, "call".to_string()),
        ("app.py".to_string(), 5, "call".to_string()),
    ];
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!((code, places(&json)), (1, expected.clone()), "{json}");
    repo.commit_all("turn");
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!((code, places(&json)), (1, expected), "{json}");
}

/// A module git ignores can still be committed (`git add -f`) and imported: path mode from
/// the root follows it like any other (the walk does not check it, its importers are).
#[test]
fn an_ignored_but_committed_module_still_exports_dill() {
    let repo = Repo::new();
    repo.write(".gitignore", "pkg/compat.py\n");
    repo.write("pkg/__init__.py", "");
    repo.write("pkg/compat.py", "import dill as codec\n");
    repo.write("app.py", "from pkg.compat import codec\n\ncodec.loads(b)\n");
    repo.git(&["add", "-A"]);
    repo.git(&["add", "-f", "pkg/compat.py"]);
    for args in [&["."][..], &["--all"], &["--staged"]] {
        let (code, json) = repo.json(args);
        assert_eq!((code, lines(&json)), (1, vec![3]), "{args:?} {json}");
    }
    // The same rule in a directory below the root.
    repo.write(".gitignore", "");
    repo.write("pkg/.gitignore", "compat.py\n");
    let (code, json) = repo.json(&["."]);
    assert_eq!((code, lines(&json)), (1, vec![3]), "{json}");
}

/// A module that may bind dill but cannot be analysed (a legacy encoding, more source than the
/// parse takes) makes the check of its importers fail closed: an error naming it, exit 2.
#[test]
fn a_module_that_cannot_be_analysed_fails_the_check_of_its_importers() {
    let repo = Repo::new();
    repo.write("pkg/__init__.py", "");
    let mut legacy =
        b"# -*- coding: cp1251 -*-\n# \xef\xf0\xe8\xe2\xe5\xf2\nimport dill as codec\n".to_vec();
    legacy.extend_from_slice(b"\n");
    std::fs::write(repo.dir.join("pkg/legacy.py"), legacy).unwrap();
    let mut large = String::from("import dill as codec\n");
    while large.len() < (1 << 20) + 1024 {
        large.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    repo.write("pkg/large.py", &large);
    repo.write(
        "app.py",
        "from pkg.legacy import codec\nfrom pkg.large import codec as other\n\ncodec.loads(b)\nother.loads(b)\n",
    );
    repo.commit_all("modules");
    repo.write("app.py", "from pkg.legacy import codec\nfrom pkg.large import codec as other\n\ncodec.loads(b)\nother.loads(b)\n# changed\n");
    repo.git(&["add", "app.py"]);
    for args in [&["--staged"][..], &["app.py"], &["."], &["--all"]] {
        let (code, json) = repo.json(args);
        assert_eq!(code, 2, "{args:?} {json}");
        let mut errors: Vec<&str> = json["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        errors.sort();
        assert_eq!(errors, ["pkg/large.py", "pkg/legacy.py"], "{args:?} {json}");
    }
}

/// A module new to a change, binding dill, with a file already committed that imports it
/// behind a guard: a range (and a push) follows it to that file (the hook leaves new modules
/// to them: see `Resolution::new_modules_too`).
#[test]
fn a_new_module_binding_dill_is_followed_to_guarded_importers_in_ranges() {
    let repo = Repo::new();
    repo.write(
        "app.py",
        "try:\n    from codec import c\nexcept ImportError:\n    import json as c\n\nc.loads(b)\n",
    );
    repo.commit_all("guarded");
    repo.write("codec.py", "import dill as c\n");
    repo.commit_all("new module");
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(
        (code, paths(&json), lines(&json)),
        (1, vec!["app.py".to_string()], vec![6]),
        "{json}"
    );
}

/// `serialize.pickle = dill` inside a function of a module that binds nothing at its top level
/// (as ipyparallel's `use_dill()` does): a whole-tree check still applies the patch to the
/// module it sets.
#[test]
fn a_patch_made_inside_a_function_in_a_whole_tree_check() {
    let repo = Repo::new();
    repo.write("pkg/__init__.py", "");
    repo.write(
        "pkg/serialize.py",
        "import pickle\n\n\ndef read(blob):\n    return pickle.loads(blob)\n",
    );
    repo.write(
        "pkg/canning.py",
        "from . import serialize\n\n\ndef use_dill():\n    import dill\n\n    serialize.pickle = dill\n",
    );
    repo.git(&["add", "-A"]);
    for args in [&["."][..], &["--all"]] {
        let (code, json) = repo.json(args);
        assert_eq!(
            (code, places(&json)),
            (
                1,
                vec![
                    ("pkg/canning.py".to_string(), 7, "module".to_string()),
                    ("pkg/serialize.py".to_string(), 5, "call".to_string()),
                ]
            ),
            "{args:?} {json}"
        );
    }
}

/// A module turned from a file into a package whose `__init__.py` binds dill is the same
/// module to the files already importing it: the hook follows it to them.
#[test]
fn a_module_turned_into_a_package_that_binds_dill() {
    let repo = Repo::new();
    repo.write("pkg/__init__.py", "");
    repo.write("pkg/compat.py", "import json as codec\n");
    repo.write("app.py", "from pkg.compat import codec\n\ncodec.loads(b)\n");
    repo.commit_all("users");
    repo.git(&["rm", "-q", "pkg/compat.py"]);
    repo.write("pkg/compat/__init__.py", "import dill as codec\n");
    repo.git(&["add", "pkg/compat/__init__.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!(
        (code, paths(&json), lines(&json)),
        (1, vec!["app.py".to_string()], vec![3]),
        "{json}"
    );
}

/// Modules that hand on the libraries that load with dill themselves (a shim that only
/// imports `Client`, a module alias, a helper returning a connection, a renamed klepto archive)
/// are followed like dill's own shims, in every mode, with only the consumer staged too. (The
/// project is run for real under CPython in `tests/cpython_semantics.rs`.)
#[test]
fn modules_handing_on_libraries_that_load_with_dill_are_followed_in_every_mode() {
    let repo = Repo::new();
    copy_project(&repo, "library_projects/shims");
    std::fs::remove_file(repo.dir.join("app.py")).unwrap();
    repo.commit_all("modules");
    copy_project(&repo, "library_projects/shims");
    let expected = expected_lines("library_projects/shims");
    assert_eq!(expected.len(), 6);
    repo.git(&["add", "app.py"]);
    only_consumer_found(
        &repo,
        &[&["--staged"], &["app.py"], &["."], &["--all"]],
        &expected,
    );
    let (_, json) = repo.json(&["app.py"]);
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["kind"] == "library"));
    repo.commit_all("consumer");
    only_consumer_found(&repo, &[&["--range", "HEAD~1..HEAD"]], &expected);
}

/// A shim swapped from the standard library's multiprocessing to multiprocess (the same API,
/// loading with dill) turns its importers' `recv()` into dill's: staging the shim alone blocks,
/// at the importer's line, and a range holding only that change too.
#[test]
fn a_shim_swapped_to_multiprocess_blocks_at_its_importers() {
    let repo = Repo::new();
    repo.write("pkg/__init__.py", "");
    repo.write(
        "pkg/compat.py",
        "from multiprocessing.connection import Client\n",
    );
    repo.write(
        "app.py",
        "from pkg.compat import Client\n\n\ndef fetch(address):\n    return Client(address).recv()\n",
    );
    repo.commit_all("base");
    let (code, json) = repo.json(&["--all"]);
    assert_eq!(code, 0, "{json}");
    repo.write(
        "pkg/compat.py",
        "from multiprocess.connection import Client\n",
    );
    repo.git(&["add", "pkg/compat.py"]);
    let (code, json) = repo.json(&["--staged"]);
    assert_eq!((code, consumer_lines(&json)), (1, vec![5]), "{json}");
    assert_eq!(json["findings"][0]["kind"], "library");
    repo.commit_all("swap");
    let (code, json) = repo.json(&["--range", "HEAD~1..HEAD"]);
    assert_eq!((code, consumer_lines(&json)), (1, vec![5]), "{json}");
}
