//! The command line, parsed in two steps: raw flags into [`Args`], then checked into a
//! [`Command`]. Answering `--help` and `--version` needs no repository and no file.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::config::ConfigChoice;
use crate::source::Selection;

pub const USAGE: &str = "\
dill-guard: blocks commits that add unsafe dill deserialization (PYTHON-LANG-SEC-046)

Usage:
  dill-guard [OPTIONS] [PATH]...     check files in the working tree (default: .)
  dill-guard --staged [PATH]...      check what is staged for the next commit (the hook's call)
  dill-guard --all                   check every Python file in the index
  dill-guard explain [RULE]          explain the rule and how to fix findings

Options:
      --staged             read content from the index: the files added, modified, copied or
                           renamed relative to HEAD, or the given PATHs
      --all                check every Python file in the index
      --config PATH        read the policy from PATH instead of dill-guard.toml,
                           .dill-guard.toml or [tool.dill-guard] in pyproject.toml
      --no-config          ignore every configuration file
      --new-only           report only findings on lines added or changed relative to HEAD
                           (for adopting dill-guard in a codebase with old findings)
      --format FORMAT      human (default), json, sarif (SARIF 2.1.0) or github
                           (GitHub Actions annotations)
      --color WHEN         auto (default), always or never; auto honours NO_COLOR,
                           FORCE_COLOR, CLICOLOR_FORCE and whether stdout is a terminal
  -q, --quiet              print only findings and errors
      --exit-zero          exit 0 even when findings block
  -h, --help               print this help
  -V, --version            print the version

Exit status: 0 nothing blocking, 1 blocking findings, 2 the tool could not judge
(usage, git or I/O error, or a Python file it could not analyse).
";

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// A check run's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckArgs {
    pub selection: Selection,
    pub config: ConfigChoice,
    pub new_only: bool,
    pub format: Format,
    pub color: ColorChoice,
    pub quiet: bool,
    pub exit_zero: bool,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Check(CheckArgs),
    Explain,
    Help,
    Version,
}

/// A command line that does not make sense (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

impl From<lexopt::Error> for UsageError {
    fn from(err: lexopt::Error) -> Self {
        UsageError(err.to_string())
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut staged = false;
    let mut all = false;
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut format = Format::Human;
    let mut color = ColorChoice::Auto;
    let mut quiet = false;
    let mut exit_zero = false;
    let mut config_file: Option<PathBuf> = None;
    let mut no_config = false;
    let mut new_only = false;
    let mut first = true;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("help") | Short('h') => return Ok(Command::Help),
            Long("version") | Short('V') => return Ok(Command::Version),
            Long("staged") => staged = true,
            Long("all") => all = true,
            Long("quiet") | Short('q') => quiet = true,
            Long("exit-zero") => exit_zero = true,
            Long("config") => config_file = Some(parser.value()?.into()),
            Long("no-config") => no_config = true,
            Long("new-only") => new_only = true,
            Long("format") => {
                format = match parser.value()?.string()?.as_str() {
                    "human" => Format::Human,
                    "json" => Format::Json,
                    "sarif" => Format::Sarif,
                    "github" => Format::Github,
                    other => {
                        return Err(UsageError(format!(
                            "unknown format `{other}` (expected human, json, sarif or github)"
                        )))
                    }
                }
            }
            Long("color") | Long("colour") => {
                color = match parser.value()?.string()?.as_str() {
                    "auto" => ColorChoice::Auto,
                    "always" => ColorChoice::Always,
                    "never" => ColorChoice::Never,
                    other => {
                        return Err(UsageError(format!(
                            "unknown color choice `{other}` (expected auto, always or never)"
                        )))
                    }
                }
            }
            Value(value) if first && value == "explain" => {
                if let Some(rule) = parser.next()? {
                    match rule {
                        Value(rule) if rule == crate::rule::RULE_ID => {}
                        Value(rule) => {
                            return Err(UsageError(format!(
                                "unknown rule `{}` (dill-guard has one rule, {})",
                                rule.to_string_lossy(),
                                crate::rule::RULE_ID
                            )))
                        }
                        other => return Err(other.unexpected().into()),
                    }
                }
                if let Some(extra) = parser.next()? {
                    return Err(extra.unexpected().into());
                }
                return Ok(Command::Explain);
            }
            Value(value) if first && (value == "install" || value == "uninstall") => {
                return Err(UsageError(format!(
                    "`dill-guard {}` is not available in this version; see the README for installing the hook by hand",
                    value.to_string_lossy()
                )));
            }
            Value(value) => paths.push(PathBuf::from(value)),
            other => return Err(other.unexpected().into()),
        }
        first = false;
    }
    let selection = match (staged, all) {
        (true, true) => {
            return Err(UsageError(
                "`--staged` and `--all` cannot be combined".into(),
            ))
        }
        (false, true) if !paths.is_empty() => {
            return Err(UsageError("`--all` takes no paths".into()))
        }
        (false, true) => Selection::All,
        (true, false) if paths.is_empty() => Selection::Staged,
        (true, false) => Selection::StagedPaths(paths),
        (false, false) if paths.is_empty() => Selection::Paths(vec![PathBuf::from(".")]),
        (false, false) => Selection::Paths(paths),
    };
    let config = match (config_file, no_config) {
        (Some(_), true) => {
            return Err(UsageError(
                "`--config` and `--no-config` cannot be combined".into(),
            ))
        }
        (Some(path), false) => ConfigChoice::File(path),
        (None, true) => ConfigChoice::Ignore,
        (None, false) => ConfigChoice::Discover,
    };
    Ok(Command::Check(CheckArgs {
        selection,
        config,
        new_only,
        format,
        color,
        quiet,
        exit_zero,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn selections() {
        let Command::Check(c) = parse_str(&["--staged"]).unwrap() else {
            panic!()
        };
        assert_eq!(c.selection, Selection::Staged);
        let Command::Check(c) = parse_str(&["--staged", "a.py"]).unwrap() else {
            panic!()
        };
        assert_eq!(c.selection, Selection::StagedPaths(vec!["a.py".into()]));
        let Command::Check(c) = parse_str(&[]).unwrap() else {
            panic!()
        };
        assert_eq!(c.selection, Selection::Paths(vec![".".into()]));
        let Command::Check(c) = parse_str(&["--all", "--format", "json"]).unwrap() else {
            panic!()
        };
        assert_eq!((c.selection, c.format), (Selection::All, Format::Json));
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse_str(&["--staged", "--all"]).is_err());
        assert!(parse_str(&["--all", "x.py"]).is_err());
        assert!(parse_str(&["--format", "xml"]).is_err());
        assert!(parse_str(&["--bogus"]).is_err());
        assert!(parse_str(&["--config", "a.toml", "--no-config"]).is_err());
        assert!(parse_str(&["--config"]).is_err());
        assert!(parse_str(&["explain", "OTHER-RULE"]).is_err());
        assert_eq!(parse_str(&["explain"]).unwrap(), Command::Explain);
        assert_eq!(parse_str(&["a.py", "--help"]).unwrap(), Command::Help);
    }
}
