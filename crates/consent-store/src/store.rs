//! The storage the handlers call: one async trait, two backends.
//!
//! - [`SqliteStore`]: the default, a single file ([`crate::db::Db`]); its
//!   blocking connections run on `spawn_blocking`.
//! - `pg::PgStore`: PostgreSQL, for several host instances on one
//!   database (`--database-url`).
//!
//! Both take the same checked records and apply the same pure rules
//! ([`crate::db::stored_body`], [`crate::db::current_per_partner`],
//! [`crate::ledger::link`], [`crate::ledger::subject`],
//! [`crate::ledger::Verifier`]), so they store identical bodies, digests
//! and chains and answer every read the same way.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use consent_core::wire::{ConsentRecordV1, PreferenceV1};
use consent_core::Timestamp;

use crate::db::{BatchOutcome, Db, DbError, Erasure, NewRecord, RetentionPlan};
use crate::events::{QueuedEvent, Settle};
use crate::keys::{ApiKey, KeySpec};
use crate::ledger::{self, Head, VerifyError};
use crate::rules::{ContactSink, Export, Retention};
use crate::suppress::SuppressionSink;
use consent_core::wire::{ActivityV1, ContactV1};

/// What the host needs from its database. Every method is one unit of
/// work: a batch is stored whole or not at all.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs.
    fn backend(&self) -> &'static str;

    /// A trivial query that also checks the schema version (health checks).
    async fn ping(&self) -> Result<(), DbError>;

    /// Stores a batch in one transaction: every new record, chained after
    /// the head, or none. A record id already stored with the same body is
    /// a duplicate; with another body the batch is a conflict.
    async fn insert_batch(
        &self,
        records: Vec<NewRecord>,
        received_at: Timestamp,
    ) -> Result<BatchOutcome, DbError>;

    /// Which of these record ids are stored already (an import run again
    /// skips them).
    async fn stored_ids(&self, ids: Vec<String>) -> Result<Vec<String>, DbError>;

    /// Every record of a customer, oldest first, with `receivedAt`.
    async fn records_for(&self, customer_id: &str) -> Result<Vec<ConsentRecordV1>, DbError>;

    /// A customer's current record per partner, sorted by partner id (the
    /// rules of [`crate::db::current_per_partner`]).
    async fn current_records(&self, customer_id: &str) -> Result<Vec<ConsentRecordV1>, DbError>;

    /// A customer's current answer per partner.
    async fn preferences(&self, customer_id: &str) -> Result<Vec<PreferenceV1>, DbError> {
        Ok(self
            .current_records(customer_id)
            .await?
            .into_iter()
            .map(crate::db::preference_of)
            .collect())
    }

    /// Sends, in subject order, the customers whose current answer for the
    /// export's partner is a `given` that has not lapsed by its `now`.
    /// Stops early (without error) when the receiver is dropped. Never
    /// holds more than one customer's rows at a time.
    async fn partner_contacts(&self, export: Export, out: ContactSink) -> Result<(), DbError>;

    /// Sends, one at a time, every moment a patron's yes for the export's
    /// partner ended by its `now` ([`crate::suppress`]), erased patrons
    /// included. Stops early when the receiver is dropped.
    async fn suppressions(&self, export: Export, out: SuppressionSink) -> Result<(), DbError>;

    /// A customer's stored contact points, if any.
    async fn contact(&self, customer_id: &str) -> Result<Option<ContactV1>, DbError>;

    /// Stores a customer's contact points (an empty contact forgets them).
    async fn set_contact(
        &self,
        customer_id: &str,
        contact: ContactV1,
        now: Timestamp,
    ) -> Result<(), DbError>;

    /// Keeps a customer's activity if it is later than the one kept (see
    /// [`crate::activity`]); returns the one kept now.
    async fn record_activity(
        &self,
        customer_id: &str,
        activity: ActivityV1,
    ) -> Result<ActivityV1, DbError>;

    /// Whether writes and erasures queue webhook events from now on (the
    /// host has a receiver). Off until turned on.
    fn set_webhooks(&self, on: bool);

    /// Claims up to `limit` due webhook events for `lease`, oldest first:
    /// no other instance claims them until the lease ends.
    async fn claim_events(
        &self,
        now: Timestamp,
        lease: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<QueuedEvent>, DbError>;

    /// What became of delivering a claimed event.
    async fn settle_event(&self, id: &str, settle: Settle) -> Result<(), DbError>;

    /// How many webhook events wait, and when the oldest was made.
    async fn event_backlog(&self) -> Result<(u64, Option<Timestamp>), DbError>;

    /// Erases customers (drops their subject mapping, contact points,
    /// activity and undelivered events) and logs it without ids. Returns how many
    /// records they had.
    async fn erase(&self, customer_ids: Vec<String>, run: Erasure) -> Result<u64, DbError>;

    /// What a retention run with this cutoff would anonymise (reads only).
    async fn retention_plan(&self, cutoff: Timestamp) -> Result<RetentionPlan, DbError>;

    /// Anonymises the customers of [`Storage::retention_plan`] in one
    /// transaction, forgets the contacts and activity left without a
    /// patron, and logs the run.
    async fn run_retention(&self, run: Retention) -> Result<RetentionPlan, DbError>;

    /// Every erasure and retention run, oldest first, each scrubbed or
    /// pending.
    async fn erasures(&self) -> Result<Vec<serde_json::Value>, DbError>;

    /// Scrubs what erasures left behind (the WAL; dead row versions), in
    /// the foreground, trying for at most `wait`. True when nothing is
    /// pending. The host does this in the background after each erasure;
    /// a command that erases and exits calls it.
    async fn scrub(&self, wait: std::time::Duration) -> Result<bool, DbError>;

    /// How many records are stored.
    async fn count(&self) -> Result<u64, DbError>;

    /// The ledger's count and head as stored (not verified).
    async fn ledger_head(&self) -> Result<Head, DbError>;

    /// Recomputes the ledger; with `expect`, also checks that it still
    /// holds that earlier checkpoint (count, head).
    async fn verify(&self, expect: Option<(u64, String)>) -> Result<Head, VerifyError>;

    /// Adds an API key; returns it and its text, shown once.
    async fn add_key(&self, spec: &KeySpec, now: Timestamp) -> Result<(ApiKey, String), DbError>;

    /// Every key, revoked ones included, oldest first.
    async fn list_keys(&self) -> Result<Vec<ApiKey>, DbError>;

    /// Revokes a live key; false if there is none with that id.
    async fn revoke_key(&self, id: &str, now: Timestamp) -> Result<bool, DbError>;

    /// The live key a credential stands for, if any.
    async fn find_key(&self, credential: &str) -> Result<Option<ApiKey>, DbError>;
}

