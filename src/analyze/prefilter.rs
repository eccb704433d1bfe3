//! The prefilter: which files could involve dill at all, from their bytes, before anything
//! costs more. It must be sound: a file is skipped only when Python could not reach dill from it.

use super::is_ident;

/// Whether a Python file can involve dill at all, from its bytes: the test every file passes
/// before anything costs more. Past the plain spelling, Python reads the name through a
/// declared encoding (`+AGQ-ill` in UTF-7) and through identifier normalisation (`ｄｉｌｌ`);
/// notebooks are JSON, which may spell any character as `\uXXXX`. Files that could hide the
/// name so are decoded and analysed whatever their bytes show.
pub fn worth_analysing(bytes: &[u8], kind: crate::python::Kind) -> bool {
    interest(bytes, kind).sinks
}

/// Whether a Python file may bind the dill module (or anything of it) to a name another
/// module can import, from its bytes: the first half of [`worth_analysing`] alone. A module
/// that only re-exports dill (`import dill`, `codec = dill`, `from dill import *`) spells no
/// loader, so the second half would drop it; what it binds is still dill in every file that
/// imports it. Only the resolution of imports asks this.
pub fn may_bind_dill(bytes: &[u8], kind: crate::python::Kind) -> bool {
    interest(bytes, kind).exports
}

/// What a file's bytes allow it to do with dill: reach a sink itself ([`worth_analysing`]),
/// or bind dill for other modules ([`may_bind_dill`]). Worked out together, since most of
/// the work (a notebook's cells, identifier normalisation, pieces of strings) is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest {
    pub sinks: bool,
    pub exports: bool,
}

const BOTH: Interest = Interest {
    sinks: true,
    exports: true,
};
const NEITHER: Interest = Interest {
    sinks: false,
    exports: false,
};

/// See [`Interest`].
pub fn interest(bytes: &[u8], kind: crate::python::Kind) -> Interest {
    let (dill, library) = (mentions_dill(bytes), imports_library(bytes));
    // A library that loads with dill itself is reached through calls the prefilter cannot
    // list by word (`archive[key]`, `conn.recv()`): a file naming one is analysed.
    if library {
        return BOTH;
    }
    if dill {
        return Interest {
            sinks: may_reach_a_sink(bytes, kind),
            exports: true,
        };
    }
    hides_dill(bytes, kind)
}

/// What a file that never spells `dill` as a word could still do with it: through a
/// notebook's escapes, a declared encoding, a name assembled from pieces, or identifier
/// normalisation.
fn hides_dill(bytes: &[u8], kind: crate::python::Kind) -> Interest {
    use crate::python::{self, Kind};
    if kind == Kind::Notebook {
        if memchr::memmem::find(bytes, b"\\u").is_some() {
            return BOTH;
        }
        // A cell's source is a list of strings Jupyter joins as they are:
        // `["import di", "ll\n"]` is `import dill`. Judge the code as it will run; a notebook
        // that cannot be read is left to the analysis, which reports it.
        return match python::notebook_cells(bytes) {
            Ok(cells) => {
                let joined: Vec<&str> = cells.iter().map(|c| c.source.as_str()).collect();
                interest(joined.join("\n").as_bytes(), Kind::Source)
            }
            Err(_) => BOTH,
        };
    }
    if kind == Kind::Source && python::declares_other_encoding(bytes) {
        return BOTH;
    }
    let assembled = may_assemble_dill(bytes);
    if assembled == BOTH {
        return BOTH;
    }
    // Names as Python reads them; text already in NFKC comes back as it was, cheaply.
    let normalized = !bytes.is_ascii()
        && match python::normalize_identifiers(&String::from_utf8_lossy(bytes)) {
            std::borrow::Cow::Borrowed(_) => false,
            std::borrow::Cow::Owned(normalized) => {
                mentions_dill(normalized.as_bytes()) || mentions_library(normalized.as_bytes())
            }
        };
    if normalized {
        BOTH
    } else {
        assembled
    }
}

