//! Results: one row per measured point, the ratios the issue asks for, the targets and whether
//! each is met; printed as one table and serialised as JSON.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::Serialize;

use crate::driver::Measured;
use crate::statements::Profile;

pub const RAW: &str = "raw_sql_donate";
pub const PGBENCH_ONE: &str = crate::pgbench::ONE;
pub const PGBENCH_SET16: &str = crate::pgbench::SET16;
pub const UNIFORM: &str = "http_donate_uniform";
pub const HOT: &str = "http_donate_hot";
pub const DETAIL: &str = "http_detail_cached";
pub const LIST: &str = "http_list_uncached";
pub const SEARCH: &str = "http_search_uncached";
/// The worker draining a backlog with the api idle (its throughput: outbox events per second).
pub const WORKER_DRAIN: &str = "worker_drain";
pub const DONATIONS_PAGE: &str = "http_donations_page";

/// Measured with the donations seeded at the start, after growing the donations table, or
/// after growing the campaigns (and users) as well.
pub const BASE: &str = "base";
pub const GROWN: &str = "grown";
pub const CAMPAIGNS: &str = "campaigns";

/// Uncached list and search pages per second measured when the performance issue was filed
/// (release build, 2 cores); the target is three times this.
const LIST_BEFORE: f64 = 630.0;

/// The processes whose CPU a donation costs (the bench's and pgbench's own are left out).
const SERVING: &[&str] = &["api", "pg", "worker", "redis"];

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub memory_gib: f64,
}

impl Machine {
    pub fn detect() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown cpu".into());
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map(|kb| (kb / 1024.0 / 1024.0 * 10.0).round() / 10.0)
            .unwrap_or(0.0);
        Self {
            cores,
            cpu,
            memory_gib,
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cores ({}), {} GiB",
            self.cores, self.cpu, self.memory_gib
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub scenario: String,
    pub stage: String,
    /// Donations in the database when the point started.
    pub donations_in_db: usize,
    pub campaigns_in_db: usize,
    pub clients: usize,
    pub ok: u64,
    pub errors: u64,
    pub seconds: f64,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub first_error: Option<String>,
    /// CPU milliseconds per operation by process group (see `cpu.rs`).
    pub cpu_ms_per_op: BTreeMap<String, f64>,
    /// api + PostgreSQL + worker + Redis: what one operation costs the platform.
    pub cpu_ms_serving: f64,
    /// Donation points: the oldest unsent outbox event's age, at its worst during the point.
    pub outbox_lag_max_s: Option<f64>,
    /// Statements per operation and the costliest ones (when pg_stat_statements is loaded).
    pub statements: Option<Profile>,
    /// HTTP donation points: donations per group-commit transaction (from the api's metrics).
    pub donations_per_commit: Option<f64>,
}

impl Point {
    pub fn new(scenario: &str, stage: &str, size: Size, clients: usize, m: &Measured) -> Self {
        let ms = |q: f64| m.hist.value_at_quantile(q) as f64 / 1000.0;
        let seconds = m.elapsed.as_secs_f64();
        Self {
            scenario: scenario.into(),
            stage: stage.into(),
            donations_in_db: size.donations,
            campaigns_in_db: size.campaigns,
            clients,
            ok: m.ok,
            errors: m.errors,
            seconds,
            throughput: if seconds > 0.0 {
                m.ok as f64 / seconds
            } else {
                0.0
            },
            p50_ms: ms(0.50),
            p95_ms: ms(0.95),
            p99_ms: ms(0.99),
            max_ms: m.hist.max() as f64 / 1000.0,
            first_error: m.first_error.clone(),
            cpu_ms_per_op: BTreeMap::new(),
            cpu_ms_serving: 0.0,
            outbox_lag_max_s: None,
            statements: None,
            donations_per_commit: None,
        }
    }

    pub fn with_cpu(self, cpu_ms_per_op: BTreeMap<String, f64>) -> Self {
        let cpu_ms_serving = SERVING.iter().filter_map(|g| cpu_ms_per_op.get(*g)).sum();
        Self {
            cpu_ms_per_op,
            cpu_ms_serving,
            ..self
        }
    }

    pub fn with_outbox_lag(self, seconds: f64) -> Self {
        Self {
            outbox_lag_max_s: Some(seconds),
            ..self
        }
    }

