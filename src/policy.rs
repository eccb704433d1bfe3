//! The compiled policy: which paths are never checked, which findings an allowlist entry
//! accepts, and the inline directives (`# dill-guard: allow <reason>`,
//! `# noqa: PYTHON-LANG-SEC-046`) that accept a single finding. Allowing is always explicit,
//! scoped and explained: an entry without a reason does not exist, an expired one stops
//! applying, and one that allows nothing is reported.

use globset::GlobSet;

use crate::model::Reach;
use crate::rule;

/// A calendar date, compared as written (YYYY-MM-DD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    year: u32,
    month: u32,
    day: u32,
}

impl Date {
    pub fn parse(text: &str) -> Option<Date> {
        let mut parts = text.trim().splitn(3, '-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        let digits =
            |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
            return None;
        }
        let (year, month, day) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days)
            .contains(&day)
            .then_some(Date { year, month, day })
    }

    /// Today in UTC. `DILL_GUARD_TODAY=YYYY-MM-DD` fixes the date, so that tests and
    /// reproductions never depend on the real clock; any other value of it is an error, since
    /// expiry decides what blocks.
    pub fn today() -> Result<Date, String> {
        if let Some(fixed) = std::env::var_os("DILL_GUARD_TODAY") {
            let text = fixed.to_string_lossy();
            return Date::parse(&text).ok_or_else(|| {
                format!("DILL_GUARD_TODAY is `{text}`, not a date of the form YYYY-MM-DD")
            });
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Date::from_days((secs / 86_400) as i64))
    }

    /// The civil date `days` days after 1970-01-01.
    fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u32;
        Date { year, month, day }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One `[[allow]]` entry, compiled.
#[derive(Debug)]
pub struct Allow {
    /// The configuration file and line that declared it, for messages.
    pub file: String,
    pub line: usize,
    pub patterns: Vec<String>,
    pub reason: String,
    /// Empty: every sink.
    pub apis: Vec<String>,
    pub expires: Option<Date>,
    pub expired: bool,
    /// `unless-reachable`: the entry does not hold for a finding this far outside or further.
    pub unless_reachable: Option<Reach>,
}

impl Allow {
    fn covers(&self, api: &str) -> bool {
        !self.expired && (self.apis.is_empty() || self.apis.iter().any(|a| a == api))
    }

    /// How this entry allows more than `old`, an entry with the same paths or more (`None`:
    /// it allows nothing `old` does not, or `old` does not cover its paths at all).
    fn wider_than(&self, old: &Allow) -> Option<Vec<String>> {
        if !self.patterns.iter().all(|p| old.patterns.contains(p)) {
            return None;
        }
        let mut how = Vec::new();
        let apis = |a: &[String]| {
            if a.is_empty() {
                "every sink".to_string()
            } else {
                a.join(", ")
            }
        };
        if !old.apis.is_empty()
            && (self.apis.is_empty() || !self.apis.iter().all(|a| old.apis.contains(a)))
        {
            how.push(format!(
                "APIs {} (was {})",
                apis(&self.apis),
                apis(&old.apis)
            ));
        }
        match (old.expires, self.expires) {
            (Some(was), None) => how.push(format!("no expiry (was {was})")),
            (Some(was), Some(now)) if now > was => how.push(format!("expires {now} (was {was})")),
            _ => {}
        }
        match (old.unless_reachable, self.unless_reachable) {
            (Some(was), None) => how.push(format!("no `unless-reachable` (was {})", was.as_str())),
            (Some(was), Some(now)) if now > was => how.push(format!(
                "`unless-reachable = {}` (was {})",
                now.as_str(),
                was.as_str()
            )),
            _ => {}
        }
        Some(how)
    }
}

/// The policy of a run; the default allows nothing and excludes nothing.
#[derive(Debug)]
pub struct Policy {
    pub exclude: GlobSet,
    pub allows: Vec<Allow>,
    /// Every allow entry's globs in one set (matching costs one pass, however many entries),
    /// and for each glob the entry it belongs to.
    pub allow_globs: GlobSet,
    pub owners: Vec<usize>,
    pub new_only: bool,
    /// Path mode skips the directories of environments, dependencies and build outputs
    /// ([`crate::source::SKIPPED_DIRECTORIES`]); a policy that sets `exclude` replaces that
    /// list, as in ruff (`extend-exclude` adds to it).
    pub skip_default_dirs: bool,
    /// What is wrong with the policy without making it unusable (a glob that switches the
    /// check off wholesale), reported in every mode.
    pub warnings: Vec<crate::Issue>,
    /// The `exclude` and `extend-exclude` globs as written, to tell a push that adds one.
    pub exclude_patterns: Vec<String>,
    /// Whether `# dill-guard: allow` and `# noqa` comments allow (`--inline-allows refuse`,
    /// and a ruling policy that cannot be read, say no).
    pub inline_allows: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            exclude: GlobSet::empty(),
            allows: Vec::new(),
            allow_globs: GlobSet::empty(),
            owners: Vec::new(),
            new_only: false,
            skip_default_dirs: true,
            warnings: Vec::new(),
            exclude_patterns: Vec::new(),
            inline_allows: true,
        }
    }
}

