//! Authorization beside the routes: every admin route is added with what each of its
//! methods needs ([`Requirement`]), and the check runs as that route's own layer, after
//! routing, with the path's `{username}` and `{group}` in hand. A route added without a
//! requirement is for the admin role only: the [`AdminAuth`](crate::extract::AdminAuth)
//! extractor, which every admin handler takes, lets a request through without an
//! [`Authorized`] mark only as the admin role would be let through.
//!
//! Authentication and the shaping of answers by role (masking for an auditor, an
//! operator's group filter) stay in [`crate::guard`], which runs once for every admin path.

use std::collections::HashMap;

use axum::extract::{Path, Request, State};
use axum::handler::Handler;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;
use sekimori_core::ErrorCode;
use sekimori_gate::roles::{Capability, Need, Requirement};

use crate::problem::ApiError;
use crate::AppState;

/// What one method of an admin route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    requirement: Requirement,
    /// Whether it creates or deletes a group (refused to an operator limited to groups).
    group_structure: bool,
}

/// Needs `capability` (an operator must have been given it; an auditor may read).
pub(crate) fn cap(capability: Capability) -> Rule {
    Rule { requirement: Requirement::Capability(capability), group_structure: false }
}

/// Any role may.
pub(crate) fn any_role() -> Rule {
    Rule { requirement: Requirement::AnyRole, group_structure: false }
}

/// The admin role (and the auditor, which reads everything).
pub(crate) fn admin_only() -> Rule {
    Rule { requirement: Requirement::AdminOnly, group_structure: false }
}

impl Rule {
    /// Creates or deletes a group.
    pub(crate) fn group_structure(self) -> Rule {
        Rule { group_structure: true, ..self }
    }
}

/// The mark a request carries once its route's requirement was checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Authorized;

#[derive(Clone)]
struct Check {
    state: AppState,
    rule: Rule,
    write: bool,
}

/// A router of admin routes, each method added with its [`Rule`].
pub(crate) struct AdminRoutes {
    state: AppState,
    router: Router<AppState>,
}

impl AdminRoutes {
    /// An empty set of admin routes over `state`.
    pub(crate) fn new(state: &AppState) -> Self {
        AdminRoutes { state: state.clone(), router: Router::new() }
    }

    fn add<H, T>(mut self, method: MethodFilter, write: bool, path: &str, rule: Rule, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let check = Check { state: self.state.clone(), rule, write };
        self.router = self.router.route(path, on(method, handler).route_layer(from_fn_with_state(check, authorize)));
        self
    }

    /// `GET path` needing `rule`.
    pub(crate) fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, rule: Rule, handler: H) -> Self {
        self.add(MethodFilter::GET, false, path, rule, handler)
    }

    /// `POST path` needing `rule`.
    pub(crate) fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, rule: Rule, handler: H) -> Self {
        self.add(MethodFilter::POST, true, path, rule, handler)
    }

    /// `PUT path` needing `rule`.
    pub(crate) fn put<H: Handler<T, AppState>, T: 'static>(self, path: &str, rule: Rule, handler: H) -> Self {
        self.add(MethodFilter::PUT, true, path, rule, handler)
    }

    /// `PATCH path` needing `rule`.
    pub(crate) fn patch<H: Handler<T, AppState>, T: 'static>(self, path: &str, rule: Rule, handler: H) -> Self {
        self.add(MethodFilter::PATCH, true, path, rule, handler)
    }

    /// `DELETE path` needing `rule`.
    pub(crate) fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &str, rule: Rule, handler: H) -> Self {
        self.add(MethodFilter::DELETE, true, path, rule, handler)
    }

    /// The routes, to merge into the server's router.
    pub(crate) fn into_router(self) -> Router<AppState> {
        self.router
    }
}