    pub fn with_statements(self, statements: Option<Profile>) -> Self {
        Self { statements, ..self }
    }

    pub fn line(&self) -> String {
        let cpu: Vec<String> = self
            .cpu_ms_per_op
            .iter()
            .map(|(group, ms)| format!("{group} {ms:.2}"))
            .collect();
        let lag = self
            .outbox_lag_max_s
            .map_or(String::new(), |s| format!("  lag {s:.1}s"));
        let statements = self
            .statements
            .as_ref()
            .map_or(String::new(), |s| format!("  stmts {:.1}", s.per_op));
        let batch = self
            .donations_per_commit
            .map_or(String::new(), |b| format!("  batch {b:.1}"));
        format!(
            "{:<24} {:>9} {:>9} {:>9} {:>7} {:>10.1} {:>8.2} {:>8.2} {:>8.2} {:>7}   sum {:.2} = {}{lag}{statements}{batch}",
            self.scenario,
            if self.stage == BASE { "" } else { &self.stage },
            self.campaigns_in_db,
            self.donations_in_db,
            self.clients,
            self.throughput,
            self.p50_ms,
            self.p95_ms,
            self.p99_ms,
            self.errors,
            self.cpu_ms_serving,
            cpu.join("  ")
        )
    }
}

/// How big the platform was when a point was measured.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub donations: usize,
    pub campaigns: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub name: String,
    pub clients: usize,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    pub goal: String,
    pub measured: String,
    pub met: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub machine: Machine,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub settings: serde_json::Value,
    pub worker_running: bool,
    pub audits_passed: u32,
    pub points: Vec<Point>,
    /// Anything that makes a number less trustworthy than it looks.
    pub notes: Vec<String>,
    pub ratios: Vec<Ratio>,
    pub targets: Vec<Target>,
    /// What the donation targets would take, worked out from the run's own figures.
    pub bounds: Vec<String>,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

impl Results {
    pub fn find(&self, scenario: &str, stage: &str, clients: usize) -> Option<&Point> {
        self.points
            .iter()
            .find(|p| p.scenario == scenario && p.stage == stage && p.clients == clients)
    }

    fn pairs(&self, a: &str, b: &str) -> Vec<(usize, f64)> {
        self.points
            .iter()
            .filter(|p| p.scenario == a && p.stage == BASE)
            .filter_map(|pa| {
                self.find(b, BASE, pa.clients)
                    .map(|pb| (pa.clients, ratio(pa.throughput, pb.throughput)))
            })
            .collect()
    }

    /// Computes the ratios and judges the targets from the points.
    pub fn evaluate(&mut self, scale_clients: usize) {
        let mut ratios = Vec::new();
        for (name, a, b) in [
            ("http_over_raw_sql", UNIFORM, RAW),
            ("http_over_pgbench_one", UNIFORM, PGBENCH_ONE),
            ("http_over_pgbench_set16", UNIFORM, PGBENCH_SET16),
            ("hot_over_uniform", HOT, UNIFORM),
            ("cached_over_uncached", DETAIL, LIST),
        ] {
            for (clients, value) in self.pairs(a, b) {
                ratios.push(Ratio {
                    name: name.into(),
                    clients,
                    value,
                });
            }
        }
        for scenario in [DETAIL, LIST, SEARCH, DONATIONS_PAGE] {
            let grown = self.find(scenario, GROWN, scale_clients);
            let pairs = [
                (
                    format!("{scenario}_{{q}}_grown_over_base"),
                    self.find(scenario, BASE, scale_clients),
                    grown,
                ),
                (
                    self.largest(scenario, scale_clients)
                        .map_or(String::new(), |p| {
                            format!(
                                "{scenario}_{{q}}_{}_over_{}_campaigns",
                                p.campaigns_in_db,
                                grown.map_or(0, |g| g.campaigns_in_db)
                            )
                        }),
                    grown,
                    self.largest(scenario, scale_clients),
                ),
            ];
            for (name, small, large) in pairs {
                if let (Some(small), Some(large)) = (small, large) {
                    for (q, a, b) in [
                        ("p50", large.p50_ms, small.p50_ms),
                        ("p99", large.p99_ms, small.p99_ms),
                    ] {
                        ratios.push(Ratio {
                            name: name.replace("{q}", q),
                            clients: scale_clients,
                            value: ratio(a, b),
                        });
                    }
                }
            }
        }
        self.ratios = ratios;
        self.targets = self.judge(scale_clients);
        self.bounds = self.bounds();
    }

