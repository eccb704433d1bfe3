//! Finds uses of dill's sinks in Python source, in stages:
//!
//! 1. [`prefilter`](worth_analysing): from the bytes, whether a file could reach dill at all;
//! 2. `guard`: whether the syntax tree would be too deep to parse and walk on this stack;
//! 3. `lower`: syntax newer than the parser knows (Python 3.12 to 3.14) rewritten in place,
//!    every byte at its offset, for a file the parser rejects as written;
//! 4. `scope`: the binder. Names are never matched as text: every name is resolved through the
//!    bindings of the scope it is used in (imports, assignments, parameters, classes, type
//!    parameters, comprehensions, `global`/`nonlocal`) to a fully qualified origin such as
//!    `dill._dill.loads`, and [`crate::rule::sink_for`] decides whether that origin is a sink.
//!    A name that may be dill on any way through the code is dill;
//! 5. `scan`: for a file the parser rejects even lowered (Python 2, syntax errors), or too deep
//!    or too large for it, a token scanner that skips string text and comments, follows import
//!    statements and reports dotted names that reach a sink. Its findings are marked degraded.

use rustpython_ast as ast;
use rustpython_parser::Mode;

use crate::limits::{FULL_PARSE_BYTES, SCAN_BYTES};
use crate::model::size_text;
pub use crate::model::UseKind;
use crate::rule::Sink;

mod constant;
pub mod flow;
pub use flow::{Provenance, Step};
mod guard;
mod imports;
pub use imports::{imports_of, ImportSpec};
mod lower;
pub use lower::lower;
mod prefilter;
mod scan;
mod scope;

pub use guard::Limits;
use guard::{too_deep, REFERENCE_STACK};
pub use prefilter::{
    interest, may_bind_dill, mentions_dill, sets_an_attribute, worth_analysing, Interest,
};
use scan::scan_pieces;
pub use scan::{comments, scan_tokens};
pub use scope::handed_on_file;
use scope::{import_bindings, import_from_bindings, Qual};

/// A sink use found in one piece of source, by byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the source piece (always 0 for a plain file, the code cell for notebooks).
    pub piece: usize,
    pub start: usize,
    pub end: usize,
    pub sink: &'static Sink,
    pub kind: UseKind,
    /// Byte offset where the innermost statement holding the use starts.
    pub stmt: usize,
    /// How the use reaches the sink.
    pub route: Route,
    /// Where the data it deserializes comes from (see [`flow`]); unknown until traced.
    pub provenance: Provenance,
}

/// How a use reaches its sink, when it is not a plain use of a dill name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Direct,
    /// The dill module handed to code that calls its loader: `to` names the receiver
    /// (`torch.load(pickle_module=)`, `serialize.pickle`).
    Handover {
        handover: &'static crate::rule::Handover,
        to: String,
    },
    /// Inside a string of code given to `exec`, `eval` or `compile` (the builtin named).
    Embedded(&'static str),
    /// A call of a library that loads with dill itself.
    Library(&'static crate::rule::Library),
}

/// What the modules of the same repository that a file imports hold, resolved before it is
/// analysed (see `crate::modules`): a name imported from one of them is what that module
/// binds it to.
#[derive(Debug, Default, Clone)]
pub struct LocalModules {
    /// The file of each module the file imports that is in the repository, by the import as
    /// written: (leading dots, dotted name).
    pub modules: std::collections::HashMap<(u32, String), String>,
    /// The names each module binds at its top level to something that may be dill, by the
    /// module's file.
    pub exports: std::collections::HashMap<String, Exported>,
    /// The file's own globals that other files of the check set to something that may be
    /// dill, with that value.
    pub patched: std::collections::HashMap<String, String>,
}

/// A global of another module set to something that may be dill (`serialize.pickle = dill`):
/// that module's code then reads dill where it says `pickle`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Patch {
    /// The module, as imported by the file that sets it: (leading dots, dotted name).
    pub level: u32,
    pub module: String,
    /// The global set, and what it is set to.
    pub name: String,
    pub value: String,
}

