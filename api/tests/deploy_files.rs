//! docker-compose.yml cannot be run here (no Docker), so it is checked against everything it
//! must agree with: the configuration code (every key it reads, which are required), our
//! binaries' subcommands, the tools each image ships, the README (configuration table,
//! published ports) and the nginx config it mounts. No database needed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

/// What the issue asks the stack to run.
const SERVICES: &[&str] = &[
    "nginx",
    "api",
    "worker",
    "scheduler",
    "migrate",
    "web",
    "postgres",
    "postgres-replica",
    "pgbouncer",
    "redis",
    "minio",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The compose file with YAML merge keys (`<<: *app`) applied, as Docker Compose reads it.
fn compose() -> Value {
    let mut doc: Value = serde_yaml::from_str(&read("docker-compose.yml")).expect("valid YAML");
    doc.apply_merge().expect("merge keys resolve");
    doc
}

fn services(doc: &Value) -> &serde_yaml::Mapping {
    doc["services"].as_mapping().expect("services mapping")
}

fn name(key: &Value) -> &str {
    key.as_str().expect("service names are strings")
}

fn is_one_shot(service: &Value) -> bool {
    service["restart"].as_str() == Some("no")
}

/// Services built from our Dockerfile: the api, worker and scheduler binaries.
fn is_ours(service: &Value) -> bool {
    service["build"]["dockerfile"].as_str() == Some("deploy/Dockerfile")
}

/// Sources minus their `#[cfg(test)]` tail, so test fixtures are not mistaken for reads.
fn without_tests(source: &str) -> &str {
    source.split("#[cfg(test)]").next().unwrap_or_default()
}

/// Upper-case string literals passed first to any of `calls`, e.g. `.get("APP_ENV")` or
/// `.parse(\n    "BIND_ADDR",`.
fn keys_after(source: &str, calls: &[&str]) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for call in calls {
        for (at, _) in source.match_indices(call) {
            let Some(rest) = source[at + call.len()..].trim_start().strip_prefix('"') else {
                continue;
            };
            let key: String = rest
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !key.is_empty() && rest[key.len()..].starts_with('"') {
                keys.insert(key);
            }
        }
    }
    keys
}

/// Every environment variable the processes read, and the ones start-up refuses to run
/// without: read from `crates/platform/src/config/` (the `Env` helpers) and from the binaries'
/// own `std::env::var` calls.
struct ConfigKeys {
    all: BTreeSet<String>,
    required: BTreeSet<String>,
}

fn rust_sources(dir: &str) -> Vec<String> {
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(root().join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).expect("source");
            sources.push(without_tests(&source).to_string());
        }
    }
    sources
}

fn config_keys() -> ConfigKeys {
    // The configuration code reads through its `Env` helpers: `env.get("X")`, `.or`, …;
    // `required` fails start-up without the key, `missing` does so in production.
    let mut all = BTreeSet::new();
    let mut required = BTreeSet::new();
    for source in rust_sources("crates/platform/src/config") {
        all.extend(keys_after(
            &source,
            &[".get(", ".or(", ".parse(", ".required("],
        ));
        required.extend(keys_after(&source, &[".required(", ".missing("]));
    }
    // A binary's own options (the scheduler's BACKUP_KEEP).
    for bin in ["api/src", "worker/src", "scheduler/src"] {
        for source in rust_sources(bin) {
            all.extend(keys_after(&source, &["env::var("]));
        }
    }
    assert!(
        all.contains("DATABASE_URL") && all.contains("APP_ENV") && all.len() > 30,
        "the key scanner lost track of the configuration code: {all:?}"
    );
    ConfigKeys { all, required }
}

#[test]
fn every_service_the_issue_names_is_there() {
    let doc = compose();
    let present: BTreeSet<&str> = services(&doc).keys().map(name).collect();
    let missing: Vec<_> = SERVICES.iter().filter(|s| !present.contains(*s)).collect();
    assert!(missing.is_empty(), "services missing: {missing:?}");
}

