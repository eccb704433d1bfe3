//! The index of one file the walk reads: every scope with what it binds (assignments,
//! imports, parameters, definitions, `self.NAME` stores), every call, and the functions handed
//! to calls, built in one pass over the syntax tree.

use rustpython_ast::{self as ast, Expr, Ranged, Stmt};

use std::collections::HashMap;

use super::{Bind, How, Index, Param, Scope, ScopeId, Site, SNIPPET_CHARS, STORING};
use crate::rule::{self, SourceForm};

impl<'a> Index<'a> {
    pub(super) fn new(suites: &'a [Vec<Stmt>], texts: &'a [&'a str]) -> Index<'a> {
        let mut index = Index {
            texts,
            scopes: vec![Scope::default()],
            sites: Vec::new(),
            by_callee: HashMap::new(),
            handed: HashMap::new(),
            downloads: Vec::new(),
            calls_at: HashMap::new(),
            args_at: HashMap::new(),
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
            if let Some(target) = super::argument(site.call, position, &[keyword]) {
                index.downloads.push((n, target, src));
            }
        }
        index
    }

    fn bind(&mut self, s: ScopeId, name: &'a str, bind: Bind<'a>) {
        // `global NAME` in a function: its assignments bind the module's name; `nonlocal NAME`:
        // the enclosing function's.
        let s = if self.scopes[s].globals.contains(name) {
            0
        } else if self.scopes[s].nonlocals.contains(name) {
            let mut at = self.scopes[s].parent;
            while let Some(scope) = at {
                let here = &self.scopes[scope];
                if !here.class && (here.binds.contains_key(name) || here.parent.is_none()) {
                    break;
                }
                at = here.parent;
            }
            at.unwrap_or(s)
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
                // `obj.attr = v` puts `v` into `obj`.
                if let Expr::Name(owner) = &*a.value {
                    self.store(owner, value, s, piece);
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
                    crate::analyze::captures(&case.pattern, &mut names);
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
            Stmt::Nonlocal(n) => {
                for name in &n.names {
                    self.scopes[s].nonlocals.insert(name.as_str());
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
                star: 0,
                annotation: p.def.annotation.as_deref(),
                default: p.default.as_deref(),
                at: p.def.range.start().into(),
            });
        }
        for p in &args.kwonlyargs {
            params.push(Param {
                name: p.def.arg.as_str(),
                position: None,
                star: 0,
                annotation: p.def.annotation.as_deref(),
                default: p.default.as_deref(),
                at: p.def.range.start().into(),
            });
        }
        for (star, p) in args
            .vararg
            .iter()
            .map(|p| (1, p))
            .chain(args.kwarg.iter().map(|p| (2, p)))
        {
            params.push(Param {
                name: p.arg.as_str(),
                position: None,
                star,
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
            decorators,
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
                let range = |e: &dyn Ranged| {
                    (
                        piece,
                        usize::from(e.range().start()),
                        usize::from(e.range().end()),
                    )
                };
                for arg in call
                    .args
                    .iter()
                    .chain(call.keywords.iter().map(|k| &k.value))
                {
                    self.args_at.insert(range(arg), n);
                }
                self.calls_at.insert(range(call), n);
                let last = match &*call.func {
                    Expr::Name(f) => Some(f.id.as_str()),
                    Expr::Attribute(a) => Some(a.attr.as_str()),
                    _ => None,
                };
                if let Some(last) = last {
                    self.by_callee.entry(last).or_default().push(n);
                }
                // `setattr(obj, name, v)` puts `v` into `obj`.
                if let (Expr::Name(f), [Expr::Name(owner), _, value]) =
                    (&*call.func, call.args.as_slice())
                {
                    if f.id.as_str() == "setattr" && self.lookup(s, "setattr").is_none() {
                        self.store(owner, value, s, piece);
                    }
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
}

impl<'a> Index<'a> {
    /// An expression's text as a step quotes it: on one line, cut when long.
    pub(super) fn snippet(&self, piece: usize, node: &impl Ranged) -> String {
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
    pub(super) fn lookup(&self, s: ScopeId, name: &str) -> Option<(ScopeId, &Vec<Bind<'a>>)> {
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
    pub(super) fn qualified(&self, s: ScopeId, name: &str) -> Option<String> {
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
    pub(super) fn dotted(&self, s: ScopeId, e: &Expr) -> Option<String> {
        match e {
            Expr::Name(n) => self.qualified(s, n.id.as_str()),
            Expr::Attribute(a) => Some(format!("{}.{}", self.dotted(s, &a.value)?, a.attr)),
            _ => None,
        }
    }

    /// The function of the file a call calls, when it can tell.
    pub(super) fn local_function(&self, s: ScopeId, func: &Expr) -> Option<ScopeId> {
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
    pub(super) fn enclosing_method(&self, s: ScopeId) -> Option<(ScopeId, &'a str)> {
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
