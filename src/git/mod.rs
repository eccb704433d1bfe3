//! Everything dill-guard knows about git, through gix: finding the repository the way git does
//! for a hook (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`, linked worktrees), reading the index
//! git is about to commit, comparing it with HEAD's tree, and reading blobs. No other module
//! touches git, and nothing here runs the `git` program.

use std::path::{Path, PathBuf};

use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::{Flags, Mode, Stage};
use gix::ObjectId;

use crate::model::Error;

mod attributes;
mod history;

pub use attributes::{
    apply as convert, is_attributes_file, is_lfs_pointer, ArchiveCommit, Case, Conversion, Rules,
};
pub use history::{Compared, Peeled, RefUpdate};

/// One file as the index records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    /// Path relative to the repository root, `/`-separated, as git stores it.
    pub path: BString,
    pub id: ObjectId,
    /// Whether git records it as executable (mode 100755): a program that may be run, so a
    /// file to read for a shebang whatever its name.
    pub executable: bool,
    /// Where the content is written out when that is not `path`: for a link, its target,
    /// whose attributes say what a checkout writes there.
    pub written_at: Option<BString>,
}

impl IndexFile {
    /// A file whose mode does not matter (a link's text, a file looked up by path).
    pub fn plain(path: BString, id: ObjectId) -> IndexFile {
        IndexFile {
            path,
            id,
            executable: false,
            written_at: None,
        }
    }
}

/// A file of the index while it is being listed, its path borrowed from the index.
struct Listed<'s> {
    path: std::borrow::Cow<'s, [u8]>,
    id: ObjectId,
    executable: bool,
}

impl Listed<'_> {
    fn to_owned(&self) -> IndexFile {
        IndexFile {
            path: BString::from(self.path.as_ref()),
            id: self.id,
            executable: self.executable,
            written_at: None,
        }
    }
}

/// The regular files of an index, the paths in conflict, and the symbolic links.
type IndexListing<'s> = (Vec<Listed<'s>>, Vec<BString>, Vec<IndexFile>);

/// What the index holds relative to HEAD.
#[derive(Debug, Default)]
pub struct Staged {
    /// Added, modified, copied or renamed regular files (deletions never appear).
    pub files: Vec<IndexFile>,
    /// Paths with unresolved merge conflicts (index stages 1-3).
    pub conflicts: Vec<BString>,
    /// Symbolic links, each with whether it differs from HEAD: Python imports what a link
    /// points at, so a link with a Python name is judged by its target's content.
    pub links: Vec<(IndexFile, bool)>,
    /// The `.gitattributes` files HEAD has and the index deletes: what they said a checkout
    /// does to the files below them no longer applies.
    pub attributes_gone: Vec<BString>,
}

/// Where a symbolic link leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// A regular file of the same tree or index, and the other links the path went through
    /// (a change to any of them changes what the link runs).
    File {
        file: IndexFile,
        through: Vec<BString>,
    },
    /// Outside the repository, to nothing, or through too many links: the text of the link.
    Elsewhere(String),
}

/// What a path holds, as far as following a link goes.
enum Entry {
    Link,
    File,
    Dir,
}

/// What a path holds in the index or a tree, for following links.
type Lookup<'l> = dyn Fn(&BStr) -> Result<Option<(Entry, ObjectId)>, Error> + 'l;

/// How many links are followed while resolving one path (the kernel's own limit is 40).
const MAX_LINK_HOPS: usize = 40;

/// Why a link could not be resolved to a file of the repository.
fn unresolved(link: &BStr, target: &[u8], why: &str) -> LinkTarget {
    LinkTarget::Elsewhere(format!("{} ({why}, from `{link}`)", target.to_str_lossy()))
}

