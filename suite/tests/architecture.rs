//! Architecture rules, checked on the source text of both crates (fast, no emulators):
//!
//! 1. **No import loops between sibling modules.** A module is a file (`a/b.rs` is `a::b`,
//!    `a/mod.rs` is `a`). An edge `X -> Y` is a path in X's code (not its comments, strings or
//!    `#[cfg(test)]` module) that names something in Y: `crate::…`, `super::…`, `self::…`, or a
//!    path starting with one of X's own child modules. Edges count between *siblings*: for an
//!    edge between two files, take the deepest folder holding both; the edge joins the two
//!    children of that folder that contain them (a child folder counts as one node, with all
//!    its files). So `run/step.rs -> scenario/matcher.rs` is the edge `run -> scenario` among
//!    the crate's top-level modules, and `report/compat/read.rs -> report/compat/view.rs` is
//!    `read -> view` inside `report/compat`. A file's edges to its own ancestors (`super::x`
//!    where `x` is defined in `mod.rs`) and a parent's edges to its children are not sibling
//!    edges: a folder's `mod.rs` is the face of its children, and children using what it
//!    defines is how Rust modules share. Any cycle among the siblings of one folder fails,
//!    naming the folder, the modules in the loop and one file-level import per edge.
//! 2. **No source file over 900 lines of code**: blank lines, comment-only lines and the
//!    `#[cfg(test)]` module are not counted.
//! 3. **Each folder says what it holds**: every `mod.rs` and `lib.rs` starts with `//!` docs.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_LINES_OF_CODE: usize = 900;

/// The crates' source folders: the suite (this crate) and the proxy, both in this repository.
fn crates() -> Vec<(&'static str, PathBuf)> {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![
        ("cogcheck", suite.join("src")),
        ("cogcheck-proxy", suite.join("..").join("proxy").join("src")),
    ]
}

/// One source file of a crate's library.
struct Source {
    /// Its module path (`["report", "compat", "matrix"]`; empty for `lib.rs`).
    module: Vec<String>,
    /// Relative to the crate's `src`.
    path: PathBuf,
    /// The text with comments, string contents and the `#[cfg(test)]` module blanked out.
    code: String,
    /// Lines of code by the counting rule.
    lines_of_code: usize,
    /// Whether the file starts with inner doc comments (`//!`).
    has_docs: bool,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap_or_default();
    match file.as_str() {
        "lib.rs" | "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_string()),
    }
    parts
}

/// Every source file of a crate, `main.rs` (the binary's root) included.
fn sources(src: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let relative = path.strip_prefix(src).expect("under src").to_path_buf();
            let code = without_tests(&blank_comments_and_strings(&text));
            let lines_of_code = code.lines().filter(|l| !l.trim().is_empty()).count();
            Source {
                module: module_of(&relative),
                path: relative,
                has_docs: text.trim_start().starts_with("//!"),
                code,
                lines_of_code,
            }
        })
        .collect()
}

/// The text with comments removed and string and character literals emptied, line breaks
/// kept, so what remains is code and a comment-only line becomes blank.
fn blank_comments_and_strings(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    // Keeps a literal's or comment's line breaks; with `mark`, each of its lines that is not
    // blank keeps a `"`, so a line inside a multi-line string still counts as code.
    let keep_lines = |out: &mut String, s: &[u8], mark: bool| {
        for line in s.split(|&c| c == b'\n').skip(1) {
            out.push('\n');
            if mark && line.iter().any(|c| !c.is_ascii_whitespace()) {
                out.push('"');
            }
        }
    };
    let keep_newlines = |out: &mut String, s: &[u8]| keep_lines(out, s, false);
    let keep_string = |out: &mut String, s: &[u8]| {
        out.push_str("\"\"");
        keep_lines(out, s, true);
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            i += end;
        } else if rest.starts_with(b"/*") {
            // Block comments nest in Rust.
            let (mut depth, mut j) = (0usize, 0usize);
            while j < rest.len() {
                if rest[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            keep_newlines(&mut out, &rest[..j]);
            i += j;
        } else if let Some(len) = raw_string_len(rest) {
            keep_string(&mut out, &rest[..len]);
            i += len;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let len = (j + 1).min(rest.len());
            keep_string(&mut out, &rest[..len]);
            i += len;
        } else if rest[0] == b'\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            let len = if rest.get(1) == Some(&b'\\') {
                rest[2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map_or(1, |p| p + 3)
            } else {
                let ch = text[i + 1..].chars().next().map_or(0, char::len_utf8);
                if rest.get(1 + ch) == Some(&b'\'') {
                    ch + 2
                } else {
                    1
                }
            };
            out.push_str(if len > 1 { "' '" } else { "'" });
            i += len;
        } else {
            let ch = text[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&text[i..i + ch]);
            i += ch;
        }
    }
    out
}

