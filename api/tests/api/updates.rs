//! Campaign updates: the creator posts news, the public reads it, and every donor with a
//! standing gift who takes news mail gets it by email once (the worker's one `notify_donors`
//! walk, run here by `TestApp::deliver_mail`).

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, error_of, spawn_app};

impl TestApp {
    async fn post_update(
        &self,
        user: &TestUser,
        campaign: Uuid,
        body: &Value,
    ) -> reqwest::Response {
        self.post_json(
            &format!("/api/campaigns/{campaign}/updates"),
            Some(&user.access_token),
            body,
        )
        .await
    }

    /// The page of updates `/api/campaigns/{campaign}/updates{query}` answers anonymously.
    async fn updates_page(&self, campaign: Uuid, query: &str) -> Value {
        let resp = self
            .get(&format!("/api/campaigns/{campaign}/updates{query}"))
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.expect("json")
    }

    fn update_mails_to(&self, email: &str) -> Vec<String> {
        self.mails_to(email)
            .into_iter()
            .filter(|m| m.contains("Update from"))
            .collect()
    }
}

fn update(title: &str) -> Value {
    json!({"title": title, "body": "The first well is dug.\n\nWater flows next week."})
}

#[tokio::test]
async fn the_creator_posts_an_update_and_the_public_reads_it_newest_first() {
    let app = spawn_app().await;
    let creator = app.register().await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;

    let resp = app
        .post_update(
            &creator,
            campaign,
            &json!({"title": "  Week one  ", "body": " The first well is dug. "}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let first: Value = resp.json().await.expect("json");
    assert_eq!(first["title"], "Week one");
    assert_eq!(first["body"], "The first well is dug.");
    assert_eq!(first["campaignId"], campaign.to_string());
    let resp = app
        .post_update(&creator, campaign, &update("Week two"))
        .await;
    assert_eq!(resp.status().as_u16(), 201);

    let page = app.updates_page(campaign, "").await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["page"], 1);
    let titles: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["title"].as_str().expect("title"))
        .collect();
    assert_eq!(titles, ["Week two", "Week one"]);
    assert_eq!(page["items"][1], first);

    let second_page = app.updates_page(campaign, "?page=2&limit=1").await;
    assert_eq!(second_page["items"][0]["title"], "Week one");
    let resp = app
        .get(&format!("/api/campaigns/{campaign}/updates?limit=0"))
        .await;
    assert_eq!(error_of(resp, 422).await["details"]["field"], "limit");
}

