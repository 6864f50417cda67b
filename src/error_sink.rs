//! Writes the error log off the request path. Requests hand their entries
//! to a bounded queue; one task writes them in order. Records an operator
//! must read are kept, capped per client so that nobody can fill Redis with
//! them; expected failures are only counted (the per-type daily counter).
//! [`ErrorSink::flush`] waits until everything queued so far is written,
//! which the server does on shutdown.

use crate::keys;
use crate::store::error_log::{ErrorKind, ErrorRecorder, NewError};
use crate::store::rate_limit::{self, Decision};
use redis::aio::ConnectionManager;
use std::net::IpAddr;
use tokio::sync::{mpsc, oneshot};

/// What the error log does with one failure.
#[derive(Debug, Clone)]
pub enum Entry {
    /// Keep the whole record (5xx, panics, failed deliveries, security events).
    Keep(NewError),
    /// Only count it under its type and day.
    Count(ErrorKind),
}

impl Entry {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Entry::Keep(record) => record.kind,
            Entry::Count(kind) => *kind,
        }
    }
}

enum Job {
    Write(Entry, Option<IpAddr>),
    Flush(oneshot::Sender<()>),
}

/// Entries waiting to be written; beyond this they are dropped (and logged).
const QUEUE: usize = 10_000;
/// Records kept per client and hour; past it, that client's errors are counted.
pub const RECORDS_PER_CLIENT_HOUR: u64 = 60;
const CLIENT_WINDOW: u64 = 3_600;

#[derive(Clone)]
pub struct ErrorSink {
    tx: mpsc::Sender<Job>,
}

impl ErrorSink {
    /// Starts the writer; it runs as long as the runtime does.
    pub fn spawn(recorder: ErrorRecorder, conn: ConnectionManager) -> Self {
        let (tx, mut rx) = mpsc::channel(QUEUE);
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                match job {
                    Job::Write(entry, client) => write(&recorder, &conn, entry, client).await,
                    Job::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Self { tx }
    }

    /// Queues an entry; `client` is the address the cap applies to.
    pub fn send(&self, entry: Entry, client: Option<IpAddr>) {
        if let Err(e) = self.tx.try_send(Job::Write(entry, client)) {
            let kind = match e.into_inner() {
                Job::Write(entry, _) => entry.kind().as_str(),
                Job::Flush(_) => "flush",
            };
            tracing::warn!(kind, "error log queue full or closed; an entry was dropped");
        }
    }

    /// Waits until everything queued before this call is written.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.tx.send(Job::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn write(recorder: &ErrorRecorder, conn: &ConnectionManager, entry: Entry, client: Option<IpAddr>) {
    let result = match entry {
        Entry::Keep(record) => {
            let within_cap = match client {
                Some(ip) => {
                    let key = keys::error_cap(ip);
                    let limit = [(key.as_str(), RECORDS_PER_CLIENT_HOUR, CLIENT_WINDOW)];
                    matches!(rate_limit::attempt(conn, &limit).await, Ok(Decision::Allowed))
                }
                None => true,
            };
            if within_cap { recorder.record(record).await.map(drop) } else { recorder.count(record.kind).await }
        }
        Entry::Count(kind) => recorder.count(kind).await,
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not write to the error log");
    }
}
