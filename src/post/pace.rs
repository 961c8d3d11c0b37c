//! Rate control (SPEC §6): when the next request may start, shared by every worker.
//!
//! Without `--rate-limit` the pace is found from the server's answers, as TCP finds a link's
//! capacity: additive increase while requests are admitted, multiplicative decrease on a 429.
//! What makes it hold against real limiters:
//!
//! - **One signal per burst.** A cut opens an epoch; 429s answering requests sent before it
//!   were in flight together and say nothing new, so they are ignored.
//! - **Blocked, not collapsing.** When requests sent after a cut are refused too and none is
//!   admitted, the server admits nothing right now (a fixed window used up, a `Retry-After`
//!   pause): instead of cutting again and again, one probe at a time goes out, backing off
//!   (and never before `Retry-After`), until one is admitted.
//! - **Learning a window.** A block that lasted long is a window-type limit (say 100 a
//!   minute): the pace becomes what the server admitted over the whole cycle, so the next
//!   window is used evenly instead of being spent in a burst, and when a later window is spent
//!   anyway, the first probe goes out when the window should open again, one cycle on.
//! - **Climbing again.** While requests are admitted the pace grows, slowly right after a cut
//!   and faster the longer no 429 comes, so a raised limit is found within seconds. At low
//!   rates growth is also capped per request, so each cycle spans enough requests that one
//!   429 per cycle stays a small share.
//!
//! `--rate-limit N/min` fixes a ceiling: the pace starts there, without a burst, and 429s
//! still slow it down below it. [`Controller`] is pure (time is an argument), so the tests
//! below drive it in virtual time against sliding-window, fixed-window and token-bucket
//! servers; [`Pacer`] is its async face for the workers.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Cut to this share of the pace that provoked a 429.
const BETA: f64 = 0.9;
/// Cut deeper when 429s come in quick succession (fewer than [`QUICK`] admitted between).
const BETA_DEEP: f64 = 0.75;
const QUICK: u32 = 8;
/// Growth per second right after a cut; it rises by itself every [`ACCEL`] without a 429.
const GROW_PER_SEC: f64 = 0.04;
const ACCEL: Duration = Duration::from_secs(10);
/// Growth per admitted request at most (binds at low rates, see the module docs).
const GROW_PER_REQUEST: f64 = 0.005;
/// The first probe of a block waits this long; each failed probe doubles it up to the cap.
const PROBE_FIRST: Duration = Duration::from_millis(250);
const PROBE_CAP: Duration = Duration::from_secs(15);
/// A block at least this long is a window-type limit (see "learning a window").
const LONG_BLOCK: Duration = Duration::from_secs(2);
/// A cycle must have admitted this many requests before its average is trusted.
const CYCLE_MIN: u64 = 10;
/// How many recent starts measure the pace actually sent.
const RECENT: usize = 20;
/// Bounds of the pace, in requests per second.
const MIN_RATE: f64 = 0.05;
const MAX_RATE: f64 = 1.0e6;

/// What the server said to one request, as far as the pace is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    /// Any answer but 429: the server's limiter let it through.
    Admitted,
    /// 429, with the server's `Retry-After` when it gave a usable one.
    Limited { retry_after: Option<Duration> },
    /// No answer at all (timeout, connection lost): says nothing about the limit.
    Lost,
}

/// One started request, handed back with its answer.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    pub sent_at: Instant,
}

/// When the next request may start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slot {
    At(Instant),
    /// Blocked with the probe still out: wait for its answer.
    AfterProbe,
}

/// Admitted requests by send time, in 100 ms buckets over the last 10 s: the rate the server
/// admitted lately, in constant memory whatever the rate.
struct Admitted {
    origin: Instant,
    buckets: [u32; 100],
    /// The bucket index (counted from `origin`) that `buckets[newest % 100]` holds.
    newest: u64,
}

impl Admitted {
    const BUCKET: Duration = Duration::from_millis(100);

    fn new(origin: Instant) -> Self {
        Admitted {
            origin,
            buckets: [0; 100],
            newest: 0,
        }
    }

