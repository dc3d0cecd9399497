//! Group commit for donations. Donations that arrive while earlier ones are being written wait
//! in a queue and are then written together: one database transaction, about a dozen set-based
//! statements and one commit for the whole batch instead of a dozen statements and a commit
//! each. Every caller is answered only after the transaction holding its donation committed.
//!
//! A refusal (wallet too low, campaign closed, key reused) is decided per donation inside the
//! batch and touches nothing of the others. A statement that fails (a database error) fails the
//! batch as a whole; its donations are then written again one by one, so one failing donation
//! never takes the others down with it. When the database cannot be reached at all, every
//! donation of the batch is answered 503 at once.
//!
//! Before answering, a batch retires the cached detail pages of the campaigns it gave to (see
//! [`campaigns::cache`]).
//!
//! Lock order: each table's rows are locked by one statement of the batch, in sorted order
//! (claims and wallets by donor; donors and stats by campaign), so two batches in flight never
//! wait on each other in a cycle.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use chrono::{SubsecRound, Utc};
use rand::Rng;
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::model::{Donation, DonationStatus};
use super::repo;
use campaigns::repo::{self as campaigns_repo, Gate, NewGift, STAT_SHARDS};
use campaigns::{CampaignStatus, cache};
use ledger::Idempotent;
use ledger::idempotency::{self, KeyClaim};
use ledger::wallets;
use ledger::{Account, Posting};
use outbox::Event;
use platform::error::{Error, ErrorCode, Result};
use platform::infra::kv::Kv;
use platform::infra::metrics::{DB_TRANSACTION, GROUP_COMMIT_BATCH};

/// Most donations in one transaction; past this the batch holds its row locks long enough to
/// cost more latency than the shared commit saves.
const MAX_BATCH: usize = 128;
/// Batches this process writes at once. One: on 2 cores (bench, quick runs side by side) a
/// second committer, meant to write one batch while the other waits for its commit, split the
/// waiting donations into half-size batches (8 instead of 16 at 32 clients), which cost 25%
/// more CPU per donation for 13% less throughput. Several api instances still write batches
/// side by side, hence the lock order (above) and the goal recheck.
pub const COMMITTERS: usize = 1;
/// Donations the queue holds before callers wait to add theirs (back-pressure).
const QUEUE: usize = 4096;

/// A validated donation waiting to be written.
pub(crate) struct Gift {
    pub user_id: Uuid,
    pub key: String,
    pub fingerprint: String,
    pub campaign_id: Uuid,
    pub amount: i64,
    pub anonymous: bool,
    pub message: Option<String>,
}

type Outcome = Result<Idempotent<Donation>>;

struct Pending {
    gift: Gift,
    reply: oneshot::Sender<Outcome>,
}

/// Counters of this process's batches (for tests and the bench).
#[derive(Debug, Default)]
pub struct GroupCommitStats {
    /// Donations queued and not yet taken into a batch.
    pub waiting: AtomicU64,
    pub batches: AtomicU64,
    /// Batches wholly done: answered, and their goals looked at again after the commit.
    pub settled: AtomicU64,
    pub donations: AtomicU64,
    pub largest_batch: AtomicU64,
    /// Donations written again on their own after their batch failed.
    pub retried_alone: AtomicU64,
}

/// The queue in front of the batch writer; the writer starts with the first donation.
#[derive(Default)]
pub struct GroupCommit {
    queue: OnceLock<mpsc::Sender<Pending>>,
    pub stats: Arc<GroupCommitStats>,
}

impl fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupCommit")
            .field("stats", &self.stats)
            .finish()
    }
}

impl GroupCommit {
    /// Queues the donation and waits until the batch holding it committed (or refused it).
    pub(crate) async fn submit(&self, db: &PgPool, kv: &Kv, gift: Gift) -> Outcome {
        let queue = self.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            tokio::spawn(collect(
                db.clone(),
                kv.clone(),
                receiver,
                self.stats.clone(),
            ));
            sender
        });
        let (reply, answer) = oneshot::channel();
        self.stats.waiting.fetch_add(1, Ordering::Relaxed);
        queue
            .send(Pending { gift, reply })
            .await
            .map_err(|_| Error::internal("the donation queue has stopped"))?;
        answer
            .await
            .map_err(|_| Error::internal("a donation batch ended without an answer"))?
    }
}

