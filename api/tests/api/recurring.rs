//! Monthly recurring donations: charged once per period, retried, paused, stopped, ended.

use chrono::{Datelike, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{error_of, spawn_app};

fn today_day() -> i64 {
    i64::from(Utc::now().day().min(28))
}

#[tokio::test]
async fn a_plan_is_charged_once_per_month_even_when_the_scheduler_runs_twice() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let campaign = app
        .active_campaign(&creator, "keep_it_all", 1_000_000)
        .await;
    let resp = app
        .post_json(
            "/api/donations/recurring",
            Some(&donor.access_token),
            &json!({"campaignId": campaign, "amount": 1_000, "dayOfMonth": today_day()}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    // The day is "today" only up to the 28th; run the charge from the plan's own date.
    let plan: Value = resp.json().await.expect("json");
    let first_due = plan["nextChargeOn"]
        .as_str()
        .expect("date")
        .parse::<chrono::NaiveDate>()
        .expect("date");
    let at = first_due.and_hms_opt(6, 0, 0).expect("time").and_utc();

    let (a, b) = tokio::join!(
        app.app.recurring().charge_due(at),
        app.app.recurring().charge_due(at)
    );
    assert_eq!(a.expect("run").charged + b.expect("run").charged, 1);
    assert_eq!(
        app.app
            .recurring()
            .charge_due(at)
            .await
            .expect("run")
            .charged,
        0
    );
    assert_eq!(app.balance(&donor).await, 9_000);

    let next_month = at + Duration::days(31);
    assert_eq!(
        app.app
            .recurring()
            .charge_due(next_month)
            .await
            .expect("run")
            .charged,
        1
    );
    assert_eq!(app.balance(&donor).await, 8_000);
    assert_eq!(app.campaign(campaign).await["raisedAmount"], 2_000);
    let mine: Value = app
        .get_auth("/api/donations/recurring", &donor.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(mine[0]["status"], "active");
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_short_wallet_is_retried_on_the_next_two_days_then_the_plan_pauses_with_a_notice() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 500).await;
    let campaign = app
        .active_campaign(&creator, "keep_it_all", 1_000_000)
        .await;
    let plan: Value = app
        .post_json(
            "/api/donations/recurring",
            Some(&donor.access_token),
            &json!({"campaignId": campaign, "amount": 1_000, "dayOfMonth": today_day()}),
        )
        .await
        .json()
        .await
        .expect("json");
    let due = plan["nextChargeOn"]
        .as_str()
        .expect("date")
        .parse::<chrono::NaiveDate>()
        .expect("date");
    let day = |n: i64| {
        (due + Duration::days(n))
            .and_hms_opt(6, 0, 0)
            .expect("time")
            .and_utc()
    };
    assert_eq!(
        app.app
            .recurring()
            .charge_due(day(0))
            .await
            .expect("run")
            .retry_later,
        1
    );
    assert_eq!(
        app.app
            .recurring()
            .charge_due(day(0))
            .await
            .expect("run")
            .retry_later,
        0,
        "not again the same day"
    );
    assert_eq!(
        app.app
            .recurring()
            .charge_due(day(1))
            .await
            .expect("run")
            .retry_later,
        1
    );
    assert_eq!(
        app.app
            .recurring()
            .charge_due(day(2))
            .await
            .expect("run")
            .paused,
        1
    );
    let mine: Value = app
        .get_auth("/api/donations/recurring", &donor.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (mine[0]["status"].as_str(), mine[0]["statusReason"].as_str()),
        (Some("paused"), Some("insufficient_funds"))
    );
    assert_eq!(
        app.count("select count(*) from outbox where kind = 'recurring_donation.paused'")
            .await,
        1
    );
    assert_eq!(app.balance(&donor).await, 500);
    assert_eq!(app.count("select count(*) from donations").await, 0);

    // Topped up and resumed, it charges again.
    app.fund(&donor, 1_000).await;
    let id = mine[0]["id"].as_str().expect("id");
    let resumed: Value = app
        .post_json(
            &format!("/api/donations/recurring/{id}/resume"),
            Some(&donor.access_token),
            &json!({}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(resumed["status"], "active");
}

#[tokio::test]
async fn donors_pause_and_cancel_their_own_plans_and_creators_stop_incoming_ones() {
    let app = spawn_app().await;
    let (creator, donor, stranger) = (
        app.register().await,
        app.register().await,
        app.register().await,
    );
    let campaign = app
        .active_campaign(&creator, "keep_it_all", 1_000_000)
        .await;
    let create = |body: Value| {
        let (app, token) = (app.clone(), donor.access_token.clone());
        async move {
            app.post_json("/api/donations/recurring", Some(&token), &body)
                .await
        }
    };
    let bad = error_of(
        create(json!({"campaignId": campaign, "amount": 1_000, "dayOfMonth": 29})).await,
        422,
    )
    .await;
    assert_eq!(bad["details"]["field"], "dayOfMonth");
    let plan: Value = create(json!({"campaignId": campaign, "amount": 1_000, "dayOfMonth": 3}))
        .await
        .json()
        .await
        .expect("json");
    let again = error_of(
        create(json!({"campaignId": campaign, "amount": 500, "dayOfMonth": 4})).await,
        409,
    )
    .await;
    assert_eq!(again["code"], "already_subscribed");
    let id = plan["id"].as_str().expect("id");

    error_of(
        app.post_json(
            &format!("/api/donations/recurring/{id}/pause"),
            Some(&stranger.access_token),
            &json!({}),
        )
        .await,
        404,
    )
    .await;
    let paused: Value = app
        .post_json(
            &format!("/api/donations/recurring/{id}/pause"),
            Some(&donor.access_token),
            &json!({}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(paused["status"], "paused");
    error_of(
        app.post_json(
            &format!("/api/donations/recurring/{id}/pause"),
            Some(&donor.access_token),
            &json!({}),
        )
        .await,
        409,
    )
    .await;
    error_of(
        app.post_json(
            &format!("/api/donations/recurring/{id}/explode"),
            Some(&donor.access_token),
            &json!({}),
        )
        .await,
        422,
    )
    .await;

    error_of(
        app.post_json(
            &format!("/api/campaigns/{campaign}/recurring/stop"),
            Some(&stranger.access_token),
            &json!({}),
        )
        .await,
        403,
    )
    .await;
    let stopped: Value = app
        .post_json(
            &format!("/api/campaigns/{campaign}/recurring/stop"),
            Some(&creator.access_token),
            &json!({}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(stopped["stopped"], 1);
    let mine: Value = app
        .get_auth("/api/donations/recurring", &donor.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(mine[0]["status"], "stopped");
}

#[tokio::test]
async fn plans_end_by_themselves_when_the_campaign_stops_taking_donations() {
    let app = spawn_app().await;
    let (creator, donor) = (app.register().await, app.register().await);
    app.fund(&donor, 10_000).await;
    let campaign = app
        .active_campaign(&creator, "keep_it_all", 1_000_000)
        .await;
    let plan: Value = app
        .post_json(
            "/api/donations/recurring",
            Some(&donor.access_token),
            &json!({"campaignId": campaign, "amount": 1_000, "dayOfMonth": today_day()}),
        )
        .await
        .json()
        .await
        .expect("json");
    let resp = app
        .post_json(
            &format!("/api/campaigns/{campaign}/cancel"),
            Some(&creator.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let due = plan["nextChargeOn"]
        .as_str()
        .expect("date")
        .parse::<chrono::NaiveDate>()
        .expect("date");
    let run = app
        .app
        .recurring()
        .charge_due(due.and_hms_opt(6, 0, 0).expect("time").and_utc())
        .await
        .expect("run");
    // The cancellation ended the plan itself; the charge run finds nothing to do.
    assert_eq!((run.charged, run.ended), (0, 0));
    let plans: Value = app
        .get_auth("/api/donations/recurring", &donor.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(plans[0]["status"], "ended");
    assert_eq!(plans[0]["statusReason"], "campaign_closed");
    assert_eq!(app.balance(&donor).await, 10_000);
}
