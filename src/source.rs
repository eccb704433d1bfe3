//! Decides what to check and where its content comes from: the index (`--staged`, `--all`,
//! `--staged PATH...`) or the working tree (`PATH...`). It yields each Python file with its
//! bytes and the path reports show; it does not judge them.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use gix::bstr::{BStr, BString, ByteSlice};

use std::collections::HashMap;

use crate::git::{ArchiveCommit, Case, Conversion, IndexFile, LinkTarget, RefUpdate, Repo, Rules};
use crate::model::{Error, Issue};
use crate::python::{self, Class, Kind};
use crate::{limits, parallel, zipapp};

/// Which files a run checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Files added, modified, copied or renamed in the index relative to HEAD.
    Staged,
    /// The named paths, read from the index (from disk, with a note, when not in the index).
    StagedPaths(Vec<PathBuf>),
    /// Every file in the index.
    All,
    /// The named files and directories, from the working tree.
    Paths(Vec<PathBuf>),
    /// `--range A..B`: files changed between two commits, content at B (no A: everything at B).
    Range { old: Option<String>, new: String },
    /// `--pre-push`: what a push adds to `remote`, read from git's stdin lines.
    Push {
        remote: Option<String>,
        updates: Vec<RefUpdate>,
        /// Refs among `updates` judged because they may be pushed: a hook manager names only
        /// one ref of a push (see [`crate::pushes::from_hook_manager`]).
        implied: Vec<gix::bstr::BString>,
    },
    /// `--pre-receive`: what a push to this (server) repository adds, from git's stdin lines.
    Receive { updates: Vec<RefUpdate> },
    /// `-` with `--stdin-filename NAME`: standard input, checked as the file NAME (editors,
    /// pipelines).
    Stdin { name: String, bytes: Vec<u8> },
}

impl Selection {
    /// Whether the content comes from commits rather than the index or the disk.
    pub fn is_history(&self) -> bool {
        matches!(
            self,
            Selection::Range { .. } | Selection::Push { .. } | Selection::Receive { .. }
        )
    }
}

/// One Python file to check.
#[derive(Debug)]
pub struct SourceFile {
    /// Relative to the repository root (or the current directory outside one), `/`-separated.
    pub path: String,
    pub bytes: Vec<u8>,
    pub kind: Kind,
    /// What the repository's modules it imports hold, when that was worked out.
    pub local: Option<std::sync::Arc<crate::analyze::LocalModules>>,
}

/// Everything a selection produced.
#[derive(Debug, Default)]
pub struct Sources {
    /// Every Python file checked, handed over or not.
    pub checked: Vec<String>,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// Whether the walk left out a directory by default that Python could import as a
    /// package (`build`, `dist`, `venv`...), or met ignore rules that may have hidden files:
    /// their modules were not read.
    pub left_out_packages: bool,
}

/// Where the files worth analysing go, from the reading threads: `wants` is the prefilter,
/// `take` gets each file it wants (and analyses it while reading goes on).
pub struct Keep<'k> {
    pub wants: &'k (dyn Fn(&str, &[u8], Kind) -> bool + Sync),
    pub take: &'k (dyn Fn(SourceFile) + Sync),
}

/// Says whether a path is excluded by the configuration.
pub type Excluded<'e> = dyn Fn(&str) -> bool + Sync + 'e;

/// What reading one candidate file gave.
enum Read {
    /// Not Python after all (no line that runs Python).
    NotPython,
    Failed(Issue),
    /// Not read, with a warning saying why.
    Noted(Issue),
    /// A Python file (handed over when `keep` wanted it).
    Checked(String),
    /// A zipapp: its Python members, each checked as `ARCHIVE/MEMBER`, and a warning when it
    /// holds compiled members that are not read.
    Archive(String, Vec<String>, Option<Issue>),
}

