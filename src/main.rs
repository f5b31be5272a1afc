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