impl Policy {
    pub fn is_excluded(&self, path: &str) -> bool {
        self.exclude.is_match(path)
    }

    /// The entries whose globs match `path`, in the order they are written.
    pub fn entries_for(&self, path: &str) -> Vec<usize> {
        let mut entries: Vec<usize> = self
            .allow_globs
            .matches(path)
            .into_iter()
            .map(|g| self.owners[g])
            .collect();
        entries.sort_unstable();
        entries.dedup();
        entries
    }

    /// The first entry that accepts this finding; or, when none does, the first that would have
    /// but for the flow into it (`unless-reachable`).
    pub fn allow_for(
        &self,
        path: &str,
        api: &str,
        reach: Reach,
        cut: bool,
    ) -> Result<Option<usize>, usize> {
        let mut broken = None;
        for i in self.entries_for(path) {
            let entry = &self.allows[i];
            if !entry.covers(api) {
                continue;
            }
            if holds(entry.unless_reachable, reach, cut) {
                return Ok(Some(i));
            }
            broken.get_or_insert(i);
        }
        broken.map_or(Ok(None), Err)
    }
}

/// What `brought` allows that `ruling` does not, one line each: a new `exclude` or
/// `extend-exclude` glob, `new-only` switched on, an `[[allow]]` entry that no entry of `ruling`
/// with the same paths (or more) already grants, or one that grants more than it (more APIs,
/// a later or no expiry, a weaker or no `unless-reachable`). Empty when `brought` is as strict
/// or stricter. Entries are compared as written, so a glob rewritten to mean the same counts
/// as new: a widening is never missed, at the price of asking for review of some that are not.
pub fn widenings(ruling: &Policy, brought: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    for pattern in &brought.exclude_patterns {
        if !ruling.exclude_patterns.contains(pattern) {
            out.push(format!("a new exclude glob `{pattern}`"));
        }
    }
    if brought.new_only && !ruling.new_only {
        out.push("`new-only = true` (findings on untouched lines stop blocking)".into());
    }
    for entry in &brought.allows {
        let live = ruling.allows.iter().filter(|old| !old.expired);
        let mut closest: Option<Vec<String>> = None;
        let mut covered = false;
        for old in live {
            match entry.wider_than(old) {
                Some(how) if how.is_empty() => covered = true,
                Some(how) if closest.as_ref().is_none_or(|c| how.len() < c.len()) => {
                    closest = Some(how)
                }
                _ => {}
            }
        }
        if covered || entry.expired {
            continue;
        }
        let place = format!(
            "line {}: [[allow]] for {}",
            entry.line,
            entry.patterns.join(", ")
        );
        out.push(match closest {
            Some(how) => format!("{place} now allows {}", how.join(", ")),
            None => format!("{place} (\"{}\") is new", entry.reason),
        });
    }
    out
}

/// The lines of a text as Python counts them: ended by `\n`, `\r\n` or a lone `\r`.
pub fn python_lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// The 1-based lines of `new` that are added or changed relative to `old`, and the lines of
/// `old` that are gone or changed.
pub fn changes<'o>(old: &'o str, new: &str) -> (std::collections::HashSet<usize>, Vec<&'o str>) {
    let old: Vec<&str> = python_lines(old);
    let new: Vec<&str> = python_lines(new);
    // A diff that takes too long (huge rewrites) ends early and reports more lines as changed,
    // never fewer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    let ops = similar::capture_diff_slices_deadline(
        similar::Algorithm::Myers,
        &old,
        &new,
        Some(deadline),
    );
    let changed = ops
        .iter()
        .filter(|op| op.tag() != similar::DiffTag::Equal)
        .flat_map(|op| op.new_range())
        .map(|i| i + 1)
        .collect();
    let gone = ops
        .iter()
        .filter(|op| op.tag() != similar::DiffTag::Equal)
        .flat_map(|op| op.old_range())
        .map(|i| old[i])
        .collect();
    (changed, gone)
}