impl Read {
    /// Classifies read bytes: `class` is known from the name, or comes from the first lines
    /// (`None`). The bytes are copied only when `keep` wants them: most files are read into a
    /// buffer that is used again for the next.
    fn of(path: String, class: Option<Class>, bytes: Cow<'_, [u8]>, keep: &Keep) -> Read {
        // Python runs a file that is a zip archive as a zipapp, whatever it is named and
        // whatever comes before the archive (`python3 -m zipapp` puts a shebang line there),
        // and any other file it is given as source, `app.pyz` too. A file named as source
        // (`helper.py`) is imported as source whatever its bytes, and run as a zipapp when it is
        // one: it is judged both ways. (Not as source when it holds a NUL byte, as archives
        // written by zip tools do: CPython refuses such source, and reading it would only call
        // the archive's bytes not text.)
        let (class, also_source) = match class {
            Some(Class::Text(Kind::Source)) if zipapp::is_zip(&bytes) => {
                (Class::Zipapp, memchr::memchr(0, &bytes).is_none())
            }
            Some(Class::Zipapp) if !zipapp::is_zip(&bytes) => (Class::Text(Kind::Source), false),
            Some(class) => (class, false),
            None if !python::runs_python(&bytes) => return Read::NotPython,
            // What its first lines run decides, and Python runs a zip as a zipapp first.
            None if zipapp::is_zip(&bytes) => (Class::Zipapp, false),
            None => (Class::Text(Kind::Source), false),
        };
        let hand = |path: String, bytes: Cow<'_, [u8]>, kind: Kind| {
            if (keep.wants)(&path, &bytes, kind) {
                (keep.take)(SourceFile {
                    path: path.clone(),
                    bytes: bytes.into_owned(),
                    kind,
                    local: None,
                });
            }
            path
        };
        match class {
            Class::Text(kind) => Read::Checked(hand(path, bytes, kind)),
            Class::Pth => Read::Checked(hand(
                path,
                Cow::Owned(python::pth_code(&bytes)),
                Kind::Source,
            )),
            Class::Compiled => Read::Failed(Issue::new(
                path,
                "is compiled Python, which `import` loads when no source is beside it; compiled \
                 Python cannot be judged; remove it or exclude the path"
                    .to_string(),
            )),
            Class::Package if !zipapp::is_zip(&bytes) => Read::Failed(Issue::new(
                path,
                "is named as a Python package archive (`.whl`, `.egg`) but is not a zip \
                 archive, so dill-guard cannot read what Python would import from it"
                    .to_string(),
            )),
            Class::Zipapp | Class::Package => match zipapp::python_members(&bytes) {
                Ok(contents) => {
                    let warning = (!contents.compiled.is_empty()).then(|| {
                        let mut named =
                            contents.compiled[..contents.compiled.len().min(3)].join(", ");
                        if contents.compiled.len() > 3 {
                            named.push_str(&format!(" and {} more", contents.compiled.len() - 3));
                        }
                        Issue::new(
                            path.clone(),
                            format!(
                                "is a zip archive holding compiled Python ({named}), which \
                                 Python imports but dill-guard cannot read; only its source \
                                 members are checked"
                            ),
                        )
                    });
                    let source =
                        also_source.then(|| hand(path.clone(), bytes.clone(), Kind::Source));
                    let checked = source
                        .into_iter()
                        .chain(contents.members.into_iter().map(|m| {
                            hand(
                                format!("{path}/{}", m.name),
                                Cow::Owned(m.bytes),
                                Kind::Source,
                            )
                        }))
                        .collect();
                    Read::Archive(path, checked, warning)
                }
                Err(why) => Read::Failed(Issue::new(path, why)),
            },
        }
    }

    fn path(&self) -> &str {
        match self {
            Read::NotPython => "",
            Read::Failed(issue) | Read::Noted(issue) => &issue.path,
            Read::Checked(path) | Read::Archive(path, ..) => path,
        }
    }
}

impl Sources {
    fn record(&mut self, read: Read) {
        match read {
            Read::NotPython => {}
            Read::Failed(issue) => self.errors.push(issue),
            Read::Noted(issue) => self.warnings.push(issue),
            // The forms of one file git may write out come one after another: one file.
            Read::Checked(path) if self.checked.last() == Some(&path) => {}
            Read::Checked(path) => self.checked.push(path),
            Read::Archive(_, members, warning) => {
                self.checked.extend(members);
                self.warnings.extend(warning);
            }
        }
    }
}

/// Whether a file may hold Python, and how to tell: its class when the name says
/// (`Some(Some(..))`), `Some(None)` when its first lines must be read to tell (see
/// [`python::read_for_launcher`]), `None` when it is not read at all. Every mode asks this one
/// function, so a file is judged alike on disk, in the index and in a push. `executable` is
/// asked only when the name does not decide.
pub fn candidate(path: &str, executable: impl FnOnce() -> bool) -> Option<Option<Class>> {
    match python::class_by_name(path) {
        Some(class) => Some(Some(class)),
        None if python::read_for_launcher(path, false) || executable() => Some(None),
        None => None,
    }
}

