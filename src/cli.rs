//! Command-line arguments (clap derive) and the commands they run. Each
//! command turns its arguments into library calls; no pipeline logic lives here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use dich::backend::embedder::BertEmbedder;
use dich::backend::marian::{MarianMt, WeightFormat};
use dich::backend::{device, LoadedLm};
use dich::input::read_input;
use dich::models::{self, Catalog, ResolveOptions, Role, Store};
use dich::output::summary::{SummaryFormat, SummaryOutput};
use dich::output::{Format, ModelRef};
use dich::pipeline::{translate_document, ProgressEvent};
use dich::summarize::{Length, Method, SummaryOptions};
use dich::translate::{Lang, TranslateOptions};

#[derive(Debug, Parser)]
#[command(
    name = "dich",
    version,
    about = "Offline Vietnamese <-> English translation with local models; every output sentence keeps the byte span of its source."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Never touch the network: a model that is not cached is an error.
    #[arg(long, global = true)]
    pub offline: bool,
    /// More log detail on stderr (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors on stderr; no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// No progress bars (they are also off when stderr is not a terminal).
    #[arg(long, global = true)]
    pub no_progress: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Translate a document (default Vietnamese -> English), sentence by sentence.
    Translate(TranslateArgs),
    /// Align the sentences of two texts in different languages (a
    /// translation, or two articles on the same event).
    Align(AlignArgs),
    /// Summarize one or more articles (Vietnamese or English) into aligned
    /// English and Vietnamese sentences linked to their supporting segments.
    Summarize(SummarizeArgs),
    /// Translate (or summarize) many documents: a JSONL file, a directory
    /// of .txt files, or JSONL on stdin. Resumable, shardable, one output
    /// record per input record. `dich batch merge` joins shard outputs.
    ///
    /// Exit codes: 0 every record succeeded; 1 the run could not start or
    /// finish (bad arguments, model, unwritable or locked output); 2 usage
    /// error; 3 the run finished but some records are errors (see their
    /// `error` objects); 4 (merge) records are missing or repeated.
    Batch(BatchArgs),
    /// Measure the inference hot path on this machine: prompt and
    /// generated tokens/s at short and long context, batched decoding, the
    /// seed article's wall time, peak memory and read bandwidth.
    Bench(BenchArgs),
    /// Score summaries or translations against references.
    Eval {
        #[command(subcommand)]
        command: EvalCommand,
    },
    /// List, fetch, locate and verify models.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
}

/// Which model, where to run it.
#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// A catalog name (see `dich models list`) or a path to a .gguf file or a
    /// directory holding one. Default: the catalog's default translator.
    #[arg(long)]
    pub model: Option<String>,
    /// auto, cpu, cuda, cuda:N or metal. `auto` uses a GPU when this build
    /// supports one and it is present, else the CPU.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// CPU threads for model computation. Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    #[command(flatten)]
    pub run: BenchRunArgs,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Encoder-decoder (Marian) speed: a batch of fixed-length sources
    /// translated into a fixed number of tokens, as CTranslate2 is measured
    /// (scripts/compare-ct2.sh runs both).
    Marian(BenchMarianArgs),
}

