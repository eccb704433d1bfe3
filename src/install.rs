//! `dill-guard install` and `uninstall`: a POSIX sh hook in the hooks directory git really uses
//! (`core.hooksPath`, else the common directory's `hooks/`, which linked worktrees share). An
//! existing hook that is not ours is never destroyed: without `--chain` or `--force` nothing is
//! written; `--chain` keeps it as `<hook>.legacy` and runs it first; `--force` keeps a backup.
//! `uninstall` puts back whatever was there, byte for byte. Every write is a rename of a
//! complete file, so an interruption leaves either the old hook or the new one.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::git::Repo;
use crate::model::Error;

/// The git hooks dill-guard can be installed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    PreCommit,
    PreMergeCommit,
    PrePush,
}

impl Hook {
    pub fn parse(name: &str) -> Option<Hook> {
        match name {
            "pre-commit" => Some(Hook::PreCommit),
            "pre-merge-commit" => Some(Hook::PreMergeCommit),
            "pre-push" => Some(Hook::PrePush),
            _ => None,
        }
    }

    /// The git command the hook guards, as in `git commit --no-verify`.
    fn command(self) -> &'static str {
        match self {
            Hook::PrePush => "push",
            Hook::PreCommit | Hook::PreMergeCommit => "commit",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Hook::PreCommit => "pre-commit",
            Hook::PreMergeCommit => "pre-merge-commit",
            Hook::PrePush => "pre-push",
        }
    }
}

/// What to do with a hook that is already there and not ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Refuse,
    Chain,
    Force,
}