/// Gathers the Python files of a selection. Paths for which `excluded` is true are never read.
/// `keep` sees every other file's bytes and says whether to hold on to them (the prefilter); a
/// file it drops was still checked. Files are read on every core when there are many.
pub fn gather(
    selection: &Selection,
    cwd: &Path,
    repo: Option<&Repo>,
    excluded: &Excluded,
    skip_default_dirs: bool,
    keep: &Keep,
) -> Result<Sources, Error> {
    let mut out = Sources::default();
    match selection {
        Selection::Staged | Selection::All => {
            let repo = require_repo(repo, cwd, selection)?;
            let listing = if *selection == Selection::Staged {
                repo.staged()?
            } else {
                repo.all()?
            };
            for path in &listing.conflicts {
                out.errors.push(Issue::new(
                    lossy(path.as_bstr()),
                    "has unresolved merge conflicts; resolve them before committing",
                ));
            }
            // A link is judged when it changes, or when what it points at does, or a link on
            // the way there does.
            let changed: std::collections::HashSet<&BStr> =
                listing.files.iter().map(|f| f.path.as_bstr()).collect();
            let changed_links: std::collections::HashSet<&BStr> = listing
                .links
                .iter()
                .filter(|(_, link_changed)| *link_changed)
                .map(|(link, _)| link.path.as_bstr())
                .collect();
            let links: Vec<&IndexFile> = listing
                .links
                .iter()
                .filter(|(_, link_changed)| *link_changed)
                .map(|(link, _)| link)
                .collect();
            let mut files = listing.files.clone();
            // Attributes that change what a checkout writes change files that did not change:
            // everything below a changed `.gitattributes` is judged again.
            let attribute_dirs: Vec<&[u8]> = listing
                .files
                .iter()
                .map(|f| &f.path)
                .filter(|p| crate::git::is_attributes_file(p))
                .chain(&listing.attributes_gone)
                .map(|p| p.rfind_byte(b'/').map_or(&b""[..], |at| &p[..at]))
                .collect();
            let attributes_changed = !attribute_dirs.is_empty();
            if *selection == Selection::Staged && attributes_changed {
                let every = repo.all()?;
                for dir in attribute_dirs {
                    files.extend(entries_at(&every.files, dir.as_bstr()).into_iter().cloned());
                }
                files.sort_by(|a, b| a.path.cmp(&b.path));
                files.dedup_by(|a, b| a.path == b.path);
            }
            files.extend(link_targets(repo, &links, excluded, &mut out, |_, _| true));
            // Links that did not change, to targets that did.
            let unchanged: Vec<&IndexFile> = listing
                .links
                .iter()
                .filter(|(_, link_changed)| !*link_changed)
                .map(|(link, _)| link)
                .collect();
            let mut quiet = Sources::default();
            files.extend(link_targets(
                repo,
                &unchanged,
                excluded,
                &mut quiet,
                |target, through| {
                    // A link is written out under its target's attributes, which may have
                    // changed.
                    attributes_changed
                        || changed.contains(target.path.as_bstr())
                        || through
                            .iter()
                            .any(|via| changed_links.contains(via.as_bstr()))
                },
            ));
            // An unchanged link that leads nowhere now may do so because a link on its way
            // changed: when any link changed, those count.
            if !changed_links.is_empty() {
                out.errors.append(&mut quiet.errors);
            }
            read_index_files(repo, &files, &Checkout::Index, excluded, keep, &mut out);
        }
        Selection::StagedPaths(paths) => {
            let repo = require_repo(repo, cwd, selection)?;
            let listing = repo.all()?;
            let root = canonical(&repo.root())?;
            let mut named: std::collections::HashSet<BString> = Default::default();
            for arg in paths {
                let absolute = normalize(&cwd.join(arg));
                // Compared as bytes: a path need not be UTF-8, and git's are not re-spelled.
                let relative = absolute
                    .strip_prefix(&root)
                    .ok()
                    .and_then(|p| gix::path::into_bstr(p).ok())
                    .map(|p| gix::path::to_unix_separators_on_windows(p).into_owned());
                let shown = relative
                    .as_ref()
                    .map_or_else(|| path_to_slash(arg), |r| lossy(r.as_bstr()));
                named.extend(relative.clone());
                if let Some(rel) = &relative {
                    if listing.conflicts.iter().any(|c| c == rel) {
                        out.errors.push(Issue::new(
                            shown,
                            "has unresolved merge conflicts; resolve them before committing",
                        ));
                        continue;
                    }
                    let link: Vec<&IndexFile> = listing
                        .links
                        .iter()
                        .map(|(link, _)| link)
                        .filter(|link| link.path == *rel)
                        .collect();
                    if !link.is_empty() {
                        let targets = link_targets(repo, &link, excluded, &mut out, |_, _| true);
                        read_index_files(
                            repo,
                            &targets,
                            &Checkout::Index,
                            excluded,
                            keep,
                            &mut out,
                        );
                        continue;
                    }
                }
                // Attributes change what a checkout writes for the files below them.
                if let Some(rel) = relative
                    .as_ref()
                    .filter(|rel| crate::git::is_attributes_file(rel))
                {
                    let dir = rel.rfind_byte(b'/').map_or(&b""[..], |at| &rel[..at]);
                    let below = entries_at(&listing.files, dir.as_bstr());
                    read_index_files(repo, below, &Checkout::Index, excluded, keep, &mut out);
                    continue;
                }
                let in_index = relative
                    .as_ref()
                    .map(|rel| entries_at(&listing.files, rel.as_bstr()))
                    .unwrap_or_default();
                if in_index.is_empty() {
                    out.warnings.push(Issue::new(
                        shown.clone(),
                        "is not in the index; checked the file on disk instead",
                    ));
                    walk_disk(&absolute, arg, &root, excluded, false, keep, &mut out);
                    continue;
                }
                read_index_files(repo, in_index, &Checkout::Index, excluded, keep, &mut out);
            }
            // A hook manager names the files that changed: a link it did not name is judged
            // when what it points at is among them.
            let unnamed: Vec<&IndexFile> = listing
                .links
                .iter()
                .map(|(link, _)| link)
                .filter(|link| !named.contains(&link.path))
                .collect();
            let mut quiet = Sources::default();
            let attributes_named = named.iter().any(|n| crate::git::is_attributes_file(n));
            let targets = link_targets(repo, &unnamed, excluded, &mut quiet, |target, through| {
                attributes_named
                    || named.contains(&target.path)
                    || through.iter().any(|via| named.contains(via))
            });
            read_index_files(repo, &targets, &Checkout::Index, excluded, keep, &mut out);
        }
        Selection::Range { .. } | Selection::Push { .. } | Selection::Receive { .. } => {
            // History selections are planned by `pushes` and read with `gather_blobs`.
            require_repo(repo, cwd, selection)?;
        }
        Selection::Stdin { name, bytes } => {
            // Checked as the file it is named as; a name that is not Python's is still read as
            // Python source, since the caller asked for it.
            let class = python::class_by_name(name).unwrap_or(Class::Text(Kind::Source));
            if bytes.len() as u64 > limits::MAX_FILE_BYTES {
                out.errors.push(Issue::new(
                    name.clone(),
                    Error::TooLarge {
                        size: bytes.len() as u64,
                        limit: limits::MAX_FILE_BYTES,
                    }
                    .to_string(),
                ));
            } else {
                out.record(Read::of(
                    name.replace('\\', "/"),
                    Some(class),
                    Cow::Borrowed(bytes),
                    keep,
                ));
            }
        }
        Selection::Paths(paths) => {
            // Paths are shown relative to the repository root, or to the current directory
            // outside a repository.
            let base = match repo.and_then(Repo::workdir) {
                Some(workdir) => canonical(workdir)?,
                None => canonical(cwd)?,
            };
            for arg in paths {
                let absolute = normalize(&cwd.join(arg));
                walk_disk(
                    &absolute,
                    arg,
                    &base,
                    excluded,
                    skip_default_dirs,
                    keep,
                    &mut out,
                );
            }
        }
    }
    Ok(out)
}

