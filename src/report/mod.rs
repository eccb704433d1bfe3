//! Turns a [`Report`] into text, one file per format. Formats only render; what is blocking is
//! decided before they run.

mod github;
mod human;
mod json;
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
    }
}