/// The SQLite backend: [`Db`] on the blocking thread pool.
pub struct SqliteStore {
    db: Arc<Db>,
    path: PathBuf,
    /// Whether a scrub loop is running (one at a time).
    scrubbing: Arc<std::sync::atomic::AtomicBool>,
}

/// How long the background scrub after an erasure keeps trying before it
/// leaves the erasure pending (the next erasure, or the next start, tries
/// again), and how often it tries.
pub const SCRUB_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);
const SCRUB_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Tries `step` every [`SCRUB_EVERY`] until it says nothing is pending, or
/// `wait` has passed (then the erasure stays pending, and says so). True
/// when nothing is left pending.
pub(crate) async fn scrub_until<F, Fut>(mut step: F, wait: std::time::Duration) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, DbError>>,
{
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match step().await {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "scrubbing after an erasure failed; trying again"),
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                "an erasure is still pending its scrub: a reader's snapshot pinned what it left; it is tried again at the next erasure or start"
            );
            return false;
        }
        tokio::time::sleep(SCRUB_EVERY).await;
    }
}

async fn sqlite_scrub_step(db: Arc<Db>) -> Result<bool, DbError> {
    blocking(move || db.scrub_step(crate::wall_now())).await
}

impl SqliteStore {
    /// Opens (creating and migrating) the file at `path`.
    pub async fn open(path: PathBuf) -> Result<Self, DbError> {
        let p = path.clone();
        let db = blocking(move || Db::open(&p)).await?;
        Ok(Self::new(db))
    }

    /// Wraps an open database.
    pub fn new(db: Db) -> Self {
        let store = SqliteStore {
            path: db.path().to_owned(),
            db: Arc::new(db),
            scrubbing: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        };
        // Erasures a previous run left pending are scrubbed now.
        store.schedule_scrub();
        store
    }

    /// Starts the background scrub, unless one is running: it tries
    /// [`Db::scrub_step`] every [`SCRUB_EVERY`] for at most [`SCRUB_WAIT`].
    /// Outside a runtime (a command-line tool) it does nothing: those call
    /// [`Db::scrub_step`] themselves.
    fn schedule_scrub(&self) {
        use std::sync::atomic::Ordering;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.scrubbing.swap(true, Ordering::AcqRel) {
            return;
        }
        let db = self.db.clone();
        let scrubbing = self.scrubbing.clone();
        runtime.spawn(async move {
            scrub_until(|| sqlite_scrub_step(db.clone()), SCRUB_WAIT).await;
            scrubbing.store(false, Ordering::Release);
        });
    }

    /// The blocking database underneath.
    pub fn db(&self) -> &Arc<Db> {
        &self.db
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Db) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let db = self.db.clone();
        blocking(move || f(&db)).await
    }
}

impl From<Db> for Arc<dyn Storage> {
    fn from(db: Db) -> Self {
        Arc::new(SqliteStore::new(db))
    }
}

/// Runs blocking work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DbError> + Send + 'static,
) -> Result<T, DbError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
}