pub struct Repo {
    repo: gix::Repository,
    /// The index, read once per run however many questions are asked of it.
    index: std::cell::OnceCell<gix::index::File>,
    /// Trees and commits read so far, each at most once per run.
    cache: history::Cache,
    /// The push quarantine, in a pre-receive hook.
    quarantine: Option<gix::odb::Handle>,
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
            Ok(repo) => {
                let repo = repo.to_thread_local();
                let refs = repo.config_snapshot().string("extensions.refStorage");
                if refs.is_some_and(|r| r.eq_ignore_ascii_case(b"reftable")) {
                    return Err(git_error(
                        format!(
                            "{} keeps its refs in a reftable (extensions.refStorage = reftable), which dill-guard cannot read yet",
                            repo.git_dir().display()
                        ),
                        "nothing was checked; `git refs migrate --ref-format=files` converts the repository",
                    ));
                }
                Ok(Some(Repo {
                    repo,
                    index: std::cell::OnceCell::new(),
                    cache: Default::default(),
                    quarantine: None,
                }))
            }
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

    /// The directory git runs hooks from: `core.hooksPath` (relative to the work tree's top, as
    /// git resolves it where hooks run), else the common directory's `hooks`, which linked
    /// worktrees share.
    pub fn hooks_dir(&self) -> Result<PathBuf, Error> {
        let configured = self
            .repo
            .config_snapshot()
            .trusted_path("core.hooksPath")
            .map_err(|err| git_error("could not read core.hooksPath", err))?;
        let dir = match configured {
            Some(path) if path.is_absolute() => path,
            Some(path) => self.root().join(path),
            None => self.repo.common_dir().join("hooks"),
        };
        Ok(if dir.is_absolute() {
            dir
        } else {
            std::env::current_dir().unwrap_or_default().join(dir)
        })
    }

    /// Whether git's own ignore rules outside the work tree's files may apply to it: a line
    /// in `info/exclude`, or a global excludes file (`core.excludesFile`, or git's default
    /// one under the user's configuration directory).
    pub fn has_excludes_outside_the_tree(&self) -> bool {
        let has_rules = |path: &Path| {
            std::fs::read_to_string(path).is_ok_and(|text| {
                text.lines()
                    .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            })
        };
        if has_rules(&self.repo.common_dir().join("info/exclude")) {
            return true;
        }
        let configured = self
            .repo
            .config_snapshot()
            .trusted_path("core.excludesFile")
            .ok()
            .flatten();
        let default = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .map(|dir| dir.join("git/ignore"));
        configured.into_iter().chain(default).any(|p| has_rules(&p))
    }

    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    fn index(&self) -> Result<&gix::index::State, Error> {
        if let Some(index) = self.index.get() {
            return Ok(index);
        }
        let path = self.index_path()?;
        // Like git everywhere but `git fsck`, the trailing checksum is not verified: hashing a
        // large index with collision detection costs more than decoding it, and a damaged
        // index still fails to decode.
        let index = gix::index::File::at_or_default(
            &path,
            self.repo.object_hash(),
            true,
            Default::default(),
        )
        .map_err(|err| git_error(format!("could not read the index {}", path.display()), err))?;
        Ok(self.index.get_or_init(|| index))
    }

    /// The index file git uses. `GIT_INDEX_FILE`, when set, names it: git resolves a relative
    /// value from the top of the work tree (where it runs hooks), not from wherever a hook
    /// changed to, and so does this. An index named that way must exist: reading a missing file
    /// as an empty index would pass every commit unchecked.
    fn index_path(&self) -> Result<PathBuf, Error> {
        let Some(named) = std::env::var_os("GIT_INDEX_FILE").filter(|v| !v.is_empty()) else {
            return Ok(self.repo.index_path());
        };
        let named = PathBuf::from(named);
        let path = match (named.is_absolute(), self.repo.workdir()) {
            (false, Some(top)) => top.join(&named),
            _ => self.repo.index_path(),
        };
        if !path.is_file() {
            return Err(git_error(
                format!(
                    "GIT_INDEX_FILE names {}, which is not a file ({} from the top of the work tree)",
                    named.display(),
                    path.display()
                ),
                "git only sets it to an index that exists; a wrapper that changes directory must not make it relative to somewhere else",
            ));
        }
        Ok(path)
    }

    /// Whether the index has a regular file at `path` (relative to the root).
    pub fn index_has(&self, path: &str) -> bool {
        self.index().is_ok_and(|index| {
            index
                .entry_by_path(path.into())
                .is_some_and(|e| e.mode == Mode::FILE || e.mode == Mode::FILE_EXECUTABLE)
        })
    }

