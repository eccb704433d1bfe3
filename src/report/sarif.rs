//! `--format sarif`: SARIF 2.1.0 for code-scanning upload. One run, the rule's metadata in the
//! driver, one result per finding; allowed findings are results with a suppression. Each result
//! carries a fingerprint built from what it is, not where it is, so moving code does not make a
//! finding look new.

use serde_json::{json, Value};

use crate::model::{Finding, Reach, Report};
use crate::rule;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub(super) fn render(report: &Report) -> String {
    let mut results: Vec<Value> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for finding in &report.findings {
        results.push(result(finding, None, &mut seen));
    }
    for allowed in &report.allowed {
        let kind = if allowed.by == "inline" {
            "inSource"
        } else {
            "external"
        };
        let suppression = json!({"kind": kind, "justification": allowed.reason});
        results.push(result(&allowed.finding, Some(suppression), &mut seen));
    }
    // A widening of the policy is no result of the rule: it is told as an error notification.
    let notifications: Vec<Value> = report
        .policy_changes
        .iter()
        .chain(&report.errors)
        .map(|e| notification("error", &e.path, &e.message))
        .chain(
            report
                .warnings
                .iter()
                .map(|w| notification("warning", &w.path, &w.message)),
        )
        .collect();
    let document = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver()},
            // Columns count characters (Unicode code points), as everywhere in dill-guard.
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&document).expect("SARIF always serializes");
    text.push('\n');
    text
}

/// Where people read about dill-guard and its rule.
const HOME: &str = "https://github.com/dill-guard/dill-guard";

/// The rule as code scanning sees it: the rule itself, and (index 1) its findings that outside
/// data reaches, under a hierarchical id with a higher `security-severity` (code scanning
/// reads the severity from the rule, not from a result).
fn driver() -> Value {
    let descriptor = |id: String, name: &str, short: &str, severity: &str| {
        json!({
            "id": id,
            "name": name,
            "shortDescription": {"text": short},
            "fullDescription": {"text": rule::SUMMARY},
            "help": {"text": rule::EXPLAIN, "markdown": format!("```\n{}\n```", rule::EXPLAIN)},
            "helpUri": format!("{HOME}#what-is-a-finding"),
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "tags": ["security", "external/cwe/cwe-502", "OWASP-A08:2021", rule::CWE],
                "security-severity": severity,
                "precision": "high",
                "problem.severity": "error",
            },
        })
    };
    json!({
        "name": "dill-guard",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "informationUri": HOME,
        "rules": [
            descriptor(
                rule::RULE_ID.to_string(),
                "DillDeserialization",
                "Unsafe dill deserialization",
                rule::SECURITY_SEVERITY,
            ),
            descriptor(
                remote_rule(),
                "DillDeserializationOfRemoteData",
                "Unsafe dill deserialization of data from outside",
                rule::REMOTE_SECURITY_SEVERITY,
            ),
        ],
    })
}

/// The id of the rule's findings that remote data reaches.
fn remote_rule() -> String {
    format!("{}/remote", rule::RULE_ID)
}

/// The flow into a finding, as a SARIF code flow GitHub shows step by step.
fn code_flow(finding: &Finding) -> Value {
    let uri = uri(&finding.path);
    let locations: Vec<Value> = finding
        .flow
        .iter()
        .map(|step| {
            let region = match step.file_line {
                Some(line) => json!({"startLine": line}),
                None => json!({"startLine": step.line, "startColumn": step.column}),
            };
            let text = match step.cell {
                Some(cell) => format!("{} (notebook cell {cell}, line {})", step.what, step.line),
                None => step.what.clone(),
            };
            json!({
                "location": {
                    "physicalLocation": {"artifactLocation": {"uri": uri}, "region": region},
                    "message": {"text": text},
                },
            })
        })
        .collect();
    json!({
        "message": {"text": format!(
            "{} data reaches `{}`",
            finding.reachable.as_str(),
            finding.api
        )},
        "threadFlows": [{"locations": locations}],
    })
}

fn result(
    finding: &Finding,
    suppression: Option<Value>,
    seen: &mut std::collections::HashMap<u64, usize>,
) -> Value {
    // A notebook finding points at the lines of the `.ipynb` file holding the cell's code (its
    // columns there depend on JSON escapes, so none are given); the place in the cell is in
    // the properties.
    let region = match finding.file_lines {
        Some((start, end)) => json!({
            "startLine": start,
            "endLine": end,
            "snippet": {"text": finding.source_line},
        }),
        None => json!({
            "startLine": finding.line,
            "startColumn": finding.column,
            "endLine": finding.end_line,
            "endColumn": finding.end_column,
            "snippet": {"text": finding.source_line},
        }),
    };
    let remote = finding.reachable == Reach::Remote;
    let mut value = json!({
        "ruleId": if remote { remote_rule() } else { rule::RULE_ID.to_string() },
        "ruleIndex": usize::from(remote),
        // An allowed finding does not block: a note, with its suppression.
        "level": if suppression.is_some() { "note" } else { "error" },
        "message": {"text": match finding.cell {
            Some(cell) => format!("{} (notebook cell {cell})", finding.message),
            None => finding.message.clone(),
        }},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri(&finding.path)},
                "region": region,
            },
        }],
        "partialFingerprints": {"dillGuard/v1": super::fingerprint(finding, seen)},
        "properties": {
            "api": finding.api,
            "kind": finding.kind,
            "degraded": finding.degraded,
            "cell": finding.cell,
            "reachable": finding.reachable,
        },
    });
    if !finding.flow.is_empty() {
        value["codeFlows"] = json!([code_flow(finding)]);
    }
    if finding.cell.is_some() {
        let place = &mut value["properties"];
        place["cellLine"] = json!(finding.line);
        place["cellColumn"] = json!(finding.column);
        place["cellEndLine"] = json!(finding.end_line);
        place["cellEndColumn"] = json!(finding.end_column);
    }
    if let Some(via) = &finding.via {
        value["properties"]["via"] = json!(via);
    }
    if let Some(suppression) = suppression {
        value["suppressions"] = json!([suppression]);
    }
    value
}

fn notification(level: &str, path: &str, message: &str) -> Value {
    json!({
        "level": level,
        "message": {"text": format!("{path}: {message}")},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(path)}}}],
    })
}

/// A relative URI reference for a repository path: each segment percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri("src/a b/ü.py"), "src/a%20b/%C3%BC.py");
        assert_eq!(uri("pkg/mod_1.py"), "pkg/mod_1.py");
    }
}
