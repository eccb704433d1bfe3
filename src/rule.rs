//! The rule's data, in one place: which qualified names are sinks, how each is reported, and the
//! guidance shown with it. The analysis asks this table; the reports print from it. A second rule
//! would be a second table, not a branch threaded through the pipeline.

/// Identifier of the one rule dill-guard enforces.
pub const RULE_ID: &str = "PYTHON-LANG-SEC-046";
/// Short title of the rule.
pub const RULE_NAME: &str = "dill deserialization";
pub const CWE: &str = "CWE-502";
pub const OWASP: &str = "A08:2021";
pub const SEVERITY: &str = "high";
/// The CVSS-like score code-scanning tools sort by (7.0 and above is "high").
pub const SECURITY_SEVERITY: &str = "8.1";
/// The score for a finding that remote data reaches: code from anyone who can send the bytes.
pub const REMOTE_SECURITY_SEVERITY: &str = "9.8";
/// One paragraph on what the rule finds and why.
pub const SUMMARY: &str = "Finds code that deserializes data with dill (dill.loads, dill.load, \
dill.Unpickler, session and module restores, dill.temp loaders). Loading a dill payload executes \
whatever it carries, including lambdas and closures, so anyone who can write the bytes can run code \
where they are loaded (CWE-502, OWASP A08:2021).";

/// What kind of fix fits a sink; chooses the `help:` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Bytes or a file turned back into objects.
    Data,
    /// A whole interpreter session or module restored from a file.
    Session,
    /// Python source read back from a temporary file and executed.
    Source,
}

/// One dangerous API, by its public name.
#[derive(Debug, PartialEq, Eq)]
pub struct Sink {
    /// The public form reported in the `api` field, e.g. `dill.loads`.
    pub api: &'static str,
    pub family: Family,
    /// What the call does, in one line.
    pub what: &'static str,
}

pub static SINKS: &[Sink] = &[
    Sink {
        api: "dill.loads",
        family: Family::Data,
        what: "rebuilds objects from bytes and runs any code the bytes carry",
    },
    Sink {
        api: "dill.load",
        family: Family::Data,
        what: "rebuilds objects from a file and runs any code the file carries",
    },
    Sink {
        api: "dill.Unpickler",
        family: Family::Data,
        what: "reads dill streams and runs any code they carry",
    },
    Sink {
        api: "dill.load_session",
        family: Family::Session,
        what: "restores a saved interpreter session, executing whatever it holds",
    },
    Sink {
        api: "dill.load_module",
        family: Family::Session,
        what: "restores a saved module, executing whatever it holds",
    },
    Sink {
        api: "dill.load_module_asdict",
        family: Family::Session,
        what: "restores a saved module's namespace, executing whatever it holds",
    },
    Sink {
        api: "dill.temp.load",
        family: Family::Data,
        what: "rebuilds objects from a temporary file and runs any code it carries",
    },
    Sink {
        api: "dill.temp.loadIO",
        family: Family::Data,
        what: "rebuilds objects from a buffer and runs any code it carries",
    },
    Sink {
        api: "dill.temp.load_source",
        family: Family::Source,
        what: "reads Python source back from a file and executes it",
    },
    Sink {
        api: "dill.temp.loadIO_source",
        family: Family::Source,
        what: "reads Python source back from a buffer and executes it",
    },
];

/// A way of handing the dill module to code that calls its loader itself: the module passed
/// as a keyword argument (`torch.load(f, pickle_module=dill)`), positionally to a known API, or
/// assigned to an attribute of that name on another object (`serialize.pickle = dill`).
#[derive(Debug, PartialEq, Eq)]
pub struct Handover {
    /// The keyword (and attribute) name the module is passed as.
    pub keyword: &'static str,
    /// APIs that take it positionally: qualified name and 0-based position.
    pub positional: &'static [(&'static str, usize)],
    /// The sink the receiving code calls, by its public name.
    pub reaches: &'static str,
    /// What the receiving code does with it, in one line.
    pub what: &'static str,
    /// Fix guidance for this hand-over, shown before the sink's own.
    pub help: &'static [&'static str],
    /// Whether passing it as a keyword argument hands it over too (not only setting the
    /// attribute).
    pub keyword_too: bool,
}

pub static HANDOVERS: &[Handover] = &[
    Handover {
        keyword: "pickle_module",
        positional: &[
            ("torch.load", 2),
            ("torch.serialization.load", 2),
        ],
        reaches: "dill.Unpickler",
        what: "unpickles the file with the module's `Unpickler`",
        help: &[
            "load checkpoints with `torch.load(path, weights_only=True)` (the default since torch 2.6), which refuses code",
            "or store weights as safetensors (`safetensors.torch.load_file`)",
        ],
        keyword_too: true,
    },
    Handover {
        keyword: "pickler",
        positional: &[
            ("sqlalchemy.PickleType", 1),
            ("sqlalchemy.types.PickleType", 1),
            ("sqlalchemy.sql.sqltypes.PickleType", 1),
        ],
        reaches: "dill.loads",
        what: "calls the module's `loads` on every value it reads back",
        help: &[
            "store the column as JSON (`sqlalchemy.JSON`) or another type that holds data, not objects",
        ],
        keyword_too: true,
    },
    Handover {
        keyword: "serializer",
        positional: &[],
        reaches: "dill.loads",
        what: "calls the module's `loads` on what it receives",
        help: &["give it a serializer for data (json, msgpack) instead of dill"],
        keyword_too: true,
    },
    Handover {
        keyword: "unpickler",
        positional: &[],
        reaches: "dill.Unpickler",
        what: "reads its input with the module it is given",
        help: &["give it a reader for data (json, msgpack) instead of dill"],
        keyword_too: true,
    },
    // A module whose global `pickle` is replaced by dill calls `dill.loads` wherever its code
    // says `pickle.loads` (`serialize.pickle = dill`).
    Handover {
        keyword: "pickle",
        positional: &[],
        reaches: "dill.loads",
        what: "makes that module's `pickle.loads` and `pickle.load` calls dill's",
        help: &["do not swap dill in for another module's pickle: its loads then run code"],
        keyword_too: false,
    },
    Handover {
        keyword: "cPickle",
        positional: &[],
        reaches: "dill.loads",
        what: "makes that module's `cPickle.loads` and `cPickle.load` calls dill's",
        help: &["do not swap dill in for another module's pickle: its loads then run code"],
        keyword_too: false,
    },
];

