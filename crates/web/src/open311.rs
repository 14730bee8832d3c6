//! Open311 GeoReport v2 (open311.org) at `/open311/v2`: discovery, the service list and
//! definitions, posting a request with an API key, reading requests and tokens.
//!
//! The format is chosen by the path's suffix (`services.json`, `requests/{id}.xml` …).
//! Every answer is first built as one JSON value; XML is written from that value by
//! [`to_xml`] (quick-xml's writer escapes), with list elements named as the standard's
//! examples name them (`<services><service>`, `<service_requests><request>`,
//! `<errors><error>`), so the two formats cannot drift apart.
//!
//! Clients do not log in: reads are public, scoped to one district (`jurisdiction_id`, the
//! district's division code; optional when the database holds one district), and show no
//! personal data — no reporter name or phone, and the address only down to the building.
//! Posting needs an `api_key` issued by `mulin open311-key create`; the request is taken in
//! through [`crate::requests::take_in`] like every other channel, located by
//! [`crate::requests::locate`], recorded with [`Channel::Open311`] and audited under the
//! key's name in the intake's own transaction. Keys are read through
//! [`crate::cache::Caches`]: a key revoked from the command line stops working within
//! [`crate::cache::KEY_TTL`].

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use mulin_domain::ids::{DistrictId, NodeId, RequestId};
use mulin_domain::request::{service_type, Channel, SERVICE_CATALOGUE};
use mulin_domain::tree::NodeKind;
use mulin_storage::{LonLat, Open311Query, RequestRecord, StoreError};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use serde_json::{json, Map, Value};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::{token_hash, ClientIp};
use crate::error::WebError;
use crate::i18n::{Lang, Tr};
use crate::requests::{self, ActorInfo, IntakeAudit, IntakeExtras, NewRequest};
use crate::AppState;

/// The GeoReport v2 specification, as discovery names it.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// When this endpoint's behaviour last changed (discovery's `changeset`).
pub const CHANGESET: &str = "2026-11-24T00:00:00+08:00";
/// The largest POST body accepted (a 4,000-character description is at most 36 KB
/// percent-encoded).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The most requests one `GET requests` returns.
pub const MAX_RESULTS: u32 = 1_000;
/// The default and the widest window of `GET requests`, in days.
pub const WINDOW_DAYS: i64 = 90;

/// The Open311 routes (mounted at `/open311/v2`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{file}", get(top_get).post(top_post))
        .route("/services/{file}", get(service_definition))
        .route("/requests/{file}", get(one_request))
        .route("/tokens/{file}", get(token))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Reads are public and use no cookies, so map pages on other sites may fetch them.
        // (A browser's cross-site POST is still refused by the origin check.)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
}

/// The answer's format, from the path's suffix.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// `.json`
    Json,
    /// `.xml` (the standard's required format)
    Xml,
}

/// Splits `name.json` / `name.xml`.
fn split_format(file: &str) -> Option<(&str, Format)> {
    let (stem, ext) = file.rsplit_once('.')?;
    let format = match ext {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return None,
    };
    Some((stem, format))
}

/// An error in the standard's shape: `[{"code": 404, "description": "…"}]`.
#[derive(Debug)]
struct Open311Error {
    status: StatusCode,
    description: String,
}

impl Open311Error {
    fn new(status: StatusCode, key: &'static str) -> Open311Error {
        Open311Error {
            status,
            description: Tr::new(Lang::ZhCn).get(key).to_owned(),
        }
    }

    fn bad(key: &'static str) -> Open311Error {
        Open311Error::new(StatusCode::BAD_REQUEST, key)
    }

    fn not_found(key: &'static str) -> Open311Error {
        Open311Error::new(StatusCode::NOT_FOUND, key)
    }
}

