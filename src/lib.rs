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
mod check;
pub mod config;
pub mod git;
pub mod install;
pub mod limits;
mod parallel;
pub mod policy;
pub mod pushes;
pub mod python;
pub mod report;
pub mod rule;
pub mod source;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gix::bstr::ByteSlice;
use serde::Serialize;

pub use analyze::UseKind;
pub use config::ConfigChoice;
pub use policy::Date;
pub use source::Selection;

/// Why a run could not judge what it was asked to judge (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}")]
    Git { what: String, detail: String },
    #[error("`{flag}` needs a git repository, and {} is not inside one", cwd.display())]
    NotARepository { flag: &'static str, cwd: PathBuf },
    #[error("{0}")]
    Install(String),
    #[error("invalid configuration in {file}")]
    Config { file: String, message: String },
    #[error("is {}, more than the {} dill-guard reads of one file", size_text(*size), size_text(*limit))]
    TooLarge { size: u64, limit: u64 },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The error and its causes on one line, for a report that names the file it concerns.
    pub fn one_line(&self) -> String {
        std::iter::once(self.to_string())
            .chain(self.causes())
            .collect::<Vec<_>>()
            .join(": ")
    }

    /// The lines that explain the error further, outermost first.
    pub fn causes(&self) -> Vec<String> {
        match self {
            Error::Git { detail, .. } => vec![detail.clone()],
            Error::Config { message, .. } => vec![message.clone()],
            Error::Io { source, .. } | Error::Write { source, .. } => vec![source.to_string()],
            Error::NotARepository { .. } | Error::Install(_) | Error::TooLarge { .. } => Vec::new(),
        }
    }
}

/// A size for people: bytes, KiB, MiB or GiB.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
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
    /// For a notebook: the first and last line of the `.ipynb` file itself holding the code,
    /// for reports that point into the file (SARIF).
    #[serde(skip)]
    pub file_lines: Option<(usize, usize)>,
}

