//! A minimal, bounds-checked ELF64 (little-endian) reader: just enough to
//! validate the vDSO image (`build.rs`) and to look up its dynamic symbols and
//! their versions (`src/vdso.rs`). Both include this file with `#[path]`, so it
//! may only use `std`.

use std::collections::HashMap;

pub const ET_DYN: u16 = 3;
pub const EM_X86_64: u16 = 62;

pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;
pub const PT_TLS: u32 = 7;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

pub const SHF_WRITE: u64 = 1;
pub const SHF_ALLOC: u64 = 2;
pub const SHF_EXECINSTR: u64 = 4;
pub const SHT_RELA: u32 = 4;
pub const SHT_DYNAMIC: u32 = 6;
pub const SHT_REL: u32 = 9;

pub const DT_NULL: i64 = 0;
pub const DT_NEEDED: i64 = 1;
pub const DT_PLTRELSZ: i64 = 2;
pub const DT_HASH: i64 = 4;
pub const DT_STRTAB: i64 = 5;
pub const DT_SYMTAB: i64 = 6;
pub const DT_RELA: i64 = 7;
pub const DT_RELASZ: i64 = 8;
pub const DT_STRSZ: i64 = 10;
pub const DT_SYMENT: i64 = 11;
pub const DT_SONAME: i64 = 14;
pub const DT_REL: i64 = 17;
pub const DT_RELSZ: i64 = 18;
pub const DT_TEXTREL: i64 = 22;
pub const DT_JMPREL: i64 = 23;
pub const DT_FLAGS: i64 = 30;
pub const DT_RELRSZ: i64 = 35;
pub const DT_RELR: i64 = 36;
pub const DT_GNU_HASH: i64 = 0x6fff_fef5;
pub const DT_RELACOUNT: i64 = 0x6fff_fff9;
pub const DT_RELCOUNT: i64 = 0x6fff_fffa;
pub const DT_VERSYM: i64 = 0x6fff_fff0;
pub const DT_VERDEF: i64 = 0x6fff_fffc;
pub const DT_VERDEFNUM: i64 = 0x6fff_fffd;
pub const DF_TEXTREL: u64 = 4;

pub const STT_FUNC: u8 = 2;
pub const STB_GLOBAL: u8 = 1;
pub const STB_WEAK: u8 = 2;

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const SHDR_SIZE: usize = 64;
const SYM_SIZE: usize = 24;
const DYN_SIZE: usize = 16;

fn bytes<const N: usize>(data: &[u8], off: u64) -> Result<[u8; N], String> {
    let start = usize::try_from(off).map_err(|_| format!("offset {off:#x} out of range"))?;
    let end = start
        .checked_add(N)
        .ok_or_else(|| format!("offset {off:#x} out of range"))?;
    data.get(start..end)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| {
            format!(
                "read of {N} bytes at {off:#x} is past the end ({:#x})",
                data.len()
            )
        })
}

fn u16_at(data: &[u8], off: u64) -> Result<u16, String> {
    bytes::<2>(data, off).map(u16::from_le_bytes)
}

fn u32_at(data: &[u8], off: u64) -> Result<u32, String> {
    bytes::<4>(data, off).map(u32::from_le_bytes)
}

fn u64_at(data: &[u8], off: u64) -> Result<u64, String> {
    bytes::<8>(data, off).map(u64::from_le_bytes)
}

/// The NUL-terminated string at `off` in `data`.
fn cstr_at(data: &[u8], off: u64) -> Result<&str, String> {
    let start = usize::try_from(off).map_err(|_| format!("string offset {off:#x} out of range"))?;
    let rest = data
        .get(start..)
        .ok_or_else(|| format!("string offset {off:#x} past the end"))?;
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| format!("unterminated string at {off:#x}"))?;
    std::str::from_utf8(&rest[..len]).map_err(|_| format!("string at {off:#x} is not UTF-8"))
}

#[derive(Clone, Copy, Debug)]
pub struct Phdr {
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
}

#[derive(Clone, Debug)]
pub struct Section<'a> {
    pub name: &'a str,
    pub sh_type: u32,
    pub sh_flags: u64,
    pub sh_addr: u64,
    pub sh_size: u64,
}

