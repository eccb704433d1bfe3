//! Finds and parses the policy: `--config PATH`, else `dill-guard.toml` or `.dill-guard.toml` at
//! the repository root, else `[tool.dill-guard]` in the root `pyproject.toml`. With `--staged`
//! and `--all` the files are read from the index, so the policy that rules is the one being
//! committed; in path mode they are read from disk. Every mistake is an error naming the file,
//! the key and the line: a policy that silently means something else is worse than none.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::git::Repo;
use crate::model::{size_text, Error, Issue};
use crate::policy::{Allow, Date, Policy};
use crate::rule;

/// Where the policy may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChoice {
    /// Look for the usual files at the repository root.
    Discover,
    /// `--config PATH`: exactly this file, from disk.
    File(PathBuf),
    /// `--no-config`.
    Ignore,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    /// Set, it replaces the directories path mode skips by default (as in ruff).
    #[serde(default)]
    exclude: Option<Vec<Spanned<String>>>,
    /// Adds to `exclude`, keeping the default directories skipped.
    #[serde(default)]
    extend_exclude: Vec<Spanned<String>>,
    #[serde(default)]
    new_only: bool,
    #[serde(default)]
    allow: Vec<Spanned<RawAllow>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawAllow {
    paths: Spanned<Vec<Spanned<String>>>,
    reason: Spanned<String>,
    #[serde(default)]
    apis: Vec<Spanned<String>>,
    expires: Option<Spanned<toml::Value>>,
    unless_reachable: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
struct Pyproject {
    tool: Option<PyprojectTool>,
}

#[derive(Debug, Deserialize)]
struct PyprojectTool {
    #[serde(rename = "dill-guard")]
    dill_guard: Option<RawConfig>,
}

const NAMES: [&str; 2] = ["dill-guard.toml", ".dill-guard.toml"];

/// The largest policy file read (the largest real ones are a few kilobytes; a hundred thousand
/// allow entries fit).
const MAX_POLICY_BYTES: usize = 16 << 20;

/// Where the policy files are read from.
pub enum PolicyFrom<'r> {
    /// The index: `--staged` and `--all` judge the policy being committed.
    Index(&'r Repo),
    /// A directory on disk (path mode).
    Disk(PathBuf),
    /// A tree of the history (`None`: there is no policy to read, as on an empty server).
    Tree(&'r Repo, Option<gix::ObjectId>),
}

impl PolicyFrom<'_> {
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        match self {
            PolicyFrom::Index(repo) => repo.index_blob(name),
            PolicyFrom::Disk(dir) => read_policy_file(dir, name),
            PolicyFrom::Tree(repo, Some(tree)) => repo.blob_in_tree(*tree, name),
            PolicyFrom::Tree(_, None) => Ok(None),
        }
    }

    /// The policy file that rules here, with its content: the first of `dill-guard.toml`,
    /// `.dill-guard.toml` and `pyproject.toml` that exists.
    fn find(&self) -> Result<Option<(&'static str, Vec<u8>)>, Error> {
        for name in NAMES.into_iter().chain(["pyproject.toml"]) {
            // A blob too large to read at all is a policy too large to be one.
            let read = self.read(name).map_err(|err| match err {
                Error::TooLarge { size, .. } => config_error(name, too_large(size)),
                err => err,
            });
            if let Some(text) = read? {
                return Ok(Some((name, text)));
            }
        }
        Ok(None)
    }

    /// What the policy here amounts to, to tell whether two places hold the same one: the file
    /// that rules and its text (for `pyproject.toml`, only its `[tool.dill-guard]` table, so a
    /// version bump is no change of policy).
    ///
    /// A file that cannot be read as a policy at all is told by why, so that two copies of it
    /// count as the same (and a push that leaves it alone as no change of policy).
    pub fn fingerprint(&self) -> Result<Option<(&'static str, String)>, Error> {
        let (name, bytes) = match self.find() {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(Error::Config { file, message }) => {
                let name = NAMES
                    .into_iter()
                    .chain(["pyproject.toml"])
                    .find(|n| *n == file)
                    .unwrap_or("pyproject.toml");
                return Ok(Some((name, format!("\0{message}"))));
            }
            Err(err) => return Err(err),
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        // A large file is compared as it is, never parsed: it may come from a stranger's push.
        if name != "pyproject.toml" || bytes.len() > 1 << 20 {
            return Ok(Some((name, text)));
        }
        let table = toml::from_str::<toml::Table>(&text)
            .ok()
            .map(|doc| {
                doc.get("tool")
                    .and_then(|t| t.get("dill-guard"))
                    .map(|t| format!("{t:?}"))
            })
            .unwrap_or(Some(text));
        Ok(table.map(|t| (name, t)))
    }
}

/// At most this many directories are searched for configuration files below the root.
const MAX_NESTED_SEARCH: usize = 10_000;

/// Configuration files below the root, in the directories holding the checked files (or above
/// them): dill-guard reads one policy, at the root, so each is reported rather than ignored
/// silently. A `pyproject.toml` counts when it has a `[tool.dill-guard]` table.
pub fn nested_configs(from: &PolicyFrom, checked: &[String]) -> Result<Vec<Issue>, Error> {
    let mut dirs = std::collections::BTreeSet::new();
    for path in checked {
        let mut at = path.as_str();
        while let Some((parent, _)) = at.rsplit_once('/') {
            if parent.is_empty() || !dirs.insert(parent) {
                break;
            }
            at = parent;
        }
    }
    let mut found = Vec::new();
    for dir in dirs.into_iter().take(MAX_NESTED_SEARCH) {
        for name in NAMES.into_iter().chain(["pyproject.toml"]) {
            let path = format!("{dir}/{name}");
            let Some(bytes) = from.read(&path)? else {
                continue;
            };
            if name == "pyproject.toml" && !declares_table(&bytes) {
                continue;
            }
            found.push(Issue::new(
                path,
                "is dill-guard configuration below the repository root, which dill-guard does not read: it reads one policy, the root's dill-guard.toml, .dill-guard.toml or pyproject.toml (or --config PATH). Move these settings there, with paths from the root",
            ));
        }
    }
    Ok(found)
}

/// Whether a `pyproject.toml` has a `[tool.dill-guard]` table (or `tool.dill-guard` keys).
fn declares_table(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, b"dill-guard").is_some()
        && toml::from_str::<toml::Table>(&String::from_utf8_lossy(bytes))
            .ok()
            .is_some_and(|doc| doc.get("tool").and_then(|t| t.get("dill-guard")).is_some())
}

