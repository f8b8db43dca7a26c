//! Virtual readers over real HTTP: sign in, buy random VIP chapters (singles and some batches),
//! long-poll each job to its terminal result; then recharge through the signed sandbox webhook.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jobs::ids::{ChapterId, OrderId};
use jobs::job::JobId;
use jobs::payments::event::Charge;
use jobs::payments::recharge;
use jobs::payments::sandbox::{self, Sandbox};
use rand::seq::IndexedRandom;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::setup::{Fixture, PASSWORD, Pick, pick};
use crate::stats::Sample;

#[derive(Clone, Copy)]
pub struct Load {
    pub concurrency: usize,
    pub duration: Duration,
    /// Purchases per second offered in total (open loop); `None`: each reader waits for its
    /// result before buying again (closed loop).
    pub rate: Option<f64>,
    /// Chaos: request errors are retried (with the same `Idempotency-Key`) instead of counted
    /// as failures.
    pub tolerant: bool,
}

/// What the virtual readers do, one thing after another.
#[derive(Clone)]
pub enum Work {
    /// Buy random chapters of the fixture's book.
    Purchases(Arc<Vec<ChapterId>>),
    /// Recharge random packages, paid through the sandbox's webhook.
    Recharges(Arc<Recharges>),
}

/// What a reader needs to recharge and pay as the provider would: the packages, the sandbox's
/// signing key (the configured secret) and its webhook.
pub struct Recharges {
    sandbox: Sandbox,
    webhook: String,
    packages: Vec<String>,
}

impl Work {
    pub fn purchases(fixture: &Fixture) -> Self {
        Self::Purchases(Arc::new(fixture.chapters.clone()))
    }

    fn recharges(fixture: &Fixture, base: &str) -> Self {
        let payments = &fixture.settings.payments;
        Self::Recharges(Arc::new(Recharges {
            sandbox: Sandbox::new(&payments.sandbox, payments.signature_tolerance_secs),
            webhook: format!("{base}/api/payments/sandbox/webhook"),
            packages: payments.packages.iter().map(|p| p.id.clone()).collect(),
        }))
    }

    async fn once(&self, session: &Session, sample: &mut Sample) {
        match self {
            Self::Purchases(chapters) => buy(session, pick(chapters), sample).await,
            Self::Recharges(recharges) => pay(session, recharges, sample).await,
        }
    }
}

/// A signed-in virtual reader.
struct Session {
    client: Client,
    base: String,
    token: String,
    tolerant: bool,
}

pub async fn sign_in(fixture: &Fixture, base: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let client = Client::new();
    let logins = fixture.readers.iter().take(n).map(|reader| {
        let client = client.clone();
        let url = format!("{base}/api/auth/login");
        let body = json!({ "username": reader.username, "password": PASSWORD });
        async move {
            let answer: Value = client
                .post(url)
                .json(&body)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            answer["token"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("login answered no token: {answer}"))
        }
    });
    futures::future::try_join_all(logins).await
}

/// Purchases, then as long again the same readers recharging: both samples.
pub async fn run(fixture: &Fixture, base: &str, load: Load) -> anyhow::Result<(Sample, Sample)> {
    let tokens = sign_in(fixture, base, load.concurrency).await?;
    let warmup = warm_up(fixture, base, &tokens[0]).await;
    let work = Work::purchases(fixture);
    let mut purchases = run_as(base, tokens.clone(), load, work).await?;
    purchases.jobs.extend(warmup.jobs);
    let recharges = run_as(base, tokens, load, Work::recharges(fixture, base)).await?;
    Ok((purchases, recharges))
}

/// Until a new worker's id lease is usable (up to one lease TTL) nothing completes: one
/// purchase through the whole path first, outside the measurement (its job is still checked).
pub async fn warm_up(fixture: &Fixture, base: &str, token: &str) -> Sample {
    let mut warmup = Sample::default();
    let first = Session {
        client: Client::new(),
        base: base.to_owned(),
        token: token.to_owned(),
        tolerant: true,
    };
    buy(&first, pick(&fixture.chapters), &mut warmup).await;
    warmup
}

