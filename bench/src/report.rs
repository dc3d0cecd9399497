//! Results: one row per measured point, the ratios the issue asks for, the targets and whether
//! each is met; printed as one table and serialised as JSON.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::Serialize;

use crate::driver::Measured;

pub const RAW: &str = "raw_sql_donate";
pub const PGBENCH_ONE: &str = crate::pgbench::ONE;
pub const PGBENCH_SET16: &str = crate::pgbench::SET16;
pub const UNIFORM: &str = "http_donate_uniform";
pub const HOT: &str = "http_donate_hot";
pub const DETAIL: &str = "http_detail_cached";
pub const LIST: &str = "http_list_uncached";
pub const DONATIONS_PAGE: &str = "http_donations_page";

/// Measured with the donations seeded at the start, or after growing the table.
pub const BASE: &str = "base";
pub const GROWN: &str = "grown";

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
}

impl Point {
    pub fn new(
        scenario: &str,
        stage: &str,
        donations_in_db: usize,
        clients: usize,
        m: &Measured,
    ) -> Self {
        let ms = |q: f64| m.hist.value_at_quantile(q) as f64 / 1000.0;
        let seconds = m.elapsed.as_secs_f64();
        Self {
            scenario: scenario.into(),
            stage: stage.into(),
            donations_in_db,
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
        }
    }

    pub fn with_cpu(self, cpu_ms_per_op: BTreeMap<String, f64>) -> Self {
        Self {
            cpu_ms_per_op,
            ..self
        }
    }

    pub fn line(&self) -> String {
        let cpu: Vec<String> = self
            .cpu_ms_per_op
            .iter()
            .map(|(group, ms)| format!("{group} {ms:.2}"))
            .collect();
        format!(
            "{:<22} {:>5} {:>9} {:>7} {:>10.1} {:>8.2} {:>8.2} {:>8.2} {:>7}   {}",
            self.scenario,
            if self.stage == GROWN { "grown" } else { "" },
            self.donations_in_db,
            self.clients,
            self.throughput,
            self.p50_ms,
            self.p95_ms,
            self.p99_ms,
            self.errors,
            cpu.join("  ")
        )
    }
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
        for scenario in [DETAIL, LIST, DONATIONS_PAGE] {
            if let (Some(small), Some(large)) = (
                self.find(scenario, BASE, scale_clients),
                self.find(scenario, GROWN, scale_clients),
            ) {
                ratios.push(Ratio {
                    name: format!("{scenario}_p50_grown_over_base"),
                    clients: scale_clients,
                    value: ratio(large.p50_ms, small.p50_ms),
                });
                ratios.push(Ratio {
                    name: format!("{scenario}_p99_grown_over_base"),
                    clients: scale_clients,
                    value: ratio(large.p99_ms, small.p99_ms),
                });
            }
        }
        self.ratios = ratios;
        self.targets = self.judge(scale_clients);
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
            "{:<22} {:>5} {:>9} {:>7} {:>10} {:>8} {:>8} {:>8} {:>7}   CPU ms per op",
            "scenario",
            "stage",
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
}
