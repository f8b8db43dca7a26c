//! Amounts of coins: balances, prices, what a purchase spent, credits, ledger deltas.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub};

use serde::{Deserialize, Serialize};
use utoipa::openapi::{RefOr, schema::Schema};

/// A number of coins (negative only as a ledger delta), `BIGINT` in MySQL, a plain integer in
/// JSON.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Coins(i64);

impl Coins {
    pub const ZERO: Self = Self(0);

    pub const fn new(coins: i64) -> Self {
        Self(coins)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl Add for Coins {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self(self.0 + other.0)
    }
}

impl AddAssign for Coins {
    fn add_assign(&mut self, other: Self) {
        self.0 += other.0;
    }
}

impl Sub for Coins {
    type Output = Self;
    fn sub(self, other: Self) -> Self {
        Self(self.0 - other.0)
    }
}

impl Neg for Coins {
    type Output = Self;
    fn neg(self) -> Self {
        Self(-self.0)
    }
}

impl Sum for Coins {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Add::add)
    }
}

/// A plain number of coins (configuration, literals in tests).
impl From<i64> for Coins {
    fn from(coins: i64) -> Self {
        Self(coins)
    }
}

/// Compares with a plain number (tests write amounts as literals).
impl PartialEq<i64> for Coins {
    fn eq(&self, other: &i64) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Coins> for i64 {
    fn eq(&self, other: &Coins) -> bool {
        *self == other.0
    }
}

impl fmt::Display for Coins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A 64-bit integer, as before it had a name.
impl utoipa::PartialSchema for Coins {
    fn schema() -> RefOr<Schema> {
        <i64 as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for Coins {}
