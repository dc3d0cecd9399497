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
        request_id: None,
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
    let again = env
        .app
        .loans()
        .score(loan.loan.id)
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

#[tokio::test]
async fn borrowers_get_approval_rejection_and_late_emails_once_each() {
    let env = TestEnv::new().await;
    let borrower = env.user("Grace", false).await;
    let apply = |purpose: &str| Apply {
        amount: 10_000,
        term_months: 6,
        purpose: purpose.into(),
        description: "Tools and stock for a small repair workshop.".into(),
    };
    let principal = Principal {
        user_id: borrower.id,
        role: Role::User,
        tier: Tier::Standard,
        session_id: None,
        request_id: None,
    };
    let loan = env
        .app
        .loans()
        .apply(&principal, apply("A repair workshop"))
        .await
        .expect("applies");
    let admin = Principal {
        role: Role::Admin,
        user_id: env.user("Root", true).await.id,
        tier: Tier::Standard,
        session_id: None,
        request_id: None,
    };
    env.app.loans().score(loan.loan.id).await.expect("scores");
    env.app
        .loans()
        .reject(&admin, loan.loan.id, Some("Too little history yet"))
        .await
        .expect("rejects");
    let late = domain::notifications::Notification::Loan {
        loan_id: loan.loan.id,
        notice: domain::notifications::LoanNotice::Late {
            due_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
        },
    };
    let mailer = domain::infra::mail::Mailer::new(&env.app.infra.config).expect("mailer");
    let send = |n: domain::notifications::Notification| {
        let (pool, mailer, config) = (
            env.pool().clone(),
            mailer.clone(),
            env.app.infra.config.clone(),
        );
        async move {
            domain::notifications::send(&pool, &mailer, &config, &n)
                .await
                .expect("send")
        }
    };
    // Rejection mail comes from the relayed event; the late notice is sent directly, twice.
    let worker = RunningWorker::start(&env.app, fast_worker());
    let rejected = eventually(Duration::from_secs(10), || async {
        env.mails_to(&borrower.email)
            .iter()
            .any(|m| m.contains("Too little history yet"))
    })
    .await;
    worker.stop().await;
    assert!(rejected, "rejection email with the reason");
    send(late.clone()).await;
    send(late).await;
    let mails = env.mails_to(&borrower.email);
    // Loan mail is essential: sent although Grace turned notifications off.
    let late_mails = mails.iter().filter(|m| m.contains("late installment"));
    assert_eq!(late_mails.count(), 1, "the second send is deduplicated");
    assert!(mails.iter().any(|m| m.contains("was due on 2026-11-01")));
    assert!(
        mails
            .iter()
            .any(|m| m.contains("A repair workshop") && m.contains("100.00 USD"))
    );
}
