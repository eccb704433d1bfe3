//! Zipapps: Python runs a zip archive (`python3 app.pyz`, or `./app` when a shebang line comes
//! before the zip) by importing its `__main__.py` from it, and imports any of its modules. This
//! reads such an archive the way CPython's `zipimport` does, from its central directory, and
//! hands back its Python members. It is a reader of a few record layouts, not a zip library:
//! stored and deflated members only, everything bounded, since a push is a stranger's input.

use crate::python::{self, Kind};

/// What an archive holds for Python.
#[derive(Debug, Default)]
pub struct Contents {
    /// Its Python source members, inflated, in the archive's order.
    pub members: Vec<Member>,
    /// The names of its compiled members (`*.pyc`), which Python imports too (and runs as
    /// `__main__.pyc`) but which are not read.
    pub compiled: Vec<String>,
}

/// One Python file of an archive.
#[derive(Debug)]
pub struct Member {
    /// Its name in the archive, `/`-separated.
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The most entries an archive's central directory may list.
pub const MAX_ENTRIES: usize = 10_000;

/// What the Python members of one archive may inflate to, together.
pub const MAX_INFLATED_BYTES: usize = crate::limits::MAX_FILE_BYTES as usize;

/// How many times larger than its compressed bytes a member may inflate (Python source
/// compresses about five times; a zip bomb, about a thousand).
pub const MAX_RATIO: usize = 100;

/// Members smaller than this are not held to [`MAX_RATIO`] (a file of one repeated line is
/// small and compresses well).
const RATIO_FLOOR: usize = 64 << 10;

const END_OF_DIRECTORY: &[u8; 4] = b"PK\x05\x06";
const DIRECTORY_ENTRY: &[u8; 4] = b"PK\x01\x02";
const LOCAL_HEADER: &[u8; 4] = b"PK\x03\x04";
const END_LEN: usize = 22;
const MAX_COMMENT: usize = 0xFFFF;

/// Where the end-of-central-directory record starts, if the bytes end as a zip archive does:
/// right at the end, or before a comment of at most 64 KiB (searched backwards, as `zipimport`
/// does). Every Python file is asked this, so the search looks for the rare byte `\x06` with
/// `memrchr` (text seldom holds one) and compares the signature only where it finds one.
fn end_record(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < END_LEN {
        return None;
    }
    let last = bytes.len() - END_LEN;
    if &bytes[last..last + 4] == END_OF_DIRECTORY {
        return Some(last);
    }
    let from = bytes.len().saturating_sub(MAX_COMMENT + END_LEN);
    let mut end = last + 4;
    while let Some(at) = memchr::memrchr(b'\x06', &bytes[from..end]) {
        let at = from + at;
        if at >= 3 && &bytes[at - 3..=at] == END_OF_DIRECTORY {
            return Some(at - 3);
        }
        end = at;
    }
    None
}

/// Whether the bytes end as a zip archive: Python would try to run such a file as a zipapp.
pub fn is_zip(bytes: &[u8]) -> bool {
    end_record(bytes).is_some()
}

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at + 2)?;
    Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at + 4)?;
    usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()
}

