//! Author income and the business figures: the `income_rollup` job folds buy records and
//! refunds into `author_income_daily` per book and UTC day; authors read it back by day or
//! month, admins read figures per day.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::pool::PoolConnection;
use sqlx::{MySql, MySqlPool};

use crate::clock;
use crate::coins::Coins;
use crate::ids::{AuthorId, BookId, UserId};
use crate::job::outcome::{self, replay};
use crate::job::{Done, JobId, JobView, Kind, payload};

/// Days one request may span (a leap year).
pub const MAX_DAYS: u64 = 366;

/// Rolls up the given UTC days (inclusive); on demand from an admin, or from the schedule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncomeRollupJob {
    pub job_id: JobId,
    /// The admin who asked, or nobody for the schedule.
    #[serde(with = "crate::ids::number")]
    pub requested_by: UserId,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub enqueued_at_ms: i64,
}

payload!(IncomeRollupJob, Kind::IncomeRollup, requested_by);

/// An inclusive range of UTC days, at most [`MAX_DAYS`] long, `from` not after `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    from: NaiveDate,
    to: NaiveDate,
}

impl DayRange {
    /// Refuses a reversed or too long range, saying which.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, &'static str> {
        if from > to {
            return Err("from: not after to");
        }
        if (to - from).num_days() >= MAX_DAYS as i64 {
            return Err("to: at most 366 days after from");
        }
        Ok(Self { from, to })
    }

    pub fn from(self) -> NaiveDate {
        self.from
    }

    pub fn to(self) -> NaiveDate {
        self.to
    }

    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        self.from.iter_days().take_while(move |d| *d <= self.to)
    }

    /// The first instant of `from` and of the day after `to`, for half-open time ranges.
    fn instants(self) -> (chrono::NaiveDateTime, chrono::NaiveDateTime) {
        let after = self.to + Days::new(1);
        (
            self.from.and_time(NaiveTime::MIN),
            after.and_time(NaiveTime::MIN),
        )
    }
}

/// Today in UTC.
pub fn today() -> NaiveDate {
    clock::now().date_naive()
}

/// A UTC day written `YYYY-MM-DD`, nothing else.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

/// The range a request names: both ends optional, `to` defaulting to today and `from` to
/// `default_days` before `to` (counting both ends).
pub fn requested_range(
    from: Option<&str>,
    to: Option<&str>,
    default_days: u64,
) -> Result<DayRange, String> {
    let day = |field: &str, text: &str| {
        parse_day(text).ok_or_else(|| format!("{field}: a date written YYYY-MM-DD"))
    };
    let to = to.map(|t| day("to", t)).transpose()?.unwrap_or_else(today);
    let from = match from {
        Some(text) => day("from", text)?,
        None => to - Days::new(default_days.saturating_sub(1)),
    };
    DayRange::new(from, to).map_err(str::to_owned)
}

/// The days the schedule folds at `now`: today, and yesterday as well during the first hour
/// after midnight (its last purchases landed after yesterday's final run).
pub fn scheduled_days(now: chrono::DateTime<chrono::Utc>) -> DayRange {
    let today = now.date_naive();
    let from = if now.time() < NaiveTime::from_hms_opt(1, 0, 0).unwrap_or(NaiveTime::MIN) {
        today - Days::new(1)
    } else {
        today
    };
    DayRange { from, to: today }
}

/// Runs serialised across processes (`GET_LOCK`), so a scheduled run and an admin's never
/// interleave and write stale rows over fresh ones.
const LOCK: &str = "novel_income_rollup";
const LOCK_WAIT_SECS: u32 = 60;

/// Runs the job once: its days rewritten, its outcome recorded (a retry finds it).
pub async fn run(pool: &MySqlPool, job: &IncomeRollupJob) -> anyhow::Result<Done> {
    if let Some(done) = replay(pool, &job.job_id).await? {
        return Ok(done);
    }
    let days = DayRange::new(job.from, job.to).map_err(anyhow::Error::msg)?;
    let rows = rollup(pool, days).await?;
    let view = JobView::succeeded(
        &job.job_id,
        Kind::IncomeRollup,
        json!({ "from": days.from, "to": days.to, "rows": rows }),
    );
    Ok(outcome::record(pool, view, job.requested_by, 1).await?)
}

