//! The prefilter: which files could involve dill at all, from their bytes, before anything
//! costs more. It must be sound: a file is skipped only when Python could not reach dill from it.

use super::scan::skip_string;

/// Whether a Python file can involve dill at all, from its bytes: the test every file passes
/// before anything costs more. Past the plain spelling, Python reads the name through a
/// declared encoding (`+AGQ-ill` in UTF-7) and through identifier normalisation (`ｄｉｌｌ`);
/// notebooks are JSON, which may spell any character as `\uXXXX`. Files that could hide the
/// name so are decoded and analysed whatever their bytes show.
pub fn worth_analysing(bytes: &[u8], kind: crate::python::Kind) -> bool {
    use crate::python::{self, Kind};
    if mentions_dill(bytes) {
        return may_reach_a_sink(bytes, kind);
    }
    if kind == Kind::Notebook {
        if memchr::memmem::find(bytes, b"\\u").is_some() {
            return true;
        }
        // A cell's source is a list of strings Jupyter joins as they are:
        // `["import di", "ll\n"]` is `import dill`. Judge the code as it will run; a notebook
        // that cannot be read is left to the analysis, which reports it.
        return match python::notebook_cells(bytes) {
            Ok(cells) => {
                let joined: Vec<&str> = cells.iter().map(|c| c.source.as_str()).collect();
                worth_analysing(joined.join("\n").as_bytes(), Kind::Source)
            }
            Err(_) => true,
        };
    }
    if kind == Kind::Source && python::declares_other_encoding(bytes) {
        return true;
    }
    if dynamic_import_spells_a_name(bytes) {
        return true;
    }
    // Names as Python reads them; text already in NFKC comes back as it was, cheaply.
    !bytes.is_ascii()
        && match python::normalize_identifiers(&String::from_utf8_lossy(bytes)) {
            std::borrow::Cow::Borrowed(_) => false,
            std::borrow::Cow::Owned(normalized) => mentions_dill(normalized.as_bytes()),
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
            .chain(["getattr", "__import__", "import_module", "__all__"].map(String::from))
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
}

/// Whether a dynamic import (`__import__(...)`, `import_module(...)`) is given a module name
/// whose spelling the bytes do not show, in a form the analysis resolves: a string with an
/// escape (`"\x64ill"`, `"\N{LATIN SMALL LETTER D}ill"`), or literals Python joins
/// (`"di" "ll"`). Only the first argument counts (the module name); it is followed to its comma
/// or closing bracket with strings skipped whole, so a bracket or comma inside a string cannot
/// end it early. A plain literal would show `dill` in the bytes; a variable or an f-string the
/// analysis cannot resolve, parsed or not.
fn dynamic_import_spells_a_name(bytes: &[u8]) -> bool {
    for needle in [&b"__import__"[..], b"import_module"] {
        for at in memchr::memmem::find_iter(bytes, needle) {
            let mut i = at + needle.len();
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if bytes.get(i) != Some(&b'(') {
                continue;
            }
            let mut depth = 0usize;
            let mut after_string = false;
            while i < bytes.len() {
                let c = bytes[i];
                match c {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    b',' if depth == 1 => break,
                    // A comment between two literals still lets Python join them.
                    b'#' => {
                        while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                            i += 1;
                        }
                        continue;
                    }
                    b'\'' | b'"' => {
                        let end = skip_string(bytes, i);
                        if after_string || bytes[i..end].contains(&b'\\') {
                            return true;
                        }
                        after_string = true;
                        i = end;
                        continue;
                    }
                    _ => {}
                }
                if !c.is_ascii_whitespace() && !matches!(c, b'(' | b'\\') {
                    after_string = false;
                }
                i += 1;
            }
        }
    }
    false
}

/// The cheap test every file passes through first: a file that never has `dill` as a word of
/// its own cannot name the module, however it imports it (`import dill`, `from dill import`,
/// `__import__("dill")`, `import_module("dill.x")`): the name always stands between
/// characters that cannot continue an identifier. `cedilla` or `pickledill` are not it.
pub fn mentions_dill(bytes: &[u8]) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    memchr::memmem::find_iter(bytes, b"dill").any(|at| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + 4).copied();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}
