//! Newtype ids: an org id is never confused with a call id, and both are parsed at the edge.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh, time-ordered id (UUID v7): newer ids sort after older ones.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// Reads an id from text; anything that is not a UUID is no id of ours.
            pub fn parse(text: &str) -> Option<Self> {
                uuid::Uuid::parse_str(text).ok().map(|u| Self(u.to_string()))
            }

            /// Wraps an id read back from our own database.
            pub fn from_stored(text: String) -> Self {
                Self(text)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uuid_id!(
    /// An organization (tenant): part of every key, query and hub topic.
    OrgId
);
uuid_id!(
    /// Our own id of a call, independent of any provider's id.
    CallId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_uuids_and_normalizes_case() {
        assert!(OrgId::parse("not-a-uuid").is_none());
        assert!(OrgId::parse("").is_none());
        let id = OrgId::parse("0190A8B2-7C3D-7E4F-8A1B-2C3D4E5F6A7B").unwrap();
        assert_eq!(id.as_str(), "0190a8b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b");
    }

    #[test]
    fn generated_ids_sort_in_creation_order() {
        let a = CallId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = CallId::generate();
        assert!(a < b);
    }
}
