//! Looking calls up: by our id within an org (another org's call is not found).

use super::Engine;
use crate::db::queries;
use crate::domain::call::Call;
use crate::domain::ids::{CallId, OrgId};
use crate::error::AppError;

/// One call of the org; another org's call, or no call, is a 404.
pub async fn find(engine: &Engine, org_id: &OrgId, id: &str) -> Result<Call, AppError> {
    let id = CallId::parse(id).ok_or(AppError::not_found("call"))?;
    let org_id = org_id.to_string();
    let row = engine
        .read(move |conn| Ok(queries::call(conn, &org_id, id.as_str())?))
        .await?;
    let row = row.ok_or(AppError::not_found("call"))?;
    Call::try_from(row).map_err(AppError::internal)
}

/// Whether the number is on a live call with the org right now (inbound or outbound): a
/// campaign or a callback does not ring a person who is already talking to the center.
pub async fn number_in_live_call(
    engine: &Engine,
    org_id: &OrgId,
    number: &str,
) -> Result<bool, AppError> {
    let (org_id, number) = (org_id.to_string(), number.to_owned());
    engine
        .read(move |conn| Ok(queries::number_in_live_call(conn, &org_id, &number)?))
        .await
}

/// Whether the org has this call of this provider (a callback URL's `?call=<id>` is trusted only
/// then; otherwise the provider's own id routes the event).
pub async fn is_providers(
    engine: &Engine,
    org_id: &OrgId,
    call_id: &CallId,
    provider: &str,
) -> Result<bool, AppError> {
    let (org_id, id, provider) = (org_id.to_string(), call_id.to_string(), provider.to_owned());
    engine
        .read(move |conn| {
            Ok(queries::call(conn, &org_id, &id)?.is_some_and(|r| r.provider == provider))
        })
        .await
}

/// Whether the org already has the call the provider names `provider_call_id` (a PBX repeats its
/// ringing snapshots: only the first one of a call needs a screen pop).
pub async fn is_known(
    engine: &Engine,
    org_id: &OrgId,
    provider: &str,
    provider_call_id: &str,
) -> Result<bool, AppError> {
    let (org_id, provider, id) = (
        org_id.to_string(),
        provider.to_owned(),
        provider_call_id.to_owned(),
    );
    engine
        .read(
            move |conn| Ok(queries::call_by_provider_id(conn, &org_id, &provider, &id)?.is_some()),
        )
        .await
}
