//! Ledger imports that run beside the page that started them. A 100,000-row ledger takes
//! seconds to check and write, so the import page starts a job (for the resident and the
//! floating-population ledger alike) and polls its progress (phase, residents written of the
//! total) until the report replaces it.
//!
//! Jobs live in this process's memory: a job is the page's view of one upload, not a record
//! (the import itself writes its audit record in its own transaction). A job is visible to
//! the account that started it only, and is dropped once its report has been fetched or an
//! hour after it started.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use mulin_domain::ids::UserId;

use crate::api::ledger::ImportReport;
use crate::error::WebError;

/// How long a job is kept when nobody fetches its report.
const KEEP_FOR_MINUTES: i64 = 60;

/// The step an import is at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// Reading the workbook and checking every row.
    Checking,
    /// Resolving addresses and matching residents by ID number.
    Resolving,
    /// Writing the residents in one transaction.
    Writing,
}

impl Phase {
    /// The code the locale files label (`imports.phase.<code>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Checking => "checking",
            Phase::Resolving => "resolving",
            Phase::Writing => "writing",
        }
    }
}

/// Where an import is: its phase, and in the write, residents written of the total.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Progress {
    /// The current phase.
    pub phase: Phase,
    /// Residents written so far.
    pub done: usize,
    /// Residents to write (0 before the write).
    pub total: usize,
}

/// What an import reports as it goes; shared between the import and whoever watches it.
#[derive(Debug)]
pub struct ImportTracker(Mutex<Progress>);

impl Default for ImportTracker {
    fn default() -> ImportTracker {
        ImportTracker(Mutex::new(Progress {
            phase: Phase::Checking,
            done: 0,
            total: 0,
        }))
    }
}

impl ImportTracker {
    /// Enters `phase`, with `total` items to do.
    pub fn enter(&self, phase: Phase, total: usize) {
        *self.lock() = Progress {
            phase,
            done: 0,
            total,
        };
    }

    /// Records `done` items done in the current phase.
    pub fn advance(&self, done: usize) {
        self.lock().done = done;
    }

    /// The progress now.
    pub fn get(&self) -> Progress {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        // A panic while holding the lock cannot leave a half-written `Progress` (it is
        // replaced whole or has one field set), so a poisoned lock is still good to read.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What an ended import hands the page: its report (worded in the starter's language), and
/// for a floating-population ledger the moves in and out added.
#[derive(Debug)]
pub struct Finished {
    /// The report.
    pub report: ImportReport,
    /// Moves added (floating-population ledger only).
    pub moves: Option<usize>,
}

/// How an import ended.
pub type Outcome = Result<Finished, WebError>;

struct Job {
    owner: UserId,
    started: DateTime<Utc>,
    tracker: Arc<ImportTracker>,
    outcome: Mutex<Option<Outcome>>,
}

/// What a poll finds.
#[derive(Debug)]
pub enum Poll {
    /// Still running.
    Running(Progress),
    /// Ended; the job is gone after this.
    Done(Outcome),
}

/// The import jobs of this process.
#[derive(Default)]
pub struct ImportJobs {
    jobs: Mutex<HashMap<uuid::Uuid, Arc<Job>>>,
}

impl ImportJobs {
    /// Runs `import` as a job of `owner`; `import` reports through the tracker it is given.
    /// Drops jobs older than an hour on the way.
    pub fn start<F, Fut>(&self, owner: UserId, now: DateTime<Utc>, import: F) -> uuid::Uuid
    where
        F: FnOnce(Arc<ImportTracker>) -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let tracker = Arc::new(ImportTracker::default());
        let job = Arc::new(Job {
            owner,
            started: now,
            tracker: tracker.clone(),
            outcome: Mutex::new(None),
        });
        let id = uuid::Uuid::now_v7();
        {
            let mut jobs = self.lock();
            let oldest = now - Duration::minutes(KEEP_FOR_MINUTES);
            jobs.retain(|_, job| job.started > oldest);
            jobs.insert(id, job.clone());
        }
        let running = tokio::spawn(import(tracker));
        tokio::spawn(async move {
            // A panicking import still ends its job, as an internal error.
            let outcome = running
                .await
                .unwrap_or_else(|err| Err(WebError::Internal(Box::new(err))));
            *job.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        });
        id
    }

    /// The job `id` as `caller` may see it: only its owner does. Returns the outcome once,
    /// and forgets the job then.
    pub fn poll(&self, id: uuid::Uuid, caller: UserId) -> Option<Poll> {
        let mut jobs = self.lock();
        let job = jobs.get(&id).filter(|job| job.owner == caller)?.clone();
        let outcome = job
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Some(match outcome {
            Some(outcome) => {
                jobs.remove(&id);
                Poll::Done(outcome)
            }
            None => Poll::Running(job.tracker.get()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<uuid::Uuid, Arc<Job>>> {
        // The map stays whole across a panic (every change is one insert, remove or retain).
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noon() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap()
    }

    fn report() -> Finished {
        let tr = crate::i18n::Tr::new(Default::default());
        Finished {
            report: ImportReport::failed_with(
                true,
                crate::api::ledger::ImportProblem::whole_file(&tr, "no_file"),
            ),
            moves: None,
        }
    }

    async fn finished(jobs: &ImportJobs, id: uuid::Uuid, owner: UserId) -> Outcome {
        loop {
            match jobs.poll(id, owner) {
                Some(Poll::Done(outcome)) => return outcome,
                Some(Poll::Running(_)) => tokio::task::yield_now().await,
                None => panic!("job vanished"),
            }
        }
    }

    #[tokio::test]
    async fn a_job_reports_progress_to_its_owner_only_and_its_outcome_once() {
        let jobs = ImportJobs::default();
        let (owner, other) = (UserId::new_v7(), UserId::new_v7());
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let id = jobs.start(owner, noon(), |tracker| async move {
            tracker.enter(Phase::Writing, 10);
            tracker.advance(4);
            let _ = go_rx.await;
            Ok(report())
        });
        assert!(
            jobs.poll(id, other).is_none(),
            "another account sees nothing"
        );
        let progress = loop {
            match jobs.poll(id, owner) {
                Some(Poll::Running(p)) if p.phase == Phase::Writing => break p,
                Some(Poll::Running(_)) => tokio::task::yield_now().await,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!((progress.done, progress.total), (4, 10));
        go_tx.send(()).unwrap();
        assert!(finished(&jobs, id, owner).await.is_ok());
        assert!(
            jobs.poll(id, owner).is_none(),
            "the outcome is handed out once"
        );
    }

    #[tokio::test]
    async fn a_panicking_import_ends_as_an_error_and_old_jobs_are_dropped() {
        let jobs = ImportJobs::default();
        let owner = UserId::new_v7();
        let start = noon();
        let id = jobs.start(owner, start, |_| async { panic!("bug") });
        assert!(matches!(
            finished(&jobs, id, owner).await,
            Err(WebError::Internal(_))
        ));
        let stale = jobs.start(owner, start, |_| std::future::pending());
        jobs.start(
            owner,
            start + Duration::minutes(KEEP_FOR_MINUTES + 1),
            |_| async { Ok(report()) },
        );
        assert!(jobs.poll(stale, owner).is_none(), "an hour-old job is gone");
    }
}
