//! The import statements of a file, read from its bytes without parsing it: which modules it
//! imports and which names it takes from them, so that names imported from other modules of
//! the same repository can be resolved before the file is analysed.

use super::scan::{skip_string, tokens, Tok};

/// One import statement's module and the names it takes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImportSpec {
    /// Leading dots of a relative import (`from ..x import y` is 2); 0 for an absolute one.
    pub level: u32,
    /// The module as written after the dots (empty for `from . import x`).
    pub module: String,
    /// The names a `from` import takes (`*` for a star import); empty for `import module`.
    pub names: Vec<String>,
    /// The names the statement binds in the importing module: for a `from` import, one per
    /// name taken (its `as` name, if any); for `import a.b`, `a` (or the `as` name).
    pub bound: Vec<String>,
}

impl ImportSpec {
    /// The module `name` is when taken from this import's module as a submodule
    /// (`from pkg import sub` is `pkg.sub`; `from . import sub` is `sub`).
    pub fn submodule(&self, name: &str) -> String {
        match self.module.as_str() {
            "" => name.to_string(),
            module => format!("{module}.{name}"),
        }
    }
}

/// Longest statement read: no real import is near this long.
const MAX_STATEMENT: usize = 64 << 10;

/// Every import statement of a Python file (and possibly a few lookalikes inside strings: they
/// only cost a lookup), from its bytes: only the statements need be text.
pub fn imports_of(bytes: &[u8]) -> Vec<ImportSpec> {
    let mut out = Vec::new();
    let mut read_until = 0;
    for at in memchr::memmem::find_iter(bytes, b"import") {
        if at < read_until {
            continue;
        }
        let line_start = |end: usize| {
            bytes[..end]
                .iter()
                .rposition(|&b| b == b'\n' || b == b'\r' || b == b';')
                .map_or(0, |k| k + 1)
        };
        let mut start = line_start(at);
        // A line a backslash continues belongs to the statement.
        loop {
            let before = bytes[..start]
                .strip_suffix(b"\n")
                .unwrap_or(&bytes[..start]);
            let before = before.strip_suffix(b"\r").unwrap_or(before);
            if start == 0 || !before.ends_with(b"\\") {
                break;
            }
            start = line_start(before.len() - 1);
        }
        let end = statement_end(bytes, start);
        read_until = end;
        let statement = String::from_utf8_lossy(&bytes[start..end]);
        read_statements(&tokens(&statement), &mut out);
    }
    dynamic_imports(bytes, &mut out);
    out
}

/// Modules imported by a call with a plain literal name (`importlib.import_module("pkg.compat")`,
/// `__import__("pkg.compat")`, `pytest.importorskip("pkg.compat")`), as `import pkg.compat`
/// would: they are resolved against the repository's modules like any import.
fn dynamic_imports(bytes: &[u8], out: &mut Vec<ImportSpec>) {
    for reader in [&b"import_module("[..], b"__import__(", b"importorskip("] {
        for at in memchr::memmem::find_iter(bytes, reader) {
            let rest = &bytes[at + reader.len()..];
            let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
            let Some(&quote) = rest.first().filter(|q| matches!(q, b'"' | b'\'')) else {
                continue;
            };
            let name: Vec<u8> = rest[1..]
                .iter()
                .take_while(|&&b| b != quote)
                .copied()
                .collect();
            let plain = !name.is_empty()
                && name.first() != Some(&b'.')
                && name
                    .iter()
                    .all(|&b| b == b'.' || b == b'_' || b.is_ascii_alphanumeric());
            if plain && rest.get(1 + name.len()) == Some(&quote) {
                let module = String::from_utf8_lossy(&name).into_owned();
                let head = module.split('.').next().unwrap_or_default().to_string();
                out.push(ImportSpec {
                    level: 0,
                    module,
                    names: Vec::new(),
                    bound: vec![head],
                });
            }
        }
    }
}

