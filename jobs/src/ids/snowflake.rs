//! The pure snowflake layout and sequence logic, with time passed in so it can be tested.

/// 2020-01-01T00:00:00Z in Unix milliseconds.
pub const EPOCH_MS: u64 = 1_577_836_800_000;
/// Largest datacenter or machine id (5 bits each).
pub const MAX_NODE: u8 = 31;
/// A clock step back up to this many milliseconds is waited out; a larger one is refused.
pub const MAX_BACKWARDS_WAIT_MS: u64 = 5;
/// Each new millisecond's sequence starts below this, so slowly minted ids spread over shards.
pub const RANDOM_START_BELOW: u16 = 100;

const SEQUENCE_BITS: u32 = 12;
const MACHINE_BITS: u32 = 5;
const DATACENTER_BITS: u32 = 5;
const MAX_SEQUENCE: u16 = (1 << SEQUENCE_BITS) - 1;

/// What the generator asks its caller to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Id(i64),
    /// The millisecond is used up (or not yet allowed): try again at this Unix millisecond.
    WaitUntil(u64),
    /// The clock went back by at most `MAX_BACKWARDS_WAIT_MS`: wait until this millisecond.
    ClockStepBack(u64),
    /// The clock went back further than can be waited out: refuse to mint.
    ClockWentBack {
        behind_ms: u64,
    },
}

#[derive(Debug, Clone)]
pub struct Snowflake {
    datacenter: u8,
    machine: u8,
    last_ms: u64,
    sequence: u16,
}

impl Snowflake {
    /// `floor_ms`: never mint at or before this Unix millisecond (a predecessor's last).
    pub fn new(datacenter: u8, machine: u8, floor_ms: u64) -> Self {
        assert!(datacenter <= MAX_NODE && machine <= MAX_NODE);
        Self {
            datacenter,
            machine,
            last_ms: floor_ms,
            sequence: MAX_SEQUENCE,
        }
    }

    pub fn machine(&self) -> u8 {
        self.machine
    }

    pub fn last_ms(&self) -> u64 {
        self.last_ms
    }

    /// The next id at Unix time `now_ms`; `start` is the random first sequence of a new millisecond.
    pub fn next(&mut self, now_ms: u64, start: u16) -> Next {
        if now_ms < self.last_ms {
            let behind_ms = self.last_ms - now_ms;
            return if behind_ms <= MAX_BACKWARDS_WAIT_MS {
                Next::ClockStepBack(self.last_ms)
            } else {
                Next::ClockWentBack { behind_ms }
            };
        }
        if now_ms == self.last_ms {
            if self.sequence >= MAX_SEQUENCE {
                return Next::WaitUntil(self.last_ms + 1);
            }
            self.sequence += 1;
        } else {
            self.last_ms = now_ms;
            self.sequence = start.min(RANDOM_START_BELOW - 1);
        }
        Next::Id(self.compose())
    }

    fn compose(&self) -> i64 {
        let millis = self.last_ms - EPOCH_MS;
        let id = (millis << (SEQUENCE_BITS + MACHINE_BITS + DATACENTER_BITS))
            | (u64::from(self.datacenter) << (SEQUENCE_BITS + MACHINE_BITS))
            | (u64::from(self.machine) << SEQUENCE_BITS)
            | u64::from(self.sequence);
        id as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = EPOCH_MS + 1_000_000;

    #[test]
    fn ids_grow_within_and_across_milliseconds() {
        let mut sf = Snowflake::new(1, 2, 0);
        let Next::Id(a) = sf.next(T, 7) else { panic!() };
        let Next::Id(b) = sf.next(T, 7) else { panic!() };
        let Next::Id(c) = sf.next(T + 1, 0) else {
            panic!()
        };
        assert!(a < b && b < c);
        assert_eq!(a & 0xfff, 7);
        assert_eq!((a >> 12) & 31, 2);
        assert_eq!((a >> 17) & 31, 1);
        assert_eq!((a >> 22) as u64, 1_000_000);
    }

    #[test]
    fn an_exhausted_millisecond_waits_for_the_next() {
        let mut sf = Snowflake::new(0, 0, 0);
        let mut minted = 0;
        while let Next::Id(_) = sf.next(T, 0) {
            minted += 1;
        }
        assert_eq!(minted, 4096);
        assert_eq!(sf.next(T, 0), Next::WaitUntil(T + 1));
    }

    #[test]
    fn a_small_step_back_is_waited_out_and_a_large_one_refused() {
        let mut sf = Snowflake::new(0, 0, 0);
        assert!(matches!(sf.next(T, 0), Next::Id(_)));
        assert_eq!(sf.next(T - 3, 0), Next::ClockStepBack(T));
        assert_eq!(sf.next(T - 50, 0), Next::ClockWentBack { behind_ms: 50 });
    }

    #[test]
    fn nothing_is_minted_at_or_before_the_floor() {
        let mut sf = Snowflake::new(0, 0, T);
        assert_eq!(sf.next(T, 0), Next::WaitUntil(T + 1));
        assert!(matches!(sf.next(T + 1, 0), Next::Id(_)));
    }
}
