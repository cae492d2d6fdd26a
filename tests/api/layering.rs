//! The shape of the crate, checked from its own source: dependencies point one way
//! (`domain ← {providers, db} ← engine ← actors ← http ← startup`), the cross-cutting leaves
//! (`error`, `config`, `telemetry`, `metrics`) import only `domain`, and no top-level modules form
//! a cycle. `.ci/run` runs this file's tests as its layering step.

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
