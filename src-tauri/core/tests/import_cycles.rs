//! No import circles (ARCHITECTURE.md, "Layers"): between the modules under one parent, the
//! `crate::`/`super::` paths of the core and of the shell must point one way only.
//!
//! A parent and its own children may use each other (the children of `engine` and `ledger` add
//! `impl` blocks to the parent's types, the parent re-exports them); a path to a name the parent
//! re-exports (`crate::ledger::Tender`) counts as a path to the child that defines it. Test
//! modules (`#[cfg(test)]` to the end of a file) are left out.
//!
//! `cargo test -p paydesk-core --test import_cycles -- --nocapture` prints every arrow between
//! sibling modules too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path from its crate root: `["ledger", "charges"]`.
type ModPath = Vec<String>;

struct Crate {
    /// Every module that is a file, by path.
    modules: BTreeMap<ModPath, PathBuf>,
    /// `(parent, name) -> child`: what `pub use child::name` re-exports in a parent.
    reexports: BTreeMap<(ModPath, String), String>,
}

/// Where a path into another module was written.
#[derive(Clone, Debug)]
struct Seen {
    file: String,
    line: usize,
    text: String,
}

fn crate_at(src: &Path) -> Crate {
    let mut files = Vec::new();
    collect(src, &mut files);
    let mut modules = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap_or(&file);
        // Binaries are crate roots of their own.
        if rel.starts_with("bin") {
            continue;
        }
        let mut parts: Vec<String> =
            rel.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
        if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
            parts.pop();
        }
        modules.insert(parts, file);
    }
    let mut reexports = BTreeMap::new();
    for (module, file) in &modules {
        for line in code_lines(file) {
            let Some(rest) = line.1.trim().strip_prefix("pub use ") else { continue };
            let rest = rest.strip_prefix("self::").unwrap_or(rest);
            let Some((child, names)) = rest.split_once("::") else { continue };
            let mut child_path = module.clone();
            child_path.push(child.to_string());
            if !modules.contains_key(&child_path) {
                continue;
            }
            let names = names.trim_end_matches(';').trim_start_matches('{').trim_end_matches('}');
            for name in names.split(',') {
                let name = name.split(" as ").last().unwrap_or("").trim();
                if !name.is_empty() {
                    reexports.insert((module.clone(), name.to_string()), child.to_string());
                }
            }
        }
    }
    Crate { modules, reexports }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's lines before its test module, comments blanked, numbered from 1. A grouped import
/// that rustfmt spread over several lines (`use crate::x::{` … `};`) is joined into its first.
fn code_lines(file: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open_group = 0i32;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        let depth = code.matches('{').count() as i32 - code.matches('}').count() as i32;
        match out.last_mut() {
            Some((_, joined)) if open_group > 0 => {
                joined.push(' ');
                joined.push_str(code.trim());
                open_group += depth;
            }
            _ => {
                let starts_use = code.trim_start().trim_start_matches("pub(crate) ").trim_start_matches("pub ");
                if starts_use.starts_with("use ") && depth > 0 {
                    open_group = depth;
                }
                out.push((i + 1, code.to_string()));
            }
        }
    }
    out
}

/// Every `crate::a::b` / `super::x` path on a line, grouped imports (`{a, b::c}`) spread out, as
/// segments from the crate root.
fn paths_on(line: &str, here: &ModPath) -> Vec<ModPath> {
    let mut found = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !line.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let starts_word =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        let rest = &line[i..];
        let base: Option<(ModPath, usize)> = if starts_word && rest.starts_with("crate::") {
            Some((Vec::new(), "crate::".len()))
        } else if starts_word && rest.starts_with("super::") {
            // `super` is the parent of this module, whether it is `a/b.rs` or `a/b/mod.rs`.
            let mut up = here.clone();
            up.pop();
            let mut len = "super::".len();
            while line[i + len..].starts_with("super::") {
                up.pop();
                len += "super::".len();
            }
            Some((up, len))
        } else {
            None
        };
        let Some((mut path, skip)) = base else {
            i += 1;
            continue;
        };
        let mut j = i + skip;
        loop {
            let seg: String = line[j..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if seg.is_empty() {
                if line[j..].starts_with('{') {
                    let close = matching_brace(line, j);
                    for item in split_top_level(&line[j + 1..close]) {
                        let mut p = path.clone();
                        let names = item.split("::").map(str::trim);
                        p.extend(
                            names
                                .take_while(|s| {
                                    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                                })
                                .map(str::to_string),
                        );
                        found.push(p);
                    }
                    j = close;
                } else {
                    found.push(path.clone());
                }
                break;
            }
            j += seg.len();
            path.push(seg);
            if line[j..].starts_with("::") {
                j += 2;
            } else {
                found.push(path.clone());
                break;
            }
        }
        i = j.max(i + 1);
    }
    found
}

/// Where the `{` at `open` closes (the line's end if it does not).
fn matching_brace(line: &str, open: usize) -> usize {
    let mut depth = 0;
    for (k, c) in line[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return open + k;
                }
            }
            _ => {}
        }
    }
    line.len()
}

/// A group's items (`a, b::{c, d}, e`), split at its own commas only; a nested group stays whole
/// (its module is what counts).
fn split_top_level(group: &str) -> Vec<&str> {
    let (mut items, mut depth, mut from) = (Vec::new(), 0, 0);
    for (k, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[from..k]);
                from = k + 1;
            }
            _ => {}
        }
    }
    items.push(&group[from..]);
    items
}

