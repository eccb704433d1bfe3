//! The history modes (`--range`, `--pre-push`, `--pre-receive`): which files each ref update
//! brings in, and under which policy each is judged. The policy never comes from the change
//! being judged: a ref that exists is judged under the policy at its current tip, a new ref under
//! the policy of the default branch (and against what that branch holds: see [`plan`]), a range
//! under the policy at its base. A push that brings a new policy is judged under the old one,
//! and is told so.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use gix::bstr::{BStr, BString, ByteSlice};
use gix::ObjectId;

use crate::git::{Compared, IndexFile, LinkTarget, Peeled, RefUpdate, Repo};
use crate::model::Error;
use crate::source::Selection;

/// Files judged under one policy.
#[derive(Debug, Default)]
pub struct Group {
    /// The commit whose tree holds the policy; `None`: there is none to read (an empty server,
    /// a new branch on a remote of which nothing is known).
    pub policy: Option<ObjectId>,
    /// Deduplicated, in path order.
    pub files: Vec<IndexFile>,
    /// The trees being brought in, with the ref each is for: a policy file that differs there
    /// from the policy in force is reported as a change of policy.
    pub tips: Vec<(BString, ObjectId)>,
    /// The same trees with the commit each is the tree of and the ref that will name it: what
    /// `export-subst` writes into an archive of them.
    pub archives: Vec<crate::source::ArchiveTip>,
    /// What could not be judged, for a warning: (the path or ref it concerns, why).
    pub notes: Vec<(String, String)>,
    /// What must not pass unjudged: (the path it concerns, why).
    pub errors: Vec<(String, String)>,
}

/// Splits a history selection into groups that share a policy.
///
/// A new ref (a tag, a branch, a branch deleted and pushed again) is compared with the tip of
/// the default branch: the one content known to have been accepted under the policy the new
/// ref is judged by. Commits that other refs hold were accepted under those refs' policies,
/// perhaps wider ones since narrowed again, and commits in the middle of an accepted push were
/// never judged on their own (only the tip they led to was), so neither counts as known. Under
/// one policy for every ref (`one_policy`: an operator's `--config`) everything any ref reaches
/// does.
pub fn plan(selection: &Selection, repo: &Repo, one_policy: bool) -> Result<Vec<Group>, Error> {
    match selection {
        Selection::Range { old, new } => {
            let new = repo.resolve_commit(new)?;
            let tree = repo
                .tree_of(Peeled::Commit(new))?
                .expect("commits have trees");
            let (policy, bases) = match old {
                Some(old) => {
                    let old = repo.resolve_commit(old)?;
                    (old, vec![repo.commit_tree(old)?])
                }
                // No base: a full check of B, like `--all`, under B's own policy.
                None => (new, Vec::new()),
            };
            let mut group = Group {
                policy: Some(policy),
                tips: vec![("B".into(), tree)],
                archives: vec![crate::source::ArchiveTip {
                    tree,
                    commit: Some(new),
                    refs: Vec::new(),
                }],
                ..Group::default()
            };
            bring(repo, tree, &bases, &mut HashSet::new(), &mut group)?;
            Ok(vec![group])
        }
        Selection::Receive { updates } => {
            let default = repo.default_branch_tip()?;
            let every;
            let against = match default {
                Some(tip) if !one_policy => Against::Tip(repo.commit_tree(tip)?),
                // No default branch (an unborn HEAD): nothing is known to be accepted.
                None if !one_policy => Against::Reachable(&[]),
                _ => {
                    every = repo.ref_tips("refs/")?;
                    Against::Reachable(&every)
                }
            };
            judge_updates(repo, updates, against, default, true)
        }
        Selection::Push {
            remote,
            updates,
            implied,
        } => {
            // On the client: what this repository knows the remote to have.
            let remote = remote
                .as_deref()
                .and_then(|r| repo.remote_named(BStr::new(r.as_bytes())));
            let (known, default) = match &remote {
                Some(remote) => {
                    let prefix = format!("refs/remotes/{remote}/");
                    (repo.ref_tips(&prefix)?, remote_default(repo, &prefix)?)
                }
                // A push to a URL no remote is configured for: nothing is known to be there, so
                // the whole pushed history is judged.
                None => (Vec::new(), None),
            };
            // As the server will judge it; on a remote whose default branch is not known,
            // new refs are compared with all it is known to have.
            let against = match default {
                Some(tip) if !one_policy => Against::Tip(repo.commit_tree(tip)?),
                _ => Against::Reachable(&known),
            };
            let mut groups = judge_updates(repo, updates, against, default, false)?;
            if let (Some(first), Some(group)) = (implied.first(), groups.first_mut()) {
                let names: Vec<_> = implied.iter().map(|n| n.to_str_lossy()).collect();
                group.notes.push((
                    first.to_str_lossy().into_owned(),
                    format!(
                        "the hook manager names one ref of the push, so every local branch and tag with commits the remote lacks was judged too: {}. To judge exactly what git pushes, use dill-guard's own hook (`dill-guard install --hook pre-push`)",
                        names.join(", ")
                    ),
                ));
            }
            Ok(groups)
        }
        _ => Ok(Vec::new()),
    }
}

