//! The pure core under criterion: the call state machine and Twilio's parse + verify.

use chrono::{TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use switchboard::domain::call::{apply, Call, CallEvent, CallStatus, Direction};
use switchboard::domain::ids::{CallId, OrgId};
use switchboard::providers::{form_pairs, twilio};

fn sequence() -> Vec<CallEvent> {
    let t0 = Utc.with_ymd_and_hms(2025, 3, 4, 10, 0, 0).unwrap();
    [
        (CallStatus::Dialing, 0),
        (CallStatus::Ringing, 2),
        (CallStatus::Answered, 9),
        (CallStatus::Completed, 70),
    ]
    .into_iter()
    .map(|(status, s)| CallEvent {
        status: Some(status),
        occurred_at: Some(t0 + chrono::Duration::seconds(s)),
        final_record: status.is_final(),
        talk_s: status.is_final().then_some(61),
        ..CallEvent::default()
    })
    .collect()
}

fn state_machine(c: &mut Criterion) {
    let now = Utc::now();
    let call = Call::new(
        CallId::generate(),
        OrgId::generate(),
        "twilio",
        Some("CA1".into()),
        Direction::Outbound,
        now,
    );
    let events = sequence();
    c.bench_function("apply: full call, 4 events in order", |b| {
        b.iter(|| {
            events
                .iter()
                .fold(call.clone(), |c, e| apply(&c, black_box(e), now).call)
        })
    });
    let reversed: Vec<CallEvent> = events.iter().rev().cloned().collect();
    c.bench_function("apply: full call, 4 events reversed", |b| {
        b.iter(|| {
            reversed
                .iter()
                .fold(call.clone(), |c, e| apply(&c, black_box(e), now).call)
        })
    });
}

fn twilio_intake(c: &mut Criterion) {
    let body = b"CallSid=CA0000000000000000000000000000001&AccountSid=ACx&From=%2B15550001111\
&To=%2B15550002222&Direction=outbound-api&CallStatus=completed&CallDuration=61\
&Timestamp=Tue%2C%2004%20Mar%202025%2010%3A01%3A10%20%2B0000&SequenceNumber=3\
&CallbackSource=call-progress-events&ApiVersion=2010-04-01";
    let url =
        "https://switchboard.example/webhooks/twilio/0190a8b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b/status";
    let pairs = form_pairs(body);
    let signature = twilio::signature("token", url, &pairs);
    c.bench_function("twilio: parse form + verify signature + normalize", |b| {
        b.iter(|| {
            let pairs = form_pairs(black_box(body));
            assert!(twilio::verify("token", url, &pairs, &signature));
            twilio::StatusCallback::parse(&pairs).unwrap().to_event()
        })
    });
}

criterion_group!(benches, state_machine, twilio_intake);
criterion_main!(benches);
