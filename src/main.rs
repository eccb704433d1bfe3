//! The binary: parse arguments, run the check, print, exit with 0 (nothing blocking),
//! 1 (blocking findings) or 2 (could not judge). Everything else lives in the library.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use dill_guard::args::{self, ColorChoice, Command};
use dill_guard::{install, report, rule, Selection};

fn main() -> ExitCode {
    // A bug must still block (exit 2), and say what to report rather than dump a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        say(&format!(
            "dill-guard: internal error{place}: {what}\n\
             This is a bug in dill-guard {}; the check did not complete, so nothing was judged safe.\n\
             Please report it with the command you ran.",
            env!("CARGO_PKG_VERSION")
        ));
        if std::thread::current().name() != Some("dill-guard-worker") {
            std::process::exit(2);
        }
    }));
    let command = match args::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(err) => {
            say(&format!(
                "dill-guard: error: {err}\n\n{}",
                args::SHORT_USAGE
            ));
            return ExitCode::from(2);
        }
    };
    let (text, code) = match command {
        Command::Help => (args::USAGE.to_string(), 0),
        Command::Version => (version_line(), 0),
        Command::Explain => (rule::EXPLAIN.to_string(), 0),
        Command::Install { hook, existing } => {
            return hook_command(|repo| {
                let binary = std::env::current_exe()
                    .and_then(|p| p.canonicalize())
                    .unwrap_or_else(|_| "dill-guard".into());
                install::install(repo, hook, existing, &binary)
            })
        }
        Command::Uninstall { hook } => return hook_command(|repo| install::uninstall(repo, hook)),
        Command::Check(check) => {
            let cwd = match std::env::current_dir() {
                Ok(cwd) => cwd,
                Err(err) => {
                    say(&format!(
                        "dill-guard: error: cannot read the current directory\n  caused by: {err}"
                    ));
                    return ExitCode::from(2);
                }
            };
            let mut selection = check.selection;
            if let Selection::Stdin { bytes, .. } = &mut selection {
                if let Err(err) = std::io::stdin().read_to_end(bytes) {
                    say(&format!(
                        "dill-guard: error: cannot read standard input\n  caused by: {err}"
                    ));
                    return ExitCode::from(2);
                }
            }
            let pre_push = matches!(selection, Selection::Push { .. });
            if let Selection::Push { updates, .. } | Selection::Receive { updates } = &mut selection
            {
                // Ref names are bytes, and need not be UTF-8.
                let mut input = Vec::new();
                if let Err(err) = std::io::stdin().read_to_end(&mut input) {
                    say(&format!("dill-guard: error: cannot read the refs git passes on stdin\n  caused by: {err}"));
                    return ExitCode::from(2);
                }
                match dill_guard::pushes::parse_push_lines(&input, pre_push) {
                    Ok(parsed) => *updates = parsed,
                    Err(err) => {
                        say(&format!("dill-guard: error: {err}"));
                        return ExitCode::from(2);
                    }
                }
            }
            if let Selection::Push { updates, .. } = &selection {
                // Under the pre-commit framework or prek, the push is described by environment
                // variables (git's stdin belongs to the framework).
                let var = |name: &str| std::env::var(name).ok();
                match dill_guard::pushes::from_hook_manager(&var, updates.is_empty(), &cwd) {
                    Ok(Some(described)) => selection = described,
                    Ok(None) => {}
                    Err(err) => return fail(&err),
                }
            }
            let today = match dill_guard::Date::today() {
                Ok(today) => today,
                Err(err) => {
                    say(&format!("dill-guard: error: {err}"));
                    return ExitCode::from(2);
                }
            };
            let options = dill_guard::Options {
                selection,
                config: check.config,
                new_only: check.new_only,
                today,
                policy_changes: check.policy_changes,
                inline_allows: check.inline_allows,
            };
            match dill_guard::check(&options, &cwd) {
                Ok(found) => {
                    let color = use_color(check.color);
                    let color = color && check.output_file.is_none();
                    let text =
                        report::render(&found, check.format, color, check.quiet, check.exit_zero);
                    let code = found.exit_code(check.exit_zero);
                    if let Some(path) = &check.output_file {
                        // The report goes to the file; the exit status still says what it found.
                        if let Err(err) = std::fs::write(path, text.as_bytes()) {
                            say(&format!(
                                "dill-guard: error: cannot write {}\n  caused by: {err}",
                                path.display()
                            ));
                            return ExitCode::from(2);
                        }
                        return ExitCode::from(code as u8);
                    }
                    (text, code)
                }
                Err(err) => {
                    return fail(&err);
                }
            }
        }
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A closed pipe (`dill-guard ... | head`) is the reader's choice, not a failure.
        if err.kind() != std::io::ErrorKind::BrokenPipe {
            say(&format!(
                "dill-guard: error: cannot write the report: {err}"
            ));
            return ExitCode::from(2);
        }
    }
    ExitCode::from(code as u8)
}

/// Writes a line to stderr. A stderr that cannot be written (closed, or `2>/dev/full`) must not
/// turn an error into a crash: the exit status still says what happened.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Prints an error with its causes; exit status 2.
fn fail(err: &dill_guard::Error) -> ExitCode {
    say(&format!("dill-guard: error: {err}"));
    for cause in err.causes() {
        say(&format!("  caused by: {cause}"));
    }
    ExitCode::from(2)
}

/// Runs `install` or `uninstall` in the repository of the current directory.
fn hook_command(
    run: impl FnOnce(&dill_guard::git::Repo) -> Result<String, dill_guard::Error>,
) -> ExitCode {
    let result = std::env::current_dir()
        .map_err(|source| dill_guard::Error::Io {
            path: ".".into(),
            source,
        })
        .and_then(|cwd| {
            dill_guard::git::Repo::discover(&cwd)?.ok_or(dill_guard::Error::NotARepository {
                flag: "install",
                cwd,
            })
        })
        .and_then(|repo| run(&repo));
    match result {
        Ok(message) => {
            // The hook is written: a message that cannot be printed changes nothing.
            let _ = writeln!(std::io::stdout(), "{message}");
            ExitCode::SUCCESS
        }
        Err(err) => fail(&err),
    }
}

/// `--color auto` follows NO_COLOR, then FORCE_COLOR / CLICOLOR_FORCE, then the terminal.
fn use_color(choice: ColorChoice) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                false
            } else if set("FORCE_COLOR") || set("CLICOLOR_FORCE") {
                true
            } else {
                std::io::stdout().is_terminal()
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        }
    }
}

/// `dill-guard 0.1.0 (commit 0123456789ab)`: the version, and the commit built from when known.
fn version_line() -> String {
    match env!("DILL_GUARD_COMMIT") {
        "" => format!("dill-guard {}\n", env!("CARGO_PKG_VERSION")),
        commit => format!(
            "dill-guard {} (commit {commit})\n",
            env!("CARGO_PKG_VERSION")
        ),
    }
}
