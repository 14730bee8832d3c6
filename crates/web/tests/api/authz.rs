//! The authorization matrix: every endpoint × every role × inside and outside its scope.
//! A role outside the scope gets nothing: 403 or 404, never data.

use mulin_domain::policy::Role;
use mulin_domain::tree::NodeKind;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

/// A role under test: its login, and one node inside and one outside its scope.
struct Case {
    username: &'static str,
    role: Role,
    inside: String,
    outside: Option<String>,
}

async fn cases(app: &TestApp) -> Vec<Case> {
    let community0 = app.community(0).path.id();
    app.add_user("lianluo", Role::DepartmentLiaison, community0)
        .await;
    app.add_user("dangyuan", Role::PartyMember, community0)
        .await;
    app.add_user("zhiyuan", Role::Volunteer, community0).await;
    let jumin_household = app.demo.dataset.residents[0].household.id();
    let other_community = app.community(1).path.id().to_string();
    vec![
        Case {
            username: "admin",
            role: Role::Admin,
            inside: app.grid(5).path.id().to_string(),
            outside: None,
        },
        Case {
            username: "jiedao",
            role: Role::StreetAdmin,
            inside: app.grid(5).path.id().to_string(),
            outside: None,
        },
        Case {
            username: "shequ1",
            role: Role::CommunityStaff,
            inside: app.grid(1).path.id().to_string(),
            outside: Some(other_community.clone()),
        },
        Case {
            username: "wangge01",
            role: Role::GridWorker,
            inside: app.grid(0).path.id().to_string(),
            outside: Some(app.grid(1).path.id().to_string()),
        },
        Case {
            username: "lianluo",
            role: Role::DepartmentLiaison,
            inside: app.grid(1).path.id().to_string(),
            outside: Some(other_community.clone()),
        },
        Case {
            username: "dangyuan",
            role: Role::PartyMember,
            inside: app.grid(1).path.id().to_string(),
            outside: Some(other_community.clone()),
        },
        Case {
            username: "zhiyuan",
            role: Role::Volunteer,
            inside: app.grid(1).path.id().to_string(),
            outside: Some(other_community.clone()),
        },
        Case {
            username: "jumin",
            role: Role::Resident,
            inside: jumin_household.to_string(),
            outside: Some(app.grid(1).path.id().to_string()),
        },
    ]
}

fn sees_residents(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::StreetAdmin | Role::CommunityStaff | Role::GridWorker | Role::Resident
    )
}

fn may_reveal(role: Role) -> bool {
    matches!(role, Role::CommunityStaff | Role::GridWorker)
}

fn forbidden_or_hidden(status: StatusCode) -> bool {
    status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND
}

/// A resident inside `node` (a household, or any node containing households).
fn resident_under<'a>(app: &'a TestApp, node: &str) -> &'a mulin_storage::ResidentRecord {
    app.demo
        .dataset
        .residents
        .iter()
        .find(|r| {
            r.household
                .levels()
                .iter()
                .flatten()
                .any(|id| id.to_string() == node)
        })
        .expect("a resident under the node")
}

#[tokio::test]
async fn every_endpoint_refuses_anonymous_callers() {
    let app = spawn_app().await;
    let some_node = app.grid(0).path.id();
    let some_resident = app.demo.dataset.residents[0].id;
    for path in [
        "/api/v1/me".to_owned(),
        "/api/v1/tree".to_owned(),
        format!("/api/v1/nodes/{some_node}"),
        "/api/v1/residents".to_owned(),
        "/api/v1/audit".to_owned(),
        format!("/api/v1/residents/{some_resident}"),
    ] {
        let (status, body) = app.get(None, &path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["error"]["code"], "unauthorized");
        let (status, _) = app.get(Some("not-a-token"), &path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} with a bad token");
    }
    let client = crate::helpers::browser();
    for path in [
        "/".to_owned(),
        format!("/nodes/{some_node}"),
        format!("/residents/{some_resident}"),
        "/search".into(),
        "/audit".into(),
    ] {
        let res = client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()["location"], "/login");
    }
}

