//! The rules the service enforces, written into the generated document so that it says exactly
//! what the service accepts and answers.
//!
//! utoipa describes each type's shape from the annotations beside the handlers; this module adds
//! what the shapes alone cannot say, from the same constants the validation uses: the pattern and
//! length of every user id, company and role (the configured roles, in the served document), the
//! bounds of every count and page size, the body rules (`minProperties`-like "at least one of",
//! which AuthZEN members a batch needs at its top level), the conditional headers' forms, every
//! status code each operation can answer with its problem schema, and the headers of every answer
//! (`x-request-id` always; `ETag`, `Location`, `Retry-After`, `WWW-Authenticate` where they are
//! sent). A contract fuzzer run against the served document (`service/tests/api/contract.rs`,
//! settings in `scripts/contract/`) checks that the two agree.

use clearance_core::domain::{MAX_COMPANIES, MAX_COMPANY_LEN, MAX_USER_ID_LEN, RoleOrder};
use clearance_core::store::{MAX_BATCH_GET, MAX_PAGE_SIZE};
use serde_json::{Value, json};

use crate::http::authzen::{ACCESS_ACTION, MAX_EVALUATIONS};

/// Every character a user id may not hold: Unicode whitespace (`char::is_whitespace`) and control
/// characters (`char::is_control`), as a regular-expression class body that ECMA-262 and Python
/// read alike (no `\s`, whose meaning differs between them).
const USER_ID_EXCLUDED: &str =
    r"\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

fn user_id() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_USER_ID_LEN,
        "pattern": format!("^[^{USER_ID_EXCLUDED}]+$"),
        "description": "1 to 128 characters, none of them whitespace or control characters (a Cognito sub, a username or e-mail address, an app client id)",
    })
}

fn company() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_COMPANY_LEN,
        "pattern": "^[A-Za-z0-9._:-]+$",
        "description": "1 to 64 of A-Z a-z 0-9 . _ : -",
    })
}

fn companies(unique: bool) -> Value {
    let mut schema = json!({"type": "array", "maxItems": MAX_COMPANIES, "items": company()});
    if unique {
        schema["uniqueItems"] = json!(true);
    }
    schema
}

fn role(roles: &RoleOrder) -> Value {
    json!({"type": "string", "enum": roles.roles(), "description": "One of the configured roles (case-sensitive), lowest first"})
}

fn action_name(roles: &RoleOrder) -> Value {
    let mut names: Vec<&str> = roles.roles().iter().map(String::as_str).collect();
    names.push(ACCESS_ACTION);
    json!({"type": "string", "enum": names, "description": "A configured role (the role required), or `access` for membership alone"})
}

fn page_size() -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE})
}

/// `{"atLeast": boolean, ...}`: an object whose `atLeast`, if there, is a boolean (other members
/// are ignored), or `null`.
fn with_at_least() -> Value {
    json!({"type": ["object", "null"], "properties": {"atLeast": {"type": "boolean"}}})
}

/// `schema` or `null` (serde reads `null` as absent for an optional member).
fn nullable(mut schema: Value) -> Value {
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        schema["type"] = json!([kind, "null"]);
    }
    if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut) {
        values.push(Value::Null);
    }
    schema
}

/// Replaces the schema at `pointer` (which must exist: a renamed type fails the drift test).
fn set(doc: &mut Value, pointer: &str, schema: Value) {
    let slot = doc
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("the OpenAPI document has no {pointer}"));
    // Keep the description and example utoipa took from the doc comment.
    let (description, example) = (
        slot.get("description").cloned(),
        slot.get("example").cloned(),
    );
    *slot = schema;
    if let Some(d) = description {
        slot["description"] = d;
    }
    if let Some(e) = example {
        slot["example"] = e;
    }
}

/// Merges `extra` into the object at `pointer`.
fn merge(doc: &mut Value, pointer: &str, extra: Value) {
    let slot = doc
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("the OpenAPI document has no object at {pointer}"));
    for (k, v) in extra.as_object().into_iter().flatten() {
        slot.insert(k.clone(), v.clone());
    }
}

/// `anyOf` branches that each require `name` to be present and not null.
fn present(name: &str, kind: &str) -> Value {
    json!({"required": [name], "properties": {name: {"type": kind}}})
}

