//! The default output, in the style of rustc: a header naming the rule and the API, the place,
//! the source line with carets under the use, then what to do instead.

use std::fmt::Write as _;

use owo_colors::{OwoColorize, Style};
use unicode_width::UnicodeWidthChar;

use crate::model::{Finding, Reach, Report, UseKind};
use crate::rule;

/// Applies colour when it is enabled, and nothing otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    enabled: bool,
}

impl Painter {
    pub fn new(enabled: bool) -> Self {
        Painter { enabled }
    }

    fn paint(&self, text: &str, style: Style) -> String {
        if self.enabled {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }

    fn error(&self, text: &str) -> String {
        self.paint(text, Style::new().red().bold())
    }
    fn warning(&self, text: &str) -> String {
        self.paint(text, Style::new().yellow().bold())
    }
    fn gutter(&self, text: &str) -> String {
        self.paint(text, Style::new().blue().bold())
    }
    fn help(&self, text: &str) -> String {
        self.paint(text, Style::new().cyan().bold())
    }
    fn bold(&self, text: &str) -> String {
        self.paint(text, Style::new().bold())
    }
    fn ok(&self, text: &str) -> String {
        self.paint(text, Style::new().green().bold())
    }
}

pub(super) fn render(report: &Report, p: Painter, quiet: bool, exit_zero: bool) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        finding_block(&mut out, finding, p, report);
    }
    for issue in &report.policy_changes {
        let _ = writeln!(
            out,
            "{}: {}: {}",
            p.error("error[policy-change]"),
            printable(&report.from_cwd(&issue.path)).as_ref(),
            printable(&issue.message)
        );
    }
    for issue in &report.errors {
        let _ = writeln!(
            out,
            "{}: {}: {}",
            p.error("error"),
            printable(&report.from_cwd(&issue.path)).as_ref(),
            printable(&issue.message)
        );
    }
    if quiet {
        return out;
    }
    for allowed in &report.allowed {
        let f = &allowed.finding;
        let place = place(report, f);
        // An allowed use that outside data reaches is worth a second look.
        let reach = f.reach_note();
        let _ = writeln!(
            out,
            "{}: {place}: `{}` allowed ({}): {}{reach}",
            p.ok("allowed"),
            f.api,
            allowed.by,
            printable(&allowed.reason)
        );
    }
    for issue in &report.warnings {
        let _ = writeln!(
            out,
            "{}: {}: {}",
            p.warning("warning"),
            printable(&report.from_cwd(&issue.path)).as_ref(),
            printable(&issue.message)
        );
    }
    summary(&mut out, report, p, exit_zero);
    out
}

/// Where a finding is, from the current directory, safe to print.
fn place(report: &Report, f: &Finding) -> String {
    super::place(&printable(&report.from_cwd(&f.path)), f)
}

/// Text from the repository (a file name, a link's target, a reason) as it may reach a
/// terminal or a CI log: control characters escaped, so a name cannot move the cursor, colour
/// the output or forge a line of its own.
pub(super) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.into()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(super) fn summary(out: &mut String, report: &Report, p: Painter, exit_zero: bool) {
    let changes = match report.policy_changes.len() {
        0 => String::new(),
        n => format!(", {}", plural(n, "policy change", "policy changes")),
    };
    let counts = format!(
        "{} checked, {}{changes}, {} allowed, {} ms",
        plural(report.files_checked, "file", "files"),
        plural(report.findings.len(), "finding", "findings"),
        report.allowed.len(),
        report.elapsed.as_millis()
    );
    let verdict = match report.exit_code(exit_zero) {
        0 if report.findings.is_empty() && report.policy_changes.is_empty() => p.ok("ok"),
        0 => p.warning("not blocking (--exit-zero)"),
        1 => p.error(report.blocked),
        _ => p.error(&format!(
            "{}: {} could not be checked",
            report.blocked,
            plural(report.errors.len(), "problem", "problems")
        )),
    };
    let _ = writeln!(out, "{} {counts} — {verdict}", p.bold("dill-guard:"));
}

fn finding_block(out: &mut String, f: &Finding, p: Painter, report: &Report) {
    let sink = rule::sink_for(f.api).expect("every finding names a sink of the rule");
    let what = match f.kind {
        UseKind::Call => "call",
        UseKind::Reference => "reference (handed on without a call)",
        UseKind::Module => "reached by handing over the dill module",
        UseKind::Library => "run by a library that loads with dill",
    };
    let _ = writeln!(
        out,
        "{}{} {}",
        p.error(&format!("error[{}]", rule::RULE_ID)),
        p.bold(":"),
        p.bold(&format!(
            "unsafe dill deserialization: `{}` {what}{}",
            f.api,
            if f.reachable == Reach::Remote {
                ", reachable from outside"
            } else {
                ""
            }
        ))
    );
    let place = place(report, f);
    let number = f.line.to_string();
    let pad = " ".repeat(number.len());
    let _ = writeln!(out, "{pad}{} {place}", p.gutter("-->"));
    let _ = writeln!(out, "{pad} {}", p.gutter("|"));
    let (shown, caret_start, caret_len) = underline(f);
    let _ = writeln!(out, "{} {} {shown}", p.gutter(&number), p.gutter("|"));
    let _ = writeln!(
        out,
        "{pad} {} {}{} {}",
        p.gutter("|"),
        " ".repeat(caret_start),
        p.error(&"^".repeat(caret_len.max(1))),
        p.error(&format!("`{}` {}", f.api, sink.what))
    );
    let _ = writeln!(out, "{pad} {}", p.gutter("|"));
    if f.degraded {
        let _ = writeln!(
            out,
            "{pad} {} {}: the parser could not read this file, so it was checked token by token; \
             the finding may need a second look",
            p.gutter("="),
            p.bold("note")
        );
    }
    if f.via.is_some() {
        // How the sink is reached is not visible in the line: say it.
        let _ = writeln!(
            out,
            "{pad} {} {}: {}",
            p.gutter("="),
            p.bold("note"),
            f.message
        );
    }
    flow_notes(out, f, p, &pad);
    for line in f.help.iter().copied().chain(rule::help(sink)) {
        let _ = writeln!(out, "{pad} {} {}: {line}", p.gutter("="), p.help("help"));
    }
    let _ = writeln!(
        out,
        "{pad} {} {}: {} (deserialization of untrusted data), OWASP {}; run `dill-guard explain` for details",
        p.gutter("="),
        p.bold("note"),
        rule::CWE,
        rule::OWASP
    );
    out.push('\n');
}

