//! Everything dill-guard knows about git, through gix: finding the repository the way git does
//! for a hook (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`, linked worktrees), reading the index
//! git is about to commit, comparing it with HEAD's tree, and reading blobs. No other module
//! touches git, and nothing here runs the `git` program.

use std::path::{Path, PathBuf};

use gix::bstr::{BString, ByteSlice};
use gix::index::entry::{Flags, Mode, Stage};
use gix::ObjectId;

use crate::Error;

/// One file as the index records it.
#[derive(Debug, Clone)]
pub struct IndexFile {
    /// Path relative to the repository root, `/`-separated, as git stores it.
    pub path: BString,
    pub id: ObjectId,
}

/// What the index holds relative to HEAD.
#[derive(Debug, Default)]
pub struct Staged {
    /// Added, modified, copied or renamed regular files (deletions never appear).
    pub files: Vec<IndexFile>,
    /// Paths with unresolved merge conflicts (index stages 1-3).
    pub conflicts: Vec<BString>,
}

pub struct Repo {
    repo: gix::Repository,
    /// The index, read once per run however many questions are asked of it.
    index: std::cell::OnceCell<gix::worktree::Index>,
    /// HEAD's files, sorted by path, read once per run.
    head: std::cell::OnceCell<Vec<IndexFile>>,
}

fn git_error(what: impl Into<String>, err: impl std::fmt::Display) -> Error {
    Error::Git {
        what: what.into(),
        detail: err.to_string(),
    }
}

impl Repo {
    /// Opens the repository git would use from `cwd`, honouring git's environment. `Ok(None)`
    /// when `cwd` is not inside any repository.
    pub fn discover(cwd: &Path) -> Result<Option<Repo>, Error> {
        match gix::ThreadSafeRepository::discover_with_environment_overrides(cwd) {
            Ok(repo) => Ok(Some(Repo {
                repo: repo.to_thread_local(),
                index: std::cell::OnceCell::new(),
                head: std::cell::OnceCell::new(),
            })),
            Err(err) => {
                let not_found = err
                    .downcast_any_ref::<gix::discover::upwards::Error>()
                    .is_some_and(|e| {
                        matches!(
                            e,
                            gix::discover::upwards::Error::NoGitRepository { .. }
                                | gix::discover::upwards::Error::NoGitRepositoryWithinCeiling { .. }
                                | gix::discover::upwards::Error::NoGitRepositoryWithinFs { .. }
                        )
                    });
                if not_found && std::env::var_os("GIT_DIR").is_none() {
                    Ok(None)
                } else {
                    Err(git_error("could not open the git repository", err))
                }
            }
        }
    }

    /// The root that repository paths are relative to: the work tree, or the git dir when bare.
    pub fn root(&self) -> PathBuf {
        self.repo
            .workdir()
            .unwrap_or_else(|| self.repo.git_dir())
            .to_path_buf()
    }

    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    fn index(&self) -> Result<&gix::index::State, Error> {
        if let Some(index) = self.index.get() {
            return Ok(index);
        }
        let path = self.repo.index_path();
        let index = self.repo.index_or_empty().map_err(|err| {
            git_error(format!("could not read the index {}", path.display()), err)
        })?;
        Ok(self.index.get_or_init(|| index))
    }

    /// The staged content of a file at `path` (relative to the root), if the index has it.
    pub fn index_blob(&self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let index = self.index()?;
        let Some(entry) = index.entry_by_path(path.into()) else {
            return Ok(None);
        };
        if entry.mode != Mode::FILE && entry.mode != Mode::FILE_EXECUTABLE {
            return Ok(None);
        }
        self.blob(&IndexFile {
            path: path.into(),
            id: entry.id,
        })
        .map(Some)
    }

