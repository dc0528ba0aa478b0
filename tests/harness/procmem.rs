//! What a process tree holds in memory, from /proc: the app and the WebKit processes it starts.

use std::collections::HashMap;

/// `root` and every process below it.
pub fn children_of(root: u32) -> Vec<u32> {
    let mut parent: HashMap<u32, u32> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
            // The command name is in parentheses and may hold spaces: read after the last ')'.
            let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
                parent.insert(pid, ppid);
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parent.iter().filter(|(_, pp)| **pp == p).map(|(c, _)| *c));
        i += 1;
    }
    tree
}

/// (PSS kB, RSS kB, name) of one process.
pub fn memory(pid: u32) -> Option<(u64, u64, String)> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        rollup
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string();
    Some((field("Pss:"), field("Rss:"), name))
}

/// PSS in MiB of `root`'s tree, and each process's share (name, MiB), biggest first.
pub fn tree_pss(root: u32) -> (f64, Vec<(String, f64)>) {
    let mut parts: Vec<(u64, u64, String)> = children_of(root).into_iter().filter_map(memory).collect();
    parts.sort_by_key(|m| std::cmp::Reverse(m.0));
    let total = parts.iter().map(|m| m.0).sum::<u64>() as f64 / 1024.0;
    (total, parts.into_iter().map(|(pss, _, name)| (name, pss as f64 / 1024.0)).collect())
}

/// The processes whose executable is `exe` (the app started by WebKitWebDriver, not by us).
pub fn running(exe: &std::path::Path) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == exe))
        .collect()
}