/// Where the logical line starting at `start` ends: its first line break outside brackets and
/// strings that no backslash continues.
fn statement_end(bytes: &[u8], start: usize) -> usize {
    let limit = bytes.len().min(start + MAX_STATEMENT);
    let mut depth = 0usize;
    let mut i = start;
    while i < limit {
        match bytes[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\\' => i += 1,
            b'\'' | b'"' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'#' => {
                while i < limit && !matches!(bytes[i], b'\n' | b'\r') {
                    i += 1;
                }
                continue;
            }
            b'\n' | b'\r' | b';' if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    limit
}

fn read_statements(toks: &[(Tok<'_>, usize, usize)], out: &mut Vec<ImportSpec>) {
    let mut i = 0;
    while i < toks.len() {
        match toks[i].0 {
            Tok::Name("from") => {
                let mut k = i + 1;
                let mut level = 0;
                while toks.get(k).map(|t| t.0) == Some(Tok::Dot) {
                    level += 1;
                    k += 1;
                }
                let (module, next) = dotted(toks, k);
                if toks.get(next).map(|t| t.0) != Some(Tok::Name("import")) {
                    i = next.max(i + 1);
                    continue;
                }
                let mut names = Vec::new();
                let mut bound = Vec::new();
                let mut k = next + 1;
                while let Some(&(tok, _, _)) = toks.get(k) {
                    match tok {
                        Tok::Name("as") => {
                            if let (Some(last), Some((Tok::Name(alias), _, _))) =
                                (bound.last_mut(), toks.get(k + 1))
                            {
                                *last = alias.to_string();
                            }
                            k += 1
                        }
                        Tok::Name(name) => {
                            names.push(name.to_string());
                            bound.push(name.to_string());
                        }
                        Tok::Other => {
                            names.push("*".to_string());
                            bound.push("*".to_string());
                        }
                        Tok::Open | Tok::Close | Tok::Comma | Tok::Comment => {}
                        Tok::End | Tok::Dot => break,
                    }
                    k += 1;
                }
                if level > 0 || !module.is_empty() {
                    out.push(ImportSpec {
                        level,
                        module,
                        names,
                        bound,
                    });
                }
                i = k;
            }
            Tok::Name("import") => {
                let mut k = i + 1;
                loop {
                    let (module, next) = dotted(toks, k);
                    if module.is_empty() {
                        break;
                    }
                    k = next;
                    let mut alias = None;
                    if toks.get(k).map(|t| t.0) == Some(Tok::Name("as")) {
                        if let Some((Tok::Name(name), _, _)) = toks.get(k + 1) {
                            alias = Some(name.to_string());
                        }
                        k += 2;
                    }
                    let head = module.split('.').next().unwrap_or_default().to_string();
                    out.push(ImportSpec {
                        level: 0,
                        bound: vec![alias.unwrap_or(head)],
                        module,
                        names: Vec::new(),
                    });
                    if toks.get(k).map(|t| t.0) != Some(Tok::Comma) {
                        break;
                    }
                    k += 1;
                }
                i = k.max(i + 1);
            }
            _ => i += 1,
        }
    }
}

/// A dotted name starting at token `k`, and the token after it.
fn dotted(toks: &[(Tok<'_>, usize, usize)], mut k: usize) -> (String, usize) {
    let mut name = String::new();
    while let Some(Tok::Name(part)) = toks.get(k).map(|t| t.0) {
        if matches!(part, "import" | "as") {
            break;
        }
        name.push_str(part);
        k += 1;
        if toks.get(k).map(|t| t.0) == Some(Tok::Dot)
            && matches!(toks.get(k + 1).map(|t| t.0), Some(Tok::Name(_)))
        {
            name.push('.');
            k += 1;
        } else {
            break;
        }
    }
    (name, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(text: &str) -> Vec<(u32, String, Vec<String>)> {
        imports_of(text.as_bytes())
            .into_iter()
            .map(|s| (s.level, s.module, s.names))
            .collect()
    }

    #[test]
    fn import_statements() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            specs("import os, pkg.compat as c\nfrom .serial import loads as l, dumps\n"),
            vec![
                (0, "os".into(), v(&[])),
                (0, "pkg.compat".into(), v(&[])),
                (1, "serial".into(), v(&["loads", "dumps"])),
            ]
        );
        assert_eq!(
            specs("x = 1; from .. import (\n  a,  # note\n  b,\n)\nfrom pkg.c import *\n"),
            vec![
                (2, "".into(), v(&["a", "b"])),
                (0, "pkg.c".into(), v(&["*"])),
            ]
        );
        assert_eq!(
            specs("if x:\n    from \\\n  m import n\n"),
            vec![(0, "m".into(), v(&["n"]))]
        );
        assert!(specs("s = 'import'\nimportlib.reload(x)\n").is_empty());
    }

    #[test]
    fn the_names_an_import_binds() {
        let bound = |text: &str| -> Vec<Vec<String>> {
            imports_of(text.as_bytes())
                .into_iter()
                .map(|s| s.bound)
                .collect()
        };
        assert_eq!(
            bound(
                "import os.path, pkg.compat as c
from . import shim as s, other
from x import *
"
            ),
            vec![
                vec!["os".to_string()],
                vec!["c".to_string()],
                vec!["s".to_string(), "other".to_string()],
                vec!["*".to_string()],
            ]
        );
    }
}
