//! The one shape of every list the API answers: `{"items": [...], "next_cursor": "..."}`, with
//! `next_cursor` absent on the last page. Lists with more to say (a total, the sort, the universe
//! version) flatten a [`Page`] into their own response type.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    /// The opaque cursor of the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T: Serialize> Page<T> {
    /// A page with a next one when `next_cursor` is `Some`.
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Page { items, next_cursor }
    }

    /// A list that is never paginated (it is always the last page).
    pub fn all(items: Vec<T>) -> Self {
        Page { items, next_cursor: None }
    }
}

/// `links`: where a created or listed resource lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_link: String,
}

impl Links {
    pub fn to(path: impl Into<String>) -> Self {
        Links { self_link: path.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_cursor_is_absent_on_the_last_page() {
        assert_eq!(serde_json::to_value(Page::all(vec![1, 2])).unwrap(), serde_json::json!({"items": [1, 2]}));
        assert_eq!(
            serde_json::to_value(Page::new(vec!["a"], Some("0a".into()))).unwrap(),
            serde_json::json!({"items": ["a"], "next_cursor": "0a"})
        );
    }
}