/// The names of a line of Python: its identifiers, keywords left out.
fn names(line: &str) -> impl Iterator<Item = &str> {
    const KEYWORDS: &[&str] = &[
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
        "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
        "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
        "try", "while", "with", "yield",
    ];
    line.split(|c: char| !(c == '_' || c.is_alphanumeric()))
        .filter(|w| !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()))
        .filter(|w| !KEYWORDS.contains(w))
}

/// What a change touched in one file, read once, to ask of each finding on an untouched line
/// whether it may still be the change's doing: a line the change adds, modifies or deletes
/// binds a name the finding's resolution can pass through (`import pickle` made
/// `import dill as pickle`, an alias reassigned, a shadowing assignment removed), or is a star
/// import. Names are followed through the file's assignments, imports and `as` clauses (a name
/// whose binding line holds another name depends on that one too): a superset of what the
/// analysis resolves, so a finding is dropped only when nothing the change touched can have to
/// do with it.
pub struct Touched {
    /// A touched line is a star import: it may bind anything.
    star: bool,
    /// The names the touched lines bind.
    rebound: std::collections::HashSet<String>,
    /// Every binding line of the file: the names it binds, and all its names.
    bindings: Vec<(Vec<String>, Vec<String>)>,
}

impl Touched {
    /// `touched`: the lines the change added, modified or deleted; `text`: the file now.
    pub fn new(touched: &[&str], text: &str) -> Touched {
        let owned = |names: Vec<&str>| names.into_iter().map(str::to_string).collect::<Vec<_>>();
        Touched {
            star: touched.iter().any(|line| star_import(line)),
            rebound: touched
                .iter()
                .filter_map(|line| bound(line))
                .flatten()
                .map(str::to_string)
                .collect(),
            bindings: python_lines(text)
                .into_iter()
                .filter_map(|line| Some((owned(bound(line)?), owned(names(line).collect()))))
                .collect(),
        }
    }

    /// Whether the finding on `finding_line` may depend on what the change touched.
    pub fn may_reach(&self, finding_line: &str) -> bool {
        if self.star {
            return true;
        }
        let mut followed: std::collections::HashSet<&str> = names(finding_line).collect();
        loop {
            let before = followed.len();
            for (bound, all) in &self.bindings {
                if bound.iter().any(|b| followed.contains(b.as_str())) {
                    followed.extend(all.iter().map(String::as_str));
                }
            }
            if followed.len() == before {
                break;
            }
        }
        followed.iter().any(|n| self.rebound.contains(*n))
    }
}

fn star_import(line: &str) -> bool {
    line.contains("import") && line.contains('*')
}

/// The names a line binds, if it binds any: before `=` or `:=` in an assignment, every name of
/// an import, `as`, `for`, `def`, `class`, `global` or `nonlocal` line (a superset).
fn bound(line: &str) -> Option<Vec<&str>> {
    if let Some(at) = assignment(line) {
        return Some(names(&line[..at]).collect());
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let binds = words.iter().any(|w| {
        matches!(
            *w,
            "import" | "as" | "for" | "def" | "class" | "global" | "nonlocal"
        )
    });
    binds.then(|| names(line).collect())
}

/// Where the `=` of an assignment (or `:=`, or an augmented one) is in a line, if it has one.
fn assignment(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    (0..bytes.len()).find(|&i| {
        bytes[i] == b'='
            && bytes.get(i + 1) != Some(&b'=')
            && !(i > 0 && matches!(bytes[i - 1], b'=' | b'!' | b'<' | b'>'))
    })
}

/// A directive written in a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// `# dill-guard: allow [unless-reachable=REACH] <reason>`; `None` when the reason is
    /// missing (it then allows nothing). With `unless-reachable`, it allows a finding only while
    /// no flow at least that far outside reaches it.
    Allow(Option<String>, Option<Reach>),
    /// `# dill-guard: allow` with an option it cannot read: it allows nothing, and says why.
    BadAllow(String),
    /// `# noqa: PYTHON-LANG-SEC-046` (among other codes, perhaps).
    Noqa,
    /// A suppression meant for another tool (`# noqa: S301`, a bare `# noqa`, `# nosec`,
    /// `# nosemgrep`, `# lgtm`) or a dill-guard word it does not know (`# dill-guard: ignore`):
    /// it allows nothing, and the output says so. Holds the comment's text.
    Foreign(String),
}