    fn index(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.origin).as_millis() / Self::BUCKET.as_millis()) as u64
    }

    fn advance(&mut self, to: u64) {
        if to <= self.newest {
            return;
        }
        for i in (self.newest + 1)..=to.min(self.newest + 100) {
            self.buckets[(i % 100) as usize] = 0;
        }
        self.newest = to;
    }

    fn record(&mut self, sent_at: Instant, now: Instant) {
        self.advance(self.index(now));
        let i = self.index(sent_at);
        if i + 100 > self.newest && i <= self.newest {
            self.buckets[(i % 100) as usize] += 1;
        }
    }

    /// Admitted requests per second over the last `span` (at most 10 s) before `now`.
    fn rate(&mut self, now: Instant, span: Duration) -> f64 {
        self.advance(self.index(now));
        let n = (span.as_millis() / Self::BUCKET.as_millis()).clamp(1, 100) as u64;
        let count: u32 = (0..n.min(self.newest + 1))
            .map(|back| self.buckets[((self.newest - back) % 100) as usize])
            .sum();
        f64::from(count) / (n as f64 * Self::BUCKET.as_secs_f64())
    }
}

struct Block {
    since: Instant,
    next_probe: Instant,
    probe_wait: Duration,
    probe_out: bool,
    /// Answers to requests sent before this are stragglers of the burst, not probes.
    probes_from: Instant,
}

/// The pace, as a pure state machine: [`Controller::next_start`] says when the next request
/// may start, [`Controller::started`] records that it did, [`Controller::answered`] feeds back
/// what the server said.
pub struct Controller {
    ceiling: Option<f64>,
    /// Requests per second; `None` until the first 429 (no pace: concurrency alone bounds).
    rate: Option<f64>,
    last_start: Option<Instant>,
    first_start: Option<Instant>,
    recent: VecDeque<Instant>,
    admitted: Admitted,
    /// When the last cut happened: 429s for requests sent before it belong to its burst.
    epoch: Option<Instant>,
    admitted_since_epoch: u32,
    /// When growth restarted (the last cut, or the end of the last block).
    calm_since: Instant,
    block: Option<Block>,
    cycle_start: Instant,
    cycle_admitted: u64,
    /// The length of the last window-type cycle: when the next one should open.
    learned_cycle: Option<Duration>,
    limited: u64,
}

impl Controller {
    /// `per_minute`: the user's `--rate-limit`, a ceiling and the starting pace.
    pub fn new(per_minute: Option<u32>, now: Instant) -> Self {
        let ceiling = per_minute.map(|n| f64::from(n.max(1)) / 60.0);
        Controller {
            ceiling,
            rate: ceiling,
            last_start: None,
            first_start: None,
            recent: VecDeque::with_capacity(RECENT),
            admitted: Admitted::new(now),
            epoch: None,
            admitted_since_epoch: 0,
            calm_since: now,
            block: None,
            cycle_start: now,
            cycle_admitted: 0,
            learned_cycle: None,
            limited: 0,
        }
    }

    /// The current pace in requests per second, if there is one.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Since when the server has admitted nothing, if it is blocking.
    pub fn blocked_since(&self) -> Option<Instant> {
        self.block.as_ref().map(|b| b.since)
    }

    /// How many 429s have been answered so far.
    pub fn limited_count(&self) -> u64 {
        self.limited
    }

    pub fn next_start(&self, now: Instant) -> Slot {
        if let Some(b) = &self.block {
            return if b.probe_out {
                Slot::AfterProbe
            } else {
                Slot::At(b.next_probe.max(now))
            };
        }
        match (self.rate, self.last_start) {
            (Some(rate), Some(last)) => {
                Slot::At(now.max(last + Duration::from_secs_f64(1.0 / rate)))
            }
            _ => Slot::At(now),
        }
    }

    pub fn started(&mut self, at: Instant) -> Ticket {
        self.first_start.get_or_insert(at);
        self.last_start = Some(at);
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(at);
        if let Some(b) = &mut self.block {
            b.probe_out = true;
        }
        Ticket { sent_at: at }
    }

