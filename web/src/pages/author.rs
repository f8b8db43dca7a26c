//! The author's desk: income (a chart of the last 30 days and a table per book), my books with
//! the editing of one ([`super::desk`]), new book, new chapter (writes through the author API).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use jobs::ids::BookId;
use jobs::income::{self, Figures, Period};
use minijinja::context;
use serde::Serialize;

use super::chart::{self, Series};
use super::desk::{self, DeskQuery};
use super::{PageError, render, sign_in_first};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::sessions::MaybeSession;
use crate::state::AppState;

/// Days the income chart shows.
const CHART_DAYS: u64 = 30;

/// One book's income over the chart's days.
#[derive(Serialize)]
struct BookIncome {
    book_name: String,
    #[serde(flatten)]
    figures: Figures,
}

/// Readers see a form to become an author; authors their income and their books.
pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    query: Result<ApiQuery<DeskQuery>, ApiError>,
) -> Result<Response, PageError> {
    let Some(session) = session else {
        return Ok(sign_in_first("/author"));
    };
    let ApiQuery(query) = query?;
    let Some(author_id) = session.author_id else {
        return render(
            "author.html",
            Some(&session),
            context! { is_author => false },
        );
    };
    let desk = desk::load(&state, author_id, &query).await?;
    let days = income::requested_range(None, None, CHART_DAYS).map_err(ApiError::invalid)?;
    let earned = income::author_income(&state.db.main, author_id, days, Period::Day, None).await?;
    let mut net_per_day: BTreeMap<String, i64> = days
        .days()
        .map(|d| (d.format("%Y-%m-%d").to_string(), 0))
        .collect();
    let mut books: BTreeMap<BookId, BookIncome> = BTreeMap::new();
    for item in earned.items {
        *net_per_day.entry(item.period).or_default() += item.figures.net_coins.get();
        books
            .entry(item.book_id)
            .or_insert_with(|| BookIncome {
                book_name: item.book_name,
                figures: Figures::default(),
            })
            .figures
            .add(item.figures);
    }
    let labels: Vec<String> = net_per_day.keys().cloned().collect();
    let chart = chart::bars(
        &labels,
        &[Series {
            name: "net coins",
            class: "earned",
            values: net_per_day.into_values().collect(),
        }],
    );
    let books: Vec<BookIncome> = books.into_values().collect();
    render(
        "author.html",
        Some(&session),
        context! { is_author => true, chart, books, totals => earned.totals,
        caption => "Net coins per day, last 30 days (UTC)", desk },
    )
}
