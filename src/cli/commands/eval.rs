//! `dich eval`: ROUGE of summaries, sacreBLEU's corpus metrics (with the
//! paired bootstrap test), and `eval translate`: a dev or test set
//! translated by the pipeline with any translation model and scored.

use std::time::Instant;

use anyhow::{bail, Result};

use crate::cli::args::{CorpusMetricArgs, EvalTranslateArgs, GlobalArgs, ListFormat, RougeArgs};
use crate::cli::common::{attach_qe, emit, resolve_translator, SegmentBar};
use crate::cli::options::{lang_pair, load_options, set_threads, TranslateFlags};
use dich::eval::corpus;
use dich::eval::pairs::{parse_pairs, translate_pairs};
use dich::eval::report::{metric_lines, score, Settings, Systems, Timing};
use dich::input::read_input;
use dich::model::{device, ModelKind};
use dich::translate::Engine;
use dich::util::num::{rate, round_to};

pub fn rouge(args: RougeArgs) -> Result<()> {
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
pub fn corpus_metric<M: dich::eval::Metric>(metric: &M, args: CorpusMetricArgs) -> Result<()> {
    use dich::eval::bootstrap;
    use dich::eval::corpus::TestSet;

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
    let segments = set.refs.len();

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
                serde_json::to_string_pretty(&serde_json::Value::Object(metric_fields(
                    metric, &signature, score, segments
                )?))?
            ),
            ListFormat::Text => format!("{}|{signature} = {}\n", metric.name(), score_line(score)),
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
                ListFormat::Json => compare_json(metric, &signature, segments, &test, rows)?,
                ListFormat::Text => compare_text(metric, &signature, &test, &names, rows),
            }
        }
        _ => bail!("internal error: expected one or two systems"),
    };
    emit(&text, None)
}

/// One system of a paired comparison: its name, score and bootstrap
/// estimate, and the p-value against the baseline (none for the baseline).
type CompareRow<'a, S> = (
    &'a str,
    &'a S,
    &'a dich::eval::bootstrap::Estimate,
    Option<f64>,
);

/// sacreBLEU's fields for one system: name, score, signature, then the
/// score's own details.
fn metric_fields<M: dich::eval::Metric>(
    metric: &M,
    signature: &str,
    score: &M::Score,
    segments: usize,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    use dich::eval::Score;

    let mut map = serde_json::Map::new();
    map.insert("metric".into(), metric.name().into());
    map.insert("score".into(), score.value().into());
    map.insert("signature".into(), signature.into());
    if let Some(verbose) = score.verbose() {
        map.insert("verbose_score".into(), verbose.into());
    }
    if let serde_json::Value::Object(details) = serde_json::to_value(score)? {
        for (k, v) in details {
            map.entry(k).or_insert(v);
        }
    }
    map.insert("segments".into(), segments.into());
    Ok(map)
}

/// A score as sacreBLEU prints it after `=`: the value, then its details.
fn score_line<S: dich::eval::Score>(score: &S) -> String {
    match score.verbose() {
        Some(v) => format!("{:.2} {v}", score.value()),
        None => format!("{:.2}", score.value()),
    }
}