/// The line that marks a hook file as written by dill-guard.
const MARKER: &str = "# dill-guard hook v1";
const LEGACY: &str = ".legacy";
const BACKUP: &str = ".dill-guard-backup";

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether anything is at `path`, a link to nothing included.
fn present(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Keeps a copy of the hook at `path` under `side`, as it is: a link stays a link (to the same
/// target, even one that does not exist), a file keeps its bytes and mode.
fn keep_aside(path: &Path, side: &Path) -> Result<(), Error> {
    if is_link(path) {
        let target = std::fs::read_link(path).map_err(io_error(path))?;
        #[cfg(unix)]
        return std::os::unix::fs::symlink(&target, side).map_err(write_error(side));
        #[cfg(not(unix))]
        return Err(Error::Install(format!(
            "{} is a symbolic link; move it away by hand first",
            path.display()
        )));
    }
    let old = std::fs::read(path).map_err(io_error(path))?;
    write_atomically(side, &old, file_mode(path))
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Held while a hook is installed or removed: two installs at once would each see the other's
/// half-done state.
struct Lock(PathBuf);

impl Lock {
    fn take(path: &Path) -> Result<Lock, Error> {
        let lock = with_suffix(path, ".dill-guard-lock");
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(_) => Ok(Lock(lock)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::Install(format!(
                "{} exists: another `dill-guard install` or `uninstall` is running (or one was killed; then remove the file)",
                lock.display()
            ))),
            Err(source) => Err(Error::Write { path: lock, source }),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Quotes a path for sh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The hook script: POSIX sh, LF line endings. It records the binary's absolute path and falls
/// back to `PATH`, which GUI git clients often run hooks with a different value of.
fn script(hook: Hook, binary: &Path, chain: bool) -> String {
    let run = match hook {
        Hook::PreCommit | Hook::PreMergeCommit => "\"$dill_guard\" --staged",
        Hook::PrePush => "\"$dill_guard\" --pre-push \"$@\"",
    };
    let mut s = format!(
        "#!/bin/sh\n{MARKER}\n\
         # Blocks each {verb} that adds unsafe dill deserialization (PYTHON-LANG-SEC-046).\n\
         # Written by `dill-guard install`; `dill-guard uninstall` removes it.\n\
         # To skip it once, deliberately: git {verb} --no-verify\n\
         dill_guard={binary}\n\
         if [ ! -x \"$dill_guard\" ]; then\n\
         \x20 dill_guard=dill-guard\n\
         fi\n",
        verb = hook.command(),
        binary = sh_quote(&binary.to_string_lossy()),
    );
    if chain {
        if hook == Hook::PrePush {
            // Both hooks read the refs being pushed from stdin: keep a copy for each.
            s.push_str(&format!(
                "input=$(cat)\n\
                 if [ -x \"$0{LEGACY}\" ]; then\n\
                 \x20 printf '%s\\n' \"$input\" | \"$0{LEGACY}\" \"$@\" || exit $?\n\
                 fi\n\
                 printf '%s\\n' \"$input\" | {run}\n"
            ));
            return s;
        }
        // Like git, run the earlier hook only when it is executable (git ignores one that is
        // not), and go on when it has been removed.
        s.push_str(&format!(
            "if [ -x \"$0{LEGACY}\" ]; then\n\
             \x20 \"$0{LEGACY}\" \"$@\" || exit $?\n\
             fi\n"
        ));
    }
    s.push_str(&format!("exec {run}\n"));
    s
}

fn is_ours(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| {
        bytes
            .split(|b| *b == b'\n')
            .take(3)
            .any(|line| line == MARKER.as_bytes())
    })
}

/// Writes `content` to `path` by renaming a complete temporary file over it.
fn write_atomically(path: &Path, content: &[u8], mode: u32) -> Result<(), Error> {
    let dir = path.parent().expect("a hook path has a directory");
    let tmp = with_suffix(path, &format!(".dill-guard-tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(content)?;
        set_mode(&file, mode)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(write_error(path))
}

/// The hook manager that owns a hooks directory, if one does: husky points `core.hooksPath`
/// at `.husky/_` and regenerates it.
fn hook_manager(dir: &Path) -> Option<&'static str> {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    if name(dir).as_deref() == Some("_") && dir.parent().and_then(name).as_deref() == Some(".husky")
    {
        return Some("husky");
    }
    None
}

/// The line to add to a hook manager's configuration instead of installing into its directory.
fn manager_advice(manager: &str, hook: Hook) -> String {
    let run = match hook {
        Hook::PrePush => "dill-guard --pre-push",
        _ => "dill-guard --staged",
    };
    match manager {
        "husky" => format!("Add this line to .husky/{}:\n  {run}", hook.name()),
        "lefthook" => {
            format!(
            "Add to lefthook.yml:\n  {}:\n    commands:\n      dill-guard:\n        run: {run}{}",
            hook.name(),
            if hook == Hook::PrePush { " {1}\n        use_stdin: true" } else { "" }
        )
        }
        _ => "Add dill-guard to .pre-commit-config.yaml instead (see the README).".to_string(),
    }
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &std::fs::File, _: u32) -> std::io::Result<()> {
    Ok(())
}

/// Installs the hook; returns what happened, for the user.
pub fn install(
    repo: &Repo,
    hook: Hook,
    existing: Existing,
    binary: &Path,
) -> Result<String, Error> {
    let dir = repo.hooks_dir()?;
    if let Some(manager) = hook_manager(&dir) {
        return Err(Error::Install(format!(
            "{} belongs to {manager}, which rewrites it; nothing was changed.\n{}",
            dir.display(),
            manager_advice(manager, hook)
        )));
    }
    std::fs::create_dir_all(&dir).map_err(write_error(&dir))?;
    let path = dir.join(hook.name());
    let _lock = Lock::take(&path)?;
    let legacy = with_suffix(&path, LEGACY);
    let backup = with_suffix(&path, BACKUP);
    let shown = path.display();
    let foreign = present(&path) && !is_ours(&path);
    // `--chain` over our own hook: the hook an earlier `--force` kept aside becomes the one
    // that runs first; without one, there is nothing to chain.
    if !foreign && existing == Existing::Chain && !present(&legacy) && present(&backup) {
        std::fs::rename(&backup, &legacy).map_err(write_error(&legacy))?;
    }
    // Chaining continues when we installed with --chain before and the legacy hook is still there.
    let chain = (existing == Existing::Chain && (foreign || present(&legacy)))
        || (!foreign && present(&legacy));
    let content = script(hook, binary, chain);
    if foreign {
        match existing {
            Existing::Refuse => {
                let runner = std::fs::read_to_string(&path).unwrap_or_default();
                let advice = ["pre-commit", "prek", "lefthook", "husky"]
                    .into_iter()
                    .find(|m| runner.contains(m))
                    .map(|m| format!("\nIt looks like {m}'s hook. {}", manager_advice(m, hook)))
                    .unwrap_or_default();
                return Err(Error::Install(format!(
                    "{shown} already exists and was not written by dill-guard; nothing was changed.\n\
                     Run `dill-guard install --hook {name} --chain` to keep it and run it before dill-guard,\n\
                     or `dill-guard install --hook {name} --force` to replace it (a backup is kept at {backup}).{advice}",
                    name = hook.name(),
                    backup = backup.display(),
                )));
            }
            // Never overwrite what an earlier install kept aside: it may be the only copy.
            Existing::Chain | Existing::Force => {
                let side = if existing == Existing::Chain {
                    &legacy
                } else {
                    &backup
                };
                if present(side) {
                    return Err(Error::Install(format!(
                        "{} already exists and holds an earlier hook; move it away before replacing {shown}",
                        side.display()
                    )));
                }
            }
        }
    }
    if foreign {
        let side = if existing == Existing::Chain {
            &legacy
        } else {
            &backup
        };
        // Copy the old hook to its new name first, then replace it: at every moment one of the
        // two files holds it.
        keep_aside(&path, side)?;
    }
    if present(&path)
        && !foreign
        && std::fs::read(&path).ok().as_deref() == Some(content.as_bytes())
    {
        return Ok(format!(
            "dill-guard {} hook already installed at {shown}",
            hook.name()
        ));
    }
    write_atomically(&path, content.as_bytes(), 0o755)?;
    let mut message = format!(
        "installed the dill-guard {} hook at {shown}\nto skip it once, deliberately: git {} --no-verify",
        hook.name(),
        hook.command()
    );
    if chain {
        message.push_str(&format!(
            "\nthe previous hook is kept at {} and runs first (when it is executable, as git requires)",
            legacy.display()
        ));
    } else if existing == Existing::Chain {
        message.push_str("\nthere was no earlier hook to chain");
    } else if foreign {
        message.push_str(&format!(
            "\nthe previous hook is backed up at {}",
            backup.display()
        ));
    }
    Ok(message)
}

#[cfg(unix)]
fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map_or(0o755, |m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_: &Path) -> u32 {
    0o755
}

/// Removes our hook and puts back what was there before it.
pub fn uninstall(repo: &Repo, hook: Hook) -> Result<String, Error> {
    let dir = repo.hooks_dir()?;
    let path = dir.join(hook.name());
    let shown = path.display();
    if !present(&path) {
        return Ok(format!("no {} hook at {shown}; nothing to do", hook.name()));
    }
    if !is_ours(&path) {
        return Err(Error::Install(format!(
            "{shown} was not written by dill-guard; nothing was changed"
        )));
    }
    let _lock = Lock::take(&path)?;
    for side in [with_suffix(&path, LEGACY), with_suffix(&path, BACKUP)] {
        if present(&side) {
            // A rename moves a link as a link.
            std::fs::rename(&side, &path).map_err(write_error(&path))?;
            return Ok(format!("removed the dill-guard hook and restored {shown}"));
        }
    }
    std::fs::remove_file(&path).map_err(write_error(&path))?;
    Ok(format!(
        "removed the dill-guard {} hook from {shown}",
        hook.name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_odd_paths() {
        assert_eq!(sh_quote("/a b/it's"), "'/a b/it'\\''s'");
    }

    #[test]
    fn scripts_are_posix_and_marked() {
        let s = script(Hook::PreCommit, Path::new("/usr/bin/dill-guard"), false);
        assert!(s.starts_with("#!/bin/sh\n# dill-guard hook v1\n"));
        assert!(s.ends_with("exec \"$dill_guard\" --staged\n"));
        assert!(!s.contains('\r'));
        let chained = script(Hook::PrePush, Path::new("/x"), true);
        assert!(chained.contains("input=$(cat)"));
        assert!(chained.contains("--pre-push \"$@\""));
    }
}
