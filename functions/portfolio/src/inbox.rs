//! The notifications inbox: `/v1/inbox` (list, newest first, with the unread count),
//! `/v1/inbox/unread-count`, `/v1/inbox/{id}/read`, `/v1/inbox/read-all` and `DELETE
//! /v1/inbox/{id}`. Storage keeps the count exact (`bourse_storage::inbox`).

use crate::Portfolio;
use crate::wire::{InboxPage, MarkedRead, NotificationView, UnreadCount};
use bourse_domain::UserId;
use bourse_domain::inbox::NotificationId;
use bourse_http::{ApiError, ApiRequest, Reply};
use bourse_runtime::storage_problem;
use bourse_storage::inbox::{self as store, Changed};

fn notification_id(request: &ApiRequest) -> Result<NotificationId, ApiError> {
    NotificationId::parse(request.param("id")?).map_err(|_| not_found())
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such notification".into())
}

impl Portfolio {
    /// `GET /v1/inbox?unread=true&limit=&cursor=` → a page, newest first, and the unread count.
    /// 1 GetItem (the count) + 1–10 Queries.
    pub(crate) async fn inbox(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&["unread", "limit", "cursor"])?;
        let unread_only = match request.query("unread")? {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(ApiError::field("query.unread", "must be true or false")),
        };
        let limit = request.limit(20, 100)?;
        let after = request
            .query("cursor")?
            .map(|raw| {
                bourse_http::cursor::decode(raw)
                    .and_then(|id| NotificationId::parse(&id).ok())
                    .ok_or_else(|| ApiError::field("query.cursor", "not a cursor of this list"))
            })
            .transpose()?;
        let (aws, table) = (&self.platform.aws, self.app_table.as_str());
        let (items, next) = store::list(aws, table, user, limit, after.as_ref(), unread_only).await.map_err(storage_problem)?;
        let unread = store::unread_count(aws, table, user).await.map_err(storage_problem)?;
        Reply::ok(&InboxPage {
            items: items.iter().map(NotificationView::from).collect(),
            next_cursor: next.map(|id| bourse_http::cursor::encode(id.as_str())),
            unread,
        })
    }

    /// `GET /v1/inbox/unread-count` → `{unread}`: 1 GetItem, whatever the inbox's size.
    pub(crate) async fn unread_count(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let unread = store::unread_count(&self.platform.aws, &self.app_table, user).await.map_err(storage_problem)?;
        Reply::ok(&UnreadCount { unread })
    }

    /// `POST /v1/inbox/{id}/read` → 204 (a read one stays read).
    pub(crate) async fn mark_read(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = notification_id(request)?;
        let now = crate::now().unix_timestamp();
        match store::mark_read(&self.platform.aws, &self.app_table, user, &id, now).await.map_err(storage_problem)? {
            Changed::Done | Changed::Unchanged => Ok(Reply::no_content()),
            Changed::NotFound => Err(not_found()),
        }
    }

    /// `POST /v1/inbox/read-all` → `{marked}`.
    pub(crate) async fn mark_all_read(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        request.only_query(&[])?;
        let now = crate::now().unix_timestamp();
        let marked = store::mark_all_read(&self.platform.aws, &self.app_table, user, now).await.map_err(storage_problem)?;
        Reply::ok(&MarkedRead { marked })
    }

    /// `DELETE /v1/inbox/{id}` → 204.
    pub(crate) async fn delete_notification(&self, request: &ApiRequest, user: &UserId) -> Result<Reply, ApiError> {
        let id = notification_id(request)?;
        match store::delete(&self.platform.aws, &self.app_table, user, &id).await.map_err(storage_problem)? {
            Changed::Done | Changed::Unchanged => Ok(Reply::no_content()),
            Changed::NotFound => Err(not_found()),
        }
    }
}