#[tokio::test]
async fn only_the_creator_or_an_admin_may_post_and_only_on_a_published_campaign() {
    let app = spawn_app().await;
    let (creator, stranger, admin) = (
        app.register().await,
        app.register().await,
        app.register_admin().await,
    );
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;

    let resp = app
        .post_update(&stranger, campaign, &update("Mine now"))
        .await;
    assert_eq!(error_of(resp, 403).await["code"], "forbidden");
    let resp = app
        .post_json(
            &format!("/api/campaigns/{campaign}/updates"),
            None,
            &update("Anyone"),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 401);
    let resp = app
        .post_update(&creator, Uuid::new_v4(), &update("Nowhere"))
        .await;
    assert_eq!(error_of(resp, 404).await["code"], "not_found");
    let resp = app.post_update(&admin, campaign, &update("From us")).await;
    assert_eq!(resp.status().as_u16(), 201);

    let draft: Value = app
        .post_json(
            "/api/campaigns",
            Some(&creator.access_token),
            &json!({
                "title": "A draft not yet out", "goalAmount": 10_000, "currency": "USD",
                "description": "Nothing to tell anyone about for now, really.",
                "category": "community", "fundingModel": "keep_it_all",
            }),
        )
        .await
        .json()
        .await
        .expect("json");
    let draft: Uuid = draft["id"].as_str().expect("id").parse().expect("uuid");
    let resp = app.post_update(&creator, draft, &update("Too early")).await;
    assert_eq!(error_of(resp, 409).await["code"], "campaign_not_published");
    assert_eq!(
        app.count("select count(*) from campaign_updates").await,
        1,
        "only the admin's"
    );
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let creator = app.register().await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let cases = [
        (json!({"title": "   ", "body": "Some news"}), "title"),
        (
            json!({"title": "x".repeat(121), "body": "Some news"}),
            "title",
        ),
        (
            json!({"title": "Line\nbreak", "body": "Some news"}),
            "title",
        ),
        (json!({"title": "News", "body": " \n "}), "body"),
        (json!({"title": "News", "body": "y".repeat(10_001)}), "body"),
        (json!({"title": "News"}), "body"),
    ];
    for (body, field) in cases {
        let resp = app.post_update(&creator, campaign, &body).await;
        let error = error_of(resp, 422).await;
        assert_eq!(error["code"], "validation_failed");
        assert_eq!(error["details"]["field"], field, "{body}");
    }
    let longest = json!({"title": "é".repeat(120), "body": "y".repeat(10_000)});
    let resp = app.post_update(&creator, campaign, &longest).await;
    assert_eq!(
        resp.status().as_u16(),
        201,
        "the limits themselves are allowed"
    );
    assert_eq!(app.count("select count(*) from campaign_updates").await, 1);
    assert_eq!(
        app.count("select count(*) from outbox where kind = 'campaign.update_posted'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_hidden_campaigns_updates_answer_404_to_the_public_but_not_to_its_creator() {
    let app = spawn_app().await;
    let (creator, admin) = (app.register().await, app.register_admin().await);
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let resp = app.post_update(&creator, campaign, &update("Before")).await;
    assert_eq!(resp.status().as_u16(), 201);
    let resp = app
        .post_json(
            &format!("/api/admin/campaigns/{campaign}/suspend"),
            Some(&admin.access_token),
            &json!({"reason": "checking the wells exist"}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);

    let path = format!("/api/campaigns/{campaign}/updates");
    assert_eq!(
        error_of(app.get(&path).await, 404).await["code"],
        "not_found"
    );
    let own = app.get_auth(&path, &creator.access_token).await;
    assert_eq!(own.status().as_u16(), 200);
    assert_eq!(own.json::<Value>().await.expect("json")["total"], 1);
    // A suspended campaign cannot mail its donors.
    let resp = app.post_update(&creator, campaign, &update("During")).await;
    assert_eq!(error_of(resp, 409).await["code"], "campaign_suspended");
    let missing = format!("/api/campaigns/{}/updates", Uuid::new_v4());
    assert_eq!(app.get(&missing).await.status().as_u16(), 404);
}

#[tokio::test]
async fn each_donor_with_a_standing_gift_who_takes_news_mail_gets_each_update_once() {
    let app = spawn_app().await;
    let (creator, twice, quiet, refunded, admin) = (
        app.register().await,
        app.register().await,
        app.register().await,
        app.register().await,
        app.register_admin().await,
    );
    for donor in [&twice, &quiet, &refunded] {
        app.fund(donor, 10_000).await;
    }
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    let resp = app
        .client
        .patch(app.url("/api/users/me"))
        .bearer_auth(&quiet.access_token)
        .json(&json!({"emailNotifications": false}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    for (donor, key) in [(&twice, "a"), (&twice, "b"), (&quiet, "c")] {
        let resp = app.donate(donor, campaign, 1_000, key).await;
        assert_eq!(resp.status().as_u16(), 201);
    }
    let gift: Value = app
        .donate(&refunded, campaign, 2_000, "d")
        .await
        .json()
        .await
        .expect("json");
    let resp = app
        .post_idem(
            &format!(
                "/api/admin/donations/{}/refund",
                gift["id"].as_str().expect("id")
            ),
            &admin.access_token,
            "r",
            &json!({"reason": "given by mistake"}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    app.deliver_mail().await;

    let resp = app
        .post_update(
            &creator,
            campaign,
            &json!({"title": "Water {{flows}}", "body": "Thank you.\nSee you at the well."}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let posted: Value = resp.json().await.expect("json");
    app.deliver_mail().await;

    let mails = app.update_mails_to(&twice.email);
    assert_eq!(mails.len(), 1, "one email however many gifts");
    let mail = &mails[0];
    assert!(mail.contains("Water {{flows}}"), "{mail}");
    assert!(mail.contains("See you at the well."), "{mail}");
    assert!(mail.contains(&format!("/campaigns/{campaign}")), "{mail}");
    assert!(mail.contains("/account/settings"), "{mail}");
    assert!(app.update_mails_to(&quiet.email).is_empty(), "opted out");
    assert!(app.update_mails_to(&refunded.email).is_empty(), "refunded");
    assert!(
        app.update_mails_to(&creator.email).is_empty(),
        "not a donor"
    );

    // The worker delivering the job again (or the outbox again) sends nothing new.
    let update_id: Uuid = posted["id"].as_str().expect("id").parse().expect("uuid");
    let infra = &app.app.infra;
    let mailer = domain::infra::mail::Mailer::new(&infra.config).expect("mailer");
    let again = domain::notifications::notify_donors(
        &infra.db.write,
        &mailer,
        &infra.config,
        campaign,
        domain::notifications::DonorNotice::Update { update_id },
    )
    .await
    .expect("walk");
    assert_eq!(again, 0);
    app.deliver_mail().await;
    assert_eq!(app.update_mails_to(&twice.email).len(), 1);

    // A second update is a second email.
    let resp = app
        .post_update(&creator, campaign, &update("Week two"))
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    app.deliver_mail().await;
    assert_eq!(app.update_mails_to(&twice.email).len(), 2);
    assert!(app.update_mails_to(&quiet.email).is_empty());
}

#[tokio::test]
async fn a_campaign_posts_at_most_ten_updates_in_any_24_hours() {
    let app = spawn_app().await;
    let creator = app.register().await;
    let campaign = app.active_campaign(&creator, "keep_it_all", 50_000).await;
    for n in 1..=10 {
        let resp = app
            .post_update(&creator, campaign, &update(&format!("News {n}")))
            .await;
        assert_eq!(resp.status().as_u16(), 201, "update {n}");
    }
    let resp = app
        .post_update(&creator, campaign, &update("One too many"))
        .await;
    let error = error_of(resp, 409).await;
    assert_eq!(error["code"], "too_many_updates");
    assert_eq!(app.count("select count(*) from campaign_updates").await, 10);

    // The window rolls: once the oldest is a day old, one more may go out.
    sqlx::query(
        "update campaign_updates set created_at = now() - interval '25 hours'
         where title = 'News 1'",
    )
    .execute(&app.app.infra.db.write)
    .await
    .expect("age one");
    let resp = app
        .post_update(&creator, campaign, &update("Next day"))
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let resp = app.post_update(&creator, campaign, &update("Again")).await;
    assert_eq!(error_of(resp, 409).await["code"], "too_many_updates");
}
