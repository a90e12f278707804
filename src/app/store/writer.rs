//! Group commit: every write transaction runs on one writer thread. Each job commits on its own
//! without waiting for the disk (so a failed job rolls back alone), then one durable commit
//! flushes the whole batch and only then are the jobs answered. Under load, many writes share
//! one fsync; alone, a write costs what it did before. An answered write survives a crash.
//! After an I/O failure (a full disk) the thread reopens the store until it writes again (see
//! [`super::slot`]), retrying every few seconds even when no write is waiting.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use redb::{Database, Durability, WriteTransaction};

use super::slot::{DbSlot, is_io};
use super::storage;
use crate::error::{AppError, ErrorCode};

/// Jobs taken into one durable commit at most.
const MAX_BATCH: usize = 512;

/// How often a failed store tries to reopen while no write is waiting.
const REOPEN_EVERY: Duration = Duration::from_secs(2);

/// Answers a job's caller, given the batch flush's error (if any).
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// What a job leaves for after the batch's durable commit: whether it committed, and how to
/// answer its caller (with the flush's error, if the flush failed).
struct Done {
    committed: bool,
    /// The I/O failure this job ran into (the store must be reopened).
    io_failure: Option<String>,
    answer: Answer,
}

/// A write to run on the database, or (`None`) to refuse while the store can't write.
type Job = Box<dyn FnOnce(Option<&Database>) -> Done + Send>;

/// The writer thread and the queue to it. Dropping the last handle joins the thread, so the
/// database file is closed when the store is.
pub(crate) struct Writer {
    queue: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread; every job counts its commit in `commits` as soon as it is visible
    /// to readers.
    pub(crate) fn start(slot: Arc<DbSlot>, commits: Arc<AtomicU64>) -> std::io::Result<Writer> {
        let (queue, jobs) = channel::<Job>();
        let thread =
            std::thread::Builder::new().name("holdfast-writer".into()).spawn(move || run(&slot, &jobs, &commits))?;
        Ok(Writer { queue: Some(queue), thread: Some(thread) })
    }

    /// Runs `f` in its own write transaction on the writer thread; answers after it is durable.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, AppError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |db| {
            let mut io_failure = None;
            let outcome = match db {
                Some(db) => std::panic::catch_unwind(AssertUnwindSafe(|| attempt(db, f, &mut io_failure)))
                    .unwrap_or_else(|_| Err(AppError::internal(ErrorCode::Internal, "write job panicked"))),
                None => Err(AppError::internal(ErrorCode::StorageUnavailable, "the store cannot write (see health)")),
            };
            let committed = outcome.is_ok();
            let answer = Box::new(move |flush_error: Option<&str>| {
                let result = match flush_error {
                    Some(e) => Err(AppError::internal(ErrorCode::StorageUnavailable, e)),
                    None => outcome,
                };
                let _ = reply.send(result);
            });
            Done { committed, io_failure, answer }
        });
        let queue =
            self.queue.as_ref().ok_or_else(|| AppError::internal(ErrorCode::StorageUnavailable, "store closed"))?;
        queue.send(job).map_err(|_| AppError::internal(ErrorCode::StorageUnavailable, "writer stopped"))?;
        answer.await.map_err(|_| AppError::internal(ErrorCode::StorageUnavailable, "writer dropped a job"))?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One job's transaction, committed without an fsync (the batch's flush makes it durable). An
/// I/O failure on the way is noted in `io_failure`, including one met inside `f` (which maps
/// every storage error to E3001): a failed job checks whether the store still begins writes.
fn attempt<T>(
    db: &Database,
    f: impl FnOnce(&WriteTransaction) -> Result<T, AppError>,
    io_failure: &mut Option<String>,
) -> Result<T, AppError> {
    let mut note = |error: redb::Error| {
        if is_io(&error) {
            *io_failure = Some(error.to_string());
        }
        storage(error)
    };
    let mut txn = db.begin_write().map_err(|e| note(e.into()))?;
    txn.set_durability(Durability::None).map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
    super::oplog::begin();
    let outcome = f(&txn);
    let changed = super::oplog::end();
    let value = match outcome.and_then(|value| {
        // The changed keys go into the op log in the same transaction as the change.
        super::oplog::append(&txn, &changed).map_err(storage)?;
        Ok(value)
    }) {
        Ok(value) => value,
        Err(error) => {
            drop(txn);
            if error.code() == ErrorCode::StorageUnavailable
                && let Err(e) = db.begin_write()
            {
                note(e.into());
            }
            return Err(error);
        }
    };
    txn.commit().map_err(|e| note(e.into()))?;
    Ok(value)
}