/// Where the data comes from, when a source was traced: a note, then one line per step.
fn flow_notes(out: &mut String, f: &Finding, p: Painter, pad: &str) {
    if f.flow.is_empty() {
        return;
    }
    let whose = match f.reachable {
        Reach::Remote => "outside data",
        Reach::LocalFile => "local input",
        Reach::Unknown => "data",
    };
    let _ = writeln!(
        out,
        "{pad} {} {}: reachable: {} — {whose} flows into this {}:",
        p.gutter("="),
        p.bold("note"),
        p.error(f.reachable.as_str()),
        match f.kind {
            UseKind::Call => "call",
            UseKind::Reference => "use",
            UseKind::Module | UseKind::Library => "load",
        }
    );
    let places: Vec<String> = f
        .flow
        .iter()
        .map(|step| match step.cell {
            Some(cell) => format!("cell {cell}:{}:{}", step.line, step.column),
            None => format!("{}:{}", step.line, step.column),
        })
        .collect();
    let width = places.iter().map(String::len).max().unwrap_or(0);
    let indent = " ".repeat("= note: ".len());
    for (step, place) in f.flow.iter().zip(&places) {
        let _ = writeln!(
            out,
            "{pad} {indent}{} {}",
            p.gutter(&format!("{place:<width$}")),
            printable(&step.what)
        );
    }
}

/// The source line as shown, where the carets start and how many there are, all in terminal
/// columns: tabs expand to 4, wide characters take 2, and a line wider than the terminal is cut
/// around the finding with `…` where text was left out.
fn underline(f: &Finding) -> (String, usize, usize) {
    let last = if f.end_line == f.line {
        f.end_column
    } else {
        usize::MAX
    };
    // (text shown for one character, its width, whether it is under the carets)
    let cells: Vec<(String, usize, bool)> = f
        .source_line
        .chars()
        .enumerate()
        .map(|(i, ch)| {
            let column = i + 1;
            let (text, width) = match ch {
                '\t' => ("    ".to_string(), 4),
                c if c.is_control() => ("\u{fffd}".to_string(), 1),
                c => (c.to_string(), c.width().unwrap_or(0)),
            };
            (text, width, column >= f.column && column < last)
        })
        .collect();
    let total: usize = cells.iter().map(|c| c.1).sum();
    let limit = max_width();
    let (mut from, mut to) = (0, cells.len());
    if total > limit {
        // Keep some context before the carets, then as much as fits.
        let first = cells.iter().position(|c| c.2).unwrap_or(0);
        let mut budget = limit / 4;
        from = first;
        while from > 0 && budget >= cells[from - 1].1 {
            from -= 1;
            budget -= cells[from].1;
        }
        let mut width = 0;
        to = from;
        while to < cells.len() && width + cells[to].1 <= limit {
            width += cells[to].1;
            to += 1;
        }
    }
    let mut shown = String::new();
    let (mut caret_start, mut caret_len) = (0, 0);
    if from > 0 {
        shown.push('…');
        caret_start += 1;
    }
    for (text, width, under) in &cells[from..to] {
        shown.push_str(text);
        if *under {
            caret_len += width;
        } else if caret_len == 0 {
            caret_start += width;
        }
    }
    if to < cells.len() {
        shown.push('…');
    }
    (shown, caret_start, caret_len)
}

/// How wide a source line may be shown: `COLUMNS` less the gutter, or 120.
fn max_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .map_or(120, |c| c.saturating_sub(10))
        .max(40)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(line: &str, column: usize, end_column: usize) -> Finding {
        Finding {
            rule: rule::RULE_ID,
            path: "a.py".into(),
            line: 1,
            column,
            end_line: 1,
            end_column,
            cell: None,
            api: "dill.loads",
            kind: UseKind::Call,
            via: None,
            reachable: Default::default(),
            flow: Vec::new(),
            flow_cut: false,
            help: Vec::new(),
            severity: rule::SEVERITY,
            degraded: false,
            message: String::new(),
            source_line: line.into(),
            file_lines: None,
        }
    }

    #[test]
    fn tabs_and_wide_characters_keep_carets_aligned() {
        let (shown, start, len) = underline(&finding("\tx = '日本'; dill.loads(b)", 12, 25));
        assert_eq!(shown, "    x = '日本'; dill.loads(b)");
        assert_eq!((start, len), (16, 13));
    }

    #[test]
    fn long_lines_are_cut_around_the_finding() {
        let line = format!("{}dill.loads(b){}", "a".repeat(500), "z".repeat(500));
        let (shown, start, len) = underline(&finding(&line, 501, 514));
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert!(shown.chars().count() <= max_width() + 2);
        assert_eq!(&shown[shown.find('d').unwrap()..][..13], "dill.loads(b)");
        assert_eq!(len, 13);
        assert_eq!(shown.chars().take(start).last(), Some('a'));
        assert_eq!(shown.chars().nth(start), Some('d'));
    }
}