/// Words whose presence lets a file that mentions dill reach one of its sinks: the name of every
/// sink (`loads`, `Unpickler`, `load_session`...), which the analysis can only meet spelled in
/// the code, and the forms through which it reads a name from a string instead (`getattr(dill,
/// "lo" "ads")`, `__import__`/`import_module` of a sink's path, a star-imported sink named in
/// `__all__`), where escapes and joined literals can spell it without its letters.
///
/// Any new way for the analysis to reach a sink without its name in the code (dill handed to
/// another library's loader, code in strings given to `exec`) must add its words here, or
/// files using only that way are never parsed.
fn reaching_words() -> &'static [String] {
    static WORDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        let mut words: Vec<String> = crate::rule::SINKS
            .iter()
            .map(|sink| sink.api.rsplit('.').next().unwrap_or(sink.api).to_string())
            .chain(
                [
                    "getattr",
                    "__import__",
                    "import_module",
                    "__all__",
                    // An attribute read from the module's dictionary (`vars`, `__dict__`) or
                    // through `operator`, or set (`setattr(serialize, "pickle", dill)`).
                    "vars",
                    "__dict__",
                    "attrgetter",
                    "methodcaller",
                    "setattr",
                ]
                .map(String::from),
            )
            // The dill module handed over by keyword (`pickle_module=dill`).
            .chain(
                crate::rule::HANDOVERS
                    .iter()
                    .filter(|h| h.keyword_too)
                    .map(|h| h.keyword.to_string()),
            )
            .collect();
        // A word that contains another is covered by it (`load` covers `loads`).
        words.sort_by_key(|w| w.len());
        let mut kept: Vec<String> = Vec::new();
        for word in words {
            if !kept.iter().any(|k| word.contains(k.as_str())) {
                kept.push(word);
            }
        }
        kept
    })
}

/// Whether a Python file that mentions dill can reach one of its sinks at all, from its bytes:
/// most code that imports dill only dumps or copies. The file must spell a [`reaching_words`]
/// word; a notebook (whose JSON may escape any letter), a file that is not plain ASCII (Python
/// normalises identifiers: `ｌｏａｄｓ` is `loads`) and one declaring another encoding
/// (`+AGw-oads` in UTF-7) are always analysed.
fn may_reach_a_sink(bytes: &[u8], kind: crate::python::Kind) -> bool {
    if kind == crate::python::Kind::Notebook
        || !bytes.is_ascii()
        || crate::python::declares_other_encoding(bytes)
    {
        return true;
    }
    reaching_words()
        .iter()
        .any(|word| memchr::memmem::find(bytes, word.as_bytes()).is_some())
        || sets_a_handover_attribute(bytes)
        || ["exec", "eval", "compile"]
            .iter()
            .any(|name| builtin_named(bytes, name.as_bytes()))
}

/// Whether the bytes set an attribute of something other than `self` or `cls` (`.name =`,
/// not `==`): a module's global set from outside (`helpers.codec = dill`), which makes that
/// module's code read dill. Only the resolution of imports, which applies such patches, asks.
pub fn sets_an_attribute(bytes: &[u8]) -> bool {
    memchr::memchr_iter(b'.', bytes).any(|dot| {
        let name = bytes[dot + 1..]
            .iter()
            .take_while(|&&b| is_ident(b))
            .count();
        if name == 0 {
            return false;
        }
        let rest = &bytes[dot + 1 + name..];
        let rest = &rest[rest
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\\' | b'\n' | b'\r'))
            .unwrap_or(rest.len())..];
        if !rest.starts_with(b"=") || rest.starts_with(b"==") {
            return false;
        }
        let object = bytes[..dot]
            .iter()
            .rev()
            .take_while(|&&b| is_ident(b))
            .count();
        !matches!(&bytes[dot - object..dot], b"self" | b"cls")
    })
}

/// Whether the bytes set an attribute a hand-over names (`serialize.pickle = dill`): `.pickle`
/// then `=`, not `==`. (`setattr` is a reaching word of its own.)
fn sets_a_handover_attribute(bytes: &[u8]) -> bool {
    crate::rule::HANDOVERS.iter().any(|h| {
        let attribute = format!(".{}", h.keyword);
        memchr::memmem::find_iter(bytes, attribute.as_bytes()).any(|at| {
            let rest = &bytes[at + attribute.len()..];
            let rest = &rest[rest
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\\' | b'\n' | b'\r'))
                .unwrap_or(rest.len())..];
            rest.starts_with(b"=") && !rest.starts_with(b"==")
        })
    })
}

/// Whether a builtin is named as itself (or as an attribute of `builtins`): `re.compile` and
/// `self.eval` are other functions.
fn builtin_named(bytes: &[u8], name: &[u8]) -> bool {
    memchr::memmem::find_iter(bytes, name).any(|at| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        !before.is_some_and(is_ident)
            && (before != Some(b'.') || bytes[..at].ends_with(b"builtins."))
            && !bytes.get(at + name.len()).is_some_and(|&b| is_ident(b))
    })
}

