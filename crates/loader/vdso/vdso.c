// SPDX-License-Identifier: Apache-2.0
//
// rvisor's vDSO: the time functions of the Linux x86-64 vDSO, served from a
// data page ("vvar") that the sentry keeps up to date.
//
// The image is mapped at some page-aligned address B and the vvar page at
// B - 4096 (see `vvar_page` in vdso.lds). Nothing relocates the image, so it
// must not contain any dynamic relocation: every reference is PC-relative.
//
// Each function either answers from the vvar page (fast path: rdtsc and a
// little arithmetic, no trap) or executes a real `syscall` instruction, which
// the sentry traps and serves (slow path). The slow path is taken when the
// vvar page says the TSC is not usable (`enabled == 0`, e.g. an all-zero
// page), for clocks the fast path does not know, and if the sentry seems to be
// stuck in the middle of an update.
//
// The layout of `struct vvar_data` is mirrored by `VvarData` in
// crates/loader/src/vdso.rs; change both together.

#include <stddef.h>
#include <stdint.h>

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7

#define NR_gettimeofday 96
#define NR_time 201
#define NR_clock_gettime 228
#define NR_clock_getres 229
#define NR_getcpu 309

#define NSEC_PER_SEC 1000000000LL

// How many times a reader polls an odd sequence number (sentry writing)
// before giving up and asking the sentry with a syscall instead.
#define SEQ_SPIN_LIMIT 4096

// Clocks served by the fast path, as a bit mask of clock ids. The coarse
// clocks are served with full resolution (Linux only promises that a coarse
// clock is cheap, and a fine reading is never earlier than a coarse one).
#define HRES_CLOCKS                                                            \
  ((1u << CLOCK_REALTIME) | (1u << CLOCK_MONOTONIC) |                          \
   (1u << CLOCK_MONOTONIC_RAW) | (1u << CLOCK_BOOTTIME))
#define COARSE_CLOCKS                                                          \
  ((1u << CLOCK_REALTIME_COARSE) | (1u << CLOCK_MONOTONIC_COARSE))
#define FAST_CLOCKS (HRES_CLOCKS | COARSE_CLOCKS)

typedef int clockid_t;

struct kernel_timespec {
  int64_t tv_sec;
  int64_t tv_nsec;
};

struct kernel_timeval {
  int64_t tv_sec;
  int64_t tv_usec;
};

struct kernel_timezone {
  int tz_minuteswest;
  int tz_dsttime;
};

struct getcpu_cache;

// The vvar page. A reading of clock C at TSC value `tsc` is
//   base_C_ns + ((tsc - base_tsc) * tsc_mult) >> tsc_shift
// with a signed TSC delta and a 128-bit product (CLOCK_MONOTONIC_RAW uses
// raw_base_tsc, raw_mult and raw_base_ns instead). All additions wrap modulo
// 2^64; the final value is a signed nanosecond count.
struct vvar_data {
  uint32_t seq; // seqlock: odd while the sentry is writing
  uint32_t pad0;
  uint32_t tsc_shift;
  uint32_t tsc_mult;
  uint64_t base_tsc;
  uint64_t base_mono_ns; // CLOCK_MONOTONIC at base_tsc
  uint64_t base_real_ns; // CLOCK_REALTIME at base_tsc
  uint64_t base_boot_ns; // CLOCK_BOOTTIME at base_tsc
  uint32_t enabled;      // 0: every clock takes the syscall path
  uint32_t raw_mult;
  uint64_t raw_base_tsc;
  uint64_t raw_base_ns; // CLOCK_MONOTONIC_RAW at raw_base_tsc
};

