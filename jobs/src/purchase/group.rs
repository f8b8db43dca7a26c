//! Several purchase jobs in one MySQL transaction, each with its own outcome: a busy worker
//! commits what has queued up together, in a fixed number of statements instead of eight a job.
//!
//! Each round holds at most one job per user, so no job's result depends on another job of the
//! same round. Statements, all multi-row: the chapters; the buy records (`INSERT IGNORE`: the
//! unique key still decides "owned"); the users' rows, locked in id order; the buy records of
//! the jobs that cannot pay are deleted again; one debit `UPDATE`; the ledger rows; the
//! outcomes. A twin delivery of one job (its outcome key taken) rolls the round back, and that
//! round's jobs then run one by one: a job alone whose key is taken answers its twin's outcome.
//! A single job ([`super::run`]) is a group of one.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::json;
use sqlx::{MySql, MySqlPool, QueryBuilder, Transaction};

use super::Order;
use crate::clock;
use crate::coins::Coins;
use crate::db::{DUPLICATE_KEY, is_transient, mysql_code, with_retries};
use crate::ids::{
    BookId, BuyRecordId, ChapterId, EntityId, FlowId, IdGenerator, UserId, mint_for_sql,
};
use crate::job::outcome::{Record, insert_outcomes, twin};
use crate::job::{Done, FailureCode, JobId, JobView, Kind};
use crate::ledger::{self, Reason};

/// Bind parameters MySQL allows in one statement.
const MAX_PLACEHOLDERS: usize = 65_535;

// A group of `jobs.batch_size` full batches must fit its buy records in one `INSERT`.
const _: () = assert!(
    crate::config::MAX_BATCH_SIZE * super::MAX_BATCH * BUY_RECORD_COLUMNS <= MAX_PLACEHOLDERS
);

/// One job of a group and the delivery attempt it is on.
pub struct Member<'a> {
    pub order: Order<'a>,
    pub attempt: i32,
}

