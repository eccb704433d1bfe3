//! Scopes and bindings: the binder resolves every name through the scope it is used in to the
//! qualified origin it may hold (a may-analysis: a name that may be dill on any way through the
//! code is dill), and reports the uses that reach a sink.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use rustpython_ast::{self as ast, Ranged};

use rustpython_parser::Mode;

use super::constant;
use super::guard::{too_deep, Limits};
use super::{Hit, LocalModules, Patch, Route, UseKind};
use crate::rule::{self, Sink};

/// Finds the sinks in the parsed pieces of one file, which share one module namespace. `texts`
/// are the pieces as parsed; `limits` bound the strings of code parsed from them.
pub(super) fn find_sinks(
    suites: &[Vec<ast::Stmt>],
    texts: &[&str],
    limits: &Limits,
    local: Option<&LocalModules>,
) -> (Vec<Hit>, HashMap<String, String>, Vec<Patch>) {
    // A function that writes dill into an outer scope (`global`, `nonlocal`) or into an
    // attribute of `self` may run before any read of that name: once such writes are known, the
    // file is analysed again with them visible everywhere the name is read. Strings of code
    // given to `exec`, `eval` or `compile` are parsed when a pass meets them, and analysed by the
    // next. Each pass can only add writes and strings.
    let mut written = Writes::default();
    // Globals other files of the check set to dill are dill from the start.
    for (name, value) in local.iter().flat_map(|l| &l.patched) {
        written.insert((0, name.clone()), Rc::from(value.as_str()));
    }
    let mut embedded = Embeds::default();
    let mut patches = HashSet::new();
    let mut hits = Vec::new();
    let mut exports = HashMap::new();
    let mut passes_for_writes = 0;
    for _ in 0..MAX_PASSES_FOR_CODE_STRINGS {
        let mut binder = Binder::new(written.clone(), &embedded);
        binder.local = local;
        for (i, suite) in suites.iter().enumerate() {
            binder.piece = i;
            binder.visit_body(0, suite);
        }
        binder.run_deferred();
        binder.report_unread();
        hits.append(&mut binder.hits);
        patches.extend(binder.patches.drain(..));
        exports = binder.scopes[0]
            .ever
            .iter()
            .filter_map(|(name, q)| {
                if may_be_dill(q) && !q.starts_with(CONSTANT) {
                    return Some((name.clone(), q.to_string()));
                }
                // A module of the repository that hands dill on, bound here, is handed on
                // too (`from . import shim`): named by its file, which other files can find.
                binder
                    .exporting_file(q)
                    .map(|file| (name.clone(), handed_on(&file)))
            })
            .collect();
        let new_writes = std::mem::take(&mut binder.new_writes);
        let wanted = std::mem::take(&mut binder.wanted);
        drop(binder);
        let before = (written.len(), embedded.len());
        // Writes are looked for a bounded number of times; strings of code nested in strings
        // of code (each level parsed by the pass after the one that met it) further.
        passes_for_writes += 1;
        if passes_for_writes < MAX_PASSES {
            written.extend(new_writes);
        }
        for want in wanted {
            embedded.add(want, texts, limits);
        }
        if (written.len(), embedded.len()) == before {
            break;
        }
    }
    let mut patches: Vec<Patch> = patches.into_iter().collect();
    patches.sort_by(|a, b| (&a.module, &a.name).cmp(&(&b.module, &b.name)));
    (hits, exports, patches)
}

/// A string of code given to `exec`, `eval` or `compile` that a pass met, to be parsed.
struct Wanted {
    key: EmbedKey,
    code: String,
    /// The string literal's range in its piece (of the outermost code, for nested strings).
    literal: (usize, usize),
    what: &'static str,
    /// Start of the statement holding the call, in the outermost code.
    stmt: usize,
}

/// The piece, the string of code it is in (0 for the file's own code, else its index + 1) and
/// the offset there of the argument holding the code.
type EmbedKey = (usize, usize, usize);

/// Where code parsed from a string sits in the file.
#[derive(Debug, Clone, Copy)]
struct Origin {
    /// Index of the string in [`Embeds`].
    index: usize,
    /// Where the string's text starts in the piece, when each byte of the code is the byte of
    /// the literal (no escapes, one literal): positions inside map exactly.
    base: Option<usize>,
    literal: (usize, usize),
    what: &'static str,
    stmt: usize,
}

/// The strings of code parsed so far, by where they are.
#[derive(Default)]
struct Embeds {
    parsed: Vec<(Vec<ast::Stmt>, Origin)>,
    by_key: HashMap<EmbedKey, usize>,
}

impl Embeds {
    fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Parses a string of code; code Python would refuse (a syntax error, nesting past any
    /// parser's limit) can never run, and is kept as nothing.
    fn add(&mut self, want: Wanted, texts: &[&str], limits: &Limits) {
        if self.by_key.contains_key(&want.key) {
            return;
        }
        let index = self.parsed.len();
        self.by_key.insert(want.key, index);
        let parse = |code: &str| match rustpython_parser::parse(code, Mode::Module, "<string>") {
            Ok(ast::Mod::Module(m)) => Some(m.body),
            _ => None,
        };
        let suite = match too_deep(&want.code, limits) {
            Some(_) => None,
            None => parse(&want.code).or_else(|| {
                let lowered = super::lower::lower(&want.code)?;
                too_deep(&lowered, limits)
                    .is_none()
                    .then(|| parse(&lowered))?
            }),
        };
        // The code maps byte for byte onto the literal when the literal, between its quotes,
        // is the code itself (outermost strings only).
        let (piece, outer, _) = want.key;
        let base = (outer == 0)
            .then(|| {
                texts
                    .get(piece)
                    .and_then(|t| t.get(want.literal.0..want.literal.1))
            })
            .flatten()
            .and_then(|literal| {
                let prefix = literal.find(['\'', '"'])?;
                let quote = if literal[prefix..].starts_with("\"\"\"")
                    || literal[prefix..].starts_with("'''")
                {
                    3
                } else {
                    1
                };
                let inner = literal.get(prefix + quote..literal.len().checked_sub(quote)?)?;
                (inner == want.code).then_some(want.literal.0 + prefix + quote)
            });
        let origin = Origin {
            index,
            base,
            literal: want.literal,
            what: want.what,
            stmt: want.stmt,
        };
        self.parsed.push((suite.unwrap_or_default(), origin));
    }
}

pub(super) type Qual = Rc<str>;

/// Values that may be dill written into a scope from a function inside it, by the scope's key
/// and the name.
type Writes = HashMap<(usize, String), Qual>;

/// The functions one scope defines, by name: each one's key and parameters.
type Functions<'a> = HashMap<String, Vec<(usize, &'a ast::Arguments)>>;

/// The key of scopes no function writes into (class bodies, comprehensions).
const NO_KEY: usize = usize::MAX;

/// How many times a file is analysed at most while writes from inside functions are found.
const MAX_PASSES: usize = 6;

/// How many times a file is analysed at most while strings of code are found inside strings of
/// code: each level of nesting is one more. Deeper than this, a string's quotes must be escaped
/// so many times over that it passes the size the analysis takes.
const MAX_PASSES_FOR_CODE_STRINGS: usize = 24;

/// Attributes that describe a function or class without calling it or handing it on.
const METADATA: &[&str] = &[
    "__name__",
    "__qualname__",
    "__doc__",
    "__module__",
    "__mro__",
    "__annotations__",
];

/// Loops nested deeper than this inside re-visited loop bodies are visited once: each level
/// doubles the work.
const MAX_LOOP_RERUN_DEPTH: usize = 4;

/// How many attribute, call or walrus levels name resolution follows.
const RESOLVE_DEPTH: usize = 64;

/// The names an import statement binds: `(local name, qualified origin)`.
pub(super) fn import_bindings(module: &str, asname: Option<&str>) -> (String, Qual) {
    match asname {
        Some(local) => (local.to_string(), Rc::from(module)),
        None => {
            let head = module.split('.').next().unwrap_or(module);
            (head.to_string(), Rc::from(head))
        }
    }
}

pub(super) fn import_from_bindings(
    module: &str,
    name: &str,
    asname: Option<&str>,
) -> Vec<(String, Qual)> {
    if name == "*" {
        let shadows = rule::star_shadows(module)
            .iter()
            .map(|local| (local.to_string(), Rc::from(format!("{module}.{local}"))));
        return rule::star_exports(module)
            .iter()
            .map(|(local, qual)| (local.to_string(), Rc::from(*qual)))
            .chain(shadows)
            .collect();
    }
    vec![(
        asname.unwrap_or(name).to_string(),
        Rc::from(format!("{module}.{name}")),
    )]
}

fn builtin(name: &str) -> Option<Qual> {
    matches!(
        name,
        "getattr"
            | "setattr"
            | "__import__"
            | "vars"
            | "exec"
            | "eval"
            | "compile"
            | "dict"
            | "list"
            | "tuple"
            | "set"
            | "frozenset"
            | "sorted"
            | "reversed"
            | "iter"
            | "next"
            | "type"
            | "object"
    )
    .then(|| Rc::from(format!("builtins.{name}")))
    // `__builtins__` is the builtins module (or its dictionary, outside `__main__`).
    .or_else(|| (name == "__builtins__").then(|| Rc::from("builtins")))
}

/// Values that are not qualified names start with a character no name has: a constant string
/// (`'` and its text), and the callables `operator.attrgetter(name)` and
/// `operator.methodcaller(name, ...)` return (a control character, the kind and the name).
const CONSTANT: char = '\'';
const ATTRGETTER: &str = "\u{1}attrgetter:";
const METHODCALLER: &str = "\u{1}methodcaller:";
/// A module of the repository, as `level:dotted.name` (see [`LocalModules`]).
const LOCAL: &str = "\u{2}";

/// A container (tuple, list, set, dictionary) one of whose items may be the value after it:
/// reading an item back, iterating or unpacking gives that value.
const CONTAINER: &str = "\u{3}";
/// A callable whose call may return the value after it (a function returning or yielding
/// dill, `dict.get` of a container holding it).
const RETURNS: &str = "\u{4}";
/// A class of this file (or an instance of it), by the key of its attributes.
const CLASS: &str = "\u{5}";
/// What `importlib.util.find_spec(name)` returns: `module_from_spec` makes the module.
const SPEC: &str = "\u{1}spec:";
/// The name under which what a function returns is written (no name has a NUL in it).
const RETURN: &str = "\u{0}return";
/// The prefix of the names under which a module put into `sys.modules` is written.
const SWAPPED: &str = "\u{0}module:";

/// The file of a module of the repository an export hands on (`from . import shim`), named
/// by its path so that files in other packages can find it.
pub fn handed_on_file(value: &str) -> Option<&str> {
    value.strip_prefix(LOCAL)?.strip_prefix('@')
}

/// The value naming a module of the repository handed on, by its file (see
/// [`handed_on_file`]).
pub(super) fn handed_on(file: &str) -> String {
    format!("{LOCAL}@{file}")
}

/// Whether a value is one of the values that are not qualified names.
fn is_marker(qual: &str) -> bool {
    qual.starts_with([CONSTANT, '\u{1}', '\u{2}', '\u{3}', '\u{4}', '\u{5}'])
}

/// A container holding `inner`, when `inner` may be dill (other containers are not followed).
fn container_of(inner: Option<Qual>) -> Option<Qual> {
    inner
        .filter(|q| may_be_dill(q))
        .filter(|q| !q.starts_with(CONSTANT))
        .map(|q| Rc::from(format!("{CONTAINER}{q}")))
}

/// What iterating a value, or reading any item of it, gives.
fn item_in(value: &str) -> Option<Qual> {
    value.strip_prefix(CONTAINER).map(Rc::from)
}

/// What subscripting a value with a constant key gives: `sys.modules["dill"]` is the module,
/// `dill.__dict__["loads"]` its attribute.
fn item_of(base: &str, key: &str) -> Option<Qual> {
    if base == "sys.modules" {
        return Some(Rc::from(key));
    }
    let module = base.strip_suffix(".__dict__")?;
    (!is_marker(module)).then(|| Rc::from(format!("{module}.{key}")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Module,
    Function,
    Class,
    Comprehension,
}

/// Current binding of each name (keys shared, so copying a flow for a branch allocates only
/// the table): `Some` for a value with a qualified origin, `None` for a name
/// bound to anything else (which shadows outer bindings).
type Flow = HashMap<Rc<str>, Option<Qual>>;

struct Scope {
    kind: ScopeKind,
    /// Identifies the scope across passes: 0 for the module, the body's address for a function.
    key: usize,
    /// Where free names are looked up; for functions and lambdas this skips class scopes.
    parent: Option<usize>,
    flow: Flow,
    /// Every qualified origin a name has held in this scope, for the functions that run later.
    ever: HashMap<String, Qual>,
    /// Function scopes: every name bound anywhere in the body (Python's local-variable rule).
    locals: HashSet<String>,
    globals: HashSet<String>,
    nonlocals: HashSet<String>,
    /// A method's first parameter (`self`, `cls`) and the key of its class's attributes.
    receiver: Option<(Rc<str>, usize)>,
}

impl Scope {
    fn new(kind: ScopeKind, parent: Option<usize>) -> Self {
        Scope {
            kind,
            key: if kind == ScopeKind::Module { 0 } else { NO_KEY },
            parent,
            flow: Flow::default(),
            ever: HashMap::default(),
            locals: HashSet::default(),
            globals: HashSet::default(),
            nonlocals: HashSet::default(),
            receiver: None,
        }
    }
}

/// A function or lambda body, analysed once its enclosing scope is complete.
#[derive(Clone, Copy)]
enum Deferred<'a> {
    Function {
        args: &'a ast::Arguments,
        body: &'a [ast::Stmt],
        parent: usize,
        piece: usize,
        origin: Option<Origin>,
        /// For a method: the key of its class's attributes.
        attributes: Option<usize>,
    },
    Lambda {
        args: &'a ast::Arguments,
        body: &'a ast::Expr,
        parent: usize,
        piece: usize,
        stmt: usize,
        origin: Option<Origin>,
    },
}

/// One way through a branching statement, run against the scope's state.
type Branch<'a> = Box<dyn FnOnce(&mut Binder<'a>) + 'a>;

