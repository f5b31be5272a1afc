//! Stopping a run early on request (in the CLI: SIGINT or SIGTERM). No
//! record is started after the request; the ones in flight finish and are
//! journaled, the output is consolidated and the manifest records the stop,
//! so that running the same command again resumes where it stopped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A stop request shared with whoever may make it (a signal handler sets
/// the flag to the signal's number; 0 is none).
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicUsize>);

impl Stop {
    /// The flag to set (to a nonzero signal number) to request the stop.
    pub fn flag(&self) -> &Arc<AtomicUsize> {
        &self.0
    }

    /// Requests the stop, `signal` naming why (a signal number, nonzero).
    pub fn request(&self, signal: i32) {
        self.0.store(signal.max(1) as usize, Ordering::SeqCst);
    }

    /// The signal number of the request, if one was made.
    pub fn requested(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s as i32),
        }
    }
}

/// A signal's usual name (`SIGTERM`), or `signal N`.
pub fn signal_name(signal: i32) -> String {
    match signal {
        1 => "SIGHUP".into(),
        2 => "SIGINT".into(),
        15 => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_seen_by_every_clone() {
        let stop = Stop::default();
        let seen = stop.clone();
        assert_eq!(seen.requested(), None);
        stop.flag().store(15, Ordering::SeqCst);
        assert_eq!(seen.requested(), Some(15));
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(42), "signal 42");
    }
}
