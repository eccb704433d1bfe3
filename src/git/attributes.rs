//! What git does to a file's bytes on the way out of the object database: the conversions
//! `.gitattributes` asks a checkout (or `git archive`) to apply. dill-guard judges the bytes
//! that land, so a Python file whose attributes change it is judged after the same conversions:
//! `ident`, `eol=crlf`, `working-tree-encoding` and, in archives, `export-subst`. A `filter`
//! runs a program dill-guard will not run, and an LFS pointer stands for content that is not in
//! the repository: both are errors for a Python file, never a pass.
//!
//! Rules come from the `.gitattributes` files of the index or tree being judged (each
//! directory's own file, deeper ones first), then `info/attributes` above them all, and the
//! user's global attributes file below them, as git orders them.

use std::collections::HashMap;

use gix::bstr::{BStr, BString, ByteSlice};
use gix::ObjectId;
pub use gix_attributes::glob::pattern::Case;
use gix_attributes::search::{MetadataCollection, Outcome};
use gix_attributes::{Search, StateRef};

use super::{git_error, IndexFile, Repo};
use crate::model::Error;

/// The attributes that change bytes on checkout or in an archive.
const NAMES: &[&str] = &[
    "text",
    "crlf",
    "eol",
    "ident",
    "working-tree-encoding",
    "export-subst",
    "filter",
];

/// Words without which no attributes source converts anything (`eol=crlf` and the old `crlf`
/// both contain `crlf`; `text` alone changes nothing Python reads).
const CONVERTING: &[&str] = &[
    "crlf",
    "ident",
    "working-tree-encoding",
    "export-subst",
    "filter",
];

/// What a checkout or an archive does to one file's bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Conversion {
    /// `ident`: `$Id$` becomes `$Id: <blob id> $`.
    pub ident: bool,
    /// `eol=crlf` (and `text` not unset): line feeds become CR LF.
    pub crlf: bool,
    /// `working-tree-encoding`: the UTF-8 blob is written in this encoding.
    pub encoding: Option<String>,
    /// `export-subst` with the commit an archive would be made of (`None` in the index, where
    /// the commit does not exist yet).
    pub export_subst: Option<Option<ObjectId>>,
    /// `filter=<driver>`.
    pub filter: Option<String>,
}

impl Conversion {
    pub fn is_identity(&self) -> bool {
        *self == Conversion::default()
    }
}

/// Where `.gitattributes` files are read from.
#[derive(Clone, Copy)]
pub enum Rules {
    Index,
    Tree(ObjectId),
}

/// What `export-subst` writes for one commit.
pub struct ArchiveCommit {
    pub id: ObjectId,
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    pub author: (BString, BString, BString),
    pub committer: (BString, BString, BString),
    pub message: BString,
    /// The commit's `encoding` header, when it has one.
    pub encoding: Option<BString>,
    /// The refs that point at it, as `%d` shows them.
    pub refs: Vec<BString>,
}

/// The pattern lists of the directories on the path of the file being matched.
struct Stack {
    search: Search,
    /// The directories whose `.gitattributes` is on the stack, root first, with whether it
    /// had one (only those were pushed).
    dirs: Vec<(BString, bool)>,
}

impl Repo {
    /// Whether any attribute rules can change the bytes of `paths` in `rules`: a
    /// `.gitattributes` in a directory on the way to one of them (in the index: looked up
    /// directory by directory; for a tree: always asked, since only those directories are
    /// read anyway), `info/attributes` or the global attributes file naming an attribute that
    /// converts (macros included: they are spelled out in the same files). Most repositories
    /// have none, or only `text`/`eol=lf`/`diff` lines, and then nothing else is read.
    fn attribute_files(&self, rules: Rules, paths: &[&BStr]) -> Result<bool, Error> {
        let converts = |bytes: &[u8]| CONVERTING.iter().any(|word| bytes.find(word).is_some());
        if self.info_attributes().is_some_and(converts)
            || self.global_attributes().is_some_and(converts)
        {
            return Ok(true);
        }
        if let Rules::Tree(_) = rules {
            return Ok(true);
        }
        let parent = |path: &[u8]| -> BString {
            BString::from(path.rfind_byte(b'/').map_or(&b""[..], |at| &path[..at]))
        };
        // A directory seen was checked with every directory above it.
        let mut seen: std::collections::HashSet<BString> = Default::default();
        for path in paths {
            let mut dir = parent(path);
            while seen.insert(dir.clone()) {
                if self
                    .dir_attributes(rules, dir.as_bstr())?
                    .is_some_and(|bytes| converts(&bytes))
                {
                    return Ok(true);
                }
                if dir.is_empty() {
                    break;
                }
                dir = parent(&dir);
            }
        }
        Ok(false)
    }

