//! The report of `dich eval translate`: corpus BLEU and chrF with their
//! signatures, paired bootstrap tests against a baseline, the worst
//! sentences by chrF, and how the hypotheses were made and what that cost.
//! A typed, serializable struct with a text rendering; [`EvalTranslateReport::json`]
//! writes its keys sorted at every level.

use serde::Serialize;

use super::bleu::Bleu;
use super::bootstrap::{paired_bootstrap, PairedResult, DEFAULT_SEED};
use super::chrf::{sentence_chrf, Chrf};
use super::pairs::{BadLine, Pair};
use super::{EvalError, Metric, Score};

#[derive(Debug, Clone, Serialize)]
pub struct EvalTranslateReport {
    pub pairs_file: String,
    pub pairs: usize,
    pub skipped: Vec<BadLine>,
    /// `dich`, or the name of the hypotheses file scored.
    pub system: String,
    pub metrics: Vec<MetricScore>,
    /// With a baseline: one paired bootstrap test per metric.
    pub compare: Option<Vec<Comparison>>,
    /// With a baseline: how many hypotheses differ from the baseline's.
    /// With none, sacreBLEU's p-value formula still gives 1/(resamples+1),
    /// which then means nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed: Option<usize>,
    pub worst: Vec<WorstLine>,
    /// Reference-free: how many hypotheses the fidelity checks flag.
    pub fidelity: Fidelity,
    pub settings: Settings,
    pub timing: Timing,
}

/// Hypotheses flagged by each fidelity check (names and numbers held to
/// the source; see `translate::fidelity`), out of `sentences`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fidelity {
    pub sentences: usize,
    pub entity_missed: usize,
    pub entity_added: usize,
    pub number_missed: usize,
    pub new_number: usize,
    pub approximation_changed: usize,
    /// Any of the three number checks.
    pub number_mismatch: usize,
    pub not_a_translation: usize,
    /// Any check.
    pub flagged: usize,
    /// Every flagged hypothesis with its findings (`flag: detail`), for
    /// reading the flags' precision by hand.
    pub lines: Vec<FlaggedLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlaggedLine {
    pub line: usize,
    pub source: String,
    pub hypothesis: String,
    pub findings: Vec<String>,
}

impl Fidelity {
    /// The checks of each (source, hypothesis) pair, counted.
    pub fn count<'a>(
        items: impl Iterator<Item = (usize, &'a str, &'a str)>,
        pair: crate::types::LangPair,
    ) -> Fidelity {
        use crate::types::Flag;
        let mut f = Fidelity::default();
        for (line, source, hyp) in items {
            f.sentences += 1;
            let findings = crate::translate::fidelity::check(source, hyp, pair);
            if !findings.is_empty() {
                f.lines.push(FlaggedLine {
                    line,
                    source: source.to_string(),
                    hypothesis: hyp.to_string(),
                    findings: findings
                        .iter()
                        .map(|x| format!("{}: {}", x.flag.name(), x.detail))
                        .collect(),
                });
            }
            let flags: Vec<Flag> = findings.into_iter().map(|x| x.flag).collect();
            let has = |flag: Flag| usize::from(flags.contains(&flag));
            f.entity_missed += has(Flag::EntityMissed);
            f.entity_added += has(Flag::EntityAdded);
            f.number_missed += has(Flag::NumberMissed);
            f.new_number += has(Flag::NewNumber);
            f.approximation_changed += has(Flag::ApproximationChanged);
            f.number_mismatch += usize::from(
                flags.contains(&Flag::NumberMissed)
                    || flags.contains(&Flag::NewNumber)
                    || flags.contains(&Flag::ApproximationChanged),
            );
            f.not_a_translation += has(Flag::NotATranslation);
            f.flagged += usize::from(!flags.is_empty());
        }
        f
    }

    /// One line: each count with its share.
    pub fn line(&self) -> String {
        let pct = |n: usize| 100.0 * n as f64 / self.sentences.max(1) as f64;
        let items = [
            ("entity-missed", self.entity_missed),
            ("entity-added", self.entity_added),
            ("number-mismatch", self.number_mismatch),
            ("approximation-changed", self.approximation_changed),
            ("not-a-translation", self.not_a_translation),
            ("any", self.flagged),
        ];
        let parts: Vec<String> = items
            .iter()
            .map(|(k, n)| format!("{k} {n} ({:.1}%)", pct(*n)))
            .collect();
        format!(
            "fidelity of {} hypotheses: {}",
            self.sentences,
            parts.join(", ")
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricScore {
    pub metric: String,
    pub score: f64,
    pub signature: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub metric: String,
    pub baseline: String,
    pub system: String,
    pub result: PairedResult,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorstLine {
    pub line: usize,
    pub chrf: f64,
    pub source: String,
    pub reference: String,
    pub hypothesis: String,
}

/// How the hypotheses were made: the file they were read from, or the
/// model and settings that translated them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Settings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hypotheses: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builtin_glossary: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glossary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examples: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examples_per_sentence: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lanes: Option<usize>,
    /// `greedy`, `sampling` or `beam N`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoding: Option<String>,
}

/// What translating cost (absent when the hypotheses were read).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timing {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translate_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_tokens: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_tps: Option<f64>,
    pub wall_s: f64,
}

/// Hypotheses to score against the references of `pairs`, and a baseline's.
pub struct Systems<'a> {
    pub name: String,
    pub hypotheses: &'a [String],
    /// A baseline's name and hypotheses, for paired bootstrap tests.
    pub baseline: Option<(&'a str, &'a [String])>,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// How many of the worst lines to list.
    pub worst: usize,
    /// The language pair, for the fidelity checks.
    pub pair: crate::types::LangPair,
}

