//! Content digests (`sha256:<hex>`, `sha512:<hex>`): parsing, computing, verifying.

use sha2::{Digest as _, Sha256, Sha512};

use super::error::OciError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    pub fn compute(self, data: &[u8]) -> String {
        match self {
            Algorithm::Sha256 => format!("sha256:{}", hex::encode(Sha256::digest(data))),
            Algorithm::Sha512 => format!("sha512:{}", hex::encode(Sha512::digest(data))),
        }
    }
}

/// The canonical digest of content, as this registry names what it stores.
pub fn sha256(data: &[u8]) -> String {
    Algorithm::Sha256.compute(data)
}

/// Checks the form of a digest (`algorithm:encoded`) and returns its algorithm.
pub fn parse(digest: &str) -> Result<Algorithm, OciError> {
    let invalid = || OciError::digest_invalid(format!("invalid digest {digest:?}"));
    let (algorithm, encoded) = digest.split_once(':').ok_or_else(invalid)?;
    let algorithm = match algorithm {
        "sha256" => Algorithm::Sha256,
        "sha512" => Algorithm::Sha512,
        other => {
            return Err(OciError::digest_invalid(format!(
                "unsupported digest algorithm {other:?}"
            )));
        }
    };
    let well_formed = encoded.len() == algorithm.hex_len()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    well_formed.then_some(algorithm).ok_or_else(invalid)
}

/// A reference in a URL is a digest when it has the `algorithm:` form; tags cannot contain `:`.
pub fn is_digest_reference(reference: &str) -> bool {
    reference.contains(':')
}

/// Verifies that `data` hashes to `expected` (with `expected`'s algorithm).
pub fn verify(expected: &str, data: &[u8]) -> Result<(), OciError> {
    let actual = parse(expected)?.compute(data);
    if actual == expected {
        Ok(())
    } else {
        Err(
            OciError::digest_invalid("provided digest did not match uploaded content")
                .with_detail(serde_json::json!({ "expected": expected, "actual": actual })),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn computes_and_verifies() {
        assert_eq!(sha256(b"hello"), HELLO);
        assert!(verify(HELLO, b"hello").is_ok());
        let err = verify(HELLO, b"hellO").expect_err("mismatch");
        assert_eq!(err.code, "DIGEST_INVALID");
        let sha512 = Algorithm::Sha512.compute(b"hello");
        assert!(verify(&sha512, b"hello").is_ok());
    }

    #[test]
    fn rejects_malformed_digests() {
        for bad in [
            "sha256",
            "sha256:abc",
            "md5:5d41402abc4b2a76b9719d911017c592",
            &HELLO.to_uppercase(),
            &format!("{HELLO}0"),
        ] {
            assert_eq!(parse(bad).expect_err(bad).code, "DIGEST_INVALID", "{bad}");
        }
        assert_eq!(parse(HELLO).expect("valid"), Algorithm::Sha256);
    }
}