/// The paired bootstrap test as JSON: one object per system.
fn compare_json<M: dich::eval::Metric>(
    metric: &M,
    signature: &str,
    segments: usize,
    test: &dich::eval::bootstrap::PairedResult,
    rows: [CompareRow<'_, M::Score>; 2],
) -> Result<String> {
    let mut out = Vec::new();
    for (name, score, estimate, p_value) in rows {
        let mut map = metric_fields(metric, signature, score, segments)?;
        map.insert("system".into(), name.into());
        map.insert("baseline".into(), p_value.is_none().into());
        map.insert("mean".into(), estimate.mean.into());
        map.insert("ci".into(), estimate.ci.into());
        map.insert("p_value".into(), p_value.into());
        map.insert("bootstrap_samples".into(), test.n_samples.into());
        map.insert("seed".into(), test.seed.into());
        out.push(serde_json::Value::Object(map));
    }
    Ok(format!("{}\n", serde_json::to_string_pretty(&out)?))
}

/// The paired bootstrap test as text: a header, then the baseline and the
/// system, the system's p-value starred when under 0.05.
fn compare_text<M: dich::eval::Metric>(
    metric: &M,
    signature: &str,
    test: &dich::eval::bootstrap::PairedResult,
    names: &[&str; 2],
    rows: [CompareRow<'_, M::Score>; 2],
) -> String {
    use dich::eval::Score;

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

/// `--lanes` of `eval translate` with a chat model unless given.
const DEFAULT_LANES: usize = 4;

/// Hypotheses read from a file: its name and lines, one per usable pair.
fn read_system(
    spec: &str,
    pairs_file: &str,
    pairs: usize,
    limited: bool,
) -> Result<(String, Vec<String>)> {
    let sys = read_input(spec)?;
    let lines: Vec<String> = corpus::lines(&sys.text)
        .into_iter()
        .map(String::from)
        .collect();
    if lines.len() != pairs {
        bail!(
            "{} has {} lines but {pairs_file} has {pairs} usable pairs{}",
            sys.name,
            lines.len(),
            if limited { " (after --limit)" } else { "" }
        );
    }
    Ok((sys.name, lines))
}

/// `dich eval translate`: the pipeline over `source<TAB>reference` pairs
/// (or existing hypotheses), scored with sacreBLEU's BLEU and chrF.
pub fn translate(g: &GlobalArgs, args: EvalTranslateArgs) -> Result<()> {
    let start = Instant::now();
    let pair = lang_pair(&args.from, &args.to)?;
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
    let read = |spec: &str| read_system(spec, &input.name, pairs.len(), args.limit.is_some());
    let baseline = args.compare.as_deref().map(read).transpose()?;
    let given = args.hyp.as_deref().map(read).transpose()?;
    let (system, hyps, settings, mut timing) = match given {
        Some((name, lines)) => {
            let settings = Settings {
                hypotheses: Some(name.clone()),
                ..Settings::default()
            };
            (name, lines, settings, Timing::default())
        }
        None => {
            let (hyps, settings, timing) = translate_all(g, &args, pair, &input.name, &pairs)?;
            ("dich".to_string(), hyps, settings, timing)
        }
    };
    if let Some(path) = &args.save_hyp {
        let mut text = hyps.join("\n");
        text.push('\n');
        emit(&text, Some(path))?;
    }
    let systems = Systems {
        name: system,
        hypotheses: &hyps,
        baseline: baseline.as_ref().map(|(n, h)| (n.as_str(), h.as_slice())),
        resamples: args.bootstrap,
        worst: args.worst,
        pair,
    };
    let mut report = score(&input.name, &pairs, bad, &systems)?;
    timing.wall_s = round_to(start.elapsed().as_secs_f64(), 3);
    report.settings = settings;
    report.timing = timing;
    let text = match args.format {
        ListFormat::Json => report.json(),
        ListFormat::Text => report.text(&metric_lines(&hyps, &pairs)?),
    };
    emit(&text, None)
}

/// Translates every pair's source with the model `--model` names.
fn translate_all(
    g: &GlobalArgs,
    args: &EvalTranslateArgs,
    pair: dich::types::LangPair,
    name: &str,
    pairs: &[dich::eval::pairs::Pair],
) -> Result<(Vec<String>, Settings, Timing)> {
    set_threads(args.runtime.threads)?;
    device::select(&args.runtime.device)?;
    let model = resolve_translator(g, args.runtime.model.as_deref())?;
    let load = load_options(&args.runtime, &args.decode)?;
    // Lanes are a chat model's way to batch; 4 unless asked otherwise.
    let lanes = match (args.lanes, Engine::kind_of(&model)) {
        (Some(n), _) => n as usize,
        (None, ModelKind::ChatLm) => DEFAULT_LANES,
        (None, ModelKind::EncoderDecoder) => 1,
    };
    let mut opts = TranslateFlags {
        prompt: Some(&args.prompt),
        decode: &args.decode,
        lanes,
        temperature: None,
        top_p: None,
        seed: dich::translate::DEFAULT_SEED,
    }
    .options(pair)?;
    // A pair never sees its own reference as an example.
    opts.prompt.memory_skip_identical = true;
    if Engine::kind_of(&model) == ModelKind::ChatLm {
        attach_qe(g, None, &args.runtime.device, &mut opts)?;
    }
    Engine::check(&model, Some(pair), &opts, &load)?;
    let engine = Engine::load(&model, &load)?;
    let examples = args
        .prompt
        .examples
        .as_ref()
        .map(|p| p.display().to_string());
    let settings = Settings {
        model: Some(model.name.clone()),
        context: Some(opts.prompt.context),
        builtin_glossary: Some(opts.prompt.builtin_glossary),
        glossary: args
            .prompt
            .glossary
            .as_ref()
            .map(|p| p.display().to_string()),
        examples_per_sentence: examples.as_ref().map(|_| opts.prompt.memory_examples),
        examples,
        lanes: Some(opts.lanes),
        decoding: Some(match (args.decode.beam, opts.candidates.n) {
            (Some(b), _) if b > 1 => format!("beam {b}"),
            (_, n) if n > 1 => format!(
                "{n} candidates (greedy + epsilon {} samples at temperature {}), {}",
                opts.candidates.epsilon,
                opts.candidates.temperature,
                opts.candidates.method.name()
            ),
            _ => "greedy".to_string(),
        }),
        hypotheses: None,
    };
    let t = Instant::now();
    let bar = SegmentBar::new(format!("translating {name}"));
    let (tr, segments) = translate_pairs(&engine, pair, &opts, pairs, &|ev| bar.event(ev))?;
    bar.finish();
    let s = &tr.stats;
    let timing = Timing {
        load_s: Some(round_to(engine.load_seconds, 3)),
        translate_s: Some(round_to(t.elapsed().as_secs_f64(), 3)),
        segments: Some(segments),
        prompt_tokens: Some(s.prompt_tokens),
        generated_tokens: Some(s.generated_tokens),
        generated_tps: Some(round_to(
            rate(s.generated_tokens as f64, t.elapsed().as_secs_f64()),
            3,
        )),
        wall_s: 0.0,
    };
    Ok((tr.hypotheses, settings, timing))
}