    /// Every stage-0 regular file of the index, sparse directories expanded.
    fn index_files(
        &self,
        state: &gix::index::State,
    ) -> Result<(Vec<IndexFile>, Vec<BString>), Error> {
        let mut files = Vec::with_capacity(state.entries().len());
        let mut conflicts = Vec::new();
        for entry in state.entries() {
            let path = entry.path(state);
            if entry.stage() != Stage::Unconflicted {
                if conflicts.last().map(|p: &BString| p.as_bstr()) != Some(path) {
                    conflicts.push(path.to_owned());
                }
                continue;
            }
            if entry.flags.contains(Flags::INTENT_TO_ADD) {
                continue;
            }
            if entry.mode == Mode::DIR {
                // A sparse-index directory: its files are recorded in the tree it names.
                let sub = self.repo.index_from_tree(&entry.id).map_err(|err| {
                    git_error(format!("could not expand sparse directory {path}"), err)
                })?;
                let prefix = path.strip_suffix(b"/").unwrap_or(path);
                for inner in self.index_files(&sub)?.0 {
                    let mut full = BString::from(prefix);
                    full.push(b'/');
                    full.extend_from_slice(&inner.path);
                    files.push(IndexFile {
                        path: full,
                        id: inner.id,
                    });
                }
                continue;
            }
            if entry.mode == Mode::FILE || entry.mode == Mode::FILE_EXECUTABLE {
                files.push(IndexFile {
                    path: path.to_owned(),
                    id: entry.id,
                });
            }
        }
        Ok((files, conflicts))
    }

    /// Files of the index that differ from HEAD's tree (every file on an unborn HEAD).
    pub fn staged(&self) -> Result<Staged, Error> {
        let (files, conflicts) = self.index_files(self.index()?)?;
        let head = self.head_files()?;
        // Both lists are sorted by path bytes: a merge-join finds what changed.
        let mut h = 0;
        let mut changed = Vec::new();
        for file in files {
            while h < head.len() && head[h].path < file.path {
                h += 1;
            }
            let same = head
                .get(h)
                .is_some_and(|old| old.path == file.path && old.id == file.id);
            if !same {
                changed.push(file);
            }
        }
        Ok(Staged {
            files: changed,
            conflicts,
        })
    }

    fn head_files(&self) -> Result<&[IndexFile], Error> {
        if let Some(files) = self.head.get() {
            return Ok(files);
        }
        let files = self.read_head_files()?;
        Ok(self.head.get_or_init(|| files))
    }

    /// The content of `path` (relative to the root) in HEAD's tree, if it is there.
    pub fn head_blob(&self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let files = self.head_files()?;
        match files.binary_search_by(|f| f.path.as_bstr().cmp(path.as_bytes().as_bstr())) {
            Ok(i) => self.blob(&files[i]).map(Some),
            Err(_) => Ok(None),
        }
    }

    fn read_head_files(&self) -> Result<Vec<IndexFile>, Error> {
        let mut head = self
            .repo
            .head()
            .map_err(|err| git_error("could not read HEAD", err))?;
        if head.is_unborn() {
            return Ok(Vec::new());
        }
        let commit = head
            .peel_to_commit()
            .map_err(|err| git_error("could not resolve HEAD to a commit", err))?;
        let tree = commit
            .tree_id()
            .map_err(|err| git_error("could not read HEAD's tree", err))?;
        let state = self
            .repo
            .index_from_tree(&tree)
            .map_err(|err| git_error("could not read HEAD's tree", err))?;
        let mut files: Vec<IndexFile> = state
            .entries()
            .iter()
            .map(|e| IndexFile {
                path: e.path(&state).to_owned(),
                id: e.id,
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// Every regular file in the index.
    pub fn all(&self) -> Result<Staged, Error> {
        let (files, conflicts) = self.index_files(self.index()?)?;
        Ok(Staged { files, conflicts })
    }

    /// The content of a blob.
    pub fn blob(&self, file: &IndexFile) -> Result<Vec<u8>, Error> {
        let object = self.repo.find_object(file.id).map_err(|err| {
            git_error(
                format!("could not read object {} for {}", file.id, file.path),
                err,
            )
        })?;
        Ok(object.detach().data)
    }
}