    /// The pace actually sent lately (requests per second), from the last [`RECENT`] starts.
    fn sent_rate(&self) -> f64 {
        match (self.recent.front(), self.recent.back()) {
            (Some(first), Some(last)) if self.recent.len() >= 2 => {
                let span = last.saturating_duration_since(*first).as_secs_f64();
                (self.recent.len() - 1) as f64 / span.max(1e-6)
            }
            _ => MAX_RATE,
        }
    }

    fn set_rate(&mut self, rate: f64) {
        let rate = rate.clamp(MIN_RATE, self.ceiling.unwrap_or(MAX_RATE));
        self.rate = Some(rate);
    }

    pub fn answered(&mut self, ticket: Ticket, now: Instant, answer: Answer) {
        let sent = ticket.sent_at;
        match answer {
            Answer::Admitted => self.on_admitted(sent, now),
            Answer::Limited { retry_after } => {
                self.limited += 1;
                self.on_limited(sent, now, retry_after)
            }
            Answer::Lost => {
                if let Some(b) = &mut self.block {
                    if sent >= b.probes_from {
                        b.probe_out = false;
                    }
                }
            }
        }
    }

    fn on_admitted(&mut self, sent: Instant, now: Instant) {
        self.admitted.record(sent, now);
        self.cycle_admitted += 1;
        if self.epoch.is_none_or(|e| sent >= e) {
            self.admitted_since_epoch += 1;
        }
        if let Some(block) = self.block.take() {
            if now.saturating_duration_since(block.since) >= LONG_BLOCK
                && self.cycle_admitted >= CYCLE_MIN
            {
                let cycle = now.saturating_duration_since(self.cycle_start);
                self.set_rate(self.cycle_admitted as f64 / cycle.as_secs_f64().max(1e-3));
                self.learned_cycle = Some(cycle);
                self.cycle_start = now;
                self.cycle_admitted = 0;
            }
            self.calm_since = now;
            return;
        }
        if let Some(rate) = self.rate {
            let calm = now.saturating_duration_since(self.calm_since).as_secs_f64();
            let accel = 1.0 + calm / ACCEL.as_secs_f64();
            let per_request = (GROW_PER_SEC * accel / rate)
                .min(GROW_PER_REQUEST * accel)
                .min(0.1);
            // Never far above what is really sent: a pace the workers cannot use says nothing.
            let cap = 2.0 * self.sent_rate() + 1.0;
            if rate < cap {
                self.set_rate((rate * (1.0 + per_request)).min(cap));
            }
        }
    }

    fn on_limited(&mut self, sent: Instant, now: Instant, retry_after: Option<Duration>) {
        // A server's wait may be anything; past a day it means "stop" to the caller anyway.
        let wait_at_least = |d: Duration| {
            let wait = d
                .max(retry_after.unwrap_or_default())
                .min(Duration::from_secs(86_400));
            now + wait
        };
        if let Some(b) = &mut self.block {
            if sent < b.probes_from {
                return;
            }
            b.probe_out = false;
            b.probe_wait = (b.probe_wait * 2).min(PROBE_CAP);
            b.next_probe = wait_at_least(b.probe_wait);
            return;
        }
        if self.epoch.is_some_and(|e| sent < e) {
            return;
        }
        if self.epoch.is_some() && self.admitted_since_epoch == 0 {
            // The cut did not help: what the server admitted lately bounds the pace.
            if let Some(rate) = self.rate {
                let alive = now.saturating_duration_since(self.first_start.unwrap_or(now));
                let span = Duration::from_secs_f64((RECENT as f64 / rate).clamp(1.0, 10.0))
                    .min(alive.max(Duration::from_millis(100)));
                let admitted = self.admitted.rate(now, span);
                if admitted > 0.0 {
                    self.set_rate(rate.min(BETA * admitted));
                }
            }
            // A window learned before opens again about one cycle after the last one did:
            // probe then, not every few seconds until it does.
            let first_probe = match self.learned_cycle {
                Some(cycle) => (self.cycle_start + cycle).max(now + PROBE_FIRST),
                None => now + PROBE_FIRST,
            };
            self.block = Some(Block {
                since: self.epoch.unwrap_or(now),
                next_probe: first_probe.max(wait_at_least(PROBE_FIRST)),
                probe_wait: PROBE_FIRST,
                probe_out: false,
                probes_from: now,
            });
            return;
        }
        // A new congestion signal.
        let quick = self.admitted_since_epoch < QUICK;
        self.epoch = Some(now);
        self.admitted_since_epoch = 0;
        self.calm_since = now;
        let cut = match self.rate {
            None => BETA * self.admitted.rate(now, Duration::from_secs(1)).max(1.0),
            Some(rate) => (if quick { BETA_DEEP } else { BETA }) * rate.min(self.sent_rate()),
        };
        self.set_rate(cut);
    }
}

