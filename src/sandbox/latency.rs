//! The sandbox's added latency, kept precise. tokio's timer has a one-millisecond wheel and parks
//! in whole milliseconds, so a 20 ms sleep takes 21–23 ms; over thousands of requests that error
//! would be charged to the client being measured. One thread holds the pending deadlines and
//! wakes for each with the OS's microsecond-precision timed wait.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

pub(crate) struct Latency {
    delay: Duration,
    queue: Option<Sender<(Instant, oneshot::Sender<()>)>>,
}

impl Latency {
    pub(crate) fn new(delay: Duration) -> Latency {
        if delay.is_zero() {
            return Latency { delay, queue: None };
        }
        let (tx, rx) = channel::<(Instant, oneshot::Sender<()>)>();
        std::thread::Builder::new()
            .name("sandbox-latency".into())
            .spawn(move || {
                let mut pending: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
                let mut wakers = std::collections::HashMap::new();
                let mut seq = 0u64;
                loop {
                    let next = pending.peek().map(|Reverse((at, _))| *at);
                    let received = match next {
                        Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
                        None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    };
                    match received {
                        Ok((at, waker)) => {
                            seq += 1;
                            pending.push(Reverse((at, seq)));
                            wakers.insert(seq, waker);
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    let now = Instant::now();
                    while let Some(Reverse((at, id))) = pending.peek().copied() {
                        if at > now {
                            break;
                        }
                        pending.pop();
                        if let Some(w) = wakers.remove(&id) {
                            let _ = w.send(());
                        }
                    }
                }
            })
            .ok();
        Latency {
            delay,
            queue: Some(tx),
        }
    }

    /// Waits until `delay` after `arrived`.
    pub(crate) async fn wait(&self, arrived: Instant) {
        let Some(queue) = &self.queue else { return };
        let (tx, rx) = oneshot::channel();
        if queue.send((arrived + self.delay, tx)).is_ok() {
            let _ = rx.await;
        } else {
            tokio::time::sleep_until((arrived + self.delay).into()).await;
        }
    }
}