#[async_trait]
impl Storage for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), DbError> {
        self.run(|db| db.ping()).await
    }

    async fn insert_batch(
        &self,
        records: Vec<NewRecord>,
        received_at: Timestamp,
    ) -> Result<BatchOutcome, DbError> {
        self.run(move |db| db.insert_batch(&records, received_at))
            .await
    }

    async fn records_for(&self, customer_id: &str) -> Result<Vec<ConsentRecordV1>, DbError> {
        let id = customer_id.to_owned();
        self.run(move |db| db.records_for(&id)).await
    }

    async fn stored_ids(&self, ids: Vec<String>) -> Result<Vec<String>, DbError> {
        self.run(move |db| crate::db::stored_ids(&db.reader(), &ids))
            .await
    }

    async fn current_records(&self, customer_id: &str) -> Result<Vec<ConsentRecordV1>, DbError> {
        let id = customer_id.to_owned();
        self.run(move |db| db.current_records(&id)).await
    }

    async fn partner_contacts(&self, export: Export, out: ContactSink) -> Result<(), DbError> {
        let Export {
            partner_id,
            now,
            answers,
        } = export;
        self.run(move |db| {
            db.partner_contacts(&partner_id, now, answers, |r| out.blocking_send(r).is_ok())
        })
        .await
    }

    async fn suppressions(&self, export: Export, out: SuppressionSink) -> Result<(), DbError> {
        let Export {
            partner_id, now, ..
        } = export;
        self.run(move |db| db.suppressions(&partner_id, now, |s| out.blocking_send(s).is_ok()))
            .await
    }

    async fn contact(&self, customer_id: &str) -> Result<Option<ContactV1>, DbError> {
        let id = customer_id.to_owned();
        self.run(move |db| db.contact(&id)).await
    }

    async fn set_contact(
        &self,
        customer_id: &str,
        contact: ContactV1,
        now: Timestamp,
    ) -> Result<(), DbError> {
        let id = customer_id.to_owned();
        self.run(move |db| db.set_contact(&id, &contact, now)).await
    }

    async fn record_activity(
        &self,
        customer_id: &str,
        activity: ActivityV1,
    ) -> Result<ActivityV1, DbError> {
        let id = customer_id.to_owned();
        self.run(move |db| db.record_activity(&id, &activity)).await
    }

    fn set_webhooks(&self, on: bool) {
        self.db.set_notify(on);
    }

    async fn claim_events(
        &self,
        now: Timestamp,
        lease: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<QueuedEvent>, DbError> {
        self.run(move |db| db.claim_events(now, lease, limit)).await
    }

    async fn settle_event(&self, id: &str, settle: Settle) -> Result<(), DbError> {
        let id = id.to_owned();
        self.run(move |db| db.settle_event(&id, &settle)).await
    }

    async fn event_backlog(&self) -> Result<(u64, Option<Timestamp>), DbError> {
        self.run(|db| db.event_backlog()).await
    }

    async fn erase(&self, customer_ids: Vec<String>, run: Erasure) -> Result<u64, DbError> {
        let records = self.run(move |db| db.erase(&customer_ids, &run)).await?;
        self.schedule_scrub();
        Ok(records)
    }

    async fn retention_plan(&self, cutoff: Timestamp) -> Result<RetentionPlan, DbError> {
        self.run(move |db| db.retention_plan(cutoff)).await
    }

    async fn run_retention(&self, run: Retention) -> Result<RetentionPlan, DbError> {
        let plan = self.run(move |db| db.run_retention(&run)).await?;
        self.schedule_scrub();
        Ok(plan)
    }

    async fn erasures(&self) -> Result<Vec<serde_json::Value>, DbError> {
        self.run(|db| db.erasures()).await
    }

    async fn scrub(&self, wait: std::time::Duration) -> Result<bool, DbError> {
        Ok(scrub_until(|| sqlite_scrub_step(self.db.clone()), wait).await)
    }

    async fn count(&self) -> Result<u64, DbError> {
        self.run(|db| db.count()).await
    }

    async fn ledger_head(&self) -> Result<Head, DbError> {
        self.run(|db| db.ledger_head()).await
    }

    async fn verify(&self, expect: Option<(u64, String)>) -> Result<Head, VerifyError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn =
                Db::open_read_only(&path).map_err(|e| VerifyError::Storage(e.to_string()))?;
            match expect {
                Some((count, head)) => ledger::verify_extends(&conn, count, &head),
                None => ledger::verify(&conn),
            }
        })
        .await
        .map_err(|e| VerifyError::Storage(e.to_string()))?
    }

    async fn add_key(&self, spec: &KeySpec, now: Timestamp) -> Result<(ApiKey, String), DbError> {
        let spec = spec.clone();
        self.run(move |db| db.add_key(&spec, now)).await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, DbError> {
        self.run(|db| db.list_keys()).await
    }

    async fn revoke_key(&self, id: &str, now: Timestamp) -> Result<bool, DbError> {
        let id = id.to_owned();
        self.run(move |db| db.revoke_key(&id, now)).await
    }

    async fn find_key(&self, credential: &str) -> Result<Option<ApiKey>, DbError> {
        let credential = credential.to_owned();
        self.run(move |db| db.find_key(&credential)).await
    }
}