fn schemas(doc: &mut Value, roles: &RoleOrder) {
    let s = "/components/schemas";
    // Clearance's own bodies.
    set(doc, &format!("{s}/CheckBody/properties/user"), user_id());
    set(
        doc,
        &format!("{s}/CheckBody/properties/company"),
        nullable(company()),
    );
    set(
        doc,
        &format!("{s}/CheckBody/properties/role"),
        nullable(role(roles)),
    );
    let mut id = user_id();
    id["readOnly"] = json!(true);
    id["description"] =
        json!("The user's id, as read; if sent it must equal the id in the path (400 otherwise)");
    set(doc, &format!("{s}/PutUserBody/properties/id"), nullable(id));
    set(
        doc,
        &format!("{s}/PutUserBody/properties/companies"),
        companies(true),
    );
    set(
        doc,
        &format!("{s}/PutUserBody/properties/role"),
        role(roles),
    );
    set(
        doc,
        &format!("{s}/PatchUserBody/properties/addCompanies"),
        nullable(companies(true)),
    );
    set(
        doc,
        &format!("{s}/PatchUserBody/properties/removeCompanies"),
        nullable(companies(true)),
    );
    set(
        doc,
        &format!("{s}/PatchUserBody/properties/role"),
        nullable(role(roles)),
    );
    merge(
        doc,
        &format!("{s}/PatchUserBody"),
        json!({"anyOf": [present("addCompanies", "array"), present("removeCompanies", "array"), present("role", "string")]}),
    );
    set(
        doc,
        &format!("{s}/BatchGetBody/properties/ids"),
        json!({"type": "array", "minItems": 1, "maxItems": MAX_BATCH_GET, "items": user_id()}),
    );
    // What the service answers.
    set(
        doc,
        &format!("{s}/UserPermissions/properties/id"),
        user_id(),
    );
    set(
        doc,
        &format!("{s}/UserPermissions/properties/companies"),
        companies(true),
    );

    // AuthZEN.
    set(
        doc,
        &format!("{s}/Subject/properties/type"),
        json!({"type": "string", "enum": ["user", "client"]}),
    );
    set(doc, &format!("{s}/Subject/properties/id"), user_id());
    set(
        doc,
        &format!("{s}/Resource/properties/type"),
        json!({"type": "string", "enum": ["company"]}),
    );
    set(doc, &format!("{s}/Resource/properties/id"), company());
    set(
        doc,
        &format!("{s}/Action/properties/name"),
        action_name(roles),
    );
    set(
        doc,
        &format!("{s}/Action/properties/properties"),
        with_at_least(),
    );
    for body in [
        "AuthzenRequest",
        "EvaluationItem",
        "EvaluationsRequest",
        "SubjectSearchRequest",
        "ResourceSearchRequest",
        "ActionSearchRequest",
    ] {
        set(
            doc,
            &format!("{s}/{body}/properties/context"),
            with_at_least(),
        );
    }
    set(
        doc,
        &format!("{s}/SearchSubject/properties/type"),
        json!({"type": "string", "enum": ["user"]}),
    );
    set(
        doc,
        &format!("{s}/SearchResource/properties/type"),
        json!({"type": "string", "enum": ["company"]}),
    );
    set(
        doc,
        &format!("{s}/PageRequest/properties/limit"),
        nullable(page_size()),
    );
    merge(
        doc,
        &format!("{s}/EvaluationsRequest/properties/evaluations"),
        json!({"maxItems": MAX_EVALUATIONS}),
    );
    // Each of subject, resource and action is needed at the top level unless every evaluation
    // (of at least one) names its own.
    let member = |name: &str| {
        json!({"anyOf": [
            present(name, "object"),
            {
                "required": ["evaluations"],
                "properties": {"evaluations": {"type": "array", "minItems": 1, "items": present(name, "object")}},
            },
        ]})
    };
    merge(
        doc,
        &format!("{s}/EvaluationsRequest"),
        json!({"allOf": [member("subject"), member("resource"), member("action")]}),
    );
}

/// The conditional headers' forms: `If-Match` one entity tag as issued (`"3"`) or `*`; on writes,
/// `If-None-Match` only `*`.
fn parameters(doc: &mut Value) {
    for (_, method, op) in operations(doc) {
        let write = matches!(method, "put" | "patch" | "delete");
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for p in params {
            let schema = match (p["name"].as_str(), p["in"].as_str()) {
                (Some("id"), Some("path")) => user_id(),
                (Some("company"), Some("path")) => company(),
                (Some("limit"), Some("query")) => page_size(),
                (Some("before"), Some("query")) => {
                    json!({"type": "integer", "minimum": 1, "maximum": i64::MAX})
                }
                (Some("If-Match"), Some("header")) => {
                    json!({"type": "string", "pattern": "^(\\*|\"[0-9]{1,19}\"|)$", "description": "`*`, or one entity tag as issued (`\"3\"`); empty: as if not sent"})
                }
                (Some("If-None-Match"), Some("header")) if write => {
                    json!({"type": "string", "pattern": "^(\\*|)$", "description": "`*`: create only; empty: as if not sent"})
                }
                _ => continue,
            };
            p["schema"] = schema;
        }
    }
}

