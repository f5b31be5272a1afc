//! The `dich` binary: parse arguments, run, print the error chain to stderr
//! (library errors worded with the flags and commands that fix them), exit
//! with a code (0 ok, 1 error, 2 usage; `dich batch` adds 3 and 4). A closed
//! stdout pipe is not an error.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A file size limit (`ulimit -f`) reached in a write: the write fails
    // with an error that names the file, instead of SIGXFSZ ending the
    // process with no message and temporary files left behind.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" at startup,
    // before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    #[cfg(unix)]
    on_bus_error();
    let args = cli::Cli::parse();
    cli::init(&args.global);
    match cli::run(args) {
        Ok(code) => code,
        Err(e) if cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", cli::errors::message(&e));
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}

/// Model weights are memory-mapped: a file truncated or rewritten in place
/// while dich reads it raises SIGBUS. Say so and exit (135, as for the
/// signal) instead of dying without a word; a batch's finished records are
/// safe in its journal. Replacing a file by renaming a new one over it (as
/// `dich models pull` does) never does this: the mapping keeps the old one.
#[cfg(unix)]
fn on_bus_error() {
    const MESSAGE: &[u8] = b"error: a memory-mapped file (a model's weights) was truncated or rewritten while dich was reading it (SIGBUS). Replace model files by renaming a complete new file over the old one, never in place; finished batch records are kept, run the same command again to resume\n";
    // SAFETY: the handler only calls async-signal-safe functions (write,
    // _exit) and never returns into the faulting access.
    let installed = unsafe {
        signal_hook::low_level::register(signal_hook::consts::SIGBUS, || {
            libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::_exit(128 + libc::SIGBUS);
        })
    };
    if let Err(e) = installed {
        eprintln!("warning: no SIGBUS handler ({e})");
    }
}
