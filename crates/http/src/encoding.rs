//! Response compression: br or gzip for bodies of at least [`MIN_COMPRESS_BYTES`] when the client
//! accepts it (RFC 9110 `Accept-Encoding` with q-values).

use std::io::Write;

/// Below about one KiB compression costs more time than it saves bytes.
pub const MIN_COMPRESS_BYTES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

/// The best encoding the client accepts; br wins a tie with gzip.
pub fn negotiate(accept_encoding: &str) -> Option<Encoding> {
    let mut best: Option<(Encoding, f32)> = None;
    let mut wildcard: Option<f32> = None;
    let mut refused = Vec::new();
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let encoding = match token.as_str() {
            "br" => Encoding::Brotli,
            "gzip" | "x-gzip" => Encoding::Gzip,
            "*" => {
                wildcard = Some(q);
                continue;
            }
            _ => continue,
        };
        if q <= 0.0 {
            refused.push(encoding);
            continue;
        }
        let better = match best {
            None => true,
            Some((current, best_q)) => q > best_q || (q == best_q && encoding == Encoding::Brotli && current != encoding),
        };
        if better {
            best = Some((encoding, q));
        }
    }
    best.map(|(e, _)| e).or_else(|| {
        let q = wildcard?;
        [Encoding::Brotli, Encoding::Gzip].into_iter().find(|e| q > 0.0 && !refused.contains(e))
    })
}

/// Compresses `body`; fast settings, since the response is produced per request.
pub fn compress(body: &[u8], encoding: Encoding) -> std::io::Result<Vec<u8>> {
    match encoding {
        Encoding::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), flate2::Compression::new(5));
            encoder.write_all(body)?;
            encoder.finish()
        }
        Encoding::Brotli => {
            let mut out = Vec::with_capacity(body.len() / 3);
            {
                let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 4, 22);
                writer.write_all(body)?;
                writer.flush()?;
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn negotiation_honours_q_values() {
        assert_eq!(negotiate("gzip, deflate, br"), Some(Encoding::Brotli));
        assert_eq!(negotiate("gzip"), Some(Encoding::Gzip));
        assert_eq!(negotiate("br;q=0.5, gzip;q=0.8"), Some(Encoding::Gzip));
        assert_eq!(negotiate("br;q=0, gzip;q=0"), None);
        assert_eq!(negotiate("identity"), None);
        assert_eq!(negotiate("*"), Some(Encoding::Brotli));
        assert_eq!(negotiate("br;q=0, *"), Some(Encoding::Gzip));
        assert_eq!(negotiate(""), None);
    }

    #[test]
    fn compressed_bodies_round_trip() {
        let body = br#"{"symbol":"AAPL","price":"189.50"}"#.repeat(100);
        let gz = compress(&body, Encoding::Gzip).unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut out).unwrap();
        assert_eq!(out, body);
        let br = compress(&body, Encoding::Brotli).unwrap();
        let mut out = Vec::new();
        brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut out).unwrap();
        assert_eq!(out, body);
        assert!(br.len() < body.len() / 5);
    }
}