/// The executables each image really has (how we know, per image, in the comments).
fn tools_of(image: &str) -> &'static [&'static str] {
    let (repo, tag) = image.split_once(':').unwrap_or((image, "latest"));
    match repo {
        // The server package ships its client tools; Debian base has grep.
        "postgres" => &["pg_isready", "psql"],
        // Debian base: redis-cli comes with the server, grep with the base system.
        "redis" => &["redis-cli", "grep"],
        // Alpine variants only: busybox wget (the Debian variant has neither wget nor curl).
        "nginx" if tag.ends_with("alpine") => &["wget"],
        // Since late 2023 `mc` but no curl (minio/minio#18373).
        "minio/minio" => &["mc"],
        // Its README: "Includes PostgreSQL client tools such as psql, pg_isready".
        "edoburu/pgbouncer" => &["pg_isready", "psql"],
        _ => &[],
    }
}

/// The binaries deploy/Dockerfile copies into our image.
fn our_binaries() -> BTreeSet<String> {
    let dockerfile = read("deploy/Dockerfile");
    let copy = dockerfile
        .lines()
        .find(|l| l.starts_with("COPY --from=build") && l.contains("/usr/local/bin"))
        .expect("the Dockerfile copies the binaries to /usr/local/bin");
    copy.split_whitespace()
        .filter_map(|w| w.strip_prefix("/src/target/release/"))
        .map(str::to_string)
        .collect()
}

/// The command words a health check runs: `CMD exe args…`, or each stage of a `CMD-SHELL`
/// pipeline.
fn health_commands(test: &[Value]) -> Vec<Vec<String>> {
    let words: Vec<String> = test
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect();
    match words.first().map(String::as_str) {
        Some("CMD") => vec![words[1..].to_vec()],
        Some("CMD-SHELL") => words[1]
            .split(['|', ';', '&'])
            .map(|stage| stage.split_whitespace().map(str::to_string).collect())
            .filter(|stage: &Vec<String>| !stage.is_empty())
            .collect(),
        other => panic!("health check must start with CMD or CMD-SHELL, got {other:?}"),
    }
}

#[test]
fn every_long_running_service_has_a_health_check_its_image_can_run() {
    let doc = compose();
    let ours = our_binaries();
    assert!(
        ["api", "worker", "scheduler"]
            .iter()
            .all(|b| ours.contains(*b)),
        "the image lacks a binary: {ours:?}"
    );
    for (key, service) in services(&doc) {
        let svc = name(key);
        if is_one_shot(service) {
            assert!(
                service.get("healthcheck").is_none(),
                "{svc} exits when done; a health check would never pass"
            );
            continue;
        }
        let test = service["healthcheck"]["test"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{svc} has no healthcheck.test list"));
        for command in health_commands(test) {
            let exe = command[0].as_str();
            if is_ours(service) {
                assert!(ours.contains(exe), "{svc}: {exe} is not in our image");
                assert_eq!(
                    command.get(1).map(String::as_str),
                    Some("healthcheck"),
                    "{svc}: our binaries probe themselves with `<binary> healthcheck`"
                );
                // Only the api binary is built for this test; the others are read.
                let main = read(format!("{exe}/src/main.rs"));
                assert!(
                    main.contains("\"healthcheck\""),
                    "{exe}/src/main.rs has no healthcheck subcommand"
                );
            } else {
                let image = service["image"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{svc} has neither our build nor an image"));
                assert!(
                    tools_of(image).contains(&exe),
                    "{svc}: {exe} is not known to be in {image} (it has {:?})",
                    tools_of(image)
                );
            }
        }
    }
}

/// Answers every connection with `status` until the test ends.
fn serve(status: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
        }
    });
    port
}

fn api_healthcheck(port: u16) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_api"))
        .arg("healthcheck")
        .env_clear()
        .env("BIND_ADDR", format!("0.0.0.0:{port}"))
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .env("JWT_SECRET", "x".repeat(40))
        .env("S3_ACCESS_KEY_ID", "k")
        .env("S3_SECRET_ACCESS_KEY", "s")
        .output()
        .expect("run the api binary")
}

#[test]
fn the_api_health_check_passes_on_200_and_fails_on_503_without_touching_its_dependencies() {
    // The database and Redis URLs above lead nowhere: the probe must not need them.
    let ok = api_healthcheck(serve("200 OK"));
    assert!(ok.status.success(), "{ok:?}");
    let down = api_healthcheck(serve("503 Service Unavailable"));
    assert_eq!(down.status.code(), Some(1), "{down:?}");
    assert!(String::from_utf8_lossy(&down.stderr).contains("503"));
}