/// Hands batches to the committers: whatever queued up while they were busy is the next batch.
async fn collect(
    db: PgPool,
    kv: Kv,
    mut queue: mpsc::Receiver<Pending>,
    stats: Arc<GroupCommitStats>,
) {
    let committers = Arc::new(Semaphore::new(COMMITTERS));
    let mut waiting = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match queue.recv().await {
                Some(p) => waiting.push_back(p),
                None => return,
            }
        }
        let Ok(permit) = committers.clone().acquire_owned().await else {
            return;
        };
        while waiting.len() < 2 * MAX_BATCH {
            match queue.try_recv() {
                Ok(p) => waiting.push_back(p),
                Err(_) => break,
            }
        }
        let batch = take_batch(&mut waiting);
        let (db, kv, stats) = (db.clone(), kv.clone(), stats.clone());
        tokio::spawn(async move {
            commit(&db, &kv, batch, &stats).await;
            drop(permit);
        });
    }
}

/// Up to [`MAX_BATCH`] donations, one per donor: set-based statements touch each wallet and
/// idempotency key once, so a donor's second gift waits for the next batch.
fn take_batch(waiting: &mut VecDeque<Pending>) -> Vec<Pending> {
    let mut donors = HashSet::new();
    let mut batch = Vec::new();
    let mut later = VecDeque::new();
    for p in waiting.drain(..) {
        if batch.len() < MAX_BATCH && donors.insert(p.gift.user_id) {
            batch.push(p);
        } else {
            later.push_back(p);
        }
    }
    *waiting = later;
    batch
}

async fn commit(db: &PgPool, kv: &Kv, mut batch: Vec<Pending>, stats: &GroupCommitStats) {
    let size = batch.len() as u64;
    stats.waiting.fetch_sub(size, Ordering::Relaxed);
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats.donations.fetch_add(size, Ordering::Relaxed);
    stats.largest_batch.fetch_max(size, Ordering::Relaxed);
    metrics::histogram!(GROUP_COMMIT_BATCH).record(size as f64);
    // Donor order: the order claims and wallets are locked in.
    batch.sort_by_key(|p| p.gift.user_id);
    let gifts: Vec<&Gift> = batch.iter().map(|p| &p.gift).collect();
    let mut short = Vec::new();
    let outcomes = match write(db, &gifts).await {
        Ok(written) => {
            short = written.short;
            written.outcomes
        }
        Err(e) if size == 1 => vec![Err(e)],
        // Not one statement's failure but the connection's (pool timeout, I/O): writing the
        // gifts one by one would only repeat the wait for each of them.
        Err(e) if !matches!(e, Error::Database(sqlx::Error::Database(_))) => {
            tracing::error!(error = %e, size, "donation batch could not reach the database");
            gifts
                .iter()
                .map(|_| Err(Error::Unavailable("database")))
                .collect()
        }
        Err(e) => {
            tracing::warn!(error = %e, size, "donation batch failed; writing its donations one by one");
            stats.retried_alone.fetch_add(size, Ordering::Relaxed);
            let mut outcomes = Vec::with_capacity(gifts.len());
            for gift in &gifts {
                outcomes.push(match write(db, &[gift]).await {
                    Ok(mut one) => {
                        short.append(&mut one.short);
                        one.outcomes
                            .pop()
                            .unwrap_or_else(|| Err(Error::internal("no outcome for a donation")))
                    }
                    Err(e) => Err(e),
                });
            }
            outcomes
        }
    };
    let changed: BTreeSet<Uuid> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().filter(|d| !d.replayed))
        .map(|d| d.value.campaign_id)
        .collect();
    cache::stats_changed(kv, &changed.into_iter().collect::<Vec<_>>()).await;
    for (p, outcome) in batch.into_iter().zip(outcomes) {
        // The caller may have gone (client disconnected); its donation stands.
        let _ = p.reply.send(outcome);
    }
    if !short.is_empty()
        && let Err(e) = recheck_goals(db, &short).await
    {
        // The goal sweep (`MoneyService::sweep_goals`) finds what this missed.
        tracing::warn!(error = %e, "goal recheck after a donation batch failed");
    }
    stats.settled.fetch_add(1, Ordering::Relaxed);
}

