//! The `dich` command line, on top of the library: only this module knows
//! clap, flag names and exit codes.
//!
//! - [`args`]: the argument structs, one per command, parsed once.
//! - [`options`]: arguments turned into library options (languages,
//!   translation and load options, formats, threads).
//! - [`common`]: resolving and loading models, writing output, the
//!   progress bar over segments.
//! - [`commands`]: one body per command: check arguments, call the
//!   library, render.
//! - [`errors`]: library errors as messages that name flags and say what
//!   to run.

pub mod args;
pub mod commands;
pub mod common;
pub mod errors;
pub mod options;

use std::process::ExitCode;

use anyhow::Result;

pub use args::Cli;
use args::{BatchCommand, BenchCommand, Command, EvalCommand, GlobalArgs};

/// Exit code of a run that failed (bad input, model, arguments the
/// library rejects).
pub const EXIT_ERROR: u8 = 1;
/// Exit code of a batch run that finished with failed records.
pub const EXIT_FAILED_RECORDS: u8 = 3;
/// Exit code of a merge that found missing or repeated records.
pub const EXIT_INCOMPLETE: u8 = 4;

/// Logging and progress, from the global flags. Humans read stderr.
pub fn init(g: &GlobalArgs) {
    let level = if g.quiet {
        "warn"
    } else {
        match g.verbose {
            0 => "info",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DICH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("warn,dich={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_target(false)
        .try_init();
    dich::util::progress::set_enabled(!g.quiet && !g.no_progress);
}

pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Runs the command; the exit code is 0 unless a command reports partial
/// failure (see `dich batch --help`). Errors exit with 1.
pub fn run(cli: Cli) -> Result<ExitCode> {
    use commands::*;
    let ok = |r: Result<()>| r.map(|()| ExitCode::SUCCESS);
    let g = &cli.global;
    match cli.command {
        Command::Translate(args) => ok(translate::run(g, args)),
        Command::Align(args) => ok(align::run(g, args)),
        Command::Summarize(args) => ok(summarize::run(g, args)),
        Command::Batch(args) => match args.command {
            Some(BatchCommand::Merge(m)) => batch::merge(m),
            None => batch::run(g, args.run),
        },
        Command::Bench(args) => ok(match args.command {
            Some(BenchCommand::Marian(a)) => bench::marian(g, a),
            None => bench::run(g, args.run),
        }),
        Command::Eval { command } => ok(match command {
            EvalCommand::Rouge(args) => eval::rouge(args),
            EvalCommand::Bleu(args) => eval::corpus_metric(&dich::eval::bleu::Bleu, args),
            EvalCommand::Chrf(args) => eval::corpus_metric(&dich::eval::chrf::Chrf::CHRF, args),
            EvalCommand::ChrfPlusPlus(args) => {
                eval::corpus_metric(&dich::eval::chrf::Chrf::CHRF_PLUS_PLUS, args)
            }
            EvalCommand::Ter(args) => eval::corpus_metric(&dich::eval::ter::Ter, args),
            EvalCommand::Translate(args) => eval::translate(g, *args),
        }),
        Command::Models { command } => ok(models::run(g, command)),
    }
}
