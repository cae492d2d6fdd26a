//! The org event log's vocabulary: what dashboards receive, numbered per org by `seq`.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The kinds of event a dashboard session receives (CONTRACT.md, WebSocket), written as their
/// names (`call:updated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
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
    /// Every kind, in one place: what [`EventType::parse`] reads back.
    pub const ALL: [EventType; 11] = [
        Self::CallCreated,
        Self::CallUpdated,
        Self::ExtensionUpdated,
        Self::CampaignUpdated,
        Self::CampaignProgress,
        Self::IncomingCall,
        Self::MetricsUpdated,
        Self::CreditsUpdated,
        Self::AgentUpdated,
        Self::QueueUpdated,
        Self::PresenceResynced,
    ];

    /// The kind a stored event's name is, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// A call's event (`call:created`, `call:updated`).
    pub fn is_call(self) -> bool {
        matches!(self, Self::CallCreated | Self::CallUpdated)
    }

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
    pub event_type: EventType,
    pub at: DateTime<Utc>,
    #[serde(skip)]
    pub subject: String,
    pub data: serde_json::Value,
}

impl From<EventType> for &'static str {
    fn from(kind: EventType) -> Self {
        kind.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::EventType;

    #[test]
    fn every_kind_reads_back_from_its_name_and_is_written_as_it() {
        // A kind left out of ALL would not be replayed: every variant must be in it.
        let listed = |kind: EventType| match kind {
            EventType::CallCreated
            | EventType::CallUpdated
            | EventType::ExtensionUpdated
            | EventType::CampaignUpdated
            | EventType::CampaignProgress
            | EventType::IncomingCall
            | EventType::MetricsUpdated
            | EventType::CreditsUpdated
            | EventType::AgentUpdated
            | EventType::QueueUpdated
            | EventType::PresenceResynced => EventType::ALL.contains(&kind),
        };
        assert!(EventType::ALL.into_iter().all(listed));
        assert_eq!(
            EventType::ALL.len(),
            11,
            "a new kind goes in ALL and in the match above"
        );
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(EventType::parse("call:deleted"), None);
    }
}