#[derive(Debug, Args)]
pub struct BenchMarianArgs {
    /// A Marian checkpoint directory or catalog name.
    #[arg(long)]
    pub model: String,
    /// First write a random-weight checkpoint of these shapes into --model
    /// (a directory): `opus-mt` (the shapes of opus-mt-vi-en) or `tiny`.
    #[arg(long)]
    pub write_random: Option<String>,
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Source length in tokens, `</s>` included.
    #[arg(long, default_value_t = 32)]
    pub src_len: usize,
    /// Tokens generated per source.
    #[arg(long, default_value_t = 64)]
    pub new_tokens: usize,
    #[arg(long, default_value_t = 1)]
    pub beam: usize,
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// f32 or q8.
    #[arg(long, default_value = "f32")]
    pub quantize: String,
    #[arg(long)]
    pub threads: Option<usize>,
    /// Sources as JSON (a list of lists of model ids) instead of random ones.
    #[arg(long)]
    pub sources: Option<PathBuf>,
    /// Write the sources and the last round's outputs here as JSON.
    #[arg(long)]
    pub tokens_out: Option<PathBuf>,
    /// `table` or `json`.
    #[arg(long, default_value = "table")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct BenchRunArgs {
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// `table` (for people) or `json` (one object on stdout).
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Tokens generated per decoding measurement.
    #[arg(long, default_value_t = 64)]
    pub decode_tokens: usize,
    /// Skip translating the seed article (the slowest part, minutes).
    #[arg(long)]
    pub no_seed: bool,
    /// `--lanes` for the seed article translation.
    #[arg(long, default_value_t = 1)]
    pub lanes: usize,
    /// The article the prompts are cut from and that is translated.
    /// Default: the Vietnamese seed article (built into the binary).
    #[arg(long)]
    pub text: Option<PathBuf>,
    /// Also write the short and long prompts' token ids here as JSON
    /// (`{"short": [...], "long": [...]}`), for scripts/llama-compare.py.
    #[arg(long)]
    pub prompts_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// A UTF-8 text file, or `-` for stdin.
    pub file: String,
    /// Write the result here (atomically) instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Source language: vi or en.
    #[arg(long, default_value = "vi")]
    pub from: String,
    /// Target language: en or vi.
    #[arg(long, default_value = "en")]
    pub to: String,
    #[command(flatten)]
    pub prompt: PromptArgs,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Translate the document as N runs of paragraphs side by side, their
    /// decoding batched into shared forward passes (faster; each run's first
    /// paragraph starts without the previous paragraph as context).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub lanes: u16,
    /// Sample at this temperature instead of greedy decoding (0 = greedy).
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Nucleus sampling threshold (with --temperature).
    #[arg(long, requires = "temperature")]
    pub top_p: Option<f64>,
    /// Seed for sampling.
    #[arg(long, default_value_t = 299_792_458)]
    pub seed: u64,
    /// Do not score the (source, target) pairs with the embedder.
    #[arg(long)]
    pub no_score: bool,
    /// The embedder that scores pairs: a catalog name or a directory with
    /// config.json, tokenizer.json and model.gguf/model.safetensors.
    /// Default: the catalog's default embedder.
    #[arg(long)]
    pub embedder: Option<String>,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BatchArgs {
    #[command(subcommand)]
    pub command: Option<BatchCommand>,
    #[command(flatten)]
    pub run: BatchRunArgs,
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Merge shard outputs into one output in input order, checking that
    /// every input record appears exactly once (exit 4 if not).
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' outputs (e.g. out.shard-*.jsonl).
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// The merged output (written atomically, with a manifest beside it).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The input the shards ran over, to list missing records. Default: the
    /// input path recorded in the shards' manifests.
    #[arg(long)]
    pub input: Option<String>,
    /// Write the merged output even when records are missing or repeated
    /// (the exit code is still 4).
    #[arg(long)]
    pub allow_gaps: bool,
}

#[derive(Debug, Args)]
pub struct BatchRunArgs {
    /// A JSONL file of {"id", "text", "lang"?, ...} records, a directory of
    /// .txt files (id = relative path), or `-` for JSONL on stdin.
    #[arg(required = true)]
    pub input: Option<String>,
    /// The output JSONL: one record per input record. Rerunning the same
    /// command resumes it. `{shard}` and `{shards}` are replaced by the
    /// shard index and count.
    #[arg(short, long, required = true)]
    pub output: Option<String>,
    #[arg(long, value_enum, default_value_t = dich::batch::Task::Translate)]
    pub task: dich::batch::Task,
    /// Segment fields in each record: full (as `dich translate --format
    /// json`) or compact (id, span, target, flags).
    #[arg(long, value_enum, default_value_t = dich::batch::RecordFormat::Full)]
    pub format: dich::batch::RecordFormat,
    /// Source language of records without a `lang` field: auto (detected
    /// per record), vi or en. The target is the other language.
    #[arg(long, default_value = "auto")]
    pub lang: String,
    /// Texts longer than this (in characters) are reported as `too-long`
    /// errors instead of being translated.
    #[arg(long, default_value_t = 100_000)]
    pub max_chars: usize,
    /// Process only shard K of N (0 <= K < N) by a stable hash of the id, or
    /// `auto` from a Slurm job array or a Kubernetes Indexed Job (see the
    /// README).
    #[arg(long)]
    pub shard: Option<String>,
    /// Do not score (source, target) pairs with the embedder.
    #[arg(long)]
    pub no_score: bool,
    /// Leave per-record timings out, so that records are byte-identical
    /// across runs (greedy decoding is deterministic).
    #[arg(long)]
    pub no_timings: bool,
    /// Run again the records that failed in earlier runs of this output.
    #[arg(long)]
    pub retry_failed: bool,
    /// Rewrite the output with all finished records this often (seconds;
    /// 0 = only at the end). Finished records are safe on disk either way.
    #[arg(long, default_value_t = 300)]
    pub checkpoint_secs: u64,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Translate the document as N runs of paragraphs side by side, their
    /// decoding batched into shared forward passes (faster; each run's first
    /// paragraph starts without the previous paragraph as context).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub lanes: u16,
    /// Summary length in sentences (--task summarize).
    #[arg(long, default_value_t = 5)]
    pub sentences: usize,
    /// Summary method (--task summarize).
    #[arg(long, value_enum, default_value_t = Method::Extractive)]
    pub method: Method,
    /// The embedder: a catalog name or a model directory.
    #[arg(long)]
    pub embedder: Option<String>,
    #[arg(long, default_value_t = 299_792_458)]
    pub seed: u64,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

#[derive(Debug, Args)]
pub struct AlignArgs {
    /// The first text (UTF-8 file, or `-` for stdin).
    pub a: String,
    /// The second text.
    pub b: String,
    /// Write the result here (atomically) instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// `tsv`: one link per line; `json`: links with byte spans into both inputs.
    #[arg(long, value_enum, default_value_t = AlignFormat::Tsv)]
    pub format: AlignFormat,
    /// Margin a link must exceed (1.0: closer than each side's usual neighbours).
    #[arg(long, default_value_t = dich::align::AlignConfig::default().threshold)]
    pub threshold: f32,
    /// Embedder: a catalog name or a model directory. Default: the catalog's default.
    #[arg(long)]
    pub embedder: Option<String>,
    /// auto, cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// CPU threads. Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, Args)]
pub struct SummarizeArgs {
    /// Inputs, in either language: UTF-8 text files, translation JSON
    /// documents from `dich translate --format json` (reused, not translated
    /// again), or `-` for stdin. Several inputs are summarized jointly.
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Summary length in sentences (default 5).
    #[arg(long, conflicts_with = "ratio")]
    pub sentences: Option<usize>,
    /// Summary length as a share of the candidate sentences, in (0, 1].
    #[arg(long)]
    pub ratio: Option<f32>,
    #[arg(long, value_enum, default_value_t = Method::Extractive)]
    pub method: Method,
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
    /// Write the result here (atomically) instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Language of the text inputs: auto (detected per input), vi or en.
    #[arg(long, default_value = "auto")]
    pub lang: String,
    /// The embedder: a catalog name or a model directory. Default: the catalog's default.
    #[arg(long)]
    pub embedder: Option<String>,
    /// Seed (only used with sampling; decoding is greedy).
    #[arg(long, default_value_t = 299_792_458)]
    pub seed: u64,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// ROUGE-1, ROUGE-2 and ROUGE-L (precision, recall, F1) of a hypothesis
    /// against a reference, with a tokenizer that keeps Vietnamese letters.
    Rouge(RougeArgs),
    /// Corpus BLEU as sacreBLEU 2.4.3 computes it by default (13a
    /// tokenizer, exp smoothing, case-sensitive), with its signature.
    Bleu(CorpusMetricArgs),
    /// Corpus chrF (character 6-grams, beta 2) as sacreBLEU computes it.
    Chrf(CorpusMetricArgs),
    /// Corpus chrF++ (chrF plus word uni- and bigrams) as sacreBLEU computes it.
    #[command(name = "chrf++")]
    ChrfPlusPlus(CorpusMetricArgs),
    /// Corpus TER (lowercased, Tercom shifts) as sacreBLEU computes it.
    Ter(CorpusMetricArgs),
    /// Translate `source<TAB>reference` pairs with the pipeline (or score
    /// existing output with --hyp) and report BLEU and chrF with their
    /// signatures, the worst sentences by chrF and the run's timing.
    Translate(Box<EvalTranslateArgs>),
}
#[derive(Debug, Args)]
pub struct EvalTranslateArgs {
    /// `source<TAB>reference` lines (UTF-8), or `-` for stdin. Unusable
    /// lines are reported with their line numbers and skipped.
    pub pairs: String,
    /// Use only the first N usable pairs.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Score this file (one hypothesis per usable pair, in order) instead
    /// of translating.
    #[arg(long)]
    pub hyp: Option<String>,
    /// Also write the hypotheses here, one per line (atomically).
    #[arg(long)]
    pub save_hyp: Option<PathBuf>,
    /// A baseline system's hypotheses (one per usable pair): paired
    /// bootstrap test of this run against it, per metric.
    #[arg(long)]
    pub compare: Option<String>,
    /// Bootstrap resamples for --compare.
    #[arg(long, default_value_t = dich::eval::bootstrap::DEFAULT_SAMPLES)]
    pub bootstrap: usize,
    /// Source language: vi or en.
    #[arg(long, default_value = "vi")]
    pub from: String,
    /// Target language: en or vi.
    #[arg(long, default_value = "en")]
    pub to: String,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Pairs translated side by side, their decoding batched (each pair
    /// is a paragraph; see `dich translate --lanes`).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub lanes: u16,
    /// How many of the worst sentences (by sentence-level chrF) to list.
    #[arg(long, default_value_t = 10)]
    pub worst: usize,
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Decoding settings of encoder-decoder models (Marian / OPUS-MT). The GGUF
/// chat models decode greedily or by sampling, and reject these flags.
#[derive(Debug, Args, Default)]
pub struct DecodeArgs {
    /// Beam size (1 = greedy, the default).
    #[arg(long)]
    pub beam: Option<usize>,
    /// Keep the K best translations of each sentence, with their scores
    /// (in the JSON output's `alternatives`); at most --beam.
    #[arg(long)]
    pub n_best: Option<usize>,
    /// Rank hypotheses by log-probability / length^F (default 1.0; 0 = raw
    /// log-probability).
    #[arg(long)]
    pub length_penalty: Option<f32>,
    /// Most tokens generated per sentence (default 256, capped by the
    /// model's positions).
    #[arg(long)]
    pub max_length: Option<usize>,
    /// Never repeat an n-gram of this size within a sentence (default off).
    #[arg(long)]
    pub no_repeat_ngram: Option<usize>,
    /// Penalize tokens already generated (CTRL-style; default 1.0 = off).
    #[arg(long)]
    pub repetition_penalty: Option<f32>,
    /// Weights of the linear layers: f32 (default) or q8 (8-bit, about 4x
    /// smaller, faster on CPU, slightly different output).
    #[arg(long)]
    pub quantize: Option<String>,
    /// Sentences decoded together in one batch (default 16).
    #[arg(long)]
    pub batch_sentences: Option<usize>,
}

impl DecodeArgs {
    /// The flags given on the command line, as the user typed them.
    fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let flags: [(&'static str, bool); 8] = [
            ("--beam", self.beam.is_some()),
            ("--n-best", self.n_best.is_some()),
            ("--length-penalty", self.length_penalty.is_some()),
            ("--max-length", self.max_length.is_some()),
            ("--no-repeat-ngram", self.no_repeat_ngram.is_some()),
            ("--repetition-penalty", self.repetition_penalty.is_some()),
            ("--quantize", self.quantize.is_some()),
            ("--batch-sentences", self.batch_sentences.is_some()),
        ];
        for (f, on) in flags {
            if on {
                v.push(f);
            }
        }
        v
    }

    fn generate_options(&self) -> Result<dich::generate::GenerateOptions> {
        let d = dich::generate::GenerateOptions::default();
        let beam = self.beam.unwrap_or(d.beam);
        let o = dich::generate::GenerateOptions {
            beam,
            n_best: self.n_best.unwrap_or(1),
            length_penalty: self.length_penalty.unwrap_or(d.length_penalty),
            max_length: self.max_length.unwrap_or(d.max_length),
            min_length: 0,
            no_repeat_ngram: self.no_repeat_ngram.unwrap_or(0),
            repetition_penalty: self.repetition_penalty.unwrap_or(1.0),
        };
        o.validate()?;
        Ok(o)
    }

    fn weight_format(&self) -> Result<WeightFormat> {
        match &self.quantize {
            None => Ok(WeightFormat::F32),
            Some(q) => WeightFormat::parse(q)
                .with_context(|| format!("--quantize `{q}`: expected f32 or q8")),
        }
    }
}

/// Prompt settings shared by `dich translate` and `dich eval translate`.
#[derive(Debug, Args)]
pub struct PromptArgs {
    /// Translate each sentence alone, without the paragraph as context.
    #[arg(long)]
    pub no_context: bool,
    /// Do not show the built-in glossary (titles, institutions, places)
    /// to the model.
    #[arg(long)]
    pub no_glossary: bool,
    /// A glossary of `source<TAB>rendering` lines for --from -> --to,
    /// added over the built-in one.
    #[arg(long)]
    pub glossary: Option<PathBuf>,
    /// A translation memory of `source<TAB>translation` lines: before each
    /// sentence, its most similar pairs are shown as worked examples.
    #[arg(long)]
    pub examples: Option<PathBuf>,
    /// How many memory pairs to show per sentence (with --examples).
    #[arg(long, default_value_t = 4, requires = "examples")]
    pub examples_per_sentence: usize,
}

/// Arguments shared by the sacreBLEU-compatible corpus metrics.
#[derive(Debug, Args)]
pub struct CorpusMetricArgs {
    /// The system output, one segment per line: a UTF-8 file, or `-` for
    /// stdin. Lines are scored as given (trailing whitespace dropped, no
    /// Unicode normalization), as sacreBLEU reads them.
    #[arg(long)]
    pub hyp: String,
    /// The reference, line-aligned with --hyp.
    #[arg(long = "ref")]
    pub reference: String,
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    /// A second system's output, line-aligned: runs sacreBLEU's paired
    /// bootstrap test with --hyp as the baseline and reports each system's
    /// mean and 95% confidence interval and this system's p-value. The
    /// resampling follows sacreBLEU but draws with dich's own generator, so
    /// p-values match sacreBLEU's only up to resampling noise.
    #[arg(long)]
    pub compare: Option<String>,
    /// Number of bootstrap resamples for --compare.
    #[arg(long, default_value_t = dich::eval::bootstrap::DEFAULT_SAMPLES,
          value_parser = parse_resamples, requires = "compare")]
    pub bootstrap: usize,
    /// Seed of the resampling generator for --compare.
    #[arg(long, default_value_t = dich::eval::bootstrap::DEFAULT_SEED, requires = "compare")]
    pub seed: u64,
}

fn parse_resamples(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Debug, Args)]
pub struct RougeArgs {
    /// The hypothesis (system output): a UTF-8 file, or `-` for stdin.
    #[arg(long)]
    pub hyp: String,
    /// The reference.
    #[arg(long = "ref")]
    pub reference: String,
    /// Score line by line (line i of --hyp against line i of --ref; blank
    /// lines in both are skipped) and report the mean; by default each file
    /// is one text.
    #[arg(long)]
    pub lines: bool,
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AlignFormat {
    Tsv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Known models: name, role, size, and whether they are cached.
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Fetch a model into the cache (tries its sources in order, verifies sha256).
    Pull { name: String },
    /// Print the path of a cached model's main file.
    Path { name: String },
    /// Re-hash cached files and compare with the catalog (all models if no name).
    Verify { name: Option<String> },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

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
    dich::progress::set_enabled(!g.quiet && !g.no_progress);
}

pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Runs the command; the exit code is 0 unless a command reports partial
/// failure (see `dich batch --help`). Errors exit with 1.
pub fn run(cli: Cli) -> Result<std::process::ExitCode> {
    let ok = |r: Result<()>| r.map(|()| std::process::ExitCode::SUCCESS);
    match cli.command {
        Command::Translate(args) => ok(translate(&cli.global, args)),
        Command::Align(args) => ok(align_cmd(&cli.global, args)),
        Command::Summarize(args) => ok(summarize_cmd(&cli.global, args)),
        Command::Batch(args) => match args.command {
            Some(BatchCommand::Merge(m)) => merge_cmd(m),
            None => batch_cmd(&cli.global, args.run),
        },
        Command::Bench(args) => ok(bench_cmd(&cli.global, args)),
        Command::Eval { command } => match command {
            EvalCommand::Rouge(args) => ok(rouge_cmd(args)),
            EvalCommand::Bleu(args) => ok(corpus_metric_cmd(&dich::eval::bleu::Bleu, args)),
            EvalCommand::Chrf(args) => ok(corpus_metric_cmd(&dich::eval::chrf::Chrf::CHRF, args)),
            EvalCommand::ChrfPlusPlus(args) => ok(corpus_metric_cmd(
                &dich::eval::chrf::Chrf::CHRF_PLUS_PLUS,
                args,
            )),
            EvalCommand::Ter(args) => ok(corpus_metric_cmd(&dich::eval::ter::Ter, args)),
            EvalCommand::Translate(args) => ok(eval_translate_cmd(&cli.global, *args)),
        },
        Command::Models { command } => ok(models_cmd(&cli.global, command)),
    }
}

/// Exit code of a batch run that finished with failed records.
pub const EXIT_FAILED_RECORDS: u8 = 3;
/// Exit code of a merge that found missing or repeated records.
pub const EXIT_INCOMPLETE: u8 = 4;

fn batch_cmd(g: &GlobalArgs, args: BatchRunArgs) -> Result<std::process::ExitCode> {
    use dich::batch::{self, shard::Shard};
    let (Some(input), Some(output)) = (args.input, args.output) else {
        bail!("dich batch needs INPUT and -o OUTPUT");
    };
    set_threads(args.runtime.threads)?;
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let output = match shard {
        Some(s) => output
            .replace("{shard}", &s.index.to_string())
            .replace("{shards}", &s.count.to_string()),
        None if output.contains("{shard}") => {
            bail!("-o {output}: `{{shard}}` needs --shard")
        }
        None => output,
    };
    if args.sentences == 0 {
        bail!("--sentences must be at least 1");
    }
    if args.max_chars == 0 {
        bail!("--max-chars must be at least 1");
    }
    let lang = match args.lang.as_str() {
        "auto" => None,
        code => Some(parse_lang(code, "--lang")?),
    };
    let mut translate = TranslateOptions {
        seed: args.seed,
        lanes: args.lanes as usize,
        ..TranslateOptions::default()
    };
    // A user glossary applies to Vietnamese -> English records.
    apply_prompt_args(&args.prompt, &mut translate)?;
    let opts = batch::BatchOptions {
        input: input.clone(),
        output: PathBuf::from(&output),
        task: args.task,
        format: args.format,
        lang,
        max_chars: args.max_chars,
        shard,
        score: !args.no_score,
        timings: !args.no_timings,
        retry_failed: args.retry_failed,
        checkpoint_secs: args.checkpoint_secs,
        translate,
        summary: SummaryOptions {
            method: args.method,
            length: Length::Sentences(args.sentences),
            ..SummaryOptions::default()
        },
    };
    // Input and output first: a bad input file or a locked output fails in
    // milliseconds, before any model is fetched or loaded.
    let prepared = batch::prepare(opts.clone())?;
    if let Some(s) = shard {
        tracing::info!("shard {s}: {} of the input's records", prepared.selected());
    }
    tracing::info!(
        "{}: {} records to do, {} already in {}",
        prepared.input_name(),
        prepared.todo(),
        prepared.recovery().finished,
        output
    );
    let report = if prepared.needs_models() {
        let device = device::select(&args.runtime.device)?;
        let lm_paths = resolve_translator(g, args.runtime.model.as_deref())?;
        let lm = LoadedLm::from_gguf(&lm_paths.path, &device)?;
        let needs_embedder = opts.score || opts.task == batch::Task::Summarize;
        let emb_paths = if needs_embedder {
            Some(resolve_embedder(g, args.embedder.as_deref())?)
        } else {
            None
        };
        let embedder = match &emb_paths {
            Some(p) => Some(load_embedder(p, &device)?),
            None => None,
        };
        let models = batch::Models {
            lm: &lm,
            lm_paths: &lm_paths,
            embedder: embedder
                .as_ref()
                .zip(emb_paths.as_ref())
                .map(|(e, p)| (e as &dyn dich::backend::embedder::Embedder, model_ref(p))),
        };
        prepared.run(Some(&models))?
    } else {
        prepared.run(None)?
    };
    // The one-line summary is the run's result for humans: always printed.
    eprintln!("{}", report.line());
    Ok(if report.failed_total > 0 {
        std::process::ExitCode::from(EXIT_FAILED_RECORDS)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

fn merge_cmd(args: MergeArgs) -> Result<std::process::ExitCode> {
    let opts = dich::batch::merge::MergeOptions {
        shards: args.shards,
        output: args.output.clone(),
        input: args.input,
        allow_gaps: args.allow_gaps,
    };
    let report = dich::batch::merge::merge(&opts)?;
    if !report.complete() {
        eprint!("{}", report.describe(20));
    }
    eprintln!(
        "merge: {} records ({} failed) from {} shard output(s){}; {}",
        report.records,
        report.failed,
        opts.shards.len(),
        if report.checked_against_input {
            ", checked against the input"
        } else {
            ", checked against the shard manifests"
        },
        if report.written {
            format!("wrote {}", args.output.display())
        } else {
            "nothing written (use --allow-gaps to write anyway)".to_string()
        }
    );
    Ok(if !report.complete() {
        std::process::ExitCode::from(EXIT_INCOMPLETE)
    } else if report.failed > 0 {
        std::process::ExitCode::from(EXIT_FAILED_RECORDS)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

fn bench_cmd(g: &GlobalArgs, args: BenchArgs) -> Result<()> {
    match args.command {
        Some(BenchCommand::Marian(a)) => bench_marian_cmd(g, a),
        None => bench_run_cmd(g, args.run),
    }
}

fn bench_marian_cmd(g: &GlobalArgs, args: BenchMarianArgs) -> Result<()> {
    use dich::backend::marian::random::{write_checkpoint, RandomSpec};
    let json = match args.format.as_str() {
        "table" => false,
        "json" => true,
        other => bail!("--format `{other}`: expected table or json"),
    };
    set_threads(args.threads)?;
    let format = WeightFormat::parse(&args.quantize)
        .with_context(|| format!("--quantize `{}`: expected f32 or q8", args.quantize))?;
    if let Some(preset) = &args.write_random {
        let spec = match preset.as_str() {
            "opus-mt" => RandomSpec::opus_mt(args.seed),
            "tiny" => RandomSpec::tiny(args.seed),
            other => bail!("--write-random `{other}`: expected opus-mt or tiny"),
        };
        let dir = Path::new(&args.model);
        if !dir.join("model.safetensors").is_file() {
            let spm = std::env::temp_dir().join(format!("dich-random-{}.spm", std::process::id()));
            std::fs::write(&spm, include_bytes!("../tests/fixtures/spm/tiny.spm"))
                .with_context(|| format!("cannot write {}", spm.display()))?;
            let r = write_checkpoint(dir, &spec, &spm);
            let _ = std::fs::remove_file(&spm);
            r?;
            tracing::info!("wrote a random {preset} checkpoint to {}", dir.display());
        }
    }
    let model = resolve_any_translator(g, Some(&args.model))?;
    if !is_marian(&model) {
        bail!("{} is not a Marian checkpoint directory", model.name);
    }
    let mt = MarianMt::load(&model.path, format)?;
    let sources = match &args.sources {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Some(
                serde_json::from_str::<Vec<Vec<u32>>>(&text).with_context(|| {
                    format!("{}: expected a JSON list of lists of ids", p.display())
                })?,
            )
        }
        None => None,
    };
    let opts = dich::bench::MarianBenchOptions {
        batch: args.batch,
        src_len: args.src_len,
        new_tokens: args.new_tokens,
        beam: args.beam,
        rounds: args.rounds,
        seed: args.seed,
        sources,
    };
    let report = dich::bench::bench_marian(&mt, &model.name, &opts)?;
    if let Some(out) = &args.tokens_out {
        let v = serde_json::json!({"sources": report.sources, "outputs": report.outputs});
        std::fs::write(out, v.to_string())
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} ({} weights, {:.0} MiB), {} threads: batch {} x {} source tokens -> {} tokens, beam {}: {:.1} tokens/s (median of {} rounds {:?}; {:.1} ms per round), peak RSS {:.0} MiB",
            report.model,
            report.weights,
            report.weight_mb,
            report.threads,
            report.batch,
            report.src_len,
            report.new_tokens,
            report.beam,
            report.tokens_per_s,
            report.rounds,
            report.round_tokens_per_s,
            report.round_ms,
            report.peak_rss_mb
        );
    }
    Ok(())
}

fn bench_run_cmd(g: &GlobalArgs, args: BenchRunArgs) -> Result<()> {
    let json = match args.format.as_str() {
        "table" => false,
        "json" => true,
        other => bail!("--format `{other}`: expected table or json"),
    };
    if args.decode_tokens == 0 || args.lanes == 0 {
        bail!("--decode-tokens and --lanes must be at least 1");
    }
    set_threads(args.runtime.threads)?;
    let input = match &args.text {
        Some(path) => read_input(&path.display().to_string())?,
        None => dich::input::Input {
            name: "seeds/vi-vtc-hanoi-convention-signing.txt".into(),
            text: include_str!("../seeds/vi-vtc-hanoi-convention-signing.txt").into(),
        },
    };
    let text = input.text.clone();
    let device = device::select(&args.runtime.device)?;
    let model = resolve_translator(g, args.runtime.model.as_deref())?;
    let lm = LoadedLm::from_gguf(&model.path, &device)?;
    let bytes = std::fs::metadata(&model.path).map(|m| m.len()).unwrap_or(0);
    if let Some(out) = &args.prompts_out {
        let ids = serde_json::json!({
            "short": dich::bench::prompt_ids(&lm, &text, dich::bench::SHORT_PROMPT)?,
            "long": dich::bench::prompt_ids(&lm, &text, dich::bench::LONG_PROMPT)?,
        });
        std::fs::write(out, ids.to_string())
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    let opts = dich::bench::BenchOptions {
        decode_tokens: args.decode_tokens,
        seed_lanes: args.lanes,
    };
    let name = model_ref(&model).name;
    let mut report = dich::bench::run(&lm, &name, bytes, &text, &opts)?;
    if !args.no_seed {
        tracing::info!("translating {} (--lanes {})", input.name, args.lanes);
        let topts = TranslateOptions {
            lanes: args.lanes,
            ..TranslateOptions::default()
        };
        let t = Instant::now();
        translate_document(&lm, &model, &input, &topts, &|_| {})?;
        report.seed_wall_s = Some((t.elapsed().as_secs_f64() * 10.0).round() / 10.0);
        report.peak_rss_mb = dich::bench::peak_rss_mb();
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        // candle sizes its worker pool (which our kernels share) from
        // CANDLE_NUM_THREADS, else RAYON_NUM_THREADS, once, before any
        // model work starts.
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    Ok(())
}

fn parse_lang(code: &str, flag: &str) -> Result<Lang> {
    Lang::parse(code).with_context(|| format!("{flag} `{code}`: supported languages are vi and en"))
}

/// `--from` and `--to`: two different supported languages.
fn lang_pair(from: &str, to: &str) -> Result<(Lang, Lang)> {
    let (from, to) = (parse_lang(from, "--from")?, parse_lang(to, "--to")?);
    if from == to {
        bail!("--from and --to are both `{}`", from.code());
    }
    Ok((from, to))
}

fn translate(g: &GlobalArgs, args: TranslateArgs) -> Result<()> {
    let start = Instant::now();
    let (from, to) = lang_pair(&args.from, &args.to)?;
    set_threads(args.runtime.threads)?;
    // Read and check the input before spending seconds on the model.
    let input = read_input(&args.file)?;
    // A bad --device fails before any model is fetched.
    let device = device::select(&args.runtime.device)?;
    let model = resolve_any_translator(g, args.runtime.model.as_deref())?;
    if is_marian(&model) {
        return translate_marian(g, args, model, input, (from, to), start);
    }
    if let Some(flag) = args.decode.given().first() {
        bail!(
            "{flag} is not supported by {} (a GGUF chat model: it decodes greedily, or samples with --temperature); \
             beam search and the other decoding flags work with encoder-decoder models such as opus-mt-vi-en",
            model.name
        );
    }
    // A bad model file fails in seconds, before anything else is fetched.
    let lm = LoadedLm::from_gguf(&model.path, &device)?;
    // Resolve (and fetch) the embedder before minutes of translation, so a
    // missing embedder fails now rather than at the end.
    let scorer = if args.no_score {
        None
    } else {
        Some(resolve_embedder(g, args.embedder.as_deref())?)
    };
    let mut opts = TranslateOptions {
        from,
        to,
        temperature: args.temperature.filter(|t| *t > 0.0),
        top_p: args.top_p,
        seed: args.seed,
        lanes: args.lanes as usize,
        ..TranslateOptions::default()
    };
    apply_prompt_args(&args.prompt, &mut opts)?;
    let mut doc = translate_with_progress(&lm, &model, &input, &opts)?;
    if let Some(paths) = &scorer {
        let embedder = load_embedder(paths, &device)?;
        dich::pipeline::score_translation(&embedder, model_ref(paths), &mut doc)?;
    }
    doc.stats.wall_s = (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    let s = &doc.stats;
    tracing::info!(
        "{} segments; load {:.1}s; prompt {} tokens in {:.1}s ({:.1} tok/s); generated {} tokens in {:.1}s ({:.1} tok/s); wall {:.1}s",
        doc.segments.len(),
        s.load_s,
        s.prompt_tokens,
        s.prompt_s,
        rate(s.prompt_tokens, s.prompt_s),
        s.generated_tokens,
        s.generate_s,
        rate(s.generated_tokens, s.generate_s),
        s.wall_s
    );
    emit(&doc.render(args.format), args.output.as_deref())
}

/// A resolved translator that is a Marian checkpoint directory.
fn is_marian(model: &models::ModelPaths) -> bool {
    model.format == models::ModelFormat::MarianDir
}

/// `dich translate` with an encoder-decoder model.
fn translate_marian(
    g: &GlobalArgs,
    args: TranslateArgs,
    model: models::ModelPaths,
    input: dich::input::Input,
    (from, to): (Lang, Lang),
    start: Instant,
) -> Result<()> {
    let unsupported = [
        ("--temperature", args.temperature.is_some()),
        ("--top-p", args.top_p.is_some()),
        ("--lanes", args.lanes > 1),
        ("--glossary", args.prompt.glossary.is_some()),
        ("--examples", args.prompt.examples.is_some()),
    ];
    if let Some((flag, _)) = unsupported.iter().find(|(_, on)| *on) {
        bail!(
            "{flag} is not supported by {} (an encoder-decoder translation model: no prompt, no sampling; \
             it takes --beam, --n-best, --length-penalty, --max-length, --no-repeat-ngram, --repetition-penalty, --quantize)",
            model.name
        );
    }
    if let Some((a, b)) = pair_in_name(&model.name) {
        if (a, b) != (from, to) {
            bail!(
                "{} translates {} -> {}, but --from {} --to {} was asked",
                model.name,
                a.code(),
                b.code(),
                from.code(),
                to.code()
            );
        }
    }
    if !matches!(args.runtime.device.as_str(), "auto" | "cpu") {
        bail!(
            "--device {}: Marian models run on the CPU in this version",
            args.runtime.device
        );
    }
    let gen = args.decode.generate_options()?;
    let format = args.decode.weight_format()?;
    let batch_sentences = args.decode.batch_sentences.unwrap_or(16);
    if batch_sentences == 0 {
        bail!("--batch-sentences must be at least 1");
    }
    let mt = MarianMt::load(&model.path, format)?;
    let scorer = if args.no_score {
        None
    } else {
        Some(resolve_embedder(g, args.embedder.as_deref())?)
    };
    let opts = dich::translate::seq2seq::Seq2SeqOptions {
        to,
        generate: gen,
        batch_sentences,
    };
    let bar = SegmentBar::new(format!("translating {}", input.name));
    let mut doc =
        dich::pipeline::translate_document_seq2seq(&mt, &model, &input, from, &opts, &|ev| {
            bar.event(ev)
        })?;
    bar.finish();
    if let Some(paths) = &scorer {
        let device = device::select("cpu")?;
        let embedder = load_embedder(paths, &device)?;
        dich::pipeline::score_translation(&embedder, model_ref(paths), &mut doc)?;
    }
    doc.stats.wall_s = (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    let s = &doc.stats;
    tracing::info!(
        "{} segments; load {:.1}s; {} source tokens; generated {} tokens in {:.1}s ({:.1} tok/s); wall {:.1}s",
        doc.segments.len(),
        s.load_s,
        s.prompt_tokens,
        s.generated_tokens,
        s.generate_s,
        rate(s.generated_tokens, s.generate_s),
        s.wall_s
    );
    emit(&doc.render(args.format), args.output.as_deref())
}

/// `opus-mt-vi-en` -> (vi, en): the language pair a catalog-style name states.
fn pair_in_name(name: &str) -> Option<(Lang, Lang)> {
    let mut parts = name.rsplit('-');
    let b = Lang::parse(parts.next()?)?;
    let a = Lang::parse(parts.next()?)?;
    Some((a, b))
}

/// `translate_document` with a progress bar over the segments.
fn translate_with_progress(
    lm: &LoadedLm,
    model: &models::ModelPaths,
    input: &dich::input::Input,
    opts: &TranslateOptions,
) -> Result<dich::output::TranslationDocument> {
    let bar = SegmentBar::new(format!("translating {}", input.name));
    let doc = translate_document(lm, model, input, opts, &|ev| bar.event(ev))?;
    bar.finish();
    Ok(doc)
}

/// A progress bar over segments, created when their number is known.
struct SegmentBar {
    label: String,
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
}

impl SegmentBar {
    fn new(label: String) -> Self {
        Self {
            label,
            bar: std::sync::Mutex::new(None),
        }
    }

    fn event(&self, ev: ProgressEvent) {
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        match ev {
            ProgressEvent::Start(n) => {
                *bar = Some(dich::progress::items(n as u64, self.label.clone()));
            }
            ProgressEvent::Segment => {
                if let Some(b) = bar.as_ref() {
                    b.inc(1);
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            b.finish_and_clear();
        }
    }
}

/// A translator of any kind (GGUF chat model or Marian checkpoint).
fn resolve_any_translator(g: &GlobalArgs, spec: Option<&str>) -> Result<models::ModelPaths> {
    Ok(models::resolve(
        &Store::default(),
        &Catalog::builtin()?,
        spec,
        Role::Translator,
        ResolveOptions { offline: g.offline },
    )?)
}

/// A GGUF chat model, for the commands that prompt one (summarize, batch,
/// eval translate, bench).
fn resolve_translator(g: &GlobalArgs, spec: Option<&str>) -> Result<models::ModelPaths> {
    let paths = resolve_any_translator(g, spec)?;
    if paths.format == models::ModelFormat::MarianDir {
        bail!(
            "{} is a Marian (encoder-decoder) model: this command needs a GGUF chat model; \
             Marian models run with `dich translate` and `dich bench marian`",
            paths.name
        );
    }
    Ok(paths)
}

fn resolve_embedder(g: &GlobalArgs, spec: Option<&str>) -> Result<models::ModelPaths> {
    Ok(models::resolve(
        &Store::default(),
        &Catalog::builtin()?,
        spec,
        Role::Embedder,
        ResolveOptions { offline: g.offline },
    )?)
}

fn load_embedder(paths: &models::ModelPaths, device: &candle_core::Device) -> Result<BertEmbedder> {
    let dir = paths.path.parent().unwrap_or(Path::new("."));
    Ok(BertEmbedder::load(dir, device)?)
}

fn model_ref(paths: &models::ModelPaths) -> ModelRef {
    ModelRef {
        name: paths.name.clone(),
        sha256: paths.sha256.clone(),
    }
}

fn align_cmd(g: &GlobalArgs, args: AlignArgs) -> Result<()> {
    set_threads(args.threads)?;
    let a = read_input(&args.a)?;
    let b = read_input(&args.b)?;
    if !(args.threshold.is_finite() && args.threshold > 0.0) {
        bail!("--threshold must be a positive number (margins are ratios around 1)");
    }
    let device = device::select(&args.device)?;
    let paths = resolve_embedder(g, args.embedder.as_deref())?;
    let embedder = load_embedder(&paths, &device)?;
    let cfg = dich::align::AlignConfig {
        threshold: args.threshold,
        ..Default::default()
    };
    let doc = dich::pipeline::align_documents(&embedder, model_ref(&paths), &a, &b, &cfg)?;
    tracing::info!(
        "{} links between {} and {} segments ({} unlinked in the first, {} in the second) in {:.1}s",
        doc.stats.linked,
        doc.a.segments,
        doc.b.segments,
        doc.stats.unlinked_a,
        doc.stats.unlinked_b,
        doc.stats.wall_s
    );
    let text = match args.format {
        AlignFormat::Tsv => doc.to_tsv(),
        AlignFormat::Json => doc.to_json(),
    };
    emit(&text, args.output.as_deref())
}

fn summarize_cmd(g: &GlobalArgs, args: SummarizeArgs) -> Result<()> {
    let start = Instant::now();
    set_threads(args.runtime.threads)?;
    let length = match (args.sentences, args.ratio) {
        (Some(0), _) => bail!("--sentences must be at least 1"),
        (Some(k), _) => Length::Sentences(k),
        (None, Some(r)) if !(r > 0.0 && r <= 1.0) => bail!("--ratio must be in (0, 1], got {r}"),
        (None, Some(r)) => Length::Ratio(r),
        (None, None) => SummaryOptions::default().length,
    };
    let forced = match args.lang.as_str() {
        "auto" => None,
        code => Some(parse_lang(code, "--lang")?),
    };
    if args.files.iter().filter(|f| *f == "-").count() > 1 {
        bail!("stdin (`-`) can be given only once");
    }
    // Read and check every input before loading any model.
    enum Source {
        Text(dich::input::Input, Lang),
        Translated(Vec<dich::output::TranslationDocument>),
    }
    let mut sources = Vec::new();
    for f in &args.files {
        let input = read_input(f)?;
        if input.text.trim_start().starts_with('{') {
            sources.push(Source::Translated(dich::pipeline::parse_document_json(
                &input,
            )?));
        } else {
            let lang = forced.unwrap_or_else(|| dich::text::lang::detect(&input.text));
            sources.push(Source::Text(input, lang));
        }
    }
    let needs_lm =
        args.method == Method::Abstractive || sources.iter().any(|s| matches!(s, Source::Text(..)));
    let device = device::select(&args.runtime.device)?;
    let lm_paths = if needs_lm {
        Some(resolve_translator(g, args.runtime.model.as_deref())?)
    } else {
        None
    };
    // As in `translate`: check the model file, then fetch the embedder, then
    // start the long work.
    let lm = match &lm_paths {
        Some(p) => Some(LoadedLm::from_gguf(&p.path, &device)?),
        None => None,
    };
    let emb_paths = resolve_embedder(g, args.embedder.as_deref())?;
    let mut documents = Vec::new();
    for source in sources {
        match source {
            Source::Translated(docs) => documents.extend(docs),
            Source::Text(input, from) => {
                let (Some(lm), Some(paths)) = (&lm, &lm_paths) else {
                    bail!("internal error: text input without a loaded model");
                };
                let to = match from {
                    Lang::Vi => Lang::En,
                    Lang::En => Lang::Vi,
                };
                tracing::info!("{}: {} -> {}", input.name, from.code(), to.code());
                let opts = TranslateOptions {
                    from,
                    to,
                    seed: args.seed,
                    ..TranslateOptions::default()
                };
                documents.push(translate_with_progress(lm, paths, &input, &opts)?);
            }
        }
    }
    let embedder = load_embedder(&emb_paths, &device)?;
    for doc in documents.iter_mut().filter(|d| d.scorer.is_none()) {
        dich::pipeline::score_translation(&embedder, model_ref(&emb_paths), doc)?;
    }
    let opts = SummaryOptions {
        method: args.method,
        length,
        ..SummaryOptions::default()
    };
    let summary =
        dich::pipeline::summarize_documents(lm.as_ref(), &embedder, &documents, &opts, args.seed)?;
    let unsupported = summary
        .sentences
        .iter()
        .filter(|s| s.flags.iter().any(|f| f == "unsupported"))
        .count();
    tracing::info!(
        "{} summary sentences from {} document(s) ({} unsupported) in {:.1}s",
        summary.sentences.len(),
        documents.len(),
        unsupported,
        start.elapsed().as_secs_f64()
    );
    let out = SummaryOutput { documents, summary };
    emit(&out.render(args.format), args.output.as_deref())
}

fn rouge_cmd(args: RougeArgs) -> Result<()> {
    use dich::eval::rouge;
    if args.hyp == "-" && args.reference == "-" {
        bail!("--hyp and --ref cannot both be stdin");
    }
    let hyp = read_input(&args.hyp)?;
    let reference = read_input(&args.reference)?;
    let pairs: Vec<(String, String)> = if args.lines {
        let lines = |t: &str| -> Vec<String> { t.lines().map(str::to_string).collect() };
        let (h, r) = (lines(&hyp.text), lines(&reference.text));
        if h.len() != r.len() {
            bail!(
                "--lines: {} has {} lines but {} has {}",
                hyp.name,
                h.len(),
                reference.name,
                r.len()
            );
        }
        h.into_iter()
            .zip(r)
            .filter(|(a, b)| !(a.trim().is_empty() && b.trim().is_empty()))
            .collect()
    } else {
        vec![(hyp.text, reference.text)]
    };
    let scores = rouge::corpus(&pairs);
    let text = match args.format {
        ListFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "rouge1": scores.rouge1,
                "rouge2": scores.rouge2,
                "rougeL": scores.rouge_l,
                "pairs": pairs.len(),
                "tokenizer": "NFC, lowercase, runs of letters and digits (Vietnamese letters kept)",
            }))?
        ),
        ListFormat::Text => {
            let row = |name: &str, s: &rouge::Score| {
                format!(
                    "{name:<8} P {:.4}  R {:.4}  F1 {:.4}\n",
                    s.precision, s.recall, s.f1
                )
            };
            format!(
                "{}{}{}",
                row("ROUGE-1", &scores.rouge1),
                row("ROUGE-2", &scores.rouge2),
                row("ROUGE-L", &scores.rouge_l)
            )
        }
    };
    emit(&text, None)
}

/// `dich eval bleu|chrf|chrf++|ter`: one metric over line-aligned files,
/// printed like sacreBLEU (`NAME|signature = score verbose`) or as JSON; with
/// --compare, the paired bootstrap test of two systems.
fn corpus_metric_cmd<M: dich::eval::Metric>(metric: &M, args: CorpusMetricArgs) -> Result<()> {
    use dich::eval::corpus::TestSet;
    use dich::eval::{bootstrap, Score};

    let paths: Vec<&str> = [
        Some(&args.hyp),
        Some(&args.reference),
        args.compare.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .collect();
    if paths.iter().filter(|p| **p == "-").count() > 1 {
        bail!("only one of --hyp, --ref and --compare can be stdin (`-`)");
    }
    let reference = read_input(&args.reference)?;
    let hyp = read_input(&args.hyp)?;
    let other = args.compare.as_deref().map(read_input).transpose()?;
    let mut systems = vec![&hyp];
    systems.extend(other.as_ref());
    let set = TestSet::from_inputs(&reference, &systems)?;

    let signature = metric.signature();
    // sacreBLEU's fields for one system: name, score, signature, then the
    // score's own details.
    let fields = |score: &M::Score| -> Result<serde_json::Map<String, serde_json::Value>> {
        let mut map = serde_json::Map::new();
        map.insert("metric".into(), metric.name().into());
        map.insert("score".into(), score.value().into());
        map.insert("signature".into(), signature.clone().into());
        if let Some(verbose) = score.verbose() {
            map.insert("verbose_score".into(), verbose.into());
        }
        if let serde_json::Value::Object(details) = serde_json::to_value(score)? {
            for (k, v) in details {
                map.entry(k).or_insert(v);
            }
        }
        map.insert("segments".into(), set.refs.len().into());
        Ok(map)
    };
    let line = |score: &M::Score| match score.verbose() {
        Some(v) => format!("{:.2} {v}", score.value()),
        None => format!("{:.2}", score.value()),
    };

    let stats: Vec<Vec<M::Stats>> = set
        .systems
        .iter()
        .map(|hyps| metric.corpus_stats(hyps, &set.refs))
        .collect::<std::result::Result<_, _>>()?;
    let scores: Vec<M::Score> = stats
        .iter()
        .map(|s| metric.compute(&dich::eval::sum(s)))
        .collect();

    let text = match (&stats[..], &scores[..]) {
        ([_], [score]) => match args.format {
            ListFormat::Json => format!(
                "{}\n",
                serde_json::to_string_pretty(&serde_json::Value::Object(fields(score)?))?
            ),
            ListFormat::Text => format!("{}|{signature} = {}\n", metric.name(), line(score)),
        },
        ([bl_stats, sys_stats], [bl_score, sys_score]) => {
            let test = bootstrap::paired_bootstrap(
                metric,
                bl_stats,
                sys_stats,
                args.bootstrap,
                args.seed,
            )?;
            let names = [
                hyp.name.as_str(),
                other.as_ref().map_or("", |o| o.name.as_str()),
            ];
            let rows = [
                (names[0], bl_score, &test.baseline, None),
                (names[1], sys_score, &test.system, Some(test.p_value)),
            ];
            match args.format {
                ListFormat::Json => {
                    let mut out = Vec::new();
                    for (name, score, estimate, p_value) in rows {
                        let mut map = fields(score)?;
                        map.insert("system".into(), name.into());
                        map.insert("baseline".into(), p_value.is_none().into());
                        map.insert("mean".into(), estimate.mean.into());
                        map.insert("ci".into(), estimate.ci.into());
                        map.insert("p_value".into(), p_value.into());
                        map.insert("bootstrap_samples".into(), test.n_samples.into());
                        map.insert("seed".into(), test.seed.into());
                        out.push(serde_json::Value::Object(map));
                    }
                    format!("{}\n", serde_json::to_string_pretty(&out)?)
                }
                ListFormat::Text => {
                    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
                    let mut text = format!(
                        "{}|{signature}\npaired bootstrap: {} resamples, seed {}\n",
                        metric.name(),
                        test.n_samples,
                        test.seed
                    );
                    for (name, score, estimate, p_value) in rows {
                        let role = if p_value.is_none() {
                            "baseline"
                        } else {
                            "system  "
                        };
                        let p = p_value.map_or(String::new(), |p| {
                            format!(" (p = {p:.4}){}", if p < 0.05 { "*" } else { "" })
                        });
                        text.push_str(&format!(
                            "  {role} {name:<width$} = {:.2} (μ = {:.2} ± {:.2}){p}\n",
                            score.value(),
                            estimate.mean,
                            estimate.ci,
                        ));
                    }
                    text
                }
            }
        }
        _ => bail!("internal error: expected one or two systems"),
    };
    emit(&text, None)
}

fn rate(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// Data goes to stdout, or atomically to a file.
fn emit(text: &str, output: Option<&Path>) -> Result<()> {
    match output {
        Some(path) => dich::models::store::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}

fn models_cmd(g: &GlobalArgs, command: ModelsCommand) -> Result<()> {
    let store = Store::default();
    let catalog = Catalog::builtin()?;
    let find = |name: &str| {
        catalog
            .get(name)
            .with_context(|| format!("unknown model `{name}`; known models: {}", catalog.names()))
    };
    // Hub-verified models have no size in the catalog: once cached, their
    // size is what is on disk; before that it is unknown.
    let size = |m: &models::ModelEntry| {
        m.total_size().or_else(|| {
            (store.state(m) == models::CacheState::Cached).then(|| store.size_on_disk(m))
        })
    };
    match command {
        ModelsCommand::List { format } => {
            let rows: Vec<serde_json::Value> = catalog
                .models
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "name": m.name,
                        "role": m.role,
                        "default": m.default,
                        "architecture": m.architecture,
                        "format": m.format,
                        "size": size(m),
                        "license": m.license,
                        "state": store.state(m).as_str(),
                        "path": store.entry_path(m),
                    })
                })
                .collect();
            let text = match format {
                ListFormat::Json => format!("{}\n", serde_json::to_string_pretty(&rows)?),
                ListFormat::Text => {
                    let names: Vec<String> = catalog
                        .models
                        .iter()
                        .map(|m| {
                            if m.default {
                                format!("{} (default)", m.name)
                            } else {
                                m.name.clone()
                            }
                        })
                        .collect();
                    let w = names.iter().map(String::len).max().unwrap_or(4);
                    let mut t = format!(
                        "{:<w$}  {:<10}  {:>8}  {:<10}  {}\n",
                        "NAME", "ROLE", "SIZE", "STATE", "LICENSE"
                    );
                    for (m, name) in catalog.models.iter().zip(&names) {
                        t.push_str(&format!(
                            "{:<w$}  {:<10}  {:>8}  {:<10}  {}\n",
                            name,
                            m.role.to_string(),
                            size(m).map_or("unknown".into(), dich::progress::human_bytes),
                            store.state(m).as_str(),
                            m.license
                        ));
                    }
                    t
                }
            };
            emit(&text, None)
        }
        ModelsCommand::Pull { name } => {
            let m = find(&name)?;
            if g.offline {
                bail!("`dich models pull {name}` needs the network, and --offline is set");
            }
            tracing::info!(
                "pulling {} ({}) into {}",
                m.name,
                models::progress_size(m),
                store.model_dir(m).display()
            );
            models::fetch::pull(&store, m)?;
            emit(&format!("{}\n", store.entry_path(m).display()), None)
        }
        ModelsCommand::Path { name } => {
            let m = find(&name)?;
            let path = store.entry_path(m);
            if store.state(m) != models::CacheState::Cached {
                bail!(
                    "model `{name}` is not cached (expected at {}); run `dich models pull {name}`",
                    path.display()
                );
            }
            emit(&format!("{}\n", path.display()), None)
        }
        ModelsCommand::Verify { name } => {
            let targets: Vec<_> = match &name {
                Some(n) => vec![find(n)?],
                None => catalog.models.iter().collect(),
            };
            let mut bad = 0;
            let mut report = String::new();
            for m in targets {
                for slot in m.slots() {
                    let line = match store.present(m, &slot) {
                        Some(f) => match store.verify_file(m, f, true) {
                            Ok(_) => format!("{}\t{}\tok\n", m.name, f.name),
                            Err(e) => {
                                bad += 1;
                                format!("{}\t{}\tFAILED: {e}\n", m.name, f.name)
                            }
                        },
                        None if slot.optional => {
                            format!("{}\t{}\tnot cached (optional)\n", m.name, slot.name())
                        }
                        None => {
                            if name.is_some() {
                                bad += 1;
                            }
                            format!("{}\t{}\tnot cached\n", m.name, slot.name())
                        }
                    };
                    report.push_str(&line);
                }
            }
            emit(&report, None)?;
            if bad > 0 {
                bail!("{bad} file(s) failed verification");
            }
            Ok(())
        }
    }
}

/// Applies `--no-context`, `--no-glossary`, `--glossary` and `--examples`.
fn apply_prompt_args(args: &PromptArgs, opts: &mut TranslateOptions) -> Result<()> {
    use dich::translate::{examples::ExamplePool, glossary::Glossary};
    opts.context = !args.no_context;
    opts.builtin_glossary = !args.no_glossary;
    if let Some(path) = &args.glossary {
        let input = read_input(&path.to_string_lossy())?;
        let g = Glossary::from_tsv(&input.name, &input.text)?;
        tracing::info!("glossary {}: {} entries", input.name, g.len());
        opts.user_glossary = Some(std::sync::Arc::new((opts.from, opts.to, g)));
    }
    if let Some(path) = &args.examples {
        let input = read_input(&path.to_string_lossy())?;
        let pool = ExamplePool::from_tsv(&input.name, &input.text)?;
        tracing::info!("translation memory {}: {} pairs", input.name, pool.len());
        opts.memory = Some(std::sync::Arc::new(pool));
        opts.memory_examples = args.examples_per_sentence;
    }
    Ok(())
}

/// `dich eval translate`: the pipeline over `source<TAB>reference` pairs
/// (or existing hypotheses), scored with sacreBLEU's BLEU and chrF.
fn eval_translate_cmd(g: &GlobalArgs, args: EvalTranslateArgs) -> Result<()> {
    use dich::eval::bleu::Bleu;
    use dich::eval::bootstrap::{paired_bootstrap, DEFAULT_SEED};
    use dich::eval::chrf::{sentence_chrf, Chrf};
    use dich::eval::pairs::{parse_pairs, translate_pairs};
    use dich::eval::{corpus, Metric, Score};

    let start = Instant::now();
    let (from, to) = lang_pair(&args.from, &args.to)?;
    let input = read_input(&args.pairs)?;
    let (mut pairs, bad) = parse_pairs(&input.text);
    for b in &bad {
        tracing::warn!("{}:{}: skipped: {}", input.name, b.line, b.reason);
    }
    if let Some(n) = args.limit {
        pairs.truncate(n);
    }
    if pairs.is_empty() {
        bail!("{}: no usable source<TAB>reference lines", input.name);
    }
    // Read every file before spending minutes on translation.
    let read_system = |spec: &str| -> Result<(String, Vec<String>)> {
        let sys = read_input(spec)?;
        let lines: Vec<String> = corpus::lines(&sys.text)
            .into_iter()
            .map(String::from)
            .collect();
        if lines.len() != pairs.len() {
            bail!(
                "{} has {} lines but {} has {} usable pairs{}",
                sys.name,
                lines.len(),
                input.name,
                pairs.len(),
                if args.limit.is_some() {
                    " (after --limit)"
                } else {
                    ""
                }
            );
        }
        Ok((sys.name, lines))
    };
    let baseline = args.compare.as_deref().map(read_system).transpose()?;
    let given = args.hyp.as_deref().map(read_system).transpose()?;
    let mut settings = serde_json::Map::new();
    let mut timing = serde_json::Map::new();
    let (system_name, hyps) = match given {
        Some(h) => {
            settings.insert("hypotheses".into(), h.0.clone().into());
            h
        }
        None => {
            set_threads(args.runtime.threads)?;
            let device = device::select(&args.runtime.device)?;
            let model = resolve_translator(g, args.runtime.model.as_deref())?;
            let lm = LoadedLm::from_gguf(&model.path, &device)?;
            let mut opts = TranslateOptions {
                from,
                to,
                lanes: args.lanes as usize,
                // A pair never sees its own reference as an example.
                memory_skip_identical: true,
                ..TranslateOptions::default()
            };
            apply_prompt_args(&args.prompt, &mut opts)?;
            settings.insert("model".into(), model_ref(&model).name.into());
            settings.insert("context".into(), opts.context.into());
            settings.insert("builtin_glossary".into(), opts.builtin_glossary.into());
            if let Some(p) = &args.prompt.glossary {
                settings.insert("glossary".into(), p.display().to_string().into());
            }
            if let Some(p) = &args.prompt.examples {
                settings.insert("examples".into(), p.display().to_string().into());
                settings.insert("examples_per_sentence".into(), opts.memory_examples.into());
            }
            settings.insert("lanes".into(), opts.lanes.into());
            settings.insert("decoding".into(), "greedy".into());
            let t = Instant::now();
            let bar = SegmentBar::new(format!("translating {}", input.name));
            let (tr, segments) = translate_pairs(&lm, &opts, &pairs, &|ev| bar.event(ev))?;
            bar.finish();
            let s = &tr.stats;
            timing.insert("load_s".into(), round3(lm.load_seconds).into());
            timing.insert(
                "translate_s".into(),
                round3(t.elapsed().as_secs_f64()).into(),
            );
            timing.insert("segments".into(), segments.into());
            timing.insert("prompt_tokens".into(), s.prompt_tokens.into());
            timing.insert("generated_tokens".into(), s.generated_tokens.into());
            timing.insert(
                "generated_tps".into(),
                round3(rate(s.generated_tokens, t.elapsed().as_secs_f64())).into(),
            );
            ("dich".to_string(), tr.hypotheses)
        }
    };
    if let Some(path) = &args.save_hyp {
        let mut text = hyps.join("\n");
        text.push('\n');
        emit(&text, Some(path))?;
    }
    let refs: Vec<&str> = pairs.iter().map(|p| p.reference.as_str()).collect();
    let bleu = Bleu;
    let chrf = Chrf::CHRF;
    let mut metrics = Vec::new();
    let mut lines_out = Vec::new();
    let mut compare = Vec::new();
    macro_rules! score {
        ($m:expr) => {{
            let m = $m;
            let stats = m.corpus_stats(&hyps, &refs)?;
            let score = m.compute(&dich::eval::sum(&stats));
            let sig = m.signature();
            lines_out.push(match score.verbose() {
                Some(v) => format!("{}|{sig} = {:.2} {v}", m.name(), score.value()),
                None => format!("{}|{sig} = {:.2}", m.name(), score.value()),
            });
            metrics.push(serde_json::json!({
                "metric": m.name(), "score": score.value(), "signature": sig,
            }));
            if let Some((bname, bhyps)) = &baseline {
                let bstats = m.corpus_stats(bhyps, &refs)?;
                let r = paired_bootstrap(m, &bstats, &stats, args.bootstrap, DEFAULT_SEED)?;
                compare.push(serde_json::json!({
                    "metric": m.name(), "baseline": bname, "system": system_name,
                    "result": r,
                }));
            }
        }};
    }
    score!(&bleu);
    score!(&chrf);
    // The worst sentences by sentence-level chrF (ties: earlier line first).
    let mut by_chrf: Vec<(f64, usize)> = hyps
        .iter()
        .zip(&refs)
        .enumerate()
        .map(|(i, (h, r))| (sentence_chrf(&chrf, h, r), i))
        .collect();
    by_chrf.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let worst: Vec<serde_json::Value> = by_chrf
        .iter()
        .take(args.worst)
        .map(|&(c, i)| {
            serde_json::json!({
                "line": pairs[i].line, "chrf": c, "source": pairs[i].source,
                "reference": pairs[i].reference, "hypothesis": hyps[i],
            })
        })
        .collect();
    timing.insert(
        "wall_s".into(),
        round3(start.elapsed().as_secs_f64()).into(),
    );
    let skipped: Vec<serde_json::Value> = bad
        .iter()
        .map(|b| serde_json::json!({"line": b.line, "reason": b.reason}))
        .collect();
    let text = match args.format {
        ListFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "pairs_file": input.name,
                "pairs": pairs.len(),
                "skipped": skipped,
                "system": system_name,
                "metrics": metrics,
                "compare": if baseline.is_some() { serde_json::Value::Array(compare) } else { serde_json::Value::Null },
                "worst": worst,
                "settings": settings,
                "timing": timing,
            }))?
        ),
        ListFormat::Text => {
            let mut t = format!(
                "{}: {} pairs ({} lines skipped), system {system_name}\n",
                input.name,
                pairs.len(),
                bad.len()
            );
            for l in &lines_out {
                t.push_str(l);
                t.push('\n');
            }
            for c in &compare {
                let r = &c["result"];
                t.push_str(&format!(
                    "{}: baseline {} {:.2} ({:.2} ± {:.2}), this run {:.2} ({:.2} ± {:.2}), p = {:.4}\n",
                    c["metric"].as_str().unwrap_or(""),
                    c["baseline"].as_str().unwrap_or(""),
                    r["baseline"]["score"].as_f64().unwrap_or(0.0),
                    r["baseline"]["mean"].as_f64().unwrap_or(0.0),
                    r["baseline"]["ci"].as_f64().unwrap_or(0.0),
                    r["system"]["score"].as_f64().unwrap_or(0.0),
                    r["system"]["mean"].as_f64().unwrap_or(0.0),
                    r["system"]["ci"].as_f64().unwrap_or(0.0),
                    r["p_value"].as_f64().unwrap_or(1.0),
                ));
            }
            if !worst.is_empty() {
                t.push_str(&format!("worst {} by sentence chrF:\n", worst.len()));
                for w in &worst {
                    t.push_str(&format!(
                        "  line {} chrF {:.1}\n    src {}\n    ref {}\n    hyp {}\n",
                        w["line"],
                        w["chrf"].as_f64().unwrap_or(0.0),
                        w["source"].as_str().unwrap_or(""),
                        w["reference"].as_str().unwrap_or(""),
                        w["hypothesis"].as_str().unwrap_or(""),
                    ));
                }
            }
            let kv: Vec<String> = settings
                .iter()
                .chain(timing.iter())
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            t.push_str(&format!("run: {}\n", kv.join(", ")));
            t
        }
    };
    emit(&text, None)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
