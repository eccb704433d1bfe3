//! What counts as Python, and how its bytes become text the parser accepts: file classification
//! (extensions, shebangs), decoding (BOM, PEP 263 coding declarations, invalid UTF-8) and notebook
//! code cells. Nothing here knows about dill.

use std::borrow::Cow;

/// How a file is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Python source: `.py`, `.pyi`, `.pyw`, or a python shebang.
    Source,
    /// A Jupyter notebook (`.ipynb`): code cells only.
    Notebook,
}

/// Classifies by name alone. `None` means "not Python by its name"; an extensionless file may
/// still be Python by its shebang, see [`needs_shebang_check`] and [`is_python_shebang`].
pub fn kind_by_name(path: &str) -> Option<Kind> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map(|(_, ext)| ext)?;
    match ext {
        "py" | "pyi" | "pyw" => Some(Kind::Source),
        "ipynb" => Some(Kind::Notebook),
        _ => None,
    }
}

/// An extensionless file is Python when its first line is a python shebang.
pub fn needs_shebang_check(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    !name.contains('.')
}

/// `#!/usr/bin/env python3`, `#!/usr/bin/python -u`, `#!/usr/bin/env -S python3.12 -X dev`...
pub fn is_python_shebang(bytes: &[u8]) -> bool {
    let Some(rest) = bytes.strip_prefix(b"#!") else {
        return false;
    };
    let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
    line.split(|b| *b == b' ' || *b == b'\t' || *b == b'/')
        .any(|word| word.starts_with(b"python"))
}

/// Source text ready for the parser, with what decoding had to do to get there.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    /// Set when the bytes were not valid in their declared encoding and were decoded lossily.
    pub lossy: Option<String>,
}

/// Decodes Python source bytes per PEP 263: a UTF-8 BOM is dropped; a coding declaration in the
/// first two lines selects latin-1 style single-byte decoding; anything else is UTF-8, decoded
/// lossily (with a note) when invalid, so that a bad byte never hides the rest of the file.
pub fn decode(bytes: &[u8]) -> Decoded<'_> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Decoded {
            text: Cow::Borrowed(text),
            lossy: None,
        };
    }
    match coding_declaration(bytes).as_deref() {
        Some(
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "iso-latin-1" | "l1" | "cp1252"
            | "windows-1252" | "iso-8859-15" | "iso8859-15" | "latin-9",
        ) => Decoded {
            // Each byte is one character: line and column positions stay exact.
            text: Cow::Owned(bytes.iter().map(|&b| b as char).collect()),
            lossy: None,
        },
        declared => {
            let why = match declared {
                Some(name) => format!(
                    "declared encoding `{name}` is not supported; decoded as UTF-8 with replacement characters"
                ),
                None => "not valid UTF-8; decoded with replacement characters".to_string(),
            };
            Decoded {
                text: String::from_utf8_lossy(bytes),
                lossy: Some(why),
            }
        }
    }
}

/// The encoding named by a PEP 263 declaration on line 1 or 2, lower-cased, `_` as `-`.
fn coding_declaration(bytes: &[u8]) -> Option<String> {
    for line in bytes.split(|b| *b == b'\n').take(2) {
        let trimmed = line.trim_ascii_start();
        if !trimmed.starts_with(b"#") {
            continue;
        }
        let at = memchr::memmem::find(trimmed, b"coding")?;
        let rest = &trimmed[at + b"coding".len()..];
        let rest = rest
            .strip_prefix(b":")
            .or_else(|| rest.strip_prefix(b"="))?;
        let rest = rest.trim_ascii_start();
        let name: String = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            .map(|&b| (b as char).to_ascii_lowercase())
            .collect();
        if !name.is_empty() {
            return Some(name.replace('_', "-"));
        }
    }
    None
}

/// One code cell of a notebook, with its 1-based index in the notebook's `cells` array.
#[derive(Debug)]
pub struct Cell {
    pub index: usize,
    pub source: String,
}

/// Reads the code cells of a notebook. IPython magics and shell escapes are blanked (the line
/// stays, so line numbers inside the cell are kept); a cell magic other than timing makes the
/// whole cell non-Python.
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
            source: neutralise_magics(&source),
        });
    }
    Ok(out)
}

fn neutralise_magics(source: &str) -> String {
    let first = source.lines().next().unwrap_or("").trim_start();
    if let Some(magic) = first.strip_prefix("%%") {
        let name = magic.split_whitespace().next().unwrap_or("");
        if !matches!(name, "time" | "timeit" | "capture" | "prun") {
            // %%bash, %%html, %%writefile...: the body is not Python.
            return source.lines().map(|_| "\n").collect();
        }
    }
    let mut out = String::with_capacity(source.len());
    for line in source.split_inclusive('\n') {
        let body = line.trim_start();
        if body.starts_with('%') || body.starts_with('!') || body.starts_with('?') {
            out.push_str(if line.ends_with('\n') { "\n" } else { "" });
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_extension_and_shebang() {
        assert_eq!(kind_by_name("a/b.py"), Some(Kind::Source));
        assert_eq!(kind_by_name("b.pyi"), Some(Kind::Source));
        assert_eq!(kind_by_name("b.pyw"), Some(Kind::Source));
        assert_eq!(kind_by_name("n.ipynb"), Some(Kind::Notebook));
        assert_eq!(kind_by_name("b.pyc"), None);
        assert_eq!(kind_by_name("py"), None);
        assert!(needs_shebang_check("bin/tool"));
        assert!(!needs_shebang_check("bin/tool.sh"));
        assert!(is_python_shebang(b"#!/usr/bin/env python3\nimport dill\n"));
        assert!(is_python_shebang(b"#!/usr/bin/python -u\n"));
        assert!(is_python_shebang(b"#!/usr/bin/env -S python3.12 -X dev\n"));
        assert!(!is_python_shebang(b"#!/bin/sh\necho python\n"));
        assert!(!is_python_shebang(b"import dill\n"));
    }

    #[test]
    fn decodes_bom_latin1_and_invalid_bytes() {
        let d = decode(b"\xEF\xBB\xBFimport dill\n");
        assert_eq!(d.text, "import dill\n");
        assert!(d.lossy.is_none());
        let d = decode(b"# -*- coding: latin-1 -*-\ns = '\xe9'\n");
        assert_eq!(d.text, "# -*- coding: latin-1 -*-\ns = '\u{e9}'\n");
        assert!(d.lossy.is_none());
        let d = decode(b"s = '\xff'\n");
        assert!(d.lossy.is_some());
        assert!(d.text.starts_with("s = '"));
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
