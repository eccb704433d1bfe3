//! Where the data a finding deserializes comes from: the way from a source of outside data
//! (`rule::SOURCES`) to the sink's argument, inside one file.
//!
//! Run only for a file with findings, after the binder found them. The walk goes backwards
//! from the argument: through assignments (`for`, `with ... as`, unpacking, `+=`, `:=`),
//! attribute, subscript and method reads of a value (whatever is read from outside data is
//! outside data: `request.files["f"].read()`), calls of other code (their result is as outside
//! as what they are given: `base64.b64decode(x)`, `io.BytesIO(x)`), f-strings and operators,
//! `self.NAME` set in another method of the class, the returns of a function of the file, and
//! a function's parameters back to the calls of it in the file. Every way is followed and the
//! most outside one is kept. What cannot be traced is `unknown`, never safe.

use std::collections::{HashMap, HashSet};

use rustpython_ast::{self as ast, Expr, Ranged, Stmt};

use super::{Hit, Route, UseKind};
use crate::model::Reach;
use crate::rule::{self, SourceForm};

/// One step of a flow, by byte offset in a piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub piece: usize,
    pub at: usize,
    pub what: String,
}

/// How outside the data a sink reads is, and the way it gets there, source first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    pub reach: Reach,
    pub steps: Vec<Step>,
}

impl Provenance {
    /// The more outside of two; the first on a tie.
    fn or(self, other: Provenance) -> Provenance {
        if other.reach > self.reach {
            other
        } else {
            self
        }
    }

    fn then(mut self, step: impl FnOnce() -> Step) -> Provenance {
        if self.reach > Reach::Unknown {
            self.steps.push(step());
        }
        self
    }
}

/// Calls followed for one finding at most; past it, what is left is unknown.
const BUDGET: usize = 4_000;
/// Findings of one file whose flow is traced; the rest are unknown.
const MAX_TRACED: usize = 200;
/// Calls of one function (or hand-overs of it) looked at, at most.
const MAX_SITES: usize = 256;
/// How much of an expression a step quotes.
const SNIPPET_CHARS: usize = 48;

type ScopeId = usize;

#[derive(Clone, Copy)]
enum How {
    Assign,
    Iterate,
    With,
    Augment,
    /// Put into a container or buffer: `x.append(v)`, `x[k] = v`, `x.write(v)`.
    Store,
}

/// Methods that put their arguments into the object they are called on.
const STORING: &[&str] = &[
    "append",
    "extend",
    "insert",
    "add",
    "update",
    "write",
    "writelines",
    "put",
    "put_nowait",
    "appendleft",
    "extendleft",
    "setdefault",
];

enum Bind<'a> {
    Value {
        expr: &'a Expr,
        piece: usize,
        at: usize,
        how: How,
    },
    Import(String),
    Param(usize),
    Def(ScopeId),
    Opaque,
}

struct Param<'a> {
    name: &'a str,
    /// Position among the positional parameters, when it is one.
    position: Option<usize>,
    annotation: Option<&'a Expr>,
    default: Option<&'a Expr>,
    at: usize,
}

#[derive(Default)]
struct Scope<'a> {
    parent: Option<ScopeId>,
    class: bool,
    function: bool,
    name: &'a str,
    piece: usize,
    params: Vec<Param<'a>>,
    binds: HashMap<&'a str, Vec<Bind<'a>>>,
    globals: HashSet<&'a str>,
    returns: Vec<(&'a Expr, usize)>,
    /// For a method: its class and the name of its first parameter.
    method_of: Option<(ScopeId, &'a str)>,
    /// For a class: `self.NAME = value` in its methods (the method, the value, piece, offset).
    attrs: HashMap<&'a str, Vec<(ScopeId, &'a Expr, usize, usize)>>,
}

#[derive(Clone, Copy)]
struct Site<'a> {
    call: &'a ast::ExprCall,
    scope: ScopeId,
    piece: usize,
}

/// What one file binds and calls, for tracing.
pub(super) struct Index<'a> {
    texts: &'a [&'a str],
    scopes: Vec<Scope<'a>>,
    /// Every call, in order.
    sites: Vec<Site<'a>>,
    /// Calls by the last name of what they call.
    by_callee: HashMap<&'a str, Vec<usize>>,
    /// Names handed to a call as an argument (a callback): the call.
    handed: HashMap<&'a str, Vec<usize>>,
    /// The calls that download to a path they are given: the call, that path, the source.
    downloads: Vec<(usize, &'a Expr, &'static rule::Source)>,
}

/// The provenance of every hit of a file, in the order of `hits`.
pub(super) fn trace_hits(suites: &[Vec<Stmt>], texts: &[&str], hits: &[Hit]) -> Vec<Provenance> {
    let wanted = |h: &Hit| matches!(h.route, Route::Direct | Route::Handover { .. });
    if !hits.iter().any(wanted) {
        return vec![Provenance::default(); hits.len()];
    }
    let index = Index::new(suites, texts);
    hits.iter()
        .enumerate()
        .map(|(n, hit)| {
            if n < MAX_TRACED && wanted(hit) {
                index.provenance(hit)
            } else {
                Provenance::default()
            }
        })
        .collect()
}

impl<'a> Index<'a> {
    fn new(suites: &'a [Vec<Stmt>], texts: &'a [&'a str]) -> Index<'a> {
        let mut index = Index {
            texts,
            scopes: vec![Scope::default()],
            sites: Vec::new(),
            by_callee: HashMap::new(),
            handed: HashMap::new(),
            downloads: Vec::new(),
        };
        for (piece, suite) in suites.iter().enumerate() {
            index.block(suite, 0, piece);
        }
        for (n, site) in index.sites.iter().enumerate() {
            let Some(src) = index
                .dotted(site.scope, &site.call.func)
                .and_then(|q| rule::called_source(&q))
            else {
                continue;
            };
            let SourceForm::DownloadTo { position, keyword } = src.form else {
                continue;
            };
            let target = site.call.args.get(position).or_else(|| {
                site.call
                    .keywords
                    .iter()
                    .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == keyword))
                    .map(|k| &k.value)
            });
            if let Some(target) = target {
                index.downloads.push((n, target, src));
            }
        }
        index
    }

