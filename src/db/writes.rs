//! What the writer does inside a transaction. Only the writer thread calls these.

use super::models::*;
use super::schema::*;
use super::DbConnection;
use crate::domain::events::{NewEvent, OrgEvent};
use crate::domain::ids::OrgId;
use crate::domain::tally::{Tally, TallyKey};
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
    /// Changes an org's settings: each field given is set.
    ChangeOrg(super::models::OrgChange),
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
    /// Changes an org's totals by these amounts (a call's old share out, its new one in).
    AddTotals {
        org_id: String,
        changes: Vec<Tally>,
    },
    /// Replaces every rate of an org.
    PutRates {
        org_id: String,
        rates: Vec<RateRow>,
    },
    /// Creates or replaces an org's currency and credit settings (not its balance).
    PutCreditAccount(CreditAccountRow),
    /// Adds to an org's balance (credits are on from then), with its ledger line and a
    /// `credits:updated` event.
    TopUp {
        org_id: String,
        amount_micros: i64,
        ledger_id: String,
        at: String,
    },
    /// Brings what a call has been debited to its cost: the first time its cost, later only the
    /// difference (a late price), never twice — counted from the ledger inside the transaction.
    /// Nothing when the org's credits are off.
    SettleCall {
        org_id: String,
        call_id: String,
        cost_micros: i64,
        ledger_id: String,
        at: String,
    },
    Desk(DeskOp),
}

