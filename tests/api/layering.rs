//! The shape of the crate, checked from its own source: dependencies point one way
//! (`domain ← {providers, db} ← engine ← actors ← http ← startup`), the cross-cutting leaves
//! (`error`, `config`, `telemetry`, `metrics`) import only `domain`, no top-level modules form
//! a cycle, no files or folders inside any folder do, and no HTTP handler builds a writer
//! operation. `.ci/run` runs this file's tests as its layering step.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules that wire everything on top and may import anything.
const WIRING: [&str; 5] = ["main", "lib", "startup", "cli", "demo"];
/// Cross-cutting leaves: anything may import them; they import only `domain`.
const LEAVES: [&str; 4] = ["error", "config", "telemetry", "metrics"];

/// What each layer may import besides the leaves (and itself).
fn allowed(module: &str) -> Option<&'static [&'static str]> {
    Some(match module {
        "domain" => &[],
        "error" | "config" | "telemetry" | "metrics" => &["domain"],
        "providers" | "db" => &["domain"],
        "engine" => &["domain", "providers", "db"],
        "actors" => &["domain", "providers", "db", "engine"],
        "http" => &["domain", "providers", "db", "engine", "actors"],
        "sim" => &["domain", "providers"],
        _ => return None,
    })
}

/// The top-level modules of the crate a source text names: `crate::x`, `use crate::{x, y::…}`,
/// and `switchboard::x` (the binary naming the library). Comments are not code.
fn imports(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    for prefix in ["crate::", "switchboard::"] {
        for (at, _) in code.match_indices(prefix) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &code[at + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',') {
                    let name = item.trim().split("::").next().unwrap_or("").trim();
                    if !name.is_empty() && name != "self" {
                        found.insert(name.to_owned());
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Top-level module → the other top-level modules it imports.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_string_lossy().trim_end_matches(".rs").to_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let names: Vec<String> = imports(&text)
            .into_iter()
            .filter(|m| *m != module)
            .collect();
        graph.entry(module).or_default().extend(names);
    }
    graph
}

/// What breaks the rules: an import a layer may not make, a module no rule knows, a cycle.
fn violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found = Vec::new();
    for (module, imports) in graph {
        if WIRING.contains(&module.as_str()) {
            continue;
        }
        let Some(may) = allowed(module) else {
            found.push(format!(
                "`{module}` is a top-level module no layering rule names"
            ));
            continue;
        };
        for import in imports {
            // `domain` imports nothing at all; the leaves import only `domain`.
            let leaf = LEAVES.contains(&import.as_str())
                && module != "domain"
                && !LEAVES.contains(&module.as_str());
            if !leaf && !may.contains(&import.as_str()) && graph.contains_key(import) {
                found.push(format!("`{module}` imports `{import}`"));
            }
        }
    }
    found.extend(cycles(graph));
    found
}

/// Every cycle among top-level modules, once each.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut BTreeSet<String>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            let start = cycle.iter().enumerate().min_by_key(|(_, n)| *n).unwrap().0;
            cycle.rotate_left(start);
            cycle.push(cycle[0].clone());
            found.insert(format!("cycle: {}", cycle.join(" → ")));
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if graph.contains_key(next) {
                visit(next, graph, path, done, found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
    }
    let (mut done, mut found) = (BTreeSet::new(), BTreeSet::new());
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found.into_iter().collect()
}

#[test]
fn the_crate_keeps_its_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    for layer in [
        "domain",
        "providers",
        "db",
        "engine",
        "actors",
        "http",
        "startup",
    ] {
        assert!(graph.contains_key(layer), "no `{layer}` module under src/");
    }
    // The graph is read from the code, not empty: the HTTP layer stands on the actors and the engine.
    assert!(graph["http"].contains("actors") && graph["http"].contains("engine"));
    let found = violations(&graph);
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_what_it_must_refuse() {
    assert_eq!(
        imports("use crate::http::AppState;\n// use crate::startup::x;\nlet a = crate::db::read;"),
        BTreeSet::from(["db".to_owned(), "http".to_owned()])
    );
    assert_eq!(
        imports(
            "use crate::{engine::Engine, error::AppError};\nuse switchboard::config::Settings;"
        ),
        BTreeSet::from(["config".into(), "engine".into(), "error".into()])
    );
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            g.entry((*from).to_owned())
                .or_default()
                .insert((*to).to_owned());
            g.entry((*to).to_owned()).or_default();
        }
        g
    };
    let upward = graph(&[("actors", "http"), ("http", "actors")]);
    let found = violations(&upward);
    assert!(
        found.contains(&"`actors` imports `http`".to_owned()),
        "{found:?}"
    );
    assert!(
        found.iter().any(|v| v == "cycle: actors → http → actors"),
        "{found:?}"
    );
    assert_eq!(
        violations(&graph(&[("providers", "db")])),
        vec!["`providers` imports `db`".to_owned()]
    );
    assert_eq!(
        violations(&graph(&[("error", "providers")])),
        vec!["`error` imports `providers`".to_owned()]
    );
    assert_eq!(
        violations(&graph(&[("domain", "error")])),
        vec!["`domain` imports `error`".to_owned()]
    );
    assert!(violations(&graph(&[
        ("http", "engine"),
        ("engine", "db"),
        ("db", "error")
    ]))
    .is_empty());
    assert_eq!(
        violations(&graph(&[("widgets", "domain")])),
        vec!["`widgets` is a top-level module no layering rule names".to_owned()]
    );
}