/// The length of a raw string literal (`r"…"`, `r#"…"#`, `br"…"`) at the start of `s`.
fn raw_string_len(s: &[u8]) -> Option<usize> {
    let start = if s.starts_with(b"br") {
        2
    } else if s.starts_with(b"r") {
        1
    } else {
        return None;
    };
    let hashes = s[start..].iter().take_while(|&&c| c == b'#').count();
    if s.get(start + hashes) != Some(&b'"') {
        return None;
    }
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    let body = start + hashes + 1;
    let end = s[body..].windows(close.len()).position(|w| w == close)?;
    Some(body + end + close.len())
}

/// The code without `#[cfg(test)]` items (the test module), brace-matched.
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let Some(open) = item.find('{') else {
            rest = "";
            break;
        };
        // `#[cfg(test)] use …;` or `fn …;` ends before any brace: drop just that item.
        if let Some(semi) = item.find(';').filter(|&s| s < open) {
            rest = &item[semi + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = item.len();
        for (j, c) in item[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The `::`-separated identifiers starting at `s` (`a::b::{c, d}` stops before the brace).
fn path_at(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut segments = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && is_ident_byte(b[i]) {
            i += 1;
        }
        if i == start {
            break;
        }
        segments.push(s[start..i].to_string());
        let ws = s[i..].len() - s[i..].trim_start().len();
        if s[i + ws..].starts_with("::") {
            i += ws + 2;
            i += s[i..].len() - s[i..].trim_start().len();
        } else {
            break;
        }
    }
    segments
}

/// Expands a use tree (`crate::a::{b, c::{d, e}}`) into its paths.
fn expand_use(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    let mut path = prefix.to_vec();
    let head = path_at(tree);
    let consumed = {
        // Skip the identifiers and separators `path_at` read.
        let mut rest = tree;
        for seg in &head {
            rest = rest.trim_start();
            rest = &rest[seg.len()..];
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix("::") {
                rest = r;
            }
        }
        tree.len() - rest.len()
    };
    path.extend(head);
    let rest = tree[consumed..].trim();
    if let Some(inner) = rest.strip_prefix('{') {
        let inner = inner.strip_suffix('}').unwrap_or(inner);
        let mut depth = 0;
        let mut start = 0;
        for (j, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_use(&inner[start..j], &path, out);
                    start = j + 1;
                }
                _ => {}
            }
        }
        expand_use(&inner[start..], &path, out);
    } else if !path.is_empty() {
        out.push(path);
    }
}

/// Every path a file's code names that may lead into its crate: its use trees, expanded, and
/// every other `crate::` / `super::` / `self::` / `child::` path.
fn paths_in(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0 || !(is_ident_byte(b[i - 1]) || b[i - 1] == b':');
        if !boundary || !is_ident_byte(b[i]) {
            i += 1;
            continue;
        }
        let word_end = i + code[i..]
            .bytes()
            .position(|c| !is_ident_byte(c))
            .unwrap_or(code.len() - i);
        let word = &code[i..word_end];
        if word == "use" {
            let end = code[i..].find(';').map_or(code.len(), |e| i + e);
            expand_use(&code[word_end..end], &[], &mut out);
            i = end;
            continue;
        }
        let starts_path = matches!(word, "crate" | "super" | "self") || children.contains(word);
        if starts_path && code[word_end..].trim_start().starts_with("::") {
            out.push(path_at(&code[i..]));
        }
        i = word_end;
    }
    out
}

