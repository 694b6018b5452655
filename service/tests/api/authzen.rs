//! The AuthZEN 1.0 endpoints: evaluations, the three searches and the PDP metadata. Each endpoint
//! is exercised with a request and a response taken from the specification's own examples, adapted
//! to users, companies and roles (alice@example.com, companies for accounts and documents, roles
//! for `can_read`).

use serde_json::{Value, json};

use crate::helpers::TestApp;

const EVALUATIONS: &str = "/access/v1/evaluations";
const SUBJECTS: &str = "/access/v1/search/subject";
const RESOURCES: &str = "/access/v1/search/resource";
const ACTIONS: &str = "/access/v1/search/action";

async fn ok(app: &TestApp, path: &str, body: Value) -> Value {
    let answer = app.post(path, body).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    answer.json()
}

/// Posts `body` to `path`, which must refuse it as invalid; the field the refusal names.
async fn invalid_field(app: &TestApp, path: &str, body: Value) -> Value {
    let problem = app.post(path, body).await.problem(400, "validation");
    problem["field"].clone()
}

fn decisions(answer: &Value) -> Vec<bool> {
    answer["evaluations"]
        .as_array()
        .expect("an evaluations array")
        .iter()
        .map(|d| d["decision"].as_bool().expect("a boolean decision"))
        .collect()
}

/// The specification's default-values example (one subject and context at the top level, a
/// default action overridden by the third evaluation), adapted: documents are companies and
/// `can_read` / `can_edit` are roles.
pub async fn authzen_evaluations_take_defaults_from_the_top_level_and_overrides_from_each(
    app: &TestApp,
) {
    app.given_user(
        "alice@example.com",
        &["boxcarring", "subject-search"],
        "Manager",
    )
    .await;
    let answer = ok(
        app,
        EVALUATIONS,
        json!({
            "subject": {"type": "user", "id": "alice@example.com"},
            "context": {"time": "2024-05-31T15:22-07:00"},
            "action": {"name": "Manager"},
            "evaluations": [
                {"resource": {"type": "company", "id": "boxcarring"}},
                {"resource": {"type": "company", "id": "subject-search"}},
                {"action": {"name": "Admin"}, "resource": {"type": "company", "id": "subject-search"}}
            ]
        }),
    )
    .await;
    assert_eq!(decisions(&answer), [true, true, false]);
    assert_eq!(answer["evaluations"][2]["context"]["code"], "role-mismatch");
    assert!(answer.get("decision").is_none(), "{answer}");

    // Per-evaluation subjects and contexts override the defaults; `context.atLeast` lets a higher
    // role do, and `action.properties.atLeast` overrides the context.
    app.given_user("bob@example.com", &["boxcarring"], "Standard")
        .await;
    let answer = ok(
        app,
        EVALUATIONS,
        json!({
            "action": {"name": "Standard"},
            "resource": {"type": "company", "id": "boxcarring"},
            "context": {"atLeast": true},
            "evaluations": [
                {"subject": {"type": "user", "id": "alice@example.com"}},
                {"subject": {"type": "user", "id": "alice@example.com"}, "context": {}},
                {"subject": {"type": "user", "id": "bob@example.com"}},
                {"subject": {"type": "user", "id": "bob@example.com"}, "action": {"name": "Manager", "properties": {"atLeast": true}}},
                {"subject": {"type": "client", "id": "nobody"}}
            ]
        }),
    )
    .await;
    assert_eq!(decisions(&answer), [true, false, true, false, false]);
    assert_eq!(
        answer["evaluations"][3]["context"]["code"],
        "role-below-required"
    );
    assert_eq!(answer["evaluations"][4]["context"]["code"], "unknown-user");
}

