//! Running an axum app under `lambda_http`: the one adjustment routes need.
//!
//! `lambda_http` puts an API Gateway stage in front of the path (`/prod/companies/1/orders`) for
//! REST APIs, and HTTP APIs on a named stage carry it in their raw path; routes know nothing of
//! stages. [`strip_stage`] takes it off, before routing:
//!
//! ```no_run
//! # async fn run(app: axum::Router) -> Result<(), lambda_http::Error> {
//! let app = tower::ServiceExt::map_request(app, clearance_middleware::lambda::strip_stage::<lambda_http::Body>);
//! lambda_http::run(app).await
//! # }
//! ```

use http::Request;
use http::uri::{PathAndQuery, Uri};
use lambda_http::request::RequestContext;

/// The API Gateway stage of a request run under `lambda_http` (`None` for `$default` and on a plain
/// server).
pub fn stage<B>(req: &Request<B>) -> Option<&str> {
    let stage = match req.extensions().get::<RequestContext>()? {
        RequestContext::ApiGatewayV1(ctx) => ctx.stage.as_deref(),
        RequestContext::ApiGatewayV2(ctx) => ctx.stage.as_deref(),
        _ => None,
    };
    stage.filter(|s| !s.is_empty() && *s != "$default")
}

/// Takes the API Gateway stage off the front of the request's path, if it is there.
pub fn strip_stage<B>(mut req: Request<B>) -> Request<B> {
    let Some(stage) = stage(&req) else {
        return req;
    };
    let uri = req.uri();
    let Some(rest) = uri
        .path()
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(stage))
        .filter(|r| r.starts_with('/'))
    else {
        return req;
    };
    let rebuilt = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    let Ok(path_and_query) = rebuilt.parse::<PathAndQuery>() else {
        return req;
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query);
    if let Ok(uri) = Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_without_a_lambda_context_are_left_alone() {
        let req = Request::builder()
            .uri("/prod/companies/1/orders")
            .body(())
            .unwrap();
        assert_eq!(strip_stage(req).uri().path(), "/prod/companies/1/orders");
    }
}