/// Libraries that load with dill themselves: their calls are findings of their own, reported
/// with the dill loader behind them (`kind: "library"`). Each is named by a *path*: the
/// qualified name of what is called, `()` for the value a call of it gives, then the attributes
/// read and called on that value (`multiprocess.connection.Listener().accept().recv()` is the
/// `recv()` of a connection a listener accepted). A path ending where a finding's call ends is
/// the finding: the call that loads.
#[derive(Debug, PartialEq, Eq)]
pub struct Library {
    /// The call that loads, as a path (see above), in the library's own module names.
    pub path: &'static str,
    /// The call as people write it, for messages: `multiprocess.connection.Client(...).recv()`.
    pub shown: &'static str,
    /// The dill loader it runs, by its public name.
    pub reaches: &'static str,
    /// What it loads and from where, in one line.
    pub what: &'static str,
    /// How far outside what it loads is.
    pub reach: crate::model::Reach,
    /// Where the loaded data comes from, as the flow's first step (empty: not traced).
    pub source: &'static str,
    /// Fix guidance, shown before the dill loader's own.
    pub help: &'static [&'static str],
}

/// When calling a library's class or function gives a value that loads with dill (only such
/// calls make the values of [`LIBRARIES`]' paths; any other call of the library gives nothing
/// the analysis follows, so `multiprocess.Pipe()` and `Queue()` never load here). Each names
/// an argument by position (if it has one) and keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// Unless the argument is the constant `False` (or `0`): klepto's `serialized`.
    UnlessFalse(Option<usize>, &'static str),
    /// Unless the argument is the constant `True`: klepto's `fast`, which reads with the
    /// standard library's pickle instead (another rule's concern, not dill).
    UnlessTrue(Option<usize>, &'static str),
    /// Unless the argument is a constant string: klepto's `protocol="json"` (any string
    /// protocol means JSON).
    UnlessString(Option<usize>, &'static str),
    /// Unless the argument is this constant string: a manager's `serializer="xmlrpclib"`.
    UnlessEqual(Option<usize>, &'static str, &'static str),
    /// Only when the argument is given and is not `None` nor an empty literal: ppft's
    /// `ppservers`, a manager's `address`, a SQL archive's database.
    IfGiven(Option<usize>, &'static str),
}

/// A manager at an address, pickling with dill (`serializer="xmlrpclib"` does not).
const MANAGER: &[Made] = &[
    Made::IfGiven(Some(0), "address"),
    Made::UnlessEqual(Some(2), "serializer", "xmlrpclib"),
];
/// A klepto archive stored with dill (`klepto.archives` takes its options by keyword).
const ARCHIVE: &[Made] = &[
    Made::UnlessFalse(None, "serialized"),
    Made::UnlessString(None, "protocol"),
];
const DIR_ARCHIVE: &[Made] = &[
    Made::UnlessFalse(None, "serialized"),
    Made::UnlessString(None, "protocol"),
    Made::UnlessTrue(None, "fast"),
];
const SQL_ARCHIVE: &[Made] = &[
    Made::UnlessFalse(None, "serialized"),
    Made::UnlessString(None, "protocol"),
    Made::IfGiven(Some(0), "name"),
];
const RAW_ARCHIVE: &[Made] = &[
    Made::UnlessFalse(Some(1), "serialized"),
    Made::UnlessString(None, "protocol"),
];
const RAW_DIR_ARCHIVE: &[Made] = &[
    Made::UnlessFalse(Some(1), "serialized"),
    Made::UnlessString(None, "protocol"),
    Made::UnlessTrue(None, "fast"),
];
const RAW_SQL_ARCHIVE: &[Made] = &[
    Made::UnlessFalse(None, "serialized"),
    Made::UnlessString(None, "protocol"),
    Made::IfGiven(Some(0), "database"),
];

/// The calls that make a value of [`LIBRARIES`], in the library's own module names: the
/// qualified name called and the conditions, all of which must hold (a SQL archive without a
/// database is in memory: it loads only what the program itself stored). HDF archives read
/// their keys back with dill whatever `serialized` says.
pub static LIBRARY_MAKERS: &[(&str, &[Made])] = &[
    ("multiprocess.connection.Client", &[]),
    ("multiprocess.connection.Listener", &[]),
    ("multiprocess.connection.SocketClient", &[]),
    ("multiprocess.connection.SocketListener", &[]),
    ("multiprocess.managers.BaseManager", MANAGER),
    ("multiprocess.managers.SyncManager", MANAGER),
    ("multiprocess.managers.SharedMemoryManager", MANAGER),
    (
        "multiprocess.managers.Server",
        &[Made::UnlessEqual(Some(3), "serializer", "xmlrpclib")],
    ),
    ("klepto.archives.file_archive", ARCHIVE),
    ("klepto.archives.dir_archive", DIR_ARCHIVE),
    ("klepto.archives.sql_archive", SQL_ARCHIVE),
    ("klepto.archives.sqltable_archive", SQL_ARCHIVE),
    ("klepto.archives.hdf_archive", &[]),
    ("klepto.archives.hdfdir_archive", &[]),
    ("klepto._archives.file_archive", RAW_ARCHIVE),
    ("klepto._archives.dir_archive", RAW_DIR_ARCHIVE),
    ("klepto._archives.sql_archive", RAW_SQL_ARCHIVE),
    ("klepto._archives.sqltable_archive", RAW_SQL_ARCHIVE),
    ("klepto._archives.hdf_archive", &[]),
    ("klepto._archives.hdfdir_archive", &[]),
    ("ppft.Server", &[Made::IfGiven(Some(1), "ppservers")]),
    (
        "pathos.parallel.ParallelPool",
        &[Made::IfGiven(None, "servers")],
    ),
    ("pathos.pp_map.pp_map", &[Made::IfGiven(None, "servers")]),
    ("pathos.pp_map.ppmap", &[]),
];

/// Other names under which the libraries' modules and classes are importable, and the name
/// the tables use: longest first wins.
pub static LIBRARY_ALIASES: &[(&str, &str)] = &[
    ("pathos.helpers.mp", "multiprocess"),
    ("pathos.helpers.parallelpython", "ppft"),
    ("pathos.parallel.pp", "ppft"),
    ("pathos.helpers.pp_helper.Server", "ppft.Server"),
    ("pathos.pools.ParallelPool", "pathos.parallel.ParallelPool"),
    ("pathos.pp.ParallelPool", "pathos.parallel.ParallelPool"),
    (
        "pathos.pp.ParallelPythonPool",
        "pathos.parallel.ParallelPool",
    ),
    (
        "pathos.parallel.ParallelPythonPool",
        "pathos.parallel.ParallelPool",
    ),
    ("ppft._pp.Server", "ppft.Server"),
    ("pp", "ppft"),
    ("multiprocess.context.reduction", "multiprocess.reduction"),
];

/// Names in the libraries that are dill itself: multiprocess pickles with dill, and its
/// `ForkingPickler.loads` is `dill.loads`; ppft's `pickle` is dill.
const DILL_IN_LIBRARIES: &[(&str, &str)] = &[
    ("multiprocess.reduction.pickle", "dill"),
    ("multiprocess.reduction.ForkingPickler.loads", "dill.loads"),
    (
        "multiprocess.connection._ForkingPickler.loads",
        "dill.loads",
    ),
    ("multiprocess.queues._ForkingPickler.loads", "dill.loads"),
    ("ppft._pp.pickle", "dill"),
];

const CONNECTION_HELP: &[&str] = &[
    "exchange plain data over the connection (`send_bytes`/`recv_bytes` with JSON), never objects",
    "multiprocess authenticates a peer with `authkey` but still loads what an authenticated peer sends: keep the key secret and the address off untrusted networks",
];
const ARCHIVE_HELP: &[&str] = &[
    "keep the archive where only this program can write it, or store data with `serialized=False`",
];
const SERVERS_HELP: &[&str] = &[
    "run remote workers only on machines and networks you trust: results (and jobs, on the server side) are dill payloads",
    "set a secret of your own on both ends (`ppft.Server(..., secret=...)`, `ppserver -s`): without one ppft uses a default every copy shares, and pathos's `ParallelPool` takes none",
];

macro_rules! libraries {
    ($($reach:ident $path:literal $shown:literal $reaches:literal $help:ident $what:literal $source:literal;)+) => {
        &[$(Library {
            path: $path,
            shown: $shown,
            reaches: $reaches,
            what: $what,
            reach: crate::model::Reach::$reach,
            source: $source,
            help: $help,
        },)+]
    };
}

/// See [`Library`].
pub static LIBRARIES: &[Library] = libraries![
    Remote "multiprocess.connection.Client().recv()" "multiprocess.connection.Client(...).recv()"
        "dill.loads" CONNECTION_HELP
        "loads what the process at the other end of the connection sends with `dill.loads`"
        "a connection to another process at an address (multiprocess)";
    Remote "multiprocess.connection.Listener().accept().recv()"
        "multiprocess.connection.Listener(...).accept().recv()" "dill.loads" CONNECTION_HELP
        "loads what the process that connected sends with `dill.loads`"
        "a connection accepted from another process (multiprocess)";
    Remote "multiprocess.connection.SocketClient().recv()"
        "multiprocess.connection.SocketClient(...).recv()" "dill.loads" CONNECTION_HELP
        "loads what the process at the other end of the connection sends with `dill.loads`"
        "a connection to another process at an address (multiprocess)";
    Remote "multiprocess.connection.SocketListener().accept().recv()"
        "multiprocess.connection.SocketListener(...).accept().recv()" "dill.loads" CONNECTION_HELP
        "loads what the process that connected sends with `dill.loads`"
        "a connection accepted from another process (multiprocess)";
    Remote "multiprocess.managers.SharedMemoryManager().connect()"
        "multiprocess.managers.SharedMemoryManager(address=...).connect()" "dill.loads"
        CONNECTION_HELP
        "connects to a manager at an address and loads each of its replies with `dill.loads`"
        "a manager's replies over a connection (multiprocess)";
    Remote "multiprocess.managers.SharedMemoryManager().get_server()"
        "multiprocess.managers.SharedMemoryManager(address=...).get_server()" "dill.loads"
        CONNECTION_HELP
        "serves at an address and loads every request a client sends with `dill.loads`"
        "requests from clients of a manager (multiprocess)";
    Remote "multiprocess.managers.SharedMemoryManager().start()"
        "multiprocess.managers.SharedMemoryManager(address=...).start()" "dill.loads"
        CONNECTION_HELP
        "starts a server at an address that loads every request a client sends with `dill.loads`"
        "requests from clients of a manager (multiprocess)";
    Remote "multiprocess.managers.BaseManager().__enter__()"
        "with multiprocess.managers.BaseManager(address=...)" "dill.loads" CONNECTION_HELP
        "starts a server at an address (as `start()` does) that loads every request a client sends with `dill.loads`"
        "requests from clients of a manager (multiprocess)";
    Remote "multiprocess.managers.SyncManager().__enter__()"
        "with multiprocess.managers.SyncManager(address=...)" "dill.loads" CONNECTION_HELP
        "starts a server at an address (as `start()` does) that loads every request a client sends with `dill.loads`"
        "requests from clients of a manager (multiprocess)";
    Remote "multiprocess.managers.SharedMemoryManager().__enter__()"
        "with multiprocess.managers.SharedMemoryManager(address=...)" "dill.loads" CONNECTION_HELP
        "starts a server at an address (as `start()` does) that loads every request a client sends with `dill.loads`"
        "requests from clients of a manager (multiprocess)";
    Remote "multiprocess.managers.Server().serve_forever()"
        "multiprocess.managers.Server(...).serve_forever()" "dill.loads" CONNECTION_HELP
        "serves a manager's objects at an address and loads every request a client sends with `dill.loads`"
        "requests from clients of a manager (multiprocess)";
    Remote "multiprocess.managers.BaseManager().connect()"
        "multiprocess.managers.BaseManager(address=...).connect()" "dill.loads" CONNECTION_HELP
        "connects to a manager at an address and loads each of its replies with `dill.loads`"
        "a manager's replies over a connection (multiprocess)";
    Remote "multiprocess.managers.SyncManager().connect()"
        "multiprocess.managers.SyncManager(address=...).connect()" "dill.loads" CONNECTION_HELP
        "connects to a manager at an address and loads each of its replies with `dill.loads`"
        "a manager's replies over a connection (multiprocess)";
    Remote "multiprocess.managers.BaseManager().get_server()"
        "multiprocess.managers.BaseManager(address=...).get_server()" "dill.loads" CONNECTION_HELP
        "serves at an address and loads every request a client sends with `dill.loads`"
        "requests from clients of a manager (multiprocess)";
    Remote "multiprocess.managers.SyncManager().get_server()"
        "multiprocess.managers.SyncManager(address=...).get_server()" "dill.loads" CONNECTION_HELP
        "serves at an address and loads every request a client sends with `dill.loads`"
        "requests from clients of a manager (multiprocess)";
    Remote "multiprocess.managers.BaseManager().start()"
        "multiprocess.managers.BaseManager(address=...).start()" "dill.loads" CONNECTION_HELP
        "starts a server at an address that loads every request a client sends with `dill.loads`"
        "requests from clients of a manager (multiprocess)";
    Remote "multiprocess.managers.SyncManager().start()"
        "multiprocess.managers.SyncManager(address=...).start()" "dill.loads" CONNECTION_HELP
        "starts a server at an address that loads every request a client sends with `dill.loads`"
        "requests from clients of a manager (multiprocess)";
    LocalFile "klepto.archives.file_archive()" "klepto.archives.file_archive(...)" "dill.load"
        ARCHIVE_HELP "reads the whole archive file back with `dill.load` whenever it is loaded or read"
        "the archive's file (klepto)";
    LocalFile "klepto.archives.dir_archive()" "klepto.archives.dir_archive(...)" "dill.load"
        ARCHIVE_HELP "reads each entry's file back with `dill.load` when it is loaded or read"
        "the archive's directory (klepto)";
    Unknown "klepto.archives.sql_archive()" "klepto.archives.sql_archive(...)" "dill.loads"
        ARCHIVE_HELP "reads each entry from the database with `dill.loads` when it is loaded or read"
        "";
    Unknown "klepto.archives.sqltable_archive()" "klepto.archives.sqltable_archive(...)"
        "dill.loads" ARCHIVE_HELP
        "reads each entry from the database with `dill.loads` when it is loaded or read" "";
    LocalFile "klepto.archives.hdf_archive()" "klepto.archives.hdf_archive(...)" "dill.loads"
        ARCHIVE_HELP "reads each entry back with `dill.loads` when it is loaded or read"
        "the archive's file (klepto)";
    LocalFile "klepto.archives.hdfdir_archive()" "klepto.archives.hdfdir_archive(...)" "dill.loads"
        ARCHIVE_HELP "reads each entry back with `dill.loads` when it is loaded or read"
        "the archive's directory (klepto)";
    LocalFile "klepto._archives.file_archive()" "klepto._archives.file_archive(...)" "dill.load"
        ARCHIVE_HELP "reads the whole archive file back with `dill.load` whenever it is read"
        "the archive's file (klepto)";
    LocalFile "klepto._archives.dir_archive()" "klepto._archives.dir_archive(...)" "dill.load"
        ARCHIVE_HELP "reads each entry's file back with `dill.load` when it is read"
        "the archive's directory (klepto)";
    Unknown "klepto._archives.sql_archive()" "klepto._archives.sql_archive(...)" "dill.loads"
        ARCHIVE_HELP "reads each entry from the database with `dill.loads` when it is read" "";
    Unknown "klepto._archives.sqltable_archive()" "klepto._archives.sqltable_archive(...)"
        "dill.loads" ARCHIVE_HELP
        "reads each entry from the database with `dill.loads` when it is read" "";
    LocalFile "klepto._archives.hdf_archive()" "klepto._archives.hdf_archive(...)" "dill.loads"
        ARCHIVE_HELP "reads each entry back with `dill.loads` when it is read"
        "the archive's file (klepto)";
    LocalFile "klepto._archives.hdfdir_archive()" "klepto._archives.hdfdir_archive(...)"
        "dill.loads" ARCHIVE_HELP "reads each entry back with `dill.loads` when it is read"
        "the archive's directory (klepto)";
    Remote "pathos.pp_map.pp_map()" "pathos.pp_map.pp_map(..., servers=...)" "dill.loads"
        SERVERS_HELP
        "ships jobs to the remote servers it is given (through ppft) and loads each result with `dill.loads`"
        "results sent by remote ppft servers (pathos)";
    Remote "pathos.pp_map.ppmap()" "pathos.pp_map.ppmap(...)" "dill.loads" SERVERS_HELP
        "ships jobs to every ppft server that answers its broadcast on the network and loads each result with `dill.loads`"
        "results sent by ppft servers found on the network (pathos)";
    Remote "ppft.Server()" "ppft.Server(ppservers=...)" "dill.loads" SERVERS_HELP
        "ships jobs to the remote servers it is given and loads each result they send back with `dill.loads`"
        "results sent by remote ppft servers";
    Remote "pathos.parallel.ParallelPool()" "pathos.pools.ParallelPool(servers=...)" "dill.loads"
        SERVERS_HELP
        "ships jobs to the remote servers it is given (through ppft) and loads each result with `dill.loads`"
        "results sent by remote ppft servers (pathos)";
];

/// The top-level modules of the libraries of [`LIBRARIES`], as they are imported (`pp` is
/// ppft's other name).
pub const LIBRARY_MODULES: &[&str] = &["multiprocess", "klepto", "ppft", "pathos", "pp"];

/// For each library, the words code that makes one of its loading values spells: any one of
/// the groups, with every word of the group (the names of its makers, or a part all of them
/// share; `ForkingPickler` and `reduction` are dill's own loaders there; pathos reaches
/// multiprocess's makers through `helpers`).
pub const LIBRARY_MAKER_WORDS: &[(&str, &[&[&str]])] = &[
    (
        "multiprocess",
        &[
            &["Client"],
            &["Listener"],
            &["Manager"],
            &["Server"],
            &["ForkingPickler"],
            &["reduction"],
        ],
    ),
    ("klepto", &[&["_archive"]]),
    ("ppft", &[&["Server"], &["pickle"]]),
    ("pp", &[&["Server"], &["pickle"]]),
    (
        "pathos",
        &[
            &["ParallelP"],
            &["pp_map"],
            &["ppmap"],
            &["pp_helper"],
            &["parallelpython"],
            &["helpers", "Client"],
            &["helpers", "Listener"],
            &["helpers", "Manager"],
            &["helpers", "ForkingPickler"],
            &["helpers", "reduction"],
        ],
    ),
];

/// A name of a library of [`LIBRARIES`] in the tables' own spelling (see
/// [`LIBRARY_ALIASES`]); `None` for names outside those libraries, cheaply.
pub fn library_name(qualified: &str) -> Option<std::borrow::Cow<'_, str>> {
    // Every library's name starts with one of these letters: most names are settled here.
    if !matches!(qualified.as_bytes().first(), Some(b'm' | b'k' | b'p')) {
        return None;
    }
    let root = qualified.split(['.', '(']).next().unwrap_or(qualified);
    if !LIBRARY_MODULES.contains(&root) {
        return None;
    }
    let alias = LIBRARY_ALIASES
        .iter()
        .filter(|(from, _)| {
            qualified.starts_with(from)
                && matches!(
                    qualified.as_bytes().get(from.len()),
                    None | Some(b'.' | b'(')
                )
        })
        .max_by_key(|(from, _)| from.len());
    Some(match alias {
        Some((from, to)) => format!("{to}{}", &qualified[from.len()..]).into(),
        None => qualified.into(),
    })
}

/// How a call of this qualified name makes a value of [`LIBRARIES`], if it does.
pub fn library_maker(qualified: &str) -> Option<&'static [Made]> {
    let name = library_name(qualified)?;
    LIBRARY_MAKERS
        .iter()
        .find(|(maker, _)| *maker == name)
        .map(|&(_, made)| made)
}

/// The library call a path is, if it loads (see [`Library`]).
pub fn library_for(path: &str) -> Option<&'static Library> {
    let name = library_name(path)?;
    LIBRARIES.iter().find(|l| l.path == name)
}

