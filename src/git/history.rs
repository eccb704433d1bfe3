//! History: commits, trees, tags and refs. Answers the question every push mode asks — which
//! files does this ref update bring in that the repository did not already have? — in time
//! linear in what is new, however many refs a push holds, and through the same object stores as
//! everything else (git's push quarantine included).

use std::cell::RefCell;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::rc::Rc;

use gix::bstr::{BStr, BString, ByteSlice};
use gix::ObjectId;

use super::{git_error, IndexFile, Repo};
use crate::model::Error;

/// One ref update handed to a push hook: the ref on the receiving side (bytes: git accepts ref
/// names that are not UTF-8), the object it had (`None`: it is new) and the one it gets (`None`:
/// it is deleted). Either may be an annotated tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub name: BString,
    pub old: Option<ObjectId>,
    pub new: Option<ObjectId>,
}

/// What an object comes to once annotated tags are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peeled {
    Commit(ObjectId),
    /// A tag may name a tree: its files are judged like a commit's.
    Tree(ObjectId),
    /// A tag on a blob puts no file at any path.
    Blob,
}

pub(super) struct Commit {
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    /// Committer time, seconds since the epoch: the order history is walked in.
    pub time: i64,
}

/// Commits and trees read so far, each at most once per run.
#[derive(Default)]
pub(super) struct Cache {
    commits: RefCell<HashMap<ObjectId, Rc<Commit>>>,
    trees: RefCell<HashMap<ObjectId, Rc<[u8]>>>,
    links: RefCell<HashMap<ObjectId, Rc<Vec<IndexFile>>>>,
    attributes: RefCell<HashMap<ObjectId, Rc<Vec<IndexFile>>>>,
    /// `info/attributes` and the global attributes file, read once.
    pub(super) outside_attributes: std::cell::OnceCell<[Option<Vec<u8>>; 2]>,
}

/// Directories already listed, each as (path, tree, the one tree it was compared with): the
/// same directory compared with the same base brings the same files, so many refs sharing most
/// of their trees cost what they differ in.
pub type Compared = HashSet<(BString, ObjectId, Option<ObjectId>)>;

/// The regular files a tree brings, and its links with where each leads.
pub type Brought = (Vec<IndexFile>, Vec<(BString, super::LinkTarget)>);

/// A directory's entries by name: (is a tree, whether a regular file is executable when it is
/// one, id).
type Entries<'d> = HashMap<&'d [u8], (bool, Option<bool>, ObjectId)>;

/// Tags nest; git itself follows a chain of tags, but not forever.
const MAX_TAG_CHAIN: usize = 64;

impl Repo {
    /// A commit's tree, parents and time, read once per run.
    pub(super) fn commit(&self, id: ObjectId) -> Result<Rc<Commit>, Error> {
        if let Some(commit) = self.cache.commits.borrow().get(&id) {
            return Ok(commit.clone());
        }
        let (kind, data) = self.raw_object(id, &|| "a commit".into())?;
        if kind != gix::objs::Kind::Commit {
            return Err(git_error(
                format!("object {id} is a {kind} where a commit was expected"),
                "the repository is damaged, or the push names something that is not a commit",
            ));
        }
        let hash = self.repo.object_hash();
        let malformed = |err| git_error(format!("commit {id} could not be read"), err);
        let tree = gix::objs::CommitRefIter::from_bytes(&data, hash)
            .tree_id()
            .map_err(malformed)?;
        let parents = gix::objs::CommitRefIter::from_bytes(&data, hash)
            .parent_ids()
            .collect();
        let time = gix::objs::CommitRefIter::from_bytes(&data, hash)
            .committer()
            .map(|c| c.seconds())
            .unwrap_or(0);
        let commit = Rc::new(Commit {
            tree,
            parents,
            time,
        });
        self.cache.commits.borrow_mut().insert(id, commit.clone());
        Ok(commit)
    }

