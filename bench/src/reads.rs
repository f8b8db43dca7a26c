//! `bench reads`: what readers load most (the home page, a book page, a chapter through the
//! API, a filtered search) over HTTP against `web serve`, next to the same reads straight
//! against MySQL in the same run: the catalog functions the handlers call (and the content
//! shard read), the search through the same catalog function and filter. The ratio web/direct
//! is the figure. A request that fails is counted and reported, never fatal: a route that is
//! not there yet shows as errors.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jobs::catalog::{self, BookFilter, BookSort, RankingKind, Viewer};
use jobs::db::Db;
use jobs::ids::{BookId, CategoryId, ChapterId};
use jobs::paging::PageRequest;

use crate::setup::Fixture;
use crate::stats::{READS, Sample, percentile};

/// One read, as the web tier serves it and as MySQL answers it directly.
#[derive(Clone, Copy)]
enum Read {
    Home,
    Book(BookId),
    Chapter(BookId, ChapterId),
    Search(CategoryId),
}

impl Read {
    fn name(self) -> &'static str {
        match self {
            Read::Home => "home",
            Read::Book(_) => "book",
            Read::Chapter(..) => "chapter",
            Read::Search(_) => "search",
        }
    }

    fn path(self) -> String {
        match self {
            Read::Home => "/".to_owned(),
            Read::Book(book) => format!("/book/{book}"),
            Read::Chapter(book, index) => format!("/api/books/{book}/chapters/{index}"),
            Read::Search(category) => {
                format!("/api/books?category_id={category}&sort=visits&size=20")
            }
        }
    }

    /// The read straight against MySQL; `Ok(false)` when it found nothing (an error).
    async fn direct(self, db: &Db) -> anyhow::Result<bool> {
        let viewer = Viewer::default();
        Ok(match self {
            // The home page serves its sections and categories from the web tier's cache; this
            // is what refilling that cache costs: the four rankings and the category counts.
            Read::Home => {
                for kind in [
                    RankingKind::Visits,
                    RankingKind::Sales,
                    RankingKind::New,
                    RankingKind::Updated,
                ] {
                    catalog::ranking(&db.main, kind, None).await?;
                }
                catalog::categories(&db.main).await?;
                true
            }
            Read::Book(book) => {
                catalog::book_detail(&db.main, book, &viewer, PageRequest::default())
                    .await?
                    .is_some()
            }
            Read::Chapter(book, index) => {
                let row = catalog::chapter(&db.main, book, index).await?;
                let (text, _) = tokio::try_join!(
                    jobs::content::read(db, book, index),
                    catalog::neighbours(&db.main, book, row.as_ref().map_or(0, |r| r.index_num)),
                )?;
                row.is_some() && text.is_some()
            }
            Read::Search(category) => {
                search(db, category).await?;
                true
            }
        })
    }
}

/// The filtered search as the handler runs it: the count and the first page by visits.
async fn search(db: &Db, category: CategoryId) -> Result<(), sqlx::Error> {
    let filter = BookFilter {
        category_id: Some(category),
        ..BookFilter::default()
    };
    let page = PageRequest::new(Some(1), Some(20)).expect("a valid page");
    catalog::list_books(&db.main, &filter, BookSort::Visits, page).await?;
    Ok(())
}

/// The demo catalog's reads: its book with the most chapters, that book's first free chapter
/// and its category.
async fn reads(db: &Db) -> anyhow::Result<[Read; 4]> {
    let (book, category): (BookId, CategoryId) = sqlx::query_as(
        r"SELECT id, category_id FROM book WHERE status = 1 AND category_id IS NOT NULL
          ORDER BY chapter_count DESC, id LIMIT 1",
    )
    .fetch_one(&db.main)
    .await?;
    let chapter: ChapterId = sqlx::query_scalar(
        "SELECT id FROM book_index WHERE book_id = ? AND is_vip = 0 ORDER BY index_num LIMIT 1",
    )
    .bind(book)
    .fetch_one(&db.main)
    .await?;
    Ok([
        Read::Home,
        Read::Book(book),
        Read::Chapter(book, chapter),
        Read::Search(category),
    ])
}

/// Every read at every concurrency, web then direct, each with its ratio; then a table.
pub async fn run(
    fixture: &Fixture,
    base: &str,
    concurrency: &[usize],
    duration: Duration,
) -> anyhow::Result<usize> {
    jobs::demo::load(&fixture.db, &fixture.ids, &fixture.settings.pricing).await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut rows = Vec::new();
    let mut errors = 0;
    for read in reads(&fixture.db).await? {
        for &c in concurrency {
            let url = Arc::new(format!("{base}{}", read.path()));
            let web = closed_loop(c, duration, || {
                let (client, url) = (client.clone(), url.clone());
                async move {
                    let response = client.get(url.as_str()).send().await?;
                    let ok = response.status().is_success();
                    response.bytes().await?;
                    Ok(ok)
                }
            })
            .await;
            println!(
                "{}",
                web.line(&format!("{} web C={c}", read.name()), &READS)
            );
            let mut database = fixture.settings.database.clone();
            database.max_connections = c as u32;
            let db = Arc::new(Db::connect(&database, &fixture.settings.sharding)?);
            let direct = closed_loop(c, duration, || {
                let db = db.clone();
                async move { read.direct(&db).await }
            })
            .await;
            db.close().await;
            println!(
                "{}",
                direct.line(&format!("{} direct C={c}", read.name()), &READS)
            );
            let ratio = web.throughput() / direct.throughput().max(1e-9);
            println!("ratio web/direct {} C={c}: {ratio:.2}", read.name());
            errors += web.errors + direct.errors;
            rows.push(Row {
                read: read.name(),
                concurrency: c,
                ratio,
                web,
                direct,
            });
        }
    }
    print_table(&rows);
    Ok(errors)
}

/// `concurrency` tasks each running `request` back to back until `duration` is over; a request
/// that errs or answers `false` counts as an error, not as a completed read.
async fn closed_loop<F, Fut>(concurrency: usize, duration: Duration, request: F) -> Sample
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>> + Send + 'static,
{
    let started = Instant::now();
    let deadline = started + duration;
    let request = &request;
    let tasks = (0..concurrency).map(|_| async move {
        let mut sample = Sample::default();
        while Instant::now() < deadline {
            let begun = Instant::now();
            match tokio::spawn(request()).await {
                Ok(Ok(true)) => {
                    sample.completion.push(begun.elapsed());
                    sample.completed += 1;
                }
                _ => sample.failed(),
            }
        }
        sample
    });
    let mut total = Sample::default();
    for sample in futures::future::join_all(tasks).await {
        total.merge(sample);
    }
    total.elapsed = started.elapsed();
    total
}

struct Row {
    read: &'static str,
    concurrency: usize,
    ratio: f64,
    web: Sample,
    direct: Sample,
}

fn print_table(rows: &[Row]) {
    println!(
        "\nread       C     web/s  web p50  web p99  direct/s  direct p50  direct p99  web/direct  errors"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for row in rows {
        let (web, direct) = (&row.web.completion, &row.direct.completion);
        println!(
            "{:<8} {:>3} {:>9.1} {:>8.1} {:>8.1} {:>9.1} {:>11.1} {:>11.1} {:>11.2} {:>7}",
            row.read,
            row.concurrency,
            row.web.throughput(),
            ms(percentile(web, 50.0)),
            ms(percentile(web, 99.0)),
            row.direct.throughput(),
            ms(percentile(direct, 50.0)),
            ms(percentile(direct, 99.0)),
            row.ratio,
            row.web.errors + row.direct.errors,
        );
    }
}