struct Binder<'a> {
    scopes: Vec<Scope>,
    deferred: std::collections::VecDeque<Deferred<'a>>,
    hits: Vec<Hit>,
    piece: usize,
    /// Start of the statement being visited.
    stmt: usize,
    /// Every name read anywhere in the file.
    loaded: std::cell::RefCell<HashSet<String>>,
    /// `name = <sink>` aliases, reported at the end if the name is never read in the file: an
    /// alias made only to be imported elsewhere still hands the sink on.
    aliases: Vec<(String, Hit)>,
    /// How many loop bodies are being visited a second time (see `visit_loop_body`).
    loop_depth: usize,
    /// Writes from inside functions found by earlier passes.
    written: Writes,
    /// Writes from inside functions found by this pass.
    new_writes: Writes,
    /// Module-level bindings of sinks by import, reported at the end when `__all__` lists the
    /// name and no code in the file reads it: a re-export.
    exports: Vec<(String, Hit)>,
    /// The names `__all__` lists.
    all: HashSet<String>,
    /// Inside an annotation: a sink named there is a type, not a hand-off; calls still count.
    annotation: bool,
    /// Strings of code parsed by earlier passes.
    embedded: &'a Embeds,
    /// Strings of code met by this pass that no earlier pass parsed.
    wanted: Vec<Wanted>,
    /// Set while visiting code parsed from a string.
    origin: Option<Origin>,
    /// The repository's modules the file imports.
    local: Option<&'a LocalModules>,
    /// Globals of other modules set to something that may be dill.
    patches: Vec<Patch>,
    /// Parameters bound by the code that defines or applies a function, by the function's
    /// key: a decorator's values (`@pytest.mark.parametrize`), a lambda's arguments where it
    /// is called directly.
    arguments: HashMap<usize, Vec<(String, Qual)>>,
    /// The functions each scope defines, by name: their key and parameters, so that a call of
    /// one binds its parameters to what it is given (in the next pass).
    functions: HashMap<usize, Functions<'a>>,
}

impl<'a> Binder<'a> {
    fn new(written: Writes, embedded: &'a Embeds) -> Self {
        Binder {
            scopes: vec![Scope::new(ScopeKind::Module, None)],
            deferred: Default::default(),
            hits: Vec::new(),
            piece: 0,
            stmt: 0,
            loaded: Default::default(),
            aliases: Vec::new(),
            loop_depth: 0,
            written,
            new_writes: Writes::default(),
            exports: Vec::new(),
            all: HashSet::default(),
            annotation: false,
            embedded,
            wanted: Vec::new(),
            origin: None,
            local: None,
            patches: Vec::new(),
            arguments: HashMap::default(),
            functions: HashMap::default(),
        }
    }

    fn run_deferred(&mut self) {
        while let Some(job) = self.deferred.pop_front() {
            match job {
                Deferred::Function {
                    args,
                    body,
                    parent,
                    piece,
                    origin,
                    attributes,
                } => {
                    self.piece = piece;
                    self.origin = origin;
                    let s = self.function_scope(args, parent, body.as_ptr() as usize);
                    if let (Some(key), Some(first)) =
                        (attributes, args.posonlyargs.iter().chain(&args.args).next())
                    {
                        self.scopes[s].receiver = Some((first.def.arg.as_str().into(), key));
                    }
                    collect_locals(body, &mut self.scopes[s]);
                    self.visit_body(s, body);
                }
                Deferred::Lambda {
                    args,
                    body,
                    parent,
                    piece,
                    stmt,
                    origin,
                } => {
                    self.piece = piece;
                    self.stmt = stmt;
                    self.origin = origin;
                    let s = self.function_scope(args, parent, body as *const ast::Expr as usize);
                    self.visit_expr(s, body);
                    self.note_return(s, body);
                }
            }
        }
    }

    fn function_scope(&mut self, args: &ast::Arguments, parent: usize, key: usize) -> usize {
        let mut scope = Scope::new(ScopeKind::Function, Some(parent));
        scope.key = key;
        for arg in args
            .posonlyargs
            .iter()
            .chain(&args.args)
            .chain(&args.kwonlyargs)
        {
            scope.locals.insert(arg.def.arg.to_string());
            // A parameter is its default when the caller passes nothing: `dill=dill`.
            let default = arg.default.as_deref().and_then(|d| self.resolve(parent, d));
            scope.flow.insert(arg.def.arg.as_str().into(), default);
        }
        for arg in args.vararg.iter().chain(&args.kwarg) {
            scope.locals.insert(arg.arg.to_string());
            scope.flow.insert(arg.arg.as_str().into(), None);
        }
        for (name, value) in self.arguments.get(&key).into_iter().flatten() {
            if scope.locals.contains(name) {
                let old = scope.flow.get(name.as_str()).cloned().flatten();
                scope
                    .flow
                    .insert(name.as_str().into(), either([Some(value.clone()), old]));
            }
        }
        self.scopes.push(scope);
        self.scopes.len() - 1
    }

    /// The nearest scope from `s` outwards that is not a class body.
    fn past_classes(&self, mut s: usize) -> usize {
        while self.scopes[s].kind == ScopeKind::Class {
            match self.scopes[s].parent {
                Some(parent) => s = parent,
                None => break,
            }
        }
        s
    }

    /// The scope whose functions' free names a function defined in `s` resolves through.
    fn enclosing_for_functions(&self, mut s: usize) -> usize {
        while self.scopes[s].kind == ScopeKind::Class {
            s = self.scopes[s].parent.unwrap_or(0);
        }
        s
    }

    // ---- names -------------------------------------------------------------------------

    /// What functions inside scope `s` may have written into its name `name`.
    fn written_into(&self, s: usize, name: &str) -> Option<Qual> {
        if self.written.is_empty() || self.scopes[s].key == NO_KEY {
            return None;
        }
        self.written
            .get(&(self.scopes[s].key, name.to_string()))
            .cloned()
    }

    fn lookup(&self, s: usize, name: &str) -> Option<Qual> {
        let scope = &self.scopes[s];
        if let Some(value) = scope.flow.get(name) {
            return either([value.clone(), self.written_into(s, name)]);
        }
        match scope.kind {
            ScopeKind::Module => self.written_into(s, name).or_else(|| builtin(name)),
            ScopeKind::Function => {
                if scope.globals.contains(name) {
                    return self.lookup_finished(0, name);
                }
                if scope.locals.contains(name) && !scope.nonlocals.contains(name) {
                    // Bound later in this body: not yet bound here, unless a function inside
                    // writes it first.
                    return self.written_into(s, name);
                }
                self.lookup_finished(scope.parent?, name)
            }
            // Class bodies and comprehensions run inline: the enclosing scope as it is now.
            ScopeKind::Class | ScopeKind::Comprehension => self.lookup(scope.parent?, name),
        }
    }

    /// Looks a name up in a scope whose code has all run: any origin it ever held counts.
    fn lookup_finished(&self, s: usize, name: &str) -> Option<Qual> {
        let scope = &self.scopes[s];
        if let Some(qual) = scope.ever.get(name) {
            return either([Some(qual.clone()), self.written_into(s, name)]);
        }
        let bound_here = scope.flow.contains_key(name) || scope.locals.contains(name);
        match scope.kind {
            ScopeKind::Module if bound_here => self.written_into(s, name),
            ScopeKind::Module => self.written_into(s, name).or_else(|| builtin(name)),
            ScopeKind::Function if scope.globals.contains(name) => self.lookup_finished(0, name),
            ScopeKind::Function if bound_here && !scope.nonlocals.contains(name) => {
                self.written_into(s, name)
            }
            ScopeKind::Comprehension if bound_here => None,
            _ => self.lookup_finished(scope.parent?, name),
        }
    }

    fn bind(&mut self, s: usize, name: &str, value: Option<Qual>) {
        let mut target = s;
        let scope = &self.scopes[s];
        if scope.kind == ScopeKind::Function {
            if scope.globals.contains(name) {
                target = 0;
            } else if scope.nonlocals.contains(name) {
                let mut up = scope.parent;
                while let Some(p) = up {
                    let candidate = &self.scopes[p];
                    if candidate.kind == ScopeKind::Function && candidate.locals.contains(name) {
                        target = p;
                        break;
                    }
                    up = candidate.parent;
                }
            }
        }
        let from_inside = target != s;
        let scope = &mut self.scopes[target];
        if let Some(qual) = &value {
            // Every origin a name ever held counts for code that runs later; one that may be
            // dill is never forgotten for one that is not (functions have no order).
            let old = scope.ever.get(name);
            if !old.is_some_and(|old| may_be_dill(old) && !may_be_dill(qual)) {
                scope.ever.insert(name.to_string(), qual.clone());
            }
            if from_inside && may_be_dill(qual) {
                // A function wrote dill into an outer scope (`global`, `nonlocal`): code that
                // reads the name may run after it, so the next pass sees it everywhere.
                let key = (scope.key, name.to_string());
                if !self.written.contains_key(&key) {
                    self.new_writes.insert(key, qual.clone());
                }
            }
        }
        scope.flow.insert(name.into(), value);
    }

    /// Binds every name in an assignment target to "something that is not an import".
    fn bind_target(&mut self, s: usize, target: &'a ast::Expr) {
        match target {
            ast::Expr::Name(n) => self.bind(s, &n.id, None),
            ast::Expr::Tuple(t) => t.elts.iter().for_each(|e| self.bind_target(s, e)),
            ast::Expr::List(l) => l.elts.iter().for_each(|e| self.bind_target(s, e)),
            ast::Expr::Starred(st) => self.bind_target(s, &st.value),
            // `obj.attr = ...`, `x[i] = ...`: evaluate the object and index.
            ast::Expr::Attribute(a) => self.visit_expr(s, &a.value),
            ast::Expr::Subscript(sub) => {
                self.visit_expr(s, &sub.value);
                self.visit_expr(s, &sub.slice);
            }
            other => self.visit_expr(s, other),
        }
    }

    /// The qualified origin of an expression, if it has one.
    fn resolve(&self, s: usize, expr: &ast::Expr) -> Option<Qual> {
        self.resolve_within(s, expr, RESOLVE_DEPTH)
    }

