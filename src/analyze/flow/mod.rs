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

mod index;
mod trace;

use rustpython_ast::{self as ast, Expr, Ranged, Stmt};

use super::{Hit, Route, UseKind};
use crate::model::Reach;
use crate::rule;

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
    /// The walk was not finished: a bound stopped it, or it could not start (a use in a
    /// string of code, a finding past the ones traced). Then `unknown` rules nothing out.
    pub cut: bool,
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
/// How deep walks nest, at most: a flow of more steps than this is not followed further.
const MAX_DEPTH: usize = 100;
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
    /// `*args` (1) or `**kwargs` (2): what is left of the call's arguments.
    star: u8,
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
    nonlocals: HashSet<&'a str>,
    returns: Vec<(&'a Expr, usize)>,
    /// For a method: its class and the name of its first parameter.
    method_of: Option<(ScopeId, &'a str)>,
    /// For a function: its decorators.
    decorators: &'a [Expr],
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
    /// Every call by its (piece, start, end), where a finding of a call is; and the call each
    /// argument is given to, where the dill module handed over or a loader handed on is.
    calls_at: HashMap<(usize, usize, usize), usize>,
    args_at: HashMap<(usize, usize, usize), usize>,
}

/// The provenance of every hit of a file, in the order of `hits`.
pub(super) fn trace_hits(suites: &[Vec<Stmt>], texts: &[&str], hits: &[Hit]) -> Vec<Provenance> {
    let wanted = |h: &Hit| matches!(h.route, Route::Direct | Route::Handover { .. });
    // A library's call loads from where the library reads: its table says how far outside.
    let library = |hit: &Hit, library: &rule::Library| Provenance {
        reach: library.reach,
        steps: match library.source {
            "" => Vec::new(),
            what => vec![Step {
                piece: hit.piece,
                at: hit.start,
                what: what.to_string(),
            }],
        },
        cut: false,
    };
    if !hits.iter().any(wanted) {
        // Only uses inside strings of code, which are not walked, and library calls.
        let unwalked = Provenance {
            cut: true,
            ..Provenance::default()
        };
        return hits
            .iter()
            .map(|hit| match &hit.route {
                Route::Library(l) => library(hit, l),
                _ => unwalked.clone(),
            })
            .collect();
    }
    let index = Index::new(suites, texts);
    hits.iter()
        .enumerate()
        .map(|(n, hit)| {
            if let Route::Library(l) = &hit.route {
                return library(hit, l);
            }
            if n < MAX_TRACED && wanted(hit) {
                index.provenance(hit)
            } else {
                Provenance {
                    // A use inside a string of code, or past the findings traced: not walked.
                    cut: n >= MAX_TRACED || matches!(hit.route, Route::Embedded(_)),
                    ..Provenance::default()
                }
            }
        })
        .collect()
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
    /// How many walks are nested now.
    depth: usize,
    /// Whether a bound stopped part of the walk.
    cut: bool,
}

impl<'a> Index<'a> {
    /// Where the data of one hit comes from, and whether a bound cut the walk short.
    fn provenance(&self, hit: &Hit) -> Provenance {
        let mut tracer = Tracer {
            index: self,
            budget: BUDGET,
            active: HashSet::new(),
            returning: HashSet::new(),
            calls: Vec::new(),
            depth: 0,
            cut: false,
        };
        let mut found = self.walk(hit, &mut tracer);
        found.cut |= tracer.cut;
        found
    }

    fn walk<'i>(&'i self, hit: &Hit, tracer: &mut Tracer<'i, 'a>) -> Provenance {
        // A call is found at its own range; the dill module handed over, or a loader handed on,
        // at the range of the argument it is.
        let place = (hit.piece, hit.start, hit.end);
        let found = match hit.kind {
            UseKind::Call => self.calls_at.get(&place),
            _ => self.args_at.get(&place),
        };
        let Some(&n) = found else {
            return Provenance::default();
        };
        let site = &self.sites[n];
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
        let (argument, reader) = match &hit.route {
            Route::Handover { handover, .. } if handover.keyword != "pickle_module" => {
                return Provenance::default()
            }
            Route::Handover { to, .. } => (
                argument(call, 0, &["f", "file", "data"]),
                format!("loaded by `{to}` with dill"),
            ),
            _ => (
                argument(call, 0, &["str", "file", "filename", "buffer", "data"]),
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
                cut: false,
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
}

/// The argument a call gives at `position` (not inside a `*xs`), or under one of `names`.
pub(crate) fn argument<'a>(
    call: &'a ast::ExprCall,
    position: usize,
    names: &[&str],
) -> Option<&'a Expr> {
    call.args
        .get(position)
        .filter(|a| !matches!(a, Expr::Starred(_)))
        .or_else(|| {
            call.keywords
                .iter()
                .find(|k| k.arg.as_ref().is_some_and(|a| names.contains(&a.as_str())))
                .map(|k| &k.value)
        })
}

#[cfg(test)]
mod tests {
    use crate::analyze::{analyze_within, Limits};
    use crate::model::Reach;

    /// A chain of thousands of assignments ends the walk, not the stack, even on the smallest
    /// stack a worker may get (found by fuzzing: every name was a level of recursion).
    #[test]
    fn a_long_chain_of_assignments_does_not_exhaust_the_stack() {
        let mut src = String::from("import dill\nfrom flask import request\nx0 = request.data\n");
        for i in 1..5_000 {
            src.push_str(&format!("x{i} = x{} + b''\n", i - 1));
        }
        src.push_str("dill.loads(x4999)\ndill.loads(x30)\n");
        let stack = 2 << 20;
        let analysis = std::thread::Builder::new()
            .stack_size(stack)
            .spawn(move || analyze_within(&[&src], &Limits::for_stack(stack)))
            .unwrap()
            .join()
            .unwrap();
        let reach: Vec<Reach> = analysis.hits.iter().map(|h| h.provenance.reach).collect();
        // Too far to follow is unknown; 30 steps are followed.
        assert_eq!(reach, [Reach::Unknown, Reach::Remote]);
    }
}