/// The reach named by `unless-reachable` (inline or in an `[[allow]]` entry): the allowance
/// stops holding for a finding this far outside or further.
pub fn unless_reachable(value: &str) -> Result<Reach, String> {
    match Reach::parse(value) {
        Some(Reach::Unknown) => Err("`unknown` would never allow anything: name `remote` or `local-file`".into()),
        Some(reach) => Ok(reach),
        None => Err(format!("`{value}` is not a reach: name `remote` (the allowance stops holding when data from outside reaches the call) or `local-file` (also when a local file or the process's input does)")),
    }
}

/// Whether an allowance limited to `unless` holds for a finding that `reach` reaches. When the
/// walk back from the finding was not finished (`cut`: the file was checked in degraded mode, a
/// bound of the walk stopped it, or the use is in a string of code), no flow can be ruled out,
/// so a limited allowance does not hold.
pub fn holds(unless: Option<Reach>, reach: Reach, cut: bool) -> bool {
    unless.is_none_or(|u| !cut && reach < u)
}

/// Why a limited allowance does not hold for a finding.
pub fn broken_because(unless: Reach, finding: &crate::model::Finding) -> String {
    let limited = format!(
        "holds only unless {} data reaches the call",
        unless.as_str()
    );
    if finding.reachable >= unless {
        format!(
            "{limited}, and {} data does: {}",
            finding.reachable.as_str(),
            finding.flow_summary()
        )
    } else if finding.degraded {
        format!(
            "{limited}, and the file was checked in degraded mode, where no flow can be ruled out"
        )
    } else {
        format!(
            "{limited}, and the walk back from the call was not finished (it stops at its bounds, and does not enter strings of code), so no flow can be ruled out"
        )
    }
}

