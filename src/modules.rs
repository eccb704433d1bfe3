//! Names imported from other modules of the same repository: `from pkg.compat import dill`,
//! `from .serial import loads`. The modules are read from the same source as the check (the
//! index, a commit, the disk), each at most once per run, to a bounded depth of re-exports;
//! what each binds at its top level to something that may be dill is what a file importing it
//! gets.
//!
//! Module files are looked for where Python would find them for code of the repository: a
//! relative import from the importing file's package; an absolute one from the repository's
//! root or its `src/` directory.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::analyze::{self, ImportSpec, Limits, LocalModules};
use crate::python;

/// How many modules deep a chain of re-exports is followed.
const MAX_DEPTH: usize = 8;

/// Where absolute imports are looked for, besides the importing file's own directory (see
/// [`roots_for`]).
const ROOTS: &[&str] = &["", "src/"];

/// The directories an absolute import of `importer` is looked for in, in order: its own
/// directory (`sys.path[0]` when it runs as a script: a script's sibling module, a project
/// checked from the directory above it), then the repository's root and `src/`. Other
/// ancestors are not: in a tree where every module binds dill, resolving every import through
/// each of them cost the check more than it costs to parse the tree.
fn roots_for(importer: &str) -> Vec<String> {
    let own = importer
        .rsplit_once('/')
        .map_or(String::new(), |(dir, _)| format!("{dir}/"));
    let mut roots = vec![own];
    for root in ROOTS {
        if !roots.iter().any(|r| r == root) {
            roots.push(root.to_string());
        }
    }
    roots
}

/// The files of the repository, by path (relative to the root, `/`-separated), from the source
/// the check reads.
pub trait ModuleSource {
    /// Whether a regular file is there.
    fn exists(&self, path: &str) -> bool;
    /// Whether a directory is there (may say yes when it cannot tell cheaply).
    fn has_dir(&self, path: &str) -> bool;
    /// Its content, if it is there.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// Its Python source files (`.py`) whose content names one of `names` as a word, with
    /// their content, and the paths of the others: where the files importing a module that
    /// changed are looked for. Nothing where that is not asked (the disk).
    fn python_files_naming(&self, _names: &[String]) -> Naming {
        Naming::default()
    }
}

/// What the check's own reading already learnt of a file: whether it can reach dill by itself
/// (the prefilter) and what it imports.
#[derive(Debug, Clone)]
pub struct Known {
    pub worth: bool,
    /// Whether it may bind dill for others to import (see [`analyze::may_bind_dill`]): a
    /// module that only re-exports dill is not worth analysing for its own sinks.
    pub involves: bool,
    /// The imports, packed into one string (a whole tree's files are kept at once): one line
    /// per import, `level`, module, names and bound names separated by tabs, names by commas.
    /// `None`
    /// while not read yet (see [`Known::later`]).
    imports: Option<Box<str>>,
    pub kind: python::Kind,
}

impl Known {
    pub fn new(worth: bool, involves: bool, imports: &[ImportSpec], kind: python::Kind) -> Known {
        let mut packed = String::new();
        for spec in imports {
            packed.push_str(&format!(
                "{}\t{}\t{}\t{}\n",
                spec.level,
                spec.module,
                spec.names.join(","),
                spec.bound.join(",")
            ));
        }
        Known {
            worth,
            involves: worth || involves,
            imports: Some(packed.into_boxed_str()),
            kind,
        }
    }

    /// A file whose imports are read only if resolution turns out to be needed.
    pub fn later(kind: python::Kind) -> Known {
        Known {
            worth: false,
            involves: false,
            imports: None,
            kind,
        }
    }

    /// Whether its imports are still to be read (see [`Known::later`]).
    pub fn imports_later(&self) -> bool {
        self.imports.is_none()
    }

    pub fn has_imports(&self) -> bool {
        self.imports.as_deref().is_some_and(|i| !i.is_empty())
    }