/// Whether a file that never spells `dill` as a word could still build the name from pieces
/// and hand it to something that reads it, in the forms the analysis evaluates: a dynamic
/// import (`__import__`, `import_module`), the module registry (`sys.modules`), or a string
/// of code (`exec`, `eval`, `compile`), given a string built from constants (`"di" + "ll"`,
/// `"".join(["d", "ill"])`, `"%sll" % "di"`, `f"{'di'}ll"`, `"import di" + "ll"`) or spelled
/// with escapes (`"\x64ill"`, `"\N{LATIN SMALL LETTER D}ill"`).
///
/// Built from pieces, the name's `d` ends a piece: the bytes show `d`, `di` or `dil` after a
/// character that cannot continue a word and before the end of a literal (a quote) or a
/// placeholder (`{`, `%`); and the rest of the name starts one: `ill`, `ll` or `l` (or `i`,
/// `il` ending a piece) after a quote or a placeholder (`}`, `%s`). Spelled with escapes, one
/// of its letters is an escape (`\x64`, `\151`, `\u006c`, `\N{...}`). A file showing
/// neither cannot build the name.
fn may_assemble_dill(bytes: &[u8]) -> Interest {
    // A module imported by a built name reaches a sink only through a word the analysis reads
    // (`.loads`, `getattr`, `vars`...), or is bound for other modules to read; code in a
    // string may build the sink's name too.
    const IMPORTERS: &[&[u8]] = &[
        b"__import__",
        b"import_module",
        b"importorskip",
        b"resolve_name",
        b"find_spec",
    ];
    let has = |word: &[u8]| memchr::memmem::find(bytes, word).is_some();
    let imports_by_name = IMPORTERS.iter().any(|w| has(w));
    let runs_code = ["exec", "eval", "compile"]
        .iter()
        .any(|name| builtin_named(bytes, name.as_bytes()));
    let interest = Interest {
        sinks: runs_code
            || ((imports_by_name || has(b"modules"))
                && reaching_words().iter().any(|w| has(w.as_bytes()))),
        // Bound for other modules: imported by a built name, or read from `sys.modules` by
        // item (`modules[...]`, `modules.get(...)`; the word alone is in most files).
        exports: runs_code || imports_by_name || has(b"modules[") || has(b"modules.get"),
    };
    if interest == NEITHER {
        return NEITHER;
    }
    // A library that loads with dill itself is reached without any word the analysis needs:
    // a file that can build its name is analysed whole.
    // Most files that import by name hold pieces that join into some name (`"path" + "os"`
    // is pathos): a library counts only when pieces of two letters or more join into its name
    // and the bytes hold a name that makes one of its loading values, which code using the
    // library after such an import reads. Only an import by name or the module registry reads
    // such a name. (A name split into single letters, built inside a string of code for
    // `exec`, or a maker named through `getattr` with a name built from pieces too, is out of
    // reach.)
    let reads_names = imports_by_name || has(b"modules[") || has(b"modules.get");
    let builds_library = |bytes: &[u8]| {
        // Each maker word is looked for once.
        // (Asked only where `reads_names` holds.)
        let mut seen: Vec<(&[u8], bool)> = Vec::new();
        let mut found = |w: &'static memchr::memmem::Finder<'static>| {
            let key = w.needle();
            if let Some(&(_, hit)) = seen.iter().find(|(k, _)| *k == key) {
                return hit;
            }
            let hit = w.find(bytes).is_some();
            seen.push((key, hit));
            hit
        };
        maker_finders().iter().any(|(module, groups)| {
            groups.iter().any(|group| group.iter().all(&mut found))
                && pieces_spell(bytes, module.as_bytes(), 2)
        })
    };
    // A library named in a string (`import_module("multiprocess.connection")`,
    // `sys.modules["klepto"]`, code for `exec`); `pp`, a common name, beside `Server`.
    let names_library =
        |bytes: &[u8]| names_a_library(bytes, memchr::memmem::find(bytes, b"Server").is_some());
    // (A name in an import statement, in a string of code too, is found by
    // [`imports_library`].)
    if reads_names && (names_library(bytes) || builds_library(bytes)) {
        return BOTH;
    }
    if spelled_in_pieces(bytes) {
        return interest;
    }
    // Letters of the name spelled as escapes are read as the letters they stand for.
    let escaped = memchr::memchr_iter(b'\\', bytes)
        .filter_map(|at| escaped_letter(&bytes[at + 1..]).map(|(letter, len)| (at, letter, len)))
        .collect::<Vec<_>>();
    if escaped.is_empty() {
        return NEITHER;
    }
    let mut plain = Vec::with_capacity(bytes.len());
    let mut from = 0;
    for (at, letter, len) in escaped {
        if at < from {
            continue;
        }
        plain.extend_from_slice(&bytes[from..at]);
        plain.push(letter);
        from = at + 1 + len;
    }
    plain.extend_from_slice(&bytes[from..]);
    if names_library(&plain) || builds_library(&plain) {
        BOTH
    } else if mentions_dill(&plain) || spelled_in_pieces(&plain) {
        interest
    } else {
        NEITHER
    }
}