/// Loads the policy for a run; an empty policy when there is no configuration.
pub fn load(
    choice: &ConfigChoice,
    from: &PolicyFrom,
    cwd: &Path,
    today: Date,
) -> Result<Policy, Error> {
    match choice {
        ConfigChoice::Ignore => Ok(Policy::default()),
        ConfigChoice::File(path) => {
            let full = cwd.join(path);
            let text = std::fs::read(&full).map_err(|source| Error::Io {
                path: full.clone(),
                source,
            })?;
            let shown = path.to_string_lossy().into_owned();
            let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
            parse(&shown, &text, is_pyproject, today).map(|p| p.unwrap_or_default())
        }
        ConfigChoice::Discover => match from.find()? {
            Some((name, text)) if text.len() > MAX_POLICY_BYTES => {
                Err(config_error(name, too_large(text.len() as u64)))
            }
            Some((name, text)) => {
                parse(name, &text, name == "pyproject.toml", today).map(|p| p.unwrap_or_default())
            }
            None => Ok(Policy::default()),
        },
    }
}

/// Reads a policy file from disk, if there is one, the way a file committed by someone else
/// must be read: never through a link out of `dir`, never anything but a regular file (a FIFO
/// would hang the check, a device never end), never more than [`MAX_POLICY_BYTES`].
fn read_policy_file(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, Error> {
    use std::io::Read;
    let path = dir.join(name);
    let refuse = |why: &str| Error::Config {
        file: name.to_string(),
        message: why.to_string(),
    };
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        // A zipapp's members are checked as `app.pyz/pkg/mod.py`: `app.pyz` is no directory.
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None)
        }
        Err(source) => return Err(Error::Io { path, source }),
    };
    if meta.file_type().is_symlink() {
        let inside = std::fs::canonicalize(&path)
            .ok()
            .zip(std::fs::canonicalize(dir).ok())
            .is_some_and(|(real, dir)| real.starts_with(dir));
        if !inside {
            return Err(refuse(
                "is a symbolic link that leads out of the repository (or nowhere); a policy is never read through one",
            ));
        }
    }
    // Asked before opening: opening a FIFO waits for a writer.
    let meta = std::fs::metadata(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    if !meta.is_file() {
        return Err(refuse(
            "is not a regular file (a FIFO, socket or device); not read",
        ));
    }
    let file = std::fs::File::open(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_POLICY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Io { path, source })?;
    Ok(Some(bytes))
}