    /// Each import's leading dots and first name, read without unpacking the rest.
    pub fn heads(&self) -> impl Iterator<Item = (u32, &str)> {
        self.imports
            .as_deref()
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let (level, rest) = line.split_once('\t')?;
                let module = rest.split('\t').next()?;
                Some((level.parse().ok()?, module.split('.').next()?))
            })
    }

    pub fn imports(&self) -> Vec<ImportSpec> {
        self.imports
            .as_deref()
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\t');
                let level = fields.next()?.parse().ok()?;
                let module = fields.next()?.to_string();
                let mut list = || -> Option<Vec<String>> {
                    Some(
                        fields
                            .next()?
                            .split(',')
                            .filter(|n| !n.is_empty())
                            .map(String::from)
                            .collect(),
                    )
                };
                let names = list()?;
                let bound = list()?;
                Some(ImportSpec {
                    level,
                    module,
                    names,
                    bound,
                })
            })
            .collect()
    }
}

/// The names a module binds at its top level to something that may be dill, with their values.
pub type Exports = HashMap<String, String>;

/// Resolves imports to the repository's modules, remembering what it read.
pub struct Resolver<'r> {
    source: &'r dyn ModuleSource,
    /// The files the check read itself, and what it learnt of them.
    known: &'r HashMap<String, Known>,
    /// What the check's own analysis of its files found they export.
    analysed: &'r HashMap<String, Exports>,
    /// Whether a file exists, by path.
    exists: RefCell<HashMap<String, bool>>,
    /// The file of each import, by the importing file's directory (for relative imports; empty
    /// for absolute ones), leading dots and name.
    files: RefCell<HashMap<(String, u32, String), Option<String>>>,
    /// Whether a top-level name is a module or package of the repository, by name and root.
    tops: RefCell<HashMap<String, HashMap<String, bool>>>,
    /// What each module exports; `None` while it is being worked out (an import cycle).
    exports: RefCell<HashMap<String, Option<Arc<Exports>>>>,
    /// Modules that may bind dill but could not be analysed (not decodable, too large to
    /// parse), with why: what they hand on is unknown, so the check cannot vouch for the files
    /// importing them.
    unjudged: RefCell<std::collections::BTreeMap<String, String>>,
    /// Those of them a file imports.
    imported_unjudged: RefCell<std::collections::BTreeSet<String>>,
    limits: Limits,
}

impl<'r> Resolver<'r> {
    pub fn new(
        source: &'r dyn ModuleSource,
        known: &'r HashMap<String, Known>,
        analysed: &'r HashMap<String, Exports>,
    ) -> Self {
        Resolver {
            source,
            known,
            analysed,
            exists: RefCell::default(),
            files: RefCell::default(),
            tops: RefCell::default(),
            exports: RefCell::default(),
            unjudged: RefCell::default(),
            imported_unjudged: RefCell::default(),
            // Analysed on the calling thread, whose stack is the smallest a thread is sure
            // to have.
            limits: Limits::for_stack(2 << 20),
        }
    }

    fn exists(&self, path: &str) -> bool {
        if self.known.contains_key(path) {
            return true;
        }
        if let Some(&known) = self.exists.borrow().get(path) {
            return known;
        }
        let found = self.source.exists(path);
        self.exists.borrow_mut().insert(path.to_string(), found);
        found
    }

    /// The file of the module `dotted` imported with `level` leading dots from `importer`.
    pub fn module_file(&self, importer: &str, level: u32, dotted: &str) -> Option<String> {
        // Absolute imports are looked for from the importing file's directory too.
        let dir = importer.rsplit_once('/').map_or("", |(dir, _)| dir);
        let key = (dir.to_string(), level, dotted.to_string());
        if let Some(found) = self.files.borrow().get(&key) {
            return found.clone();
        }
        let found = self.find_module_file(importer, level, dotted);
        self.files.borrow_mut().insert(key, found.clone());
        found
    }

    /// Whether a top-level name is a module or package of the repository under `root`: most
    /// absolute imports are of other projects, and are settled here with two lookups.
    fn top_level_here(&self, root: &str, top: &str) -> bool {
        if let Some(&here) = self.tops.borrow().get(top).and_then(|r| r.get(root)) {
            return here;
        }
        let here =
            self.exists(&format!("{root}{top}.py")) || self.source.has_dir(&format!("{root}{top}"));
        self.tops
            .borrow_mut()
            .entry(top.to_string())
            .or_default()
            .insert(root.to_string(), here);
        here
    }

    /// Whether an import with these leading dots and first name may be of a module of the
    /// repository.
    pub fn may_be_local(&self, importer: &str, level: u32, top: &str) -> bool {
        level > 0
            || roots_for(importer)
                .iter()
                .any(|root| self.top_level_here(root, top))
    }

