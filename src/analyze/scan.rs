//! The token scanner: the degraded check for files the parser rejects (Python 2, syntax errors)
//! or that are too large or too deep for it. It follows imports without scopes and reports the
//! dotted names that reach a sink; strings and comments never match.

use std::collections::HashMap;

use super::{import_bindings, import_from_bindings, sort_hits, Analysis, Hit, Qual, UseKind};
use crate::rule;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok<'t> {
    Name(&'t str),
    Dot,
    Open,
    Comma,
    Close,
    /// End of a logical line (outside brackets), or `;`.
    End,
    /// A comment, `#` included.
    Comment,
    Other,
}

/// Splits source into the few tokens the scan needs. Strings (any prefix, triple-quoted or
/// not) produce nothing and comments only a `Comment` token, so text inside them never matches.
pub(super) fn tokens(text: &str) -> Vec<(Tok<'_>, usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\x0c' => i += 1,
            // A line continuation joins lines; any other backslash is just a character (and
            // may precede a multi-byte one, which must not be split).
            b'\\' => match bytes.get(i + 1) {
                Some(b'\r') if bytes.get(i + 2) == Some(&b'\n') => i += 3,
                Some(b'\n' | b'\r') => i += 2,
                _ => {
                    out.push((Tok::Other, i, i + 1));
                    i += 1;
                }
            },
            b'\n' | b'\r' => {
                if depth == 0 {
                    out.push((Tok::End, i, i + 1));
                }
                i += 1;
            }
            b'#' => {
                let start = i;
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                out.push((Tok::Comment, start, i));
            }
            b'\'' | b'"' => i = skip_string(bytes, i),
            b'.' => {
                out.push((Tok::Dot, i, i + 1));
                i += 1;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                out.push((if c == b'(' { Tok::Open } else { Tok::Other }, i, i + 1));
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                out.push((if c == b')' { Tok::Close } else { Tok::Other }, i, i + 1));
                i += 1;
            }
            b',' => {
                out.push((Tok::Comma, i, i + 1));
                i += 1;
            }
            b';' => {
                out.push((Tok::End, i, i + 1));
                i += 1;
            }
            b'0'..=b'9' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.'))
                {
                    i += 1;
                }
            }
            _ if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let start = i;
                while i < bytes.len() && super::is_ident(bytes[i]) {
                    i += 1;
                }
                let word = &text[start..i];
                let is_prefix = word.len() <= 2
                    && word.chars().all(|ch| "rRbBuUfF".contains(ch))
                    && i < bytes.len()
                    && (bytes[i] == b'\'' || bytes[i] == b'"');
                if is_prefix {
                    i = skip_string(bytes, i);
                } else {
                    out.push((Tok::Name(word), start, i));
                }
            }
            _ => {
                out.push((Tok::Other, i, i + 1));
                i += 1;
            }
        }
    }
    out.push((Tok::End, bytes.len(), bytes.len()));
    out
}

/// Returns the index just past the string literal whose opening quote is at `i`.
pub(super) fn skip_string(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    let triple = bytes.len() >= i + 3 && bytes[i + 1] == quote && bytes[i + 2] == quote;
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'\n' | b'\r' if !triple => return j,
            q if q == quote => {
                if !triple {
                    return j + 1;
                }
                if bytes.len() >= j + 3 && bytes[j + 1] == quote && bytes[j + 2] == quote {
                    return j + 3;
                }
                j += 1;
            }
            _ => j += 1,
        }
    }
    bytes.len()
}

