//! Contacts: the org's callers and leads, one per phone number, and the screen pop an agent sees
//! when one of them calls.

use crate::db::models::{into_calls, ContactRow};
use crate::db::writer::Writer;
use crate::db::writes::{WriteOp, WriteOutcome, WriteRequest};
use crate::db::{self, queries, DbPool};
use crate::domain::ids::OrgId;
use crate::domain::phone::PhoneNumber;
use crate::domain::time::to_text;
use crate::engine::orgs::Org;
use crate::error::{AppError, Code};
use serde_json::{Map, Value};

/// Fields a contact keeps in columns; every other field goes to its JSON `fields`.
const COLUMNS: [&str; 6] = ["id", "phone", "name", "company", "created_at", "updated_at"];

/// A contact's text field from a request body: a string, or null to clear it.
fn text_field(body: &Map<String, Value>, name: &'static str) -> Result<Option<String>, AppError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
        Some(_) => Err(AppError::new(
            Code::InvalidContact,
            format!("`{name}` must be a string"),
        )),
    }
}

/// Reads a phone field in the org's default country.
pub fn parse_phone(org: &Org, raw: &str) -> Result<PhoneNumber, AppError> {
    PhoneNumber::parse(raw, &org.default_country)
        .map_err(|e| AppError::new(Code::InvalidPhone, e.to_string()))
}

/// The contact a body describes (`phone` required, `name`, `company`, any other fields kept).
pub fn from_body(org: &Org, body: &Value) -> Result<ContactRow, AppError> {
    let object = body
        .as_object()
        .ok_or_else(|| AppError::new(Code::InvalidContact, "a contact is a JSON object"))?;
    let phone = match object.get("phone") {
        Some(Value::String(raw)) => parse_phone(org, raw)?,
        Some(Value::Number(n)) => parse_phone(org, &n.to_string())?,
        _ => {
            return Err(AppError::new(
                Code::InvalidContact,
                "`phone` is required (a string)",
            ))
        }
    };
    let now = to_text(chrono::Utc::now());
    Ok(ContactRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.id.to_string(),
        phone: phone.e164().to_owned(),
        name: text_field(object, "name")?,
        company: text_field(object, "company")?,
        fields: extra_fields(object).to_string(),
        created_at: now.clone(),
        updated_at: now,
    })
}

fn extra_fields(object: &Map<String, Value>) -> Value {
    Value::Object(
        object
            .iter()
            .filter(|(k, _)| !COLUMNS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Applies a PATCH body to a contact: given fields replace, `null` clears, others stay.
pub fn patched(org: &Org, mut row: ContactRow, body: &Value) -> Result<ContactRow, AppError> {
    let object = body
        .as_object()
        .ok_or_else(|| AppError::new(Code::InvalidContact, "a patch is a JSON object"))?;
    if let Some(phone) = object.get("phone") {
        let raw = phone
            .as_str()
            .ok_or_else(|| AppError::new(Code::InvalidContact, "`phone` must be a string"))?;
        row.phone = parse_phone(org, raw)?.e164().to_owned();
    }
    if object.contains_key("name") {
        row.name = text_field(object, "name")?;
    }
    if object.contains_key("company") {
        row.company = text_field(object, "company")?;
    }
    let mut fields: Map<String, Value> = serde_json::from_str(&row.fields).unwrap_or_default();
    for (k, v) in extra_fields(object).as_object().into_iter().flatten() {
        if v.is_null() {
            fields.remove(k);
        } else {
            fields.insert(k.clone(), v.clone());
        }
    }
    row.fields = Value::Object(fields).to_string();
    row.updated_at = to_text(chrono::Utc::now());
    Ok(row)
}

/// Stores a contact's new fields (already checked: its phone is no other contact's).
pub async fn update(writer: &Writer, row: ContactRow) -> Result<(), AppError> {
    let org_id = OrgId::from_stored(row.org_id.clone());
    writer
        .commit_op(&org_id, WriteOp::UpdateContact(row))
        .await
        .map(drop)
}

/// Stores a new contact; a phone the org already has is a 409.
pub async fn insert(writer: &Writer, row: ContactRow) -> Result<ContactRow, AppError> {
    let outcome = writer
        .commit(WriteRequest {
            org_id: OrgId::from_stored(row.org_id.clone()),
            ops: vec![WriteOp::InsertContact(row.clone())],
            events: Vec::new(),
        })
        .await?;
    match outcome {
        WriteOutcome::Committed(_) => Ok(row),
        WriteOutcome::Duplicate => Err(AppError::new(
            Code::ContactExists,
            format!("a contact with phone {} already exists", row.phone),
        )),
    }
}

/// The org's contact for a phone, created (with no name) if there is none.
pub async fn find_or_create(
    pool: &DbPool,
    writer: &Writer,
    org: &Org,
    phone: &PhoneNumber,
) -> Result<ContactRow, AppError> {
    let row = from_body(org, &serde_json::json!({ "phone": phone.e164() }))?;
    find_or_insert(pool, writer, row).await
}

/// The org's contact with `row`'s phone: the one it already has (kept as it is), else `row`.
pub async fn find_or_insert(
    pool: &DbPool,
    writer: &Writer,
    row: ContactRow,
) -> Result<ContactRow, AppError> {
    let (org_id, phone) = (row.org_id.clone(), row.phone.clone());
    let lookup =
        move |conn: &mut db::DbConnection| Ok(queries::contact_by_phone(conn, &org_id, &phone)?);
    if let Some(found) = db::read(pool, lookup.clone()).await? {
        return Ok(found);
    }
    match insert(writer, row).await {
        Ok(row) => Ok(row),
        // Created meanwhile by another request: read that one.
        Err(e) if e.code == Code::ContactExists => db::read(pool, lookup)
            .await?
            .ok_or(AppError::not_found("contact")),
        Err(other) => Err(other),
    }
}

/// The screen pop for an incoming call from `contact`: who it is, how often and how lately they
/// called, their last five calls, the sentiment of the newest bot call that read one, and whom to
/// give the call to (the online extension free the longest; null when none).
pub async fn screen_pop(pool: &DbPool, contact: &ContactRow) -> Result<Value, AppError> {
    let (org_id, id, phone) = (
        contact.org_id.clone(),
        contact.id.clone(),
        contact.phone.clone(),
    );
    let (count, last, agent) = db::read(pool, move |conn| {
        let count = queries::contact_call_count(conn, &org_id, &id, &phone)?;
        let last = into_calls(queries::contact_calls(conn, &org_id, &id, &phone, 20)?)?;
        let agent = queries::longest_free_extension(conn, &org_id)?
            .map(|row| serde_json::json!({"number": row.number, "name": row.name}));
        Ok((count, last, agent))
    })
    .await?;
    // The sentiment a voice bot read in the newest of these calls that has one.
    let sentiment = last
        .iter()
        .find_map(|c| c.analytics.as_ref()?.get("sentiment").cloned());
    let history: Vec<Value> = last
        .iter()
        .take(5)
        .map(|c| {
            serde_json::json!({
                "call_id": c.id, "created_at": c.created_at, "direction": c.direction,
                "status": c.status, "talk_s": c.talk_s(),
                "disposition": c.disposition.as_ref().map(|d| &d.code),
            })
        })
        .collect();
    let last = last.first();
    Ok(serde_json::json!({
        "contact": contact.to_json(),
        "caller_name": contact.name,
        "company": contact.company,
        "previous_calls": count,
        "last_call_at": last.map(|c| c.created_at),
        "last_call_status": last.map(|c| c.status),
        "last_sentiment": sentiment,
        "history": history,
        "suggested_agent": agent,
    }))
}