/// The last names of the library calls that load (`recv`, `connect`, `file_archive`...).
pub fn library_call_names() -> &'static std::collections::HashSet<&'static str> {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        LIBRARIES
            .iter()
            .filter_map(|l| {
                let path = l.path.strip_suffix("()")?;
                let last = path.rsplit(['.', ')']).next()?;
                Some(last)
            })
            .collect()
    })
}

/// The first library call that loads among those a call of `maker` leads to (for the token
/// scan, which cannot follow what the call makes).
pub fn library_made_by(maker: &str) -> Option<&'static Library> {
    library_maker(maker)?;
    let name = library_name(maker)?;
    LIBRARIES
        .iter()
        .find(|l| l.path.starts_with(&*name) && l.path.as_bytes().get(name.len()) == Some(&b'('))
}

/// Whether a path may still lead to a library call that loads: the library's modules, the
/// makers, and the values they make on the way to a call of [`LIBRARIES`].
pub fn leads_to_library(path: &str) -> bool {
    let Some(name) = library_name(path) else {
        return false;
    };
    if !name.contains('(') {
        // A module, class or function of the library: what it may lead to is known when it
        // is called.
        return true;
    }
    LIBRARIES.iter().any(|l| {
        l.path.starts_with(&*name)
            && matches!(l.path.as_bytes().get(name.len()), None | Some(b'.' | b'('))
    })
}

