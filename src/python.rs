//! What counts as Python, and how its bytes become text the parser accepts: file classification
//! (extensions, shebangs), decoding (BOM, PEP 263 coding declarations, invalid UTF-8) and notebook
//! code cells. Nothing here knows about dill.

use std::borrow::Cow;

use crate::codec_names;

/// How a file's text is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Python source: `.py`, `.pyi`, `.pyw`, `.wsgi`, a file whose shebang or launcher line runs
    /// Python, a member of a zipapp, the `import` lines of a `.pth` file.
    Source,
    /// A Jupyter notebook (`.ipynb`): code cells only.
    Notebook,
    /// Cython (`.pyx`, `.pxd`, `.pxi`): not Python syntax, so checked by the token scanner.
    Cython,
}

/// What a file is, for Python: how its bytes become the text that is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Text read as it is.
    Text(Kind),
    /// A zip archive Python imports from or runs (`.pyz`, `.pyzw`, or a file run by its first
    /// line whose bytes are a zip after it): its Python members are judged. A `.pyz` that is
    /// no archive is run by Python as source, and read so.
    Zipapp,
    /// A `.pth` file: `site` runs each of its lines that starts with `import` at start-up.
    Pth,
    /// A `.whl` or `.egg`: a zip archive that code puts on `sys.path` to import from. Judged by
    /// its Python members like a zipapp; one that is no archive is an error.
    Package,
    /// Compiled Python (`.pyc`, `.pyo`) outside `__pycache__`: `import helper` loads
    /// `helper.pyc` when no `helper.py` is beside it. It cannot be judged, so it is an error.
    /// (In `__pycache__` it is used only beside its source, which is judged.)
    Compiled,
}

/// Classifies by name alone (extensions compared without regard to case, as the file systems
/// of Windows and macOS compare them). `None` means "not Python by its name"; such a file may
/// still run Python, see [`read_for_launcher`] and [`runs_python`].
pub fn class_by_name(path: &str) -> Option<Class> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let (stem, ext) = name.rsplit_once('.')?;
    if stem.is_empty() {
        // `.py` alone is a hidden file with no extension.
        return None;
    }
    Some(match ext.to_ascii_lowercase().as_str() {
        "py" | "pyi" | "pyw" | "wsgi" => Class::Text(Kind::Source),
        "ipynb" => Class::Text(Kind::Notebook),
        "pyx" | "pxd" | "pxi" => Class::Text(Kind::Cython),
        "pyz" | "pyzw" => Class::Zipapp,
        "pth" => Class::Pth,
        "whl" | "egg" => Class::Package,
        "pyc" | "pyo" if !path.split('/').any(|dir| dir == "__pycache__") => Class::Compiled,
        _ => return None,
    })
}

/// The kind of a file whose name says it is Python text (links and module lookups ask this).
pub fn kind_by_name(path: &str) -> Option<Kind> {
    match class_by_name(path)? {
        Class::Text(kind) => Some(kind),
        Class::Zipapp | Class::Pth | Class::Package | Class::Compiled => None,
    }
}

/// Whether a file is Python source by its name (`.py`, `.pyw`, `.PY`...): what the module
/// lookups list as files that may import a module, in the index and in a tree alike.
pub fn is_module_source(path: &str) -> bool {
    kind_by_name(path) == Some(Kind::Source)
}

/// Extensions of files run by a shell (`sh tool.sh`) or a web server (`restore.cgi`), whose
/// first lines may hand them to Python however their mode is set.
const LAUNCHED_EXTENSIONS: &[&str] =
    &["sh", "bash", "zsh", "ksh", "dash", "cgi", "fcgi", "command"];

/// Whether a file that is not Python by its name is read to see whether its first lines run
/// Python: when it can be run as a program (the executable bit), has no extension, or has a
/// shell's or CGI's extension. Other files (`README.md`, `data.json`, `logo.png`) are not read:
/// reading every blob of a large index costs inflating every blob.
pub fn read_for_launcher(path: &str, executable: bool) -> bool {
    if executable {
        return true;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.trim_start_matches('.').rsplit_once('.') {
        None => true,
        Some((_, ext)) => LAUNCHED_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known)),
    }
}

/// Whether a file's mode (executable or not) decides whether it is read: only for a name that
/// neither says it is Python nor is read for its first lines anyway. A mode-only change of any
/// other file changes nothing that is judged.
pub fn mode_matters(path: &str) -> bool {
    class_by_name(path).is_none() && !read_for_launcher(path, false)
}

/// How many bytes of a file's start are looked at for a launcher line.
const LAUNCHER_WINDOW: usize = 1024;

/// How many lines of a file's start may hold a polyglot's `exec` line.
const LAUNCHER_LINES: usize = 8;

/// Whether a file's first lines make it run as Python: a shebang naming a Python interpreter
/// or a launcher that runs the file as Python, or a shell/Python polyglot line.
pub fn runs_python(bytes: &[u8]) -> bool {
    is_python_shebang(bytes) || is_polyglot(bytes)
}

/// Whether a program name is a Python interpreter: `python3.12`, `pypy3`, `ipython`,
/// `jython`, `graalpy`, `micropython`, a path to one, or uv's `python@3.12`.
fn is_interpreter(word: &[u8]) -> bool {
    const NAMES: &[&[u8]] = &[
        b"python",
        b"pypy",
        b"ipython",
        b"jython",
        b"graalpy",
        b"micropython",
    ];
    let name = word.rsplit(|b| *b == b'/').next().unwrap_or(word);
    // Compared whatever the case: `Python3` names `python3` on the file systems of macOS.
    NAMES.iter().any(|n| {
        name.get(..n.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(n))
    }) || name.eq_ignore_ascii_case(b"py")
}

/// The words of the first line after `#!`, as `env -S` and the shell see them: quotes dropped
/// (`-S "python3"`, `p"ython3"`), `\_` a blank, split on blanks and on `=` (`--split-string=`,
/// `VAR=value`), each word reduced to its name after the last `/`.
fn shebang_words(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let rest = bytes.strip_prefix(b"#!")?;
    let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
    let mut text = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        match (line[i], line.get(i + 1)) {
            (b'"' | b'\'', _) => {}
            (b'\\', Some(b'_')) => {
                text.push(b' ');
                i += 1;
            }
            (b, _) => text.push(b),
        }
        i += 1;
    }
    Some(
        text.split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c' | b'='))
            .filter(|w| !w.is_empty())
            // `env -Spython3` glues the first word of the command to the option.
            .map(|w| match w.strip_prefix(b"-S") {
                Some(rest) if !rest.is_empty() && !rest.starts_with(b"-") => rest,
                _ => w,
            })
            .map(|w| w.rsplit(|b| *b == b'/').next().unwrap_or(w).to_vec())
            .collect(),
    )
}