    fn info_attributes(&self) -> Option<&[u8]> {
        self.outside_attributes()[0].as_deref()
    }

    fn global_attributes(&self) -> Option<&[u8]> {
        self.outside_attributes()[1].as_deref()
    }

    /// `info/attributes` and the global attributes file (`core.attributesFile`, or git's
    /// default under the user's configuration directory), read once per run.
    fn outside_attributes(&self) -> &[Option<Vec<u8>>; 2] {
        self.cache.outside_attributes.get_or_init(|| {
            let info = std::fs::read(self.repo.common_dir().join("info/attributes")).ok();
            let configured = self
                .repo
                .config_snapshot()
                .trusted_path("core.attributesFile")
                .ok()
                .flatten();
            let default = std::env::var_os("XDG_CONFIG_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config"))
                })
                .map(|dir| dir.join("git/attributes"));
            let global = configured
                .into_iter()
                .chain(default)
                .find_map(|path| std::fs::read(path).ok());
            [info, global]
        })
    }

    /// The `.gitattributes` of directory `dir` (`""` for the root) in `rules`.
    fn dir_attributes(&self, rules: Rules, dir: &BStr) -> Result<Option<Vec<u8>>, Error> {
        let mut path = BString::from(dir);
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(b".gitattributes");
        match rules {
            Rules::Index => match self.index()?.entry_by_path(path.as_bstr()) {
                Some(entry) if !entry.mode.is_submodule() => self
                    .blob(&IndexFile::plain(path.clone(), entry.id))
                    .map(Some),
                _ => Ok(None),
            },
            Rules::Tree(tree) => match self.tree_entry(tree, path.as_bstr())? {
                Some((mode, id)) if mode.is_blob() || mode.is_link() => {
                    self.blob(&IndexFile::plain(path.clone(), id)).map(Some)
                }
                _ => Ok(None),
            },
        }
    }

    /// What a checkout does to each of `paths` (sorted or not), under the rules of `rules`;
    /// `None` when no attribute changes any of them. `commit` is the commit an archive of a
    /// tree would be made of, for `export-subst`.
    pub fn conversions(
        &self,
        rules: Rules,
        paths: &[&BStr],
        commit: Option<ObjectId>,
        case: Case,
    ) -> Result<Option<Vec<Conversion>>, Error> {
        if paths.is_empty() || !self.attribute_files(rules, paths)? {
            return Ok(None);
        }
        let mut collection = MetadataCollection::default();
        let parse_error = |err: std::io::Error| git_error("attributes could not be read", err);
        let mut globals = Search::new_globals(
            std::iter::empty::<std::path::PathBuf>(),
            &mut Vec::new(),
            &mut collection,
        )
        .map_err(parse_error)?;
        if let Some(bytes) = self.global_attributes() {
            globals
                .add_patterns_buffer(bytes, "global".into(), None, &mut collection, true)
                .map_err(parse_error)?;
        }
        let mut info = Search::default();
        if let Some(bytes) = self.info_attributes() {
            info.add_patterns_buffer(bytes, "info/attributes".into(), None, &mut collection, true)
                .map_err(parse_error)?;
        }
        let mut stack = Stack {
            search: Search::default(),
            dirs: Vec::new(),
        };
        let mut seen: HashMap<BString, Option<Vec<u8>>> = HashMap::new();
        let mut outcome = Outcome::default();
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let dir = path.rfind_byte(b'/').map_or(&b""[..], |at| &path[..at]);
            // Pop the directories that are not on this file's way, push the ones that are.
            let ancestors = ancestors(dir.as_bstr());
            let common = stack
                .dirs
                .iter()
                .zip(&ancestors)
                .take_while(|((d, _), a)| d == *a)
                .count();
            while stack.dirs.len() > common {
                if stack.dirs.pop().is_some_and(|(_, had)| had) {
                    stack.search.pop_pattern_list();
                }
            }
            for ancestor in &ancestors[common..] {
                let bytes = match seen.get(*ancestor) {
                    Some(bytes) => bytes.clone(),
                    None => {
                        let bytes = self.dir_attributes(rules, ancestor)?;
                        seen.insert(BString::from(*ancestor), bytes.clone());
                        bytes
                    }
                };
                let had = bytes.is_some();
                if let Some(bytes) = bytes {
                    let mut source = std::path::PathBuf::from(ancestor.to_str_lossy().as_ref());
                    source.push(".gitattributes");
                    // Macros are only honoured in the top-level file, as git does.
                    stack
                        .search
                        .add_patterns_buffer(
                            &bytes,
                            source,
                            Some(std::path::Path::new("")),
                            &mut collection,
                            ancestor.is_empty(),
                        )
                        .map_err(parse_error)?;
                }
                stack.dirs.push((BString::from(*ancestor), had));
            }
            outcome.initialize_with_selection(&collection, NAMES);
            for search in [&info, &stack.search, &globals] {
                search.pattern_matching_relative_path(path, case, Some(false), &mut outcome);
            }
            out.push(conversion_of(&outcome, commit));
        }
        Ok(Some(out))
    }

    /// The files of `tree` that `export-subst` rewrites in an archive: what an archive of a
    /// new commit writes into them depends on that commit, whether or not they changed. Only
    /// read when some attributes file of the tree (or `info/attributes`) names `export-subst`.
    pub fn export_subst_files(&self, tree: ObjectId) -> Result<Vec<IndexFile>, Error> {
        let mentions = |bytes: &[u8]| bytes.find(b"export-subst").is_some();
        let mut dirs: Vec<BString> = Vec::new();
        if self.info_attributes().is_some_and(mentions)
            || self.global_attributes().is_some_and(mentions)
        {
            dirs.push(BString::default());
        }
        for file in self.attribute_files_in(tree)?.iter() {
            if mentions(&self.blob(file)?) {
                let dir = file
                    .path
                    .rfind_byte(b'/')
                    .map_or(&b""[..], |at| &file.path[..at]);
                dirs.push(BString::from(dir));
            }
        }
        if dirs.is_empty() {
            return Ok(Vec::new());
        }
        // The outermost directories hold the others' files.
        dirs.sort();
        dirs.dedup_by(|inner, outer| {
            outer.is_empty() || inner.starts_with(&[outer.as_slice(), b"/"].concat())
        });
        let mut files = Vec::new();
        for dir in &dirs {
            files.extend(self.files_under(tree, dir.as_bstr())?);
        }
        let paths: Vec<&BStr> = files.iter().map(|f| f.path.as_bstr()).collect();
        let Some(exact) = self.conversions(Rules::Tree(tree), &paths, None, Case::Sensitive)?
        else {
            return Ok(Vec::new());
        };
        let folded = self
            .conversions(Rules::Tree(tree), &paths, None, Case::Fold)?
            .unwrap_or_default();
        Ok(files
            .into_iter()
            .enumerate()
            .filter(|(i, _)| {
                exact[*i].export_subst.is_some()
                    || folded.get(*i).is_some_and(|c| c.export_subst.is_some())
            })
            .map(|(_, file)| file)
            .collect())
    }

    /// The `export-subst` files of `tree` that write ref names (`%d`, `%D`) somewhere in a
    /// `$Format:` placeholder.
    pub fn decorated_files(&self, tree: ObjectId) -> Result<Vec<IndexFile>, Error> {
        let mut found = Vec::new();
        for file in self.export_subst_files(tree)? {
            let bytes = self.blob(&file)?;
            let mut rest = bytes.as_slice();
            while let Some(at) = rest.find(b"$Format:") {
                let body = &rest[at + 8..];
                let end = body.find_byte(b'$').unwrap_or(body.len());
                if body[..end].find(b"%d").is_some() || body[..end].find(b"%D").is_some() {
                    found.push(file.clone());
                    break;
                }
                rest = &body[end.min(body.len())..];
                if rest.is_empty() {
                    break;
                }
                rest = &rest[1..];
            }
        }
        Ok(found)
    }

    /// The commit fields `export-subst` can write, with the refs that name it.
    pub fn archive_commit(&self, id: ObjectId, refs: Vec<BString>) -> Result<ArchiveCommit, Error> {
        let what = || format!("commit {id}");
        let (_, data) = super::read_object(self.objects(), id, &what)?;
        let commit = gix::objs::CommitRef::from_bytes(&data, self.repo.object_hash())
            .map_err(|err| git_error(format!("commit {id} could not be read"), err))?;
        let person = |sig: gix::actor::SignatureRef<'_>| {
            (
                BString::from(sig.name),
                BString::from(sig.email),
                BString::from(sig.time),
            )
        };
        Ok(ArchiveCommit {
            id,
            tree: commit.tree(),
            parents: commit.parents().collect(),
            author: person(commit.author().map_err(|err| git_error(what(), err))?),
            committer: person(commit.committer().map_err(|err| git_error(what(), err))?),
            message: commit.message.to_owned(),
            encoding: commit.encoding.map(|e| e.to_owned()),
            refs,
        })
    }
}