/// Directories path mode does not walk into (the ones ruff skips by default, and `.git`): virtual
/// environments, installed packages, dependency trees, caches and build outputs. Named on the
/// command line, they are checked.
pub const SKIPPED_DIRECTORIES: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
];

fn skipped_by_default(name: &str) -> bool {
    SKIPPED_DIRECTORIES.contains(&name) || name.ends_with(".egg-info")
}

/// Where the attribute rules of files read from git come from: they say what a checkout or an
/// archive does to the bytes before Python reads them.
pub enum Checkout<'c> {
    /// The index's `.gitattributes`: what a checkout of the commit being made would use.
    Index,
    /// The trees of a push or range, each with the commit an archive of it would show.
    Trees(&'c [ArchiveTip]),
}

/// A tree a history selection brings, with the commit it is the tree of (for `export-subst`)
/// and the refs that will name that commit.
#[derive(Debug, Clone)]
pub struct ArchiveTip {
    pub tree: gix::ObjectId,
    pub commit: Option<gix::ObjectId>,
    pub refs: Vec<BString>,
}

/// Reads files of commits (a history selection's, as planned by `pushes`).
pub fn gather_blobs(
    repo: &Repo,
    files: &[IndexFile],
    tips: &[ArchiveTip],
    excluded: &Excluded,
    keep: &Keep,
) -> Sources {
    let mut out = Sources::default();
    read_index_files(
        repo,
        files,
        &Checkout::Trees(tips),
        excluded,
        keep,
        &mut out,
    );
    out
}

