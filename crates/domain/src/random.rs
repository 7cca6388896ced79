//! Random bytes, injected like the clock: ids and tokens take a [`Random`], which is the OS
//! generator in every function and may be a fixed sequence in tests. A generator that fails is
//! an error the caller answers (500), never a silently predictable id.

/// A source of random bytes.
pub trait Random: std::fmt::Debug + Send + Sync {
    fn fill(&self, bytes: &mut [u8]) -> Result<(), RandomUnavailable>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random generator is unavailable")]
pub struct RandomUnavailable;

/// The operating system's generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, bytes: &mut [u8]) -> Result<(), RandomUnavailable> {
        getrandom::fill(bytes).map_err(|_| RandomUnavailable)
    }
}

/// `N` random bytes.
pub fn bytes<const N: usize>(random: &dyn Random) -> Result<[u8; N], RandomUnavailable> {
    let mut bytes = [0u8; N];
    random.fill(&mut bytes)?;
    Ok(bytes)
}

/// A random 128-bit id as 32 lowercase hex digits.
pub fn hex_id(random: &dyn Random) -> Result<String, RandomUnavailable> {
    Ok(bytes::<16>(random)?.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Broken;

    impl Random for Broken {
        fn fill(&self, _: &mut [u8]) -> Result<(), RandomUnavailable> {
            Err(RandomUnavailable)
        }
    }

    #[test]
    fn ids_are_128_bit_hex_and_a_failing_generator_is_an_error() {
        let (a, b) = (hex_id(&OsRandom).unwrap(), hex_id(&OsRandom).unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_ne!(a, b);
        assert_eq!(hex_id(&Broken), Err(RandomUnavailable));
        assert_eq!(bytes::<4>(&Broken), Err(RandomUnavailable));
    }
}