    /// Whether the index has files below the directory `path` (relative to the root).
    pub fn index_has_dir(&self, path: &str) -> bool {
        let prefix = format!("{path}/");
        self.index().is_ok_and(|index| {
            index
                .prefixed_entries(prefix.as_str().into())
                .is_some_and(|entries| !entries.is_empty())
        })
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
        self.blob(&IndexFile::plain(path.into(), entry.id))
            .map(Some)
    }

    /// Every stage-0 regular file of `state`, sparse directories expanded, and the paths with
    /// conflicts. Paths are borrowed from the index where they can be: a large index holds tens
    /// of thousands of entries, and a commit usually needs a handful of them.
    fn index_files<'s>(&self, state: &'s gix::index::State) -> Result<IndexListing<'s>, Error> {
        let mut files = Vec::with_capacity(state.entries().len());
        let mut conflicts = Vec::new();
        let mut links = Vec::new();
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
                let (inner_files, _, inner_links) = self.index_files(&sub)?;
                for inner in inner_links {
                    let mut full = Vec::from(prefix.as_bytes());
                    full.push(b'/');
                    full.extend_from_slice(&inner.path);
                    links.push(IndexFile::plain(full.into(), inner.id));
                }
                for inner in inner_files {
                    let mut full = Vec::from(prefix.as_bytes());
                    full.push(b'/');
                    full.extend_from_slice(&inner.path);
                    files.push(Listed {
                        path: std::borrow::Cow::Owned(full),
                        id: inner.id,
                        executable: inner.executable,
                    });
                }
                continue;
            }
            if entry.mode == Mode::SYMLINK {
                links.push(IndexFile::plain(path.to_owned(), entry.id));
                continue;
            }
            if entry.mode == Mode::FILE || entry.mode == Mode::FILE_EXECUTABLE {
                files.push(Listed {
                    path: std::borrow::Cow::Borrowed(path.as_bytes()),
                    id: entry.id,
                    executable: entry.mode == Mode::FILE_EXECUTABLE,
                });
            }
        }
        Ok((files, conflicts, links))
    }

    /// Files of the index that differ from HEAD's tree (every file on an unborn HEAD).
    pub fn staged(&self) -> Result<Staged, Error> {
        let index = self.index()?;
        let (files, conflicts, links) = self.index_files(index)?;
        let head = self.head_tree()?;
        let mut out = Vec::new();
        let mut attributes_gone = Vec::new();
        self.diff_dir(
            b"",
            &files,
            index.tree(),
            head,
            &mut out,
            &mut attributes_gone,
        )?;
        let mut flagged = Vec::with_capacity(links.len());
        for link in links {
            let before = match head {
                Some(tree) => self.tree_entry(tree, link.path.as_bstr())?,
                None => None,
            };
            let changed = before.is_none_or(|(mode, id)| !mode.is_link() || id != link.id);
            flagged.push((link, changed));
        }
        Ok(Staged {
            files: out,
            conflicts,
            links: flagged,
            attributes_gone,
        })
    }

    /// Where a link of the index leads, in the index.
    pub fn index_link_target(&self, link: &IndexFile) -> Result<LinkTarget, Error> {
        let index = self.index()?;
        self.follow_link(link, &|path| {
            Ok(index
                .entry_by_path(path)
                .and_then(|entry| {
                    if entry.mode == Mode::SYMLINK {
                        Some((Entry::Link, entry.id))
                    } else if entry.mode == Mode::FILE || entry.mode == Mode::FILE_EXECUTABLE {
                        Some((Entry::File, entry.id))
                    } else {
                        None
                    }
                })
                .or_else(|| {
                    let mut dir = BString::from(path);
                    dir.push(b'/');
                    index
                        .prefixed_entries(dir.as_bstr())
                        .is_some_and(|entries| !entries.is_empty())
                        .then(|| (Entry::Dir, ObjectId::null(self.repo.object_hash())))
                }))
        })
    }

    /// Resolves a link as the kernel would open it, through `lookup` (the index, or a tree):
    /// component by component from the link's directory, a component that is itself a link
    /// replaced by its target (read relative to where that link is), `..` popping the path
    /// resolved so far. A target that leaves the repository, is absolute, goes through a file
    /// or to nothing, or takes more than [`MAX_LINK_HOPS`] links is `Elsewhere`.
    fn follow_link(&self, link: &IndexFile, lookup: &Lookup<'_>) -> Result<LinkTarget, Error> {
        let first = self.blob(link)?;
        let fail = |why: &str| Ok(unresolved(link.path.as_bstr(), &first, why));
        // The directories resolved so far (real directories of the tree: git stores no path
        // through a link), and the components still to walk, next one last.
        let mut resolved: Vec<BString> =
            link.path.split(|&b| b == b'/').map(BString::from).collect();
        resolved.pop();
        let mut pending: Vec<BString> = Vec::new();
        let mut through = Vec::new();
        let push_target = |pending: &mut Vec<BString>, target: &[u8]| {
            for part in target.split(|&b| b == b'/').rev() {
                pending.push(BString::from(part));
            }
        };
        if first.first() == Some(&b'/') {
            return fail("an absolute path");
        }
        if first.is_empty() {
            return fail("an empty target");
        }
        push_target(&mut pending, &first);
        while let Some(part) = pending.pop() {
            match part.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    if resolved.pop().is_none() {
                        return fail("it leads out of the repository");
                    }
                    continue;
                }
                _ => {}
            }
            let mut path = resolved.join(&b"/"[..]);
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(&part);
            let path = BString::from(path);
            let last = pending.iter().all(|p| p.is_empty() || p == ".");
            match lookup(path.as_bstr())? {
                Some((Entry::Dir, _)) => resolved.push(part),
                Some((Entry::File, id)) if last => {
                    return Ok(LinkTarget::File {
                        file: IndexFile::plain(path, id),
                        through,
                    })
                }
                Some((Entry::File, _)) => return fail("a file stands where a directory is needed"),
                Some((Entry::Link, id)) => {
                    if through.len() >= MAX_LINK_HOPS {
                        return fail(&format!("more than {MAX_LINK_HOPS} links"));
                    }
                    let target = self.blob(&IndexFile::plain(path.clone(), id))?;
                    through.push(path);
                    if target.first() == Some(&b'/') {
                        return fail("a link on the way has an absolute target");
                    }
                    if target.is_empty() {
                        return fail("a link on the way has an empty target");
                    }
                    push_target(&mut pending, &target);
                }
                None => return fail("nothing is there"),
            }
        }
        fail("it names a directory")
    }

    /// HEAD's commit, or `None` on an unborn HEAD.
    fn head_commit(&self) -> Result<Option<ObjectId>, Error> {
        let mut head = self
            .repo
            .head()
            .map_err(|err| git_error("could not read HEAD", err))?;
        if head.is_unborn() {
            return Ok(None);
        }
        let commit = head
            .peel_to_commit()
            .map_err(|err| git_error("could not resolve HEAD to a commit", err))?;
        Ok(Some(commit.id))
    }

    /// HEAD's tree, or `None` on an unborn HEAD.
    fn head_tree(&self) -> Result<Option<ObjectId>, Error> {
        match self.head_commit()? {
            Some(commit) => Ok(Some(self.commit(commit)?.tree)),
            None => Ok(None),
        }
    }

    /// Collects the `files` (all below `prefix`, sorted) that differ from the HEAD tree `head`.
    /// The index's cache-tree records the tree id each directory would be committed as: where
    /// that equals HEAD's, nothing below changed and the directory is skipped unread. Only the
    /// trees along changed paths are read, so a commit costs what it touches, not the size of
    /// the repository.
    fn diff_dir(
        &self,
        prefix: &[u8],
        files: &[Listed<'_>],
        cache: Option<&gix::index::extension::Tree>,
        head: Option<ObjectId>,
        out: &mut Vec<IndexFile>,
        attributes_gone: &mut Vec<BString>,
    ) -> Result<(), Error> {
        if let (Some(cache), Some(head)) = (cache, head) {
            if cache.num_entries.is_some() && cache.id == head {
                return Ok(());
            }
        }
        // HEAD's entries of this directory: name -> (is a tree, whether a regular file is
        // executable when it is one, id).
        let mut in_head: std::collections::HashMap<Vec<u8>, (bool, Option<bool>, ObjectId)> =
            Default::default();
        if let Some(head) = head {
            let data = self.tree_data(head, &|| format!("tree of {}", prefix.as_bstr()))?;
            for entry in gix::objs::TreeRefIter::from_bytes(&data, self.repo.object_hash()) {
                let entry =
                    entry.map_err(|err| git_error(format!("tree {head} is malformed"), err))?;
                in_head.insert(
                    entry.filename.to_vec(),
                    (
                        entry.mode.is_tree(),
                        entry.mode.is_blob().then_some(entry.mode.is_executable()),
                        entry.oid.to_owned(),
                    ),
                );
            }
        }
        let mut i = 0;
        while i < files.len() {
            let rest = &files[i].path[prefix.len()..];
            match rest.find_byte(b'/') {
                None => {
                    // Same content as a regular file: a symlink turned into a file with the
                    // bytes of its target path is a change, and so is a file made executable
                    // when its mode decides whether it is read (it may now run by its shebang).
                    let same = in_head.get(rest).is_some_and(|(_, file, id)| {
                        *id == files[i].id
                            && match file {
                                Some(executable) => {
                                    *executable == files[i].executable
                                        || !crate::python::mode_matters(&rest.to_str_lossy())
                                }
                                None => false,
                            }
                    });
                    if !same {
                        out.push(files[i].to_owned());
                    }
                    i += 1;
                }
                Some(slash) => {
                    let dir = &rest[..slash];
                    let mut sub = prefix.to_vec();
                    sub.extend_from_slice(&rest[..=slash]);
                    let end = i + files[i..]
                        .iter()
                        .position(|f| !f.path.starts_with(&sub))
                        .unwrap_or(files.len() - i);
                    let sub_cache =
                        cache.and_then(|c| c.children.iter().find(|t| t.name.as_slice() == dir));
                    let sub_head = in_head
                        .get(dir)
                        .and_then(|(tree, _, id)| tree.then_some(*id));
                    self.diff_dir(
                        &sub,
                        &files[i..end],
                        sub_cache,
                        sub_head,
                        out,
                        attributes_gone,
                    )?;
                    i = end;
                }
            }
        }
        let attributes = b".gitattributes".as_slice();
        if in_head
            .get(attributes)
            .is_some_and(|(tree, file, _)| !tree && file.is_some())
            && !files.iter().any(|f| &f.path[prefix.len()..] == attributes)
        {
            let mut path = prefix.to_vec();
            path.extend_from_slice(attributes);
            attributes_gone.push(BString::from(path));
        }
        Ok(())
    }

    /// The content of `path` (relative to the root) in HEAD's tree, if it is there.
    pub fn head_blob(&self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        match self.head_commit()? {
            Some(commit) => self.commit_blob(commit, path),
            None => Ok(None),
        }
    }

    /// Every regular file in the index.
    pub fn all(&self) -> Result<Staged, Error> {
        let (files, conflicts, links) = self.index_files(self.index()?)?;
        Ok(Staged {
            files: files.iter().map(Listed::to_owned).collect(),
            conflicts,
            links: links.into_iter().map(|link| (link, true)).collect(),
            attributes_gone: Vec::new(),
        })
    }

    /// The content of a blob.
    /// One blob, through the same reader as many (loose objects without mmap, and anything
    /// that is not a blob where a file should be is an error).
    pub fn blob(&self, file: &IndexFile) -> Result<Vec<u8>, Error> {
        self.blob_reader().read(file)
    }
}