/// A batch's check of its campaigns' goals sees only committed gifts and its own, so two
/// batches in flight that cross a goal together both see it short. Once committed, each batch
/// looks again at the campaigns it left short (`(id, goal)`): the last of the two to commit
/// sees both and records the goal (once, whoever else looks).
async fn recheck_goals(db: &PgPool, short: &[(Uuid, i64)]) -> Result<()> {
    let ids: Vec<Uuid> = short.iter().map(|&(id, _)| id).collect();
    let totals = campaigns_repo::stats_for(db, &ids).await?;
    let met: Vec<Uuid> = short
        .iter()
        .filter(|&&(id, goal)| totals.get(&id).is_some_and(|s| s.raised_amount >= goal))
        .map(|&(id, _)| id)
        .collect();
    if met.is_empty() {
        return Ok(());
    }
    record_goals_met(db, &met).await.map(drop)
}

/// Marks the goal reached for each of `ids` whose committed total meets it and was not marked
/// yet, with its `campaign.goal_reached` event, in one transaction; returns those marked.
pub(crate) async fn record_goals_met(db: &PgPool, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    let mut tx = db.begin().await?;
    let marked = campaigns_repo::mark_goals_met(&mut tx, ids).await?;
    let events: Vec<Event> = marked
        .iter()
        .map(|&campaign_id| Event::CampaignGoalReached { campaign_id })
        .collect();
    outbox::record_many(&mut tx, &events).await?;
    tx.commit().await?;
    if !marked.is_empty() {
        tracing::info!(campaigns = marked.len(), "campaign_goal_reached");
    }
    Ok(marked)
}

fn accepting(gate: &Gate) -> bool {
    gate.status == CampaignStatus::Active && gate.deadline.is_none_or(|d| d > Utc::now())
}

/// Writes the batch in one transaction. `Ok` holds each gift's own outcome (in order): its
/// donation, the replay of an earlier identical request, or why it was refused. `Err` means
/// nothing was written.
async fn write(db: &PgPool, gifts: &[&Gift]) -> Result<Written> {
    let mut batch = Batch {
        gifts,
        outcomes: gifts.iter().map(|_| None).collect(),
    };
    let answers = answers(gifts);
    let began = Instant::now();
    let mut tx = db.begin().await?;
    let claimed = batch.claim_keys(&mut tx, &answers).await?;
    let (live, gates) = batch.gate_campaigns(&mut tx, &claimed).await?;
    let live = batch.debit_wallets(&mut tx, live).await?;
    batch.release_refused(&mut tx, &claimed).await?;
    let mut short = Vec::new();
    if !live.is_empty() {
        short = write_gifts(&mut tx, &answers, &live, &gates).await?;
    }
    tx.commit().await?;
    metrics::histogram!(DB_TRANSACTION, "kind" => "donation_batch").record(began.elapsed());
    // The gifts still undecided are the live ones, now written: their answer stands.
    let outcomes = batch
        .outcomes
        .into_iter()
        .zip(answers)
        .map(|(decided, value)| {
            decided.unwrap_or(Ok(Idempotent {
                value,
                replayed: false,
            }))
        })
        .collect();
    Ok(Written { outcomes, short })
}

/// Each gift's donation, should it go ahead. Known before anything is written, so the answer
/// is stored with the gift's idempotency key when the key is claimed (one write per key). Its
/// time is therefore this process's clock, taken once per batch and cut to the microseconds
/// PostgreSQL keeps, so the stored answer and the row agree.
fn answers(gifts: &[&Gift]) -> Vec<Donation> {
    let at = Utc::now().trunc_subsecs(6);
    gifts
        .iter()
        .map(|g| Donation {
            id: Uuid::now_v7(),
            campaign_id: g.campaign_id,
            donor_id: g.user_id,
            amount: g.amount,
            anonymous: g.anonymous,
            message: g.message.clone(),
            status: DonationStatus::Completed,
            created_at: at,
            refunded_at: None,
        })
        .collect()
}

