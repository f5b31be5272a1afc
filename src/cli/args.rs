//! The command line's arguments: one struct per command (clap derive),
//! parsed once before any work starts. Turning them into library options
//! is [`super::options`]'s job; running the commands, `super::commands`'.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// `error` objects); 4 (merge) records are missing or repeated; 130 or
    /// 143 stopped early by SIGINT or SIGTERM: the records in flight were
    /// finished and journaled and the manifest written, run the same
    /// command again to resume (a second signal ends it at once, finished
    /// records kept).
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
    /// A catalog name (see `dich models list`), a path to a .gguf file or a
    /// directory holding one, or a Marian checkpoint directory (Hugging Face
    /// layout). Default: the catalog's default translator.
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
    #[arg(long, value_enum, default_value_t = DocumentFormat::Text)]
    pub format: DocumentFormat,
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
    #[arg(long, default_value_t = dich::translate::DEFAULT_SEED)]
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
    #[arg(long, value_enum, default_value_t = Task::Translate)]
    pub task: Task,
    /// Segment fields in each record: full (as `dich translate --format
    /// json`) or compact (id, span, target, flags).
    #[arg(long, value_enum, default_value_t = RecordFormat::Full)]
    pub format: RecordFormat,
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
    /// Documents translated at once, their decoding batched into shared
    /// forward passes (chat models; records are identical to one at a
    /// time). Default: 8, fewer if their key/value caches would take more
    /// than half the memory available. 1: one document after another.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_batch: Option<u16>,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Summary length in sentences (--task summarize).
    #[arg(long, default_value_t = 5)]
    pub sentences: usize,
    /// Summary method (--task summarize).
    #[arg(long, value_enum, default_value_t = Method::Extractive)]
    pub method: Method,
    /// The embedder: a catalog name or a model directory.
    #[arg(long)]
    pub embedder: Option<String>,
    #[arg(long, default_value_t = dich::translate::DEFAULT_SEED)]
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
    #[arg(long, default_value_t = dich::translate::DEFAULT_SEED)]
    pub seed: u64,
    #[command(flatten)]
    pub decode: DecodeArgs,
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
    /// Chat models: pairs translated side by side, their decoding batched
    /// (each pair is a paragraph; see `dich translate --lanes`). Default: 4.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub lanes: Option<u16>,
    #[command(flatten)]
    pub decode: DecodeArgs,
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
    /// Candidates per sentence (chat models): the greedy translation plus
    /// N-1 epsilon samples, decoded as one batch; one is chosen by
    /// --select among those that pass the name and number checks. 1 is
    /// plain greedy decoding.
    #[arg(long, default_value_t = 1)]
    pub candidates: usize,
    /// How a candidate is chosen: `mbr` (minimum Bayes risk with sentence
    /// chrF), `qe` (cosine of the e5 embeddings of source and candidate),
    /// or `mbr+qe` (both, each scaled to 0..1).
    #[arg(long = "select", default_value = "mbr", value_parser = ["mbr", "qe", "mbr+qe"])]
    pub select: String,
    /// Temperature of the sampled candidates.
    #[arg(long, default_value_t = 1.0)]
    pub candidate_temperature: f64,
    /// Epsilon sampling threshold of the sampled candidates: tokens less
    /// likely than this are never drawn.
    #[arg(long, default_value_t = 0.02)]
    pub epsilon: f32,
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

/// `dich translate --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocumentFormat {
    Text,
    Json,
    Markdown,
}

/// `dich summarize --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
    Markdown,
    Html,
}

/// `--method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    Extractive,
    Abstractive,
}

/// `dich batch --task`: what each record gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// The translation: segments with byte spans, flags and scores.
    Translate,
    /// The translation plus an aligned bilingual summary.
    Summarize,
}

/// `dich batch --format`: how much of each segment a record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordFormat {
    /// Every segment field, as `dich translate --format json` writes them
    /// (source text, span, target, kind, paragraph, flags, scores).
    Full,
    /// Segments as id, span, target and flags only (the source is the
    /// input text at the span).
    Compact,
}
