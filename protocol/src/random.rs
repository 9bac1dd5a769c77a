//! The source of randomness for keys and nonces.
//!
//! Sealing takes a `&dyn RandomSource` rather than reaching for the operating system itself, so
//! that test vectors can be produced deterministically.

/// Fills buffers with cryptographically secure random bytes.
pub trait RandomSource: Send + Sync {
    /// Fills `buf` entirely.
    ///
    /// # Errors
    /// When the operating system cannot provide randomness.
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's secure random generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl RandomSource for SystemRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), buf)
            .map_err(|_| RandomError)
    }
}

/// The operating system refused to provide random bytes.
#[derive(Debug, thiserror::Error)]
#[error("the operating system could not provide random bytes")]
pub struct RandomError;