fn read_object(
    objects: Objects<'_>,
    id: ObjectId,
    what: &dyn Fn() -> String,
) -> Result<(gix::objs::Kind, Vec<u8>), Error> {
    use gix::objs::Find;
    let mut buf = Vec::new();
    let found = objects
        .try_find(&id, &mut buf)
        .map(|data| data.map(|d| (d.kind, d.data.as_ptr() as usize, d.data.len())));
    match found {
        Ok(Some((kind, at, len))) => {
            // The object is decoded into `buf`: hand that over rather than copy a large blob.
            let start = at.wrapping_sub(buf.as_ptr() as usize);
            if start.checked_add(len).is_some_and(|end| end <= buf.len()) {
                buf.truncate(start + len);
                buf.drain(..start);
                return Ok((kind, buf));
            }
            let mut again = Vec::new();
            match objects.try_find(&id, &mut again) {
                Ok(Some(data)) => Ok((data.kind, data.data.to_vec())),
                Ok(None) => Err(git_error(format!("object {id} ({}) vanished", what()), "")),
                Err(err) => Err(git_error(
                    format!("could not read object {id} ({})", what()),
                    err,
                )),
            }
        }
        Ok(None) => Err(git_error(
            format!("object {id} ({}) is missing", what()),
            "not found in the object database",
        )),
        Err(err) => Err(git_error(
            format!("could not read object {id} ({})", what()),
            err,
        )),
    }
}