/// A file's module path under `src/`: `actors/call/mod.rs` → `actors::call`,
/// `actors/desk.rs` → `actors::desk`, `lib.rs` → the crate root.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let mut parts: Vec<String> = file
        .strip_prefix(src)
        .unwrap()
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned()
        })
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The module paths a source text names, whole: `crate::a::b`, `super::x` and `self::x` (from
/// `module`), a child module it declares (`mod news;` then `news::X`), and each item of a
/// `{…}` group. Comments are not code.
fn paths_named(source: &str, module: &[String]) -> BTreeSet<Vec<String>> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let children: Vec<String> = code
        .lines()
        .filter_map(|line| {
            let line = line
                .trim()
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ");
            line.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(|m| m.trim().to_owned())
        })
        .collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = BTreeSet::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut at = 0;
    while at < bytes.len() {
        let before = if at == 0 { None } else { Some(bytes[at - 1]) };
        if before.is_some_and(|c| ident(c) || c == ':') || !ident(bytes[at]) {
            at += 1;
            continue;
        }
        let word: String = bytes[at..].iter().take_while(|c| ident(**c)).collect();
        let start = at;
        at += word.len();
        let base: Option<Vec<String>> = match word.as_str() {
            "crate" => Some(Vec::new()),
            "super" | "self" => Some(module.to_vec()),
            w if children.iter().any(|c| c == w) => Some(module.to_vec()),
            _ => None,
        };
        let Some(mut base) = base else { continue };
        if !bytes[at..].starts_with(&[':', ':']) && word != "crate" && word != "super" {
            continue;
        }
        // Walk the path from its first word: `super` climbs, names descend, a group branches.
        let rest: String = bytes[start..].iter().collect();
        walk(&rest, &mut base, &mut found);
    }
    found
}

/// Follows one path (`super::super::x::{a, b::c}`) from `base`, adding each whole path found.
fn walk(text: &str, base: &mut Vec<String>, found: &mut BTreeSet<Vec<String>>) {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut rest = text;
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        walk(item.trim(), &mut base.clone(), found);
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            if !item.trim().is_empty() {
                walk(item.trim(), &mut base.clone(), found);
            }
            return;
        }
        let word: String = rest.chars().take_while(|c| ident(*c)).collect();
        if word.is_empty() {
            break;
        }
        match word.as_str() {
            "crate" => base.clear(),
            "super" => {
                base.pop();
            }
            "self" => {}
            name => base.push(name.to_owned()),
        }
        rest = &rest[word.len()..];
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    found.insert(base.clone());
}

