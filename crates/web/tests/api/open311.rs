//! Open311 GeoReport v2 conformance over HTTP: every endpoint in JSON and XML, posting with
//! a key, the standard's filters, its error shape and codes for bad input, no personal data
//! in public reads, and a posted request reaching the grid worker through the Mulin API.

use chrono::{DateTime, Duration};
use mulin_domain::ids::DistrictId;
use mulin_domain::request::SERVICE_CATALOGUE;
use mulin_domain::tree::NodeKind;
use mulin_storage::Open311KeyRecord;
use mulin_storage_tests::audit_page;
use mulin_storage_tests::test_now;
use quick_xml::events::Event;
use quick_xml::Reader;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const BASE: &str = "/open311/v2";
const NAME: &str = "欧阳";
const GIVEN: &str = "娜娜";
const PHONE: &str = "13912345678";
const EMAIL: &str = "nana@example.cn";

/// A form as owned pairs.
type Form = Vec<(String, String)>;

/// An element of a parsed XML answer.
#[derive(Debug, Default)]
struct El {
    name: String,
    text: String,
    children: Vec<El>,
}

impl El {
    fn child(&self, name: &str) -> &El {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>: {self:?}", self.name))
    }

    fn all(&self, name: &str) -> Vec<&El> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn text_of(&self, name: &str) -> &str {
        &self.child(name).text
    }
}

fn parse_xml(text: &str) -> El {
    let mut reader = Reader::from_str(text);
    let mut stack = vec![El::default()];
    let named = |name: &str| El {
        name: name.to_owned(),
        ..El::default()
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => stack.push(named(e.name().as_ref())),
            Event::Empty(e) => stack
                .last_mut()
                .unwrap()
                .children
                .push(named(e.name().as_ref())),
            Event::End(_) => {
                let el = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(el);
            }
            Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let name: &str = &r;
                let resolved = quick_xml::escape::unescape(&format!("&{name};"))
                    .unwrap()
                    .into_owned();
                stack.last_mut().unwrap().text.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unbalanced XML: {text}");
    let mut root = stack.pop().unwrap();
    assert_eq!(root.children.len(), 1, "one root element: {text}");
    root.children.remove(0)
}

async fn get_raw(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let res = reqwest::get(app.url(&format!("{BASE}{path}")))
        .await
        .unwrap();
    let status = res.status();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, res.text().await.unwrap())
}

async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let (status, kind, body) = get_raw(app, path).await;
    assert!(kind.starts_with("application/json"), "{path}: {kind}");
    (status, serde_json::from_str(&body).unwrap())
}

async fn get_xml(app: &TestApp, path: &str) -> (StatusCode, El) {
    let (status, kind, body) = get_raw(app, path).await;
    assert!(kind.starts_with("text/xml"), "{path}: {kind}");
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    (status, parse_xml(&body))
}

async fn post_raw<F: serde::Serialize + ?Sized>(
    app: &TestApp,
    file: &str,
    form: &F,
) -> (StatusCode, String) {
    let res = reqwest::Client::new()
        .post(app.url(&format!("{BASE}/{file}")))
        .form(form)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn post_json<F: serde::Serialize + ?Sized>(app: &TestApp, form: &F) -> (StatusCode, Value) {
    let (status, body) = post_raw(app, "requests.json", form).await;
    (status, serde_json::from_str(&body).unwrap())
}

fn district(app: &TestApp) -> DistrictId {
    app.demo.dataset.nodes[0].path.id().into()
}

fn district_code(app: &TestApp) -> String {
    app.demo.dataset.nodes[0].code.clone().unwrap()
}

/// Issues a key through storage, as `mulin open311-key create` does.
async fn issue_key(app: &TestApp, name: &str) -> (String, Open311KeyRecord) {
    let (key, key_hash) = mulin_web::auth::new_token();
    let record = Open311KeyRecord {
        district: district(app),
        id: uuid::Uuid::now_v7(),
        name: name.to_owned(),
        key_hash,
        created_at: test_now(),
        revoked_at: None,
    };
    app.store.insert_open311_key(&record).await.unwrap();
    (key, record)
}

/// A building of grid 0 (wangge01's).
fn building(app: &TestApp) -> String {
    let grid = app.grid(0).path.id();
    app.nodes(NodeKind::Building)
        .into_iter()
        .find(|b| b.path.at(NodeKind::Grid) == Some(grid))
        .unwrap()
        .path
        .id()
        .to_string()
}

/// A household of that building.
fn household(app: &TestApp, building: &str) -> String {
    app.nodes(NodeKind::Household)
        .into_iter()
        .find(|h| {
            h.path
                .at(NodeKind::Building)
                .is_some_and(|b| b.to_string() == building)
        })
        .unwrap()
        .path
        .id()
        .to_string()
}

/// A complete, valid form (with the reporter's personal data).
fn form<'a>(
    key: &'a str,
    code: &'a str,
    address_id: &'a str,
    text: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("api_key", key),
        ("service_code", code),
        ("address_id", address_id),
        ("description", text),
        ("first_name", GIVEN),
        ("last_name", NAME),
        ("phone", PHONE),
        ("email", EMAIL),
        ("device_id", "device-1"),
    ]
}

