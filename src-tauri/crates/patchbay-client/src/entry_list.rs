//! [`EntryList`]: a list of picker entries as the server sent it, with its
//! tag. Cheap to clone (the entries are shared), so the client can keep the
//! last list it saw and hand it out again when the server says the entries
//! are unchanged.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use patchbay_protocol::entries::PickerEntry;
use patchbay_protocol::rpc::EntriesResult;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// The picker entries at one moment, and the server's tag for exactly that
/// list ([`EntryList::etag`]). Derefs to `[PickerEntry]`, so `len()`,
/// `iter()`, indexing and `for entry in &list` work as on a slice.
#[derive(Clone, PartialEq)]
pub struct EntryList {
    etag: Arc<str>,
    entries: Arc<[PickerEntry]>,
}

impl EntryList {
    pub(crate) fn from_result(result: EntriesResult) -> Self {
        Self {
            etag: Arc::from(result.etag),
            entries: Arc::from(result.entries),
        }
    }

    /// The server's tag of this list: equal tags mean equal entries. Empty
    /// when the server is older than tags.
    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// The entries, in picker order.
    pub fn entries(&self) -> &[PickerEntry] {
        &self.entries
    }

    /// The entries as an owned `Vec` (copies them).
    pub fn to_vec(&self) -> Vec<PickerEntry> {
        self.entries.to_vec()
    }
}

impl Deref for EntryList {
    type Target = [PickerEntry];

    fn deref(&self) -> &[PickerEntry] {
        &self.entries
    }
}

impl<'a> IntoIterator for &'a EntryList {
    type Item = &'a PickerEntry;
    type IntoIter = std::slice::Iter<'a, PickerEntry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl fmt::Debug for EntryList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntryList")
            .field("etag", &self.etag)
            .field("entries", &self.entries.len())
            .finish()
    }
}

/// Serialises as the protocol's `{"etag": …, "entries": […]}`, so a host can
/// keep the list (e.g. on disk) in the shape it came in.
impl Serialize for EntryList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("EntryList", 2)?;
        state.serialize_field("etag", &*self.etag)?;
        state.serialize_field("entries", &*self.entries)?;
        state.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_in_the_protocol_shape_and_derefs_to_the_entries() {
        let entry: PickerEntry = serde_json::from_value(serde_json::json!({
            "id": "p/m", "label": "m · P",
            "provider": {"id": "p", "label": "P", "base_url": "https://p.example/v1"},
            "model_id": "m", "is_default": true, "byok": true, "auth": "none", "input_modalities": []
        }))
        .expect("entry");
        let list = EntryList::from_result(EntriesResult {
            etag: "abc".to_owned(),
            entries: vec![entry.clone()],
        });
        assert_eq!(list.len(), 1);
        assert_eq!(list[0], entry);
        assert_eq!((&list).into_iter().count(), 1);
        let json = serde_json::to_value(&list).expect("serialises");
        let back: EntriesResult = serde_json::from_value(json).expect("protocol shape");
        assert_eq!(back.etag, "abc");
        assert_eq!(back.entries, vec![entry]);
        assert_eq!(
            format!("{list:?}"),
            r#"EntryList { etag: "abc", entries: 1 }"#
        );
    }
}
