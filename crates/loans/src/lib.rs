//! Microloans in the Kiva style, on the same wallets and ledger as donations: a borrower
//! applies, the application is scored from their own history, an admin approves or rejects
//! it, lenders fund it in shares into the loan's escrow account (`loan:{id}`), the funded loan
//! is disbursed to the borrower with a fixed schedule, and repayments flow back to the lenders
//! pro rata. The scheduler marks arrears and defaults and expires unfunded loans.

pub mod model;
pub mod portfolio;
pub mod repo;
pub mod schedule;
pub mod scoring;
pub mod service;

pub use model::{
    LenderTotal, Loan, LoanDetail, LoanDocument, LoanScore, LoanShare, LoanStatus, Repayment,
    ScheduledInstallment, Sweep, Transition,
};
pub use portfolio::{LenderStatus, Portfolio, Position, StatusCounts, Totals};
pub use service::{Apply, LoanService, MAX_DOCUMENT_BYTES};

/// The tables this context owns: only its repository queries them; other contexts read what
/// it publishes in the `read` schema (migrations/20261128000100_read_views.sql).
pub const TABLES: &[&str] = &[
    "loans",
    "loan_distributions",
    "loan_documents",
    "loan_installments",
    "loan_repayments",
    "loan_scores",
    "loan_shares",
    "loan_transitions",
];
