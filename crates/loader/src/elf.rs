//! ELF64 headers: just what loading needs, parsed from bytes with bounds
//! checks (the file is application-controlled).

use abi::Errno;

pub const PT_LOAD: u32 = 1;
pub const PT_INTERP: u32 = 3;
pub const PT_PHDR: u32 = 6;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;
pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;

#[derive(Clone, Copy, Debug, Default)]
pub struct Header {
    pub etype: u16,
    pub entry: u64,
    pub phoff: u64,
    pub phentsize: u16,
    pub phnum: u16,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Phdr {
    pub ptype: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

pub fn is_elf(b: &[u8]) -> bool {
    b.len() >= 4 && &b[..4] == b"\x7fELF"
}

/// Parses and validates the ELF header of an x86-64 executable.
pub fn parse_header(b: &[u8]) -> Result<Header, Errno> {
    if b.len() < 64 || !is_elf(b) || b[4] != 2 || b[5] != 1 || b[6] != 1 {
        return Err(Errno::ENOEXEC);
    }
    let h = Header {
        etype: u16_at(b, 16),
        entry: u64_at(b, 24),
        phoff: u64_at(b, 32),
        phentsize: u16_at(b, 54),
        phnum: u16_at(b, 56),
    };
    if u16_at(b, 18) != 0x3e || (h.etype != ET_EXEC && h.etype != ET_DYN) {
        return Err(Errno::ENOEXEC);
    }
    if h.phentsize as usize != 56 || h.phnum == 0 || h.phnum > 512 {
        return Err(Errno::ENOEXEC);
    }
    Ok(h)
}

/// Parses `phnum` program headers from `b`.
pub fn parse_phdrs(b: &[u8], phnum: usize) -> Result<Vec<Phdr>, Errno> {
    if b.len() < phnum * 56 {
        return Err(Errno::ENOEXEC);
    }
    Ok((0..phnum)
        .map(|i| {
            let o = i * 56;
            Phdr {
                ptype: u32_at(b, o),
                flags: u32_at(b, o + 4),
                offset: u64_at(b, o + 8),
                vaddr: u64_at(b, o + 16),
                filesz: u64_at(b, o + 32),
                memsz: u64_at(b, o + 40),
                align: u64_at(b, o + 48),
            }
        })
        .collect())
}

impl Phdr {
    pub fn prot(&self) -> u32 {
        let mut p = 0;
        if self.flags & PF_R != 0 {
            p |= abi::mman::PROT_READ;
        }
        if self.flags & PF_W != 0 {
            p |= abi::mman::PROT_WRITE;
        }
        if self.flags & PF_X != 0 {
            p |= abi::mman::PROT_EXEC;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_host_shell() {
        let b = std::fs::read("/bin/sh").unwrap();
        let h = parse_header(&b).unwrap();
        let ph = parse_phdrs(&b[h.phoff as usize..], h.phnum as usize).unwrap();
        assert!(ph.iter().any(|p| p.ptype == PT_LOAD));
        assert_eq!(parse_header(b"#!/bin/sh\n").err(), Some(Errno::ENOEXEC));
        let mut bad = b[..64].to_vec();
        bad[18] = 0x28;
        assert_eq!(parse_header(&bad).err(), Some(Errno::ENOEXEC));
    }
}