/// `#!/usr/bin/env python3`, `#!/usr/bin/python -u`, `#!/usr/bin/env -S python3.12 -X dev`,
/// `#!/usr/bin/env -S "python3"`, `#!/usr/bin/env --split-string=python3`, `#!/usr/bin/env -S
/// timeout 9 python3`, `#!/usr/bin/env pypy3`, `#!/usr/bin/env -S uv --quiet run -s`,
/// `#!/usr/bin/env -S pipx run --path`, `#!/usr/bin/env -S poetry run python`...
///
/// Any word that names a Python interpreter, anywhere on the line, makes the file Python: `env`,
/// `timeout`, `uv run`, `uvx`, `pdm run`, `hatch run`, `poetry run`, `pipx run`, `conda run` all
/// end in running the program named after them, and the kernel hands that program the script's
/// path. (`#!/bin/bash -c 'echo python3'` counts too: a file wrongly taken for Python costs a
/// warning at most, one wrongly left out lands its code.) Without an interpreter's name, two
/// launchers still run the script itself as Python: `uv` followed by `run` and then `--script`,
/// `-s` or `--gui-script` (PEP 723 scripts), with any options in between, and `pipx` followed by
/// `run` and then `--path`. Given an extensionless path without those options, each runs it as a
/// program, not as Python; `pdm`, `hatch` and `poetry` run a script as Python only when its name
/// ends in `.py`, which is Python by its name already.
pub fn is_python_shebang(bytes: &[u8]) -> bool {
    let Some(words) = shebang_words(bytes) else {
        return false;
    };
    if words.iter().any(|w| is_interpreter(w)) {
        return true;
    }
    // Whether `launcher` is followed, later on the line, by `run` and then by a word `script`
    // accepts.
    let runs_script = |launcher: &[u8], script: &dyn Fn(&[u8]) -> bool| {
        words.iter().enumerate().any(|(at, w)| {
            w == launcher
                && words[at + 1..]
                    .iter()
                    .position(|w| w == b"run")
                    .is_some_and(|run| words[at + 2 + run..].iter().any(|w| script(w)))
        })
    };
    runs_script(b"uv", &|w| {
        matches!(w, b"--script" | b"--gui-script")
            // `-s`, alone or among other short options (`-qs`).
            || (w.len() > 1 && w[0] == b'-' && w[1] != b'-' && w.contains(&b's'))
    }) || runs_script(b"pipx", &|w| w == b"--path")
}

/// A shell/Python polyglot: a line among the first few that the shell reads as running Python
/// on the file itself and Python reads as a string, such as `"""exec" python3 "$0" "$@"`,
/// `''''exec python3 -u -- "$0" "$@"`, `"""python3" "$0" "$@"; exit #"""`, `"""exec"
/// "${PYTHON:-python3}" "$0"` or `"""exec" python3 "$(readlink -f "$0")"`. The rule is loose on
/// purpose, as the shell has many ways to say the same thing: with its quotes dropped, the line
/// holds a Python interpreter's name as a word (words end at anything but letters, digits, `.`,
/// `_`, `@` and `/`, so `${PYTHON:-python3}` holds `python3`) and `$0` or `${0` anywhere.
pub fn is_polyglot(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(LAUNCHER_WINDOW)];
    let names_itself = |text: &[u8]| {
        memchr::memmem::find(text, b"$0").is_some() || memchr::memmem::find(text, b"${0").is_some()
    };
    // Every form names the file as `$0` or `${0}`, and almost no file holds either: look for them
    // once before splitting lines.
    if !names_itself(head) {
        return false;
    }
    head.split(|b| *b == b'\n')
        .take(LAUNCHER_LINES)
        .any(|line| {
            let unquoted: Vec<u8> = line
                .iter()
                .copied()
                .filter(|b| !matches!(b, b'"' | b'\''))
                .collect();
            names_itself(&unquoted)
                && unquoted
                    .split(|b| {
                        !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'/'))
                    })
                    .any(is_interpreter)
        })
}

/// The part of a `.pth` file that `site` runs as Python: each line that starts with `import`
/// followed by a space or a tab. Lines are split as `site` splits them (`str.splitlines`: `\r`,
/// form feeds and the Unicode separators end a line too, so `dir\rimport x` is two lines), and
/// written back one per `\n`; every other line (a directory to add to `sys.path`, a comment)
/// becomes empty, so line numbers stay those `site` counts.
pub fn pth_code(bytes: &[u8]) -> Vec<u8> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut out = Vec::with_capacity(bytes.len());
    let mut start = 0;
    let mut i = 0;
    let line = |from: usize, to: usize, out: &mut Vec<u8>| {
        let text = &bytes[from..to];
        if text.starts_with(b"import ") || text.starts_with(b"import\t") {
            out.extend_from_slice(text);
        }
        out.push(b'\n');
    };
    while i < bytes.len() {
        let ends = match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => 2,
            b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1e => 1,
            0xc2 if bytes.get(i + 1) == Some(&0x85) => 2,
            0xe2 if matches!(bytes.get(i + 1..i + 3), Some([0x80, 0xa8 | 0xa9])) => 3,
            _ => 0,
        };
        if ends == 0 {
            i += 1;
            continue;
        }
        line(start, i, &mut out);
        i += ends;
        start = i;
    }
    if start < bytes.len() {
        line(start, bytes.len(), &mut out);
    }
    out
}

/// Source text ready for the parser, with what decoding had to do to get there.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    /// Set when the bytes were not valid in their declared encoding and were decoded lossily.
    pub lossy: Option<String>,
}

