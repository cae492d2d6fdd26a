//! Organizations: creation, token checks and provider credentials, with an in-memory directory in
//! front of the database (tokens are stored only as SHA-256 hashes).

use crate::db::models::{ApiTokenRow, OrgChange, OrgRow, ProviderAccountRow};
use crate::db::writer::Writer;
use crate::db::writes::{WriteOp, WriteOutcome, WriteRequest};
use crate::db::{self, queries, DbPool};
use crate::domain::ids::OrgId;
use crate::domain::time::to_text;
use crate::error::{AppError, Code};
use crate::providers::Provider;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// An organization as the engine uses it (no secrets).
#[derive(Debug, Clone, Serialize)]
pub struct Org {
    #[serde(rename = "org_id")]
    pub id: OrgId,
    pub name: String,
    pub default_country: String,
    pub created_at: String,
    /// Its calls are recorded (`PATCH /api/v1/org {"record"}`).
    pub record: bool,
    /// SHA-256 of the webhook token (for providers without signatures).
    #[serde(skip)]
    pub webhook_token_hash: String,
}

impl Org {
    /// Whether `token` is this org's webhook token (compared as hashes, in constant time).
    pub fn webhook_token_matches(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        token_hash(token)
            .as_bytes()
            .ct_eq(self.webhook_token_hash.as_bytes())
            .into()
    }
}

impl Org {
    /// The token the engine puts in callback URLs of a call it places (`?call=<id>&sig=<token>`),
    /// for providers authenticated by webhook token: HMAC-SHA256 of the call id under the webhook
    /// token's hash, so the token itself need not be stored.
    pub fn callback_token(&self, call_id: &str) -> String {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(self.webhook_token_hash.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"callback:");
        mac.update(call_id.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl From<OrgRow> for Org {
    fn from(row: OrgRow) -> Self {
        Org {
            id: OrgId::from_stored(row.id),
            name: row.name,
            default_country: row.default_country,
            created_at: row.created_at,
            record: row.record,
            webhook_token_hash: row.webhook_token_hash,
        }
    }
}

/// A new org with its tokens: the only time the tokens are ever shown.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedOrg {
    #[serde(flatten)]
    pub org: Org,
    pub api_token: String,
    pub webhook_token: String,
}

/// SHA-256 of a token, hex: what the database keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token(prefix: &str) -> String {
    format!(
        "{prefix}_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// An org's name, trimmed: 1 to 200 characters.
fn org_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::new(
            Code::InvalidName,
            "an org needs a name of 1 to 200 characters",
        ));
    }
    Ok(name.to_owned())
}

/// An org's `default_country`: an ISO 3166 alpha-2 code of a known country, in any case.
pub fn default_country(text: &str) -> Result<String, AppError> {
    crate::domain::phone::country(text).ok_or_else(|| {
        AppError::new(
            Code::InvalidCountry,
            format!("`{text}` is not an ISO 3166 alpha-2 country code (e.g. US, IN, GB)"),
        )
    })
}

/// Creates an org through the writer; its national numbers are read in `default_country`.
pub async fn create(
    writer: &Writer,
    name: &str,
    default_country: &str,
) -> Result<CreatedOrg, AppError> {
    let name = org_name(name)?;
    let default_country = self::default_country(default_country)?;
    let api_token = new_token("sbk");
    let webhook_token = new_token("sbw");
    let row = OrgRow {
        id: OrgId::generate().to_string(),
        name,
        api_token_hash: token_hash(&api_token),
        webhook_token_hash: token_hash(&webhook_token),
        default_country,
        created_at: to_text(chrono::Utc::now()),
        record: false,
    };
    writer
        .commit(WriteRequest {
            org_id: OrgId::from_stored(row.id.clone()),
            ops: vec![WriteOp::CreateOrg(row.clone())],
            events: Vec::new(),
        })
        .await?;
    Ok(CreatedOrg {
        org: row.into(),
        api_token,
        webhook_token,
    })
}