/// Whether the bytes show pieces of string that join into `dill` (see [`may_assemble_dill`]).
fn spelled_in_pieces(bytes: &[u8]) -> bool {
    // Where a piece may end: a quote, a placeholder (`{`, `%`).
    let boundary = |b: Option<&u8>| matches!(b, None | Some(b'\'' | b'"' | b'{' | b'%'));
    // Pieces that end with the start of the name: `d`, `di`, `dil`.
    let mut ends = [false; 3];
    for at in memchr::memchr_iter(b'd', bytes) {
        // After a placeholder's `%s`, which is no letter once formatted.
        if at == 0 || !is_ident(bytes[at - 1]) || bytes[..at].ends_with(b"%s") {
            let rest = &bytes[at..];
            if rest.starts_with(b"dill") && !rest.get(4).is_some_and(|&b| is_ident(b)) {
                return true;
            }
            for n in 1..=3 {
                if rest.get(..n) == Some(&b"dil"[..n]) && boundary(rest.get(n)) {
                    ends[n - 1] = true;
                }
            }
        }
    }
    if ends == [false; 3] {
        return false;
    }
    // Pieces that go on with it, after a quote or a placeholder (`}`, `%s`): starting with
    // `l`, `ll` or `ill` (and anything after), or exactly `i`, `il` or `l`.
    let mut starts = Starts::default();
    let mut note = |rest: &[u8]| {
        starts.l |= rest.starts_with(b"l");
        starts.ll |= rest.starts_with(b"ll");
        starts.ill |= rest.starts_with(b"ill");
        starts.i |= rest.starts_with(b"i") && boundary(rest.get(1));
        starts.il |= rest.starts_with(b"il") && boundary(rest.get(2));
        starts.lone_l |= rest.starts_with(b"l") && boundary(rest.get(1));
    };
    // Every continuation starts with `i` or `l`: other pieces are passed over at once.
    let continues = |rest: &[u8]| matches!(rest.first(), Some(b'i' | b'l'));
    for at in memchr::memchr3_iter(b'\'', b'"', b'}', bytes) {
        if continues(&bytes[at + 1..]) {
            note(&bytes[at + 1..]);
        }
    }
    for at in memchr::memmem::find_iter(bytes, b"%s") {
        if continues(&bytes[at + 2..]) {
            note(&bytes[at + 2..]);
        }
    }
    // From `dil`, an `l` completes the name; from `di`, `ll` or `l` then `l`; from `d`, `ill`,
    // or `i` then as from `di`, or `il` then as from `dil`.
    let after_dil = starts.l;
    let after_di = starts.ll || (starts.lone_l && starts.l);
    let after_d = starts.ill || (starts.i && after_di) || (starts.il && after_dil);
    (ends[0] && after_d) || (ends[1] && after_di) || (ends[2] && after_dil)
}

