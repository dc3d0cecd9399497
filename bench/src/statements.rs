//! Statements per operation from PostgreSQL's `pg_stat_statements`, which `bench/run` loads by
//! starting the bench's own server: how many statements (round trips, `begin` and `commit`
//! included) each operation costs the database, and which of them take its time.

use anyhow::Result;
use serde::Serialize;
use sqlx::PgPool;

/// Statements kept per point in the JSON (the table prints the first few of some points).
const TOP: usize = 30;

/// One statement's share of a point.
#[derive(Debug, Clone, Serialize)]
pub struct Top {
    pub calls: i64,
    /// Execution time summed over the calls (ms).
    pub total_ms: f64,
    /// The normalised text, on one line and cut short.
    pub query: String,
}

/// What a point's operations cost in statements.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// Statements executed in the bench's database per operation (its own sampling included:
    /// a handful per second).
    pub per_op: f64,
    pub top: Vec<Top>,
}

pub struct Statements {
    db: PgPool,
}

impl Statements {
    /// Ready when the server preloads `pg_stat_statements`; otherwise the reason.
    pub async fn open(db: &PgPool) -> Result<Self, String> {
        sqlx::query("create extension if not exists pg_stat_statements")
            .execute(db)
            .await
            .map_err(|e| e.to_string())?;
        let statements = Self { db: db.clone() };
        statements.reset().await.map_err(|e| e.to_string())?;
        Ok(statements)
    }

    /// Forgets every count: called at the start of each point.
    pub async fn reset(&self) -> Result<()> {
        sqlx::query("select pg_stat_statements_reset()")
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// The counts since the last reset in this database, per one of `ops` operations.
    pub async fn read(&self, ops: u64) -> Result<Profile> {
        let rows: Vec<(i64, f64, String)> = sqlx::query_as(
            "select calls, total_exec_time, query from pg_stat_statements
             where dbid = (select oid from pg_database where datname = current_database())
               and query not like '%pg_stat_statements%'
             order by total_exec_time desc",
        )
        .fetch_all(&self.db)
        .await?;
        let calls: i64 = rows.iter().map(|(c, _, _)| c).sum();
        let top = rows
            .into_iter()
            .take(TOP)
            .map(|(calls, total_ms, query)| Top {
                calls,
                total_ms,
                query: one_line(&query, 110),
            })
            .collect();
        Ok(Profile {
            per_op: calls as f64 / ops.max(1) as f64,
            top,
        })
    }
}

/// `text` with its whitespace runs made single spaces, cut to `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_flattened_and_cut() {
        assert_eq!(one_line("select 1\n   from  t", 80), "select 1 from t");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("é é é", 3), "é é…");
    }
}
