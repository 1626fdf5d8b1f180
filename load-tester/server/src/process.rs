//! Signals to worker processes and whether they still live (Unix only).

#![allow(unsafe_code)]

/// Sends SIGKILL to the process group `pgid` (each worker leads its own group).
pub fn kill_group(pgid: u32) {
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) takes plain integers; a negative pid addresses the process group, and
    // pgid > 1 so this never means "every process" (-1) or our own group (0).
    unsafe {
        libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
    }
}

/// Whether `pid` is a live (not zombie) process that looks like one of our workers.
pub fn is_worker_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state is the first field after the parenthesised command name.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z") | Some("X") | None) {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmd| {
            let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
            args.iter().any(|a| *a == b"worker")
        })
        .unwrap_or(false)
}

/// Waits until `pid` is gone, up to `limit`; says whether it went.
pub async fn wait_gone(pid: u32, limit: std::time::Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while is_worker_alive(pid) {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    true
}