/// Runs every member; the results are in the members' order. A transient error (after
/// `retries` deadlock retries) fails the members of its round only.
pub async fn run(
    pool: &MySqlPool,
    ids: &IdGenerator,
    members: &[Member<'_>],
    retries: u32,
) -> Vec<anyhow::Result<Done>> {
    let mut results: Vec<Option<anyhow::Result<Done>>> = members.iter().map(|_| None).collect();
    for round in rounds(members) {
        if let [only] = round[..] {
            results[only] = Some(alone(pool, ids, &members[only], retries).await);
            continue;
        }
        let chosen: Vec<&Member> = round.iter().map(|&i| &members[i]).collect();
        match with_retries(retries, || try_round(pool, ids, &chosen)).await {
            Ok(Settled::Done(dones)) => {
                for (&i, done) in round.iter().zip(dones) {
                    results[i] = Some(Ok(done));
                }
            }
            // A twin delivery, or a debit that did not apply as read: each alone settles it.
            // An error that retrying will not cure may be one job's own (a payload too big
            // for one statement): alone, it fails only that job.
            Ok(Settled::Twin | Settled::Diverged) => {
                for &i in &round {
                    results[i] = Some(alone(pool, ids, &members[i], retries).await);
                }
            }
            Err(error) if !is_transient(&error) => {
                tracing::warn!(%error, jobs = round.len(), "group round failed; its jobs run alone");
                for &i in &round {
                    results[i] = Some(alone(pool, ids, &members[i], retries).await);
                }
            }
            Err(error) => {
                for &i in &round {
                    results[i] = Some(Err(failed(&error)));
                }
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.expect("every member is in a round"))
        .collect()
}

/// One job in a transaction of its own. If a twin delivery recorded it first, that outcome
/// stands.
async fn alone(
    pool: &MySqlPool,
    ids: &IdGenerator,
    member: &Member<'_>,
    retries: u32,
) -> anyhow::Result<Done> {
    let only = [member];
    match with_retries(retries, || try_round(pool, ids, &only)).await {
        Ok(Settled::Done(mut dones)) => Ok(dones.pop().expect("one member, one outcome")),
        Ok(Settled::Twin) => Ok(twin(pool, member.order.job_id).await?),
        Ok(Settled::Diverged) => Err(anyhow::anyhow!(
            "the debit did not apply to the balance read under lock; rolled back"
        )),
        Err(error) => Err(failed(&error)),
    }
}

fn failed(error: &sqlx::Error) -> anyhow::Error {
    anyhow::anyhow!("purchase transaction: {error}")
}

/// Member indexes split so no round holds two jobs of one user (later ones wait a round).
fn rounds(members: &[Member<'_>]) -> Vec<Vec<usize>> {
    let mut rounds: Vec<(HashSet<UserId>, Vec<usize>)> = Vec::new();
    for (i, member) in members.iter().enumerate() {
        let user = member.order.user_id;
        match rounds.iter_mut().find(|(users, _)| !users.contains(&user)) {
            Some((users, round)) => {
                users.insert(user);
                round.push(i);
            }
            None => rounds.push((HashSet::from([user]), vec![i])),
        }
    }
    rounds.into_iter().map(|(_, round)| round).collect()
}

/// What one job will do, decided inside the round.
struct Plan<'m> {
    member: &'m Member<'m>,
    vip: Vec<&'m Chapter>,
    failure: Option<FailureCode>,
    bought: BTreeSet<ChapterId>,
    spent: Coins,
}

/// One user's debit in a round, for one job.
struct Debit<'a> {
    user_id: UserId,
    spent: Coins,
    job_id: &'a JobId,
}

/// How a round ended; all but `Done` rolled back.
enum Settled {
    Done(Vec<Done>),
    /// A twin delivery already recorded one of the jobs.
    Twin,
    /// The debit changed other rows than the balances read under lock promised.
    Diverged,
}

async fn try_round(
    pool: &MySqlPool,
    ids: &IdGenerator,
    members: &[&Member<'_>],
) -> Result<Settled, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let wanted: Vec<ChapterId> = members
        .iter()
        .flat_map(|m| m.order.index_ids.iter().copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found: HashMap<ChapterId, Chapter> = if wanted.is_empty() {
        HashMap::new()
    } else {
        chapters(&mut tx, &wanted)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    };
    let mut plans: Vec<Plan> = members.iter().map(|m| plan(m, &found)).collect();
    // Every id this round may need (a buy record per VIP chapter, a ledger row per job), minted
    // before its first lock: waiting on the id lease must never hold rows locked.
    let open: Vec<&Plan> = plans.iter().filter(|p| p.failure.is_none()).collect();
    let records = open.iter().map(|p| p.vip.len()).sum();
    let mut fresh_records = mint::<BuyRecordId>(ids, records).await?.into_iter();
    let mut fresh_flows = mint::<FlowId>(ids, open.len()).await?.into_iter();
    insert_buy_records(&mut tx, &mut fresh_records, &mut plans).await?;
    let balances = lock_users(&mut tx, &plans).await?;
    let mut debits = Vec::new();
    for plan in plans.iter_mut().filter(|p| p.failure.is_none()) {
        let order = &plan.member.order;
        plan.spent = plan
            .vip
            .iter()
            .filter(|c| plan.bought.contains(&c.id))
            .map(|c| c.price)
            .sum();
        if order.kind == Kind::Purchase && plan.bought.is_empty() {
            plan.failure = Some(FailureCode::AlreadyBought);
        } else if order.max_spent.is_some_and(|max| plan.spent > max) {
            // The prices summed here are the ones this transaction records and debits, so the
            // bound holds for exactly what is charged; this job fails alone, the round goes on.
            plan.failure = Some(FailureCode::PriceChanged);
            delete_buy_records(&mut tx, plan).await?;
        } else if plan.spent > balances.get(&order.user_id).copied().unwrap_or_default() {
            plan.failure = Some(FailureCode::InsufficientBalance);
            delete_buy_records(&mut tx, plan).await?;
        } else if plan.spent > Coins::ZERO {
            debits.push(Debit {
                user_id: order.user_id,
                spent: plan.spent,
                job_id: order.job_id,
            });
        }
    }
    let Some(after) = debit(&mut tx, &mut fresh_flows, &balances, &debits).await? else {
        tx.rollback().await?;
        return Ok(Settled::Diverged);
    };
    let dones: Vec<Done> = plans.iter().map(|p| done(p, &balances, &after)).collect();
    let outcomes: Vec<Record> = plans
        .iter()
        .zip(&dones)
        .map(|(p, d)| Record {
            view: &d.view,
            owner: p.member.order.user_id,
            attempt: p.member.attempt,
        })
        .collect();
    match insert_outcomes(&mut *tx, &outcomes).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Settled::Done(dones))
        }
        Err(error) if mysql_code(&error) == Some(DUPLICATE_KEY) => {
            tx.rollback().await?;
            Ok(Settled::Twin)
        }
        Err(error) => Err(error),
    }
}

