//! Lenders: the portfolio (`GET /api/lending/portfolio`) with exact figures, and the emails
//! about their money — funded, late, defaulted, written off, each once per lender even with
//! notifications off — plus one repayment digest per lender and day.

use chrono::{DateTime, Duration, Months, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app, spawn_app_with};
use domain::background::{BackgroundJob, RepaymentDigest};
use domain::jobs::Queues;
use domain::notifications::{self, LenderNotice};

impl TestApp {
    async fn portfolio(&self, user: &TestUser, query: &str) -> Value {
        let resp = self
            .get_auth(
                &format!("/api/lending/portfolio{query}"),
                &user.access_token,
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.expect("json")
    }

    fn mail_count(&self, user: &TestUser, subject: &str) -> usize {
        self.mails_to(&user.email)
            .iter()
            .filter(|m| m.contains(subject))
            .count()
    }
}

fn position(portfolio: &Value, loan: Uuid) -> &Value {
    portfolio["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| p["loanId"] == loan.to_string())
        .expect("the loan's position")
}

fn n(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("a number: {v}"))
}

#[tokio::test]
async fn a_portfolio_shows_each_lenders_exact_share_of_repayments_and_of_what_is_owed() {
    let app = spawn_app_with(&[("LOAN_MIN_SHARE", "1")]).await;
    let borrower = app.register().await;
    let admin = app.register_admin().await;
    let stranger = app.register().await;
    let (ann, ben) = (app.lender(3_051).await, app.lender(6_999).await);
    // 10,000 over 3 months at 0%: installments of 3,334, 3,333 and 3,333.
    let loan = app.fundraising_loan(&borrower, &admin, 10_000, 3).await;
    assert_eq!(app.lend(&ann, loan, 3_001).await.status().as_u16(), 201);

    let p = app.portfolio(&ann, "").await;
    let mine = position(&p, loan);
    assert_eq!(mine["status"], "fundraising");
    assert_eq!((n(&mine["lent"]), n(&mine["outstanding"])), (3_001, 3_001));
    assert_eq!(mine["nextDueAt"], Value::Null);

    assert_eq!(app.lend(&ben, loan, 6_999).await.status().as_u16(), 201);
    let resp = app.repay(&borrower, loan, 1_000).await;
    assert_eq!(resp.status().as_u16(), 201);

    // 1,000 repaid: 300.1 → 300 to Ann, 699.9 → 700 to Ben (largest remainder).
    // 9,000 owed: 2,700.9 → 2,701 to Ann, 6,299.1 → 6,299 to Ben.
    // 2,334 left of installment 1: 700.4 → 700 to Ann, 1,633.6 → 1,634 to Ben.
    let (a, b) = (app.portfolio(&ann, "").await, app.portfolio(&ben, "").await);
    let (pa, pb) = (position(&a, loan), position(&b, loan));
    for (p, lent, repaid, outstanding, next) in
        [(pa, 3_001, 300, 2_701, 700), (pb, 6_999, 700, 6_299, 1_634)]
    {
        assert_eq!(p["status"], "repaying");
        assert_eq!(p["loanStatus"], "active");
        assert_eq!(p["purpose"], "A new sewing machine");
        assert!(p["borrowerName"].as_str().is_some_and(|s| s.ends_with('.')));
        assert_eq!(n(&p["lent"]), lent);
        assert_eq!(n(&p["repaid"]), repaid);
        assert_eq!(n(&p["outstanding"]), outstanding);
        assert_eq!(n(&p["nextAmount"]), next);
    }
    let schedule = app.schedule_of(loan).await;
    assert_eq!(
        n(&pa["outstanding"]) + n(&pb["outstanding"]),
        n(&schedule["outstanding"]),
        "the lenders' parts sum to what the loan owes"
    );
    let first = &schedule["installments"][0];
    assert_eq!(pa["nextDueAt"], first["dueAt"]);
    assert_eq!(
        n(&pa["nextAmount"]) + n(&pb["nextAmount"]),
        n(&first["amount"]) - n(&first["paidAmount"])
    );
    assert_eq!(app.balance(&ann).await, 50 + 300);

    // Ann funds a second loan: newest first, paged, totals over both.
    let second = app.fundraising_loan(&stranger, &admin, 10_000, 3).await;
    assert_eq!(app.lend(&ann, second, 50).await.status().as_u16(), 201);
    let page = app.portfolio(&ann, "?limit=1").await;
    assert_eq!((n(&page["total"]), n(&page["limit"])), (2, 1));
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["items"][0]["loanId"], second.to_string());
    let totals = &page["totals"];
    assert_eq!(n(&totals["lent"]), 3_051);
    assert_eq!(n(&totals["repaid"]), 300);
    assert_eq!(n(&totals["outstanding"]), 2_701 + 50);
    assert_eq!(n(&totals["refunded"]), 0);
    assert_eq!(n(&totals["byStatus"]["repaying"]), 1);
    assert_eq!(n(&totals["byStatus"]["fundraising"]), 1);
    let page2 = app.portfolio(&ann, "?page=2&limit=1").await;
    assert_eq!(page2["items"][0]["loanId"], loan.to_string());

