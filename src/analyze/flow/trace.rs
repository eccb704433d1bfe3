//! The walk itself: from a sink's argument back to the sources of outside data, through the
//! index of its file.

use std::collections::HashSet;

use rustpython_ast::{self as ast, Expr, Ranged};

use super::{Bind, How, Param, Provenance, ScopeId, Site, Step, Tracer, MAX_DEPTH, MAX_SITES};
use crate::model::Reach;
use crate::rule::{self, SourceForm};

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
            cut: false,
            reach,
            steps: vec![self.step(
                piece,
                node.range().start(),
                format!("`{}`: {what}", self.index.snippet(piece, node)),
            )],
        }
    }

    /// The first `MAX_SITES` of a list of calls; the walk is cut when there are more.
    fn capped(&mut self, sites: Option<&'i Vec<usize>>) -> &'i [usize] {
        let sites = sites.map_or(&[][..], |v| v.as_slice());
        if sites.len() > MAX_SITES {
            self.cut = true;
        }
        &sites[..sites.len().min(MAX_SITES)]
    }

    /// Takes one unit of the walk's budget; `false` once it is spent.
    pub(super) fn spend(&mut self) -> bool {
        if self.budget == 0 {
            self.cut = true;
            return false;
        }
        self.budget -= 1;
        true
    }

    pub(super) fn trace(&mut self, e: &'a Expr, s: ScopeId, piece: usize) -> Provenance {
        // Each level of the walk is a few stack frames: a chain of thousands of assignments
        // must not exhaust the stack (found by fuzzing).
        if self.depth >= MAX_DEPTH {
            self.cut = true;
            return Provenance::default();
        }
        if !self.spend() {
            return Provenance::default();
        }
        self.depth += 1;
        let found = self.one(e, s, piece);
        self.depth -= 1;
        found
    }

    fn one(&mut self, e: &'a Expr, s: ScopeId, piece: usize) -> Provenance {
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

    pub(super) fn all(
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
        let mut own = HashSet::new();
        for g in generators {
            crate::analyze::target_names(&g.target, &mut own);
        }
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
        // The default, when a call leaves the parameter out.
        if let Some(default) = param.default {
            let what = format!("the default of `{}`", param.name);
            let found = self
                .trace(default, outer, piece)
                .then(|| self.step(piece, param.at, what));
            best = best.or(found);
        }
        if !is_self {
            if let Some(src) = rule::source_for(param.name, SourceForm::Parameter) {
                best = best.or(self.param_source(piece, param, src));
            }
        }
        // A function a decorator makes a task: its arguments come from a queue.
        if !is_self {
            for decorator in scope.decorators {
                let named = match decorator {
                    Expr::Call(c) => &*c.func,
                    other => other,
                };
                let src = index
                    .dotted(outer, named)
                    .and_then(|q| rule::source_for(&q, SourceForm::Decorator))
                    .or_else(|| match named {
                        Expr::Attribute(a) => {
                            rule::source_for(&format!(".{}", a.attr), SourceForm::Decorator)
                        }
                        _ => None,
                    });
                if let Some(src) = src {
                    let found = Provenance {
                        cut: false,
                        reach: src.reach,
                        steps: vec![self.step(
                            piece,
                            param.at,
                            format!(
                                "`{}` of `@{}`: {}",
                                param.name,
                                index.snippet(piece, named),
                                src.what
                            ),
                        )],
                    };
                    best = best.or(found);
                }
            }
        }
        // A callback handed to a call that feeds it outside data.
        for &n in self.capped(index.handed.get(scope.name)) {
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
                    cut: false,
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
            _ => self
                .capped(index.by_callee.get(scope.name))
                .iter()
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
            for &n in self.capped(index.by_callee.get(name)) {
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
            let given = passed(param, &scope.params, site.call, shift);
            let Some(&arg) = given.first() else {
                continue;
            };
            let callee = match scope.method_of {
                Some((class, _)) if k >= first_instantiation => index.scopes[class].name,
                _ => scope.name,
            };
            let what = format!("passed to `{callee}()` as `{}`", param.name);
            let found = self
                .all(given.into_iter(), site.scope, site.piece)
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
            cut: false,
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
                (SourceForm::Open, Some(call)) => Some(
                    match super::argument(call, 0, &["file", "name", "filename"]) {
                        Some(path) => self.opened(path, e, s, piece),
                        None => self.source(piece, e, src.what, src.reach),
                    },
                ),
                _ => None,
            };
        }
        None
    }

    /// What is read from a file opened by `path` (in the expression `e`): local, or as outside
    /// as the path, or written by a download.
    pub(super) fn opened(
        &mut self,
        path: &'a Expr,
        e: &impl Ranged,
        s: ScopeId,
        piece: usize,
    ) -> Provenance {
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
            cut: false,
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
    pub(super) fn path_or_file(&mut self, arg: &'a Expr, s: ScopeId, piece: usize) -> Provenance {
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
                    cut: false,
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

/// What a call passes a parameter: the argument at its position or of its name, a `*args`
/// or `**mapping` that may hold it, or, for `*args` and `**kwargs`, whatever is left over.
/// `shift` is 1 when the call passes the first parameter itself (`self`).
fn passed<'a>(
    param: &Param<'a>,
    params: &[Param<'a>],
    call: &'a ast::ExprCall,
    shift: usize,
) -> Vec<&'a Expr> {
    fn named(k: &ast::Keyword) -> Option<&str> {
        k.arg.as_ref().map(|a| a.as_str())
    }
    let unpacked = call
        .keywords
        .iter()
        .filter(|k| k.arg.is_none())
        .map(|k| &k.value);
    match param.star {
        1 => {
            let positional = params.iter().filter(|p| p.position.is_some()).count();
            call.args
                .iter()
                .skip(positional.saturating_sub(shift))
                .collect()
        }
        2 => call
            .keywords
            .iter()
            .filter(|k| named(k).is_none_or(|n| params.iter().all(|p| p.name != n)))
            .map(|k| &k.value)
            .collect(),
        _ => {
            let at = param.position.and_then(|p| p.checked_sub(shift));
            let by_position = at.and_then(|p| {
                // A `*xs` at or before the position may supply it.
                call.args
                    .iter()
                    .take(p + 1)
                    .find(|a| matches!(a, Expr::Starred(_)))
                    .or_else(|| call.args.get(p))
            });
            let by_keyword = call
                .keywords
                .iter()
                .find(|k| named(k) == Some(param.name))
                .map(|k| &k.value);
            match by_position.or(by_keyword) {
                Some(arg) => vec![arg],
                None => unpacked.collect(),
            }
        }
    }
}