/// `""`, `a`, `a/b` for `a/b`.
fn ancestors(dir: &BStr) -> Vec<&BStr> {
    let mut out = vec![BStr::new(b"")];
    if !dir.is_empty() {
        for (at, _) in dir.iter().enumerate().filter(|(_, &b)| b == b'/') {
            out.push(dir[..at].as_bstr());
        }
        out.push(dir);
    }
    out
}

fn conversion_of(outcome: &Outcome, commit: Option<ObjectId>) -> Conversion {
    let mut conversion = Conversion::default();
    let mut text = None;
    let mut eol_crlf = false;
    for found in outcome.iter_selected() {
        let state = found.assignment.state;
        match (found.assignment.name.as_str(), state) {
            ("text", StateRef::Unset) => text = Some(false),
            ("text", StateRef::Set | StateRef::Value(_)) => text = Some(true),
            ("crlf", StateRef::Unset) => text = text.or(Some(false)),
            ("eol", StateRef::Value(v)) => eol_crlf = v.as_bstr() == "crlf",
            ("ident", StateRef::Set) => conversion.ident = true,
            ("working-tree-encoding", StateRef::Value(v)) => {
                conversion.encoding = Some(v.as_bstr().to_str_lossy().into_owned())
            }
            ("export-subst", StateRef::Set) => conversion.export_subst = Some(commit),
            ("filter", StateRef::Value(v)) if !v.as_bstr().is_empty() => {
                conversion.filter = Some(v.as_bstr().to_str_lossy().into_owned())
            }
            _ => {}
        }
    }
    conversion.crlf = eol_crlf && text != Some(false);
    // UTF-8 written as UTF-8 changes nothing.
    if conversion
        .encoding
        .as_deref()
        .is_some_and(|e| matches!(e.to_ascii_uppercase().as_str(), "UTF-8" | "UTF8"))
    {
        conversion.encoding = None;
    }
    conversion
}

