//! Records the commit the binary is built from, for `dill-guard --version`: `DILL_GUARD_COMMIT`
//! when the build sets it (release workflows), else what the checkout's `HEAD` names, read from
//! the files under `.git` (no `git` program needed); nothing when neither exists (an sdist).

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=DILL_GUARD_COMMIT");
    let commit = std::env::var("DILL_GUARD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(checkout_commit)
        .map(|c| c.trim().chars().take(12).collect::<String>())
        .unwrap_or_default();
    println!("cargo:rustc-env=DILL_GUARD_COMMIT={commit}");
}

/// The commit `HEAD` points at in the checkout holding this crate, if it is a git checkout.
fn checkout_commit() -> Option<String> {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let dot_git = root.join(".git");
    // A linked worktree or submodule has a `.git` file naming its git directory.
    let git_dir = if dot_git.is_file() {
        let text = std::fs::read_to_string(&dot_git).ok()?;
        let dir = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
        if dir.is_absolute() {
            dir
        } else {
            root.join(dir)
        }
    } else {
        dot_git
    };
    let head_file = git_dir.join("HEAD");
    if head_file.exists() {
        println!("cargo:rerun-if-changed={}", head_file.display());
    }
    let head = std::fs::read_to_string(&head_file).ok()?;
    let Some(reference) = head.trim().strip_prefix("ref:") else {
        return is_hex(head.trim()).then(|| head.trim().to_string());
    };
    let reference = reference.trim();
    // Refs of a linked worktree other than HEAD live in the common directory.
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    for dir in [&git_dir, &common] {
        let loose = dir.join(reference);
        // Only paths that exist are watched: cargo reruns a build script whose watched path is
        // missing on every build. A branch whose ref is packed gets a loose file when it
        // moves, which changes the directory watched instead.
        match (loose.exists(), loose.parent()) {
            (true, _) => println!("cargo:rerun-if-changed={}", loose.display()),
            (false, Some(parent)) if parent.exists() => {
                println!("cargo:rerun-if-changed={}", parent.display())
            }
            _ => {}
        }
        if let Ok(text) = std::fs::read_to_string(&loose) {
            if is_hex(text.trim()) {
                return Some(text.trim().to_string());
            }
        }
    }
    packed(&common.join("packed-refs"), reference)
}

fn packed(path: &Path, reference: &str) -> Option<String> {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (id, name) = line.split_once(' ')?;
        (name == reference && is_hex(id)).then(|| id.to_string())
    })
}

fn is_hex(text: &str) -> bool {
    text.len() >= 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}