    fn find_module_file(&self, importer: &str, level: u32, dotted: &str) -> Option<String> {
        let parts: Vec<&str> = dotted.split('.').filter(|p| !p.is_empty()).collect();
        if level == 0 {
            let top = parts.first()?;
            for root in roots_for(importer) {
                if !self.top_level_here(&root, top) {
                    continue;
                }
                let stem = format!("{root}{}", parts.join("/"));
                // A package is found before a module of the same name, as Python finds it.
                for candidate in [format!("{stem}/__init__.py"), format!("{stem}.py")] {
                    if self.exists(&candidate) {
                        return Some(candidate);
                    }
                }
            }
            return None;
        }
        let bases: Vec<String> = if level > 0 {
            let mut dir: Vec<&str> = importer.split('/').collect();
            dir.pop();
            for _ in 1..level {
                dir.pop()?;
            }
            vec![dir.iter().map(|d| format!("{d}/")).collect()]
        } else {
            ROOTS.iter().map(|r| r.to_string()).collect()
        };
        for base in bases {
            let stem = format!("{base}{}", parts.join("/"));
            let candidates = if parts.is_empty() {
                vec![format!("{base}__init__.py")]
            } else {
                vec![format!("{stem}/__init__.py"), format!("{stem}.py")]
            };
            if let Some(found) = candidates.into_iter().find(|c| self.exists(c)) {
                return Some(found);
            }
        }
        None
    }

    /// The repository's modules that `importer`'s imports name, with what each exports.
    pub fn local_for(&self, importer: &str, specs: &[ImportSpec]) -> LocalModules {
        self.local_within(importer, specs, 0)
    }

    fn local_within(&self, importer: &str, specs: &[ImportSpec], depth: usize) -> LocalModules {
        let mut local = LocalModules::default();
        let mut note = |level: u32, dotted: String| {
            if local.modules.contains_key(&(level, dotted.clone())) {
                return;
            }
            if let Some(file) = self.module_file(importer, level, &dotted) {
                local.modules.insert((level, dotted), file);
            }
        };
        for spec in specs {
            // Most absolute imports are of other projects: settled by their first name.
            if spec.level == 0 {
                let top = spec.module.split('.').next().unwrap_or_default();
                if !self.may_be_local(importer, 0, top) {
                    continue;
                }
            }
            if spec.level == 0 {
                // `import a.b.c` binds `a`, through which `a.b.c` is reached.
                let parts: Vec<&str> = spec.module.split('.').collect();
                for n in 1..=parts.len() {
                    note(0, parts[..n].join("."));
                }
            } else {
                note(spec.level, spec.module.clone());
            }
            for name in spec.names.iter().filter(|n| *n != "*") {
                note(spec.level, spec.submodule(name));
            }
        }
        let files: Vec<String> = local.modules.values().cloned().collect();
        for file in files {
            if file != importer && !local.exports.contains_key(&file) {
                let exports = self.exports_of(&file, depth + 1);
                if self.unjudged.borrow().contains_key(&file) {
                    self.imported_unjudged.borrow_mut().insert(file.clone());
                }
                if !exports.is_empty() {
                    local.exports.insert(file, exports);
                }
            }
        }
        local
    }

    /// What the module in `file` binds that may be dill.
    pub fn exports_of_file(&self, file: &str) -> Arc<Exports> {
        self.exports_of(file, 1)
    }

    /// Adds to `local` what the modules it hands on hold (`from . import shim` in a module it
    /// imports makes `shim`'s names readable through it), for a file about to be analysed
    /// with it. Only analysis reads through them; deciding whether to analyse does not.
    pub fn hand_on(&self, local: &mut LocalModules) {
        let mut files: Vec<String> = local
            .exports
            .values()
            .flat_map(|e| e.values().filter_map(|v| analyze::handed_on_file(v)))
            .map(String::from)
            .collect();
        while let Some(file) = files.pop() {
            if local.exports.contains_key(&file) {
                continue;
            }
            let exports = self.exports_of(&file, 1);
            files.extend(
                exports
                    .values()
                    .filter_map(|v| analyze::handed_on_file(v))
                    .map(String::from),
            );
            local.exports.insert(file, exports);
        }
    }

