//! Every bound on what one run may hold, in one place. A hook runs on content someone else
//! chose — on a server, a stranger's push — and a push of a megabyte can inflate to gigabytes,
//! so memory is bounded by design: by these numbers, not by what the input happens to be.
//!
//! - a file larger than [`MAX_FILE_BYTES`] is an error (for a blob, found from its header before
//!   anything is inflated), and at most one file larger than [`LARGE_READ_BYTES`] is read at a
//!   time;
//! - a file that mentions dill gets the full parse up to [`FULL_PARSE_BYTES`], the token scanner
//!   up to [`SCAN_BYTES`], and is an error beyond;
//! - the analyses in flight together stay within [`ANALYSIS_BUDGET`], as estimated by
//!   [`analysis_weight`];
//! - one change gives the analysis at most [`MAX_CHANGE_ANALYSIS_BYTES`] in all, so a push's
//!   time is bounded too.

use std::sync::{Mutex, MutexGuard};

/// The largest file dill-guard reads. Python source this large is generated data.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Files larger than this are read one at a time, whatever the number of reading threads.
pub const LARGE_READ_BYTES: u64 = 8 << 20;

/// The largest source (all of a notebook's cells together) given to the full parse: its syntax
/// tree takes up to about 80 times the source in memory. Larger files that mention dill are
/// checked by the token scanner, with a warning.
pub const FULL_PARSE_BYTES: usize = 1 << 20;

/// The largest source the token scanner takes (it holds up to about 45 bytes per byte). A file
/// that mentions dill and is larger still cannot be vouched for: it is an error naming it.
pub const SCAN_BYTES: usize = 2 << 20;

/// What one change (a commit, a push, a range) may give the analysis in all: about ten seconds
/// of parsing on two cores. A full check of a tree (`--all`, paths) has no such bound.
pub const MAX_CHANGE_ANALYSIS_BYTES: u64 = 48 << 20;

/// What the analyses in flight may hold at once (two full parses, or one scan beside nothing
/// heavier than small files).
pub const ANALYSIS_BUDGET: u64 = 180 << 20;

/// An upper estimate of the memory analysing `len` bytes of source takes, measured on the
/// densest sources (one syntax node or token per byte or two).
pub fn analysis_weight(len: usize) -> u64 {
    let len = len as u64;
    if len <= FULL_PARSE_BYTES as u64 {
        len * 90
    } else {
        len * 48
    }
}

static LARGE_READS: Mutex<()> = Mutex::new(());

/// Taken before a file of `size` bytes is read, and held until its bytes are dropped or handed
/// over: large reads wait for each other.
pub fn large_read(size: u64) -> Option<MutexGuard<'static, ()>> {
    (size > LARGE_READ_BYTES).then(|| LARGE_READS.lock().unwrap_or_else(|p| p.into_inner()))
}
