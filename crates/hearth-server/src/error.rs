//! `ApiError`: every way an HTTP request can fail, and its answer.
//!
//! Bad input keeps its own message and gets a 4xx (`403` for a change to
//! someone else's message, `404` for an unknown message); faults of the broker or the
//! database become `500`/`503` with a generic message, and their cause is
//! logged here, once. Every answer's body is `{"error": "..."}`.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_proto::{ErrorBody, ValidationError};

use crate::broker::BrokerError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    /// `401` whose body also says why, as `"reason"` (`nick_protected`,
    /// `server_password`), so a client can tell which password to ask for.
    #[error("{message}")]
    SignInRefused {
        message: String,
        reason: &'static str,
    },
    #[error("{0}")]
    Forbidden(String),
    /// A refusal with its own status whose body also says why, as
    /// `"reason"` (`409` `not_protected` for a DM with an unprotected nick).
    #[error("{message}")]
    Refused {
        status: StatusCode,
        message: String,
        reason: &'static str,
    },
    /// `403` for a banned nick: the body says `"reason": "banned"` and
    /// `"until"` (RFC 3339).
    #[error("{message}")]
    Banned { message: String, until: String },
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("request body is too large")]
    PayloadTooLarge,
    /// `413` with its own message (an upload over the file limit).
    #[error("{0}")]
    TooLarge(String),
    #[error("the requested range is outside the file")]
    RangeNotSatisfiable,
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("too many requests: retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// `429` with its own message: a wait that is not a token bucket's.
    #[error("{message}")]
    Limited {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_secs: u64,
    },
    #[error("something went wrong")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) | ApiError::SignInRefused { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Banned { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Refused { status, .. } => *status,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge | ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } | ApiError::Limited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn unauthorized(message: &str) -> Self {
        ApiError::Unauthorized(message.to_owned())
    }

    /// The refusal of everything a banned nick asks.
    pub fn banned(ban: &crate::nicks::BanRecord) -> Self {
        ApiError::Banned {
            message: ban.sentence(),
            until: ban.until(),
        }
    }

    pub fn invalid_room() -> Self {
        ApiError::NotFound(ValidationError::RoomName.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after_secs }
            | ApiError::Limited {
                retry_after_secs, ..
            }
            | ApiError::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let mut response = match &self {
            ApiError::SignInRefused { message, reason }
            | ApiError::Refused {
                message, reason, ..
            } => (
                status,
                axum::Json(serde_json::json!({"error": message, "reason": reason})),
            )
                .into_response(),
            ApiError::Banned { message, until } => (
                status,
                axum::Json(
                    serde_json::json!({"error": message, "reason": "banned", "until": until}),
                ),
            )
                .into_response(),
            _ => {
                let body = ErrorBody {
                    error: self.to_string(),
                };
                (status, axum::Json(body)).into_response()
            }
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        ApiError::BadRequest(err.to_string())
    }
}

impl From<BrokerError> for ApiError {
    fn from(err: BrokerError) -> Self {
        match err {
            BrokerError::Unavailable(cause) => {
                tracing::warn!(%cause, "broker unavailable");
                ApiError::Unavailable {
                    message: "the server cannot store messages right now; retry shortly".into(),
                    retry_after_secs: 1,
                }
            }
            BrokerError::ClientIdReused { room } => ApiError::Conflict(format!(
                "this client_id was already used for a message in room {room}"
            )),
            BrokerError::NoSuchMessage => ApiError::NotFound(err.to_string()),
            BrokerError::NotYours => ApiError::Forbidden(err.to_string()),
            BrokerError::BadReply => ApiError::BadRequest(err.to_string()),
            BrokerError::BadFiles(_) | BrokerError::EmptyText => {
                ApiError::BadRequest(err.to_string())
            }
            BrokerError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            JsonRejection::JsonDataError(e) => ApiError::BadRequest(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(e.body_text()),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

impl From<FormRejection> for ApiError {
    fn from(rejection: FormRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::BadRequest(
                "expected Content-Type: application/x-www-form-urlencoded".into(),
            ),
            _ => ApiError::BadRequest(rejection.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::invalid_room()
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}
