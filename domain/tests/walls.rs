//! The walls between bounded contexts, checked on the source: every table belongs to exactly
//! one context crate (its `TABLES`), SQL lives only in repository modules, and no context
//! queries another's tables — cross-context reads go through the owners' published `read.*`
//! views. The crate graph itself is acyclic because Cargo refuses cycles; the README draws it,
//! and the last test keeps that drawing true to the manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Each context crate's directory name and the tables it declares.
fn owners() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("accounts", domain::accounts::TABLES),
        ("audit_log", domain::audit_log::TABLES),
        ("campaigns", domain::campaigns::TABLES),
        ("jobs", domain::jobs::TABLES),
        ("ledger", domain::ledger::TABLES),
        ("loans", domain::loans::TABLES),
        ("money", domain::money::TABLES),
        ("notifications", domain::notifications::TABLES),
        ("ops", domain::ops::TABLES),
        ("outbox", domain::outbox::TABLES),
        ("reports", domain::reports::TABLES),
        ("webhooks", domain::webhooks::TABLES),
    ])
}

fn migrations() -> String {
    let mut files: Vec<_> = std::fs::read_dir(root().join("migrations"))
        .expect("migrations/")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("migration"))
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase()
}

/// Names following `keyword` (e.g. `create table`), in SQL text.
fn names_after(sql: &str, keyword: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in sql.match_indices(keyword) {
        let rest = sql[at + keyword.len()..].trim_start();
        let rest = rest
            .strip_prefix("if not exists")
            .unwrap_or(rest)
            .trim_start();
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        if !name.is_empty() {
            names.insert(name);
        }
    }
    names
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The raw bodies of a source file's string literals, outside its unit tests.
fn literals(source: &str) -> Vec<&str> {
    let code = source.split("#[cfg(test)]").next().unwrap_or(source);
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = literal_end(after) else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// The string literals of a source file that hold SQL, lowercased.
fn sql_literals(source: &str) -> Vec<String> {
    literals(source)
        .into_iter()
        .map(str::to_lowercase)
        .filter(|text| {
            ["select ", "insert into ", "update ", "delete from "]
                .iter()
                .any(|k| text.contains(k))
                && [" from ", " into ", "update ", " join "]
                    .iter()
                    .any(|k| text.contains(k))
        })
        .collect()
}

/// The known tables and `read.*` views a statement names.
fn tables_in(sql: &str, known: &BTreeSet<String>, views: &BTreeSet<String>) -> BTreeSet<String> {
    let sql = sql.replace(['\n', '(', ')', ','], " ");
    let mut found = BTreeSet::new();
    for keyword in ["from ", "join ", "into ", "update ", "table "] {
        for name in names_after(&sql, keyword) {
            if known.contains(&name) || views.contains(&name) || name.starts_with("read.") {
                found.insert(name);
            }
        }
    }
    found
}

/// A repository module: `repo.rs` or a file under a `repo/` folder. Test support is exempt.
fn is_repository(path: &Path) -> bool {
    path.file_name().is_some_and(|f| f == "repo.rs")
        || path.components().any(|c| c.as_os_str() == "repo")
        || path.ends_with("platform/src/testing.rs")
}

#[test]
fn every_table_belongs_to_exactly_one_context() {
    let created = names_after(&migrations(), "create table ");
    let mut claimed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (context, tables) in owners() {
        for table in tables {
            claimed.entry(table).or_default().push(context);
        }
    }
    for table in &created {
        let owners = claimed.get(table.as_str()).cloned().unwrap_or_default();
        assert_eq!(owners.len(), 1, "table {table} is owned by {owners:?}");
    }
    for table in claimed.keys() {
        assert!(
            created.contains(*table),
            "{table} is claimed but never created"
        );
    }
}

#[test]
fn sql_lives_in_repositories_and_touches_only_its_own_tables_or_published_views() {
    let schema = migrations();
    let known = names_after(&schema, "create table ");
    let views = names_after(&schema, "create view ");
    let owners = owners();
    let mut problems = Vec::new();
    let mut statements = 0;
    for entry in std::fs::read_dir(root().join("crates")).expect("crates/") {
        let dir = entry.expect("entry").path();
        let context = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        let own: BTreeSet<&str> = owners
            .get(context.as_str())
            .map(|t| t.iter().copied().collect())
            .unwrap_or_default();
        for file in rust_files(&dir.join("src")) {
            let source = std::fs::read_to_string(&file).expect("source");
            for sql in sql_literals(&source) {
                let tables = tables_in(&sql, &known, &views);
                if tables.is_empty() {
                    continue;
                }
                statements += 1;
                let shown = file.strip_prefix(root()).unwrap_or(&file).display();
                if !is_repository(&file) {
                    problems.push(format!("{shown}: SQL outside a repository module"));
                }
                for table in tables {
                    if table.starts_with("read.") {
                        if !views.contains(&table) {
                            problems.push(format!("{shown}: {table} is not a published view"));
                        }
                    } else if !own.contains(table.as_str()) {
                        problems.push(format!("{shown}: queries {table}, not {context}'s"));
                    }
                }
            }
        }
    }
    // A broken scanner would find nothing and pass.
    assert!(statements > 100, "only {statements} statements found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_draws_the_crate_graph_as_the_manifests_declare_it() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let contexts: BTreeSet<String> = std::fs::read_dir(root().join("crates"))
        .expect("crates/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for context in &contexts {
        let manifest =
            std::fs::read_to_string(root().join("crates").join(context).join("Cargo.toml"))
                .expect("Cargo.toml");
        let deps = manifest
            .split("[dependencies]")
            .nth(1)
            .expect("dependencies")
            .split("\n[")
            .next()
            .unwrap_or_default();
        let mut uses: Vec<&str> = deps
            .lines()
            .filter_map(|l| l.split('.').next())
            .filter(|name| contexts.contains(*name))
            .collect();
        uses.sort_unstable();
        let line = if uses.is_empty() {
            format!("{context} → (nothing)")
        } else {
            format!("{context} → {}", uses.join(", "))
        };
        assert!(
            readme.lines().any(|l| l.trim() == line),
            "README should list `{line}`"
        );
    }
}

/// A Rust string literal's value: escapes resolved, `\`-newline continuations joined.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\n') => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Every SQL statement in the context crates as it is sent: literals that start a statement,
/// with `{NAME}` placeholders filled from the same file's `&str` constants (the
/// `format!`-built column lists). Returns (file, statement).
fn statements() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).expect("crates/") {
        for file in rust_files(&entry.expect("entry").path().join("src")) {
            let source = std::fs::read_to_string(&file).expect("source");
            let code = source.split("#[cfg(test)]").next().unwrap_or(&source);
            let mut consts = BTreeMap::new();
            for (at, _) in code.match_indices("const ") {
                let rest = &code[at + 6..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                    .collect();
                let Some(body) = rest.strip_prefix(&format!("{name}: &str =")) else {
                    continue;
                };
                let body = body.trim_start();
                if let Some(lit) = body
                    .strip_prefix('"')
                    .and_then(|b| literal_end(b).map(|e| &b[..e]))
                {
                    consts.insert(name, unescape(lit));
                }
            }
            let shown = file
                .strip_prefix(root())
                .unwrap_or(&file)
                .display()
                .to_string();
            for literal in literals(code) {
                let mut sql = unescape(literal);
                let head = sql.trim_start().to_lowercase();
                let statement = ["select ", "insert into ", "delete from ", "with "]
                    .iter()
                    .any(|k| head.starts_with(k))
                    || (head.starts_with("update ") && head.contains(" set "));
                if !statement {
                    continue;
                }
                for (name, value) in &consts {
                    sql = sql.replace(&format!("{{{name}}}"), value);
                }
                out.push((shown.clone(), sql.replace("{{", "{").replace("}}", "}")));
            }
        }
    }
    out
}

/// Where a string literal that starts just after its opening quote ends.
fn literal_end(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// Every statement the contexts send is prepared against the migrated schema, so a renamed
/// column or a mistyped table fails here rather than in production.
#[tokio::test]
async fn every_statement_prepares_against_the_migrated_schema() {
    use sqlx::{Connection, Executor};
    let (_, url) = platform::testing::create_database(true).await;
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let all = statements();
    assert!(all.len() > 100, "only {} statements found", all.len());
    let mut failures = Vec::new();
    for (file, sql) in &all {
        if let Err(e) = conn
            .prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(
                sql.clone(),
            )))
            .await
        {
            failures.push(format!("{file}: {e}\n    {sql}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