/// The specification's three-semantics example (read documents 1, 2 and 3), adapted: alice may
/// act for companies 1 and 3 but not 2.
pub async fn authzen_evaluations_semantics_short_circuit_as_the_specification_shows(app: &TestApp) {
    app.given_user("alice@example.com", &["1", "3"], "Standard")
        .await;
    let request = |semantic: &str| {
        json!({
            "subject": {"type": "user", "id": "alice@example.com"},
            "action": {"name": "Standard"},
            "options": {"evaluations_semantic": semantic, "another_option": "value"},
            "evaluations": [
                {"resource": {"type": "company", "id": "1"}},
                {"resource": {"type": "company", "id": "2"}},
                {"resource": {"type": "company", "id": "3"}}
            ]
        })
    };
    let all = ok(app, EVALUATIONS, request("execute_all")).await;
    assert_eq!(decisions(&all), [true, false, true]);
    let deny = ok(app, EVALUATIONS, request("deny_on_first_deny")).await;
    assert_eq!(decisions(&deny), [true, false]);
    assert_eq!(deny["evaluations"][1]["context"]["code"], "not-a-member");
    let permit = ok(app, EVALUATIONS, request("permit_on_first_permit")).await;
    assert_eq!(decisions(&permit), [true]);
    let mut default = request("execute_all");
    default.as_object_mut().unwrap().remove("options");
    assert_eq!(
        decisions(&ok(app, EVALUATIONS, default).await),
        [true, false, true]
    );

    let body = app
        .post(EVALUATIONS, request("first_come"))
        .await
        .problem(400, "invalid-body");
    clearance_tests::answer::assert_detail_contains(&body, "first_come");
}

pub async fn authzen_evaluations_without_evaluations_answer_one_and_name_what_is_missing(
    app: &TestApp,
) {
    app.given_user("mgr", &["1111"], "Manager").await;
    let single = ok(
        app,
        EVALUATIONS,
        json!({
            "subject": {"type": "user", "id": "mgr"},
            "resource": {"type": "company", "id": "1111"},
            "action": {"name": "Manager"},
            "evaluations": []
        }),
    )
    .await;
    assert_eq!(single["decision"], true, "{single}");
    assert_eq!(single["context"]["code"], "allowed");
    assert!(single.get("evaluations").is_none());

    assert_eq!(
        invalid_field(
            app,
            EVALUATIONS,
            json!({"subject": {"type": "user", "id": "mgr"}})
        )
        .await,
        "resource"
    );
    assert_eq!(
        invalid_field(
            app,
            EVALUATIONS,
            json!({
                "subject": {"type": "user", "id": "mgr"},
                "evaluations": [
                    {"resource": {"type": "company", "id": "1111"}, "action": {"name": "Manager"}},
                    {"resource": {"type": "company", "id": "1111"}}
                ]
            })
        )
        .await,
        "evaluations[1].action"
    );
    assert_eq!(
        invalid_field(
            app,
            EVALUATIONS,
            json!({
                "subject": {"type": "user", "id": "mgr"},
                "resource": {"type": "company", "id": "1111"},
                "evaluations": [{"action": {"name": "Manager"}}, {"action": {"name": "manager"}}]
            })
        )
        .await,
        "evaluations[1].action.name"
    );
    let too_many: Vec<Value> = (0..1001).map(|_| json!({})).collect();
    assert_eq!(
        invalid_field(
            app,
            EVALUATIONS,
            json!({
                "subject": {"type": "user", "id": "mgr"},
                "resource": {"type": "company", "id": "1111"},
                "action": {"name": "access"},
                "evaluations": too_many
            })
        )
        .await,
        "evaluations"
    );
}

/// The cache's counter `name` from `/metrics`.
async fn counter(app: &TestApp, name: &str) -> u64 {
    let text = app.get("/metrics").await.text;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .parse()
        .unwrap()
}

