/// Holds async work until a test releases it, and lets the test wait until a given number of
/// tasks have arrived: a way to put a server into a known state without sleeping.
public actor Gate {
    private var arrivals = 0
    private var arrivalWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var isOpen = false
    private var held: [CheckedContinuation<Void, Never>] = []

    public init() {}

    /// Called by the work being held: returns once the gate is open.
    public func pass() async {
        arrivals += 1
        arrivalWaiters.removeAll { waiter in
            guard arrivals >= waiter.count else { return false }
            waiter.continuation.resume()
            return true
        }
        if isOpen { return }
        await withCheckedContinuation { held.append($0) }
    }

    public func waitForArrivals(_ count: Int) async {
        if arrivals >= count { return }
        await withCheckedContinuation { arrivalWaiters.append((count, $0)) }
    }

    public func open() {
        isOpen = true
        for continuation in held { continuation.resume() }
        held = []
    }
}