_Static_assert(offsetof(struct vvar_data, seq) == 0, "vvar layout");
_Static_assert(offsetof(struct vvar_data, tsc_shift) == 8, "vvar layout");
_Static_assert(offsetof(struct vvar_data, tsc_mult) == 12, "vvar layout");
_Static_assert(offsetof(struct vvar_data, base_tsc) == 16, "vvar layout");
_Static_assert(offsetof(struct vvar_data, base_mono_ns) == 24, "vvar layout");
_Static_assert(offsetof(struct vvar_data, base_real_ns) == 32, "vvar layout");
_Static_assert(offsetof(struct vvar_data, base_boot_ns) == 40, "vvar layout");
_Static_assert(offsetof(struct vvar_data, enabled) == 48, "vvar layout");
_Static_assert(offsetof(struct vvar_data, raw_mult) == 52, "vvar layout");
_Static_assert(offsetof(struct vvar_data, raw_base_tsc) == 56, "vvar layout");
_Static_assert(offsetof(struct vvar_data, raw_base_ns) == 64, "vvar layout");
_Static_assert(sizeof(struct vvar_data) == 72, "vvar layout");

// Defined by vdso.lds as the address 4096 bytes below the image. Hidden, so
// the compiler reaches it PC-relatively and the linker resolves it statically.
extern const struct vvar_data vvar_page __attribute__((visibility("hidden")));

#define LOAD(field) __atomic_load_n(&vvar_page.field, __ATOMIC_RELAXED)

static inline long syscall1(long nr, long a) {
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a)
                   : "rcx", "r11", "memory");
  return ret;
}

static inline long syscall2(long nr, long a, long b) {
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b)
                   : "rcx", "r11", "memory");
  return ret;
}

// rdtsc, ordered after all earlier loads (in particular the sequence number).
static inline uint64_t rdtsc_ordered(void) {
  uint32_t lo, hi;
  __asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
  return ((uint64_t)hi << 32) | lo;
}

// base_ns + ((tsc - base_tsc) * mult) >> shift, with a signed TSC delta.
// Mirrored by `scale` in vdso.rs.
static inline uint64_t scale(uint64_t tsc, uint64_t base_tsc, uint32_t mult,
                             uint32_t shift, uint64_t base_ns) {
  uint64_t d = tsc - base_tsc;
  if ((int64_t)d >= 0)
    return base_ns + (uint64_t)(((unsigned __int128)d * mult) >> shift);
  d = (uint64_t)0 - d;
  return base_ns - (uint64_t)(((unsigned __int128)d * mult) >> shift);
}

// Reads clock `clk` (which must be in FAST_CLOCKS) into *ns. Returns 0, or -1
// if the caller must take the syscall path.
static inline int read_clock(clockid_t clk, uint64_t *ns) {
  uint32_t seq;
  uint64_t v;
  int spins = 0;

  for (;;) {
    seq = __atomic_load_n(&vvar_page.seq, __ATOMIC_ACQUIRE);
    if (seq & 1) {
      if (++spins > SEQ_SPIN_LIMIT)
        return -1;
      __asm__ volatile("pause" ::: "memory");
      continue;
    }
    if (!LOAD(enabled))
      return -1;
    uint32_t shift = LOAD(tsc_shift);
    uint64_t tsc = rdtsc_ordered();
    if (clk == CLOCK_MONOTONIC_RAW) {
      v = scale(tsc, LOAD(raw_base_tsc), LOAD(raw_mult), shift,
                LOAD(raw_base_ns));
    } else {
      uint64_t base;
      if (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE)
        base = LOAD(base_real_ns);
      else if (clk == CLOCK_BOOTTIME)
        base = LOAD(base_boot_ns);
      else
        base = LOAD(base_mono_ns);
      v = scale(tsc, LOAD(base_tsc), LOAD(tsc_mult), shift, base);
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&vvar_page.seq, __ATOMIC_RELAXED) == seq)
      break;
  }
  *ns = v;
  return 0;
}

static inline int is_fast_clock(clockid_t clk) {
  return (uint32_t)clk < 32 && ((FAST_CLOCKS >> clk) & 1);
}

// Splits a signed nanosecond count into seconds and [0, 1e9) nanoseconds.
// Callers that store into the application's structure do so through
// store_pair, seconds first: a bad pointer then faults at the structure's
// first field, the address Linux's vDSO reports in si_addr (the compiler
// would otherwise order the two stores as it likes).
static inline void store_pair(int64_t *first, int64_t a, int64_t *second,
                              int64_t b) {
  *(volatile int64_t *)first = a;
  *(volatile int64_t *)second = b;
}