/// Scores `systems` against the references of `pairs` (BLEU and chrF,
/// sacreBLEU's defaults) and lists the worst lines; settings and timing are
/// the caller's to fill in.
pub fn score(
    pairs_file: &str,
    pairs: &[Pair],
    skipped: Vec<BadLine>,
    systems: &Systems,
) -> Result<EvalTranslateReport, EvalError> {
    let refs: Vec<&str> = pairs.iter().map(|p| p.reference.as_str()).collect();
    let hyps = systems.hypotheses;
    let chrf = Chrf::CHRF;
    let mut metrics = Vec::new();
    let mut compare = Vec::new();
    let metric_list: [&dyn DynMetric; 2] = [&Bleu, &chrf];
    for m in metric_list {
        let (score, signature, name) = m.corpus(hyps, &refs)?;
        metrics.push(MetricScore {
            metric: name.clone(),
            score,
            signature,
        });
        if let Some((bname, bhyps)) = systems.baseline {
            compare.push(Comparison {
                metric: name,
                baseline: bname.to_string(),
                system: systems.name.clone(),
                result: m.bootstrap(bhyps, hyps, &refs, systems.resamples)?,
            });
        }
    }
    // The worst sentences by sentence-level chrF (ties: earlier line first).
    let mut by_chrf: Vec<(f64, usize)> = hyps
        .iter()
        .zip(&refs)
        .enumerate()
        .map(|(i, (h, r))| (sentence_chrf(&chrf, h, r), i))
        .collect();
    by_chrf.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let worst = by_chrf
        .iter()
        .take(systems.worst)
        .map(|&(c, i)| WorstLine {
            line: pairs[i].line,
            chrf: c,
            source: pairs[i].source.clone(),
            reference: pairs[i].reference.clone(),
            hypothesis: hyps[i].clone(),
        })
        .collect();
    Ok(EvalTranslateReport {
        pairs_file: pairs_file.to_string(),
        pairs: pairs.len(),
        skipped,
        system: systems.name.clone(),
        metrics,
        compare: systems.baseline.map(|_| compare),
        changed: systems
            .baseline
            .map(|(_, b)| b.iter().zip(hyps).filter(|(b, h)| b != h).count()),
        worst,
        fidelity: Fidelity::count(
            pairs
                .iter()
                .zip(hyps)
                .map(|(p, h)| (p.line, p.source.as_str(), h.as_str())),
            systems.pair,
        ),
        settings: Settings::default(),
        timing: Timing::default(),
    })
}

/// The two metrics behind one interface (they have different statistics
/// types).
trait DynMetric {
    /// Score, signature and name.
    fn corpus(&self, hyps: &[String], refs: &[&str]) -> Result<(f64, String, String), EvalError>;
    fn bootstrap(
        &self,
        baseline: &[String],
        system: &[String],
        refs: &[&str],
        resamples: usize,
    ) -> Result<PairedResult, EvalError>;
    /// The line sacreBLEU prints: `NAME|signature = score verbose`.
    fn line(&self, hyps: &[String], refs: &[&str]) -> Result<String, EvalError>;
}

