//! `--format json`: one object on stdout, version 1 of the schema in the README. Field names
//! and order are a contract; add fields, never rename them.

use serde::Serialize;

use crate::model::{Allowed, Finding, Issue, Report};

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    findings: &'a [Finding],
    allowed: &'a [Allowed],
    errors: &'a [Issue],
    warnings: &'a [Issue],
    files_checked: usize,
    /// Widenings of the policy that block (`--policy-changes block`); absent when none.
    #[serde(skip_serializing_if = "<[Issue]>::is_empty")]
    policy_changes: &'a [Issue],
}

pub(super) fn render(report: &Report) -> String {
    let document = Document {
        version: 1,
        findings: &report.findings,
        allowed: &report.allowed,
        errors: &report.errors,
        warnings: &report.warnings,
        files_checked: report.files_checked,
        policy_changes: &report.policy_changes,
    };
    let mut text = serde_json::to_string(&document).expect("a report always serializes");
    text.push('\n');
    text
}