    /// A tree's raw entries, read once per run.
    pub(super) fn tree_data(
        &self,
        id: ObjectId,
        what: &dyn Fn() -> String,
    ) -> Result<Rc<[u8]>, Error> {
        if let Some(tree) = self.cache.trees.borrow().get(&id) {
            return Ok(tree.clone());
        }
        let (kind, data) = self.raw_object(id, what)?;
        if kind != gix::objs::Kind::Tree {
            return Err(git_error(
                format!("object {id} ({}) is a {kind}, not a tree", what()),
                "the repository is damaged",
            ));
        }
        let data: Rc<[u8]> = data.into();
        self.cache.trees.borrow_mut().insert(id, data.clone());
        Ok(data)
    }

    /// Follows annotated tags (a chain of them, too) to what they finally name.
    pub fn peel(&self, id: ObjectId) -> Result<Peeled, Error> {
        let mut id = id;
        for _ in 0..MAX_TAG_CHAIN {
            if self.cache.commits.borrow().contains_key(&id) {
                return Ok(Peeled::Commit(id));
            }
            let (kind, data) = self.raw_object(id, &|| "a pushed object".into())?;
            match kind {
                gix::objs::Kind::Commit => return Ok(Peeled::Commit(id)),
                gix::objs::Kind::Tree => return Ok(Peeled::Tree(id)),
                gix::objs::Kind::Blob => return Ok(Peeled::Blob),
                gix::objs::Kind::Tag => {
                    id = gix::objs::TagRefIter::from_bytes(&data, self.repo.object_hash())
                        .target_id()
                        .map_err(|err| git_error(format!("tag {id} could not be read"), err))?;
                }
            }
        }
        Err(git_error(
            format!("tag {id} is part of a chain of more than {MAX_TAG_CHAIN} tags"),
            "git does not follow chains that long either",
        ))
    }

    /// A commit's tree.
    pub fn commit_tree(&self, commit: ObjectId) -> Result<ObjectId, Error> {
        Ok(self.commit(commit)?.tree)
    }

    /// The tree a peeled object stands for, if any.
    pub fn tree_of(&self, peeled: Peeled) -> Result<Option<ObjectId>, Error> {
        Ok(match peeled {
            Peeled::Commit(commit) => Some(self.commit(commit)?.tree),
            Peeled::Tree(tree) => Some(tree),
            Peeled::Blob => None,
        })
    }

    /// A commit id from a revision (`HEAD`, `main`, `v1.2`, `a1b2c3d`, `HEAD~2`), tags peeled.
    pub fn resolve_commit(&self, spec: &str) -> Result<ObjectId, Error> {
        let id = self
            .repo
            .rev_parse_single(spec)
            .map_err(|err| git_error(format!("unknown revision `{spec}`"), err))?;
        match self.peel(id.detach())? {
            Peeled::Commit(commit) => Ok(commit),
            _ => Err(git_error(
                format!("`{spec}` does not name a commit"),
                "it names a tree or a blob",
            )),
        }
    }