/// Rewrites `author_income_daily` for each day of the range from the buy records (sales on
/// the day bought, refunds on the day refunded); answers the rows written.
pub async fn rollup(pool: &MySqlPool, days: DayRange) -> Result<u64, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let locked: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
        .bind(LOCK)
        .bind(LOCK_WAIT_SECS)
        .fetch_one(&mut *conn)
        .await?;
    if locked != Some(1) {
        return Err(sqlx::Error::Protocol(format!(
            "the income rollup lock stayed taken for {LOCK_WAIT_SECS} s"
        )));
    }
    // READ COMMITTED: the rollup's INSERT … SELECT and UPDATE … JOIN then read the buy records
    // without shared locks; at REPEATABLE READ they lock every record they read and the gap at
    // the end of the time index, so every purchase (a new record there) and refund would wait
    // for them. The session is never handed back to the pool with it (closed on drop).
    conn.close_on_drop();
    sqlx::query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .execute(&mut *conn)
        .await?;
    let written = rewrite_days(&mut conn, days).await;
    let released = sqlx::query("SELECT RELEASE_LOCK(?)")
        .bind(LOCK)
        .execute(&mut *conn)
        .await;
    if let Err(error) = released {
        tracing::warn!(%error, "income rollup lock not released; its connection is closed");
    }
    written
}

async fn rewrite_days(
    conn: &mut PoolConnection<MySql>,
    days: DayRange,
) -> Result<u64, sqlx::Error> {
    let mut written = 0;
    for day in days.days() {
        let (start, end) = DayRange { from: day, to: day }.instants();
        let mut tx = sqlx::Connection::begin(&mut **conn).await?;
        sqlx::query("DELETE FROM author_income_daily WHERE day = ?")
            .bind(day)
            .execute(&mut *tx)
            .await?;
        written += sqlx::query(
            r"INSERT INTO author_income_daily
                (author_id, book_id, day, sales, coins, refunds, refunded_coins, update_time)
              SELECT b.author_id, x.book_id, ?, SUM(x.sales), SUM(x.coins), SUM(x.refunds),
                     SUM(x.refunded_coins), ?
              FROM (SELECT book_id, COUNT(*) AS sales, SUM(buy_amount) AS coins,
                           0 AS refunds, 0 AS refunded_coins
                    FROM user_buy_record WHERE create_time >= ? AND create_time < ?
                    GROUP BY book_id
                    UNION ALL
                    SELECT book_id, 0, 0, COUNT(*), SUM(buy_amount)
                    FROM user_buy_record WHERE refund_time >= ? AND refund_time < ?
                    GROUP BY book_id) x
              JOIN book b ON b.id = x.book_id
              GROUP BY x.book_id, b.author_id",
        )
        .bind(day)
        .bind(clock::now())
        .bind(start)
        .bind(end)
        .bind(start)
        .bind(end)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
    }
    refresh_sales(conn, days).await?;
    Ok(written)
}

/// `book.sales` (chapters sold, refunds excluded) recounted from the buy records for every book
/// bought or refunded in the range: derived here, never bumped inside a purchase.
async fn refresh_sales(conn: &mut PoolConnection<MySql>, days: DayRange) -> sqlx::Result<()> {
    let (start, end) = days.instants();
    sqlx::query(
        r"UPDATE book b
          JOIN (SELECT touched.book_id, COUNT(r.id) AS sales
                FROM (SELECT book_id FROM user_buy_record WHERE create_time >= ? AND create_time < ?
                      UNION
                      SELECT book_id FROM user_buy_record WHERE refund_time >= ? AND refund_time < ?
                     ) touched
                LEFT JOIN user_buy_record r
                       ON r.book_id = touched.book_id AND r.refund_status = 0
                GROUP BY touched.book_id) x ON b.id = x.book_id
          SET b.sales = x.sales",
    )
    .bind(start)
    .bind(end)
    .bind(start)
    .bind(end)
    .execute(&mut **conn)
    .await?;
    Ok(())
}

/// How income is summed: per UTC day (`2026-12-01`) or month (`2026-12`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    #[default]
    Day,
    Month,
}