    fn bind(&mut self, s: ScopeId, name: &'a str, bind: Bind<'a>) {
        // `global NAME` in a function: its assignments bind the module's name.
        let s = if self.scopes[s].globals.contains(name) {
            0
        } else {
            s
        };
        self.scopes[s].binds.entry(name).or_default().push(bind);
    }

    fn block(&mut self, body: &'a [Stmt], s: ScopeId, piece: usize) {
        for stmt in body {
            self.stmt(stmt, s, piece);
        }
    }

    fn target(&mut self, target: &'a Expr, value: &'a Expr, how: How, s: ScopeId, piece: usize) {
        match target {
            Expr::Name(n) => self.bind(
                s,
                n.id.as_str(),
                Bind::Value {
                    expr: value,
                    piece,
                    at: n.range.start().into(),
                    how,
                },
            ),
            Expr::Tuple(t) => {
                for elt in &t.elts {
                    self.target(elt, value, how, s, piece);
                }
            }
            Expr::List(l) => {
                for elt in &l.elts {
                    self.target(elt, value, how, s, piece);
                }
            }
            Expr::Starred(st) => self.target(&st.value, value, how, s, piece),
            Expr::Attribute(a) => {
                if let (Expr::Name(owner), Some((class, me))) =
                    (&*a.value, self.scopes[s].method_of)
                {
                    if owner.id.as_str() == me {
                        self.scopes[class]
                            .attrs
                            .entry(a.attr.as_str())
                            .or_default()
                            .push((s, value, piece, a.range.start().into()));
                    }
                }
                self.expr(&a.value, s, piece);
            }
            Expr::Subscript(sub) => {
                // `x[k] = v` puts `v` into `x`.
                if let Expr::Name(n) = &*sub.value {
                    self.store(n, value, s, piece);
                }
                self.expr(&sub.value, s, piece);
                self.expr(&sub.slice, s, piece);
            }
            _ => {}
        }
    }

    /// `value` put into the object named `n`: a binding of `n` where `n` is bound.
    fn store(&mut self, n: &'a ast::ExprName, value: &'a Expr, s: ScopeId, piece: usize) {
        let scope = self.lookup(s, n.id.as_str()).map_or(s, |(scope, _)| scope);
        self.bind(
            scope,
            n.id.as_str(),
            Bind::Value {
                expr: value,
                piece,
                at: n.range.start().into(),
                how: How::Store,
            },
        );
    }