/// A started request's place in the pace, until its answer is known.
pub struct Permit<'a> {
    pacer: &'a Pacer,
    ticket: Option<Ticket>,
}

impl Permit<'_> {
    pub fn answer(mut self, answer: Answer) {
        if let Some(ticket) = self.ticket.take() {
            self.pacer.answered(ticket, answer);
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.pacer.answered(ticket, Answer::Lost);
        }
    }
}

/// Why a worker got no slot.
#[derive(Debug, Clone, PartialEq)]
pub enum NoSlot {
    /// Ctrl-C, or the run is stopping for another reason.
    Cancelled,
    /// The next slot lies further ahead than `--max-wait` allows.
    WaitTooLong { wait: Duration },
    /// The server has admitted nothing for longer than `--max-wait`.
    BlockedTooLong { blocked: Duration },
}

/// The controller shared by every worker. Workers queue for their turn (tokio's mutex is
/// fair, so they start in arrival order); the head sleeps until its slot and re-checks when
/// an answer changes the pace.
pub struct Pacer {
    control: Mutex<Controller>,
    turn: tokio::sync::Mutex<()>,
    changed: Notify,
    max_wait: Duration,
}

impl Pacer {
    pub fn new(per_minute: Option<u32>, max_wait: Duration) -> Self {
        Pacer {
            control: Mutex::new(Controller::new(per_minute, Instant::now())),
            turn: tokio::sync::Mutex::new(()),
            changed: Notify::new(),
            max_wait,
        }
    }

    fn control(&self) -> std::sync::MutexGuard<'_, Controller> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for this worker's turn to start a request. The permit must be answered; one
    /// dropped unanswered (its worker failed) counts as a lost answer, so a probe never stays
    /// "out" for ever.
    pub async fn acquire(&self, cancel: &CancellationToken) -> Result<Permit<'_>, NoSlot> {
        self.acquire_ticket(cancel).await.map(|ticket| Permit {
            pacer: self,
            ticket: Some(ticket),
        })
    }

    async fn acquire_ticket(&self, cancel: &CancellationToken) -> Result<Ticket, NoSlot> {
        let _turn = tokio::select! {
            turn = self.turn.lock() => turn,
            _ = cancel.cancelled() => return Err(NoSlot::Cancelled),
        };
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let now = Instant::now();
            let (slot, blocked) = {
                let c = self.control();
                (c.next_start(now), c.blocked_since())
            };
            if let Some(since) = blocked {
                let blocked = now.saturating_duration_since(since);
                if blocked > self.max_wait {
                    return Err(NoSlot::BlockedTooLong { blocked });
                }
            }
            match slot {
                Slot::At(at) if at <= now => return Ok(self.control().started(now)),
                Slot::At(at) => {
                    let wait = at - now;
                    if wait > self.max_wait {
                        return Err(NoSlot::WaitTooLong { wait });
                    }
                    tokio::select! {
                        _ = tokio::time::sleep_until(at.into()) => {}
                        _ = changed => {}
                        _ = cancel.cancelled() => return Err(NoSlot::Cancelled),
                    }
                }
                Slot::AfterProbe => {
                    tokio::select! {
                        _ = changed => {}
                        // A probe's answer may never come back to the pacer (its worker
                        // stopped); look again now and then rather than wait forever.
                        _ = tokio::time::sleep(PROBE_CAP) => {}
                        _ = cancel.cancelled() => return Err(NoSlot::Cancelled),
                    }
                }
            }
        }
    }

    fn answered(&self, ticket: Ticket, answer: Answer) {
        self.control().answered(ticket, Instant::now(), answer);
        self.changed.notify_waiters();
    }

    pub fn limited_count(&self) -> u64 {
        self.control().limited_count()
    }

    /// The pace now (requests per second), if there is one.
    pub fn rate(&self) -> Option<f64> {
        self.control().rate()
    }
}