impl From<WebError> for Open311Error {
    fn from(err: WebError) -> Open311Error {
        match err {
            // Rule violations of the input are the client's to fix: the standard says 400.
            WebError::Invalid(key) => Open311Error::bad(key),
            WebError::NotFound => Open311Error::not_found("open311.error.not_found"),
            WebError::Internal(source) => {
                tracing::error!(error = %source, "open311 request failed");
                Open311Error::new(StatusCode::INTERNAL_SERVER_ERROR, "error.internal")
            }
            other => {
                let (status, _) = other.status_and_code();
                Open311Error {
                    status,
                    description: other.message(Lang::ZhCn),
                }
            }
        }
    }
}

impl From<StoreError> for Open311Error {
    fn from(err: StoreError) -> Open311Error {
        Open311Error::from(WebError::from(err))
    }
}

type Answer = Result<(&'static str, Value), Open311Error>;

fn respond(format: Format, status: StatusCode, root: &str, value: Value) -> Response {
    match format {
        Format::Json => (status, Json(value)).into_response(),
        Format::Xml => match to_xml(root, &value) {
            Ok(xml) => (
                status,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                xml,
            )
                .into_response(),
            Err(err) => {
                tracing::error!(error = %err, "open311 XML failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
    }
}

fn error_response(format: Format, err: Open311Error) -> Response {
    let body = json!([{ "code": err.status.as_u16(), "description": err.description }]);
    respond(format, err.status, "errors", body)
}

fn reply(format: Format, status: StatusCode, answer: Answer) -> Response {
    match answer {
        Ok((root, value)) => respond(format, status, root, value),
        Err(err) => error_response(format, err),
    }
}

/// A path without a known suffix: the standard's default format is XML.
fn unknown_format() -> Response {
    error_response(Format::Xml, Open311Error::not_found("open311.error.format"))
}

/// The element name of one item of a list element.
fn item_name(list: &str) -> &str {
    match list {
        "services" => "service",
        "service_requests" => "request",
        "errors" => "error",
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        other => other,
    }
}

/// Drops characters XML 1.0 cannot carry (control characters a resident may paste).
fn xml_text(text: &str) -> String {
    text.chars()
        .filter(|c| {
            matches!(c, '\t' | '\n' | '\r') || (*c >= ' ' && *c != '\u{FFFE}' && *c != '\u{FFFF}')
        })
        .collect()
}

fn write_value(writer: &mut Writer<Vec<u8>>, name: &str, value: &Value) -> std::io::Result<()> {
    let text = match value {
        Value::Null => return writer.write_event(Event::Empty(BytesStart::new(name))),
        Value::Array(items) => {
            writer.write_event(Event::Start(BytesStart::new(name)))?;
            for item in items {
                write_value(writer, item_name(name), item)?;
            }
            return writer.write_event(Event::End(BytesEnd::new(name)));
        }
        Value::Object(fields) => {
            writer.write_event(Event::Start(BytesStart::new(name)))?;
            for (key, field) in fields {
                write_value(writer, key, field)?;
            }
            return writer.write_event(Event::End(BytesEnd::new(name)));
        }
        Value::String(text) => xml_text(text),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
    };
    writer.write_event(Event::Start(BytesStart::new(name)))?;
    writer.write_event(Event::Text(BytesText::new(&text)))?;
    writer.write_event(Event::End(BytesEnd::new(name)))
}

/// The XML of an answer: `root` holds the value (a list's items are named by
/// [`item_name`], an object's fields by their keys).
pub fn to_xml(root: &str, value: &Value) -> std::io::Result<String> {
    let mut writer = Writer::new(Vec::new());
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    write_value(&mut writer, root, value)?;
    String::from_utf8(writer.into_inner()).map_err(std::io::Error::other)
}

/// Query or form pairs.
type Params = Vec<(String, String)>;

/// The first non-empty value of `name`.
fn param<'p>(params: &'p Params, name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(key, value)| key == name && !value.trim().is_empty())
        .map(|(_, value)| value.trim())
}

fn parse_query(raw: Option<&str>) -> Result<Params, Open311Error> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| Open311Error::bad("open311.error.query"))
}