/// The directives in a comment's text (the text after `#`).
pub fn directive(comment: &str) -> Option<Directive> {
    let foreign = || Some(Directive::Foreign(comment.trim().to_string()));
    if let Some(at) = comment.find("dill-guard:") {
        let rest = comment[at + "dill-guard:".len()..].trim_start();
        let Some(rest) = rest.strip_prefix("allow") else {
            return foreign();
        };
        if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            return foreign();
        }
        let mut reason = rest.trim();
        let mut unless = None;
        if let Some(option) = reason.strip_prefix("unless-reachable=") {
            let (value, after) = option
                .split_once(char::is_whitespace)
                .unwrap_or((option, ""));
            match unless_reachable(value) {
                Ok(reach) => unless = Some(reach),
                Err(why) => {
                    return Some(Directive::BadAllow(format!(
                        "`unless-reachable={value}`: {why}"
                    )))
                }
            }
            reason = after.trim();
        }
        return Some(Directive::Allow(
            (!reason.is_empty()).then(|| reason.to_string()),
            unless,
        ));
    }
    let lower = comment.to_ascii_lowercase();
    if let Some(at) = lower.find("noqa:") {
        let codes = &comment[at + "noqa:".len()..];
        if codes
            .split(|c: char| c == ',' || c.is_whitespace())
            .any(|code| code == rule::RULE_ID)
        {
            return Some(Directive::Noqa);
        }
    }
    let word = |w: &str| {
        lower.match_indices(w).any(|(at, _)| {
            let before = lower[..at].chars().next_back();
            let after = lower[at + w.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    };
    if ["noqa", "nosec", "nosemgrep", "lgtm"]
        .iter()
        .any(|w| word(w))
    {
        return foreign();
    }
    None
}

/// Whether a text may hold a directive at all, before its comments are read.
pub fn may_have_directives(text: &str) -> bool {
    text.contains("dill-guard:")
        || text.contains(rule::RULE_ID)
        || ["noqa", "NOQA", "nosec", "NOSEC", "nosemgrep", "lgtm"]
            .iter()
            .any(|w| text.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppressions_for_other_tools_are_recognised_not_honoured() {
        for comment in [
            " noqa",
            " noqa: S301",
            " NOQA:S301,E501",
            " nosec",
            " nosec B301",
            " nosemgrep: python.lang.security.dill",
            " lgtm[py/unsafe-deserialization]",
            " dill-guard: ignore",
            " dill-guard: disable PYTHON-LANG-SEC-046",
            " dill-guard: allowed because",
        ] {
            assert!(
                matches!(directive(comment), Some(Directive::Foreign(_))),
                "{comment}"
            );
        }
        assert_eq!(
            directive(" noqa: PYTHON-LANG-SEC-046"),
            Some(Directive::Noqa)
        );
        assert_eq!(
            directive(" dill-guard: allow signed payloads"),
            Some(Directive::Allow(Some("signed payloads".into()), None))
        );
        for comment in [" load the noqapi data", " a nosecond", " plain comment"] {
            assert_eq!(directive(comment), None, "{comment}");
        }
    }

    #[test]
    fn widenings_name_what_allows_more() {
        let today = Date::parse("2026-01-15").unwrap();
        let policy = |text: &str| {
            crate::config::parse("dill-guard.toml", text.as_bytes(), false, today)
                .unwrap()
                .unwrap()
        };
        let ruling = policy(
            "extend-exclude = [\"vendor/**\"]\n[[allow]]\npaths = [\"a/**\", \"b/**\"]\nreason = \"r\"\napis = [\"dill.loads\"]\nexpires = \"2027-01-01\"\nunless-reachable = \"local-file\"\n",
        );
        // Fewer paths, an earlier expiry, another reason: narrower.
        let narrower = policy(
            "[[allow]]\npaths = [\"a/**\"]\nreason = \"other\"\napis = [\"dill.loads\"]\nexpires = \"2026-06-01\"\nunless-reachable = \"local-file\"\n",
        );
        assert!(widenings(&ruling, &narrower).is_empty());
        assert!(widenings(&ruling, &Policy::default()).is_empty());
        let wider = policy(
            "extend-exclude = [\"vendor/**\", \"gen/**\"]\n[[allow]]\npaths = [\"a/**\"]\nreason = \"r\"\nunless-reachable = \"remote\"\n[[allow]]\npaths = [\"c/**\"]\nreason = \"new\"\n",
        );
        let found = widenings(&ruling, &wider);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0], "a new exclude glob `gen/**`");
        assert!(
            found[1].contains("APIs every sink (was dill.loads)")
                && found[1].contains("no expiry (was 2027-01-01)")
                && found[1].contains("`unless-reachable = remote` (was local-file)"),
            "{found:?}"
        );
        assert!(
            found[2].ends_with("[[allow]] for c/** (\"new\") is new"),
            "{found:?}"
        );
        // Everything is wider than nothing.
        assert_eq!(widenings(&Policy::default(), &ruling).len(), 2);
    }

    #[test]
    fn dates() {
        assert!(Date::parse("2027-06-30").is_some());
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2023-02-29").is_none());
        assert!(Date::parse("2027-6-30").is_none());
        assert!(Date::parse("tomorrow").is_none());
        assert!(Date::parse("2099-+1-01").is_none());
        assert!(Date::parse("2099-01-+1").is_none());
        assert!(Date::parse("+099-01-01").is_none());
        assert!(Date::parse("2027-06-30").unwrap() < Date::parse("2027-07-01").unwrap());
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_651).to_string(), "2026-07-17");
        assert_eq!(Date::from_days(11_016).to_string(), "2000-02-29");
    }

    #[test]
    fn changed_lines_are_the_added_and_modified_ones() {
        let old = "a\nb\nc\nd\n";
        let new = "a\nB\nc\nd\ne\n";
        let mut lines: Vec<usize> = changes(old, new).0.into_iter().collect();
        lines.sort();
        assert_eq!(lines, [2, 5]);
        assert!(changes(new, new).0.is_empty());
        assert_eq!(changes("", "x\ny\n").0.len(), 2);
    }

    #[test]
    fn directives() {
        assert_eq!(
            directive(" dill-guard: allow payloads are HMAC-signed"),
            Some(Directive::Allow(
                Some("payloads are HMAC-signed".into()),
                None
            ))
        );
        assert_eq!(
            directive(" dill-guard: allow"),
            Some(Directive::Allow(None, None))
        );
        assert!(matches!(
            directive(" dill-guard: allowed x"),
            Some(Directive::Foreign(_))
        ));
        assert_eq!(
            directive(" noqa: PYTHON-LANG-SEC-046"),
            Some(Directive::Noqa)
        );
        assert_eq!(
            directive(" NOQA: S301, PYTHON-LANG-SEC-046"),
            Some(Directive::Noqa)
        );
        assert!(matches!(directive(" noqa"), Some(Directive::Foreign(_))));
        assert!(matches!(
            directive(" noqa: S301"),
            Some(Directive::Foreign(_))
        ));
        assert_eq!(directive(" just a comment about dill-guard"), None);
    }
}
