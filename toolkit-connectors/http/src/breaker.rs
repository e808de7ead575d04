//! The per-tool circuit breaker: after `failureThreshold` failed requests in a row the circuit
//! opens and requests fail at once for `openFor`; then one trial request is let through, whose
//! outcome closes the circuit or opens it again.
//!
//! A request takes a [`Permit`] and reports how it went. A permit dropped without a report
//! (the call was cancelled, or failed before anything was sent) changes nothing, except that a
//! trial gives its place to the next request.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::BreakerPolicy;

/// How long a request waits, at least, while a trial request is under way.
const TRIAL_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_running: bool },
}

/// One tool's circuit.
#[derive(Debug)]
pub(crate) struct Breaker {
    policy: BreakerPolicy,
    state: Mutex<State>,
}

/// What a request learnt about the upstream's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// It answered (any status that does not signal overload or failure).
    Up,
    /// It failed: no connection, a timeout, or a 408, 500, 502, 503 or 504.
    Down,
}

/// Leave to send one request.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    breaker: &'a Breaker,
    trial: bool,
    reported: bool,
}

impl Breaker {
    pub(crate) fn new(policy: BreakerPolicy) -> Self {
        Self { policy, state: Mutex::new(State::Closed { failures: 0 }) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is a plain value, valid whatever a panicking holder did.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A permit, or how long until the circuit lets a request through.
    pub(crate) fn acquire(&self) -> Result<Permit<'_>, Duration> {
        let mut state = self.state();
        let now = Instant::now();
        let trial = match *state {
            State::Closed { .. } => false,
            State::Open { until } if now < until => return Err(until - now),
            State::Open { .. } | State::HalfOpen { trial_running: false } => {
                *state = State::HalfOpen { trial_running: true };
                true
            }
            State::HalfOpen { trial_running: true } => return Err(TRIAL_WAIT),
        };
        Ok(Permit { breaker: self, trial, reported: false })
    }

    #[cfg(test)]
    fn is_open(&self) -> bool {
        !matches!(*self.state(), State::Closed { .. })
    }
}

impl Permit<'_> {
    /// Records the outcome of the request.
    pub(crate) fn report(mut self, health: Health) {
        self.reported = true;
        let policy = self.breaker.policy;
        let mut state = self.breaker.state();
        let open = || State::Open { until: Instant::now() + policy.open_for };
        *state = match (*state, health, self.trial) {
            (_, Health::Up, true) => State::Closed { failures: 0 },
            (_, Health::Down, true) => open(),
            (State::Closed { .. }, Health::Up, false) => State::Closed { failures: 0 },
            (State::Closed { failures }, Health::Down, false) if failures + 1 >= policy.failure_threshold => open(),
            (State::Closed { failures }, Health::Down, false) => State::Closed { failures: failures + 1 },
            // A request sent before the circuit opened says nothing about now.
            (other, _, false) => other,
        };
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.trial && !self.reported {
            let mut state = self.breaker.state();
            if *state == (State::HalfOpen { trial_running: true }) {
                *state = State::HalfOpen { trial_running: false };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32) -> Breaker {
        Breaker::new(BreakerPolicy { failure_threshold: threshold, open_for: Duration::from_secs(10) })
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_failures_in_a_row_and_closes_after_a_good_trial() {
        let b = breaker(3);
        b.acquire().unwrap().report(Health::Down);
        b.acquire().unwrap().report(Health::Down);
        b.acquire().unwrap().report(Health::Up);
        for _ in 0..3 {
            b.acquire().unwrap().report(Health::Down);
        }
        assert!(b.is_open());
        let wait = b.acquire().unwrap_err();
        assert!(wait <= Duration::from_secs(10) && wait > Duration::from_secs(9));
        tokio::time::advance(Duration::from_secs(10)).await;
        let trial = b.acquire().unwrap();
        assert_eq!(b.acquire().unwrap_err(), TRIAL_WAIT);
        trial.report(Health::Up);
        assert!(!b.is_open());
        b.acquire().unwrap().report(Health::Down);
        assert!(!b.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_opens_again_and_an_abandoned_one_frees_its_place() {
        let b = breaker(1);
        b.acquire().unwrap().report(Health::Down);
        tokio::time::advance(Duration::from_secs(10)).await;
        b.acquire().unwrap().report(Health::Down);
        assert!(b.acquire().is_err());
        tokio::time::advance(Duration::from_secs(10)).await;
        drop(b.acquire().unwrap());
        b.acquire().unwrap().report(Health::Up);
        assert!(!b.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn late_answers_do_not_close_an_open_circuit() {
        let b = breaker(1);
        let early = b.acquire().unwrap();
        b.acquire().unwrap().report(Health::Down);
        early.report(Health::Up);
        assert!(b.acquire().is_err());
    }
}
