//! The registry through the API: login, the tree with codes and counts, resident search.

use mulin_domain::tree::NodeKind;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, PASSWORD};

#[tokio::test]
async fn login_gives_a_token_and_me_describes_it() {
    let app = spawn_app().await;
    let token = app.token("shequ1").await;
    let (status, me) = app.get(Some(&token), "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "shequ1");
    assert_eq!(me["roles"][0]["role"], "community_staff");
    assert_eq!(
        me["roles"][0]["node_id"],
        app.community(0).path.id().to_string()
    );
    assert_eq!(me["roles"][0]["node_kind"], "community");

    let res = reqwest::Client::new()
        .post(app.url("/api/v1/login"))
        .json(&serde_json::json!({"username": "shequ1", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(body["error"]["message"], "请先登录");

    // Sessions end after their lifetime, by the app's clock.
    let other = app.token("shequ2").await;
    app.clock.set(
        mulin_storage_tests::test_now()
            + chrono::Duration::hours(mulin_web::auth::SESSION_HOURS)
            + chrono::Duration::seconds(1),
    );
    assert_eq!(
        app.get(Some(&other), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    app.clock.set(mulin_storage_tests::test_now());

    // Logging out ends the token.
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(Some(&token), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_tree_has_codes_parents_and_counts() {
    let app = spawn_app().await;
    let token = app.token("admin").await;
    let (status, tree) = app.get(Some(&token), "/api/v1/tree").await;
    assert_eq!(status, StatusCode::OK);
    let nodes = tree["nodes"].as_array().unwrap();
    let count = |kind: &str| nodes.iter().filter(|n| n["kind"] == kind).count();
    assert_eq!(
        (
            count("district"),
            count("street"),
            count("community"),
            count("grid")
        ),
        (1, 1, 5, 27)
    );
    assert_eq!(count("household"), 0, "households only on request");
    let grid = nodes.iter().find(|n| n["kind"] == "grid").unwrap();
    assert_eq!(grid["code"].as_str().unwrap().len(), 15);
    assert!(grid["code"].as_str().unwrap().starts_with("140212001"));
    assert!(nodes.iter().any(|n| n["id"] == grid["parent_id"]));

    let (_, full) = app
        .get(Some(&token), "/api/v1/tree?deepest=household")
        .await;
    assert_eq!(
        full["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "household")
            .count(),
        300
    );
    assert_eq!(
        app.get(Some(&token), "/api/v1/tree?deepest=village")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    let district = app.demo.dataset.nodes[0].path.id();
    let (status, detail) = app
        .get(Some(&token), &format!("/api/v1/nodes/{district}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["counts"]["households"], 300);
    assert_eq!(
        detail["counts"]["residents"],
        app.demo.dataset.residents.len()
    );
    let children = detail["children"].as_array().unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(
        children[0]["counts"]["residents"],
        app.demo.dataset.residents.len()
    );
    assert_eq!(
        app.get(Some(&token), "/api/v1/nodes/not-a-uuid").await.0,
        StatusCode::NOT_FOUND
    );

    // A grid lists its workers and party group; a compound its branch and property company.
    let (_, grid) = app
        .get(
            Some(&token),
            &format!("/api/v1/nodes/{}", app.grid(0).path.id()),
        )
        .await;
    assert!(grid["posts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["kind"] == "grid_worker" && p["employment"] == "full_time"));
    let rep = grid["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "resident_representative")
        .unwrap();
    assert!((5..=15).contains(&rep["household_ids"].as_array().unwrap().len()));
    assert!(grid["party_orgs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["kind"] == "group"));
    let compound = app.nodes(NodeKind::Compound)[0].path.id();
    let (_, compound) = app
        .get(Some(&token), &format!("/api/v1/nodes/{compound}"))
        .await;
    assert!(compound["units"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["kind"] == "property_company"));
    assert!(compound["party_orgs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["kind"] == "branch"));
    // Cross-appointment: the branch secretary also sits on the owners' committee.
    let posts = compound["posts"].as_array().unwrap();
    let secretary = posts
        .iter()
        .find(|p| p["kind"] == "branch_secretary")
        .unwrap();
    assert!(posts
        .iter()
        .any(|p| p["kind"] == "owners_committee_member"
            && p["holder_name"] == secretary["holder_name"]));
}

#[tokio::test]
async fn residents_are_searched_in_chinese_by_name_address_and_id_digits() {
    let app = spawn_app().await;
    let token = app.token("shequ1").await;
    let community = app.community(0).path.id();
    let sample = app.residents_in(NodeKind::Community, community)[5];
    let id_number = sample.id_number.as_ref().unwrap().expose();
    let search = |q: String| {
        let app = &app;
        let token = token.clone();
        async move {
            let encoded =
                serde_urlencoded::to_string([("q", q.as_str()), ("under", &community.to_string())])
                    .unwrap();
            let (status, body) = app
                .get(Some(&token), &format!("/api/v1/residents?{encoded}"))
                .await;
            assert_eq!(status, StatusCode::OK);
            body["items"].as_array().unwrap().clone()
        }
    };
    let by_name = search(sample.name.as_ref().to_owned()).await;
    assert!(by_name.iter().any(|r| r["id"] == sample.id.to_string()));
    assert!(by_name
        .iter()
        .all(|r| r["name"].as_str().unwrap().contains(sample.name.as_ref())));

    let by_tail = search(id_number[14..].to_owned()).await;
    let hit = by_tail
        .iter()
        .find(|r| r["id"] == sample.id.to_string())
        .unwrap();
    assert_eq!(
        hit["id_number"],
        sample.id_number.as_ref().unwrap().masked()
    );
    assert_eq!(hit["household_id"], sample.household.id().to_string());
    assert_eq!(
        hit["grid_id"],
        sample.household.at(NodeKind::Grid).unwrap().to_string()
    );

    let by_address = search(sample.address.clone()).await;
    assert!(by_address
        .iter()
        .all(|r| r["address"] == sample.address.as_str()));
    assert!(by_address.iter().any(|r| r["id"] == sample.id.to_string()));

    // Special groups include 65+, derived from the birth date.
    let elderly = app
        .residents_in(NodeKind::Community, community)
        .into_iter()
        .find(|r| {
            mulin_domain::person::age_on(r.birth_date.unwrap(), mulin_storage_tests::test_today())
                >= 65
        });
    if let Some(elderly) = elderly {
        let (_, one) = app
            .get(Some(&token), &format!("/api/v1/residents/{}", elderly.id))
            .await;
        assert!(one["special_groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "elderly"));
    }
    let _ = PASSWORD;
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = spawn_app().await;
    let (status, doc) = app.get(None, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/login",
        "/api/v1/me",
        "/api/v1/tree",
        "/api/v1/nodes/{id}",
        "/api/v1/residents",
        "/api/v1/residents/{id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} undocumented");
    }
    let docs = reqwest::get(app.url("/api/v1/docs")).await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs
        .text()
        .await
        .unwrap()
        .contains("/assets/vendor/swagger-ui-bundle.js"));
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_vendored_libraries_are_served_from_the_binary() {
    let app = spawn_app().await;
    for (path, content_type) in [
        ("/assets/vendor/leaflet.js", "text/javascript"),
        ("/assets/vendor/leaflet.css", "text/css"),
        ("/assets/vendor/images/marker-icon.png", "image/png"),
        ("/assets/vendor/echarts.min.js", "text/javascript"),
        ("/assets/vendor/htmx.min.js", "text/javascript"),
    ] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let served = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(served.starts_with(content_type), "{path}: {served}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{path}");
    }
}