pub async fn authzen_evaluations_read_each_distinct_subject_once_through_the_cache(app: &TestApp) {
    for id in ["u1", "u2", "u3"] {
        app.given_user(id, &["1111"], "Standard").await;
    }
    let lookups = async || {
        counter(app, "clearance_cache_hits_total").await
            + counter(app, "clearance_cache_misses_total").await
    };
    let evaluations: Vec<Value> = ["u1", "u2", "u3", "u1", "u2", "u3", "u1", "u1"]
        .iter()
        .map(|id| json!({"subject": {"type": "user", "id": id}}))
        .collect();
    let body = json!({
        "resource": {"type": "company", "id": "1111"},
        "action": {"name": "Standard"},
        "evaluations": evaluations
    });
    let (before, loads_before) = (
        lookups().await,
        counter(app, "clearance_cache_loads_total").await,
    );
    assert_eq!(
        decisions(&ok(app, EVALUATIONS, body.clone()).await),
        [true; 8]
    );
    assert_eq!(
        lookups().await - before,
        3,
        "one look-up per distinct subject"
    );
    assert!(
        counter(app, "clearance_cache_loads_total").await - loads_before <= 1,
        "the misses are read from the store in one batch"
    );
    let (before, loads_before) = (
        lookups().await,
        counter(app, "clearance_cache_loads_total").await,
    );
    ok(app, EVALUATIONS, body).await;
    assert_eq!(lookups().await - before, 3);
    assert_eq!(
        counter(app, "clearance_cache_loads_total").await,
        loads_before,
        "a second batch is answered by the cache"
    );
}

/// Follows `next_token` from the first page to the end, checking each page's shape; returns every
/// result and the number of pages.
async fn every_page(app: &TestApp, path: &str, mut request: Value) -> (Vec<Value>, usize) {
    let mut results = Vec::new();
    let mut pages = 0;
    loop {
        let answer = ok(app, path, request.clone()).await;
        pages += 1;
        let page = answer["results"].as_array().expect("results").clone();
        assert_eq!(answer["page"]["count"], page.len(), "{answer}");
        results.extend(page);
        let next = answer["page"]["next_token"].as_str().expect("a next_token");
        if next.is_empty() {
            return (results, pages);
        }
        assert!(pages < 100, "the search never ends");
        request["page"]["token"] = json!(next);
    }
}