#[cfg(test)]
mod tests {
    //! The controller against simulated servers in virtual time: workers send as soon as the
    //! controller allows, each answer comes back after a fixed latency, a refused request is
    //! queued again. The targets are the issue's: an import of N rows (N ≥ 20·R) within
    //! 1.15 × N/R (plus one window for a fixed window), at most 10% of requests answered 429.

    use super::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    trait Server {
        /// Whether a request arriving at `t` (seconds) is admitted, and its `Retry-After`.
        fn admit(&mut self, t: f64) -> (bool, Option<f64>);
    }

    /// At most `limit(t)` admitted in any one second.
    struct Sliding {
        limit: Box<dyn Fn(f64) -> usize>,
        log: VecDeque<f64>,
    }

    impl Sliding {
        fn new(r: usize) -> Self {
            Self::changing(Box::new(move |_| r))
        }
        fn changing(limit: Box<dyn Fn(f64) -> usize>) -> Self {
            Sliding {
                limit,
                log: VecDeque::new(),
            }
        }
    }

    impl Server for Sliding {
        fn admit(&mut self, t: f64) -> (bool, Option<f64>) {
            while self.log.front().is_some_and(|&x| x <= t - 1.0) {
                self.log.pop_front();
            }
            if self.log.len() < (self.limit)(t) {
                self.log.push_back(t);
                (true, None)
            } else {
                (false, Some(1.0))
            }
        }
    }

    /// `quota` per `period` seconds, windows fixed on the clock, 429 without `Retry-After`.
    struct Fixed {
        quota: f64,
        period: f64,
        window: i64,
        used: f64,
    }

    impl Server for Fixed {
        fn admit(&mut self, t: f64) -> (bool, Option<f64>) {
            let w = (t / self.period).floor() as i64;
            if w != self.window {
                self.window = w;
                self.used = 0.0;
            }
            if self.used < self.quota {
                self.used += 1.0;
                (true, None)
            } else {
                (false, None)
            }
        }
    }

    struct Bucket {
        rate: f64,
        burst: f64,
        tokens: f64,
        last: f64,
    }

