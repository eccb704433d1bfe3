//! `--format github`: GitHub Actions workflow commands, so findings appear as annotations on the
//! lines of a pull request. One `::error` per blocking finding, `::notice` per allowed one,
//! `::error`/`::warning` for files that could not be judged, then a plain summary line.

use std::fmt::Write as _;

use crate::model::{Finding, Report};
use crate::rule;

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        annotation(&mut out, "error", finding, &finding.message);
    }
    for allowed in &report.allowed {
        let text = format!("allowed ({}): {}", allowed.by, allowed.reason);
        annotation(&mut out, "notice", &allowed.finding, &text);
    }
    for (level, issues) in [
        ("error", &report.policy_changes),
        ("error", &report.errors),
        ("warning", &report.warnings),
    ] {
        for issue in issues {
            let _ = writeln!(
                out,
                "::{level} file={},title={}::{}",
                property(&issue.path),
                property("dill-guard"),
                data(&issue.message)
            );
        }
    }
    let _ = writeln!(
        out,
        "dill-guard: {} files checked, {} findings, {} allowed",
        report.files_checked,
        report.findings.len(),
        report.allowed.len()
    );
    out
}

fn annotation(out: &mut String, level: &str, f: &Finding, text: &str) {
    let title = format!("{} {}", rule::RULE_ID, f.api);
    let mut message = match f.cell {
        Some(cell) => format!("notebook cell {cell}, line {}: {text}", f.line),
        None => text.to_string(),
    };
    if !f.flow.is_empty() {
        // Workflow annotations take one message: the flow goes in it.
        message.push_str(&format!(
            "\nreachable: {} — {}",
            f.reachable.as_str(),
            f.flow_summary()
        ));
    }
    // Notebook positions are inside a cell, which annotations cannot express: name the file only.
    let place = if f.cell.is_some() {
        format!("file={}", property(&f.path))
    } else {
        format!(
            "file={},line={},col={},endLine={},endColumn={}",
            property(&f.path),
            f.line,
            f.column,
            f.end_line,
            f.end_column
        )
    };
    let _ = writeln!(
        out,
        "::{level} {place},title={}::{}",
        property(&title),
        data(&message)
    );
}

/// Escapes the message part of a workflow command.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_workflow_command_syntax() {
        assert_eq!(data("100%\nnext"), "100%25%0Anext");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
