//! Checks on the generated spec that keep it something a client generator can trust: every
//! operation has an `operationId`, closed sets of values are enums, optional fields are
//! nullable (the server sends `null` for them), and each operation documents the error
//! statuses it can answer, no more and no fewer of the kinds checked here.

use serde_json::Value;

use super::PUBLIC_ROUTES;

/// Property and parameter names whose values always come from a closed set.
const CLOSED: &[&str] = &[
    "status",
    "fundingModel",
    "sort",
    "kind",
    "role",
    "tier",
    "action",
    "category",
    "settlement",
    "event",
    "events",
    "queue",
    "loanStatus",
    "fromStatus",
    "toStatus",
    "code",
    "postgres",
    "redis",
    "storage",
];

fn spec() -> Value {
    serde_json::from_str(&crate::startup::api_service().spec()).expect("spec is JSON")
}

fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            ops.push((method.clone(), path.clone(), op));
        }
    }
    ops
}

/// Whether `schema` (inline, `$ref`, `allOf` wrapper or array of them) is an enum.
fn is_enum(spec: &Value, schema: &Value) -> bool {
    if schema.get("enum").is_some() {
        return true;
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        return is_enum(spec, &spec["components"]["schemas"][name]);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        return all.iter().any(|s| is_enum(spec, s));
    }
    if schema.get("type").and_then(Value::as_str) == Some("array") {
        return is_enum(spec, &schema["items"]);
    }
    false
}

#[test]
fn every_operation_has_a_unique_operation_id() {
    let spec = spec();
    let mut seen = std::collections::HashSet::new();
    for (method, path, op) in operations(&spec) {
        let id = op["operationId"].as_str();
        assert!(id.is_some(), "{method} {path} has no operationId");
        assert!(
            seen.insert(id),
            "{method} {path}: operationId {id:?} is used twice"
        );
    }
}

#[test]
fn closed_sets_of_values_are_enums_everywhere() {
    let spec = spec();
    for (name, schema) in spec["components"]["schemas"].as_object().expect("schemas") {
        let Some(props) = schema["properties"].as_object() else {
            continue;
        };
        for (prop, s) in props {
            if CLOSED.contains(&prop.as_str()) {
                assert!(is_enum(&spec, s), "{name}.{prop} is not an enum: {s}");
            }
        }
    }
    for (method, path, op) in operations(&spec) {
        for param in op["parameters"].as_array().into_iter().flatten() {
            let name = param["name"].as_str().unwrap_or_default();
            if CLOSED.contains(&name) {
                assert!(
                    is_enum(&spec, &param["schema"]),
                    "{method} {path}: parameter {name} is not an enum"
                );
            }
        }
    }
}

#[test]
fn optional_fields_are_nullable_because_the_server_sends_null() {
    let spec = spec();
    for (name, schema) in spec["components"]["schemas"].as_object().expect("schemas") {
        let Some(props) = schema["properties"].as_object() else {
            continue;
        };
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for (prop, s) in props {
            if !required.contains(&prop.as_str()) {
                assert_eq!(
                    s["nullable"], true,
                    "{name}.{prop} is optional but not nullable"
                );
            }
        }
    }
}

#[test]
fn each_operation_documents_the_errors_it_can_answer() {
    let spec = spec();
    for (method, path, op) in operations(&spec) {
        let responses = op["responses"].as_object().expect("responses");
        let has = |status: &str| responses.contains_key(status);
        let public = PUBLIC_ROUTES.contains(&(method.as_str(), path.as_str()));
        let what = format!("{method} {path}");
        for (status, resp) in responses {
            let description = resp["description"].as_str().unwrap_or_default();
            assert!(
                !description.is_empty(),
                "{what}: {status} has no description"
            );
        }
        if path.starts_with("/health") {
            continue;
        }
        // Public routes answer 401 only where they check credentials of their own.
        let own_credentials = [
            "/api/auth/login",
            "/api/auth/refresh",
            "/api/payments/webhook",
        ];
        let may_401 = !public || own_credentials.contains(&path.as_str());
        assert_eq!(
            has("401"),
            may_401,
            "{what}: 401 documented iff it can be answered"
        );
        if path != "/api/payments/webhook" {
            assert!(has("429"), "{what}: 429 not documented");
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(has(status), "{what} takes a body: {status} not documented");
            }
        }
        if path.contains('{') {
            assert!(has("404"), "{what} has a path id: 404 not documented");
        }
        if path.starts_with("/api/admin/") {
            assert!(has("403"), "{what} is for admins: 403 not documented");
        }
        for param in op["parameters"].as_array().into_iter().flatten() {
            if param["name"] == "Idempotency-Key" {
                assert_eq!(
                    param["required"], true,
                    "{what}: Idempotency-Key not required"
                );
            }
        }
    }
}

#[test]
fn public_routes_say_they_need_no_credentials_and_only_they_do() {
    let spec = spec();
    for (method, path, op) in operations(&spec) {
        let security = op["security"].as_array().cloned().unwrap_or_default();
        let anonymous = security
            .iter()
            .any(|r| r.as_object().is_some_and(|o| o.is_empty()));
        let public = PUBLIC_ROUTES.contains(&(method.as_str(), path.as_str()));
        assert!(!security.is_empty(), "{method} {path} declares no security");
        assert_eq!(
            anonymous, public,
            "{method} {path}: `{{}}` in security iff public"
        );
    }
}