/// The message of a library call's finding.
pub fn library_message(library: &Library) -> String {
    let sink = sink_for(library.reaches).map_or("", |s| s.what);
    format!(
        "`{}` {}, which {sink}; never use it with peers or storage outside a trusted boundary",
        library.shown, library.what
    )
}

/// The hand-over a keyword or attribute name makes, if the dill module given to it is read by
/// a loader.
pub fn handover(keyword: &str) -> Option<&'static Handover> {
    HANDOVERS.iter().find(|h| h.keyword == keyword)
}

/// The hand-over an API takes at a position, if any.
pub fn positional_handover(api: &str, position: usize) -> Option<&'static Handover> {
    HANDOVERS
        .iter()
        .find(|h| h.positional.iter().any(|&(a, p)| a == api && p == position))
}

/// Whether an API only writes what it is given (`torch.save(obj, f, pickle_module=dill)`), so
/// handing it dill loads nothing: its last name starts with `save` or `dump`.
pub fn only_writes(api: &str) -> bool {
    let last = api.rsplit('.').next().unwrap_or(api);
    last.starts_with("save") || last.starts_with("dump")
}

/// Whether a qualified name is the dill module itself, or one of its modules that carry the
/// loaders (`dill._dill`, the old `dill.dill`).
pub fn is_dill_module(qualified: &str) -> bool {
    matches!(qualified, "dill" | "dill._dill" | "dill.dill")
}