    /// The commits reachable from `tips` and from none of `known`: what becomes reachable when
    /// the tips are added to a repository whose refs are `known`.
    ///
    /// Commits are visited newest first, as `git rev-list TIPS --not KNOWN` does: paint flows
    /// from both sides, and the walk stops as soon as every commit still queued is reachable from
    /// `known`, so its cost is what is new plus the frontier, never the whole history. A clock
    /// set wrong in some commit can only make it report more commits as new, never fewer.
    pub fn new_commits(
        &self,
        tips: &[ObjectId],
        known: &[ObjectId],
    ) -> Result<HashSet<ObjectId>, Error> {
        const NEW: u8 = 1;
        const KNOWN: u8 = 2;
        let mut flags: HashMap<ObjectId, u8> = HashMap::new();
        let mut queued: HashSet<ObjectId> = HashSet::new();
        let mut queue: BinaryHeap<(i64, ObjectId)> = BinaryHeap::new();
        // Queued commits not (yet) known to be reachable from `known`: the walk's work left.
        let mut open = 0usize;
        let paint = |id: ObjectId,
                     add: u8,
                     flags: &mut HashMap<ObjectId, u8>,
                     queued: &mut HashSet<ObjectId>,
                     queue: &mut BinaryHeap<(i64, ObjectId)>,
                     open: &mut usize|
         -> Result<(), Error> {
            let old = flags.get(&id).copied().unwrap_or(0);
            let new = old | add;
            if new == old {
                return Ok(());
            }
            flags.insert(id, new);
            if queued.contains(&id) {
                if old & KNOWN == 0 && new & KNOWN != 0 {
                    *open -= 1;
                }
            } else {
                queued.insert(id);
                queue.push((self.commit(id)?.time, id));
                if new & KNOWN == 0 {
                    *open += 1;
                }
            }
            Ok(())
        };
        for &tip in tips {
            paint(tip, NEW, &mut flags, &mut queued, &mut queue, &mut open)?;
        }
        for &tip in known {
            paint(tip, KNOWN, &mut flags, &mut queued, &mut queue, &mut open)?;
        }
        while open > 0 {
            let Some((_, id)) = queue.pop() else { break };
            queued.remove(&id);
            let here = flags[&id];
            if here & KNOWN == 0 {
                open -= 1;
            }
            for &parent in &self.commit(id)?.parents {
                paint(parent, here, &mut flags, &mut queued, &mut queue, &mut open)?;
            }
        }
        Ok(flags
            .into_iter()
            .filter(|&(_, f)| f == NEW)
            .map(|(id, _)| id)
            .collect())
    }

    /// The commits outside `new` that the new commits reachable from `tip` build on: what the
    /// repository already had, against which `tip` is compared. Empty when the history of `tip`
    /// is new down to its roots; `None` when `tip` itself is not new.
    pub fn bases(
        &self,
        tip: ObjectId,
        new: &HashSet<ObjectId>,
    ) -> Result<Option<Vec<ObjectId>>, Error> {
        if !new.contains(&tip) {
            return Ok(None);
        }
        let mut seen = HashSet::new();
        let mut todo = vec![tip];
        let mut bases = Vec::new();
        while let Some(id) = todo.pop() {
            if !seen.insert(id) {
                continue;
            }
            for &parent in &self.commit(id)?.parents {
                if new.contains(&parent) {
                    todo.push(parent);
                } else if !bases.contains(&parent) {
                    bases.push(parent);
                }
            }
        }
        Ok(Some(bases))
    }

    /// The regular files of `tree` whose content at their path is in none of `bases` (trees):
    /// what `tree` brings that the bases did not have. Without bases, every file. Directories
    /// equal to a base's are skipped unread; `listed` remembers directories already compared
    /// with no base or with one, so many refs sharing most of their trees cost what they differ
    /// in.
    /// Also the symbolic links `tree` brings (new, or pointing elsewhere than in every base),
    /// with where each leads in `tree`.
    pub fn brought(
        &self,
        tree: ObjectId,
        bases: &[ObjectId],
        listed: &mut Compared,
    ) -> Result<Brought, Error> {
        let mut out = Vec::new();
        let mut links = Vec::new();
        self.diff_trees(&mut Vec::new(), tree, bases, listed, &mut out, &mut links)?;
        let mut targets = Vec::with_capacity(links.len());
        for link in links {
            let target = self.tree_link_target(tree, &link)?;
            targets.push((link.path, target));
        }
        Ok((out, targets))
    }

    /// Every symbolic link below `tree`, with its path. Subtrees are listed once per run, so
    /// the trees of many refs cost what they differ in.
    pub fn links_in(&self, tree: ObjectId) -> Result<Rc<Vec<IndexFile>>, Error> {
        self.entries_in(tree, &self.cache.links, |mode, _| mode.is_link())
    }

    /// Every `.gitattributes` file below `tree`, with its path; cached like
    /// [`Self::links_in`].
    pub fn attribute_files_in(&self, tree: ObjectId) -> Result<Rc<Vec<IndexFile>>, Error> {
        self.entries_in(tree, &self.cache.attributes, |mode, name| {
            mode.is_blob() && name == ".gitattributes"
        })
    }

