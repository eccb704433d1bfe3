//! The formats for narrow terminals and other tools: `concise` (a line per finding),
//! `json-lines` (a JSON object per line), `gitlab` (GitLab's Code Quality report) and `junit`
//! (JUnit XML, which most CI systems show as test results).

use std::fmt::Write as _;

use serde_json::json;

use super::human::printable;
use super::place;
use crate::model::{Finding, Report};
use crate::rule;

fn what(f: &Finding) -> String {
    let kind = match f.kind {
        crate::model::UseKind::Call => "call",
        crate::model::UseKind::Reference => "reference",
        crate::model::UseKind::Module => "module",
        crate::model::UseKind::Library => "library",
    };
    format!("`{}` {kind}", f.api)
}

pub(super) fn concise(report: &Report, quiet: bool, exit_zero: bool) -> String {
    let mut out = String::new();
    // A terminal format: names and messages are escaped as in the human format.
    for f in &report.findings {
        let degraded = if f.degraded { " (degraded)" } else { "" };
        let reach = f.reach_note();
        let _ = writeln!(
            out,
            "{}: {} unsafe dill deserialization: {}{degraded}{reach}",
            place(&printable(&report.from_cwd(&f.path)), f),
            rule::RULE_ID,
            what(f)
        );
    }
    let issues = (report.policy_changes.iter().map(|i| ("policy change", i)))
        .chain(report.errors.iter().map(|i| ("error", i)));
    let warnings = report.warnings.iter().map(|i| ("warning", i));
    for (level, issue) in issues.chain(warnings.filter(|_| !quiet)) {
        let _ = writeln!(
            out,
            "{}: {level}: {}",
            printable(&report.from_cwd(&issue.path)),
            printable(&issue.message)
        );
    }
    if !quiet {
        super::human::summary(&mut out, report, super::Painter::new(false), exit_zero);
    }
    out
}

pub(super) fn json_lines(report: &Report) -> String {
    let mut out = String::new();
    let mut line = |value: serde_json::Value| {
        out.push_str(&value.to_string());
        out.push('\n');
    };
    let object = |kind: &str, value: serde_json::Value| {
        let mut value = value;
        value["type"] = json!(kind);
        value
    };
    for f in &report.findings {
        line(object("finding", json!(f)));
    }
    for a in &report.allowed {
        line(object("allowed", json!(a)));
    }
    for issue in &report.policy_changes {
        line(object("policy-change", json!(issue)));
    }
    for issue in &report.errors {
        line(object("error", json!(issue)));
    }
    for issue in &report.warnings {
        line(object("warning", json!(issue)));
    }
    line(json!({
        "type": "summary",
        "version": 1,
        "files_checked": report.files_checked,
        "findings": report.findings.len(),
        "allowed": report.allowed.len(),
        "errors": report.errors.len(),
    }));
    out
}

pub(super) fn gitlab(report: &Report) -> String {
    let mut seen = std::collections::HashMap::new();
    let mut issues = Vec::new();
    let mut entry = |f: &Finding, severity: &str, note: Option<&str>| {
        let key = super::fingerprint(f, &mut seen);
        let mut description = format!("{}: {}", rule::RULE_ID, f.message);
        if let Some(cell) = f.cell {
            let _ = write!(description, " (notebook cell {cell}, line {})", f.line);
        }
        if let Some(note) = note {
            let _ = write!(description, " ({note})");
        }
        issues.push(json!({
            "description": description,
            "check_name": rule::RULE_ID,
            "fingerprint": key,
            "severity": severity,
            "location": {
                "path": f.path,
                "lines": {"begin": if f.cell.is_some() { 1 } else { f.line }},
            },
        }));
    };
    for f in &report.findings {
        entry(f, "blocker", None);
    }
    for a in &report.allowed {
        let note = format!("allowed: {}", a.reason);
        entry(&a.finding, "info", Some(&note));
    }
    for issue in &report.policy_changes {
        issues.push(json!({
            "description": format!("dill-guard: the change widens the policy: {}", issue.message),
            "check_name": "dill-guard-policy-change",
            "fingerprint": format!("{:016x}", super::fnv1a(format!("policy\0{}\0{}", issue.path, issue.message).as_bytes())),
            "severity": "blocker",
            "location": {"path": issue.path, "lines": {"begin": 1}},
        }));
    }
    for issue in &report.errors {
        issues.push(json!({
            "description": format!("dill-guard could not judge this file: {}", issue.message),
            "check_name": "dill-guard-error",
            "fingerprint": format!("{:016x}", super::fnv1a(format!("{}\0{}", issue.path, issue.message).as_bytes())),
            "severity": "blocker",
            "location": {"path": issue.path, "lines": {"begin": 1}},
        }));
    }
    let mut text = serde_json::to_string_pretty(&issues).expect("a report always serializes");
    text.push('\n');
    text
}

/// Escapes text for XML attributes and content.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows no other control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

pub(super) fn junit(report: &Report) -> String {
    let mut cases = String::new();
    for f in &report.findings {
        let _ = writeln!(
            cases,
            "    <testcase classname=\"{}\" name=\"{}\">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
            xml(&f.path),
            xml(&format!("{} {}", place(&f.path, f), what(f))),
            rule::RULE_ID,
            xml(&f.message),
            xml(f.source_line.trim())
        );
    }
    for a in &report.allowed {
        let f = &a.finding;
        let _ = writeln!(
            cases,
            "    <testcase classname=\"{}\" name=\"{}\">\n      <skipped message=\"{}\"/>\n    </testcase>",
            xml(&f.path),
            xml(&format!("{} {}", place(&f.path, f), what(f))),
            xml(&format!("allowed ({}): {}", a.by, a.reason))
        );
    }
    for issue in &report.errors {
        let _ = writeln!(
            cases,
            "    <testcase classname=\"{}\" name=\"could not be judged\">\n      <error message=\"{}\"/>\n    </testcase>",
            xml(&issue.path),
            xml(&issue.message)
        );
    }
    for issue in &report.policy_changes {
        let _ = writeln!(
            cases,
            "    <testcase classname=\"{}\" name=\"policy change\">\n      <failure type=\"policy-change\" message=\"{}\"/>\n    </testcase>",
            xml(&issue.path),
            xml(&issue.message)
        );
    }
    let passed =
        report.findings.is_empty() && report.errors.is_empty() && report.policy_changes.is_empty();
    if passed {
        let _ = writeln!(
            cases,
            "    <testcase classname=\"dill-guard\" name=\"{} files checked: no unsafe dill deserialization\"/>",
            report.files_checked
        );
    }
    let tests = report.findings.len()
        + report.policy_changes.len()
        + report.allowed.len()
        + report.errors.len()
        + usize::from(passed);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"dill-guard\" tests=\"{tests}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n{cases}  </testsuite>\n</testsuites>\n",
        report.findings.len() + report.policy_changes.len(),
        report.errors.len(),
        report.allowed.len()
    )
}