/// The module a path lands in: its longest module prefix, then through one re-export.
fn target(krate: &Crate, path: &ModPath) -> Option<ModPath> {
    let mut module = (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| krate.modules.contains_key(p))?;
    if let Some(name) = path.get(module.len()) {
        if let Some(child) = krate.reexports.get(&(module.clone(), name.clone())) {
            module.push(child.clone());
        }
    }
    Some(module)
}

/// Arrows between sibling modules (`a::x -> a::y`, top-level ones under the root), with where
/// each was written.
fn sibling_arrows(src: &Path) -> BTreeMap<(ModPath, ModPath), Vec<Seen>> {
    let krate = crate_at(src);
    let mut arrows: BTreeMap<(ModPath, ModPath), Vec<Seen>> = BTreeMap::new();
    for (here, file) in &krate.modules {
        for (line_no, line) in code_lines(file) {
            for path in paths_on(&line, here) {
                let Some(there) = target(&krate, &path) else { continue };
                let common = here.iter().zip(&there).take_while(|(a, b)| a == b).count();
                // Within one module, or between a module and its own ancestor: by design.
                if common == here.len() || common == there.len() {
                    continue;
                }
                let from = here[..=common].to_vec();
                let to = there[..=common].to_vec();
                let rel = file.strip_prefix(src.parent().and_then(Path::parent).unwrap_or(src)).unwrap_or(file);
                arrows.entry((from, to)).or_default().push(Seen {
                    file: rel.display().to_string(),
                    line: line_no,
                    text: line.trim().to_string(),
                });
            }
        }
    }
    arrows
}

/// Groups of siblings that reach each other (strongly connected, more than one module).
fn circles(arrows: &BTreeMap<(ModPath, ModPath), Vec<Seen>>) -> Vec<BTreeSet<ModPath>> {
    let nodes: BTreeSet<ModPath> = arrows.keys().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
    let reach = |from: &ModPath| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for (a, b) in arrows.keys() {
                if *a == n && seen.insert(b.clone()) {
                    todo.push(b.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<ModPath, BTreeSet<ModPath>> = nodes.iter().map(|n| (n.clone(), reach(n))).collect();
    let mut groups: Vec<BTreeSet<ModPath>> = Vec::new();
    for n in &nodes {
        if groups.iter().any(|g| g.contains(n)) {
            continue;
        }
        let group: BTreeSet<ModPath> =
            nodes.iter().filter(|m| *m == n || (reaches[n].contains(*m) && reaches[*m].contains(n))).cloned().collect();
        if group.len() > 1 {
            groups.push(group);
        }
    }
    groups
}

fn check(crate_dir: &str) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate_dir).join("src");
    let arrows = sibling_arrows(&src);
    assert!(!arrows.is_empty(), "no module paths read under {}", src.display());
    let name = |p: &ModPath| if p.is_empty() { "(root)".to_string() } else { p.join("::") };
    for ((a, b), seen) in &arrows {
        println!("{crate_dir}: {} -> {} ({}:{})", name(a), name(b), seen[0].file, seen[0].line);
    }
    let mut problems = Vec::new();
    for group in circles(&arrows) {
        let mut text = format!("{crate_dir}: circle {{{}}}", group.iter().map(name).collect::<Vec<_>>().join(", "));
        for ((a, b), seen) in &arrows {
            if group.contains(a) && group.contains(b) {
                for s in seen.iter().take(3) {
                    text += &format!("\n    {} -> {}: {}:{} `{}`", name(a), name(b), s.file, s.line, s.text);
                }
            }
        }
        problems.push(text);
    }
    problems
}

#[test]
fn the_core_has_no_import_circles() {
    let problems = check("core");
    assert!(problems.is_empty(), "import circles:\n{}", problems.join("\n"));
}

#[test]
fn the_shell_has_no_import_circles() {
    let problems = check("app");
    assert!(problems.is_empty(), "import circles:\n{}", problems.join("\n"));
}

/// The finder itself: a circle written on purpose is found, and a parent's re-export is followed.
#[test]
fn a_circle_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("ledger")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod ledger;\npub mod engine;\n").unwrap();
    std::fs::write(src.join("ledger/mod.rs"), "mod charges;\npub use charges::{Charge, Tender};\n").unwrap();
    // A group spread over lines, as rustfmt writes a long one.
    std::fs::write(src.join("ledger/charges.rs"), "use crate::{\n    money::Fen,\n    engine::{Cashier, Inner},\n};\n")
        .unwrap();
    std::fs::write(src.join("engine.rs"), "use crate::ledger::Tender;\n#[cfg(test)]\nmod tests { use crate::x; }\n")
        .unwrap();
    let arrows = sibling_arrows(&src);
    let found = circles(&arrows);
    assert_eq!(found.len(), 1, "{arrows:?}");
    assert!(found[0].contains(&vec!["engine".to_string()]) && found[0].contains(&vec!["ledger".to_string()]));
    // The re-exported Tender is charges': engine -> ledger, projected to the top level.
    assert!(arrows.contains_key(&(vec!["engine".into()], vec!["ledger".into()])));
    std::fs::write(src.join("ledger/charges.rs"), "// use crate::engine::Cashier;\n").unwrap();
    assert!(circles(&sibling_arrows(&src)).is_empty());
}
