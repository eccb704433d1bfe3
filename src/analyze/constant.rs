//! Strings computed from constants: what `"di" + "ll"`, `"".join(["di", "ll"])`, `f"{'di'}ll"`,
//! `"%sll" % "di"` and `"{}ll".format("di")` evaluate to, so a module or attribute name spelled
//! that way is still read as the name it is. Only constants (and names the caller knows to hold
//! one) are evaluated: anything else is unknown.

use rustpython_ast::{self as ast, ConversionFlag};

/// Longer strings are not followed: a string of code given to `exec` is at most what the full
/// parse takes, and the bound keeps what a statement that doubles a string costs linear.
pub(super) const MAX_LEN: usize = crate::limits::FULL_PARSE_BYTES;

/// How many operator levels evaluation follows.
const DEPTH: usize = 32;

/// The value of a string expression built from constants; `names` gives the constant string a
/// name holds, when it holds one.
pub(super) fn text_of(expr: &ast::Expr, names: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    within(expr, names, DEPTH).filter(|t| t.len() <= MAX_LEN)
}

fn within(
    expr: &ast::Expr,
    names: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Option<String> {
    let depth = depth.checked_sub(1)?;
    let eval = |e: &ast::Expr| within(e, names, depth).filter(|t| t.len() <= MAX_LEN);
    match expr {
        ast::Expr::Constant(c) => match &c.value {
            ast::Constant::Str(text) => Some(text.clone()),
            _ => None,
        },
        ast::Expr::Name(n) => names(&n.id),
        ast::Expr::JoinedStr(j) => {
            let mut out = String::new();
            for part in &j.values {
                match part {
                    ast::Expr::FormattedValue(f)
                        if f.format_spec.is_none()
                            && matches!(
                                f.conversion,
                                ConversionFlag::None | ConversionFlag::Str
                            ) =>
                    {
                        out.push_str(&eval(&f.value)?)
                    }
                    ast::Expr::FormattedValue(_) => return None,
                    other => out.push_str(&eval(other)?),
                }
            }
            Some(out)
        }
        ast::Expr::BinOp(b) => match b.op {
            ast::Operator::Add => Some(eval(&b.left)? + &eval(&b.right)?),
            ast::Operator::Mod => {
                let template = eval(&b.left)?;
                let args: Vec<String> = match &*b.right {
                    ast::Expr::Tuple(t) => t.elts.iter().map(eval).collect::<Option<_>>()?,
                    single => vec![eval(single)?],
                };
                percent(&template, &args)
            }
            _ => None,
        },
        ast::Expr::Call(call) => {
            let ast::Expr::Attribute(a) = &*call.func else {
                return None;
            };
            match a.attr.as_str() {
                "join" if call.args.len() == 1 && call.keywords.is_empty() => {
                    let sep = eval(&a.value)?;
                    let parts = match &call.args[0] {
                        ast::Expr::List(l) => &l.elts,
                        ast::Expr::Tuple(t) => &t.elts,
                        _ => return None,
                    };
                    let parts: Vec<String> = parts.iter().map(eval).collect::<Option<_>>()?;
                    Some(parts.join(&sep))
                }
                "format" => {
                    let template = eval(&a.value)?;
                    let args: Vec<String> = call.args.iter().map(eval).collect::<Option<_>>()?;
                    let mut keywords = Vec::new();
                    for k in &call.keywords {
                        keywords.push((k.arg.as_deref()?.to_string(), eval(&k.value)?));
                    }
                    format(&template, &args, &keywords)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `template % args` for `%s` and `%%` only.
fn percent(template: &str, args: &[String]) -> Option<String> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            's' => out.push_str(args.next()?),
            _ => return None,
        }
    }
    // Python refuses leftover arguments.
    args.next().is_none().then_some(out)
}

/// `template.format(*args, **keywords)` for `{}`, `{0}`, `{name}`, `{{` and `}}`.
fn format(template: &str, args: &[String], keywords: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '}' => return None,
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        c => field.push(c),
                    }
                }
                let value = if field.is_empty() {
                    next += 1;
                    args.get(next - 1)?
                } else if let Ok(i) = field.parse::<usize>() {
                    args.get(i)?
                } else if field.chars().all(|c| c == '_' || c.is_alphanumeric()) {
                    &keywords.iter().find(|(k, _)| *k == field)?.1
                } else {
                    return None;
                };
                out.push_str(value);
            }
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> Option<String> {
        let module = rustpython_parser::parse(src, rustpython_parser::Mode::Expression, "<t>")
            .expect("parses");
        let rustpython_ast::Mod::Expression(e) = module else {
            unreachable!()
        };
        text_of(&e.body, &|name| (name == "d").then(|| "di".to_string()))
    }

    #[test]
    fn constant_strings() {
        // Each of these is "dill" under CPython.
        for src in [
            "'dill'",
            "'di' + 'll'",
            "''.join(['di', 'll'])",
            "'-'.join(('di', 'll')).replace('-', '')",
            "f\"{'di'}ll\"",
            "f\"{'di'!s}ll\"",
            "'%sll' % 'di'",
            "'%s%s' % ('di', 'll')",
            "'{}ll'.format('di')",
            "'{0}{1}'.format('di', 'll')",
            "'{a}ll'.format(a='di')",
            "d + 'll'",
            "'\\x64ill'",
            "'\\N{LATIN SMALL LETTER D}ill'",
        ] {
            let value = eval(src);
            if src.contains("replace") {
                assert_eq!(value, None, "{src}");
            } else {
                assert_eq!(value.as_deref(), Some("dill"), "{src}");
            }
        }
        for src in [
            "x + 'll'",
            "'%dll' % 1",
            "'{:>4}'.format('di')",
            "f\"{'di'!r}ll\"",
            "'%s' % ('a', 'b')",
        ] {
            assert_eq!(eval(src), None, "{src}");
        }
    }
}