#[tokio::test]
async fn the_matrix_of_roles_and_scopes() {
    let app = spawn_app().await;
    for case in cases(&app).await {
        let who = case.username;
        let token = app.token(who).await;

        // /me names the role.
        let (status, me) = app.get(Some(&token), "/api/v1/me").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["roles"][0]["role"], case.role.as_str(), "{who}");
        let scope_id = me["roles"][0]["node_id"].as_str().unwrap().to_owned();

        // The tree holds only nodes inside the scope.
        let (status, tree) = app
            .get(Some(&token), "/api/v1/tree?deepest=household")
            .await;
        assert_eq!(status, StatusCode::OK);
        let scope_node = app
            .demo
            .dataset
            .nodes
            .iter()
            .find(|n| n.path.id().to_string() == scope_id)
            .unwrap();
        for node in tree["nodes"].as_array().unwrap() {
            let id = node["id"].as_str().unwrap();
            let record = app
                .demo
                .dataset
                .nodes
                .iter()
                .find(|n| n.path.id().to_string() == id)
                .unwrap();
            assert!(
                record
                    .path
                    .is_within(scope_node.path.kind(), scope_node.path.id()),
                "{who} sees {id}"
            );
        }

        // A node inside is readable; one outside is not found.
        let (status, _) = app
            .get(Some(&token), &format!("/api/v1/nodes/{}", case.inside))
            .await;
        assert_eq!(status, StatusCode::OK, "{who} inside node");
        if let Some(outside) = &case.outside {
            let (status, body) = app
                .get(Some(&token), &format!("/api/v1/nodes/{outside}"))
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{who} outside node");
            assert!(body.get("node").is_none());
            let (status, _) = app
                .get(Some(&token), &format!("/api/v1/tree?under={outside}"))
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{who} outside tree");
        }

        // Residents: listed inside for roles that see them, refused otherwise.
        let (status, page) = app
            .get(
                Some(&token),
                &format!("/api/v1/residents?under={}", case.inside),
            )
            .await;
        let inside_resident = resident_under(&app, &case.inside);
        if sees_residents(case.role) {
            assert_eq!(status, StatusCode::OK, "{who} residents inside");
            assert!(!page["items"].as_array().unwrap().is_empty());
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} residents");
            assert!(page.get("items").is_none());
        }
        let (status, one) = app
            .get(
                Some(&token),
                &format!("/api/v1/residents/{}", inside_resident.id),
            )
            .await;
        if sees_residents(case.role) {
            assert_eq!(status, StatusCode::OK, "{who} resident inside");
            assert_eq!(one["masked"], true);
            assert!(one["id_number"].as_str().unwrap().contains('*'));
        } else {
            assert!(
                forbidden_or_hidden(status),
                "{who} resident inside: {status}"
            );
            assert!(one.get("name").is_none());
        }
        let (status, revealed) = app
            .get(
                Some(&token),
                &format!("/api/v1/residents/{}?reveal=true", inside_resident.id),
            )
            .await;
        if may_reveal(case.role) {
            assert_eq!(status, StatusCode::OK, "{who} reveal");
            assert_eq!(
                revealed["id_number"],
                inside_resident.id_number.as_ref().unwrap().expose()
            );
        } else {
            assert!(forbidden_or_hidden(status), "{who} reveal: {status}");
            assert!(revealed.get("id_number").is_none());
        }
        if let Some(outside) = &case.outside {
            let (status, body) = app
                .get(Some(&token), &format!("/api/v1/residents?under={outside}"))
                .await;
            assert!(
                forbidden_or_hidden(status),
                "{who} residents outside: {status}"
            );
            assert!(body.get("items").is_none());
            let outsider = resident_under(&app, outside);
            for path in [
                format!("/api/v1/residents/{}", outsider.id),
                format!("/api/v1/residents/{}?reveal=true", outsider.id),
            ] {
                let (status, body) = app.get(Some(&token), &path).await;
                assert!(forbidden_or_hidden(status), "{who} {path}: {status}");
                assert!(body.get("name").is_none());
            }
        }
    }
}