impl LocalModules {
    /// What the module imported as (`level`, `dotted`) binds to something that may be dill,
    /// when it is a module of the repository that binds anything so.
    pub fn exports_of(
        &self,
        level: u32,
        dotted: &str,
    ) -> Option<&std::collections::HashMap<String, String>> {
        self.modules
            .get(&(level, dotted.to_string()))
            .and_then(|path| self.exports.get(path))
            .map(|e| &**e)
            .filter(|e| !e.is_empty())
    }

    /// The modules of the repository that hand dill on which these imports bind, by the
    /// name they are bound to (`from . import shim`, `import pkg.compat as compat`, and
    /// `from .reexport import shim` where that module hands `shim` on): each named by its
    /// file, as an export.
    pub fn modules_bound(&self, specs: &[ImportSpec]) -> std::collections::HashMap<String, String> {
        let mut bound = std::collections::HashMap::new();
        for spec in specs {
            let taken: Vec<(String, &String)> = if spec.names.is_empty() {
                // `import a.b` binds `a`; `import a.b as x` binds `x` to `a.b`.
                let head = spec.module.split('.').next().unwrap_or_default();
                let dotted = match spec.bound.first() {
                    Some(name) if name == head => head.to_string(),
                    _ => spec.module.clone(),
                };
                spec.bound
                    .first()
                    .map(|b| (dotted, b))
                    .into_iter()
                    .collect()
            } else {
                spec.names
                    .iter()
                    .zip(&spec.bound)
                    .filter(|(name, _)| *name != "*")
                    .map(|(name, b)| (spec.submodule(name), b))
                    .collect()
            };
            for (dotted, name) in taken {
                if let Some(file) = self.modules.get(&(spec.level, dotted)) {
                    if self.exports.get(file).is_some_and(|e| !e.is_empty()) {
                        bound.insert(name.clone(), scope::handed_on(file));
                    }
                }
            }
            // A module the imported module hands on itself (`from .reexport import shim`).
            if let Some(exports) = self.exports_of(spec.level, &spec.module) {
                for (name, b) in spec.names.iter().zip(&spec.bound) {
                    if let Some(value) = exports.get(name).filter(|v| handed_on_file(v).is_some()) {
                        bound.insert(b.clone(), value.clone());
                    }
                }
            }
        }
        bound
    }

    /// Whether a file with these imports (`specs`) and `bytes` may reach dill through them: it
    /// takes a name one of these modules binds to dill (`from .compat import loads`, or `*`),
    /// or takes such a module whole and reads one of those names from it (`compat.loads`).
    ///
    /// A module another module hands on (`from . import shim` there) counts only when one of
    /// its own names is read in turn (`compat.shim.d`), or the file reads attributes by name
    /// (`getattr`, `vars`, `__dict__`...); `handed` gives what such a module binds when this
    /// file's modules do not hold it.
    pub fn reaches_dill(
        &self,
        specs: &[ImportSpec],
        bytes: &[u8],
        handed: &dyn Fn(&str) -> Exported,
    ) -> bool {
        // Reads attributes by name: a call of `getattr`, `vars` or `attrgetter` (as a word:
        // `_config_vars` is none), or a module's `__dict__` or `__getattribute__`.
        let by_name = ["getattr", "vars", "attrgetter"].iter().any(|w| {
            memchr::memmem::find_iter(bytes, w.as_bytes()).any(|at| {
                (at == 0 || !is_ident(bytes[at - 1]))
                    && !bytes.get(at + w.len()).is_some_and(|&b| is_ident(b))
            })
        }) || ["__dict__", "__getattribute__"]
            .iter()
            .any(|w| memchr::memmem::find(bytes, w.as_bytes()).is_some());
        let used = |value: &str| by_name || self.read_through(value, bytes, handed, 8);
        // Read as an attribute, or by a name in a string (`getattr(compat, "codec")`).
        let read = |name: &str| {
            attribute_read(bytes, name)
                || (by_name
                    && [format!("'{name}'"), format!("\"{name}\"")]
                        .iter()
                        .any(|q| memchr::memmem::find(bytes, q.as_bytes()).is_some()))
        };
        let read_from = |exports: &std::collections::HashMap<String, String>| {
            exports
                .iter()
                .any(|(name, value)| read(name) && used(value))
        };
        for spec in specs {
            if spec.names.is_empty() {
                // `import a.b.c`: the modules are reached through attributes.
                let parts: Vec<&str> = spec.module.split('.').collect();
                for n in 1..=parts.len() {
                    if self
                        .exports_of(0, &parts[..n].join("."))
                        .is_some_and(read_from)
                    {
                        return true;
                    }
                }
                continue;
            }
            if let Some(exports) = self.exports_of(spec.level, &spec.module) {
                if spec
                    .names
                    .iter()
                    .any(|n| n == "*" || exports.get(n).is_some_and(|v| used(v)))
                {
                    return true;
                }
            }
            for name in &spec.names {
                if self
                    .exports_of(spec.level, &spec.submodule(name))
                    .is_some_and(read_from)
                {
                    return true;
                }
            }
        }
        false
    }

