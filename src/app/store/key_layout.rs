//! Key layouts. Tenant-owned keys are the 16 workspace-id bytes followed by the record's parts.

use crate::domain::ids::{UserId, WorkspaceId};

/// `workspace ‖ parts…`
pub(crate) fn tenant_key(workspace: &WorkspaceId, parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(16 + parts.iter().map(|p| p.len()).sum::<usize>());
    key.extend_from_slice(workspace.as_bytes());
    for part in parts {
        key.extend_from_slice(part);
    }
    key
}

/// `workspace ‖ user`: a user's primary key, and the prefix of their sessions and tokens.
pub(crate) fn user_key(workspace: &WorkspaceId, user: &UserId) -> Vec<u8> {
    tenant_key(workspace, &[user.as_bytes()])
}

/// The exclusive upper bound of every key starting with `prefix` (for range scans).
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_key_bytes() {
        let ws = WorkspaceId::from_bytes([1; 16]);
        let user = UserId::from_bytes([2; 16]);
        let key = user_key(&ws, &user);
        assert_eq!(key, [[1u8; 16], [2u8; 16]].concat());
        assert_eq!(tenant_key(&ws, &[b"ab", &7u64.to_be_bytes()]).len(), 16 + 2 + 8);
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end(&[1, 2]), vec![1, 3]);
        assert_eq!(prefix_end(&[1, 0xff]), vec![2]);
        assert_eq!(prefix_end(&[0xff]), vec![0xff, 0xff]);
    }
}
