//! Demo data for a fresh development database (`api seed`): a demo donor with a funded
//! wallet, a few campaigns of both funding models and some donations. Goes through the same
//! services as the api, so the books balance. Does nothing if the demo user already exists.

use chrono::{Duration, Utc};
use uuid::Uuid;

use crate::accounts::{Principal, Registration, Role, Tier};
use crate::app::App;
use crate::campaigns::service::CreateCampaign;
use crate::error::{Error, Result};
use crate::money::Donate;

pub const DEMO_EMAIL: &str = "demo@commonpot.local";
pub const DEMO_PASSWORD: &str = "demo-password-123";

const CAMPAIGNS: &[(&str, &str, &str, i64, &str)] = &[
    (
        "Clean water wells for Kisumu villages",
        "Three boreholes with hand pumps will give 2,000 people safe drinking water within a short walk.",
        "community",
        2_500_000,
        "keep_it_all",
    ),
    (
        "Solar lamps for night classes",
        "Adults who work by day study at night: 300 solar lamps keep the classrooms lit without kerosene.",
        "education",
        900_000,
        "all_or_nothing",
    ),
    (
        "Community garden tool library",
        "Shared spades, wheelbarrows and seed stock so every family on the estate can grow vegetables.",
        "environment",
        300_000,
        "keep_it_all",
    ),
];

fn principal(user_id: Uuid) -> Principal {
    Principal {
        user_id,
        role: Role::User,
        tier: Tier::Standard,
        session_id: None,
        request_id: None,
    }
}

/// Seeds the demo data; returns false when it was already there.
pub async fn seed(app: &App) -> Result<bool> {
    let exists = accounts::repo::find_with_hash_by_email(&app.infra.db.write, DEMO_EMAIL).await?;
    if exists.is_some() {
        return Ok(false);
    }
    let register = |email: &str, first: &str, last: &str, password: &str| Registration {
        email: email.to_string(),
        password: password.to_string(),
        first_name: first.to_string(),
        last_name: last.to_string(),
        device: "demo data".to_string(),
    };
    let creator = app
        .accounts()
        .register(register(
            "amina@commonpot.local",
            "Amina",
            "Otieno",
            DEMO_PASSWORD,
        ))
        .await?
        .user;
    let demo = app
        .accounts()
        .register(register(DEMO_EMAIL, "Demo", "Donor", DEMO_PASSWORD))
        .await?
        .user;
    // Nobody reads the demo users' mail: their addresses count as verified, so they may
    // create campaigns and lend.
    for id in [creator.id, demo.id] {
        accounts::repo::mark_email_verified(&app.infra.db.write, id).await?;
    }
    let (creator, demo) = (principal(creator.id), principal(demo.id));
    app.money()
        .deposit(&demo, 500_000, "demo-seed-deposit")
        .await?;
    for (i, (title, description, category, goal, model)) in CAMPAIGNS.iter().enumerate() {
        let view = app
            .campaigns()
            .create(
                &creator,
                CreateCampaign {
                    title: title.to_string(),
                    description: description.to_string(),
                    goal_amount: *goal,
                    currency: app.infra.config.currency.clone(),
                    category: category.to_string(),
                    funding_model: model.to_string(),
                    deadline: Some(Utc::now() + Duration::days(30 + 10 * i as i64)),
                },
            )
            .await?;
        let id = view.campaign.id;
        app.campaigns().publish(&creator, id).await?;
        let gift = Donate {
            amount: 2_500 * (i as i64 + 1),
            anonymous: i == 2,
            message: Some("Good luck from the demo donor!".into()),
        };
        app.money()
            .donate(&demo, id, gift, &format!("demo-seed-gift-{i}"))
            .await?;
    }
    if !app.audit().await?.ok {
        return Err(Error::internal("demo data left the books unbalanced"));
    }
    Ok(true)
}