/// The lock a large read holds (see [`crate::limits::large_read`]).
pub type LargeRead = std::sync::MutexGuard<'static, ()>;

/// Reads blobs on a thread of its own; see [`Repo::blob_reader`].
pub struct BlobReader {
    main: gix::OdbHandle,
    quarantine: Option<gix::odb::Handle>,
    /// Loose-object directories, searched in this order before the full lookup.
    loose: Vec<PathBuf>,
    inflate: gix::zlib::Inflate,
    /// Blobs larger than this are an error, found from the object's header before anything is
    /// inflated: a small compressed object can inflate to gigabytes.
    limit: u64,
}

impl BlobReader {
    pub fn read(&mut self, file: &IndexFile) -> Result<Vec<u8>, Error> {
        self.read_holding(file, &mut None)
    }

    /// Reads a blob; when it is large, `guard` gets the lock that keeps other large reads
    /// waiting (see [`crate::limits::large_read`]), to hold until the bytes are dropped.
    pub fn read_holding(
        &mut self,
        file: &IndexFile,
        guard: &mut Option<LargeRead>,
    ) -> Result<Vec<u8>, Error> {
        let what = || file.path.to_string();
        for dir in &self.loose {
            if let Some(read) =
                read_loose(dir, &file.id, &mut self.inflate, self.limit, guard, &what)
            {
                return read;
            }
        }
        let objects = Objects {
            main: &self.main,
            quarantine: self.quarantine.as_ref(),
        };
        {
            use gix::objs::FindHeader;
            let header = match &self.quarantine {
                Some(q) if gix::objs::Exists::exists(q, &file.id) => q.try_header(&file.id),
                _ => self.main.try_header(&file.id),
            };
            if let Ok(Some(header)) = header {
                if header.size > self.limit {
                    return Err(Error::TooLarge {
                        size: header.size,
                        limit: self.limit,
                    });
                }
                *guard = crate::limits::large_read(header.size);
            }
        }
        let (kind, data) = read_object(objects, file.id, &what)?;
        if kind != gix::objs::Kind::Blob {
            return Err(git_error(
                format!("object {} ({}) is a {kind}, not a blob", file.id, what()),
                "the tree or index names it as a file",
            ));
        }
        Ok(data)
    }
}

