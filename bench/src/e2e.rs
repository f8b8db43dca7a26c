//! Virtual readers over real HTTP: sign in, buy random VIP chapters (singles and some batches),
//! long-poll each job to its terminal result.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jobs::ids::ChapterId;
use jobs::job::JobId;
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

pub async fn run(fixture: &Fixture, base: &str, load: Load) -> anyhow::Result<Sample> {
    let tokens = sign_in(fixture, base, load.concurrency).await?;
    let warmup = warm_up(fixture, base, &tokens[0]).await;
    let mut total = run_as(fixture, base, tokens, load).await?;
    total.jobs.extend(warmup.jobs);
    Ok(total)
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

/// The measurement of `run`, with readers signed in (one token each) and the path warmed up.
pub async fn run_as(
    fixture: &Fixture,
    base: &str,
    tokens: Vec<String>,
    load: Load,
) -> anyhow::Result<Sample> {
    let client = Client::builder()
        .pool_max_idle_per_host(load.concurrency * 2)
        .timeout(Duration::from_secs(15))
        .build()?;
    let chapters = Arc::new(fixture.chapters.clone());
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
        let chapters = chapters.clone();
        readers.push(match load.rate {
            None => tokio::spawn(closed_loop(session, chapters, deadline)),
            Some(rate) => {
                let every = Duration::from_secs_f64(load.concurrency as f64 / rate);
                tokio::spawn(open_loop(session, chapters, deadline, every))
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

async fn closed_loop(
    session: Arc<Session>,
    chapters: Arc<Vec<ChapterId>>,
    deadline: Instant,
) -> Sample {
    let mut sample = Sample::default();
    while Instant::now() < deadline {
        let what = pick(&chapters);
        buy(&session, what, &mut sample).await;
    }
    sample
}

/// One purchase every `every`, whether or not the earlier ones are done.
async fn open_loop(
    session: Arc<Session>,
    chapters: Arc<Vec<ChapterId>>,
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
        let (session, shared, what) = (session.clone(), shared.clone(), pick(&chapters));
        inflight.push(tokio::spawn(async move {
            let mut sample = Sample::default();
            buy(&session, what, &mut sample).await;
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
        sample.errors += 1;
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
                sample.errors += 1;
                if !session.tolerant {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    None
}
