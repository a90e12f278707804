//! `GET /api/v1/openapi.json`: the API described from the code. Schemas are derived from the
//! very types the handlers (de)serialise (`utoipa::ToSchema`); the paths come from the same
//! resource list the router is built from, so the document can't drift from the routes.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathItemBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ArrayBuilder, ComponentsBuilder, Content, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    RefOr, Required, ResponseBuilder, Schema, schema::Type,
};
use utoipa::{PartialSchema, ToSchema};

use super::files::{FileList, FileView, LinkView};
use super::portal::{DocumentView, ItemView, MessageView, ReceiptView, RequestView};
use crate::app::crm::CrmRecord;
use crate::domain::crm::{Company, Contact, Deal, Note, Task};

/// One API resource: its path segment, record type and input type.
struct Resource {
    plural: &'static str,
    record: String,
    input: String,
    schemas: Vec<(String, RefOr<Schema>)>,
}

fn resource<T: CrmRecord + ToSchema>() -> Resource
where
    T::Input: ToSchema,
{
    let mut schemas = vec![(T::name().into_owned(), T::schema()), (T::Input::name().into_owned(), T::Input::schema())];
    T::schemas(&mut schemas);
    T::Input::schemas(&mut schemas);
    Resource { plural: T::KIND.plural(), record: T::name().into_owned(), input: T::Input::name().into_owned(), schemas }
}

fn json_of(schema: impl Into<RefOr<Schema>>) -> Content {
    Content::new(Some(schema))
}

fn reference(name: &str) -> Ref {
    Ref::from_schema_name(name)
}

fn query(name: &str, description: &str) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
}

fn problem_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content("application/problem+json", json_of(reference("Problem")))
}

fn operation(tag: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new()
        .tag(tag)
        .summary(Some(summary))
        .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
        .response("401", problem_response("No or invalid token (E1004)"))
        .response("403", problem_response("Not allowed for the token's role (E1005) or step-up needed (E1008)"))
        .response("429", problem_response("Too many requests (E4001)"))
}

fn collection(r: &Resource) -> PathItem {
    let listing = ObjectBuilder::new()
        .property("items", ArrayBuilder::new().items(reference(&r.record)))
        .required("items")
        .property(
            "next_cursor",
            ObjectBuilder::new().schema_type(Type::String).description(Some("null on the last page")),
        );
    let mut list = operation(r.plural, &format!("List {} (cursor pages, stable under inserts)", r.plural));
    for (name, description) in [
        ("q", "Name prefix (or email prefix when it contains @)"),
        ("limit", "1–200, default 50"),
        ("cursor", "next_cursor of the previous page"),
        ("tag", "Only records with this tag"),
        ("owner", "Owner user id"),
        ("status", "Contact status"),
        ("company", "Company id"),
        ("contact", "Contact id (deals)"),
        ("stage", "Stage key (deals)"),
        ("assignee", "Assignee user id (tasks)"),
        ("state", "open|done (tasks), active|archived (deals)"),
        ("subject_kind", "contact|company|deal (notes, tasks)"),
        ("subject_id", "Id of the subject (notes, tasks)"),
        ("created_from", "YYYY-MM-DD"),
        ("created_to", "YYYY-MM-DD"),
        ("sort", "name (default) or newest"),
    ] {
        list = list.parameter(query(name, description));
    }
    let list = list
        .response("200", ResponseBuilder::new().description("One page").content("application/json", json_of(listing)))
        .response("422", problem_response("A filter or cursor is invalid (E2xxx)"));
    let create = operation(r.plural, &format!("Create a {}", r.record.to_lowercase()))
        .parameter(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some("Replays the first answer for 24 hours"))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        )
        .request_body(Some(RequestBodyBuilder::new().content("application/json", json_of(reference(&r.input))).build()))
        .response(
            "201",
            ResponseBuilder::new().description("Created").content("application/json", json_of(reference(&r.record))),
        )
        .response("409", problem_response("Duplicate (E5001)"))
        .response("422", problem_response("A field is invalid (E2xxx, `field` names it)"));
    PathItemBuilder::new().operation(HttpMethod::Get, list).operation(HttpMethod::Post, create).build()
}

/// The `{id}` of a path.
fn id() -> ParameterBuilder {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9a-f]{32}$"))))
}