/// How a source file's bytes become text, from its PEP 263 declaration.
#[derive(Debug, PartialEq, Eq)]
enum Encoding {
    /// No declaration, or UTF-8 or ASCII: read as UTF-8.
    Utf8,
    /// Latin-1 and its Windows and Latin-9 relatives: one byte, one character.
    SingleByte,
    /// UTF-7, where plain ASCII such as `+AGQ-` stands for other letters (`d`).
    Utf7,
    /// Another codec CPython ships, by the name declared.
    Other(String),
    /// A name that is no codec CPython ships: only a codec registered at run time
    /// (`codecs.register`) can read the file, and it may map any byte to anything.
    Unknown(String),
}

/// What CPython makes of a declared codec name.
enum Codec {
    /// The tokenizer's own names for UTF-8 (`utf-8`, `utf_8`, `UTF-8-unix`...).
    Utf8,
    /// The tokenizer's own names for Latin-1 (`latin-1`, `iso-8859-1-x`...).
    Latin1,
    /// Any other name, normalised as `encodings.normalize_encoding` normalises it before looking
    /// it up.
    Named(String),
}

/// The codec CPython looks up for a declared name: first the tokenizer's `get_normal_name`
/// (its first 12 characters, lower case, `_` read as `-`), then the normalisation of the codec
/// registry (runs of characters other than ASCII letters, digits and `.` become one `_`, none
/// at either end).
fn python_codec(name: &str) -> Codec {
    let head: String = name
        .chars()
        .take(12)
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let is = |base: &str| head == base || head.starts_with(&format!("{base}-"));
    if is("utf-8") {
        return Codec::Utf8;
    }
    if is("latin-1") || is("iso-8859-1") || is("iso-latin-1") {
        return Codec::Latin1;
    }
    let mut norm = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if gap && !norm.is_empty() {
                norm.push('_');
            }
            norm.push(c.to_ascii_lowercase());
            gap = false;
        } else {
            gap = true;
        }
    }
    Codec::Named(norm)
}

impl Encoding {
    fn of(bytes: &[u8]) -> Encoding {
        let Some(name) = coding_declaration(bytes) else {
            return Encoding::Utf8;
        };
        match python_codec(&name) {
            Codec::Utf8 => return Encoding::Utf8,
            Codec::Latin1 => return Encoding::SingleByte,
            Codec::Named(codec) if codec_names::KNOWN.binary_search(&codec.as_str()).is_ok() => {}
            Codec::Named(codec)
                if codec_names::KNOWN
                    .binary_search(&codec.replace('.', "_").as_str())
                    .is_ok() => {}
            Codec::Named(_) => return Encoding::Unknown(name),
        }
        // Python's codec lookup ignores case and punctuation: `UTF_8`, `utf-8`, `utf8` agree.
        let key: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
        match key.as_str() {
            "utf8" | "u8" | "utf" | "cp65001" | "utf8sig" | "ascii" | "usascii" | "646" | "us" => {
                Encoding::Utf8
            }
            _ if key.starts_with("utf8") => Encoding::Utf8,
            "latin1" | "latin" | "l1" | "iso88591" | "isolatin1" | "8859" | "cp819" | "ibm819"
            | "iso8859" | "cp1252" | "windows1252" | "iso885915" | "latin9" | "l9" => {
                Encoding::SingleByte
            }
            // Python reads `latin-1-…` and `iso-8859-1-…` as Latin-1 too.
            _ if ["latin-1-", "iso-8859-1-", "iso-latin-1-"]
                .iter()
                .any(|p| name.replace('_', "-").starts_with(p)) =>
            {
                Encoding::SingleByte
            }
            "utf7" | "u7" | "unicode11utf7" | "csunicode11utf7" => Encoding::Utf7,
            _ => Encoding::Other(name),
        }
    }
}

/// Codecs Python accepts for source in which plain ASCII bytes can stand for other characters
/// (see [`codec_names::REWRITES_ASCII`], derived from CPython), and the escape decoders by any
/// name. A file declaring one is read only if the codec is exactly understood; none of these is.
fn rewrites_ascii(name: &str) -> bool {
    let Codec::Named(codec) = python_codec(name) else {
        return false;
    };
    codec.contains("escape")
        || codec_names::REWRITES_ASCII
            .binary_search(&codec.as_str())
            .is_ok()
        || codec_names::REWRITES_ASCII
            .binary_search(&codec.replace('.', "_").as_str())
            .is_ok()
}

/// Decodes Python source bytes as Python does (PEP 263): a UTF-8 BOM is dropped; a coding
/// declaration in the first two lines picks the codec. UTF-8, the Latin-1 family and UTF-7
/// are decoded exactly; another declared codec is accepted only for pure-ASCII text it cannot
/// rewrite, and refused otherwise (the file could say anything). Invalid UTF-8 is decoded
/// lossily with a note, so that a bad byte never hides the rest of the file. Identifiers are
/// then put in the form Python compares them in, see [`normalize_identifiers`].
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (text, lossy) = match Encoding::of(bytes) {
        Encoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(text) => (Cow::Borrowed(text), None),
            Err(_) => (
                String::from_utf8_lossy(bytes),
                Some("not valid UTF-8; decoded with replacement characters".to_string()),
            ),
        },
        // Each byte is one character: line and column positions stay exact.
        Encoding::SingleByte => (Cow::Owned(bytes.iter().map(|&b| b as char).collect()), None),
        Encoding::Utf7 => (Cow::Owned(decode_utf7(bytes)?), None),
        Encoding::Other(name) if bytes.is_ascii() && !rewrites_ascii(&name) => (
            Cow::Borrowed(std::str::from_utf8(bytes).expect("ASCII is UTF-8")),
            None,
        ),
        Encoding::Unknown(name) => {
            return Err(format!(
                "declares the source encoding `{name}`, which is no codec CPython ships: only a \
                 codec registered at run time can read it, and such a codec may turn any byte \
                 into anything, so dill-guard cannot vouch for the file; convert it to UTF-8 (or \
                 exclude it in the configuration)"
            ))
        }
        Encoding::Other(name) => {
            return Err(format!(
                "declares the source encoding `{name}`, which dill-guard cannot read exactly, so \
                 it cannot vouch for the file; convert it to UTF-8 (or exclude it in the \
                 configuration)"
            ))
        }
    };
    let text = match normalize_identifiers(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(normalized) => Cow::Owned(normalized),
    };
    Ok(Decoded { text, lossy })
}