    /// Whether a value taken from a module is used: a module handed on only when one of its
    /// names is read in turn, to `depth` modules deep.
    fn read_through(
        &self,
        value: &str,
        bytes: &[u8],
        handed: &dyn Fn(&str) -> Exported,
        depth: usize,
    ) -> bool {
        let Some(file) = handed_on_file(value) else {
            return true;
        };
        if depth == 0 {
            return true;
        }
        let exports = match self.exports.get(file) {
            Some(exports) => exports.clone(),
            None => handed(file),
        };
        exports.iter().any(|(name, value)| {
            attribute_read(bytes, name) && self.read_through(value, bytes, handed, depth - 1)
        })
    }
}

/// What a module of the repository binds that may be dill, by name, shared between the files
/// that import it.
pub type Exported = std::sync::Arc<std::collections::HashMap<String, String>>;

/// Whether `.name` is read somewhere in the bytes (as a whole attribute name).
fn attribute_read(bytes: &[u8], name: &str) -> bool {
    let attribute = format!(".{name}");
    memchr::memmem::find_iter(bytes, attribute.as_bytes()).any(|at| {
        !bytes
            .get(at + attribute.len())
            .is_some_and(|&b| is_ident(b))
    })
}

/// What analysing one file found.
#[derive(Debug, Default)]
pub struct Analysis {
    pub hits: Vec<Hit>,
    /// Set when the parser rejected the source and the token scan was used; says why.
    pub degraded: Option<String>,
    /// Set when the source could not be analysed at all (too large even for the token scan).
    pub failed: Option<String>,
    /// The piece the parser rejected, when one did (its message says `piece N`, 1-based: the
    /// caller knows what a piece is called, such as a notebook's cell number).
    pub degraded_piece: Option<usize>,
    /// Each piece as the analysis read it when that was not as written (newer syntax lowered,
    /// see [`lower`]): comments are read from it, since a `#` inside such an f-string's text
    /// (`f"{"#"}"`) is no comment. Empty, or `None` for a piece, when read as written.
    pub lowered: Vec<Option<String>>,
    /// The names the file binds at its top level to something that may be dill (`dill`,
    /// `dill.loads`), which other modules can import from it.
    pub exports: std::collections::HashMap<String, String>,
    /// Globals of other modules the file sets to something that may be dill.
    pub patches: Vec<Patch>,
}

/// Analyses the pieces of one file (one for a plain file, the code cells of a notebook), which
/// share one module namespace in order, on a thread with the workers' largest stack.
pub fn analyze(pieces: &[&str]) -> Analysis {
    analyze_within(pieces, &Limits::for_stack(REFERENCE_STACK))
}