    fn stmt(&mut self, stmt: &'a Stmt, s: ScopeId, piece: usize) {
        match stmt {
            Stmt::FunctionDef(f) => {
                self.function(&f.name, &f.args, &f.body, &f.decorator_list, s, piece)
            }
            Stmt::AsyncFunctionDef(f) => {
                self.function(&f.name, &f.args, &f.body, &f.decorator_list, s, piece)
            }
            Stmt::ClassDef(c) => {
                self.exprs(&c.bases, s, piece);
                self.exprs(&c.decorator_list, s, piece);
                for k in &c.keywords {
                    self.expr(&k.value, s, piece);
                }
                let id = self.scopes.len();
                self.scopes.push(Scope {
                    parent: Some(s),
                    class: true,
                    name: c.name.as_str(),
                    piece,
                    ..Scope::default()
                });
                self.bind(s, c.name.as_str(), Bind::Def(id));
                self.block(&c.body, id, piece);
            }
            Stmt::Return(r) => {
                if let Some(value) = &r.value {
                    self.scopes[s].returns.push((value, piece));
                    self.expr(value, s, piece);
                }
            }
            Stmt::Assign(a) => {
                for target in &a.targets {
                    self.target(target, &a.value, How::Assign, s, piece);
                }
                self.expr(&a.value, s, piece);
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    self.target(&a.target, value, How::Assign, s, piece);
                    self.expr(value, s, piece);
                }
            }
            Stmt::AugAssign(a) => {
                self.target(&a.target, &a.value, How::Augment, s, piece);
                self.expr(&a.value, s, piece);
            }
            Stmt::For(f) => {
                self.target(&f.target, &f.iter, How::Iterate, s, piece);
                self.expr(&f.iter, s, piece);
                self.block(&f.body, s, piece);
                self.block(&f.orelse, s, piece);
            }
            Stmt::AsyncFor(f) => {
                self.target(&f.target, &f.iter, How::Iterate, s, piece);
                self.expr(&f.iter, s, piece);
                self.block(&f.body, s, piece);
                self.block(&f.orelse, s, piece);
            }
            Stmt::While(w) => {
                self.expr(&w.test, s, piece);
                self.block(&w.body, s, piece);
                self.block(&w.orelse, s, piece);
            }
            Stmt::If(i) => {
                self.expr(&i.test, s, piece);
                self.block(&i.body, s, piece);
                self.block(&i.orelse, s, piece);
            }
            Stmt::With(w) => self.with(&w.items, &w.body, s, piece),
            Stmt::AsyncWith(w) => self.with(&w.items, &w.body, s, piece),
            Stmt::Match(m) => {
                self.expr(&m.subject, s, piece);
                for case in &m.cases {
                    // The names a pattern captures take (parts of) the subject.
                    let mut names = Vec::new();
                    super::captures(&case.pattern, &mut names);
                    for n in names {
                        self.bind(
                            s,
                            n.as_str(),
                            Bind::Value {
                                expr: &m.subject,
                                piece,
                                at: case.pattern.range().start().into(),
                                how: How::Assign,
                            },
                        );
                    }
                    if let Some(guard) = &case.guard {
                        self.expr(guard, s, piece);
                    }
                    self.block(&case.body, s, piece);
                }
            }
            Stmt::Raise(r) => {
                if let Some(e) = &r.exc {
                    self.expr(e, s, piece);
                }
            }
            Stmt::Try(t) => self.try_(&t.body, &t.handlers, &t.orelse, &t.finalbody, s, piece),
            Stmt::TryStar(t) => self.try_(&t.body, &t.handlers, &t.orelse, &t.finalbody, s, piece),
            Stmt::Expr(e) => self.expr(&e.value, s, piece),
            Stmt::Import(i) => {
                for alias in &i.names {
                    let name = alias.name.as_str();
                    match &alias.asname {
                        Some(asname) => self.bind(s, asname.as_str(), Bind::Import(name.into())),
                        None => {
                            let first = name.split('.').next().unwrap_or(name);
                            self.bind(s, first, Bind::Import(first.into()))
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                let level = i.level.map_or(0, |l| l.to_u32()) as usize;
                let module = i.module.as_ref().map_or("", |m| m.as_str());
                for alias in &i.names {
                    let name = alias.name.as_str();
                    if name == "*" {
                        continue;
                    }
                    // A relative import names a module of the repository: never a source.
                    let qual = format!("{}{module}.{name}", ".".repeat(level));
                    let bound = alias.asname.as_ref().map_or(name, |a| a.as_str());
                    self.bind(s, bound, Bind::Import(qual));
                }
            }
            Stmt::Global(g) => {
                for name in &g.names {
                    self.scopes[s].globals.insert(name.as_str());
                }
            }
            _ => {}
        }
    }

    fn with(&mut self, items: &'a [ast::WithItem], body: &'a [Stmt], s: ScopeId, piece: usize) {
        for item in items {
            self.expr(&item.context_expr, s, piece);
            if let Some(vars) = &item.optional_vars {
                self.target(vars, &item.context_expr, How::With, s, piece);
            }
        }
        self.block(body, s, piece);
    }

    fn try_(
        &mut self,
        body: &'a [Stmt],
        handlers: &'a [ast::ExceptHandler],
        orelse: &'a [Stmt],
        finalbody: &'a [Stmt],
        s: ScopeId,
        piece: usize,
    ) {
        self.block(body, s, piece);
        for handler in handlers {
            let ast::ExceptHandler::ExceptHandler(h) = handler;
            if let Some(name) = &h.name {
                self.bind(s, name.as_str(), Bind::Opaque);
            }
            self.block(&h.body, s, piece);
        }
        self.block(orelse, s, piece);
        self.block(finalbody, s, piece);
    }

    fn function(
        &mut self,
        name: &'a ast::Identifier,
        args: &'a ast::Arguments,
        body: &'a [Stmt],
        decorators: &'a [Expr],
        s: ScopeId,
        piece: usize,
    ) {
        self.exprs(decorators, s, piece);
        let id = self.scopes.len();
        let mut params = Vec::new();
        for (position, p) in args.posonlyargs.iter().chain(&args.args).enumerate() {
            params.push(Param {
                name: p.def.arg.as_str(),
                position: Some(position),
                annotation: p.def.annotation.as_deref(),
                default: p.default.as_deref(),
                at: p.def.range.start().into(),
            });
        }
        for p in &args.kwonlyargs {
            params.push(Param {
                name: p.def.arg.as_str(),
                position: None,
                annotation: p.def.annotation.as_deref(),
                default: p.default.as_deref(),
                at: p.def.range.start().into(),
            });
        }
        for p in args.vararg.iter().chain(&args.kwarg) {
            params.push(Param {
                name: p.arg.as_str(),
                position: None,
                annotation: None,
                default: None,
                at: p.range.start().into(),
            });
        }
        for p in &params {
            if let Some(d) = p.default {
                self.expr(d, s, piece);
            }
        }
        let method_of = match (self.scopes[s].class, params.first()) {
            (true, Some(first)) if first.position.is_some() => Some((s, first.name)),
            _ => None,
        };
        let names: Vec<&'a str> = params.iter().map(|p| p.name).collect();
        self.scopes.push(Scope {
            parent: Some(s),
            function: true,
            name: name.as_str(),
            piece,
            params,
            method_of,
            ..Scope::default()
        });
        for (i, param) in names.into_iter().enumerate() {
            self.bind(id, param, Bind::Param(i));
        }
        self.bind(s, name.as_str(), Bind::Def(id));
        self.block(body, id, piece);
    }

    fn exprs(&mut self, exprs: &'a [Expr], s: ScopeId, piece: usize) {
        for e in exprs {
            self.expr(e, s, piece);
        }
    }

    /// Records the calls, callbacks and `:=` bindings inside an expression.
    fn expr(&mut self, e: &'a Expr, s: ScopeId, piece: usize) {
        match e {
            Expr::Call(call) => {
                let n = self.sites.len();
                self.sites.push(Site {
                    call,
                    scope: s,
                    piece,
                });
                let last = match &*call.func {
                    Expr::Name(f) => Some(f.id.as_str()),
                    Expr::Attribute(a) => Some(a.attr.as_str()),
                    _ => None,
                };
                if let Some(last) = last {
                    self.by_callee.entry(last).or_default().push(n);
                }
                if let Expr::Attribute(a) = &*call.func {
                    if let (Expr::Name(owner), true) =
                        (&*a.value, STORING.contains(&a.attr.as_str()))
                    {
                        for arg in call
                            .args
                            .iter()
                            .chain(call.keywords.iter().map(|k| &k.value))
                        {
                            self.store(owner, arg, s, piece);
                        }
                    }
                }
                for arg in call
                    .args
                    .iter()
                    .chain(call.keywords.iter().map(|k| &k.value))
                {
                    if let Expr::Name(f) = arg {
                        self.handed.entry(f.id.as_str()).or_default().push(n);
                    }
                }
                self.expr(&call.func, s, piece);
                self.exprs(&call.args, s, piece);
                for k in &call.keywords {
                    self.expr(&k.value, s, piece);
                }
            }
            Expr::NamedExpr(n) => {
                self.target(&n.target, &n.value, How::Assign, s, piece);
                self.expr(&n.value, s, piece);
            }
            Expr::BoolOp(b) => self.exprs(&b.values, s, piece),
            Expr::BinOp(b) => {
                self.expr(&b.left, s, piece);
                self.expr(&b.right, s, piece);
            }
            Expr::UnaryOp(u) => self.expr(&u.operand, s, piece),
            Expr::IfExp(i) => {
                self.expr(&i.test, s, piece);
                self.expr(&i.body, s, piece);
                self.expr(&i.orelse, s, piece);
            }
            Expr::Dict(d) => {
                for k in d.keys.iter().flatten() {
                    self.expr(k, s, piece);
                }
                self.exprs(&d.values, s, piece);
            }
            Expr::Set(x) => self.exprs(&x.elts, s, piece),
            Expr::List(x) => self.exprs(&x.elts, s, piece),
            Expr::Tuple(x) => self.exprs(&x.elts, s, piece),
            Expr::ListComp(c) => self.comprehension(&[&c.elt], &c.generators, s, piece),
            Expr::SetComp(c) => self.comprehension(&[&c.elt], &c.generators, s, piece),
            Expr::GeneratorExp(c) => self.comprehension(&[&c.elt], &c.generators, s, piece),
            Expr::DictComp(c) => self.comprehension(&[&c.key, &c.value], &c.generators, s, piece),
            Expr::Await(a) => self.expr(&a.value, s, piece),
            // What a generator yields is what calling it gives.
            Expr::Yield(y) => {
                if let Some(v) = &y.value {
                    self.scopes[s].returns.push((v, piece));
                    self.expr(v, s, piece);
                }
            }
            Expr::YieldFrom(y) => {
                self.scopes[s].returns.push((&y.value, piece));
                self.expr(&y.value, s, piece)
            }
            Expr::Lambda(l) => self.expr(&l.body, s, piece),
            Expr::Compare(c) => {
                self.expr(&c.left, s, piece);
                self.exprs(&c.comparators, s, piece);
            }
            Expr::FormattedValue(f) => {
                self.expr(&f.value, s, piece);
                if let Some(spec) = &f.format_spec {
                    self.expr(spec, s, piece);
                }
            }
            Expr::JoinedStr(j) => self.exprs(&j.values, s, piece),
            Expr::Attribute(a) => self.expr(&a.value, s, piece),
            Expr::Subscript(sub) => {
                self.expr(&sub.value, s, piece);
                self.expr(&sub.slice, s, piece);
            }
            Expr::Starred(st) => self.expr(&st.value, s, piece),
            Expr::Slice(sl) => {
                for part in [&sl.lower, &sl.upper, &sl.step].into_iter().flatten() {
                    self.expr(part, s, piece);
                }
            }
            _ => {}
        }
    }

    fn comprehension(
        &mut self,
        elts: &[&'a Expr],
        generators: &'a [ast::Comprehension],
        s: ScopeId,
        piece: usize,
    ) {
        for g in generators {
            // Bound where the comprehension is: its own scope, as seen from inside it.
            self.target(&g.target, &g.iter, How::Iterate, s, piece);
            self.expr(&g.iter, s, piece);
            self.exprs(&g.ifs, s, piece);
        }
        for e in elts {
            self.expr(e, s, piece);
        }
    }

    /// Where the data of one hit comes from.
    fn provenance(&self, hit: &Hit) -> Provenance {
        let Some(site) = self.sites.iter().find(|site| match hit.kind {
            UseKind::Call => {
                site.piece == hit.piece
                    && usize::from(site.call.range.start()) == hit.start
                    && usize::from(site.call.range.end()) == hit.end
            }
            _ => {
                site.piece == hit.piece
                    && site
                        .call
                        .args
                        .iter()
                        .chain(site.call.keywords.iter().map(|k| &k.value))
                        .any(|a| {
                            usize::from(a.range().start()) == hit.start
                                && usize::from(a.range().end()) == hit.end
                        })
            }
        }) else {
            return Provenance::default();
        };
        let mut tracer = Tracer {
            index: self,
            budget: BUDGET,
            active: HashSet::new(),
            returning: HashSet::new(),
            calls: Vec::new(),
        };
        let call = site.call;
        if hit.kind == UseKind::Reference {
            // Handed on with its data (`pool.map(dill.loads, blobs)`,
            // `executor.submit(dill.loads, payload)`): what else the call is given.
            let others = call
                .args
                .iter()
                .chain(call.keywords.iter().map(|k| &k.value))
                .filter(|a| usize::from(a.range().start()) != hit.start);
            let found = tracer.all(others, site.scope, site.piece);
            let callee = self.snippet(site.piece, &*call.func);
            return found.then(|| Step {
                piece: site.piece,
                at: hit.start,
                what: format!("handed with `{}` to `{callee}()`", hit.sink.api),
            });
        }
        let keyword = |names: &[&str]| {
            call.keywords
                .iter()
                .find(|k| k.arg.as_ref().is_some_and(|a| names.contains(&a.as_str())))
                .map(|k| &k.value)
        };
        let (argument, reader) = match &hit.route {
            Route::Handover { handover, .. } if handover.keyword != "pickle_module" => {
                return Provenance::default()
            }
            Route::Handover { to, .. } => (
                call.args
                    .first()
                    .filter(|a| !matches!(a, Expr::Starred(_)))
                    .or_else(|| keyword(&["f", "file", "data"])),
                format!("loaded by `{to}` with dill"),
            ),
            _ => (
                call.args
                    .first()
                    .filter(|a| !matches!(a, Expr::Starred(_)))
                    .or_else(|| keyword(&["str", "file", "filename", "buffer", "data"])),
                format!("read by `{}`", hit.sink.api),
            ),
        };
        let path_argument =
            matches!(hit.route, Route::Direct) && hit.sink.family == rule::Family::Session;
        let found = match argument {
            // `torch.load` and dill's session loaders take a path or a file.
            Some(arg) if path_argument || matches!(hit.route, Route::Handover { .. }) => {
                tracer.path_or_file(arg, site.scope, site.piece)
            }
            Some(arg) => tracer.trace(arg, site.scope, site.piece),
            None if path_argument => Provenance {
                reach: Reach::LocalFile,
                steps: vec![Step {
                    piece: site.piece,
                    at: call.range.start().into(),
                    what: format!(
                        "`{}`: dill's default session file",
                        self.snippet(site.piece, call)
                    ),
                }],
            },
            None => Provenance::default(),
        };
        let at: usize = argument
            .map_or(call.range.start(), |a| a.range().start())
            .into();
        // A source that is the argument itself needs no step of its own for the reading.
        if found
            .steps
            .last()
            .is_some_and(|s| s.piece == site.piece && s.at == at)
        {
            return found;
        }
        found.then(|| Step {
            piece: site.piece,
            at,
            what: reader,
        })
    }

    /// An expression's text as a step quotes it: on one line, cut when long.
    fn snippet(&self, piece: usize, node: &impl Ranged) -> String {
        let text = self.texts[piece]
            .get(usize::from(node.range().start())..usize::from(node.range().end()))
            .unwrap_or("");
        let mut out = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if out.chars().count() > SNIPPET_CHARS {
            out = out.chars().take(SNIPPET_CHARS - 1).collect();
            out.push('…');
        }
        out
    }

    /// The scope that binds `name` as seen from `s`, and its bindings there.
    fn lookup(&self, s: ScopeId, name: &str) -> Option<(ScopeId, &Vec<Bind<'a>>)> {
        let mut at = Some(s);
        let mut first = true;
        while let Some(scope) = at {
            let here = &self.scopes[scope];
            if here.globals.contains(name) {
                return self.scopes[0].binds.get(name).map(|b| (0, b));
            }
            // A class body's names are not seen from the functions inside it.
            if first || !here.class {
                if let Some(binds) = here.binds.get(name) {
                    return Some((scope, binds));
                }
            }
            first = false;
            at = here.parent;
        }
        None
    }

    /// The qualified name a name stands for when it is only imported, or a builtin.
    fn qualified(&self, s: ScopeId, name: &str) -> Option<String> {
        match self.lookup(s, name) {
            None => Some(name.to_string()),
            Some((_, binds)) => {
                let mut imports = binds.iter().map(|b| match b {
                    Bind::Import(q) => Some(q),
                    _ => None,
                });
                let first = imports.next()??;
                imports.all(|q| q == Some(first)).then(|| first.clone())
            }
        }
    }

    /// The dotted name of an expression such as `a.b.c`, with its first name qualified.
    fn dotted(&self, s: ScopeId, e: &Expr) -> Option<String> {
        match e {
            Expr::Name(n) => self.qualified(s, n.id.as_str()),
            Expr::Attribute(a) => Some(format!("{}.{}", self.dotted(s, &a.value)?, a.attr)),
            _ => None,
        }
    }

    /// The function of the file a call calls, when it can tell.
    fn local_function(&self, s: ScopeId, func: &Expr) -> Option<ScopeId> {
        let def_in = |binds: Option<&Vec<Bind<'a>>>| {
            binds?.iter().find_map(|b| match b {
                Bind::Def(d) if self.scopes[*d].function => Some(*d),
                _ => None,
            })
        };
        match func {
            Expr::Name(n) => def_in(self.lookup(s, n.id.as_str()).map(|(_, b)| b)),
            Expr::Attribute(a) => {
                let Expr::Name(owner) = &*a.value else {
                    return None;
                };
                // `self.method(...)` in a method, or `Class.method(...)`.
                let class = match self.enclosing_method(s) {
                    Some((class, me)) if owner.id.as_str() == me => Some(class),
                    _ => self.lookup(s, owner.id.as_str()).and_then(|(_, binds)| {
                        binds.iter().find_map(|b| match b {
                            Bind::Def(d) if self.scopes[*d].class => Some(*d),
                            _ => None,
                        })
                    }),
                }?;
                def_in(self.scopes[class].binds.get(a.attr.as_str()))
            }
            _ => None,
        }
    }

    /// The method `s` is in (or is), with its class and the name of its first parameter.
    fn enclosing_method(&self, s: ScopeId) -> Option<(ScopeId, &'a str)> {
        let mut at = Some(s);
        while let Some(scope) = at {
            if let Some(m) = self.scopes[scope].method_of {
                return Some(m);
            }
            at = self.scopes[scope].parent;
        }
        None
    }
}

/// One walk back from a sink's argument.
struct Tracer<'i, 'a> {
    index: &'i Index<'a>,
    budget: usize,
    /// Names being traced, to end cycles (`x = x + 1`).
    active: HashSet<(ScopeId, &'a str)>,
    /// Functions whose returns are being traced.
    returning: HashSet<ScopeId>,
    /// The calls being followed into functions (the function, the call, its scope and piece):
    /// a parameter of the innermost is what that call passes.
    calls: Vec<(ScopeId, Site<'a>)>,
}

impl<'i, 'a> Tracer<'i, 'a> {
    fn step(&self, piece: usize, at: impl Into<usize>, what: String) -> Step {
        Step {
            piece,
            at: at.into(),
            what,
        }
    }

    fn source(&self, piece: usize, node: &impl Ranged, what: &str, reach: Reach) -> Provenance {
        Provenance {
            reach,
            steps: vec![self.step(
                piece,
                node.range().start(),
                format!("`{}`: {what}", self.index.snippet(piece, node)),
            )],
        }
    }

    /// Takes one unit of the walk's budget; `false` once it is spent.
    fn spend(&mut self) -> bool {
        if self.budget == 0 {
            return false;
        }
        self.budget -= 1;
        true
    }

    fn trace(&mut self, e: &'a Expr, s: ScopeId, piece: usize) -> Provenance {
        if !self.spend() {
            return Provenance::default();
        }
        match e {
            Expr::Name(n) => self.name(n, s, piece),
            Expr::Attribute(_) | Expr::Call(_) | Expr::Subscript(_) => self.chain(e, s, piece),
            Expr::Await(a) => self.trace(&a.value, s, piece),
            Expr::Starred(st) => self.trace(&st.value, s, piece),
            Expr::NamedExpr(n) => self.trace(&n.value, s, piece),
            Expr::UnaryOp(u) => self.trace(&u.operand, s, piece),
            Expr::BinOp(b) => self
                .trace(&b.left, s, piece)
                .or(self.trace(&b.right, s, piece)),
            Expr::BoolOp(b) => self.all(b.values.iter(), s, piece),
            Expr::IfExp(i) => self
                .trace(&i.body, s, piece)
                .or(self.trace(&i.orelse, s, piece)),
            Expr::JoinedStr(j) => self.all(j.values.iter(), s, piece),
            Expr::FormattedValue(f) => self.trace(&f.value, s, piece),
            Expr::Tuple(t) => self.all(t.elts.iter(), s, piece),
            Expr::List(l) => self.all(l.elts.iter(), s, piece),
            Expr::Set(x) => self.all(x.elts.iter(), s, piece),
            Expr::Dict(d) => self.all(d.values.iter(), s, piece),
            Expr::ListComp(c) => self.comprehension(&c.elt, &c.generators, s, piece),
            Expr::SetComp(c) => self.comprehension(&c.elt, &c.generators, s, piece),
            Expr::GeneratorExp(c) => self.comprehension(&c.elt, &c.generators, s, piece),
            Expr::DictComp(c) => self.comprehension(&c.value, &c.generators, s, piece),
            // A lambda gives what its body does, wherever it is called.
            Expr::Lambda(l) => self.trace(&l.body, s, piece),
            _ => Provenance::default(),
        }
    }

    fn all(
        &mut self,
        exprs: impl Iterator<Item = &'a Expr>,
        s: ScopeId,
        piece: usize,
    ) -> Provenance {
        let mut best = Provenance::default();
        for e in exprs {
            best = best.or(self.trace(e, s, piece));
        }
        best
    }

    /// A comprehension is as outside as its element and what it iterates over (its own names
    /// are not looked up: their values come from the iterables).
    fn comprehension(
        &mut self,
        elt: &'a Expr,
        generators: &'a [ast::Comprehension],
        s: ScopeId,
        piece: usize,
    ) -> Provenance {
        let iters = self.all(generators.iter().map(|g| &g.iter), s, piece);
        let own: HashSet<&str> = generators
            .iter()
            .flat_map(|g| names_in(&g.target))
            .collect();
        match elt {
            Expr::Name(n) if own.contains(n.id.as_str()) => iters,
            _ => iters.or(self.trace(elt, s, piece)),
        }
    }

    fn name(&mut self, n: &'a ast::ExprName, s: ScopeId, piece: usize) -> Provenance {
        let id = n.id.as_str();
        let index = self.index;
        let Some((scope, binds)) = index.lookup(s, id) else {
            return match rule::called_source(id) {
                Some(src) if src.form == SourceForm::Name => {
                    self.source(piece, n, src.what, src.reach)
                }
                _ => Provenance::default(),
            };
        };
        if !self.active.insert((scope, id)) {
            return Provenance::default();
        }
        let mut best = Provenance::default();
        for bind in binds {
            let found = match bind {
                Bind::Import(q) => match rule::called_source(q) {
                    Some(src) if src.form == SourceForm::Name => {
                        self.source(piece, n, src.what, src.reach)
                    }
                    _ => Provenance::default(),
                },
                Bind::Value {
                    expr,
                    piece: at_piece,
                    at,
                    how,
                } => {
                    let what = match how {
                        How::Assign => format!("assigned to `{id}`"),
                        How::Iterate => format!("`{id}` takes each item of it"),
                        How::With => format!("bound to `{id}` by `with`"),
                        How::Augment => format!("added to `{id}`"),
                        How::Store => format!("stored in `{id}`"),
                    };
                    self.trace(expr, scope, *at_piece)
                        .then(|| self.step(*at_piece, *at, what))
                }
                Bind::Param(i) => self.param(scope, *i),
                Bind::Def(_) | Bind::Opaque => Provenance::default(),
            };
            best = best.or(found);
            if best.reach == Reach::Remote {
                break;
            }
        }
        self.active.remove(&(scope, id));
        best
    }

    /// What a parameter of function `f` may hold: a source by its annotation, default, name or
    /// a callback's caller, or what the calls of `f` in the file pass it.
    fn param(&mut self, f: ScopeId, i: usize) -> Provenance {
        let index = self.index;
        let scope = &index.scopes[f];
        let param = &scope.params[i];
        let piece = scope.piece;
        let outer = scope.parent.unwrap_or(0);
        let is_self = scope.method_of.is_some() && i == 0;
        let mut best = Provenance::default();
        if let Some(annotation) = param.annotation {
            if let Some(src) = index
                .dotted(outer, annotation)
                .and_then(|q| rule::source_for(&q, SourceForm::Annotation))
            {
                best = best.or(self.param_source(piece, param, src));
            }
        }
        if let Some(Expr::Call(default)) = param.default {
            if let Some(src) = index
                .dotted(outer, &default.func)
                .and_then(|q| rule::source_for(&q, SourceForm::Default))
            {
                best = best.or(self.param_source(piece, param, src));
            }
        }
        if !is_self {
            if let Some(src) = rule::source_for(param.name, SourceForm::Parameter) {
                best = best.or(self.param_source(piece, param, src));
            }
        }
        // A callback handed to a call that feeds it outside data.
        for &n in index
            .handed
            .get(scope.name)
            .into_iter()
            .flatten()
            .take(MAX_SITES)
        {
            if !self.spend() {
                break;
            }
            let site = index.sites[n];
            let callee = match &*site.call.func {
                Expr::Attribute(a) => index
                    .dotted(site.scope, &site.call.func)
                    .and_then(|q| rule::source_for(&q, SourceForm::Callback))
                    .or_else(|| rule::source_for(&format!(".{}", a.attr), SourceForm::Callback)),
                func => index
                    .dotted(site.scope, func)
                    .and_then(|q| rule::source_for(&q, SourceForm::Callback)),
            };
            if let Some(src) = callee {
                let found = Provenance {
                    reach: src.reach,
                    steps: vec![
                        self.step(
                            site.piece,
                            site.call.range.start(),
                            format!(
                                "`{}`: {} handed to `{}`",
                                index.snippet(site.piece, site.call),
                                src.what,
                                scope.name
                            ),
                        ),
                        self.step(piece, param.at, format!("received as `{}`", param.name)),
                    ],
                };
                best = best.or(found);
            }
        }
        if best.reach == Reach::Remote {
            return best;
        }
        // The calls of `f`: the one being followed into it, or every call in the file.
        let sites: Vec<Site<'a>> = match self.calls.last() {
            Some(&(callee, site)) if callee == f => vec![site],
            _ => index
                .by_callee
                .get(scope.name)
                .into_iter()
                .flatten()
                .map(|&n| index.sites[n])
                .filter(
                    |site| match index.local_function(site.scope, &site.call.func) {
                        Some(d) => d == f,
                        // `obj.method(...)` on an object it cannot tell: may be this method.
                        None => {
                            scope.method_of.is_some()
                                && matches!(&*site.call.func, Expr::Attribute(_))
                        }
                    },
                )
                .collect(),
        };
        // `Class(...)` calls `__init__`, with the new object as its first parameter.
        let mut sites = sites;
        let mut instantiations = 0;
        if let (Some((class, _)), "__init__", true) = (
            scope.method_of,
            scope.name,
            self.calls.last().is_none_or(|&(c, _)| c != f),
        ) {
            let name = index.scopes[class].name;
            for &n in index
                .by_callee
                .get(name)
                .into_iter()
                .flatten()
                .take(MAX_SITES)
            {
                let site = index.sites[n];
                let creates = match &*site.call.func {
                    Expr::Name(c) => {
                        index
                            .lookup(site.scope, c.id.as_str())
                            .is_some_and(|(_, binds)| {
                                binds
                                    .iter()
                                    .any(|b| matches!(b, Bind::Def(d) if *d == class))
                            })
                    }
                    _ => false,
                };
                if creates {
                    sites.push(site);
                    instantiations += 1;
                }
            }
        }
        let first_instantiation = sites.len() - instantiations;
        let followed = self.calls.pop();
        for (k, site) in sites.into_iter().enumerate() {
            if !self.spend() {
                break;
            }
            let shift = usize::from(
                scope.method_of.is_some()
                    && (matches!(&*site.call.func, Expr::Attribute(_)) || k >= first_instantiation),
            );
            let by_position = param
                .position
                .and_then(|p| p.checked_sub(shift))
                .and_then(|p| site.call.args.get(p))
                .filter(|a| !matches!(a, Expr::Starred(_)));
            let by_keyword = site
                .call
                .keywords
                .iter()
                .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == param.name))
                .map(|k| &k.value);
            let Some(arg) = by_position.or(by_keyword) else {
                continue;
            };
            let callee = match scope.method_of {
                Some((class, _)) if k >= first_instantiation => index.scopes[class].name,
                _ => scope.name,
            };
            let what = format!("passed to `{callee}()` as `{}`", param.name);
            let found = self
                .trace(arg, site.scope, site.piece)
                .then(|| self.step(site.piece, arg.range().start(), what));
            best = best.or(found);
            if best.reach == Reach::Remote {
                break;
            }
        }
        if let Some(followed) = followed {
            self.calls.push(followed);
        }
        best
    }

    fn param_source(&self, piece: usize, param: &Param<'a>, src: &rule::Source) -> Provenance {
        let text = match param.annotation {
            Some(a) => format!("{}: {}", param.name, self.index.snippet(piece, a)),
            None => param.name.to_string(),
        };
        Provenance {
            reach: src.reach,
            steps: vec![self.step(piece, param.at, format!("`{text}`: {}", src.what))],
        }
    }

    /// `a.b(c)[d].e()`: a source by its qualified name, a method or `self.NAME`; a function of
    /// the file by what it returns; otherwise as outside as its root and every argument.
    fn chain(&mut self, e: &'a Expr, s: ScopeId, piece: usize) -> Provenance {
        let index = self.index;
        // The links from the outermost in.
        let mut links = Vec::new();
        let mut root = e;
        loop {
            links.push(root);
            root = match root {
                Expr::Attribute(a) => &a.value,
                Expr::Call(c) => &c.func,
                Expr::Subscript(sub) => &sub.value,
                _ => break,
            };
        }
        links.pop();
        // A method that reads from outside, wherever it is called in the chain.
        for link in &links {
            if let Expr::Call(c) = link {
                if let Expr::Attribute(a) = &*c.func {
                    if let Some(src) = rule::source_for(&format!(".{}", a.attr), SourceForm::Method)
                    {
                        return self.source(piece, e, src.what, src.reach);
                    }
                }
            }
        }
        let mut best = Provenance::default();
        if let Expr::Name(n) = root {
            // `self.request` in a method; `self.NAME` set in a method of the class.
            if let (Some((class, me)), Some(Expr::Attribute(first))) =
                (index.enclosing_method(s), links.last())
            {
                if n.id.as_str() == me {
                    if let Some(src) =
                        rule::source_for(first.attr.as_str(), SourceForm::SelfAttribute)
                    {
                        return self.source(piece, e, src.what, src.reach);
                    }
                    best = best.or(self.attribute(class, first.attr.as_str()));
                }
            }
            if let Some(qualified) = index.qualified(s, n.id.as_str()) {
                if let Some(found) = self.qualified_source(e, &links, &qualified, s, piece) {
                    return found;
                }
            }
        }
        // A call of a function of the file: what it returns.
        if let Expr::Call(call) = e {
            if let Some(f) = index.local_function(s, &call.func) {
                let site = Site {
                    call,
                    scope: s,
                    piece,
                };
                return best.or(self.returns(f, site));
            }
        }
        best = best.or(self.trace(root, s, piece));
        for link in &links {
            if best.reach == Reach::Remote {
                break;
            }
            if let Expr::Call(c) = link {
                best = best.or(self.all(
                    c.args.iter().chain(c.keywords.iter().map(|k| &k.value)),
                    s,
                    piece,
                ));
            }
        }
        best
    }

    /// A source named by the qualified first names of a chain (`requests.get(...)`,
    /// `open(path)`), when it is one.
    fn qualified_source(
        &mut self,
        e: &'a Expr,
        links: &[&'a Expr],
        qualified: &str,
        s: ScopeId,
        piece: usize,
    ) -> Option<Provenance> {
        // Names, innermost first: `requests`, `requests.get`, then the call.
        let mut name = qualified.to_string();
        let mut candidates = vec![(name.clone(), links.len())];
        for (k, link) in links.iter().enumerate().rev() {
            match link {
                Expr::Attribute(a) => {
                    name.push('.');
                    name.push_str(a.attr.as_str());
                    candidates.push((name.clone(), k));
                }
                _ => break,
            }
        }
        for (name, k) in candidates.into_iter().rev() {
            let Some(src) = rule::called_source(&name) else {
                continue;
            };
            // The link after the name, when it calls it.
            let call = k
                .checked_sub(1)
                .and_then(|j| links.get(j))
                .and_then(|l| match l {
                    Expr::Call(c) => Some(c),
                    _ => None,
                });
            return match (src.form, call) {
                (SourceForm::Name, _) => Some(self.source(piece, e, src.what, src.reach)),
                (SourceForm::DownloadTo { .. }, Some(_)) => {
                    Some(self.source(piece, e, src.what, src.reach))
                }
                (SourceForm::Open, Some(call)) => {
                    let path = call
                        .args
                        .first()
                        .filter(|a| !matches!(a, Expr::Starred(_)))
                        .or_else(|| {
                            call.keywords
                                .iter()
                                .find(|k| {
                                    k.arg.as_ref().is_some_and(|a| {
                                        matches!(a.as_str(), "file" | "name" | "filename")
                                    })
                                })
                                .map(|k| &k.value)
                        });
                    Some(match path {
                        Some(path) => self.opened(path, e, s, piece),
                        None => self.source(piece, e, src.what, src.reach),
                    })
                }
                _ => None,
            };
        }
        None
    }

    /// What is read from a file opened by `path` (in the expression `e`): local, or as outside
    /// as the path, or written by a download.
    fn opened(&mut self, path: &'a Expr, e: &impl Ranged, s: ScopeId, piece: usize) -> Provenance {
        let from_path = self.trace(path, s, piece).or(self.downloaded(path, piece));
        let snippet = self.index.snippet(piece, e);
        if from_path.reach > Reach::Unknown {
            return from_path.then(|| Step {
                piece,
                at: e.range().start().into(),
                what: format!("`{snippet}` opens that path"),
            });
        }
        Provenance {
            reach: Reach::LocalFile,
            steps: vec![self.step(
                piece,
                e.range().start(),
                format!("`{snippet}`: a local file"),
            )],
        }
    }

    /// What is read from `arg`, a path or a file: what it is, or what a download wrote to
    /// it; a path written in the code is a local file.
    fn path_or_file(&mut self, arg: &'a Expr, s: ScopeId, piece: usize) -> Provenance {
        let found = self.trace(arg, s, piece).or(self.downloaded(arg, piece));
        let written = match arg {
            Expr::Constant(c) => c.value.is_str(),
            Expr::JoinedStr(_) => true,
            // `"session-%s.pkl" % name`
            Expr::BinOp(b) => matches!(&*b.left, Expr::Constant(c) if c.value.is_str()),
            _ => false,
        };
        match arg {
            _ if written && found.reach == Reach::Unknown => {
                self.source(piece, arg, "a local file", Reach::LocalFile)
            }
            _ => found,
        }
    }

    /// A download in the file that writes to the same path (the same name or string).
    fn downloaded(&mut self, path: &'a Expr, piece: usize) -> Provenance {
        let index = self.index;
        let text = |p: usize, e: &Expr| {
            index.texts[p]
                .get(usize::from(e.range().start())..usize::from(e.range().end()))
                .map(str::to_string)
        };
        let same = |p: usize, e: &Expr| match (path, e) {
            (Expr::Constant(a), Expr::Constant(b)) => a.value == b.value,
            (Expr::Name(_) | Expr::Attribute(_), Expr::Name(_) | Expr::Attribute(_)) => {
                text(piece, path) == text(p, e)
            }
            _ => false,
        };
        for &(n, target, src) in &index.downloads {
            let site = index.sites[n];
            if same(site.piece, target) {
                return Provenance {
                    reach: src.reach,
                    steps: vec![self.step(
                        site.piece,
                        site.call.range.start(),
                        format!(
                            "`{}`: {} saved to that path",
                            index.snippet(site.piece, site.call),
                            src.what
                        ),
                    )],
                };
            }
        }
        Provenance::default()
    }

    /// `self.NAME` of a class: what its methods set it to.
    fn attribute(&mut self, class: ScopeId, name: &'a str) -> Provenance {
        let index = self.index;
        let mut best = Provenance::default();
        let Some(writes) = index.scopes[class].attrs.get(name) else {
            return best;
        };
        // Keyed by the class scope, which binds no names of its own by this spelling.
        let key: &'a str = name;
        if !self.active.insert((class, key)) {
            return best;
        }
        for &(method, value, piece, at) in writes {
            let found = self
                .trace(value, method, piece)
                .then(|| self.step(piece, at, format!("stored in `self.{name}`")));
            best = best.or(found);
        }
        self.active.remove(&(class, key));
        best
    }

    /// What a function of the file returns, for one call of it.
    fn returns(&mut self, f: ScopeId, site: Site<'a>) -> Provenance {
        let index = self.index;
        if !self.returning.insert(f) {
            return Provenance::default();
        }
        self.calls.push((f, site));
        let mut best = Provenance::default();
        for &(value, piece) in &index.scopes[f].returns {
            let what = format!("returned by `{}()`", index.scopes[f].name);
            let found = self
                .trace(value, f, piece)
                .then(|| self.step(piece, value.range().start(), what));
            best = best.or(found);
        }
        self.calls.pop();
        self.returning.remove(&f);
        best
    }
}

/// The names a comprehension's target binds.
fn names_in(target: &Expr) -> Vec<&str> {
    match target {
        Expr::Name(n) => vec![n.id.as_str()],
        Expr::Tuple(t) => t.elts.iter().flat_map(names_in).collect(),
        Expr::List(l) => l.elts.iter().flat_map(names_in).collect(),
        Expr::Starred(s) => names_in(&s.value),
        _ => Vec::new(),
    }
}