/// An empty transaction with immediate durability: persists every non-durable commit before it.
fn flush(db: &Database) -> Result<(), String> {
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    txn.commit().map_err(|e| e.to_string())
}

/// The next job, or `None` every [`REOPEN_EVERY`] without one (so a failure noticed by a reader
/// is healed even while nobody writes).
fn next_job(jobs: &Receiver<Job>) -> Result<Option<Job>, ()> {
    match jobs.recv_timeout(REOPEN_EVERY) {
        Ok(job) => Ok(Some(job)),
        Err(RecvTimeoutError::Timeout) => Ok(None),
        Err(RecvTimeoutError::Disconnected) => Err(()),
    }
}

fn run(slot: &DbSlot, jobs: &Receiver<Job>, commits: &AtomicU64) {
    while let Ok(first) = next_job(jobs) {
        if slot.failing().is_some() {
            match slot.reopen() {
                // Non-durable commits of the failed batch are gone: kept views must not show them.
                Ok(()) => _ = commits.fetch_add(1, Ordering::Release),
                Err(e) => tracing::warn!(error = %e, "the store could not reopen yet"),
            }
        }
        let Some(first) = first else { continue };
        let Ok(db) = slot.get() else {
            // Still failing: the job is refused without running (its caller sees E3001).
            (first(None).answer)(None);
            continue;
        };
        // A job's commit is counted as soon as readers can see it, before anyone is answered.
        let run_job = |job: Job| {
            let done = job(Some(&db));
            if done.committed {
                commits.fetch_add(1, Ordering::Release);
            }
            done
        };
        let mut done = vec![run_job(first)];
        while done.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => done.push(run_job(job)),
                Err(_) => break,
            }
        }
        let flush_error = if done.iter().any(|d| d.committed) { flush(&db).err() } else { None };
        if let Some(e) = &flush_error {
            tracing::error!(error = %e, "durable commit failed");
        }
        if let Some(why) = flush_error.clone().or_else(|| done.iter().find_map(|d| d.io_failure.clone())) {
            slot.fail(&why);
        }
        drop(db);
        for job in done {
            let error = if job.committed { flush_error.as_deref() } else { None };
            (job.answer)(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use redb::{ReadableDatabase, TableDefinition};

    use super::*;

    const T: TableDefinition<u64, u64> = TableDefinition::new("t");

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_job_rolls_back_alone_while_its_batch_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.redb");
        let slot = Arc::new(DbSlot::new(&path, Database::create(&path).unwrap()));
        let writer = Arc::new(Writer::start(slot.clone(), Arc::default()).unwrap());
        let jobs = (0..200u64).map(|n| {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .write(move |txn| {
                        txn.open_table(T).map_err(storage)?.insert(n, n).map_err(storage)?;
                        if n % 3 == 0 { Err(AppError::new(ErrorCode::InvalidFormat)) } else { Ok(n) }
                    })
                    .await
            })
        });
        let results: Vec<_> = futures_join(jobs).await;
        let txn = slot.get().unwrap().begin_read().unwrap();
        let table = txn.open_table(T).unwrap();
        for (n, result) in results.iter().enumerate() {
            let stored = table.get(n as u64).unwrap().is_some();
            assert_eq!(stored, result.is_ok(), "job {n}");
            assert_eq!(result.is_ok(), n % 3 != 0);
        }
    }

    async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut out = Vec::new();
        for handle in handles.collect::<Vec<_>>() {
            out.push(handle.await.unwrap());
        }
        out
    }
}