    /// The entries below `tree` that `wanted` picks, with their paths, each subtree's listed
    /// once per run in `cache`.
    fn entries_in(
        &self,
        tree: ObjectId,
        cache: &RefCell<HashMap<ObjectId, Rc<Vec<IndexFile>>>>,
        wanted: fn(gix::objs::tree::EntryMode, &BStr) -> bool,
    ) -> Result<Rc<Vec<IndexFile>>, Error> {
        if let Some(found) = cache.borrow().get(&tree) {
            return Ok(found.clone());
        }
        let data = self.tree_data(tree, &|| "a tree".into())?;
        let mut found = Vec::new();
        for entry in gix::objs::TreeRefIter::from_bytes(&data, self.repo.object_hash()) {
            let entry = entry.map_err(|err| git_error("a tree could not be read", err))?;
            if entry.mode.is_tree() {
                for inner in self.entries_in(entry.oid.to_owned(), cache, wanted)?.iter() {
                    let mut path = entry.filename.to_owned();
                    path.push(b'/');
                    path.extend_from_slice(&inner.path);
                    found.push(IndexFile::plain(path, inner.id));
                }
            } else if wanted(entry.mode, entry.filename) {
                found.push(IndexFile::plain(
                    entry.filename.to_owned(),
                    entry.oid.to_owned(),
                ));
            }
        }
        let found = Rc::new(found);
        cache.borrow_mut().insert(tree, found.clone());
        Ok(found)
    }

    /// Every regular file (and link) below `dir` of `tree`, with its path from the root.
    pub fn files_under(&self, tree: ObjectId, dir: &BStr) -> Result<Vec<IndexFile>, Error> {
        let sub = if dir.is_empty() {
            Some(tree)
        } else {
            match self.tree_entry(tree, dir)? {
                Some((mode, id)) if mode.is_tree() => Some(id),
                _ => None,
            }
        };
        let Some(sub) = sub else {
            return Ok(Vec::new());
        };
        let (files, _) = self.brought(sub, &[], &mut HashSet::new())?;
        Ok(files
            .into_iter()
            .map(|mut file| {
                if !dir.is_empty() {
                    let mut path = BString::from(dir);
                    path.push(b'/');
                    path.extend_from_slice(&file.path);
                    file.path = path;
                }
                file
            })
            .collect())
    }

    /// Every regular file below `tree` whose name says it is Python source (see
    /// [`crate::python::is_module_source`]), by path.
    pub fn python_files_in(&self, tree: ObjectId) -> Result<Vec<String>, Error> {
        let data = self.tree_data(tree, &|| "a tree".into())?;
        let mut found = Vec::new();
        for entry in gix::objs::TreeRefIter::from_bytes(&data, self.repo.object_hash()) {
            let entry = entry.map_err(|err| git_error("a tree could not be read", err))?;
            let name = String::from_utf8_lossy(entry.filename).into_owned();
            if entry.mode.is_tree() {
                for inner in self.python_files_in(entry.oid.to_owned())? {
                    found.push(format!("{name}/{inner}"));
                }
            } else if entry.mode.is_blob() && crate::python::is_module_source(&name) {
                found.push(name);
            }
        }
        Ok(found)
    }

    /// Where a link of a tree leads, in that tree.
    pub fn tree_link_target(
        &self,
        tree: ObjectId,
        link: &IndexFile,
    ) -> Result<super::LinkTarget, Error> {
        self.follow_link(link, &|path| {
            Ok(match self.tree_entry(tree, path)? {
                Some((mode, id)) if mode.is_link() => Some((super::Entry::Link, id)),
                Some((mode, id)) if mode.is_blob() => Some((super::Entry::File, id)),
                Some((mode, id)) if mode.is_tree() => Some((super::Entry::Dir, id)),
                _ => None,
            })
        })
    }

