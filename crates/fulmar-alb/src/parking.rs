//! Idle keep-alive connections, parked off the runtime.
//!
//! A plain HTTP/1.1 connection served by the data plane's own loop
//! ([`crate::h1::server`]) that has had nothing to do for [`PARK_AFTER`] since its last
//! answer is handed to the load balancer's [`Lot`]: its socket leaves tokio's reactor
//! (its task, future and reactor registration are freed) and waits in the lot's own
//! epoll set, with only what is needed to serve it again (a few dozen bytes beside the
//! connection's facts). When the client sends its next request the socket goes back to
//! the reactor and a new task serves it, with the idle deadline it had. One task per
//! load balancer watches the set: it resumes connections that become readable, closes
//! those whose idle timeout passes, and closes those whose listener stops.
//!
//! The cost falls only on connections idle for longer than [`PARK_AFTER`]: two
//! `epoll_ctl` calls and a task spawn when they wake up.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::{mpsc, watch, Notify};

use crate::alb::Alb;
use crate::observe::ConnectionGuard;
use crate::phases::Connection;

/// How long a connection must have been idle after its last answer to be parked.
pub(crate) const PARK_AFTER: Duration = Duration::from_millis(250);

/// Events read per `epoll_wait`.
const EVENTS: usize = 64;

/// How long after the last park the heap is trimmed.
const TRIM_AFTER: Duration = Duration::from_secs(1);

/// What a parked connection keeps: its socket and what serving it again needs.
pub(crate) struct Parked {
    pub stream: std::net::TcpStream,
    pub conn: Held,
    pub stop: watch::Receiver<bool>,
    pub alive: mpsc::Sender<()>,
    /// Keeps counting the connection as active (ActiveConnectionCount).
    pub guard: ConnectionGuard,
    /// When the idle timeout closes it.
    pub deadline: Instant,
}

/// A parked connection's facts: kept in its slot when nothing else holds them (no
/// allocation of its own among the freed ones, whose pages the allocator can then give
/// back), else shared.
pub(crate) enum Held {
    Inline(Connection),
    Shared(Arc<Connection>),
}

impl Held {
    pub fn new(conn: Arc<Connection>) -> Held {
        match Arc::try_unwrap(conn) {
            Ok(conn) => Held::Inline(conn),
            Err(shared) => Held::Shared(shared),
        }
    }

    pub fn into_arc(self) -> Arc<Connection> {
        match self {
            Held::Inline(conn) => Arc::new(conn),
            Held::Shared(conn) => conn,
        }
    }
}

/// One load balancer's parked connections.
#[derive(Default)]
pub(crate) struct Lot {
    inner: Mutex<Inner>,
    /// The epoll set, made with the lot's task on the first park.
    epoll: OnceLock<Option<RawFd>>,
    /// Wakes the task: an earlier deadline, the first park since the last trim, or a
    /// listener stopped.
    wake: Notify,
    /// A listener stopped since the task last looked (it then checks every slot).
    stops: AtomicBool,
}

#[derive(Default)]
struct Inner {
    slots: Vec<Option<(u32, Parked)>>,
    free: Vec<u32>,
    /// (deadline, slot, generation); entries of slots since resumed are skipped.
    deadlines: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    generation: u32,
    /// When a connection was last parked, if the heap has not been trimmed since.
    last_park_untrimmed: Option<Instant>,
}

impl Inner {
    fn take(&mut self, slot: u32, generation: u32) -> Option<Parked> {
        let entry = self.slots.get_mut(slot as usize)?;
        if entry.as_ref().is_some_and(|(g, _)| *g == generation) {
            self.free.push(slot);
            entry.take().map(|(_, p)| p)
        } else {
            None
        }
    }

    /// Close the parked connection of `slot` (dropping its socket also takes it out of
    /// the epoll set: the set holds no other reference to it).
    fn close(&mut self, slot: u32, generation: u32) {
        self.take(slot, generation);
    }
}

/// The epoll event's data: slot and generation.
fn token(slot: u32, generation: u32) -> u64 {
    (u64::from(generation) << 32) | u64::from(slot)
}

fn untoken(data: u64) -> (u32, u32) {
    (data as u32, (data >> 32) as u32)
}

