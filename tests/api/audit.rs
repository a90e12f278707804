//! The audit viewer: filters, formula-safe CSV export behind step-up, the tamper check, and
//! who may see it.

use holdfast::domain::role::Role;
use reqwest::StatusCode;

use crate::helpers::{OWNER_EMAIL, spawn_app};

#[tokio::test]
async fn admins_filter_export_and_check_the_audit_log() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let staff = app.user_with_role("Acme Ltd", "sam@acme.example", Role::Staff).await;
    // A user whose name is a spreadsheet formula acts once (accepting the invitation).
    let invited = owner
        .submit(
            "/settings/users",
            "/settings/users/invite",
            &[("email", "eve@acme.example"), ("name", "=HYPERLINK(\"http://x\")"), ("role", "staff")],
        )
        .await
        .text()
        .await
        .unwrap();
    let start = invited.find("/password/reset?token=").unwrap();
    let link = invited[start..].split('<').next().unwrap().to_owned();
    let eve = app.new_browser();
    let token = link.split("token=").nth(1).unwrap();
    eve.submit(&link, "/password/reset", &[("token", token), ("password", "velvet anchor puzzle tundra")]).await;

    let all = owner.page("/settings/audit").await;
    assert!(all.contains("setup.completed") && all.contains("user.invited") && all.contains("mfa.enabled"));
    let auth_only = owner.page("/settings/audit?event=auth.&actor=olive").await;
    assert!(auth_only.contains("auth.") && !auth_only.contains("setup.completed"));
    assert_eq!(owner.get("/settings/audit?from=yesterday").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(staff.get("/settings/audit").await.status(), StatusCode::FORBIDDEN);

    app.clock.advance(time::Duration::minutes(11));
    let refused = owner.get("/settings/audit/export.csv").await;
    assert!(refused.headers().get("location").unwrap().to_str().unwrap().starts_with("/account/confirm"));
    owner.confirm_second_factor(OWNER_EMAIL).await;
    let export = owner.get("/settings/audit/export.csv").await;
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(export.headers().get("content-type").unwrap(), "text/csv; charset=utf-8");
    let csv = export.text().await.unwrap();
    assert!(csv.starts_with("seq,time,actor,event,target,fields,address,outcome"));
    assert!(csv.contains("'=HYPERLINK"), "the formula is exported inert");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    for record in reader.records() {
        for cell in record.unwrap().iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "formula reached the export: {cell}");
        }
    }
    assert!(owner.page("/settings/audit").await.contains("audit.exported"), "the export is audited");

    let checked = owner.submit("/settings/audit", "/settings/audit/verify", &[]).await.text().await.unwrap();
    assert!(checked.contains("The audit log is intact"));
}
