//! Recording what already happened outside the engine (a call a provider placed, a caller it
//! moved to an agent): the store may refuse for a moment — an outage of some seconds, a failover
//! — and what happened must not be lost with that moment, or the board tells the opposite of it.

use crate::error::AppError;
use std::future::Future;
use std::time::Duration;

/// How long to wait before offering a record of what happened to the store again.
pub const EVERY: Duration = Duration::from_secs(2);
/// How many times such a record is offered before it is given up: 20 s, the length of a
/// failover.
pub const TRIES: u32 = 10;
/// How long the store may take to refuse one offer: its lock wait.
pub const STORE_WAIT: Duration = Duration::from_millis(crate::db::LOCK_WAIT_MS as u64);
/// How long a record is offered at most: [`TRIES`] offers, each refused after at most
/// [`STORE_WAIT`], [`EVERY`] apart.
pub const WINDOW: Duration =
    Duration::from_secs((EVERY.as_secs() + STORE_WAIT.as_secs()) * TRIES as u64);

/// Offers a record of what happened to the store up to `tries` times, `every` apart, for as
/// long as the store answers that it cannot take it now (a 503: `unavailable`, the database
/// down or read-only); any other answer
/// (kept, or refused for good) is returned at once.
pub async fn until_kept<T, F, Fut>(
    what: &'static str,
    tries: u32,
    every: Duration,
    mut offer: F,
) -> Result<T, AppError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let mut tried = 1;
    loop {
        match offer().await {
            Err(error) if error.is_for_now() && tried < tries => {
                tracing::warn!(%error, what, "not stored; offered again");
                tried += 1;
                actix::clock::sleep(every).await;
            }
            answer => return answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    #[actix_web::test]
    async fn a_store_down_for_a_moment_is_waited_for_and_a_refusal_is_not() {
        let mut refusals = vec![
            AppError::new(Code::Unavailable, "down"),
            AppError::new(Code::Unavailable, "down"),
        ];
        let kept = until_kept("a note", 5, Duration::from_millis(1), || {
            let answer = refusals.pop().map_or(Ok(7), Err);
            async move { answer }
        })
        .await;
        assert_eq!(kept.ok(), Some(7));
        let mut offers = 0;
        let refused: Result<(), AppError> = until_kept("a note", 5, Duration::ZERO, || {
            offers += 1;
            async { Err(AppError::new(Code::OfferExpired, "gone")) }
        })
        .await;
        assert_eq!(
            (refused.err().map(|e| e.code), offers),
            (Some(Code::OfferExpired), 1)
        );
        let mut offers = 0;
        let down: Result<(), AppError> = until_kept("a note", 3, Duration::ZERO, || {
            offers += 1;
            async { Err(AppError::new(Code::Unavailable, "down")) }
        })
        .await;
        assert_eq!((down.is_err(), offers), (true, 3));
    }
}