/// The route layer: checks the authenticated token against the route's rule and the
/// user or group named in the path, then marks the request [`Authorized`].
async fn authorize(
    State(check): State<Check>,
    params: Path<HashMap<String, String>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(token) = crate::guard::authenticated_request(&req) else {
        // The guard authenticates every admin path before routing; a route added under
        // another prefix gets here without a token.
        return ApiError::new(ErrorCode::Unauthorized, "an admin token is required").into_response();
    };
    let need = Need {
        requirement: check.rule.requirement,
        username: params.get("username").cloned(),
        group: params.get("group").cloned(),
        write: check.write,
        group_structure: check.rule.group_structure,
    };
    if let Err(e) = check.state.gate.roles().authorize(&token, &need).await {
        return ApiError(e).into_response();
    }
    req.extensions_mut().insert(Authorized);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Method, StatusCode};
    use axum::routing::get;
    use sekimori_core::{OsRng, SystemClock};
    use sekimori_gate::roles::{Role, Scope};
    use sekimori_gate::{Gate, GateSettings, ServerKeys};
    use tower::ServiceExt;

    use super::*;
    use crate::extract::AdminAuth;

    async fn state() -> (AppState, String) {
        let store: Arc<dyn sekimori_store::Store> = Arc::new(sekimori_store::testing::fresh_sqlite().await);
        let gate = Gate::new(
            store.clone(),
            Arc::new(SystemClock),
            Arc::new(OsRng),
            ServerKeys::generate(&OsRng),
            GateSettings::default(),
        )
        .expect("gate");
        let admin = gate.admin().bootstrap().await.expect("bootstrap").1.expect("first token");
        let watch = sekimori_watch::Watch::new(
            store,
            Arc::new(SystemClock),
            Arc::new(OsRng),
            &sekimori_detect::RuleSet::default(),
            sekimori_detect::baseline::Baselines::builtin(),
            sekimori_watch::IngestLimits::default(),
        )
        .expect("watch");
        let limiter = Arc::new(crate::limits::RateLimiter::new(Default::default(), Arc::new(SystemClock)));
        let state = AppState {
            gate,
            watch,
            body_limit: crate::DEFAULT_BODY_LIMIT,
            trusted_proxies: Default::default(),
            limiter,
            min_free_bytes: 0,
            metrics: Default::default(),
        };
        (state, admin)
    }

    async fn mint(s: &AppState, role: Role, capabilities: &[&str]) -> String {
        let tenant = s.gate.admin().default_tenant().await.expect("tenant");
        let scope = (role == Role::Operator).then(|| Scope {
            capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
            groups: Vec::new(),
        });
        s.gate.roles().mint_token(&tenant.id, "t", role, scope, "test").await.expect("token").1
    }

    async fn who(AdminAuth(t): AdminAuth) -> String {
        t.name
    }

    async fn status(app: &Router, method: Method, path: &str, token: &str) -> StatusCode {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        app.clone().oneshot(req).await.expect("answer").status()
    }

    /// A route added without a requirement is for the admin role (and the auditor's
    /// reads) only, whatever capabilities an operator holds; declared routes let exactly
    /// their capability through.
    #[tokio::test]
    async fn an_undeclared_admin_route_is_closed_and_declared_ones_check_their_capability() {
        let (s, admin) = state().await;
        let every: Vec<&str> = sekimori_gate::roles::grantable_names();
        let operator = mint(&s, Role::Operator, &every).await;
        let reader = mint(&s, Role::Operator, &["users.read"]).await;
        let auditor = mint(&s, Role::Auditor, &[]).await;
        let app: Router = Router::new()
            .route("/api/v1/admin/undeclared", get(who).post(who))
            .merge(
                AdminRoutes::new(&s)
                    .get("/api/v1/admin/declared", cap(Capability::UsersRead), who)
                    .post("/api/v1/admin/declared", cap(Capability::UsersWrite), who)
                    .into_router(),
            )
            .with_state(s.clone())
            .layer(from_fn_with_state(s.clone(), crate::guard::admin_guard));

        let undeclared = "/api/v1/admin/undeclared";
        assert_eq!(status(&app, Method::GET, undeclared, &admin).await, StatusCode::OK);
        assert_eq!(status(&app, Method::POST, undeclared, &admin).await, StatusCode::OK);
        assert_eq!(status(&app, Method::GET, undeclared, &operator).await, StatusCode::FORBIDDEN);
        assert_eq!(status(&app, Method::POST, undeclared, &operator).await, StatusCode::FORBIDDEN);
        assert_eq!(status(&app, Method::GET, undeclared, &auditor).await, StatusCode::OK);
        assert_eq!(status(&app, Method::POST, undeclared, &auditor).await, StatusCode::FORBIDDEN);
        assert_eq!(status(&app, Method::GET, undeclared, "skadm_nope").await, StatusCode::UNAUTHORIZED);

        let declared = "/api/v1/admin/declared";
        assert_eq!(status(&app, Method::GET, declared, &reader).await, StatusCode::OK);
        assert_eq!(status(&app, Method::POST, declared, &reader).await, StatusCode::FORBIDDEN);
        assert_eq!(status(&app, Method::POST, declared, &operator).await, StatusCode::OK);
        assert_eq!(status(&app, Method::POST, declared, &auditor).await, StatusCode::FORBIDDEN);
        assert_eq!(status(&app, Method::GET, declared, "").await, StatusCode::UNAUTHORIZED);
    }
}