/// Names a star import of each dill module brings in that matter to the rule.
pub fn star_exports(module: &str) -> &'static [(&'static str, &'static str)] {
    const TOP: &[(&str, &str)] = &[
        ("loads", "dill.loads"),
        ("load", "dill.load"),
        ("Unpickler", "dill.Unpickler"),
        ("load_session", "dill.load_session"),
        ("load_module", "dill.load_module"),
        ("load_module_asdict", "dill.load_module_asdict"),
        ("temp", "dill.temp"),
        ("session", "dill.session"),
        ("_dill", "dill._dill"),
    ];
    const TEMP: &[(&str, &str)] = &[
        ("load", "dill.temp.load"),
        ("loadIO", "dill.temp.loadIO"),
        ("load_source", "dill.temp.load_source"),
        ("loadIO_source", "dill.temp.loadIO_source"),
    ];
    match module {
        // The package itself also binds its submodules `temp` and `session` (dill 0.4).
        "dill" => &TOP[..8],
        "dill._dill" | "dill.dill" | "dill.session" => &TOP[..6],
        "dill.temp" => TEMP,
        _ => library_star_exports(module),
    }
}

/// Names a star import of a library's module binds (its `__all__`, or its public names) that
/// lead to a call of [`LIBRARIES`], for multiprocess 0.70, klepto 0.2, ppft 1.7 and pathos 0.3.
fn library_star_exports(module: &str) -> &'static [(&'static str, &'static str)] {
    const CONNECTION: &[(&str, &str)] = &[
        ("Client", "multiprocess.connection.Client"),
        ("Listener", "multiprocess.connection.Listener"),
    ];
    const MANAGERS: &[(&str, &str)] = &[
        ("BaseManager", "multiprocess.managers.BaseManager"),
        ("SyncManager", "multiprocess.managers.SyncManager"),
        (
            "SharedMemoryManager",
            "multiprocess.managers.SharedMemoryManager",
        ),
    ];
    const REDUCTION: &[(&str, &str)] =
        &[("ForkingPickler", "multiprocess.reduction.ForkingPickler")];
    const ARCHIVES: &[(&str, &str)] = &[
        ("file_archive", "klepto.archives.file_archive"),
        ("dir_archive", "klepto.archives.dir_archive"),
        ("sql_archive", "klepto.archives.sql_archive"),
        ("sqltable_archive", "klepto.archives.sqltable_archive"),
        ("hdf_archive", "klepto.archives.hdf_archive"),
        ("hdfdir_archive", "klepto.archives.hdfdir_archive"),
    ];
    const RAW_ARCHIVES: &[(&str, &str)] = &[
        ("file_archive", "klepto._archives.file_archive"),
        ("dir_archive", "klepto._archives.dir_archive"),
        ("sql_archive", "klepto._archives.sql_archive"),
        ("sqltable_archive", "klepto._archives.sqltable_archive"),
        ("hdf_archive", "klepto._archives.hdf_archive"),
        ("hdfdir_archive", "klepto._archives.hdfdir_archive"),
    ];
    const PPFT: &[(&str, &str)] = &[("Server", "ppft.Server")];
    const POOLS: &[(&str, &str)] = &[("ParallelPool", "pathos.parallel.ParallelPool")];
    const PP: &[(&str, &str)] = &[
        ("ParallelPool", "pathos.parallel.ParallelPool"),
        ("ParallelPythonPool", "pathos.parallel.ParallelPool"),
    ];
    const PP_MAP: &[(&str, &str)] = &[
        ("pp_map", "pathos.pp_map.pp_map"),
        ("ppmap", "pathos.pp_map.ppmap"),
    ];
    const HELPERS: &[(&str, &str)] = &[("mp", "multiprocess"), ("parallelpython", "ppft")];
    let Some(name) = library_name(module) else {
        return &[];
    };
    match &*name {
        "multiprocess.connection" => CONNECTION,
        "multiprocess.managers" => MANAGERS,
        "multiprocess.reduction" => REDUCTION,
        "klepto.archives" => ARCHIVES,
        "klepto._archives" => RAW_ARCHIVES,
        "ppft" | "ppft._pp" => PPFT,
        "pathos.pools" | "pathos.parallel" => POOLS,
        "pathos.pp" => PP,
        "pathos.pp_map" => PP_MAP,
        "pathos.helpers" => HELPERS,
        _ => &[],
    }
}