/// Every folder under `src/` (the crate's own included) → the graph of its rooms (its files and
/// sub-folders, by name; its own mod.rs as `mod`) by what each names of the others.
fn rooms(src: &Path) -> BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> {
    let mut floors: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in rust_files(src) {
        let module = module_path(src, &file);
        let is_root = file
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs" || n == "main.rs");
        let text = std::fs::read_to_string(&file).unwrap();
        let named = paths_named(&text, &module);
        // The file is a room of every folder above it: of its own folder as itself (`mod` for
        // the folder's mod.rs), of the folders above as the sub-folder it stands in.
        let own = if is_root {
            module.len()
        } else {
            module.len() - 1
        };
        for depth in 0..=own {
            let floor = module[..depth].to_vec();
            let room = if depth == own && is_root {
                "mod".to_owned()
            } else {
                module[depth].clone()
            };
            let graph = floors.entry(floor.clone()).or_default();
            let edges = graph.entry(room.clone()).or_default();
            for path in &named {
                if path.len() > depth && path[..depth] == floor[..] && path[depth] != room {
                    edges.insert(path[depth].clone());
                }
            }
        }
    }
    floors
}

#[test]
fn no_floor_has_a_circle_inside() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let floors = rooms(&src);
    let actors = &floors[&vec!["actors".to_owned()]];
    // Read from the code, not empty: the campaigns stand on the calls.
    assert!(actors["campaign"].contains("call"), "{actors:?}");
    let mut found = Vec::new();
    for (floor, graph) in &floors {
        // A folder's mod.rs is its door, not a room: it declares and wires the rooms, and they
        // share what it defines (as the crate's wiring does one floor up).
        let rooms_only: BTreeMap<String, BTreeSet<String>> = graph
            .iter()
            .filter(|(room, _)| *room != "mod")
            .map(|(room, to)| {
                let to = to.iter().filter(|t| *t != "mod" && graph.contains_key(*t));
                (room.clone(), to.cloned().collect())
            })
            .collect();
        for cycle in cycles(&rooms_only) {
            found.push(format!("src/{}: {cycle}", floor.join("/")));
        }
    }
    assert!(
        found.is_empty(),
        "circles inside a floor:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_room_check_reads_every_way_of_naming_a_room() {
    let module = |m: &str| m.split("::").map(str::to_owned).collect::<Vec<_>>();
    let named = paths_named(
        "pub mod news;\nuse super::call::{self, news::X};\nuse super::super::db::Y;\n\
         use crate::actors::{desk::Z, prices};\nuse news::W;\n// use super::campaign::V;",
        &module("actors::call"),
    );
    let has = |p: &str| named.contains(&module(p));
    assert!(has("actors::call"), "{named:?}");
    assert!(has("actors::call::news::X"), "{named:?}");
    assert!(has("db::Y"), "{named:?}");
    assert!(has("actors::desk::Z") && has("actors::prices"), "{named:?}");
    assert!(has("actors::call::news::W"), "{named:?}");
    assert!(
        !named.iter().any(|p| p.contains(&"campaign".to_owned())),
        "{named:?}"
    );
}

#[test]
fn no_handler_builds_a_writer_operation() {
    let http = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut found = Vec::new();
    for file in rust_files(&http) {
        let text = std::fs::read_to_string(&file).unwrap();
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for name in ["db::writes", "WriteOp", "WriteRequest", "DeskOp"] {
            if code.contains(name) {
                found.push(format!("{} names `{name}`", file.display()));
            }
        }
    }
    // The engine (or the actor that owns the state) offers each change; a handler parses,
    // authorises, calls and answers.
    assert!(found.is_empty(), "{}", found.join("\n"));
}
