//! Shared by the integration tests: temporary repositories built by the real `git` program,
//! and runs of the built binary in them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BAD: &str = "import dill\n\n\ndef restore(blob):\n    return dill.loads(blob)\n";
pub const GOOD: &str = "import json\n\n\ndef restore(blob):\n    return json.loads(blob)\n";

pub struct Repo {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

/// `git` with a clean, fixed environment: no user or system config, fixed identity, and none of
/// the variables a surrounding hook might have exported.
pub fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE");
    cmd
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_dill-guard")
}

impl Repo {
    pub fn new() -> Repo {
        Repo::with_init(&[])
    }

    pub fn with_init(extra: &[&str]) -> Repo {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let dir = tmp.path().canonicalize().unwrap().join("repo");
        std::fs::create_dir(&dir).unwrap();
        let repo = Repo { _tmp: tmp, dir };
        let mut args = vec!["init", "-q", "-b", "main"];
        args.extend_from_slice(extra);
        repo.git(&args);
        repo
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.dir, args)
    }

    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = git_command(dir)
            .args(args)
            .output()
            .expect("git must be installed to run these tests");
        assert!(
            out.status.success(),
            "git {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A git command that may fail (a commit the hook blocks).
    pub fn git_try(&self, args: &[&str]) -> Output {
        git_command(&self.dir).args(args).output().unwrap()
    }

    pub fn write(&self, path: &str, content: &str) {
        let full = self.dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--no-verify", "-m", message]);
    }

    /// A pre-commit hook that calls the built binary the way a plain git hook would.
    pub fn install_hook(&self) {
        let hooks =
            PathBuf::from(self.git(&["rev-parse", "--git-common-dir"]).trim()).join("hooks");
        let hooks = if hooks.is_absolute() {
            hooks
        } else {
            self.dir.join(hooks)
        };
        std::fs::create_dir_all(&hooks).unwrap();
        let hook = hooks.join("pre-commit");
        std::fs::write(
            &hook,
            format!("#!/bin/sh\nexec '{}' --staged --color never\n", binary()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        run_in(&self.dir, args)
    }

    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        json_in(&self.dir, args)
    }

    /// Adds a linked worktree on a new branch beside the repository; returns its directory.
    pub fn add_worktree(&self, branch: &str) -> PathBuf {
        let wt = self.dir.parent().unwrap().join(format!("wt-{branch}"));
        self.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "-b", branch]);
        wt
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }
}

/// Writes an executable hook script (its directory made as needed).
pub fn write_hook(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Creates an empty bare repository at `dir/name`.
pub fn bare_repository(dir: &Path, name: &str) -> PathBuf {
    let bare = dir.join(name);
    let out = git_command(dir)
        .args(["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()])
        .output()
        .expect("git must be installed to run these tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bare
}

pub fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = git_command(dir)
        .get_envs()
        .fold(Command::new(binary()), |mut cmd, (k, v)| {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
            cmd
        })
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn json_in(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run_in(dir, &all);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    (code, json)
}

/// Everything a git command printed; git sends a hook's output to its stderr.
pub fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The line of each finding, in report order.
pub fn lines(json: &serde_json::Value) -> Vec<u64> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect()
}

pub fn paths(json: &serde_json::Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

/// Each finding as (path, line, kind).
pub fn places(json: &serde_json::Value) -> Vec<(String, u64, String)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A bare server whose pre-receive hook runs dill-guard (with `extra` arguments), and a client
/// with a clean first commit already pushed to it as `main`.
pub struct Server {
    _tmp: tempfile::TempDir,
    pub bare: PathBuf,
    pub client: Repo,
}

impl Server {
    pub fn new(extra: &str) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let bare = bare_repository(tmp.path(), "server.git");
        let client = Repo::new();
        client.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
        client.write("a.py", GOOD);
        client.commit_all("base");
        client.git(&["push", "-q", "origin", "main"]);
        let server = Server {
            _tmp: tmp,
            bare,
            client,
        };
        server.hook(extra);
        server
    }

    pub fn hook(&self, extra: &str) {
        write_hook(
            &self.bare.join("hooks/pre-receive"),
            &format!(
                "#!/bin/sh\nexec '{}' --pre-receive --color never {extra}\n",
                binary()
            ),
        );
    }

    /// Lets anything in, as if it predates the hook.
    pub fn without_hook<T>(&self, run: impl FnOnce() -> T) -> T {
        let hook = self.bare.join("hooks/pre-receive");
        let off = self.bare.join("hooks/off");
        std::fs::rename(&hook, &off).unwrap();
        let out = run();
        std::fs::rename(&off, &hook).unwrap();
        out
    }

    pub fn push(&self, args: &[&str]) -> (bool, String) {
        let mut all = vec!["push", "--no-verify", "origin"];
        all.extend_from_slice(args);
        let out = self.client.git_try(&all);
        (out.status.success(), text(&out))
    }

    pub fn head(&self, rev: &str) -> Option<String> {
        let out = git_command(&self.bare)
            .args(["rev-parse", "--verify", "-q", rev])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}
