//! What the writer does inside a transaction. Only the writer thread calls these.

use super::models::*;
use super::schema::*;
use super::DbConnection;
use crate::domain::events::{NewEvent, OrgEvent};
use crate::domain::ids::OrgId;
use crate::domain::time::to_text;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;

/// One durable change.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Stores a raw webhook unless its dedupe key is already stored; a stored key makes the whole
    /// request a duplicate, with no effect.
    AcceptWebhook(InboxRow),
    CreateOrg(OrgRow),
    /// Replaces an org's tokens (their hashes): the old ones stop working.
    RotateOrgTokens {
        org_id: String,
        api_token_hash: String,
        webhook_token_hash: String,
    },
    PutProviderAccount(ProviderAccountRow),
    InsertApiToken(ApiTokenRow),
    /// Revokes a scoped token of the org; an unknown one makes the request a duplicate.
    DeleteApiToken {
        org_id: String,
        id: String,
    },
    UpsertCall(Box<CallRow>),
    /// Adds a contact unless its phone is already the org's: then the request is a duplicate.
    InsertContact(ContactRow),
    UpsertExtension(ExtensionRow),
    /// Lists a number as do-not-call unless it already is: then the request is a duplicate.
    InsertDnc(DncRow),
    UpsertCampaign(CampaignRow),
    /// Adds a contact to a campaign, unless it is already in it (then nothing happens).
    AddCampaignContact(CampaignContactRow),
    UpdateCampaignContact(CampaignContactRow),
    /// Takes a number off the do-not-call list; a number not listed makes the request a duplicate.
    DeleteDnc {
        org_id: String,
        phone: String,
    },
    UpdateContact(ContactRow),
    AppendTimeline(CallEventRow),
}

/// Everything one request changes, committed together with the events it publishes.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub org_id: OrgId,
    pub ops: Vec<WriteOp>,
    pub events: Vec<NewEvent>,
}

/// What became of a request once its transaction committed.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    /// Stored; these are its events with their seq.
    Committed(Vec<OrgEvent>),
    /// Its webhook was already stored: nothing was written.
    Duplicate,
}

/// The last seq given out per org, so a batch does not ask the database for each event.
#[derive(Debug, Default)]
pub struct SeqCache(HashMap<String, i64>);

impl SeqCache {
    fn next(&mut self, conn: &mut DbConnection, org_id: &str) -> QueryResult<i64> {
        let last = match self.0.get(org_id) {
            Some(last) => *last,
            None => events::table
                .filter(events::org_id.eq(org_id))
                .select(diesel::dsl::max(events::seq))
                .first::<Option<i64>>(conn)?
                .unwrap_or(0),
        };
        self.0.insert(org_id.to_owned(), last + 1);
        Ok(last + 1)
    }

    /// Forgets everything: after a rolled-back transaction the cache may be ahead of the database.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// Applies one request inside the caller's transaction.
pub fn apply(
    conn: &mut DbConnection,
    request: &WriteRequest,
    seqs: &mut SeqCache,
    now: DateTime<Utc>,
) -> QueryResult<WriteOutcome> {
    for op in &request.ops {
        match op {
            WriteOp::AcceptWebhook(row) => {
                let inserted = db_run!(conn, |c| diesel::insert_into(webhook_inbox::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c))?;
                if inserted == 0 {
                    return Ok(WriteOutcome::Duplicate);
                }
            }
            WriteOp::CreateOrg(row) => {
                diesel::insert_into(orgs::table).values(row).execute(conn)?;
            }
            WriteOp::RotateOrgTokens {
                org_id,
                api_token_hash,
                webhook_token_hash,
            } => {
                diesel::update(orgs::table.find(org_id))
                    .set((
                        orgs::api_token_hash.eq(api_token_hash),
                        orgs::webhook_token_hash.eq(webhook_token_hash),
                    ))
                    .execute(conn)?;
            }
            WriteOp::InsertApiToken(row) => {
                diesel::insert_into(api_tokens::table)
                    .values(row)
                    .execute(conn)?;
            }
            WriteOp::DeleteApiToken { org_id, id } => {
                let doomed = api_tokens::table
                    .filter(api_tokens::org_id.eq(org_id))
                    .filter(api_tokens::id.eq(id));
                if diesel::delete(doomed).execute(conn)? == 0 {
                    return Ok(WriteOutcome::Duplicate);
                }
            }
            WriteOp::PutProviderAccount(row) => {
                db_run!(conn, |c| diesel::insert_into(provider_accounts::table)
                    .values(row)
                    .on_conflict((provider_accounts::org_id, provider_accounts::provider))
                    .do_update()
                    .set(row)
                    .execute(c))?;
            }
            WriteOp::UpsertCall(row) => {
                let row: &CallRow = row;
                db_run!(conn, |c| diesel::insert_into(calls::table)
                    .values(row)
                    .on_conflict(calls::id)
                    .do_update()
                    .set(row)
                    .execute(c))?;
            }
            WriteOp::InsertContact(row) => {
                let inserted = db_run!(conn, |c| diesel::insert_into(contacts::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c))?;
                if inserted == 0 {
                    return Ok(WriteOutcome::Duplicate);
                }
            }
            WriteOp::UpsertExtension(row) => {
                db_run!(conn, |c| diesel::insert_into(extensions::table)
                    .values(row)
                    .on_conflict((extensions::org_id, extensions::number))
                    .do_update()
                    .set(row)
                    .execute(c))?;
            }
            WriteOp::InsertDnc(row) => {
                let inserted = db_run!(conn, |c| diesel::insert_into(dnc::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c))?;
                if inserted == 0 {
                    return Ok(WriteOutcome::Duplicate);
                }
            }
            WriteOp::UpsertCampaign(row) => {
                db_run!(conn, |c| diesel::insert_into(campaigns::table)
                    .values(row)
                    .on_conflict(campaigns::id)
                    .do_update()
                    .set(row)
                    .execute(c))?;
            }
            WriteOp::AddCampaignContact(row) => {
                db_run!(conn, |c| diesel::insert_into(campaign_contacts::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c))?;
            }
            WriteOp::UpdateCampaignContact(row) => {
                diesel::update(campaign_contacts::table.find((&row.campaign_id, &row.contact_id)))
                    .set(row)
                    .execute(conn)?;
            }
            WriteOp::DeleteDnc { org_id, phone } => {
                if diesel::delete(dnc::table.find((org_id, phone))).execute(conn)? == 0 {
                    return Ok(WriteOutcome::Duplicate);
                }
            }
            WriteOp::UpdateContact(row) => {
                diesel::update(contacts::table.find(&row.id))
                    .set(row)
                    .execute(conn)?;
            }
            WriteOp::AppendTimeline(row) => {
                diesel::insert_into(call_events::table)
                    .values(row)
                    .execute(conn)?;
            }
        }
    }
    let org_id = request.org_id.as_str();
    let mut committed = Vec::with_capacity(request.events.len());
    for event in &request.events {
        let row = EventRow {
            org_id: org_id.to_owned(),
            seq: seqs.next(conn, org_id)?,
            event_type: event.event_type.as_str().to_owned(),
            subject: event.subject.clone(),
            data: event.data.to_string(),
            at: to_text(now),
        };
        diesel::insert_into(events::table)
            .values(&row)
            .execute(conn)?;
        committed.push(row.into_event());
    }
    Ok(WriteOutcome::Committed(committed))
}