/// Follows `.name` parts after the name at `i`, letting up to `wraps` closing brackets stand
/// before a dot. Returns the parts as `.a.b`, the index after the chain, and the brackets closed.
fn chain_after(toks: &[(Tok<'_>, usize, usize)], i: usize, wraps: usize) -> (String, usize, usize) {
    let mut rest = String::new();
    let mut next = i + 1;
    let mut closed = 0;
    loop {
        let mut k = next;
        let mut c = 0;
        while closed + c < wraps && toks.get(k).map(|t| t.0) == Some(Tok::Close) {
            k += 1;
            c += 1;
        }
        match (toks.get(k).map(|t| t.0), toks.get(k + 1).map(|t| t.0)) {
            (Some(Tok::Dot), Some(Tok::Name(part))) => {
                rest.push('.');
                rest.push_str(part);
                closed += c;
                next = k + 2;
            }
            _ => return (rest, next, closed),
        }
    }
}

/// The comments of a source text, as (byte offset of the `#`, text after it). Strings are
/// skipped, so a `#` inside a string literal is never taken for a comment.
pub fn comments(text: &str) -> Vec<(usize, &str)> {
    tokens(text)
        .into_iter()
        .filter(|t| t.0 == Tok::Comment)
        .map(|(_, start, end)| (start, &text[start + 1..end]))
        .collect()
}

pub(super) fn scan_pieces(pieces: &[&str]) -> Analysis {
    let mut aliases = HashMap::new();
    let mut hits = Vec::new();
    for (piece, text) in pieces.iter().enumerate() {
        for mut hit in scan_tokens(text, &mut aliases) {
            hit.piece = piece;
            hits.push(hit);
        }
    }
    sort_hits(&mut hits);
    Analysis {
        hits,
        ..Analysis::default()
    }
}

/// The degraded check: follows import statements (every form the parser path knows) without
/// scopes, and reports dotted names that reach a sink. Stricter than the parser path, since it
/// cannot see shadowing.
pub fn scan_tokens(text: &str, aliases: &mut HashMap<String, Qual>) -> Vec<Hit> {
    // Comments carry directives, not code: the scan reads around them.
    let toks: Vec<_> = tokens(text)
        .into_iter()
        .filter(|t| t.0 != Tok::Comment)
        .collect();
    let mut hits = Vec::new();
    let mut i = 0;
    let dotted = |mut j: usize| -> (String, usize) {
        let mut name = String::new();
        while let Some((Tok::Name(word), _, _)) = toks.get(j) {
            name.push_str(word);
            if toks.get(j + 1).map(|t| t.0) == Some(Tok::Dot)
                && matches!(toks.get(j + 2).map(|t| t.0), Some(Tok::Name(_)))
            {
                name.push('.');
                j += 2;
            } else {
                return (name, j + 1);
            }
        }
        (name, j)
    };
    while i < toks.len() {
        let at_start = i == 0 || toks[i - 1].0 == Tok::End || toks[i - 1].0 == Tok::Other;
        match toks[i].0 {
            Tok::Name("import") if at_start => {
                i += 1;
                loop {
                    let (module, next) = dotted(i);
                    i = next;
                    let mut asname = None;
                    if let (Some((Tok::Name("as"), _, _)), Some((Tok::Name(local), _, _))) =
                        (toks.get(i), toks.get(i + 1))
                    {
                        asname = Some(*local);
                        i += 2;
                    }
                    if !module.is_empty() {
                        let (local, qual) = import_bindings(&module, asname);
                        aliases.insert(local, qual);
                    }
                    if toks.get(i).map(|t| t.0) == Some(Tok::Comma) {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            Tok::Name("from") if at_start => {
                let relative = toks.get(i + 1).map(|t| t.0) == Some(Tok::Dot);
                let (module, next) = dotted(i + 1);
                i = next;
                if toks.get(i).map(|t| t.0) != Some(Tok::Name("import")) {
                    continue;
                }
                i += 1;
                loop {
                    match toks.get(i).map(|t| t.0) {
                        Some(Tok::Open | Tok::Comma) => i += 1,
                        Some(Tok::Other) if text[toks[i].1..].starts_with('*') => {
                            if !relative {
                                for (local, qual) in import_from_bindings(&module, "*", None) {
                                    aliases.insert(local, qual);
                                }
                            }
                            i += 1;
                        }
                        Some(Tok::Name(name)) => {
                            let mut asname = None;
                            if let (Some((Tok::Name("as"), _, _)), Some((Tok::Name(local), _, _))) =
                                (toks.get(i + 1), toks.get(i + 2))
                            {
                                asname = Some(*local);
                                i += 2;
                            }
                            i += 1;
                            if relative || module.is_empty() {
                                aliases.remove(asname.unwrap_or(name));
                            } else {
                                for (local, qual) in import_from_bindings(&module, name, asname) {
                                    aliases.insert(local, qual);
                                }
                            }
                        }
                        Some(Tok::Close) => i += 1,
                        _ => break,
                    }
                }
            }
            Tok::Name(_) if handed_over(&toks, text, aliases, i).is_some() => {
                i = push_handover(&toks, text, aliases, i, &mut hits);
            }
            Tok::Name(word) => {
                let after_dot = i > 0 && toks[i - 1].0 == Tok::Dot;
                let defined = i > 0 && matches!(toks[i - 1].0, Tok::Name("def" | "class"));
                // Brackets opened right before the name may close inside the chain or before
                // the call: `(dill).loads(x)`, `(dill.loads)(x)`.
                let wraps = toks[..i]
                    .iter()
                    .rev()
                    .take_while(|t| t.0 == Tok::Open)
                    .count();
                let (qual_rest, next, closes) = chain_after(&toks, i, wraps);
                // `serialize.pickle = dill`: the attribute ends the chain.
                if next - 1 > i && handed_over(&toks, text, aliases, next - 1).is_some() {
                    i = push_handover(&toks, text, aliases, next - 1, &mut hits);
                    continue;
                }
                let mut after = next;
                let mut closed = closes;
                while closed < wraps && toks.get(after).map(|t| t.0) == Some(Tok::Close) {
                    after += 1;
                    closed += 1;
                }
                if !after_dot && !defined {
                    if let Some(head) = aliases.get(word) {
                        let name = format!("{head}{qual_rest}");
                        let called = toks.get(after).map(|t| t.0) == Some(Tok::Open);
                        // A call of a library that loads with dill: without scopes, what is
                        // done with what it makes cannot be followed; its making is reported.
                        let library = called
                            .then(|| rule::library_made_by(&name))
                            .flatten()
                            .and_then(|l| Some((l, rule::sink_for(l.reaches)?)));
                        let found = match library {
                            Some((library, sink)) => {
                                Some((sink, UseKind::Library, super::Route::Library(library)))
                            }
                            None => rule::sink_for(&name).map(|sink| {
                                let kind = if called {
                                    UseKind::Call
                                } else {
                                    UseKind::Reference
                                };
                                (sink, kind, super::Route::Direct)
                            }),
                        };
                        if let Some((sink, kind, route)) = found {
                            hits.push(Hit {
                                provenance: Default::default(),
                                piece: 0,
                                start: toks[i].1,
                                end: toks[next - 1].2,
                                sink,
                                kind,
                                stmt: toks[i].1,
                                route,
                            });
                        }
                    }
                }
                i = next;
            }
            _ => i += 1,
        }
    }
    hits
}

/// `pickle_module=dill` (a keyword of the hand-over table) or `.pickle = dill` (an attribute
/// it names) at token `i`, with `dill` an alias of the dill module: the hand-over, and the
/// token of the module.
fn handed_over(
    toks: &[(Tok<'_>, usize, usize)],
    text: &str,
    aliases: &HashMap<String, Qual>,
    i: usize,
) -> Option<(&'static rule::Handover, usize)> {
    let Tok::Name(word) = toks[i].0 else {
        return None;
    };
    let handover = rule::handover(word)?;
    let attribute = i > 0 && toks[i - 1].0 == Tok::Dot;
    if !attribute && !handover.keyword_too {
        return None;
    }
    let (_, eq, _) = toks.get(i + 1)?;
    if toks[i + 1].0 != Tok::Other || !text[*eq..].starts_with('=') || text[*eq..].starts_with("==")
    {
        return None;
    }
    let Tok::Name(module) = toks.get(i + 2)?.0 else {
        return None;
    };
    let is_module = aliases.get(module).is_some_and(|q| rule::is_dill_module(q))
        && toks.get(i + 3).map(|t| t.0) != Some(Tok::Dot);
    is_module.then_some((handover, i + 2))
}

/// Reports the hand-over [`handed_over`] finds at token `i`; returns the token after it.
fn push_handover(
    toks: &[(Tok<'_>, usize, usize)],
    text: &str,
    aliases: &HashMap<String, Qual>,
    i: usize,
    hits: &mut Vec<Hit>,
) -> usize {
    let Some((handover, module)) = handed_over(toks, text, aliases, i) else {
        return i + 1;
    };
    let Tok::Name(word) = toks[i].0 else {
        return i + 1;
    };
    if let Some(sink) = rule::sink_for(handover.reaches) {
        let to = if i > 0 && toks[i - 1].0 == Tok::Dot {
            format!("….{word}")
        } else {
            format!("…({word}=)")
        };
        hits.push(Hit {
            provenance: Default::default(),
            piece: 0,
            start: toks[module].1,
            end: toks[module].2,
            sink,
            kind: UseKind::Module,
            stmt: toks[i].1,
            route: super::Route::Handover { handover, to },
        });
    }
    module + 1
}