/// The Python members of a zip archive (names that are Python source by their name, at any
/// depth), inflated, in the archive's order. Any archive this cannot read exactly — not a zip,
/// ZIP64, encrypted, a Python member compressed with another method than stored or deflate,
/// more than [`MAX_ENTRIES`] entries, members inflating past [`MAX_INFLATED_BYTES`] or
/// [`MAX_RATIO`] — is an error saying why: the archive cannot be vouched for.
pub fn python_members(bytes: &[u8]) -> Result<Contents, String> {
    let end = end_record(bytes).ok_or("is not a zip archive (no end of central directory)")?;
    let bad = |what: &str| format!("is a zip archive that cannot be read: {what}");
    let entries = u16_at(bytes, end + 10).ok_or_else(|| bad("truncated end record"))?;
    let size = u32_at(bytes, end + 12).ok_or_else(|| bad("truncated end record"))?;
    let offset = u32_at(bytes, end + 16).ok_or_else(|| bad("truncated end record"))?;
    if entries == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        return Err(
            "is a ZIP64 archive, which dill-guard does not read; its Python members cannot be \
             checked"
                .into(),
        );
    }
    // Bytes before the archive (a shebang line) shift every offset it records, as `zipimport`
    // works out.
    let directory = end
        .checked_sub(size)
        .ok_or_else(|| bad("the central directory is larger than the file"))?;
    let shift = directory
        .checked_sub(offset)
        .ok_or_else(|| bad("the central directory's offset is past its place"))?;
    let mut contents = Contents::default();
    let mut inflated = 0usize;
    let mut inflater = zlib_rs::Inflate::new(false, 15);
    let mut at = directory;
    let mut count = 0usize;
    // `zipimport` reads entries until a record is not one (the count in the end record is not
    // consulted).
    while bytes.get(at..at + 4) == Some(DIRECTORY_ENTRY.as_slice()) {
        count += 1;
        if count > MAX_ENTRIES {
            return Err(format!(
                "is a zip archive of more than {MAX_ENTRIES} entries, more than dill-guard \
                 reads; its Python members cannot be checked"
            ));
        }
        let field = |off: usize| u16_at(bytes, at + off).ok_or_else(|| bad("truncated entry"));
        let wide = |off: usize| u32_at(bytes, at + off).ok_or_else(|| bad("truncated entry"));
        let flags = field(8)?;
        let method = field(10)?;
        let compressed = wide(20)?;
        let declared = wide(24)?;
        let name_len = field(28)?;
        let extra_len = field(30)?;
        let comment_len = field(32)?;
        let local = wide(42)?;
        let raw_name = bytes
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("truncated entry name"))?;
        at += 46 + name_len + extra_len + comment_len;
        // Names are UTF-8 when flagged so, else code page 437; a Python member's name is
        // ASCII in either.
        let name = String::from_utf8_lossy(raw_name).replace('\\', "/");
        if !matches!(python::kind_by_name(&name), Some(Kind::Source)) {
            if name.to_ascii_lowercase().ends_with(".pyc") {
                contents.compiled.push(name);
            }
            continue;
        }
        let member = |why: String| format!("is a zip archive whose member `{name}` {why}");
        if compressed == 0xFFFF_FFFF || declared == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
            return Err(member(
                "uses ZIP64 sizes, which dill-guard does not read".into(),
            ));
        }
        if flags & 1 != 0 {
            return Err(member("is encrypted: it cannot be checked".into()));
        }
        let header = local
            .checked_add(shift)
            .filter(|&h| bytes.get(h..h + 4) == Some(LOCAL_HEADER.as_slice()))
            .ok_or_else(|| member("has no local header where the directory says".into()))?;
        let local_name = u16_at(bytes, header + 26).ok_or_else(|| bad("truncated header"))?;
        let local_extra = u16_at(bytes, header + 28).ok_or_else(|| bad("truncated header"))?;
        let start = header + 30 + local_name + local_extra;
        let data = bytes
            .get(start..start.saturating_add(compressed))
            .ok_or_else(|| member("runs past the end of the file".into()))?;
        let room = MAX_INFLATED_BYTES - inflated;
        let content = match method {
            0 => data.to_vec(),
            8 => {
                let cap = room.min(data.len().saturating_mul(MAX_RATIO).max(RATIO_FLOOR));
                inflate(&mut inflater, data, cap).map_err(|why| member(why.to_string()))?
            }
            other => {
                return Err(member(format!(
                    "is compressed with method {other}; dill-guard reads stored and deflated \
                     members only, so it cannot be checked"
                )))
            }
        };
        if content.len() > room {
            return Err(member(format!(
                "takes the archive's Python past {} inflated: refused as a possible zip bomb",
                crate::model::size_text(MAX_INFLATED_BYTES as u64)
            )));
        }
        inflated += content.len();
        contents.members.push(Member {
            name,
            bytes: content,
        });
    }
    Ok(contents)
}

