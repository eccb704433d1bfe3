//! dill-guard: blocks commits that add unsafe `dill` deserialization to Python code
//! (rule PYTHON-LANG-SEC-046, CWE-502).
//!
//! The pipeline runs one way: the selection says which files ([`source`], which reads git through
//! [`git`]); a byte prefilter drops files that cannot mention dill; [`python`] decodes the rest;
//! [`analyze`] resolves names and finds sinks (per file, in `check`); the policy decides what
//! blocks (`judge`); [`report`] prints. Shared types live in [`model`], below every stage. The
//! library decides and returns a [`Report`]; only the binary prints.

#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod analyze;
pub mod args;
mod check;
mod codec_names;
pub mod config;
pub mod git;
pub mod install;
mod judge;
pub mod limits;
pub mod model;
pub mod modules;
mod parallel;
pub mod policy;
pub mod pushes;
pub mod python;
pub mod report;
pub mod rule;
pub mod source;
pub mod zipapp;

use std::path::Path;
use std::time::Instant;

use gix::bstr::ByteSlice;

pub use config::ConfigChoice;
pub use model::{size_text, Allowed, Error, Finding, Issue, Report, UseKind};
pub use policy::Date;
pub use source::Selection;

/// What a change that widens the policy does in the history modes (`--policy-changes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PolicyChanges {
    /// It is judged under the policy in force, and the output says the policy changes.
    #[default]
    Warn,
    /// Each widening is a blocking finding of its own: relaxing the gate takes the operator.
    Block,
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
    pub policy_changes: PolicyChanges,
    /// `false`: inline allowances (`# dill-guard: allow`, `# noqa`) allow nothing.
    pub inline_allows: bool,
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
    // The formats for people show paths from the current directory; the others from the root.
    let cwd_in_root = repo
        .as_ref()
        .and_then(|repo| repo.workdir())
        .and_then(|workdir| std::fs::canonicalize(workdir).ok())
        .and_then(|root| cwd.strip_prefix(root).ok().map(|p| p.to_path_buf()))
        .map(|rel| {
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default();
    let mut report = Report {
        cwd_in_root,
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
                (Selection::Paths(_) | Selection::Stdin { .. }, Some(repo)) => {
                    config::PolicyFrom::Disk(repo.root())
                }
                (_, Some(repo)) => config::PolicyFrom::Index(repo),
                (_, None) => config::PolicyFrom::Disk(cwd.clone()),
            };
            let mut policy = config::load(&options.config, &from, &cwd, options.today)?;
            policy.inline_allows &= options.inline_allows;
            // Whether the policy kept any path from being read (an excluded module can still
            // be imported, so it can still hand dill on).
            let excluded_some = std::sync::atomic::AtomicBool::new(false);
            let excluded = |path: &str| {
                let excluded = policy.is_excluded(path);
                if excluded {
                    excluded_some.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                excluded
            };
            let read = |keep: &source::Keep| {
                source::gather(
                    &options.selection,
                    &cwd,
                    repo.as_ref(),
                    &excluded,
                    policy.skip_default_dirs,
                    keep,
                )
            };
            // The base the change is measured against: HEAD, for the index and the working tree.
            let base: Option<Box<judge::BaseContent>> =
                match (options.new_only || policy.new_only, &repo) {
                    (true, Some(repo)) => Some(Box::new(|path| repo.head_blob(path))),
                    _ => None,
                };
            // Configuration files below the root are reported, not ignored silently (unless
            // the run names its policy, or none).
            let nested = (options.config == ConfigChoice::Discover
                && !matches!(options.selection, Selection::Stdin { .. }))
            .then_some(&from);
            // Other modules of the repository are read from the same source as the files.
            let root = repo.as_ref().map_or_else(|| cwd.clone(), |r| r.root());
            // The check reads every module when it reads the index whole, or walks the root
            // and no ignore rule hides a file from the walk (a file git ignores can still be
            // committed, with `git add -f`; ignore files below the root are seen by the walk).
            let whole_tree = match &options.selection {
                Selection::All => true,
                Selection::Paths(paths) => {
                    let real = |p: &std::path::Path| std::fs::canonicalize(p).ok();
                    let walks_root = paths.iter().any(|p| {
                        let root = real(&root);
                        root.is_some() && real(&cwd.join(p)) == root
                    });
                    walks_root
                        && ![".gitignore", ".ignore"]
                            .iter()
                            .any(|name| root.join(name).exists())
                        && !repo
                            .as_ref()
                            .is_some_and(|r| r.has_excludes_outside_the_tree())
                }
                _ => false,
            };
            let from_disk = modules::Disk(root);
            let from_index = repo.as_ref().map(modules::Index);
            let modules: Option<&dyn modules::ModuleSource> =
                match (&options.selection, &from_index) {
                    (Selection::Stdin { .. }, _) => None,
                    (Selection::Paths(_), _) | (_, None) => Some(&from_disk),
                    (_, Some(index)) => Some(index),
                };
            // What a staged file held before, at HEAD.
            let head = |path: &str| match &repo {
                Some(repo) => repo.head_blob(path),
                None => Ok(None),
            };
            let change = matches!(
                options.selection,
                Selection::Staged | Selection::StagedPaths(_)
            );
            let resolution = modules.map(|source| modules::Resolution {
                source,
                whole_tree,
                excluded_some: &excluded_some,
                before: change.then_some(&head as &judge::BaseContent),
                new_modules_too: false,
            });
            judge::judge(
                &policy,
                &options.selection,
                read,
                base.as_deref(),
                nested,
                resolution.as_ref(),
                &mut report,
            )?;
        }
    }
    let order = |f: &Finding| (f.path.clone(), f.cell, f.line, f.column);
    report.findings.sort_by_key(order);
    // A file judged in several forms (the ways git may write it out) reports a use once.
    report.findings.dedup_by(|a, b| {
        (
            &a.path,
            a.cell,
            a.line,
            a.column,
            a.end_line,
            a.end_column,
            a.api,
            &a.message,
        ) == (
            &b.path,
            b.cell,
            b.line,
            b.column,
            b.end_line,
            b.end_column,
            b.api,
            &b.message,
        )
    });
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
    // Under an operator's `--config` (or `--no-config`) every ref has the same policy, so
    // whatever any ref holds was accepted under it; otherwise only what the default branch
    // holds was accepted under the policy new refs are judged by.
    let one_policy = options.config != ConfigChoice::Discover;
    // `--range ..B` is a full check of B under B's own policy: a policy it cannot read is an
    // error there, as for `--all`.
    let ruled_from_elsewhere = !matches!(options.selection, Selection::Range { old: None, .. });
    for group in pushes::plan(&options.selection, repo, one_policy)? {
        let tree = match group.policy {
            Some(commit) => repo.tree_of(git::Peeled::Commit(commit))?,
            None => None,
        };
        let from = config::PolicyFrom::Tree(repo, tree);
        let mut policy = match config::load(&options.config, &from, cwd, options.today) {
            // A policy in force that cannot be read rules as the strictest one, so that the
            // push that repairs it can land (a broken policy must not lock the branch).
            Err(Error::Config { file, message }) if !one_policy && ruled_from_elsewhere => {
                let at = group
                    .policy
                    .map(|c| c.to_hex_with_len(12).to_string())
                    .unwrap_or_default();
                report.warnings.push(Issue::new(
                    file,
                    format!(
                        "the policy in force (at {at}) cannot be read ({}); judged with no allowances, no excludes and no inline allows until a valid policy lands",
                        one_line(&message)
                    ),
                ));
                policy::Policy {
                    inline_allows: false,
                    ..policy::Policy::default()
                }
            }
            other => other?,
        };
        policy.inline_allows &= options.inline_allows;
        if !one_policy {
            judge_brought_policies(options, repo, &group, &from, &policy, report)?;
        }
        for (path, why) in &group.notes {
            report.warnings.push(Issue::new(path.clone(), why.clone()));
        }
        for (path, why) in &group.errors {
            report.errors.push(Issue::new(path.clone(), why.clone()));
        }
        let excluded = |path: &str| policy.is_excluded(path);
        let read = |keep: &source::Keep| {
            Ok(source::gather_blobs(
                repo,
                &group.files,
                &group.archives,
                &excluded,
                keep,
            ))
        };
        // The base the change is measured against: A for `--range A..B`; a push is new
        // everywhere.
        let base: Option<Box<judge::BaseContent>> = match &options.selection {
            _ if !(options.new_only || policy.new_only) => None,
            Selection::Range { old: Some(_), .. } => {
                let old = group
                    .policy
                    .expect("a range with a base has its policy there");
                Some(Box::new(move |path| repo.commit_blob(old, path)))
            }
            _ => Some(Box::new(|_| Ok(None))),
        };
        // Other modules of the repository are read from the tree being brought in.
        let from_tree = modules::Tree(repo, group.tips.first().map(|(_, tree)| *tree));
        let excluded_some = std::sync::atomic::AtomicBool::new(false);
        // What a file held before the change: at the commit whose policy rules it (`A` of a
        // range, the receiving side's tip); nothing for a first push.
        let old = group.policy;
        let before = |path: &str| match old {
            Some(commit) => repo.commit_blob(commit, path),
            None => Ok(None),
        };
        let resolution = modules::Resolution {
            source: &from_tree,
            whole_tree: false,
            excluded_some: &excluded_some,
            before: Some(&before),
            new_modules_too: true,
        };
        judge::judge(
            &policy,
            &options.selection,
            read,
            base.as_deref(),
            None,
            Some(&resolution),
            report,
        )?;
    }
    Ok(())
}