/// The agent desk's durable changes.
#[derive(Debug, Clone)]
pub enum DeskOp {
    /// Creates or replaces an agent (configuration and availability).
    PutAgent(super::desk::AgentRow),
    /// Deletes an agent of the org; an unknown one makes the request a duplicate.
    DeleteAgent {
        org_id: String,
        id: String,
    },
    PutQueue(super::desk::QueueRow),
    /// Deletes a queue of the org; an unknown one makes the request a duplicate.
    DeleteQueue {
        org_id: String,
        id: String,
    },
    /// Replaces an org's disposition codes.
    PutDispositionCodes {
        org_id: String,
        codes: Vec<super::desk::DispositionCodeRow>,
    },
    /// Creates or replaces a scheduled callback.
    PutCallback(super::desk::CallbackRow),
    /// An agent's availability, as it or the desk set it.
    SetAgentAvailability {
        org_id: String,
        id: String,
        availability: String,
        reason: Option<String>,
        since: String,
    },
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

/// How many rows go in one multi-row statement: under SQLite's 32,766 (and PostgreSQL's 65,535)
/// bound parameters for the widest table's rows (a test pins it).
const ROWS_PER_STATEMENT: usize = 500;

/// `SET column = excluded.column` for each column named: an upsert that takes the new row.
macro_rules! excluded {
    ($table:ident: $($column:ident),+ $(,)?) => {
        ($($table::$column.eq(diesel::upsert::excluded($table::$column)),)+)
    };
}

/// Rows by key, in the order their keys first came, each the last one put under its key: one
/// upsert may not touch a row twice.
struct LastByKey<K, T> {
    rows: Vec<T>,
    at: HashMap<K, usize>,
}

impl<K: std::hash::Hash + Eq, T> Default for LastByKey<K, T> {
    fn default() -> Self {
        LastByKey {
            rows: Vec::new(),
            at: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq, T> LastByKey<K, T> {
    fn put(&mut self, key: K, row: T) {
        match self.at.get(&key) {
            Some(&at) => self.rows[at] = row,
            None => {
                self.at.insert(key, self.rows.len());
                self.rows.push(row);
            }
        }
    }
}

/// The rows of a batch that are written table by table, a few statements for the whole batch: the
/// last state of each call and extension, and every timeline entry and org event in order.
#[derive(Default)]
struct TableRows<'a> {
    calls: LastByKey<&'a str, &'a CallRow>,
    extensions: LastByKey<(&'a str, &'a str), &'a ExtensionRow>,
    timeline: Vec<&'a CallEventRow>,
    events: Vec<EventRow>,
    /// The batch's changes of the totals, summed per org and key in the order keys first came.
    totals: Vec<(&'a str, Tally)>,
    totals_at: HashMap<(&'a str, TallyKey<'a>), usize>,
}

impl<'a> TableRows<'a> {
    fn add_totals(&mut self, org_id: &'a str, changes: &'a [Tally]) {
        for change in changes {
            match self.totals_at.get(&(org_id, change.key())) {
                Some(&i) => self.totals[i].1.add(change),
                None => {
                    self.totals_at
                        .insert((org_id, change.key()), self.totals.len());
                    self.totals.push((org_id, change.clone()));
                }
            }
        }
    }

    /// Calls first: timeline entries reference them.
    fn write(self, conn: &mut DbConnection) -> QueryResult<()> {
        for rows in self.calls.rows.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<&CallRow> = rows.to_vec();
            db_run!(conn, |c| diesel::insert_into(calls::table)
                .values(rows)
                .on_conflict(calls::id)
                .do_update()
                .set(
                    excluded!(calls: org_id, provider, provider_call_id, direction, status,
                    from_number, to_number, campaign_id, contact_id, extensions, created_at,
                    started_at, ringing_at, answered_at, ended_at, duration_s, talk_s,
                    reported_talk_s, cost, currency, hangup_cause, recording_url, analytics,
                    final_by, last_event_at, updated_at, carrier_call_id, recording, billed_s,
                    cost_micros, provider_price, queue_id, queued_at, agent_id, assigned_at,
                    disposition, disposition_detail, amd)
                )
                .execute(c))?;
        }
        for rows in self.extensions.rows.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<&ExtensionRow> = rows.to_vec();
            db_run!(conn, |c| diesel::insert_into(extensions::table)
                .values(rows)
                .on_conflict((extensions::org_id, extensions::number))
                .do_update()
                .set(
                    excluded!(extensions: name, registered, dnd, presence, calls, left_calls,
                    since, updated_at)
                )
                .execute(c))?;
        }
        for rows in self.timeline.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<&CallEventRow> = rows.to_vec();
            db_run!(conn, |c| diesel::insert_into(call_events::table)
                .values(rows)
                .execute(c))?;
        }
        for rows in self.events.chunks(ROWS_PER_STATEMENT) {
            db_run!(conn, |c| diesel::insert_into(events::table)
                .values(rows)
                .execute(c))?;
        }
        // The batch's changes, summed per key, added to what is stored.
        let totals: Vec<CallTotalsRow> = self
            .totals
            .iter()
            .map(|(org_id, sum)| CallTotalsRow::of(org_id, sum))
            .collect();
        for rows in totals.chunks(ROWS_PER_STATEMENT) {
            use call_totals::dsl as t;
            let rows: Vec<&CallTotalsRow> = rows.iter().collect();
            use diesel::upsert::excluded;
            db_run!(conn, |c| diesel::insert_into(call_totals::table)
                .values(rows)
                .on_conflict((t::org_id, t::day, t::campaign_id, t::status, t::currency))
                .do_update()
                .set((
                    t::calls.eq(t::calls + excluded(t::calls)),
                    t::answered.eq(t::answered + excluded(t::answered)),
                    t::talk_s.eq(t::talk_s + excluded(t::talk_s)),
                    t::talked.eq(t::talked + excluded(t::talked)),
                    t::priced.eq(t::priced + excluded(t::priced)),
                    t::cost_micros.eq(t::cost_micros + excluded(t::cost_micros)),
                    t::billed_s.eq(t::billed_s + excluded(t::billed_s)),
                ))
                .execute(c))?;
        }
        Ok(())
    }
}

/// Applies a batch of requests inside the caller's transaction, with a few statements per table
/// for the whole batch rather than several per request: the batch's webhooks in one insert (which
/// tells which are duplicates), each request's other changes in order, then the last state of
/// every call and extension of the batch in one upsert each, and its timeline entries and org
/// events in one insert each. Each request's outcome is what it would be committed alone: a
/// request whose webhook is already stored, or whose change finds it already made, is a
/// `Duplicate` and changes nothing of the call model.
pub fn apply(
    conn: &mut DbConnection,
    requests: &[&WriteRequest],
    seqs: &mut SeqCache,
    now: DateTime<Utc>,
) -> QueryResult<Vec<WriteOutcome>> {
    let stored = store_webhooks(conn, requests)?;
    // One commit time for the batch, as the log stores it (to the millisecond), so a live event
    // and its replay say the same.
    let at = to_text(now);
    let at_time = crate::domain::time::from_text(&at).unwrap_or(now);
    let mut tables = TableRows::default();
    let mut outcomes = Vec::with_capacity(requests.len());
    for request in requests {
        let fresh = request.ops.iter().all(|op| match op {
            WriteOp::AcceptWebhook(row) => stored.contains(row.id.as_str()),
            _ => true,
        });
        let mut made = Vec::new();
        if !fresh || !apply_changes(conn, request, &mut made)? {
            outcomes.push(WriteOutcome::Duplicate);
            continue;
        }
        for op in &request.ops {
            match op {
                WriteOp::UpsertCall(row) => tables.calls.put(row.id.as_str(), row),
                WriteOp::UpsertExtension(row) => tables
                    .extensions
                    .put((row.org_id.as_str(), row.number.as_str()), row),
                WriteOp::AppendTimeline(row) => tables.timeline.push(row),
                WriteOp::AddTotals { org_id, changes } => tables.add_totals(org_id, changes),
                _ => {}
            }
        }
        let org_id = request.org_id.as_str();
        let mut committed = Vec::with_capacity(request.events.len() + made.len());
        for event in request.events.iter().chain(&made) {
            let seq = seqs.next(conn, org_id)?;
            // The event as published, built from what it is rather than read back from its row.
            committed.push(OrgEvent {
                seq,
                event_type: event.event_type,
                at: at_time,
                subject: event.subject.clone(),
                data: event.data.clone(),
            });
            tables.events.push(EventRow {
                org_id: org_id.to_owned(),
                seq,
                event_type: event.event_type.as_str().to_owned(),
                subject: event.subject.clone(),
                data: event.data.to_string(),
                at: at.clone(),
            });
        }
        outcomes.push(WriteOutcome::Committed(committed));
    }
    tables.write(conn)?;
    Ok(outcomes)
}

/// Stores the batch's raw webhooks whose dedupe key is not stored yet; answers the ids stored.
fn store_webhooks<'a>(
    conn: &mut DbConnection,
    requests: &[&'a WriteRequest],
) -> QueryResult<std::collections::HashSet<String>> {
    let rows: Vec<&'a InboxRow> = requests
        .iter()
        .flat_map(|r| &r.ops)
        .filter_map(|op| match op {
            WriteOp::AcceptWebhook(row) => Some(row),
            _ => None,
        })
        .collect();
    let mut stored = std::collections::HashSet::with_capacity(rows.len());
    for rows in rows.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<&InboxRow> = rows.to_vec();
        let ids: Vec<String> = db_run!(conn, |c| diesel::insert_into(webhook_inbox::table)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(webhook_inbox::id)
            .get_results(c))?;
        stored.extend(ids);
    }
    Ok(stored)
}

