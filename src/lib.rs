//! dill-guard: blocks commits that add unsafe `dill` deserialization to Python code
//! (rule PYTHON-LANG-SEC-046, CWE-502).
//!
//! The pipeline runs one way: the selection says which files ([`source`], which reads git through
//! [`git`]); a byte prefilter drops files that cannot mention dill; [`python`] decodes the rest;
//! [`analyze`] resolves names and finds sinks; [`report`] prints. The library decides and returns
//! a [`Report`]; only the binary prints.

#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod analyze;
pub mod args;
pub mod git;
pub mod python;
pub mod report;
pub mod rule;
pub mod source;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use analyze::UseKind;
pub use source::Selection;

/// Why a run could not judge what it was asked to judge (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}")]
    Git { what: String, detail: String },
    #[error("`{flag}` needs a git repository, and {} is not inside one", cwd.display())]
    NotARepository { flag: &'static str, cwd: PathBuf },
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The lines that explain the error further, outermost first.
    pub fn causes(&self) -> Vec<String> {
        match self {
            Error::Git { detail, .. } => vec![detail.clone()],
            Error::Io { source, .. } => vec![source.to_string()],
            Error::NotARepository { .. } => Vec::new(),
        }
    }
}

/// A problem with one file, or a note about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub path: String,
    pub message: String,
}

impl Issue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Issue {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// One use of a sink, located for people and machines.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub path: String,
    /// 1-based; inside the cell for notebooks.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub end_line: usize,
    /// 1-based, in characters, one past the last character.
    pub end_column: usize,
    /// 1-based index of the notebook cell in the notebook's `cells` array.
    pub cell: Option<usize>,
    pub api: &'static str,
    pub kind: UseKind,
    pub severity: &'static str,
    pub degraded: bool,
    pub message: String,
    /// The source line the finding starts on, for display.
    #[serde(skip)]
    pub source_line: String,
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    pub files_checked: usize,
    pub elapsed: Duration,
}

impl Report {
    /// 0 nothing blocking, 1 a blocking finding, 2 the tool could not judge.
    pub fn exit_code(&self, exit_zero: bool) -> i32 {
        if !self.errors.is_empty() {
            2
        } else if !self.findings.is_empty() && !exit_zero {
            1
        } else {
            0
        }
    }
}

/// Checks the selected files. `cwd` is where relative paths and repository discovery start.
pub fn check(selection: &Selection, cwd: &Path) -> Result<Report, Error> {
    let started = Instant::now();
    let cwd = std::fs::canonicalize(cwd).map_err(|source| Error::Io {
        path: cwd.to_path_buf(),
        source,
    })?;
    let mut keep = |file: &source::SourceFile| analyze::mentions_dill(&file.bytes);
    let (sources, files_checked) = source::gather(selection, &cwd, &mut keep)?;
    let mut report = Report {
        errors: sources.errors,
        warnings: sources.warnings,
        files_checked,
        ..Report::default()
    };
    for outcome in check_files(&sources.files) {
        report.findings.extend(outcome.findings);
        report.errors.extend(outcome.errors);
        report.warnings.extend(outcome.warnings);
    }
    report.findings.sort_by(|a, b| {
        (&a.path, a.cell, a.line, a.column).cmp(&(&b.path, b.cell, b.line, b.column))
    });
    report.elapsed = started.elapsed();
    Ok(report)
}

/// What checking one file gave.
#[derive(Debug, Default)]
struct Outcome {
    findings: Vec<Finding>,
    errors: Vec<Issue>,
    warnings: Vec<Issue>,
}

/// Deeply nested expressions make deep syntax trees; analysis and the tree's drop recurse, so
/// workers get a stack far larger than the default (it is reserved, not committed).
const WORKER_STACK: usize = 512 << 20;

/// Analyses the files on every core. A panic in one file becomes an error for that file.
fn check_files(files: &[source::SourceFile]) -> Vec<Outcome> {
    if files.is_empty() {
        return Vec::new();
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::with_capacity(files.len()));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let spawned = std::thread::Builder::new()
                .name("dill-guard-worker".into())
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let outcome = std::panic::catch_unwind(|| check_file(file)).unwrap_or_else(|_| {
                        Outcome {
                            errors: vec![Issue::new(
                                file.path.clone(),
                                "internal error while analysing this file (a bug in dill-guard; please report it)",
                            )],
                            ..Outcome::default()
                        }
                    });
                    results
                        .lock()
                        .expect("a worker panicked while holding the results lock")
                        .push((i, outcome));
                });
            if spawned.is_err() {
                // Could not start a worker (resource limits): the others, or this thread, go on.
                break;
            }
        }
    });
    let mut results = results
        .into_inner()
        .expect("a worker panicked while holding the results lock");
    if results.len() < files.len() {
        // No worker could be started at all: analyse here rather than pass anything silently.
        let done: std::collections::HashSet<usize> = results.iter().map(|(i, _)| *i).collect();
        for (i, file) in files.iter().enumerate() {
            if !done.contains(&i) {
                results.push((i, check_file(file)));
            }
        }
    }
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, outcome)| outcome).collect()
}

fn check_file(file: &source::SourceFile) -> Outcome {
    let mut outcome = Outcome::default();
    let decoded;
    let cells;
    // The pieces of source that share one module namespace, with their notebook cell numbers.
    let (texts, cell_numbers): (Vec<&str>, Vec<Option<usize>>) = match file.kind {
        python::Kind::Source => {
            decoded = python::decode(&file.bytes);
            if let Some(why) = &decoded.lossy {
                outcome
                    .warnings
                    .push(Issue::new(file.path.clone(), why.clone()));
            }
            (vec![&*decoded.text], vec![None])
        }
        python::Kind::Notebook => match python::notebook_cells(&file.bytes) {
            Ok(parsed) => {
                cells = parsed;
                (
                    cells.iter().map(|c| c.source.as_str()).collect(),
                    cells.iter().map(|c| Some(c.index)).collect(),
                )
            }
            Err(why) => {
                outcome.errors.push(Issue::new(file.path.clone(), why));
                return outcome;
            }
        },
    };
    let analysis = analyze::analyze(&texts);
    if let Some(why) = &analysis.degraded {
        outcome.warnings.push(Issue::new(
            file.path.clone(),
            format!("checked in degraded mode: {why}"),
        ));
    }
    for hit in &analysis.hits {
        let text = texts[hit.piece];
        let (line, column) = position(text, hit.start);
        let (end_line, end_column) = position(text, hit.end);
        outcome.findings.push(Finding {
            rule: rule::RULE_ID,
            path: file.path.clone(),
            line,
            column,
            end_line,
            end_column,
            cell: cell_numbers[hit.piece],
            api: hit.sink.api,
            kind: hit.kind,
            severity: rule::SEVERITY,
            degraded: analysis.degraded.is_some(),
            message: rule::message(hit.sink),
            source_line: line_at(text, hit.start).to_string(),
        });
    }
    outcome
}

/// 1-based line and character column of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    (line, before[line_start..].chars().count() + 1)
}

fn line_at(text: &str, offset: usize) -> &str {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    text[start..end].trim_end_matches('\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let text = "a = 1\nb = 'é'; dill.loads(x)\n";
        let offset = text.find("dill").unwrap();
        assert_eq!(position(text, offset), (2, 10));
        assert_eq!(line_at(text, offset), "b = 'é'; dill.loads(x)");
    }
}
