//! The types every stage shares: what a run finds ([`Finding`], [`Allowed`], [`Issue`]), what it
//! returns ([`Report`]) and why it may fail ([`Error`]). This module imports nothing from the
//! rest of the crate, so no stage reaches back up the pipeline for them.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// How a sink is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UseKind {
    /// The sink is called.
    Call,
    /// The sink is handed on without being called (`pool.map(dill.loads, xs)`).
    Reference,
    /// The dill module is handed to a library that calls its loader
    /// (`torch.load(f, pickle_module=dill)`).
    Module,
    /// A call of a library that loads with dill itself (`multiprocess.connection.Client(addr)
    /// .recv()`); `api` is the dill loader it runs, `via` the library call.
    Library,
}

/// How far outside data reaches what a finding deserializes, from the least concerning: the
/// order is the order of concern.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reach {
    /// No outside source was traced to it (which is not proof that none reaches it).
    #[default]
    Unknown,
    /// A file on this machine, or what the process is given by whoever runs it: standard
    /// input, the command line, the environment.
    LocalFile,
    /// Data from elsewhere: a web request, a socket, an HTTP response, a queue or store, a
    /// download, or a file named by one of them.
    Remote,
}

impl Reach {
    /// The name used in JSON, in the configuration and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Unknown => "unknown",
            Reach::LocalFile => "local-file",
            Reach::Remote => "remote",
        }
    }

    pub fn parse(text: &str) -> Option<Reach> {
        [Reach::Unknown, Reach::LocalFile, Reach::Remote]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// One step of the way outside data takes to a finding's sink, source first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowStep {
    /// 1-based; inside the cell for notebooks.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The notebook cell, as for findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<usize>,
    pub what: String,
    /// For a notebook: the line of the `.ipynb` file holding it (SARIF).
    #[serde(skip)]
    pub file_line: Option<usize>,
}

/// Why a run could not judge what it was asked to judge (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}")]
    Git { what: String, detail: String },
    #[error("`{flag}` needs a git repository, and {} is not inside one", cwd.display())]
    NotARepository { flag: &'static str, cwd: PathBuf },
    #[error("{0}")]
    Install(String),
    #[error("invalid configuration in {file}")]
    Config { file: String, message: String },
    #[error("is {}, more than the {} dill-guard reads of one file", size_text(*size), size_text(*limit))]
    TooLarge { size: u64, limit: u64 },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The error and its causes on one line, for a report that names the file it concerns.
    pub fn one_line(&self) -> String {
        std::iter::once(self.to_string())
            .chain(self.causes())
            .collect::<Vec<_>>()
            .join(": ")
    }

    /// The lines that explain the error further, outermost first.
    pub fn causes(&self) -> Vec<String> {
        match self {
            Error::Git { detail, .. } => vec![detail.clone()],
            Error::Config { message, .. } => vec![message.clone()],
            Error::Io { source, .. } | Error::Write { source, .. } => vec![source.to_string()],
            Error::NotARepository { .. } | Error::Install(_) | Error::TooLarge { .. } => Vec::new(),
        }
    }
}

/// A size for people: bytes, KiB, MiB or GiB.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

/// A problem with one file, or a note about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub path: String,
    pub message: String,
}

impl Issue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Issue {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// One use of a sink, located for people and machines.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub path: String,
    /// 1-based; inside the cell for notebooks.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub end_line: usize,
    /// 1-based, in characters, one past the last character.
    pub end_column: usize,
    /// 1-based index of the notebook cell in the notebook's `cells` array.
    pub cell: Option<usize>,
    pub api: &'static str,
    pub kind: UseKind,
    pub severity: &'static str,
    pub degraded: bool,
    pub message: String,
    /// How the use reaches the sink when it is not a plain use of a dill name: the library it
    /// is handed to (`torch.load(pickle_module=)`), the module it is imported from, or the
    /// string of code it is in (`exec`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// How far outside data reaches what the sink deserializes.
    pub reachable: Reach,
    /// The way it gets there, source first, ending at the sink's argument; empty when no
    /// source was traced.
    pub flow: Vec<FlowStep>,
    /// Whether the walk back from the use was not finished (degraded mode, a bound of the
    /// walk, code in a string): `unknown` then rules nothing out.
    #[serde(skip)]
    pub flow_cut: bool,
    /// Fix guidance specific to how the sink is reached, shown before the sink's own.
    #[serde(skip)]
    pub help: Vec<&'static str>,
    /// The source line the finding starts on, for display.
    #[serde(skip)]
    pub source_line: String,
    /// For a notebook: the first and last line of the `.ipynb` file itself holding the code,
    /// for reports that point into the file (SARIF).
    #[serde(skip)]
    pub file_lines: Option<(usize, usize)>,
}

impl Finding {
    /// How far outside data reaches it, as a short suffix for one-line reports: empty when
    /// no source was traced.
    pub fn reach_note(&self) -> String {
        match self.reachable {
            Reach::Unknown => String::new(),
            reach => format!(" (reachable: {})", reach.as_str()),
        }
    }

    /// The flow into the finding on one line: each step and where it is, source first.
    pub fn flow_summary(&self) -> String {
        self.flow
            .iter()
            .map(|step| match step.cell {
                Some(cell) => format!("{} (cell {cell}, {}:{})", step.what, step.line, step.column),
                None => format!("{} ({}:{})", step.what, step.line, step.column),
            })
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// A finding that does not block, with what allowed it.
#[derive(Debug, Clone, Serialize)]
pub struct Allowed {
    #[serde(flatten)]
    pub finding: Finding,
    /// `"inline"` (a comment on the line) or `"config"` (an `[[allow]]` entry).
    pub by: &'static str,
    pub reason: String,
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub allowed: Vec<Allowed>,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// Changes that widen the policy, under `--policy-changes block`: each blocks like a
    /// finding (the path is the policy file, the message names the ref and the entries).
    pub policy_changes: Vec<Issue>,
    pub files_checked: usize,
    pub elapsed: Duration,
    /// How a blocking result is announced: `"commit blocked"` for the index, `"push blocked"`
    /// in push hooks, `"blocked"` for ranges and the working tree.
    pub blocked: &'static str,
    /// Where the current directory is below the root paths are relative to (`/`-separated,
    /// empty at the root): the formats for people show paths from the current directory.
    pub cwd_in_root: String,
    /// Bytes of source handed to the analysis so far in this run.
    pub(crate) analysed: std::sync::atomic::AtomicU64,
}

impl Report {
    /// A root-relative path as seen from the current directory (`../lib/a.py` from `app/`).
    pub fn from_cwd(&self, path: &str) -> String {
        if self.cwd_in_root.is_empty() || path.is_empty() || path.starts_with('/') {
            return path.to_string();
        }
        let mut here: Vec<&str> = self.cwd_in_root.split('/').collect();
        let mut there: Vec<&str> = path.split('/').collect();
        while !here.is_empty() && there.len() > 1 && here[0] == there[0] {
            here.remove(0);
            there.remove(0);
        }
        let mut shown = "../".repeat(here.len());
        shown.push_str(&there.join("/"));
        shown
    }

    /// 0 nothing blocking, 1 a blocking finding, 2 the tool could not judge.
    pub fn exit_code(&self, exit_zero: bool) -> i32 {
        if !self.errors.is_empty() {
            2
        } else if (!self.findings.is_empty() || !self.policy_changes.is_empty()) && !exit_zero {
            1
        } else {
            0
        }
    }
}
