//! The daily snapshot fan-out, one page of a shard per message: read a page of the shard's
//! active portfolios, send one `snapshot-portfolio` message each (batches of 10, sent in
//! parallel), then — if the shard has more — one `snapshot-shard` message that continues after
//! the page. Every message does the same bounded work (1 Query + ⌈page/10⌉ + 1 sends), so any
//! number of portfolios is covered without any invocation running long.
//!
//! The source and the queue are traits so the arithmetic of a 200,000-portfolio fan-out is tested
//! in memory; the real ones are DynamoDB and SQS.

use bourse_domain::messages::QueueMessage;
use bourse_runtime::Platform;
use bourse_storage::StorageError;
use bourse_storage::portfolios::OwnedPortfolio;
use futures_util::StreamExt;
use std::future::Future;

/// Portfolios per fan-out message: 100 SendMessageBatch calls, a few seconds at most.
pub const PAGE: usize = 1_000;
/// SendMessageBatch calls in flight at once.
pub const PARALLEL_SENDS: usize = 16;

/// One page of a shard: (user, portfolio) pairs, and the index position to continue after.
pub type PortfolioPage = (Vec<OwnedPortfolio>, Option<String>);

/// Where the shard's portfolios come from.
pub trait ActivePortfolios {
    /// Up to `limit` (user, portfolio) pairs after `after`, and the position to continue after.
    fn page(&self, shard: u32, after: Option<&str>, limit: usize) -> impl Future<Output = Result<PortfolioPage, StorageError>> + Send;
}

/// Where the messages go.
pub trait Outbox: Sync {
    /// Sends up to 10 messages (one SendMessageBatch); returns how many were sent.
    fn send_batch(&self, messages: &[QueueMessage]) -> impl Future<Output = Result<usize, StorageError>> + Send;
}

/// What one fan-out message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub fanned_out: usize,
    /// The continuation sent, if the shard has more.
    pub continued_after: Option<String>,
}

/// Fans out one page (of `page` portfolios; the consumer uses [`PAGE`]) of `shard` after `after`.
pub async fn fan_out_page(
    source: &impl ActivePortfolios,
    outbox: &impl Outbox,
    shard: u32,
    date: &str,
    after: Option<&str>,
    page: usize,
) -> Result<Step, StorageError> {
    let (pairs, next) = source.page(shard, after, page).await?;
    let messages: Vec<QueueMessage> =
        pairs.into_iter().map(|(user, portfolio)| QueueMessage::SnapshotPortfolio { user, portfolio, date: date.to_owned() }).collect();
    let sent: Vec<Result<usize, StorageError>> = futures_util::stream::iter(messages.chunks(10))
        .map(|batch| outbox.send_batch(batch))
        .buffer_unordered(PARALLEL_SENDS)
        .collect()
        .await;
    let mut fanned_out = 0;
    for result in sent {
        fanned_out += result?;
    }
    // The continuation goes last: if this invocation dies before it, the redelivered message
    // repeats the page (snapshots are idempotent per day) and then continues.
    if let Some(position) = &next {
        outbox.send_batch(&[QueueMessage::SnapshotShard { shard, date: date.to_owned(), after: Some(position.clone()) }]).await?;
    }
    Ok(Step { fanned_out, continued_after: next })
}

/// The active-portfolio index in DynamoDB.
pub struct IndexSource<'a> {
    pub platform: &'a Platform,
    pub table: &'a str,
}

impl ActivePortfolios for IndexSource<'_> {
    async fn page(&self, shard: u32, after: Option<&str>, limit: usize) -> Result<PortfolioPage, StorageError> {
        bourse_storage::portfolios::active_portfolios_page(
            &self.platform.aws,
            self.table,
            shard,
            after,
            i32::try_from(limit).unwrap_or(i32::MAX),
        )
        .await
    }
}

/// The enrichment queue.
pub struct QueueOutbox<'a> {
    pub platform: &'a Platform,
    pub queue_url: &'a str,
}