/// What a committed batch wrote.
struct Written {
    /// Each gift's outcome, in order.
    outcomes: Vec<Outcome>,
    /// The campaigns it gave to whose goal it saw not yet reached, with their goals.
    short: Vec<(Uuid, i64)>,
}

/// A batch's gifts and what has been decided for each so far (`None`: still going).
struct Batch<'a> {
    gifts: &'a [&'a Gift],
    outcomes: Vec<Option<Outcome>>,
}

impl Batch<'_> {
    /// Claims every gift's idempotency key, stored with the gift's answer; a key used before
    /// decides its gift (replay or refusal). Returns the gifts whose keys are new.
    async fn claim_keys(
        &mut self,
        tx: &mut PgConnection,
        answers: &[Donation],
    ) -> Result<Vec<usize>> {
        let gifts = self.gifts;
        let answers = answers
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::internal)?;
        let claims: Vec<KeyClaim> = gifts
            .iter()
            .zip(&answers)
            .map(|(g, answer)| KeyClaim {
                user_id: g.user_id,
                key: &g.key,
                fingerprint: &g.fingerprint,
                answer: Some(answer),
            })
            .collect();
        let stored = idempotency::claim_many(tx, &claims).await?;
        for (i, stored) in stored.into_iter().enumerate() {
            if let Some((hash, response)) = stored {
                let replay = idempotency::replay(&hash, &gifts[i].fingerprint, response);
                self.outcomes[i] = Some(replay.map(|value| Idempotent {
                    value,
                    replayed: true,
                }));
            }
        }
        Ok((0..gifts.len())
            .filter(|&i| self.outcomes[i].is_none())
            .collect())
    }

    /// Takes the campaigns' donation gates (waiting for a close or cancel in flight) and
    /// refuses gifts to campaigns that are gone or not accepting.
    async fn gate_campaigns(
        &mut self,
        tx: &mut PgConnection,
        claimed: &[usize],
    ) -> Result<(Vec<usize>, HashMap<Uuid, Gate>)> {
        let gifts = self.gifts;
        let ids: BTreeSet<Uuid> = claimed.iter().map(|&i| gifts[i].campaign_id).collect();
        let ids: Vec<Uuid> = ids.into_iter().collect();
        let gates = campaigns_repo::donation_gates(tx, &ids).await?;
        let mut live = claimed.to_vec();
        live.retain(|&i| match gates.get(&gifts[i].campaign_id) {
            None => {
                self.outcomes[i] = Some(Err(Error::NotFound("campaign")));
                false
            }
            Some(gate) if !accepting(gate) => {
                self.outcomes[i] = Some(Err(Error::conflict(
                    ErrorCode::CampaignNotAccepting,
                    "this campaign is not accepting donations",
                )));
                false
            }
            Some(_) => true,
        });
        Ok((live, gates))
    }

    /// Debits every donor's wallet in one statement; gifts whose wallet was too low are
    /// refused.
    async fn debit_wallets(
        &mut self,
        tx: &mut PgConnection,
        mut live: Vec<usize>,
    ) -> Result<Vec<usize>> {
        let gifts = self.gifts;
        let (users, amounts): (Vec<Uuid>, Vec<i64>) = live
            .iter()
            .map(|&i| (gifts[i].user_id, gifts[i].amount))
            .unzip();
        let debited = wallets::debit_many(tx, &users, &amounts).await?;
        live.retain(|&i| {
            let ok = debited.contains(&gifts[i].user_id);
            if !ok {
                self.outcomes[i] = Some(Err(Error::rule(
                    ErrorCode::InsufficientFunds,
                    "your wallet balance is too low for this donation",
                )));
            }
            ok
        });
        Ok(live)
    }

    /// Gives back the keys of claimed gifts that were refused, so a retry runs afresh.
    async fn release_refused(&self, tx: &mut PgConnection, claimed: &[usize]) -> Result<()> {
        let refused: Vec<(Uuid, &str)> = claimed
            .iter()
            .filter(|&&i| self.outcomes[i].is_some())
            .map(|&i| (self.gifts[i].user_id, self.gifts[i].key.as_str()))
            .collect();
        if refused.is_empty() {
            return Ok(());
        }
        idempotency::release_many(tx, &refused).await
    }
}

