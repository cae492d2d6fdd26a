//! Reads, through the read pool. Every query that touches org data filters by org id.

use super::models::*;
use super::schema::*;
use super::DbConnection;
use diesel::prelude::*;

/// The statuses a call can be in while the engine still waits for its end.
pub const UNFINISHED_STATUSES: [&str; 5] =
    ["queued", "dialing", "ringing", "answered", "disconnected"];

/// The statuses of a call whose outcome is known.
pub const FINAL_STATUSES: [&str; 5] = ["completed", "busy", "no_answer", "canceled", "failed"];

pub fn org_by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<OrgRow>> {
    orgs::table.find(id).first(conn).optional()
}

pub fn org_by_api_token_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<OrgRow>> {
    orgs::table
        .filter(orgs::api_token_hash.eq(hash))
        .first(conn)
        .optional()
}

/// The scoped token with this hash.
pub fn api_token_by_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<ApiTokenRow>> {
    api_tokens::table
        .filter(api_tokens::token_hash.eq(hash))
        .first(conn)
        .optional()
}

/// A page of an org's scoped tokens, oldest first (cursor: the last id).
pub fn api_tokens_page(
    conn: &mut DbConnection,
    org_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ApiTokenRow>> {
    let mut query = api_tokens::table
        .filter(api_tokens::org_id.eq(org_id))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(api_tokens::id.gt(after.to_owned()));
    }
    query.order(api_tokens::id.asc()).limit(limit).load(conn)
}

/// The oldest org with this name.
pub fn org_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<OrgRow>> {
    orgs::table
        .filter(orgs::name.eq(name))
        .order(orgs::created_at.asc())
        .first(conn)
        .optional()
}

pub fn provider_account(
    conn: &mut DbConnection,
    org_id: &str,
    provider: &str,
) -> QueryResult<Option<ProviderAccountRow>> {
    provider_accounts::table
        .find((org_id, provider))
        .first(conn)
        .optional()
}

pub fn provider_accounts(
    conn: &mut DbConnection,
    org_id: &str,
) -> QueryResult<Vec<ProviderAccountRow>> {
    provider_accounts::table
        .filter(provider_accounts::org_id.eq(org_id))
        .order(provider_accounts::provider)
        .load(conn)
}

/// The orgs that configured `provider`.
pub fn orgs_with_provider(conn: &mut DbConnection, provider: &str) -> QueryResult<Vec<String>> {
    provider_accounts::table
        .filter(provider_accounts::provider.eq(provider))
        .select(provider_accounts::org_id)
        .order(provider_accounts::org_id)
        .load(conn)
}

