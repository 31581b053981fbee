import CShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One readiness event from ``Poller/wait(timeoutMilliseconds:)``.
package struct PollerEvent {
    package var fd: Int32
    package var readable: Bool
    package var writable: Bool
    /// The peer hung up or the socket is in error: nothing more will be read.
    package var hangup: Bool
    /// ``Poller/wake()`` was called (from any thread).
    package var isWakeUp: Bool
}

/// Level-triggered readiness notification: epoll on Linux, kqueue on Darwin; plus a wake-up
/// that other threads use to hand work to the loop. Used from the loop thread only, except `wake`.
package final class Poller: @unchecked Sendable {
    private static let wakeToken = UInt64.max
    private static let capacity = 256

    #if os(Linux)
    private let epoll: Int32
    private let wakeFD: Int32
    private var tokens = [UInt64](repeating: 0, count: capacity)
    private var flags = [UInt32](repeating: 0, count: capacity)
    #else
    private let queue: Int32
    private var events = [kevent](repeating: kevent(), count: capacity)
    #endif

    package init() throws {
        #if os(Linux)
        epoll = cshims_epoll_create()
        guard epoll >= 0 else { throw InfoServerError.system(operation: "epoll_create1", code: errno) }
        wakeFD = cshims_eventfd_create()
        guard wakeFD >= 0 else {
            let code = errno
            Glibc.close(epoll)
            throw InfoServerError.system(operation: "eventfd", code: code)
        }
        guard cshims_epoll_add(epoll, wakeFD, cshims_epollin, Self.wakeToken) == 0 else {
            let code = errno
            Glibc.close(wakeFD)
            Glibc.close(epoll)
            throw InfoServerError.system(operation: "epoll_ctl", code: code)
        }
        #else
        queue = kqueue()
        guard queue >= 0 else { throw InfoServerError.system(operation: "kqueue", code: errno) }
        var change = kevent(ident: 0, filter: Int16(EVFILT_USER), flags: UInt16(EV_ADD | EV_CLEAR),
                            fflags: 0, data: 0, udata: nil)
        guard kevent(queue, &change, 1, nil, 0, nil) == 0 else {
            let code = errno
            Darwin.close(queue)
            throw InfoServerError.system(operation: "kevent", code: code)
        }
        #endif
    }

    deinit {
        #if os(Linux)
        Glibc.close(wakeFD)
        Glibc.close(epoll)
        #else
        Darwin.close(queue)
        #endif
    }

    package func add(_ fd: Int32, read: Bool, write: Bool) throws {
        #if os(Linux)
        guard cshims_epoll_add(epoll, fd, Self.mask(read: read, write: write), UInt64(fd)) == 0 else {
            throw InfoServerError.system(operation: "epoll_ctl", code: errno)
        }
        #else
        change(fd, read: read, write: write, wasRead: false, wasWrite: false)
        #endif
    }

    package func update(_ fd: Int32, read: Bool, write: Bool, wasRead: Bool, wasWrite: Bool) {
        guard read != wasRead || write != wasWrite else { return }
        #if os(Linux)
        _ = cshims_epoll_modify(epoll, fd, Self.mask(read: read, write: write), UInt64(fd))
        #else
        change(fd, read: read, write: write, wasRead: wasRead, wasWrite: wasWrite)
        #endif
    }

    /// Call before closing `fd`.
    package func remove(_ fd: Int32, wasRead: Bool, wasWrite: Bool) {
        #if os(Linux)
        _ = cshims_epoll_remove(epoll, fd)
        #else
        change(fd, read: false, write: false, wasRead: wasRead, wasWrite: wasWrite)
        #endif
    }

    /// Blocks until an event, a wake-up or the timeout (-1: none). Returns the number of events.
    package func wait(timeoutMilliseconds: Int32) -> Int {
        #if os(Linux)
        let count = tokens.withUnsafeMutableBufferPointer { tokens in
            flags.withUnsafeMutableBufferPointer { flags in
                cshims_epoll_wait(epoll, tokens.baseAddress, flags.baseAddress, Int32(Self.capacity), timeoutMilliseconds)
            }
        }
        return max(0, Int(count))
        #else
        var timeout = timespec(tv_sec: Int(timeoutMilliseconds / 1000), tv_nsec: Int(timeoutMilliseconds % 1000) * 1_000_000)
        let count = events.withUnsafeMutableBufferPointer { events in
            kevent(queue, nil, 0, events.baseAddress, Int32(Self.capacity), timeoutMilliseconds < 0 ? nil : &timeout)
        }
        return max(0, Int(count))
        #endif
    }

    package func event(at index: Int) -> PollerEvent {
        #if os(Linux)
        let token = tokens[index], flag = flags[index]
        if token == Self.wakeToken {
            _ = cshims_eventfd_drain(wakeFD)
            return PollerEvent(fd: -1, readable: false, writable: false, hangup: false, isWakeUp: true)
        }
        return PollerEvent(fd: Int32(truncatingIfNeeded: token),
                           readable: flag & cshims_epollin != 0,
                           writable: flag & cshims_epollout != 0,
                           hangup: flag & (cshims_epollerr | cshims_epollhup) != 0,
                           isWakeUp: false)
        #else
        let event = events[index]
        if Int32(event.filter) == EVFILT_USER {
            return PollerEvent(fd: -1, readable: false, writable: false, hangup: false, isWakeUp: true)
        }
        let readable = Int32(event.filter) == EVFILT_READ
        let failed = event.flags & UInt16(EV_ERROR) != 0
        // EOF with bytes still buffered is reported as readable: the read returns them, then 0.
        let ended = event.flags & UInt16(EV_EOF) != 0 && !(readable && event.data > 0)
        return PollerEvent(fd: Int32(event.ident), readable: readable, writable: Int32(event.filter) == EVFILT_WRITE,
                           hangup: failed || (ended && !readable), isWakeUp: false)
        #endif
    }

    /// Wakes the loop from any thread.
    package func wake() {
        #if os(Linux)
        _ = cshims_eventfd_signal(wakeFD)
        #else
        var change = kevent(ident: 0, filter: Int16(EVFILT_USER), flags: 0, fflags: UInt32(NOTE_TRIGGER), data: 0, udata: nil)
        _ = kevent(queue, &change, 1, nil, 0, nil)
        #endif
    }

    #if os(Linux)
    private static func mask(read: Bool, write: Bool) -> UInt32 {
        (read ? cshims_epollin | cshims_epollrdhup : 0) | (write ? cshims_epollout : 0)
    }
    #else
    private func change(_ fd: Int32, read: Bool, write: Bool, wasRead: Bool, wasWrite: Bool) {
        var changes: [kevent] = []
        if read != wasRead {
            changes.append(kevent(ident: UInt(fd), filter: Int16(EVFILT_READ), flags: UInt16(read ? EV_ADD : EV_DELETE),
                                  fflags: 0, data: 0, udata: nil))
        }
        if write != wasWrite {
            changes.append(kevent(ident: UInt(fd), filter: Int16(EVFILT_WRITE), flags: UInt16(write ? EV_ADD : EV_DELETE),
                                  fflags: 0, data: 0, udata: nil))
        }
        guard !changes.isEmpty else { return }
        _ = kevent(queue, changes, Int32(changes.count), nil, 0, nil)
    }
    #endif
}