/// The org named `name` with new tokens (the old ones stop working), or a new org of that name
/// in `default_country`: how `switchboard demo` reuses its org, whose tokens are stored only as
/// hashes.
pub async fn reissue(
    pool: &DbPool,
    writer: &Writer,
    name: &str,
    default_country: &str,
) -> Result<CreatedOrg, AppError> {
    let lookup = name.to_owned();
    let found = db::read(pool, move |conn| Ok(queries::org_by_name(conn, &lookup)?)).await?;
    let Some(row) = found else {
        return create(writer, name, default_country).await;
    };
    let (api_token, webhook_token) = (new_token("sbk"), new_token("sbw"));
    let org = OrgRow {
        api_token_hash: token_hash(&api_token),
        webhook_token_hash: token_hash(&webhook_token),
        ..row
    };
    writer
        .commit(WriteRequest {
            org_id: OrgId::from_stored(org.id.clone()),
            ops: vec![WriteOp::RotateOrgTokens {
                org_id: org.id.clone(),
                api_token_hash: org.api_token_hash.clone(),
                webhook_token_hash: org.webhook_token_hash.clone(),
            }],
            events: Vec::new(),
        })
        .await?;
    Ok(CreatedOrg {
        org: org.into(),
        api_token,
        webhook_token,
    })
}

/// One provider account's credentials, typed, shared.
pub type Credentials = Arc<crate::providers::credentials::Credentials>;

/// Reads a provider account's stored credentials.
fn typed(provider: Provider, stored: &Map<String, Value>) -> Result<Credentials, AppError> {
    crate::providers::credentials::Credentials::read(provider, stored)
        .map(Arc::new)
        .map_err(|e| AppError::internal(e.to_string()))
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The org's own api token: everything.
    Owner,
    /// A scoped token that reads (GETs, the WebSocket) and changes nothing: a wallboard's.
    Viewer,
    /// A scoped token that reads and acts only as its agent (availability, accept/reject,
    /// dispositions): an agent's browser.
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Viewer => "viewer",
            Role::Agent => "agent",
        }
    }

    /// The roles a scoped token can be made with.
    pub fn scoped(word: &str) -> Option<Self> {
        [Role::Viewer, Role::Agent]
            .into_iter()
            .find(|r| r.as_str() == word)
    }
}

/// Who a request's token speaks for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub org: Arc<Org>,
    pub role: Role,
    /// The scoped token's id (None for the org's own token).
    pub token_id: Option<String>,
    /// The agent an agent token acts as.
    pub agent_id: Option<String>,
}

impl Caller {
    /// Whether this caller may act as `agent_id`: the org's own token may act as any agent, an
    /// agent token only as its own, a viewer as none.
    pub fn may_act_as(&self, agent_id: &str) -> bool {
        match self.role {
            Role::Owner => true,
            Role::Agent => self.agent_id.as_deref() == Some(agent_id),
            Role::Viewer => false,
        }
    }
}

/// A new scoped token: the only time the token is ever shown.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub row: ApiTokenRow,
    pub token: String,
}

/// Orgs and their provider credentials, read through from the database and kept in memory.
pub struct OrgDirectory {
    pool: DbPool,
    by_token_hash: RwLock<HashMap<String, Caller>>,
    by_id: RwLock<HashMap<OrgId, Arc<Org>>>,
    credentials: RwLock<HashMap<(OrgId, Provider), Credentials>>,
}

impl OrgDirectory {
    pub fn new(pool: DbPool) -> Self {
        OrgDirectory {
            pool,
            by_token_hash: RwLock::default(),
            by_id: RwLock::default(),
            credentials: RwLock::default(),
        }
    }

