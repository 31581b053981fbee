#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an ``InfoServer`` could not start.
public enum InfoServerError: Error, Equatable, CustomStringConvertible {
    /// Another socket already listens on this address and port.
    case addressInUse(address: String)
    /// The port needs privileges (below 1024) or the address is not allowed.
    case permissionDenied(address: String)
    /// The host is not an address of this machine.
    case addressNotAvailable(address: String)
    /// The host name did not resolve.
    case cannotResolve(host: String, reason: String)
    /// `start()` was called on a server that was already started.
    case alreadyStarted
    /// A configuration value is out of range.
    case invalidConfiguration(String)
    /// Any other failing system call.
    case system(operation: String, code: Int32)

    public var description: String {
        switch self {
        case .addressInUse(let address):
            return "cannot listen on \(address): the port is already in use by another process (choose another port, or stop that process)"
        case .permissionDenied(let address):
            return "cannot listen on \(address): permission denied (ports below 1024 need privileges)"
        case .addressNotAvailable(let address):
            return "cannot listen on \(address): that address does not belong to this machine"
        case .cannotResolve(let host, let reason):
            return "cannot listen on host '\(host)': it does not resolve (\(reason))"
        case .alreadyStarted:
            return "the server was already started"
        case .invalidConfiguration(let message):
            return "invalid server configuration: \(message)"
        case .system(let operation, let code):
            return "\(operation) failed: \(String(cString: strerror(code)))"
        }
    }
}
