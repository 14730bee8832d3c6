//! Major requests' five recorded steps, duty-list admission (准入) and the district's own
//! work calendar, through HTTP, with who may do each.

use mulin_domain::tree::NodeKind;
use mulin_storage_tests::audit_page;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::requests::{act, building_in_grid, ok, submit, timeline};

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .put(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn audited(app: &TestApp, action: &str) -> Vec<String> {
    let district = app.demo.dataset.nodes[0].path.id().into();
    audit_page(&*app.store, district, 1, 200)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| e.detail)
        .collect()
}

#[tokio::test]
async fn a_major_request_records_its_five_steps_in_order_before_it_closes() {
    let app = spawn_app().await;
    let w = app.token("wangge01").await;
    let shequ = app.token("shequ1").await;
    let created = submit(
        &app,
        &w,
        json!({"service_code": "water_supply", "description": "小区主管道破裂，三栋楼停水",
               "address_node_id": building_in_grid(&app, 0), "severity": "major"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["major_stage"], "not_started");
    ok(&app, &w, id, json!({"action": "sign_for"})).await;
    ok(&app, &w, id, json!({"action": "arrive"})).await;
    // The page offers the first step, not the whistle.
    let worker_page = app.web_login("wangge01").await;
    let html = app.html(&worker_page, &format!("/requests/{id}")).await;
    assert!(html.contains("data-testid=\"action-collect_issue\""));
    assert!(!html.contains("data-testid=\"action-whistle\""));
    // Out of order: no whistle, meeting or solving before the earlier steps.
    for body in [
        json!({"action": "whistle", "department": "water", "note": "请抢修"}),
        json!({"action": "propose_plan", "note": "先抢修"}),
        json!({"action": "solve", "note": "x"}),
    ] {
        let (status, refused) = act(&app, &shequ, id, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {refused}"
        );
    }
    ok(
        &app,
        &w,
        id,
        json!({"action": "collect_issue", "note": "走访12户：3号楼至5号楼全天停水"}),
    )
    .await;
    // The plan is the community's: a grid worker may not propose it.
    let (status, _) = act(&app, &w, id, json!({"action": "propose_plan", "note": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    ok(
        &app,
        &shequ,
        id,
        json!({"action": "propose_plan", "note": "自来水公司抢修，物业临时送水"}),
    )
    .await;
    let whistled = ok(
        &app,
        &w,
        id,
        json!({"action": "whistle", "department": "water", "note": "请自来水公司到场"}),
    )
    .await;
    assert_eq!(whistled["major_stage"], "whistled");
    let liaison = app.token("bumen4").await;
    ok(&app, &liaison, id, json!({"action": "acknowledge_whistle"})).await;
    ok(
        &app,
        &liaison,
        id,
        json!({"action": "report_whistle", "note": "已到场"}),
    )
    .await;
    let (status, _) = act(
        &app,
        &shequ,
        id,
        json!({"action": "hold_meeting", "meeting_date": "不是日期", "attendees": "a", "note": "m"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    ok(
        &app,
        &shequ,
        id,
        json!({"action": "hold_meeting", "meeting_date": "2026-11-23",
               "attendees": "社区书记、自来水公司、物业、居民代表3人",
               "note": "议定当晚抢修完毕，物业负责送水"}),
    )
    .await;
    let (status, _) = act(
        &app,
        &shequ,
        id,
        json!({"action": "record_resolution", "note": "当晚修复"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "follow-up required"
    );
    let resolved = ok(
        &app,
        &shequ,
        id,
        json!({"action": "record_resolution", "note": "当晚修复主管道",
               "follow_up": "网格员次日回访12户确认供水"}),
    )
    .await;
    assert_eq!(resolved["major_stage"], "resolved");
    ok(&app, &w, id, json!({"action": "solve", "note": "恢复供水"})).await;
    ok(
        &app,
        &shequ,
        id,
        json!({"action": "verify", "passed": true}),
    )
    .await;
    let closed = ok(&app, &shequ, id, json!({"action": "close"})).await;
    assert_eq!(closed["status"], "closed");
    let kinds = timeline(&app, &w, id).await;
    let at = |kind: &str| kinds.iter().position(|k| k == kind).unwrap();
    assert!(
        at("issue_collected") < at("plan_proposed")
            && at("plan_proposed") < at("whistled")
            && at("whistled") < at("meeting_held")
            && at("meeting_held") < at("resolution_recorded")
            && at("resolution_recorded") < at("solved"),
        "{kinds:?}"
    );
    let (_, detail) = app.get(Some(&w), &format!("/api/v1/requests/{id}")).await;
    let meeting = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "meeting_held")
        .unwrap()
        .clone();
    assert_eq!(
        meeting["note"], "议定当晚抢修完毕，物业负责送水",
        "{meeting}"
    );
    assert!(meeting.to_string().contains("2026-11-23"), "{meeting}");
    // The request page shows the five steps, each with who and when.
    let client = app.web_login("shequ1").await;
    let html = app.html(&client, &format!("/requests/{id}")).await;
    assert!(html.contains("data-testid=\"major-steps\""));
    assert_eq!(html.matches("data-done=\"true\"").count(), 5, "{html}");
    assert!(html.contains("网格员次日回访12户确认供水"));
}

#[tokio::test]
async fn an_item_outside_the_duty_list_waits_for_an_audited_admission() {
    let app = spawn_app().await;
    let building = building_in_grid(&app, 0);
    let grid = app.grid(0).path;
    let community = grid.at(NodeKind::Community).unwrap();
    let path = format!("/api/v1/communities/{community}/duty-list");
    let shequ = app.token("shequ1").await;
    let (status, list) = app.get(Some(&shequ), &path).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["is_default"], true);
    assert!(list["service_codes"]
        .as_array()
        .unwrap()
        .contains(&json!("noise")));
    // 一村一策: this community does not take noise complaints on its grids.
    let (status, _) = put(
        &app,
        &shequ,
        &path,
        json!({"service_codes": ["sanitation", "drainage", "nope"]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "unknown code");
    let (status, list) = put(
        &app,
        &shequ,
        &path,
        json!({"service_codes": ["sanitation", "drainage"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["is_default"], false);
    assert_eq!(list["service_codes"], json!(["sanitation", "drainage"]));
    assert_eq!(
        audited(&app, "duty_list.set").await,
        ["drainage,sanitation"]
    );

    let w = app.token("wangge01").await;
    let admitted = submit(
        &app,
        &w,
        json!({"service_code": "sanitation", "description": "垃圾满溢", "address_node_id": building}),
    )
    .await;
    assert_eq!(admitted["status"], "dispatched");
    let held = submit(
        &app,
        &w,
        json!({"service_code": "noise", "description": "夜间施工噪音", "address_node_id": building}),
    )
    .await;
    let id = held["id"].as_str().unwrap();
    assert_eq!(held["status"], "received", "{held}");
    assert_eq!(held["admission_pending"], true);
    assert!(held["grid_id"].is_null(), "kept in the community's queue");
    let (_, notes) = app.get(Some(&shequ), "/api/v1/notifications").await;
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "admission_pending" && n["request_id"] == id),
        "{notes}"
    );
    let dispatch = json!({"action": "dispatch", "grid_id": grid.id().to_string()});
    let (status, refused) = act(&app, &shequ, id, dispatch.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, _) = act(
        &app,
        &w,
        id,
        json!({"action": "approve_admission", "note": "x"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a grid worker cannot approve"
    );
    let (status, _) = act(&app, &shequ, id, json!({"action": "approve_admission"})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is required"
    );
    let approved = ok(
        &app,
        &shequ,
        id,
        json!({"action": "approve_admission", "note": "工地紧邻学校，社区协调"}),
    )
    .await;
    assert_eq!(approved["admission_pending"], false);
    assert_eq!(
        audited(&app, "admission.approve").await,
        ["noise: 工地紧邻学校，社区协调"]
    );
    let dispatched = ok(&app, &shequ, id, dispatch).await;
    assert_eq!(dispatched["grid_id"], grid.id().to_string());
    let kinds = timeline(&app, &shequ, id).await;
    assert_eq!(kinds, ["received", "admission_approved", "dispatched"]);

    // The list changes after intake: a sanitation request returned to the queue needs an
    // approval before it goes back to a grid.
    let aid = admitted["id"].as_str().unwrap();
    put(&app, &shequ, &path, json!({"service_codes": ["drainage"]})).await;
    ok(
        &app,
        &w,
        aid,
        json!({"action": "return", "note": "非本网格"}),
    )
    .await;
    let dispatch = json!({"action": "dispatch", "grid_id": grid.id().to_string()});
    let (status, _) = act(&app, &shequ, aid, dispatch.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = app.web_login("shequ1").await;
    let html = app.html(&page, &format!("/requests/{aid}")).await;
    assert!(html.contains("data-testid=\"admission-pending\""));
    assert!(html.contains("data-testid=\"action-approve_admission\""));
    assert!(!html.contains("data-testid=\"action-dispatch\""));
    ok(
        &app,
        &shequ,
        aid,
        json!({"action": "approve_admission", "note": "历史遗留，本次准入"}),
    )
    .await;
    ok(&app, &shequ, aid, dispatch).await;

    // Only community staff of that community and above see or set the list.
    let admin = app.token("admin").await;
    let (status, _) = app.get(Some(&admin), &path).await;
    assert_eq!(status, StatusCode::OK);
    for user in ["shequ2", "wangge01", "jumin", "bumen4"] {
        let token = app.token(user).await;
        let (status, _) = app.get(Some(&token), &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{user} reads");
        let (status, _) = put(&app, &token, &path, json!({"service_codes": []})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{user} writes");
    }
    let (status, _) = app.get(None, &path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

fn hotline_order(app: &TestApp, order_no: &str) -> Value {
    json!({
        "order_no": order_no,
        "received_at": "2026-11-23T11:00:00Z",
        "limit_working_days": 7,
        "service_code": "heating",
        "description": "市民来电：家中暖气不热",
        "address_node_id": building_in_grid(app, 0),
    })
}

#[tokio::test]
async fn deadlines_count_on_the_districts_calendar_after_an_edit() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let shequ = app.token("shequ1").await;
    let (status, year) = app.get(Some(&shequ), "/api/v1/calendar/2026").await;
    assert_eq!(status, StatusCode::OK, "{year}");
    assert_eq!(year["is_default"], true);
    assert!(year["holidays"]
        .as_array()
        .unwrap()
        .contains(&json!("2026-10-01")));
    assert!(year["make_up_days"]
        .as_array()
        .unwrap()
        .contains(&json!("2026-10-10")));

    // 7 working days after Monday 23 November: Wednesday 2 December, 17:30 China time.
    let (status, before) = app
        .post(&shequ, "/api/v1/hotline/orders", hotline_order(&app, "A-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{before}");
    assert_eq!(before["request"]["resolve_due"], "2026-12-02T09:30:00Z");

    // The district gives 25 and 26 November off (a local holiday) and keeps the rest.
    let mut holidays = year["holidays"].as_array().unwrap().clone();
    holidays.extend([json!("2026-11-25"), json!("2026-11-26")]);
    let body = json!({"holidays": holidays, "make_up_days": year["make_up_days"]});
    let (status, edited) = put(&app, &admin, "/api/v1/calendar/2026", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["is_default"], false);
    assert_eq!(
        audited(&app, "calendar.set").await.len(),
        1,
        "the edit is audited"
    );
    let (status, after) = app
        .post(&shequ, "/api/v1/hotline/orders", hotline_order(&app, "A-2"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{after}");
    assert_eq!(
        after["request"]["resolve_due"], "2026-12-04T09:30:00Z",
        "two working days fewer in the week: due two days later"
    );

    // Bad tables are refused whole.
    for bad in [
        json!({"holidays": ["2025-11-25"], "make_up_days": []}),
        json!({"holidays": ["2026-11-25"], "make_up_days": ["2026-11-25"]}),
        json!({"holidays": ["25/11/2026"], "make_up_days": []}),
    ] {
        let (status, _) = put(&app, &admin, "/api/v1/calendar/2026", bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (status, _) = app.get(Some(&admin), "/api/v1/calendar/1900").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Only a district admin edits it; residents do not read it.
    for user in ["shequ1", "jiedao", "wangge01"] {
        let token = app.token(user).await;
        let (status, _) = put(&app, &token, "/api/v1/calendar/2026", body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user} edits");
    }
    let jumin = app.token("jumin").await;
    let (status, _) = app.get(Some(&jumin), "/api/v1/calendar/2026").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get(None, "/api/v1/calendar/2026").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(audited(&app, "calendar.set").await.len(), 1);
    let (_, doc) = app.get(None, "/api/v1/openapi.json").await;
    for path in [
        "/api/v1/calendar/{year}",
        "/api/v1/communities/{id}/duty-list",
    ] {
        assert!(doc["paths"][path]["put"].is_object(), "{path} documented");
    }
}

#[tokio::test]
async fn the_settings_pages_edit_the_duty_list_and_the_calendar() {
    let app = spawn_app().await;
    let community = app.community(0).path.id();
    let client = app.web_login("shequ1").await;
    let html = app
        .html(&client, &format!("/communities/{community}/duty-list"))
        .await;
    assert!(html.contains("value=\"noise\" checked"), "default: all");
    let other = app.web_login("shequ2").await;
    let res = other
        .get(app.url(&format!("/communities/{community}/duty-list")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "another community's staff"
    );
    let csrf = app.csrf(&client).await;
    let res = client
        .post(app.url(&format!("/communities/{community}/duty-list")))
        .body(format!(
            "csrf={csrf}&service_code=sanitation&service_code=heating"
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, list) = app
        .get(
            Some(&app.token("shequ1").await),
            &format!("/api/v1/communities/{community}/duty-list"),
        )
        .await;
    assert_eq!(
        list["service_codes"],
        json!(["sanitation", "heating"]),
        "catalogue order"
    );
    // Community staff read the calendar but cannot save it.
    let html = app.html(&client, "/calendar/2026").await;
    assert!(html.contains("2026-10-01") && html.contains("readonly"));

    let admin = app.web_login("admin").await;
    let csrf = app.csrf(&admin).await;
    let res = admin
        .post(app.url("/calendar/2027"))
        .body(format!(
            "csrf={csrf}&holidays=2027-01-01%0A2027-02-05&make_up_days=2027-02-07"
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, year) = app
        .get(Some(&app.token("admin").await), "/api/v1/calendar/2027")
        .await;
    assert_eq!(year["holidays"], json!(["2027-01-01", "2027-02-05"]));
    assert_eq!(year["make_up_days"], json!(["2027-02-07"]));
    assert_eq!(year["known"], true);
}

#[tokio::test]
async fn a_major_request_page_offers_no_merge_that_would_fail_and_says_why() {
    let app = spawn_app().await;
    let w = app.token("wangge01").await;
    let building = building_in_grid(&app, 0);
    let major = submit(
        &app,
        &w,
        json!({"service_code": "water_supply", "description": "小区主管道破裂，三栋楼停水",
               "address_node_id": building, "severity": "major"}),
    )
    .await;
    let ordinary = submit(
        &app,
        &w,
        json!({"service_code": "water_supply", "description": "我家没水了",
               "address_node_id": building}),
    )
    .await;
    let (m, o) = (
        major["id"].as_str().unwrap(),
        ordinary["id"].as_str().unwrap(),
    );
    let staff = app.web_login("shequ1").await;
    let html = app.html(&staff, &format!("/requests/{m}")).await;
    assert!(html.contains("data-testid=\"duplicates\""), "{html}");
    assert!(html.contains(o), "the duplicate is listed");
    assert!(html.contains("data-testid=\"merge-blocked\""), "{html}");
    assert!(html.contains("重大诉求须先落实决议"), "{html}");
    assert!(
        !html.contains("data-testid=\"merge\""),
        "no button that would fail"
    );
    // What the page does not offer, the API refuses.
    let token = app.token("shequ1").await;
    let (status, _) = act(&app, &token, m, json!({"action": "merge", "into": o})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The ordinary duplicate's page still offers its merge into the major request, which
    // works.
    let html = app.html(&staff, &format!("/requests/{o}")).await;
    assert!(html.contains("data-testid=\"merge\""), "{html}");
    assert!(!html.contains("data-testid=\"merge-blocked\""));
    let merged = ok(&app, &token, o, json!({"action": "merge", "into": m})).await;
    assert_eq!(merged["status"], "closed");
    // In English, the reason is English.
    let english = app.web_login("shequ1").await;
    english.get(app.url("/lang/en")).send().await.unwrap();
    let third = submit(
        &app,
        &w,
        json!({"service_code": "water_supply", "description": "还是没水",
               "address_node_id": building}),
    )
    .await;
    assert!(third["id"].is_string());
    let html = app.html(&english, &format!("/requests/{m}")).await;
    assert!(
        html.contains("A major request can be merged only after its resolution is recorded"),
        "{html}"
    );
}