/// The tip of a remote's default branch as last fetched: `HEAD`, `main` or `master` under
/// `prefix` (`refs/remotes/REMOTE/`).
fn remote_default(repo: &Repo, prefix: &str) -> Result<Option<ObjectId>, Error> {
    for name in ["HEAD", "main", "master"] {
        if let Some(tip) = repo.ref_commit(&format!("{prefix}{name}"))? {
            return Ok(Some(tip));
        }
    }
    Ok(None)
}

/// What a new ref is compared with: what the receiving side is known to have accepted under
/// the policy new refs are judged by.
enum Against<'k> {
    /// The tree of the default branch's tip.
    Tip(ObjectId),
    /// Everything these commits reach (every ref, when one policy rules them all).
    Reachable(&'k [ObjectId]),
}

/// The groups for a push's ref updates. `against` is what new refs are compared with,
/// `default` the tip of the receiving side's default branch (the policy of new refs). `server`
/// says the old objects are all present (on a client, the remote may have moved on to commits
/// not fetched).
fn judge_updates(
    repo: &Repo,
    updates: &[RefUpdate],
    against: Against,
    default: Option<ObjectId>,
    server: bool,
) -> Result<Vec<Group>, Error> {
    // Peel everything first: tags become the commits (or trees) they name.
    let mut peeled = Vec::new();
    let mut refused = Vec::new();
    for update in updates {
        let Some(new) = update.new else { continue };
        if update.name.starts_with(b"refs/replace/") {
            refused.push((
                update.name.to_str_lossy().into_owned(),
                REPLACE_REFUSED.into(),
            ));
            continue;
        }
        let new = repo.peel(new)?;
        let old = match update.old {
            Some(old) if server || repo.has_object(old) => Some(repo.peel(old)?),
            _ => None,
        };
        peeled.push((update, old, new));
    }
    // One walk finds what is new for all the refs that have no usable old tip.
    let fresh: Vec<ObjectId> = peeled
        .iter()
        .filter(|(_, old, _)| !matches!(old, Some(Peeled::Commit(_) | Peeled::Tree(_))))
        .filter_map(|(_, _, new)| match new {
            Peeled::Commit(c) => Some(*c),
            _ => None,
        })
        .collect();
    let new_commits = match against {
        Against::Reachable(known) if !fresh.is_empty() => repo.new_commits(&fresh, known)?,
        _ => HashSet::new(),
    };

    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<Option<ObjectId>, usize> = HashMap::new();
    let mut listed: HashMap<Option<ObjectId>, Compared> = HashMap::new();
    let mut decorated = Vec::new();
    for (update, old, new) in peeled {
        let name = update.name.clone();
        let Some(tree) = repo.tree_of(new)? else {
            let at = index_of(&mut groups, &mut index, default);
            groups[at].notes.push((
                name.to_str_lossy().into_owned(),
                "names a blob, which puts no file at any path; nothing to check there".into(),
            ));
            continue;
        };
        // `%d`/`%D` in an `export-subst` file write the names of the refs at the archived
        // commit into the code, whichever refs come later and in git's order: a name that is
        // more than a plain name could, alone or beside another, turn into code there.
        if matches!(new, Peeled::Commit(_)) && !plain_ref_name(name.as_bstr()) {
            if let Some(file) = repo.decorated_files(tree)?.first() {
                decorated.push((
                    name.to_str_lossy().into_owned(),
                    format!(
                        "names a commit whose `{}` has `export-subst` with `%d` or `%D`, which writes the names of the refs there into the code of every archive of it; a ref there must be a plain name (letters, digits, `.`, `_`, `-`, `+`, `/`), and this one is not",
                        file.path.to_str_lossy()
                    ),
                ));
            }
        }
        let (policy, bases) = match (old, &against) {
            (Some(Peeled::Commit(old)), _) => (Some(old), vec![repo.commit_tree(old)?]),
            (Some(Peeled::Tree(old)), _) => (default, vec![old]),
            // The files the default branch's tip holds, as they are there, are known; a tag
            // on it brings nothing.
            (_, Against::Tip(tip)) => (default, vec![*tip]),
            _ => match new {
                Peeled::Commit(commit) => match repo.bases(commit, &new_commits)? {
                    // Already reachable from what the receiving side has.
                    None => continue,
                    Some(bases) => {
                        let mut trees = Vec::with_capacity(bases.len());
                        for base in bases {
                            trees.push(repo.commit_tree(base)?);
                        }
                        (default, trees)
                    }
                },
                _ => (default, Vec::new()),
            },
        };
        let at = index_of(&mut groups, &mut index, policy);
        bring(
            repo,
            tree,
            &bases,
            listed.entry(policy).or_default(),
            &mut groups[at],
        )?;
        groups[at].archives.push(crate::source::ArchiveTip {
            tree,
            commit: match new {
                Peeled::Commit(commit) => Some(commit),
                _ => None,
            },
            refs: vec![name.clone()],
        });
        groups[at].tips.push((name, tree));
    }
    refused.extend(decorated);
    if !refused.is_empty() {
        let at = index_of(&mut groups, &mut index, default);
        groups[at].errors.extend(refused);
    }
    for group in &mut groups {
        group
            .files
            .sort_by(|a, b| (&a.path, a.id).cmp(&(&b.path, b.id)));
        group
            .files
            .dedup_by(|a, b| a.path == b.path && a.id == b.id);
    }
    Ok(groups)
}

