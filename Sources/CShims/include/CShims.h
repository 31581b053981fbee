#ifndef DEPLOYVERIFY_CSHIMS_H
#define DEPLOYVERIFY_CSHIMS_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

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