/// The module a path in `from` names: `crate`/`super`/`self`/a child resolved, then the
/// longest prefix that is a module of the crate. `None` for paths outside the crate.
fn resolve(
    from: &[String],
    path: &[String],
    children: &BTreeSet<String>,
    modules: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    // `super` of `a/b.rs` (module a::b) is `a`; of `a/mod.rs` (module a) it is the root.
    let mut base: Vec<String> = from.to_vec();
    let mut segments = path.iter().peekable();
    match segments.peek().map(|s| s.as_str()) {
        Some("crate") => {
            base.clear();
            segments.next();
        }
        Some("self") => {
            segments.next();
        }
        Some("super") => {
            while segments.peek().map(|s| s.as_str()) == Some("super") {
                segments.next();
                base.pop()?;
            }
        }
        Some(first) if children.contains(first) => {}
        _ => return None,
    }
    let mut target = base;
    let mut best = target.clone();
    for seg in segments {
        target.push(seg.clone());
        if modules.contains(&target) {
            best = target.clone();
        } else {
            break;
        }
    }
    Some(best)
}

/// One crate's sibling edges: folder -> (from child, to child) -> an example file import.
type Edges = BTreeMap<Vec<String>, BTreeMap<(String, String), String>>;

fn sibling_edges(sources: &[Source]) -> Edges {
    // `main.rs` is the root of another crate (the binary), which uses the library by name.
    let sources: Vec<&Source> = sources
        .iter()
        .filter(|s| s.path != Path::new("main.rs"))
        .collect();
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    let mut edges = Edges::new();
    for s in &sources {
        let children: BTreeSet<String> = modules
            .iter()
            .filter(|m| m.len() == s.module.len() + 1 && m.starts_with(&s.module))
            .filter_map(|m| m.last().cloned())
            .collect();
        for path in paths_in(&s.code, &children) {
            let Some(to) = resolve(&s.module, &path, &children, &modules) else {
                continue;
            };
            let common = s.module.iter().zip(&to).take_while(|(a, b)| a == b).count();
            // One contains the other: a parent and its descendant, not siblings.
            if common == s.module.len() || common == to.len() {
                continue;
            }
            let folder = s.module[..common].to_vec();
            let pair = (s.module[common].clone(), to[common].clone());
            edges
                .entry(folder)
                .or_default()
                .entry(pair)
                .or_insert_with(|| format!("{} uses {}", s.path.display(), path.join("::")));
        }
    }
    edges
}

/// The cycles among one folder's children, each as the loop of module names.
fn cycles(edges: &BTreeMap<(String, String), String>) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        graph.entry(a).or_default().push(b);
        graph.entry(b).or_default();
    }
    // Tarjan's strongly connected components: each with more than one module is a loop.
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<Vec<String>>,
    }
    fn visit<'a>(v: &'a str, graph: &BTreeMap<&'a str, Vec<&'a str>>, st: &mut State<'a>) {
        let n = st.index.len();
        st.index.insert(v, n);
        st.low.insert(v, n);
        st.stack.push(v);
        st.on_stack.insert(v);
        for &w in &graph[v] {
            if !st.index.contains_key(w) {
                visit(w, graph, st);
                let low = st.low[v].min(st.low[w]);
                st.low.insert(v, low);
            } else if st.on_stack.contains(w) {
                let low = st.low[v].min(st.index[w]);
                st.low.insert(v, low);
            }
        }
        if st.low[v] == st.index[v] {
            let mut component = Vec::new();
            while let Some(w) = st.stack.pop() {
                st.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                st.components.push(component);
            }
        }
    }
    let mut st = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for &v in graph.keys() {
        if !st.index.contains_key(v) {
            visit(v, &graph, &mut st);
        }
    }
    st.components
}

