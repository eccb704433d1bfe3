//! One file, checked: decode it, analyse it, apply its inline directives, and place each
//! finding by line and column. Files are analysed as they are read, on workers with large
//! stacks, under a memory budget: what a run holds at once is bounded by the budget, not by the
//! size of what it checks, so a push full of large files cannot exhaust a server.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

use crate::analyze::{self, Limits, Route};
use crate::model::{Allowed, Finding, FlowStep, Issue};
use crate::source::SourceFile;
use crate::{policy, python, rule};

/// What checking one file gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The file checked.
    pub path: String,
    pub findings: Vec<Finding>,
    pub allowed: Vec<Allowed>,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// The file itself, kept only when it has findings (`--new-only` compares it with its base).
    pub file: Option<SourceFile>,
    /// Globals of other modules this file sets to dill.
    pub patches: Vec<analyze::Patch>,
    /// What the file binds at its top level to something that may be dill.
    pub exports: std::collections::HashMap<String, String>,
    /// Set when the analysis could not say what the file binds (it was not fully parsed):
    /// `exports` is then not to be trusted.
    pub exports_unknown: bool,
}

/// A file with more findings than this lists the first ones and counts the rest: it blocks
/// either way, and a report of a million lines helps nobody.
const MAX_FINDINGS_PER_FILE: usize = 1_000;

/// Stacks tried for the workers, largest first. Deeply nested code makes deep syntax trees,
/// and analysis recurses per level; the stack is reserved, not committed, but a limit on
/// address space (`ulimit -v`) can refuse the largest. The nesting the full parse accepts is
/// scaled to the stack obtained (see [`Limits::for_stack`]).
const WORKER_STACKS: [usize; 5] = [512 << 20, 128 << 20, 32 << 20, 8 << 20, 2 << 20];

fn weight(file: &SourceFile) -> u64 {
    crate::limits::analysis_weight(file.bytes.len())
}

struct Queued {
    weight: u64,
    file: SourceFile,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.weight.cmp(&other.weight)
    }
}

/// Files waiting for a worker, largest first (the longest analysis should never start last and
/// leave the other cores idle), and the weight of everything held.
#[derive(Default)]
struct State {
    waiting: std::collections::BinaryHeap<Queued>,
    held: u64,
    closed: bool,
    /// Workers waiting for a file: only they need waking (a wake-up is a system call, and a
    /// commit of thousands of files would make thousands).
    idle: usize,
    /// Readers waiting for room in the budget.
    blocked: usize,
}

