//! Console sessions: a login with the admin token opens one for `SESSION_LIFETIME`. The browser
//! holds a random token; the catalog holds only its SHA-256 (a copy of the catalog opens no
//! session) and a tag of the admin token it was opened under, so replacing the admin token ends
//! every session. Every form of a session carries its CSRF token, an HMAC of the browser's token
//! (OWASP's signed double-submit): a page of another site can neither read nor forge it.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::CoreError;
use crate::secrets::{hmac_sha256_hex, random_hex_token};
use crate::snapkeep::Snapkeep;

/// How long a console session lasts after its login.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);

/// A session as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// Hex SHA-256 of the browser's token.
    pub token_hash: String,
    /// Hex SHA-256 of the admin token the session was opened under.
    pub admin_tag: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The CSRF token of the session whose browser token is `token`: hex HMAC-SHA256 of a fixed
/// label under it.
pub fn csrf_token(token: &str) -> String {
    hmac_sha256_hex(token.as_bytes(), b"snapkeep console csrf")
}

/// Whether `presented` is the CSRF token of browser token `token` (compared in constant time).
pub fn csrf_matches(token: &str, presented: &str) -> bool {
    !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(csrf_token(token).as_bytes()))
}

impl Snapkeep {
    /// Opens a session for a login with `admin_token` (already checked by the caller); returns
    /// the browser's token and the session.
    pub async fn open_session(&self, admin_token: &str) -> Result<(String, ConsoleSession), CoreError> {
        let now = self.clock.now();
        let token = random_hex_token();
        let session = ConsoleSession {
            token_hash: sha256_hex(&token),
            admin_tag: sha256_hex(admin_token),
            created_at: now,
            expires_at: now + SESSION_LIFETIME,
        };
        self.store.insert_session(&session, now).await?;
        Ok((token, session))
    }

    /// The live session of browser token `token` opened under `admin_token`, if any.
    pub async fn session(&self, token: &str, admin_token: &str) -> Result<Option<ConsoleSession>, CoreError> {
        let found = self.store.get_session(&sha256_hex(token)).await?;
        let now = self.clock.now();
        Ok(found.filter(|s| s.expires_at > now && s.admin_tag == sha256_hex(admin_token)))
    }

    /// Ends the session of browser token `token` (nothing when there is none).
    pub async fn close_session(&self, token: &str) -> Result<(), CoreError> {
        Ok(self.store.delete_session(&sha256_hex(token)).await?)
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_belongs_to_its_session_only() {
        let (one, other) = (random_hex_token(), random_hex_token());
        assert!(csrf_matches(&one, &csrf_token(&one)));
        assert!(!csrf_matches(&one, &csrf_token(&other)));
        assert!(!csrf_matches(&one, ""));
        assert_ne!(csrf_token(&one), one, "the token itself is not its CSRF token");
    }
}
