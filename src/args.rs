//! The command line, parsed in two steps: raw flags into [`Args`], then checked into a
//! [`Command`]. Answering `--help` and `--version` needs no repository and no file.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::config::ConfigChoice;
use crate::install::{Existing, Hook};
use crate::source::Selection;
use crate::PolicyChanges;

pub const USAGE: &str = "\
dill-guard: blocks commits that add unsafe dill deserialization (PYTHON-LANG-SEC-046)

Usage:
  dill-guard [OPTIONS] [PATH]...     check files in the working tree (default: .)
  dill-guard --staged [PATH]...      check what is staged for the next commit (the hook's call)
  dill-guard --all                   check every Python file in the index
  dill-guard --range A..B            check the files changed between two commits, as they are at B
  dill-guard --pre-push [REMOTE]     (in a pre-push hook) check what the push adds; reads git's stdin
  dill-guard --pre-receive           (in a server's pre-receive hook) check what a push adds
  dill-guard explain [RULE]          explain the rule and how to fix findings
  dill-guard install [--hook HOOK] [--chain | --force]
                                     write the git hook (HOOK: pre-commit (default),
                                     pre-merge-commit or pre-push); --chain keeps an existing
                                     hook and runs it first, --force replaces it (with a backup)
  dill-guard uninstall [--hook HOOK] remove the hook and restore what was there before

Options:
      --staged             read content from the index: the files added, modified, copied or
                           renamed relative to HEAD, or the given PATHs
      --all                check every Python file in the index
      --range A..B         check files changed between commits A and B, content at B
      --config PATH        read the policy from PATH instead of dill-guard.toml,
                           .dill-guard.toml or [tool.dill-guard] in pyproject.toml
      --no-config          ignore every configuration file
      --new-only           report only findings on lines added or changed relative to HEAD
                           (for adopting dill-guard in a codebase with old findings)
      --policy-changes WHAT  with --range, --pre-push, --pre-receive: `warn` (default) or
                           `block`: a change that widens the policy (a new [[allow]] entry or
                           exclude glob, a later expiry, a dropped unless-reachable) blocks
      --inline-allows WHAT `honour` (default) or `refuse`: `# dill-guard: allow` and
                           `# noqa` comments allow nothing; only the policy file does
      --format FORMAT      human (default), concise (a line per finding), json, json-lines
                           (a JSON object per finding), sarif (SARIF 2.1.0), github (GitHub
                           Actions annotations), gitlab (Code Quality report) or junit
  -o, --output-file PATH   write the report to PATH instead of standard output
      --stdin-filename NAME  with `-` as the path: check standard input as the file NAME
      --color WHEN         auto (default), always or never; auto honours NO_COLOR,
                           FORCE_COLOR, CLICOLOR_FORCE and whether stdout is a terminal
  -q, --quiet              print only findings and errors
      --exit-zero          exit 0 even when findings block
  -h, --help               print this help
  -V, --version            print the version

Exit status: 0 nothing blocking, 1 blocking findings, 2 the tool could not judge
(usage, git or I/O error, or a Python file it could not analyse).
";

/// A short reminder of the command line, for usage errors (`--help` prints it all).
pub const SHORT_USAGE: &str = "\
Usage: dill-guard [OPTIONS] [PATH]...
       dill-guard --staged | --all | --range A..B | install | uninstall | explain

For more, try `dill-guard --help`.
";

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Concise,
    Json,
    JsonLines,
    Sarif,
    Github,
    Gitlab,
    Junit,
}

const FORMATS: &[(&str, Format)] = &[
    ("human", Format::Human),
    ("concise", Format::Concise),
    ("json", Format::Json),
    ("json-lines", Format::JsonLines),
    ("sarif", Format::Sarif),
    ("github", Format::Github),
    ("gitlab", Format::Gitlab),
    ("junit", Format::Junit),
];

/// Every long option, for suggestions.
const LONG_OPTIONS: &[&str] = &[
    "staged",
    "all",
    "range",
    "pre-push",
    "pre-receive",
    "config",
    "no-config",
    "new-only",
    "policy-changes",
    "inline-allows",
    "format",
    "output-file",
    "stdin-filename",
    "color",
    "quiet",
    "exit-zero",
    "help",
    "version",
    "hook",
    "chain",
    "force",
];

const COMMANDS: &[&str] = &["install", "uninstall", "explain"];

/// The number of single-character edits between two words, a swap of neighbours counting as
/// one (`chian` is one edit from `chain`).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The closest of `known` to `word`, when it is close enough to be a typo of it.
fn closest<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (distance(word, k), *k))
        .filter(|(d, k)| *d > 0 && *d <= (k.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// A usage error for an argument lexopt did not expect, with a suggestion when it is close to
/// one that exists.
fn unexpected(arg: lexopt::Arg<'_>) -> UsageError {
    let suggestion = match &arg {
        lexopt::Arg::Long(name) => closest(name, LONG_OPTIONS).map(|k| format!("--{k}")),
        _ => None,
    };
    let message = arg.unexpected().to_string();
    match suggestion {
        Some(k) => UsageError(format!("{message}; did you mean `{k}`?")),
        None => UsageError(message),
    }
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
    pub policy_changes: PolicyChanges,
    /// `--inline-allows refuse` sets it to false.
    pub inline_allows: bool,
    /// Where the report goes instead of standard output.
    pub output_file: Option<PathBuf>,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Check(CheckArgs),
    Explain,
    Install { hook: Hook, existing: Existing },
    Uninstall { hook: Hook },
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
    let mut policy_changes: Option<PolicyChanges> = None;
    let mut inline_allows = true;
    let mut range: Option<String> = None;
    let mut pre_push = false;
    let mut pre_receive = false;
    let mut output_file: Option<PathBuf> = None;
    let mut stdin_filename: Option<String> = None;
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
            Long("policy-changes") => {
                policy_changes = Some(match parser.value()?.string()?.as_str() {
                    "warn" => PolicyChanges::Warn,
                    "block" => PolicyChanges::Block,
                    other => {
                        return Err(UsageError(format!(
                            "unknown `--policy-changes` choice `{other}` (expected warn or block)"
                        )))
                    }
                })
            }
            Long("inline-allows") => {
                inline_allows = match parser.value()?.string()?.as_str() {
                    "honour" | "honor" => true,
                    "refuse" => false,
                    other => {
                        return Err(UsageError(format!(
                            "unknown `--inline-allows` choice `{other}` (expected honour or refuse)"
                        )))
                    }
                }
            }
            Long("range") => range = Some(parser.value()?.string()?),
            Long("pre-push") => pre_push = true,
            Long("pre-receive") => pre_receive = true,
            Long("format") => {
                let name = parser.value()?.string()?;
                format = match FORMATS.iter().find(|(n, _)| *n == name) {
                    Some((_, format)) => *format,
                    None => {
                        let names: Vec<&str> = FORMATS.iter().map(|(n, _)| *n).collect();
                        let hint = closest(&name, &names)
                            .map(|k| format!("; did you mean `{k}`?"))
                            .unwrap_or_default();
                        return Err(UsageError(format!(
                            "unknown format `{name}` (expected {}){hint}",
                            names.join(", ")
                        )));
                    }
                }
            }
            Long("output-file") | Short('o') => output_file = Some(parser.value()?.into()),
            Long("stdin-filename") => stdin_filename = Some(parser.value()?.string()?),
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
                return parse_install(&mut parser, value == "install");
            }
            Value(value) => {
                // A mistyped command is not a file name: `instal` (when no such file exists).
                if first && !std::path::Path::new(&value).exists() {
                    if let Some(command) = value.to_str().and_then(|v| closest(v, COMMANDS)) {
                        return Err(UsageError(format!(
                            "unknown command `{}`; did you mean `{command}`?",
                            value.to_string_lossy()
                        )));
                    }
                }
                paths.push(PathBuf::from(value))
            }
            other => return Err(unexpected(other)),
        }
        first = false;
    }
    // `-` is standard input, named by `--stdin-filename`.
    let stdin = if paths.iter().any(|p| p.as_os_str() == "-") {
        if paths.len() > 1 || staged || all || range.is_some() || pre_push || pre_receive {
            return Err(UsageError(
                "`-` (standard input) is checked alone, in path mode".into(),
            ));
        }
        let Some(name) = stdin_filename.clone() else {
            return Err(UsageError(
                "`-` needs `--stdin-filename NAME`: the name says what kind of file it is and where findings are".into(),
            ));
        };
        Some(Selection::Stdin {
            name,
            bytes: Vec::new(),
        })
    } else if stdin_filename.is_some() {
        return Err(UsageError(
            "`--stdin-filename` names standard input, which is read only with `-` as the path"
                .into(),
        ));
    } else {
        None
    };
    let modes = [staged, all, range.is_some(), pre_push, pre_receive];
    if modes.iter().filter(|m| **m).count() > 1 {
        return Err(UsageError(
            "choose one of --staged, --all, --range, --pre-push and --pre-receive".into(),
        ));
    }
    if policy_changes.is_some() && !(range.is_some() || pre_push || pre_receive) {
        return Err(UsageError(
            "`--policy-changes` applies to --range, --pre-push and --pre-receive, where the policy comes from the side that receives the change".into(),
        ));
    }
    let selection = match (staged, all) {
        _ if stdin.is_some() => stdin.expect("`-` was given"),
        _ if pre_push => {
            // git passes the remote's name and URL.
            if paths.len() > 2 {
                return Err(UsageError(
                    "`--pre-push` takes at most a remote name and URL".into(),
                ));
            }
            Selection::Push {
                remote: paths.first().map(|p| p.to_string_lossy().into_owned()),
                updates: Vec::new(),
                implied: Vec::new(),
            }
        }
        _ if pre_receive && !paths.is_empty() => {
            return Err(UsageError("`--pre-receive` takes no paths".into()))
        }
        _ if pre_receive => Selection::Receive {
            updates: Vec::new(),
        },
        _ if range.is_some() && !paths.is_empty() => {
            return Err(UsageError("`--range` takes no paths".into()))
        }
        _ if range.is_some() => {
            let spec = range.unwrap_or_default();
            match spec.split_once("..") {
                Some((old, new)) if !new.is_empty() && !new.starts_with('.') => Selection::Range {
                    old: (!old.is_empty()).then(|| old.to_string()),
                    new: new.to_string(),
                },
                _ => {
                    return Err(UsageError(format!(
                        "`--range` takes A..B (two commits), not `{spec}`"
                    )))
                }
            }
        }
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
    Ok(Command::Check(CheckArgs {
        selection,
        config: config_choice(config_file, no_config)?,
        new_only,
        format,
        color,
        quiet,
        exit_zero,
        policy_changes: policy_changes.unwrap_or_default(),
        inline_allows,
        output_file,
    }))
}

