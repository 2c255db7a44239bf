//! The protobuf wire format, as much of it as MVT needs: varints, zigzag,
//! length-delimited fields and fixed-width numbers. Written by hand because
//! the vector tile schema is four small messages and the decoder must bound
//! every length it reads by the bytes actually present.

use super::MvtError;

/// Protobuf wire types.
pub(crate) const VARINT: u8 = 0;
pub(crate) const FIXED64: u8 = 1;
pub(crate) const LEN: u8 = 2;
pub(crate) const FIXED32: u8 = 5;

pub(crate) fn write_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

pub(crate) fn varint_len(v: u64) -> usize {
    // 1 byte per started group of 7 bits, at least one.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

pub(crate) fn write_key(buf: &mut Vec<u8>, field: u32, wire_type: u8) {
    write_varint(buf, (u64::from(field) << 3) | u64::from(wire_type));
}

pub(crate) fn key_len(field: u32) -> usize {
    varint_len(u64::from(field) << 3)
}

pub(crate) fn write_bytes(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    write_key(buf, field, LEN);
    write_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// Bytes a length-delimited field with a payload of `len` bytes takes.
pub(crate) fn bytes_field_len(field: u32, len: usize) -> usize {
    key_len(field) + varint_len(len as u64) + len
}

pub(crate) fn packed_payload_len(values: &[u32]) -> usize {
    values.iter().map(|&v| varint_len(u64::from(v))).sum()
}

/// A packed repeated `uint32` field, whose payload is `payload_len` bytes
/// (from [`packed_payload_len`], computed once by the caller).
pub(crate) fn write_packed(buf: &mut Vec<u8>, field: u32, values: &[u32], payload_len: usize) {
    write_key(buf, field, LEN);
    write_varint(buf, payload_len as u64);
    for &v in values {
        write_varint(buf, u64::from(v));
    }
}

pub(crate) fn zigzag32(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

pub(crate) fn unzigzag32(u: u32) -> i32 {
    ((u >> 1) as i32) ^ -((u & 1) as i32)
}

pub(crate) fn zigzag64(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

pub(crate) fn unzigzag64(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// A cursor over one message's bytes. Every read checks the remaining length,
/// so hostile input ends in an error, never a panic or a huge allocation.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Which message is being read, for error messages.
    context: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], context: &'static str) -> Self {
        Self { buf, pos: 0, context }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn truncated(&self) -> MvtError {
        MvtError::Truncated { context: self.context }
    }

    pub(crate) fn varint(&mut self) -> Result<u64, MvtError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(self.truncated());
            };
            self.pos += 1;
            // The tenth byte may only carry the 64th bit.
            if shift == 63 && byte > 1 {
                return Err(MvtError::VarintOverflow { context: self.context });
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(MvtError::VarintOverflow { context: self.context })
    }

    pub(crate) fn varint_u32(&mut self) -> Result<u32, MvtError> {
        let v = self.varint()?;
        u32::try_from(v).map_err(|_| MvtError::VarintOverflow { context: self.context })
    }

    /// The next field number and wire type.
    pub(crate) fn key(&mut self) -> Result<(u32, u8), MvtError> {
        let k = self.varint()?;
        let field = u32::try_from(k >> 3).map_err(|_| MvtError::VarintOverflow { context: self.context })?;
        Ok((field, (k & 7) as u8))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], MvtError> {
        let len = self.varint()?;
        let remaining = self.buf.len() - self.pos;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= remaining)
            .ok_or_else(|| self.truncated())?;
        let out = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], MvtError> {
        let bytes = self
            .buf
            .get(self.pos..self.pos.saturating_add(N))
            .ok_or_else(|| self.truncated())?;
        self.pos += N;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(crate) fn fixed32(&mut self) -> Result<u32, MvtError> {
        self.fixed::<4>().map(u32::from_le_bytes)
    }

    pub(crate) fn fixed64(&mut self) -> Result<u64, MvtError> {
        self.fixed::<8>().map(u64::from_le_bytes)
    }

    /// Skips a field this decoder does not use.
    pub(crate) fn skip(&mut self, field: u32, wire_type: u8) -> Result<(), MvtError> {
        match wire_type {
            VARINT => self.varint().map(drop),
            FIXED64 => self.fixed64().map(drop),
            LEN => self.bytes().map(drop),
            FIXED32 => self.fixed32().map(drop),
            _ => Err(self.wire_type_error(field, wire_type)),
        }
    }

    pub(crate) fn wire_type_error(&self, field: u32, wire_type: u8) -> MvtError {
        MvtError::WireType {
            context: self.context,
            field,
            wire_type,
        }
    }

    /// A repeated `uint32` field, packed or not, appended to `out`.
    pub(crate) fn repeated_u32(&mut self, field: u32, wire_type: u8, out: &mut Vec<u32>) -> Result<(), MvtError> {
        match wire_type {
            VARINT => out.push(self.varint_u32()?),
            LEN => {
                let mut packed = Reader::new(self.bytes()?, self.context);
                while !packed.at_end() {
                    out.push(packed.varint_u32()?);
                }
            }
            _ => return Err(self.wire_type_error(field, wire_type)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_with_the_right_length() {
        for v in [0, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
            let mut buf = Vec::new();
            write_varint(&mut buf, v);
            assert_eq!(buf.len(), varint_len(v), "{v}");
            let mut r = Reader::new(&buf, "test");
            assert_eq!(r.varint(), Ok(v));
            assert!(r.at_end());
        }
        let mut buf = Vec::new();
        write_varint(&mut buf, 300);
        assert_eq!(buf, [0xac, 0x02]);
    }

    #[test]
    fn zigzag_matches_the_protobuf_table() {
        for (n, z) in [
            (0, 0),
            (-1, 1),
            (1, 2),
            (-2, 3),
            (2_147_483_647, 4_294_967_294),
            (i32::MIN, u32::MAX),
        ] {
            assert_eq!(zigzag32(n), z);
            assert_eq!(unzigzag32(z), n);
        }
        for n in [0, -1, 1, i64::MIN, i64::MAX, -123_456_789_012] {
            assert_eq!(unzigzag64(zigzag64(n)), n);
        }
    }

    #[test]
    fn bad_varints_are_errors() {
        assert!(matches!(
            Reader::new(&[0x80, 0x80], "t").varint(),
            Err(MvtError::Truncated { .. })
        ));
        let eleven = [0xff; 11];
        assert!(matches!(
            Reader::new(&eleven, "t").varint(),
            Err(MvtError::VarintOverflow { .. })
        ));
        let mut tenth_too_big = [0xff; 10];
        tenth_too_big[9] = 0x02;
        assert!(matches!(
            Reader::new(&tenth_too_big, "t").varint(),
            Err(MvtError::VarintOverflow { .. })
        ));
        // A length that claims more than is there.
        assert!(matches!(
            Reader::new(&[0x05, 1, 2], "t").bytes(),
            Err(MvtError::Truncated { .. })
        ));
        assert!(matches!(
            Reader::new(&[1, 2, 3], "t").fixed32(),
            Err(MvtError::Truncated { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x10], "t").varint_u32(),
            Err(MvtError::VarintOverflow { .. })
        ));
    }
}