/// Whether `path` names a `.gitattributes` file.
pub fn is_attributes_file(path: &[u8]) -> bool {
    path == b".gitattributes" || path.ends_with(b"/.gitattributes")
}

/// Whether a blob is a Git LFS pointer: its content lives on an LFS server, not in the
/// repository.
pub fn is_lfs_pointer(bytes: &[u8]) -> bool {
    bytes.len() < 1024 && bytes.starts_with(b"version https://git-lfs.github.com/spec/")
}

/// Applies `conversion` to a blob's bytes as git would write them out: every form it may
/// take (more than one only where the platform decides a byte order). `archive` holds the
/// commit for `export-subst` when there is one. An error says why the result cannot be known.
pub fn apply(
    conversion: &Conversion,
    id: ObjectId,
    bytes: Vec<u8>,
    archive: Option<&ArchiveCommit>,
) -> Result<Vec<Vec<u8>>, String> {
    if let Some(driver) = &conversion.filter {
        return Err(format!(
            "has `filter={driver}` in its attributes: a checkout runs that filter's program on it, so what lands on disk is not what is committed and cannot be judged; exclude the path in dill-guard.toml if you trust the filter"
        ));
    }
    let mut bytes = bytes;
    if conversion.export_subst.is_some() {
        bytes = export_subst(&bytes, archive)?;
    }
    // git leaves an `$Id: ... $` it takes for another tool's alone, by rules this does not
    // model: both what it may leave and what it may write are judged.
    let mut forms = if conversion.ident {
        vec![ident(&bytes, id), bytes]
    } else {
        vec![bytes]
    };
    if conversion.crlf {
        forms = forms.iter().map(|b| to_crlf(b)).collect();
    }
    match &conversion.encoding {
        Some(encoding) => {
            let mut out = Vec::new();
            for form in forms {
                out.extend(encode(&form, encoding)?);
            }
            Ok(out)
        }
        None => Ok(forms),
    }
}

