//! Attribute-value shorthands shared by every access-pattern module.

use aws_sdk_dynamodb::types::AttributeValue;
use std::fmt::Display;

/// A string attribute.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute (DynamoDB numbers travel as exact decimal text).
pub(crate) fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