fn member(r: &Resource) -> PathItem {
    let found =
        || ResponseBuilder::new().description("The record").content("application/json", json_of(reference(&r.record)));
    let missing = || problem_response("Unknown id, or another workspace's (E3002)");
    let get = operation(r.plural, "Read one").parameter(id()).response("200", found()).response("404", missing());
    let patch = operation(r.plural, "Change fields (absent: unchanged, \"\": cleared)")
        .parameter(id())
        .request_body(Some(RequestBodyBuilder::new().content("application/json", json_of(reference(&r.input))).build()))
        .response("200", found())
        .response("404", missing())
        .response("422", problem_response("A field is invalid (E2xxx)"));
    let delete = operation(r.plural, "Delete (with attached notes and tasks)")
        .parameter(id())
        .response("204", ResponseBuilder::new().description("Deleted"))
        .response("404", missing());
    PathItemBuilder::new()
        .operation(HttpMethod::Get, get)
        .operation(HttpMethod::Patch, patch)
        .operation(HttpMethod::Delete, delete)
        .build()
}

/// `/api/v1/{plural}/{id}/files`: a record's attachments.
fn record_files(plural: &str) -> PathItem {
    let missing = || problem_response("Unknown record, or another workspace's (E3002)");
    let list = operation("files", &format!("The files attached to one of the {plural}"))
        .parameter(id())
        .response(
            "200",
            ResponseBuilder::new()
                .description("Oldest first")
                .content("application/json", json_of(reference("FileList"))),
        )
        .response("404", missing());
    let upload = ObjectBuilder::new()
        .property(
            "file",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Binary))),
        )
        .required("file");
    let attach = operation(
        "files",
        "Attach a file: size cap, type recognised by content against the allowlist, virus scan, then sealed storage",
    )
    .parameter(id())
    .request_body(Some(RequestBodyBuilder::new().content("multipart/form-data", json_of(upload)).build()))
    .response(
        "201",
        ResponseBuilder::new().description("Stored").content("application/json", json_of(reference("File"))),
    )
    .response("404", missing())
    .response("413", problem_response("Past the size cap or the workspace's quota (E2006)"))
    .response("415", problem_response("Type not allowed; `detail` names the type found (E2005)"))
    .response("422", problem_response("The virus scanner found something (E2008); nothing is kept"))
    .response("503", problem_response("The virus scanner is unavailable (E3003); nothing is kept"));
    PathItemBuilder::new().operation(HttpMethod::Get, list).operation(HttpMethod::Post, attach).build()
}

/// `{"items": [Name]}`
fn list_of(name: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .property("items", utoipa::openapi::ArrayBuilder::new().items(reference(name)))
        .required("items")
}

/// `/api/v1/companies/{id}/portal/{part}`: the firm's side of a company's client portal.
fn portal(part: &str, item: &str, summary_list: &str, summary_post: &str, body: Content) -> PathItem {
    let missing = || problem_response("Unknown company, or another workspace's (E3002)");
    let list = operation("portal", summary_list)
        .parameter(id())
        .response(
            "200",
            ResponseBuilder::new().description("The list").content("application/json", json_of(list_of(item))),
        )
        .response("404", missing());
    let post = operation("portal", summary_post)
        .parameter(id())
        .request_body(Some(
            RequestBodyBuilder::new()
                .content(if part == "documents" { "multipart/form-data" } else { "application/json" }, body)
                .build(),
        ))
        .response(
            "201",
            ResponseBuilder::new().description("Created").content("application/json", json_of(reference(item))),
        )
        .response("400", problem_response("A field is missing, too long or malformed (E2001, E2002, E2004)"))
        .response("403", problem_response("Only managers and above, or the company's owner (E1005)"))
        .response("404", missing());
    PathItemBuilder::new().operation(HttpMethod::Get, list).operation(HttpMethod::Post, post).build()
}

fn portal_paths(mut paths: PathsBuilder) -> PathsBuilder {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let file = ObjectBuilder::new()
        .property(
            "file",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Binary))),
        )
        .description(Some("A new file (multipart), or JSON {\"file_id\"} to share one of the company's attachments"));
    let request = ObjectBuilder::new()
        .property("title", text())
        .property("due", text().description(Some("YYYY-MM-DD")))
        .property(
            "items",
            utoipa::openapi::ArrayBuilder::new().items(ObjectBuilder::new().property("text", text()).required("text")),
        )
        .required("title")
        .required("due")
        .required("items");
    let message = ObjectBuilder::new()
        .property("body", text())
        .property("internal", ObjectBuilder::new().schema_type(Type::Boolean).description(Some("A staff-only note")))
        .required("body");
    let base = "/api/v1/companies/{id}/portal";
    paths = paths.path(
        format!("{base}/documents"),
        portal(
            "documents",
            "PortalDocument",
            "Documents shared with the company's clients",
            "Share a document",
            json_of(file),
        ),
    );
    paths = paths.path(
        format!("{base}/requests"),
        portal(
            "requests",
            "PortalRequest",
            "The firm's requests of the company's clients",
            "Ask for documents or answers by a date",
            json_of(request),
        ),
    );
    paths.path(
        format!("{base}/messages"),
        portal(
            "messages",
            "PortalMessage",
            "The company's thread, internal notes included",
            "Write to the clients, or add an internal note",
            json_of(message),
        ),
    )
}

