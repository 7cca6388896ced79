//! Operator commands on the cache: server statistics (`INFO`), keys counted by prefix (`SCAN`)
//! and clearing a prefix (`SCAN` + `UNLINK`). They serve the admin routes (`functions/ops`) and
//! `bourse-ops`, never a request path of the API: `SCAN` walks the keyspace, in pages of
//! [`SCAN_PAGE`] keys, each page one command bounded like every other.
//!
//! **When clearing is still needed.** The screener's answers live under the universe version
//! (`bourse:screener:w<format>:u<version>:…`), so publishing a universe orphans every old entry
//! (they expire within two TTLs) and a whole-cache flush is never needed for them. Clearing a
//! prefix is for what no version covers: a screener deploy that changes an answer's content
//! without changing its wire format (clear `bourse:screener:`), a portfolio view computed by a
//! faulty release (`bourse:portfolio:`), or a rate limiter's state after a provider's limit
//! changed (`bourse:ratelimit:`). Sessions (`auth:session:`) may be cleared safely: a miss is
//! answered from DynamoDB, the system of record, and a revoked session stays revoked.

use crate::{Cache, CacheError};
use std::collections::BTreeMap;

/// Keys asked for per `SCAN` command.
pub const SCAN_PAGE: usize = 1000;

/// What `INFO` says about the server (the whole cluster's primary, every function's traffic).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerStats {
    /// `valkey_version`, else `redis_version`.
    pub engine_version: String,
    pub uptime_seconds: u64,
    pub connected_clients: u64,
    pub used_memory_bytes: u64,
    /// 0 when no limit is set.
    pub maxmemory_bytes: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub evicted_keys: u64,
    pub expired_keys: u64,
    /// Keys in the selected database (`db<N>:keys=…`).
    pub keys: u64,
}

impl ServerStats {
    /// hits ÷ (hits + misses) since the server started, `None` before any read.
    pub fn hit_ratio(&self) -> Option<f64> {
        let reads = self.keyspace_hits + self.keyspace_misses;
        (reads > 0).then(|| self.keyspace_hits as f64 / reads as f64)
    }

    /// Parses the text of `INFO` (`name:value` lines, `# Section` headers).
    pub fn parse(info: &str, db: i64) -> ServerStats {
        let fields: BTreeMap<&str, &str> = info.lines().filter_map(|line| line.trim().split_once(':')).collect();
        let number = |name: &str| fields.get(name).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
        let keys = fields
            .get(format!("db{db}").as_str())
            .and_then(|v| v.split(',').find_map(|part| part.strip_prefix("keys=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        ServerStats {
            engine_version: fields
                .get("valkey_version")
                .or_else(|| fields.get("redis_version"))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default(),
            uptime_seconds: number("uptime_in_seconds"),
            connected_clients: number("connected_clients"),
            used_memory_bytes: number("used_memory"),
            maxmemory_bytes: number("maxmemory"),
            keyspace_hits: number("keyspace_hits"),
            keyspace_misses: number("keyspace_misses"),
            evicted_keys: number("evicted_keys"),
            expired_keys: number("expired_keys"),
            keys,
        }
    }
}

/// Keys counted by prefix over one walk of the keyspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixCounts {
    /// Prefix (the key's first `depth` `:`-separated parts, with the trailing `:`) → keys.
    pub counts: BTreeMap<String, u64>,
    pub scanned: u64,
    /// False when the walk stopped at its key limit before the end of the keyspace.
    pub complete: bool,
}

/// The prefix of `key` made of its first `depth` `:`-separated parts (the whole key when it has
/// fewer), with the trailing `:`.
pub fn key_prefix(key: &str, depth: usize) -> String {
    let mut end = 0;
    for (parts, (at, _)) in key.match_indices(':').enumerate() {
        if parts + 1 == depth {
            end = at + 1;
            break;
        }
    }
    if end == 0 { key.to_owned() } else { key[..end].to_owned() }
}

/// `prefix` as a `SCAN MATCH` pattern that matches exactly the keys starting with it (glob
/// characters escaped).
pub fn match_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 2);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('*');
    pattern
}

impl Cache {
    /// `INFO` of the server, parsed. One command; the breaker and timeout apply.
    pub async fn server_stats(&self) -> Result<ServerStats, CacheError> {
        let info: String = self.run(|mut c| async move { redis::cmd("INFO").arg("everything").query_async(&mut c).await }).await?;
        Ok(ServerStats::parse(&info, self.connector.database()))
    }

