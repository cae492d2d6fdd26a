//! The org event log's vocabulary: what dashboards receive, numbered per org by `seq`.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The kinds of event a dashboard session receives (CONTRACT.md, WebSocket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    CallCreated,
    CallUpdated,
    ExtensionUpdated,
    CampaignUpdated,
    CampaignProgress,
    IncomingCall,
    MetricsUpdated,
    CreditsUpdated,
    AgentUpdated,
    QueueUpdated,
    PresenceResynced,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallCreated => "call:created",
            Self::CallUpdated => "call:updated",
            Self::ExtensionUpdated => "extension:updated",
            Self::CampaignUpdated => "campaign:updated",
            Self::CampaignProgress => "campaign:progress",
            Self::IncomingCall => "incoming:call",
            Self::MetricsUpdated => "metrics:updated",
            Self::CreditsUpdated => "credits:updated",
            Self::AgentUpdated => "agent:updated",
            Self::QueueUpdated => "queue:updated",
            Self::PresenceResynced => "presence:resynced",
        }
    }
}

/// An event to append to an org's log; the writer gives it its `seq` inside the commit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: EventType,
    /// What the event is about (a call id, an extension number, a campaign id).
    pub subject: String,
    pub data: serde_json::Value,
}

/// A committed event of an org's log, exactly as dashboards receive it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrgEvent {
    pub seq: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub at: DateTime<Utc>,
    #[serde(skip)]
    pub subject: String,
    pub data: serde_json::Value,
}