/// [`analyze`] within `limits`, for the stack the calling thread has.
pub fn analyze_within(pieces: &[&str], limits: &Limits) -> Analysis {
    analyze_with(pieces, limits, None)
}

/// [`analyze_within`], with what the repository's modules the file imports hold.
pub fn analyze_with(pieces: &[&str], limits: &Limits, local: Option<&LocalModules>) -> Analysis {
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    if total > SCAN_BYTES {
        return Analysis {
            failed: Some(format!(
                "mentions dill and is {} of source, more than the {} dill-guard can analyse; exclude it in the policy if it is generated data",
                size_text(total as u64),
                size_text(SCAN_BYTES as u64)
            )),
            ..Analysis::default()
        };
    }
    if total > FULL_PARSE_BYTES {
        return scanned(
            lowered_all(pieces),
            format!(
                "it is {} of source, more than the {} the full parse takes; checked with the token scanner instead",
                size_text(total as u64),
                size_text(FULL_PARSE_BYTES as u64)
            ),
        );
    }
    // Newer syntax is lowered, in place, for a piece the parser rejects as written; the
    // lowered text is also what the token scanner reads when the parser rejects that too.
    let mut texts: Vec<std::borrow::Cow<'_, str>> = pieces.iter().map(|p| (*p).into()).collect();
    let mut suites = Vec::with_capacity(pieces.len());
    let mut rejected = None;
    for (i, text) in pieces.iter().enumerate() {
        if let Some(why) = too_deep(text, limits) {
            return scanned(lowered_all(pieces), too_deep_reason(&why));
        }
        let parsed = match rustpython_parser::parse(text, Mode::Module, "<source>") {
            Ok(module) => Ok(module),
            Err(err) => match lower::lower(text) {
                Some(lowered) => {
                    // Lowering can change how deep the tree nests (f-string fields are not
                    // brackets before it): measured again.
                    if let Some(why) = too_deep(&lowered, limits) {
                        return scanned(lowered_all(pieces), too_deep_reason(&why));
                    }
                    let parsed = rustpython_parser::parse(&lowered, Mode::Module, "<source>");
                    texts[i] = lowered.into();
                    parsed
                }
                None => Err(err),
            },
        };
        match parsed {
            Ok(ast::Mod::Module(module)) => suites.push(module.body),
            Ok(_) => unreachable!("Mode::Module always yields a module"),
            Err(err) if rejected.is_none() => rejected = Some((i, err)),
            Err(_) => {}
        }
    }
    if let Some((i, err)) = rejected {
        let text = &texts[i];
        let offset = usize::from(err.offset).min(text.len());
        // Lines end at `\n`, `\r\n` or a lone `\r`, as Python counts them.
        let before = &text.as_bytes()[..offset];
        let line = memchr::memchr2_iter(b'\n', b'\r', before)
            .filter(|&j| !(before[j] == b'\r' && text.as_bytes().get(j + 1) == Some(&b'\n')))
            .count()
            + 1;
        let place = if pieces.len() > 1 {
            format!("piece {}, line {line}", i + 1)
        } else {
            format!("line {line}")
        };
        let why = match python2_form(pieces[i], offset) {
            Some(form) => format!("it is Python 2 ({place}: {form})"),
            None => format!("the parser rejected it ({place}: {})", err.error),
        };
        // Every piece as the scanner should read it: lowered where lowering applies.
        for (k, text) in texts.iter_mut().enumerate() {
            if let (std::borrow::Cow::Borrowed(_), Some(lowered)) =
                (&*text, lower::lower(pieces[k]))
            {
                *text = lowered.into();
            }
        }
        let mut analysis = scanned(
            texts,
            format!("{why}; checked with the token scanner instead"),
        );
        analysis.degraded_piece = Some(i);
        return analysis;
    }
    let parsed_texts: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
    let (mut hits, exports, patches) = scope::find_sinks(&suites, &parsed_texts, limits, local);
    sort_hits(&mut hits);
    let provenances = flow::trace_hits(&suites, &parsed_texts, &hits);
    for (hit, provenance) in hits.iter_mut().zip(provenances) {
        hit.provenance = provenance;
    }
    // Deep trees are dropped here, on the caller's (large) stack.
    drop(suites);
    Analysis {
        hits,
        lowered: owned(texts),
        exports,
        patches,
        ..Analysis::default()
    }
}

