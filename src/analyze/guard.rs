//! How deep a syntax tree the analysis may meet on the stack it has: the limits, and the cheap
//! measure that routes a file too deep for them to the token scanner before it is parsed.

use super::scan::{tokens, Tok};

/// How deep a syntax tree analysis may meet, for the stack it runs on.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Beyond these, a file is not given to the parser: its syntax tree would be deeper than
    /// analysing it safely allows (the tree's drop and any walk over it recurse per level). Real
    /// code stays far below; the token scanner checks such files instead.
    max_depth: usize,
    max_chain: usize,
}

/// The stack the depth limits were measured on, and the limits there.
pub(super) const REFERENCE_STACK: usize = 512 << 20;
const REFERENCE_DEPTH: usize = 100_000;
const REFERENCE_CHAIN: usize = 150_000;

impl Limits {
    /// The deepest bracket nesting and the longest operator chain the full parse accepts.
    pub fn depth_and_chain(&self) -> (usize, usize) {
        (self.max_depth, self.max_chain)
    }

    /// The limits for a thread with `stack` bytes of stack: the depth a tree may have shrinks
    /// with the stack, so a smaller stack routes more files to the token scanner instead of
    /// overflowing.
    pub fn for_stack(stack: usize) -> Limits {
        let scale =
            |limit: usize| (limit as u128 * stack as u128 / REFERENCE_STACK as u128) as usize;
        Limits {
            max_depth: scale(REFERENCE_DEPTH),
            max_chain: scale(REFERENCE_CHAIN),
        }
    }
}

/// Measures how deep the syntax tree of `text` could get, without parsing: the deepest bracket
/// nesting, and the longest run of operators, dots and operator keywords between separators at
/// one nesting level (a left-deep chain like `1 + 1 + … + 1`).
pub(super) fn too_deep(text: &str, limits: &Limits) -> Option<String> {
    // Every bracket and operator takes at least a byte: a shorter text cannot exceed a limit.
    if text.len() <= limits.max_depth.min(limits.max_chain) {
        return None;
    }
    let bytes = text.as_bytes();
    let mut runs: Vec<usize> = vec![0];
    let mut deepest = 0;
    let mut longest = 0;
    for (tok, start, _) in tokens(text) {
        let c = bytes.get(start).copied().unwrap_or(b' ');
        match tok {
            Tok::Open => runs.push(0),
            Tok::Other if matches!(c, b'[' | b'{') => runs.push(0),
            Tok::Close => {
                runs.pop();
            }
            Tok::Other if matches!(c, b']' | b'}') => {
                runs.pop();
            }
            Tok::Comma | Tok::End => {
                if let Some(run) = runs.last_mut() {
                    *run = 0;
                }
            }
            Tok::Dot
            | Tok::Other
            | Tok::Name("not" | "and" | "or" | "if" | "else" | "lambda" | "await") => {
                if runs.is_empty() {
                    runs.push(0);
                }
                let run = runs.last_mut().expect("never empty here");
                *run += 1;
                longest = longest.max(*run);
            }
            _ => {}
        }
        deepest = deepest.max(runs.len().saturating_sub(1));
    }
    if deepest > limits.max_depth {
        Some(format!("brackets nest {deepest} deep"))
    } else if longest > limits.max_chain {
        Some(format!("an expression chains {longest} operators"))
    } else {
        None
    }
}
