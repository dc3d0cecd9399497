//! CPU time per process group, read from `/proc` (Linux), to show where each point's work
//! went: the bench's clients, the api, the worker, PostgreSQL and Redis share the same cores.

use std::collections::BTreeMap;

/// Process names (`/proc/<pid>/stat`) and the labels the table uses.
const GROUPS: &[(&str, &str)] = &[
    ("postgres", "pg"),
    ("api", "api"),
    ("worker", "worker"),
    ("redis-server", "redis"),
    ("bench", "bench"),
    ("pgbench", "pgbench"),
];

/// Linux reports process times in USER_HZ, which is 100 on every architecture it runs on.
const TICKS_PER_SECOND: f64 = 100.0;

/// A process's children that have exited and were waited for, and the group their CPU counts
/// to: PostgreSQL's backends are reaped by the postmaster (pgbench's connections and
/// autovacuum workers end within a point), and pgbench is the bench's only child that exits
/// during a point.
const REAPED: &[(&str, &str)] = &[("postgres", "pg"), ("bench", "pgbench")];

/// User + system clock ticks per group: the processes alive now, plus the children they reaped.
pub fn snapshot() -> BTreeMap<&'static str, u64> {
    let mut ticks: BTreeMap<&'static str, u64> = GROUPS.iter().map(|(_, l)| (*l, 0)).collect();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return ticks;
    };
    for entry in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(Times { name, own, reaped }) = parse(&stat) else {
            continue;
        };
        if let Some((_, label)) = GROUPS.iter().find(|(n, _)| *n == name) {
            *ticks.entry(label).or_default() += own;
        }
        if let Some((_, label)) = REAPED.iter().find(|(n, _)| *n == name) {
            *ticks.entry(label).or_default() += reaped;
        }
    }
    ticks
}

/// One `/proc/<pid>/stat` line's name and clock ticks.
#[derive(Debug, PartialEq)]
struct Times<'a> {
    name: &'a str,
    /// User + system time of the process itself.
    own: u64,
    /// User + system time of its children that exited and were waited for.
    reaped: u64,
}

/// `pid (name) state ...`: the name may hold spaces, so fields are counted after the last ')'.
fn parse(stat: &str) -> Option<Times<'_>> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    // Fields 14 to 17 of the file (utime, stime, cutime, cstime) are 11 to 14 after the name.
    let field = |i: usize| -> Option<u64> { fields.get(i)?.parse().ok() };
    Some(Times {
        name: &stat[open + 1..close],
        own: field(11)? + field(12)?,
        reaped: field(13)? + field(14)?,
    })
}

/// CPU milliseconds per operation per group between two snapshots.
pub fn per_op(
    before: &BTreeMap<&'static str, u64>,
    after: &BTreeMap<&'static str, u64>,
    ops: u64,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(label, t)| {
            let used = t.saturating_sub(before.get(label).copied().unwrap_or(0)) as f64;
            let ms = used / TICKS_PER_SECOND * 1000.0 / ops.max(1) as f64;
            (label.to_string(), ms)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_and_times_even_with_spaces_in_the_name() {
        let stat = "42 (tokio (rt) 1) S 1 42 42 0 -1 4194560 100 0 0 0 70 30 0 0 20 0";
        let times = Times {
            name: "tokio (rt) 1",
            own: 100,
            reaped: 0,
        };
        assert_eq!(parse(stat), Some(times));
        let stat = "7 (postgres) S 1 7 7 0 -1 0 0 0 0 0 5 6 300 40 20 0";
        let times = Times {
            name: "postgres",
            own: 11,
            reaped: 340,
        };
        assert_eq!(parse(stat), Some(times));
    }

    #[test]
    fn per_op_divides_the_difference() {
        let before = BTreeMap::from([("pg", 100u64), ("api", 10)]);
        let after = BTreeMap::from([("pg", 300u64), ("api", 5)]);
        let per = per_op(&before, &after, 1_000);
        assert_eq!(per["pg"], 2.0);
        assert_eq!(per["api"], 0.0);
    }
}
