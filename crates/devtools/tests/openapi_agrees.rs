//! `openapi.yaml` documents exactly the routes the functions serve: a routed path missing from the
//! document, or a documented path nobody routes, fails here.

use serde_norway::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn documented() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml")).unwrap();
    let doc: Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(doc.get("openapi").and_then(Value::as_str).map(|v| v.starts_with("3.1")), Some(true));
    let methods = ["get", "put", "post", "delete", "patch", "options", "head"];
    let mut out = BTreeSet::new();
    for (path, item) in doc.get("paths").and_then(Value::as_mapping).expect("paths") {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if methods.contains(&method) {
                out.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    out
}

fn routed() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    out.extend(auth_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_owned())));
    out.extend(portfolio_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_owned())));
    out.extend(screener_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_owned())));
    out.extend(ops_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_owned())));
    out.extend(assistant_fn::ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_owned())));
    out
}

#[test]
fn every_routed_path_is_documented_and_nothing_else() {
    let documented = documented();
    let routed = routed();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routed but not in openapi.yaml: {undocumented:?}");
    assert!(unrouted.is_empty(), "in openapi.yaml but not routed: {unrouted:?}");
}