    /// One page of `SCAN` from `cursor` (0 starts a walk; 0 back means the walk is done).
    async fn scan_page(&self, cursor: u64, pattern: &str) -> Result<(u64, Vec<Vec<u8>>), CacheError> {
        self.run(|mut c| async move {
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(SCAN_PAGE).query_async(&mut c).await
        })
        .await
    }

    /// Walks the keyspace (`SCAN`, ⌈keys / 1000⌉ commands) and counts keys by their first
    /// `depth` parts, stopping after `max_keys`. Operator path only.
    pub async fn count_by_prefix(&self, depth: usize, max_keys: u64) -> Result<PrefixCounts, CacheError> {
        let mut out = PrefixCounts::default();
        let mut cursor = 0;
        loop {
            let (next, keys) = self.scan_page(cursor, "*").await?;
            for key in keys {
                *out.counts.entry(key_prefix(&String::from_utf8_lossy(&key), depth)).or_default() += 1;
                out.scanned += 1;
            }
            cursor = next;
            if cursor == 0 {
                out.complete = true;
                return Ok(out);
            }
            if out.scanned >= max_keys {
                return Ok(out);
            }
        }
    }

    /// Deletes every key starting with `prefix` (`SCAN MATCH` + `UNLINK` per page): ⌈keys /
    /// 1000⌉ SCANs and one UNLINK per non-empty page. Returns how many were deleted. A key
    /// written while the walk runs may survive it (SCAN's guarantee covers keys present for the
    /// whole walk). Operator path only; `prefix` must not be empty.
    pub async fn clear_prefix(&self, prefix: &str) -> Result<u64, CacheError> {
        assert!(!prefix.is_empty(), "clear_prefix needs a prefix; the caller validates it");
        let pattern = match_pattern(prefix);
        let mut deleted = 0;
        let mut cursor = 0;
        loop {
            let (next, keys) = self.scan_page(cursor, &pattern).await?;
            // SCAN may return a key twice; UNLINK counts what it removed.
            let keys: Vec<Vec<u8>> = keys.into_iter().filter(|k| k.starts_with(prefix.as_bytes())).collect();
            if !keys.is_empty() {
                let removed: u64 = self.run(|mut c| async move { redis::cmd("UNLINK").arg(&keys).query_async(&mut c).await }).await?;
                deleted += removed;
            }
            cursor = next;
            if cursor == 0 {
                return Ok(deleted);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_is_parsed_and_the_hit_ratio_computed() {
        let info = "# Server\r\nredis_version:7.0.15\r\nvalkey_version:8.0.1\r\nuptime_in_seconds:42\r\n# Clients\r\nconnected_clients:3\r\n\
                    # Memory\r\nused_memory:1048576\r\nmaxmemory:0\r\n# Stats\r\nkeyspace_hits:30\r\nkeyspace_misses:10\r\n\
                    evicted_keys:2\r\nexpired_keys:5\r\n# Keyspace\r\ndb0:keys=17,expires=16,avg_ttl=1000\r\ndb5:keys=3,expires=0\r\n";
        let stats = ServerStats::parse(info, 0);
        assert_eq!(stats.engine_version, "8.0.1");
        assert_eq!((stats.uptime_seconds, stats.connected_clients, stats.used_memory_bytes), (42, 3, 1_048_576));
        assert_eq!((stats.keyspace_hits, stats.keyspace_misses, stats.evicted_keys, stats.expired_keys), (30, 10, 2, 5));
        assert_eq!(stats.keys, 17);
        assert_eq!(ServerStats::parse(info, 5).keys, 3);
        assert_eq!(stats.hit_ratio(), Some(0.75));
        assert_eq!(ServerStats::default().hit_ratio(), None);
    }

    #[test]
    fn prefixes_are_the_first_parts_of_a_key() {
        assert_eq!(key_prefix("bourse:screener:w2:u5:/v1/stocks?", 2), "bourse:screener:");
        assert_eq!(key_prefix("bourse:screener:w2:u5:/v1/stocks?", 3), "bourse:screener:w2:");
        assert_eq!(key_prefix("auth:session:abc", 2), "auth:session:");
        assert_eq!(key_prefix("plain", 2), "plain");
        assert_eq!(key_prefix("one:two", 2), "one:two");
    }

    #[test]
    fn glob_characters_of_a_prefix_are_escaped() {
        assert_eq!(match_pattern("bourse:screener:"), "bourse:screener:*");
        assert_eq!(match_pattern("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\*");
    }
}
