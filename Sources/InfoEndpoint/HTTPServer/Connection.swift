/// One accepted client socket and where it stands. Owned by the event-loop thread.
final class Connection {
    let fd: Int32
    /// Distinguishes this connection from a later one that reuses the same descriptor.
    let id: UInt64

    /// Received bytes not yet consumed (a partial request, or pipelined requests waiting their turn).
    var input: [UInt8] = []
    /// Response bytes the socket did not take yet, from `outputSent` on.
    var output: [UInt8] = []
    var outputSent = 0

    /// The interest currently registered with the poller.
    var readRegistered = true
    var writeRegistered = false

    /// A request went to the handler's async path; later pipelined requests wait for it.
    var awaitingResponse = false
    var pendingIsHead = false
    var pendingKeepAlive = true

    /// No more requests will be read; close once the output is flushed.
    var closeAfterWrite = false
    /// Write side shut down; reading and discarding until the peer closes or the linger deadline.
    var lingering = false
    /// The buffered input ends inside a request head (not inside a body).
    var headIncomplete = false
    /// When the first byte of the request being received arrived (nil between requests).
    var requestStartedAt: UInt64?
    var sentContinue = false
    /// Last time bytes moved in either direction.
    var lastActivity: UInt64
    /// When ``EventLoop`` must act on this connection if nothing happens (milliseconds, monotonic).
    var deadline: UInt64 = .max

    /// The peer's address, as ``HTTPRequest/clientAddress`` gives it.
    let clientAddress: String?

    init(fd: Int32, id: UInt64, now: UInt64, clientAddress: String? = nil) {
        self.fd = fd
        self.id = id
        self.lastActivity = now
        self.clientAddress = clientAddress
    }

    /// Between requests, nothing buffered or owed: safe to close when draining or over capacity.
    var isIdle: Bool {
        input.isEmpty && output.isEmpty && !awaitingResponse && !lingering && requestStartedAt == nil
    }

    var hasPendingOutput: Bool { outputSent < output.count }
}
