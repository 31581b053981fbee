#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "CShims.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/eventfd.h>

const uint32_t cshims_epollin = EPOLLIN;
const uint32_t cshims_epollout = EPOLLOUT;
const uint32_t cshims_epollerr = EPOLLERR;
const uint32_t cshims_epollhup = EPOLLHUP;
const uint32_t cshims_epollrdhup = EPOLLRDHUP;

int cshims_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static int control(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &event);
}

int cshims_epoll_add(int epfd, int fd, uint32_t events, uint64_t data) {
    return control(epfd, EPOLL_CTL_ADD, fd, events, data);
}

int cshims_epoll_modify(int epfd, int fd, uint32_t events, uint64_t data) {
    return control(epfd, EPOLL_CTL_MOD, fd, events, data);
}

int cshims_epoll_remove(int epfd, int fd) {
    struct epoll_event event = {0};
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event);
}

int cshims_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event ready[1024];
    if (max > 1024) max = 1024;
    int count = epoll_wait(epfd, ready, max, timeout_ms);
    for (int i = 0; i < count; i++) {
        datas[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return count;
}

int cshims_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int cshims_eventfd_signal(int fd) {
    uint64_t one = 1;
    return (int)write(fd, &one, sizeof one);
}

int cshims_eventfd_drain(int fd) {
    uint64_t value = 0;
    return (int)read(fd, &value, sizeof value);
}

int cshims_accept(int fd, struct sockaddr *address, socklen_t *length) {
    return accept4(fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

ssize_t cshims_send(int fd, const void *bytes, size_t count) {
    return send(fd, bytes, count, MSG_NOSIGNAL);
}

/* Resolved by the static linker to the definition the BuildStamp plugin generates, when a target
   linked into this executable applies the plugin; NULL otherwise. */
extern const char *deployverify_build_stamp(void) __attribute__((weak));

const char *cshims_build_stamp(void) {
    return deployverify_build_stamp ? deployverify_build_stamp() : 0;
}

#else /* Darwin and other BSDs */
#include <dlfcn.h>

int cshims_accept(int fd, struct sockaddr *address, socklen_t *length) {
    int client = accept(fd, address, length);
    if (client >= 0) {
        int flags = fcntl(client, F_GETFL, 0);
        fcntl(client, F_SETFL, flags | O_NONBLOCK);
        fcntl(client, F_SETFD, FD_CLOEXEC);
#if defined(SO_NOSIGPIPE)
        int one = 1;
        setsockopt(client, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    }
    return client;
}

ssize_t cshims_send(int fd, const void *bytes, size_t count) {
    return send(fd, bytes, count, 0);
}

/* Mach-O executables export their global symbols, so the generated stamp is found by name. */
const char *cshims_build_stamp(void) {
    typedef const char *(*stamp_function)(void);
    stamp_function function = (stamp_function)dlsym(RTLD_DEFAULT, "deployverify_build_stamp");
    return function ? function() : 0;
}
#endif

#include <string.h>

const void *cshims_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}
