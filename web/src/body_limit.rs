//! The app-wide request body limit (`http.body_limit_bytes`), except on the cover upload, which
//! has a larger one of its own (`library.cover_max_bytes`, enforced again on its route).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::body::Limited;
use tower_http::limit::RequestBodyLimitLayer;

/// The two limits, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub app: usize,
    pub cover: usize,
}

/// Applies the limit that governs this request: over it is 413 (Content-Length too large at
/// once, a longer stream when it is read).
pub async fn limit(State(limits): State<BodyLimits>, request: Request, next: Next) -> Response {
    let cover = request.method() == axum::http::Method::PUT
        && crate::routes::is_cover_upload(request.uri().path());
    let max = if cover { limits.cover } else { limits.app };
    let service = ServiceBuilder::new()
        .layer(RequestBodyLimitLayer::new(max))
        .map_request(|request: Request<Limited<Body>>| request.map(Body::new))
        .service(next);
    match service.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}
