//! Logging in with the admin token, and out. A wrong token is counted like any refused
//! authentication and answered with the form again; a right one opens a session and sets its
//! cookie.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;
use snapkeep_api_gateway::request_id;
use snapkeep_core::{AuditEntry, Snapkeep};

use crate::auth::{Console, cleared_cookie, see_other, session_cookie, session_token_of};
use crate::error::ConsoleError;
use crate::layout::{alert, bare_page};

pub(crate) const PATH: &str = "/console/login";

fn login_page(message: Option<&str>) -> Markup {
    bare_page(
        "Log in",
        None,
        html! {
            h1 { "snapkeep console" }
            (alert(message))
            form method="post" action=(PATH) {
                label for="token" { "Admin token" }
                input id="token" name="token" type="password" autocomplete="current-password" required autofocus;
                button type="submit" { "Log in" }
            }
            p.hint { "The admin token is in " code { "<data-dir>/admin.token" } " unless it was given to " code { "snapkeep serve" } "." }
        },
    )
}

pub(crate) async fn form() -> Markup {
    login_page(None)
}

#[derive(Deserialize)]
pub(crate) struct Login {
    token: String,
}

pub(crate) async fn submit(
    State((core, console)): State<(Snapkeep, Console)>,
    jar: CookieJar,
    Form(login): Form<Login>,
) -> Response {
    if !console.is_admin_token(login.token.trim()) {
        core.metrics().count_auth_failure("console", "bad_token");
        tracing::warn!(dialect = "console", "console login refused: wrong admin token");
        audit_login(&core, None, StatusCode::UNAUTHORIZED).await;
        return (StatusCode::UNAUTHORIZED, login_page(Some("That is not the admin token."))).into_response();
    }
    match core.open_session(&console.token).await {
        Ok((token, session)) => {
            audit_login(&core, Some(&session.token_hash), StatusCode::SEE_OTHER).await;
            (jar.add(session_cookie(token, console.secure_cookies)), see_other("/console/")).into_response()
        }
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

/// A login in the audit log, which the gateway does not see (the login is open): the session it
/// opened, or a refusal.
async fn audit_login(core: &Snapkeep, session: Option<&str>, status: StatusCode) {
    let access_key =
        session.map_or_else(|| "console login".to_owned(), |hash| format!("console session {}", &hash[..12]));
    core.record_audit(AuditEntry {
        id: 0,
        at: core.now(),
        dialect: "console".to_owned(),
        project_id: None,
        access_key,
        action: "Login".to_owned(),
        target: String::new(),
        status: status.as_u16(),
        outcome: if session.is_some() { "ok" } else { "bad_token" }.to_owned(),
        request_id: request_id().simple().to_string(),
    })
    .await;
}

/// Ends the session (its row and its cookie) and sends the browser to the login.
pub(crate) async fn logout(State(core): State<Snapkeep>, headers: HeaderMap, jar: CookieJar) -> Response {
    if let Some(token) = session_token_of(&headers)
        && let Err(e) = core.close_session(token).await
    {
        return ConsoleError::from(e).into_response();
    }
    (jar.remove(cleared_cookie()), see_other(PATH)).into_response()
}
