//! The operator role of an account: the attribute `role = "admin"` on the account's profile item
//! (`pk = USER#<userId>`, `sk = PROFILE`).
//!
//! Only an operator writes it (`bourse-ops admin grant|revoke`); no route of the API can. The
//! auth function reads it when it issues access tokens (login and refresh) and copies it into the
//! `admin` claim, so a grant or a revocation reaches the tokens at the account's next login or
//! refresh (at most one access-token lifetime, 15 minutes, later).

use crate::accounts::user_pk;
use crate::attr::s;
use crate::clients::AwsClients;
use crate::error::{StorageError, dynamodb_error};
use crate::schema::{PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;
use bourse_domain::UserId;

/// The value of the `role` attribute that makes an operator.
pub const ADMIN: &str = "admin";

/// Whether the account holds the operator role. 1 GetItem of the profile projecting `role`,
/// strongly consistent (1 RCU), so a revocation is seen by the next token issued. A missing
/// account holds no role.
pub async fn is_admin(clients: &AwsClients, table: &str, user_id: &UserId) -> Result<bool, StorageError> {
    let output = clients
        .dynamodb
        .get_item()
        .table_name(table)
        .key(PK, s(user_pk(user_id)))
        .key(SK, s("PROFILE"))
        .projection_expression("#role")
        .expression_attribute_names("#role", "role")
        .consistent_read(true)
        .send()
        .await
        .map_err(dynamodb_error)?;
    Ok(matches!(output.item.as_ref().and_then(|item| item.get("role")), Some(AttributeValue::S(role)) if role == ADMIN))
}

/// Grants (`admin = true`: `SET role = "admin"`) or revokes (`REMOVE role`) the operator role on
/// an existing account. 1 UpdateItem conditioned on the profile existing (1 WCU); `false` when
/// there is no such account. Operator tooling only.
pub async fn set_admin(clients: &AwsClients, table: &str, user_id: &UserId, admin: bool) -> Result<bool, StorageError> {
    let update = crate::accounts::update_profile(clients, table, user_id)
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#role", "role");
    let update = if admin {
        update.update_expression("SET #role = :role").expression_attribute_values(":role", s(ADMIN))
    } else {
        update.update_expression("REMOVE #role")
    };
    match update.send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
        Err(e) => Err(dynamodb_error(e)),
    }
}