/// The token scanner's check alone, for text that is not Python syntax but runs Python's
/// imports and calls (Cython), marked degraded for `why`.
pub fn scan_only(pieces: &[&str], why: String) -> Analysis {
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    if total > SCAN_BYTES {
        return Analysis {
            failed: Some(format!(
                "mentions dill and is {} of source, more than the {} dill-guard can analyse; exclude it in the policy if it is generated data",
                size_text(total as u64),
                size_text(SCAN_BYTES as u64)
            )),
            ..Analysis::default()
        };
    }
    scanned(pieces.iter().map(|p| (*p).into()).collect(), why)
}

/// The token scanner's check of every piece, read as `texts` (lowered where lowering
/// applies), marked degraded for `why`.
fn scanned(texts: Vec<std::borrow::Cow<'_, str>>, why: String) -> Analysis {
    let mut analysis = scan_pieces(&texts.iter().map(|t| t.as_ref()).collect::<Vec<_>>());
    // No flows are worked out in degraded mode: none can be ruled out.
    for hit in &mut analysis.hits {
        hit.provenance.cut = true;
    }
    analysis.degraded = Some(why);
    analysis.lowered = owned(texts);
    analysis
}

fn too_deep_reason(why: &str) -> String {
    format!("{why}, too deep to parse safely; checked with the token scanner instead")
}

/// The pieces that were not read as written.
fn owned(texts: Vec<std::borrow::Cow<'_, str>>) -> Vec<Option<String>> {
    texts
        .into_iter()
        .map(|t| match t {
            std::borrow::Cow::Owned(text) => Some(text),
            std::borrow::Cow::Borrowed(_) => None,
        })
        .collect()
}

/// Every piece as the token scanner reads it: with newer forms lowered, so the code inside
/// f-string fields is scanned as code.
fn lowered_all<'p>(pieces: &[&'p str]) -> Vec<std::borrow::Cow<'p, str>> {
    pieces
        .iter()
        .map(|p| lower::lower(p).map_or((*p).into(), Into::into))
        .collect()
}

/// The Python 2 form at or just before `offset`, where the parser stopped, if it is one:
/// the reason to give for a degraded check.
fn python2_form(text: &str, offset: usize) -> Option<&'static str> {
    let bytes = text.as_bytes();
    let start = bytes[..offset.min(bytes.len())]
        .iter()
        .rposition(|&b| b == b'\n' || b == b'\r')
        .map_or(0, |k| k + 1);
    let end = memchr::memchr2(b'\n', b'\r', &bytes[start..]).map_or(bytes.len(), |k| start + k);
    let line = text[start..end].trim_start();
    let word = |w: &str| {
        line.strip_prefix(w)
            .is_some_and(|rest| rest.starts_with([' ', '\t', '"', '\'']) || rest.is_empty())
    };
    if word("print")
        && !line["print".len()..]
            .trim_start()
            .starts_with(['(', '=', '.', ',', ')'])
    {
        return Some("a `print` statement");
    }
    if word("exec")
        && !line["exec".len()..]
            .trim_start()
            .starts_with(['(', '=', '.'])
    {
        return Some("an `exec` statement");
    }
    if line.contains('`') {
        return Some("backticks");
    }
    if line.contains("<>") {
        return Some("the `<>` operator");
    }
    if line.starts_with("raise ") && line.matches(',').count() >= 1 && !line.contains('(') {
        return Some("`raise E, value`");
    }
    let octal = line.as_bytes().windows(3).enumerate().any(|(k, w)| {
        w[0] == b'0' && w[1].is_ascii_digit() && (k == 0 || !is_word_byte(line.as_bytes()[k - 1]))
    });
    if octal {
        return Some("an octal literal such as `0600`");
    }
    if line.contains("ur\"") || line.contains("ur'") {
        return Some("a `ur` string prefix");
    }
    None
}

