//! The job object clients poll: its kind, status, result or failure code.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::JobId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Purchase,
    BatchPurchase,
    Refund,
    RefundSweep,
    IncomeRollup,
    Recharge,
    OrderExpiry,
    VisitFlush,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Purchase,
        Kind::BatchPurchase,
        Kind::Refund,
        Kind::RefundSweep,
        Kind::IncomeRollup,
        Kind::Recharge,
        Kind::OrderExpiry,
        Kind::VisitFlush,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Purchase => "purchase",
            Kind::BatchPurchase => "batch_purchase",
            Kind::Refund => "refund",
            Kind::RefundSweep => "refund_sweep",
            Kind::IncomeRollup => "income_rollup",
            Kind::Recharge => "recharge",
            Kind::OrderExpiry => "order_expiry",
            Kind::VisitFlush => "visit_flush",
        }
    }

    /// How many queues this kind has when a deployment has `partitions`: all of them for the
    /// kinds a user's requests make (each user's jobs in their own partition), one (partition
    /// 0's) for recharges, whose ids are fixed by their order, and the scheduled kinds.
    pub fn partitions(self, partitions: u16) -> u16 {
        match self {
            Kind::Purchase | Kind::BatchPurchase | Kind::Refund => partitions,
            _ => 1,
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// Business failures are outcomes (published, job done), never retried errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    InsufficientBalance,
    AlreadyBought,
    ChapterNotFound,
    NotForSale,
    PriceChanged,
    Internal,
}

impl FailureCode {
    pub const ALL: [FailureCode; 6] = [
        FailureCode::InsufficientBalance,
        FailureCode::AlreadyBought,
        FailureCode::ChapterNotFound,
        FailureCode::NotForSale,
        FailureCode::PriceChanged,
        FailureCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::InsufficientBalance => "insufficient_balance",
            FailureCode::AlreadyBought => "already_bought",
            FailureCode::ChapterNotFound => "chapter_not_found",
            FailureCode::NotForSale => "not_for_sale",
            FailureCode::PriceChanged => "price_changed",
            FailureCode::Internal => "internal",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            FailureCode::InsufficientBalance => "not enough coins for this purchase",
            FailureCode::AlreadyBought => "this chapter is already yours",
            FailureCode::ChapterNotFound => "a chapter of this purchase does not exist",
            FailureCode::NotForSale => "this chapter is free and not for sale",
            FailureCode::PriceChanged => {
                "the charge would pass the price you saw (max_price / max_total); nothing was charged"
            }
            FailureCode::Internal => "the job could not be completed; nothing was charged",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobError {
    pub code: FailureCode,
    pub message: String,
}

/// What `GET /api/jobs/{id}` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobView {
    pub job_id: JobId,
    pub kind: Kind,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
}

impl JobView {
    pub fn new(job_id: &JobId, kind: Kind, status: Status) -> Self {
        Self {
            job_id: job_id.clone(),
            kind,
            status,
            result: None,
            error: None,
        }
    }

    pub fn succeeded(job_id: &JobId, kind: Kind, result: Value) -> Self {
        Self {
            result: Some(result),
            ..Self::new(job_id, kind, Status::Succeeded)
        }
    }

    pub fn failed(job_id: &JobId, kind: Kind, code: FailureCode) -> Self {
        let error = JobError {
            code,
            message: code.message().to_owned(),
        };
        Self {
            error: Some(error),
            ..Self::new(job_id, kind, Status::Failed)
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.status, Status::Succeeded | Status::Failed)
    }
}

pub fn to_json(view: &JobView) -> String {
    serde_json::to_string(view).expect("a job view always serialises")
}
