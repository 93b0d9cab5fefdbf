//! Base58btc (the Bitcoin alphabet), as multibase `z` uses it for `did:key`.
//!
//! Written here instead of using the `bs58` crate because `bs58` works one base-58 digit
//! and one byte at a time, which costs milliseconds for the ~2.7 KB `did:key` of an
//! ML-DSA-65 key. This module converts in machine words: decoding multiplies by 58^10 into
//! 64-bit limbs, encoding divides by 58^5 into 32-bit limbs. Both are still quadratic in
//! the length (a radix conversion is), but with ~25 (decode) and ~20 (encode) times fewer
//! steps. The output is identical to `bs58`'s, which the tests check on random inputs.
//!
//! Leading zero bytes are leading `1` characters and the rest is the big-endian number in
//! minimal form on both sides, so [`decode`] and [`encode`] are inverse bijections between
//! byte strings and strings over the alphabet.

/// The Bitcoin base58 alphabet.
const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// 58^5, the radix of the encoder's 32-bit limbs.
const POW58_5: u64 = 656_356_768;

/// 58^10, the multiplier of a full decoder chunk.
const POW58_10: u64 = 430_804_206_899_405_824;

/// Digits per full decoder chunk.
const DECODE_CHUNK: usize = 10;

/// Base-58 digits per encoder limb.
const ENCODE_LIMB_DIGITS: usize = 5;

/// The value of one base58 character, or `None` outside the alphabet.
fn digit_value(c: u8) -> Option<u64> {
    let value = match c {
        b'1'..=b'9' => c.wrapping_sub(b'1'),
        b'A'..=b'H' => c.wrapping_sub(b'A').wrapping_add(9),
        b'J'..=b'N' => c.wrapping_sub(b'J').wrapping_add(17),
        b'P'..=b'Z' => c.wrapping_sub(b'P').wrapping_add(22),
        b'a'..=b'k' => c.wrapping_sub(b'a').wrapping_add(33),
        b'm'..=b'z' => c.wrapping_sub(b'm').wrapping_add(44),
        _ => return None,
    };
    Some(u64::from(value))
}

/// Decode base58btc text; `None` if it has a character outside the alphabet.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let ones = bytes.iter().take_while(|&&c| c == b'1').count();
    let rest = bytes.get(ones..).unwrap_or_default();
    // Little-endian 64-bit limbs of the number written by `rest`.
    let mut limbs: Vec<u64> = Vec::with_capacity(rest.len().div_ceil(10).saturating_add(1));
    let head = rest.len().wrapping_rem(DECODE_CHUNK);
    let (first, chunks) = rest.split_at(head);
    if !first.is_empty() {
        let mut multiplier = 1_u64;
        for _ in first {
            multiplier = multiplier.wrapping_mul(58);
        }
        mul_add(&mut limbs, multiplier, chunk_value(first)?);
    }
    for chunk in chunks.chunks_exact(DECODE_CHUNK) {
        mul_add(&mut limbs, POW58_10, chunk_value(chunk)?);
    }
    let mut out = vec![0_u8; ones];
    out.reserve(limbs.len().saturating_mul(8));
    let mut started = false;
    for limb in limbs.iter().rev() {
        for byte in limb.to_be_bytes() {
            started |= byte != 0;
            if started {
                out.push(byte);
            }
        }
    }
    Some(out)
}

/// The value of up to 10 base58 digits (below 58^10 < 2^59).
fn chunk_value(chunk: &[u8]) -> Option<u64> {
    chunk.iter().try_fold(0_u64, |acc, &c| {
        Some(acc.wrapping_mul(58).wrapping_add(digit_value(c)?))
    })
}

/// `limbs = limbs * multiplier + addend`, with `multiplier`, `addend` < 2^64.
fn mul_add(limbs: &mut Vec<u64>, multiplier: u64, addend: u64) {
    let mut carry = u128::from(addend);
    for limb in limbs.iter_mut() {
        // < (2^64 - 1) * (2^64 - 1) + 2^64: fits a u128.
        let t = u128::from(*limb)
            .wrapping_mul(u128::from(multiplier))
            .wrapping_add(carry);
        *limb = t as u64;
        carry = t.wrapping_shr(64);
    }
    if carry != 0 {
        limbs.push(carry as u64);
    }
}

