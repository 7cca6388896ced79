//! Attribute-value shorthands shared by every access-pattern module.

use crate::error::StorageError;
use crate::query::Item;
use crate::schema::{PK, SK};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use rust_decimal::Decimal;
use std::fmt::Display;

/// A string attribute.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute (DynamoDB numbers travel as exact decimal text).
pub(crate) fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A decimal as a number attribute: exact text, trailing zeros dropped (never digits).
pub(crate) fn decimal(value: Decimal) -> AttributeValue {
    AttributeValue::N(value.normalize().to_string())
}

/// A string attribute of an item, if present.
pub(crate) fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// The error for an item whose `field` is missing or malformed, naming the item by its keys.
pub(crate) fn corrupt(item: &Item, field: &str) -> StorageError {
    StorageError::Corrupt {
        key: format!("{}/{}", text(item, PK).unwrap_or_default(), text(item, SK).unwrap_or_default()),
        reason: format!("field {field}"),
    }
}

/// A transaction item that puts `item` only if no item has its key (`attribute_not_exists(pk)`).
pub(crate) fn put_if_absent(table: &str, item: Item) -> Result<TransactWriteItem, StorageError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(|e| StorageError::Corrupt { key: table.to_owned(), reason: e.to_string() })?;
    Ok(TransactWriteItem::builder().put(put).build())
}
