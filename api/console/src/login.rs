//! Logging in with the admin token, and out. A wrong token is counted like any refused
//! authentication and answered with the form again; a right one opens a session and sets its
//! cookie.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;
use snapkeep_core::Snapkeep;

use crate::auth::{Console, SESSION_COOKIE, cleared_cookie, see_other, session_cookie};
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
        return (StatusCode::UNAUTHORIZED, login_page(Some("That is not the admin token."))).into_response();
    }
    match core.open_session(&console.0).await {
        Ok((token, _)) => (jar.add(session_cookie(token)), see_other("/console/")).into_response(),
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

/// Ends the session (its row and its cookie) and sends the browser to the login.
pub(crate) async fn logout(State(core): State<Snapkeep>, jar: CookieJar) -> Response {
    if let Some(cookie) = jar.get(SESSION_COOKIE)
        && let Err(e) = core.close_session(cookie.value()).await
    {
        return ConsoleError::from(e).into_response();
    }
    (jar.remove(cleared_cookie()), see_other(PATH)).into_response()
}