    impl Server for Bucket {
        fn admit(&mut self, t: f64) -> (bool, Option<f64>) {
            self.tokens = (self.tokens + (t - self.last) * self.rate).min(self.burst);
            self.last = t;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                (true, None)
            } else {
                (false, Some(1.0))
            }
        }
    }

    struct Outcome {
        seconds: f64,
        limited: usize,
        requests: usize,
        /// The most requests started in any one second.
        busiest_second: usize,
    }

    /// Imports `rows` rows with `workers` at a time and `latency` seconds per answer.
    fn import(
        server: &mut dyn Server,
        rows: usize,
        workers: usize,
        latency: f64,
        per_minute: Option<u32>,
    ) -> Outcome {
        let t0 = Instant::now();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        let secs = |i: Instant| i.saturating_duration_since(t0).as_secs_f64();
        let mut c = Controller::new(per_minute, t0);
        // Answers in flight: (arrival time in µs, sequence, ticket, admitted, retry-after).
        let mut flight: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
        let mut answers = std::collections::HashMap::new();
        let (mut waiting, mut pending) = (workers.min(rows), rows - workers.min(rows));
        let (mut done, mut limited, mut requests, mut seq) = (0, 0, 0, 0u64);
        let mut starts = Vec::new();
        let mut now = 0.0f64;
        while done < rows {
            // Start what the controller allows now; then jump to the next event.
            let mut next_start = None;
            while waiting > 0 {
                match c.next_start(at(now)) {
                    Slot::At(t) if secs(t) <= now + 1e-9 => {
                        let ticket = c.started(at(now));
                        requests += 1;
                        starts.push(now);
                        waiting -= 1;
                        let (ok, retry) = server.admit(now + latency / 2.0);
                        seq += 1;
                        let back = ((now + latency) * 1e6) as u64;
                        flight.push(Reverse((back, seq)));
                        answers.insert(seq, (ticket, ok, retry));
                    }
                    Slot::At(t) => {
                        next_start = Some(secs(t));
                        break;
                    }
                    Slot::AfterProbe => break,
                }
            }
            let next_answer = flight.peek().map(|Reverse((t, _))| *t as f64 / 1e6);
            match (next_answer, next_start) {
                (Some(a), s) if s.is_none_or(|s| a <= s) => {
                    let Reverse((_, id)) = flight.pop().unwrap();
                    now = now.max(a);
                    let (ticket, ok, retry) = answers.remove(&id).unwrap();
                    if ok {
                        c.answered(ticket, at(now), Answer::Admitted);
                        done += 1;
                        if pending > 0 {
                            pending -= 1;
                            waiting += 1;
                        }
                    } else {
                        limited += 1;
                        let retry_after = retry.map(Duration::from_secs_f64);
                        c.answered(ticket, at(now), Answer::Limited { retry_after });
                        waiting += 1;
                    }
                }
                (_, Some(s)) => now = s,
                _ => panic!("stuck at {now}: nothing in flight, nothing to start"),
            }
            assert!(now < 3600.0, "no end in sight");
        }
        let busiest_second = starts
            .iter()
            .enumerate()
            .map(|(i, &s)| starts[i..].iter().take_while(|&&x| x < s + 1.0).count())
            .max()
            .unwrap_or(0);
        Outcome {
            seconds: now,
            limited,
            requests,
            busiest_second,
        }
    }

    fn check(name: &str, o: &Outcome, ideal: f64, slack: f64) {
        let share = o.limited as f64 / o.requests as f64;
        eprintln!(
            "{name}: {:.1} s for ideal {ideal:.1} s ({:.3}x), {} of {} answered 429 ({:.1}%)",
            o.seconds,
            o.seconds / ideal,
            o.limited,
            o.requests,
            share * 100.0
        );
        assert!(
            o.seconds <= 1.15 * ideal + slack,
            "{name}: {:.1} s, more than 1.15 × {ideal:.1} s + {slack} s",
            o.seconds
        );
        assert!(share <= 0.10, "{name}: {:.1}% answered 429", share * 100.0);
    }

    #[test]
    fn holds_a_sliding_window_at_every_rate() {
        for r in [2usize, 5, 20, 50, 100, 400] {
            let rows = (20 * r).max(200);
            let o = import(&mut Sliding::new(r), rows, 8, 0.02, None);
            check(&format!("sliding {r}/s"), &o, rows as f64 / r as f64, 0.0);
        }
        // Many in flight and slow answers: a whole window of 429s is still one signal.
        let o = import(&mut Sliding::new(50), 1000, 32, 0.1, None);
        check("sliding 50/s, 32 in flight, 100 ms", &o, 20.0, 0.0);
    }

    #[test]
    fn holds_a_token_bucket() {
        for (rate, burst) in [
            (20.0, 20.0),
            (50.0, 50.0),
            (50.0, 200.0),
            (5.0, 100.0),
            (100.0 / 60.0, 100.0),
        ] {
            let rows = ((20.0 * rate) as usize).max(500);
            let mut b = Bucket {
                rate,
                burst,
                tokens: burst,
                last: 0.0,
            };
            let o = import(&mut b, rows, 8, 0.02, None);
            check(
                &format!("bucket {rate:.2}/s burst {burst}"),
                &o,
                rows as f64 / rate,
                0.0,
            );
        }
    }

    #[test]
    fn holds_a_fixed_minute_window_without_retry_after() {
        for (per_sec, rows) in [(10.0, 1200), (100.0 / 60.0, 300), (5.0, 1200), (20.0, 6000)] {
            let mut f = Fixed {
                quota: per_sec * 60.0,
                period: 60.0,
                window: -1,
                used: 0.0,
            };
            let o = import(&mut f, rows, 8, 0.02, None);
            check(
                &format!("fixed minute {per_sec:.2}/s"),
                &o,
                rows as f64 / per_sec,
                60.0,
            );
        }
    }

    #[test]
    fn a_raised_limit_is_used_within_a_minute() {
        // 25/s for 20 s, then 50/s: the ideal is 20 s + 1000 rows at 50/s = 40 s.
        let mut s = Sliding::changing(Box::new(|t| if t < 20.0 { 25 } else { 50 }));
        let o = import(&mut s, 1500, 8, 0.02, None);
        check("25/s doubling to 50/s at 20 s", &o, 40.0, 0.0);
        let mut s = Sliding::changing(Box::new(|t| if t < 10.0 { 50 } else { 25 }));
        let o = import(&mut s, 1000, 8, 0.02, None);
        check("50/s halving to 25/s at 10 s", &o, 30.0, 0.0);
    }

    #[test]
    fn a_fixed_rate_starts_steady_without_a_burst() {
        let mut unlimited = Sliding::new(1_000_000);
        let o = import(&mut unlimited, 300, 32, 0.02, Some(120));
        assert!(
            o.busiest_second <= 3,
            "{} started in one second",
            o.busiest_second
        );
        // 300 rows at 2 a second.
        assert!((o.seconds - 149.5).abs() < 1.0, "{} s", o.seconds);
        // Below a server limit lower than the flag, 429s still slow it down.
        let o = import(&mut Sliding::new(5), 300, 8, 0.02, Some(600));
        check("--rate-limit 600/min against 5/s", &o, 60.0, 0.0);
    }

    #[test]
    fn a_burst_of_429s_is_one_cut() {
        let t0 = Instant::now();
        let mut c = Controller::new(None, t0);
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let tickets: Vec<Ticket> = (0..40).map(|i| c.started(ms(i))).collect();
        for t in &tickets[..20] {
            c.answered(*t, ms(50), Answer::Admitted);
        }
        for t in &tickets[20..] {
            c.answered(*t, ms(60), Answer::Limited { retry_after: None });
        }
        // 20 admitted in the last second: one cut to 0.9 × 20, whatever the 20 refusals.
        assert_eq!(c.rate(), Some(18.0));
        assert!(c.blocked_since().is_none());
    }

    /// A controller blocked: one 429 burst, then a refused request sent after the cut.
    fn blocked(t0: Instant) -> Controller {
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut c = Controller::new(None, t0);
        let first = c.started(ms(0));
        c.answered(first, ms(10), Answer::Admitted);
        let burst = c.started(ms(11));
        c.answered(burst, ms(20), Answer::Limited { retry_after: None });
        let after = c.started(ms(30));
        c.answered(after, ms(40), Answer::Limited { retry_after: None });
        assert!(c.blocked_since().is_some());
        c
    }

    #[test]
    fn any_retry_after_while_blocked_is_taken_without_a_panic() {
        let t0 = Instant::now();
        let mut c = blocked(t0);
        let Slot::At(at) = c.next_start(t0 + Duration::from_millis(40)) else {
            panic!("no probe slot")
        };
        let probe = c.started(at);
        c.answered(
            probe,
            at,
            Answer::Limited {
                retry_after: Some(Duration::MAX),
            },
        );
        match c.next_start(at) {
            Slot::At(next) => assert!(next > at + Duration::from_secs(3600)),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_probe_whose_worker_gave_up_does_not_block_the_others() {
        let pacer = Pacer::new(None, Duration::from_secs(600));
        *pacer.control() = blocked(Instant::now() - Duration::from_secs(1));
        let cancel = CancellationToken::new();
        let probe = pacer.acquire(&cancel).await.unwrap();
        // The worker holding the probe fails without an answer…
        drop(probe);
        // …and the next worker still gets its turn (after the probe backoff, not never).
        let next = tokio::time::timeout(Duration::from_secs(5), pacer.acquire(&cancel)).await;
        assert!(
            next.is_ok(),
            "the pacer waited for a probe that will never answer"
        );
    }
}