    // Nobody sees anyone else's shares: Ben has one position, the borrower and a stranger none.
    assert_eq!(n(&b["total"]), 1);
    for user in [&borrower, &stranger] {
        let p = app.portfolio(user, "").await;
        assert_eq!(n(&p["total"]), 0);
        assert_eq!(p["items"], json!([]));
        assert_eq!(n(&p["totals"]["lent"]), 0);
    }
    let resp = app.get("/api/lending/portfolio").await;
    assert_eq!(error_of(resp, 401).await["code"], "unauthorized");
    let resp = app
        .get_auth("/api/lending/portfolio?limit=101", &ann.access_token)
        .await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "limit");

    // Ann's second loan never raises its amount: her share comes back and shows as refunded.
    let sweep = app
        .app
        .loans()
        .expire_fundraising(Utc::now() + Duration::days(365))
        .await
        .expect("expires");
    assert_eq!(sweep.expired, 1);
    let p = app.portfolio(&ann, "").await;
    let refunded = position(&p, second);
    assert_eq!(refunded["status"], "refunded");
    assert_eq!((n(&refunded["lent"]), n(&refunded["outstanding"])), (50, 0));
    assert_eq!(n(&p["totals"]["lent"]), 3_001);
    assert_eq!(n(&p["totals"]["refunded"]), 50);
    assert_eq!(n(&p["totals"]["outstanding"]), 2_701);
    assert_eq!(n(&p["totals"]["byStatus"]["refunded"]), 1);
}

