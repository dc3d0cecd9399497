//! A user's own data: the export of everything Commonpot holds about them, and the deletion
//! of their account. Deletion erases personal data (names, email, messages, documents, images,
//! keys, webhooks, sessions, bank accounts) across every context in one transaction, while the ledger,
//! donations and loans stay whole under the anonymised user row they point at.

use serde_json::{Map, Value, json};

use crate::accounts::Principal;
use crate::error::{Error, ErrorCode, Result};
use crate::{App, accounts, campaigns, ledger, loans, money, webhooks};

/// Everything held about the caller, by section, plus their live sessions.
pub async fn export(app: &App, principal: &Principal) -> Result<Map<String, Value>> {
    let mut data = ops::privacy::export(&app.infra, principal.user_id).await?;
    let sessions = app.accounts().sessions_of(principal).await?;
    let sessions: Vec<Value> = sessions
        .into_iter()
        .map(|s| {
            json!({"id": s.id, "device": s.device, "createdAt": s.created_at,
                   "lastUsedAt": s.last_used_at})
        })
        .collect();
    data.insert("sessions".into(), Value::Array(sessions));
    data.insert("exportedAt".into(), json!(chrono::Utc::now()));
    Ok(data)
}

/// Deletes the caller's account after checking their password. Refused (409
/// `account_not_settled`) while money is in their wallet, a loan of theirs (as borrower, or one
/// they lent to) is still being raised or repaid, or a campaign of theirs is open: each of those
/// would leave money without anyone to answer for it.
pub async fn delete_account(app: &App, principal: &Principal, password: &str) -> Result<()> {
    let user_id = principal.user_id;
    app.accounts().check_password(user_id, password).await?;
    let mut tx = app.infra.db.write.begin().await?;
    accounts::repo::lock_by_id(&mut tx, user_id)
        .await?
        .ok_or(Error::NotFound("user"))?;
    // The wallet row is locked so no deposit or repayment lands between the check and the end.
    ledger::wallets::lock(&mut tx, vec![user_id]).await?;
    let unsettled = |what: &'static str| Err(Error::conflict(ErrorCode::AccountNotSettled, what));
    if ledger::wallets::balance(&mut *tx, user_id).await? != 0 {
        return unsettled("pay out or give away what is in your wallet first");
    }
    if money::payouts::repo::open_payouts_of(&mut tx, user_id).await? > 0 {
        return unsettled("a payout of yours is still on its way to your bank");
    }
    if loans::repo::open_positions_of(&mut tx, user_id).await? > 0 {
        return unsettled("a loan you borrowed or lent is still being raised or repaid");
    }
    if campaigns::repo::open_campaigns_of(&mut tx, user_id).await? > 0 {
        return unsettled("close your active campaigns first");
    }
    let documents = loans::repo::delete_documents_of_borrower(&mut tx, user_id).await?;
    let images = campaigns::repo::delete_images_of_creator(&mut tx, user_id).await?;
    money::repo::erase_donor(&mut tx, user_id).await?;
    money::payouts::repo::delete_accounts_of(&mut tx, user_id).await?;
    webhooks::delete_endpoints_of(&mut tx, user_id).await?;
    accounts::repo::erase_user(&mut tx, user_id).await?;
    tx.commit().await?;
    app.accounts().end_all_sessions(user_id).await?;
    // The rows are gone; an object left behind by a storage outage is unreachable, so it is
    // logged for cleanup rather than failing a deletion that already happened.
    for key in documents.iter().chain(&images) {
        if let Err(e) = app.infra.storage.delete(key).await {
            tracing::error!(error = %e, key, "could not delete a deleted user's file");
        }
    }
    tracing::info!(event = "account_deleted", user_id = %user_id, "account deleted");
    Ok(())
}