impl<M: Metric> DynMetric for M {
    fn corpus(&self, hyps: &[String], refs: &[&str]) -> Result<(f64, String, String), EvalError> {
        let stats = self.corpus_stats(hyps, refs)?;
        let score = self.compute(&super::sum(&stats));
        Ok((score.value(), self.signature(), self.name().to_string()))
    }

    fn bootstrap(
        &self,
        baseline: &[String],
        system: &[String],
        refs: &[&str],
        resamples: usize,
    ) -> Result<PairedResult, EvalError> {
        let bstats = self.corpus_stats(baseline, refs)?;
        let stats = self.corpus_stats(system, refs)?;
        paired_bootstrap(self, &bstats, &stats, resamples, DEFAULT_SEED)
    }

    fn line(&self, hyps: &[String], refs: &[&str]) -> Result<String, EvalError> {
        let stats = self.corpus_stats(hyps, refs)?;
        let score = self.compute(&super::sum(&stats));
        let sig = self.signature();
        Ok(match score.verbose() {
            Some(v) => format!("{}|{sig} = {:.2} {v}", self.name(), score.value()),
            None => format!("{}|{sig} = {:.2}", self.name(), score.value()),
        })
    }
}

/// sacreBLEU's lines for BLEU and chrF of `hyps` (the text report's head).
pub fn metric_lines(hyps: &[String], pairs: &[Pair]) -> Result<Vec<String>, EvalError> {
    let refs: Vec<&str> = pairs.iter().map(|p| p.reference.as_str()).collect();
    let chrf = Chrf::CHRF;
    let metric_list: [&dyn DynMetric; 2] = [&Bleu, &chrf];
    metric_list.iter().map(|m| m.line(hyps, &refs)).collect()
}

impl EvalTranslateReport {
    /// Pretty JSON with the keys of every object sorted.
    pub fn json(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or_default();
        crate::render::pretty_json(&value)
    }

    /// The report for reading; `metric_lines` are sacreBLEU's lines.
    pub fn text(&self, metric_lines: &[String]) -> String {
        let mut t = format!(
            "{}: {} pairs ({} lines skipped), system {}\n",
            self.pairs_file,
            self.pairs,
            self.skipped.len(),
            self.system
        );
        for l in metric_lines {
            t.push_str(l);
            t.push('\n');
        }
        for c in self.compare.iter().flatten() {
            let r = &c.result;
            t.push_str(&format!(
                "{}: baseline {} {:.2} ({:.2} ± {:.2}), this run {:.2} ({:.2} ± {:.2}), p = {:.4}\n",
                c.metric,
                c.baseline,
                r.baseline.score,
                r.baseline.mean,
                r.baseline.ci,
                r.system.score,
                r.system.mean,
                r.system.ci,
                r.p_value,
            ));
        }
        match self.changed {
            Some(0) => t.push_str(
                "every hypothesis is the baseline's: the two systems are identical (the p-values above mean nothing)\n",
            ),
            Some(n) => t.push_str(&format!(
                "{n} of {} hypotheses differ from the baseline's\n",
                self.pairs
            )),
            None => {}
        }
        t.push_str(&self.fidelity.line());
        t.push('\n');
        if !self.worst.is_empty() {
            t.push_str(&format!("worst {} by sentence chrF:\n", self.worst.len()));
            for w in &self.worst {
                t.push_str(&format!(
                    "  line {} chrF {:.1}\n    src {}\n    ref {}\n    hyp {}\n",
                    w.line, w.chrf, w.source, w.reference, w.hypothesis,
                ));
            }
        }
        let kv: Vec<String> = [
            &serde_json::to_value(&self.settings),
            &serde_json::to_value(&self.timing),
        ]
        .into_iter()
        .filter_map(|v| v.as_ref().ok().and_then(|v| v.as_object().cloned()))
        .flat_map(|m| m.into_iter().map(|(k, v)| format!("{k} {v}")))
        .collect();
        t.push_str(&format!("run: {}\n", kv.join(", ")));
        t
    }
}