impl Period {
    fn format(self) -> &'static str {
        match self {
            Period::Day => "%Y-%m-%d",
            Period::Month => "%Y-%m",
        }
    }
}

/// Sales and refunds, in chapters and coins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub sales: i64,
    pub coins: Coins,
    pub refunds: i64,
    pub refunded_coins: Coins,
    pub net_coins: Coins,
}

impl Figures {
    /// Adds another period's or book's figures.
    pub fn add(&mut self, other: Figures) {
        self.sales += other.sales;
        self.coins += other.coins;
        self.refunds += other.refunds;
        self.refunded_coins += other.refunded_coins;
        self.net_coins += other.net_coins;
    }
}

/// One book's income in one period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IncomeItem {
    /// `2026-12-01` by day, `2026-12` by month (UTC)
    pub period: String,
    pub book_id: BookId,
    pub book_name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// An author's income over a range: per period and book (periods in order), and the totals.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Income {
    pub items: Vec<IncomeItem>,
    pub totals: Figures,
}

#[derive(sqlx::FromRow)]
struct IncomeRow {
    period: String,
    book_id: BookId,
    book_name: String,
    sales: i64,
    coins: Coins,
    refunds: i64,
    refunded_coins: Coins,
}

/// The author's income from the rolled-up days, optionally of one book.
pub async fn author_income(
    pool: &MySqlPool,
    author_id: AuthorId,
    days: DayRange,
    by: Period,
    book_id: Option<BookId>,
) -> Result<Income, sqlx::Error> {
    let rows: Vec<IncomeRow> = sqlx::query_as(
        r"SELECT DATE_FORMAT(i.day, ?) AS period, i.book_id, b.book_name,
                 CAST(SUM(i.sales) AS SIGNED) AS sales, CAST(SUM(i.coins) AS SIGNED) AS coins,
                 CAST(SUM(i.refunds) AS SIGNED) AS refunds,
                 CAST(SUM(i.refunded_coins) AS SIGNED) AS refunded_coins
          FROM author_income_daily i JOIN book b ON b.id = i.book_id
          WHERE i.author_id = ? AND i.day BETWEEN ? AND ? AND (? IS NULL OR i.book_id = ?)
          GROUP BY period, i.book_id, b.book_name
          ORDER BY period, i.book_id",
    )
    .bind(by.format())
    .bind(author_id)
    .bind(days.from)
    .bind(days.to)
    .bind(book_id)
    .bind(book_id)
    .fetch_all(pool)
    .await?;
    let mut totals = Figures::default();
    let items = rows
        .into_iter()
        .map(|row| {
            let figures = Figures {
                sales: row.sales,
                coins: row.coins,
                refunds: row.refunds,
                refunded_coins: row.refunded_coins,
                net_coins: row.coins - row.refunded_coins,
            };
            totals.add(figures);
            IncomeItem {
                period: row.period,
                book_id: row.book_id,
                book_name: row.book_name,
                figures,
            }
        })
        .collect();
    Ok(Income { items, totals })
}

/// One UTC day of the business: money in, coins in, out and back, and new people.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DayStats {
    /// `2026-12-01` (UTC)
    pub date: String,
    pub orders_paid: i64,
    /// In minor units (fen, cents) of the packages' currency
    pub amount_paid: i64,
    /// Coins credited by paid recharge orders (bonus included)
    pub coins_credited: Coins,
    /// Coins spent on chapters (from the income rollup)
    pub coins_spent: Coins,
    /// Coins refunded (from the income rollup, on the day refunded)
    pub coins_refunded: Coins,
    pub new_users: i64,
    /// Readers with at least one order paid that day
    pub paying_readers: i64,
}