/// Adds to `group` what `tree` brings beyond `bases`: its files, and its Python-named links,
/// each judged by what it points at in the same tree.
fn bring(
    repo: &Repo,
    tree: ObjectId,
    bases: &[ObjectId],
    listed: &mut Compared,
    group: &mut Group,
) -> Result<(), Error> {
    let (files, mut links) = repo.brought(tree, bases, listed)?;
    // Links the change leaves as they were, to files it changes: what they run changed.
    let changed: HashSet<&[u8]> = files.iter().map(|f| f.path.as_slice()).collect();
    let brought: HashSet<BString> = links.iter().map(|(p, _)| p.clone()).collect();
    // Attributes that change lead to new bytes on disk for files that did not change: every
    // file below a changed `.gitattributes` is judged again. And what an archive writes into
    // an `export-subst` file depends on the commit archived, so those files are judged for
    // every new commit.
    let mut attribute_dirs: Vec<BString> = files
        .iter()
        .map(|f| &f.path)
        .filter(|p| crate::git::is_attributes_file(p))
        .cloned()
        .collect();
    // A `.gitattributes` a base had and the tree has not: what it said no longer applies.
    if !bases.is_empty() {
        let now = repo.attribute_files_in(tree)?;
        for base in bases {
            for gone in repo.attribute_files_in(*base)?.iter() {
                if !now.iter().any(|f| f.path == gone.path) {
                    attribute_dirs.push(gone.path.clone());
                }
            }
        }
    }
    let mut also = Vec::new();
    for link in repo.links_in(tree)?.iter() {
        if brought.contains(&link.path)
            || crate::python::class_by_name(&link.path.to_str_lossy()).is_none()
        {
            continue;
        }
        let target = repo.tree_link_target(tree, link)?;
        // One that leads nowhere now may do so because a link on its way changed.
        if matches!(target, LinkTarget::Elsewhere(_)) && !brought.is_empty() {
            also.push((link.path.clone(), target));
            continue;
        }
        if let LinkTarget::File { file, through } = &target {
            // Its target changed, or a link on the way now leads elsewhere.
            // Or attributes changed: a link is written out under its target's.
            if changed.contains(file.path.as_slice())
                || through.iter().any(|via| brought.contains(via))
                || !attribute_dirs.is_empty()
            {
                also.push((link.path.clone(), target));
            }
        }
    }
    for path in attribute_dirs {
        let dir = path.rfind_byte(b'/').map_or(&b""[..], |at| &path[..at]);
        group.files.extend(repo.files_under(tree, dir.as_bstr())?);
    }
    group.files.extend(repo.export_subst_files(tree)?);
    group.files.extend(files);
    links.extend(also);
    for (path, target) in links {
        if crate::python::class_by_name(&path.to_str_lossy()).is_none() {
            continue;
        }
        match target {
            LinkTarget::File { file, .. } => group.files.push(IndexFile {
                written_at: Some(file.path.clone()),
                ..IndexFile::plain(path, file.id)
            }),
            LinkTarget::Elsewhere(to) => group
                .errors
                .push((path.to_str_lossy().into_owned(), link_error(&to))),
        }
    }
    Ok(())
}

