//! Lowers syntax newer than the parser knows (Python 3.12 to 3.14) to forms it accepts, in
//! place: every byte keeps its offset, so findings in the lowered text are findings in the file.
//!
//! - f-strings (PEP 701: any quotes, comments, backslashes and line breaks inside replacement
//!   fields) and t-strings (PEP 750) become subscripts of a number in brackets:
//!   `f"a{x!r:>{w}}b"` is `(0 [x    [w]] )`. The code in each field stays where it was and is read like any other
//!   code; the literal text, conversions and format specs become blanks. Plain strings
//!   joined to one of them (`"a" f"{x}"`) are blanked with it, so the whole literal is one
//!   expression. Line breaks are kept, so lines and columns do not move.
//! - Type parameter defaults (PEP 696): `[T = int]` is `[T : int]`, `[T: B = int]` is
//!   `[T: B | int]`, `[*Ts = *tuple[int]]` and `[**P = [int]]` lose their stars; every name in
//!   the default is still read.
//! - `except A, B:` without brackets (PEP 758) is `except A| B:`.
//!
//! The lowered text is used only when the file as written is rejected, and it is also what the
//! token scanner reads when the lowered text is rejected too: the code inside f-string fields
//! is then scanned as code, and string text still never matches.

use super::is_ident;

/// The file with every newer form lowered, or `None` when it has none.
pub fn lower(text: &str) -> Option<String> {
    let mut lowering = Lowering {
        src: text.as_bytes(),
        out: text.as_bytes().to_vec(),
        changed: false,
        toks: Vec::new(),
        nesting: 0,
    };
    lowering.code(0, None);
    lowering.statements();
    if !lowering.changed {
        return None;
    }
    // Only ASCII bytes were written, over ASCII bytes or over whole characters.
    String::from_utf8(lowering.out).ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Name,
    Op,
    Str,
    Newline,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

/// The quote that ends the formatted string a field belongs to.
#[derive(Debug, Clone, Copy)]
struct Quote {
    byte: u8,
    triple: bool,
    raw: bool,
}

/// Where a stretch of code inside a field stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldEnd {
    /// `}`, `!x`, `:` or `=` at the field's own bracket depth.
    Delimiter,
    /// The text ran out.
    Eof,
}

struct Lowering<'s> {
    src: &'s [u8],
    out: Vec<u8>,
    changed: bool,
    /// Significant tokens of the top-level code, for the statement forms.
    toks: Vec<Tok>,
    /// How many formatted strings enclose the current position.
    nesting: usize,
}

/// CPython rejects f-strings nested deeper than this (its tokenizer's limit is 150): a string
/// nested deeper is left as it is, for the parser to reject, and the recursion stays bounded.
const MAX_NESTING: usize = 150;

/// Operators of more than one byte, longest first where one starts another.
const OPERATORS: &[&[u8]] = &[
    b"**=", b"//=", b">>=", b"<<=", b"...", b"!=", b"==", b"<=", b">=", b":=", b"->", b"**", b"//",
    b"<<", b">>", b"+=", b"-=", b"*=", b"/=", b"%=", b"&=", b"|=", b"^=", b"@=",
];