fn config_choice(file: Option<PathBuf>, ignore: bool) -> Result<ConfigChoice, UsageError> {
    Ok(match (file, ignore) {
        (Some(_), true) => {
            return Err(UsageError(
                "`--config` and `--no-config` cannot be combined".into(),
            ))
        }
        (Some(path), false) => ConfigChoice::File(path),
        (None, true) => ConfigChoice::Ignore,
        (None, false) => ConfigChoice::Discover,
    })
}

fn parse_install(parser: &mut lexopt::Parser, install: bool) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut hook = Hook::PreCommit;
    let mut existing = Existing::Refuse;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("hook") => {
                let name = parser.value()?.string()?;
                hook = Hook::parse(&name).ok_or_else(|| {
                    UsageError(format!(
                        "unknown hook `{name}` (expected pre-commit, pre-merge-commit or pre-push)"
                    ))
                })?;
            }
            Long("chain") if install => existing = set(existing, Existing::Chain)?,
            Long("force") if install => existing = set(existing, Existing::Force)?,
            Long("help") | Short('h') => return Ok(Command::Help),
            other => return Err(unexpected(other)),
        }
    }
    Ok(if install {
        Command::Install { hook, existing }
    } else {
        Command::Uninstall { hook }
    })
}

fn set(current: Existing, new: Existing) -> Result<Existing, UsageError> {
    if current != Existing::Refuse && current != new {
        return Err(UsageError(
            "`--chain` and `--force` cannot be combined".into(),
        ));
    }
    Ok(new)
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
        assert!(parse_str(&["install", "--chain", "--force"]).is_err());
        assert!(parse_str(&["--range", "main"]).is_err());
        assert!(parse_str(&["--range", "a...b"]).is_err());
        assert!(parse_str(&["--range", "a..b", "--staged"]).is_err());
        let Command::Check(c) = parse_str(&["--range", "main..HEAD"]).unwrap() else {
            panic!()
        };
        assert_eq!(
            c.selection,
            Selection::Range {
                old: Some("main".into()),
                new: "HEAD".into()
            }
        );
        let Command::Check(c) = parse_str(&[
            "--pre-receive",
            "--policy-changes=block",
            "--inline-allows",
            "refuse",
        ])
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            (c.policy_changes, c.inline_allows),
            (PolicyChanges::Block, false)
        );
        assert!(parse_str(&["--staged", "--policy-changes", "block"]).is_err());
        assert!(parse_str(&["--range", "a..b", "--policy-changes", "deny"]).is_err());
        assert!(parse_str(&["--inline-allows", "maybe"]).is_err());
        assert!(parse_str(&["install", "--hook", "post-commit"]).is_err());
        assert!(parse_str(&["uninstall", "--force"]).is_err());
        assert_eq!(
            parse_str(&["install", "--hook", "pre-push", "--chain"]).unwrap(),
            Command::Install {
                hook: Hook::PrePush,
                existing: Existing::Chain
            }
        );
        assert!(parse_str(&["explain", "OTHER-RULE"]).is_err());
        assert_eq!(parse_str(&["explain"]).unwrap(), Command::Explain);
        assert_eq!(parse_str(&["a.py", "--help"]).unwrap(), Command::Help);
    }

    #[test]
    fn typos_get_suggestions() {
        let message = |args: &[&str]| parse_str(args).unwrap_err().to_string();
        assert!(message(&["--stagd"]).ends_with("did you mean `--staged`?"));
        assert!(message(&["--formt", "json"]).contains("did you mean `--format`?"));
        assert!(message(&["--format", "jsn"]).ends_with("did you mean `json`?"));
        assert!(message(&["instal"]).contains("unknown command `instal`; did you mean `install`?"));
        assert!(message(&["explian"]).contains("did you mean `explain`?"));
        assert!(message(&["install", "--chian"]).contains("did you mean `--chain`?"));
        // Far from everything: no suggestion.
        assert!(!message(&["--zzzzzz"]).contains("did you mean"));
    }

    #[test]
    fn stdin_and_output_file() {
        let Command::Check(c) =
            parse_str(&["-", "--stdin-filename", "pkg/a.py", "-o", "out.json"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            c.selection,
            Selection::Stdin {
                name: "pkg/a.py".into(),
                bytes: Vec::new()
            }
        );
        assert_eq!(c.output_file, Some(PathBuf::from("out.json")));
        assert!(parse_str(&["-"]).is_err());
        assert!(parse_str(&["--stdin-filename", "a.py"]).is_err());
        assert!(parse_str(&["-", "b.py", "--stdin-filename", "a.py"]).is_err());
        for (name, format) in FORMATS {
            let Command::Check(c) = parse_str(&["--format", name]).unwrap() else {
                panic!()
            };
            assert_eq!(c.format, *format);
        }
    }
}
