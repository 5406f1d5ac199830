//! The default cover art: Apple Podcasts refuses a feed without a square JPEG or PNG of
//! 1400-3000 px, so a publication that has not configured `[feeds] image` still gets one: a
//! plain 1400 × 1400 PNG in two colours (a band across the middle), written here without an
//! image crate (1-bit palette, stored deflate blocks: about 250 KB, made once).
use std::sync::OnceLock;

const SIDE: u32 = 1400;

pub fn png() -> &'static [u8] {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    PNG.get_or_init(make)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn make() -> Vec<u8> {
    let row_bytes = SIDE.div_ceil(8) as usize;
    let mut raw = Vec::with_capacity((row_bytes + 1) * SIDE as usize);
    for y in 0..SIDE {
        raw.push(0); // filter: none
        let band = (SIDE * 2 / 5..SIDE * 3 / 5).contains(&y);
        raw.extend(std::iter::repeat_n(
            if band { 0xFF } else { 0x00 },
            row_bytes,
        ));
    }
    // zlib stream of stored (uncompressed) deflate blocks.
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, b) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = b.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(b);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + x as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&SIDE.to_be_bytes());
    ihdr.extend_from_slice(&SIDE.to_be_bytes());
    ihdr.extend_from_slice(&[1, 3, 0, 0, 0]); // 1 bit, palette
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"PLTE", &[0x1d, 0x35, 0x57, 0xf2, 0xb1, 0x34]);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc_matches_the_png_spec_example() {
        // CRC of "IEND" is AE 42 60 82 in every PNG.
        assert_eq!(super::crc32(b"IEND"), 0xAE42_6082);
        let png = super::png();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
    }
}