    /// The names a module binds at its top level to something that may be dill.
    fn exports_of(&self, path: &str, depth: usize) -> Arc<Exports> {
        if let Some(known) = self.exports.borrow().get(path) {
            return known.clone().unwrap_or_default();
        }
        if depth > MAX_DEPTH {
            return Arc::default();
        }
        self.exports.borrow_mut().insert(path.to_string(), None);
        let exports = Arc::new(self.work_out(path, depth).unwrap_or_default());
        self.exports
            .borrow_mut()
            .insert(path.to_string(), Some(exports.clone()));
        exports
    }

    fn work_out(&self, path: &str, depth: usize) -> Option<Exports> {
        // What the check's own reading learnt spares reading the file again, unless it must
        // be analysed.
        let read;
        let known = match self.known.get(path) {
            Some(known) => known,
            None => {
                let bytes = self.source.read(path)?;
                let text = match python::decode(&bytes) {
                    Ok(decoded) => decoded.text,
                    Err(why) => {
                        self.unjudged_if_dill(path, &bytes, why);
                        return None;
                    }
                };
                let interest = analyze::interest(&bytes, python::Kind::Source);
                read = Known::new(
                    interest.sinks,
                    interest.exports,
                    &analyze::imports_of(text.as_bytes()),
                    python::Kind::Source,
                );
                &read
            }
        };
        let imports = known.imports();
        let local = self.local_within(path, &imports, depth);
        let mut bytes = None;
        if !local.exports.is_empty() {
            bytes = self.source.read(path);
        }
        // A module that reads a name handing dill on (`from .compat import codec`,
        // `compat.codec`) hands it on in turn: analysed with what it imports.
        let reaches = bytes.as_ref().is_some_and(|bytes| {
            local.reaches_dill(&imports, bytes, &|file| self.exports_of(file, depth + 1))
        });
        if !reaches {
            // What it binds by importing a module that hands dill on (`from . import shim`),
            // and what it binds to dill itself.
            let mut exports = local.modules_bound(&imports);
            if known.involves {
                match self.analysed.get(path) {
                    Some(own) => exports.extend(own.clone()),
                    None => exports.extend(self.analyse(path, bytes, None)?),
                }
            }
            return Some(exports);
        }
        let mut local = local;
        self.hand_on(&mut local);
        self.analyse(path, bytes, Some(&local))
    }

    /// What a module binds that may be dill, from its analysis (`bytes`, when already read).
    fn analyse(
        &self,
        path: &str,
        bytes: Option<Vec<u8>>,
        local: Option<&LocalModules>,
    ) -> Option<Exports> {
        let bytes = match bytes {
            Some(bytes) => bytes,
            None => self.source.read(path)?,
        };
        let text = match python::decode(&bytes) {
            Ok(decoded) => decoded.text,
            Err(why) => {
                self.unjudged_if_dill(path, &bytes, why);
                return None;
            }
        };
        let analysis = analyze::analyze_with(&[&text], &self.limits, local);
        // Too large for the parse, the token scanner finds sinks but not what a module binds.
        let unread = analysis.failed.clone().or_else(|| {
            analysis
                .degraded
                .clone()
                .filter(|_| text.len() > crate::limits::FULL_PARSE_BYTES)
        });
        if let Some(why) = unread {
            self.unjudged_if_dill(path, &bytes, why);
        }
        Some(analysis.exports)
    }

    /// Notes a module that could not be analysed, when its bytes may bind dill.
    fn unjudged_if_dill(&self, path: &str, bytes: &[u8], why: String) {
        if analyze::may_bind_dill(bytes, python::Kind::Source) {
            self.unjudged.borrow_mut().insert(path.to_string(), why);
        }
    }

    /// The modules files of the check import that may bind dill but could not be analysed,
    /// with why.
    pub fn unjudged(&self) -> Vec<(String, String)> {
        let unjudged = self.unjudged.borrow();
        self.imported_unjudged
            .borrow()
            .iter()
            .filter_map(|p| Some((p.clone(), unjudged.get(p)?.clone())))
            .collect()
    }
}

/// Files of a source split by whether they name a word (see
/// [`ModuleSource::python_files_naming`]).
#[derive(Default)]
pub struct Naming {
    /// The files that name one, with their content.
    pub naming: Vec<(String, Vec<u8>)>,
    /// The paths of the others.
    pub others: Vec<String>,
}

fn sort_naming(read: impl Iterator<Item = (String, Option<Vec<u8>>)>) -> Naming {
    let mut out = Naming::default();
    for (path, bytes) in read {
        match bytes {
            Some(bytes) => out.naming.push((path, bytes)),
            None => out.others.push(path),
        }
    }
    out
}