fn ids(results: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = results
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The specification's subject search example (users who may `can_read` account 123), adapted:
/// who may act for company 123 as a Manager, or at least as one.
pub async fn authzen_subject_search_pages_through_who_may_act_for_a_company(app: &TestApp) {
    app.given_user("alice@example.com", &["123"], "Manager")
        .await;
    app.given_user("bob@example.com", &["123", "456"], "Manager")
        .await;
    app.given_user("carol@example.com", &["123"], "Admin").await;
    app.given_user("dave@example.com", &["123"], "Standard")
        .await;
    app.given_user("erin@example.com", &["456"], "Manager")
        .await;
    let request = json!({
        "subject": {"type": "user"},
        "action": {"name": "Manager"},
        "resource": {"type": "company", "id": "123"},
        "context": {"time": "2024-10-26T01:22-07:00"}
    });
    let answer = ok(app, SUBJECTS, request.clone()).await;
    assert_eq!(answer["page"]["next_token"], "", "{answer}");
    assert_eq!(
        ids(answer["results"].as_array().unwrap()),
        ["alice@example.com", "bob@example.com"]
    );
    assert!(
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["type"] == "user")
    );

    let mut at_least = request.clone();
    at_least["context"]["atLeast"] = json!(true);
    at_least["page"] = json!({"limit": 1});
    let (results, pages) = every_page(app, SUBJECTS, at_least.clone()).await;
    assert_eq!(
        ids(&results),
        ["alice@example.com", "bob@example.com", "carol@example.com"]
    );
    assert!(
        pages >= 3,
        "one result per page at most (got {pages} pages)"
    );

    let mut access = request.clone();
    access["action"] = json!({"name": "access"});
    let (results, _) = every_page(app, SUBJECTS, access).await;
    assert_eq!(results.len(), 4);

    // A token answers only the question it was issued for.
    let first = ok(app, SUBJECTS, at_least.clone()).await;
    let token = first["page"]["next_token"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    let mut changed = at_least.clone();
    changed["page"] = json!({"limit": 2, "token": token});
    let body = app
        .post(SUBJECTS, changed)
        .await
        .problem(400, "invalid-cursor");
    assert_eq!(body["field"], "page.token");
    let mut other_company = at_least.clone();
    other_company["resource"]["id"] = json!("456");
    other_company["page"]["token"] = json!(token);
    app.post(SUBJECTS, other_company)
        .await
        .problem(400, "invalid-cursor");
    let mut altered = at_least.clone();
    altered["page"]["token"] = json!(format!("{token}A"));
    app.post(SUBJECTS, altered)
        .await
        .problem(400, "invalid-cursor");
    // ... and no company listing cursor is a search token, or the other way round.
    app.get(&format!("/companies/123/users?cursor={token}"))
        .await
        .problem(400, "invalid-cursor");
    let mut bad_type = request.clone();
    bad_type["subject"]["type"] = json!("group");
    let body = app
        .post(SUBJECTS, bad_type)
        .await
        .problem(400, "validation");
    assert_eq!(body["field"], "subject.type");
    let mut bad_limit = request;
    bad_limit["page"] = json!({"limit": 0});
    let body = app
        .post(SUBJECTS, bad_limit)
        .await
        .problem(400, "validation");
    assert_eq!(body["field"], "page.limit");
}

/// The specification's pagination example (a total of three accounts, a page limit of two),
/// adapted: the companies alice@example.com may act for as at least a Standard user.
pub async fn authzen_resource_search_pages_as_the_specification_example(app: &TestApp) {
    app.given_user("alice@example.com", &["789", "123", "456"], "Manager")
        .await;
    let request = json!({
        "subject": {"type": "user", "id": "alice@example.com"},
        "action": {"name": "Standard", "properties": {"atLeast": true}},
        "resource": {"type": "company"},
        "page": {"limit": 2}
    });
    let first = ok(app, RESOURCES, request.clone()).await;
    assert_eq!(first["page"]["count"], 2);
    assert_eq!(
        first["results"],
        json!([{"type": "company", "id": "123"}, {"type": "company", "id": "456"}])
    );
    let token = first["page"]["next_token"].as_str().unwrap();
    assert!(!token.is_empty());
    let mut second = request.clone();
    second["page"] = json!({"limit": 2, "token": token});
    let second = ok(app, RESOURCES, second).await;
    assert_eq!(second["page"], json!({"next_token": "", "count": 1}));
    assert_eq!(second["results"], json!([{"type": "company", "id": "789"}]));

    // Exactly Standard: a Manager holds no company in that role; unknown users hold none.
    let mut exact = request.clone();
    exact["action"] = json!({"name": "Standard"});
    assert_eq!(ok(app, RESOURCES, exact).await["results"], json!([]));
    let mut unknown = request.clone();
    unknown["subject"]["id"] = json!("nobody");
    let answer = ok(app, RESOURCES, unknown).await;
    assert_eq!(answer["results"], json!([]));
    assert_eq!(answer["page"]["next_token"], "");
    let mut bad = request;
    bad["resource"]["type"] = json!("account");
    let body = app.post(RESOURCES, bad).await.problem(400, "validation");
    assert_eq!(body["field"], "resource.type");
}

/// The specification's action search example (what alice may do on account 123), adapted: the
/// roles she holds for company 123, by the role order.
pub async fn authzen_action_search_lists_the_roles_held_by_the_role_order(app: &TestApp) {
    app.given_user("alice@example.com", &["123"], "Manager")
        .await;
    let request = json!({
        "subject": {"type": "user", "id": "alice@example.com"},
        "resource": {"type": "company", "id": "123"},
        "context": {"time": "2024-10-26T01:22-07:00"}
    });
    let held = ok(app, ACTIONS, request.clone()).await;
    assert_eq!(held["results"], json!([{"name": "Manager"}]));
    assert_eq!(held["page"], json!({"next_token": "", "count": 1}));

    let mut reached = request.clone();
    reached["context"]["atLeast"] = json!(true);
    let answer = ok(app, ACTIONS, reached.clone()).await;
    assert_eq!(
        answer["results"],
        json!([{"name": "Standard"}, {"name": "Manager"}])
    );
    reached["page"] = json!({"limit": 1});
    let (results, pages) = every_page(app, ACTIONS, reached).await;
    assert_eq!(
        results,
        [json!({"name": "Standard"}), json!({"name": "Manager"})]
    );
    assert_eq!(pages, 2);

    // Every role found is one an evaluation permits.
    for role in ["Standard", "Manager"] {
        let decision = ok(
            app,
            "/access/v1/evaluation",
            json!({
                "subject": {"type": "user", "id": "alice@example.com"},
                "resource": {"type": "company", "id": "123"},
                "action": {"name": role},
                "context": {"atLeast": true}
            }),
        )
        .await;
        assert_eq!(decision["decision"], true, "{role}");
    }
    let mut outsider = request.clone();
    outsider["resource"]["id"] = json!("456");
    assert_eq!(ok(app, ACTIONS, outsider).await["results"], json!([]));
    let mut bad = request;
    bad["context"]["atLeast"] = json!("yes");
    let body = app.post(ACTIONS, bad).await.problem(400, "validation");
    assert_eq!(body["field"], "context.atLeast");
}

/// The specification's metadata example, for this service: every endpoint, under the URL asked.
pub async fn authzen_metadata_names_every_endpoint_under_the_url_asked(app: &TestApp) {
    let answer = app.get("/.well-known/authzen-configuration").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        answer
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let base = format!("http://{}", app.addr);
    assert_eq!(
        answer.json(),
        json!({
            "policy_decision_point": base,
            "access_evaluation_endpoint": format!("{base}/access/v1/evaluation"),
            "access_evaluations_endpoint": format!("{base}/access/v1/evaluations"),
            "search_subject_endpoint": format!("{base}/access/v1/search/subject"),
            "search_action_endpoint": format!("{base}/access/v1/search/action"),
            "search_resource_endpoint": format!("{base}/access/v1/search/resource"),
        })
    );
    let behind_tls = app
        .send(
            reqwest::Method::GET,
            "/.well-known/authzen-configuration",
            &[("x-forwarded-proto", "https"), ("host", "pdp.example.com")],
            None,
        )
        .await
        .json();
    assert_eq!(
        behind_tls["policy_decision_point"],
        "https://pdp.example.com"
    );
    assert_eq!(
        behind_tls["search_subject_endpoint"],
        "https://pdp.example.com/access/v1/search/subject"
    );
    // Every endpoint named is served.
    for endpoint in [
        "access_evaluation_endpoint",
        "access_evaluations_endpoint",
        "search_subject_endpoint",
        "search_action_endpoint",
        "search_resource_endpoint",
    ] {
        let url = answer.json()[endpoint].as_str().unwrap().to_owned();
        let path = url.strip_prefix(&base).unwrap().to_owned();
        let status = app.post(&path, json!({})).await.status;
        assert_eq!(status, 400, "{path} is served and refuses an empty request");
    }
}

/// The HTTPS binding's example: unknown members are ignored, `X-Request-ID` comes back, and a
/// missing required member is a 400.
pub async fn authzen_requests_ignore_unknown_members_and_echo_the_request_id(app: &TestApp) {
    app.given_user("alice@example.com", &["1"], "Standard")
        .await;
    let answer = app
        .json(
            reqwest::Method::POST,
            "/access/v1/evaluation",
            json!({
                "subject": {"type": "user", "id": "alice@example.com", "properties": {"department": "Sales"}},
                "resource": {"type": "company", "id": "1", "properties": {"library_record": {"title": "x"}}},
                "action": {"name": "Standard", "properties": {"method": "GET"}},
                "context": {"time": "1985-10-26T01:22-07:00"},
                "extension": {"anything": true}
            }),
            &[("x-request-id", "bfe9eb29-ab87-4ca3-be83-a1d5d8305716")],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["decision"], true);
    assert_eq!(
        answer.header("x-request-id"),
        Some("bfe9eb29-ab87-4ca3-be83-a1d5d8305716")
    );
    for path in ["/access/v1/evaluation", SUBJECTS, RESOURCES, ACTIONS] {
        let body = app
            .post(
                path,
                json!({"subject": {"type": "user", "id": "alice@example.com"}}),
            )
            .await
            .problem(400, "invalid-body");
        clearance_tests::answer::assert_detail_contains(&body, "missing field");
    }
}