/// Why a push that creates or moves a replace ref is refused. `refs/replace/<id>` makes every
/// reader of the repository (`git show`, `git archive`, checkouts and clones that fetch it) see
/// another object wherever `<id>` is used: a clean blob that the gate accepted at some path would
/// read as whatever the replacement holds. Judging the replacement would mean finding every path,
/// in every ref, that holds the replaced object, under each ref's policy; replace refs are rare
/// enough that refusing them is the sound choice. Deleting one is allowed.
const REPLACE_REFUSED: &str = "is a replace ref: it would make every reader of the repository see another object wherever the replaced one is used, which the gate cannot judge path by path, so it is refused; an operator who wants it can create it on the server directly";

/// Whether a ref's name, as `%d` shows it, is only letters, digits, `.`, `_`, `-`, `+` (semantic
/// versions' build metadata) and `/`:
/// decorations of such names (` (HEAD -> main, tag: v1.0)`) hold no quote, bracket or
/// operator that could close a string or make a call.
fn plain_ref_name(name: &BStr) -> bool {
    name.iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b'+'))
}

/// Why a Python-named link that leads out of the repository blocks: Python runs what the
/// kernel opens there, and nothing of the repository says what that is.
pub fn link_error(to: &str) -> String {
    format!(
        "is a symbolic link that does not lead to a file of the repository: `{to}`; what Python would run there is not checked (exclude the path in dill-guard.toml if that is intended)"
    )
}

fn index_of(
    groups: &mut Vec<Group>,
    index: &mut HashMap<Option<ObjectId>, usize>,
    policy: Option<ObjectId>,
) -> usize {
    *index.entry(policy).or_insert_with(|| {
        groups.push(Group {
            policy,
            ..Group::default()
        });
        groups.len() - 1
    })
}

/// Parses the lines git gives a push hook on stdin: `pre-push` gets
/// `<local ref> <local id> <remote ref> <remote id>`, `pre-receive` gets `<old> <new> <ref>`.
/// Ref names are bytes; the local ref of a pre-push line is whatever the user typed (it may hold
/// spaces), so a line is split from the right. An all-zero id means "no object" (a new ref, or
/// a deletion).
pub fn parse_push_lines(input: &[u8], pre_push: bool) -> Result<Vec<RefUpdate>, String> {
    let id = |hex: &[u8]| -> Result<Option<ObjectId>, String> {
        let id = ObjectId::from_hex(hex)
            .map_err(|_| format!("`{}` is not an object id", hex.as_bstr()))?;
        Ok((!id.is_null()).then_some(id))
    };
    let mut out = Vec::new();
    for line in input.lines() {
        let line = line.trim_end_with(|c| c == '\r');
        if line.trim().is_empty() {
            continue;
        }
        let unexpected = || format!("unexpected line from git on stdin: `{}`", line.as_bstr());
        let update = if pre_push {
            let mut words = line.rsplitn_str(4, " ");
            let (remote_id, remote_ref, local_id) = (
                words.next().ok_or_else(unexpected)?,
                words.next().ok_or_else(unexpected)?,
                words.next().ok_or_else(unexpected)?,
            );
            words.next().ok_or_else(unexpected)?;
            RefUpdate {
                name: remote_ref.into(),
                old: id(remote_id)?,
                new: id(local_id)?,
            }
        } else {
            let mut words = line.splitn_str(3, " ");
            let (old, new, name) = (
                words.next().ok_or_else(unexpected)?,
                words.next().ok_or_else(unexpected)?,
                words.next().ok_or_else(unexpected)?,
            );
            RefUpdate {
                name: name.into(),
                old: id(old)?,
                new: id(new)?,
            }
        };
        out.push(update);
    }
    Ok(out)
}