/// An instant as the standard writes it: ISO 8601 with China's +08:00 offset.
pub fn iso(at: DateTime<Utc>) -> String {
    at.with_timezone(&crate::clock::china())
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The district a call is about: `jurisdiction_id` (the district's division code), or the
/// only district when the database holds one.
async fn jurisdiction(state: &AppState, given: Option<&str>) -> Result<DistrictId, Open311Error> {
    match given {
        Some(code) => match state.store.node_by_code(code).await {
            Ok(node) if node.path.kind() == NodeKind::District => Ok(node.path.id().into()),
            Ok(_) | Err(StoreError::NotFound) => {
                Err(Open311Error::not_found("open311.error.jurisdiction"))
            }
            Err(err) => Err(err.into()),
        },
        None => {
            let districts = state.store.districts().await?;
            match districts.as_slice() {
                [only] => Ok(only.path.id().into()),
                _ => Err(Open311Error::bad("open311.error.jurisdiction_required")),
            }
        }
    }
}

async fn top_get(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some((stem, format)) = split_format(&file) else {
        return unknown_format();
    };
    let answer = async {
        let params = parse_query(raw.as_deref())?;
        match stem {
            "discovery" => Ok(("discovery", discovery(&state, &headers))),
            "services" => {
                if let Some(code) = param(&params, "jurisdiction_id") {
                    jurisdiction(&state, Some(code)).await?;
                }
                Ok(("services", services()))
            }
            "requests" => Ok(("service_requests", list_requests(&state, &params).await?)),
            _ => Err(Open311Error::not_found("open311.error.not_found")),
        }
    }
    .await;
    reply(format, StatusCode::OK, answer)
}

fn discovery(state: &AppState, headers: &HeaderMap) -> Value {
    let tr = Tr::new(Lang::ZhCn);
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.settings.secure_cookies {
        "https"
    } else {
        "http"
    };
    json!({
        "changeset": CHANGESET,
        "contact": tr.get("open311.contact"),
        "key_service": tr.get("open311.key_service"),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": format!("{scheme}://{host}/open311/v2"),
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    })
}

fn services() -> Value {
    let tr = Tr::new(Lang::ZhCn);
    Value::Array(
        SERVICE_CATALOGUE
            .iter()
            .map(|s| {
                json!({
                    "service_code": s.code,
                    "service_name": tr.code("service", s.code),
                    "description": tr.code("service", s.code),
                    "metadata": true,
                    "type": "realtime",
                    "keywords": s.group,
                    "group": tr.code("service_group", s.group),
                })
            })
            .collect(),
    )
}

/// The attributes every service takes (`attribute[title]`).
fn attributes() -> Value {
    let tr = Tr::new(Lang::ZhCn);
    json!([{
        "variable": true,
        "code": "title",
        "datatype": "string",
        "required": false,
        "datatype_description": tr.get("open311.attribute.title.datatype"),
        "order": 1,
        "description": tr.get("open311.attribute.title"),
        "values": [],
    }])
}

async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some((code, format)) = split_format(&file) else {
        return unknown_format();
    };
    let answer = async {
        let params = parse_query(raw.as_deref())?;
        if let Some(given) = param(&params, "jurisdiction_id") {
            jurisdiction(&state, Some(given)).await?;
        }
        let service =
            service_type(code).ok_or(Open311Error::not_found("open311.error.service_code"))?;
        Ok((
            "service_definition",
            json!({ "service_code": service.code, "attributes": attributes() }),
        ))
    }
    .await;
    reply(format, StatusCode::OK, answer)
}

async fn top_post(
    State(state): State<AppState>,
    Path(file): Path<String>,
    ClientIp(ip): ClientIp,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some((stem, format)) = split_format(&file) else {
        return unknown_format();
    };
    if stem != "requests" {
        return error_response(format, Open311Error::not_found("open311.error.not_found"));
    }
    let answer = async {
        let body = body.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Open311Error::new(StatusCode::PAYLOAD_TOO_LARGE, "open311.error.too_large")
            } else {
                Open311Error::bad("open311.error.body")
            }
        })?;
        let params: Params = serde_urlencoded::from_bytes(&body)
            .map_err(|_| Open311Error::bad("open311.error.body"))?;
        create(&state, &params, ip.as_deref()).await
    }
    .await;
    reply(format, StatusCode::CREATED, answer)
}