#[tokio::test]
async fn wangge01_cannot_read_a_single_resident_outside_grid_01() {
    let app = spawn_app().await;
    let token = app.token("wangge01").await;
    let grid = app.grid(0).path.id();
    let grid_text = grid.to_string();

    // Paging through everything it may list yields exactly grid 01's residents.
    let mut listed = Vec::new();
    for page in 1.. {
        let (status, body) = app
            .get(
                Some(&token),
                &format!("/api/v1/residents?page={page}&per_page=200"),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        for item in body["items"].as_array().unwrap() {
            assert_eq!(item["grid_id"], grid_text.as_str());
            listed.push(item["id"].as_str().unwrap().to_owned());
        }
        if body["has_more"] == Value::Bool(false) {
            break;
        }
    }
    assert_eq!(listed.len(), app.residents_in(NodeKind::Grid, grid).len());

    // Searching the whole district by name, ID digits or address finds nothing outside.
    for outsider in app
        .residents_outside(NodeKind::Grid, grid)
        .iter()
        .step_by(37)
    {
        let id_number = outsider.id_number.as_ref().unwrap().expose();
        for q in [
            outsider.name.as_ref(),
            &id_number[12..],
            outsider.address.as_str(),
        ] {
            let encoded = serde_urlencoded::to_string([("q", q)]).unwrap();
            let (status, body) = app
                .get(Some(&token), &format!("/api/v1/residents?{encoded}"))
                .await;
            assert_eq!(status, StatusCode::OK);
            for item in body["items"].as_array().unwrap() {
                assert_eq!(item["grid_id"], grid_text.as_str(), "search {q} leaked");
            }
        }
        for path in [
            format!("/api/v1/residents/{}", outsider.id),
            format!("/api/v1/residents/{}?reveal=true", outsider.id),
            format!("/api/v1/residents?under={}", outsider.household.id()),
            format!("/api/v1/nodes/{}", outsider.household.id()),
            format!("/api/v1/tree?under={}", outsider.household.id()),
        ] {
            let (status, body) = app.get(Some(&token), &path).await;
            assert!(forbidden_or_hidden(status), "{path}: {status}");
            assert!(
                !body.to_string().contains(outsider.name.as_ref()),
                "{path} leaked a name"
            );
        }
    }

    // The same holds for the HTML pages.
    let client = app.web_login("wangge01").await;
    let outsider = app.residents_outside(NodeKind::Grid, grid)[0];
    for path in [
        format!("/residents/{}", outsider.id),
        format!("/households/{}", outsider.household.id()),
        format!("/nodes/{}", app.grid(1).path.id()),
        format!("/search?under={}", app.grid(1).path.id()),
    ] {
        let res = client.get(app.url(&path)).send().await.unwrap();
        assert!(
            forbidden_or_hidden(res.status()),
            "{path}: {}",
            res.status()
        );
        let html = res.text().await.unwrap();
        assert!(
            !html.contains(outsider.name.as_ref()) || path.starts_with("/nodes"),
            "{path} leaked"
        );
    }
    let html = client
        .get(app.url(&format!("/search?q={}", outsider.name.as_ref())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(&outsider.household.id().to_string()));
}

#[tokio::test]
async fn only_admins_read_the_audit_log() {
    let app = spawn_app().await;
    for (username, expected) in [
        ("admin", StatusCode::OK),
        // A street administrator reads their street's part (see audit_viewer.rs).
        ("jiedao", StatusCode::OK),
        ("shequ1", StatusCode::FORBIDDEN),
        ("wangge01", StatusCode::FORBIDDEN),
        ("jumin", StatusCode::FORBIDDEN),
    ] {
        let client = app.web_login(username).await;
        let res = client.get(app.url("/audit")).send().await.unwrap();
        assert_eq!(res.status(), expected, "{username}");
    }
}