/// `$Id$` (or an already expanded `$Id: ... $` on one line) becomes `$Id: <id> $`.
fn ident(bytes: &[u8], id: ObjectId) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = rest.find(b"$Id") {
        out.extend_from_slice(&rest[..at]);
        let after = &rest[at + 3..];
        let end = match after.first() {
            Some(b'$') => Some(0),
            Some(b':') => after
                .iter()
                .position(|&b| b == b'$' || b == b'\n')
                .filter(|&p| after[p] == b'$'),
            _ => None,
        };
        match end {
            Some(end) => {
                out.extend_from_slice(format!("$Id: {id} $").as_bytes());
                rest = &after[end + 1..];
            }
            None => {
                out.extend_from_slice(b"$Id");
                rest = after;
            }
        }
    }
    out.extend_from_slice(rest);
    out
}

/// Line feeds not already after a carriage return become CR LF.
fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut previous = 0u8;
    for &b in bytes {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out
}

/// The UTF-8 blob written in `encoding`, for the encodings whose result dill-guard can read
/// back: the UTF-16 and UTF-32 families, Latin-1 and ASCII. A name that leaves the byte order
/// or the byte-order mark to the platform's iconv (`UTF-16`, `UCS-2`, `UTF-32`, `UCS-4`) gives
/// every form it may write, each judged. Any other encoding (EBCDIC code pages, Shift_JIS...)
/// is an error: what a checkout holds could not be judged.
fn encode(bytes: &[u8], encoding: &str) -> Result<Vec<Vec<u8>>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        format!("has `working-tree-encoding={encoding}` but is not valid UTF-8 in the repository, so git would not convert it the way it is read here")
    })?;
    let name = encoding.to_ascii_uppercase().replace('_', "-");
    // Code units of `width` bytes, in the byte order asked, after a byte-order mark if asked.
    let units = |units: &mut dyn Iterator<Item = u32>, width: usize, big: bool, bom: bool| {
        let mut out = Vec::with_capacity(text.len() * width + width);
        for unit in bom.then_some(0xFEFF).into_iter().chain(units) {
            let bytes = &unit.to_be_bytes()[4 - width..];
            if big {
                out.extend_from_slice(bytes);
            } else {
                out.extend(bytes.iter().rev());
            }
        }
        out
    };
    let units16 =
        |big: bool, bom: bool| units(&mut text.encode_utf16().map(u32::from), 2, big, bom);
    let units32 = |big: bool, bom: bool| units(&mut text.chars().map(u32::from), 4, big, bom);
    let every = |make: &dyn Fn(bool, bool) -> Vec<u8>| {
        vec![
            make(false, false),
            make(false, true),
            make(true, false),
            make(true, true),
        ]
    };
    let one_byte = |max: u32| {
        text.chars()
            .map(|c| u8::try_from(c as u32).ok().filter(|&b| u32::from(b) <= max))
            .collect::<Option<Vec<u8>>>()
            .map(|bytes| vec![bytes])
            .ok_or_else(|| format!("has `working-tree-encoding={encoding}` but holds characters that encoding cannot write"))
    };
    Ok(match name.as_str() {
        "UTF-16" | "UCS-2" | "UTF16" | "UCS2" => every(&units16),
        "UTF-16LE" | "UCS-2LE" | "UTF16LE" => vec![units16(false, false)],
        "UTF-16BE" | "UCS-2BE" | "UTF16BE" => vec![units16(true, false)],
        "UTF-16LE-BOM" => vec![units16(false, true)],
        "UTF-16BE-BOM" => vec![units16(true, true)],
        "UTF-32" | "UCS-4" | "UTF32" | "UCS4" => every(&units32),
        "UTF-32LE" | "UCS-4LE" | "UTF32LE" => vec![units32(false, false)],
        "UTF-32BE" | "UCS-4BE" | "UTF32BE" => vec![units32(true, false)],
        "ISO-8859-1" | "ISO8859-1" | "LATIN1" | "LATIN-1" | "L1" => one_byte(0xFF)?,
        "ASCII" | "US-ASCII" | "ANSI-X3.4-1968" => one_byte(0x7F)?,
        _ => {
            return Err(format!(
                "has `working-tree-encoding={encoding}`: a checkout writes it in that encoding, which dill-guard cannot convert to, so what lands on disk cannot be judged; exclude the path in dill-guard.toml if that is intended"
            ))
        }
    })
}