    /// What the one-per-commit and p99 targets ask for, against two limits of the run itself:
    /// the set-based pgbench point (the bare SQL, nothing beside it), and the cores (throughput
    /// is at most the cores over the CPU all processes spend per donation, the load generator's
    /// included; a closed loop of N clients waits N / throughput on average — Little's law).
    fn bounds(&self) -> Vec<String> {
        let cores = self.machine.cores as f64;
        // The CPU per donation, every process counted, at which the cores allow `per_s`.
        let allowed = |per_s: f64| ratio(cores * 1000.0, per_s);
        let used = |p: &Point| -> f64 { p.cpu_ms_per_op.values().sum() };
        let mut lines = Vec::new();
        if let (Some(one), Some(set16), Some(http)) = (
            self.find(PGBENCH_ONE, BASE, 32),
            self.find(PGBENCH_SET16, BASE, 32),
            self.find(UNIFORM, BASE, 32),
        ) {
            let needed = 3.0 * one.throughput;
            lines.push(format!(
                "HTTP / {PGBENCH_ONE} >= 3.0 needs {needed:.0} donations/s at 32 clients, \
                 {:.2}x what {PGBENCH_SET16} reached with no api, worker or HTTP client \
                 beside it; {} cores allow that at {:.2} ms of CPU per donation, every \
                 process counted; {UNIFORM} used {:.2}",
                ratio(needed, set16.throughput),
                self.machine.cores,
                allowed(needed),
                used(http)
            ));
        }
        for scenario in [UNIFORM, HOT] {
            let Some(p) = self.find(scenario, BASE, 64) else {
                continue;
            };
            let mean_ms = ratio(p.clients as f64 * 1000.0, p.throughput);
            let spread = ratio(p.p99_ms, mean_ms);
            let needed = ratio(p.clients as f64 * 1000.0 * spread, 25.0);
            lines.push(format!(
                "{scenario} at 64 clients: mean {mean_ms:.1} ms (64 / {:.0} per s, Little's \
                 law), p99 {spread:.1}x the mean; p99 < 25 ms at that spread needs {needed:.0} \
                 per s, which {} cores allow at {:.2} ms of CPU per donation, every process \
                 counted; this point used {:.2}",
                p.throughput,
                self.machine.cores,
                allowed(needed),
                used(p)
            ));
        }
        lines
    }

    /// The point of `scenario` at `clients` measured with the most campaigns after growing them.
    fn largest(&self, scenario: &str, clients: usize) -> Option<&Point> {
        self.points
            .iter()
            .filter(|p| p.scenario == scenario && p.stage == CAMPAIGNS && p.clients == clients)
            .max_by_key(|p| p.campaigns_in_db)
    }

    fn ratio_at(&self, name: &str, clients: usize) -> Option<f64> {
        self.ratios
            .iter()
            .find(|r| r.name == name && r.clients == clients)
            .map(|r| r.value)
    }

