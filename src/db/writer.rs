//! The writer: the one place durable changes are made (DESIGN.md, invariant 1 and 2).
//!
//! A dedicated thread owns the write connection and drains a channel: it takes the first request,
//! then every request already waiting (up to `max_batch`), commits them as one transaction, assigns
//! each org's `seq` inside it, and only after COMMIT hands the events to the hubs and answers every
//! sender. Under load this groups many events per commit; when idle a request commits at once,
//! with no timer to wait for. A batch that fails for one of its requests (a constraint) is
//! retried request by request, so one bad request fails alone; one the database refused whole (a
//! lock held past the wait, read-only) is answered at once. A call's commits form a [`Chain`].

use crate::db::health::{self, DbHealth};
use crate::db::writes::{self, SeqCache, WriteOp, WriteOutcome, WriteRequest};
use crate::db::{connect, DatabaseUrl, DbConnection, SqliteSync};
use crate::domain::events::OrgEvent;
use crate::domain::ids::OrgId;
use crate::error::AppError;
use crate::metrics;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use std::collections::{HashMap, HashSet};
use std::sync::{mpsc, Arc};
use tokio::sync::oneshot;

/// Where committed events go (the hub directory in the server; nowhere for one-off CLI commands).
pub type Publisher = Box<dyn Fn(&OrgId, Vec<OrgEvent>) + Send>;

/// A write request and the sender waiting for its outcome.
struct Job {
    request: WriteRequest,
    chain: Option<Chain>,
    reply: oneshot::Sender<Result<WriteOutcome, String>>,
}

/// What a later link of a broken chain is answered.
const CHAIN_BROKEN: &str = "an earlier change of the same call could not be stored";

/// How long a broken chain's epoch is remembered.
const BROKEN_KEPT: std::time::Duration = std::time::Duration::from_secs(600);

/// Commits each built on the one before (one call's, pipelined by its actor), at most one of
/// them per batch: once one of them fails or writes nothing, the rest of the chain is refused unstored — each was computed from a state the
/// database does not have — until its owner reads back what is stored and starts a new `epoch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub id: String,
    pub epoch: u64,
}

impl Chain {
    /// A new epoch, later than every one given out before in this process.
    pub fn next_epoch() -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// The handle every actor and handler commits through. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

/// The answer to a submitted request; await it with [`Pending::outcome`].
pub struct Pending(oneshot::Receiver<Result<WriteOutcome, String>>);

/// A commit's outcome that several may await, on any thread: the one that made the change and any
/// that must not answer before it (a repeat of the same webhook, a dial waiting for its contact's
/// row). The writer's answer wakes every one of them at once.
pub type SharedOutcome = futures_util::future::Shared<
    futures_util::future::BoxFuture<'static, Result<WriteOutcome, AppError>>,
>;

impl Pending {
    /// Waits for the commit.
    pub async fn outcome(self) -> Result<WriteOutcome, AppError> {
        match self.0.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(detail)) => Err(AppError::unavailable(detail)),
            Err(_) => Err(AppError::unavailable("the writer stopped")),
        }
    }

    /// The outcome for several to await.
    pub fn shared(self) -> SharedOutcome {
        futures_util::FutureExt::shared(futures_util::FutureExt::boxed(self.outcome()))
    }
}

impl Writer {
    /// Starts the writer thread on `conn`; `publish` receives each commit's events in commit order.
    /// While `health` says the database is down, every request is refused at once.
    pub fn start(
        conn: DbConnection,
        url: DatabaseUrl,
        sync: SqliteSync,
        max_batch: usize,
        publish: Publisher,
        health: Arc<DbHealth>,
    ) -> Self {
        let (jobs, inbox) = mpsc::channel();
        std::thread::Builder::new()
            .name("switchboard-writer".into())
            .spawn(move || {
                WriterLoop {
                    conn,
                    url,
                    sync,
                    max_batch: max_batch.max(1),
                    publish,
                    seqs: SeqCache::default(),
                    outages_seen: health.outages(),
                    read_only_session: false,
                    broken: HashMap::new(),
                    health,
                }
                .run(inbox)
            })
            .expect("the writer thread starts");
        Writer { jobs }
    }