impl Outbox for QueueOutbox<'_> {
    async fn send_batch(&self, messages: &[QueueMessage]) -> Result<usize, StorageError> {
        bourse_storage::queue::send_messages(&self.platform.aws, self.queue_url, messages, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bourse_domain::{PortfolioId, UserId};
    use std::collections::{BTreeMap, VecDeque};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// 16 shards of sorted `user#portfolio` positions, read as the index would be.
    struct MemoryIndex {
        shards: BTreeMap<u32, Vec<String>>,
        reads: AtomicUsize,
    }

    impl ActivePortfolios for MemoryIndex {
        async fn page(&self, shard: u32, after: Option<&str>, limit: usize) -> Result<PortfolioPage, StorageError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let all = &self.shards[&shard];
            let start = after.map_or(0, |a| all.partition_point(|p| p.as_str() <= a));
            let page: Vec<&String> = all[start..].iter().take(limit).collect();
            let next = (start + page.len() < all.len()).then(|| page.last().map(|p| (*p).clone())).flatten();
            let owned = |position: &str| {
                let (user, portfolio) = position.split_once('#').unwrap();
                (UserId::parse(user).unwrap(), PortfolioId::parse(portfolio).unwrap())
            };
            Ok((page.iter().map(|p| owned(p)).collect(), next))
        }
    }

    /// A queue that records what is sent, 10 at most per call like SendMessageBatch.
    #[derive(Default)]
    struct FakeQueue {
        messages: Mutex<VecDeque<QueueMessage>>,
        calls: AtomicUsize,
    }

    impl Outbox for FakeQueue {
        async fn send_batch(&self, messages: &[QueueMessage]) -> Result<usize, StorageError> {
            assert!(messages.len() <= 10, "SendMessageBatch takes at most 10");
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.messages.lock().unwrap().extend(messages.iter().cloned());
            Ok(messages.len())
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn two_hundred_thousand_portfolios_fan_out_once_each_in_bounded_steps() {
        const PORTFOLIOS: usize = 200_000;
        let mut shards: BTreeMap<u32, Vec<String>> = (0..16).map(|s| (s, Vec::new())).collect();
        for i in 0..PORTFOLIOS {
            let (user, portfolio) = (UserId::parse(&format!("{:032x}", i / 3)).unwrap(), PortfolioId::parse(&format!("{i:032x}")).unwrap());
            let shard = bourse_storage::portfolios::active_shard_key(&user, &portfolio).trim_start_matches("ACTIVE#").parse().unwrap();
            shards.get_mut(&shard).unwrap().push(format!("{user}#{portfolio}"));
        }
        for positions in shards.values_mut() {
            positions.sort();
        }
        let index = MemoryIndex { shards, reads: AtomicUsize::new(0) };
        let queue = FakeQueue::default();
        // The scheduled refresh sends one message per shard; the consumer takes them in any order.
        queue.messages.lock().unwrap().extend((0..16).map(|shard| QueueMessage::SnapshotShard {
            shard,
            date: "2026-12-01".into(),
            after: None,
        }));
        let (mut shard_messages, mut snapshots) = (0, std::collections::HashSet::new());
        let started = std::time::Instant::now();
        let mut slowest = std::time::Duration::ZERO;
        loop {
            let Some(message) = queue.messages.lock().unwrap().pop_back() else { break };
            match message {
                QueueMessage::SnapshotShard { shard, date, after } => {
                    shard_messages += 1;
                    let (reads, calls) = (index.reads.load(Ordering::SeqCst), queue.calls.load(Ordering::SeqCst));
                    let step_started = std::time::Instant::now();
                    let step = fan_out_page(&index, &queue, shard, &date, after.as_deref(), PAGE).await.unwrap();
                    slowest = slowest.max(step_started.elapsed());
                    assert!(step.fanned_out <= PAGE);
                    assert_eq!(index.reads.load(Ordering::SeqCst) - reads, 1, "one page read per message");
                    assert!(queue.calls.load(Ordering::SeqCst) - calls <= PAGE / 10 + 1, "at most 101 sends per message");
                }
                QueueMessage::SnapshotPortfolio { user, portfolio, .. } => {
                    assert!(snapshots.insert(format!("{user}#{portfolio}")), "{user}#{portfolio} twice")
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(snapshots.len(), PORTFOLIOS, "every portfolio exactly once");
        let expected_steps: usize = index.shards.values().map(|p| p.len().div_ceil(PAGE).max(1)).sum();
        assert_eq!(shard_messages, expected_steps);
        println!(
            "fan-out of {PORTFOLIOS} portfolios: {shard_messages} shard messages, slowest step {slowest:?}, all in {:?}",
            started.elapsed()
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_empty_shard_sends_nothing_and_does_not_continue() {
        let index = MemoryIndex { shards: BTreeMap::from([(3, Vec::new())]), reads: AtomicUsize::new(0) };
        let queue = FakeQueue::default();
        let step = fan_out_page(&index, &queue, 3, "2026-12-01", None, PAGE).await.unwrap();
        assert_eq!(step, Step { fanned_out: 0, continued_after: None });
        assert_eq!(queue.calls.load(Ordering::SeqCst), 0);
    }
}
