import CShims
#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif

/// A bound, listening, non-blocking TCP socket.
struct Listener {
    let fd: Int32
    /// `127.0.0.1:8080`, `[::1]:8080`.
    let address: String
    let port: Int

    /// Resolves `host` (an IPv4 or IPv6 literal, optionally in brackets, a name, or `""`/`*` for
    /// all interfaces) and listens on every address it yields, all on the same port. With port 0
    /// the kernel picks a free port for the first address and the others reuse it.
    static func open(host: String, port: Int, backlog: Int32) throws -> [Listener] {
        guard (0...65535).contains(port) else { throw InfoServerError.invalidConfiguration("port \(port) is not in 0…65535") }
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        let wildcard = name.isEmpty || name == "*"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamSocket
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(wildcard ? nil : name, String(port), &hints, &results)
        guard status == 0, let first = results else {
            throw InfoServerError.cannotResolve(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }

        var addresses: [(storage: sockaddr_storage, length: socklen_t, family: Int32)] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr, entry.pointee.ai_family == AF_INET || entry.pointee.ai_family == AF_INET6 {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { target in
                    target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(entry.pointee.ai_addrlen)))
                }
                let duplicate = addresses.contains { Self.describe($0.storage) == Self.describe(storage) }
                if !duplicate { addresses.append((storage, entry.pointee.ai_addrlen, entry.pointee.ai_family)) }
            }
            cursor = entry.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw InfoServerError.cannotResolve(host: host, reason: "no IPv4 or IPv6 address") }
        // IPv6 sockets accept IPv4 too (dual stack) unless an IPv4 socket is opened beside them.
        let dualStack = !addresses.contains { $0.family == AF_INET }

        var listeners: [Listener] = []
        var chosenPort = port
        do {
            for var address in addresses {
                if chosenPort != port { Self.setPort(&address.storage, chosenPort) }
                let listener = try Self.listen(on: address.storage, length: address.length, family: address.family,
                                               dualStack: dualStack, backlog: backlog)
                listeners.append(listener)
                chosenPort = listener.port
            }
        } catch {
            for listener in listeners { close(listener.fd) }
            throw error
        }
        return listeners
    }

    private static func listen(on storage: sockaddr_storage, length: socklen_t, family: Int32,
                               dualStack: Bool, backlog: Int32) throws -> Listener {
        let description = describe(storage)
        let fd = socket(family, streamSocket, 0)
        guard fd >= 0 else { throw InfoServerError.system(operation: "socket", code: errno) }
        var one: Int32 = 1
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
        // Lets a restarted service rebind while old connections sit in TIME_WAIT; on Linux and
        // Darwin it does not allow two listeners on one port, so a taken port still fails.
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 {
            var v6Only: Int32 = dualStack ? 0 : 1
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6Only, socklen_t(MemoryLayout<Int32>.size))
        }
        #if canImport(Darwin)
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        var address = storage
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            switch code {
            case EADDRINUSE: throw InfoServerError.addressInUse(address: description.text)
            case EACCES, EPERM: throw InfoServerError.permissionDenied(address: description.text)
            case EADDRNOTAVAIL: throw InfoServerError.addressNotAvailable(address: description.text)
            default: throw InfoServerError.system(operation: "bind \(description.text)", code: code)
            }
        }
        guard Glibc_listen(fd, backlog) == 0 else {
            let code = errno
            close(fd)
            throw code == EADDRINUSE ? InfoServerError.addressInUse(address: description.text)
                : InfoServerError.system(operation: "listen", code: code)
        }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        let final = describe(actual)
        return Listener(fd: fd, address: final.text, port: final.port)
    }

    /// A peer's address without its port: `127.0.0.1`, `::1`; an IPv4 client of a dual-stack
    /// socket as IPv4 (`127.0.0.1`, not `::ffff:127.0.0.1`). nil for other families.
    static func host(_ storage: sockaddr_storage) -> String? {
        let family = Int32(storage.ss_family)
        guard family == AF_INET || family == AF_INET6 else { return nil }
        var text = describe(storage).text
        if let colon = text.lastIndex(of: ":") { text = String(text[..<colon]) }
        if text.hasPrefix("[") { text = String(text.dropFirst().dropLast()) }
        if text.hasPrefix("::ffff:"), text.contains(".") { text = String(text.dropFirst(7)) }
        return text
    }

    /// `127.0.0.1:8080` or `[::1]:8080`, and the port.
    static func describe(_ storage: sockaddr_storage) -> (text: String, port: Int) {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let family = Int32(storage.ss_family)
        var port = 0
        withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET {
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var raw = address.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &raw, &host, socklen_t(host.count))
                    port = Int(UInt16(bigEndian: address.pointee.sin_port))
                }
            } else if family == AF_INET6 {
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var raw = address.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &raw, &host, socklen_t(host.count))
                    port = Int(UInt16(bigEndian: address.pointee.sin6_port))
                }
            }
        }
        let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (family == AF_INET6 ? "[\(text)]:\(port)" : "\(text):\(port)", port)
    }

    private static func setPort(_ storage: inout sockaddr_storage, _ port: Int) {
        let family = Int32(storage.ss_family)
        withUnsafeMutablePointer(to: &storage) { pointer in
            if family == AF_INET {
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port = UInt16(port).bigEndian }
            } else {
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port = UInt16(port).bigEndian }
            }
        }
    }
}

/// `listen` is shadowed inside `Listener` by its static method of the same name.
private func Glibc_listen(_ fd: Int32, _ backlog: Int32) -> Int32 {
    listen(fd, backlog)
}
