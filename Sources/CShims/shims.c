#define _GNU_SOURCE
#include "cshims.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <stdio.h>
#include <unistd.h>

int vmi_identity(const char *path, vmi_file_identity *out) {
    struct statx sx;
    memset(out, 0, sizeof(*out));
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) {
        return -1;
    }
    out->dev = ((uint64_t)sx.stx_dev_major << 32) | sx.stx_dev_minor;
    out->ino = sx.stx_ino;
    out->is_regular = S_ISREG(sx.stx_mode);
    if (sx.stx_mask & STATX_BTIME) {
        out->has_btime = 1;
        out->btime_sec = sx.stx_btime.tv_sec;
        out->btime_nsec = sx.stx_btime.tv_nsec;
    }
    return 0;
}

static int signal_pipe[2] = {-1, -1};

static void on_signal(int signo) {
    int saved = errno;
    char byte = (char)signo;
    ssize_t ignored = write(signal_pipe[1], &byte, 1);
    (void)ignored;
    errno = saved;
}

int vmi_signal_pipe(const int *signals, int count) {
    if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < count; i++) {
        if (sigaction(signals[i], &sa, NULL) != 0) return -1;
    }
    return signal_pipe[0];
}

int vmi_spawnattr_detached(void *attr, int new_session) {
    posix_spawnattr_t *a = attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (new_session) flags |= POSIX_SPAWN_SETSID;
    int rc = posix_spawnattr_setsigmask(a, &none);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(a, &all);
    if (rc == 0) rc = posix_spawnattr_setflags(a, flags);
    return rc;
}

int vmi_spawn_actions_detached(void *actions) {
    posix_spawn_file_actions_t *a = actions;
    int rc = posix_spawn_file_actions_addclosefrom_np(a, 4);
    if (rc == 0) rc = posix_spawn_file_actions_addchdir_np(a, "/");
    return rc;
}

int vmi_rename_noreplace(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

int vmi_first_byte_locked(int fd) {
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    if (fcntl(fd, F_GETLK, &fl) != 0) return -1;
    return fl.l_type != F_UNLCK;
}

int vmi_has_file_capabilities(const char *path) {
    return getxattr(path, "security.capability", NULL, 0) > 0;
}
