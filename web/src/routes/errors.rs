//! The error answers each kind of handler documents, named once and listed in `responses(...)`.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// One error status with the description the document gives it; the body is always `ErrorBody`.
type Answer = (u16, &'static str);

const INVALID: Answer = (400, "invalid request");
const REFUSED_EVENT: Answer = (400, "bad_signature, or a malformed event or unknown order");
const UNAUTHENTICATED: Answer = (401, "not signed in");
const PURCHASE_REQUIRED: Answer = (402, "purchase required");
const FORBIDDEN: Answer = (403, "frozen, CSRF or forbidden");
const NOT_FOUND: Answer = (404, "not found");
const CONFLICT: Answer = (409, "conflict");
const SHELF_FULL: Answer = (
    409,
    "shelf_full: the shelf holds `library.shelf_limit` books",
);
const TOO_LARGE: Answer = (413, "body too large");
const UNSUPPORTED: Answer = (415, "unsupported media type");
const KEY_REUSED: Answer = (422, "Idempotency-Key used with another request");
const RATE_LIMITED: Answer = (429, "rate limited");
const UNAVAILABLE: Answer = (503, "a dependency is down");

fn responses(answers: &[Answer]) -> BTreeMap<String, RefOr<Response>> {
    answers
        .iter()
        .map(|&(status, description)| {
            let body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", body)
                .build();
            (status.to_string(), response.into())
        })
        .collect()
}

/// Declares each set as a type (never built: it only names its answers for `utoipa::path`).
macro_rules! error_sets {
    ($($(#[$doc:meta])* $name:ident: [$($answer:ident),+ $(,)?];)+) => {$(
        $(#[$doc])*
        pub(super) enum $name {}

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                responses(&[$($answer),+])
            }
        }
    )+};
}

error_sets! {
    /// A public search.
    SearchErrors: [INVALID, UNAVAILABLE];
    /// A public read of one thing (a frozen session is still refused).
    PublicLookupErrors: [INVALID, FORBIDDEN, NOT_FOUND, UNAVAILABLE];
    /// Reading a chapter, which a VIP chapter may refuse until it is bought.
    ReadChapterErrors: [
        INVALID,
        UNAUTHENTICATED,
        PURCHASE_REQUIRED,
        FORBIDDEN,
        NOT_FOUND,
        UNAVAILABLE,
    ];
    /// A signed-in call that takes no input the server checks.
    SessionErrors: [UNAUTHENTICATED, FORBIDDEN, UNAVAILABLE];
    /// A signed-in list (paging, search).
    ListErrors: [INVALID, UNAUTHENTICATED, FORBIDDEN, UNAVAILABLE];
    /// A signed-in call on one thing named by id.
    LookupErrors: [INVALID, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, UNAVAILABLE];
    /// Adding a book to the shelf, which may be full.
    ShelveErrors: [INVALID, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, SHELF_FULL, UNAVAILABLE];
    /// An admin call on one account named in the path.
    AccountErrors: [UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, UNAVAILABLE];
    /// A signed-in call with a JSON body.
    WriteErrors: [INVALID, UNAUTHENTICATED, FORBIDDEN, TOO_LARGE, UNAVAILABLE];
    /// A signed-in call with a JSON body on one thing named by id.
    WriteToErrors: [INVALID, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, TOO_LARGE, UNAVAILABLE];
    /// An upload of a file (not JSON) to one thing named by id.
    UploadErrors: [
        INVALID,
        UNAUTHENTICATED,
        FORBIDDEN,
        NOT_FOUND,
        TOO_LARGE,
        UNSUPPORTED,
        UNAVAILABLE,
    ];
    /// A signed-in call with a JSON body that creates something unique.
    CreateUniqueErrors: [INVALID, UNAUTHENTICATED, FORBIDDEN, CONFLICT, TOO_LARGE, UNAVAILABLE];
    /// Opening an account.
    RegisterErrors: [INVALID, CONFLICT, TOO_LARGE, RATE_LIMITED, UNAVAILABLE];
    /// Signing in.
    LoginErrors: [INVALID, UNAUTHENTICATED, FORBIDDEN, TOO_LARGE, RATE_LIMITED, UNAVAILABLE];
    /// Queueing a job from a JSON body, with an optional `Idempotency-Key`.
    EnqueueErrors: [
        INVALID,
        UNAUTHENTICATED,
        FORBIDDEN,
        TOO_LARGE,
        KEY_REUSED,
        RATE_LIMITED,
        UNAVAILABLE,
    ];
    /// Crediting coins: a JSON body on one account, with an optional `Idempotency-Key`.
    CreditErrors: [
        INVALID,
        UNAUTHENTICATED,
        FORBIDDEN,
        NOT_FOUND,
        TOO_LARGE,
        KEY_REUSED,
        UNAVAILABLE,
    ];
    /// A payment provider's signed webhook (no session).
    WebhookErrors: [REFUSED_EVENT, NOT_FOUND, TOO_LARGE, UNAVAILABLE];
    /// Opening a recharge order: a JSON body with an optional `Idempotency-Key`.
    OrderErrors: [INVALID, UNAUTHENTICATED, FORBIDDEN, TOO_LARGE, KEY_REUSED, UNAVAILABLE];
    /// An admin's resolution of a flagged order.
    ResolveErrors: [
        INVALID,
        UNAUTHENTICATED,
        FORBIDDEN,
        NOT_FOUND,
        CONFLICT,
        TOO_LARGE,
        UNAVAILABLE,
    ];
    /// Queueing a job that takes no input.
    SweepErrors: [UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, UNAVAILABLE];
    /// Queueing a job from an optional JSON body.
    RollupErrors: [INVALID, UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, UNAVAILABLE];
}
