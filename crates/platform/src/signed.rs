//! Links that carry a row id and an HMAC of it under the server's secret (`JWT_SECRET`), so the
//! database keeps only the id: someone who can read the tables (or the outbox and job queues
//! the link travels through) cannot make a working link. What the id unlocks, and whether it
//! is still unused and unexpired, is the owning context's row to decide.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], purpose: &str, id: Uuid) -> HmacSha256 {
    // `new_from_slice` accepts keys of any length for HMAC.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(purpose.as_bytes());
    mac.update(b":");
    mac.update(id.as_bytes());
    mac
}

/// `{id}.{mac}`: the token for row `id`, bound to `purpose` so a token for one kind of link
/// does not open another.
pub fn sign(secret: &[u8], purpose: &str, id: Uuid) -> String {
    let tag = mac(secret, purpose, id).finalize().into_bytes();
    format!("{}.{}", id.simple(), URL_SAFE_NO_PAD.encode(tag))
}

/// The row id of a token [`sign`] made for `purpose`; `None` for anything else. The tag is
/// compared in constant time.
pub fn open(secret: &[u8], purpose: &str, token: &str) -> Option<Uuid> {
    let (id, tag) = token.trim().split_once('.')?;
    let id = Uuid::try_parse(id).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(secret, purpose, id).verify_slice(&tag).ok()?;
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a-secret-that-is-long-enough-0123456789";

    #[test]
    fn a_signed_token_opens_to_its_id_for_its_purpose_only() {
        let id = Uuid::new_v4();
        let token = sign(SECRET, "password_reset", id);
        assert_eq!(open(SECRET, "password_reset", &token), Some(id));
        assert_eq!(open(SECRET, "email_verification", &token), None);
        assert_eq!(
            open(
                b"another-secret-that-is-long-enough-01",
                "password_reset",
                &token
            ),
            None
        );
    }

    #[test]
    fn altered_or_malformed_tokens_open_to_nothing() {
        let id = Uuid::new_v4();
        let token = sign(SECRET, "password_reset", id);
        let other = Uuid::new_v4().simple().to_string();
        let (_, tag) = token.split_once('.').expect("dot");
        for bad in [
            format!("{other}.{tag}"),
            format!("{}.{}", id.simple(), &tag[1..]),
            id.simple().to_string(),
            String::new(),
            "..".into(),
            format!("{}.!!!", id.simple()),
        ] {
            assert_eq!(open(SECRET, "password_reset", &bad), None, "{bad}");
        }
    }
}