    fn diff_trees(
        &self,
        prefix: &mut Vec<u8>,
        tree: ObjectId,
        bases: &[ObjectId],
        listed: &mut Compared,
        out: &mut Vec<IndexFile>,
        links: &mut Vec<IndexFile>,
    ) -> Result<(), Error> {
        if bases.contains(&tree) {
            return Ok(());
        }
        let base = match bases {
            [] => Some(None),
            [one] => Some(Some(*one)),
            _ => None,
        };
        if let Some(base) = base {
            if !listed.insert((BString::from(prefix.as_slice()), tree, base)) {
                return Ok(());
            }
        }
        let hash = self.repo.object_hash();
        let shown = |prefix: &[u8]| {
            let prefix = prefix.to_vec();
            move || format!("tree of {}/", prefix.as_bstr())
        };
        let data = self.tree_data(tree, &shown(prefix))?;
        let base_data: Vec<Rc<[u8]>> = bases
            .iter()
            .map(|&b| self.tree_data(b, &shown(prefix)))
            .collect::<Result<_, _>>()?;
        let mut base_entries: Vec<Entries<'_>> = Vec::new();
        for data in &base_data {
            let mut entries = HashMap::new();
            for entry in gix::objs::TreeRefIter::from_bytes(data, hash) {
                let entry = entry.map_err(|err| git_error("a tree could not be read", err))?;
                entries.insert(
                    entry.filename.as_bytes(),
                    (
                        entry.mode.is_tree(),
                        entry.mode.is_blob().then_some(entry.mode.is_executable()),
                        entry.oid.to_owned(),
                    ),
                );
            }
            base_entries.push(entries);
        }
        for entry in gix::objs::TreeRefIter::from_bytes(&data, hash) {
            let entry = entry.map_err(|err| git_error("a tree could not be read", err))?;
            let name = entry.filename.as_bytes();
            let id = entry.oid.to_owned();
            let len = prefix.len();
            if !prefix.is_empty() {
                prefix.push(b'/');
            }
            prefix.extend_from_slice(name);
            if entry.mode.is_tree() {
                let sub_bases: Vec<ObjectId> = base_entries
                    .iter()
                    .filter_map(|b| b.get(name).and_then(|(tree, _, id)| tree.then_some(*id)))
                    .collect();
                self.diff_trees(prefix, id, &sub_bases, listed, out, links)?;
            } else if entry.mode.is_link() {
                let had = base_entries.iter().any(|b| {
                    b.get(name)
                        .is_some_and(|(tree, file, old)| !tree && file.is_none() && *old == id)
                });
                if !had {
                    links.push(IndexFile::plain(BString::from(prefix.as_slice()), id));
                }
            } else if entry.mode.is_blob() {
                // A file made executable is brought in anew when its mode decides whether it
                // is read: it may now be run by its shebang.
                let executable = entry.mode.is_executable();
                let mode_matters = crate::python::mode_matters(&name.to_str_lossy());
                let had = base_entries.iter().any(|b| match b.get(name) {
                    Some((false, Some(was), old)) => {
                        *old == id && (*was == executable || !mode_matters)
                    }
                    _ => false,
                });
                if !had {
                    out.push(IndexFile {
                        path: BString::from(prefix.as_slice()),
                        id,
                        executable,
                        written_at: None,
                    });
                }
            }
            prefix.truncate(len);
        }
        Ok(())
    }

