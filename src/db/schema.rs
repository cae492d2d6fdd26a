//! The one schema both dialects share (migrations/sqlite and migrations/postgres create it).

diesel::table! {
    orgs (id) {
        id -> Text,
        name -> Text,
        api_token_hash -> Text,
        webhook_token_hash -> Text,
        default_country -> Text,
        created_at -> Text,
        record -> Bool,
    }
}

diesel::table! {
    provider_accounts (org_id, provider) {
        org_id -> Text,
        provider -> Text,
        credentials -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    calls (id) {
        id -> Text,
        org_id -> Text,
        provider -> Text,
        provider_call_id -> Nullable<Text>,
        direction -> Text,
        status -> Text,
        from_number -> Nullable<Text>,
        to_number -> Nullable<Text>,
        campaign_id -> Nullable<Text>,
        contact_id -> Nullable<Text>,
        extensions -> Text,
        created_at -> Text,
        started_at -> Nullable<Text>,
        ringing_at -> Nullable<Text>,
        answered_at -> Nullable<Text>,
        ended_at -> Nullable<Text>,
        duration_s -> Nullable<BigInt>,
        talk_s -> Nullable<BigInt>,
        reported_talk_s -> Nullable<BigInt>,
        cost -> Nullable<Text>,
        currency -> Nullable<Text>,
        hangup_cause -> Nullable<Text>,
        recording_url -> Nullable<Text>,
        analytics -> Nullable<Text>,
        final_by -> Nullable<Text>,
        last_event_at -> Text,
        updated_at -> Text,
        carrier_call_id -> Nullable<Text>,
        recording -> Nullable<Text>,
        billed_s -> Nullable<BigInt>,
        cost_micros -> Nullable<BigInt>,
        provider_price -> Nullable<Text>,
        queue_id -> Nullable<Text>,
        queued_at -> Nullable<Text>,
        agent_id -> Nullable<Text>,
        assigned_at -> Nullable<Text>,
        disposition -> Nullable<Text>,
        disposition_detail -> Nullable<Text>,
        amd -> Nullable<Text>,
    }
}

diesel::table! {
    contacts (id) {
        id -> Text,
        org_id -> Text,
        phone -> Text,
        name -> Nullable<Text>,
        company -> Nullable<Text>,
        fields -> Text,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    extensions (org_id, number) {
        org_id -> Text,
        number -> Text,
        name -> Nullable<Text>,
        registered -> Bool,
        dnd -> Bool,
        presence -> Text,
        calls -> Text,
        left_calls -> Text,
        since -> Text,
        updated_at -> Text,
        confirmed_at -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        org_id -> Text,
        role -> Text,
        agent_id -> Nullable<Text>,
        token_hash -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    dnc (org_id, phone) {
        org_id -> Text,
        phone -> Text,
        reason -> Nullable<Text>,
        created_at -> Text,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        provider -> Text,
        status -> Text,
        concurrency -> Integer,
        max_attempts -> Integer,
        retry_delay_s -> Integer,
        calls_per_second -> Nullable<Double>,
        calling_window -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        created_at -> Text,
        updated_at -> Text,
        record -> Bool,
        mode -> Text,
        queue_id -> Nullable<Text>,
        max_abandon_rate -> Double,
        amd -> Text,
        recycle -> Nullable<Text>,
        abandon_message -> Nullable<Text>,
        daily_attempt_cap -> Integer,
    }
}

diesel::table! {
    campaign_contacts (campaign_id, contact_id) {
        campaign_id -> Text,
        contact_id -> Text,
        org_id -> Text,
        phone -> Text,
        position -> BigInt,
        status -> Text,
        attempts -> Integer,
        last_outcome -> Nullable<Text>,
        last_error -> Nullable<Text>,
        next_attempt_at -> Nullable<Text>,
        call_id -> Nullable<Text>,
        updated_at -> Text,
        tz -> Nullable<Text>,
        priority -> Integer,
    }
}

diesel::table! {
    call_events (id) {
        id -> Text,
        org_id -> Text,
        call_id -> Text,
        dedupe_key -> Nullable<Text>,
        source -> Text,
        kind -> Text,
        raw_status -> Nullable<Text>,
        status_after -> Text,
        occurred_at -> Nullable<Text>,
        received_at -> Text,
        data -> Text,
    }
}

diesel::table! {
    events (org_id, seq) {
        org_id -> Text,
        seq -> BigInt,
        event_type -> Text,
        subject -> Text,
        data -> Text,
        at -> Text,
    }
}

diesel::table! {
    webhook_inbox (id) {
        id -> Text,
        org_id -> Text,
        provider -> Text,
        dedupe_key -> Text,
        kind -> Text,
        content_type -> Nullable<Text>,
        body -> Binary,
        outcome -> Text,
        received_at -> Text,
    }
}

diesel::table! {
    rates (org_id, provider, direction, prefix) {
        org_id -> Text,
        provider -> Text,
        direction -> Text,
        prefix -> Text,
        per_minute_micros -> BigInt,
        increment_s -> BigInt,
        minimum_s -> BigInt,
    }
}

diesel::table! {
    credit_accounts (org_id) {
        org_id -> Text,
        currency -> Text,
        enabled -> Bool,
        balance_micros -> BigInt,
        low_threshold_micros -> Nullable<BigInt>,
        updated_at -> Text,
    }
}

diesel::table! {
    credit_ledger (id) {
        id -> Text,
        org_id -> Text,
        at -> Text,
        amount_micros -> BigInt,
        balance_micros -> BigInt,
        call_id -> Nullable<Text>,
        reason -> Text,
    }
}

diesel::table! {
    call_totals (org_id, day, campaign_id, status, currency) {
        org_id -> Text,
        day -> Text,
        campaign_id -> Text,
        status -> Text,
        currency -> Text,
        calls -> BigInt,
        answered -> BigInt,
        talk_s -> BigInt,
        talked -> BigInt,
        priced -> BigInt,
        cost_micros -> BigInt,
        billed_s -> BigInt,
    }
}

diesel::table! {
    agents (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        extensions -> Text,
        skills -> Text,
        phone -> Nullable<Text>,
        availability -> Text,
        availability_reason -> Nullable<Text>,
        availability_since -> Text,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    queues (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        skills -> Text,
        sla_s -> Integer,
        ring_timeout_s -> Integer,
        wrap_up_s -> Integer,
        number -> Nullable<Text>,
        priority -> Integer,
        max_wait_s -> Nullable<Integer>,
        overflow_queue_id -> Nullable<Text>,
        overflow_message -> Nullable<Text>,
        max_missed_offers -> Integer,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    disposition_codes (org_id, code) {
        org_id -> Text,
        code -> Text,
        label -> Text,
        position -> Integer,
    }
}

diesel::table! {
    callbacks (id) {
        id -> Text,
        org_id -> Text,
        call_id -> Text,
        contact_id -> Nullable<Text>,
        phone -> Text,
        provider -> Text,
        from_number -> Nullable<Text>,
        campaign_id -> Nullable<Text>,
        due_at -> Text,
        status -> Text,
        dialed_call_id -> Nullable<Text>,
        error -> Nullable<Text>,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    agents,
    queues,
    disposition_codes,
    callbacks,
    call_totals,
    rates,
    credit_accounts,
    credit_ledger,
    orgs,
    provider_accounts,
    calls,
    contacts,
    extensions,
    dnc,
    api_tokens,
    campaigns,
    campaign_contacts,
    call_events,
    events,
    webhook_inbox
);