/// Names a star import of other modules is known to bind (their `__all__` or public names,
/// from CPython 3.11) that a star import of dill binds too: `from json import *` after
/// `from dill import *` makes `loads` json's again.
pub fn star_shadows(module: &str) -> &'static [&'static str] {
    match module {
        "json" | "marshal" => &["loads", "load"],
        "pickle" | "_pickle" => &["loads", "load", "Unpickler"],
        _ => &[],
    }
}

/// The sink a fully qualified name reaches, if any. Private modules (`dill._dill`, the old
/// `dill.dill`, `dill.session`) report as the public form.
pub fn sink_for(qualified: &str) -> Option<&'static Sink> {
    let public = match qualified.strip_prefix("dill.") {
        Some(rest) => {
            let rest = ["_dill.", "dill.", "session."]
                .iter()
                .find_map(|private| rest.strip_prefix(private))
                .unwrap_or(rest);
            rest
        }
        None => {
            // `multiprocess.reduction.ForkingPickler.loads` is `dill.loads`.
            let name = library_name(qualified)?;
            let (from, to) = DILL_IN_LIBRARIES.iter().find(|(from, _)| {
                name.starts_with(from)
                    && matches!(name.as_bytes().get(from.len()), None | Some(b'.'))
            })?;
            return sink_for(&format!("{to}{}", &name[from.len()..]));
        }
    };
    SINKS
        .iter()
        .find(|sink| sink.api.strip_prefix("dill.") == Some(public))
}

/// The short message carried by every finding of this API.
pub fn message(sink: &Sink) -> String {
    format!(
        "`{}` {}; never use it on data that could come from outside a trusted boundary",
        sink.api, sink.what
    )
}

/// The message of a finding where the dill module is handed to other code (`to`).
pub fn handover_message(sink: &Sink, handover: &Handover, to: &str) -> String {
    format!(
        "the dill module is handed to `{to}`, which {}: that is `{}`, which {}; never use it on data that could come from outside a trusted boundary",
        handover.what, sink.api, sink.what
    )
}

/// Fix guidance that fits the API, most specific first.
pub fn help(sink: &Sink) -> Vec<&'static str> {
    let mut lines = match sink.family {
        Family::Data => vec![
            "exchange plain data as JSON (`json.loads`) or another format that cannot carry code",
            "to ship work, send the name of a function from an allowed registry, not a pickled closure",
            "for models, load weights with safetensors, ONNX, TorchScript or `torch.load(..., weights_only=True)`",
            "if producer and consumer share a trust boundary, sign payloads with HMAC and verify (`hmac.compare_digest`) before loading",
        ],
        Family::Session => vec![
            "never restore a session or module that came from outside: it runs whatever it contains",
            "save the state you need as data (JSON, numpy arrays, safetensors) and rebuild it in code",
        ],
        Family::Source => vec![
            "this executes Python source read back from a file: keep code in version-controlled modules and import them",
        ],
    };
    lines.push(ALLOW_HELP);
    lines
}

/// How to record that a use is inside a trusted boundary.
pub const ALLOW_HELP: &str = "if this is a trusted internal pipeline, allow it with a reason: \
`# dill-guard: allow <reason>` on this line, or an `[[allow]]` entry in dill-guard.toml";

/// The long explanation printed by `dill-guard explain`.
pub const EXPLAIN: &str = "\
PYTHON-LANG-SEC-046: dill deserialization (severity high, CWE-502, OWASP A08:2021)