impl Lowering<'_> {
    fn set(&mut self, at: usize, byte: u8) {
        if self.out[at] != byte {
            self.out[at] = byte;
            self.changed = true;
        }
    }

    /// Blanks a stretch of string text, keeping its line breaks.
    fn blank(&mut self, from: usize, to: usize) {
        for at in from..to.min(self.out.len()) {
            if !matches!(self.src[at], b'\n' | b'\r') {
                self.set(at, b' ');
            }
        }
    }

    /// Scans code from `i`: the whole file (`field` is `None`) or the expression part of a
    /// replacement field, which ends at a delimiter at its own depth. Returns where it stopped
    /// and why.
    fn code(&mut self, mut i: usize, field: Option<Quote>) -> (usize, FieldEnd) {
        let src = self.src;
        let top = field.is_none();
        let mut depth = 0usize;
        // The string literals of the current concatenation: (start, end, formatted).
        let mut group: Vec<(usize, usize, bool)> = Vec::new();
        while i < src.len() {
            let c = src[i];
            // What ends a field: checked before operators, as `:=` starts a format spec there.
            if !top && depth == 0 {
                let ends = match c {
                    b'}' | b':' => true,
                    b'!' => src.get(i + 1) != Some(&b'='),
                    b'=' => {
                        src.get(i + 1) != Some(&b'=')
                            && !matches!(
                                src.get(i.wrapping_sub(1)),
                                Some(b'=' | b'<' | b'>' | b'!')
                            )
                    }
                    _ => false,
                };
                if ends {
                    self.close_group(&mut group, None);
                    return (i, FieldEnd::Delimiter);
                }
            }
            match c {
                b' ' | b'\t' | b'\x0c' => i += 1,
                b'\\' => {
                    // A line continuation, or a stray backslash (kept as it is).
                    i += 1;
                    if src.get(i) == Some(&b'\r') {
                        i += 1;
                    }
                    if src.get(i) == Some(&b'\n') {
                        i += 1;
                    }
                }
                b'\n' | b'\r' => {
                    let start = i;
                    i += if c == b'\r' && src.get(i + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                    if top && depth == 0 {
                        self.close_group(
                            &mut group,
                            Some(Tok {
                                kind: Kind::Newline,
                                start,
                                end: i,
                            }),
                        );
                    }
                }
                b'#' => {
                    while i < src.len() && !matches!(src[i], b'\n' | b'\r') {
                        i += 1;
                    }
                }
                b'\'' | b'"' => {
                    let (end, formatted) = self.string(i, i);
                    group.push((i, end, formatted));
                    if top {
                        self.toks.push(Tok {
                            kind: Kind::Str,
                            start: i,
                            end,
                        });
                    }
                    i = end;
                }
                b'0'..=b'9' => {
                    let start = i;
                    while i < src.len() && (is_ident(src[i]) || src[i] == b'.') {
                        i += 1;
                        if matches!(src[i - 1], b'e' | b'E')
                            && matches!(src.get(i), Some(b'+' | b'-'))
                            && !src[start..i].starts_with(b"0x")
                            && !src[start..i].starts_with(b"0X")
                        {
                            i += 1;
                        }
                    }
                    self.token(&mut group, top, Kind::Other, start, i);
                }
                _ if is_ident(c) => {
                    let start = i;
                    while i < src.len() && is_ident(src[i]) {
                        i += 1;
                    }
                    if matches!(src.get(i), Some(b'\'' | b'"')) && is_prefix(&src[start..i]) {
                        let (end, formatted) = self.string(start, i);
                        group.push((start, end, formatted));
                        if top {
                            self.toks.push(Tok {
                                kind: Kind::Str,
                                start,
                                end,
                            });
                        }
                        i = end;
                    } else {
                        self.token(&mut group, top, Kind::Name, start, i);
                    }
                }
                _ => {
                    let len = OPERATORS
                        .iter()
                        .find(|op| src[i..].starts_with(op))
                        .map_or(1, |op| op.len());
                    match c {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    // A character past ASCII was taken as a name above; this is one byte.
                    self.token(&mut group, top, Kind::Op, i, i + len);
                    i += len;
                }
            }
        }
        self.close_group(&mut group, None);
        (i, FieldEnd::Eof)
    }

    /// A significant token other than a string: it ends a concatenation.
    fn token(
        &mut self,
        group: &mut Vec<(usize, usize, bool)>,
        top: bool,
        kind: Kind,
        start: usize,
        end: usize,
    ) {
        self.close_group(group, None);
        if top {
            self.toks.push(Tok { kind, start, end });
        }
    }

    /// Ends a run of adjacent string literals. When one of them is formatted, the run becomes
    /// one expression: the formatted ones are lowered already, the plain ones are blanked, and
    /// a `0` in front gives the fields something to subscript.
    fn close_group(&mut self, group: &mut Vec<(usize, usize, bool)>, newline: Option<Tok>) {
        if let Some(newline) = newline {
            self.toks.push(newline);
        }
        if group.iter().any(|&(_, _, formatted)| formatted) {
            for &(start, end, formatted) in group.iter() {
                if !formatted {
                    self.blank(start, end);
                }
            }
            // `(0` over the first literal's first two bytes (a quote and a prefix letter or a
            // quote or text, blank by now) and `)` over the last one's closing quote: the run is
            // one bracketed expression, so line breaks inside it join lines as they did.
            let start = group[0].0;
            let end = group[group.len() - 1].1;
            // An unterminated literal (the file is broken anyway) may be too short for that.
            if end >= start + 3 && !matches!(self.src[end - 1], b'\n' | b'\r') {
                self.set(start, b'(');
                self.set(start + 1, b'0');
                self.set(end - 1, b')');
            } else {
                self.set(start, b'0');
            }
        }
        group.clear();
    }

    /// Scans the string literal whose prefix starts at `start` and whose quote is at `quote`.
    /// Formatted strings (f and t) are lowered; returns the end and whether it was formatted.
    fn string(&mut self, start: usize, quote_at: usize) -> (usize, bool) {
        let src = self.src;
        let prefix = &src[start..quote_at];
        let formatted = prefix
            .iter()
            .any(|b| matches!(b.to_ascii_lowercase(), b'f' | b't'));
        let raw = prefix.iter().any(|b| b.eq_ignore_ascii_case(&b'r'));
        let byte = src[quote_at];
        let triple =
            src.len() >= quote_at + 3 && src[quote_at + 1] == byte && src[quote_at + 2] == byte;
        let quote = Quote { byte, triple, raw };
        let body = quote_at + if triple { 3 } else { 1 };
        if !formatted || self.nesting >= MAX_NESTING {
            return (plain_end(src, body, quote), false);
        }
        self.blank(start, body);
        self.nesting += 1;
        let end = self.formatted(body, quote);
        self.nesting -= 1;
        (end, true)
    }

    /// The body of an f- or t-string from `i`: literal text is blanked, replacement fields
    /// become `[...]`. Returns the index past the closing quote.
    fn formatted(&mut self, mut i: usize, quote: Quote) -> usize {
        let src = self.src;
        while i < src.len() {
            let c = src[i];
            if c == quote.byte && closes(src, i, quote) {
                let end = i + if quote.triple { 3 } else { 1 };
                self.blank(i, end);
                return end;
            }
            match c {
                b'\\' => {
                    // A backslash escapes the next character, except a brace, which still
                    // opens or closes a field (`\{x}`); `\N{...}` names a character.
                    self.blank(i, i + 1);
                    i += 1;
                    match src.get(i) {
                        Some(b'{' | b'}') | None => {}
                        Some(b'\r') if src.get(i + 1) == Some(&b'\n') => i += 2,
                        Some(b'N') if !quote.raw && src.get(i + 1) == Some(&b'{') => {
                            let close =
                                memchr::memchr(b'}', &src[i..]).map_or(src.len(), |k| i + k + 1);
                            self.blank(i, close);
                            i = close;
                        }
                        Some(_) => {
                            let next = char_end(src, i);
                            self.blank(i, next);
                            i = next;
                        }
                    }
                }
                b'{' if src.get(i + 1) == Some(&b'{') => {
                    self.blank(i, i + 2);
                    i += 2;
                }
                b'}' if src.get(i + 1) == Some(&b'}') => {
                    self.blank(i, i + 2);
                    i += 2;
                }
                b'{' => i = self.field(i, quote),
                b'\n' | b'\r' if !quote.triple => return i,
                _ => {
                    let next = char_end(src, i);
                    self.blank(i, next);
                    i = next;
                }
            }
        }
        i
    }

    /// A replacement field whose `{` is at `i`: the expression stays, `=`, the conversion and
    /// the format spec's text are blanked, fields nested in the spec are lowered in turn.
    /// Returns the index past its `}`.
    fn field(&mut self, i: usize, quote: Quote) -> usize {
        let src = self.src;
        self.set(i, b'[');
        let (mut i, end) = self.code(i + 1, Some(quote));
        if end == FieldEnd::Eof {
            return i;
        }
        // Past the expression: `=`, `!conversion`, `:spec`, then `}`.
        while i < src.len() {
            match src[i] {
                b'}' => {
                    self.set(i, b']');
                    return i + 1;
                }
                b'=' => {
                    self.blank(i, i + 1);
                    i += 1;
                }
                b'!' => {
                    self.blank(i, i + 1);
                    i += 1;
                    while i < src.len() && is_ident(src[i]) {
                        self.blank(i, i + 1);
                        i += 1;
                    }
                }
                b':' => {
                    self.blank(i, i + 1);
                    return self.spec(i + 1, quote);
                }
                b' ' | b'\t' | b'\x0c' | b'\n' | b'\r' => i += 1,
                // Not a field Python accepts; the rest is left to the parser to reject.
                _ => return i,
            }
        }
        i
    }

    /// A format spec from `i`: text, with nested fields; ends past the field's `}`.
    fn spec(&mut self, mut i: usize, quote: Quote) -> usize {
        let src = self.src;
        while i < src.len() {
            let c = src[i];
            if c == quote.byte && closes(src, i, quote) {
                return i;
            }
            match c {
                b'{' => i = self.field(i, quote),
                b'}' => {
                    self.set(i, b']');
                    return i + 1;
                }
                b'\n' | b'\r' if !quote.triple => return i,
                _ => {
                    let next = char_end(src, i);
                    self.blank(i, next);
                    i = next;
                }
            }
        }
        i
    }

    /// The statement forms: type parameter defaults and `except A, B:`.
    fn statements(&mut self) {
        let toks = std::mem::take(&mut self.toks);
        let word = |t: &Tok, w: &[u8]| t.kind == Kind::Name && &self.src[t.start..t.end] == w;
        let op = |t: &Tok, o: &[u8]| t.kind == Kind::Op && &self.src[t.start..t.end] == o;
        let mut k = 0;
        while k < toks.len() {
            let t = &toks[k];
            // `def f[`, `class C[`, `type A[`: a type parameter list.
            if (word(t, b"def") || word(t, b"class") || word(t, b"type"))
                && toks.get(k + 1).is_some_and(|n| n.kind == Kind::Name)
                && toks.get(k + 2).is_some_and(|b| op(b, b"["))
            {
                k = self.type_params(&toks, k + 3);
                continue;
            }
            if word(t, b"except") {
                k = self.except_clause(&toks, k + 1);
                continue;
            }
            k += 1;
        }
    }

    /// Type parameters from token `k` (just past `[`) to the matching `]`.
    fn type_params(&mut self, toks: &[Tok], mut k: usize) -> usize {
        let src = self.src;
        let text = |t: &Tok| &src[t.start..t.end];
        loop {
            // One parameter: `*`/`**`, a name, `: bound`, `= default`.
            let mut stars = Vec::new();
            while let Some(t) = toks.get(k).filter(|t| matches!(text(t), b"*" | b"**")) {
                stars.push(*t);
                k += 1;
            }
            let mut depth = 0usize;
            let mut bound = false;
            let mut default_at: Option<usize> = None;
            while let Some(t) = toks.get(k) {
                let s = text(t);
                if t.kind == Kind::Op {
                    match s {
                        b"(" | b"[" | b"{" => depth += 1,
                        b")" | b"]" | b"}" if depth == 0 => break,
                        b")" | b"]" | b"}" => depth -= 1,
                        b"," if depth == 0 => break,
                        b":" if depth == 0 && default_at.is_none() => bound = true,
                        b"=" if depth == 0 && default_at.is_none() => default_at = Some(k),
                        _ => {}
                    }
                }
                k += 1;
            }
            if let Some(eq) = default_at {
                let at = toks[eq].start;
                self.set(at, if bound { b'|' } else { b':' });
                for star in &stars {
                    self.blank(star.start, star.end);
                }
                if let Some(next) = toks.get(eq + 1).filter(|t| text(t) == b"*") {
                    self.blank(next.start, next.end);
                }
            }
            match toks.get(k).map(text) {
                Some(b",") => k += 1,
                _ => return k + 1,
            }
        }
    }

    /// An `except` clause from token `k`: commas between bracket-free types become `|`.
    fn except_clause(&mut self, toks: &[Tok], mut k: usize) -> usize {
        let src = self.src;
        let text = |t: &Tok| &src[t.start..t.end];
        if toks.get(k).is_some_and(|t| text(t) == b"*") {
            k += 1;
        }
        let mut depth = 0usize;
        let mut commas = Vec::new();
        while let Some(t) = toks.get(k) {
            match (t.kind, text(t)) {
                (Kind::Op, b"(" | b"[" | b"{") => depth += 1,
                (Kind::Op, b")" | b"]" | b"}") => depth = depth.saturating_sub(1),
                (Kind::Op, b",") if depth == 0 => commas.push(t.start),
                (Kind::Op, b":") if depth == 0 => break,
                // `except A, B as e:` is not Python; `as` is left for the parser to reject.
                (Kind::Name, b"as") if depth == 0 => return k,
                (Kind::Newline, _) => return k,
                _ => {}
            }
            k += 1;
        }
        for at in commas {
            self.set(at, b'|');
        }
        k
    }
}

/// Whether the letters before a quote are a string prefix Python knows.
fn is_prefix(word: &[u8]) -> bool {
    let lower: Vec<u8> = word.iter().map(|b| b.to_ascii_lowercase()).collect();
    matches!(
        &lower[..],
        b"r" | b"u" | b"b" | b"f" | b"t" | b"br" | b"rb" | b"fr" | b"rf" | b"tr" | b"rt"
    )
}

/// Whether the quote at `i` ends the string.
fn closes(src: &[u8], i: usize, quote: Quote) -> bool {
    !quote.triple || (src.get(i + 1) == Some(&quote.byte) && src.get(i + 2) == Some(&quote.byte))
}

/// The end of a plain string whose body starts at `i`. An unterminated one ends at its line's
/// end (single quotes) or the end of the text (triple quotes).
fn plain_end(src: &[u8], mut i: usize, quote: Quote) -> usize {
    while i < src.len() {
        match src[i] {
            b'\\' => i += 2,
            c if c == quote.byte && closes(src, i, quote) => {
                return i + if quote.triple { 3 } else { 1 };
            }
            b'\n' | b'\r' if !quote.triple => return i,
            _ => i += 1,
        }
    }
    src.len()
}

/// The index past the character starting at `i`.
fn char_end(src: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < src.len() && (src[j] & 0xC0) == 0x80 {
        j += 1;
    }
    j
}

#[cfg(test)]
mod tests {
    use super::lower;

    fn lowered(src: &str) -> String {
        let out = lower(src).unwrap_or_else(|| src.to_string());
        assert_eq!(out.len(), src.len());
        out
    }

    #[test]
    fn fstrings_become_subscripts_in_place() {
        assert_eq!(lowered("x = f\"{\"a\"}: {b}\"\n"), "x = (0[\"a\"]  [b])\n");
        assert_eq!(lowered("f'{x!r:>{w}}'"), "(0[x    [w]])");
        assert_eq!(lowered("f'{x = }'"), "(0[x   ])");
        assert_eq!(lowered("f'{{a}} {b}'"), "(0      [b])");
        assert_eq!(lowered("f'\\N{DIGIT ONE}{x}'"), "(0             [x])");
        assert_eq!(lowered("rf'\\{x}'"), "(0  [x])");
        assert_eq!(lowered("f'{a # c\n}'"), "(0[a # c\n])");
        assert_eq!(lowered("f'{x:{{y}}}'"), "(0[x [{y}]])");
        assert_eq!(lowered("t'{x}'"), "(0[x])");
        assert_eq!(lowered("f'{x:=1}'"), "(0[x   ])");
        assert_eq!(lowered("f'{x!=y}'"), "(0[x!=y])");
    }

    #[test]
    fn joined_literals_are_one_expression() {
        assert_eq!(lowered("(\"a\" f'{b}'\n 'c')"), "((0    [b] \n   ))");
        assert_eq!(lowered("if\"\" f'{x}': pass"), "if(0   [x]): pass");
        // Statements on their own lines are not joined.
        assert_eq!(lowered("'a'\nf'{b}'\n"), "'a'\n(0[b])\n");
    }

    #[test]
    fn nested_fstrings_with_the_same_quotes() {
        assert_eq!(lowered("f\"{f\"{a}\"}\""), "(0[(0[a])])");
        assert_eq!(lowered("f'{\"\\n\".join(x)}'"), "(0[\"\\n\".join(x)])");
    }

    #[test]
    fn type_parameter_defaults() {
        assert_eq!(lowered("def f[T = int](): pass"), "def f[T : int](): pass");
        assert_eq!(
            lowered("class C[T: B = int]: pass"),
            "class C[T: B | int]: pass"
        );
        assert_eq!(
            lowered("type A[*Ts = *tuple[int], **P = [int]] = x"),
            "type A[ Ts :  tuple[int],   P : [int]] = x"
        );
        assert_eq!(lowered("def f[T](x=1): pass"), "def f[T](x=1): pass");
    }

    #[test]
    fn except_without_brackets() {
        assert_eq!(
            lowered("try: pass\nexcept A, B.c: pass\n"),
            "try: pass\nexcept A| B.c: pass\n"
        );
        assert_eq!(lowered("except* (A, B): pass"), "except* (A, B): pass");
        assert_eq!(lowered("except A, B as e: pass"), "except A, B as e: pass");
    }

    #[test]
    fn nesting_is_bounded() {
        // Far deeper than CPython accepts: lowered to its limit, on a small stack.
        let depth = 100_000;
        let src = format!("{}x{}", "f'{".repeat(depth), "}'".repeat(depth));
        let out = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || lower(&src).map(|l| l.len()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(out, Some(depth * 5 + 1));
    }

    #[test]
    fn plain_code_is_left_alone() {
        for src in [
            "x = 'f{a}'\n",
            "rb'{x}'",
            "print(u'{}'.format(x))",
            "elif'a': pass",
        ] {
            assert!(lower(src).is_none(), "{src}");
        }
    }
}
