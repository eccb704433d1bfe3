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
use std::rc::Rc;

use crate::analyze::{self, ImportSpec, Limits, LocalModules};
use crate::python;

/// How many modules deep a chain of re-exports is followed.
const MAX_DEPTH: usize = 8;

/// Where absolute imports are looked for.
const ROOTS: &[&str] = &["", "src/"];

/// Reads a file of the repository by its path (relative to the root, `/`-separated), from
/// the source the check reads; `None` when there is none.
pub type ReadModule<'r> = dyn Fn(&str) -> Option<Vec<u8>> + 'r;

/// The names a module binds at its top level to something that may be dill, with their values.
type Exports = HashMap<String, String>;

/// Resolves imports to the repository's modules, remembering what it read.
pub struct Resolver<'r> {
    read: &'r ReadModule<'r>,
    /// Whether a file exists, by path.
    exists: RefCell<HashMap<String, bool>>,
    /// What each module exports; `None` while it is being worked out (an import cycle).
    exports: RefCell<HashMap<String, Option<Rc<Exports>>>>,
    limits: Limits,
}

impl<'r> Resolver<'r> {
    pub fn new(read: &'r ReadModule<'r>) -> Self {
        Resolver {
            read,
            exists: RefCell::default(),
            exports: RefCell::default(),
            // Analysed on the calling thread, whose stack is the smallest a thread is sure
            // to have.
            limits: Limits::for_stack(2 << 20),
        }
    }

    fn exists(&self, path: &str) -> bool {
        if let Some(&known) = self.exists.borrow().get(path) {
            return known;
        }
        let found = (self.read)(path).is_some();
        self.exists.borrow_mut().insert(path.to_string(), found);
        found
    }

    /// The file of the module `dotted` imported with `level` leading dots from `importer`.
    fn module_file(&self, importer: &str, level: u32, dotted: &str) -> Option<String> {
        let parts: Vec<&str> = dotted.split('.').filter(|p| !p.is_empty()).collect();
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
                vec![format!("{stem}.py"), format!("{stem}/__init__.py")]
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
                let sub = if spec.module.is_empty() {
                    name.clone()
                } else {
                    format!("{}.{name}", spec.module)
                };
                note(spec.level, sub);
            }
        }
        let files: Vec<String> = local.modules.values().cloned().collect();
        for file in files {
            if file != importer && !local.exports.contains_key(&file) {
                let exports = self.exports_of(&file, depth + 1);
                local.exports.insert(file, (*exports).clone());
            }
        }
        local
    }

    /// The names a module binds at its top level to something that may be dill.
    fn exports_of(&self, path: &str, depth: usize) -> Rc<Exports> {
        if let Some(known) = self.exports.borrow().get(path) {
            return known.clone().unwrap_or_default();
        }
        if depth > MAX_DEPTH {
            return Rc::default();
        }
        self.exports.borrow_mut().insert(path.to_string(), None);
        let exports = Rc::new(self.work_out(path, depth).unwrap_or_default());
        self.exports
            .borrow_mut()
            .insert(path.to_string(), Some(exports.clone()));
        exports
    }

    fn work_out(&self, path: &str, depth: usize) -> Option<Exports> {
        let bytes = (self.read)(path)?;
        let worth = analyze::worth_analysing(&bytes, python::Kind::Source);
        let text = python::decode(&bytes).ok()?.text;
        let specs = analyze::imports_of(&text);
        let local = self.local_within(path, &specs, depth);
        if !worth && !local.carries_dill() {
            return None;
        }
        Some(analyze::analyze_with(&[&text], &self.limits, Some(&local)).exports)
    }
}