#[test]
fn every_dependency_waits_for_health_or_completion() {
    let doc = compose();
    let all = services(&doc);
    for (key, service) in all {
        let svc = name(key);
        let Some(deps) = service.get("depends_on") else {
            continue;
        };
        let deps = deps
            .as_mapping()
            .unwrap_or_else(|| panic!("{svc}: depends_on must be a mapping with conditions"));
        for (dep, how) in deps {
            let dep = name(dep);
            let target = all
                .get(dep)
                .unwrap_or_else(|| panic!("{svc} depends on unknown {dep}"));
            match how["condition"].as_str() {
                Some("service_healthy") => assert!(
                    target.get("healthcheck").is_some(),
                    "{svc} waits for {dep} to be healthy, but {dep} has no health check"
                ),
                Some("service_completed_successfully") => assert!(
                    is_one_shot(target),
                    "{svc} waits for {dep} to complete, but {dep} is not a one-shot"
                ),
                other => panic!("{svc} -> {dep}: condition {other:?} does not wait for readiness"),
            }
        }
    }
}

#[test]
fn long_running_services_restart_and_one_shots_do_not() {
    let doc = compose();
    let mut one_shots = BTreeSet::new();
    for (key, service) in services(&doc) {
        let svc = name(key);
        match service["restart"].as_str() {
            Some("always" | "unless-stopped") => {}
            Some("no") => {
                one_shots.insert(svc);
            }
            other => panic!("{svc}: restart policy {other:?}"),
        }
    }
    assert_eq!(one_shots, BTreeSet::from(["migrate", "web"]));
}

#[test]
fn the_api_runs_three_replicas_and_every_app_process_has_limits() {
    let doc = compose();
    let all = services(&doc);
    assert_eq!(
        doc["services"]["api"]["deploy"]["replicas"].as_u64(),
        Some(3)
    );
    for (key, service) in all {
        if is_ours(service) && !is_one_shot(service) {
            let limits = &service["deploy"]["resources"]["limits"];
            assert!(
                limits["cpus"].as_str().is_some() && limits["memory"].as_str().is_some(),
                "{}: no cpu and memory limits",
                name(key)
            );
        }
    }
}