    fn judge(&self, scale_clients: usize) -> Vec<Target> {
        let mut t = Vec::new();
        let fmt = |v: Option<f64>| v.map_or("not measured".to_string(), |v| format!("{v:.2}"));
        let r = self.ratio_at("http_over_raw_sql", 32);
        t.push(Target {
            name: "HTTP donations / raw SQL at 32 clients".into(),
            goal: ">= 1.0".into(),
            measured: fmt(r),
            met: r.is_some_and(|v| v >= 1.0),
        });
        for (name, what, goal, shown) in [
            ("http_over_pgbench_one", "one per commit", 3.0, ">= 3.0"),
            (
                "http_over_pgbench_set16",
                "set-based 16 per commit",
                0.35,
                ">= 0.35",
            ),
        ] {
            let r = self.ratio_at(name, 32);
            t.push(Target {
                name: format!("HTTP donations / pgbench {what} at 32 clients"),
                goal: shown.into(),
                measured: fmt(r),
                met: r.is_some_and(|v| v >= goal),
            });
        }
        let hot: Vec<f64> = self
            .ratios
            .iter()
            .filter(|r| r.name == "hot_over_uniform")
            .map(|r| r.value)
            .collect();
        let worst = hot.iter().copied().reduce(f64::min);
        t.push(Target {
            name: "hot / uniform donations (worst client count), stats exact".into(),
            goal: ">= 0.9".into(),
            measured: fmt(worst),
            met: worst.is_some_and(|v| v >= 0.9),
        });
        for scenario in [UNIFORM, HOT] {
            let p99 = self.find(scenario, BASE, 64).map(|p| p.p99_ms);
            t.push(Target {
                name: format!("p99 of {scenario} at 64 clients (ms)"),
                goal: "< 25".into(),
                measured: fmt(p99),
                met: p99.is_some_and(|v| v < 25.0),
            });
        }
        let cached: Vec<f64> = self
            .ratios
            .iter()
            .filter(|r| r.name == "cached_over_uncached")
            .map(|r| r.value)
            .collect();
        let worst = cached.iter().copied().reduce(f64::min);
        t.push(Target {
            name: "cached detail / uncached list throughput (worst client count)".into(),
            goal: ">= 10".into(),
            measured: fmt(worst),
            met: worst.is_some_and(|v| v >= 10.0),
        });
        for scenario in [LIST, DETAIL] {
            let name = format!("{scenario}_p50_grown_over_base");
            let p50 = self.ratio_at(&name, scale_clients);
            let p99 = self.ratio_at(&format!("{scenario}_p99_grown_over_base"), scale_clients);
            t.push(Target {
                name: format!("{scenario} latency flat as donations grow (p50, p99)"),
                goal: "<= 1.5x".into(),
                measured: format!("{} / {}", fmt(p50), fmt(p99)),
                met: p50.is_some_and(|v| v <= 1.5) && p99.is_some_and(|v| v <= 1.5),
            });
        }
        for scenario in [LIST, SEARCH, DETAIL, DONATIONS_PAGE] {
            let at = |q: &str| {
                self.largest(scenario, scale_clients).and_then(|p| {
                    self.ratio_at(
                        &format!(
                            "{scenario}_{q}_{}_over_{}_campaigns",
                            p.campaigns_in_db,
                            self.find(scenario, GROWN, scale_clients)
                                .map_or(0, |g| g.campaigns_in_db)
                        ),
                        scale_clients,
                    )
                })
            };
            let (p50, p99) = (at("p50"), at("p99"));
            t.push(Target {
                name: format!("{scenario} latency flat as campaigns grow (p50, p99)"),
                goal: "<= 1.5x".into(),
                measured: format!("{} / {}", fmt(p50), fmt(p99)),
                met: p50.is_some_and(|v| v <= 1.5) && p99.is_some_and(|v| v <= 1.5),
            });
        }
        for scenario in [LIST, SEARCH] {
            let best = self
                .points
                .iter()
                .filter(|p| p.scenario == scenario && p.stage == BASE)
                .max_by(|a, b| a.throughput.total_cmp(&b.throughput));
            let per_s = best.map(|p| p.throughput);
            t.push(Target {
                name: format!("{scenario} throughput (best client count, pages/s)"),
                goal: format!(">= {:.0}", 3.0 * LIST_BEFORE),
                measured: per_s.map_or("not measured".into(), |v| format!("{v:.0}")),
                met: per_s.is_some_and(|v| v >= 3.0 * LIST_BEFORE),
            });
            let pg = best.and_then(|p| p.cpu_ms_per_op.get("pg").copied());
            t.push(Target {
                name: format!("{scenario}: PostgreSQL CPU per page at that point (ms)"),
                goal: "<= 0.5".into(),
                measured: fmt(pg),
                met: pg.is_some_and(|v| v <= 0.5),
            });
        }
        let cpu = self.find(UNIFORM, BASE, 32).map(|p| p.cpu_ms_serving);
        t.push(Target {
            name: "CPU per donation at 32 clients, api+pg+worker+redis (ms)".into(),
            goal: "<= 0.35".into(),
            measured: fmt(cpu),
            met: cpu.is_some_and(|v| v <= 0.35),
        });
        // The HTTP points are the product; the raw and pgbench points write faster than the
        // worker drains (see the worker point), so their lag is shown on its own.
        for (what, http) in [
            ("the HTTP donation points", true),
            ("every donation point", false),
        ] {
            let lag = self
                .points
                .iter()
                .filter(|p| !http || p.scenario.starts_with("http_"))
                .filter_map(|p| p.outbox_lag_max_s)
                .reduce(f64::max);
            t.push(Target {
                name: format!("outbox lag, worst over {what} (s)"),
                goal: "< 2".into(),
                measured: fmt(lag),
                met: lag.is_some_and(|v| v < 2.0),
            });
        }
        t
    }

