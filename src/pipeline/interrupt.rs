//! Stopping a running job's synthesis from outside, mid-sentence: a listener's job arrives
//! while every worker of this process runs a prefetch job, or the running job is cancelled.
//! Without this a running job only notices at the end of its current sentence, and the
//! engine's sentences in flight (one or two more) run on for nobody: a listener waited for
//! up to three sentences of someone else's work before its own first one.
//!
//! Only this process's workers are reached: a job running on another host still notices at
//! its next sentence (`JobRepo::interactive_waiting`, the heartbeat's answer).
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use super::synthesis::Halt;
use super::Pipeline;
use crate::queue::{JobId, Priority};

const NONE: u8 = 0;
const YIELD: u8 = 1;
const CANCELLED: u8 = 2;

/// One running job's stop switch, shared with the engine
/// ([`crate::tts::LoadedVoice::synthesize_until`]).
#[derive(Default)]
pub(super) struct Interrupt {
    stop: Arc<AtomicBool>,
    why: AtomicU8,
}

impl Interrupt {
    /// The flag the engine watches.
    pub(super) fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    fn set(&self, why: u8) -> bool {
        let first = self
            .why
            .compare_exchange(NONE, why, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        self.stop.store(true, Ordering::SeqCst);
        first
    }

    /// Why the run was stopped from outside, as the worker reports it; `None` when it was not.
    pub(super) fn halt(&self) -> Option<Halt> {
        match self.why.load(Ordering::SeqCst) {
            YIELD => Some(Halt::Yield),
            CANCELLED => Some(Halt::Lost),
            _ => None,
        }
    }
}

/// A job running on one of this process's workers.
pub(super) struct Running {
    id: JobId,
    priority: Priority,
    interrupt: Arc<Interrupt>,
}

impl Pipeline {
    /// Register a job that starts running here; [`Pipeline::finished_running`] when it ends.
    pub(super) fn start_running(&self, id: &JobId, priority: Priority) -> Arc<Interrupt> {
        let interrupt = Arc::new(Interrupt::default());
        self.running().push(Running {
            id: id.clone(),
            priority,
            interrupt: Arc::clone(&interrupt),
        });
        interrupt
    }

    pub(super) fn finished_running(&self, id: &JobId) {
        self.running().retain(|r| &r.id != id);
    }

    /// The stop switch of a job running here.
    pub(super) fn interrupt_of(&self, id: &JobId) -> Option<Arc<Interrupt>> {
        self.running()
            .iter()
            .find(|r| &r.id == id)
            .map(|r| Arc::clone(&r.interrupt))
    }

    /// A listener's job was queued: when every worker here is busy and one of them runs a
    /// prefetch job, that job yields now rather than at the end of its sentence. Returns
    /// whether one was stopped.
    pub(super) fn preempt_for_listener(&self) -> bool {
        let running = self.running();
        if running.len() < self.settings.queue.workers {
            return false; // an idle worker takes the listener's job
        }
        let victim = running
            .iter()
            .find(|r| r.priority == Priority::Prefetch && r.interrupt.halt().is_none());
        match victim {
            Some(r) => {
                let stopped = r.interrupt.set(YIELD);
                if stopped {
                    crate::metrics::record_interrupted("listener");
                    tracing::info!(job = %r.id, "prefetch job interrupted for a listener's job");
                }
                stopped
            }
            None => false,
        }
    }

    /// A job was cancelled: if it runs here, its synthesis stops now.
    pub(super) fn interrupt_cancelled(&self, id: &JobId) {
        if let Some(i) = self.interrupt_of(id) {
            if i.set(CANCELLED) {
                crate::metrics::record_interrupted("cancelled");
            }
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, Vec<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_wins_and_the_flag_is_set() {
        let i = Interrupt::default();
        assert!(i.halt().is_none());
        assert!(!i.flag().load(Ordering::SeqCst));
        assert!(i.set(YIELD));
        assert!(!i.set(CANCELLED), "already stopped");
        assert!(matches!(i.halt(), Some(Halt::Yield)));
        assert!(i.flag().load(Ordering::SeqCst));
    }
}