    /// The entry at `path` in a tree: its mode and id.
    pub(super) fn tree_entry(
        &self,
        tree: ObjectId,
        path: &BStr,
    ) -> Result<Option<(gix::objs::tree::EntryMode, ObjectId)>, Error> {
        let hash = self.repo.object_hash();
        let mut tree = tree;
        let mut parts = path.split_str("/").peekable();
        while let Some(part) = parts.next() {
            let data = self.tree_data(tree, &|| format!("tree holding {path}"))?;
            let mut found = None;
            for entry in gix::objs::TreeRefIter::from_bytes(&data, hash) {
                let entry = entry.map_err(|err| git_error("a tree could not be read", err))?;
                if entry.filename == part.as_bstr() {
                    found = Some((entry.mode, entry.oid.to_owned()));
                    break;
                }
            }
            match found {
                Some(found) if parts.peek().is_none() => return Ok(Some(found)),
                Some((mode, id)) if mode.is_tree() => tree = id,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The content of `path` in a tree (regular files only).
    pub fn blob_in_tree(&self, tree: ObjectId, path: &str) -> Result<Option<Vec<u8>>, Error> {
        match self.tree_entry(tree, path.as_bytes().as_bstr())? {
            Some((mode, id)) if mode.is_blob() => {
                self.blob(&IndexFile::plain(path.into(), id)).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The content of `path` in a commit's tree.
    pub fn commit_blob(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let tree = self.commit(commit)?.tree;
        self.blob_in_tree(tree, path)
    }

    /// The commits the refs under `prefix` point at (tags peeled; refs to trees or blobs, and
    /// refs that cannot be read, left out). `refs/` lists every ref.
    pub fn ref_tips(&self, prefix: &str) -> Result<Vec<ObjectId>, Error> {
        let platform = self
            .repo
            .references()
            .map_err(|err| git_error("could not list references", err))?;
        let refs = platform
            .prefixed(prefix)
            .map_err(|err| git_error(format!("could not list references under {prefix}"), err))?;
        let mut tips = Vec::new();
        for reference in refs.flatten() {
            let mut reference = reference;
            if let Ok(id) = reference.peel_to_id() {
                if let Ok(Peeled::Commit(commit)) = self.peel(id.detach()) {
                    tips.push(commit);
                }
            }
        }
        tips.sort();
        tips.dedup();
        Ok(tips)
    }

    /// The refs under `prefix` by full name, each with the commit it comes to (tags peeled;
    /// refs to trees or blobs, and refs that cannot be read, left out).
    pub fn ref_commits(&self, prefix: &str) -> Result<Vec<(BString, ObjectId)>, Error> {
        let platform = self
            .repo
            .references()
            .map_err(|err| git_error("could not list references", err))?;
        let refs = platform
            .prefixed(prefix)
            .map_err(|err| git_error(format!("could not list references under {prefix}"), err))?;
        let mut found = Vec::new();
        for reference in refs.flatten() {
            let mut reference = reference;
            let name = reference.name().as_bstr().to_owned();
            if let Ok(id) = reference.peel_to_id() {
                if let Ok(Peeled::Commit(commit)) = self.peel(id.detach()) {
                    found.push((name, commit));
                }
            }
        }
        Ok(found)
    }

    /// The commit a full ref name points at, tags peeled; `None` when there is no such ref.
    pub fn ref_commit(&self, name: &str) -> Result<Option<ObjectId>, Error> {
        let reference = self
            .repo
            .try_find_reference(name)
            .map_err(|err| git_error(format!("could not read the reference {name}"), err))?;
        let Some(mut reference) = reference else {
            return Ok(None);
        };
        let Ok(id) = reference.peel_to_id() else {
            return Ok(None);
        };
        match self.peel(id.detach())? {
            Peeled::Commit(commit) => Ok(Some(commit)),
            _ => Ok(None),
        }
    }

    /// The tip of the repository's default branch: where its HEAD points (on a server, the
    /// branch that new refs start from). `None` when HEAD is unborn.
    pub fn default_branch_tip(&self) -> Result<Option<ObjectId>, Error> {
        self.ref_commit("HEAD")
    }

    /// The name of the configured remote that `remote` is, or whose URL it is. git hands a
    /// pre-push hook the URL twice when the push names a URL rather than a remote.
    pub fn remote_named(&self, remote: &BStr) -> Option<String> {
        let names = self.repo.remote_names();
        if let Some(name) = names.iter().find(|n| n.as_bytes() == remote.as_bytes()) {
            return Some(name.to_string());
        }
        let config = self.repo.config_snapshot();
        let same =
            |url: &BStr| url.trim_end_with(|c| c == '/') == remote.trim_end_with(|c| c == '/');
        names
            .iter()
            .find(|name| {
                ["url", "pushurl"].iter().any(|key| {
                    config
                        .plumbing()
                        .strings(format!("remote.{name}.{key}").as_str())
                        .unwrap_or_default()
                        .iter()
                        .any(|url| same(url.as_bstr()))
                })
            })
            .map(|name| name.to_string())
    }
}
