//! The sign-up path every other test relies on.

use crate::helpers::{error_of, spawn_app};

#[tokio::test]
async fn a_registered_user_sees_their_account_and_logout_ends_the_session() {
    let app = spawn_app().await;
    let user = app.register().await;
    let me: serde_json::Value = app
        .get_auth("/api/users/me", &user.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["email"], user.email.as_str());
    assert_eq!(me["role"], "user");
    let resp = app
        .post_json(
            "/api/auth/logout",
            Some(&user.access_token),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 204);
    let error = error_of(app.get_auth("/api/users/me", &user.access_token).await, 401).await;
    assert_eq!(error["code"], "unauthorized");
}
