//! Application memory. All of it lives in one [`MemoryFile`]; a
//! [`MemoryManager`] is one application address space: its VMAs, the
//! memory-file ranges backing them, demand faults, and `copy_in`/`copy_out`.

pub mod manager;
pub mod memfile;
pub mod object;
mod recycle;
pub mod userfault;

pub use manager::{
    ApplicationEntry, FaultError, FutexKey, MapRequest, MemoryManager, QuiesceHook, VmaName,
    PATCH_AREA, PATCH_AREA_END,
};
pub use memfile::MemoryFile;
pub use object::{Mappable, MemObject};
pub use userfault::Userfault;
