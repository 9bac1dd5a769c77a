//! The simulated device provider: a CA, the device certificate it issued, a second device
//! certificate issued through an intermediate CA (sent with its chain in `x5c`), and a rogue
//! self-signed certificate for the "untrusted certificate" fault.

use anyhow::{Context, Result};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, PKCS_ED25519, PKCS_RSA_SHA256,
};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use rsa::pkcs8::EncodePrivateKey;

/// Which JWS algorithm the device signs with.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Ed25519.
    EdDsa,
    /// RSA PKCS#1 v1.5 with SHA-256 (2048-bit key).
    Rs256,
}

enum Key {
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A signing identity: key and certificate.
pub(crate) struct Signer {
    alg: &'static str,
    /// The device certificate first, then any intermediate CA certificates (base64 DER).
    chain: Vec<String>,
    key: Key,
}

impl Signer {
    /// `header.payload.signature`, optionally with a corrupted signature.
    pub(crate) fn sign(&self, payload: &[u8], corrupt: bool) -> Result<String> {
        let header = serde_json::json!({ "alg": self.alg, "typ": "JWT", "x5c": self.chain });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut signature = match &self.key {
            Key::Ed25519(key) => key.sign(signing_input.as_bytes()).as_ref().to_vec(),
            Key::Rsa(key) => {
                let mut out = vec![0; key.public().modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    signing_input.as_bytes(),
                    &mut out,
                )
                .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
                out
            }
        };
        if corrupt {
            if let Some(first) = signature.first_mut() {
                *first ^= 0x55;
            }
        }
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// The provider CA and the two device identities.
pub(crate) struct Provider {
    pub(crate) ca_pem: String,
    pub(crate) device: Signer,
    pub(crate) delegated: Signer,
    pub(crate) rogue: Signer,
}

fn device_key(algorithm: Algorithm) -> Result<(KeyPair, Key)> {
    match algorithm {
        Algorithm::EdDsa => {
            let pair = KeyPair::generate_for(&PKCS_ED25519)?;
            let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pair.serialize_der())
                .map_err(|_| anyhow::anyhow!("Ed25519 key"))?;
            Ok((pair, Key::Ed25519(key)))
        }
        Algorithm::Rs256 => {
            let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                .context("generating an RSA key")?;
            let der = private.to_pkcs8_der().context("encoding the RSA key")?;
            let pair = KeyPair::try_from(der.as_bytes())?;
            anyhow::ensure!(
                pair.is_compatible(&PKCS_RSA_SHA256),
                "the RSA key cannot sign RS256"
            );
            let key = RsaKeyPair::from_pkcs8(der.as_bytes())
                .map_err(|e| anyhow::anyhow!("RSA key: {e}"))?;
            Ok((pair, Key::Rsa(key)))
        }
    }
}

fn params(common_name: &str) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Simulated Device Provider");
    Ok(params)
}

impl Provider {
    pub(crate) fn generate(algorithm: Algorithm) -> Result<Self> {
        let ca_key = KeyPair::generate_for(&PKCS_ED25519)?;
        let mut ca_params = params("Simulated Device Provider CA")?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key)?;

        let (pair, key) = device_key(algorithm)?;
        let device_cert = params("SIM-SLAP-0001")?.signed_by(&pair, &ca, &ca_key)?;
        let issuing_key = KeyPair::generate_for(&PKCS_ED25519)?;
        let mut issuing_params = params("Simulated Device Provider Issuing CA")?;
        issuing_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let issuing = issuing_params.signed_by(&issuing_key, &ca, &ca_key)?;
        let (delegated_pair, delegated_key) = device_key(algorithm)?;
        let delegated_cert =
            params("SIM-SLAP-0001")?.signed_by(&delegated_pair, &issuing, &issuing_key)?;
        let (rogue_pair, rogue_key) = device_key(algorithm)?;
        let rogue_cert = params("SIM-SLAP-0001")?.self_signed(&rogue_pair)?;
        let alg = match algorithm {
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Rs256 => "RS256",
        };
        Ok(Self {
            ca_pem: ca.pem(),
            device: Signer {
                alg,
                chain: vec![STANDARD.encode(device_cert.der())],
                key,
            },
            delegated: Signer {
                alg,
                chain: vec![
                    STANDARD.encode(delegated_cert.der()),
                    STANDARD.encode(issuing.der()),
                ],
                key: delegated_key,
            },
            rogue: Signer {
                alg,
                chain: vec![STANDARD.encode(rogue_cert.der())],
                key: rogue_key,
            },
        })
    }
}
