//! Where argon2 runs: a few threads of the server's own (one per core, at
//! most four), each reusing one argon2 memory buffer from hash to hash.
//!
//! Why not `spawn_blocking`: every blocking thread allocated and freed a
//! 19 MiB buffer per hash, and glibc kept the freed buffers in per-thread
//! arenas (its mmap threshold rises to the size of the last big free), so a
//! sign-in storm left hundreds of megabytes behind for good. Here the buffers
//! are as many as the threads, are dropped as soon as no hash is waiting,
//! and are mapped from the kernel and unmapped directly, past the global
//! allocator, which would keep them cached whichever one the binary uses.
//! The threads also run at a lower CPU priority, so page requests are served
//! first while password work takes whatever CPU is left.

use argon2::Block;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, mpsc};

/// A worker's argon2 memory, kept while hashes queue up.
#[derive(Default)]
pub struct Memory(Option<Blocks>);

impl Memory {
    /// `count` blocks, reusing the buffer when it is big enough (argon2
    /// writes every block before reading it, so old contents do not matter).
    pub fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.as_ref().is_some_and(|b| b.len() < count) {
            self.0 = None; // unmapped before a bigger one is mapped
        }
        &mut self.0.get_or_insert_with(|| Blocks::new(count)).as_mut_slice()[..count]
    }
}

/// Argon2 blocks in an anonymous mapping of their own (a heap vector where
/// there is no `mmap` or it fails).
enum Blocks {
    #[cfg(unix)]
    Mapped {
        ptr: std::ptr::NonNull<Block>,
        len: usize,
    },
    Heap(Vec<Block>),
}

// SAFETY: `Mapped` owns its mapping alone, like a `Vec` owns its buffer.
unsafe impl Send for Blocks {}

impl Blocks {
    fn new(len: usize) -> Self {
        #[cfg(unix)]
        if let Some(bytes) = len.checked_mul(std::mem::size_of::<Block>()).filter(|b| *b > 0) {
            // SAFETY: a new private anonymous mapping touches no existing memory.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if ptr != libc::MAP_FAILED
                && let Some(ptr) = std::ptr::NonNull::new(ptr.cast::<Block>())
            {
                return Self::Mapped { ptr, len };
            }
        }
        Self::Heap(vec![Block::new(); len])
    }

    fn len(&self) -> usize {
        match self {
            #[cfg(unix)]
            Self::Mapped { len, .. } => *len,
            Self::Heap(v) => v.len(),
        }
    }

    fn as_mut_slice(&mut self) -> &mut [Block] {
        match self {
            // SAFETY: the mapping is `len` blocks long, page-aligned (a
            // block needs 64 bytes) and zero-filled, and a block of zeros is
            // a valid block (it is plain u64s); `&mut self` makes it unique.
            #[cfg(unix)]
            Self::Mapped { ptr, len } => unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), *len) },
            Self::Heap(v) => v,
        }
    }
}

impl Drop for Blocks {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Self::Mapped { ptr, len } = self {
            // SAFETY: unmaps exactly the mapping made in `new`, once.
            unsafe {
                libc::munmap(ptr.as_ptr().cast(), *len * std::mem::size_of::<Block>());
            }
        }
    }
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

#[derive(Debug, thiserror::Error)]
#[error("the password hashing threads are gone")]
pub struct PoolGone;

pub struct Pool {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// One turn per thread: callers beyond that wait here, asynchronously
    /// and in order, instead of piling up in the channel. A turn is given
    /// back when the hash is done, even if its caller went away meanwhile.
    turns: Arc<tokio::sync::Semaphore>,
    /// Jobs sent and not yet started: a worker keeps its memory while > 0.
    waiting: Arc<AtomicUsize>,
}

/// The process's pool, started on first use.
pub static POOL: LazyLock<Pool> = LazyLock::new(|| Pool::start(threads()));

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(4)
}

impl Pool {
    fn start(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let waiting = Arc::new(AtomicUsize::new(0));
        let mut started = 0;
        for i in 0..threads {
            let (rx, waiting) = (rx.clone(), waiting.clone());
            match std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || work(&rx, &waiting)) {
                Ok(_) => started += 1,
                Err(e) => tracing::error!(error = %e, "could not start a password hashing thread"),
            }
        }
        Self { jobs: Mutex::new(tx), turns: Arc::new(tokio::sync::Semaphore::new(started)), waiting }
    }

    /// Runs `job` on a hashing thread and waits for its answer.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, PoolGone> {
        let turn = self.turns.clone().acquire_owned().await.map_err(|_| PoolGone)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let sent = self.jobs.lock().map_err(|_| PoolGone)?.send(Box::new(move |memory: &mut Memory| {
            let _ = tx.send(job(memory));
            drop(turn);
        }));
        if sent.is_err() {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(PoolGone);
        }
        rx.await.map_err(|_| PoolGone)
    }
}

fn work(rx: &Mutex<mpsc::Receiver<Job>>, waiting: &AtomicUsize) {
    lower_priority();
    let mut memory = Memory::default();
    loop {
        let job = match rx.lock() {
            Ok(rx) => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        waiting.fetch_sub(1, Ordering::SeqCst);
        // A panicking job loses its answer (the caller sees PoolGone), not the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut memory)));
        if waiting.load(Ordering::SeqCst) == 0 {
            memory = Memory::default();
        }
    }
}

/// Nice 10 for the calling thread (on Linux a thread's own priority):
/// under contention the scheduler favours the request threads about ten to
/// one, and an idle machine still gives hashing every free cycle.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; 0 names the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_reused_while_big_enough_and_grows_when_not() {
        let mut memory = Memory::default();
        let blocks = memory.blocks(64);
        assert_eq!(blocks.len(), 64);
        blocks[63] = Block::new(); // writable to its end
        let start = memory.blocks(64).as_ptr();
        assert_eq!(memory.blocks(16).as_ptr(), start, "a smaller hash reuses the buffer");
        assert_eq!(memory.blocks(16).len(), 16);
        assert_eq!(memory.blocks(4096).len(), 4096);
    }
}