/// What a hook manager (the pre-commit framework, prek) says about a push. They read git's
/// stdin themselves and pass the push on in the environment instead:
/// - `PRE_COMMIT_FROM_REF` and `PRE_COMMIT_TO_REF`: the remote's tip and the pushed tip;
/// - `PRE_COMMIT_TO_REF` alone (prek), or neither but `PRE_COMMIT_LOCAL_BRANCH` (the
///   framework, when the push holds a root commit): a new ref, judged against what the remote
///   is known to have (`PRE_COMMIT_REMOTE_NAME`).
///
/// Both describe only the first of git's ref lines, so every local branch and tag with commits
/// the remote lacks is judged too (`implied`): a push of two branches must not pass on the
/// strength of the first.
///
/// `Ok(None)` when no hook manager runs us. An error when one does but names nothing to judge:
/// a push hook that cannot tell what is pushed must not pass it.
pub fn from_hook_manager(
    var: &dyn Fn(&str) -> Option<String>,
    stdin_was_empty: bool,
    cwd: &Path,
) -> Result<Option<Selection>, Error> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    let zero = |v: &String| v.bytes().all(|b| b == b'0');
    let to = set("PRE_COMMIT_TO_REF");
    let from = set("PRE_COMMIT_FROM_REF").filter(|f| !zero(f));
    let local = set("PRE_COMMIT_LOCAL_BRANCH");
    let under_manager = set("PRE_COMMIT").is_some()
        || to.is_some()
        || local.is_some()
        || set("PRE_COMMIT_REMOTE_NAME").is_some();
    if !under_manager {
        return Ok(None);
    }
    let remote = set("PRE_COMMIT_REMOTE_NAME").or_else(|| set("PRE_COMMIT_REMOTE_URL"));
    if let (Some(from), Some(to)) = (&from, &to) {
        let range = Selection::Range {
            old: Some(from.clone()),
            new: to.clone(),
        };
        // Outside a repository the range fails as a range does.
        let Some(repo) = Repo::discover(cwd)? else {
            return Ok(Some(range));
        };
        let new = repo.resolve_commit(to)?;
        let implied = unpushed_local_refs(&repo, remote.as_deref(), new)?;
        if implied.is_empty() {
            return Ok(Some(range));
        }
        let first = RefUpdate {
            name: set("PRE_COMMIT_REMOTE_BRANCH").unwrap_or(to.clone()).into(),
            old: Some(repo.resolve_commit(from)?),
            new: Some(new),
        };
        return Ok(Some(push(remote, first, implied)));
    }
    let tip = to.or(local);
    let Some(tip) = tip else {
        if !stdin_was_empty {
            // Run by hand with git's lines on stdin, inside some other tool's environment.
            return Ok(None);
        }
        return Err(Error::Git {
            what: "a hook manager ran the pre-push check without saying what is pushed".into(),
            detail: "none of PRE_COMMIT_TO_REF, PRE_COMMIT_LOCAL_BRANCH or git's ref lines on stdin were given, so nothing could be judged; for a full check run `dill-guard --all`".into(),
        });
    };
    let repo = Repo::discover(cwd)?.ok_or_else(|| Error::NotARepository {
        flag: "--pre-push",
        cwd: cwd.to_path_buf(),
    })?;
    let new = repo.resolve_commit(&tip)?;
    let implied = unpushed_local_refs(&repo, remote.as_deref(), new)?;
    let first = RefUpdate {
        name: set("PRE_COMMIT_REMOTE_BRANCH").unwrap_or(tip).into(),
        old: None,
        new: Some(new),
    };
    Ok(Some(push(remote, first, implied)))
}