/// `$Format:...$` replaced as `git archive` does, with the commit's fields. Without a commit
/// (the index), each placeholder becomes what it would for a commit with empty text.
fn export_subst(bytes: &[u8], archive: Option<&ArchiveCommit>) -> Result<Vec<u8>, String> {
    if bytes.find(b"$Format:").is_none() {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = rest.find(b"$Format:") {
        out.extend_from_slice(&rest[..at]);
        let after = &rest[at + 8..];
        match after.find_byte(b'$') {
            Some(end) => {
                out.extend_from_slice(&pretty(&after[..end], archive)?);
                rest = &after[end + 1..];
            }
            None => {
                out.extend_from_slice(&rest[at..at + 8]);
                rest = after;
            }
        }
    }
    out.extend_from_slice(rest);
    Ok(out)
}

/// One `--pretty=format:` string, for the placeholders that write a commit's text, ids, names
/// and refs. Dates are written in one fixed form (they cannot hold code). A placeholder this
/// does not know is an error: it may write text dill-guard has not seen.
fn pretty(format: &[u8], archive: Option<&ArchiveCommit>) -> Result<Vec<u8>, String> {
    let empty = BString::default();
    let zero = "0".repeat(40);
    let hex = |id: Option<ObjectId>| id.map_or(zero.clone(), |id| id.to_string());
    // A message in another encoding is re-encoded by `git archive`: not modelled.
    if let Some(encoding) = archive.and_then(|a| a.encoding.as_ref()) {
        if !encoding.eq_ignore_ascii_case(b"utf-8") && !encoding.eq_ignore_ascii_case(b"utf8") {
            return Err(format!(
                "has `export-subst` in its attributes, and the commit archived declares its message in `{encoding}`, which `git archive` converts in ways dill-guard does not model"
            ));
        }
    }
    let _ = &empty;
    let (subject, body) = archive.map_or((BString::default(), BString::default()), |a| {
        subject_and_body(a.message.as_bstr())
    });
    let (subject, body) = (subject.as_bstr(), body.as_bstr());
    let mut out = Vec::new();
    let mut i = 0;
    while i < format.len() {
        if format[i] != b'%' {
            out.push(format[i]);
            i += 1;
            continue;
        }
        let rest = &format[i + 1..];
        let take = |n: usize| &rest[..n.min(rest.len())];
        let (written, used): (Vec<u8>, usize) = match rest.first().copied() {
            Some(b'%') => (b"%".to_vec(), 1),
            Some(b'n') => (b"\n".to_vec(), 1),
            Some(b'H') => (hex(archive.map(|a| a.id)).into_bytes(), 1),
            Some(b'h') => (hex(archive.map(|a| a.id)).as_bytes()[..7].to_vec(), 1),
            Some(b'T') => (hex(archive.map(|a| a.tree)).into_bytes(), 1),
            Some(b't') => (hex(archive.map(|a| a.tree)).as_bytes()[..7].to_vec(), 1),
            Some(b'P' | b'p') => {
                let short = rest[0] == b'p';
                let parents = archive.map(|a| a.parents.clone()).unwrap_or_default();
                let list: Vec<String> = parents
                    .iter()
                    .map(|p| {
                        let full = p.to_string();
                        if short {
                            full[..7].to_string()
                        } else {
                            full
                        }
                    })
                    .collect();
                (list.join(" ").into_bytes(), 1)
            }
            Some(who @ (b'a' | b'c')) => {
                let person = archive.map(|a| if who == b'a' { &a.author } else { &a.committer });
                let field = |f: fn(&(BString, BString, BString)) -> &BString| {
                    person.map_or(Vec::new(), |p| f(p).to_vec())
                };
                match rest.get(1).copied() {
                    // The capital forms go through `.mailmap`, which is not modelled.
                    Some(b'n') => (field(|p| &p.0), 2),
                    Some(b'e') => (field(|p| &p.1), 2),
                    Some(b'l') => {
                        let email = field(|p| &p.1);
                        let local = email.split(|&b| b == b'@').next().unwrap_or(&[]).to_vec();
                        (local, 2)
                    }
                    Some(b'd' | b'D' | b'r' | b't' | b'i' | b'I' | b's' | b'h') => {
                        (field(|p| &p.2), 2)
                    }
                    _ => return Err(unknown(take(2))),
                }
            }
            Some(b'd') => (decorations(archive, true), 1),
            Some(b'D') => (decorations(archive, false), 1),
            Some(b's') => (subject.to_vec(), 1),
            Some(b'f') => (
                subject
                    .iter()
                    .map(|&b| {
                        if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' {
                            b
                        } else {
                            b'-'
                        }
                    })
                    .collect(),
                1,
            ),
            Some(b'b') => (body.to_vec(), 1),
            Some(b'B') => (archive.map_or(Vec::new(), |a| a.message.to_vec()), 1),
            Some(b'e') => (
                archive
                    .and_then(|a| a.encoding.as_ref())
                    .map_or(Vec::new(), |e| e.to_vec()),
                1,
            ),
            Some(b'm') => (Vec::new(), 1),
            Some(b'x') if rest.len() >= 3 => {
                match u8::from_str_radix(&String::from_utf8_lossy(&rest[1..3]), 16) {
                    Ok(byte) => (vec![byte], 3),
                    Err(_) => return Err(unknown(take(3))),
                }
            }
            Some(b'C') => {
                // Colours write nothing into an archive; a form git would not read as a colour
                // is written as it stands, which this does not model.
                let len = if rest.get(1) == Some(&b'(') {
                    match rest.find_byte(b')') {
                        Some(close) => close + 1,
                        None => return Err(unknown(take(12))),
                    }
                } else {
                    match ["reset", "red", "green", "blue"]
                        .iter()
                        .find(|c| rest[1..].starts_with(c.as_bytes()))
                    {
                        Some(c) => 1 + c.len(),
                        None => return Err(unknown(take(12))),
                    }
                };
                (Vec::new(), len)
            }
            _ => return Err(unknown(take(12))),
        };
        out.extend_from_slice(&written);
        i += 1 + used;
    }
    Ok(out)
}

