//! The org's do-not-call list, checked once on the one dial path before anything is dialed.

use super::orgs::Org;
use super::Engine;
use crate::db::models::DncRow;
use crate::db::queries;
use crate::domain::phone::PhoneNumber;
use crate::error::{AppError, Code};

/// The org's entry for a number, if it is listed.
pub async fn entry(
    engine: &Engine,
    org: &Org,
    phone: &PhoneNumber,
) -> Result<Option<DncRow>, AppError> {
    let (org_id, e164) = (org.id.to_string(), phone.e164().to_owned());
    engine
        .read(move |conn| Ok(queries::dnc_entry(conn, &org_id, &e164)?))
        .await
}

/// Refuses a number the org may not dial: 409 `do_not_call`.
pub async fn check(engine: &Engine, org: &Org, phone: &PhoneNumber) -> Result<(), AppError> {
    match entry(engine, org, phone).await? {
        None => Ok(()),
        Some(_) => Err(AppError::new(
            Code::DoNotCall,
            format!("{} is on the do-not-call list", phone.e164()),
        )),
    }
}