/// The policies a change brings, each compared with the one in force: one that cannot be read
/// refuses the change (exit status 2: the branch would be left with a policy that cannot be
/// read), one that differs is reported, and under `--policy-changes block` each widening is a
/// blocking finding of its own.
fn judge_brought_policies(
    options: &Options,
    repo: &git::Repo,
    group: &pushes::Group,
    ruling_from: &config::PolicyFrom,
    ruling: &policy::Policy,
    report: &mut Report,
) -> Result<(), Error> {
    let ruling_print = ruling_from.fingerprint()?;
    let under = match group.policy {
        Some(commit) => format!("the policy at {}", commit.to_hex_with_len(12)),
        None => "no policy (there was none to read on the receiving side)".into(),
    };
    let mut seen = std::collections::HashSet::new();
    for (name, tip) in &group.tips {
        let from = config::PolicyFrom::Tree(repo, Some(*tip));
        let brought = from.fingerprint()?;
        if brought == ruling_print {
            continue;
        }
        let name = name.to_str_lossy();
        let file = brought
            .as_ref()
            .or(ruling_print.as_ref())
            .map_or("", |b| b.0);
        report.warnings.push(Issue::new(
            file,
            format!(
                "the policy changes in {name}: the change was judged under {under}, not under the policy it brings, which applies once it is accepted"
            ),
        ));
        if !seen.insert(*tip) {
            continue;
        }
        match config::load(
            &ConfigChoice::Discover,
            &from,
            Path::new("."),
            options.today,
        ) {
            Ok(new) => {
                if options.policy_changes == PolicyChanges::Block {
                    let wider = policy::widenings(ruling, &new);
                    if !wider.is_empty() {
                        report.policy_changes.push(Issue::new(
                            file,
                            format!(
                                "{name} widens the policy: {}. With --policy-changes block a wider policy needs the operator (or a reviewed --config)",
                                wider.join("; ")
                            ),
                        ));
                    }
                }
            }
            Err(err @ Error::Config { .. }) => {
                report.errors.push(Issue::new(
                    file,
                    format!(
                        "{name} brings a policy that cannot be read, and is refused: {}",
                        one_line(&err.one_line())
                    ),
                ));
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// A parser's message, which may quote several lines, as the one line an issue is.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