#[tokio::test]
async fn lenders_are_emailed_once_about_funding_arrears_default_and_write_off_and_get_one_digest_a_day()
 {
    let app = spawn_app().await;
    let borrower = app.register().await;
    let admin = app.register_admin().await;
    let (ann, ben) = (app.lender(5_000).await, app.lender(7_000).await);
    // Money mail reaches Ben even with notifications off.
    sqlx::query("update users set email_notifications = false where id = $1")
        .bind(ben.id)
        .execute(&app.app.infra.db.write)
        .await
        .expect("opt out");
    let loan = app.fundraising_loan(&borrower, &admin, 12_000, 4).await;
    assert_eq!(app.lend(&ann, loan, 5_000).await.status().as_u16(), 201);
    app.deliver_mail().await;
    assert_eq!(app.mail_count(&ann, "is fully funded"), 0, "not yet");
    assert_eq!(app.lend(&ben, loan, 7_000).await.status().as_u16(), 201);
    app.deliver_mail().await;

    let db = &app.app.infra.db.write;
    let config = &app.app.infra.config;
    let mailer = domain::infra::mail::Mailer::new(config).expect("mailer");
    let again = |notice| notifications::notify_lenders(db, &mailer, config, loan, notice);
    assert_eq!(again(LenderNotice::Funded).await.expect("walks"), 0);
    for lender in [&ann, &ben] {
        assert_eq!(
            app.mail_count(lender, "is fully funded: your loan is at work"),
            1
        );
    }

    // Two repayments today, one digest per lender listing both.
    for amount in [1_000, 2_001] {
        assert_eq!(
            app.repay(&borrower, loan, amount).await.status().as_u16(),
            201
        );
    }
    let today = Utc::now().date_naive();
    let digests = || notifications::send_repayment_digests(db, &mailer, config, today);
    assert_eq!(digests().await.expect("sends"), 2);
    assert_eq!(
        digests().await.expect("sends"),
        0,
        "once per lender and day"
    );
    // 1,000: 416.7 → 417 to Ann, 583.3 → 583 to Ben; 2,001: 833.75 → 834, 1,167.25 → 1,167.
    for (lender, parts, total) in [
        (&ann, ["4.17", "8.34"], "12.51"),
        (&ben, ["5.83", "11.67"], "17.50"),
    ] {
        let mails: Vec<String> = app
            .mails_to(&lender.email)
            .into_iter()
            .filter(|m| m.contains("in loan repayments reached your wallet on"))
            .collect();
        assert_eq!(mails.len(), 1);
        for part in parts {
            assert!(mails[0].contains(part), "{part} in {}", mails[0]);
        }
        assert!(
            mails[0].contains(&format!("In all: {total}")),
            "{}",
            mails[0]
        );
    }
    assert_eq!(
        notifications::send_repayment_digests(db, &mailer, config, today - Duration::days(1))
            .await
            .expect("sends"),
        0,
        "nothing was repaid the day before"
    );
    // The scheduler's task queues the day's walk for the worker, once per day.
    let queues = Queues::new(&app.app.infra.kv);
    let tick = RepaymentDigest {
        now: Utc::now() + Duration::days(1),
    };
    tick.run(&app.app).await.expect("queues");
    tick.run(&app.app).await.expect("queues");
    let depth = queues
        .depths()
        .await
        .expect("depths")
        .into_iter()
        .find(|d| d.queue == "send_repayment_digests")
        .expect("the digest queue");
    assert_eq!(depth.pending + depth.scheduled, 1);

    // 3,001 paid covers installment 1 (3,000): installment 2 falls due unpaid.
    let detail = app.loan_as(&borrower, loan).await;
    let disbursed: DateTime<Utc> = detail["disbursedAt"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("disbursed");
    let month = |m: u32| disbursed.checked_add_months(Months::new(m)).expect("date");
    let loans = app.app.loans();
    let sweep = loans
        .daily(month(2) + Duration::days(1))
        .await
        .expect("runs");
    assert_eq!(sweep.late, 1);
    app.deliver_mail().await;
    let due_on = month(2).date_naive();
    assert_eq!(
        again(LenderNotice::Late { due_on }).await.expect("walks"),
        0
    );
    for lender in [&ann, &ben] {
        let late: Vec<String> = app
            .mails_to(&lender.email)
            .into_iter()
            .filter(|m| m.contains("is behind on its repayments"))
            .collect();
        assert_eq!(late.len(), 1);
        assert!(late[0].contains(&due_on.to_string()));
    }
    let p = app.portfolio(&ann, "").await;
    assert_eq!(position(&p, loan)["status"], "late");

    let sweep = loans
        .daily(month(2) + Duration::days(91))
        .await
        .expect("runs");
    assert_eq!(sweep.defaulted, 1);
    app.deliver_mail().await;
    assert_eq!(again(LenderNotice::Defaulted).await.expect("walks"), 0);

    let resp = app
        .post_json(
            &format!("/api/admin/loans/{loan}/write-off"),
            Some(&admin.access_token),
            &json!({"reason": "no repayment in three months"}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    app.deliver_mail().await;
    assert_eq!(again(LenderNotice::WrittenOff).await.expect("walks"), 0);

    for lender in [&ann, &ben] {
        assert_eq!(app.mail_count(lender, "has defaulted"), 1);
        assert_eq!(app.mail_count(lender, "has been written off"), 1);
        assert_eq!(app.mail_count(lender, "is fully funded"), 1);
    }
    assert_eq!(app.mail_count(&borrower, "has been written off"), 0);
    let p = app.portfolio(&ann, "").await;
    let written_off = position(&p, loan);
    assert_eq!(written_off["status"], "written_off");
    assert_eq!(
        (n(&written_off["repaid"]), n(&written_off["outstanding"])),
        (1_251, 0)
    );
    assert_eq!(n(&p["totals"]["byStatus"]["writtenOff"]), 1);
}