pub fn call(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<Option<CallRow>> {
    calls::table
        .find(id)
        .filter(calls::org_id.eq(org_id))
        .first(conn)
        .optional()
}

pub fn call_by_provider_id(
    conn: &mut DbConnection,
    org_id: &str,
    provider: &str,
    provider_call_id: &str,
) -> QueryResult<Option<CallRow>> {
    calls::table
        .filter(calls::org_id.eq(org_id))
        .filter(calls::provider.eq(provider))
        .filter(calls::provider_call_id.eq(provider_call_id))
        .first(conn)
        .optional()
}

/// Filters of `GET /api/v1/calls`.
#[derive(Debug, Default, Clone)]
pub struct CallFilter {
    pub status: Option<String>,
    pub campaign_id: Option<String>,
    pub direction: Option<String>,
    pub provider_call_id: Option<String>,
}

/// A page of an org's calls, newest first; `before` is the last id of the previous page.
pub fn calls_page(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &CallFilter,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<CallRow>> {
    let mut query = calls::table.filter(calls::org_id.eq(org_id)).into_boxed();
    if let Some(status) = &filter.status {
        query = query.filter(calls::status.eq(status.clone()));
    }
    if let Some(campaign) = &filter.campaign_id {
        query = query.filter(calls::campaign_id.eq(campaign.clone()));
    }
    if let Some(direction) = &filter.direction {
        query = query.filter(calls::direction.eq(direction.clone()));
    }
    if let Some(pcid) = &filter.provider_call_id {
        query = query.filter(calls::provider_call_id.eq(pcid.clone()));
    }
    if let Some(before) = before {
        query = query.filter(calls::id.lt(before.to_owned()));
    }
    query.order(calls::id.desc()).limit(limit).load(conn)
}

/// An org's calls that are still live (for the dashboard snapshot).
pub fn live_calls(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<CallRow>> {
    calls::table
        .filter(calls::org_id.eq(org_id))
        .filter(calls::status.eq_any(["queued", "dialing", "ringing", "answered"]))
        .order(calls::id.asc())
        .load(conn)
}

/// A page of every org's calls that have not reached a final status, by id after `after`: the
/// actors to respawn on start.
pub fn unfinished_calls(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<CallRow>> {
    let mut query = calls::table
        .filter(calls::status.eq_any(UNFINISHED_STATUSES))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(calls::id.gt(after));
    }
    query.order(calls::id.asc()).limit(limit).load(conn)
}

/// A finished call whose provider price is still unknown.
#[derive(Queryable)]
pub struct UnpricedCall {
    pub org_id: String,
    pub id: String,
    pub provider: String,
    pub provider_call_id: Option<String>,
    /// When the engine last heard of it (its own clock): at or after its end.
    pub last_event_at: String,
}

/// A page of every org's finished calls that the provider has not priced yet and whose last
/// event is at or after `since`, by id after `after`: the prices still to be asked for after a
/// start.
pub fn unpriced_calls(
    conn: &mut DbConnection,
    since: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<UnpricedCall>> {
    let mut query = calls::table
        .filter(calls::status.eq_any(FINAL_STATUSES))
        .filter(calls::provider_price.is_null())
        .filter(calls::provider_call_id.is_not_null())
        .filter(calls::last_event_at.ge(since.to_owned()))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(calls::id.gt(after.to_owned()));
    }
    query
        .select((
            calls::org_id,
            calls::id,
            calls::provider,
            calls::provider_call_id,
            calls::last_event_at,
        ))
        .order(calls::id.asc())
        .limit(limit)
        .load(conn)
}

/// The ids of an org's calls that have not reached a final status.
pub fn unfinished_call_ids(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<String>> {
    calls::table
        .filter(calls::org_id.eq(org_id))
        .filter(calls::status.eq_any(UNFINISHED_STATUSES))
        .select(calls::id)
        .order(calls::id.asc())
        .load(conn)
}

/// The dedupe keys of the timelines of these calls, as (call id, key).
pub fn dedupe_keys_of(
    conn: &mut DbConnection,
    call_ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    call_events::table
        .filter(call_events::call_id.eq_any(call_ids))
        .filter(call_events::dedupe_key.is_not_null())
        .select((
            call_events::call_id,
            call_events::dedupe_key.assume_not_null(),
        ))
        .load(conn)
}

/// A page of a call's timeline, oldest first; `after` is the last id of the previous page.
pub fn timeline(
    conn: &mut DbConnection,
    org_id: &str,
    call_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<CallEventRow>> {
    let mut query = call_events::table
        .filter(call_events::org_id.eq(org_id))
        .filter(call_events::call_id.eq(call_id))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(call_events::id.gt(after.to_owned()));
    }
    query.order(call_events::id.asc()).limit(limit).load(conn)
}

/// The dedupe keys of the provider events a call has accepted.
pub fn dedupe_keys(conn: &mut DbConnection, call_id: &str) -> QueryResult<Vec<String>> {
    call_events::table
        .filter(call_events::call_id.eq(call_id))
        .filter(call_events::dedupe_key.is_not_null())
        .select(call_events::dedupe_key.assume_not_null())
        .load(conn)
}

/// The last seq of an org's log (0 before its first event).
pub fn last_seq(conn: &mut DbConnection, org_id: &str) -> QueryResult<i64> {
    events::table
        .filter(events::org_id.eq(org_id))
        .select(diesel::dsl::max(events::seq))
        .first::<Option<i64>>(conn)
        .map(Option::unwrap_or_default)
}

/// The oldest seq an org's log still holds (0 when it holds none): older ones were pruned.
pub fn first_seq(conn: &mut DbConnection, org_id: &str) -> QueryResult<i64> {
    events::table
        .filter(events::org_id.eq(org_id))
        .select(diesel::dsl::min(events::seq))
        .first::<Option<i64>>(conn)
        .map(Option::unwrap_or_default)
}

/// An org's events after `seq`, in order, at most `limit`.
pub fn events_after(
    conn: &mut DbConnection,
    org_id: &str,
    seq: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::org_id.eq(org_id))
        .filter(events::seq.gt(seq))
        .order(events::seq.asc())
        .limit(limit)
        .load(conn)
}

/// A page of an org's raw webhook inbox, newest first.
pub fn inbox_page(
    conn: &mut DbConnection,
    org_id: &str,
    provider: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<InboxRow>> {
    let mut query = webhook_inbox::table
        .filter(webhook_inbox::org_id.eq(org_id))
        .into_boxed();
    if let Some(provider) = provider {
        query = query.filter(webhook_inbox::provider.eq(provider.to_owned()));
    }
    if let Some(before) = before {
        query = query.filter(webhook_inbox::id.lt(before.to_owned()));
    }
    query
        .order(webhook_inbox::id.desc())
        .limit(limit)
        .load(conn)
}

pub fn contact(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<Option<ContactRow>> {
    contacts::table
        .find(id)
        .filter(contacts::org_id.eq(org_id))
        .first(conn)
        .optional()
}

pub fn contact_by_phone(
    conn: &mut DbConnection,
    org_id: &str,
    phone: &str,
) -> QueryResult<Option<ContactRow>> {
    contacts::table
        .filter(contacts::org_id.eq(org_id))
        .filter(contacts::phone.eq(phone))
        .first(conn)
        .optional()
}

/// The org's contacts with any of these phones (read in chunks, under the databases' limits on
/// bound parameters).
pub fn contacts_by_phones(
    conn: &mut DbConnection,
    org_id: &str,
    phones: &[String],
) -> QueryResult<Vec<ContactRow>> {
    let mut found = Vec::new();
    for chunk in phones.chunks(500) {
        found.extend(
            contacts::table
                .filter(contacts::org_id.eq(org_id))
                .filter(contacts::phone.eq_any(chunk))
                .load::<ContactRow>(conn)?,
        );
    }
    Ok(found)
}

/// A page of an org's contacts, newest first.
pub fn contacts_page(
    conn: &mut DbConnection,
    org_id: &str,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ContactRow>> {
    let mut query = contacts::table
        .filter(contacts::org_id.eq(org_id))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(contacts::id.lt(before.to_owned()));
    }
    query.order(contacts::id.desc()).limit(limit).load(conn)
}

/// A contact's latest calls (linked to it, or from or to its phone), newest first: three index
/// lookups (by contact, by caller, by callee), never a scan of the org's calls.
pub fn contact_calls(
    conn: &mut DbConnection,
    org_id: &str,
    contact_id: &str,
    phone: &str,
    limit: i64,
) -> QueryResult<Vec<CallRow>> {
    let base = || calls::table.filter(calls::org_id.eq(org_id)).into_boxed();
    let mut found: Vec<CallRow> = Vec::new();
    for query in [
        base().filter(calls::contact_id.eq(contact_id)),
        base().filter(calls::from_number.eq(phone)),
        base().filter(calls::to_number.eq(phone)),
    ] {
        found.extend(query.order(calls::id.desc()).limit(limit).load(conn)?);
    }
    found.sort_by(|a, b| b.id.cmp(&a.id));
    found.dedup_by(|a, b| a.id == b.id);
    found.truncate(limit.max(0) as usize);
    Ok(found)
}

/// Past this many, a contact's count of calls reads "this many or more": a screen pop stays one
/// bounded read however often a number has called.
pub const CONTACT_CALLS_COUNTED: i64 = 100;

/// Which of `provider_call_ids` the org has calls for (of that provider) whose end the provider
/// itself told (`final_by` `provider`): the calls a provider's record would teach nothing new.
pub fn provider_ended_calls(
    conn: &mut DbConnection,
    org_id: &str,
    provider: &str,
    provider_call_ids: &[String],
) -> QueryResult<std::collections::HashSet<String>> {
    let mut known = std::collections::HashSet::new();
    for ids in provider_call_ids.chunks(500) {
        let found: Vec<Option<String>> = calls::table
            .filter(calls::org_id.eq(org_id))
            .filter(calls::provider.eq(provider))
            .filter(calls::provider_call_id.eq_any(ids))
            .filter(calls::final_by.eq("provider"))
            .select(calls::provider_call_id)
            .load(conn)?;
        known.extend(found.into_iter().flatten());
    }
    Ok(known)
}

/// The database's size on disk, in bytes (SQLite: its pages; PostgreSQL: the database's).
pub fn database_bytes(conn: &mut DbConnection) -> QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Size {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        bytes: i64,
    }
    let size: Size = db_run!(conn,
        sqlite |c| diesel::sql_query(
            "SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()",
        ).get_result(c),
        postgres |c| diesel::sql_query(
            "SELECT pg_database_size(current_database())::BIGINT AS bytes",
        ).get_result(c)
    )?;
    Ok(size.bytes)
}

/// How many calls a contact has had (linked to it, or from or to its phone), up to
/// [`CONTACT_CALLS_COUNTED`], over the same three index lookups.
pub fn contact_call_count(
    conn: &mut DbConnection,
    org_id: &str,
    contact_id: &str,
    phone: &str,
) -> QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |sql: &'static str| {
        diesel::sql_query(sql)
            .bind::<diesel::sql_types::Text, _>(org_id)
            .bind::<diesel::sql_types::Text, _>(contact_id)
            .bind::<diesel::sql_types::Text, _>(phone)
            .bind::<diesel::sql_types::BigInt, _>(CONTACT_CALLS_COUNTED)
    };
    // Each lookup stops at the bound: when one reaches it, so does the union.
    let counted: Count = db_run!(conn,
        sqlite |c| count(
            "SELECT COUNT(*) AS n FROM (\
            SELECT id FROM (SELECT id FROM calls WHERE org_id = ?1 AND contact_id = ?2 ORDER BY id DESC LIMIT ?4) \
            UNION SELECT id FROM (SELECT id FROM calls WHERE org_id = ?1 AND from_number = ?3 ORDER BY id DESC LIMIT ?4) \
            UNION SELECT id FROM (SELECT id FROM calls WHERE org_id = ?1 AND to_number = ?3 ORDER BY id DESC LIMIT ?4)) AS matches",
        ).get_result(c),
        postgres |c| count(
            "SELECT COUNT(*) AS n FROM (\
            SELECT id FROM (SELECT id FROM calls WHERE org_id = $1 AND contact_id = $2 ORDER BY id DESC LIMIT $4) AS by_contact \
            UNION SELECT id FROM (SELECT id FROM calls WHERE org_id = $1 AND from_number = $3 ORDER BY id DESC LIMIT $4) AS by_caller \
            UNION SELECT id FROM (SELECT id FROM calls WHERE org_id = $1 AND to_number = $3 ORDER BY id DESC LIMIT $4) AS by_callee) AS matches",
        ).get_result(c)
    )?;
    Ok(counted.n.min(CONTACT_CALLS_COUNTED))
}

/// A call by any id a bot may name it by: ours, the provider's, or the carrier's.
pub fn call_by_any_id(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
) -> QueryResult<Option<CallRow>> {
    calls::table
        .filter(calls::org_id.eq(org_id))
        .filter(
            calls::id
                .eq(id)
                .or(calls::provider_call_id.eq(id))
                .or(calls::carrier_call_id.eq(id)),
        )
        .order(calls::id.desc())
        .first(conn)
        .optional()
}

pub fn extension(
    conn: &mut DbConnection,
    org_id: &str,
    number: &str,
) -> QueryResult<Option<ExtensionRow>> {
    extensions::table
        .find((org_id, number))
        .first(conn)
        .optional()
}

/// A page of an org's extensions, by number; `after` is the last number of the previous page.
pub fn extensions_page(
    conn: &mut DbConnection,
    org_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ExtensionRow>> {
    let mut query = extensions::table
        .filter(extensions::org_id.eq(org_id))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(extensions::number.gt(after.to_owned()));
    }
    query
        .order(extensions::number.asc())
        .limit(limit)
        .load(conn)
}

/// The org's online extension that has been free the longest (the screen pop's suggestion).
pub fn longest_free_extension(
    conn: &mut DbConnection,
    org_id: &str,
) -> QueryResult<Option<ExtensionRow>> {
    extensions::table
        .filter(extensions::org_id.eq(org_id))
        .filter(extensions::presence.eq("online"))
        .order(extensions::since.asc())
        .first(conn)
        .optional()
}

pub fn dnc_entry(
    conn: &mut DbConnection,
    org_id: &str,
    phone: &str,
) -> QueryResult<Option<DncRow>> {
    dnc::table.find((org_id, phone)).first(conn).optional()
}

/// A page of an org's do-not-call list, by number; `after` is the last number of the previous page.
pub fn dnc_page(
    conn: &mut DbConnection,
    org_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DncRow>> {
    let mut query = dnc::table.filter(dnc::org_id.eq(org_id)).into_boxed();
    if let Some(after) = after {
        query = query.filter(dnc::phone.gt(after.to_owned()));
    }
    query.order(dnc::phone.asc()).limit(limit).load(conn)
}

pub fn campaign(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
) -> QueryResult<Option<CampaignRow>> {
    campaigns::table
        .find(id)
        .filter(campaigns::org_id.eq(org_id))
        .first(conn)
        .optional()
}

/// A page of an org's campaigns, newest first.
pub fn campaigns_page(
    conn: &mut DbConnection,
    org_id: &str,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<CampaignRow>> {
    let mut query = campaigns::table
        .filter(campaigns::org_id.eq(org_id))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(campaigns::id.lt(before.to_owned()));
    }
    query.order(campaigns::id.desc()).limit(limit).load(conn)
}

/// Every org's running campaigns: the actors to respawn on start.
pub fn running_campaigns(conn: &mut DbConnection) -> QueryResult<Vec<CampaignRow>> {
    campaigns::table
        .filter(campaigns::status.eq("running"))
        .load(conn)
}

/// A campaign's contacts in dialing order (a page: `after` is the last position seen).
pub fn campaign_contacts(
    conn: &mut DbConnection,
    campaign_id: &str,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<CampaignContactRow>> {
    let mut query = campaign_contacts::table
        .filter(campaign_contacts::campaign_id.eq(campaign_id))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(campaign_contacts::position.gt(after));
    }
    query
        .order(campaign_contacts::position.asc())
        .limit(limit)
        .load(conn)
}

/// The last position given in a campaign (0 before any contact).
pub fn last_campaign_position(conn: &mut DbConnection, campaign_id: &str) -> QueryResult<i64> {
    campaign_contacts::table
        .filter(campaign_contacts::campaign_id.eq(campaign_id))
        .select(diesel::dsl::max(campaign_contacts::position))
        .first::<Option<i64>>(conn)
        .map(Option::unwrap_or_default)
}

/// How many calls the org placed to `number` since `since` (every campaign's and every API
/// dial's): the per-number daily attempt cap counts these. Read over the number's own index, newest
/// first (ids are time-ordered), at most 100: by (org, created_at) a planner would scan the whole
/// day's calls for every dial.
pub fn calls_to_since(
    conn: &mut DbConnection,
    org_id: &str,
    number: &str,
    since: &str,
) -> QueryResult<i64> {
    let recent: Vec<String> = calls_to_query!(org_id, number).load(conn)?;
    Ok(recent.iter().filter(|at| at.as_str() >= since).count() as i64)
}

/// Whether the org has a live call (queued, dialing, ringing or answered) with this number on
/// either side.
pub fn number_in_live_call(
    conn: &mut DbConnection,
    org_id: &str,
    number: &str,
) -> QueryResult<bool> {
    let live = ["queued", "dialing", "ringing", "answered"];
    let to = calls::table
        .filter(calls::org_id.eq(org_id))
        .filter(calls::to_number.eq(number))
        .filter(calls::status.eq_any(live));
    let from = calls::table
        .filter(calls::org_id.eq(org_id))
        .filter(calls::from_number.eq(number))
        .filter(calls::status.eq_any(live));
    Ok(diesel::select(diesel::dsl::exists(to)).get_result(conn)?
        || diesel::select(diesel::dsl::exists(from)).get_result(conn)?)
}

/// The statement of [`calls_to_since`] (a macro, so its query plan test reads the very statement).
macro_rules! calls_to_query {
    ($org_id:expr, $number:expr) => {
        calls::table
            .filter(calls::org_id.eq($org_id))
            .filter(calls::to_number.eq($number))
            .order(calls::id.desc())
            .limit(100)
            .select(calls::created_at)
    };
}
use calls_to_query;

/// One call of a campaign, as the campaign's actor tracks it.
#[derive(Debug, Clone)]
pub struct CampaignCall {
    pub id: String,
    pub contact_id: Option<String>,
    pub status: crate::domain::call::CallStatus,
    pub has_analytics: bool,
    pub disposition: Option<String>,
    pub answered: bool,
    /// What answering machine detection said (`human`, `machine`), when it ran.
    pub amd: Option<String>,
    /// Answered while no agent of its queue took it.
    pub abandoned: bool,
}

/// A campaign's calls, oldest first.
pub fn campaign_calls(
    conn: &mut DbConnection,
    org_id: &str,
    campaign_id: &str,
) -> QueryResult<Vec<CampaignCall>> {
    type Row = (
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = calls::table
        .filter(calls::org_id.eq(org_id))
        .filter(calls::campaign_id.eq(campaign_id))
        .order(calls::id.asc())
        .select((
            calls::id,
            calls::contact_id,
            calls::status,
            calls::analytics,
            calls::disposition,
            calls::answered_at,
            calls::amd,
            calls::queue_id,
            calls::agent_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(id, contact, status, analytics, disposition, answered_at, amd, queue, agent)| {
                let status = crate::domain::call::CallStatus::parse(&status)?;
                let answered = answered_at.is_some();
                Some(CampaignCall {
                    id,
                    contact_id: contact,
                    status,
                    has_analytics: analytics.is_some(),
                    disposition,
                    answered,
                    amd,
                    abandoned: crate::domain::call::abandoned(
                        status,
                        answered,
                        queue.is_some(),
                        agent.is_some(),
                    ),
                })
            },
        )
        .collect())
}

/// Which calls a total counts: created within `[from, to)` (stored time text, which sorts as
/// time), of one campaign; every bound optional.
#[derive(Debug, Clone, Default)]
pub struct TotalsFilter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub campaign_id: Option<String>,
}

impl TotalsFilter {
    /// Whether both bounds (where given) fall on a UTC midnight: the totals kept per day answer.
    pub fn whole_days(&self) -> bool {
        [&self.from, &self.to]
            .into_iter()
            .flatten()
            .all(|at| at.ends_with("T00:00:00.000Z"))
    }
}

/// (status, currency, calls, answered, talk_s, talked, cost_micros, billed_s) summed.
type KeptRow = (String, String, i64, i64, i64, i64, Option<i64>, i64);

/// An org's totals under `filter` (whole days only) read from the totals kept per day, campaign,
/// status and currency: a few rows per day however many calls.
pub fn kept_totals(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &TotalsFilter,
) -> QueryResult<Vec<CallTotals>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Nullable};
    let rows: Vec<KeptRow> = db_run!(conn, |c| {
        let mut query = call_totals::table
            .group_by((call_totals::currency, call_totals::status))
            .select((
                call_totals::status,
                call_totals::currency,
                sql::<BigInt>("CAST(SUM(calls) AS BIGINT)"),
                sql::<BigInt>("CAST(SUM(answered) AS BIGINT)"),
                sql::<BigInt>("CAST(SUM(talk_s) AS BIGINT)"),
                sql::<BigInt>("CAST(SUM(talked) AS BIGINT)"),
                sql::<Nullable<BigInt>>(
                    "CAST(CASE WHEN SUM(priced) > 0 THEN SUM(cost_micros) END AS BIGINT)",
                ),
                sql::<BigInt>("CAST(SUM(billed_s) AS BIGINT)"),
            ))
            .filter(call_totals::org_id.eq(org_id))
            .into_boxed();
        if let Some(from) = &filter.from {
            query = query.filter(call_totals::day.ge(from[..10].to_owned()));
        }
        if let Some(to) = &filter.to {
            query = query.filter(call_totals::day.lt(to[..10].to_owned()));
        }
        if let Some(campaign_id) = &filter.campaign_id {
            query = query.filter(call_totals::campaign_id.eq(campaign_id.clone()));
        }
        query.load(c)
    })?;
    Ok(rows
        .into_iter()
        .filter(|row| row.2 != 0)
        .map(
            |(status, currency, calls, answered, talk_s, talked, cost_micros, billed_s)| {
                CallTotals {
                    status,
                    currency: Some(currency).filter(|c| !c.is_empty()),
                    calls,
                    answered,
                    talk_s,
                    talked,
                    cost_micros,
                    billed_s,
                }
            },
        )
        .collect())
}

/// One status's (and currency's) share of an org's calls: counts, talk and money, summed in SQL.
#[derive(Debug, Clone, Queryable)]
pub struct CallTotals {
    pub status: String,
    pub currency: Option<String>,
    pub calls: i64,
    /// Calls that were answered (an answer time is known).
    pub answered: i64,
    /// Their talk seconds, and how many calls have a talk time.
    pub talk_s: i64,
    pub talked: i64,
    /// The bills of those priced, in millionths, and their billed seconds.
    pub cost_micros: Option<i64>,
    pub billed_s: i64,
}

/// The statement of [`call_totals`], for whichever backend loads it (a macro so the test of its
/// query plan reads the very statement).
macro_rules! call_totals_query {
    ($org_id:expr, $filter:expr) => {{
        use diesel::dsl::sql;
        use diesel::sql_types::{BigInt, Nullable};
        let filter: &TotalsFilter = $filter;
        let mut query = calls::table
            .group_by((calls::currency, calls::status))
            .select((
                calls::status,
                calls::currency,
                sql::<BigInt>("CAST(COUNT(*) AS BIGINT)"),
                sql::<BigInt>(
                    "CAST(SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT)",
                ),
                sql::<BigInt>(
                    "CAST(COALESCE(SUM(CASE WHEN answered_at IS NOT NULL THEN talk_s END), 0) \
                     AS BIGINT)",
                ),
                sql::<BigInt>(
                    "CAST(SUM(CASE WHEN talk_s IS NOT NULL AND answered_at IS NOT NULL \
                     THEN 1 ELSE 0 END) AS BIGINT)",
                ),
                sql::<Nullable<BigInt>>("CAST(SUM(cost_micros) AS BIGINT)"),
                sql::<BigInt>("CAST(COALESCE(SUM(billed_s), 0) AS BIGINT)"),
            ))
            .filter(calls::org_id.eq($org_id))
            .into_boxed();
        if let Some(from) = &filter.from {
            query = query.filter(calls::created_at.ge(from.clone()));
        }
        if let Some(to) = &filter.to {
            query = query.filter(calls::created_at.lt(to.clone()));
        }
        if let Some(campaign_id) = &filter.campaign_id {
            query = query.filter(calls::campaign_id.eq(campaign_id.clone()));
        }
        query
    }};
}

/// An org's calls under `filter` by status and currency, aggregated in one statement over the
/// index of the org's calls by creation time (or by campaign and creation time).
pub fn call_totals(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &TotalsFilter,
) -> QueryResult<Vec<CallTotals>> {
    db_run!(conn, |c| call_totals_query!(org_id, filter).load(c))
}

/// An org's extensions counted by presence.
pub fn extensions_by_presence(
    conn: &mut DbConnection,
    org_id: &str,
) -> QueryResult<Vec<(String, i64)>> {
    extensions::table
        .filter(extensions::org_id.eq(org_id))
        .group_by(extensions::presence)
        .select((extensions::presence, diesel::dsl::count_star()))
        .load(conn)
}

/// Every org's rates (the billing book is read whole at start).
pub fn all_rates(conn: &mut DbConnection) -> QueryResult<Vec<RateRow>> {
    rates::table
        .order((
            rates::org_id,
            rates::provider,
            rates::direction,
            rates::prefix,
        ))
        .load(conn)
}

/// Every org's currency and credit settings.
pub fn all_credit_accounts(conn: &mut DbConnection) -> QueryResult<Vec<CreditAccountRow>> {
    credit_accounts::table.load(conn)
}

/// An org's currency and credit settings, if ever set.
pub fn credit_account(
    conn: &mut DbConnection,
    org_id: &str,
) -> QueryResult<Option<CreditAccountRow>> {
    credit_accounts::table.find(org_id).first(conn).optional()
}

/// A page of an org's ledger, newest first (ids are UUIDv7: by time).
pub fn ledger_page(
    conn: &mut DbConnection,
    org_id: &str,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<LedgerRow>> {
    let mut query = credit_ledger::table
        .filter(credit_ledger::org_id.eq(org_id))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(credit_ledger::id.lt(before.to_owned()));
    }
    query
        .order(credit_ledger::id.desc())
        .limit(limit)
        .load(conn)
}

/// Whether the org's credit ledger has any entry.
pub fn has_ledger_entries(conn: &mut DbConnection, org_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        credit_ledger::table.filter(credit_ledger::org_id.eq(org_id)),
    ))
    .get_result(conn)
}