/// Whether pieces of string, each `shortest` letters or more, can join into `word`, as
/// [`spelled_in_pieces`] works it out for `dill`, for any name: a first piece ending a literal
/// or placeholder (`"multi" + ...`), any whole pieces between, and a last piece starting one
/// (`... + "process.connection"`).
fn pieces_spell(bytes: &[u8], word: &[u8], shortest: usize) -> bool {
    let n = word.len();
    let boundary = |b: Option<&u8>| matches!(b, None | Some(b'\'' | b'"' | b'{' | b'%'));
    let opens = |at: usize| {
        (at > 0 && matches!(bytes[at - 1], b'\'' | b'"' | b'}')) || bytes[..at].ends_with(b"%s")
    };
    let found = |piece: &[u8], start: &dyn Fn(usize) -> bool, end: bool| {
        memchr::memmem::find_iter(bytes, piece)
            .any(|at| start(at) && (!end || boundary(bytes.get(at + piece.len()))))
    };
    // `formed[k]`: the name's first `k` letters can be joined from pieces so far.
    let mut formed = vec![false; n];
    for (k, slot) in formed.iter_mut().enumerate().skip(shortest) {
        let first = |at: usize| at == 0 || !is_ident(bytes[at - 1]) || bytes[..at].ends_with(b"%s");
        *slot = found(&word[..k], &first, true);
    }
    for k in 1..n {
        if !formed[k] {
            continue;
        }
        if n - k >= shortest && found(&word[k..], &opens, false) {
            return true;
        }
        for j in k + shortest..n {
            if !formed[j] && found(&word[k..j], &opens, true) {
                formed[j] = true;
            }
        }
    }
    false
}

/// Which continuations of the name's first letters a file's pieces of string offer.
#[derive(Default)]
struct Starts {
    l: bool,
    ll: bool,
    ill: bool,
    i: bool,
    il: bool,
    lone_l: bool,
}

/// The letter of `dill` (`d`, `i`, `l`) an escape stands for, and the escape's length after
/// its backslash (`rest` starts after it): `\x64`, `\151`, `\u006c`, `\U0000006c`,
/// `\N{LATIN SMALL LETTER D}` (names are looked up ignoring case).
fn escaped_letter(rest: &[u8]) -> Option<(u8, usize)> {
    let code = |digits: &[u8], radix: u32| {
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| u32::from_str_radix(d, radix).ok())
    };
    let (value, len) = match rest.first()? {
        b'N' if rest.get(1) == Some(&b'{') => {
            let end = memchr::memchr(b'}', rest)?;
            let name = String::from_utf8_lossy(&rest[2..end]).to_ascii_uppercase();
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            let letter = match name.strip_prefix("LATIN SMALL LETTER ") {
                Some(letter) if letter.len() == 1 && letter.as_bytes()[0].is_ascii_uppercase() => {
                    letter.as_bytes()[0].to_ascii_lowercase()
                }
                _ => return None,
            };
            return Some((letter, end + 1));
        }
        b'x' => (code(rest.get(1..3)?, 16)?, 3),
        b'u' => (code(rest.get(1..5)?, 16)?, 5),
        b'U' => (code(rest.get(1..9)?, 16)?, 9),
        b'0'..=b'7' => {
            let n = rest
                .iter()
                .take(3)
                .take_while(|b| matches!(b, b'0'..=b'7'))
                .count();
            (code(&rest[..n], 8)?, n)
        }
        _ => return None,
    };
    // Any lowercase letter: the names of dill and of the libraries that load with it.
    match char::from_u32(value)? {
        letter @ 'a'..='z' => Some((letter as u8, len)),
        _ => None,
    }
}