fn parse_coordinate(text: &str) -> Result<f64, Open311Error> {
    text.parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
        .ok_or(Open311Error::bad("open311.error.lat_long"))
}

async fn create(state: &AppState, params: &Params, ip: Option<&str>) -> Answer {
    let key_text = param(params, "api_key").ok_or(Open311Error::new(
        StatusCode::FORBIDDEN,
        "open311.error.api_key",
    ))?;
    let key = match state.caches.open311_key(&token_hash(key_text)).await {
        Ok(key) if key.revoked_at.is_none() => key,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(Open311Error::new(
                StatusCode::FORBIDDEN,
                "open311.error.api_key",
            ))
        }
        Err(err) => return Err(err.into()),
    };
    let district = key.district;
    if let Some(given) = param(params, "jurisdiction_id") {
        if jurisdiction(state, Some(given)).await? != district {
            return Err(Open311Error::not_found("open311.error.jurisdiction"));
        }
    }
    let code = param(params, "service_code")
        .ok_or(Open311Error::bad("open311.error.service_code_missing"))?;
    let service =
        service_type(code).ok_or(Open311Error::not_found("open311.error.service_code"))?;
    let position = match (param(params, "lat"), param(params, "long")) {
        (Some(lat), Some(lon)) => {
            let (lat, lon) = (parse_coordinate(lat)?, parse_coordinate(lon)?);
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err(Open311Error::bad("open311.error.lat_long"));
            }
            Some(LonLat { lon, lat })
        }
        (None, None) => None,
        _ => return Err(Open311Error::bad("open311.error.lat_long")),
    };
    let address_node = param(params, "address_id")
        .map(|text| {
            text.parse::<NodeId>()
                .map_err(|_| Open311Error::bad("request.error.address_node"))
        })
        .transpose()?;
    let address_text = param(params, "address_string");
    if position.is_none() && address_node.is_none() && address_text.is_none() {
        return Err(Open311Error::bad("open311.error.location"));
    }
    let description = param(params, "description").unwrap_or("");
    if description.chars().count() > requests::MAX_DESCRIPTION_CHARS {
        return Err(Open311Error::bad("request.error.description"));
    }
    let located = requests::locate(state, district, address_node, position, address_text).await?;
    let name: String = [param(params, "last_name"), param(params, "first_name")]
        .into_iter()
        .flatten()
        .collect();
    let input = NewRequest {
        service_code: service.code.to_owned(),
        title: param(params, "attribute[title]").map(str::to_owned),
        description: description.to_owned(),
        channel: Some(Channel::Open311),
        address_node,
        position,
        address_text: address_text.map(str::to_owned),
        reporter_name: (!name.is_empty()).then_some(name),
        reporter_phone: param(params, "phone").map(str::to_owned),
        ..NewRequest::default()
    };
    let actor = ActorInfo {
        user: None,
        name: format!("open311:{}", key.name),
    };
    // The audit record names the key that sent the request, in the intake's transaction.
    let extras = IntakeExtras {
        audit: Some(IntakeAudit {
            action: "open311.submit",
            ip: ip.map(str::to_owned),
            detail: service.code.to_owned(),
        }),
        ..IntakeExtras::default()
    };
    let record = requests::take_in(
        state,
        district,
        located,
        input,
        Channel::Open311,
        &actor,
        extras,
    )
    .await?;
    Ok((
        "service_requests",
        json!([{
            "service_request_id": record.id.to_string(),
            "service_notice": Tr::new(Lang::ZhCn).get("open311.notice"),
            "account_id": Value::Null,
        }]),
    ))
}