/// The names a `match` pattern binds.
pub(crate) fn captures<'a>(pattern: &'a ast::Pattern, out: &mut Vec<&'a ast::Identifier>) {
    use ast::Pattern;
    match pattern {
        Pattern::MatchAs(p) => {
            out.extend(&p.name);
            if let Some(inner) = &p.pattern {
                captures(inner, out);
            }
        }
        Pattern::MatchStar(p) => out.extend(&p.name),
        Pattern::MatchSequence(p) => p.patterns.iter().for_each(|q| captures(q, out)),
        Pattern::MatchOr(p) => p.patterns.iter().for_each(|q| captures(q, out)),
        Pattern::MatchMapping(p) => {
            p.patterns.iter().for_each(|q| captures(q, out));
            out.extend(&p.rest);
        }
        Pattern::MatchClass(p) => p
            .patterns
            .iter()
            .chain(&p.kwd_patterns)
            .for_each(|q| captures(q, out)),
        Pattern::MatchValue(_) | Pattern::MatchSingleton(_) => {}
    }
}

/// The names an assignment target binds (`a`, `a, *b`, `[a, (b, c)]`); attributes and
/// subscripts bind none.
pub(crate) fn target_names(target: &ast::Expr, out: &mut std::collections::HashSet<String>) {
    match target {
        ast::Expr::Name(n) => {
            out.insert(n.id.to_string());
        }
        ast::Expr::Tuple(t) => t.elts.iter().for_each(|e| target_names(e, out)),
        ast::Expr::List(l) => l.elts.iter().for_each(|e| target_names(e, out)),
        ast::Expr::Starred(s) => target_names(&s.value, out),
        _ => {}
    }
}

/// Whether a byte can continue a Python name (every byte of a non-ASCII character counts).
pub(crate) fn is_ident(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80
}

fn is_word_byte(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric() || b == b'.'
}