/// A finding that does not block, with what allowed it.
#[derive(Debug, Clone, Serialize)]
pub struct Allowed {
    #[serde(flatten)]
    pub finding: Finding,
    /// `"inline"` (a comment on the line) or `"config"` (an `[[allow]]` entry).
    pub by: &'static str,
    pub reason: String,
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub allowed: Vec<Allowed>,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    pub files_checked: usize,
    pub elapsed: Duration,
    /// How a blocking result is announced: `"commit blocked"` for the index, `"push blocked"`
    /// in push hooks, `"blocked"` for ranges and the working tree.
    pub blocked: &'static str,
    /// Bytes of source handed to the analysis so far in this run.
    analysed: std::sync::atomic::AtomicU64,
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

/// What to check and under which policy.
#[derive(Debug, Clone)]
pub struct Options {
    pub selection: Selection,
    pub config: ConfigChoice,
    /// Report only findings on lines the change adds or modifies relative to HEAD.
    pub new_only: bool,
    /// The date expiring allowlist entries are judged against.
    pub today: Date,
}

/// Checks the selected files. `cwd` is where relative paths and repository discovery start.
pub fn check(options: &Options, cwd: &Path) -> Result<Report, Error> {
    let started = Instant::now();
    let cwd = std::fs::canonicalize(cwd).map_err(|source| Error::Io {
        path: cwd.to_path_buf(),
        source,
    })?;
    let mut repo = git::Repo::discover(&cwd)?;
    if let (Selection::Receive { .. }, Some(repo)) = (&options.selection, repo.as_mut()) {
        // git keeps the objects of a push in quarantine until pre-receive accepts them.
        if let Some(dir) = std::env::var_os("GIT_QUARANTINE_PATH") {
            repo.use_quarantine(Path::new(&dir))?;
        }
    }
    let mut report = Report {
        blocked: match options.selection {
            Selection::Staged | Selection::StagedPaths(_) => "commit blocked",
            Selection::Push { .. } | Selection::Receive { .. } => "push blocked",
            _ => "blocked",
        },
        ..Report::default()
    };
    match repo.as_ref() {
        Some(repo) if options.selection.is_history() => {
            check_history(options, &cwd, repo, &mut report)?;
        }
        _ => {
            let from = match (&options.selection, repo.as_ref()) {
                (Selection::Paths(_), Some(repo)) => config::PolicyFrom::Disk(repo.root()),
                (_, Some(repo)) => config::PolicyFrom::Index(repo),
                (_, None) => config::PolicyFrom::Disk(cwd.clone()),
            };
            let policy = config::load(&options.config, &from, &cwd, options.today)?;
            let excluded = |path: &str| policy.is_excluded(path);
            let read = |keep: &source::Keep| {
                source::gather(&options.selection, &cwd, repo.as_ref(), &excluded, keep)
            };
            // The base the change is measured against: HEAD, for the index and the working tree.
            let base: Option<Box<BaseContent>> = match (options.new_only || policy.new_only, &repo)
            {
                (true, Some(repo)) => Some(Box::new(|path| repo.head_blob(path))),
                _ => None,
            };
            judge(
                &policy,
                &options.selection,
                read,
                base.as_deref(),
                &mut report,
            )?;
        }
    }
    let order = |f: &Finding| (f.path.clone(), f.cell, f.line, f.column);
    report.findings.sort_by_key(order);
    report.allowed.sort_by_key(|a| order(&a.finding));
    report.elapsed = started.elapsed();
    Ok(report)
}

/// `--range`, `--pre-push`, `--pre-receive`: each group of files under the policy that rules
/// it, never under a policy the change itself brings.
fn check_history(
    options: &Options,
    cwd: &Path,
    repo: &git::Repo,
    report: &mut Report,
) -> Result<(), Error> {
    for group in pushes::plan(&options.selection, repo)? {
        let tree = match group.policy {
            Some(commit) => repo.tree_of(git::Peeled::Commit(commit))?,
            None => None,
        };
        let from = config::PolicyFrom::Tree(repo, tree);
        let policy = config::load(&options.config, &from, cwd, options.today)?;
        if options.config == ConfigChoice::Discover {
            let ruling = from.fingerprint()?;
            for (name, tip) in &group.tips {
                let brought = config::PolicyFrom::Tree(repo, Some(*tip)).fingerprint()?;
                if brought != ruling {
                    let file = brought.as_ref().or(ruling.as_ref()).map_or("", |b| b.0);
                    let under = match group.policy {
                        Some(commit) => format!("the policy at {}", commit.to_hex_with_len(12)),
                        None => "no policy (there was none to read on the receiving side)".into(),
                    };
                    report.warnings.push(Issue::new(
                        file,
                        format!(
                            "the policy changes in {}: the change was judged under {under}, not under the policy it brings, which applies once it is accepted",
                            name.to_str_lossy()
                        ),
                    ));
                }
            }
        }
        for (path, why) in &group.notes {
            report.warnings.push(Issue::new(path.clone(), why.clone()));
        }
        let excluded = |path: &str| policy.is_excluded(path);
        let read =
            |keep: &source::Keep| Ok(source::gather_blobs(repo, &group.files, &excluded, keep));
        // The base the change is measured against: A for `--range A..B`; a push is new
        // everywhere.
        let base: Option<Box<BaseContent>> = match &options.selection {
            _ if !(options.new_only || policy.new_only) => None,
            Selection::Range { old: Some(_), .. } => {
                let old = group
                    .policy
                    .expect("a range with a base has its policy there");
                Some(Box::new(move |path| repo.commit_blob(old, path)))
            }
            _ => Some(Box::new(|_| Ok(None))),
        };
        judge(&policy, &options.selection, read, base.as_deref(), report)?;
    }
    Ok(())
}

/// Reads files with `read`, analysing them as they come, and applies the policy; adds
/// everything to `report`.
fn judge(
    policy: &policy::Policy,
    selection: &Selection,
    read: impl FnOnce(&source::Keep) -> Result<source::Sources, Error>,
    base: Option<&BaseContent>,
    report: &mut Report,
) -> Result<(), Error> {
    // What one change may give the analysis in all (a full check of a tree may give more).
    let budget = match selection {
        Selection::All | Selection::Paths(_) => u64::MAX,
        _ => limits::MAX_CHANGE_ANALYSIS_BYTES,
    };
    let given = &report.analysed;
    let refused: std::sync::Mutex<Vec<Issue>> = Default::default();
    let (sources, outcomes) = check::while_reading(|take| {
        let within = |file: source::SourceFile| {
            let len = file.bytes.len() as u64;
            let before = given.fetch_add(len, std::sync::atomic::Ordering::Relaxed);
            if before.saturating_add(len) > budget {
                refused.lock().unwrap_or_else(|p| p.into_inner()).push(Issue::new(
                    file.path,
                    format!(
                        "not analysed: this change holds more than {} of Python that mentions dill, the most one run analyses; check it in parts, or with --all",
                        size_text(budget)
                    ),
                ));
            } else {
                take(file);
            }
        };
        read(&source::Keep {
            wants: &analyze::worth_analysing,
            take: &within,
        })
    });
    let mut sources = sources?;
    let mut refused = refused.into_inner().unwrap_or_else(|p| p.into_inner());
    refused.sort_by(|a, b| a.path.cmp(&b.path));
    sources.errors.extend(refused);
    let mut files = Vec::new();
    let mut part = Report {
        errors: sources.errors,
        warnings: policy.warnings.clone(),
        files_checked: sources.checked.len(),
        ..Report::default()
    };
    part.warnings.extend(sources.warnings);
    for outcome in outcomes {
        files.extend(outcome.file);
        part.findings.extend(outcome.findings);
        part.allowed.extend(outcome.allowed);
        part.errors.extend(outcome.errors);
        part.warnings.extend(outcome.warnings);
    }
    // The allowlist sees every finding first: `--new-only` only trims what would block, so an
    // entry that allows legacy code is not reported unused because its code was left out.
    apply_allowlist(policy, selection, &sources.checked, &mut part);
    if let Some(base) = base {
        keep_new_lines(base, &files, &mut part)?;
    }
    report.findings.extend(part.findings);
    report.allowed.extend(part.allowed);
    report.errors.extend(part.errors);
    for warning in part.warnings {
        // Groups of one push may share a policy file's warnings.
        if !report.warnings.contains(&warning) {
            report.warnings.push(warning);
        }
    }
    report.files_checked += part.files_checked;
    Ok(())
}

/// The content a path had before the change being checked (`None`: the path is new).
type BaseContent<'r> = dyn Fn(&str) -> Result<Option<Vec<u8>>, Error> + 'r;

/// `--new-only`: drops findings on lines the base already has, and says how many. A file new
/// to the base, and notebooks, count as new everywhere.
fn keep_new_lines(
    base: &BaseContent,
    files: &[source::SourceFile],
    report: &mut Report,
) -> Result<(), Error> {
    let mut dropped: std::collections::BTreeMap<String, usize> = Default::default();
    // Per file: the lines the change added or modified, and what it touched (deleted lines
    // too), read once (`None`: new everywhere).
    type Change = Option<(std::collections::HashSet<usize>, policy::Touched)>;
    let mut changed: std::collections::HashMap<String, Change> = Default::default();
    let mut kept = Vec::new();
    for finding in std::mem::take(&mut report.findings) {
        if finding.cell.is_some() {
            kept.push(finding);
            continue;
        }
        if !changed.contains_key(&finding.path) {
            let lines = match base(&finding.path)? {
                None => None,
                Some(old) => files.iter().find(|f| f.path == finding.path).map(|file| {
                    // A file that cannot be decoded has an error, not findings.
                    let text = |bytes| python::decode(bytes).map(|d| d.text).unwrap_or_default();
                    let (before, now) = (text(&old), text(&file.bytes));
                    let (lines, gone) = policy::changes(&before, &now);
                    let all = policy::python_lines(&now);
                    let touched: Vec<&str> = lines
                        .iter()
                        .filter_map(|&n| all.get(n - 1).copied())
                        .chain(gone)
                        .collect();
                    let touched = policy::Touched::new(&touched, &now);
                    (lines, touched)
                }),
            };
            changed.insert(finding.path.clone(), lines);
        }
        match &changed[&finding.path] {
            Some((lines, touched))
                if !lines.contains(&finding.line) && !touched.may_reach(&finding.source_line) =>
            {
                *dropped.entry(finding.path).or_default() += 1;
            }
            _ => kept.push(finding),
        }
    }
    report.findings = kept;
    for (path, n) in dropped {
        report.warnings.push(Issue::new(
            path,
            format!(
                "{n} finding{} on lines this change does not touch not reported (--new-only)",
                if n == 1 { "" } else { "s" }
            ),
        ));
    }
    Ok(())
}

/// Moves the findings an `[[allow]]` entry accepts to `allowed`, and warns about entries that
/// have expired or allowed nothing they could have.
fn apply_allowlist(
    policy: &policy::Policy,
    selection: &Selection,
    checked: &[String],
    report: &mut Report,
) {
    let mut used = vec![false; policy.allows.len()];
    // An entry covers a checked file when one of its globs matches it.
    let mut covers_checked = vec![false; policy.allows.len()];
    for path in checked {
        for entry in policy.entries_for(path) {
            covers_checked[entry] = true;
        }
    }
    for finding in std::mem::take(&mut report.findings) {
        match policy.allow_for(&finding.path, finding.api) {
            Some(i) => {
                used[i] = true;
                report.allowed.push(Allowed {
                    finding,
                    by: "config",
                    reason: policy.allows[i].reason.clone(),
                });
            }
            None => report.findings.push(finding),
        }
    }
    // A staged check sees only part of the repository: an entry is unused there only when it
    // covers a file that was checked. A full check sees everything it could apply to.
    let full = matches!(selection, Selection::All | Selection::Paths(_));
    for ((entry, used), covers) in policy.allows.iter().zip(used).zip(covers_checked) {
        let place = format!("line {}", entry.line);
        if entry.expired {
            let date = entry.expires.map(|d| d.to_string()).unwrap_or_default();
            report.warnings.push(Issue::new(
                entry.file.clone(),
                format!(
                    "{place}: the allow entry for {} (\"{}\") expired on {date} and no longer applies",
                    entry.patterns.join(", "),
                    entry.reason
                ),
            ));
        } else if !used && (full || covers) {
            report.warnings.push(Issue::new(
                entry.file.clone(),
                format!(
                    "{place}: the allow entry for {} matched no finding; remove it if the code it allowed is gone",
                    entry.patterns.join(", ")
                ),
            ));
        }
    }
}
