//! How the C allocator keeps memory the bridge frees: on the relay's path every read becomes a
//! buffer that the history frees later, so with glibc's defaults the heap's top is handed back
//! to the kernel and faulted in again, zeroed, for the next reads; and each WebSocket buffer
//! above 128 KiB is a fresh `mmap`. Measured with `bench throughput` (its `relay_cpu` and
//! `send_cpu` figures, CPU per GiB moved; see BENCHMARKS.md), page faults and page clearing were
//! a fifth of the relay's CPU, and a send cost 1,300 ms of CPU per GiB instead of 830.
//!
//! So the bridge keeps up to [`KEEP_FREED`] of freed memory at each heap's top, and takes
//! blocks below [`MMAP_FROM`] from the heap, where they are reused. An idle bridge holds the
//! same memory as before (the `idle` figure did not move): what is kept is what a busy
//! conversation just used and is about to use again.

/// Freed memory a heap keeps at its top before giving it back to the kernel.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const KEEP_FREED: i32 = 16 << 20;
/// Blocks this large or larger get their own `mmap`; smaller ones come from the heap.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_FROM: i32 = 1 << 20;

/// Sets the allocator's thresholds, for every thread: `main` calls it first, before the bridge
/// allocates anything on a conversation's path.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets glibc's allocator parameters under the allocator's own lock; a
    // failure (it returns 0) leaves the defaults, which are merely slower.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, KEEP_FREED);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_FROM);
    }
}
