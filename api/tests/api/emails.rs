//! The emails users expect after money moves or work finishes: a refund, a goal reached, an
//! all-or-nothing campaign's outcome at its deadline, a report ready. Each flow runs through
//! the real services; the worker's mail jobs run where it would (`TestApp::deliver_mail`).

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

impl TestApp {
    fn mails_with(&self, email: &str, subject: &str) -> Vec<String> {
        self.mails_to(email)
            .into_iter()
            .filter(|m| m.contains(subject))
            .collect()
    }
}

#[tokio::test]
async fn an_all_or_nothing_campaign_that_misses_its_goal_tells_each_donor_of_each_refund() {
    let app = spawn_app().await;
    let (creator, ann, ben) = (
        app.register().await,
        app.register().await,
        app.register().await,
    );
    app.fund(&ann, 5_000).await;
    app.fund(&ben, 5_000).await;
    let campaign = app
        .active_campaign(&creator, "all_or_nothing", 50_000)
        .await;
    for (donor, amount, key) in [(&ann, 1_000, "1"), (&ann, 500, "2"), (&ben, 2_000, "3")] {
        assert_eq!(
            app.donate(donor, campaign, amount, key)
                .await
                .status()
                .as_u16(),
            201
        );
    }
    app.app
        .money()
        .close_due_campaigns(Utc::now() + Duration::days(31))
        .await
        .expect("close");
    app.deliver_mail().await;
    app.deliver_mail().await; // a second pass sends nothing new

    let ann_refunds = app.mails_with(&ann.email, "was refunded");
    assert_eq!(ann_refunds.len(), 2, "one per gift");
    assert!(ann_refunds.iter().any(|m| m.contains("10.00 USD")));
    assert!(ann_refunds.iter().any(|m| m.contains("5.00 USD")));
    assert!(ann_refunds.iter().all(|m| m.contains("did not go ahead")));
    assert_eq!(app.mails_with(&ben.email, "was refunded").len(), 1);
    assert!(
        app.mails_with(&ben.email, "reached its goal: your gift")
            .is_empty()
    );
    // The close is announced once, for webhooks; the donors heard from their refunds.
    let outbox: Vec<String> =
        sqlx::query_scalar("select kind from outbox where kind = 'campaign.settled'")
            .fetch_all(&app.app.infra.db.write)
            .await
            .expect("outbox");
    assert_eq!(outbox.len(), 1);
}

#[tokio::test]
async fn reaching_the_goal_tells_the_creator_once_and_the_release_tells_every_donor_once() {
    let app = spawn_app().await;
    let (creator, ann, ben) = (
        app.register().await,
        app.register().await,
        app.register().await,
    );
    app.fund(&ann, 20_000).await;
    app.fund(&ben, 20_000).await;
    // Ben wants no news mail; the release concerns his money, so he still hears of it.
    let resp = app
        .client
        .patch(app.url("/api/users/me"))
        .bearer_auth(&ben.access_token)
        .json(&json!({"emailNotifications": false}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    let campaign = app
        .active_campaign(&creator, "all_or_nothing", 10_000)
        .await;
    assert_eq!(
        app.donate(&ann, campaign, 6_000, "1")
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(
        app.donate(&ben, campaign, 3_000, "2")
            .await
            .status()
            .as_u16(),
        201
    );
    app.deliver_mail().await;
    assert!(
        app.mails_with(&creator.email, "reached its goal")
            .is_empty()
    );
    // Crossing the goal, then giving more: one goal email.
    assert_eq!(
        app.donate(&ben, campaign, 2_000, "3")
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(
        app.donate(&ann, campaign, 1_000, "4")
            .await
            .status()
            .as_u16(),
        201
    );
    app.deliver_mail().await;
    let goal = app.mails_with(&creator.email, "reached its goal");
    assert_eq!(goal.len(), 1);
    assert!(
        goal[0].contains("released to you when the campaign closes"),
        "{}",
        goal[0]
    );

    app.app
        .money()
        .close_due_campaigns(Utc::now() + Duration::days(31))
        .await
        .expect("close");
    app.deliver_mail().await;
    app.deliver_mail().await;
    let ann_mail = app.mails_with(&ann.email, "reached its goal: your gift");
    let ben_mail = app.mails_with(&ben.email, "reached its goal: your gift");
    assert_eq!((ann_mail.len(), ben_mail.len()), (1, 1));
    assert!(ann_mail[0].contains("70.00 USD"), "{}", ann_mail[0]);
    assert!(ben_mail[0].contains("50.00 USD"), "{}", ben_mail[0]);
    assert!(
        ann_mail[0].contains("120.00 USD"),
        "the total raised: {}",
        ann_mail[0]
    );
}

#[tokio::test]
async fn an_admin_refund_tells_the_donor() {
    let app = spawn_app().await;
    let (creator, donor, admin) = (
        app.register().await,
        app.register().await,
        app.register_admin().await,
    );
    app.fund(&donor, 10_000).await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let donation: Value = app
        .donate(&donor, campaign, 3_000, "1")
        .await
        .json()
        .await
        .expect("json");
    let path = format!(
        "/api/admin/donations/{}/refund",
        donation["id"].as_str().expect("id")
    );
    let reason = json!({"reason": "donor asked for it back"});
    let resp = app
        .post_idem(&path, &admin.access_token, "r1", &reason)
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    app.deliver_mail().await;
    let mails = app.mails_with(&donor.email, "was refunded");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("30.00 USD") && mails[0].contains("Commonpot refunded it"));
    // The admin's reason stays in the audit log, not in the donor's mail.
    assert!(!mails[0].contains("donor asked"));
}

#[tokio::test]
async fn a_finished_statement_is_announced_to_the_donor_with_where_to_get_it() {
    let app = spawn_app().await;
    let donor = app.register().await;
    let year = Utc::now()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .expect("year");
    let resp = app
        .post_json(
            "/api/donations/statements",
            Some(&donor.access_token),
            &json!({"year": year}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let id: Uuid = resp.json::<Value>().await.expect("json")["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    app.deliver_mail().await;
    assert!(
        app.mails_with(&donor.email, "is ready").is_empty(),
        "not before it is built"
    );
    domain::reports::generate(&app.app.infra, id)
        .await
        .expect("generate");
    // Built again (a retried job): still one email.
    domain::reports::generate(&app.app.infra, id)
        .await
        .expect("generate again");
    app.deliver_mail().await;
    let mails = app.mails_with(&donor.email, "Your giving statement is ready");
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("https://commonpot.test/my/donations")
            || mails[0].contains("/my/donations")
    );
}