    /// Who an api token (the org's own, or a scoped one) speaks for.
    pub async fn by_api_token(&self, token: &str) -> Result<Option<Caller>, AppError> {
        let hash = token_hash(token);
        if let Some(caller) = self.by_token_hash.read().unwrap().get(&hash) {
            return Ok(Some(caller.clone()));
        }
        let lookup = hash.clone();
        let found = db::read(&self.pool, move |conn| {
            if let Some(org) = queries::org_by_api_token_hash(conn, &lookup)? {
                return Ok(Some((org, None)));
            }
            let Some(scoped) = queries::api_token_by_hash(conn, &lookup)? else {
                return Ok(None);
            };
            Ok(queries::org_by_id(conn, &scoped.org_id)?.map(|org| (org, Some(scoped))))
        })
        .await?;
        let Some((org, scoped)) = found else {
            return Ok(None);
        };
        let role = match &scoped {
            None => Role::Owner,
            Some(row) => Role::scoped(&row.role)
                .ok_or_else(|| AppError::internal(format!("unknown token role {}", row.role)))?,
        };
        let caller = Caller {
            org: Arc::new(Org::from(org)),
            role,
            agent_id: scoped.as_ref().and_then(|row| row.agent_id.clone()),
            token_id: scoped.map(|row| row.id),
        };
        self.by_token_hash
            .write()
            .unwrap()
            .insert(hash, caller.clone());
        Ok(Some(caller))
    }

    /// Issues a scoped token of `role` for the org.
    pub async fn issue_token(
        &self,
        writer: &Writer,
        org_id: &OrgId,
        role: Role,
        agent_id: Option<String>,
    ) -> Result<IssuedToken, AppError> {
        let token = new_token("sbv");
        let row = ApiTokenRow {
            id: uuid::Uuid::now_v7().to_string(),
            org_id: org_id.to_string(),
            role: role.as_str().to_owned(),
            agent_id,
            token_hash: token_hash(&token),
            created_at: to_text(chrono::Utc::now()),
        };
        writer
            .commit(WriteRequest {
                org_id: org_id.clone(),
                ops: vec![WriteOp::InsertApiToken(row.clone())],
                events: Vec::new(),
            })
            .await?;
        Ok(IssuedToken { row, token })
    }

    /// Revokes a scoped token of the org: it stops working at once. An unknown id is a 404.
    pub async fn revoke_token(
        &self,
        writer: &Writer,
        org_id: &OrgId,
        id: &str,
    ) -> Result<(), AppError> {
        let outcome = writer
            .commit(WriteRequest {
                org_id: org_id.clone(),
                ops: vec![WriteOp::DeleteApiToken {
                    org_id: org_id.to_string(),
                    id: id.to_owned(),
                }],
                events: Vec::new(),
            })
            .await?;
        if outcome == WriteOutcome::Duplicate {
            return Err(AppError::not_found("token"));
        }
        self.by_token_hash
            .write()
            .unwrap()
            .retain(|_, caller| caller.token_id.as_deref() != Some(id));
        Ok(())
    }

    /// Changes the org's settings — its name, the country its national numbers are read in,
    /// whether its calls are recorded — in the database and in every cached copy; each checked
    /// first (nothing changes when one is wrong).
    pub async fn change(
        &self,
        writer: &Writer,
        org_id: &OrgId,
        name: Option<&str>,
        default_country: Option<&str>,
        record: Option<bool>,
    ) -> Result<(), AppError> {
        let change = OrgChange {
            org_id: org_id.to_string(),
            name: name.map(org_name).transpose()?,
            default_country: default_country.map(self::default_country).transpose()?,
            record,
        };
        if change.name.is_none() && change.default_country.is_none() && record.is_none() {
            return Ok(());
        }
        writer
            .commit(WriteRequest {
                org_id: org_id.clone(),
                ops: vec![WriteOp::ChangeOrg(change.clone())],
                events: Vec::new(),
            })
            .await?;
        let changed = |org: &Arc<Org>| {
            let mut org = (**org).clone();
            org.name = change.name.clone().unwrap_or(org.name);
            org.default_country = change
                .default_country
                .clone()
                .unwrap_or(org.default_country);
            org.record = change.record.unwrap_or(org.record);
            Arc::new(org)
        };
        if let Some(org) = self.by_id.write().unwrap().get_mut(org_id) {
            *org = changed(org);
        }
        for caller in self.by_token_hash.write().unwrap().values_mut() {
            if &caller.org.id == org_id {
                caller.org = changed(&caller.org);
            }
        }
        Ok(())
    }