What it finds
  Code that turns stored or received bytes back into Python objects with dill:
  dill.loads, dill.load, dill.Unpickler, dill.load_session, dill.load_module,
  dill.load_module_asdict, dill.temp.load, dill.temp.loadIO, dill.temp.load_source and
  dill.temp.loadIO_source, however they are imported or aliased (including through
  dill._dill and dill.session). Serializing (dill.dumps, dill.dump) is not reported.
  Also the dill module handed to a library that loads with it (torch.load(f,
  pickle_module=dill), sqlalchemy.PickleType(pickler=dill)) or set as another module's
  pickle (serialize.pickle = dill); libraries that load with dill themselves: multiprocess
  connections (Client(addr).recv(), a Listener's accepted connection) and managers given an
  address, klepto archives stored serialized, ppft and pathos pools given remote servers
  (kind \"library\"); names imported from other modules of the repository;
  names built from constants (\"di\" + \"ll\"), sys.modules, vars(), operator.attrgetter
  and methodcaller, functools.partial, attributes of self, and code in strings given to
  exec, eval or compile.

Why it is dangerous
  dill is pickle with more reach: it can serialize lambdas, closures, generators and whole
  sessions. Loading a dill payload executes whatever instructions it holds, so anyone who
  can write the bytes (a task queue, a shared bucket, a downloaded checkpoint) can run code
  on the machine that loads them. There is no safe mode and no restricted loader.

Where the data comes from
  Each finding says how far outside data reaches it, traced inside its file: remote (a web
  request, a socket, an HTTP response, a queue or store, a download), local-file (a file,
  standard input, the command line, the environment) or unknown (nothing traced, which is
  not proof that nothing reaches it). The report walks the flow, source first.

What to do instead
  Data interchange: send data, not objects.
      payload = json.loads(raw)

  Distributed work: reference functions by name from a registry you control.
      TASKS = {\"normalize\": normalize, \"aggregate\": aggregate}
      TASKS[request[\"task\"]](*request[\"args\"])

  Models: store weights in a format that cannot carry code.
      from safetensors.torch import load_file; state = load_file(\"model.safetensors\")
      torch.load(path, weights_only=True)

  Internal queues you control end to end: sign with HMAC and verify before loading.
      expected = hmac.new(key, body, \"sha256\").digest()
      if not hmac.compare_digest(expected, signature): raise ValueError(\"bad signature\")

Allowing a trusted use
  Inline, on the line of the use (or the first line of its statement), with the reason:
      obj = dill.loads(body)  # dill-guard: allow payloads are HMAC-verified above
  Or for whole paths, in dill-guard.toml (or [tool.dill-guard] in pyproject.toml):
      [[allow]]
      paths = [\"pipelines/internal/**\"]
      reason = \"task payloads are HMAC-signed by the scheduler\"
      apis = [\"dill.loads\"]          # optional: default every sink
      expires = \"2027-06-30\"         # optional: after it, the entry stops applying
      unless-reachable = \"remote\"  # optional: stops holding once outside data reaches it
  Allowed uses do not block; they are counted and listed in JSON output. An allowance
  limited with unless-reachable (inline: \"allow unless-reachable=remote <reason>\") blocks
  again when a change adds a flow from that far outside, and says which.

Exit status
  0 nothing blocking, 1 a blocking finding, 2 the tool could not judge (bad input, git error).
";

/// How a source of outside data shows in code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceForm {
    /// A qualified name, or a name below it (`flask.request`, `requests` for `requests.get`):
    /// its value, and whatever is read or called from it, is outside data.
    Name,
    /// A method of this name, called on anything (`sock.recv(4096)`).
    Method,
    /// A parameter annotated with this type (`file: UploadFile`).
    Annotation,
    /// A parameter whose default is a call of this (`data: bytes = File()`).
    Default,
    /// A parameter of this name (a Django view's `request`).
    Parameter,
    /// `self.NAME` in a method (a Tornado or class-based view's `self.request`).
    SelfAttribute,
    /// A function of the file handed to this call: its parameters receive outside data
    /// (`asyncio.start_server(handle, ...)`). A name starting with `.` is a method of any
    /// object (`channel.basic_consume(queue, on_message)`).
    Callback,
    /// A function decorated with this (or with a call of it): its parameters receive outside
    /// data (`@app.task` of Celery). A name starting with `.` is an attribute of any object.
    Decorator,
    /// Opens a file by path: what it reads is local, or as outside as the path is.
    Open,
    /// Downloads to the path it is given at `position` or as `keyword`; what it returns
    /// comes from outside too.
    DownloadTo {
        position: usize,
        keyword: &'static str,
    },
}

/// A place outside data comes from.
#[derive(Debug, PartialEq, Eq)]
pub struct Source {
    pub name: &'static str,
    pub form: SourceForm,
    pub reach: crate::model::Reach,
    /// What the data is, in a few words (`the body of a web request (Flask)`).
    pub what: &'static str,
}

macro_rules! sources {
    ($($reach:ident $form:tt $what:literal: $($name:literal),+;)+) => {
        &[$($(Source {
            name: $name,
            form: {
                use SourceForm::*;
                #[allow(unused_parens)]
                let form = $form;
                form
            },
            reach: crate::model::Reach::$reach,
            what: $what,
        },)+)+]
    };
}

/// Sources of outside data, beside the sinks: what flows from them into a sink makes the
/// finding reachable from outside (see `crate::analyze::flow`). Libraries are listed whole
/// where everything they return comes from elsewhere (an HTTP client, a queue, a store).
pub static SOURCES: &[Source] = sources![
    // Web frameworks: the request a handler is serving.
    Remote Name "a web request (Flask)": "flask.request", "quart.request";
    Remote Annotation "a web request (Werkzeug)": "werkzeug.Request", "werkzeug.wrappers.Request",
        "flask.Request";
    Remote Parameter "a web request (a view's `request`)": "request";
    Remote Annotation "a web request (Django)": "django.http.HttpRequest",
        "django.http.request.HttpRequest", "rest_framework.request.Request";
    Remote Annotation "a web request (FastAPI/Starlette)": "fastapi.Request",
        "starlette.requests.Request", "fastapi.WebSocket", "starlette.websockets.WebSocket";
    Remote Annotation "an upload (FastAPI/Starlette)": "fastapi.UploadFile",
        "starlette.datastructures.UploadFile";
    Remote Default "a request parameter (FastAPI)": "fastapi.File", "fastapi.Body",
        "fastapi.Form", "fastapi.Query", "fastapi.Header", "fastapi.Cookie", "fastapi.Path";
    Remote Annotation "a web request (aiohttp)": "aiohttp.web.Request",
        "aiohttp.web.BaseRequest", "aiohttp.web_request.Request";
    Remote SelfAttribute "a web request (a handler's `self.request`)": "request";
    Remote SelfAttribute "a request body (http.server/socketserver)": "rfile";
    Remote SelfAttribute "a request argument (Tornado)": "get_argument", "get_arguments",
        "get_body_argument", "get_body_arguments", "get_query_argument";
    // Sockets and streams.
    Remote Name "a socket": "socket", "ssl", "zmq", "websockets", "websocket",
        "multiprocessing.connection.Client", "multiprocessing.connection.Listener";
    Remote Method "a socket": ".recv", ".recvfrom", ".recv_into", ".recvfrom_into",
        ".recvmsg", ".recv_bytes", ".recv_multipart", ".readexactly", ".readuntil";
    Remote Name "a network stream (asyncio)": "asyncio.open_connection",
        "asyncio.open_unix_connection";
    Remote Callback "a network stream (asyncio)": "asyncio.start_server",
        "asyncio.start_unix_server", "websockets.serve";
    LocalFile Name "standard input": "sys.stdin", "input", "builtins.input", "raw_input",
        "fileinput.input";
    LocalFile Name "the command line": "sys.argv";
    LocalFile Name "the environment": "os.environ", "os.environb", "os.getenv", "os.getenvb";
    // HTTP clients.
    Remote Name "data an HTTP server sends": "requests", "httpx", "urllib3", "aiohttp.ClientSession",
        "aiohttp.request", "urllib.request.urlopen", "urllib.urlopen", "urllib2.urlopen",
        "six.moves.urllib.request.urlopen", "http.client", "httplib", "pycurl";
    // Queues and stores.
    Remote Name "data a Redis server holds": "redis", "aioredis";
    Remote Name "a Kafka message": "kafka", "confluent_kafka", "aiokafka";
    Remote Name "an AMQP message": "pika", "aio_pika", "kombu";
    Remote Callback "an AMQP message": ".basic_consume";
    Remote Decorator "a task message (Celery, Dramatiq, Huey)": "celery.shared_task", ".task",
        "dramatiq.actor", ".actor";
    Remote Name "an object store or queue (AWS)": "boto3", "botocore", "aiobotocore",
        "s3fs";
    Remote Name "an object store or queue (Google Cloud)": "google.cloud.storage",
        "google.cloud.pubsub", "google.cloud.pubsub_v1", "gcsfs";
    Remote Name "an object store or queue (Azure)": "azure.storage.blob",
        "azure.servicebus", "azure.storage.queue";
    Remote Name "data a memcached server holds": "pymemcache", "memcache", "pylibmc";
    Remote Name "a remote file (fsspec)": "fsspec", "smart_open";
    // Downloads: the path they return, or write to, holds what came from elsewhere.
    Remote Name "a download (Hugging Face Hub)": "huggingface_hub.hf_hub_download",
        "huggingface_hub.snapshot_download", "huggingface_hub.cached_download";
    Remote (DownloadTo { position: 1, keyword: "dst" }) "a download (torch.hub)":
        "torch.hub.download_url_to_file";
    Remote (DownloadTo { position: 1, keyword: "filename" }) "a download (urllib)":
        "urllib.request.urlretrieve", "urllib.urlretrieve";
    Remote (DownloadTo { position: 1, keyword: "out" }) "a download (wget)": "wget.download";
    Remote (DownloadTo { position: 1, keyword: "output" }) "a download (gdown)": "gdown.download";
    Remote Name "a download (Keras)": "keras.utils.get_file",
        "tensorflow.keras.utils.get_file";
    // Files: local, unless their path comes from outside.
    LocalFile Open "a local file": "open", "io.open", "builtins.open", "codecs.open",
        "gzip.open", "bz2.open", "lzma.open", "tarfile.open", "zipfile.ZipFile",
        "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.WindowsPath";
];

/// The source of `form` listed under exactly this name (a method is `.name`).
pub fn source_for(name: &str, form: SourceForm) -> Option<&'static Source> {
    SOURCES.iter().find(|s| s.form == form && s.name == name)
}

/// The source a qualified name is, or is below when the source is a name (`requests.get` is
/// below `requests`), among names, opens and downloads: the longest listed name wins.
pub fn called_source(qualified: &str) -> Option<&'static Source> {
    SOURCES
        .iter()
        .filter(|s| {
            matches!(
                s.form,
                SourceForm::Name | SourceForm::Open | SourceForm::DownloadTo { .. }
            )
        })
        .filter(|s| {
            qualified == s.name
                || (matches!(s.form, SourceForm::Name)
                    && qualified.len() > s.name.len()
                    && qualified.starts_with(s.name)
                    && qualified.as_bytes()[s.name.len()] == b'.')
        })
        .max_by_key(|s| s.name.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_modules_report_the_public_name() {
        assert_eq!(
            sink_for("dill._dill.loads").map(|s| s.api),
            Some("dill.loads")
        );
        assert_eq!(
            sink_for("dill.session.load_module").map(|s| s.api),
            Some("dill.load_module")
        );
        assert_eq!(
            sink_for("dill.temp.loadIO").map(|s| s.api),
            Some("dill.temp.loadIO")
        );
        assert_eq!(sink_for("dill.dill.load").map(|s| s.api), Some("dill.load"));
    }

    #[test]
    fn non_sinks_are_not_sinks() {
        for name in [
            "dill.dumps",
            "dill.dump",
            "dill.copy",
            "dill.pickles",
            "dill.source.getsource",
            "dill.detect.trace",
            "pickle.loads",
            "dill",
            "dill.temp",
            "dill.temp.dump",
            "notdill.loads",
        ] {
            assert!(sink_for(name).is_none(), "{name}");
        }
    }

    #[test]
    fn library_names_are_read_through_their_aliases() {
        let name = |q: &str| library_name(q).map(|n| n.into_owned());
        assert_eq!(
            name("pathos.helpers.mp.connection.Client").as_deref(),
            Some("multiprocess.connection.Client")
        );
        assert_eq!(name("pp.Server()").as_deref(), Some("ppft.Server()"));
        assert_eq!(
            name("pathos.pools.ParallelPool()").as_deref(),
            Some("pathos.parallel.ParallelPool()")
        );
        // Other modules that share a prefix are not the libraries.
        for other in [
            "multiprocessing.connection.Client",
            "ppx",
            "pathos2",
            "kleptomania",
        ] {
            assert_eq!(name(other), None, "{other}");
        }
        assert!(library_for("pp.Server()").is_some());
        assert!(library_for("multiprocess.connection.Client()").is_none());
        assert!(leads_to_library("multiprocess.connection.Client()"));
        assert!(leads_to_library(
            "multiprocess.connection.Listener().accept()"
        ));
        assert!(!leads_to_library("multiprocess.connection.Client().send"));
        assert!(!leads_to_library("multiprocess.Pipe()"));
        assert_eq!(
            sink_for("multiprocess.reduction.ForkingPickler.loads").map(|s| s.api),
            Some("dill.loads")
        );
        assert_eq!(
            sink_for("pathos.helpers.mp.reduction.pickle.load").map(|s| s.api),
            Some("dill.load")
        );
        assert!(sink_for("multiprocess.reduction.ForkingPickler.dumps").is_none());
        assert_eq!(
            library_made_by("multiprocess.connection.Listener").map(|l| l.path),
            Some("multiprocess.connection.Listener().accept().recv()")
        );
    }

    /// Every library call's dill loader is a sink, and every path starts with a maker; every
    /// maker's name holds a maker word of its library (the prefilter relies on it).
    #[test]
    fn the_library_table_holds_together() {
        let words_of = |name: &str| {
            let root = name.split('.').next().unwrap();
            LIBRARY_MAKER_WORDS
                .iter()
                .find(|(m, _)| *m == root)
                .map(|(_, w)| *w)
                .unwrap_or_else(|| panic!("{name}: no maker words"))
        };
        let aliased_makers = LIBRARY_ALIASES
            .iter()
            .filter(|(_, to)| LIBRARY_MAKERS.iter().any(|(m, _)| m == to))
            .map(|(from, _)| from);
        let named = LIBRARY_MAKERS
            .iter()
            .map(|(m, _)| m)
            .chain(aliased_makers)
            .chain(DILL_IN_LIBRARIES.iter().map(|(n, _)| n));
        for name in named {
            assert!(
                words_of(name)
                    .iter()
                    .any(|group| group.iter().all(|w| name.contains(w))),
                "{name}"
            );
        }
        for library in LIBRARIES {
            assert!(sink_for(library.reaches).is_some(), "{}", library.path);
            let maker = &library.path[..library.path.find('(').unwrap()];
            assert!(library_maker(maker).is_some(), "{}", library.path);
            assert!(library.path.ends_with("()"), "{}", library.path);
        }
    }

    /// The README's table of sources lists every source of the table here.
    #[test]
    fn the_readme_lists_every_source() {
        let readme = include_str!("../README.md");
        let table = &readme[readme.find("**Sources** are the table").unwrap()..];
        let table = &table[..table.find("\n\n").map_or(table.len(), |end| {
            // The paragraph, then the table after it.
            table[end + 2..]
                .find("\n\n")
                .map_or(table.len(), |more| end + 2 + more)
        })];
        for source in SOURCES {
            let name = source.name.trim_start_matches('.');
            assert!(
                [
                    format!("`{name}`"),
                    format!("`.{name}`"),
                    format!("`self.{name}`")
                ]
                .iter()
                .any(|written| table.contains(written.as_str())),
                "the README's table of sources does not list `{}`",
                source.name
            );
        }
    }
}
