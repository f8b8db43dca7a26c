//! Role extractors: put them before body extractors so role checks come before validation.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jobs::accounts::Role;
use jobs::ids::AuthorId;

use super::Session;
use crate::error::ApiError;

/// Any signed-in account (401 `unauthenticated` otherwise).
impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(ApiError::Unauthenticated)
    }
}

/// The session if there is one: public routes treat unknown tokens as signed out.
pub struct MaybeSession(pub Option<Session>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeSession {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<Session>().cloned()))
    }
}

/// An author's session (403 `forbidden` for other accounts).
pub struct AuthorSession {
    pub session: Session,
    pub author_id: AuthorId,
}

impl<S: Send + Sync> FromRequestParts<S> for AuthorSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        match session.author_id {
            Some(author_id) if session.has_role(Role::Author) => Ok(Self { session, author_id }),
            _ => Err(ApiError::Forbidden),
        }
    }
}

/// An admin's session (403 `forbidden` for other accounts).
pub struct AdminSession(pub Session);

impl<S: Send + Sync> FromRequestParts<S> for AdminSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        if !session.has_role(Role::Admin) {
            return Err(ApiError::Forbidden);
        }
        Ok(Self(session))
    }
}

/// An account that may change books: an author (of its own books) or an admin (of any).
pub struct EditorSession(pub Session);

impl<S: Send + Sync> FromRequestParts<S> for EditorSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        if !session.has_role(Role::Author) && !session.has_role(Role::Admin) {
            return Err(ApiError::Forbidden);
        }
        Ok(Self(session))
    }
}