/// `%s` and `%b` as git writes them: blank lines before the subject skipped, the subject's
/// paragraph joined into one line with spaces, the body after the blank lines that follow it.
fn subject_and_body(message: &BStr) -> (BString, BString) {
    let mut lines = message.lines_with_terminator().peekable();
    while lines.peek().is_some_and(|l| l.trim().is_empty()) {
        lines.next();
    }
    let mut subject = Vec::new();
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        if !subject.is_empty() {
            subject.push(b' ');
        }
        subject.extend_from_slice(line.trim_end());
    }
    while lines.peek().is_some_and(|l| l.trim().is_empty()) {
        lines.next();
    }
    let body: Vec<u8> = lines.flat_map(|l| l.iter().copied()).collect();
    (subject.into(), body.into())
}

fn unknown(placeholder: &[u8]) -> String {
    format!(
        "has `export-subst` in its attributes and a `$Format:` placeholder dill-guard does not expand (`%{}`): `git archive` writes commit data there that is not judged",
        placeholder.to_str_lossy()
    )
}

/// `%d` (` (main, tag: v1)`) or `%D` (`main, tag: v1`) for the refs an archive's commit has.
fn decorations(archive: Option<&ArchiveCommit>, wrapped: bool) -> Vec<u8> {
    let Some(archive) = archive.filter(|a| !a.refs.is_empty()) else {
        return Vec::new();
    };
    let names: Vec<String> = archive
        .refs
        .iter()
        .map(|name| {
            let name = name.to_str_lossy();
            match name.strip_prefix("refs/tags/") {
                Some(tag) => format!("tag: {tag}"),
                None => name
                    .strip_prefix("refs/heads/")
                    .or_else(|| name.strip_prefix("refs/remotes/"))
                    .unwrap_or(&name)
                    .to_string(),
            }
        })
        .collect();
    let joined = names.join(", ");
    if wrapped {
        format!(" ({joined})").into_bytes()
    } else {
        joined.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ObjectId {
        ObjectId::from_hex(b"1234567890abcdef1234567890abcdef12345678").unwrap()
    }

    #[test]
    fn ident_and_crlf_as_git_writes_them() {
        assert_eq!(
            ident(b"v = '$Id$'\nw = '$Id: old $'\n$Idle", id()),
            b"v = '$Id: 1234567890abcdef1234567890abcdef12345678 $'\nw = '$Id: 1234567890abcdef1234567890abcdef12345678 $'\n$Idle"
        );
        assert_eq!(to_crlf(b"a\nb\r\nc"), b"a\r\nb\r\nc");
    }

    #[test]
    fn encodings_that_can_be_read_back_and_the_rest_refused() {
        assert_eq!(
            encode("dé".as_bytes(), "utf-16le").unwrap(),
            [vec![b'd', 0, 0xE9, 0]]
        );
        assert_eq!(
            encode(b"d", "UTF-16BE-BOM").unwrap(),
            [vec![0xFE, 0xFF, 0, b'd']]
        );
        assert_eq!(encode("é".as_bytes(), "latin1").unwrap(), [vec![0xE9]]);
        // The byte order is the platform's: every form is judged.
        assert_eq!(
            encode(b"d", "UCS-2").unwrap(),
            [
                vec![b'd', 0],
                vec![0xFF, 0xFE, b'd', 0],
                vec![0, b'd'],
                vec![0xFE, 0xFF, 0, b'd']
            ]
        );
        assert!(encode("é".as_bytes(), "ascii").is_err());
        assert!(encode(b"x", "IBM037").unwrap_err().contains("IBM037"));
    }

    #[test]
    fn export_subst_writes_the_commit_text() {
        let archive = ArchiveCommit {
            id: id(),
            tree: id(),
            parents: vec![],
            author: ("A".into(), "a@x".into(), "1 +0000".into()),
            committer: ("C".into(), "c@x".into(), "1 +0000".into()),
            message: "import dill; dill.loads(b)\n\nbody".into(),
            encoding: None,
            refs: vec!["refs/heads/main".into(), "refs/tags/v1".into()],
        };
        let out = export_subst(b"x = 1\n$Format:%s$\nv = '$Format:%d$'\n", Some(&archive)).unwrap();
        assert_eq!(
            out.as_bstr(),
            "x = 1\nimport dill; dill.loads(b)\nv = ' (main, tag: v1)'\n"
        );
        assert_eq!(
            export_subst(b"'$Format:%H %h$'", None).unwrap().as_bstr(),
            format!("'{} 0000000'", "0".repeat(40))
        );
        assert!(export_subst(b"$Format:%(describe)$", None).is_err());
        // An unclosed colour is written as it stands by git: not modelled, so an error.
        assert!(export_subst(b"#$Format:%C(\nimport dill\n#$", None).is_err());
        assert!(export_subst(b"$Format:%Cxyz$", None).is_err());
        assert_eq!(export_subst(b"$Format:%C(red)%Creset$", None).unwrap(), b"");
    }
}