fn epoll_ctl(epoll: RawFd, op: libc::c_int, fd: RawFd, data: u64) -> std::io::Result<()> {
    let mut event = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
        u64: data,
    };
    // SAFETY: `event` is a valid epoll_event for the duration of the call; the kernel
    // checks both descriptors.
    if unsafe { libc::epoll_ctl(epoll, op, fd, &mut event) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl Lot {
    /// Park `parked` (on a runtime thread): it is served again when its client sends
    /// something, closed when its idle timeout passes or its listener stops. A
    /// connection that cannot be parked is closed.
    pub fn park(self: &Arc<Lot>, alb: &Arc<Alb>, parked: Parked) {
        if *parked.stop.borrow() {
            return;
        }
        let Some(epoll) = *self.epoll.get_or_init(|| self.start(alb)) else {
            return;
        };
        let fd = parked.stream.as_raw_fd();
        let deadline = parked.deadline;
        let mut inner = crate::lock(&self.inner);
        inner.generation = inner.generation.wrapping_add(1);
        let generation = inner.generation;
        let slot = match inner.free.pop() {
            Some(slot) => slot,
            None => {
                inner.slots.push(None);
                (inner.slots.len() - 1) as u32
            }
        };
        inner.slots[slot as usize] = Some((generation, parked));
        if let Err(e) = epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, token(slot, generation)) {
            tracing::debug!(error = %e, "cannot park an idle connection; closing it");
            inner.close(slot, generation);
            return;
        }
        let earliest = inner.deadlines.peek().is_none_or(|Reverse((d, _, _))| deadline < *d);
        inner.deadlines.push(Reverse((deadline, slot, generation)));
        let first_since_trim = inner.last_park_untrimmed.replace(Instant::now()).is_none();
        drop(inner);
        if earliest || first_since_trim {
            self.wake.notify_one();
        }
    }

    /// A listener stopped: close its parked connections.
    pub fn listener_stopped(&self) {
        self.stops.store(true, Relaxed);
        self.wake.notify_one();
    }

    /// Make the epoll set and start the lot's task; `None` if the set cannot be made.
    fn start(self: &Arc<Lot>, alb: &Arc<Alb>) -> Option<RawFd> {
        // SAFETY: epoll_create1 returns a new descriptor or -1.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "cannot create the idle connections' epoll set");
            return None;
        }
        // SAFETY: `fd` was just created and is owned by nothing else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: an OwnedFd keeps its descriptor open, and the same, until dropped.
        let watched = match unsafe { AsyncFd::register_with_interest(owned, Interest::READABLE) } {
            Ok(watched) => watched,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the idle connections' epoll set");
                return None;
            }
        };
        tokio::spawn(run(self.clone(), Arc::downgrade(alb), watched));
        Some(fd)
    }

    /// Serve again the parked connection of `data` (an epoll event's) that became readable.
    fn resume(&self, epoll: RawFd, data: u64, alb: &Arc<Alb>) {
        let (slot, generation) = untoken(data);
        let Some(parked) = crate::lock(&self.inner).take(slot, generation) else {
            return;
        };
        let _ = epoll_ctl(epoll, libc::EPOLL_CTL_DEL, parked.stream.as_raw_fd(), 0);
        tokio::spawn(crate::listeners::serve_parked(parked, alb.clone()));
    }

    /// Close the connections whose idle timeout has passed; the next deadline.
    fn expire(&self, now: Instant) -> Option<Instant> {
        let mut inner = crate::lock(&self.inner);
        while let Some(Reverse((deadline, slot, generation))) = inner.deadlines.peek().copied() {
            if deadline > now {
                return Some(deadline);
            }
            inner.deadlines.pop();
            inner.close(slot, generation);
        }
        None
    }

    /// Close the connections whose listener has stopped.
    fn close_stopped(&self) {
        let mut inner = crate::lock(&self.inner);
        let stopped: Vec<(u32, u32)> = inner
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .filter(|(_, p)| *p.stop.borrow())
                    .map(|(g, _)| (i as u32, *g))
            })
            .collect();
        for (slot, generation) in stopped {
            inner.close(slot, generation);
        }
    }
}

/// The lot's task: resume, expire and close parked connections until the load
/// balancer is gone.
async fn run(lot: Arc<Lot>, alb: Weak<Alb>, epoll: AsyncFd<OwnedFd>) {
    let fd = epoll.as_raw_fd();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS];
    let mut next = None;
    loop {
        let sleep = tokio::time::sleep_until(
            next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
                .into(),
        );
        let trim_at = crate::lock(&lot.inner).last_park_untrimmed.map(|t| t + TRIM_AFTER);
        tokio::select! {
            // The tasks of the connections parked since the last trim are freed, but
            // the allocator keeps their pages: TRIM_AFTER after the last park, give
            // the free pages back to the system.
            _ = tokio::time::sleep_until(trim_at.unwrap_or_else(Instant::now).into()), if trim_at.is_some() => {
                let mut inner = crate::lock(&lot.inner);
                if inner.last_park_untrimmed.is_some_and(|t| t + TRIM_AFTER <= Instant::now()) {
                    inner.last_park_untrimmed = None;
                    drop(inner);
                    crate::release_free_memory();
                }
            }
            ready = epoll.readable() => {
                let Ok(mut ready) = ready else { return };
                // SAFETY: `events` has room for EVENTS entries; a timeout of 0 never blocks.
                let n = unsafe { libc::epoll_wait(fd, events.as_mut_ptr(), EVENTS as libc::c_int, 0) };
                if n <= 0 {
                    ready.clear_ready();
                    continue;
                }
                let Some(alb) = alb.upgrade() else { return };
                for event in &events[..n as usize] {
                    lot.resume(fd, event.u64, &alb);
                }
            }
            _ = sleep => next = lot.expire(Instant::now()),
            _ = lot.wake.notified() => {
                if alb.strong_count() == 0 {
                    return;
                }
                if lot.stops.swap(false, Relaxed) {
                    lot.close_stopped();
                }
                next = lot.expire(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        assert_eq!(untoken(token(7, 0xdead_beef)), (7, 0xdead_beef));
        assert_eq!(untoken(token(u32::MAX, 1)), (u32::MAX, 1));
    }
}