static inline void ns_split(uint64_t ns, int64_t *sec, int64_t *nsec) {
  int64_t s = (int64_t)ns / NSEC_PER_SEC;
  int64_t r = (int64_t)ns % NSEC_PER_SEC;
  if (r < 0) {
    r += NSEC_PER_SEC;
    s -= 1;
  }
  *sec = s;
  *nsec = r;
}

#define VDSO_EXPORT __attribute__((visibility("default")))

VDSO_EXPORT int __vdso_clock_gettime(clockid_t clk, struct kernel_timespec *ts);
VDSO_EXPORT int __vdso_gettimeofday(struct kernel_timeval *tv,
                                    struct kernel_timezone *tz);
VDSO_EXPORT int64_t __vdso_time(int64_t *t);
VDSO_EXPORT long __vdso_getcpu(unsigned *cpu, unsigned *node,
                               struct getcpu_cache *unused);
VDSO_EXPORT int __vdso_clock_getres(clockid_t clk, struct kernel_timespec *res);

int __vdso_clock_gettime(clockid_t clk, struct kernel_timespec *ts) {
  uint64_t ns;
  if (is_fast_clock(clk) && read_clock(clk, &ns) == 0) {
    int64_t sec, nsec;
    ns_split(ns, &sec, &nsec);
    store_pair(&ts->tv_sec, sec, &ts->tv_nsec, nsec);
    return 0;
  }
  return (int)syscall2(NR_clock_gettime, clk, (long)ts);
}

int __vdso_gettimeofday(struct kernel_timeval *tv, struct kernel_timezone *tz) {
  if (tv) {
    uint64_t ns;
    int64_t sec, nsec;
    if (read_clock(CLOCK_REALTIME, &ns) != 0)
      return (int)syscall2(NR_gettimeofday, (long)tv, (long)tz);
    ns_split(ns, &sec, &nsec);
    store_pair(&tv->tv_sec, sec, &tv->tv_usec, nsec / 1000);
  }
  if (tz) {
    tz->tz_minuteswest = 0;
    tz->tz_dsttime = 0;
  }
  return 0;
}

int64_t __vdso_time(int64_t *t) {
  uint64_t ns;
  int64_t sec, nsec;
  if (read_clock(CLOCK_REALTIME, &ns) != 0)
    return syscall1(NR_time, (long)t);
  ns_split(ns, &sec, &nsec);
  if (t)
    *t = sec;
  return sec;
}

// getcpu asks the sentry: the CPU it reports must be one the task's
// affinity allows (a task pinned to CPU 1 sees 1). The third argument has
// been unused by Linux since 2.6.24 and is not passed on.
long __vdso_getcpu(unsigned *cpu, unsigned *node, struct getcpu_cache *unused) {
  (void)unused;
  return syscall2(NR_getcpu, (long)cpu, (long)node);
}

int __vdso_clock_getres(clockid_t clk, struct kernel_timespec *res) {
  if ((uint32_t)clk < 32 && ((HRES_CLOCKS >> clk) & 1) && LOAD(enabled)) {
    if (res)
      store_pair(&res->tv_sec, 0, &res->tv_nsec, 1);
    return 0;
  }
  return (int)syscall2(NR_clock_getres, clk, (long)res);
}

// The unprefixed names, as weak aliases (the real vDSO exports both, all with
// version LINUX_2.6).
int clock_gettime(clockid_t, struct kernel_timespec *)
    __attribute__((weak, alias("__vdso_clock_gettime"), visibility("default")));
int gettimeofday(struct kernel_timeval *, struct kernel_timezone *)
    __attribute__((weak, alias("__vdso_gettimeofday"), visibility("default")));
int64_t time(int64_t *)
    __attribute__((weak, alias("__vdso_time"), visibility("default")));
long getcpu(unsigned *, unsigned *, struct getcpu_cache *)
    __attribute__((weak, alias("__vdso_getcpu"), visibility("default")));
int clock_getres(clockid_t, struct kernel_timespec *)
    __attribute__((weak, alias("__vdso_clock_getres"), visibility("default")));