async fn submit(app: &TestApp, form: &[(&str, &str)]) -> String {
    let (status, body) = post_json(app, form).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body[0]["service_request_id"].as_str().unwrap().to_owned()
}

fn assert_error_json(status: StatusCode, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body[0]["code"], json!(expected.as_u16()), "{body}");
    assert!(
        !body[0]["description"].as_str().unwrap().is_empty(),
        "{body}"
    );
}

fn assert_offset(text: &str) {
    assert!(text.ends_with("+08:00"), "{text}");
    DateTime::parse_from_rfc3339(text).unwrap();
}

#[tokio::test]
async fn discovery_services_and_definitions_in_both_formats() {
    let app = spawn_app().await;

    // Public reads may be fetched by map pages on other sites.
    let res = reqwest::get(app.url(&format!("{BASE}/services.json")))
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");

    let (status, discovery) = get_json(&app, "/discovery.json").await;
    assert_eq!(status, StatusCode::OK);
    let endpoint = &discovery["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(
        endpoint["url"],
        format!("{}{BASE}", app.base),
        "built from the request's Host"
    );
    assert!(endpoint["formats"]
        .as_array()
        .unwrap()
        .contains(&json!("text/xml")));
    assert_offset(discovery["changeset"].as_str().unwrap());
    let (status, xml) = get_xml(&app, "/discovery.xml").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(xml.name, "discovery");
    let endpoint = xml.child("endpoints").child("endpoint");
    assert_eq!(
        endpoint.text_of("specification"),
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(endpoint.child("formats").all("format").len(), 2);

    let (status, services) = get_json(&app, "/services.json").await;
    assert_eq!(status, StatusCode::OK);
    let services = services.as_array().unwrap();
    assert_eq!(services.len(), SERVICE_CATALOGUE.len());
    for (service, entry) in services.iter().zip(SERVICE_CATALOGUE) {
        assert_eq!(service["service_code"], entry.code);
        assert!(!service["service_name"].as_str().unwrap().is_empty());
        assert_eq!(service["metadata"], true);
        assert_eq!(service["type"], "realtime");
    }
    assert_eq!(services[0]["service_name"], "环境卫生");
    let (_, xml) = get_xml(&app, "/services.xml").await;
    assert_eq!(xml.name, "services");
    let codes: Vec<&str> = xml
        .all("service")
        .iter()
        .map(|s| s.text_of("service_code"))
        .collect();
    let expected: Vec<&str> = SERVICE_CATALOGUE.iter().map(|s| s.code).collect();
    assert_eq!(codes, expected);
    assert_eq!(xml.all("service")[0].text_of("metadata"), "true");

    let (status, definition) = get_json(&app, "/services/sanitation.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(definition["service_code"], "sanitation");
    let attribute = &definition["attributes"][0];
    assert_eq!(attribute["code"], "title");
    assert_eq!(attribute["datatype"], "string");
    assert_eq!(attribute["variable"], true);
    assert_eq!(attribute["required"], false);
    let (_, xml) = get_xml(&app, "/services/noise.xml").await;
    assert_eq!(xml.name, "service_definition");
    assert_eq!(xml.text_of("service_code"), "noise");
    let attribute = xml.child("attributes").child("attribute");
    assert_eq!(attribute.text_of("code"), "title");
    assert_eq!(attribute.text_of("order"), "1");

    // The jurisdiction is checked where given.
    let code = district_code(&app);
    let (status, _) = get_json(&app, &format!("/services.json?jurisdiction_id={code}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = get_json(&app, "/services.json?jurisdiction_id=999999999999").await;
    assert_error_json(status, &body, StatusCode::NOT_FOUND);

    // Unknown services and formats answer in the standard's error shape.
    let (status, body) = get_json(&app, "/services/unicorns.json").await;
    assert_error_json(status, &body, StatusCode::NOT_FOUND);
    let (status, xml) = get_xml(&app, "/services/unicorns.xml").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(xml.name, "errors");
    assert_eq!(xml.child("error").text_of("code"), "404");
    assert!(!xml.child("error").text_of("description").is_empty());
    let (status, xml) = get_xml(&app, "/services.html").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(xml.child("error").text_of("code"), "404");
}

#[tokio::test]
async fn a_posted_request_reaches_the_grid_worker_and_is_audited() {
    let app = spawn_app().await;
    let (key, _) = issue_key(&app, "city-app").await;
    let building = building(&app);
    let flat = household(&app, &building);

    let mut fields = form(&key, "sanitation", &flat, "楼道里堆满了垃圾，三天没人清运");
    fields.push(("attribute[title]", "楼道垃圾"));
    let code = district_code(&app);
    fields.push(("jurisdiction_id", &code));
    let (status, body) = post_json(&app, &fields).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body[0]["service_request_id"].as_str().unwrap().to_owned();
    assert!(!body[0]["service_notice"].as_str().unwrap().is_empty());
    assert!(body[0]["account_id"].is_null());

    // XML posting answers in XML.
    let (status, text) = post_raw(
        &app,
        "requests.xml",
        &form(&key, "noise", &building, "夜里施工噪音很大"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let xml = parse_xml(&text);
    assert_eq!(xml.name, "service_requests");
    let xml_id = xml
        .child("request")
        .text_of("service_request_id")
        .to_owned();
    assert_ne!(xml_id, id);

    // The grid worker of the building's grid has it, as an Open311 request with the
    // reporter's name and phone (staff may see them; the public may not).
    let w = app.token("wangge01").await;
    let (status, detail) = app.get(Some(&w), &format!("/api/v1/requests/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let request = &detail["request"];
    assert_eq!(request["channel"], "open311");
    assert_eq!(request["status"], "dispatched");
    assert_eq!(request["title"], "楼道垃圾");
    assert_eq!(request["place_id"], flat.as_str());
    assert_eq!(request["reporter_name"], format!("{NAME}{GIVEN}"));
    assert_eq!(detail["events"][0]["actor"], "open311:city-app");
    let (_, inbox) = app.get(Some(&w), "/api/v1/requests?open=true").await;
    let ids: Vec<&str> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()) && ids.contains(&xml_id.as_str()));

    // Audited under the key's name, without an account.
    let log = audit_page(&*app.store, district(&app), 1, 50)
        .await
        .unwrap();
    let entry = log
        .items
        .iter()
        .find(|e| e.action == "open311.submit" && e.target_id == id)
        .unwrap();
    assert_eq!(entry.username, "open311:city-app");
    assert_eq!(entry.user_id, None);

    // Tokens: Mulin answers synchronously, so a request's token is its id.
    let (status, tokens) = get_json(&app, &format!("/tokens/{id}.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tokens[0]["service_request_id"], id.as_str());
    assert_eq!(tokens[0]["token"], id.as_str());
    let (status, xml) = get_xml(&app, &format!("/tokens/{xml_id}.xml")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        xml.child("request").text_of("service_request_id"),
        xml_id.as_str()
    );
    let unknown = uuid::Uuid::now_v7();
    let (status, body) = get_json(&app, &format!("/tokens/{unknown}.json")).await;
    assert_error_json(status, &body, StatusCode::NOT_FOUND);
    let (status, xml) = get_xml(&app, "/tokens/not-a-token.xml").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(xml.child("error").text_of("code"), "404");
}

#[tokio::test]
async fn public_reads_filter_as_the_standard_says_and_show_no_personal_data() {
    let app = spawn_app().await;
    let (key, _) = issue_key(&app, "city-app").await;
    let building = building(&app);
    let flat = household(&app, &building);
    let litter = submit(&app, &form(&key, "sanitation", &flat, "垃圾 <没人> & 清运")).await;
    let noise = submit(&app, &form(&key, "noise", &building, "夜里施工噪音很大")).await;

    // The grid worker solves the litter request: it reads as closed, with the solve note.
    let w = app.token("wangge01").await;
    for action in [
        json!({"action": "sign_for"}),
        json!({"action": "arrive"}),
        json!({"action": "solve", "note": "已清运完毕"}),
    ] {
        let (status, body) = app
            .post(&w, &format!("/api/v1/requests/{litter}/actions"), action)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    let (status, list) = get_json(&app, "/requests.json").await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    // Newest first.
    assert_eq!(list[0]["service_request_id"], noise.as_str());
    let solved = &list[1];
    assert_eq!(solved["service_request_id"], litter.as_str());
    assert_eq!(solved["status"], "closed");
    assert_eq!(solved["status_notes"], "已清运完毕");
    assert_eq!(solved["description"], "垃圾 <没人> & 清运");
    assert_eq!(solved["agency_responsible"], "环卫");
    assert_eq!(solved["service_name"], "环境卫生");
    assert_eq!(list[0]["status"], "open");
    assert!(list[0]["status_notes"].is_null());
    for request in list {
        for field in [
            "requested_datetime",
            "updated_datetime",
            "expected_datetime",
        ] {
            assert_offset(request[field].as_str().unwrap());
        }
        // The address only down to the building, never the flat.
        assert_eq!(request["address_id"], building.as_str());
        let building_node = app
            .nodes(NodeKind::Building)
            .into_iter()
            .find(|b| b.path.id().to_string() == building)
            .unwrap();
        let address = request["address"].as_str().unwrap();
        assert!(
            address.ends_with(&building_node.name) && address.len() > building_node.name.len(),
            "the compound and building: {address}"
        );
    }
    // expected_datetime is the request's resolve deadline.
    let (_, detail) = app
        .get(Some(&w), &format!("/api/v1/requests/{noise}"))
        .await;
    let due =
        DateTime::parse_from_rfc3339(detail["request"]["resolve_due"].as_str().unwrap()).unwrap();
    let expected =
        DateTime::parse_from_rfc3339(list[0]["expected_datetime"].as_str().unwrap()).unwrap();
    assert_eq!(due, expected);

    // No personal data, in either format, in lists or single reads or tokens.
    let mut bodies = Vec::new();
    for path in [
        "/requests.json".to_owned(),
        "/requests.xml".to_owned(),
        format!("/requests/{litter}.json"),
        format!("/requests/{noise}.xml"),
        format!("/tokens/{noise}.json"),
    ] {
        let (status, _, body) = get_raw(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        bodies.push(body);
    }
    for body in &bodies {
        for secret in [NAME, GIVEN, PHONE, EMAIL, "device-1", &flat, &key] {
            assert!(!body.contains(secret), "{secret} leaked: {body}");
        }
    }

    // XML carries the same, escaped and parsed back.
    let (_, xml) = get_xml(&app, "/requests.xml").await;
    assert_eq!(xml.name, "service_requests");
    let requests = xml.all("request");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].text_of("description"), "垃圾 <没人> & 清运");
    assert_eq!(requests[1].text_of("status"), "closed");
    assert_eq!(requests[0].text_of("status_notes"), "");
    assert_offset(requests[0].text_of("expected_datetime"));
    let (status, one) = get_json(&app, &format!("/requests/{noise}.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["service_code"], "noise");
    let (_, one) = get_xml(&app, &format!("/requests/{litter}.xml")).await;
    assert_eq!(one.child("request").text_of("service_request_id"), litter);

    // Filters.
    let ids = |value: Value| -> Vec<String> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let code = district_code(&app);
    for (query, expected) in [
        (format!("?jurisdiction_id={code}"), vec![&noise, &litter]),
        ("?service_code=noise".to_owned(), vec![&noise]),
        (
            "?service_code=noise,sanitation".to_owned(),
            vec![&noise, &litter],
        ),
        ("?status=open".to_owned(), vec![&noise]),
        ("?status=closed".to_owned(), vec![&litter]),
        ("?status=open,closed".to_owned(), vec![&noise, &litter]),
        (format!("?service_request_id={litter}"), vec![&litter]),
        (
            format!("?service_request_id={litter},{noise}&status=open"),
            vec![&noise, &litter],
        ),
        ("?start_date=2030-01-01T00:00:00%2B08:00".to_owned(), vec![]),
        (
            "?start_date=2026-11-01T00:00:00%2B08:00&end_date=2026-12-01T00:00:00%2B08:00"
                .to_owned(),
            vec![&noise, &litter],
        ),
    ] {
        let (status, list) = get_json(&app, &format!("/requests.json{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {list}");
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(ids(list), expected, "{query}");
    }

    // The default window is the last 90 days.
    app.clock.set(test_now() + Duration::days(91));
    let (_, list) = get_json(&app, "/requests.json").await;
    assert_eq!(list, json!([]));
    let (_, list) = get_json(&app, "/requests.json?start_date=2026-11-20T00:00:00Z").await;
    assert_eq!(list.as_array().unwrap().len(), 2);

    // Bad filters.
    for (query, expected) in [
        ("?status=pending", StatusCode::BAD_REQUEST),
        ("?start_date=yesterday", StatusCode::BAD_REQUEST),
        (
            "?start_date=2026-01-01T00:00:00Z&end_date=2026-12-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
        ),
        (
            "?start_date=2026-12-01T00:00:00Z&end_date=2026-11-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
        ),
        ("?service_request_id=nope", StatusCode::BAD_REQUEST),
        ("?service_code=unicorns", StatusCode::NOT_FOUND),
        ("?jurisdiction_id=999999999999", StatusCode::NOT_FOUND),
    ] {
        let (status, body) = get_json(&app, &format!("/requests.json{query}")).await;
        assert_error_json(status, &body, expected);
    }
    let (status, xml) = get_xml(&app, "/requests.xml?status=pending").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(xml.child("error").text_of("code"), "400");
    let unknown = uuid::Uuid::now_v7();
    let (status, body) = get_json(&app, &format!("/requests/{unknown}.json")).await;
    assert_error_json(status, &body, StatusCode::NOT_FOUND);
    let (status, xml) = get_xml(&app, &format!("/requests/{unknown}.xml")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(xml.child("error").text_of("code"), "404");
    let (status, body) = get_json(
        &app,
        &format!("/requests/{noise}.json?jurisdiction_id=999999999999"),
    )
    .await;
    assert_error_json(status, &body, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_posts_get_the_standard_errors_and_write_nothing() {
    let app = spawn_app().await;
    let (key, record) = issue_key(&app, "city-app").await;
    let (revoked, revoked_record) = issue_key(&app, "old-app").await;
    app.store
        .revoke_open311_key(record.district, &revoked_record.name, test_now())
        .await
        .unwrap();
    let building = building(&app);
    let grid = app.grid(0).path.id().to_string();
    let unknown_node = uuid::Uuid::now_v7().to_string();
    let long_text = "长".repeat(4_001);
    let huge = "x".repeat(70 * 1024);
    let ok = form(&key, "sanitation", &building, "楼道垃圾");
    // The good form with `name` set to `value` (or left out).
    let set = |name: &str, value: Option<&str>| -> Form {
        let mut fields: Form = ok
            .iter()
            .filter(|(k, _)| *k != name)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(value) = value {
            fields.push((name.to_owned(), value.to_owned()));
        }
        fields
    };
    let located = |extra: &[(&str, &str)]| -> Form {
        let mut fields = set("address_id", None);
        fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        fields
    };
    let cases: Vec<(&str, Form, StatusCode)> = vec![
        ("no key", set("api_key", None), StatusCode::FORBIDDEN),
        (
            "bad key",
            set("api_key", Some("not-a-key")),
            StatusCode::FORBIDDEN,
        ),
        (
            "revoked key",
            set("api_key", Some(&revoked)),
            StatusCode::FORBIDDEN,
        ),
        (
            "no service",
            set("service_code", None),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown service",
            set("service_code", Some("unicorns")),
            StatusCode::NOT_FOUND,
        ),
        ("no location", located(&[]), StatusCode::BAD_REQUEST),
        (
            "a point outside every grid",
            located(&[("lat", "40.08"), ("long", "113.30")]),
            StatusCode::BAD_REQUEST,
        ),
        (
            "address text only",
            located(&[("address_string", "新荣区某路12号")]),
            StatusCode::BAD_REQUEST,
        ),
        (
            "lat without long",
            located(&[("lat", "40.08")]),
            StatusCode::BAD_REQUEST,
        ),
        (
            "lat out of range",
            located(&[("lat", "400"), ("long", "113.30")]),
            StatusCode::BAD_REQUEST,
        ),
        (
            "address_id of a grid",
            set("address_id", Some(&grid)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown address_id",
            set("address_id", Some(&unknown_node)),
            StatusCode::NOT_FOUND,
        ),
        (
            "malformed address_id",
            set("address_id", Some("building-7")),
            StatusCode::BAD_REQUEST,
        ),
        (
            "no description",
            set("description", None),
            StatusCode::BAD_REQUEST,
        ),
        (
            "oversized description",
            set("description", Some(&long_text)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad phone",
            set("phone", Some("12345")),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown jurisdiction",
            set("jurisdiction_id", Some("999999999999")),
            StatusCode::NOT_FOUND,
        ),
        (
            "oversized body",
            set("media_url", Some(&huge)),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (case, fields, expected) in &cases {
        let (status, body) = post_raw(&app, "requests.json", fields).await;
        let body: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{case}: {body}"));
        assert_eq!(status, *expected, "{case}: {body}");
        assert_eq!(body[0]["code"], json!(expected.as_u16()), "{case}: {body}");
        let (status, text) = post_raw(&app, "requests.xml", fields).await;
        assert_eq!(status, *expected, "{case} (XML): {text}");
        let xml = parse_xml(&text);
        assert_eq!(xml.name, "errors", "{case}");
        assert_eq!(
            xml.child("error").text_of("code"),
            expected.as_u16().to_string(),
            "{case}"
        );
    }
    // A point cannot be routed yet: the client is told so, not silently queued.
    let (_, body) = post_json(&app, &cases[6].1).await;
    assert!(
        body[0]["description"]
            .as_str()
            .unwrap()
            .contains("无法定位"),
        "{body}"
    );

    // None of them wrote anything; the good form still works after.
    let (_, list) = get_json(&app, "/requests.json").await;
    assert_eq!(list, json!([]));
    submit(&app, &ok).await;
    let (_, list) = get_json(&app, "/requests.json").await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // POST to anything but requests is not found.
    let (status, _) = post_raw(&app, "services.json", &ok).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jurisdictions_keep_districts_apart() {
    let app = spawn_app().await;
    let (key, _) = issue_key(&app, "city-app").await;
    let building = building(&app);
    let id = submit(&app, &form(&key, "sanitation", &building, "楼道垃圾")).await;

    // A second district in the same database, with its own key.
    let other_code = "140299000000";
    assert_ne!(district_code(&app), other_code);
    let root = mulin_domain::tree::NodePath::root(mulin_domain::ids::NodeId::new_v7());
    app.store
        .load(&mulin_storage::Dataset {
            nodes: vec![mulin_storage::NodeRecord {
                path: root,
                name: "邻区".into(),
                code: Some(other_code.into()),
                sort_key: 0,
                position: None,
                geometry: None,
                address: None,
                extra: Vec::new(),
            }],
            ..mulin_storage::Dataset::default()
        })
        .await
        .unwrap();
    let (other_key, other_hash) = mulin_web::auth::new_token();
    app.store
        .insert_open311_key(&Open311KeyRecord {
            district: root.id().into(),
            id: uuid::Uuid::now_v7(),
            name: "neighbour-app".into(),
            key_hash: other_hash,
            created_at: test_now(),
            revoked_at: None,
        })
        .await
        .unwrap();

    // With two districts a read must name one.
    let (status, body) = get_json(&app, "/requests.json").await;
    assert_error_json(status, &body, StatusCode::BAD_REQUEST);
    let (status, body) = get_json(&app, &format!("/requests/{id}.json")).await;
    assert_error_json(status, &body, StatusCode::BAD_REQUEST);
    // The other district sees nothing of this one's requests.
    let (status, list) = get_json(
        &app,
        &format!("/requests.json?jurisdiction_id={other_code}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!([]));
    for path in [
        format!("/requests.json?jurisdiction_id={other_code}&service_request_id={id}"),
        format!("/requests/{id}.json?jurisdiction_id={other_code}"),
        format!("/tokens/{id}.json?jurisdiction_id={other_code}"),
    ] {
        let (status, body) = get_json(&app, &path).await;
        if status == StatusCode::OK {
            assert_eq!(body, json!([]), "{path}");
        } else {
            assert_error_json(status, &body, StatusCode::NOT_FOUND);
        }
    }
    let code = district_code(&app);
    let (_, list) = get_json(&app, &format!("/requests.json?jurisdiction_id={code}")).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // A key posts only into its own district: this district's building is unknown to the
    // other key, and naming another jurisdiction than the key's is refused.
    let (status, body) =
        post_json(&app, &form(&other_key, "sanitation", &building, "楼道垃圾")).await;
    assert_error_json(status, &body, StatusCode::NOT_FOUND);
    let mut fields = form(&key, "sanitation", &building, "楼道垃圾");
    fields.push(("jurisdiction_id", other_code));
    let (status, body) = post_json(&app, &fields).await;
    assert_error_json(status, &body, StatusCode::NOT_FOUND);
    let (_, list) = get_json(&app, &format!("/requests.json?jurisdiction_id={code}")).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "nothing more was written"
    );
}
