//! glibc's allocator, told to give big blocks back. A PIN check (argon2) takes a 19 MiB block.
//! By default glibc raises its mmap threshold after the first such block is freed, so the next
//! ones come from the heap and stay there after they are freed: the app held 20 MiB more than it
//! used from the first sign-in on (found with heaptrack on the memory bench). A fixed threshold
//! (glibc's own default, 128 KiB) keeps every big block in a mapping of its own, returned to the
//! system when freed.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn return_big_blocks() {
    // SAFETY: mallopt only sets a tunable of the allocator; called before any other thread runs.
    let set = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024) };
    if set != 1 {
        tracing::warn!("the allocator refused its mmap threshold; memory may stay high after sign-ins");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_big_blocks() {}
