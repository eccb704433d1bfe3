//! Turns a [`Report`] into text, one file per format. Formats only render; what is blocking is
//! decided before they run.

mod github;
mod human;
mod json;
mod lines;
mod sarif;

use crate::args::Format;
use crate::model::Report;

pub use human::Painter;

/// Renders a report in the chosen format. `color` applies to human output only.
pub fn render(
    report: &Report,
    format: Format,
    color: bool,
    quiet: bool,
    exit_zero: bool,
) -> String {
    match format {
        Format::Human => human::render(report, Painter::new(color), quiet, exit_zero),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
        Format::Concise => lines::concise(report, quiet, exit_zero),
        Format::JsonLines => lines::json_lines(report),
        Format::Gitlab => lines::gitlab(report),
        Format::Junit => lines::junit(report),
    }
}

/// Where a finding is, as `path:line:column` (notebooks: `path:cell N:line:column`).
fn place(path: &str, f: &crate::model::Finding) -> String {
    match f.cell {
        Some(cell) => format!("{path}:cell {cell}:{}:{}", f.line, f.column),
        None => format!("{path}:{}:{}", f.line, f.column),
    }
}

/// A fingerprint of what a finding is (file, API, the code on its line), not where it is,
/// with a count telling identical lines in one file apart: it survives code moving around.
pub(crate) fn fingerprint(
    finding: &crate::model::Finding,
    seen: &mut std::collections::HashMap<u64, usize>,
) -> String {
    let key = fnv1a(
        [
            finding.path.as_str(),
            finding.api,
            if finding.cell.is_some() { "cell" } else { "" },
            finding.source_line.trim(),
        ]
        .join("\u{0}")
        .as_bytes(),
    );
    let occurrence = seen.entry(key).or_insert(0);
    *occurrence += 1;
    format!("{key:016x}:{occurrence}")
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