    /// Queues a request now (so requests submitted in order commit in order) and returns the
    /// handle to await its outcome.
    pub fn submit(&self, request: WriteRequest) -> Pending {
        self.send(request, None)
    }

    /// Queues a request as the next link of `chain` (see [`Chain`]).
    pub fn submit_chained(&self, request: WriteRequest, chain: Chain) -> Pending {
        self.send(request, Some(chain))
    }

    fn send(&self, request: WriteRequest, chain: Option<Chain>) -> Pending {
        let (reply, answer) = oneshot::channel();
        // A send error drops `reply`, which `Pending::outcome` reports as "the writer stopped".
        let _ = self.jobs.send(Job {
            request,
            chain,
            reply,
        });
        Pending(answer)
    }

    /// Submits a request and waits until it is committed.
    pub async fn commit(&self, request: WriteRequest) -> Result<WriteOutcome, AppError> {
        self.submit(request).outcome().await
    }

    /// Commits one operation with no event; false when it found nothing to do (a duplicate: an
    /// insert of what is there, a deletion of nothing).
    pub async fn commit_op(&self, org_id: &OrgId, op: WriteOp) -> Result<bool, AppError> {
        let request = WriteRequest {
            org_id: org_id.clone(),
            ops: vec![op],
            events: Vec::new(),
        };
        Ok(self.commit(request).await? != WriteOutcome::Duplicate)
    }
}

struct WriterLoop {
    conn: DbConnection,
    url: DatabaseUrl,
    sync: SqliteSync,
    max_batch: usize,
    publish: Publisher,
    seqs: SeqCache,
    health: Arc<DbHealth>,
    /// The outages of the database this connection was checked after.
    outages_seen: u64,
    /// This connection was refused a write as read-only: it may keep that setting.
    read_only_session: bool,
    /// Chains whose link failed, by id: the epoch whose later links are refused, and when.
    broken: HashMap<String, (u64, std::time::Instant)>,
}