/// Each file's conversions (none, or no list at all: it lands as it is), and the commits
/// archives are made of.
type Checkouts = (Vec<Vec<Conversion>>, HashMap<gix::ObjectId, ArchiveCommit>);

/// The distinct ways `files` can land on disk or in an archive, file by file (nothing listed
/// when no attribute changes a file), and the commits `export-subst` writes from.
fn checkouts(repo: &Repo, files: &[&IndexFile], checkout: &Checkout) -> Result<Checkouts, Error> {
    // A link's content is written out at its target, under the target's attributes.
    let paths: Vec<&BStr> = files
        .iter()
        .map(|f| f.written_at.as_ref().unwrap_or(&f.path).as_bstr())
        .collect();
    let mut variants: Vec<Vec<Conversion>> = Vec::new();
    let mut archives = HashMap::new();
    // Every file keeps the identity among its variants once some tip leaves it alone.
    let mut add = |found: Option<Vec<Conversion>>| {
        if variants.is_empty() {
            variants.resize_with(files.len(), Vec::new);
        }
        let found = found.unwrap_or_else(|| vec![Conversion::default(); files.len()]);
        for (these, conversion) in variants.iter_mut().zip(found) {
            // `export-subst` rewrites archives only: a checkout writes the file without it.
            let checkout = Conversion {
                export_subst: None,
                ..conversion.clone()
            };
            for conversion in [conversion, checkout] {
                if !these.contains(&conversion) {
                    these.push(conversion);
                }
            }
        }
    };
    match checkout {
        Checkout::Index => {
            // Matched as git matches on a case-sensitive system and on one that is not
            // (`core.ignoreCase`, the default of clones on macOS and Windows).
            for case in [Case::Sensitive, Case::Fold] {
                if let Some(found) = repo.conversions(Rules::Index, &paths, None, case)? {
                    add(Some(found));
                }
            }
        }
        Checkout::Trees(tips) => {
            let mut done = std::collections::HashSet::new();
            let mut changed = false;
            let mut all = Vec::new();
            for (tip, case) in tips
                .iter()
                .flat_map(|tip| [(tip, Case::Sensitive), (tip, Case::Fold)])
            {
                if !done.insert((tip.tree, tip.commit, case == Case::Fold)) {
                    continue;
                }
                let found = repo.conversions(Rules::Tree(tip.tree), &paths, tip.commit, case)?;
                if let (Some(commit), Some(found)) = (tip.commit, &found) {
                    if found.iter().any(|c| c.export_subst.is_some())
                        && !archives.contains_key(&commit)
                    {
                        let refs: Vec<BString> = tips
                            .iter()
                            .filter(|t| t.commit == Some(commit))
                            .flat_map(|t| t.refs.iter().cloned())
                            .collect();
                        archives.insert(commit, repo.archive_commit(commit, refs)?);
                    }
                }
                changed |= found
                    .as_ref()
                    .is_some_and(|f| f.iter().any(|c| !c.is_identity()));
                all.push(found);
            }
            if changed {
                for found in all {
                    add(found);
                }
            }
        }
    }
    if variants
        .iter()
        .all(|these| these.iter().all(Conversion::is_identity))
    {
        variants.clear();
    }
    Ok((variants, archives))
}