fn plan<'m>(member: &'m Member<'m>, found: &'m HashMap<ChapterId, Chapter>) -> Plan<'m> {
    let order = &member.order;
    let chapters: Option<Vec<&Chapter>> = order.index_ids.iter().map(|id| found.get(id)).collect();
    let (vip, failure) = match chapters {
        None => (Vec::new(), Some(FailureCode::ChapterNotFound)),
        Some(c) if order.kind == Kind::Purchase && !c[0].is_vip => {
            (Vec::new(), Some(FailureCode::NotForSale))
        }
        Some(c) => (c.into_iter().filter(|c| c.is_vip).collect(), None),
    };
    Plan {
        member,
        vip,
        failure,
        bought: BTreeSet::new(),
        spent: Coins::ZERO,
    }
}

/// One multi-row `INSERT IGNORE`; where some rows were skipped, reads back which are ours.
async fn insert_buy_records(
    tx: &mut Transaction<'_, MySql>,
    fresh: &mut impl Iterator<Item = BuyRecordId>,
    plans: &mut [Plan<'_>],
) -> Result<(), sqlx::Error> {
    let mut rows = Vec::new();
    for plan in plans.iter().filter(|p| p.failure.is_none()) {
        for chapter in &plan.vip {
            rows.push((next(fresh), &plan.member.order, *chapter));
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let total = rows.len() as u64;
    let now = clock::now();
    let mut insert = QueryBuilder::<MySql>::new(INSERT_BUY_RECORDS);
    insert.push_values(rows, |mut row, (id, order, chapter)| {
        bind_buy_record(&mut row, id, order, chapter, now);
    });
    let inserted = insert.build().execute(&mut **tx).await?.rows_affected();
    let mine: HashSet<(JobId, ChapterId)> = if inserted == total {
        plans
            .iter()
            .filter(|p| p.failure.is_none())
            .flat_map(|p| {
                p.vip
                    .iter()
                    .map(|c| (p.member.order.job_id.to_owned(), c.id))
            })
            .collect()
    } else {
        ours(tx, plans).await?
    };
    for plan in plans.iter_mut() {
        let job = plan.member.order.job_id.to_owned();
        plan.bought = plan
            .vip
            .iter()
            .map(|c| c.id)
            .filter(|id| mine.contains(&(job.clone(), *id)))
            .collect();
    }
    Ok(())
}

/// (job id, chapter id) of the buy records the round's jobs hold, by unique-key lookups.
async fn ours(
    tx: &mut Transaction<'_, MySql>,
    plans: &[Plan<'_>],
) -> Result<HashSet<(JobId, ChapterId)>, sqlx::Error> {
    let mut query =
        QueryBuilder::<MySql>::new("SELECT job_id, book_index_id FROM user_buy_record WHERE ");
    let mut any = query.separated(" OR ");
    for plan in plans
        .iter()
        .filter(|p| p.failure.is_none() && !p.vip.is_empty())
    {
        any.push("(user_id = ")
            .push_bind_unseparated(plan.member.order.user_id)
            .push_unseparated(" AND book_index_id IN (");
        for (n, chapter) in plan.vip.iter().enumerate() {
            if n > 0 {
                any.push_unseparated(", ");
            }
            any.push_bind_unseparated(chapter.id);
        }
        any.push_unseparated("))");
    }
    let rows: Vec<(JobId, ChapterId)> = query.build_query_as().fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().collect())
}

/// The users' balances, their rows locked in id order.
async fn lock_users(
    tx: &mut Transaction<'_, MySql>,
    plans: &[Plan<'_>],
) -> Result<HashMap<UserId, Coins>, sqlx::Error> {
    let users: BTreeSet<UserId> = plans.iter().map(|p| p.member.order.user_id).collect();
    let mut query =
        QueryBuilder::<MySql>::new("SELECT id, account_balance FROM user WHERE id IN (");
    let mut list = query.separated(", ");
    for user in &users {
        list.push_bind(*user);
    }
    query.push(") ORDER BY id FOR UPDATE");
    let rows: Vec<(UserId, Coins)> = query.build_query_as().fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().collect())
}

async fn delete_buy_records(
    tx: &mut Transaction<'_, MySql>,
    plan: &Plan<'_>,
) -> Result<(), sqlx::Error> {
    if plan.bought.is_empty() {
        return Ok(());
    }
    let order = &plan.member.order;
    let mut query = QueryBuilder::<MySql>::new("DELETE FROM user_buy_record WHERE user_id = ");
    query
        .push_bind(order.user_id)
        .push(" AND job_id = ")
        .push_bind(order.job_id.to_owned())
        .push(" AND book_index_id IN (");
    let mut list = query.separated(", ");
    for id in &plan.bought {
        list.push_bind(*id);
    }
    query.push(")");
    query.build().execute(&mut **tx).await?;
    Ok(())
}

/// One `UPDATE` for every debit, then the ledger rows; the balances after, or `None` (nothing
/// written) when the update did not change exactly the debited rows. Each row is guarded by the
/// balance read under lock, which is stronger than `account_balance >= spent` (already checked
/// against that balance) and proves the ledger's `balance_after` right.
async fn debit(
    tx: &mut Transaction<'_, MySql>,
    fresh: &mut impl Iterator<Item = FlowId>,
    balances: &HashMap<UserId, Coins>,
    debits: &[Debit<'_>],
) -> Result<Option<HashMap<UserId, Coins>>, sqlx::Error> {
    if debits.is_empty() {
        return Ok(Some(HashMap::new()));
    }
    let mut update =
        QueryBuilder::<MySql>::new("UPDATE user SET account_balance = account_balance - CASE id");
    for debit in debits {
        update
            .push(" WHEN ")
            .push_bind(debit.user_id)
            .push(" THEN ")
            .push_bind(debit.spent);
    }
    update.push(" END WHERE id IN (");
    let mut list = update.separated(", ");
    for debit in debits {
        list.push_bind(debit.user_id);
    }
    update.push(") AND account_balance = CASE id");
    for debit in debits {
        update
            .push(" WHEN ")
            .push_bind(debit.user_id)
            .push(" THEN ")
            .push_bind(
                balances
                    .get(&debit.user_id)
                    .copied()
                    .unwrap_or(Coins::new(-1)),
            );
    }
    update.push(" END");
    let changed = update.build().execute(&mut **tx).await?.rows_affected();
    if changed != debits.len() as u64 {
        tracing::error!(
            changed,
            debits = debits.len(),
            "grouped debit diverged from its reads"
        );
        return Ok(None);
    }
    let mut after = HashMap::new();
    let mut rows = Vec::with_capacity(debits.len());
    for debit in debits {
        let balance = balances[&debit.user_id] - debit.spent;
        after.insert(debit.user_id, balance);
        rows.push(ledger::Row {
            id: next(fresh),
            user_id: debit.user_id,
            delta: -debit.spent,
            balance_after: balance,
            ref_id: debit.job_id.as_str(),
        });
    }
    ledger::insert_rows(tx, Reason::Purchase, None, &rows).await?;
    Ok(Some(after))
}

/// `count` fresh ids (a lost lease surfaces as a transient database error).
async fn mint<T: EntityId>(ids: &IdGenerator, count: usize) -> Result<Vec<T>, sqlx::Error> {
    let mut minted = Vec::with_capacity(count);
    for _ in 0..count {
        minted.push(mint_for_sql(ids).await?);
    }
    Ok(minted)
}

fn next<T>(fresh: &mut impl Iterator<Item = T>) -> T {
    fresh.next().expect("a round mints every id it uses")
}

fn done(
    plan: &Plan<'_>,
    balances: &HashMap<UserId, Coins>,
    after: &HashMap<UserId, Coins>,
) -> Done {
    let order = &plan.member.order;
    if let Some(code) = plan.failure {
        return Done {
            view: JobView::failed(order.job_id, order.kind, code),
            coins: Coins::ZERO,
            replayed: false,
        };
    }
    let balance = after
        .get(&order.user_id)
        .or_else(|| balances.get(&order.user_id))
        .copied()
        .unwrap_or_default();
    let result = result(order, &plan.bought, plan.spent, balance);
    Done {
        view: JobView::succeeded(order.job_id, order.kind, result),
        coins: plan.spent,
        replayed: false,
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Chapter {
    id: ChapterId,
    book_id: BookId,
    book_name: String,
    index_name: String,
    is_vip: bool,
    price: Coins,
}

/// A successful purchase's result: what it bought and skipped (ids as strings), spent, balance.
fn result(
    order: &Order<'_>,
    bought: &BTreeSet<ChapterId>,
    spent: Coins,
    balance: Coins,
) -> serde_json::Value {
    let skipped: Vec<ChapterId> = order
        .index_ids
        .iter()
        .filter(|id| !bought.contains(id))
        .copied()
        .collect();
    json!({ "bought": bought, "skipped": skipped, "spent": spent, "balance": balance })
}

/// The chapters of published books among `index_ids`: a draft's chapters are not for sale.
async fn chapters(
    tx: &mut Transaction<'_, MySql>,
    index_ids: &[ChapterId],
) -> Result<Vec<Chapter>, sqlx::Error> {
    let mut query = QueryBuilder::<MySql>::new(
        r"SELECT i.id, i.book_id, b.book_name, i.index_name, i.is_vip = 1 AS is_vip,
                 i.book_price AS price
          FROM book_index i JOIN book b ON b.id = i.book_id
          WHERE b.status = 1 AND i.id IN (",
    );
    let mut list = query.separated(", ");
    for id in index_ids {
        list.push_bind(*id);
    }
    query.push(") ORDER BY i.id");
    query.build_query_as().fetch_all(&mut **tx).await
}

const BUY_RECORD_COLUMNS: usize = 10;
const INSERT_BUY_RECORDS: &str = r"INSERT IGNORE INTO user_buy_record (id, user_id,
    book_id, book_name, book_index_id, book_index_name, buy_amount, job_id, refund_status,
    create_time) ";

/// One row of [`INSERT_BUY_RECORDS`].
fn bind_buy_record(
    row: &mut sqlx::query_builder::Separated<'_, MySql, &'static str>,
    id: BuyRecordId,
    order: &Order<'_>,
    chapter: &Chapter,
    now: chrono::DateTime<chrono::Utc>,
) {
    row.push_bind(id)
        .push_bind(order.user_id)
        .push_bind(chapter.book_id)
        .push_bind(chapter.book_name.clone())
        .push_bind(chapter.id)
        .push_bind(chapter.index_name.clone())
        .push_bind(chapter.price)
        .push_bind(order.job_id.to_owned())
        .push_bind(0)
        .push_bind(now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{NewUser, NickName, Role, Roles, Username};

    /// A migrated database of its own and a user holding `coins`.
    async fn user_with(coins: i64) -> (MySqlPool, UserId) {
        let mut settings = crate::config::load_with("test").unwrap();
        let unique = ulid::Ulid::new().to_string().to_lowercase();
        settings.database.url = settings.database.url_of(&format!("novel_t_{unique}"));
        crate::db::migrate(&settings.database, &settings.sharding)
            .await
            .unwrap();
        let db = crate::db::Db::connect(&settings.database, &settings.sharding).unwrap();
        let user = UserId::from_raw(7);
        let (username, nick_name) = (Username::parse("debited"), NickName::parse("debited"));
        let new = NewUser {
            id: user,
            username: &username.unwrap(),
            nick_name: &nick_name.unwrap(),
            roles: &Roles::from(&[Role::Reader][..]),
        };
        crate::accounts::insert_user(&db.main, new, "-")
            .await
            .unwrap();
        sqlx::query("UPDATE user SET account_balance = ? WHERE id = 7")
            .bind(coins)
            .execute(&db.main)
            .await
            .unwrap();
        (db.main, user)
    }

    #[tokio::test]
    async fn a_debit_whose_balance_is_not_the_one_read_changes_nothing() {
        let (pool, user) = user_with(50).await;
        let mut tx = pool.begin().await.unwrap();
        let believed = HashMap::from([(user, Coins::new(100))]);
        let mut fresh = [1, 2, 3].map(FlowId::from_raw).into_iter();
        let job_id = JobId::from("J1");
        let debits = [Debit {
            user_id: user,
            spent: Coins::new(30),
            job_id: &job_id,
        }];
        let after = debit(&mut tx, &mut fresh, &believed, &debits)
            .await
            .unwrap();
        assert_eq!(after, None, "the debit does not apply");
        let (balance, rows): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT account_balance FROM user WHERE id = ?), (SELECT COUNT(*) FROM account_flow)",
        )
        .bind(user)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!((balance, rows), (50, 0), "nothing written");
        let right = HashMap::from([(user, Coins::new(50))]);
        let after = debit(&mut tx, &mut fresh, &right, &debits).await;
        assert_eq!(
            after.unwrap(),
            Some(HashMap::from([(user, Coins::new(20))]))
        );
    }
}