/// Encode bytes as base58btc text.
pub(crate) fn encode(input: &[u8]) -> String {
    let zeros = input.iter().take_while(|&&b| b == 0).count();
    let rest = input.get(zeros..).unwrap_or_default();
    // Little-endian limbs in radix 58^5, each below 2^30. log(256)/log(58^5) < 0.28.
    let mut limbs: Vec<u32> = Vec::with_capacity(
        rest.len()
            .saturating_mul(28)
            .wrapping_div(100)
            .saturating_add(2),
    );
    let head = rest.len().wrapping_rem(4);
    let (first, words) = rest.split_at(head);
    if !first.is_empty() {
        let word = first
            .iter()
            .fold(0_u64, |acc, &b| acc.wrapping_shl(8) | u64::from(b));
        let shift = u32::try_from(head.wrapping_mul(8)).unwrap_or(32);
        shift_add(&mut limbs, shift, word);
    }
    for word in words.chunks_exact(4) {
        let word = word
            .iter()
            .fold(0_u64, |acc, &b| acc.wrapping_shl(8) | u64::from(b));
        shift_add(&mut limbs, 32, word);
    }
    let mut digits: Vec<u8> = Vec::with_capacity(limbs.len().saturating_mul(ENCODE_LIMB_DIGITS));
    for &limb in &limbs {
        let mut limb = u64::from(limb);
        for _ in 0..ENCODE_LIMB_DIGITS {
            digits.push(alphabet(limb.wrapping_rem(58)));
            limb = limb.wrapping_div(58);
        }
    }
    // The number is non-zero when `rest` is non-empty (it starts with a non-zero byte), so
    // this strips only the zero digits above its most significant one.
    while digits.last() == Some(&ALPHABET[0]) {
        digits.pop();
    }
    let mut out = String::with_capacity(zeros.saturating_add(digits.len()));
    out.extend(std::iter::repeat_n('1', zeros));
    out.extend(digits.iter().rev().map(|&d| char::from(d)));
    out
}

/// The alphabet character of a digit below 58.
fn alphabet(digit: u64) -> u8 {
    usize::try_from(digit)
        .ok()
        .and_then(|i| ALPHABET.get(i))
        .copied()
        .unwrap_or(b'1')
}

/// `limbs = limbs * 2^shift + addend` in radix 58^5, with `shift` ≤ 32 and
/// `addend` < 2^32.
fn shift_add(limbs: &mut Vec<u32>, shift: u32, addend: u64) {
    let mut carry = addend;
    for limb in limbs.iter_mut() {
        // limb < 58^5 < 2^30 and carry < 2^33, so t < 2^62 + 2^33.
        let t = u64::from(*limb).wrapping_shl(shift).wrapping_add(carry);
        *limb = t.wrapping_rem(POW58_5) as u32;
        carry = t.wrapping_div(POW58_5);
    }
    while carry != 0 {
        limbs.push(carry.wrapping_rem(POW58_5) as u32);
        carry = carry.wrapping_div(POW58_5);
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn constants() {
        assert_eq!(POW58_5, 58_u64.pow(5));
        assert_eq!(POW58_10, 58_u64.pow(10));
        for (i, &c) in ALPHABET.iter().enumerate() {
            assert_eq!(digit_value(c), Some(i as u64));
        }
        let outside = (0..=255_u8).filter(|c| digit_value(*c).is_none()).count();
        assert_eq!(outside, 256 - 58);
    }

    #[test]
    fn known_values() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(&[0]), "1");
        assert_eq!(encode(&[0, 0, 1]), "112");
        assert_eq!(encode(b"hello world"), "StV1DL6CwTryKyV");
        assert_eq!(decode("StV1DL6CwTryKyV").unwrap(), b"hello world");
        assert_eq!(decode("").unwrap(), b"");
        assert_eq!(decode("111").unwrap(), [0, 0, 0]);
        assert_eq!(decode("0"), None);
        assert_eq!(decode("abcO"), None);
        assert_eq!(decode("I"), None);
        assert_eq!(decode("l"), None);
        assert_eq!(decode("é"), None);
    }

    #[test]
    fn long_inputs_match_bs58() {
        for len in [1952_usize, 1954, 1984, 1986, 4096] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 131 + 7) as u8).collect();
            let text = encode(&bytes);
            assert_eq!(text, bs58::encode(&bytes).into_string(), "len {len}");
            assert_eq!(decode(&text).unwrap(), bytes);
            let max = vec![0xff_u8; len];
            assert_eq!(encode(&max), bs58::encode(&max).into_string());
        }
    }

    proptest! {
        #[test]
        fn prop_encode_matches_bs58(
            zeros in 0_usize..4,
            bytes in prop::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut input = vec![0_u8; zeros];
            input.extend_from_slice(&bytes);
            let text = encode(&input);
            prop_assert_eq!(&text, &bs58::encode(&input).into_string());
            prop_assert_eq!(decode(&text).unwrap(), input);
        }

        #[test]
        fn prop_decode_matches_bs58(text in "[1-9A-HJ-NP-Za-km-z]{0,300}") {
            let ours = decode(&text).unwrap();
            prop_assert_eq!(&ours, &bs58::decode(&text).into_vec().unwrap());
            // Bijective: every decodable text is the encoding of its bytes.
            prop_assert_eq!(encode(&ours), text);
        }

        #[test]
        fn prop_decode_rejects_like_bs58(text in "[0-9A-Za-z+/=]{0,40}") {
            prop_assert_eq!(decode(&text), bs58::decode(&text).into_vec().ok());
        }
    }
}