/// Inflates a raw deflate stream to at most `cap` bytes; more is an error (a bomb), as is a
/// stream that is damaged or ends early.
fn inflate(inflater: &mut zlib_rs::Inflate, data: &[u8], cap: usize) -> Result<Vec<u8>, String> {
    inflater.reset(false);
    let mut out = vec![0u8; cap.min(data.len().saturating_mul(8).max(4096)) + 1];
    let mut consumed = 0;
    let mut written = 0;
    loop {
        let before_in = inflater.total_in();
        let before_out = inflater.total_out();
        let status = inflater
            .decompress(
                &data[consumed..],
                &mut out[written..],
                zlib_rs::InflateFlush::NoFlush,
            )
            .map_err(|err| format!("is not valid deflate data ({})", err.as_str()))?;
        consumed += (inflater.total_in() - before_in) as usize;
        written += (inflater.total_out() - before_out) as usize;
        if written > cap {
            return Err(format!(
                "inflates to more than {cap} bytes from {} (more than {MAX_RATIO} times its \
                 size, or past what dill-guard reads of one archive): refused as a possible zip \
                 bomb",
                data.len()
            ));
        }
        if status == zlib_rs::Status::StreamEnd {
            out.truncate(written);
            return Ok(out);
        }
        if written == out.len() {
            let grown = (out.len() * 2).min(cap + 1);
            out.resize(grown, 0);
        } else if consumed == data.len() {
            return Err("ends before its deflate stream does".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zip archive of `members` (name, bytes, deflated?) after `prefix`, laid out as
    /// Python's `zipfile` writes one.
    fn archive(prefix: &[u8], members: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut out = prefix.to_vec();
        let mut directory = Vec::new();
        for (name, content, deflate) in members {
            let data = if *deflate {
                let mut buf = vec![0u8; content.len() + 64];
                let config = zlib_rs::DeflateConfig {
                    window_bits: -15,
                    ..Default::default()
                };
                let (done, _) = zlib_rs::compress_slice(&mut buf, content, config);
                done.to_vec()
            } else {
                content.to_vec()
            };
            let offset = (out.len() - prefix.len()) as u32;
            let method: u16 = if *deflate { 8 } else { 0 };
            let mut head = Vec::new();
            head.extend_from_slice(&20u16.to_le_bytes());
            head.extend_from_slice(&0u16.to_le_bytes());
            head.extend_from_slice(&method.to_le_bytes());
            head.extend_from_slice(&[0; 8]);
            head.extend_from_slice(&(data.len() as u32).to_le_bytes());
            head.extend_from_slice(&(content.len() as u32).to_le_bytes());
            head.extend_from_slice(&(name.len() as u16).to_le_bytes());
            head.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(LOCAL_HEADER);
            out.extend_from_slice(&head);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&data);
            directory.extend_from_slice(DIRECTORY_ENTRY);
            directory.extend_from_slice(&20u16.to_le_bytes());
            directory.extend_from_slice(&head);
            // Comment length, disk, internal and external attributes.
            directory.extend_from_slice(&[0; 10]);
            directory.extend_from_slice(&offset.to_le_bytes());
            directory.extend_from_slice(name.as_bytes());
        }
        let start = (out.len() - prefix.len()) as u32;
        out.extend_from_slice(&directory);
        out.extend_from_slice(END_OF_DIRECTORY);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn reads_stored_and_deflated_python_members_after_a_shebang() {
        let zip = archive(
            b"#!/usr/bin/env python3\n",
            &[
                ("__main__.py", b"import pkg.mod\n", false),
                ("pkg/mod.py", b"import dill\ndill.loads(b'')\n", true),
                ("data.bin", b"\x00\x01", true),
            ],
        );
        assert!(is_zip(&zip));
        let members = python_members(&zip).unwrap().members;
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["__main__.py", "pkg/mod.py"]);
        assert_eq!(members[1].bytes, b"import dill\ndill.loads(b'')\n");
        // An archive comment after the end record.
        let mut commented = zip.clone();
        let at = commented.len() - 2;
        commented[at] = 5;
        commented.extend_from_slice(b"\x06\x06PK!");
        assert!(is_zip(&commented));
        assert_eq!(python_members(&commented).unwrap().members.len(), 2);
        let compiled = archive(b"", &[("__main__.pyc", b"\x00", false)]);
        assert_eq!(
            python_members(&compiled).unwrap().compiled,
            ["__main__.pyc"]
        );
    }

    #[test]
    fn damaged_archives_never_panic() {
        let zip = archive(
            b"#!/usr/bin/env python3\n",
            &[
                ("__main__.py", b"import pkg.mod\n", true),
                ("pkg/mod.py", &[b'x'; 3000], true),
                ("pkg/data.py", b"y = 2\n", false),
            ],
        );
        // A deterministic xorshift: every run tries the same damage.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        for _ in 0..20_000 {
            let mut damaged = zip.clone();
            for _ in 0..1 + next() % 4 {
                let at = next() % damaged.len();
                damaged[at] = next() as u8;
            }
            if next() % 8 == 0 {
                damaged.truncate(next() % damaged.len());
            }
            if let Ok(contents) = python_members(&damaged) {
                let total: usize = contents.members.iter().map(|m| m.bytes.len()).sum();
                assert!(total <= MAX_INFLATED_BYTES);
            }
        }
    }

    #[test]
    fn bombs_and_unreadable_archives_are_errors() {
        assert!(!is_zip(b"import dill\n"));
        assert!(python_members(b"import dill\n").is_err());
        let big = vec![b'#'; 8 << 20];
        let bomb = archive(b"", &[("a.py", &big, true)]);
        let err = python_members(&bomb).unwrap_err();
        assert!(err.contains("zip bomb"), "{err}");
        let mut other = archive(b"", &[("a.py", b"x = 1\n", false)]);
        // Method 12 (bzip2) in the local and the central record.
        let local = 8;
        other[local] = 12;
        let central = memchr::memmem::find(&other, DIRECTORY_ENTRY).unwrap() + 10;
        other[central] = 12;
        let err = python_members(&other).unwrap_err();
        assert!(err.contains("method 12"), "{err}");
        // A deflate stream cut short.
        let whole = archive(b"", &[("a.py", &[b'x'; 5000], true)]);
        let mut cut = whole.clone();
        let size_at = memchr::memmem::find(&cut, DIRECTORY_ENTRY).unwrap() + 20;
        cut[size_at] = 2;
        cut[size_at + 1] = 0;
        let err = python_members(&cut).unwrap_err();
        assert!(err.contains("ends before"), "{err}");
    }
}