/// The public face of requests: buildings' addresses (looked up once each) and the latest
/// status notes, then one object per request.
async fn public_requests(
    state: &AppState,
    district: DistrictId,
    records: &[RequestRecord],
) -> Result<Value, Open311Error> {
    let ids: Vec<RequestId> = records.iter().map(|r| r.id).collect();
    let notes: HashMap<RequestId, String> = state
        .store
        .open311_status_notes(district, &ids)
        .await?
        .into_iter()
        .collect();
    let mut buildings: HashMap<NodeId, String> = HashMap::new();
    for building in records
        .iter()
        .filter_map(|r| r.place.at(NodeKind::Building))
    {
        if let std::collections::hash_map::Entry::Vacant(slot) = buildings.entry(building) {
            let node = state.store.node(district, building).await?;
            let address = match (node.address, node.path.at(NodeKind::Compound)) {
                (Some(address), _) => address,
                // No address of its own: the compound's name before the building's.
                (None, Some(compound)) => {
                    let compound = state.store.node(district, compound).await?;
                    format!("{}{}", compound.name, node.name)
                }
                (None, None) => node.name,
            };
            slot.insert(address);
        }
    }
    let tr = Tr::new(Lang::ZhCn);
    Ok(Value::Array(
        records
            .iter()
            .map(|r| {
                let building = r.place.at(NodeKind::Building);
                public_request(
                    r,
                    building.and_then(|b| buildings.get(&b).map(|address| (b, address))),
                    notes.get(&r.id).map(String::as_str),
                    &tr,
                )
            })
            .collect(),
    ))
}

/// One request as the public may read it: never the reporter's name or phone, the address
/// only down to the building (not the flat), the resident's description as written.
fn public_request(
    r: &RequestRecord,
    building: Option<(NodeId, &String)>,
    status_notes: Option<&str>,
    tr: &Tr,
) -> Value {
    let department = if r.state.whistle_open {
        r.whistle_department
    } else {
        None
    }
    .or_else(|| service_type(&r.service_code).and_then(|s| s.department));
    let mut fields = Map::new();
    let mut put = |key: &str, value: Value| {
        fields.insert(key.to_owned(), value);
    };
    put("service_request_id", json!(r.id.to_string()));
    put(
        "status",
        json!(if r.state.status.is_open() {
            "open"
        } else {
            "closed"
        }),
    );
    put("status_notes", json!(status_notes));
    put("service_name", json!(tr.code("service", &r.service_code)));
    put("service_code", json!(r.service_code));
    put("description", json!(r.description));
    put(
        "agency_responsible",
        json!(department.map(|d| tr.code("department", d.as_str()))),
    );
    put("service_notice", json!(tr.get("open311.notice")));
    put("requested_datetime", json!(iso(r.received_at)));
    put("updated_datetime", json!(iso(r.updated_at)));
    put("expected_datetime", json!(iso(r.resolve_due)));
    put("address", json!(building.map(|(_, address)| address)));
    put("address_id", json!(building.map(|(id, _)| id.to_string())));
    put("zipcode", Value::Null);
    put("lat", json!(r.position.map(|p| p.lat)));
    put("long", json!(r.position.map(|p| p.lon)));
    put("media_url", Value::Null);
    Value::Object(fields)
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, Open311Error> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| Open311Error::bad("open311.error.date"))
}

async fn list_requests(state: &AppState, params: &Params) -> Result<Value, Open311Error> {
    let district = jurisdiction(state, param(params, "jurisdiction_id")).await?;
    let mut query = Open311Query {
        limit: MAX_RESULTS,
        ..Open311Query::default()
    };
    if let Some(ids) = param(params, "service_request_id") {
        // Given ids override every other filter (the standard says so).
        query.ids = ids
            .split(',')
            .map(|id| {
                id.trim()
                    .parse::<RequestId>()
                    .map_err(|_| Open311Error::bad("open311.error.request_id"))
            })
            .collect::<Result<_, _>>()?;
    } else {
        if let Some(codes) = param(params, "service_code") {
            query.service_codes = codes
                .split(',')
                .map(|code| {
                    service_type(code.trim())
                        .map(|s| s.code.to_owned())
                        .ok_or(Open311Error::not_found("open311.error.service_code"))
                })
                .collect::<Result<_, _>>()?;
        }
        let start = param(params, "start_date").map(parse_instant).transpose()?;
        let end = param(params, "end_date").map(parse_instant).transpose()?;
        let window = Duration::days(WINDOW_DAYS);
        let (from, to) = match (start, end) {
            (Some(from), Some(to)) => (from, to),
            (Some(from), None) => (from, from + window),
            (None, Some(to)) => (to - window, to),
            (None, None) => {
                let now = state.clock.now();
                (now - window, now)
            }
        };
        if from > to || to - from > window {
            return Err(Open311Error::bad("open311.error.date"));
        }
        query.from = Some(from);
        query.to = Some(to);
        if let Some(statuses) = param(params, "status") {
            let mut open = false;
            let mut closed = false;
            for status in statuses.split(',') {
                match status.trim() {
                    "open" => open = true,
                    "closed" => closed = true,
                    _ => return Err(Open311Error::bad("open311.error.status")),
                }
            }
            query.open = (open != closed).then_some(open);
        }
    }
    let records = state.store.open311_requests(district, &query).await?;
    public_requests(state, district, &records).await
}

