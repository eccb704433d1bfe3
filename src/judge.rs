//! Judging what was read: files are analysed as they come (within what one change may give the
//! analysis), then the policy decides what blocks: the `[[allow]]` entries first, then
//! `--new-only`.

use crate::model::Error;
use crate::model::{size_text, Allowed, Issue, Report};
use crate::source::{self, Selection};
use crate::{analyze, check, limits, policy, python};

/// Reads files with `read`, analysing them as they come, and applies the policy; adds
/// everything to `report`.
pub(crate) fn judge(
    policy: &policy::Policy,
    selection: &Selection,
    read: impl FnOnce(&source::Keep) -> Result<source::Sources, Error>,
    base: Option<&BaseContent>,
    nested_from: Option<&crate::config::PolicyFrom>,
    resolution: Option<&crate::modules::Resolution>,
    report: &mut Report,
) -> Result<(), Error> {
    // What one change may give the analysis in all (a full check of a tree may give more).
    let budget = match selection {
        Selection::All | Selection::Paths(_) | Selection::Stdin { .. } => u64::MAX,
        _ => limits::MAX_CHANGE_ANALYSIS_BYTES,
    };
    let given = &report.analysed;
    let refused: std::sync::Mutex<Vec<Issue>> = Default::default();
    // What each file imports, to resolve against the repository's modules once all is read.
    let known: std::sync::Mutex<Vec<(String, crate::modules::Known)>> = Default::default();
    // Reading the whole tree, a file that cannot bind dill is not asked what it imports until
    // some file is found that may (resolution from dill outward): most trees have none.
    let whole_tree = resolution.is_some_and(|r| r.whole_tree);
    let resolving = resolution.is_some();
    let wants = |path: &str, bytes: &[u8], kind: python::Kind| {
        if !resolving {
            return analyze::worth_analysing(bytes, kind);
        }
        let interest = analyze::interest(bytes, kind);
        let worth = interest.sinks;
        // A file that names dill may bind it for others even when it reaches no sink.
        let involves = worth || interest.exports;
        let file = if whole_tree && !involves {
            crate::modules::Known::later(kind)
        } else {
            crate::modules::Known::new(worth, involves, &imports_in(bytes, kind), kind)
        };
        known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((path.to_string(), file));
        // A file that may set another module's global to dill is analysed for that patch
        // even when it reaches no sink itself (`helpers.codec = dill`).
        worth || (interest.exports && analyze::sets_an_attribute(bytes))
    };
    let (sources, mut outcomes) = check::while_reading(|take| {
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
            wants: &wants,
            take: &within,
        })
    });
    // A file that imports a name another module of the repository binds to dill is analysed
    // (again) knowing what that module holds.
    let mut sources = sources?;
    if let Some(resolution) = resolution {
        let mut known: std::collections::HashMap<String, crate::modules::Known> = known
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .collect();
        let hidden = sources.left_out_packages
            || resolution
                .excluded_some
                .load(std::sync::atomic::Ordering::Relaxed);
        let may_export =
            hidden || !whole_tree || some_module_may_export(resolution, &known, &outcomes);
        if may_export {
            // What the files not asked yet import, read again from the same source.
            for (path, file) in known.iter_mut() {
                if file.imports_later() {
                    let imports = resolution
                        .source
                        .read(path)
                        .map(|bytes| imports_in(&bytes, file.kind))
                        .unwrap_or_default();
                    *file = crate::modules::Known::new(false, false, &imports, file.kind);
                }
            }
            analyse_with_modules(resolution, known, &mut outcomes);
        }
    }
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
    if let Some(from) = nested_from {
        part.warnings
            .extend(crate::config::nested_configs(from, &sources.checked)?);
    }
    for outcome in outcomes {
        files.extend(outcome.file);
        part.findings.extend(outcome.findings);
        for allowed in outcome.allowed {
            if allowed.by == "inline" && !policy.inline_allows {
                // Only the policy file (reviewed as such) may allow here.
                let f = &allowed.finding;
                part.warnings.push(Issue::new(
                    f.path.clone(),
                    format!(
                        "line {}: inline allowances are refused here (`{}`); the finding blocks. An allowance belongs in an `[[allow]]` entry of the policy",
                        f.line, allowed.reason
                    ),
                ));
                part.findings.push(allowed.finding);
            } else {
                part.allowed.push(allowed);
            }
        }
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

/// Whether some file of a whole-tree check may bind dill for others to import: one whose
/// analysis found such names or patches, or one that names dill without reaching a sink (not analysed
/// for its own sake: a few are analysed here, many are taken to).
fn some_module_may_export(
    resolution: &crate::modules::Resolution,
    known: &std::collections::HashMap<String, crate::modules::Known>,
    outcomes: &[check::Outcome],
) -> bool {
    // A module that binds dill, or sets another module's global to it (inside a function
    // too: `serialize.pickle = dill` in `use_dill()`).
    if outcomes
        .iter()
        .any(|o| !o.exports.is_empty() || !o.patches.is_empty() || o.exports_unknown)
    {
        return true;
    }
    let unread: Vec<(&String, &crate::modules::Known)> = known
        .iter()
        .filter(|(_, k)| k.involves && !k.worth)
        .collect();
    if unread.len() > 16 {
        return true;
    }
    let limits = analyze::Limits::for_stack(2 << 20);
    unread.into_iter().any(|(path, file)| {
        if file.kind != python::Kind::Source {
            return true;
        }
        let Some(bytes) = resolution.source.read(path) else {
            return true;
        };
        match python::decode(&bytes) {
            Ok(decoded) => {
                let analysis = analyze::analyze_with(&[&decoded.text], &limits, None);
                // Not fully parsed: what it binds is unknown.
                !analysis.exports.is_empty()
                    || analysis.degraded.is_some()
                    || analysis.failed.is_some()
            }
            Err(_) => true,
        }
    })
}

/// What to analyse again, with the modules it imports, and its bytes once read.
type Redo = std::collections::BTreeMap<String, (analyze::LocalModules, Option<Vec<u8>>)>;

/// Adds to `redo` the files of `source` outside the check that read dill from a module of the
/// check: found from the names of the modules that hand dill on outward (a file must name one
/// to import it), then from the names of the modules that hand it on through them.
fn find_dependents(
    source: &dyn crate::modules::ModuleSource,
    before: &BaseContent,
    new_modules_too: bool,
    resolver: &crate::modules::Resolver,
    known: &std::collections::HashMap<String, crate::modules::Known>,
    redo: &mut Redo,
) {
    // The modules the change made hand on something they did not before.
    let limits = analyze::Limits::for_stack(2 << 20);
    let mut names: std::collections::HashSet<String> = known
        .keys()
        .filter(|path| {
            let now = resolver.exports_of_file(path);
            if now.is_empty() {
                return false;
            }
            // A module that was a file and is now a package (or the other way round) is the
            // same module: compared with what it was.
            let twin = match path.strip_suffix("/__init__.py") {
                Some(package) => format!("{package}.py"),
                None => format!("{}/__init__.py", path.trim_end_matches(".py")),
            };
            let old = match before(path) {
                Ok(Some(old)) => old,
                Ok(None) => match before(&twin) {
                    Ok(Some(old)) => old,
                    Ok(None) => return new_modules_too,
                    Err(_) => return true,
                },
                Err(_) => return true,
            };
            let old = match python::decode(&old) {
                Ok(decoded) => analyze::analyze_with(&[&decoded.text], &limits, None).exports,
                Err(_) => return true,
            };
            now.iter().any(|(name, value)| old.get(name) != Some(value))
        })
        .filter_map(|path| module_name(path))
        .map(String::from)
        .collect();
    if names.is_empty() {
        return;
    }
    // What a file that names one of `names` imports and whether it reads dill through it;
    // the name of a module it makes hand dill on in turn.
    let judge_one = |path: &str, bytes: &[u8], redo: &mut Redo| -> Option<String> {
        let imports = imports_in(bytes, python::Kind::Source);
        let mut local = resolver.local_for(path, &imports);
        if local.exports.is_empty() {
            return None;
        }
        if local.reaches_dill(&imports, bytes, &|file| resolver.exports_of_file(file)) {
            resolver.hand_on(&mut local);
            redo.insert(path.to_string(), (local, Some(bytes.to_vec())));
        }
        (!resolver.exports_of_file(path).is_empty())
            .then(|| module_name(path).map(String::from))
            .flatten()
    };
    // The first round reads every file once (on every core); the files that named none of
    // the names are read again only when a module found hands dill on in turn.
    let wanted: Vec<String> = names.iter().cloned().collect();
    let first = source.python_files_naming(&wanted);
    let mut next = std::collections::HashSet::new();
    for (path, bytes) in first.naming {
        if !known.contains_key(&path) {
            next.extend(judge_one(&path, &bytes, redo));
        }
    }
    let mut rest: Vec<String> = first
        .others
        .into_iter()
        .filter(|path| !known.contains_key(path))
        .collect();
    names = next;
    while !names.is_empty() {
        let mut next = std::collections::HashSet::new();
        rest.retain(|path| {
            let Some(bytes) = source.read(path) else {
                return false;
            };
            if !names
                .iter()
                .any(|name| crate::modules::names_word(&bytes, name))
            {
                return true;
            }
            next.extend(judge_one(path, &bytes, redo));
            false
        });
        names = next;
    }
}

/// The name a module's file is imported by: its stem, or its package's for `__init__.py`.
fn module_name(path: &str) -> Option<&str> {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    match file.strip_suffix(".py")? {
        "__init__" => dir.rsplit('/').next().filter(|d| !d.is_empty()),
        stem => Some(stem),
    }
}

/// The imports of a file, as Python (or Jupyter, for a notebook's code cells) reads them.
fn imports_in(bytes: &[u8], kind: python::Kind) -> Vec<analyze::ImportSpec> {
    match (memchr::memmem::find(bytes, b"import"), kind) {
        (None, _) => Vec::new(),
        (Some(_), python::Kind::Source | python::Kind::Cython) => analyze::imports_of(bytes),
        (Some(_), python::Kind::Notebook) => python::notebook_cells(bytes)
            .map(|cells| {
                let code: Vec<&str> = cells.iter().map(|c| c.source.as_str()).collect();
                analyze::imports_of(code.join("\n").as_bytes())
            })
            .unwrap_or_default(),
    }
}

/// The content a path had before the change being checked (`None`: the path is new).
pub type BaseContent<'r> = dyn Fn(&str) -> Result<Option<Vec<u8>>, Error> + 'r;

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
            // Old, unless the change touches its line, a binding it resolves through, or the
            // way outside data takes to it (a new caller passing a request body).
            Some((lines, touched))
                if !lines.contains(&finding.line)
                    && !touched.may_reach(&finding.source_line)
                    && !finding.flow.iter().any(|step| lines.contains(&step.line)) =>
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
        match policy.allow_for(
            &finding.path,
            finding.api,
            finding.reachable,
            finding.flow_cut,
        ) {
            Ok(Some(i)) => {
                used[i] = true;
                report.allowed.push(Allowed {
                    finding,
                    by: "config",
                    reason: policy.allows[i].reason.clone(),
                });
            }
            Ok(None) => report.findings.push(finding),
            Err(i) => {
                // Allowed for trusted input only, and a flow from outside now reaches it.
                used[i] = true;
                let entry = &policy.allows[i];
                let unless = entry.unless_reachable.unwrap_or_default();
                report.warnings.push(Issue::new(
                    entry.file.clone(),
                    format!(
                        "line {}: the allow entry for {} at {}:{}:{} {}; the finding blocks",
                        entry.line,
                        entry.patterns.join(", "),
                        finding.path,
                        finding.line,
                        finding.column,
                        policy::broken_because(unless, &finding)
                    ),
                ));
                report.findings.push(finding);
            }
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

/// Analyses again, with what the repository's modules hold, each file that takes a dill name
/// from one of them and each module of the check whose globals another file sets to dill;
/// their outcomes replace the first ones.
///
/// With `dependents`, the files of the repository the check did not read that import (maybe
/// through other modules) a module of the check that hands dill on are analysed too: a change
/// that turns a shim to dill changes what the code already committed against it runs.
fn analyse_with_modules(
    resolution: &crate::modules::Resolution,
    known: std::collections::HashMap<String, crate::modules::Known>,
    outcomes: &mut Vec<check::Outcome>,
) {
    let source = resolution.source;
    let mut importers: Vec<&String> = known
        .iter()
        .filter(|(_, k)| k.has_imports())
        .map(|(path, _)| path)
        .collect();
    importers.sort();
    // What the check's own analysis found each file binds; a file it could not fully parse
    // is analysed again when imported (and reported if what it binds stays unknown).
    let analysed: std::collections::HashMap<String, crate::modules::Exports> = outcomes
        .iter_mut()
        .filter(|o| !o.exports_unknown)
        .map(|o| (o.path.clone(), std::mem::take(&mut o.exports)))
        .collect();
    let resolver = crate::modules::Resolver::new(source, &known, &analysed);
    // Each file to analyse again, with its modules, and its bytes once read.
    let mut redo: Redo = Default::default();
    for path in importers {
        // Most files import only other projects' modules.
        if !known[path]
            .heads()
            .any(|(level, top)| resolver.may_be_local(path, level, top))
        {
            continue;
        }
        let imports = known[path].imports();
        let local = resolver.local_for(path, &imports);
        if local.exports.is_empty() {
            continue;
        }
        if let Some(bytes) = source.read(path) {
            if local.reaches_dill(&imports, &bytes, &|file| resolver.exports_of_file(file)) {
                let mut local = local;
                resolver.hand_on(&mut local);
                redo.insert(path.clone(), (local, Some(bytes)));
            }
        }
    }
    if let Some(before) = resolution.before {
        find_dependents(
            source,
            before,
            resolution.new_modules_too,
            &resolver,
            &known,
            &mut redo,
        );
    }
    // A module whose global another file sets to dill reads dill there: analysed again, read
    // from the same source when the check did not read it (only the patch was changed).
    for outcome in outcomes.iter() {
        for patch in &outcome.patches {
            let Some(target) = resolver.module_file(&outcome.path, patch.level, &patch.module)
            else {
                continue;
            };
            let imports = match known.get(&target) {
                Some(target_known) => target_known.imports(),
                None => match source.read(&target) {
                    Some(bytes) => imports_in(&bytes, python::Kind::Source),
                    None => continue,
                },
            };
            redo.entry(target.clone())
                .or_insert_with(|| {
                    let mut local = resolver.local_for(&target, &imports);
                    resolver.hand_on(&mut local);
                    (local, None)
                })
                .0
                .patched
                .insert(patch.name.clone(), patch.value.clone());
        }
    }
    // A module that may hand dill on but could not be analysed: the check cannot vouch for
    // the files importing it.
    for (path, why) in resolver.unjudged() {
        if outcomes
            .iter()
            .any(|o| o.path == path && !o.errors.is_empty())
        {
            continue;
        }
        outcomes.push(check::Outcome {
            errors: vec![Issue::new(
                path.clone(),
                format!("files of the check import this module, which may bind dill, but it could not be analysed ({why}), so what it hands on is unknown"),
            )],
            path,
            ..check::Outcome::default()
        });
    }
    let mut again = Vec::new();
    for (path, (local, bytes)) in redo {
        if let Some(bytes) = bytes.or_else(|| source.read(&path)) {
            again.push(source::SourceFile {
                kind: known.get(&path).map_or(python::Kind::Source, |k| k.kind),
                path,
                bytes,
                local: Some(std::sync::Arc::new(local)),
            });
        }
    }
    if again.is_empty() {
        return;
    }
    let redone: std::collections::HashSet<String> = again.iter().map(|f| f.path.clone()).collect();
    outcomes.retain(|o| !redone.contains(&o.path));
    let ((), more) = check::while_reading(|take| again.into_iter().for_each(take));
    outcomes.extend(more);
    outcomes.sort_by(|a, b| a.path.cmp(&b.path));
}
