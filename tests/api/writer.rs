//! The writer's batch, table by table, on a real database: each request's outcome is what it would
//! be committed alone — a webhook stored twice in one batch is a duplicate the second time, a call
//! changed twice in one batch keeps its last state, a timeline entry may follow the call created
//! in the same batch, an org created earlier in the batch is there for the rest, and a request
//! whose change is already made leaves no trace.

use crate::helpers::*;
use diesel::prelude::*;
use switchboard::db::models::{CallEventRow, CallRow, ContactRow, InboxRow, OrgRow};
use switchboard::db::schema::{call_events, calls, contacts, events, webhook_inbox};
use switchboard::db::writes::{apply, SeqCache, WriteOp, WriteOutcome, WriteRequest};
use switchboard::db::{connect, run_migrations, SqliteSync};
use switchboard::domain::call::{Call, CallStatus, Direction};
use switchboard::domain::events::{EventType, NewEvent};
use switchboard::domain::ids::{CallId, OrgId};

fn inbox(org: &OrgId, key: &str) -> InboxRow {
    InboxRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.to_string(),
        provider: "twilio".into(),
        dedupe_key: key.into(),
        kind: "twilio.status".into(),
        content_type: None,
        body: key.as_bytes().to_vec(),
        outcome: "applied".into(),
        received_at: "2026-12-01T10:00:00.000Z".into(),
    }
}

fn timeline(org: &OrgId, call: &CallId, key: &str, status: &str) -> CallEventRow {
    CallEventRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.to_string(),
        call_id: call.to_string(),
        dedupe_key: Some(key.into()),
        source: "provider".into(),
        kind: "twilio.status".into(),
        raw_status: Some(status.into()),
        status_after: status.into(),
        occurred_at: None,
        received_at: "2026-12-01T10:00:00.000Z".into(),
        data: "{}".into(),
    }
}

fn event(call: &CallId) -> NewEvent {
    NewEvent {
        event_type: EventType::CallUpdated,
        subject: call.to_string(),
        data: serde_json::json!({"id": call.to_string()}),
    }
}

/// One provider callback's request: its webhook, the call's new state, a timeline entry, an event.
fn callback(org: &OrgId, call: &Call, key: &str) -> WriteRequest {
    WriteRequest {
        org_id: org.clone(),
        ops: vec![
            WriteOp::AcceptWebhook(inbox(org, key)),
            WriteOp::UpsertCall(Box::new(CallRow::from(call))),
            WriteOp::AppendTimeline(timeline(org, &call.id, key, call.status.as_str())),
        ],
        events: vec![event(&call.id)],
    }
}

#[test]
fn a_batch_table_by_table_gives_each_request_its_own_outcome() {
    let url = fresh_database();
    let mut conn = connect(&url, SqliteSync::Normal).unwrap();
    run_migrations(&mut conn).unwrap();
    let org = OrgId::generate();
    let now = chrono::Utc::now();
    let create_org = WriteRequest {
        org_id: org.clone(),
        ops: vec![WriteOp::CreateOrg(OrgRow {
            id: org.to_string(),
            name: "Acme".into(),
            api_token_hash: format!("a{org}"),
            webhook_token_hash: format!("w{org}"),
            default_country: "IN".into(),
            created_at: "2026-12-01T10:00:00.000Z".into(),
            record: false,
        })],
        events: vec![],
    };
    let contact = ContactRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.to_string(),
        phone: "+919812300001".into(),
        name: Some("Asha".into()),
        company: None,
        fields: "{}".into(),
        created_at: "2026-12-01T10:00:00.000Z".into(),
        updated_at: "2026-12-01T10:00:00.000Z".into(),
    };
    let add_contact = |id: &str| WriteRequest {
        org_id: org.clone(),
        ops: vec![WriteOp::InsertContact(ContactRow {
            id: id.to_owned(),
            ..contact.clone()
        })],
        events: vec![event(&CallId::generate())],
    };
    let mut call = Call::new(
        CallId::generate(),
        org.clone(),
        "twilio",
        Some("CAbatch".into()),
        Direction::Outbound,
        now,
    );
    call.status = CallStatus::Ringing;
    let ringing = callback(&org, &call, "CAbatch:ringing");
    let ringing_again = callback(&org, &call, "CAbatch:ringing");
    call.status = CallStatus::Answered;
    let answered = callback(&org, &call, "CAbatch:answered");
    let second_contact = add_contact("another-id");
    let batch = [
        &create_org,
        &ringing,
        &ringing_again,
        &add_contact(&contact.id),
        &answered,
        &second_contact,
    ];
    let mut seqs = SeqCache::default();
    let outcomes = conn
        .transaction(|conn| apply(conn, &batch, &mut seqs, now))
        .unwrap();

    let seqs_of = |outcome: &WriteOutcome| match outcome {
        WriteOutcome::Committed(events) => Some(events.iter().map(|e| e.seq).collect::<Vec<_>>()),
        WriteOutcome::Duplicate => None,
    };
    let seen: Vec<Option<Vec<i64>>> = outcomes.iter().map(seqs_of).collect();
    assert_eq!(
        seen,
        [
            Some(vec![]),
            Some(vec![1]),
            None, // the same webhook again
            Some(vec![2]),
            Some(vec![3]),
            None, // the same phone again: no contact, no event
        ]
    );

    let org_id = org.to_string();
    let status: String = calls::table
        .find(call.id.to_string())
        .select(calls::status)
        .first(&mut conn)
        .unwrap();
    assert_eq!(
        status, "answered",
        "the last state of the call in the batch"
    );
    let entries: i64 = call_events::table
        .filter(call_events::call_id.eq(call.id.to_string()))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(entries, 2);
    let stored: i64 = webhook_inbox::table
        .filter(webhook_inbox::org_id.eq(&org_id))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(stored, 2);
    let logged: Vec<i64> = events::table
        .filter(events::org_id.eq(&org_id))
        .select(events::seq)
        .order(events::seq)
        .load(&mut conn)
        .unwrap();
    assert_eq!(logged, [1, 2, 3]);
    let people: i64 = contacts::table
        .filter(contacts::org_id.eq(&org_id))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(people, 1);
}