fn search() -> OperationBuilder {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let hit = ObjectBuilder::new()
        .property("kind", text().description(Some("company, contact, deal, note or task")))
        .property("id", text())
        .property("title", text())
        .property("snippet", text().description(Some("HTML: escaped text with <mark> around matches")))
        .property("url", text());
    let answer = ObjectBuilder::new()
        .property("items", ArrayBuilder::new().items(hit))
        .property(
            "total",
            ObjectBuilder::new().schema_type(Type::Integer).description(Some("Every match, not just this page")),
        )
        .required("items")
        .required("total");
    operation("search", "Search everything the caller may read")
        .parameter(query("q", "Words; the last one also matches as a prefix; typos tolerated"))
        .parameter(query("kind", "Only this kind"))
        .parameter(query("limit", "1–50, default 20"))
        .response(
            "200",
            ResponseBuilder::new().description("Hits, best first").content("application/json", json_of(answer)),
        )
        .response("422", problem_response("Invalid kind or limit (E2004)"))
}

fn problem() -> Schema {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .property("type", text())
        .property("title", text())
        .property("status", ObjectBuilder::new().schema_type(Type::Integer))
        .property("code", text().description(Some("Stable error code, e.g. E2003 (docs/errors.md)")))
        .property("field", text().description(Some("The input field in error, when there is one")))
        .property("request_id", text())
        .property("detail", text().description(Some("What to do about it, when there is more to say")))
        .required("code")
        .into()
}

/// Builds the document once.
pub fn document() -> &'static OpenApi {
    static DOCUMENT: OnceLock<OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let resources = [
            resource::<Company>(),
            resource::<Contact>(),
            resource::<Deal>(),
            resource::<Note>(),
            resource::<Task>(),
        ];
        let mut paths = PathsBuilder::new();
        let mut components = ComponentsBuilder::new()
            .schema("Problem", problem())
            .security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        for r in &resources {
            paths = paths.path(format!("/api/v1/{}", r.plural), collection(r));
            paths = paths.path(format!("/api/v1/{}/{{id}}", r.plural), member(r));
            components = components.schemas_from_iter(r.schemas.clone());
        }
        let me = operation("account", "Who the token acts as").response(
            "200",
            ResponseBuilder::new().description("user_id, workspace_id, role"),
        );
        paths = paths.path("/api/v1/me", PathItem::new(HttpMethod::Get, me));
        paths = paths.path("/api/v1/search", PathItem::new(HttpMethod::Get, search()));
        for plural in ["contacts", "companies", "deals", "notes"] {
            paths = paths.path(format!("/api/v1/{plural}/{{id}}/files"), record_files(plural));
        }
        let link = operation("files", "A download link for the caller alone, valid five minutes")
            .parameter(id())
            .response("200", ResponseBuilder::new().description("The link").content("application/json", json_of(reference("FileLink"))))
            .response("404", problem_response("Unknown file, or another workspace's (E3002)"));
        paths = paths.path("/api/v1/files/{id}/link", PathItem::new(HttpMethod::Get, link));
        let delete = operation("files", "Delete a file (audited)")
            .parameter(id())
            .response("204", ResponseBuilder::new().description("Deleted"))
            .response("404", problem_response("Unknown file, or another workspace's (E3002)"));
        paths = paths.path("/api/v1/files/{id}", PathItem::new(HttpMethod::Delete, delete));
        paths = portal_paths(paths);
        let file_schemas = [
            (FileView::name(), FileView::schema()),
            (FileList::name(), FileList::schema()),
            (LinkView::name(), LinkView::schema()),
            (DocumentView::name(), DocumentView::schema()),
            (ReceiptView::name(), ReceiptView::schema()),
            (RequestView::name(), RequestView::schema()),
            (ItemView::name(), ItemView::schema()),
            (MessageView::name(), MessageView::schema()),
        ];
        components = components.schemas_from_iter(file_schemas.into_iter().map(|(n, s)| (n.into_owned(), s)));
        OpenApiBuilder::new()
            .info(InfoBuilder::new().title("Holdfast API").version(env!("CARGO_PKG_VERSION")).description(Some(
                "Bearer-token JSON API: Authorization: Bearer hf_… (a personal API token, acting with its user's role).",
            )))
            .paths(paths)
            .components(Some(components.build()))
            .build()
    })
}

pub async fn serve() -> Response {
    match serde_json::to_string(document()) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => {
            crate::web::error::ApiError::from(crate::error::AppError::internal(crate::error::ErrorCode::Internal, e))
                .into_response()
        }
    }
}