/// Makes a request's changes other than the call model's (orgs, tokens, contacts, campaigns, do-
/// not-call, credits), in order, adding to `made` the events a change makes inside the
/// transaction (a balance is known only there); false when one finds itself already made (the
/// request is a duplicate).
fn apply_changes(
    conn: &mut DbConnection,
    request: &WriteRequest,
    made: &mut Vec<NewEvent>,
) -> QueryResult<bool> {
    for op in &request.ops {
        match op {
            WriteOp::AcceptWebhook(_)
            | WriteOp::UpsertCall(_)
            | WriteOp::UpsertExtension(_)
            | WriteOp::AppendTimeline(_)
            | WriteOp::AddTotals { .. } => {}
            WriteOp::CreateOrg(row) => {
                diesel::insert_into(orgs::table).values(row).execute(conn)?;
            }
            WriteOp::ChangeOrg(change) => {
                diesel::update(orgs::table.find(&change.org_id))
                    .set(change)
                    .execute(conn)?;
            }
            WriteOp::Desk(op) => {
                if !apply_desk(conn, op)? {
                    return Ok(false);
                }
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
            WriteOp::PutRates {
                org_id,
                rates: rows,
            } => {
                diesel::delete(rates::table.filter(rates::org_id.eq(org_id))).execute(conn)?;
                for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                    let chunk: Vec<&RateRow> = chunk.iter().collect();
                    db_run!(conn, |c| diesel::insert_into(rates::table)
                        .values(chunk)
                        .execute(c))?;
                }
            }
            WriteOp::PutCreditAccount(row) => {
                db_run!(conn, |c| diesel::insert_into(credit_accounts::table)
                    .values(row)
                    .on_conflict(credit_accounts::org_id)
                    .do_update()
                    .set((
                        credit_accounts::currency.eq(&row.currency),
                        credit_accounts::low_threshold_micros.eq(row.low_threshold_micros),
                        credit_accounts::updated_at.eq(&row.updated_at),
                    ))
                    .execute(c))?;
            }
            WriteOp::TopUp {
                org_id,
                amount_micros,
                ledger_id,
                at,
            } => {
                let account = db_run!(conn, |c| diesel::insert_into(credit_accounts::table)
                    .values(CreditAccountRow {
                        org_id: org_id.clone(),
                        currency: crate::domain::billing::OrgBilling::default().currency,
                        enabled: true,
                        balance_micros: *amount_micros,
                        low_threshold_micros: None,
                        updated_at: at.clone(),
                    })
                    .on_conflict(credit_accounts::org_id)
                    .do_update()
                    .set((
                        credit_accounts::enabled.eq(true),
                        credit_accounts::balance_micros
                            .eq(credit_accounts::balance_micros + *amount_micros),
                        credit_accounts::updated_at.eq(at),
                    ))
                    .get_result::<CreditAccountRow>(c))?;
                made.push(record_credit(
                    conn,
                    &account,
                    *amount_micros,
                    None,
                    "top_up",
                    ledger_id,
                    at,
                )?);
            }
            WriteOp::SettleCall {
                org_id,
                call_id,
                cost_micros,
                ledger_id,
                at,
            } => {
                let account = credit_accounts::table
                    .find(org_id)
                    .filter(credit_accounts::enabled.eq(true))
                    .first::<CreditAccountRow>(conn)
                    .optional()?;
                let Some(account) = account else { continue };
                let debited: Vec<i64> = credit_ledger::table
                    .filter(credit_ledger::call_id.eq(call_id))
                    .select(credit_ledger::amount_micros)
                    .load(conn)?;
                let debited: i64 = debited.iter().sum();
                let change = -*cost_micros - debited;
                if change == 0 {
                    continue;
                }
                let reason = if debited == 0 { "call" } else { "adjustment" };
                let account = diesel::update(credit_accounts::table.find(org_id))
                    .set((
                        credit_accounts::balance_micros.eq(account.balance_micros + change),
                        credit_accounts::updated_at.eq(at),
                    ))
                    .get_result::<CreditAccountRow>(conn)?;
                made.push(record_credit(
                    conn,
                    &account,
                    change,
                    Some(call_id),
                    reason,
                    ledger_id,
                    at,
                )?);
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
                    return Ok(false);
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
            WriteOp::InsertContact(row) => {
                let inserted = db_run!(conn, |c| diesel::insert_into(contacts::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c))?;
                if inserted == 0 {
                    return Ok(false);
                }
            }
            WriteOp::InsertDnc(row) => {
                let inserted = db_run!(conn, |c| diesel::insert_into(dnc::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c))?;
                if inserted == 0 {
                    return Ok(false);
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
                    return Ok(false);
                }
            }
            WriteOp::UpdateContact(row) => {
                diesel::update(contacts::table.find(&row.id))
                    .set(row)
                    .execute(conn)?;
            }
        }
    }
    Ok(true)
}

/// The ledger line of a change of `account`'s balance (already applied) and its `credits:updated`.
fn record_credit(
    conn: &mut DbConnection,
    account: &CreditAccountRow,
    change: i64,
    call_id: Option<&String>,
    reason: &str,
    ledger_id: &str,
    at: &str,
) -> QueryResult<NewEvent> {
    use crate::domain::money::Money;
    diesel::insert_into(credit_ledger::table)
        .values(LedgerRow {
            id: ledger_id.to_owned(),
            org_id: account.org_id.clone(),
            at: at.to_owned(),
            amount_micros: change,
            balance_micros: account.balance_micros,
            call_id: call_id.cloned(),
            reason: reason.to_owned(),
        })
        .execute(conn)?;
    let mut data = serde_json::json!({
        "balance": Money::from_micros(account.balance_micros).to_string(),
        "currency": account.currency,
        "change": Money::from_micros(change).to_string(),
        "low": account.is_low(),
    });
    if let Some(call_id) = call_id {
        data["call_id"] = serde_json::json!(call_id);
    }
    Ok(NewEvent {
        event_type: crate::domain::events::EventType::CreditsUpdated,
        subject: account.org_id.clone(),
        data,
    })
}

/// Makes one of the agent desk's changes; false when a deletion finds nothing to delete.
fn apply_desk(conn: &mut DbConnection, op: &DeskOp) -> QueryResult<bool> {
    use super::desk::*;
    match op {
        DeskOp::PutAgent(row) => {
            db_run!(conn, |c| diesel::insert_into(agents::table)
                .values(row)
                .on_conflict(agents::id)
                .do_update()
                .set(row)
                .execute(c))?;
        }
        DeskOp::DeleteAgent { org_id, id } => {
            let gone = diesel::delete(
                agents::table.filter(agents::org_id.eq(org_id).and(agents::id.eq(id))),
            )
            .execute(conn)?;
            return Ok(gone > 0);
        }
        DeskOp::PutQueue(row) => {
            db_run!(conn, |c| diesel::insert_into(queues::table)
                .values(row)
                .on_conflict(queues::id)
                .do_update()
                .set(row)
                .execute(c))?;
        }
        DeskOp::DeleteQueue { org_id, id } => {
            let gone = diesel::delete(
                queues::table.filter(queues::org_id.eq(org_id).and(queues::id.eq(id))),
            )
            .execute(conn)?;
            return Ok(gone > 0);
        }
        DeskOp::PutDispositionCodes { org_id, codes } => {
            diesel::delete(disposition_codes::table.filter(disposition_codes::org_id.eq(org_id)))
                .execute(conn)?;
            let rows: Vec<&DispositionCodeRow> = codes.iter().collect();
            db_run!(conn, |c| diesel::insert_into(disposition_codes::table)
                .values(rows)
                .execute(c))?;
        }
        DeskOp::PutCallback(row) => {
            db_run!(conn, |c| diesel::insert_into(callbacks::table)
                .values(row)
                .on_conflict(callbacks::id)
                .do_update()
                .set(row)
                .execute(c))?;
        }
        DeskOp::SetAgentAvailability {
            org_id,
            id,
            availability,
            reason,
            since,
        } => {
            diesel::update(agents::table.filter(agents::org_id.eq(org_id).and(agents::id.eq(id))))
                .set((
                    agents::availability.eq(availability),
                    agents::availability_reason.eq(reason),
                    agents::availability_since.eq(since),
                    agents::updated_at.eq(since),
                ))
                .execute(conn)?;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{connect, run_migrations, DatabaseUrl, SqliteSync};
    use diesel::sql_types::{BigInt, Text};

    /// SQLite's most bound parameters in one statement (PostgreSQL's, 65,535, is higher).
    const SQLITE_MAX_PARAMETERS: i64 = 32_766;

    #[derive(diesel::QueryableByName)]
    struct Table {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = BigInt)]
        columns: i64,
    }

    #[test]
    fn a_multi_row_statement_of_the_widest_table_stays_under_the_bound_parameter_limit() {
        let dir = std::env::temp_dir().join(format!("sb_width_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = DatabaseUrl::Sqlite(dir.join("width.db").to_string_lossy().into_owned());
        let mut conn = connect(&url, SqliteSync::Normal).unwrap();
        run_migrations(&mut conn).unwrap();
        let DbConnection::Sqlite(sqlite) = &mut conn else {
            unreachable!("a SQLite URL")
        };
        let tables: Vec<Table> = diesel::sql_query(
            "SELECT m.name AS name, (SELECT COUNT(*) FROM pragma_table_info(m.name)) AS columns \
             FROM sqlite_master m WHERE m.type = 'table'",
        )
        .load(sqlite)
        .unwrap();
        let widest = tables.iter().max_by_key(|t| t.columns).unwrap();
        assert!(
            widest.columns >= 39,
            "the calls table is read: {}",
            widest.columns
        );
        assert!(
            widest.columns * ROWS_PER_STATEMENT as i64 <= SQLITE_MAX_PARAMETERS,
            "{} rows of `{}` ({} columns) bind more parameters than SQLite takes",
            ROWS_PER_STATEMENT,
            widest.name,
            widest.columns
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