/// A caller's history is read off three indexes and deduplicated: a call linked to the contact
/// and from its phone counts once, calls to its phone count too, and the count stops at the
/// bound however often the number called; the latest call is the newest of all three.
#[test]
fn a_callers_history_counts_each_call_once_up_to_the_bound() {
    use switchboard::db::queries::{contact_call_count, contact_calls, CONTACT_CALLS_COUNTED};
    let url = fresh_database();
    let mut conn = connect(&url, SqliteSync::Normal).unwrap();
    run_migrations(&mut conn).unwrap();
    let org = OrgId::generate();
    let now = chrono::Utc::now();
    let phone = "+919812300001";
    let org_row = OrgRow {
        id: org.to_string(),
        name: "Acme".into(),
        api_token_hash: format!("a{org}"),
        webhook_token_hash: format!("w{org}"),
        default_country: "IN".into(),
        created_at: "2026-12-01T10:00:00.000Z".into(),
        record: false,
    };
    let call = |from: Option<&str>, to: Option<&str>, contact: Option<&str>| {
        let mut call = Call::new(
            CallId::generate(),
            org.clone(),
            "twilio",
            None,
            Direction::Inbound,
            now,
        );
        call.from = from.map(str::to_owned);
        call.to = to.map(str::to_owned);
        call.contact_id = contact.map(str::to_owned);
        WriteOp::UpsertCall(Box::new(CallRow::from(&call)))
    };
    // 3 calls: linked and from the phone (once), only to the phone, only linked.
    let mut ops = vec![
        WriteOp::CreateOrg(org_row),
        call(Some(phone), None, Some("contact-1")),
        call(None, Some(phone), None),
        call(Some("+15550001111"), None, Some("contact-1")),
        call(Some("+15550002222"), None, None), // someone else's
    ];
    let write = |conn: &mut switchboard::db::DbConnection, ops: Vec<WriteOp>| {
        let request = WriteRequest {
            org_id: org.clone(),
            ops,
            events: vec![],
        };
        conn.transaction(|conn| apply(conn, &[&request], &mut SeqCache::default(), now))
            .unwrap();
    };
    write(&mut conn, std::mem::take(&mut ops));
    assert_eq!(
        contact_call_count(&mut conn, org.as_str(), "contact-1", phone).unwrap(),
        3
    );
    let newest = contact_calls(&mut conn, org.as_str(), "contact-1", phone, 1).unwrap();
    assert_eq!(
        newest[0].from_number.as_deref(),
        Some("+15550001111"),
        "the newest of the three"
    );

    let many = (0..CONTACT_CALLS_COUNTED + 20)
        .map(|_| call(Some(phone), None, None))
        .collect();
    write(&mut conn, many);
    assert_eq!(
        contact_call_count(&mut conn, org.as_str(), "contact-1", phone).unwrap(),
        CONTACT_CALLS_COUNTED
    );
}