/// One row per day of the range, zeros where nothing happened. Orders and users are read
/// live; coins spent and refunded come from the rollup (`POST /api/admin/income/rollup`
/// brings them up to date).
pub async fn daily_stats(pool: &MySqlPool, days: DayRange) -> Result<Vec<DayStats>, sqlx::Error> {
    let (start, end) = days.instants();
    let mut stats: BTreeMap<NaiveDate, DayStats> = days
        .days()
        .map(|d| {
            let date = d.format("%Y-%m-%d").to_string();
            (
                d,
                DayStats {
                    date,
                    ..DayStats::default()
                },
            )
        })
        .collect();
    let orders: Vec<(NaiveDate, i64, i64, Coins, i64)> = sqlx::query_as(
        r"SELECT DATE(paid_at) AS day, COUNT(*), CAST(SUM(amount) AS SIGNED),
                 CAST(SUM(coins + bonus_coins) AS SIGNED), COUNT(DISTINCT user_id)
          FROM order_pay WHERE status = 'paid' AND paid_at >= ? AND paid_at < ?
          GROUP BY day",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    for (day, paid, amount, coins, payers) in orders {
        if let Some(s) = stats.get_mut(&day) {
            (s.orders_paid, s.amount_paid, s.coins_credited) = (paid, amount, coins);
            s.paying_readers = payers;
        }
    }
    let coins: Vec<(NaiveDate, Coins, Coins)> = sqlx::query_as(
        r"SELECT day, CAST(SUM(coins) AS SIGNED), CAST(SUM(refunded_coins) AS SIGNED)
          FROM author_income_daily WHERE day BETWEEN ? AND ? GROUP BY day",
    )
    .bind(days.from)
    .bind(days.to)
    .fetch_all(pool)
    .await?;
    for (day, spent, refunded) in coins {
        if let Some(s) = stats.get_mut(&day) {
            (s.coins_spent, s.coins_refunded) = (spent, refunded);
        }
    }
    let users: Vec<(NaiveDate, i64)> = sqlx::query_as(
        r"SELECT DATE(create_time) AS day, COUNT(*) FROM user
          WHERE create_time >= ? AND create_time < ? GROUP BY day",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    for (day, count) in users {
        if let Some(s) = stats.get_mut(&day) {
            s.new_users = count;
        }
    }
    Ok(stats.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_range_is_at_most_366_days_and_never_reversed() {
        assert!(DayRange::new(day("2024-01-01"), day("2024-12-31")).is_ok());
        assert_eq!(
            DayRange::new(day("2024-01-01"), day("2025-01-01")),
            Err("to: at most 366 days after from")
        );
        assert_eq!(
            DayRange::new(day("2024-01-02"), day("2024-01-01")),
            Err("from: not after to")
        );
        let one = DayRange::new(day("2026-12-01"), day("2026-12-01")).unwrap();
        assert_eq!(
            requested_range(Some("2026-12-01"), Some("2026-12-01"), 30),
            Ok(one)
        );
        assert_eq!(
            requested_range(Some("2026-1-01"), None, 30),
            Err("from: a date written YYYY-MM-DD".to_owned())
        );
        assert!(requested_range(None, Some("2026-02-30"), 30).is_err());
        let default = requested_range(None, Some("2026-12-30"), 30).unwrap();
        assert_eq!(default.from(), day("2026-12-01"));
        assert_eq!(one.days().collect::<Vec<_>>(), vec![day("2026-12-01")]);
    }

    #[test]
    fn a_scheduled_rollup_owned_by_nobody_reads_back_from_the_queue() {
        let days = DayRange::new(day("2026-12-01"), day("2026-12-02")).unwrap();
        let job = IncomeRollupJob {
            job_id: JobId::new(),
            requested_by: UserId::NOBODY,
            from: days.from(),
            to: days.to(),
            enqueued_at_ms: 1,
        };
        let queued = serde_json::to_string(&job).unwrap();
        let read: IncomeRollupJob = serde_json::from_str(&queued).unwrap();
        assert_eq!(
            (read.requested_by, read.from, read.to),
            (UserId::NOBODY, days.from(), days.to())
        );
    }

    #[test]
    fn the_schedule_folds_yesterday_again_only_in_the_first_hour() {
        let at = |text: &str| text.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        let early = scheduled_days(at("2026-12-03T00:05:00Z"));
        assert_eq!(
            (early.from(), early.to()),
            (day("2026-12-02"), day("2026-12-03"))
        );
        let later = scheduled_days(at("2026-12-03T01:00:00Z"));
        assert_eq!(
            (later.from(), later.to()),
            (day("2026-12-03"), day("2026-12-03"))
        );
    }
}