/// A push of `first` and the refs it may carry besides.
fn push(remote: Option<String>, first: RefUpdate, implied: Vec<RefUpdate>) -> Selection {
    Selection::Push {
        remote,
        implied: implied.iter().map(|u| u.name.clone()).collect(),
        updates: std::iter::once(first).chain(implied).collect(),
    }
}

/// Every local branch and tag whose tip the remote is not known to have (from its
/// remote-tracking refs), other than `except`: what a push may carry beyond the one ref a hook
/// manager names. A branch the remote has is compared with its remote-tracking tip, anything
/// else is judged as a new ref.
fn unpushed_local_refs(
    repo: &Repo,
    remote: Option<&str>,
    except: ObjectId,
) -> Result<Vec<RefUpdate>, Error> {
    let prefix = remote
        .and_then(|r| repo.remote_named(BStr::new(r.as_bytes())))
        .map(|r| format!("refs/remotes/{r}/"));
    let known = match &prefix {
        Some(prefix) => repo.ref_tips(prefix)?,
        None => Vec::new(),
    };
    let mut local = repo.ref_commits("refs/heads/")?;
    local.extend(repo.ref_commits("refs/tags/")?);
    local.retain(|(_, commit)| *commit != except && !known.contains(commit));
    if local.is_empty() {
        return Ok(Vec::new());
    }
    let tips: Vec<ObjectId> = local.iter().map(|(_, commit)| *commit).collect();
    let new = repo.new_commits(&tips, &known)?;
    let mut out = Vec::new();
    for (name, commit) in local {
        if !new.contains(&commit) {
            continue;
        }
        let old = match (&prefix, name.strip_prefix(b"refs/heads/")) {
            (Some(prefix), Some(branch)) => {
                repo.ref_commit(&format!("{prefix}{}", branch.as_bstr()))?
            }
            _ => None,
        };
        out.push(RefUpdate {
            name,
            old,
            new: Some(commit),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn push_lines_are_bytes_split_from_the_right() {
        let input = format!("HEAD@{{1 day ago}} {A} refs/heads/x\u{ff} {Z}\n");
        let mut bytes = input.into_bytes();
        // A ref name that is not UTF-8.
        let at = bytes.iter().position(|&b| b == 0xc3).unwrap();
        bytes[at] = 0xff;
        bytes.remove(at + 1);
        let parsed = parse_push_lines(&bytes, true).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].name.as_slice(), b"refs/heads/x\xff");
        assert_eq!(parsed[0].old, None);
        assert_eq!(
            parsed[0].new,
            Some(ObjectId::from_hex(A.as_bytes()).unwrap())
        );
        let parsed = parse_push_lines(format!("{A} {B} refs/tags/v1\n").as_bytes(), false).unwrap();
        assert_eq!(parsed[0].name, "refs/tags/v1");
        assert!(parse_push_lines(b"nonsense\n", false).is_err());
        assert!(parse_push_lines(b"", true).unwrap().is_empty());
    }

    #[test]
    fn hook_manager_without_refs_fails_closed() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let cwd = Path::new("/");
        assert!(from_hook_manager(&env(&[]), true, cwd).unwrap().is_none());
        let err = from_hook_manager(&env(&[("PRE_COMMIT", "1")]), true, cwd).unwrap_err();
        assert!(err.to_string().contains("without saying what is pushed"));
        let range = from_hook_manager(
            &env(&[("PRE_COMMIT_FROM_REF", A), ("PRE_COMMIT_TO_REF", B)]),
            true,
            cwd,
        )
        .unwrap();
        assert_eq!(
            range,
            Some(Selection::Range {
                old: Some(A.into()),
                new: B.into()
            })
        );
    }
}