/// The accepted gifts' (`live`) ledger lines, donation rows, stats and events; returns the
/// campaigns they gave to whose goal is still not reached, with their goals.
async fn write_gifts(
    tx: &mut PgConnection,
    answers: &[Donation],
    live: &[usize],
    gates: &HashMap<Uuid, Gate>,
) -> Result<Vec<(Uuid, i64)>> {
    // Campaign order from here on: the order donor and stats rows are locked in.
    let mut order: Vec<&Donation> = live.iter().map(|&i| &answers[i]).collect();
    order.sort_by_key(|d| (d.campaign_id, d.donor_id));
    let postings = order
        .iter()
        .map(|d| {
            Posting::transfer(
                "donation",
                Account::Wallet(d.donor_id),
                Account::Campaign(d.campaign_id),
                d.amount,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let txns = ledger::write_many(tx, postings).await?;
    // One shard per campaign per batch: a viral campaign's batch updates one stats row.
    let shards: HashMap<Uuid, i16> = {
        let mut rng = rand::rng();
        order
            .iter()
            .map(|d| (d.campaign_id, rng.random_range(0..STAT_SHARDS)))
            .collect()
    };
    // Until the goal is reached, each batch checks whether it got there.
    let short: Vec<Uuid> = shards
        .keys()
        .copied()
        .filter(|id| !gates[id].goal_reached)
        .collect();
    let totals = insert_donations(tx, &order, &txns, &shards, &short).await?;
    let (mut events, short) = goals_reached(tx, &short, &totals, gates).await?;
    events.extend(order.iter().map(|d| Event::DonationCreated {
        donation_id: d.id,
        campaign_id: d.campaign_id,
        donor_id: d.donor_id,
        amount: d.amount,
    }));
    outbox::record_many(tx, &events).await?;
    Ok(short)
}

/// The donation rows (under their ledger transactions) and their campaigns' stats; returns the
/// amount raised by each of `short`, these gifts included.
async fn insert_donations(
    tx: &mut PgConnection,
    donations: &[&Donation],
    txns: &[Uuid],
    shards: &HashMap<Uuid, i16>,
    short: &[Uuid],
) -> Result<HashMap<Uuid, i64>> {
    let rows: Vec<repo::NewDonation> = donations
        .iter()
        .zip(txns)
        .map(|(&donation, &ledger_txn)| repo::NewDonation {
            donation,
            ledger_txn,
            shard: shards[&donation.campaign_id],
        })
        .collect();
    repo::insert_donations(tx, &rows).await?;
    let new_gifts: Vec<NewGift> = donations
        .iter()
        .map(|d| NewGift {
            campaign_id: d.campaign_id,
            donor_id: d.donor_id,
            amount: d.amount,
        })
        .collect();
    campaigns_repo::add_gifts(tx, &new_gifts, |id| shards[&id], short).await
}

/// Which of the campaigns that were `short` of their goal this batch took there, from their
/// `totals` (the batch's own gifts and every committed one; two batches crossing together are
/// caught by [`recheck_goals`] after they commit). Returns the `campaign.goal_reached` events
/// and the campaigns still short, with their goals.
async fn goals_reached(
    tx: &mut PgConnection,
    short: &[Uuid],
    totals: &HashMap<Uuid, i64>,
    gates: &HashMap<Uuid, Gate>,
) -> Result<(Vec<Event>, Vec<(Uuid, i64)>)> {
    let (reached, still_short): (Vec<Uuid>, Vec<Uuid>) = short
        .iter()
        .partition(|id| totals.get(id).copied().unwrap_or(0) >= gates[id].goal_amount);
    let still_short = still_short
        .into_iter()
        .map(|id| (id, gates[&id].goal_amount))
        .collect();
    if reached.is_empty() {
        return Ok((Vec::new(), still_short));
    }
    let marked = campaigns_repo::mark_goal_reached(tx, &reached).await?;
    let events = marked
        .into_iter()
        .map(|campaign_id| Event::CampaignGoalReached { campaign_id })
        .collect();
    Ok((events, still_short))
}
