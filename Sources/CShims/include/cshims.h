#ifndef VMINSTALL_CSHIMS_H
#define VMINSTALL_CSHIMS_H
// Only plain types here: the implementation needs _GNU_SOURCE, and headers seen with it
// would clash with the Glibc and Dispatch modules' view of the same system headers.
#include <stdint.h>

/// Identity of a file that survives inode reuse: birth time is part of it.
typedef struct {
    uint64_t dev;
    uint64_t ino;
    int64_t btime_sec;
    uint32_t btime_nsec;
    int has_btime;
    int is_regular;
} vmi_file_identity;

/// statx(2) of `path` without following a final symlink; 0, or -1 with errno set.
int vmi_identity(const char *path, vmi_file_identity *out);

/// Catches the given signals with a handler that writes the signal number to a pipe and
/// returns the pipe's read end (non-blocking). Whichever thread a signal lands on, it
/// only ever becomes a readable byte. -1 with errno set on failure.
int vmi_signal_pipe(const int *signals, int count);

/// Spawn attributes for a child in a new session (when asked) with default signal handling
/// and nothing blocked. `attr` is a posix_spawnattr_t.
int vmi_spawnattr_detached(void *attr, int new_session);

/// File actions for a detached child: descriptors from 4 up closed, working directory "/".
/// `actions` is a posix_spawn_file_actions_t.
int vmi_spawn_actions_detached(void *actions);

/// rename(2) that fails with EEXIST instead of replacing the target.
int vmi_rename_noreplace(const char *from, const char *to);

/// 1 when another process holds a write lock on the first byte of fd's file (as QEMU does on
/// its pid file while it runs), 0 when not, -1 on error.
int vmi_first_byte_locked(int fd);

/// 1 when the file carries file capabilities (the security.capability attribute), else 0.
int vmi_has_file_capabilities(const char *path);

#endif
