//! The one way the consumer tells a user something: every notification (a finished job, a fired
//! alert) goes through [`Consumer::notify`], so every channel a notification reaches is decided
//! in one place. Here that is the inbox.

use crate::{Consumer, MessageError};
use bourse_domain::UserId;
use bourse_storage::inbox::Notification;

impl Consumer {
    /// Delivers `notification` to `user`: stored in the inbox with the unread count (1
    /// TransactWriteItems). `true` when newly stored, `false` when a delivery of the same id
    /// already did (a redelivered message tells once).
    pub(crate) async fn notify(&self, user: &UserId, notification: &Notification) -> Result<bool, MessageError> {
        Ok(bourse_storage::inbox::deliver(&self.platform.aws, &self.app_table, user, notification).await?)
    }
}