/// Every operation of the document, with its path and method.
fn operations(doc: &mut Value) -> impl Iterator<Item = (&str, &str, &mut Value)> {
    doc.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .flat_map(|(path, item)| {
            item.as_object_mut().into_iter().flat_map(move |ops| {
                ops.iter_mut()
                    .map(move |(method, op)| (path.as_str(), method.as_str(), op))
            })
        })
}

fn header(description: &str, schema: Value) -> Value {
    json!({"description": description, "required": true, "schema": schema})
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    })
}

/// Every status each operation can answer, with its problem schema, and the headers of every
/// answer.
fn responses(doc: &mut Value) {
    for (path, _, op) in operations(doc) {
        let always_open = matches!(path, "/healthz" | "/readyz");
        let has_body = op.get("requestBody").is_some();
        let has_params = op
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty());
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        let mut add = |code: &str, response: Value| {
            responses.entry(code.to_owned()).or_insert(response);
        };
        if has_body || has_params || path.contains('{') {
            add(
                "400",
                problem(
                    "A path, query, header or body value breaks a rule (the problem's `field` names it)",
                ),
            );
        }
        if !always_open {
            add(
                "401",
                problem(
                    "No valid token (`--auth jwt`; `WWW-Authenticate: Bearer error=\"invalid_token\"`) or no authenticated caller (`--auth gateway`)",
                ),
            );
            add(
                "403",
                problem("The credential does not hold the scope this request needs"),
            );
            add(
                "503",
                problem(
                    "The store, or the token issuer's keys, did not answer in time (`Retry-After`)",
                ),
            );
        }
        if has_body {
            add("413", problem("The body is larger than 128 KiB"));
            add(
                "415",
                problem("The body is not JSON (send `Content-Type: application/json`)"),
            );
        }
        if path.contains('{') {
            add("404", problem("Nothing at this path"));
        }
        for (code, response) in responses.iter_mut() {
            let headers = response
                .as_object_mut()
                .map(|r| r.entry("headers").or_insert_with(|| json!({})))
                .and_then(Value::as_object_mut);
            let Some(headers) = headers else { continue };
            headers.insert(
                "x-request-id".into(),
                header(
                    "The request's id: the caller's own `x-request-id`, or one made for it",
                    json!({"type": "string"}),
                ),
            );
            match code.as_str() {
                "401" => {
                    headers.insert(
                        "WWW-Authenticate".into(),
                        header(
                            "`Bearer error=\"invalid_token\"`",
                            json!({"type": "string"}),
                        ),
                    );
                }
                "503" => {
                    headers.insert(
                        "Retry-After".into(),
                        header(
                            "Seconds to wait before trying again",
                            json!({"type": "integer", "minimum": 1}),
                        ),
                    );
                }
                _ => {}
            }
        }
    }
}

/// The entity tag and location headers of the user endpoints.
fn user_headers(doc: &mut Value) {
    let etag = header(
        "The user's version as an entity tag (`\"3\"`): send it back in `If-Match`",
        json!({"type": "string", "pattern": "^\"[0-9]+\"$"}),
    );
    for (method, code) in [
        ("get", "200"),
        ("get", "304"),
        ("put", "200"),
        ("put", "201"),
        ("patch", "200"),
    ] {
        let pointer = format!("/paths/~1users~1{{id}}/{method}/responses/{code}/headers");
        merge(doc, &pointer, json!({"ETag": etag}));
    }
    merge(
        doc,
        "/paths/~1users~1{id}/put/responses/201/headers",
        json!({"Location": header("Where the user now is: `/users/{id}`", json!({"type": "string"}))}),
    );
}

/// Applies every rule to `doc`, with `roles` the configured role order.
pub fn apply(doc: &mut Value, roles: &RoleOrder) {
    schemas(doc, roles);
    parameters(doc);
    responses(doc);
    user_headers(doc);
    request_id(doc);
}

/// The `x-request-id` every operation takes (kept and sent back; one is made when absent). Added
/// after [`responses`], which must not count it as a reason for a 400: nothing refuses it.
fn request_id(doc: &mut Value) {
    for (_, _, op) in operations(doc) {
        let Some(op) = op.as_object_mut() else {
            continue;
        };
        let params = op.entry("parameters").or_insert_with(|| json!([]));
        if let Some(params) = params.as_array_mut() {
            params.push(json!({
                "name": "x-request-id",
                "in": "header",
                "required": false,
                "description": "The request's id, for logs and support: sent back as is (one is made when absent)",
                "schema": {"type": "string"},
            }));
        }
    }
}