/// Reads the Python files among `files` from the object database, skipping excluded paths
/// before any read; many blobs are read and inflated on every core. Each file is judged as
/// every checkout or archive its attributes make of it.
fn read_index_files<'f>(
    repo: &Repo,
    files: impl IntoIterator<Item = &'f IndexFile>,
    checkout: &Checkout,
    excluded: &Excluded,
    keep: &Keep,
    out: &mut Sources,
) {
    let wanted: Vec<(&IndexFile, String, Option<Class>)> = files
        .into_iter()
        .filter_map(|file| {
            let path = lossy(file.path.as_bstr());
            let class = candidate(&path, || file.executable)?;
            (!excluded(&path)).then_some((file, path, class))
        })
        .collect();
    let listed: Vec<&IndexFile> = wanted.iter().map(|(file, _, _)| *file).collect();
    let (variants, archives) = match checkouts(repo, &listed, checkout) {
        Ok(found) => found,
        Err(err) => {
            out.errors
                .push(Issue::new(".gitattributes".to_string(), err.one_line()));
            return;
        }
    };
    let jobs: Vec<_> = wanted
        .iter()
        .enumerate()
        .map(|(i, file)| (file, variants.get(i).map_or(&[][..], Vec::as_slice)))
        .collect();
    // A thread pays for itself only over a few dozen blobs.
    let workers = parallel::workers_for(jobs.len(), 32);
    let reads = parallel::map(
        &jobs,
        workers,
        || repo.blob_reader(),
        |reader, ((file, path, kind), conversions)| {
            let mut large = None;
            let reads = match reader.read_holding(file, &mut large) {
                Ok(bytes) if crate::git::is_lfs_pointer(&bytes) => vec![Read::Failed(Issue::new(
                    path.clone(),
                    "is a Git LFS pointer: the code it stands for is kept on an LFS server, not in the repository, so it cannot be judged; keep Python files out of LFS, or exclude the path in dill-guard.toml",
                ))],
                Ok(bytes) => match conversions {
                    [] => vec![Read::of(path.clone(), *kind, Cow::Owned(bytes), keep)],
                    [only] if only.is_identity() => {
                        vec![Read::of(path.clone(), *kind, Cow::Owned(bytes), keep)]
                    }
                    _ => {
                        // Every form the file may land in, each judged once.
                        let mut forms = Vec::new();
                        let mut failed = Vec::new();
                        for conversion in *conversions {
                            let archive = conversion.export_subst.flatten().and_then(|c| archives.get(&c));
                            match crate::git::convert(conversion, file.id, bytes.clone(), archive) {
                                Ok(more) => forms.extend(more),
                                Err(why) => failed.push(Read::Failed(Issue::new(path.clone(), why))),
                            }
                        }
                        forms.sort();
                        forms.dedup();
                        failed.truncate(1);
                        forms
                            .into_iter()
                            .map(|bytes| Read::of(path.clone(), *kind, Cow::Owned(bytes), keep))
                            .chain(failed)
                            .collect()
                    }
                },
                Err(err) => vec![Read::Failed(Issue::new(path.clone(), err.one_line()))],
            };
            drop(large);
            reads
        },
    );
    for read in reads.into_iter().flatten() {
        out.record(read);
    }
}

/// The files that Python-named links stand for: each link's path with its target's content,
/// for the links whose target (and the links on the way there) `wanted` accepts. A link out
/// of the repository (or to nothing) is an error: what it runs is not in what is committed.
fn link_targets(
    repo: &Repo,
    links: &[&IndexFile],
    excluded: &Excluded,
    out: &mut Sources,
    wanted: impl Fn(&IndexFile, &[BString]) -> bool,
) -> Vec<IndexFile> {
    let mut files = Vec::new();
    for link in links {
        let path = lossy(link.path.as_bstr());
        if python::class_by_name(&path).is_none() || excluded(&path) {
            continue;
        }
        match repo.index_link_target(link) {
            Ok(LinkTarget::File { file, through }) => {
                if wanted(&file, &through) {
                    files.push(IndexFile {
                        written_at: Some(file.path.clone()),
                        ..IndexFile::plain(link.path.clone(), file.id)
                    });
                }
            }
            Ok(LinkTarget::Elsewhere(to)) => out
                .errors
                .push(Issue::new(path, crate::pushes::link_error(&to))),
            Err(err) => out.errors.push(Issue::new(path, err.one_line())),
        }
    }
    files
}

fn require_repo<'r>(
    repo: Option<&'r Repo>,
    cwd: &Path,
    selection: &Selection,
) -> Result<&'r Repo, Error> {
    let flag = match selection {
        Selection::All => "--all",
        Selection::Range { .. } => "--range",
        Selection::Push { .. } => "--pre-push",
        Selection::Receive { .. } => "--pre-receive",
        _ => "--staged",
    };
    let repo = repo.ok_or_else(|| Error::NotARepository {
        flag,
        cwd: cwd.to_path_buf(),
    })?;
    // A bare repository has no index of its own: "0 files checked" there would be a lie.
    if repo.workdir().is_none()
        && matches!(
            selection,
            Selection::Staged | Selection::StagedPaths(_) | Selection::All
        )
    {
        return Err(Error::Git {
            what: format!(
                "`{flag}` reads the index of a work tree, and {} is a bare repository",
                repo.root().display()
            ),
            detail: "on a server, use --pre-receive; to check a commit, --range A..B".into(),
        });
    }
    Ok(repo)
}