/// `{id}.json` → the request id and format, or the error to answer with (in XML when the
/// suffix is unknown, the standard's default).
fn path_id(file: &str) -> Result<(RequestId, Format), (Format, Open311Error)> {
    let Some((stem, format)) = split_format(file) else {
        return Err((Format::Xml, Open311Error::not_found("open311.error.format")));
    };
    stem.parse::<RequestId>()
        .map(|id| (id, format))
        .map_err(|_| (format, Open311Error::not_found("open311.error.request_id")))
}

async fn find_request(
    state: &AppState,
    raw: Option<&str>,
    id: RequestId,
) -> Result<(DistrictId, RequestRecord), Open311Error> {
    let params = parse_query(raw)?;
    let district = jurisdiction(state, param(&params, "jurisdiction_id")).await?;
    match state.store.request(district, id).await {
        Ok(record) => Ok((district, record)),
        Err(StoreError::NotFound) => Err(Open311Error::not_found("open311.error.request_id")),
        Err(err) => Err(err.into()),
    }
}

async fn one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (id, format) = match path_id(&file) {
        Ok(found) => found,
        Err((format, err)) => return error_response(format, err),
    };
    let answer = async {
        let (district, record) = find_request(&state, raw.as_deref(), id).await?;
        Ok((
            "service_requests",
            public_requests(&state, district, std::slice::from_ref(&record)).await?,
        ))
    }
    .await;
    reply(format, StatusCode::OK, answer)
}

/// Mulin takes requests in synchronously, so a request's token is its id: a token answers
/// with the id once the request exists, and 404 otherwise.
async fn token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (id, format) = match path_id(&file) {
        Ok(found) => found,
        Err((format, err)) => return error_response(format, err),
    };
    let answer = async {
        let (_, record) = find_request(&state, raw.as_deref(), id).await?;
        Ok((
            "service_requests",
            json!([{
                "service_request_id": record.id.to_string(),
                "token": record.id.to_string(),
            }]),
        ))
    }
    .await;
    reply(format, StatusCode::OK, answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_names_list_items_and_escapes() {
        let xml = to_xml(
            "service_requests",
            &json!([{ "description": "a<b & \"c\"\u{7}", "lat": null, "order": 1 }]),
        )
        .unwrap_or_default();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request>\
             <description>a&lt;b &amp; &quot;c&quot;</description><lat/><order>1</order>\
             </request></service_requests>"
        );
    }

    #[test]
    fn suffix_picks_the_format() {
        assert_eq!(
            split_format("services.json"),
            Some(("services", Format::Json))
        );
        assert_eq!(
            split_format("services.xml"),
            Some(("services", Format::Xml))
        );
        assert_eq!(split_format("services"), None);
        assert_eq!(split_format("services.html"), None);
    }

    #[test]
    fn datetimes_carry_china_offset() {
        let at = DateTime::from_timestamp(1_795_435_200, 0).unwrap_or_default();
        assert_eq!(iso(at), "2026-11-23T20:00:00+08:00");
    }
}