/// One measurement of `work`, with readers signed in (one token each) and the path warmed up.
pub async fn run_as(
    base: &str,
    tokens: Vec<String>,
    load: Load,
    work: Work,
) -> anyhow::Result<Sample> {
    let client = Client::builder()
        .pool_max_idle_per_host(load.concurrency * 2)
        .timeout(Duration::from_secs(15))
        .build()?;
    let started = Instant::now();
    let deadline = started + load.duration;
    let mut readers = Vec::with_capacity(tokens.len());
    for token in tokens {
        let session = Arc::new(Session {
            client: client.clone(),
            base: base.to_owned(),
            token,
            tolerant: load.tolerant,
        });
        let work = work.clone();
        readers.push(match load.rate {
            None => tokio::spawn(closed_loop(session, work, deadline)),
            Some(rate) => {
                let every = Duration::from_secs_f64(load.concurrency as f64 / rate);
                tokio::spawn(open_loop(session, work, deadline, every))
            }
        });
    }
    let mut total = Sample::default();
    for reader in readers {
        total.merge(reader.await?);
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

/// How many of `tokens` still open a session (`GET /api/me` answers 200).
pub async fn sessions_alive(base: &str, tokens: &[String]) -> anyhow::Result<usize> {
    let client = Client::new();
    let url = format!("{base}/api/me");
    let checks = tokens.iter().map(|token| {
        let request = client.get(&url).bearer_auth(token).send();
        async move { anyhow::Ok(request.await?.status() == StatusCode::OK) }
    });
    let alive = futures::future::try_join_all(checks).await?;
    Ok(alive.into_iter().filter(|ok| *ok).count())
}

async fn closed_loop(session: Arc<Session>, work: Work, deadline: Instant) -> Sample {
    let mut sample = Sample::default();
    while Instant::now() < deadline {
        work.once(&session, &mut sample).await;
    }
    sample
}

/// One purchase (or recharge) every `every`, whether or not the earlier ones are done.
async fn open_loop(
    session: Arc<Session>,
    work: Work,
    deadline: Instant,
    every: Duration,
) -> Sample {
    let shared = Arc::new(Mutex::new(Sample::default()));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Readers start spread over one interval rather than all at once.
    tokio::time::sleep(every.mul_f64(rand::random::<f64>())).await;
    let mut inflight = Vec::new();
    while Instant::now() < deadline {
        ticker.tick().await;
        let (session, shared, work) = (session.clone(), shared.clone(), work.clone());
        inflight.push(tokio::spawn(async move {
            let mut sample = Sample::default();
            work.once(&session, &mut sample).await;
            shared.lock().await.merge(sample);
        }));
    }
    for task in inflight {
        let _ = task.await;
    }
    std::mem::take(&mut *shared.lock().await)
}

/// POST the purchase, then long-poll it to its end; records what was measured in `sample`.
async fn buy(session: &Session, what: Pick, sample: &mut Sample) {
    let (path, body) = match what {
        Pick::One(id) => ("/api/purchases", json!({ "index_id": id })),
        Pick::Many(ids) => ("/api/purchases/batch", json!({ "index_ids": ids })),
    };
    let key = ulid::Ulid::new().to_string();
    let begun = Instant::now();
    let job_id = loop {
        let sent = session
            .client
            .post(format!("{}{path}", session.base))
            .bearer_auth(&session.token)
            .header("Idempotency-Key", &key)
            .json(&body)
            .send()
            .await;
        // A lost session (e.g. in a Redis that kept nothing) never comes back: no retrying.
        let signed_out = matches!(&sent, Ok(a) if a.status() == StatusCode::UNAUTHORIZED);
        match sent {
            Ok(answer) if answer.status() == StatusCode::ACCEPTED => {
                match answer.json::<Value>().await {
                    Ok(v) => break JobId::from(v["job_id"].as_str().unwrap_or_default()),
                    Err(error) => eprintln!("202 without a job: {error}"),
                }
            }
            Ok(answer) => eprintln!("POST {path}: {}", answer.status()),
            Err(error) => eprintln!("POST {path}: {error}"),
        }
        sample.failed();
        if !session.tolerant || signed_out {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    sample.enqueue.push(begun.elapsed());
    let seen = poll(session, &job_id, sample).await;
    if seen.is_some() {
        sample.completion.push(begun.elapsed());
        sample.completed += 1;
    }
    sample.jobs.push((job_id, seen));
}

/// Opens an order of a random package, delivers its signed success event to the sandbox's
/// webhook as the provider does (retrying a 5xx), then reads the order until it is paid. (The
/// webhook answers no job id, and its job's, `rch-<order>-paid`, is not one `GET /api/jobs`
/// takes; the check still finds that job's outcome.)
async fn pay(session: &Session, recharges: &Recharges, sample: &mut Sample) {
    let package = recharges.packages.choose(&mut rand::rng());
    let charge = match open_order(session, package).await {
        Ok(charge) => charge,
        Err(error) => {
            eprintln!("POST /api/recharge/orders: {error}");
            sample.failed();
            return;
        }
    };
    let event_id = format!("evt_{}", ulid::Ulid::new());
    let body = sandbox::event_body(true, &charge, &event_id, jobs::clock::now().timestamp());
    let begun = Instant::now();
    let delivered = recharges
        .sandbox
        .deliver(&session.client, &recharges.webhook, &body)
        .await;
    if !delivered {
        eprintln!("order {}: the webhook refused its event", charge.order_id);
        sample.failed();
        return;
    }
    sample.enqueue.push(begun.elapsed());
    if until_paid(session, charge.order_id).await {
        sample.completion.push(begun.elapsed());
        sample.completed += 1;
    } else {
        sample.failed();
    }
    sample
        .jobs
        .push((recharge::job_id(charge.order_id, true), None));
}

/// Reads the order (`GET /api/recharge/orders/{id}`, 2 ms apart at first, at most 20 ms) until
/// it is paid: whether it was, within two minutes.
async fn until_paid(session: &Session, order_id: OrderId) -> bool {
    let url = format!("{}/api/recharge/orders/{order_id}", session.base);
    let give_up = Instant::now() + Duration::from_secs(120);
    let mut pause = Duration::from_millis(2);
    while Instant::now() < give_up {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
        match order_status(session, &url).await.as_deref() {
            Ok("pending") => continue,
            Ok("paid") => return true,
            Ok(status) => eprintln!("order {order_id}: {status}, not paid"),
            Err(error) => eprintln!("GET order: {error}"),
        }
        return false;
    }
    eprintln!("order {order_id}: not paid within two minutes");
    false
}

/// `POST /api/recharge/orders` (201): the order's id and what it costs.
async fn open_order(session: &Session, package: Option<&String>) -> anyhow::Result<Charge> {
    let answer = session
        .client
        .post(format!("{}/api/recharge/orders", session.base))
        .bearer_auth(&session.token)
        .json(&json!({ "package_id": package }))
        .send()
        .await?;
    anyhow::ensure!(
        answer.status() == StatusCode::CREATED,
        "{}",
        answer.status()
    );
    Ok(answer.json().await?)
}

async fn order_status(session: &Session, url: &str) -> anyhow::Result<String> {
    let answer = session
        .client
        .get(url)
        .bearer_auth(&session.token)
        .send()
        .await?;
    anyhow::ensure!(answer.status() == StatusCode::OK, "{}", answer.status());
    let order: Value = answer.json().await?;
    Ok(order["status"].as_str().unwrap_or_default().to_owned())
}

/// The job's terminal status, or `None` if it could not be seen (errors, or two minutes).
async fn poll(session: &Session, job_id: &JobId, sample: &mut Sample) -> Option<String> {
    let url = format!("{}/api/jobs/{job_id}?wait_ms=5000", session.base);
    let give_up = Instant::now() + Duration::from_secs(120);
    while Instant::now() < give_up {
        let answer = session
            .client
            .get(&url)
            .bearer_auth(&session.token)
            .send()
            .await;
        let view = match answer {
            Ok(answer) if answer.status() == StatusCode::OK => answer.json::<Value>().await.ok(),
            Ok(answer) => {
                eprintln!("GET job: {}", answer.status());
                None
            }
            Err(error) => {
                eprintln!("GET job: {error}");
                None
            }
        };
        match view.as_ref().and_then(|v| v["status"].as_str()) {
            Some(status @ ("succeeded" | "failed")) => return Some(status.to_owned()),
            Some(_) => continue,
            None => {
                sample.failed();
                if !session.tolerant {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    None
}
