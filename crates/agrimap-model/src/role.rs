//! Who may do what: the roles an API token carries.

/// What an API token lets its holder do; ordered from least to most, and
/// each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// No token: public layers and public fields.
    Anonymous,
    /// Every field, every read API.
    Planner,
    /// Imports, edits, readings as CSV.
    Editor,
    /// Tokens and stations.
    Admin,
}

impl Role {
    /// The roles a token can be issued for.
    pub const ISSUABLE: [Self; 3] = [Self::Planner, Self::Editor, Self::Admin];

    /// The role a token carries, from its stored name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ISSUABLE.into_iter().find(|r| r.name() == name)
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::Planner => "planner",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    /// Which fields this role may read.
    #[must_use]
    pub fn audience(self) -> crate::Audience {
        if self >= Self::Planner {
            crate::Audience::Full
        } else {
            crate::Audience::Public
        }
    }
}

/// A role is written by its name, as the stores keep it.
impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuable_roles_round_trip_by_name_and_anonymous_is_not_issuable() {
        for role in Role::ISSUABLE {
            assert_eq!(Role::from_name(role.name()), Some(role));
        }
        assert_eq!(Role::from_name("anonymous"), None);
        assert!(Role::Planner < Role::Editor && Role::Editor < Role::Admin);
    }
}
