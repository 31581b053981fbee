#ifndef DEPLOYVERIFY_CSHIMS_H
#define DEPLOYVERIFY_CSHIMS_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>

/// Readiness-notification shim over epoll (Linux). Events are returned as two plain arrays
/// because `struct epoll_event` is packed on x86_64 and does not import cleanly into Swift.
/// On Darwin these functions are not provided: the Swift side uses kqueue directly.
#if defined(__linux__)
extern const uint32_t cshims_epollin;
extern const uint32_t cshims_epollout;
extern const uint32_t cshims_epollerr;
extern const uint32_t cshims_epollhup;
extern const uint32_t cshims_epollrdhup;

int cshims_epoll_create(void);
int cshims_epoll_add(int epfd, int fd, uint32_t events, uint64_t data);
int cshims_epoll_modify(int epfd, int fd, uint32_t events, uint64_t data);
int cshims_epoll_remove(int epfd, int fd);
/// Waits for at most `max` events (capped at 1024); fills `datas[i]` and `events[i]`.
int cshims_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms);

int cshims_eventfd_create(void);
int cshims_eventfd_signal(int fd);
int cshims_eventfd_drain(int fd);
#endif

/// accept(2) returning a non-blocking, close-on-exec socket (accept4 on Linux).
int cshims_accept(int fd, struct sockaddr *address, socklen_t *length);

/// send(2) that never raises SIGPIPE (MSG_NOSIGNAL on Linux, SO_NOSIGPIPE set at creation on Darwin).
ssize_t cshims_send(int fd, const void *bytes, size_t count);

/// The JSON text that the BuildStamp plugin compiled into this executable, or NULL when the
/// plugin was not applied to any target linked into it.
const char *cshims_build_stamp(void);

#endif

/* ---- libcurl, loaded at run time --------------------------------------------------------------
   The https:// transport on Linux drives libcurl's easy interface directly: URLSession's Swift
   layer (swift-corelibs-foundation 6.3.1) can kill the process on legal responses, e.g. a
   chunked body with trailer fields (issue #5285). libcurl is already loaded on Linux by
   FoundationNetworking, so no new dependency appears; no curl headers are needed to build. */

/// Loads libcurl and initialises it once; returns 1 when available.
int cshims_curl_load(void);
void *cshims_curl_easy_init(void);
void cshims_curl_easy_reset(void *handle);
void cshims_curl_easy_cleanup(void *handle);
int cshims_curl_setopt_long(void *handle, int option, long value);
int cshims_curl_setopt_pointer(void *handle, int option, const void *value);
int cshims_curl_perform(void *handle);
int cshims_curl_getinfo_long(void *handle, int info, long *value);
int cshims_curl_getinfo_double(void *handle, int info, double *value);
const char *cshims_curl_strerror(int code);
void *cshims_curl_slist_append(void *list, const char *text);
void cshims_curl_slist_free_all(void *list);

/// Callbacks matching CURLOPT_WRITEFUNCTION / HEADERFUNCTION and XFERINFOFUNCTION.
typedef size_t (*cshims_curl_data_callback)(char *data, size_t size, size_t count, void *context);
typedef int (*cshims_curl_progress_callback)(void *context, int64_t download_total, int64_t download_now,
                                              int64_t upload_total, int64_t upload_now);
int cshims_curl_setopt_data_callback(void *handle, int option, cshims_curl_data_callback callback);
int cshims_curl_setopt_progress_callback(void *handle, int option, cshims_curl_progress_callback callback);

/* ---- child processes ------------------------------------------------------------------------- */

/// Starts `argv[0]` (searched in PATH when it has no slash) in a new process group of its own,
/// with `envp`, in `cwd` (NULL: this process's), standard streams on the given descriptors,
/// SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGPIPE/SIGCHLD back at their default actions and no signal
/// blocked. Returns 0 and the pid, or an errno value.
int cshims_spawn(char *const argv[], char *const envp[], const char *cwd,
                 int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid);

/// pipe(2) with both ends close-on-exec, atomically where the system allows (pipe2 on Linux).
int cshims_pipe(int fds[2]);

/// Writes all `count` bytes (retrying interrupted and partial writes); returns 0, or -1 with errno.
int cshims_write_all(int fd, const void *bytes, size_t count);

/// memmem(3): the first occurrence of `needle` in `haystack`, or NULL.
const void *cshims_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);