fn lossy(path: &BStr) -> String {
    path.to_str_lossy().into_owned()
}

/// The index entries for a path: the file itself, or everything below a directory.
fn entries_at<'f>(files: &'f [IndexFile], path: &BStr) -> Vec<&'f IndexFile> {
    if path.is_empty() {
        return files.iter().collect();
    }
    if let Ok(i) = files.binary_search_by(|f| f.path.as_bstr().cmp(path)) {
        return vec![&files[i]];
    }
    let mut dir = BString::from(path);
    dir.push(b'/');
    let start = files.partition_point(|f| f.path.as_bstr() < dir.as_bstr());
    files[start..]
        .iter()
        .take_while(|f| f.path.starts_with(dir.as_slice()))
        .collect()
}

/// Reads a file, or walks a directory (honouring .gitignore inside a repository, on every
/// core), from disk.
#[allow(clippy::too_many_arguments)]
fn walk_disk(
    absolute: &Path,
    arg: &Path,
    base: &Path,
    excluded: &Excluded,
    skip_default_dirs: bool,
    keep: &Keep,
    out: &mut Sources,
) {
    // Walked paths start with `absolute` (the walk follows no symlinks), so where `absolute`
    // really is is asked of the file system once, not once per file: a path that reaches the
    // base through a symlink is shown relative to it, any other as it was reached.
    let real_root = if absolute.starts_with(base) {
        None
    } else {
        std::fs::canonicalize(absolute).ok()
    };
    let shown = |path: &Path| -> String {
        if let Ok(rel) = path.strip_prefix(base) {
            return path_to_slash(rel);
        }
        let real = real_root
            .as_deref()
            .zip(path.strip_prefix(absolute).ok())
            .map(|(root, rest)| match rest.as_os_str().is_empty() {
                true => root.to_path_buf(),
                false => root.join(rest),
            });
        match real
            .as_deref()
            .and_then(|real| real.strip_prefix(base).ok())
        {
            Some(rel) => path_to_slash(rel),
            None => path_to_slash(path),
        }
    };
    let meta = match std::fs::metadata(absolute) {
        Ok(meta) => meta,
        Err(err) => {
            out.errors.push(Issue::new(
                path_to_slash(arg),
                format!("cannot be read: {err}"),
            ));
            return;
        }
    };
    if !meta.is_file() && !meta.is_dir() {
        out.warnings.push(Issue::new(
            shown(absolute),
            "is not a regular file (a FIFO, socket or device); not read",
        ));
        return;
    }
    if meta.is_file() {
        // A file named explicitly is checked when it is Python by name or first lines.
        let shown = shown(absolute);
        let Some(class) = candidate(&shown, || is_executable(&meta)) else {
            return;
        };
        let read = read_disk_file(absolute, shown, class, excluded, keep, &mut Vec::new());
        out.record(read);
        return;
    }
    let reads = std::sync::Mutex::new(Vec::new());
    let left_out = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let noted = left_out.clone();
    let walker = ignore::WalkBuilder::new(absolute)
        .hidden(false)
        .filter_entry(move |entry| {
            // Below a directory named on the command line, the directories that hold
            // environments, dependencies and build outputs are not walked, ignored or not.
            let name = entry.file_name().to_string_lossy();
            // Ignore rules below the root hide files from the walk that Python can import.
            if entry.depth() > 1 && matches!(&*name, ".gitignore" | ".ignore") {
                noted.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            let skipped = skip_default_dirs
                && entry.depth() > 0
                && entry.file_type().is_some_and(|t| t.is_dir())
                && skipped_by_default(&name);
            if skipped && name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()) {
                noted.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            !skipped
        })
        .build_parallel();
    walker.run(|| {
        let (reads, shown) = (&reads, &shown);
        let mut buffer = Vec::new();
        Box::new(move |entry| {
            let read = match entry {
                Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                    let path = entry.path();
                    // The mode is asked of the file system (one more system call) only for a
                    // name that does not decide.
                    let executable = || entry.metadata().is_ok_and(|m| is_executable(&m));
                    let Some(class) = candidate(&path.to_string_lossy(), executable) else {
                        return ignore::WalkState::Continue;
                    };
                    read_disk_file(path, shown(path), class, excluded, keep, &mut buffer)
                }
                // A Python-named link is judged by what it points at, when that is a file
                // inside the tree being checked (the walk follows no links by itself).
                Ok(entry) if entry.file_type().is_some_and(|t| t.is_symlink()) => {
                    let path = entry.path();
                    let Some(class) = python::class_by_name(&path.to_string_lossy()) else {
                        return ignore::WalkState::Continue;
                    };
                    match std::fs::canonicalize(path) {
                        Ok(real) if real.starts_with(base) && real.is_file() => read_disk_file(
                            path,
                            shown(path),
                            Some(class),
                            excluded,
                            keep,
                            &mut buffer,
                        ),
                        _ => Read::Noted(Issue::new(
                            shown(path),
                            "is a symbolic link to something that is not a file of this tree; what it points at is not checked",
                        )),
                    }
                }
                Ok(entry) if entry.file_type().is_some_and(|t| !t.is_dir()) => {
                    let path = entry.path();
                    if candidate(&path.to_string_lossy(), || false).is_none() {
                        return ignore::WalkState::Continue;
                    }
                    Read::Noted(Issue::new(
                        shown(path),
                        "is not a regular file (a FIFO, socket or device); not read",
                    ))
                }
                Ok(_) => return ignore::WalkState::Continue,
                Err(err) => Read::Failed(Issue::new(path_to_slash(arg), err.to_string())),
            };
            if !matches!(read, Read::NotPython) {
                reads.lock().expect("a walker panicked").push(read);
            }
            ignore::WalkState::Continue
        })
    });
    if left_out.load(std::sync::atomic::Ordering::Relaxed) {
        out.left_out_packages = true;
    }
    let mut reads = reads.into_inner().expect("a walker panicked");
    // The walk's order depends on thread timing; what is reported must not.
    reads.sort_by(|a, b| a.path().cmp(b.path()));
    for read in reads {
        out.record(read);
    }
}