impl WriterLoop {
    fn run(mut self, inbox: mpsc::Receiver<Job>) {
        // The next link of a chain already in a batch waits for the next one: whether a link
        // is stored (or wrote nothing) is known only after its batch, and what follows it must
        // be refused if it was not.
        let mut next: Option<Job> = None;
        while let Some(first) = next.take().or_else(|| inbox.recv().ok()) {
            let mut chains: HashSet<String> = first.chain.iter().map(|c| c.id.clone()).collect();
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                let Ok(job) = inbox.try_recv() else { break };
                if job
                    .chain
                    .as_ref()
                    .is_some_and(|c| !chains.insert(c.id.clone()))
                {
                    next = Some(job);
                    break;
                }
                batch.push(job);
            }
            let (batch, refused): (Vec<Job>, Vec<Job>) =
                batch.into_iter().partition(|job| !self.is_broken(job));
            self.refuse(refused, CHAIN_BROKEN);
            if batch.is_empty() {
                continue;
            }
            if self.health.is_down() {
                self.refuse(batch, "the database is unavailable");
                continue;
            }
            if self.read_only_session && !self.health.is_read_only() {
                self.read_only_session = false;
                self.reconnect();
            }
            if self.health.outages() != self.outages_seen {
                // Whatever took the database away most likely took this connection with it.
                self.outages_seen = self.health.outages();
                self.reconnect_if_broken();
            }
            match self.commit(&batch) {
                Ok(outcomes) => self.finish(batch, outcomes),
                Err(error) if batch.len() == 1 || health::refuses_every_write(&error) => {
                    self.fail(batch, &error)
                }
                // One request the database refuses (a constraint) keeps no other from committing.
                Err(_) => {
                    for job in batch {
                        // A database found down meanwhile (no new connection opens) refuses
                        // the rest at once: each would wait for a connection of its own.
                        if self.health.is_down() {
                            self.refuse(vec![job], "the database is unavailable");
                            continue;
                        }
                        if self.is_broken(&job) {
                            self.refuse(vec![job], CHAIN_BROKEN);
                            continue;
                        }
                        match self.commit(std::slice::from_ref(&job)) {
                            Ok(outcomes) => self.finish(vec![job], outcomes),
                            Err(error) => self.fail(vec![job], &error),
                        }
                    }
                }
            }
        }
        tracing::info!("writer stopped: every handle is gone");
    }

    /// One transaction over the batch.
    fn commit(&mut self, batch: &[Job]) -> diesel::QueryResult<Vec<WriteOutcome>> {
        let now = chrono::Utc::now();
        let seqs = &mut self.seqs;
        let requests: Vec<&WriteRequest> = batch.iter().map(|job| &job.request).collect();
        let started = std::time::Instant::now();
        let result = self
            .conn
            .transaction(|conn| writes::apply(conn, &requests, seqs, now));
        metrics::METRICS
            .writer_commit_seconds
            .observe(started.elapsed().as_secs_f64());
        match &result {
            Err(error) if crate::db::health::is_read_only_error(error) => {
                // A session keeps the read-only setting it opened with: once the probe finds the
                // database writable, the next batch opens a new one.
                self.seqs.clear();
                self.read_only_session = true;
            }
            Err(_) => {
                self.seqs.clear();
                self.reconnect_if_broken();
            }
            Ok(_) => {}
        }
        result
    }

    /// Publishes, then answers: a sender's 2xx is never ahead of the hubs.
    fn finish(&mut self, batch: Vec<Job>, outcomes: Vec<WriteOutcome>) {
        let m = &*metrics::METRICS;
        m.writer_transactions.inc();
        m.writer_requests.inc_by(batch.len() as u64);
        m.writer_batch_size.observe(batch.len() as f64);
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            if let Some(chain) = &job.chain {
                if outcome == WriteOutcome::Duplicate {
                    // Nothing of it was written: what follows it was built on what is not
                    // stored, and its owner reads the call back (a read that must not race
                    // later links of its chain).
                    self.break_chain(chain);
                } else if self
                    .broken
                    .get(&chain.id)
                    .is_some_and(|(e, _)| *e < chain.epoch)
                {
                    // A new epoch stored: the chain is whole again.
                    self.broken.remove(&chain.id);
                }
            }
            if let WriteOutcome::Committed(events) = &outcome {
                if !events.is_empty() {
                    m.events_committed.inc_by(events.len() as u64);
                    (self.publish)(&job.request.org_id, events.clone());
                }
            }
            let _ = job.reply.send(Ok(outcome));
        }
    }

    fn fail(&mut self, batch: Vec<Job>, error: &diesel::result::Error) {
        tracing::error!(%error, requests = batch.len(), "write failed");
        if crate::db::health::is_read_only_error(error) {
            self.health.mark_read_only(error);
        }
        let reason = if self.health.is_down() {
            "the database is unavailable"
        } else if self.health.is_read_only() {
            "the database is read-only"
        } else {
            "the change could not be stored"
        };
        self.refuse(batch, reason);
    }

    /// Whether the job is a later link of a chain whose earlier link failed.
    fn is_broken(&self, job: &Job) -> bool {
        job.chain
            .as_ref()
            .is_some_and(|chain| self.broken.get(&chain.id).map(|(e, _)| *e) == Some(chain.epoch))
    }

    /// Refuses the chain's later links of this epoch. A chain's owner starts a new epoch within
    /// moments (or is gone): once 1,024 chains are remembered, those older than [`BROKEN_KEPT`]
    /// are let go.
    fn break_chain(&mut self, chain: &Chain) {
        let now = std::time::Instant::now();
        if self.broken.len() >= 1024 {
            self.broken
                .retain(|_, (_, at)| now.duration_since(*at) < BROKEN_KEPT);
        }
        self.broken.insert(chain.id.clone(), (chain.epoch, now));
    }

    /// Answers every job of the batch with `reason`, unstored; their chains break.
    fn refuse(&mut self, batch: Vec<Job>, reason: &str) {
        for job in &batch {
            if let Some(chain) = &job.chain {
                self.break_chain(chain);
            }
        }
        metrics::METRICS.writer_failures.inc_by(batch.len() as u64);
        for job in batch {
            let _ = job.reply.send(Err(reason.into()));
        }
    }

    /// After a failure, checks the connection and opens a new one if it is gone (PostgreSQL
    /// restart); when no new one opens, the database is marked down.
    fn reconnect_if_broken(&mut self) {
        if self.conn.batch_execute("SELECT 1").is_err() {
            self.reconnect();
        }
    }

    /// Opens a new connection in place of this one; when none opens, the database is marked down.
    fn reconnect(&mut self) {
        match connect(&self.url, self.sync) {
            Ok(conn) => {
                tracing::warn!("writer reconnected to the database");
                self.conn = conn;
            }
            Err(error) => self.health.mark_down(&error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::CallEventRow;
    use crate::db::writes::WriteOp;

    /// A writer on a new SQLite file.
    fn writer() -> Writer {
        let dir = std::env::temp_dir().join(format!("sb_chain_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = DatabaseUrl::Sqlite(dir.join("chain.db").to_string_lossy().into_owned());
        let mut conn = connect(&url, SqliteSync::Normal).unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        let publish: Publisher = Box::new(|_, _| {});
        Writer::start(conn, url, SqliteSync::Normal, 64, publish, Arc::default())
    }

    /// A request the database refuses: a timeline line of a call it does not have.
    fn refused() -> WriteRequest {
        let line = CallEventRow {
            id: uuid::Uuid::now_v7().to_string(),
            org_id: "org".into(),
            call_id: "no such call".into(),
            dedupe_key: None,
            source: "engine".into(),
            kind: "created".into(),
            raw_status: None,
            status_after: "queued".into(),
            occurred_at: None,
            received_at: "2026-12-07T00:00:00Z".into(),
            data: "{}".into(),
        };
        WriteRequest {
            org_id: OrgId::from_stored("org".into()),
            ops: vec![WriteOp::AppendTimeline(line)],
            events: Vec::new(),
        }
    }

    fn nothing() -> WriteRequest {
        WriteRequest {
            org_id: OrgId::from_stored("org".into()),
            ops: Vec::new(),
            events: Vec::new(),
        }
    }

    #[actix_web::test]
    async fn a_failed_link_refuses_the_rest_of_its_chain_until_a_new_epoch() {
        let writer = writer();
        let chain = |epoch| Chain {
            id: "call-1".into(),
            epoch,
        };
        let (first, second) = (Chain::next_epoch(), Chain::next_epoch());
        let failed = writer.submit_chained(refused(), chain(first));
        let built_on_it = writer.submit_chained(nothing(), chain(first));
        let other_call = writer.submit_chained(
            nothing(),
            Chain {
                id: "call-2".into(),
                epoch: first,
            },
        );
        let unchained = writer.submit(nothing());
        assert!(failed.outcome().await.is_err());
        let refused = built_on_it.outcome().await.unwrap_err();
        assert!(refused.to_string().contains("earlier change"), "{refused}");
        assert!(other_call.outcome().await.is_ok());
        assert!(unchained.outcome().await.is_ok());
        let still = writer.submit_chained(nothing(), chain(first));
        assert!(still.outcome().await.is_err(), "the epoch stays broken");
        let reread = writer.submit_chained(nothing(), chain(second));
        assert!(reread.outcome().await.is_ok(), "a new epoch is whole");

        // A link that wrote nothing (a duplicate) breaks its chain too: its owner reads back.
        let third = Chain::next_epoch();
        let nothing_to_delete = WriteRequest {
            ops: vec![WriteOp::DeleteDnc {
                org_id: "org".into(),
                phone: "+15550100".into(),
            }],
            ..nothing()
        };
        let duplicate = writer.submit_chained(nothing_to_delete, chain(third));
        let after_it = writer.submit_chained(nothing(), chain(third));
        assert_eq!(duplicate.outcome().await.unwrap(), WriteOutcome::Duplicate);
        assert!(
            after_it.outcome().await.is_err(),
            "built on what was not written"
        );
    }
}