/// The ids of an org's campaigns paused with `reason`.
pub fn campaigns_paused_for(
    conn: &mut DbConnection,
    org_id: &str,
    reason: &str,
) -> QueryResult<Vec<String>> {
    campaigns::table
        .filter(campaigns::org_id.eq(org_id))
        .filter(campaigns::status.eq("paused"))
        .filter(campaigns::failure_reason.eq(reason))
        .select(campaigns::id)
        .load(conn)
}

/// Up to `limit` of an org's calls created in `[from, to)`, in creation order after the call
/// `after` (its creation time and id): the export's pages, read off the org's index by time.
pub fn calls_by_time(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &TotalsFilter,
    after: Option<&(String, String)>,
    limit: i64,
) -> QueryResult<Vec<CallRow>> {
    let mut query = calls::table.filter(calls::org_id.eq(org_id)).into_boxed();
    if let Some(from) = &filter.from {
        query = query.filter(calls::created_at.ge(from.clone()));
    }
    if let Some(to) = &filter.to {
        query = query.filter(calls::created_at.lt(to.clone()));
    }
    if let Some(campaign_id) = &filter.campaign_id {
        query = query.filter(calls::campaign_id.eq(campaign_id.clone()));
    }
    if let Some((created_at, id)) = after {
        query = query.filter(
            calls::created_at
                .gt(created_at.clone())
                .or(calls::created_at
                    .eq(created_at.clone())
                    .and(calls::id.gt(id.clone()))),
        );
    }
    query
        .order((calls::created_at.asc(), calls::id.asc()))
        .limit(limit)
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatabaseUrl, SqliteSync};

    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    /// The SQLite query plan of the org totals statement: how SQLite reads `calls` for it.
    fn plan(conn: &mut DbConnection, filter: &TotalsFilter) -> Vec<String> {
        let query = call_totals_query!("org", filter);
        let statement = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
        let statement = statement.split(" -- binds:").next().unwrap();
        // Placeholders left unbound: SQLite plans a statement when it prepares it.
        let lines: Vec<PlanLine> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {statement}"))
            .load(conn)
            .unwrap();
        lines.into_iter().map(|l| l.detail).collect()
    }

    #[test]
    fn the_daily_cap_reads_the_numbers_own_index() {
        let dir = std::env::temp_dir().join(format!("sb_plan_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = DatabaseUrl::Sqlite(dir.join("plan.db").to_string_lossy().into_owned());
        let mut conn = super::super::connect(&url, SqliteSync::Normal).unwrap();
        super::super::run_migrations(&mut conn).unwrap();
        let query = calls_to_query!("org", "+919000000001");
        let statement = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
        let statement = statement.split(" -- binds:").next().unwrap();
        let plan: Vec<PlanLine> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {statement}"))
            .load(&mut conn)
            .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|l| l.detail).collect();
        assert_eq!(
            plan,
            ["SEARCH calls USING INDEX calls_org_to (org_id=? AND to_number=?)"],
            "not the day's calls by time"
        );
    }

    #[test]
    fn org_totals_read_an_index_of_the_org_never_the_whole_table() {
        let dir = std::env::temp_dir().join(format!("sb_plan_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = DatabaseUrl::Sqlite(dir.join("plan.db").to_string_lossy().into_owned());
        let mut conn = super::super::connect(&url, SqliteSync::Normal).unwrap();
        super::super::run_migrations(&mut conn).unwrap();
        let at = |t: &str| Some(t.to_owned());
        let filters = [
            TotalsFilter::default(),
            TotalsFilter {
                from: at("2025-03-01T00:00:00.000Z"),
                ..Default::default()
            },
            TotalsFilter {
                from: at("2025-03-01T00:00:00.000Z"),
                to: at("2025-04-01T00:00:00.000Z"),
                ..Default::default()
            },
            TotalsFilter {
                campaign_id: at("c1"),
                ..Default::default()
            },
            TotalsFilter {
                campaign_id: at("c1"),
                from: at("2025-03-01T00:00:00.000Z"),
                ..Default::default()
            },
        ];
        for filter in &filters {
            let plan = plan(&mut conn, filter);
            let reads: Vec<&String> = plan.iter().filter(|l| l.contains("calls")).collect();
            assert!(!reads.is_empty(), "{filter:?}: {plan:?}");
            for read in reads {
                assert!(
                    read.starts_with("SEARCH calls USING") && read.contains("INDEX"),
                    "{filter:?} reads the calls by an index of the org: {plan:?}"
                );
            }
            if filter.from.is_some() {
                let by_time = plan.iter().any(|l| l.contains("created_at>?"));
                assert!(by_time, "{filter:?} bounds the index by time: {plan:?}");
            }
            if filter.campaign_id.is_some() {
                let by_campaign = plan.iter().any(|l| l.contains("campaign_id=?"));
                assert!(
                    by_campaign,
                    "{filter:?} reads the campaign's calls only: {plan:?}"
                );
            }
        }
    }
}