/// Whether the file declares an encoding other than UTF-8, so that its bytes may not show
/// its text (`+AGQ-ill` is `dill` in UTF-7).
pub fn declares_other_encoding(bytes: &[u8]) -> bool {
    Encoding::of(bytes) != Encoding::Utf8
}

/// Python compares identifiers in Unicode normal form NFKC: `ｄｉｌｌ` and `𝐝𝐢𝐥𝐥` name the
/// module `dill`. Each run of word characters holding a non-ASCII one is replaced by its NFKC
/// form, unless that form would not be a word any more (`⑴` is `(1)`): a normalisation must
/// never add quotes or brackets that change how the rest of the text reads. Strings are
/// normalised too, which can only add findings. Lines never change; columns after such a run
/// may shift.
pub fn normalize_identifiers(text: &str) -> Cow<'_, str> {
    use unicode_normalization::UnicodeNormalization;
    if text.is_ascii() || is_nfkc(text) {
        return Cow::Borrowed(text);
    }
    let word =
        |c: char| c == '_' || c.is_ascii_alphanumeric() || (!c.is_ascii() && !c.is_whitespace());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_ascii()) {
        let first = rest[start..].chars().next().expect("found at start");
        if !word(first) {
            // Non-ASCII white space is no part of a name: keep it and go on after it.
            let after = start + first.len_utf8();
            out.push_str(&rest[..after]);
            rest = &rest[after..];
            continue;
        }
        // Back up to the start of the word the character is in.
        let begin = rest[..start]
            .char_indices()
            .rev()
            .take_while(|(_, c)| word(*c))
            .last()
            .map_or(start, |(i, _)| i);
        let end = rest[start..]
            .find(|c: char| !word(c))
            .map_or(rest.len(), |i| start + i);
        out.push_str(&rest[..begin]);
        let run = &rest[begin..end];
        let normalized: String = run.nfkc().collect();
        if normalized.chars().all(word) {
            out.push_str(&normalized);
        } else {
            out.push_str(run);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    if out == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(out)
    }
}

/// Whether a quick table lookup per character proves `text` is already in NFKC.
fn is_nfkc(text: &str) -> bool {
    unicode_normalization::is_nfkc_quick(text.chars()) == unicode_normalization::IsNormalized::Yes
}

/// Decodes UTF-7 (RFC 2152) as Python's codec does: `+` opens a run of modified base64 that
/// spells UTF-16, ended by `-` (dropped) or any other character (kept); `+-` is a plus sign.
fn decode_utf7(bytes: &[u8]) -> Result<String, String> {
    let bad = |why: &str| format!("declares UTF-7 but is not valid UTF-7 ({why})");
    let sextet = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut units: Vec<u16> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b >= 0x80 {
            return Err(bad("a byte above 127"));
        }
        if b != b'+' {
            units.push(u16::from(b));
            i += 1;
            continue;
        }
        i += 1;
        if bytes.get(i) == Some(&b'-') {
            units.push(u16::from(b'+'));
            i += 1;
            continue;
        }
        let (mut bits, mut count) = (0u32, 0u32);
        while let Some(value) = bytes.get(i).copied().and_then(sextet) {
            bits = (bits << 6) | value;
            count += 6;
            if count >= 16 {
                count -= 16;
                units.push((bits >> count) as u16);
                bits &= (1 << count) - 1;
            }
            i += 1;
        }
        if count >= 6 || bits != 0 {
            return Err(bad("a partial character in a shifted run"));
        }
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
    }
    String::from_utf16(&units).map_err(|_| bad("an unpaired surrogate"))
}

/// The encoding named by a PEP 263 declaration, found as Python finds it: a comment on line 1,
/// or on line 2 when line 1 holds only a comment or nothing, matching
/// `coding[:=][ \t]*([-\w.]+)` at its first place that matches; lower-cased.
fn coding_declaration(bytes: &[u8]) -> Option<String> {
    let mut lines = bytes.split(|b| *b == b'\n');
    let first = lines.next()?;
    if let Some(name) = declared_in(first) {
        return Some(name);
    }
    let first = first.trim_ascii();
    if first.is_empty() || first.starts_with(b"#") {
        return lines.next().and_then(declared_in);
    }
    None
}

fn declared_in(line: &[u8]) -> Option<String> {
    let line = line.trim_ascii_start();
    if !line.starts_with(b"#") {
        return None;
    }
    memchr::memmem::find_iter(line, b"coding").find_map(|at| {
        let rest = &line[at + b"coding".len()..];
        let rest = rest
            .strip_prefix(b":")
            .or_else(|| rest.strip_prefix(b"="))?;
        let rest = &rest[rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count()..];
        let name: String = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            .map(|&b| (b as char).to_ascii_lowercase())
            .collect();
        (!name.is_empty()).then_some(name)
    })
}

/// One code cell of a notebook, with its 1-based index in the notebook's `cells` array.
#[derive(Debug)]
pub struct Cell {
    pub index: usize,
    pub source: String,
}

/// Reads the code cells of a notebook, as Python: see [`neutralise_magics`] for IPython's own
/// syntax. Line numbers and columns inside each cell are kept.
pub fn notebook_cells(bytes: &[u8]) -> Result<Vec<Cell>, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| format!("not a valid notebook: {err}"))?;
    let cells = doc
        .get("cells")
        .and_then(|cells| cells.as_array())
        .ok_or_else(|| "not a valid notebook: no `cells` array".to_string())?;
    let mut out = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        if cell.get("cell_type").and_then(|t| t.as_str()) != Some("code") {
            continue;
        }
        let source = match cell.get("source") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Array(parts)) => {
                let mut joined = String::new();
                for part in parts {
                    joined.push_str(part.as_str().ok_or_else(|| {
                        format!(
                            "not a valid notebook: cell {} has a non-string source line",
                            i + 1
                        )
                    })?);
                }
                joined
            }
            None => String::new(),
            Some(_) => {
                return Err(format!(
                    "not a valid notebook: cell {} has a source that is neither text nor a list",
                    i + 1
                ))
            }
        };
        out.push(Cell {
            index: i + 1,
            source: normalize_identifiers(&neutralise_magics(&source)).into_owned(),
        });
    }
    Ok(out)
}