/// A parser's message about a file someone else wrote, fit to print: the few lines it quotes,
/// each cut short, with control characters escaped (a secret, a terminal escape or a whole
/// binary file must not reach the output through an error).
fn excerpt(message: &str) -> String {
    message
        .lines()
        .take(8)
        .map(|line| {
            let mut out = String::new();
            for c in line.chars().take(160) {
                if c.is_control() {
                    out.extend(c.escape_default());
                } else {
                    out.push(c);
                }
            }
            if line.chars().count() > 160 {
                out.push('…');
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn too_large(size: u64) -> String {
    format!(
        "is {}, more than the {} a policy may be",
        size_text(size),
        size_text(MAX_POLICY_BYTES as u64)
    )
}

fn config_error(file: &str, message: impl Into<String>) -> Error {
    Error::Config {
        file: file.to_string(),
        message: message.into(),
    }
}

/// Parses a configuration file; `Ok(None)` for a pyproject.toml without `[tool.dill-guard]`.
pub fn parse(
    file: &str,
    bytes: &[u8],
    pyproject: bool,
    today: Date,
) -> Result<Option<Policy>, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| config_error(file, "is not valid UTF-8"))?;
    let raw = if pyproject {
        let doc: Pyproject =
            toml::from_str(text).map_err(|err| config_error(file, excerpt(&err.to_string())))?;
        match doc.tool.and_then(|t| t.dill_guard) {
            Some(raw) => raw,
            None => return Ok(None),
        }
    } else {
        toml::from_str::<RawConfig>(text)
            .map_err(|err| config_error(file, excerpt(&err.to_string())))?
    };
    let prefix = if pyproject { "tool.dill-guard." } else { "" };
    // Line numbers from byte offsets by binary search: a policy may hold many entries.
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
        .collect();
    let line = |span: std::ops::Range<usize>| line_starts.partition_point(|&s| s <= span.start);
    let bad = |key: &str, span: std::ops::Range<usize>, why: String| {
        config_error(file, format!("line {}: `{prefix}{key}`: {why}", line(span)))
    };
    let mut warnings = Vec::new();
    let mut warn_if_wholesale = |key: &str, pattern: &Spanned<String>, glob: &globset::Glob| {
        if let Some(why) = disables_wholesale(key, glob) {
            warnings.push(Issue::new(
                file,
                format!(
                    "line {}: `{prefix}{key}` = \"{}\" {why}",
                    line(pattern.span()),
                    pattern.get_ref()
                ),
            ));
        }
    };

    let mut exclude = globset::GlobSetBuilder::new();
    let mut exclude_patterns = Vec::new();
    let patterns = raw
        .exclude
        .iter()
        .flatten()
        .map(|p| ("exclude", p))
        .chain(raw.extend_exclude.iter().map(|p| ("extend-exclude", p)));
    for (key, pattern) in patterns {
        let glob = glob(pattern).map_err(|why| bad(key, pattern.span(), why))?;
        warn_if_wholesale(key, pattern, &glob);
        exclude_patterns.push(pattern.get_ref().clone());
        exclude.add(glob);
    }
    let exclude = exclude
        .build()
        .map_err(|err| config_error(file, format!("`{prefix}exclude`: {err}")))?;

    let mut allows = Vec::new();
    // Every entry's globs in one set, each pattern pointing back at its entry.
    let mut allow_globs = globset::GlobSetBuilder::new();
    let mut owners = Vec::new();
    for (n, entry) in raw.allow.iter().enumerate() {
        let key = |field: &str| format!("allow[{n}].{field}");
        let entry_line = line(entry.span());
        let entry = entry.get_ref();
        if entry.paths.get_ref().is_empty() {
            return Err(bad(
                &key("paths"),
                entry.paths.span(),
                "needs at least one glob".into(),
            ));
        }
        for pattern in entry.paths.get_ref() {
            let glob = glob(pattern).map_err(|why| bad(&key("paths"), pattern.span(), why))?;
            warn_if_wholesale(&key("paths"), pattern, &glob);
            allow_globs.add(glob);
            owners.push(n);
        }
        let reason = entry.reason.get_ref().trim();
        if !reason.chars().any(|c| c.is_alphanumeric()) {
            return Err(bad(
                &key("reason"),
                entry.reason.span(),
                "must say why this use is safe".into(),
            ));
        }
        let mut apis = Vec::new();
        for api in &entry.apis {
            if rule::SINKS.iter().all(|s| s.api != api.get_ref()) {
                let known: Vec<&str> = rule::SINKS.iter().map(|s| s.api).collect();
                return Err(bad(
                    &key("apis"),
                    api.span(),
                    format!(
                        "unknown API `{}` (known: {})",
                        api.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
            apis.push(api.get_ref().clone());
        }
        let expires = match &entry.expires {
            None => None,
            Some(value) => {
                let text = match value.get_ref() {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Datetime(d) => d.to_string(),
                    other => format!("{other:?}"),
                };
                Some(Date::parse(&text).ok_or_else(|| {
                    bad(
                        &key("expires"),
                        value.span(),
                        format!("`{text}` is not a date of the form YYYY-MM-DD"),
                    )
                })?)
            }
        };
        let unless_reachable = match &entry.unless_reachable {
            None => None,
            Some(value) => Some(
                crate::policy::unless_reachable(value.get_ref())
                    .map_err(|why| bad(&key("unless-reachable"), value.span(), why))?,
            ),
        };
        allows.push(Allow {
            unless_reachable,
            file: file.to_string(),
            line: entry_line,
            patterns: entry
                .paths
                .get_ref()
                .iter()
                .map(|p| p.get_ref().clone())
                .collect(),
            reason: reason.to_string(),
            apis,
            expired: expires.is_some_and(|d| d < today),
            expires,
        });
    }
    let allow_globs = allow_globs
        .build()
        .map_err(|err| config_error(file, format!("`{prefix}allow`: {err}")))?;
    Ok(Some(Policy {
        skip_default_dirs: raw.exclude.is_none(),
        exclude,
        allows,
        allow_globs,
        owners,
        new_only: raw.new_only,
        warnings,
        exclude_patterns,
        inline_allows: true,
    }))
}

/// Paths no real file has, at several depths: a glob that matches all of them takes in every
/// Python file of any repository.
const PROBES: [&str; 3] = ["zq9.py", "zq9/zq9.py", "zq9/zq9/zq9/zq9.py"];

/// Why a glob switches the check off for a whole repository, or can never match a Python file.
fn disables_wholesale(key: &str, glob: &globset::Glob) -> Option<String> {
    let matcher = glob.compile_matcher();
    if PROBES.iter().all(|p| matcher.is_match(p)) {
        let what = if key == "exclude" {
            "excludes every Python file: nothing is checked at all"
        } else {
            "allows every Python file: no finding can block"
        };
        return Some(format!(
            "{what}; name the directories it is meant for instead"
        ));
    }
    let text = glob.glob();
    if text.ends_with('/') {
        return Some(format!(
            "ends with `/` and so matches no file; write `{text}**` for everything below it"
        ));
    }
    let last = text.rsplit('/').next().unwrap_or(text);
    let extension = last.rsplit_once('.').map(|(_, e)| e);
    // Whatever the classification reads (`.pyc`, `.whl`, `tool.sh`...) can be excluded.
    let pythonish = |e: &str| {
        e.contains(['*', '?', '[', '{'])
            || crate::python::class_by_name(&format!("x.{e}")).is_some()
            || crate::python::read_for_launcher(&format!("x.{e}"), false)
    };
    if extension.is_some_and(|e| !pythonish(e)) {
        return Some("can match no Python file, so it does nothing".to_string());
    }
    None
}

/// Globs are relative to the repository root with `/` separators; `*` stays inside one
/// directory, `**` crosses directories.
fn glob(pattern: &Spanned<String>) -> Result<globset::Glob, String> {
    let text = pattern.get_ref();
    let text = text.strip_prefix("./").unwrap_or(text);
    if text.starts_with('/') {
        return Err(format!("`{text}` must be relative to the repository root"));
    }
    globset::GlobBuilder::new(text)
        .literal_separator(true)
        .build()
        .map_err(|err| format!("bad glob `{text}`: {}", err.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::parse("2026-01-15").unwrap()
    }

    fn error(text: &str) -> String {
        match parse("dill-guard.toml", text.as_bytes(), false, today()) {
            Err(err @ Error::Config { .. }) => err.to_string() + " " + &err.causes().join(" "),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_full_policy() {
        let policy = parse(
            "dill-guard.toml",
            br#"
exclude = ["third_party/**"]
new-only = true

[[allow]]
paths = ["pipelines/internal/**"]
reason = "payloads are HMAC-signed"
apis = ["dill.loads"]
expires = "2027-06-30"

[[allow]]
paths = ["old/*.py"]
reason = "retired"
expires = 2025-12-31
"#,
            false,
            today(),
        )
        .unwrap()
        .unwrap();
        assert!(policy.new_only);
        assert!(policy.is_excluded("third_party/x/y.py"));
        assert!(!policy.is_excluded("src/third_party.py"));
        assert_eq!(policy.allows.len(), 2);
        assert_eq!(policy.allows[0].line, 5);
        assert!(!policy.allows[0].expired);
        assert!(policy.allows[1].expired);
    }

    #[test]
    fn errors_name_the_key_and_line() {
        let e = error("[[allow]]\npaths = [\"a/**\"]\n");
        assert!(e.contains("reason"), "{e}");
        let e = error("[[allow]]\npaths = [\"a/**\"]\nreason = \"ok\"\nbogus = 1\n");
        assert!(e.contains("bogus") && e.contains("line 4"), "{e}");
        let e = error("exclude = [\"a/[\"]\n");
        assert!(
            e.contains("line 1") && e.contains("exclude") && e.contains("bad glob"),
            "{e}"
        );
        let e = error("\n[[allow]]\npaths = [\"a\"]\nreason = \"ok\"\nexpires = \"2027-13-01\"\n");
        assert!(
            e.contains("line 5") && e.contains("allow[0].expires"),
            "{e}"
        );
        let e = error("[[allow]]\npaths = [\"a\"]\nreason = \"  \"\n");
        assert!(e.contains("line 3") && e.contains("allow[0].reason"), "{e}");
        let e = error("[[allow]]\npaths = [\"a\"]\nreason = \"ok\"\napis = [\"dill.dumps\"]\n");
        assert!(e.contains("unknown API `dill.dumps`"), "{e}");
        let e = error("\n\n[[allow]]\npaths = []\nreason = \"ok\"\n");
        assert!(
            e.contains("line 4") && e.contains("needs at least one glob"),
            "{e}"
        );
        let e = error("unknown = true\n");
        assert!(e.contains("unknown"), "{e}");
    }

    #[test]
    fn pyproject_section_or_nothing() {
        let none = parse(
            "pyproject.toml",
            b"[project]\nname = \"x\"\n",
            true,
            today(),
        )
        .unwrap();
        assert!(none.is_none());
        let some = parse(
            "pyproject.toml",
            b"[project]\nname = \"x\"\n[tool.dill-guard]\nexclude = [\"vendor/**\"]\n[[tool.dill-guard.allow]]\npaths = [\"a.py\"]\nreason = \"r\"\n",
            true,
            today(),
        )
        .unwrap()
        .unwrap();
        assert!(some.is_excluded("vendor/a.py"));
        let err = parse(
            "pyproject.toml",
            b"[tool.dill-guard]\nexclud = []\n",
            true,
            today(),
        )
        .unwrap_err();
        assert!(err.causes().join(" ").contains("exclud"));
    }
}