fn environment(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_mapping()
        .map(|env| {
            env.iter()
                .map(|(k, v)| {
                    let value = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => panic!("{k:?}: quote non-string values ({other:?})"),
                    };
                    (name(k).to_string(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn app_processes_get_real_configuration_keys_and_every_required_one() {
    let keys = config_keys();
    let doc = compose();
    let mut checked = 0;
    for (key, service) in services(&doc) {
        if !is_ours(service) {
            continue;
        }
        let svc = name(key);
        let env = environment(service);
        let unknown: Vec<_> = env.keys().filter(|k| !keys.all.contains(*k)).collect();
        assert!(
            unknown.is_empty(),
            "{svc}: not configuration keys: {unknown:?}"
        );
        let missing: Vec<_> = keys
            .required
            .iter()
            .filter(|k| env.get(*k).is_none_or(String::is_empty))
            .collect();
        assert!(
            missing.is_empty(),
            "{svc}: required keys missing: {missing:?}"
        );
        assert_eq!(env.get("APP_ENV").map(String::as_str), Some("production"));
        checked += 1;
    }
    assert_eq!(
        checked, 4,
        "api, worker, scheduler and migrate run our image"
    );
    // The image's own defaults are configuration too.
    let dockerfile = read("deploy/Dockerfile");
    let env_line = dockerfile
        .lines()
        .find(|l| l.starts_with("ENV "))
        .expect("ENV line");
    for assignment in env_line["ENV ".len()..].split_whitespace() {
        let (k, _) = assignment.split_once('=').expect("KEY=value");
        assert!(keys.all.contains(k), "Dockerfile sets unknown {k}");
    }
}

/// `${VAR:?}` (must be set) or `${VAR:-}` (optional, empty by default): a value from the
/// environment, never one written here.
fn from_environment(value: &str) -> bool {
    value
        .strip_prefix("${")
        .and_then(|v| v.strip_suffix('}'))
        .is_some_and(|inner| {
            let var_end = inner
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(inner.len());
            var_end > 0 && matches!(&inner[var_end..], ":?" | ":-")
        })
}

#[test]
fn secrets_come_only_from_the_environment() {
    let doc = compose();
    for (key, service) in services(&doc) {
        let svc = name(key);
        for (var, value) in environment(service) {
            let secret = ["PASSWORD", "SECRET", "DSN"]
                .iter()
                .any(|word| var.contains(word))
                || var.ends_with("_AUTH");
            if secret {
                assert!(
                    from_environment(&value),
                    "{svc}: {var} must be ${{VAR:?}} or ${{VAR:-}}, is {value:?}"
                );
            }
            // Credentials inside URLs: scheme://user:PASSWORD@host
            if let Some((_, rest)) = value.split_once("://")
                && let Some((userinfo, _)) = rest.split_once('@')
                && let Some((_, password)) = userinfo.split_once(':')
            {
                assert!(
                    password.starts_with("${") && password.ends_with(":?}"),
                    "{svc}: {var} has a password written in the file"
                );
            }
        }
    }
}

/// `| service | port |` rows under the README's "### Published ports" heading.
fn readme_ports() -> BTreeSet<(String, String)> {
    let readme = read("README.md");
    let section = readme
        .split("### Published ports")
        .nth(1)
        .expect("README has a \"### Published ports\" section");
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(|c| c.trim().trim_matches('`')).collect();
            (cells[1].to_string(), cells[2].to_string())
        })
        .collect()
}

#[test]
fn published_ports_are_the_ones_the_readme_lists() {
    let doc = compose();
    let mut published = BTreeSet::new();
    for (key, service) in services(&doc) {
        for port in service["ports"].as_sequence().into_iter().flatten() {
            let port = port.as_str().expect("ports as \"host:container\" strings");
            published.insert((name(key).to_string(), port.to_string()));
        }
    }
    assert!(!published.is_empty());
    assert_eq!(
        published,
        readme_ports(),
        "docker-compose.yml publishes (left) what README \"Published ports\" lists (right)"
    );
}

#[test]
fn the_nginx_config_mounted_exists_and_keeps_metrics_private() {
    let doc = compose();
    let nginx = &doc["services"]["nginx"];
    let mounts: Vec<&str> = nginx["volumes"]
        .as_sequence()
        .expect("nginx volumes")
        .iter()
        .map(|v| v.as_str().expect("short volume syntax"))
        .collect();
    let conf = mounts
        .iter()
        .find_map(|m| {
            let (source, rest) = m.split_once(':')?;
            rest.starts_with("/etc/nginx/").then_some(source)
        })
        .expect("nginx mounts a config");
    let text = read(conf.trim_start_matches("./"));
    // A `location` naming /metrics whose block refuses everyone.
    let refused = text.match_indices("location").any(|(at, _)| {
        let block = &text[at..];
        let (head, body) = block.split_once('{').unwrap_or_default();
        let body = body.split('}').next().unwrap_or_default();
        head.contains("/metrics") && (body.contains("deny all") || body.contains("return 404"))
    });
    assert!(refused, "{conf} must deny /metrics to the public");
}

/// Backticked key names in the first column of the README's configuration table.
fn readme_config_keys() -> BTreeSet<String> {
    let readme = read("README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .expect("README has a Configuration section");
    let section = section.split("\n## ").next().unwrap_or_default();
    let mut keys = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let first = row.split('|').nth(1).unwrap_or_default();
        for (i, chunk) in first.split('`').enumerate() {
            if i % 2 == 1 {
                keys.insert(chunk.to_string());
            }
        }
    }
    keys
}

#[test]
fn the_readme_configuration_table_lists_every_key_and_no_other() {
    let keys = config_keys();
    let listed = readme_config_keys();
    let undocumented: Vec<_> = keys.all.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&keys.all).collect();
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "README configuration table: missing {undocumented:?}, not read by the code {stale:?}"
    );
}

#[test]
fn the_example_env_that_run_reads_sets_only_configuration_keys() {
    let keys = config_keys();
    for line in read(".env.example").lines() {
        let line = line.trim_start_matches('#').trim();
        if let Some((var, _)) = line.split_once('=')
            && !var.is_empty()
            && var
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            assert!(keys.all.contains(var), ".env.example sets unknown {var}");
        }
    }
}