/// Whether the bytes name `word` as a whole word.
pub fn names_word(bytes: &[u8], word: &str) -> bool {
    memchr::memmem::find_iter(bytes, word.as_bytes()).any(|at| {
        (at == 0 || !analyze::is_ident(bytes[at - 1]))
            && !bytes
                .get(at + word.len())
                .is_some_and(|&b| analyze::is_ident(b))
    })
}

/// How the check resolves imports against the repository's modules.
pub struct Resolution<'r> {
    /// Where the modules are read from.
    pub source: &'r dyn ModuleSource,
    /// Whether the check reads every module of the repository, save those the policy
    /// excludes (`--all`, or path mode from the root): then, when none of the files it read
    /// may bind dill and none was excluded, no module can hand dill on and resolution ends at
    /// once (see `judge`).
    pub whole_tree: bool,
    /// Set when the policy excluded a path while reading.
    pub excluded_some: &'r std::sync::atomic::AtomicBool,
    /// For a change (`--staged`, ranges, pushes): a file's content before it, to tell which
    /// modules the change made hand dill on (their importers elsewhere are then judged too).
    pub before: Option<&'r crate::judge::BaseContent<'r>>,
    /// Whether a module new to the change is followed to its importers too (ranges and pushes,
    /// the gate). The hook does not: a file can only have imported a module that did not
    /// exist behind a guard (`try`/`except ImportError`), and reading every file of the
    /// repository on each commit that adds a module binding dill would cost the hook more
    /// than the rest of its work.
    pub new_modules_too: bool,
}

/// The working tree (or any directory), for path mode.
pub struct Disk(pub std::path::PathBuf);

impl ModuleSource for Disk {
    fn exists(&self, path: &str) -> bool {
        std::fs::metadata(self.0.join(path)).is_ok_and(|m| m.is_file())
    }
    fn has_dir(&self, path: &str) -> bool {
        std::fs::metadata(self.0.join(path)).is_ok_and(|m| m.is_dir())
    }
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        std::fs::read(self.0.join(path)).ok()
    }
}

/// The index, for commits (`--staged`, `--all`).
pub struct Index<'r>(pub &'r crate::git::Repo);

impl ModuleSource for Index<'_> {
    fn exists(&self, path: &str) -> bool {
        self.0.index_has(path)
    }
    fn has_dir(&self, path: &str) -> bool {
        self.0.index_has_dir(path)
    }
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.0.index_blob(path).ok().flatten()
    }
    fn python_files_naming(&self, names: &[String]) -> Naming {
        let Ok(listing) = self.0.all() else {
            return Naming::default();
        };
        let files: Vec<&crate::git::IndexFile> = listing
            .files
            .iter()
            .filter(|f| crate::python::is_module_source(&String::from_utf8_lossy(&f.path)))
            .collect();
        // Read on every core, one blob reader each.
        let workers = crate::parallel::workers_for(files.len(), 32);
        let read = crate::parallel::map(
            &files,
            workers,
            || self.0.blob_reader(),
            |reader, file| {
                let path = String::from_utf8_lossy(&file.path).into_owned();
                let bytes = reader.read(file).ok()?;
                Some(match names.iter().any(|n| names_word(&bytes, n)) {
                    true => (path, Some(bytes)),
                    false => (path, None),
                })
            },
        );
        sort_naming(read.into_iter().flatten())
    }
}

/// A tree being brought in, for ranges and pushes.
pub struct Tree<'r>(pub &'r crate::git::Repo, pub Option<gix::ObjectId>);

impl ModuleSource for Tree<'_> {
    fn exists(&self, path: &str) -> bool {
        self.read(path).is_some()
    }
    fn has_dir(&self, _path: &str) -> bool {
        // Ranges and pushes check few files: every candidate is looked up.
        true
    }
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.0.blob_in_tree(self.1?, path).ok().flatten()
    }
    fn python_files_naming(&self, names: &[String]) -> Naming {
        let paths = self
            .1
            .and_then(|tree| self.0.python_files_in(tree).ok())
            .unwrap_or_default();
        sort_naming(paths.into_iter().filter_map(|path| {
            let bytes = self.read(&path)?;
            Some(match names.iter().any(|n| names_word(&bytes, n)) {
                true => (path, Some(bytes)),
                false => (path, None),
            })
        }))
    }
}