/// Reads a loose object, or `None` when `objects` has no loose copy of it (it may be packed).
///
/// Files just staged are loose objects, one small file each. The general lookup maps each
/// into memory; unmapping it again costs every other core a TLB flush, which made reading on
/// several cores no faster than on one. Read into memory instead, they inflate in parallel.
fn read_loose(
    objects: &Path,
    id: &gix::oid,
    inflate: &mut gix::zlib::Inflate,
    limit: u64,
    guard: &mut Option<LargeRead>,
    what: &dyn Fn() -> String,
) -> Option<Result<Vec<u8>, Error>> {
    let hex = id.to_hex().to_string();
    let path = objects.join(&hex[..2]).join(&hex[2..]);
    let compressed = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => {
            return Some(Err(git_error(
                format!("could not read object {id} ({})", what()),
                err,
            )))
        }
    };
    let corrupt = |detail: String| {
        git_error(
            format!("object {id} ({}) is corrupt: {}", what(), path.display()),
            detail,
        )
    };
    inflate.reset();
    let mut header = [0u8; 64];
    let result = (|| {
        let (status, consumed, written) = inflate
            .prefix(&compressed, &mut header)
            .map_err(|err| corrupt(err.to_string()))?;
        let (kind, size, header_len) = gix::objs::decode::loose_header(&header[..written])
            .map_err(|err| corrupt(err.to_string()))?;
        // zlib cannot expand data more than about 1032 times: a larger size is a lie, and
        // must not become an allocation.
        let size = usize::try_from(size)
            .ok()
            .filter(|size| *size <= compressed.len().saturating_mul(1100).saturating_add(4096))
            .ok_or_else(|| corrupt(format!("its header claims {size} bytes")))?;
        if kind != gix::objs::Kind::Blob {
            return Err(corrupt(format!("it is a {kind}, not a blob")));
        }
        if size as u64 > limit {
            return Err(Error::TooLarge {
                size: size as u64,
                limit,
            });
        }
        *guard = crate::limits::large_read(size as u64);
        let mut out = Vec::new();
        let n = if status == gix::zlib::Status::StreamEnd {
            out.extend_from_slice(&header[header_len.min(written)..written]);
            out.len()
        } else {
            inflate
                .rest(
                    &compressed[consumed..],
                    &header[..written],
                    header_len,
                    &mut out,
                    size,
                )
                .map_err(|err| corrupt(err.to_string()))?
        };
        if n != size {
            return Err(corrupt(format!("{n} bytes where its header says {size}")));
        }
        Ok(out)
    })();
    Some(result)
}

