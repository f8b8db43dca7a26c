//! What a chapter read records besides its answer, without slowing it: a visit (one Redis round
//! trip on a task of its own; an error is logged and counted, never the read's) and, for a
//! signed-in reader, the reading progress (a bounded queue drained by one task that writes a
//! batch every [`FLUSH_EVERY`]; a full queue drops the read and counts it).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use jobs::config::LibrarySettings;
use jobs::db::Db;
use jobs::ids::{BookId, ChapterId, UserId};
use jobs::metrics as m;
use jobs::redis_conn::RedisConn;
use jobs::shelf::{self, Progress};
use jobs::visits::{self, Reader};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const SEC_FETCH_SITE: &str = "sec-fetch-site";
const SEC_FETCH_MODE: &str = "sec-fetch-mode";

/// How often the progress queue is written to MySQL (a web crash loses at most this much).
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// A batch that meets a deadlock or a lock wait timeout is written again this many times.
const PROGRESS_RETRIES: u32 = 3;
/// Reads waiting for the next write; past this they are dropped (and counted).
const QUEUE: usize = 10_000;

/// Who sent a request, as the visit count needs it: the peer address (an IPv6 one by its /64),
/// and whether it may count at all: not a crawler's User-Agent, and not a read another site's
/// page embeds (`Sec-Fetch-Site: cross-site` outside a navigation, e.g. an `<img>` pointing at
/// a chapter).
#[derive(Debug, Clone, Default)]
pub struct Visitor {
    ip: Option<IpAddr>,
    uncounted: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let embedded = header(SEC_FETCH_SITE) == Some("cross-site")
            && header(SEC_FETCH_MODE) != Some("navigate");
        Ok(Self {
            ip: ip.map(visits::visitor_address),
            uncounted: embedded || visits::is_crawler(header(USER_AGENT.as_str())),
        })
    }
}

/// The web tier's side of visits and progress.
pub struct Library {
    redis: RedisConn,
    prefix: String,
    window_secs: u64,
    progress: mpsc::Sender<Progress>,
    stop: watch::Sender<bool>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Library {
    /// Starts the progress writer (on the current runtime).
    pub fn start(db: &Db, redis: RedisConn, prefix: &str, settings: &LibrarySettings) -> Self {
        let (progress, queue) = mpsc::channel(QUEUE);
        let (stop, stopped) = watch::channel(false);
        let writer = tokio::spawn(write_progress(db.main.clone(), queue, stopped));
        Self {
            redis,
            prefix: prefix.to_owned(),
            window_secs: settings.visit_window_secs,
            progress,
            stop,
            writer: Mutex::new(Some(writer)),
        }
    }

    /// A chapter was served: count the visit (unless `visit` is false: a draft, or its author
    /// reading), record the reader's progress. Returns at once.
    pub fn record_read(
        &self,
        visitor: &Visitor,
        visit: bool,
        user_id: Option<UserId>,
        book_id: BookId,
        index_id: ChapterId,
    ) {
        if let Some(user_id) = user_id {
            let read = Progress {
                user_id,
                book_id,
                index_id,
                read_time: jobs::clock::now(),
            };
            if self.progress.try_send(read).is_err() {
                metrics::counter!(m::PROGRESS_DROPPED, "reason" => "full").increment(1);
            }
        }
        let reader = match (user_id, visitor.ip) {
            (Some(user_id), _) => Reader::User(user_id),
            (None, Some(ip)) => Reader::Ip(ip),
            (None, None) => return,
        };
        if !visit || visitor.uncounted {
            return;
        }
        let (mut redis, prefix, window) =
            (self.redis.clone(), self.prefix.clone(), self.window_secs);
        tokio::spawn(async move {
            match visits::count(&mut redis, &prefix, window, book_id, reader).await {
                Ok(true) => metrics::counter!(m::VISITS).increment(1),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, %book_id, "visit not counted");
                    metrics::counter!(m::VISIT_ERRORS).increment(1);
                }
            }
        });
    }

    /// Writes the progress still queued and stops the writer (graceful shutdown).
    pub async fn close(&self) {
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let _ = self.stop.send(true);
            let _ = writer.await;
        }
    }
}

/// Every series this module moves, at zero.
pub fn register_metrics() {
    metrics::counter!(m::VISITS).increment(0);
    metrics::counter!(m::VISIT_ERRORS).increment(0);
    for reason in ["full", "error"] {
        metrics::counter!(m::PROGRESS_DROPPED, "reason" => reason).increment(0);
    }
}

/// Drains the queue every [`FLUSH_EVERY`], and once more when stopped: one transaction per
/// batch; a failed batch is dropped (logged and counted: progress is a convenience, and the
/// reader's next read records it again).
async fn write_progress(
    pool: sqlx::MySqlPool,
    mut queue: mpsc::Receiver<Progress>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::new();
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = stopped.changed() => true,
        };
        while let Ok(read) = queue.try_recv() {
            batch.push(read);
        }
        if !batch.is_empty() {
            let write = || shelf::record(&pool, &batch);
            if let Err(error) = jobs::db::with_retries(PROGRESS_RETRIES, write).await {
                tracing::warn!(%error, reads = batch.len(), "reading progress not recorded");
                metrics::counter!(m::PROGRESS_DROPPED, "reason" => "error")
                    .increment(batch.len() as u64);
            }
            batch.clear();
        }
        if stopping {
            return;
        }
    }
}