    /// The one table: points, then ratios, then targets.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Commonpot bench, {} — machine: {}{}",
            self.started_at.format("%Y-%m-%d %H:%M UTC"),
            self.machine,
            if self.worker_running {
                ", worker running"
            } else {
                ", no worker"
            }
        );
        let _ = writeln!(
            s,
            "{:<24} {:>9} {:>9} {:>9} {:>7} {:>10} {:>8} {:>8} {:>8} {:>7}   CPU ms per op (sum = api+pg+worker+redis)",
            "scenario",
            "stage",
            "campaigns",
            "donations",
            "clients",
            "ops/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors"
        );
        for p in &self.points {
            let _ = writeln!(s, "{}", p.line());
        }
        let _ = writeln!(s, "\nratios (throughput unless named p50/p99)");
        for r in &self.ratios {
            let _ = writeln!(
                s,
                "  {:<40} {:>3} clients  {:>8.2}",
                r.name, r.clients, r.value
            );
        }
        let _ = writeln!(s, "\ntargets");
        for t in &self.targets {
            let _ = writeln!(
                s,
                "  [{}] {:<66} goal {:<8} measured {}",
                if t.met { "met" } else { "NOT met" },
                t.name,
                t.goal,
                t.measured
            );
        }
        if !self.bounds.is_empty() {
            let _ = writeln!(s, "\nbounds (from this run's figures)");
            for b in &self.bounds {
                let _ = writeln!(s, "  {b}");
            }
        }
        self.statements_table(&mut s);
        let errors: Vec<&Point> = self.points.iter().filter(|p| p.errors > 0).collect();
        if !errors.is_empty() {
            let _ = writeln!(s, "\nfirst error per point with errors");
            for p in errors {
                let _ = writeln!(
                    s,
                    "  {} @{}: {}",
                    p.scenario,
                    p.clients,
                    p.first_error.as_deref().unwrap_or("?")
                );
            }
        }
        for note in &self.notes {
            let _ = writeln!(s, "\nnote: {note}");
        }
        let _ = writeln!(
            s,
            "\naudits passed: {} (ledger balanced, wallets, stats and campaign accounts exact)",
            self.audits_passed
        );
        s
    }

    /// Where PostgreSQL's time goes for the points the targets turn on: statements per
    /// operation and the costliest statements (the JSON has them for every point).
    fn statements_table(&self, s: &mut String) {
        let best = |scenario: &str| {
            self.points
                .iter()
                .filter(|p| p.scenario == scenario && p.stage == BASE)
                .max_by(|a, b| a.throughput.total_cmp(&b.throughput))
        };
        let shown = [
            self.find(UNIFORM, BASE, 32),
            self.find(PGBENCH_SET16, BASE, crate::scenarios::PGBENCH_CLIENTS),
            self.find(WORKER_DRAIN, BASE, 1),
            best(LIST),
            best(SEARCH),
        ];
        let mut header = false;
        for p in shown.into_iter().flatten() {
            let Some(profile) = &p.statements else {
                continue;
            };
            if !header {
                let _ = writeln!(
                    s,
                    "
statements (pg_stat_statements): per operation, then the costliest"
                );
                header = true;
            }
            let _ = writeln!(
                s,
                "  {} @{}: {:.1} statements per operation",
                p.scenario, p.clients, profile.per_op
            );
            for top in profile.top.iter().take(6) {
                let _ = writeln!(
                    s,
                    "    {:>8} calls {:>9.1} ms  {}",
                    top.calls, top.total_ms, top.query
                );
            }
        }
    }
}