#[test]
fn no_import_loops_between_sibling_modules() {
    let mut problems = Vec::new();
    for (name, src) in crates() {
        let sources = sources(&src);
        let edges = sibling_edges(&sources);
        // A parser that saw no imports would pass every crate: each has many top-level edges.
        let top = edges.get(&Vec::new()).map_or(0, BTreeMap::len);
        assert!(
            top > 20,
            "{name}: only {top} imports between top-level modules were found"
        );
        for (folder, edges) in edges {
            for component in cycles(&edges) {
                let within = if folder.is_empty() {
                    format!("{name} (top level)")
                } else {
                    format!("{name}::{}", folder.join("::"))
                };
                let evidence: Vec<String> = edges
                    .iter()
                    .filter(|((a, b), _)| component.contains(a) && component.contains(b))
                    .map(|((a, b), why)| format!("    {a} -> {b}: {why}"))
                    .collect();
                problems.push(format!(
                    "import loop in {within} among {}:\n{}",
                    component.join(", "),
                    evidence.join("\n")
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_source_file_over_the_line_limit() {
    let mut over = Vec::new();
    for (name, src) in crates() {
        for s in sources(&src) {
            if s.lines_of_code > MAX_LINES_OF_CODE {
                over.push(format!(
                    "{name}: src/{} has {} lines of code (limit {MAX_LINES_OF_CODE}; blank, \
                     comment and #[cfg(test)] lines not counted): split it by concern",
                    s.path.display(),
                    s.lines_of_code
                ));
            }
        }
    }
    assert!(over.is_empty(), "{}", over.join("\n"));
}

#[test]
fn every_folder_says_what_it_holds() {
    let mut silent = Vec::new();
    for (name, src) in crates() {
        for s in sources(&src) {
            let folder = s.path.ends_with("mod.rs") || s.path.ends_with("lib.rs");
            if folder && !s.has_docs {
                silent.push(format!("{name}: src/{} has no //! docs", s.path.display()));
            }
        }
    }
    assert!(silent.is_empty(), "{}", silent.join("\n"));
}

/// The rules' own parts, on made-up sources, so a broken parser cannot pass silently.
#[test]
fn the_checks_see_loops_comments_and_tests() {
    let code = blank_comments_and_strings(
        "// use crate::a;\nlet s = \"crate::b::x\"; /* crate::c */ let c = '\"';\nuse crate::d::{e, f::{g, h}};\n",
    );
    let paths = paths_in(&code, &BTreeSet::new());
    assert_eq!(
        paths,
        vec![
            vec!["crate".to_string(), "d".into(), "e".into()],
            vec!["crate".into(), "d".into(), "f".into(), "g".into()],
            vec!["crate".into(), "d".into(), "f".into(), "h".into()],
        ]
    );
    // Lines inside a multi-line string are code, unless blank; the comment line is not.
    let counted = blank_comments_and_strings("let css = r#\"\n  a {}\n\n  b {}\n\"#;\n// c\n");
    assert_eq!(
        counted.lines().filter(|l| !l.trim().is_empty()).count(),
        4,
        "{counted:?}"
    );
    let code = without_tests(
        "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn b() { crate::x::y(); }\n}\nfn c() {}\n",
    );
    assert!(
        !code.contains("crate::x") && code.contains("fn c()"),
        "{code}"
    );

    let source = |module: &[&str], path: &str, code: &str| Source {
        module: module.iter().map(|s| s.to_string()).collect(),
        path: path.into(),
        code: code.to_string(),
        lines_of_code: 0,
        has_docs: true,
    };
    let sources = vec![
        source(&[], "lib.rs", "pub mod a; pub mod b;"),
        source(
            &["a"],
            "a/mod.rs",
            "mod x; mod y; use x::X; fn f() { super::b::g(); }",
        ),
        source(&["a", "x"], "a/x.rs", "use super::y::Y; use super::shared;"),
        source(&["a", "y"], "a/y.rs", "use crate::a::x::X;"),
        source(&["b"], "b.rs", "fn g() { crate::a::x::X::new(); }"),
    ];
    let edges = sibling_edges(&sources);
    let inner = &edges[&vec!["a".to_string()]];
    assert_eq!(cycles(inner), vec![vec!["x".to_string(), "y".to_string()]]);
    // a -> b (a/mod.rs) and b -> a (b.rs -> a/x.rs): a loop among the top level too.
    assert_eq!(
        cycles(&edges[&Vec::new()]),
        vec![vec!["a".to_string(), "b".to_string()]]
    );
    // A child using its parent's items (`super::shared`), and a parent its child's
    // (`use x::X`), is no sibling edge.
    let pairs: Vec<(&str, &str)> = inner
        .keys()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(pairs, [("x", "y"), ("y", "x")]);
}