/// Where objects are read from: during a server's pre-receive hook, git keeps the objects being
/// pushed in a quarantine directory (`GIT_QUARANTINE_PATH`) until the hook accepts them; those
/// are looked up there first, everything else in the repository's own store.
struct Objects<'r> {
    main: &'r gix::OdbHandle,
    quarantine: Option<&'r gix::odb::Handle>,
}

impl gix::objs::Find for Objects<'_> {
    fn try_find<'a>(
        &self,
        id: &gix::oid,
        buffer: &'a mut Vec<u8>,
    ) -> gix::Result<Option<gix::objs::Data<'a>>> {
        if let Some(quarantine) = self.quarantine {
            use gix::objs::Exists;
            if quarantine.exists(id) {
                return quarantine.try_find(id, buffer);
            }
        }
        self.main.try_find(id, buffer)
    }
}

impl Repo {
    /// Reads objects pushed into git's quarantine too (for the pre-receive hook).
    pub fn use_quarantine(&mut self, dir: &Path) -> Result<(), Error> {
        let handle = gix::odb::at(dir, self.repo.object_hash()).map_err(|err| {
            git_error(
                format!("could not open the quarantine {}", dir.display()),
                err,
            )
        })?;
        self.quarantine = Some(handle);
        Ok(())
    }

    pub fn has_object(&self, id: ObjectId) -> bool {
        use gix::objs::Exists;
        self.repo.objects.exists(&id)
    }

    fn objects(&self) -> Objects<'_> {
        Objects {
            main: &self.repo.objects,
            quarantine: self.quarantine.as_ref(),
        }
    }

    fn raw_object(
        &self,
        id: ObjectId,
        what: &dyn Fn() -> String,
    ) -> Result<(gix::objs::Kind, Vec<u8>), Error> {
        read_object(self.objects(), id, what)
    }

    /// A reader of blobs for another thread: it has handles of its own on the same object
    /// stores (and their own caches), so several can read at once.
    pub fn blob_reader(&self) -> BlobReader {
        let mut loose: Vec<PathBuf> = self
            .quarantine
            .iter()
            .map(|q| q.store_ref().path().to_path_buf())
            .collect();
        loose.push(self.repo.objects.store_ref().path().to_path_buf());
        BlobReader {
            main: self.repo.objects.clone(),
            quarantine: self.quarantine.clone(),
            loose,
            inflate: Default::default(),
            limit: crate::limits::MAX_FILE_BYTES,
        }
    }
}
