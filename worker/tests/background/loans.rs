//! Loans in the background: a submitted application is scored by the worker.

use std::time::Duration;

use domain::accounts::{Principal, Role, Tier};
use domain::loans::{Apply, LoanStatus};

use crate::support::{RunningWorker, TestEnv, eventually, fast_worker};

#[tokio::test]
async fn a_submitted_loan_is_scored_through_the_outbox_and_the_worker_once() {
    let env = TestEnv::new().await;
    let borrower = env.user("Ada", true).await;
    let principal = Principal {
        user_id: borrower.id,
        role: Role::User,
        tier: Tier::Standard,
        session_id: None,
    };
    let loan = env
        .app
        .loans()
        .apply(
            &principal,
            Apply {
                amount: 10_000,
                term_months: 6,
                purpose: "A market stall".into(),
                description: "Fresh vegetables for the Saturday market in town.".into(),
            },
        )
        .await
        .expect("applies");
    assert_eq!(loan.loan.status, LoanStatus::Scoring);

    let worker = RunningWorker::start(&env.app, fast_worker());
    let scored = eventually(Duration::from_secs(10), || async {
        env.app
            .loans()
            .get(Some(&principal), loan.loan.id)
            .await
            .is_ok_and(|d| d.loan.status == LoanStatus::PendingReview && d.score.is_some())
    })
    .await;
    worker.stop().await;
    assert!(scored, "the score_loan job ran");
    // Delivered again (at least once), the job changes nothing.
    let again = domain::loans::score_loan(&env.app, loan.loan.id)
        .await
        .expect("idempotent")
        .expect("scored before");
    let detail = env
        .app
        .loans()
        .get(Some(&principal), loan.loan.id)
        .await
        .expect("loan");
    assert_eq!(detail.score.map(|s| s.score), Some(again.score));
    let scorings: i64 = sqlx::query_scalar(
        "select count(*) from loan_transitions where to_status = 'pending_review'",
    )
    .fetch_one(env.pool())
    .await
    .expect("count");
    assert_eq!(scorings, 1);
}