    /// Resolution looks at most `budget` attribute, call or walrus levels deep: no real
    /// qualified name is deeper, and the bound keeps hostile chains (`a.b.b.b…`, `f()()()…`)
    /// from making the analysis quadratic.
    fn resolve_within(&self, s: usize, expr: &ast::Expr, budget: usize) -> Option<Qual> {
        let budget = budget.checked_sub(1)?;
        match expr {
            ast::Expr::Name(n) => {
                let mut loaded = self.loaded.borrow_mut();
                if !loaded.contains(n.id.as_str()) {
                    loaded.insert(n.id.to_string());
                }
                self.lookup(s, &n.id)
            }
            ast::Expr::Attribute(a) => {
                if let Some(qual) = self.attribute_written(s, a) {
                    return Some(qual);
                }
                let base = self.resolve_within(s, &a.value, budget)?;
                if let Some(module) = base.strip_prefix(LOCAL) {
                    return self.local_name(module, &a.attr);
                }
                if let Some(key) = base.strip_prefix(CLASS) {
                    // An attribute of a class of this file, or of one it inherits from.
                    let key = key.parse().ok()?;
                    return self.written.get(&(key, a.attr.to_string())).cloned();
                }
                if let Some(inner) = base.strip_prefix(CONTAINER) {
                    // Methods of a container that hand its items back.
                    let returns = match a.attr.as_str() {
                        "get" | "pop" | "setdefault" | "__getitem__" | "popitem" => {
                            inner.to_string()
                        }
                        "values" | "copy" => base.to_string(),
                        "items" => format!("{CONTAINER}{base}"),
                        _ => return None,
                    };
                    return Some(Rc::from(format!("{RETURNS}{returns}")));
                }
                if is_marker(&base) {
                    return None;
                }
                Some(Rc::from(format!("{base}.{}", a.attr)))
            }
            ast::Expr::NamedExpr(w) => self.resolve_within(s, &w.value, budget),
            ast::Expr::Await(a) => self.resolve_within(s, &a.value, budget),
            // A lambda whose body may give dill, once a pass has seen it.
            ast::Expr::Lambda(l) => self
                .written
                .get(&(&*l.body as *const ast::Expr as usize, RETURN.to_string()))
                .map(|q| Rc::from(format!("{RETURNS}{q}"))),
            ast::Expr::Tuple(ast::ExprTuple { elts, .. })
            | ast::Expr::List(ast::ExprList { elts, .. })
            | ast::Expr::Set(ast::ExprSet { elts, .. }) => {
                container_of(either(elts.iter().map(|e| {
                    match e {
                        ast::Expr::Starred(st) => self
                            .resolve_within(s, &st.value, budget)
                            .and_then(|v| item_in(&v)),
                        other => self.resolve_within(s, other, budget),
                    }
                })))
            }
            ast::Expr::Dict(d) => {
                container_of(either(d.keys.iter().zip(&d.values).map(|(key, value)| {
                    let value = self.resolve_within(s, value, budget);
                    match key {
                        Some(_) => value,
                        // `{**other}` holds other's items.
                        None => value.and_then(|v| item_in(&v)),
                    }
                })))
            }
            ast::Expr::Call(call) => {
                // `stack.enter_context(conn)` enters it and gives what entering gives.
                if let ast::Expr::Attribute(a) = &*call.func {
                    if matches!(a.attr.as_str(), "enter_context" | "enter_async_context") {
                        if let Some(value) = call
                            .args
                            .first()
                            .and_then(|arg| self.resolve_within(s, arg, budget))
                            .filter(|v| !v.starts_with(CONTAINER) && may_be_dill(v))
                        {
                            return Some(value);
                        }
                    }
                }
                self.resolve_dynamic(s, call, budget)
                    .or_else(|| self.constant(s, expr))
            }
            // `[listener.accept() for _ in range(n)]`: a container of what each item may be
            // (an item that reads the loop's own names is not followed).
            ast::Expr::ListComp(ast::ExprListComp { elt, .. })
            | ast::Expr::SetComp(ast::ExprSetComp { elt, .. })
            | ast::Expr::GeneratorExp(ast::ExprGeneratorExp { elt, .. }) => {
                container_of(self.resolve_within(s, elt, budget))
            }
            // `sys.modules["dill"]`, `dill.__dict__["loads"]`, `vars(dill)["loads"]`.
            ast::Expr::Subscript(sub) => {
                let base = self.resolve_within(s, &sub.value, budget)?;
                if base.starts_with(CONTAINER) {
                    // Any item may be the one (a slice is a container again).
                    return match &*sub.slice {
                        ast::Expr::Slice(_) => Some(base),
                        _ => item_in(&base),
                    };
                }
                let key = self.const_of(s, &sub.slice)?;
                item_of(&base, &key)
            }
            ast::Expr::Constant(_) | ast::Expr::JoinedStr(_) | ast::Expr::BinOp(_) => {
                self.constant(s, expr)
            }
            // `dill if c else json`, `a or dill`: either value may be the one.
            ast::Expr::IfExp(e) => either([
                self.resolve_within(s, &e.body, budget),
                self.resolve_within(s, &e.orelse, budget),
            ]),
            ast::Expr::BoolOp(e) => {
                either(e.values.iter().map(|v| self.resolve_within(s, v, budget)))
            }
            _ => None,
        }
    }

    /// `importlib.import_module("dill")`, `__import__("dill")`, `getattr(dill, "loads")`.
    fn resolve_dynamic(&self, s: usize, call: &ast::ExprCall, budget: usize) -> Option<Qual> {
        let func = self.resolve_within(s, &call.func, budget)?;
        let literal = |i: usize| self.const_of(s, call.args.get(i)?);
        let keyword = |name: &str| {
            call.keywords
                .iter()
                .find(|k| k.arg.as_deref() == Some(name))
                .map(|k| &k.value)
        };
        // An argument given at a position or by its name, as a constant string.
        let argument =
            |i: usize, name: &str| self.const_of(s, call.args.get(i).or_else(|| keyword(name))?);
        if let Some(returned) = func.strip_prefix(RETURNS) {
            return Some(Rc::from(returned));
        }
        if func.starts_with(CLASS) {
            // An instance reads the attributes of its class.
            return Some(func);
        }
        // `dill.__getattribute__("loads")`, `type(dill).__getattribute__(dill, "loads")`,
        // `object.__getattribute__(dill, "loads")`.
        if let Some(owner) = func.strip_suffix(".__getattribute__") {
            let (base, attr) = match call.args.len() {
                1 => (Rc::from(owner), call.args.first()?),
                2 => (
                    self.resolve_within(s, &call.args[0], budget)?,
                    &call.args[1],
                ),
                _ => return None,
            };
            return self.attribute_named(s, &base, attr);
        }
        if let Some(name) = func.strip_prefix(ATTRGETTER) {
            // `operator.attrgetter("loads")(dill)` is `dill.loads`.
            let base = self.resolve_within(s, call.args.first()?, budget)?;
            return (!is_marker(&base)).then(|| Rc::from(format!("{base}.{name}")));
        }
        if let Some(module) = func.strip_suffix(".__dict__.get") {
            // `dill.__dict__.get("loads")`, `vars(dill).get("loads")`.
            return item_of(&format!("{module}.__dict__"), &literal(0)?);
        }
        if let Some(made) = self.library_made(s, call, &func) {
            return Some(made);
        }
        match &*func {
            "sys.modules.get" => item_of("sys.modules", &literal(0)?),
            "builtins.vars" => {
                let base = self.resolve_within(s, call.args.first()?, budget)?;
                (!is_marker(&base)).then(|| Rc::from(format!("{base}.__dict__")))
            }
            "operator.attrgetter" if call.args.len() == 1 => {
                let name = literal(0)?;
                Some(Rc::from(format!("{ATTRGETTER}{name}")))
            }
            "operator.methodcaller" => {
                let name = literal(0)?;
                Some(Rc::from(format!("{METHODCALLER}{name}")))
            }
            // `functools.partial(dill.loads, ...)` calls `dill.loads` when called.
            "functools.partial" => self.resolve_within(s, call.args.first()?, budget),
            // What these give back is (an item of) what they are given.
            "contextlib.nullcontext" => self.resolve_within(
                s,
                super::flow::argument(call, 0, &["enter_result"])?,
                budget,
            ),
            "importlib.reload" => self.resolve_within(s, call.args.first()?, budget),
            // `closing(conn)` enters as `conn`; `wait([conns])` gives back those ready.
            "contextlib.closing" | "multiprocess.connection.wait" => {
                self.resolve_within(s, call.args.first()?, budget)
            }
            "builtins.list" | "builtins.tuple" | "builtins.set" | "builtins.frozenset"
            | "builtins.sorted" | "builtins.reversed" | "builtins.iter" => self
                .resolve_within(s, call.args.first()?, budget)
                .filter(|v| v.starts_with(CONTAINER)),
            "builtins.next" => item_in(&self.resolve_within(s, call.args.first()?, budget)?),
            "builtins.dict" => container_of(either(
                call.args
                    .iter()
                    .map(|a| self.resolve_within(s, a, budget).and_then(|v| item_in(&v)))
                    .chain(call.keywords.iter().map(|k| {
                        let value = self.resolve_within(s, &k.value, budget);
                        match k.arg {
                            Some(_) => value,
                            None => value.and_then(|v| item_in(&v)),
                        }
                    })),
            )),
            // The class of the dill module, whose `__getattribute__` reads its attributes.
            "builtins.type" if call.args.len() == 1 => self
                .resolve_within(s, &call.args[0], budget)
                .filter(|v| rule::is_dill_module(v))
                .map(|_| Rc::from("types.ModuleType")),
            "builtins.object" => None,
            // `pkgutil.resolve_name("dill:loads")` and `("dill.loads")`.
            "pkgutil.resolve_name" => {
                let name = self.pick_name(s, super::flow::argument(call, 0, &["name"])?)?;
                Some(Rc::from(name.replace(':', ".")))
            }
            "pytest.importorskip" => {
                let name = self.pick_name(s, super::flow::argument(call, 0, &["modname"])?)?;
                Some(
                    self.local_module(0, &name)
                        .unwrap_or_else(|| Rc::from(name)),
                )
            }
            "importlib.util.find_spec" => {
                let name = self.pick_name(s, super::flow::argument(call, 0, &["name"])?)?;
                Some(Rc::from(format!("{SPEC}{name}")))
            }
            "importlib.util.module_from_spec" => {
                let spec = self.resolve_within(s, call.args.first()?, budget)?;
                spec.strip_prefix(SPEC).map(Rc::from)
            }
            "importlib.import_module" => {
                let name = argument(0, "name")?;
                if !name.starts_with('.') {
                    // A module of the repository is what it binds.
                    return Some(
                        self.local_module(0, &name)
                            .unwrap_or_else(|| Rc::from(name)),
                    );
                }
                // A relative name is resolved against `package` (second argument or keyword):
                // one dot is the package itself, each further dot one level up.
                let package = argument(1, "package")?;
                let rest = name.trim_start_matches('.');
                let ups = name.len() - rest.len() - 1;
                let mut parts: Vec<&str> = package.split('.').collect();
                for _ in 0..ups {
                    parts.pop()?;
                }
                if !rest.is_empty() {
                    parts.push(rest);
                }
                (!parts.is_empty()).then(|| Rc::from(parts.join(".")))
            }
            "builtins.__import__" | "importlib.__import__" => {
                let name = argument(0, "name")?;
                let fromlist = call.args.get(3).or_else(|| keyword("fromlist"));
                let wants_leaf = fromlist.is_some_and(|f| !is_empty_literal(f));
                let module = match wants_leaf {
                    true => name.as_str(),
                    false => name.split('.').next().unwrap_or(&name),
                };
                Some(
                    self.local_module(0, module)
                        .unwrap_or_else(|| Rc::from(module)),
                )
            }
            "builtins.getattr" => {
                let base = self.resolve_within(s, call.args.first()?, budget)?;
                self.attribute_named(s, &base, call.args.get(1)?)
            }
            _ => None,
        }
    }

    /// The attribute of `base` whose name `name` evaluates to; of the names it may evaluate to
    /// (`"loads" if fast else "dumps"`), one that may be dill's.
    fn attribute_named(&self, s: usize, base: &Qual, name: &ast::Expr) -> Option<Qual> {
        // A module of the repository: what it binds under that name.
        let local = base.strip_prefix(LOCAL);
        if is_marker(base) && local.is_none() {
            return None;
        }
        let mut first = None;
        for attr in self.const_choices(s, name) {
            let qual: Qual = match local {
                Some(module) => match self.local_name(module, &attr) {
                    Some(value) => value,
                    None => continue,
                },
                None => Rc::from(format!("{base}.{attr}")),
            };
            if may_be_dill(&qual) {
                return Some(qual);
            }
            first.get_or_insert(qual);
        }
        first
    }

    /// Of the constant strings an expression may evaluate to, one that may name dill, else
    /// the first.
    fn pick_name(&self, s: usize, expr: &ast::Expr) -> Option<String> {
        let choices = self.const_choices(s, expr);
        choices
            .iter()
            .find(|c| may_be_dill(c.split(':').next().unwrap_or(c)))
            .or(choices.first())
            .cloned()
    }

