//! Reading and judging `hunt`'s files on every core, in the files' order.
//!
//! Workers take the files one at a time, in order; each reads its file, normalises the
//! events and judges them against the detection rules (which needs no exclusive access to
//! the hunter), and hands them on in batches through the file's own bounded channel. The
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
use sekimori_detect::{read_events_each_on, Detections, Hunter};
use serde_json::Value;

/// Events judged together: enough to share out between threads, few enough to keep memory
/// small.
pub const BATCH: usize = 8_192;

/// Batches of one file a worker may have ready before the caller takes them.
const IN_FLIGHT: usize = 2;

/// What one file gives, in order: batches of events with their detections, then how reading
/// ended (the documents that were not JSON, or why the file could not be read).
pub enum Piece {
    Batch(Vec<(Value, Detections)>),
    Done(Result<Vec<Malformed>, InputError>),
}

/// Reads and judges `files` on `workers` threads and hands each file's pieces to `consume`
/// with the file's index, file after file in the given order. `prepare` is applied to
/// every event before it is judged (a declared log source, a field mapping).
pub fn judge_files(
    files: &[PathBuf],
    hunter: &Hunter,
    workers: usize,
    prepare: &(dyn Fn(&mut Value) + Sync),
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
                    judge_file(file, hunter, per_file, prepare, &sender);
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

/// Reads one file and sends its batches, then how reading ended. A caller that has gone
/// (its receiver dropped) is not an error: the rest is simply not sent.
fn judge_file(
    file: &std::path::Path,
    hunter: &Hunter,
    threads: usize,
    prepare: &(dyn Fn(&mut Value) + Sync),
    sender: &SyncSender<Piece>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let send = |batch: &mut Vec<Value>| {
        if batch.is_empty() {
            return;
        }
        let mut events = std::mem::replace(batch, Vec::with_capacity(BATCH));
        events.iter_mut().for_each(prepare);
        let detections = detect_all(hunter, &events, threads);
        let _ = sender.send(Piece::Batch(events.into_iter().zip(detections).collect()));
    };
    let read = read_events_each_on(file, threads, &mut |event| {
        batch.push(event);
        if batch.len() == BATCH {
            send(&mut batch);
        }
    });
    send(&mut batch);
    let _ = sender.send(Piece::Done(read));
}

/// Each event's detections, in the events' order, judged on up to `workers` threads.
fn detect_all(hunter: &Hunter, events: &[Value], workers: usize) -> Vec<Detections> {
    const MIN_PER_THREAD: usize = 64;
    let workers = workers.min(events.len() / MIN_PER_THREAD).max(1);
    if workers == 1 {
        return events.iter().map(|e| hunter.detect(e)).collect();
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = events
            .chunks(events.len().div_ceil(workers))
            .map(|part| scope.spawn(move || part.iter().map(|e| hunter.detect(e)).collect::<Vec<_>>()))
            .collect();
        parts.into_iter().flat_map(|p| p.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}