#[derive(Clone, Debug)]
pub struct Symbol<'a> {
    pub name: &'a str,
    pub value: u64,
    pub size: u64,
    pub bind: u8,
    pub sym_type: u8,
    pub shndx: u16,
    /// The version name, for symbols with a version index >= 2.
    pub version: Option<&'a str>,
    /// Bit 15 of the versym entry: `name@VERSION` rather than the default
    /// `name@@VERSION`.
    pub version_hidden: bool,
}

/// A parsed ELF64 little-endian image (headers, program headers and the
/// dynamic section).
pub struct Elf<'a> {
    pub data: &'a [u8],
    pub e_type: u16,
    pub e_machine: u16,
    pub phdrs: Vec<Phdr>,
    pub dynamic: Vec<(i64, u64)>,
    shoff: u64,
    shnum: u16,
    shstrndx: u16,
}

impl<'a> Elf<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Self, String> {
        let ident = bytes::<16>(data, 0)?;
        if ident[..4] != *b"\x7fELF" {
            return Err("not an ELF file".into());
        }
        if ident[4] != 2 || ident[5] != 1 {
            return Err("not a little-endian ELF64 file".into());
        }
        let e_type = u16_at(data, 16)?;
        let e_machine = u16_at(data, 18)?;
        let phoff = u64_at(data, 32)?;
        let shoff = u64_at(data, 40)?;
        let phentsize = u16_at(data, 54)?;
        let phnum = u16_at(data, 56)?;
        let shentsize = u16_at(data, 58)?;
        let shnum = u16_at(data, 60)?;
        let shstrndx = u16_at(data, 62)?;
        if usize::from(u16_at(data, 52)?) != EHDR_SIZE
            || usize::from(phentsize) != PHDR_SIZE
            || (shnum != 0 && usize::from(shentsize) != SHDR_SIZE)
        {
            return Err("unexpected ELF header or entry sizes".into());
        }

        let mut phdrs = Vec::with_capacity(usize::from(phnum));
        for i in 0..u64::from(phnum) {
            let p = phoff + i * PHDR_SIZE as u64;
            phdrs.push(Phdr {
                p_type: u32_at(data, p)?,
                p_flags: u32_at(data, p + 4)?,
                p_offset: u64_at(data, p + 8)?,
                p_vaddr: u64_at(data, p + 16)?,
                p_filesz: u64_at(data, p + 32)?,
                p_memsz: u64_at(data, p + 40)?,
            });
        }

        let mut elf = Elf {
            data,
            e_type,
            e_machine,
            phdrs,
            dynamic: Vec::new(),
            shoff,
            shnum,
            shstrndx,
        };
        if let Some(d) = elf.phdrs.iter().find(|p| p.p_type == PT_DYNAMIC).copied() {
            let mut off = d.p_offset;
            let end = d.p_offset.saturating_add(d.p_filesz);
            while off + DYN_SIZE as u64 <= end {
                let tag = u64_at(data, off)? as i64;
                let val = u64_at(data, off + 8)?;
                if tag == DT_NULL {
                    break;
                }
                elf.dynamic.push((tag, val));
                off += DYN_SIZE as u64;
            }
        }
        Ok(elf)
    }

    /// The value of the first dynamic entry with tag `tag`.
    pub fn dyn_val(&self, tag: i64) -> Option<u64> {
        self.dynamic
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| *v)
    }

    fn dyn_req(&self, tag: i64, what: &str) -> Result<u64, String> {
        self.dyn_val(tag)
            .ok_or_else(|| format!("no {what} dynamic entry"))
    }

    /// The file offset holding virtual address `vaddr`.
    pub fn vaddr_to_offset(&self, vaddr: u64) -> Result<u64, String> {
        self.phdrs
            .iter()
            .filter(|p| p.p_type == PT_LOAD)
            .find(|p| vaddr >= p.p_vaddr && vaddr - p.p_vaddr < p.p_filesz)
            .map(|p| vaddr - p.p_vaddr + p.p_offset)
            .ok_or_else(|| format!("address {vaddr:#x} is not in a loaded segment"))
    }

    fn dynstr(&self, off: u64) -> Result<&'a str, String> {
        let strtab = self.vaddr_to_offset(self.dyn_req(DT_STRTAB, "DT_STRTAB")?)?;
        let strsz = self.dyn_req(DT_STRSZ, "DT_STRSZ")?;
        if off >= strsz {
            return Err(format!("dynamic string offset {off:#x} out of range"));
        }
        let end = usize::try_from(strtab + strsz).map_err(|_| "DT_STRSZ too large".to_string())?;
        let table = self
            .data
            .get(..end)
            .ok_or_else(|| "dynamic string table past the end".to_string())?;
        cstr_at(table, strtab + off)
    }

    /// `DT_SONAME`, if any.
    pub fn soname(&self) -> Result<Option<&'a str>, String> {
        self.dyn_val(DT_SONAME).map(|o| self.dynstr(o)).transpose()
    }

    /// Version index -> version name, from `DT_VERDEF`.
    fn version_names(&self) -> Result<HashMap<u16, &'a str>, String> {
        let mut names = HashMap::new();
        let Some(verdef) = self.dyn_val(DT_VERDEF) else {
            return Ok(names);
        };
        let count = self.dyn_req(DT_VERDEFNUM, "DT_VERDEFNUM")?;
        let mut off = self.vaddr_to_offset(verdef)?;
        for _ in 0..count {
            if u16_at(self.data, off)? != 1 {
                return Err("unknown Elf64_Verdef version".into());
            }
            let ndx = u16_at(self.data, off + 4)?;
            let aux = u32_at(self.data, off + 12)?;
            let next = u32_at(self.data, off + 16)?;
            let name = u32_at(self.data, off + u64::from(aux))?;
            names.insert(ndx, self.dynstr(u64::from(name))?);
            if next == 0 {
                break;
            }
            off += u64::from(next);
        }
        Ok(names)
    }

    /// The dynamic symbol table (without the null symbol 0), with versions.
    pub fn dynsyms(&self) -> Result<Vec<Symbol<'a>>, String> {
        let symtab = self.vaddr_to_offset(self.dyn_req(DT_SYMTAB, "DT_SYMTAB")?)?;
        if let Some(ent) = self.dyn_val(DT_SYMENT) {
            if ent != SYM_SIZE as u64 {
                return Err(format!("unexpected DT_SYMENT {ent}"));
            }
        }
        // DT_HASH's nchain is the number of dynamic symbols.
        let hash = self.vaddr_to_offset(self.dyn_req(DT_HASH, "DT_HASH")?)?;
        let nsyms = u64::from(u32_at(self.data, hash + 4)?);
        let versym = self
            .dyn_val(DT_VERSYM)
            .map(|v| self.vaddr_to_offset(v))
            .transpose()?;
        let versions = self.version_names()?;

        let mut syms = Vec::new();
        for i in 1..nsyms {
            let s = symtab + i * SYM_SIZE as u64;
            let info = bytes::<1>(self.data, s + 4)?[0];
            let (version, version_hidden) = match versym {
                Some(vs) => {
                    let v = u16_at(self.data, vs + 2 * i)?;
                    let ndx = v & 0x7fff;
                    let name = if ndx >= 2 {
                        Some(
                            *versions
                                .get(&ndx)
                                .ok_or_else(|| format!("undefined version index {ndx}"))?,
                        )
                    } else {
                        None
                    };
                    (name, v & 0x8000 != 0)
                }
                None => (None, false),
            };
            syms.push(Symbol {
                name: self.dynstr(u64::from(u32_at(self.data, s)?))?,
                bind: info >> 4,
                sym_type: info & 0xf,
                shndx: u16_at(self.data, s + 6)?,
                value: u64_at(self.data, s + 8)?,
                size: u64_at(self.data, s + 16)?,
                version,
                version_hidden,
            });
        }
        Ok(syms)
    }

    /// The section headers (empty if there are none).
    pub fn sections(&self) -> Result<Vec<Section<'a>>, String> {
        let mut raw = Vec::new();
        for i in 0..u64::from(self.shnum) {
            let s = self.shoff + i * SHDR_SIZE as u64;
            raw.push((
                u32_at(self.data, s)?,
                u32_at(self.data, s + 4)?,
                u64_at(self.data, s + 8)?,
                u64_at(self.data, s + 16)?,
                u64_at(self.data, s + 24)?,
                u64_at(self.data, s + 32)?,
            ));
        }
        let shstr_off = raw
            .get(usize::from(self.shstrndx))
            .map(|r| r.4)
            .ok_or_else(|| "bad e_shstrndx".to_string())?;
        raw.iter()
            .map(|&(name, sh_type, sh_flags, sh_addr, _, sh_size)| {
                Ok(Section {
                    name: cstr_at(self.data, shstr_off + u64::from(name))?,
                    sh_type,
                    sh_flags,
                    sh_addr,
                    sh_size,
                })
            })
            .collect()
    }
}
