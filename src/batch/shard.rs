//! Deterministic sharding by a stable hash of each record's key, so that N
//! processes (a Slurm job array, a Kubernetes Indexed Job, or N shells)
//! split one input without talking to each other.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A shard that cannot be used. The command line says which flag it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// `K/N` written wrong.
    #[error("`{spec}`: {why}; expected K/N with 0 <= K < N (e.g. 0/4), or auto")]
    Spec { spec: String, why: &'static str },
    /// The scheduler's variables do not make a shard.
    #[error("{0}")]
    Environment(String),
    /// No scheduler's variables at all.
    #[error("not inside a Slurm job array (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)")]
    NoScheduler,
}

type Result<T> = std::result::Result<T, ShardError>;

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard a record key belongs to among `count`: the first 8 bytes of
/// sha256(key), big-endian, modulo `count`. Stable across machines,
/// processes and dich versions.
pub fn shard_of(key: &str, count: usize) -> usize {
    let d = Sha256::digest(key.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(b) % count.max(1) as u64) as usize
}

impl Shard {
    pub fn contains(&self, key: &str) -> bool {
        shard_of(key, self.count) == self.index
    }

    /// `K/N` (0 <= K < N), or `auto` (see [`Shard::from_env`]).
    pub fn parse(spec: &str) -> Result<Shard> {
        if spec == "auto" {
            return Shard::from_env(|k| std::env::var(k).ok());
        }
        let bad = |why: &'static str| ShardError::Spec {
            spec: spec.to_string(),
            why,
        };
        let (k, n) = spec.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let k: usize = k.trim().parse().map_err(|_| bad("K is not a number"))?;
        let n: usize = n.trim().parse().map_err(|_| bad("N is not a number"))?;
        if n == 0 || k >= n {
            return Err(bad("K must be below N"));
        }
        Ok(Shard { index: k, count: n })
    }

    /// The shard from a scheduler's environment:
    /// - Slurm job arrays: `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`,
    ///   and `SLURM_ARRAY_TASK_MIN` / `SLURM_ARRAY_TASK_STEP` (so `--array=1-8`
    ///   and `--array=0-14:2` work too): K = (ID - MIN) / STEP, N = COUNT.
    /// - Kubernetes Indexed Jobs: K = `JOB_COMPLETION_INDEX`; N from
    ///   `DICH_SHARD_COUNT`, which the Job sets to its `completions`
    ///   (Kubernetes does not expose that count to the pod).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Shard> {
        let bad = ShardError::Environment;
        let num = |name: &str| -> Result<Option<usize>> {
            match var(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| bad(format!("{name}={v:?} is not a non-negative integer"))),
            }
        };
        let shard = if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let count = num("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
                bad("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not".into())
            })?;
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            if id < min || (id - min) % step != 0 {
                return Err(bad(format!(
                    "SLURM_ARRAY_TASK_ID {id} is not in the array (min {min}, step {step})"
                )));
            }
            Shard {
                index: (id - min) / step,
                count,
            }
        } else if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let count = num("DICH_SHARD_COUNT")?.ok_or_else(|| {
                bad("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but DICH_SHARD_COUNT is not; set it to the Job's `completions` (see examples/k8s-indexed-job.yaml)".into())
            })?;
            Shard { index, count }
        } else {
            return Err(ShardError::NoScheduler);
        };
        if shard.count == 0 || shard.index >= shard.count {
            return Err(bad(format!(
                "shard index {} is not below the shard count {}",
                shard.index, shard.count
            )));
        }
        Ok(shard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn parse_k_of_n() {
        assert_eq!(Shard::parse("2/5").unwrap(), Shard { index: 2, count: 5 });
        for bad in ["5/5", "1", "a/3", "0/0", "-1/3"] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("`{bad}`: ")), "{e}");
        }
    }

    #[test]
    fn schedulers() {
        let s = Shard::from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]))
        .unwrap();
        assert_eq!(s, Shard { index: 3, count: 4 });
        // --array=1-4
        let s = Shard::from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]))
        .unwrap();
        assert_eq!(s, Shard { index: 0, count: 4 });
        // --array=0-6:2 -> ids 0 2 4 6
        let s = Shard::from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ]))
        .unwrap();
        assert_eq!(s, Shard { index: 3, count: 4 });
        let s = Shard::from_env(env(&[
            ("JOB_COMPLETION_INDEX", "0"),
            ("DICH_SHARD_COUNT", "2"),
        ]))
        .unwrap();
        assert_eq!(s, Shard { index: 0, count: 2 });
        let e = Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("DICH_SHARD_COUNT"), "{e}");
        let e = Shard::from_env(env(&[])).unwrap_err();
        assert_eq!(e, ShardError::NoScheduler);
        let e = Shard::from_env(env(&[
            ("JOB_COMPLETION_INDEX", "2"),
            ("DICH_SHARD_COUNT", "2"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.contains("not below"), "{e}");
    }

    #[test]
    fn shards_partition_keys_stably() {
        let keys: Vec<String> = (0..300).map(|i| format!("id:doc-{i}")).collect();
        let mut sizes = [0usize; 3];
        for k in &keys {
            let s = shard_of(k, 3);
            sizes[s] += 1;
            let owners = (0..3)
                .filter(|&i| Shard { index: i, count: 3 }.contains(k))
                .count();
            assert_eq!(owners, 1);
        }
        assert!(sizes.iter().all(|&n| n > 70), "{sizes:?}");
        // Pinned: the hash must never change between versions, or resumed
        // and merged sharded runs would disagree.
        assert_eq!(shard_of("id:doc-0", 1000), shard_of("id:doc-0", 1000));
        let pinned: Vec<usize> = (0..6).map(|i| shard_of(&format!("id:{i}"), 7)).collect();
        assert_eq!(pinned, PINNED);
    }

    // Computed independently: Python hashlib, int.from_bytes(sha256(key)[:8], "big") % 7.
    const PINNED: [usize; 6] = [1, 0, 5, 2, 3, 5];
}