/// Where each line of each code cell's source sits in the notebook file itself: for the cell
/// with 1-based index `i` in `cells`, `map[&i][k]` is the 1-based line of the `.ipynb` file
/// holding the JSON string in which the cell's line `k + 1` starts. Reports that point into the
/// file (SARIF) need it; a notebook that is not valid JSON gives an empty map.
pub fn notebook_source_lines(bytes: &[u8]) -> std::collections::HashMap<usize, Vec<usize>> {
    enum Frame {
        Object { key: Option<String> },
        Array { index: usize },
    }
    let mut strings: std::collections::HashMap<usize, Vec<(usize, String)>> = Default::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut expecting_key = false;
    let (mut i, mut line) = (0usize, 1usize);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => line += 1,
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => line += 1,
            b'{' => {
                stack.push(Frame::Object { key: None });
                expecting_key = true;
            }
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { .. }) => expecting_key = true,
                None => {}
            },
            b':' => expecting_key = false,
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let Some(raw) = bytes.get(start..=i) else {
                    break;
                };
                let Ok(text) = serde_json::from_slice::<String>(raw) else {
                    return Default::default();
                };
                if expecting_key {
                    if let Some(Frame::Object { key }) = stack.last_mut() {
                        *key = Some(text);
                    }
                } else {
                    let key_is = |frame: &Frame, want: &str| matches!(frame, Frame::Object { key: Some(k) } if k == want);
                    let cell = match &stack[..] {
                        [root, Frame::Array { index }, cell]
                        | [root, Frame::Array { index }, cell, Frame::Array { .. }]
                            if key_is(root, "cells") && key_is(cell, "source") =>
                        {
                            Some(index + 1)
                        }
                        _ => None,
                    };
                    if let Some(cell) = cell {
                        strings.entry(cell).or_default().push((line, text));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    strings
        .into_iter()
        .map(|(cell, parts)| {
            let mut lines = vec![parts.first().map_or(1, |p| p.0)];
            for (k, (at, text)) in parts.iter().enumerate() {
                let bytes = text.as_bytes();
                for (j, &b) in bytes.iter().enumerate() {
                    let ends = b == b'\n' || (b == b'\r' && bytes.get(j + 1) != Some(&b'\n'));
                    if ends {
                        // The next line starts in this string, or in the next one.
                        let next = if j + 1 < bytes.len() {
                            *at
                        } else {
                            parts.get(k + 1).map_or(*at, |p| p.0)
                        };
                        lines.push(next);
                    }
                }
            }
            (cell, lines)
        })
        .collect()
}

/// IPython syntax that is not Python, made Python with every line and column kept: magics and
/// shell escapes that run no Python are blanked; magics that run the Python after them
/// (`%time`, `%timeit`, `%prun`; cells under `%%time`, `%%timeit`, `%%prun`, `%%capture`,
/// `%%debug`, `%%python`, `%%script python3`) keep that Python, their own words turned to spaces;
/// help requests (`?name`, `name?`, `name??`) are blanked.
fn neutralise_magics(source: &str) -> String {
    let first = source.lines().next().unwrap_or("").trim_start();
    if let Some(magic) = first.strip_prefix("%%") {
        let mut words = magic.split_whitespace();
        let name = words.next().unwrap_or("");
        let python_body = match name {
            "time" | "timeit" | "capture" | "prun" | "debug" | "python" | "python2" | "python3"
            | "pypy" => true,
            "script" => words.next().is_some_and(|w| {
                let program = w.rsplit('/').next().unwrap_or(w);
                program.starts_with("python") || program.starts_with("pypy")
            }),
            _ => false,
        };
        if !python_body {
            // %%bash, %%html, %%writefile...: the body is not Python.
            return source.lines().map(|_| "\n").collect();
        }
    }
    let mut out = String::with_capacity(source.len());
    for line in source.split_inclusive('\n') {
        let body = line.trim_start();
        let indent = line.len() - body.len();
        let newline = if line.ends_with('\n') { "\n" } else { "" };
        if let Some(start) = line_magic_code(body) {
            // `%time x = dill.load(f)` runs `x = dill.load(f)`: keep it where it stands, the
            // magic's words turned into `pass;` and spaces (spaces alone would indent it).
            out.push_str(&line[..indent]);
            out.push_str("pass;");
            out.extend(std::iter::repeat_n(' ', start.saturating_sub(5)));
            out.push_str(&body[start..]);
        } else if body.starts_with('%')
            || body.starts_with('!')
            || body.starts_with('?')
            || is_help_request(body.trim_end())
        {
            out.push_str(newline);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// For a line magic that runs the Python after it, where that Python starts in `body`.
fn line_magic_code(body: &str) -> Option<usize> {
    let rest = body.strip_prefix('%')?;
    if rest.starts_with('%') {
        return None;
    }
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    // Options that take a value, for each magic that runs code.
    let with_value: &[&str] = match &rest[..name_len] {
        "time" => &[],
        "timeit" => &["-n", "-r", "-p"],
        "prun" => &["-l", "-s", "-T", "-D"],
        _ => return None,
    };
    let mut at = 1 + name_len;
    let mut expect_value = false;
    loop {
        let tail = &body[at..];
        let skipped = tail.len() - tail.trim_start().len();
        let word_start = at + skipped;
        let word = body[word_start..].split_whitespace().next().unwrap_or("");
        if word.is_empty() {
            return Some(word_start);
        }
        if expect_value {
            expect_value = false;
        } else if word.starts_with('-')
            && word.len() > 1
            && !word[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.')
        {
            expect_value = with_value.contains(&word);
        } else {
            return Some(word_start);
        }
        at = word_start + word.len();
    }
}

/// `name?`, `obj.attr??`: IPython's help, not Python.
fn is_help_request(line: &str) -> bool {
    let name = line.trim_end_matches('?');
    line.len() > name.len()
        && line.len() - name.len() <= 2
        && !name.is_empty()
        && name.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c == '_' || c.is_alphabetic())
                && part.chars().all(|c| c == '_' || c.is_alphanumeric())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_lines_map_to_the_lines_of_the_notebook_file() {
        let notebook = br##"{
 "cells": [
  {"cell_type": "markdown", "source": ["# title\n"]},
  {
   "cell_type": "code",
   "source": [
    "import dill\n",
    "x = 1\n",
    "dill.loads(b)"
   ]
  },
  {"cell_type": "code", "source": "a\nb\n\u0063"}
 ],
 "metadata": {"source": "not a cell"}
}"##;
        let map = notebook_source_lines(notebook);
        assert_eq!(map[&2], vec![7, 8, 9]);
        assert_eq!(map[&3], vec![12, 12, 12]);
        assert_eq!(map[&1], vec![3, 3]);
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn magics_that_run_python_keep_their_python_in_place() {
        assert_eq!(
            neutralise_magics("%time x = dill.load(f)\n"),
            "pass; x = dill.load(f)\n"
        );
        assert_eq!(
            neutralise_magics("  %timeit -n 10 -r 3 dill.loads(b)\n"),
            "  pass;              dill.loads(b)\n"
        );
        assert_eq!(
            neutralise_magics("%prun -l 5 -q f(x)"),
            "pass;         f(x)"
        );
        assert_eq!(
            neutralise_magics("%matplotlib inline\n!pip install dill\n"),
            "\n\n"
        );
        assert_eq!(
            neutralise_magics("len?\nos.path.join??\n?x\nx = 1\n"),
            "\n\n\nx = 1\n"
        );
        assert_eq!(neutralise_magics("%%bash\necho dill.loads\n"), "\n\n");
        for cell in [
            "%%debug",
            "%%python3",
            "%%script python3",
            "%%script /usr/bin/python",
            "%%capture out",
        ] {
            let text = format!("{cell}\ndill.loads(b)\n");
            assert_eq!(neutralise_magics(&text), "\ndill.loads(b)\n", "{cell}");
        }
        assert_eq!(neutralise_magics("%%script bash\ndill.loads(b)\n"), "\n\n");
    }

    #[test]
    fn classifies_by_extension_whatever_its_case() {
        assert_eq!(kind_by_name("a/b.py"), Some(Kind::Source));
        assert_eq!(kind_by_name("b.pyi"), Some(Kind::Source));
        assert_eq!(kind_by_name("b.pyw"), Some(Kind::Source));
        assert_eq!(kind_by_name("n.ipynb"), Some(Kind::Notebook));
        assert_eq!(kind_by_name("helpers.PY"), Some(Kind::Source));
        assert_eq!(kind_by_name("gui.Pyw"), Some(Kind::Source));
        assert_eq!(kind_by_name("N.IPYNB"), Some(Kind::Notebook));
        assert_eq!(kind_by_name("site/app.wsgi"), Some(Kind::Source));
        assert_eq!(kind_by_name("fast.pyx"), Some(Kind::Cython));
        assert_eq!(kind_by_name("fast.PXD"), Some(Kind::Cython));
        assert_eq!(kind_by_name("fast.pxi"), Some(Kind::Cython));
        assert_eq!(class_by_name("app.pyz"), Some(Class::Zipapp));
        assert_eq!(class_by_name("app.PYZW"), Some(Class::Zipapp));
        assert_eq!(class_by_name("lib/site-packages/x.pth"), Some(Class::Pth));
        assert_eq!(kind_by_name("app.pyz"), None);
        assert_eq!(kind_by_name("b.pyc"), None);
        assert_eq!(class_by_name("b.pyc"), Some(Class::Compiled));
        assert_eq!(class_by_name("lib/b.PYO"), Some(Class::Compiled));
        assert_eq!(class_by_name("lib/__pycache__/b.cpython-311.pyc"), None);
        assert_eq!(
            class_by_name("dist/x-1.0-py3-none-any.whl"),
            Some(Class::Package)
        );
        assert_eq!(class_by_name("lib.EGG"), Some(Class::Package));
        assert_eq!(kind_by_name("py"), None);
        assert_eq!(kind_by_name(".py"), None);
        assert_eq!(kind_by_name("notes.md"), None);
    }

    #[test]
    fn reads_the_first_lines_of_files_that_can_be_run() {
        for path in [
            "bin/tool",
            "tool.sh",
            "restore.cgi",
            "x.BASH",
            ".envrc",
            "run.command",
        ] {
            assert!(read_for_launcher(path, false), "{path}");
        }
        for path in ["README.md", "data.json", "logo.png", "lib.so", "a.tar.gz"] {
            assert!(!read_for_launcher(path, false), "{path}");
            assert!(read_for_launcher(path, true), "{path}");
            assert!(mode_matters(path), "{path}");
        }
        for path in ["a.py", "tool", "tool.sh", "app.pyz"] {
            assert!(!mode_matters(path), "{path}");
        }
    }

    #[test]
    fn shebangs_that_run_python() {
        for line in [
            "#!/usr/bin/env python3\nimport dill\n",
            "#!/usr/bin/python -u\n",
            "#!/usr/bin/env -S python3.12 -X dev\n",
            "#! /usr/bin/env python\r\n",
            "#!/usr/bin/env pypy3\n",
            "#!/opt/pypy/bin/pypy\n",
            "#!/usr/bin/env ipython\n",
            "#!/usr/bin/env ipython3 --no-banner\n",
            "#!/usr/bin/env jython\n",
            "#!/usr/bin/env graalpy\n",
            "#!/usr/bin/env micropython\n",
            "#!/usr/bin/env -S uv run --script\n",
            "#!/usr/bin/env -S uv run --quiet --script\n",
            "#!/usr/bin/env -S uv run -s\n",
            "#!/usr/bin/env -S uv run --gui-script\n",
            "#!/usr/bin/env -S uv run python\n",
            "#!/usr/bin/env -S uvx python@3.12\n",
            "#!/usr/bin/env -S pipx run --path\n",
            "#!/usr/bin/env -S pdm run python\n",
            "#!/usr/bin/env -S hatch run python\n",
            "#!/usr/bin/env -S poetry run python3\n",
            "#!/usr/bin/env -Spython3\n",
            "#!/usr/bin/env -i PYTHONPATH=. python3\n",
            // What `env -S` and the shell make of quotes, `\_` and `=`.
            "#!/usr/bin/env -S \"python3\"\n",
            "#!/usr/bin/env -S 'python3'\n",
            "#!/usr/bin/env -S p\"ython3\"\n",
            "#!/usr/bin/env -S\"python3\"\n",
            "#!/usr/bin/env --split-string=python3\n",
            "#!/usr/bin/env -S PYX=1\\_python3\n",
            "#!/usr/bin/env -S timeout 9 \"python3\"\n",
            "#!/usr/bin/env -S uv --quiet run --script\n",
            "#!/usr/bin/env -S uv -q run -s\n",
            "#!/usr/bin/env -S uv --offline run --no-project -s\n",
            "#!/usr/bin/env -S uv run \"--script\"\n",
            "#!/usr/bin/env -S uv run -qs\n",
            "#!/usr/bin/env -S /opt/bin/uv run --script\n",
            "#!/usr/bin/env -S pipx --verbose run --path\n",
            "#!/usr/bin/env Python3\n",
            // Taken for Python on purpose: a false alarm costs a warning, a miss lands code.
            "#!/usr/bin/env bash -c 'echo python3'\n",
        ] {
            assert!(is_python_shebang(line.as_bytes()), "{line}");
            assert!(runs_python(line.as_bytes()), "{line}");
        }
        for line in [
            "#!/bin/sh\necho python\n",
            "import dill\n",
            "#!/usr/bin/env bash\n",
            "#!/usr/bin/env node\n",
            // uv given an extensionless path without `--script` runs it as a program.
            "#!/usr/bin/env -S uv run\n",
            "#!/usr/bin/env -S uv run --with rich\n",
            "#!/usr/bin/env -S pipx run\n",
            "#!/usr/bin/env -S poetry run\n",
            "#!/usr/bin/env -S uv run --quiet\n",
            "#!/usr/bin/env -S run uv --script\n",
            "#!/usr/bin/env -S \"node\" --experimental\n",
            "#!/usr/bin/env -S PATH=/opt/bin deno run\n",
            "# python3\n",
        ] {
            assert!(!is_python_shebang(line.as_bytes()), "{line}");
        }
    }

    #[test]
    fn shell_python_polyglots() {
        for text in [
            "#!/bin/sh\n\"\"\"exec\" python3 \"$0\" \"$@\"\n\"\"\"\nimport dill\n",
            "#!/bin/sh\n''''exec python3 -u -- \"$0\" ${1+\"$@\"} # '''\nimport dill\n",
            "#!/bin/sh\n# a comment\n\"exec\" \"python\" \"$0\" \"$@\"\n",
            "\"\"\":\"\nexec pypy3 \"$0\" \"$@\"\n\"\"\"\n",
            // No `exec`, other spellings of the interpreter and of the file's path.
            "#!/bin/sh\n\"\"\"python3\" \"$0\" \"$@\"; exit #\"\"\"\n",
            "#!/bin/sh\n\"\"\"command\" exec python3 \"$0\" #\"\"\"\n",
            "#!/bin/sh\n\"\"\"exec\" \"${PYTHON:-python3}\" \"$0\" \"$@\" #\"\"\"\n",
            "#!/bin/sh\n\"\"\"exec\" python3 \"$(readlink -f \"$0\")\" #\"\"\"\n",
            "#!/bin/sh\n\"\"\"exec\" python3 \"./$0\" #\"\"\"\n",
            "#!/bin/sh\n\"\"\"exec\" /usr/bin/python3 \"${0}\" #\"\"\"\n",
        ] {
            assert!(is_polyglot(text.as_bytes()), "{text}");
            assert!(runs_python(text.as_bytes()), "{text}");
        }
        for text in [
            "#!/bin/sh\nexec python3 -m tool \"$@\"\n",
            "#!/bin/sh\nexec ruby \"$0\"\n",
            "#!/bin/sh\necho \"usage: $0 FILE\"\n",
        ] {
            assert!(!is_polyglot(text.as_bytes()), "{text}");
        }
        // Loose on purpose: a line that only prints such a command counts too.
        assert!(is_polyglot(b"#!/bin/sh\necho exec python3 \"$0\"\n"));
        // Only the first lines are looked at.
        let late = format!("#!/bin/sh\n{}exec python3 \"$0\"\n", "\n".repeat(10));
        assert!(!is_polyglot(late.as_bytes()));
    }

    #[test]
    fn pth_lines_that_site_runs() {
        let pth = b"/opt/lib\nimport dill; dill.loads(b'')\n# import os\n import x\nimport\tsys\n";
        assert_eq!(
            pth_code(pth),
            b"\nimport dill; dill.loads(b'')\n\n\nimport\tsys\n".to_vec()
        );
        // `site` splits lines as `str.splitlines` does.
        assert_eq!(
            pth_code(b"/opt\rimport dill\x0cimport os"),
            b"\nimport dill\nimport os\n".to_vec()
        );
        assert_eq!(
            pth_code(b"\xEF\xBB\xBFimport os\n"),
            b"import os\n".to_vec()
        );
    }

    #[test]
    fn decodes_bom_latin1_and_invalid_bytes() {
        let d = decode(b"\xEF\xBB\xBFimport dill\n").unwrap();
        assert_eq!(d.text, "import dill\n");
        assert!(d.lossy.is_none());
        let d = decode(b"# -*- coding: latin-1 -*-\ns = '\xe9'\n").unwrap();
        assert_eq!(d.text, "# -*- coding: latin-1 -*-\ns = '\u{e9}'\n");
        assert!(d.lossy.is_none());
        let d = decode(b"s = '\xff'\n").unwrap();
        assert!(d.lossy.is_some());
        assert!(d.text.starts_with("s = '"));
    }

    #[test]
    fn finds_declarations_where_python_does() {
        let decl = |text: &str| coding_declaration(text.as_bytes());
        assert_eq!(decl("# -*- coding: latin-1 -*-\n"), Some("latin-1".into()));
        assert_eq!(
            decl("#!/usr/bin/env python\n# coding=utf-7\n"),
            Some("utf-7".into())
        );
        assert_eq!(
            decl("\n# vim: set fileencoding=UTF-7 :\n"),
            Some("utf-7".into())
        );
        // A later `coding` matches when the first one does not.
        assert_eq!(decl("# encoding coding: utf-7\n"), Some("utf-7".into()));
        // Line 2 counts only after a comment or blank line 1; line 3 never.
        assert_eq!(decl("x = 1\n# coding: utf-7\n"), None);
        assert_eq!(decl("#\n#\n# coding: utf-7\n"), None);
        assert_eq!(decl("s = '# coding: utf-7'\n"), None);
    }

    #[test]
    fn decodes_utf7_as_python_does() {
        let d = decode(b"# coding: utf-7\nimport +AGQ-ill\n+AGQ-ill.loads(x) +- 1\n").unwrap();
        assert_eq!(d.text, "# coding: utf-7\nimport dill\ndill.loads(x) + 1\n");
        // A run ended by a character other than `-` keeps it.
        assert_eq!(decode_utf7(b"+AGQ.x").unwrap(), "d.x");
        assert_eq!(decode_utf7(b"+2D3fAA-").unwrap(), "\u{1f700}");
        assert!(decode_utf7(b"+AG-").is_err());
        assert!(decode_utf7(b"\xff").is_err());
        assert_eq!(decode_utf7(b"+AGQ").unwrap(), "d");
        assert!(decode(b"# coding: u7\n+AGR-\n").is_err());
    }

    #[test]
    fn other_encodings_only_when_they_cannot_hide_anything() {
        // Pure ASCII in an ASCII-preserving codec reads as itself.
        let d = decode(b"# coding: cp1251\nimport dill\n").unwrap();
        assert_eq!(d.text, "# coding: cp1251\nimport dill\n");
        // Non-ASCII bytes, or a codec that rewrites ASCII, cannot be vouched for.
        assert!(decode(b"# coding: cp1251\ns = '\xe9'\n").is_err());
        for codec in [
            "unicode_escape",
            "raw-unicode-escape",
            "cp037",
            "iso2022_jp",
            "hz",
            "idna",
        ] {
            let text = format!("# coding: {codec}\nimport \\x64ill\n");
            let err = decode(text.as_bytes()).unwrap_err();
            assert!(err.contains(&format!("`{codec}`")), "{err}");
        }
        // The JIS X 0213 codecs read `\\` as `¥` and `~` as `‾`, by any of their names.
        for codec in [
            "shift_jis_2004",
            "shift_jisx0213",
            "sjis_2004",
            "shiftjisx0213",
            "Shift-JIS-2004",
            "s_jisx0213",
            "iso2022_jp_2004",
            "cp864",
            "raw_unicode_escape",
        ] {
            let text = format!("# coding: {codec}\ns = 'a\\'\n");
            let err = decode(text.as_bytes()).unwrap_err();
            assert!(err.contains("cannot read exactly"), "{codec}: {err}");
        }
        // EUC keeps ASCII as it is.
        assert!(decode(b"# coding: euc_jis_2004\nimport dill\n").is_ok());
        for ok in [
            "utf-8",
            "UTF8",
            "utf_8",
            "ascii",
            "utf-8-unix",
            "latin_1",
            "iso-8859-1-x",
        ] {
            let text = format!("# coding: {ok}\nimport dill\n");
            assert!(decode(text.as_bytes()).is_ok(), "{ok}");
        }
    }

    #[test]
    fn a_codec_cpython_does_not_ship_is_an_error() {
        // Only `codecs.register` at run time makes these readable, as anything at all.
        for codec in ["rotx", "u_t_f_8", "utf8x", "my-codec", "aliases", "mbcs"] {
            let text = format!("# coding: {codec}\nimport dill\n");
            let err = decode(text.as_bytes()).unwrap_err();
            assert!(err.contains(&format!("`{codec}`")), "{err}");
            assert!(err.contains("no codec CPython ships"), "{err}");
        }
        // Python normalises names before it looks them up.
        for codec in [
            "UTF-8",
            "Latin-1",
            "ISO_8859-15",
            "cp1251",
            "us-ascii",
            "ansi_x3.4_1968",
            "KOI8-R",
            "utf_8_sig",
            "windows-1252",
        ] {
            let text = format!("# coding: {codec}\nimport dill\n");
            assert!(decode(text.as_bytes()).is_ok(), "{codec}");
        }
    }

    #[test]
    fn codec_tables_are_sorted_for_binary_search() {
        for table in [codec_names::KNOWN, codec_names::REWRITES_ASCII] {
            assert!(table.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(codec_names::REWRITES_ASCII
            .iter()
            .all(|name| codec_names::KNOWN.contains(name)));
    }

    #[test]
    fn identifiers_are_read_in_nfkc_like_python() {
        let norm = |t: &'static str| normalize_identifiers(t).into_owned();
        assert_eq!(
            norm("import ｄｉｌｌ\nｄｉｌｌ.ｌｏａｄｓ(x)\n"),
            "import dill\ndill.loads(x)\n"
        );
        assert_eq!(norm("import 𝐝𝐢𝐥𝐥 as d\n"), "import dill as d\n");
        assert_eq!(norm("x = ℓ\n"), "x = l\n");
        // Forms that would stop being one word are left alone.
        assert_eq!(norm("x = ⑴\ns = \"＂\"\n"), "x = ⑴\ns = \"＂\"\n");
        assert_eq!(norm("café = 'naïve'\n"), "café = 'naïve'\n");
        // Non-ASCII white space between words, alone, first and last.
        assert_eq!(norm("a\u{a0}ｂ\u{3000}"), "a\u{a0}b\u{3000}");
        assert_eq!(norm("\u{3000}"), "\u{3000}");
        assert_eq!(norm("\u{2028}x\u{85}"), "\u{2028}x\u{85}");
        assert!(matches!(normalize_identifiers("plain"), Cow::Borrowed(_)));
        assert!(declares_other_encoding(b"# coding: utf-7\nimport os\n"));
        assert!(!declares_other_encoding(b"# -*- coding: utf-8 -*-\n"));
    }

    #[test]
    fn notebook_code_cells_with_magics_blanked() {
        let nb = br#"{"cells": [
            {"cell_type": "markdown", "source": ["import dill\n"]},
            {"cell_type": "code", "source": ["%matplotlib inline\n", "import dill\n", "!ls\n"]},
            {"cell_type": "code", "source": "%%bash\necho dill.loads\n"}
        ]}"#;
        let cells = notebook_cells(nb).unwrap();
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[0].index, 2);
        assert_eq!(cells[0].source, "\nimport dill\n\n");
        assert_eq!(cells[1].index, 3);
        assert!(!cells[1].source.contains("dill"));
        assert!(notebook_cells(b"{\"cells\": 3}").is_err());
        assert!(notebook_cells(b"not json").is_err());
    }
}
