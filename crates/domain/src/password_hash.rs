//! Password hashing: argon2id at OWASP's recommended parameters (m = 19 MiB, t = 2, p = 1),
//! stored as a PHC string so the parameters travel with the hash and can be raised later.
//! Verification compares in constant time (the `password-hash` crate's output comparison).

use crate::account::Password;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory cost in KiB (19 MiB).
pub const ARGON2_M_KIB: u32 = 19 * 1024;
/// Iterations.
pub const ARGON2_T: u32 = 2;
/// Parallelism.
pub const ARGON2_P: u32 = 1;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's bounds; `new` cannot fail for them.
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with a 16-byte random `salt` supplied by the caller.
pub fn hash_password(password: &Password, salt: [u8; 16]) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    argon2().hash_password(password.expose().as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| HashError(e.to_string()))
}

/// True when `password` matches the PHC string `stored`. A malformed stored hash is a mismatch
/// (after the same work, see [`verify_or_burn`]).
pub fn verify_password(password: &Password, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => argon2().verify_password(password.expose().as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// The hash an unknown email is checked against: argon2id at the same parameters, of a random
/// password that was discarded when this constant was made. It is a constant rather than made at
/// start-up because hashing costs ~20 ms of cold start; knowing it reveals nothing, and a match
/// against it is never a success (see [`verify_or_burn`]).
pub const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$qVaT6rlXg7ft0df02mpepg$3vS2pAY6Ik/ASYKRGAwfC6axVq99+eeQe6G3+gn3t8E";

/// Verifies against `stored`, or, when there is no account, against [`DECOY_HASH`] and answers
/// false: an unknown email costs the same argon2id work as a wrong password, so timing does not
/// reveal which accounts exist.
pub fn verify_or_burn(password: &Password, stored: Option<&str>) -> bool {
    match stored {
        Some(hash) => verify_password(password, hash),
        None => {
            let _ = verify_password(password, DECOY_HASH);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_at_owasp_parameters_and_verify() {
        let password = Password::presented("tangerine-Orbit-47-quietly").unwrap();
        let hash = hash_password(&password, [7; 16]).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password(&password, &hash));
        assert!(!verify_password(&Password::presented("tangerine-Orbit-47-quietlY").unwrap(), &hash));
        assert!(!verify_password(&password, "not a phc string"));
        assert!(!verify_or_burn(&password, None));
        assert!(DECOY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "the decoy uses the same parameters");
        assert!(verify_or_burn(&password, Some(&hash)));
    }
}