fn sort_hits(hits: &mut Vec<Hit>) {
    hits.sort_by_key(|h| (h.piece, h.start, h.end, h.kind));
    hits.dedup_by(|a, b| a.piece == b.piece && a.start == b.start && a.end == b.end);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(src: &str) -> Vec<(usize, &'static str, UseKind)> {
        let analysis = analyze(&[src]);
        assert!(analysis.degraded.is_none(), "{:?}", analysis.degraded);
        analysis
            .hits
            .iter()
            .map(|h| (src[..h.start].matches('\n').count() + 1, h.sink.api, h.kind))
            .collect()
    }

    #[test]
    fn prefilter_sees_names_spelled_by_escapes_and_joined_literals() {
        use crate::python::Kind;
        // Each of these imports dill under CPython (checked with a recording dill module).
        for text in [
            "m = __import__(\"di\" \"ll\")\n",
            "m = __import__(\n  'di'  # joined\n  'll')\n",
            "import importlib\nm = importlib.import_module(\"\\x64ill\")\n",
            "import importlib\nm = importlib.import_module(\"\\N{LATIN SMALL LETTER D}ill\")\n",
            "m = __import__(\")\"[:0] + \"\\x64ill\")\n",
        ] {
            assert!(worth_analysing(text.as_bytes(), Kind::Source), "{text}");
        }
        for text in [
            "m = __import__(name)\n",
            "m = importlib.import_module(\"json\", package=\"x\" \"y\")\n",
            "m = importlib.import_module(f\"encodings.{name}\")\n",
        ] {
            assert!(!worth_analysing(text.as_bytes(), Kind::Source), "{text}");
        }
    }

    #[test]
    fn a_file_naming_a_library_that_loads_with_dill_is_analysed() {
        let analysed = |src: &str| worth_analysing(src.as_bytes(), crate::python::Kind::Source);
        for yes in [
            "import multiprocess\n",
            "from klepto.archives import file_archive\n",
            "import ppft\n",
            "import os, \\\n    multiprocess as mp\n",
            "if fast: import pp\n",
            "m = __import__('\\x6dultiprocess.connection', fromlist=['x'])\n",
            "import sys\nm = sys.modules['klepto.archives']\n",
            "exec('import multiprocess.connection as c; c.Client(a).recv()')\n",
            "from pathos.helpers import mp\n",
            "import pp\njobs = pp.Server(ppservers=servers)\n",
            "import importlib\nm = importlib.import_module('multi' + 'process.connection')\nm.Client(a)\n",
            "m = __import__('mul' 'tipro' 'cess', fromlist=['connection']).connection.Listener\n",
            "m = __import__('\\x6bl' + 'epto.archives').archives.file_archive\n",
        ] {
            assert!(analysed(yes), "{yes}");
        }
        for no in [
            "import multiprocessing\n",
            "import pprint as pp\npp.pprint(x)\n",
            "pathos_level = 3\n",
            "import x.multiprocess\n",
            "environ['wsgi.multiprocess'] = True\n",
            "x = 'multi' + 'process'\n",
            // Pieces that join into a library's name, with none of its makers named.
            "import importlib\nm = importlib.import_module(name)\nx = os.path.join('path', 'os')\n",
        ] {
            assert!(!analysed(no), "{no}");
        }
    }

    #[test]
    fn a_file_that_mentions_dill_but_cannot_reach_a_sink_is_not_parsed() {
        use crate::python::Kind;
        let skipped = |src: &str| !worth_analysing(src.as_bytes(), Kind::Source);
        assert!(skipped(
            "import dill\nblob = dill.dumps(obj)\ncopy = dill.copy(obj)\n"
        ));
        // Words that only look like the ways in.
        assert!(skipped(
            "import dill, re\np = re.compile('x')\nif pickle == dill: pass\nsys.modules\n"
        ));
        // Every sink is spelled by its own name, or reached through a name read from a string.
        for src in [
            "import dill\ndill.loads(b)\n",
            "import dill\ndill.Unpickler(f)\n",
            "from dill import temp\ntemp.loadIO(b)\n",
            "import dill\nf = getattr(dill, '\\x6coads')\n",
            "import dill\nf = getattr(dill, 'lo' 'ads')\n",
            "from dill import *\n__all__ = ['\\x6coads']\n",
            "import importlib\nf = importlib.import_module('dill._dill')\n",
            "m = __import__('dill')\n",
            "import dill\n\u{ff4c}\u{ff4f}\u{ff41}\u{ff44}\u{ff53} = 1\n",
            "import dill, serialize\nserialize.pickle = dill\n",
            "import dill, serialize\nserialize.pickle \\\n  = dill\n",
            "import dill, torch\ntorch.load(f, pickle_module=dill)\n",
            "import dill\nexec('dill.lo' + 'ads(b)')\n",
            "import dill\nf = vars(dill)['lo' + 'ads']\n",
            "# -*- coding: utf-7 -*-\nimport dill\ndill.+AGw-oads(b)\n",
        ] {
            assert!(!skipped(src), "{src}");
        }
        // Notebooks are always read.
        assert!(worth_analysing(
            br#"{"cells": [{"cell_type": "code", "source": ["import dill"]}]}"#,
            Kind::Notebook
        ));
        // What the analysis finds in such files.
        for src in [
            "import dill\nf = getattr(dill, '\\x6coads')\nf(b)\n",
            "from dill import *\n__all__ = ['\\x6coads']\n",
        ] {
            assert!(!found(src).is_empty(), "{src}");
        }
    }

    #[test]
    fn prefilter_needs_dill_as_a_word() {
        for yes in [
            "import dill",
            "from dill import loads",
            "__import__('dill')",
            "importlib.import_module(\"dill._dill\")",
            "x = (dill)",
            "dill",
            "import a,dill",
        ] {
            assert!(mentions_dill(yes.as_bytes()), "{yes}");
        }
        for no in [
            "cedilla",
            "pickledill = 1",
            "dill_helper()",
            "import dilly",
            "_dill",
            "édill",
        ] {
            assert!(!mentions_dill(no.as_bytes()), "{no}");
        }
        use crate::python::Kind;
        let escaped = br#"{"cells": [{"cell_type": "code", "source": "import \u0064ill"}]}"#;
        assert!(!mentions_dill(escaped));
        assert!(worth_analysing(escaped, Kind::Notebook));
        assert!(!worth_analysing(b"x = '\\u0064'", Kind::Source));
        assert!(worth_analysing("import ｄｉｌｌ".as_bytes(), Kind::Source));
        assert!(worth_analysing("ⅾill = 1".as_bytes(), Kind::Source));
        assert!(!worth_analysing("ｌｏａｄ = ℹ".as_bytes(), Kind::Source));
        assert!(!worth_analysing(
            "café = 'naïve' # ☕".as_bytes(),
            Kind::Source
        ));
        assert!(worth_analysing(
            b"# coding: utf-7\nimport +AGQ-ill",
            Kind::Source
        ));
    }

    #[test]
    fn python_2_files_are_named_for_what_gives_them_away() {
        let why = |src: &str| analyze(&[src]).degraded.unwrap_or_default();
        assert!(why("import dill\nprint 'x'\ndill.loads(b)\n")
            .starts_with("it is Python 2 (line 2: a `print` statement)"));
        assert!(why("import dill\nx = `dill.loads(b)`\n").contains("(line 2: backticks)"));
        assert!(why("import dill\nos.chmod(p, 0600)\n").contains("an octal literal"));
        assert!(why("import dill\nif a <> b: pass\n").contains("the `<>` operator"));
        // Not Python 2: the parser's own words.
        assert!(why("import dill\ndef f(:\n").starts_with("the parser rejected it (line 2"));
        assert!(why("import dill\nprint(x) y\n").starts_with("the parser rejected it"));
    }

    #[test]
    fn basic_forms() {
        assert_eq!(
            found("import dill\nx = dill.loads(b)\n"),
            vec![(2, "dill.loads", UseKind::Call)]
        );
        assert_eq!(found("import pickle as dill\ndill.loads(b)\n"), vec![]);
        assert_eq!(found("dill.loads(b)\n"), vec![]);
        assert_eq!(
            found("from dill import loads as f\nf(b)\n"),
            vec![(2, "dill.loads", UseKind::Call)]
        );
    }

    #[test]
    fn a_backslash_before_a_multibyte_character() {
        // Found by fuzzing: the scanner split the character and panicked.
        let analysis = analyze(&["import dill as d\nx = \\é + 1\nd.loads(x)\n"]);
        assert!(analysis.degraded.is_some());
        assert_eq!(analysis.hits.len(), 1);
    }

    #[test]
    fn fallback_scan_skips_strings_and_comments() {
        let src = "import dill as d\ns = 'd.loads(x)'  # d.loads(y)\nt = \"\"\"\nd.load(f)\n\"\"\"\nd.load(f)\nprint x\n";
        let analysis = analyze(&[src]);
        assert!(analysis.degraded.is_some());
        let lines: Vec<_> = analysis
            .hits
            .iter()
            .map(|h| (src[..h.start].matches('\n').count() + 1, h.sink.api))
            .collect();
        assert_eq!(lines, vec![(6, "dill.load")]);
    }
}
