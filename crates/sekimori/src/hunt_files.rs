//! Reading and judging `hunt`'s files on every core, in the files' order.
//!
//! Workers take the files one at a time, in order; each reads its file, normalises the
//! events and judges them against the detection rules as they are parsed, on the threads
//! that parse them (which needs no exclusive access to the hunter), and hands them on in
//! batches through the file's own bounded channel. The
//! caller takes the files' batches in the files' order, so correlation, context and output
//! are exactly what one thread gives. At most `workers` files are open at once and each
//! holds at most [`IN_FLIGHT`] batches, so memory stays bounded however many or large the
//! files are.
//!
//! No deadlock: a worker waits only on its own file's channel; the file the caller is
//! reading from was taken before any later one, so its worker is running or waiting on
//! the caller, who is reading it. A worker that panics drops its file's sender as it
//! unwinds, and the last worker to go drops the senders no one took.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use sekimori_detect::input::{InputError, Malformed};
use sekimori_detect::{read_events_mapped_on, Detections, Hunter};
use serde_json::Value;

/// Judged events handed on together: few enough to keep memory small.
pub const BATCH: usize = 8_192;

/// Batches of one file a worker may have ready before the caller takes them.
const IN_FLIGHT: usize = 2;

/// What one file gives, in order: batches of judged events, then how reading ended (the
/// documents that were not JSON, or why the file could not be read).
pub enum Piece {
    Batch(Vec<Judged>),
    Done(Result<Vec<Malformed>, InputError>),
}

/// One event as the caller needs it, worked out on the thread that read it.
pub struct Judged {
    /// The event, only if the caller asked to keep events (correlation reads them): an
    /// event is otherwise freed by the thread that made it, which costs mimalloc less than
    /// freeing it from another.
    pub event: Option<Value>,
    pub detections: Detections,
    /// Whether it is a built-in Windows event given Sysmon's names (Security 4688, …), and
    /// the time it records ([`sekimori_detect::output::event_timestamp`]): what its hits
    /// show. Worked out only for an event that can have hits: one with detections, or any
    /// when events are kept (a correlation can complete on it).
    pub mapped: bool,
    pub timestamp: Option<String>,
}

/// Reads and judges `files` on `workers` threads and hands each file's pieces to `consume`
/// with the file's index, file after file in the given order. `prepare` is applied to
/// every event before it is judged (a declared log source, a field mapping); the events
/// themselves are handed on only if `keep_events`.
pub fn judge_files(
    files: &[PathBuf],
    hunter: &Hunter,
    workers: usize,
    prepare: &(dyn Fn(&mut Value) + Sync),
    keep_events: bool,
    consume: &mut dyn FnMut(usize, Piece),
) {
    // Few files: each one's chunks are parsed, and its events judged, on several threads.
    let per_file = (workers / files.len().max(1)).max(1);
    let workers = workers.clamp(1, files.len().max(1));
    let (senders, receivers): (Vec<_>, Vec<_>) = files
        .iter()
        .map(|_| {
            let (tx, rx) = sync_channel::<Piece>(IN_FLIGHT);
            (Mutex::new(Some(tx)), rx)
        })
        .unzip();
    let next = AtomicUsize::new(0);
    // Held by the workers only: should every worker die (a panic), the senders of files no
    // one took are dropped with the last of them, so the caller is not left waiting on a
    // file no one reads (the panic is raised when the scope ends).
    let senders = std::sync::Arc::new(senders);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let senders = std::sync::Arc::clone(&senders);
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else { return };
                let sender = senders[i].lock().map(|mut s| s.take()).unwrap_or_else(|p| p.into_inner().take());
                if let Some(sender) = sender {
                    judge_file(file, hunter, per_file, prepare, keep_events, &sender);
                }
            });
        }
        drop(senders);
        // Owned here, so that if `consume` panics they are dropped as it unwinds and the
        // workers' sends fail instead of waiting for ever.
        let receivers = receivers;
        for (i, rx) in receivers.iter().enumerate() {
            take_file(i, rx, consume);
        }
    });
}

/// Hands the caller one file's pieces until its worker is done with it.
fn take_file(i: usize, rx: &Receiver<Piece>, consume: &mut dyn FnMut(usize, Piece)) {
    for piece in rx.iter() {
        consume(i, piece);
    }
}

/// Reads one file and sends its batches, then how reading ended. Each event is prepared and
/// judged on the threads that read it. A caller that has gone (its receiver dropped) is
/// not an error: the rest is simply not sent.
fn judge_file(
    file: &std::path::Path,
    hunter: &Hunter,
    threads: usize,
    prepare: &(dyn Fn(&mut Value) + Sync),
    keep_events: bool,
    sender: &SyncSender<Piece>,
) {
    let placement = sekimori_detect::logsource::LogSourceMap::builtin_ref();
    let judge = |mut event: Value| {
        prepare(&mut event);
        let detections = hunter.detect(&event);
        let hits_possible = keep_events || !detections.is_empty();
        Judged {
            mapped: hits_possible && placement.is_mapped(&event),
            timestamp: if hits_possible { sekimori_detect::output::event_timestamp(&event) } else { None },
            event: keep_events.then_some(event),
            detections,
        }
    };
    let mut batch = Vec::with_capacity(BATCH);
    let read = read_events_mapped_on(file, threads, &judge, &mut |judged| {
        batch.push(judged);
        if batch.len() == BATCH {
            let _ = sender.send(Piece::Batch(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))));
        }
    });
    if !batch.is_empty() {
        let _ = sender.send(Piece::Batch(batch));
    }
    let _ = sender.send(Piece::Done(read));
}