/// The cheap test every file passes through first: a file that never has `dill` as a word of
/// its own cannot name the module, however it imports it (`import dill`, `from dill import`,
/// `__import__("dill")`, `import_module("dill.x")`): the name always stands between
/// characters that cannot continue an identifier. `cedilla` or `pickledill` are not it.
pub fn mentions_dill(bytes: &[u8]) -> bool {
    static DILL: std::sync::OnceLock<memchr::memmem::Finder<'static>> = std::sync::OnceLock::new();
    let dill = DILL.get_or_init(|| memchr::memmem::Finder::new("dill"));
    dill.find_iter(bytes).any(|at| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + 4).copied();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Whether the bytes import a library that loads with dill itself (`multiprocess`, `klepto`,
/// `ppft` or its other name `pp`, `pathos`; see [`crate::rule::LIBRARIES`]), named as a word
/// in an import statement.
///
/// A word after a `.` or a `-`, or before a single `=`, is something else of that name: an
/// attribute (`environ["wsgi.multiprocess"]`), an option (`--multiprocess`), a keyword
/// argument or a variable of its own (`multiprocess=True`).
pub fn mentions_library(bytes: &[u8]) -> bool {
    imports_library(bytes)
}

/// Whether an import statement of the bytes names a library of [`crate::rule::LIBRARIES`]:
/// code can only reach a module by its plain name once an import has bound it (`import
/// multiprocess`, `from klepto.archives import file_archive`, `import os, pathos`); a name
/// imported through a string (`import_module("ppft")`, `sys.modules["pp"]`, code given to
/// `exec`) is looked for where such calls are ([`may_assemble_dill`]). One pass over the
/// bytes for the word `import`, then a look at the logical line around each.
fn imports_library(bytes: &[u8]) -> bool {
    static IMPORT: std::sync::OnceLock<memchr::memmem::Finder<'static>> =
        std::sync::OnceLock::new();
    let import = IMPORT.get_or_init(|| memchr::memmem::Finder::new("import"));
    let mut checked_to = 0;
    for at in import.find_iter(bytes) {
        if at < checked_to
            || at.checked_sub(1).is_some_and(|i| is_ident(bytes[i]))
            || bytes.get(at + 6).is_some_and(|&b| is_ident(b))
        {
            continue;
        }
        // The logical line: from the line's start to its end, over backslash continuations.
        let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |n| n + 1);
        let mut end = at;
        loop {
            end = memchr::memchr(b'\n', &bytes[end..]).map_or(bytes.len(), |n| end + n);
            let line = &bytes[..end];
            let continued = line.strip_suffix(b"\r").unwrap_or(line).ends_with(b"\\");
            if !continued || end >= bytes.len() {
                break;
            }
            end += 1;
        }
        checked_to = end;
        if names_a_library(&bytes[start..end], true) {
            return true;
        }
    }
    false
}

/// Searchers for the libraries' module names, built once.
fn library_finders() -> &'static [(&'static str, memchr::memmem::Finder<'static>)] {
    type Finders = Vec<(&'static str, memchr::memmem::Finder<'static>)>;
    static FINDERS: std::sync::OnceLock<Finders> = std::sync::OnceLock::new();
    FINDERS.get_or_init(|| {
        crate::rule::LIBRARY_MODULES
            .iter()
            .map(|m| (*m, memchr::memmem::Finder::new(m.as_bytes())))
            .collect()
    })
}

/// Searchers for the words of [`crate::rule::LIBRARY_MAKER_WORDS`], built once, in its shape.
type MakerFinders = Vec<(&'static str, Vec<Vec<memchr::memmem::Finder<'static>>>)>;
fn maker_finders() -> &'static MakerFinders {
    static FINDERS: std::sync::OnceLock<MakerFinders> = std::sync::OnceLock::new();
    FINDERS.get_or_init(|| {
        crate::rule::LIBRARY_MAKER_WORDS
            .iter()
            .map(|(module, groups)| {
                let groups = groups
                    .iter()
                    .map(|g| {
                        g.iter()
                            .map(|w| memchr::memmem::Finder::new(w.as_bytes()))
                            .collect()
                    })
                    .collect();
                (*module, groups)
            })
            .collect()
    })
}

/// Whether the bytes name a library of [`crate::rule::LIBRARIES`] as a word (see
/// [`mentions_library`]); ppft's other name, `pp`, only when `pp` is asked for.
fn names_a_library(bytes: &[u8], pp: bool) -> bool {
    // Every name starts with one of these pairs of letters: most lines hold none.
    let may = bytes
        .windows(2)
        .any(|w| matches!(w, b"mu" | b"kl" | b"pp" | b"pa"));
    may && library_finders().iter().any(|(module, finder)| {
        if *module == "pp" && !pp {
            return false;
        }
        finder.find_iter(bytes).any(|at| {
            // `import pprint as pp` binds the name, it does not import a module of it.
            let before = bytes[..at].trim_ascii_end();
            let after_as = before.ends_with(b"as")
                && !before[..before.len() - 2]
                    .last()
                    .is_some_and(|&b| is_ident(b));
            !after_as && library_word_at(bytes, at, module.len())
        })
    })
}

/// Whether the library name at `at` may name the library (see [`mentions_library`]).
fn library_word_at(bytes: &[u8], at: usize, len: usize) -> bool {
    let before = at.checked_sub(1).map(|i| bytes[i]);
    let rest = &bytes[at + len..];
    if before.is_some_and(|b| is_ident(b) || b == b'.' || b == b'-')
        || rest.first().is_some_and(|&b| is_ident(b))
    {
        return false;
    }
    let rest = &rest[rest
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(rest.len())..];
    !rest.starts_with(b"=") || rest.starts_with(b"==")
}