/// Reads a candidate file (`class` as [`candidate`] gave it) from disk.
fn read_disk_file(
    path: &Path,
    shown: String,
    class: Option<Class>,
    excluded: &Excluded,
    keep: &Keep,
    buffer: &mut Vec<u8>,
) -> Read {
    if excluded(&shown) {
        return Read::NotPython;
    }
    let mut large = None;
    let read = match read_into(path, buffer, &mut large) {
        Ok(len) => Read::of(shown, class, Cow::Borrowed(&buffer[..len]), keep),
        Err(err) => Read::Failed(Issue::new(shown, format!("cannot be read: {err}"))),
    };
    drop(large);
    read
}

/// Whether a file on disk may be run as a program (any execute bit set).
fn is_executable(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// Reads a whole file into `buffer` (grown as needed, never shrunk, so a walk allocates once
/// per thread) and returns its length. Plain reads until end of file: no size query first, as
/// a walk over thousands of files pays for every system call.
fn read_into(
    path: &Path,
    buffer: &mut Vec<u8>,
    large: &mut Option<crate::git::LargeRead>,
) -> std::io::Result<usize> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    if buffer.len() < 64 << 10 {
        buffer.resize(64 << 10, 0);
    }
    let mut filled = 0;
    let limit = limits::MAX_FILE_BYTES as usize;
    loop {
        if filled > limit {
            return Err(std::io::Error::other(Error::TooLarge {
                size: file.metadata().map_or(filled as u64, |m| m.len()),
                limit: limits::MAX_FILE_BYTES,
            }));
        }
        if large.is_none() {
            *large = limits::large_read(filled as u64);
        }
        if filled == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
        match file.read(&mut buffer[filled..]) {
            Ok(0) => return Ok(filled),
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

fn canonical(path: &Path) -> Result<PathBuf, Error> {
    std::fs::canonicalize(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Resolves `.` and `..` without touching the file system (the path may not exist on disk).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn path_to_slash(path: &Path) -> String {
    let text = path.to_string_lossy();
    let text = text.strip_prefix("./").unwrap_or(&text);
    if std::path::MAIN_SEPARATOR == '/' {
        text.to_string()
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }

    #[test]
    fn finds_index_entries_by_file_or_directory() {
        let file = |p: &str| IndexFile::plain(p.into(), gix::ObjectId::null(gix::hash::Kind::Sha1));
        let files = vec![
            file("a.py"),
            file("pkg/x.py"),
            file("pkg/y.py"),
            file("pkg2/z.py"),
        ];
        assert_eq!(entries_at(&files, "a.py".into()).len(), 1);
        assert_eq!(entries_at(&files, "pkg".into()).len(), 2);
        assert_eq!(entries_at(&files, "".into()).len(), 4);
        assert!(entries_at(&files, "missing.py".into()).is_empty());
    }
}