    /// The constant strings an expression may evaluate to: each branch of a conditional
    /// expression or a boolean operation, or its one value.
    fn const_choices(&self, s: usize, expr: &ast::Expr) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![expr];
        while let Some(expr) = stack.pop() {
            if out.len() >= 16 {
                break;
            }
            match expr {
                ast::Expr::IfExp(e) => {
                    stack.push(&e.orelse);
                    stack.push(&e.body);
                }
                ast::Expr::BoolOp(e) => stack.extend(e.values.iter().rev()),
                other => out.extend(self.const_of(s, other)),
            }
        }
        out
    }

    /// The constant string an expression evaluates to, if it is built from constants (and
    /// names holding one).
    fn const_of(&self, s: usize, expr: &ast::Expr) -> Option<String> {
        constant::text_of(expr, &|name| {
            self.lookup(s, name)
                .and_then(|q| q.strip_prefix(CONSTANT).map(String::from))
        })
    }

    /// A constant string as a value names can hold.
    fn constant(&self, s: usize, expr: &ast::Expr) -> Option<Qual> {
        self.const_of(s, expr)
            .map(|text| Rc::from(format!("{CONSTANT}{text}")))
    }

    /// What `self.name` holds in a method, when a method of the same class (or the class body)
    /// wrote something that may be dill there.
    fn attribute_written(&self, s: usize, a: &ast::ExprAttribute) -> Option<Qual> {
        if self.written.is_empty() {
            return None;
        }
        let ast::Expr::Name(n) = &*a.value else {
            return None;
        };
        let key = self.receiver_key(s, &n.id)?;
        self.written.get(&(key, a.attr.to_string())).cloned()
    }

    /// The attributes key of the instance a name is in scope `s`, when it is the receiver of the
    /// method around (and not rebound on the way).
    fn receiver_key(&self, s: usize, name: &str) -> Option<usize> {
        let mut at = s;
        loop {
            let scope = &self.scopes[at];
            if let Some((receiver, key)) = &scope.receiver {
                if &**receiver == name {
                    // Rebound inside the method (`self = other`): no longer the instance.
                    return matches!(scope.flow.get(name), Some(None)).then_some(*key);
                }
            }
            if scope.flow.contains_key(name) || scope.locals.contains(name) {
                return None;
            }
            at = scope.parent?;
        }
    }

    /// The file of a module of the repository a value names, when that module binds
    /// something that may be dill.
    fn exporting_file(&self, value: &str) -> Option<String> {
        let local = self.local?;
        let module = value.strip_prefix(LOCAL)?;
        let file = match module.strip_prefix('@') {
            Some(file) => file.to_string(),
            None => {
                let (level, dotted) = module.split_once(':')?;
                local
                    .modules
                    .get(&(level.parse().ok()?, dotted.to_string()))?
                    .clone()
            }
        };
        local
            .exports
            .get(&file)
            .is_some_and(|e| !e.is_empty())
            .then_some(file)
    }

    /// What `name` is in a repository module written `module` (`level:dotted.name`, or
    /// `@file` for one another module handed on): what the module binds it to, or its
    /// submodule of that name.
    fn local_name(&self, module: &str, name: &str) -> Option<Qual> {
        let local = self.local?;
        if let Some(file) = module.strip_prefix('@') {
            return local
                .exports
                .get(file)
                .and_then(|exports| exports.get(name))
                .map(|value| Rc::from(value.as_str()));
        }
        let (level, dotted) = module.split_once(':')?;
        let level: u32 = level.parse().ok()?;
        if let Some(value) = local
            .exports_of(level, dotted)
            .and_then(|exports| exports.get(name))
        {
            return Some(Rc::from(value.as_str()));
        }
        let sub = if dotted.is_empty() {
            name.to_string()
        } else {
            format!("{dotted}.{name}")
        };
        if local.modules.contains_key(&(level, sub.clone())) {
            return Some(Rc::from(format!("{LOCAL}{level}:{sub}")));
        }
        // An absolute name keeps its name when the module does not bind it: a copy of a
        // library kept in the repository is still that library.
        (level == 0).then(|| Rc::from(sub))
    }

    /// The value of a module of the repository that an import binds, when it is one. dill
    /// itself (a copy kept in the repository, or dill's own sources) stays dill.
    fn local_module(&self, level: u32, dotted: &str) -> Option<Qual> {
        if level == 0 && may_be_dill(dotted) {
            return None;
        }
        self.local?
            .modules
            .contains_key(&(level, dotted.to_string()))
            .then(|| Rc::from(format!("{LOCAL}{level}:{dotted}")))
    }

    /// Records that an attribute of a class's instances may hold dill.
    fn write_attribute(&mut self, key: usize, name: String, qual: Qual) {
        let key = (key, name);
        if !self.written.contains_key(&key) {
            self.new_writes.insert(key, qual);
        }
    }

    /// What a function (or lambda) returns or yields, when it may be dill: written under the
    /// function's key, so that from the next pass its calls give it.
    fn note_return(&mut self, s: usize, value: &ast::Expr) {
        let key = self.scopes[s].key;
        if self.scopes[s].kind != ScopeKind::Function || key == NO_KEY {
            return;
        }
        if let Some(qual) = self.resolve(s, value).filter(|q| may_be_dill(q)) {
            let key = (key, RETURN.to_string());
            if !self.written.contains_key(&key) {
                self.new_writes.insert(key, qual);
            }
        }
    }

    /// Binds the names of a target to a value, element by element: unpacking a container
    /// gives each name one of its items (a starred name, a container again).
    fn bind_value(&mut self, s: usize, target: &'a ast::Expr, value: Option<Qual>) {
        let mut pairs = Vec::new();
        spread(target, value, &mut pairs);
        self.bind_pairs(s, pairs);
    }

    /// Binds each name to its value; other targets (attributes, subscripts) are evaluated.
    fn bind_pairs(&mut self, s: usize, pairs: Vec<(&'a ast::Expr, Option<Qual>)>) {
        for (target, qual) in pairs {
            match target {
                ast::Expr::Name(n) => self.bind(s, &n.id, qual),
                other => self.bind_target(s, other),
            }
        }
    }

    /// The value a `with` statement binds from its context expression: what a class of this
    /// file returns from `__enter__` (`__aenter__`), else the value itself when it may be
    /// dill (a context manager yielding it, `contextlib.nullcontext(dill)`).
    fn entered(&self, s: usize, context: &ast::Expr, is_async: bool) -> Option<Qual> {
        let value = self.resolve(s, context)?;
        if let Some(key) = value.strip_prefix(CLASS) {
            let method = if is_async { "__aenter__" } else { "__enter__" };
            let returns = self.written.get(&(key.parse().ok()?, method.to_string()))?;
            return returns.strip_prefix(RETURNS).map(Rc::from);
        }
        (!value.starts_with(CONTAINER) && may_be_dill(&value)).then_some(value)
    }

    /// The parameters `@pytest.mark.parametrize("name", [values])` gives a test function.
    fn parametrized(&self, s: usize, decorator: &ast::Expr) -> Vec<(String, Qual)> {
        let ast::Expr::Call(call) = decorator else {
            return Vec::new();
        };
        let argument = |i: usize, name: &str| super::flow::argument(call, i, &[name]);
        let (Some(names), Some(values)) = (argument(0, "argnames"), argument(1, "argvalues"))
        else {
            return Vec::new();
        };
        let is_parametrize = self
            .resolve(s, &call.func)
            .is_some_and(|f| f.ends_with("mark.parametrize"));
        if !is_parametrize {
            return Vec::new();
        }
        let names: Vec<String> = match elements(names) {
            Some(elts) => elts.iter().filter_map(|e| self.const_of(s, e)).collect(),
            None => self
                .const_of(s, names)
                .map(|n| n.split(',').map(|p| p.trim().to_string()).collect())
                .unwrap_or_default(),
        };
        let Some(item) = self.resolve(s, values).as_deref().and_then(item_in) else {
            return Vec::new();
        };
        match names.as_slice() {
            [one] => vec![(one.clone(), item)],
            many => match item_in(&item) {
                Some(each) => many.iter().map(|n| (n.clone(), each.clone())).collect(),
                None => Vec::new(),
            },
        }
    }

    /// The functions of this file a name may be, looked up from scope `s` outwards.
    fn functions_named(&self, s: usize, name: &str) -> Vec<(usize, &'a ast::Arguments)> {
        let mut at = Some(s);
        while let Some(scope) = at {
            if let Some(found) = self.functions.get(&scope).and_then(|f| f.get(name)) {
                return found.clone();
            }
            at = self.scopes[scope].parent;
        }
        Vec::new()
    }

    /// A function of this file called, or handed to something that calls it with the
    /// arguments it is given (`threading.Thread(target=f, args=(conn,))`, `pool.submit(f,
    /// conn)`): its parameters are what they are given, where that may be dill or a library
    /// value that loads with it (written for the next pass, like writes to outer scopes).
    fn pass_arguments(&mut self, s: usize, call: &'a ast::ExprCall, callee: Option<&str>) {
        if self.functions.is_empty() || (call.args.is_empty() && call.keywords.is_empty()) {
            return;
        }
        let keyword = |name: &str| {
            call.keywords
                .iter()
                .find(|k| k.arg.as_deref() == Some(name))
                .map(|k| &k.value)
        };
        // The function, the positional arguments it gets, and the keyword arguments.
        let (function, positional, named): (&ast::Expr, Vec<&ast::Expr>, Vec<(&str, &ast::Expr)>) =
            match callee.unwrap_or("") {
                c if (c.ends_with(".Thread") || c.ends_with(".Process"))
                    && keyword("target").is_some() =>
                {
                    let Some(target) = keyword("target") else {
                        return;
                    };
                    let positional = keyword("args")
                        .and_then(|a| elements(a))
                        .map(|e| e.iter().collect())
                        .unwrap_or_default();
                    let named = match keyword("kwargs") {
                        Some(ast::Expr::Dict(d)) => d
                            .keys
                            .iter()
                            .zip(&d.values)
                            .filter_map(|(k, v)| match k {
                                Some(ast::Expr::Constant(c)) => match &c.value {
                                    ast::Constant::Str(k) => Some((k.as_str(), v)),
                                    _ => None,
                                },
                                _ => None,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    (target, positional, named)
                }
                _ => match &*call.func {
                    ast::Expr::Attribute(a)
                        if matches!(a.attr.as_str(), "submit" | "apply_async" | "apply")
                            && !call.args.is_empty() =>
                    {
                        let rest: Vec<&ast::Expr> = match a.attr.as_str() {
                            // `pool.apply_async(f, (conn,))`: the arguments as a tuple.
                            "apply_async" | "apply" => call
                                .args
                                .get(1)
                                .and_then(|t| elements(t))
                                .map(|e| e.iter().collect())
                                .unwrap_or_default(),
                            _ => call.args[1..].iter().collect(),
                        };
                        (&call.args[0], rest, Vec::new())
                    }
                    ast::Expr::Attribute(a)
                        if a.attr.as_str() == "run_in_executor" && call.args.len() >= 2 =>
                    {
                        (&call.args[1], call.args[2..].iter().collect(), Vec::new())
                    }
                    func => (
                        func,
                        call.args.iter().collect(),
                        call.keywords
                            .iter()
                            .filter_map(|k| Some((k.arg.as_deref()?, &k.value)))
                            .collect(),
                    ),
                },
            };
        let ast::Expr::Name(name) = function else {
            return;
        };
        let functions = self.functions_named(s, &name.id);
        if functions.is_empty() {
            return;
        }
        let mut given: Vec<(Option<usize>, Option<&str>, Qual)> = Vec::new();
        for (i, arg) in positional.iter().enumerate() {
            if matches!(arg, ast::Expr::Starred(_)) {
                break;
            }
            if let Some(value) = self.resolve(s, arg).filter(|v| may_be_dill(v)) {
                given.push((Some(i), None, value));
            }
        }
        for (word, arg) in named {
            if let Some(value) = self.resolve(s, arg).filter(|v| may_be_dill(v)) {
                given.push((None, Some(word), value));
            }
        }
        for (key, args) in functions {
            let params: Vec<&str> = args
                .posonlyargs
                .iter()
                .chain(&args.args)
                .map(|a| a.def.arg.as_str())
                .collect();
            for (position, word, value) in &given {
                let param = match (position, word) {
                    (Some(i), _) => params.get(*i).copied(),
                    (_, Some(w)) => args
                        .args
                        .iter()
                        .chain(&args.kwonlyargs)
                        .map(|a| a.def.arg.as_str())
                        .find(|p| p == w),
                    _ => None,
                };
                if let Some(param) = param {
                    let slot = (key, param.to_string());
                    if !self.written.contains_key(&slot) {
                        self.new_writes.insert(slot, value.clone());
                    }
                }
            }
        }
    }

    /// The value a call of a library that loads with dill gives (`Client(addr)` is
    /// `multiprocess.connection.Client()`, see [`rule::Library`]), when it leads to a call that
    /// loads and the library's condition holds (`file_archive(path, serialized=False)` loads
    /// nothing with dill).
    fn library_made(&self, s: usize, call: &ast::ExprCall, func: &str) -> Option<Qual> {
        if is_marker(func) || !rule::leads_to_library(func) {
            return None;
        }
        let path = format!("{func}()");
        if !rule::leads_to_library(&path) {
            return None;
        }
        let argument = |position: Option<usize>, keyword: &str| {
            position
                .and_then(|p| call.args.get(p))
                .filter(|a| !matches!(a, ast::Expr::Starred(_)))
                .or_else(|| {
                    call.keywords
                        .iter()
                        .find(|k| k.arg.as_deref() == Some(keyword))
                        .map(|k| &k.value)
                })
        };
        // Arguments spread from a sequence or a dictionary may be anything.
        let spread = call.args.iter().any(|a| matches!(a, ast::Expr::Starred(_)))
            || call.keywords.iter().any(|k| k.arg.is_none());
        fn constant(a: &ast::Expr) -> Option<&ast::Constant> {
            match a {
                ast::Expr::Constant(c) => Some(&c.value),
                _ => None,
            }
        }
        for made in rule::library_maker(func).unwrap_or_default() {
            if spread {
                break;
            }
            let holds = match *made {
                rule::Made::UnlessFalse(position, keyword) => !argument(position, keyword)
                    .and_then(constant)
                    .is_some_and(|c| {
                        matches!(c, ast::Constant::Bool(false))
                            || matches!(c, ast::Constant::Int(i) if i.to_string() == "0")
                    }),
                rule::Made::UnlessTrue(position, keyword) => !argument(position, keyword)
                    .and_then(constant)
                    .is_some_and(|c| matches!(c, ast::Constant::Bool(true))),
                // A string, spelled here or held by a name (`serializer=SERIALIZER`).
                rule::Made::UnlessString(position, keyword) => {
                    argument(position, keyword).is_none_or(|a| self.const_of(s, a).is_none())
                }
                rule::Made::UnlessEqual(position, keyword, text) => argument(position, keyword)
                    .is_none_or(|a| self.const_of(s, a).as_deref() != Some(text)),
                rule::Made::IfGiven(position, keyword) => {
                    argument(position, keyword).is_some_and(|a| match a {
                        ast::Expr::Constant(c) => match &c.value {
                            ast::Constant::None | ast::Constant::Bool(false) => false,
                            ast::Constant::Str(text) => !text.is_empty(),
                            _ => true,
                        },
                        other => !is_empty_literal(other),
                    })
                }
            };
            if !holds {
                return None;
            }
        }
        Some(Rc::from(path))
    }

    /// A library's method that loads handed on to be called elsewhere
    /// (`loop.run_in_executor(None, conn.recv)`, `Thread(target=conn.recv)`): reported where
    /// it is handed on.
    fn check_library_references(&mut self, s: usize, call: &ast::ExprCall) {
        // Only an attribute named as the last part of a library call is worth resolving.
        let handed = call
            .args
            .iter()
            .chain(call.keywords.iter().map(|k| &k.value))
            .filter(|a| {
                matches!(a, ast::Expr::Attribute(at) if rule::library_call_names().contains(at.attr.as_str()))
            });
        let mut found = Vec::new();
        for arg in handed {
            let library = self
                .resolve(s, arg)
                .filter(|v| !is_marker(v) && rule::leads_to_library(v))
                .and_then(|v| rule::library_for(&format!("{v}()")));
            if let Some(library) = library {
                found.push((arg.range(), library));
            }
        }
        for (range, library) in found {
            self.report_library(range, library);
        }
    }

    /// The library call that loads a call makes, if any (see [`rule::Library`]).
    fn library_called(
        &self,
        s: usize,
        call: &ast::ExprCall,
        callee: Option<&Qual>,
    ) -> Option<&'static rule::Library> {
        let made = self.library_made(s, call, callee?)?;
        rule::library_for(&made)
    }

    fn report_library(
        &mut self,
        range: ast::text_size::TextRange,
        library: &'static rule::Library,
    ) {
        self.report_routed(
            range,
            library.reaches,
            UseKind::Library,
            Route::Library(library),
        );
    }

    fn sink_of(&self, s: usize, expr: &ast::Expr) -> Option<&'static Sink> {
        self.resolve(s, expr).and_then(|q| rule::sink_for(&q))
    }

    fn hit(&self, range: ast::text_size::TextRange, sink: &'static Sink, kind: UseKind) -> Hit {
        let (start, end): (usize, usize) = (range.start().into(), range.end().into());
        let (start, end, stmt, route) = match &self.origin {
            None => (start, end, self.stmt, Route::Direct),
            Some(o) => {
                let (start, end) = match o.base {
                    Some(base) => (base + start, base + end),
                    None => o.literal,
                };
                (start, end, o.stmt, Route::Embedded(o.what))
            }
        };
        Hit {
            provenance: Default::default(),
            piece: self.piece,
            start,
            end,
            sink,
            kind,
            stmt,
            route,
        }
    }

    fn report(&mut self, range: ast::text_size::TextRange, sink: &'static Sink, kind: UseKind) {
        let hit = self.hit(range, sink, kind);
        self.hits.push(hit);
    }

    /// Reports the dill module handed over at `range` (to `to`, the way `handover` says).
    fn report_handover(
        &mut self,
        range: ast::text_size::TextRange,
        handover: &'static rule::Handover,
        to: String,
    ) {
        self.report_routed(
            range,
            handover.reaches,
            UseKind::Module,
            Route::Handover { handover, to },
        );
    }

    /// Reports the sink `reaches` at `range`, reached the way `route` says (unless the use is
    /// inside a string of code, which is the route it reports).
    fn report_routed(
        &mut self,
        range: ast::text_size::TextRange,
        reaches: &str,
        kind: UseKind,
        route: Route,
    ) {
        let Some(sink) = rule::sink_for(reaches) else {
            return;
        };
        let mut hit = self.hit(range, sink, kind);
        if hit.route == Route::Direct {
            hit.route = route;
        }
        self.hits.push(hit);
    }

    /// Whether an expression may be the dill module itself.
    fn is_dill_module(&self, s: usize, expr: &ast::Expr) -> bool {
        self.resolve(s, expr)
            .is_some_and(|q| rule::is_dill_module(&q))
    }

    /// The sink a call runs: its callee's, or for `operator.methodcaller("loads", raw)(dill)`
    /// the method it names on its argument.
    fn sink_called(
        &self,
        s: usize,
        call: &ast::ExprCall,
        callee: Option<&Qual>,
    ) -> Option<&'static Sink> {
        let callee = callee?;
        if let Some(method) = callee.strip_prefix(METHODCALLER) {
            let base = self.resolve(s, call.args.first()?)?;
            return rule::sink_for(&format!("{base}.{method}"));
        }
        rule::sink_for(callee)
    }

    /// The dill module passed to a call that hands it to a loader: as a keyword of the
    /// hand-over table (`pickle_module=dill`), or at a known API's position
    /// (`torch.load(f, None, dill)`). An API that only writes takes it harmlessly.
    fn check_handovers(&mut self, s: usize, call: &ast::ExprCall, callee: Option<&Qual>) {
        // Most calls hand nothing over: settled without allocating.
        let qualified = callee.filter(|q| !is_marker(q)).map(|q| &**q);
        let by_keyword = call.keywords.iter().any(|k| {
            k.arg
                .as_deref()
                .and_then(rule::handover)
                .is_some_and(|h| h.keyword_too)
        });
        let by_position = qualified.is_some_and(|api| {
            (0..call.args.len()).any(|i| rule::positional_handover(api, i).is_some())
        });
        let by_setattr = qualified == Some("builtins.setattr") && call.args.len() == 3;
        // `kw.setdefault("pickle_module", dill)`, `kw.__setitem__(...)`: keyword arguments
        // being made, as `kw["pickle_module"] = dill`.
        if let ast::Expr::Attribute(a) = &*call.func {
            if matches!(a.attr.as_str(), "setdefault" | "__setitem__") && call.args.len() == 2 {
                if let Some(word) = self.const_of(s, &call.args[0]) {
                    self.check_keyword_item(s, &word, &call.args[1]);
                }
            }
        }
        if !(by_keyword || by_position || by_setattr) {
            return;
        }
        let api = match qualified {
            Some(q) => q.to_string(),
            None => dotted(&call.func),
        };
        if rule::only_writes(&api) {
            return;
        }
        // (A literal dictionary unpacked into the call, `**{"pickle_module": dill}`, is a
        // dictionary of keyword arguments like any other: see `check_keyword_dict`.)
        for k in &call.keywords {
            let Some(word) = k.arg.as_deref() else {
                continue;
            };
            if let Some(handover) = rule::handover(word).filter(|h| h.keyword_too) {
                if self.is_dill_module(s, &k.value) {
                    self.report_handover(k.value.range(), handover, format!("{api}({word}=)"));
                }
            }
        }
        for (i, arg) in call.args.iter().enumerate() {
            if let Some(handover) = rule::positional_handover(&api, i) {
                if self.is_dill_module(s, arg) {
                    self.report_handover(
                        arg.range(),
                        handover,
                        format!("{api}({})", handover.keyword),
                    );
                }
            }
        }
        // `setattr(serialize, "pickle", dill)` is `serialize.pickle = dill`.
        if by_setattr {
            if let Some(name) = self.const_of(s, &call.args[1]) {
                self.assign_attribute(s, &call.args[0], &name, &call.args[2], call.args[2].range());
            }
        }
    }

    /// A literal dictionary mapping a hand-over keyword to the dill module: keyword arguments
    /// made to be unpacked into a call (`kw = {"pickle_module": dill}; torch.load(f, **kw)`),
    /// reported where the module is put in.
    fn check_keyword_dict(&mut self, s: usize, d: &ast::ExprDict) {
        for (key, value) in d.keys.iter().zip(&d.values) {
            let Some(key) = key else {
                continue;
            };
            // A plain literal key is read as it is; only others are evaluated.
            let word = match key {
                ast::Expr::Constant(ast::ExprConstant {
                    value: ast::Constant::Str(text),
                    ..
                }) => std::borrow::Cow::Borrowed(text.as_str()),
                other => match self.const_of(s, other) {
                    Some(text) => std::borrow::Cow::Owned(text),
                    None => continue,
                },
            };
            self.check_keyword_item(s, &word, value);
        }
    }

    /// The dill module put under a hand-over keyword into keyword arguments made to be
    /// unpacked into a call: `{"pickle_module": dill}`, `kw["pickle_module"] = dill`,
    /// `kw.setdefault("pickle_module", dill)`. Reported where the module is put in.
    fn check_keyword_item(&mut self, s: usize, word: &str, value: &ast::Expr) {
        if let Some(handover) = rule::handover(word).filter(|h| h.keyword_too) {
            if self.is_dill_module(s, value) {
                self.report_handover(value.range(), handover, format!("**{{\"{word}\": …}}"));
            }
        }
    }

    /// An attribute of another object set to a value: `self.codec = dill` in a method makes the
    /// class's `self.codec` dill in all its methods; the dill module set as an attribute a
    /// hand-over names (`serialize.pickle = dill`) hands it to that object's code.
    fn assign_attribute(
        &mut self,
        s: usize,
        object: &ast::Expr,
        name: &str,
        value: &ast::Expr,
        at: ast::text_size::TextRange,
    ) {
        let Some(qual) = self.resolve(s, value).filter(|q| may_be_dill(q)) else {
            return;
        };
        if let ast::Expr::Name(n) = object {
            if let Some(key) = self.receiver_key(s, &n.id) {
                self.write_attribute(key, name.to_string(), qual);
                return;
            }
        }
        // A module's global set from outside: that module reads the value there.
        if let Some(module) = self.resolve(s, object) {
            let spec = match module.strip_prefix(LOCAL) {
                Some(local) => local
                    .split_once(':')
                    .and_then(|(level, dotted)| Some((level.parse().ok()?, dotted.to_string()))),
                None if !is_marker(&module) && !may_be_dill(&module) => {
                    Some((0, module.to_string()))
                }
                None => None,
            };
            if let Some((level, module)) = spec {
                if !qual.starts_with(CONSTANT) {
                    self.patches.push(Patch {
                        level,
                        module,
                        name: name.to_string(),
                        value: qual.to_string(),
                    });
                }
            }
        }
        if rule::is_dill_module(&qual) {
            if let Some(handover) = rule::handover(name) {
                self.report_handover(at, handover, format!("{}.{name}", dotted(object)));
            }
        }
    }

    /// An item set to something that may be dill: `sys.modules["pickle"] = dill` makes later
    /// imports of `pickle` dill (from the next pass); `kw["pickle_module"] = dill` puts the
    /// module into keyword arguments made to be unpacked into a call, like a literal
    /// dictionary (see `check_keyword_dict`).
    fn assign_item(&mut self, s: usize, sub: &ast::ExprSubscript, value: &ast::Expr) {
        let Some(key) = self.const_of(s, &sub.slice) else {
            return;
        };
        let Some(qual) = self.resolve(s, value).filter(|q| may_be_dill(q)) else {
            return;
        };
        if self.resolve(s, &sub.value).as_deref() == Some("sys.modules") {
            // Written with where it happens: imports before it are not changed.
            let key = (0, format!("{SWAPPED}{key}"));
            if !self.written.contains_key(&key) {
                let at = format!("{}:{}\u{0}{qual}", self.piece, self.stmt);
                self.new_writes.insert(key, Rc::from(at));
            }
        }
        self.check_keyword_item(s, &key, value);
    }

    /// What `sys.modules` was given under a module's name, which an import after it (or in
    /// a function, which runs later) then binds.
    fn swapped(&self, module: &str, s: usize) -> Option<Qual> {
        if self.written.is_empty() {
            return None;
        }
        let written = self.written.get(&(0, format!("{SWAPPED}{module}")))?;
        let (at, qual) = written.split_once('\u{0}')?;
        let (piece, stmt) = at.split_once(':')?;
        let at: (usize, usize) = (piece.parse().ok()?, stmt.parse().ok()?);
        let later = self.scopes[s].kind == ScopeKind::Function || (self.piece, self.stmt) > at;
        later.then(|| Rc::from(qual))
    }

    /// A string of code given to `exec`, `eval` or `compile`: analysed in the scope of the call
    /// once parsed (the next pass, the first time it is met).
    fn visit_embedded(&mut self, s: usize, what: &'static str, code: &'a ast::Expr) {
        let key = (
            self.piece,
            self.origin.map_or(0, |o| o.index + 1),
            usize::from(code.range().start()),
        );
        match self.embedded.by_key.get(&key) {
            Some(&index) => {
                let (suite, origin) = &self.embedded.parsed[index];
                let outer = self.origin.replace(*origin);
                let stmt = self.stmt;
                self.visit_body(s, suite);
                self.stmt = stmt;
                self.origin = outer;
            }
            None => {
                if let Some(text) = self.const_of(s, code) {
                    let here = self.hit(code.range(), &rule::SINKS[0], UseKind::Call);
                    self.wanted.push(Wanted {
                        key,
                        code: text,
                        literal: (here.start, here.end),
                        what,
                        stmt: here.stmt,
                    });
                }
            }
        }
    }

    /// Reports the aliases no code in the file reads, and the imported sinks `__all__` lists
    /// that no code in the file reads (re-exports).
    fn report_unread(&mut self) {
        let loaded = self.loaded.borrow();
        for (name, hit) in self.aliases.drain(..) {
            if !loaded.contains(&name) {
                self.hits.push(hit);
            }
        }
        for (name, hit) in self.exports.drain(..) {
            if self.all.contains(&name) && !loaded.contains(&name) {
                self.hits.push(hit);
            }
        }
    }

    /// Records the names a module-level `__all__ = [...]`, `+= [...]`, `.extend([...])` or
    /// `.append("...")` lists.
    fn note_all(&mut self, s: usize, target: &ast::Expr, value: &ast::Expr) {
        if s != 0 || !matches!(target, ast::Expr::Name(n) if n.id.as_str() == "__all__") {
            return;
        }
        let elts = elements(value).unwrap_or(std::slice::from_ref(value));
        for elt in elts {
            if let ast::Expr::Constant(c) = elt {
                if let ast::Constant::Str(name) = &c.value {
                    self.all.insert(name.clone());
                }
            }
        }
    }

    /// Visits an annotation: calls in it run (when the definition runs, or when the annotation
    /// is evaluated), but a sink named there is a type.
    fn visit_annotation(&mut self, s: usize, expr: Option<&'a ast::Expr>) {
        let outer = std::mem::replace(&mut self.annotation, true);
        self.visit_opt(s, expr);
        self.annotation = outer;
    }

    /// The scope of type parameters (`def f[T]`, `class C[T]`): the parameters are bound in
    /// it, and their bounds and defaults are annotations evaluated in it. `None` without any.
    fn type_param_scope(&mut self, s: usize, params: &'a [ast::TypeParam]) -> Option<usize> {
        if params.is_empty() {
            return None;
        }
        let mut scope = Scope::new(ScopeKind::Function, Some(self.enclosing_for_functions(s)));
        for param in params {
            let name = match param {
                ast::TypeParam::TypeVar(t) => &t.name,
                ast::TypeParam::ParamSpec(p) => &p.name,
                ast::TypeParam::TypeVarTuple(t) => &t.name,
            };
            scope.locals.insert(name.to_string());
            scope.flow.insert(name.as_str().into(), None);
        }
        self.scopes.push(scope);
        let t = self.scopes.len() - 1;
        for param in params {
            if let ast::TypeParam::TypeVar(v) = param {
                self.visit_annotation(t, v.bound.as_deref());
            }
        }
        Some(t)
    }

    // ---- statements ----------------------------------------------------------------------

    fn visit_body(&mut self, s: usize, body: &'a [ast::Stmt]) {
        for stmt in body {
            self.visit_stmt(s, stmt);
        }
    }

    /// Runs each branch from the current state and leaves the merge of their end states: a
    /// name that may hold an origin after any branch holds it. `fallthrough` keeps the state
    /// before the branches as one more possible outcome (no branch taken).
    fn branches(&mut self, s: usize, fallthrough: bool, runs: Vec<Branch<'a>>) {
        let before = self.scopes[s].flow.clone();
        let mut merged: Option<Flow> = fallthrough.then(|| before.clone());
        for run in runs {
            self.scopes[s].flow = before.clone();
            run(self);
            let end = std::mem::take(&mut self.scopes[s].flow);
            merged = Some(match merged {
                None => end,
                Some(acc) => merge(acc, end),
            });
        }
        self.scopes[s].flow = merged.unwrap_or(before);
    }

    fn visit_stmt(&mut self, s: usize, stmt: &'a ast::Stmt) {
        let outer = std::mem::replace(&mut self.stmt, stmt.range().start().into());
        self.visit_stmt_kind(s, stmt);
        self.stmt = outer;
    }

    fn visit_stmt_kind(&mut self, s: usize, stmt: &'a ast::Stmt) {
        use ast::Stmt;
        match stmt {
            Stmt::FunctionDef(f) => self.visit_function_def(
                s,
                &f.name,
                &f.args,
                &f.body,
                &f.decorator_list,
                f.returns.as_deref(),
                &f.type_params,
            ),
            Stmt::AsyncFunctionDef(f) => self.visit_function_def(
                s,
                &f.name,
                &f.args,
                &f.body,
                &f.decorator_list,
                f.returns.as_deref(),
                &f.type_params,
            ),
            Stmt::ClassDef(c) => {
                self.visit_exprs(s, &c.decorator_list);
                let t = self.type_param_scope(s, &c.type_params);
                let head = t.unwrap_or(s);
                self.visit_exprs(head, &c.bases);
                for k in &c.keywords {
                    self.visit_expr(head, &k.value);
                }
                // Class scopes do not nest: a class body sees the scope around its classes
                // (through its type parameters' scope, when it has some).
                let parent = t.unwrap_or_else(|| self.past_classes(s));
                let mut scope = Scope::new(ScopeKind::Class, Some(parent));
                scope.key = c as *const ast::StmtClassDef as usize;
                self.scopes.push(scope);
                let cs = self.scopes.len() - 1;
                self.visit_body(cs, &c.body);
                // A class attribute that may be dill is read through `self` in its methods.
                let key = attributes_key(self.scopes[cs].key);
                let attributes: Vec<(String, Qual)> = self.scopes[cs]
                    .ever
                    .iter()
                    .filter(|(_, q)| may_be_dill(q))
                    .map(|(n, q)| (n.clone(), q.clone()))
                    .collect();
                for (name, qual) in attributes {
                    self.write_attribute(key, name, qual);
                }
                // What its bases of this file hold, it holds.
                for base in &c.bases {
                    let Some(base) = self.resolve(head, base) else {
                        continue;
                    };
                    let Some(base_key) = base
                        .strip_prefix(CLASS)
                        .and_then(|k| k.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    let inherited: Vec<(String, Qual)> = self
                        .written
                        .iter()
                        .filter(|((k, _), _)| *k == base_key)
                        .map(|((_, name), q)| (name.clone(), q.clone()))
                        .collect();
                    for (name, qual) in inherited {
                        self.write_attribute(key, name, qual);
                    }
                }
                // A class made from a library's class that loads with dill makes what that
                // class makes (`class QueueManager(BaseManager): pass`).
                let library_base = c.bases.iter().find_map(|base| {
                    self.resolve(head, base)
                        .filter(|q| !is_marker(q) && rule::library_maker(q).is_some())
                });
                let class = library_base.unwrap_or_else(|| Rc::from(format!("{CLASS}{key}")));
                self.bind(s, &c.name, Some(class));
            }
            Stmt::Return(r) => {
                self.visit_opt(s, r.value.as_deref());
                if let Some(value) = &r.value {
                    self.note_return(s, value);
                }
            }
            Stmt::Delete(d) => {
                for target in &d.targets {
                    self.bind_target(s, target);
                }
            }
            Stmt::Assign(a) => self.visit_assign(s, &a.targets, Some(&a.value)),
            Stmt::AnnAssign(a) => {
                // Module and class bodies evaluate annotations as they run; functions do not.
                if self.scopes[s].kind != ScopeKind::Function {
                    self.visit_annotation(s, Some(&a.annotation));
                }
                self.visit_assign(s, std::slice::from_ref(&a.target), a.value.as_deref())
            }
            Stmt::AugAssign(a) => {
                self.note_all(s, &a.target, &a.value);
                self.visit_expr(s, &a.value);
                self.visit_expr(s, &a.target);
                self.bind_target(s, &a.target);
            }
            Stmt::TypeAlias(t) => {
                // The value is evaluated lazily, in the scope of the alias's type parameters.
                let at = self.type_param_scope(s, &t.type_params).unwrap_or(s);
                self.visit_annotation(at, Some(&t.value));
                self.bind_target(s, &t.name);
            }
            Stmt::For(f) => self.visit_for(s, &f.target, &f.iter, &f.body, &f.orelse),
            Stmt::AsyncFor(f) => self.visit_for(s, &f.target, &f.iter, &f.body, &f.orelse),
            Stmt::While(w) => {
                self.visit_expr(s, &w.test);
                let (body, orelse) = (&w.body, &w.orelse);
                self.branches(
                    s,
                    true,
                    vec![Box::new(move |b: &mut Self| {
                        b.visit_loop_body(s, &|b: &mut Self| b.visit_body(s, body))
                    })],
                );
                self.visit_body(s, orelse);
            }
            Stmt::If(i) => {
                self.visit_expr(s, &i.test);
                let (body, orelse) = (&i.body, &i.orelse);
                self.branches(
                    s,
                    false,
                    vec![
                        Box::new(move |b: &mut Self| b.visit_body(s, body)),
                        Box::new(move |b: &mut Self| b.visit_body(s, orelse)),
                    ],
                );
            }
            Stmt::With(w) => self.visit_with(s, &w.items, &w.body, false),
            Stmt::AsyncWith(w) => self.visit_with(s, &w.items, &w.body, true),
            Stmt::Match(m) => {
                self.visit_expr(s, &m.subject);
                let subject = self.resolve(s, &m.subject);
                let runs = m
                    .cases
                    .iter()
                    .map(|case| {
                        let subject = subject.clone();
                        Box::new(move |b: &mut Self| {
                            b.visit_pattern(s, &case.pattern);
                            // `case name:` and `case ... as name:` capture the subject whole.
                            if let ast::Pattern::MatchAs(ast::PatternMatchAs {
                                name: Some(name),
                                ..
                            }) = &case.pattern
                            {
                                b.bind(s, name, subject);
                            }
                            b.visit_opt(s, case.guard.as_deref());
                            b.visit_body(s, &case.body);
                        }) as Branch<'a>
                    })
                    .collect();
                self.branches(s, true, runs);
            }
            Stmt::Raise(r) => {
                self.visit_opt(s, r.exc.as_deref());
                self.visit_opt(s, r.cause.as_deref());
            }
            Stmt::Try(t) => self.visit_try(s, &t.body, &t.handlers, &t.orelse, &t.finalbody),
            Stmt::TryStar(t) => self.visit_try(s, &t.body, &t.handlers, &t.orelse, &t.finalbody),
            Stmt::Assert(a) => {
                self.visit_expr(s, &a.test);
                self.visit_opt(s, a.msg.as_deref());
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let (local, qual) = import_bindings(&alias.name, alias.asname.as_deref());
                    let qual = self
                        .swapped(&qual, s)
                        .or_else(|| self.local_module(0, &qual))
                        .unwrap_or(qual);
                    self.bind(s, &local, Some(qual));
                }
            }
            Stmt::ImportFrom(i) => {
                let level = i.level.map_or(0, |l| l.to_u32());
                let relative = level > 0;
                let dotted = i.module.as_deref().unwrap_or("");
                if let Some(module) = self.local_module(level, dotted) {
                    // A module of the repository: each name is what it binds there.
                    let module = &module[LOCAL.len()..];
                    for alias in &i.names {
                        if alias.name.as_str() == "*" {
                            let exported: Vec<(String, String)> = self
                                .local
                                .and_then(|l| l.exports_of(level, dotted))
                                .map(|e| e.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                                .unwrap_or_default();
                            for (name, value) in exported {
                                self.bind(s, &name, Some(Rc::from(value)));
                            }
                            continue;
                        }
                        let name = alias.asname.as_deref().unwrap_or(&alias.name);
                        let value = self.local_name(module, &alias.name);
                        self.bind(s, name, value);
                    }
                    return;
                }
                if let Some(swapped) = i.module.as_deref().and_then(|m| self.swapped(m, s)) {
                    // `from pickle import loads` once `sys.modules["pickle"]` is dill.
                    for alias in &i.names {
                        let name = alias.asname.as_deref().unwrap_or(&alias.name);
                        self.bind(s, name, Some(Rc::from(format!("{swapped}.{}", alias.name))));
                    }
                    return;
                }
                for alias in &i.names {
                    match (&i.module, relative) {
                        (Some(module), false) => {
                            for (local, qual) in
                                import_from_bindings(module, &alias.name, alias.asname.as_deref())
                            {
                                if let Some(sink) = rule::sink_for(&qual).filter(|_| s == 0) {
                                    let hit = self.hit(alias.range, sink, UseKind::Reference);
                                    self.exports.push((local.clone(), hit));
                                }
                                self.bind(s, &local, Some(qual));
                            }
                        }
                        // A package-relative import is local code, never dill.
                        _ if alias.name.as_str() != "*" => {
                            // Local code: never dill itself, but a module of the repository a
                            // global can be set on (`serialize.pickle = dill`).
                            let local = alias.asname.as_deref().unwrap_or(&alias.name);
                            let sub = match dotted {
                                "" => alias.name.to_string(),
                                d => format!("{d}.{}", alias.name),
                            };
                            self.bind(s, local, Some(Rc::from(format!("{LOCAL}{level}:{sub}"))));
                        }
                        _ => {}
                    }
                }
            }
            Stmt::Global(_) | Stmt::Nonlocal(_) => {}
            Stmt::Expr(e) => {
                // `__all__.extend([...])`, `__all__.append("...")`.
                if let ast::Expr::Call(call) = &*e.value {
                    if let (ast::Expr::Attribute(a), Some(arg)) = (&*call.func, call.args.first()) {
                        if matches!(a.attr.as_str(), "extend" | "append") {
                            self.note_all(s, &a.value, arg);
                        }
                    }
                }
                self.visit_expr(s, &e.value)
            }
            Stmt::Pass(_) | Stmt::Break(_) | Stmt::Continue(_) => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn visit_function_def(
        &mut self,
        s: usize,
        name: &str,
        args: &'a ast::Arguments,
        body: &'a [ast::Stmt],
        decorators: &'a [ast::Expr],
        returns: Option<&'a ast::Expr>,
        type_params: &'a [ast::TypeParam],
    ) {
        self.visit_exprs(s, decorators);
        self.visit_defaults(s, args);
        // Annotations are evaluated when the definition runs (before Python 3.14), in the scope
        // of the function's type parameters when it has some.
        let t = self.type_param_scope(s, type_params);
        let head = t.unwrap_or(s);
        for arg in args
            .posonlyargs
            .iter()
            .chain(&args.args)
            .chain(&args.kwonlyargs)
        {
            self.visit_annotation(head, arg.def.annotation.as_deref());
        }
        for arg in args.vararg.iter().chain(&args.kwarg) {
            self.visit_annotation(head, arg.annotation.as_deref());
        }
        self.visit_annotation(head, returns);
        // A function that returns (or yields) what may be dill gives it when called.
        let key = body.as_ptr() as usize;
        self.functions
            .entry(s)
            .or_default()
            .entry(name.to_string())
            .or_default()
            .push((key, args));
        let returns = self
            .written
            .get(&(key, RETURN.to_string()))
            .map(|q| Rc::from(format!("{RETURNS}{q}")));
        self.bind(s, name, returns);
        let parametrized: Vec<(String, Qual)> = decorators
            .iter()
            .flat_map(|d| self.parametrized(s, d))
            .collect();
        if !parametrized.is_empty() {
            self.arguments.insert(key, parametrized);
        }
        let parent = t.unwrap_or_else(|| self.enclosing_for_functions(s));
        // A method's first parameter is the instance (or class) its attributes are read from;
        // a static method has none.
        let is_static = decorators
            .iter()
            .any(|d| matches!(d, ast::Expr::Name(n) if n.id.as_str() == "staticmethod"));
        let attributes = (self.scopes[s].kind == ScopeKind::Class && !is_static)
            .then(|| attributes_key(self.scopes[s].key));
        self.deferred.push_back(Deferred::Function {
            args,
            body,
            parent,
            piece: self.piece,
            origin: self.origin,
            attributes,
        });
    }

    fn visit_defaults(&mut self, s: usize, args: &'a ast::Arguments) {
        for arg in args
            .posonlyargs
            .iter()
            .chain(&args.args)
            .chain(&args.kwonlyargs)
        {
            self.visit_opt(s, arg.default.as_deref());
        }
    }

    fn visit_assign(&mut self, s: usize, targets: &'a [ast::Expr], value: Option<&'a ast::Expr>) {
        let Some(value) = value else {
            // A bare annotation binds nothing.
            return;
        };
        for target in targets {
            self.note_all(s, target, value);
        }
        let qual = self.resolve(s, value);
        let plain_names = targets.iter().all(|t| matches!(t, ast::Expr::Name(_)));
        match qual.as_deref().and_then(rule::sink_for) {
            // `f = dill.loads`: an alias; its calls are reported where they happen. In a class
            // body the alias becomes an attribute that escapes the scope, so report it here.
            Some(sink) if plain_names => {
                if self.scopes[s].kind == ScopeKind::Class {
                    self.report(value.range(), sink, UseKind::Reference);
                } else {
                    for target in targets {
                        if let ast::Expr::Name(n) = target {
                            self.aliases.push((
                                n.id.to_string(),
                                self.hit(value.range(), sink, UseKind::Reference),
                            ));
                        }
                    }
                }
                self.visit_children_of_callee(s, value);
            }
            _ => self.visit_expr(s, value),
        }
        for target in targets {
            if let ast::Expr::Subscript(sub) = target {
                self.assign_item(s, sub, value);
            }
        }
        for target in targets {
            match target {
                ast::Expr::Name(n) => self.bind(s, &n.id, qual.clone()),
                ast::Expr::Attribute(a) => {
                    self.bind_target(s, target);
                    self.assign_attribute(s, &a.value, &a.attr, value, value.range());
                }
                other => {
                    // Every value is evaluated before any name is bound (`a, b = b, a`).
                    let mut pairs = Vec::new();
                    self.unpack(s, other, value, &mut pairs);
                    self.bind_pairs(s, pairs);
                }
            }
        }
    }

    /// Pairs the names of an unpacking target with the values they receive, element by element
    /// where the value is a literal tuple or list (`pik, mode = dill, "rb"`; `a, *rest, b =
    /// x, y, z, w`; nested too); a name that receives something else gets `None`.
    fn unpack(
        &self,
        s: usize,
        target: &'a ast::Expr,
        value: &ast::Expr,
        out: &mut Vec<(&'a ast::Expr, Option<Qual>)>,
    ) {
        match (target, elements(target), elements(value)) {
            (ast::Expr::Name(_), _, _) => out.push((target, self.resolve(s, value))),
            (_, Some(names), Some(values))
                if !values.iter().any(|v| matches!(v, ast::Expr::Starred(_))) =>
            {
                let star = names
                    .iter()
                    .position(|n| matches!(n, ast::Expr::Starred(_)));
                match star {
                    None if names.len() == values.len() => {
                        for (name, value) in names.iter().zip(values) {
                            self.unpack(s, name, value, out);
                        }
                    }
                    Some(k) if values.len() + 1 >= names.len() => {
                        let after = names.len() - k - 1;
                        for (name, value) in names[..k].iter().zip(values) {
                            self.unpack(s, name, value, out);
                        }
                        // The starred name receives a list of the values it takes.
                        let taken = &values[k..values.len() - after];
                        let list = container_of(either(taken.iter().map(|v| self.resolve(s, v))));
                        match &names[k] {
                            ast::Expr::Starred(st) => out.push((&st.value, list)),
                            other => out.push((other, None)),
                        }
                        for (name, value) in
                            names[k + 1..].iter().zip(&values[values.len() - after..])
                        {
                            self.unpack(s, name, value, out);
                        }
                    }
                    _ => out.push((target, None)),
                }
            }
            (_, Some(_), None) => match self.resolve(s, value) {
                // Unpacking a container: each name may get any of its items.
                Some(v) if v.starts_with(CONTAINER) => spread(target, Some(v), out),
                _ => out.push((target, None)),
            },
            _ => out.push((target, None)),
        }
    }

    fn visit_for(
        &mut self,
        s: usize,
        target: &'a ast::Expr,
        iter: &'a ast::Expr,
        body: &'a [ast::Stmt],
        orelse: &'a [ast::Stmt],
    ) {
        self.visit_expr(s, iter);
        // Iterating a container gives its items.
        let item = self.resolve(s, iter).as_deref().and_then(item_in);
        self.branches(
            s,
            true,
            vec![Box::new(move |b: &mut Self| {
                b.visit_loop_body(s, &|b: &mut Self| {
                    b.bind_value(s, target, item.clone());
                    b.visit_body(s, body);
                })
            })],
        );
        self.visit_body(s, orelse);
    }

    /// A loop body runs again with what its last run bound: `decode(x)` before
    /// `decode = dill.loads` in the same body calls dill from the second time round. When a run
    /// binds a name to something that may be dill, the body is visited once more from the
    /// merged state (findings are kept once). Nested loops are re-run to a bounded depth.
    fn visit_loop_body(&mut self, s: usize, run: &dyn Fn(&mut Self)) {
        let start = self.scopes[s].flow.clone();
        run(self);
        if self.loop_depth >= MAX_LOOP_RERUN_DEPTH {
            return;
        }
        let end = &self.scopes[s].flow;
        let grew = end.iter().any(|(name, value)| {
            matches!(value, Some(q) if may_be_dill(q)) && start.get(name) != Some(value)
        });
        if grew {
            let end = std::mem::take(&mut self.scopes[s].flow);
            self.scopes[s].flow = merge(start, end);
            self.loop_depth += 1;
            run(self);
            self.loop_depth -= 1;
        }
    }

    fn visit_with(
        &mut self,
        s: usize,
        items: &'a [ast::WithItem],
        body: &'a [ast::Stmt],
        is_async: bool,
    ) {
        for item in items {
            self.visit_expr(s, &item.context_expr);
            // Entering a library's value may load (a manager at an address starts its server).
            if let Some(library) = self
                .resolve(s, &item.context_expr)
                .filter(|v| !is_marker(v) && rule::leads_to_library(v))
                .and_then(|v| rule::library_for(&format!("{v}.__enter__()")))
            {
                self.report_library(item.context_expr.range(), library);
            }
            if let Some(var) = &item.optional_vars {
                let value = self.entered(s, &item.context_expr, is_async);
                self.bind_value(s, var, value);
            }
        }
        self.visit_body(s, body);
    }

    fn visit_try(
        &mut self,
        s: usize,
        body: &'a [ast::Stmt],
        handlers: &'a [ast::ExceptHandler],
        orelse: &'a [ast::Stmt],
        finalbody: &'a [ast::Stmt],
    ) {
        let before = self.scopes[s].flow.clone();
        self.visit_body(s, body);
        // A handler may start from any point of the body: from its start or its end, merged.
        let after_body = self.scopes[s].flow.clone();
        let handler_start = merge(before, after_body.clone());
        let mut runs: Vec<Branch<'a>> = vec![Box::new(move |b: &mut Self| b.visit_body(s, orelse))];
        for handler in handlers {
            let ast::ExceptHandler::ExceptHandler(h) = handler;
            let start = handler_start.clone();
            runs.push(Box::new(move |b: &mut Self| {
                b.scopes[s].flow = start;
                b.visit_opt(s, h.type_.as_deref());
                if let Some(name) = &h.name {
                    b.bind(s, name, None);
                }
                b.visit_body(s, &h.body);
            }));
        }
        self.branches(s, false, runs);
        self.visit_body(s, finalbody);
    }

    fn visit_pattern(&mut self, s: usize, pattern: &'a ast::Pattern) {
        use ast::Pattern;
        match pattern {
            // A value pattern compares the subject with the value, and a class pattern checks
            // `isinstance`: neither calls a sink nor hands it on. Their names are still read.
            Pattern::MatchValue(v) => {
                let _ = self.resolve(s, &v.value);
            }
            Pattern::MatchSingleton(_) => {}
            Pattern::MatchSequence(p) => p.patterns.iter().for_each(|p| self.visit_pattern(s, p)),
            Pattern::MatchMapping(m) => {
                self.visit_exprs(s, &m.keys);
                m.patterns.iter().for_each(|p| self.visit_pattern(s, p));
                if let Some(rest) = &m.rest {
                    self.bind(s, rest, None);
                }
            }
            Pattern::MatchClass(c) => {
                let _ = self.resolve(s, &c.cls);
                c.patterns.iter().for_each(|p| self.visit_pattern(s, p));
                c.kwd_patterns.iter().for_each(|p| self.visit_pattern(s, p));
            }
            Pattern::MatchStar(star) => {
                if let Some(name) = &star.name {
                    self.bind(s, name, None);
                }
            }
            Pattern::MatchAs(a) => {
                if let Some(p) = &a.pattern {
                    self.visit_pattern(s, p);
                }
                if let Some(name) = &a.name {
                    self.bind(s, name, None);
                }
            }
            Pattern::MatchOr(o) => o.patterns.iter().for_each(|p| self.visit_pattern(s, p)),
        }
    }

    // ---- expressions ---------------------------------------------------------------------

    fn visit_opt(&mut self, s: usize, expr: Option<&'a ast::Expr>) {
        if let Some(expr) = expr {
            self.visit_expr(s, expr);
        }
    }

    fn visit_exprs(&mut self, s: usize, exprs: &'a [ast::Expr]) {
        for expr in exprs {
            self.visit_expr(s, expr);
        }
    }

    /// Visits what a callee expression evaluates without reporting the callee itself.
    fn visit_children_of_callee(&mut self, s: usize, callee: &'a ast::Expr) {
        match callee {
            ast::Expr::Attribute(a) => self.visit_expr(s, &a.value),
            ast::Expr::Call(c) => {
                self.visit_expr(s, &c.func);
                self.visit_exprs(s, &c.args);
                for k in &c.keywords {
                    self.visit_expr(s, &k.value);
                }
            }
            ast::Expr::NamedExpr(w) => {
                self.visit_children_of_callee(s, &w.value);
                self.bind_walrus(s, &w.target, &w.value);
            }
            _ => {}
        }
    }

    /// `(lambda m: m.loads)(dill)`: the lambda's parameters are the call's arguments.
    fn apply_lambda(&mut self, s: usize, lambda: &ast::ExprLambda, call: &ast::ExprCall) {
        let params: Vec<&str> = lambda
            .args
            .posonlyargs
            .iter()
            .chain(&lambda.args.args)
            .map(|a| a.def.arg.as_str())
            .collect();
        let mut bound = Vec::new();
        for (name, arg) in params.iter().zip(&call.args) {
            if let Some(value) = self.resolve(s, arg) {
                bound.push((name.to_string(), value));
            }
        }
        for k in &call.keywords {
            if let (Some(name), Some(value)) = (&k.arg, self.resolve(s, &k.value)) {
                bound.push((name.to_string(), value));
            }
        }
        if !bound.is_empty() {
            self.arguments
                .insert(&*lambda.body as *const ast::Expr as usize, bound);
        }
    }

    fn bind_walrus(&mut self, s: usize, target: &'a ast::Expr, value: &'a ast::Expr) {
        // `:=` binds in the nearest scope that is not a comprehension.
        let mut at = s;
        while self.scopes[at].kind == ScopeKind::Comprehension {
            at = self.scopes[at].parent.unwrap_or(0);
        }
        if let ast::Expr::Name(n) = target {
            let qual = self.resolve(s, value);
            self.bind(at, &n.id, qual);
        }
    }

    fn visit_expr(&mut self, s: usize, expr: &'a ast::Expr) {
        use ast::Expr;
        match expr {
            Expr::Call(call) => {
                if let Expr::Lambda(l) = &*call.func {
                    self.apply_lambda(s, l, call);
                }
                // `dill.loads.__call__(raw)` calls `dill.loads`.
                let callee = match &*call.func {
                    Expr::Attribute(a) if a.attr.as_str() == "__call__" => &a.value,
                    _ => &call.func,
                };
                let resolved = self.resolve(s, callee);
                match self.sink_called(s, call, resolved.as_ref()) {
                    Some(sink) => {
                        self.report(call.range, sink, UseKind::Call);
                        self.visit_children_of_callee(s, callee);
                    }
                    None => match self.library_called(s, call, resolved.as_ref()) {
                        Some(library) if !self.annotation => {
                            self.report_library(call.range, library);
                            self.visit_children_of_callee(s, callee);
                        }
                        _ => self.visit_expr(s, &call.func),
                    },
                }
                self.visit_exprs(s, &call.args);
                for k in &call.keywords {
                    self.visit_expr(s, &k.value);
                }
                if !self.annotation {
                    self.check_handovers(s, call, resolved.as_ref());
                    self.pass_arguments(s, call, resolved.as_deref());
                    self.check_library_references(s, call);
                }
                let what = match resolved.as_deref() {
                    Some("builtins.exec") => Some("exec"),
                    Some("builtins.eval") => Some("eval"),
                    Some("builtins.compile") => Some("compile"),
                    _ => None,
                };
                if let (Some(what), Some(code)) = (what, call.args.first()) {
                    self.visit_embedded(s, what, code);
                }
            }
            Expr::Name(_) | Expr::Attribute(_) => match self.sink_of(s, expr) {
                Some(_) if self.annotation => self.visit_children_of_callee(s, expr),
                Some(sink) => self.report(expr.range(), sink, UseKind::Reference),
                None => {
                    if let Expr::Attribute(a) = expr {
                        // `dill.loads.__name__` reads a sink's metadata: no call, no hand-off.
                        if METADATA.contains(&a.attr.as_str())
                            && self.sink_of(s, &a.value).is_some()
                        {
                            self.visit_children_of_callee(s, &a.value);
                        } else {
                            self.visit_expr(s, &a.value);
                        }
                    }
                }
            },
            Expr::NamedExpr(w) => {
                match self.sink_of(s, &w.value) {
                    // `(f := dill.loads)` is an alias like `f = dill.loads`.
                    Some(_) => self.visit_children_of_callee(s, &w.value),
                    None => self.visit_expr(s, &w.value),
                }
                self.bind_walrus(s, &w.target, &w.value);
            }
            Expr::Lambda(l) => {
                self.visit_defaults(s, &l.args);
                let parent = self.enclosing_for_functions(s);
                self.deferred.push_back(Deferred::Lambda {
                    args: &l.args,
                    body: &l.body,
                    parent,
                    piece: self.piece,
                    stmt: self.stmt,
                    origin: self.origin,
                });
            }
            Expr::ListComp(c) => self.visit_comprehension(s, &c.generators, &[&c.elt]),
            Expr::SetComp(c) => self.visit_comprehension(s, &c.generators, &[&c.elt]),
            Expr::GeneratorExp(c) => self.visit_comprehension(s, &c.generators, &[&c.elt]),
            Expr::DictComp(c) => self.visit_comprehension(s, &c.generators, &[&c.key, &c.value]),
            Expr::Constant(_) => {}
            Expr::BoolOp(e) => self.visit_exprs(s, &e.values),
            Expr::BinOp(e) => {
                self.visit_expr(s, &e.left);
                self.visit_expr(s, &e.right);
            }
            Expr::UnaryOp(e) => self.visit_expr(s, &e.operand),
            Expr::IfExp(e) => {
                self.visit_expr(s, &e.test);
                self.visit_expr(s, &e.body);
                self.visit_expr(s, &e.orelse);
            }
            Expr::Dict(d) => {
                for key in d.keys.iter().flatten() {
                    self.visit_expr(s, key);
                }
                self.visit_exprs(s, &d.values);
                if !self.annotation {
                    self.check_keyword_dict(s, d);
                }
            }
            Expr::Set(e) => self.visit_exprs(s, &e.elts),
            Expr::List(e) => self.visit_exprs(s, &e.elts),
            Expr::Tuple(e) => self.visit_exprs(s, &e.elts),
            Expr::Await(e) => self.visit_expr(s, &e.value),
            Expr::Yield(e) => {
                self.visit_opt(s, e.value.as_deref());
                if let Some(value) = &e.value {
                    self.note_return(s, value);
                }
            }
            Expr::YieldFrom(e) => self.visit_expr(s, &e.value),
            Expr::Compare(e) => {
                self.visit_expr(s, &e.left);
                self.visit_exprs(s, &e.comparators);
            }
            Expr::FormattedValue(e) => {
                self.visit_expr(s, &e.value);
                self.visit_opt(s, e.format_spec.as_deref());
            }
            Expr::JoinedStr(e) => self.visit_exprs(s, &e.values),
            Expr::Subscript(e) => {
                self.visit_expr(s, &e.value);
                self.visit_expr(s, &e.slice);
            }
            Expr::Starred(e) => self.visit_expr(s, &e.value),
            Expr::Slice(e) => {
                self.visit_opt(s, e.lower.as_deref());
                self.visit_opt(s, e.upper.as_deref());
                self.visit_opt(s, e.step.as_deref());
            }
        }
    }

    fn visit_comprehension(
        &mut self,
        s: usize,
        generators: &'a [ast::Comprehension],
        elts: &[&'a ast::Expr],
    ) {
        // A class body does not enclose the comprehensions in it (their first iterable aside):
        // they see the scope around the class.
        self.scopes.push(Scope::new(
            ScopeKind::Comprehension,
            Some(self.past_classes(s)),
        ));
        let cs = self.scopes.len() - 1;
        for (i, generator) in generators.iter().enumerate() {
            // The first iterable is evaluated in the enclosing scope.
            let from = if i == 0 { s } else { cs };
            self.visit_expr(from, &generator.iter);
            let item = self
                .resolve(from, &generator.iter)
                .as_deref()
                .and_then(item_in);
            self.bind_value(cs, &generator.target, item);
            self.visit_exprs(cs, &generator.ifs);
        }
        for elt in elts {
            self.visit_expr(cs, elt);
        }
    }
}

/// A callee as written, for messages: `torch.load`, `self.loader`, or `a call` for anything
/// that is not a dotted name.
fn dotted(expr: &ast::Expr) -> String {
    match expr {
        ast::Expr::Name(n) => n.id.to_string(),
        ast::Expr::Attribute(a) => format!("{}.{}", dotted(&a.value), a.attr),
        _ => "…".to_string(),
    }
}

/// The key under which the attributes of a class's instances are written, from the class
/// scope's key (class statements are at least two bytes apart, so no key is another scope's).
fn attributes_key(class: usize) -> usize {
    class + 1
}

fn is_empty_literal(expr: &ast::Expr) -> bool {
    match expr {
        ast::Expr::List(l) => l.elts.is_empty(),
        ast::Expr::Tuple(t) => t.elts.is_empty(),
        ast::Expr::Constant(c) => matches!(c.value, ast::Constant::None),
        _ => false,
    }
}

fn merge(mut into: Flow, other: Flow) -> Flow {
    for (name, value) in other {
        match (into.get(&name), &value) {
            // Two ways through bind the name differently: a name that may be dill is dill.
            (Some(Some(kept)), Some(new)) if !may_be_dill(kept) && may_be_dill(new) => {
                into.insert(name, value);
            }
            (Some(Some(_)), _) => {}
            _ => {
                into.insert(name, value);
            }
        }
    }
    into
}

/// Whether a qualified name is dill, part of it, or one of its sinks; or a constant string
/// that names one of them (`"dill"`, `"loads"`), which a dynamic import or `getattr` may read.
fn may_be_dill(qual: &str) -> bool {
    if let Some(inner) = qual
        .strip_prefix(CONTAINER)
        .or_else(|| qual.strip_prefix(RETURNS))
    {
        return may_be_dill(inner);
    }
    if let Some(text) = qual.strip_prefix(CONSTANT) {
        return text == "dill"
            || text.starts_with("dill.")
            || rule::library_name(text).is_some()
            || rule::SINKS
                .iter()
                .any(|sink| sink.api.rsplit('.').next() == Some(text));
    }
    qual == "dill"
        || qual.starts_with("dill.")
        || rule::sink_for(qual).is_some()
        || rule::leads_to_library(qual)
}

/// Of the values an expression may have, the one that may be dill, else the first known.
fn either(values: impl IntoIterator<Item = Option<Qual>>) -> Option<Qual> {
    let mut first = None;
    for value in values.into_iter().flatten() {
        if may_be_dill(&value) {
            return Some(value);
        }
        first.get_or_insert(value);
    }
    first
}

/// Pairs the names of a target with what they get from `value`: unpacking a container gives
/// each name one of its items (a starred name, a container again); other targets
/// (attributes, subscripts) get `None`.
fn spread<'a>(
    target: &'a ast::Expr,
    value: Option<Qual>,
    out: &mut Vec<(&'a ast::Expr, Option<Qual>)>,
) {
    match target {
        ast::Expr::Name(_) => out.push((target, value)),
        ast::Expr::Tuple(ast::ExprTuple { elts, .. })
        | ast::Expr::List(ast::ExprList { elts, .. }) => {
            let item = value.as_deref().and_then(item_in);
            for elt in elts {
                match elt {
                    ast::Expr::Starred(st) => {
                        let rest = value.clone().filter(|v| v.starts_with(CONTAINER));
                        spread(&st.value, rest, out);
                    }
                    other => spread(other, item.clone(), out),
                }
            }
        }
        ast::Expr::Starred(st) => spread(&st.value, value, out),
        other => out.push((other, None)),
    }
}

/// The elements of a literal tuple or list.
fn elements(expr: &ast::Expr) -> Option<&[ast::Expr]> {
    match expr {
        ast::Expr::Tuple(t) => Some(&t.elts),
        ast::Expr::List(l) => Some(&l.elts),
        _ => None,
    }
}

/// Records the names a function body binds (Python decides locals for the whole body at once),
/// and its `global`/`nonlocal` declarations. Nested function and class bodies are their own.
fn collect_locals(body: &[ast::Stmt], scope: &mut Scope) {
    use super::target_names as names;
    use ast::Stmt;
    for stmt in body {
        let locals = &mut scope.locals;
        match stmt {
            Stmt::FunctionDef(f) => {
                locals.insert(f.name.to_string());
            }
            Stmt::AsyncFunctionDef(f) => {
                locals.insert(f.name.to_string());
            }
            Stmt::ClassDef(c) => {
                locals.insert(c.name.to_string());
            }
            Stmt::Assign(a) => a.targets.iter().for_each(|t| names(t, locals)),
            Stmt::AnnAssign(a) if a.value.is_some() => names(&a.target, locals),
            Stmt::AugAssign(a) => names(&a.target, locals),
            Stmt::Delete(d) => d.targets.iter().for_each(|t| names(t, locals)),
            Stmt::For(ast::StmtFor {
                target,
                body,
                orelse,
                ..
            })
            | Stmt::AsyncFor(ast::StmtAsyncFor {
                target,
                body,
                orelse,
                ..
            }) => {
                names(target, locals);
                collect_locals(body, scope);
                collect_locals(orelse, scope);
            }
            Stmt::While(w) => {
                collect_locals(&w.body, scope);
                collect_locals(&w.orelse, scope);
            }
            Stmt::If(i) => {
                collect_locals(&i.body, scope);
                collect_locals(&i.orelse, scope);
            }
            Stmt::With(ast::StmtWith { items, body, .. })
            | Stmt::AsyncWith(ast::StmtAsyncWith { items, body, .. }) => {
                items
                    .iter()
                    .filter_map(|i| i.optional_vars.as_deref())
                    .for_each(|v| names(v, locals));
                collect_locals(body, scope);
            }
            Stmt::Match(m) => {
                for case in &m.cases {
                    let mut captured = Vec::new();
                    super::captures(&case.pattern, &mut captured);
                    scope.locals.extend(captured.iter().map(|n| n.to_string()));
                    collect_locals(&case.body, scope);
                }
            }
            Stmt::Try(t) => collect_try(&t.body, &t.handlers, &t.orelse, &t.finalbody, scope),
            Stmt::TryStar(t) => collect_try(&t.body, &t.handlers, &t.orelse, &t.finalbody, scope),
            Stmt::Import(i) => {
                for alias in &i.names {
                    locals.insert(import_bindings(&alias.name, alias.asname.as_deref()).0);
                }
            }
            Stmt::ImportFrom(i) => {
                let module = i.module.as_deref().unwrap_or("");
                for alias in &i.names {
                    for (local, _) in
                        import_from_bindings(module, &alias.name, alias.asname.as_deref())
                    {
                        locals.insert(local);
                    }
                }
            }
            Stmt::Global(g) => scope.globals.extend(g.names.iter().map(|n| n.to_string())),
            Stmt::Nonlocal(n) => scope
                .nonlocals
                .extend(n.names.iter().map(|n| n.to_string())),
            _ => {}
        }
    }
}

fn collect_try(
    body: &[ast::Stmt],
    handlers: &[ast::ExceptHandler],
    orelse: &[ast::Stmt],
    finalbody: &[ast::Stmt],
    scope: &mut Scope,
) {
    collect_locals(body, scope);
    for handler in handlers {
        let ast::ExceptHandler::ExceptHandler(h) = handler;
        scope.locals.extend(h.name.iter().map(|n| n.to_string()));
        collect_locals(&h.body, scope);
    }
    collect_locals(orelse, scope);
    collect_locals(finalbody, scope);
}