    /// An org by its id (any text: what is not an id of ours is simply not found).
    pub async fn by_id(&self, id: &str) -> Result<Option<Arc<Org>>, AppError> {
        let Some(id) = OrgId::parse(id) else {
            return Ok(None);
        };
        if let Some(org) = self.by_id.read().unwrap().get(&id) {
            return Ok(Some(org.clone()));
        }
        let lookup = id.to_string();
        let row = db::read(&self.pool, move |conn| {
            Ok(queries::org_by_id(conn, &lookup)?)
        })
        .await?;
        Ok(row.map(|row| {
            let org = Arc::new(Org::from(row));
            self.by_id.write().unwrap().insert(id, org.clone());
            org
        }))
    }

    /// An org's credentials for a provider, if it has any.
    pub async fn credentials(
        &self,
        org_id: &OrgId,
        provider: Provider,
    ) -> Result<Option<Credentials>, AppError> {
        let key = (org_id.clone(), provider);
        if let Some(found) = self.credentials.read().unwrap().get(&key) {
            return Ok(Some(found.clone()));
        }
        let org = org_id.to_string();
        let row = db::read(&self.pool, move |conn| {
            Ok(queries::provider_account(conn, &org, provider.as_str())?)
        })
        .await?;
        let Some(row) = row else { return Ok(None) };
        let map: Map<String, Value> = serde_json::from_str(&row.credentials)
            .map_err(|e| AppError::internal(format!("stored credentials unreadable: {e}")))?;
        let credentials = typed(provider, &map)?;
        self.credentials
            .write()
            .unwrap()
            .insert(key, credentials.clone());
        Ok(Some(credentials))
    }

    /// An org's credentials for a provider; 409 `provider_not_configured` when it has none.
    pub async fn required_credentials(
        &self,
        org_id: &OrgId,
        provider: Provider,
    ) -> Result<Credentials, AppError> {
        self.credentials(org_id, provider)
            .await?
            .ok_or_else(|| not_configured(provider))
    }

    /// An org's credentials for a provider if they are in memory already (no database read).
    pub fn cached_credentials(&self, org_id: &OrgId, provider: Provider) -> Option<Credentials> {
        self.credentials
            .read()
            .unwrap()
            .get(&(org_id.clone(), provider))
            .cloned()
    }

    /// Stores an org's credentials for a provider (already validated) through the writer.
    pub async fn put_credentials(
        &self,
        writer: &Writer,
        org_id: &OrgId,
        provider: Provider,
        credentials: Map<String, Value>,
    ) -> Result<(), AppError> {
        let row = ProviderAccountRow {
            org_id: org_id.to_string(),
            provider: provider.as_str().to_owned(),
            credentials: Value::Object(credentials.clone()).to_string(),
            updated_at: to_text(chrono::Utc::now()),
        };
        writer
            .commit(WriteRequest {
                org_id: org_id.clone(),
                ops: vec![WriteOp::PutProviderAccount(row)],
                events: Vec::new(),
            })
            .await?;
        let credentials = typed(provider, &credentials)?;
        self.credentials
            .write()
            .unwrap()
            .insert((org_id.clone(), provider), credentials);
        Ok(())
    }
}

/// 409: the org has not set this provider's credentials.
pub fn not_configured(provider: Provider) -> AppError {
    AppError::new(
        Code::ProviderNotConfigured,
        format!("set the org's {} credentials first", provider.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token("sbk");
        let b = new_token("sbk");
        assert_ne!(a, b);
        assert!(a.starts_with("sbk_") && a.len() == 4 + 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
