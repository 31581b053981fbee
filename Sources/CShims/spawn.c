#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "CShims.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>

int cshims_spawn(char *const argv[], char *const envp[], const char *cwd,
                 int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int status = posix_spawn_file_actions_init(&actions);
    if (status != 0) return status;
    status = posix_spawnattr_init(&attributes);
    if (status != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return status;
    }

    sigset_t defaults, empty;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGQUIT);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGCHLD);
    sigemptyset(&empty);
    short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
#if defined(__APPLE__)
    // Only 0, 1 and 2 reach the child: no socket or lock of the parent's stays open in it.
    flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
#endif
    if ((status = posix_spawnattr_setflags(&attributes, flags)) == 0 &&
        (status = posix_spawnattr_setpgroup(&attributes, 0)) == 0 &&
        (status = posix_spawnattr_setsigdefault(&attributes, &defaults)) == 0 &&
        (status = posix_spawnattr_setsigmask(&attributes, &empty)) == 0 &&
        (status = posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0)) == 0 &&
        (status = posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1)) == 0 &&
        (status = posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2)) == 0) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
        // Only 0, 1 and 2 reach the child. A descriptor another thread opened without
        // O_CLOEXEC (an accepted socket, say) would otherwise stay open in the child, and a
        // connection the parent closes would not end until the child does.
        status = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
        if (status != 0) goto done;
        if (cwd) status = posix_spawn_file_actions_addchdir_np(&actions, cwd);
        if (status == 0) {
            if (strchr(argv[0], '/')) {
                status = posix_spawn(pid, argv[0], &actions, &attributes, argv, envp);
            } else {
                status = posix_spawnp(pid, argv[0], &actions, &attributes, argv, envp);
            }
        }
    }
done:
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return status;
}

#include <fcntl.h>

int cshims_pipe(int fds[2]) {
#if defined(__linux__)
    return pipe2(fds, O_CLOEXEC);
#else
    if (pipe(fds) != 0) return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

int cshims_write_all(int fd, const void *bytes, size_t count) {
    const char *cursor = bytes;
    while (count > 0) {
        ssize_t written = write(fd, cursor, count);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return -1;
        cursor += written;
        count -= (size_t)written;
    }
    return 0;
}
