//! The default output, in the style of rustc: a header naming the rule and the API, the place,
//! the source line with carets under the use, then what to do instead.

use std::fmt::Write as _;

use owo_colors::{OwoColorize, Style};

use crate::rule;
use crate::{Finding, Report, UseKind};

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
        finding_block(&mut out, finding, p);
    }
    for issue in &report.errors {
        let _ = writeln!(
            out,
            "{}: {}: {}",
            p.error("error"),
            issue.path,
            issue.message
        );
    }
    if quiet {
        return out;
    }
    for issue in &report.warnings {
        let _ = writeln!(
            out,
            "{}: {}: {}",
            p.warning("warning"),
            issue.path,
            issue.message
        );
    }
    summary(&mut out, report, p, exit_zero);
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary(out: &mut String, report: &Report, p: Painter, exit_zero: bool) {
    let counts = format!(
        "{} checked, {}, {} allowed, {} ms",
        plural(report.files_checked, "file", "files"),
        plural(report.findings.len(), "finding", "findings"),
        report.allowed.len(),
        report.elapsed.as_millis()
    );
    let verdict = match report.exit_code(exit_zero) {
        0 if report.findings.is_empty() => p.ok("ok"),
        0 => p.warning("not blocking (--exit-zero)"),
        1 => p.error("commit blocked"),
        _ => p.error(&format!(
            "commit blocked: {} could not be checked",
            plural(report.errors.len(), "problem", "problems")
        )),
    };
    let _ = writeln!(out, "{} {counts} — {verdict}", p.bold("dill-guard:"));
}

fn finding_block(out: &mut String, f: &Finding, p: Painter) {
    let sink = rule::sink_for(f.api).expect("every finding names a sink of the rule");
    let what = match f.kind {
        UseKind::Call => "call",
        UseKind::Reference => "reference (handed on without a call)",
    };
    let _ = writeln!(
        out,
        "{}{} {}",
        p.error(&format!("error[{}]", rule::RULE_ID)),
        p.bold(":"),
        p.bold(&format!("unsafe dill deserialization: `{}` {what}", f.api))
    );
    let place = match f.cell {
        Some(cell) => format!("{}:cell {cell}:{}:{}", f.path, f.line, f.column),
        None => format!("{}:{}:{}", f.path, f.line, f.column),
    };
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
    for line in rule::help(sink) {
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

/// The source line as shown (tabs expanded), where the carets start and how many there are.
fn underline(f: &Finding) -> (String, usize, usize) {
    let mut shown = String::new();
    let mut caret_start = 0;
    let mut caret_len = 0;
    let last = if f.end_line == f.line {
        f.end_column
    } else {
        usize::MAX
    };
    for (i, ch) in f.source_line.chars().enumerate() {
        let column = i + 1;
        let width = if ch == '\t' { 4 } else { 1 };
        if column < f.column {
            caret_start += width;
        } else if column < last {
            caret_len += width;
        }
        if ch == '\t' {
            shown.push_str("    ");
        } else {
            shown.push(ch);
        }
    }
    (shown, caret_start, caret_len)
}