#[derive(Default)]
struct Queue {
    state: Mutex<State>,
    /// Signalled when a file is queued or the queue closes.
    ready: Condvar,
    /// Signalled when held weight is released.
    room: Condvar,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a file, waiting while the budget is spent (a file is always let in when nothing
    /// else is held, however heavy).
    fn push(&self, file: SourceFile) {
        let weight = weight(&file);
        let mut state = self.lock();
        while state.held > 0 && state.held + weight > crate::limits::ANALYSIS_BUDGET {
            state.blocked += 1;
            state = self.room.wait(state).unwrap_or_else(|p| p.into_inner());
            state.blocked -= 1;
        }
        state.held += weight;
        state.waiting.push(Queued { weight, file });
        if state.idle > 0 {
            self.ready.notify_one();
        }
    }

    /// Releases the weight of the file just analysed (0 for none) and takes the next, under
    /// one lock.
    fn next(&self, done: u64) -> Option<Queued> {
        let mut state = self.lock();
        if done > 0 {
            state.held -= done;
            // Readers are woken once a quarter of the budget is free, not for every file
            // done: one wake-up per file made a context switch per file.
            let budget = crate::limits::ANALYSIS_BUDGET;
            if state.blocked > 0 && (state.held <= budget - budget / 4 || state.waiting.is_empty())
            {
                self.room.notify_all();
            }
        }
        loop {
            if let Some(next) = state.waiting.pop() {
                return Some(next);
            }
            if state.closed {
                return None;
            }
            state.idle += 1;
            state = self.ready.wait(state).unwrap_or_else(|p| p.into_inner());
            state.idle -= 1;
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

/// Why bytes are not text, if they are not: they hold NUL bytes (git's own test of a binary
/// file, and source CPython refuses outright). Text with a few bytes that are not UTF-8 is
/// still text, decoded with a warning.
fn not_text(bytes: &[u8]) -> Option<&'static str> {
    memchr::memchr(0, bytes).map(|_| "it holds NUL bytes")
}

/// Runs `read`, analysing every file it hands over while it goes on reading, and returns what
/// `read` returned with the outcomes, in path order.
pub fn while_reading<R>(read: impl FnOnce(&(dyn Fn(SourceFile) + Sync)) -> R) -> (R, Vec<Outcome>) {
    let queue = Queue::default();
    let outcomes: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let record = |mut more: Vec<Outcome>| {
        outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(&mut more)
    };
    let result = std::thread::scope(|scope| {
        // Workers start with the first file worth analysing: most commits have none.
        let workers: std::sync::OnceLock<Option<Limits>> = std::sync::OnceLock::new();
        let start = || -> Option<Limits> {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            // Under a limit on address space, stacks reserved whole would starve the heap: the
            // workers' stacks together take at most a quarter of it.
            let room = address_space_limit().map(|limit| limit / 4 / cores as u64);
            let stacks = WORKER_STACKS
                .into_iter()
                .filter(|&s| room.is_none_or(|room| s as u64 <= room));
            for stack in stacks {
                let limits = Limits::for_stack(stack);
                let mut started = 0;
                for _ in 0..cores {
                    let (queue, record) = (&queue, &record);
                    let work = move || {
                        let mut mine = Vec::new();
                        let mut done = 0;
                        while let Some(next) = queue.next(done) {
                            done = next.weight;
                            mine.push(check_guarded(next.file, &limits));
                        }
                        record(mine);
                    };
                    let spawned = std::thread::Builder::new()
                        .name("dill-guard-worker".into())
                        .stack_size(stack)
                        .spawn_scoped(scope, work);
                    if spawned.is_err() {
                        break;
                    }
                    started += 1;
                }
                // Every worker gets the same stack, so what a file gets never depends on
                // which worker takes it.
                if started > 0 {
                    return Some(limits);
                }
            }
            None
        };
        let result = read(&|file| match workers.get_or_init(start) {
            Some(_) => queue.push(file),
            // No thread could start at all: analyse here, within what any thread's stack is
            // sure to allow.
            None => record(vec![check_guarded(file, &Limits::for_stack(2 << 20))]),
        });
        queue.close();
        result
    });
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
    // The order workers finish in depends on timing; what is reported must not.
    outcomes.sort_by(|a, b| a.path.cmp(&b.path));
    (result, outcomes)
}

/// The limit on this process's address space (`ulimit -v`), where the system says.
fn address_space_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Checks a file; a panic becomes an error for that file.
fn check_guarded(file: SourceFile, limits: &Limits) -> Outcome {
    let mut outcome =
        std::panic::catch_unwind(|| check_file(&file, limits)).unwrap_or_else(|_| Outcome {
            errors: vec![Issue::new(
                file.path.clone(),
                "internal error while analysing this file (a bug in dill-guard; please report it)",
            )],
            ..Outcome::default()
        });
    outcome.path.clone_from(&file.path);
    if !outcome.findings.is_empty() {
        outcome.file = Some(file);
    }
    outcome
}

fn check_file(file: &SourceFile, limits: &Limits) -> Outcome {
    let mut outcome = Outcome::default();
    let decoded;
    let cells;
    // The pieces of source that share one module namespace, with their notebook cell numbers.
    let (texts, cell_numbers): (Vec<&str>, Vec<Option<usize>>) = match file.kind {
        python::Kind::Source | python::Kind::Cython => {
            decoded = match python::decode(&file.bytes) {
                Ok(decoded) => decoded,
                Err(why) => {
                    outcome.errors.push(Issue::new(file.path.clone(), why));
                    return outcome;
                }
            };
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
    let analysis = match file.kind {
        python::Kind::Cython => analyze::scan_only(
            &texts,
            "it is Cython, not Python syntax; checked with the token scanner".into(),
        ),
        _ => analyze::analyze_with(&texts, limits, file.local.as_deref()),
    };
    outcome.patches.clone_from(&analysis.patches);
    outcome.exports.clone_from(&analysis.exports);
    outcome.exports_unknown = analysis.degraded.is_some() || analysis.failed.is_some();
    if let Some(why) = analysis.failed {
        outcome.errors.push(Issue::new(file.path.clone(), why));
        return outcome;
    }
    if let Some(why) = &analysis.degraded {
        // The token scanner finds names in text; over bytes that are not text (a binary file,
        // an archive dill-guard did not open) finding nothing proves nothing. What it did find
        // is still reported.
        let binary = match file.kind {
            python::Kind::Notebook => None,
            _ => not_text(&file.bytes),
        };
        if let Some(what) = binary {
            outcome.errors.push(Issue::new(
                file.path.clone(),
                format!(
                    "{what}, so it is not Python text dill-guard can judge ({why}); it mentions \
                     dill, and Python may still run it: remove it, or exclude it in the policy"
                ),
            ));
        }
        // A notebook's pieces are its code cells: name the cell as findings do, by its index
        // in `cells`.
        let why = match analysis.degraded_piece {
            Some(piece) => why.replace(
                &format!("(piece {}, ", piece + 1),
                &format!("(cell {}, ", cell_numbers[piece].unwrap_or(piece + 1)),
            ),
            None => why.clone(),
        };
        if binary.is_none() {
            outcome.warnings.push(Issue::new(
                file.path.clone(),
                format!("checked in degraded mode: {why}"),
            ));
        }
    }
    // Line starts, worked out for a piece only when something there needs placing.
    let lines: Vec<std::cell::OnceCell<Lines>> =
        texts.iter().map(|_| std::cell::OnceCell::new()).collect();
    let lines_of = |piece: usize| lines[piece].get_or_init(|| Lines::new(texts[piece]));
    // Inline directives, per piece, by line: (directive, used).
    let mut directives: Vec<BTreeMap<usize, (policy::Directive, bool)>> = texts
        .iter()
        .enumerate()
        .map(|(piece, text)| {
            // Without a finding, only dill-guard's own directives matter (an unused one is
            // reported); with one, other tools' suppressions are looked for too.
            let wanted = if analysis.hits.is_empty() {
                text.contains("dill-guard:") || text.contains(rule::RULE_ID)
            } else {
                policy::may_have_directives(text)
            };
            if !wanted {
                return BTreeMap::new();
            }
            let mut found = BTreeMap::new();
            // Read as the analysis read it: a `#` inside a lowered f-string (`f"{"#"}"`) is no
            // comment.
            let code = analysis
                .lowered
                .get(piece)
                .and_then(|l| l.as_deref())
                .unwrap_or(text);
            for (at, comment) in analyze::comments(code) {
                if let Some(d) = policy::directive(comment) {
                    found
                        .entry(lines_of(piece).position(at).0)
                        .or_insert((d, false));
                }
            }
            found
        })
        .collect();
    let mut unlisted = 0usize;
    // Where a notebook's cell lines are in its JSON, worked out once there is a finding.
    let mut file_lines = None;
    for hit in &analysis.hits {
        let lines = lines_of(hit.piece);
        let line = lines.line_of(hit.start);
        let stmt_line = lines.line_of(hit.stmt.min(hit.start));
        let at = if directives[hit.piece].contains_key(&line) {
            line
        } else {
            stmt_line
        };
        let directive = directives[hit.piece].get_mut(&at);
        // Placed in full only while listed: columns cost a pass over the line.
        let reach = hit.provenance.reach;
        let allowed = match &directive {
            Some((policy::Directive::Allow(Some(_), unless), _)) => {
                policy::holds(*unless, reach, hit.provenance.cut)
            }
            Some((policy::Directive::Noqa, _)) => true,
            _ => false,
        };
        let listed = if allowed {
            outcome.allowed.len()
        } else {
            outcome.findings.len()
        };
        if listed >= MAX_FINDINGS_PER_FILE {
            if let Some((_, used)) = directive {
                *used = true;
            }
            if !allowed {
                unlisted += 1;
            }
            continue;
        }
        let (message, via, help) = match &hit.route {
            Route::Direct => (rule::message(hit.sink), None, Vec::new()),
            Route::Handover { handover, to } => (
                rule::handover_message(hit.sink, handover, to),
                Some(to.clone()),
                handover.help.to_vec(),
            ),
            Route::Library(library) => (
                rule::library_message(library),
                Some(library.shown.to_string()),
                library.help.to_vec(),
            ),
            Route::Embedded(what) => (
                format!(
                    "{} (in a string of code given to `{what}`)",
                    rule::message(hit.sink)
                ),
                Some(what.to_string()),
                Vec::new(),
            ),
        };
        let (line, column) = lines.position(hit.start);
        let (end_line, end_column) = lines.position(hit.end);
        // The line of the `.ipynb` file holding a line of a notebook cell.
        let mut file_line = |cell: usize, line: usize| {
            file_lines
                .get_or_insert_with(|| python::notebook_source_lines(&file.bytes))
                .get(&cell)?
                .get(line - 1)
                .copied()
        };
        let flow = hit
            .provenance
            .steps
            .iter()
            .map(|step| {
                let (line, column) = lines_of(step.piece).position(step.at);
                let cell = cell_numbers[step.piece];
                FlowStep {
                    line,
                    column,
                    cell,
                    what: step.what.clone(),
                    file_line: cell.and_then(|cell| file_line(cell, line)),
                }
            })
            .collect();
        let finding = Finding {
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
            message,
            via,
            reachable: hit.provenance.reach,
            flow,
            flow_cut: hit.provenance.cut,
            help,
            source_line: lines.line_at(hit.start).to_string(),
            file_lines: cell_numbers[hit.piece]
                .and_then(|cell| Some((file_line(cell, line)?, file_line(cell, end_line)?))),
        };
        match directive {
            Some((policy::Directive::Allow(Some(reason), unless), used))
                if policy::holds(*unless, reach, hit.provenance.cut) =>
            {
                *used = true;
                let reason = reason.clone();
                outcome.allowed.push(Allowed {
                    finding,
                    by: "inline",
                    reason,
                });
            }
            Some((policy::Directive::Noqa, used)) => {
                *used = true;
                outcome.allowed.push(Allowed {
                    finding,
                    by: "inline",
                    reason: format!("noqa: {}", rule::RULE_ID),
                });
            }
            Some((policy::Directive::Allow(Some(_), Some(unless)), used)) => {
                // Allowed for trusted input only, and a flow from outside now reaches it.
                *used = true;
                outcome.warnings.push(Issue::new(
                    file.path.clone(),
                    format!(
                        "{}line {at}: the inline allow {}; the finding blocks",
                        cell_prefix(cell_numbers[hit.piece]),
                        policy::broken_because(*unless, &finding)
                    ),
                ));
                outcome.findings.push(finding);
            }
            Some((
                directive @ (policy::Directive::Allow(..)
                | policy::Directive::Foreign(_)
                | policy::Directive::BadAllow(_)),
                used,
            )) => {
                *used = true;
                let why = match directive {
                    policy::Directive::BadAllow(why) => format!(
                        "this inline allow cannot be read ({why}); the finding still blocks"
                    ),
                    policy::Directive::Foreign(comment) => format!(
                        "`# {comment}` does not allow this dill-guard finding (dill-guard honours no other tool's suppressions, and knows only `allow`); the finding still blocks. Fix it (see `dill-guard explain`), or allow it with `# dill-guard: allow <reason>`"
                    ),
                    _ => "`# dill-guard: allow` needs a reason after it; the finding still blocks"
                        .to_string(),
                };
                outcome.warnings.push(Issue::new(
                    file.path.clone(),
                    format!("{}line {at}: {why}", cell_prefix(cell_numbers[hit.piece])),
                ));
                outcome.findings.push(finding);
            }
            None => outcome.findings.push(finding),
        }
    }
    if unlisted > 0 {
        outcome.warnings.push(Issue::new(
            file.path.clone(),
            format!(
                "{unlisted} more finding{} in this file not listed (at most {MAX_FINDINGS_PER_FILE} are)",
                if unlisted == 1 { "" } else { "s" }
            ),
        ));
    }
    for (piece, list) in directives.iter().enumerate() {
        for (at, (directive, used)) in list {
            // Another tool's suppression on a line without a finding is that tool's business.
            if !used && !matches!(directive, policy::Directive::Foreign(_)) {
                outcome.warnings.push(Issue::new(
                    file.path.clone(),
                    format!(
                        "{}line {at}: this inline allow matched no finding; remove it",
                        cell_prefix(cell_numbers[piece])
                    ),
                ));
            }
        }
    }
    outcome
}

fn cell_prefix(cell: Option<usize>) -> String {
    cell.map(|c| format!("cell {c}, ")).unwrap_or_default()
}

/// Where each line of a text starts, to place byte offsets by binary search: a file with many
/// findings costs what its findings do, not their number times its length.
struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    /// Lines end where Python ends them: at `\n`, `\r\n`, or a lone `\r`.
    fn new(text: &'t str) -> Lines<'t> {
        let bytes = text.as_bytes();
        let starts = std::iter::once(0)
            .chain(
                memchr::memchr2_iter(b'\n', b'\r', bytes)
                    .filter(|&i| !(bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n')))
                    .map(|i| i + 1),
            )
            .collect();
        Lines { text, starts }
    }

    /// The 1-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }

    /// 1-based line and character column of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.line_of(offset);
        let start = self.starts[line - 1];
        (line, self.text[start..offset].chars().count() + 1)
    }

    /// The line holding a byte offset, without its line ending.
    fn line_at(&self, offset: usize) -> &'t str {
        let start = self.starts[self.line_of(offset) - 1];
        let end = self.text[offset..]
            .find(['\n', '\r'])
            .map_or(self.text.len(), |i| offset + i);
        &self.text[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let text = "a = 1\nb = 'é'; dill.loads(x)\n";
        let lines = Lines::new(text);
        let offset = text.find("dill").unwrap();
        assert_eq!(lines.position(offset), (2, 10));
        assert_eq!(lines.position(0), (1, 1));
        assert_eq!(lines.line_at(offset), "b = 'é'; dill.loads(x)");
        // A lone carriage return ends a line for Python (checked with CPython's ast), and
        // `\r\n` is one line end.
        let text = "import dill\r\rdef f(b):\r\n    return dill.loads(b)\r";
        let lines = Lines::new(text);
        let offset = text.find("dill.loads").unwrap();
        assert_eq!(lines.position(offset), (4, 12));
        assert_eq!(lines.line_at(offset), "    return dill.loads(b)");
    }

    #[test]
    fn many_findings_are_counted_not_listed() {
        let text = "import dill\n".to_string() + &"dill.loads(b)\n".repeat(3_000);
        let file = SourceFile {
            path: "many.py".into(),
            bytes: text.into_bytes(),
            kind: python::Kind::Source,
            local: None,
        };
        let outcome = check_file(&file, &Limits::for_stack(512 << 20));
        assert_eq!(outcome.findings.len(), MAX_FINDINGS_PER_FILE);
        assert!(outcome
            .warnings
            .iter()
            .any(|w| w.message.starts_with("2000 more findings")));
    }
}

#[cfg(test)]
mod stack_tests {
    use super::*;

    /// Sources just within the limits for a stack must be analysed on that stack without
    /// overflowing it (an overflow aborts the whole test run).
    #[test]
    fn limits_hold_on_every_stack_workers_may_get() {
        for stack in [2 << 20, 8 << 20, 32 << 20] {
            let limits = Limits::for_stack(stack);
            let (depth, chain) = limits.depth_and_chain();
            let sources = [
                format!("{}1{}", "(".repeat(depth), ")".repeat(depth)),
                format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
                format!("{}1", "-".repeat(chain)),
                format!("{}1", "not ".repeat(chain / 2)),
                vec!["1"; chain].join("+"),
                format!("a{}", ".b".repeat(chain / 2)),
                format!("f{}", "()".repeat(depth)),
            ];
            for body in sources {
                let text = format!("import dill\nx = {body}\ndill.loads(x)\n");
                let found = std::thread::Builder::new()
                    .stack_size(stack)
                    .spawn(move || analyze::analyze_within(&[&text], &limits).hits.len())
                    .unwrap()
                    .join()
                    .unwrap();
                assert_eq!(found, 1, "stack {stack}");
            }
        }
    }
}
