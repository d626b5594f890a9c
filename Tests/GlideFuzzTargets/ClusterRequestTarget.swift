import GlideClient
import GlideConnection
import GlideTransport

/// One cluster request driven by an arbitrary sequence of what its attempts meet: replies,
/// redirections, transient conditions, lost and refused connections, timeouts, pauses ended
/// and cancelled, on a clock the input moves.
///
/// Invariants: a write lost in flight (it may have run) is never sent again; redirections stay
/// within their bound; and every request ends, within a bounded number of events.
enum ClusterRequestTarget {
    typealias Machine = ClusterRequestStateMachine

    static let nodes = (0..<3).map { NodeAddress(host: "10.0.0.\($0)", port: 7000) }
    static let errors = [
        "MOVED 42 10.0.0.1:7000", "ASK 42 10.0.0.2:7000", "MOVED 1 bad-address", "TRYAGAIN keys in migration",
        "LOADING the dataset", "CLUSTERDOWN the cluster is down", "MASTERDOWN link down", "READONLY replica",
        "WRONGTYPE not a list", "ERR unknown", "", "MOVED", "ASK 99999 :0", "NOSCRIPT no script",
    ]

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let readOnly = input.byte() & 1 == 1
        var now = Deadline(uptimeNanoseconds: 1_000_000_000)
        let deadline = now + .milliseconds(Int(input.byte()) * 40 + 1)
        let target: Machine.Target =
            input.byte() & 1 == 0 ? .slot(UInt16(input.below(256)) * 64, replica: readOnly) : .node(nodes[input.below(3)])
        var machine = Machine(target: target, readOnly: readOnly, replicaNeedsReadOnly: input.byte() & 1 == 1, deadline: deadline)
        var step = machine.start()
        var events = 0
        var sends = 1
        var lostInFlight = false
        while true {
            switch step.action {
            case .succeed, .failWithReply, .fail:
                return
            case .send:
                precondition(!lostInFlight || readOnly, "a write lost in flight was sent again")
                sends += 1
                precondition(sends <= 2 + Machine.maximumRedirections * 2 + Machine.maximumWaits, "too many attempts: \(sends)")
                let node = nodes[input.below(3)]
                switch input.below(8) {
                case 0:
                    step = machine.replied()
                case 1, 2, 3:
                    step = machine.repliedError(errors[input.below(errors.count)], from: node, now: now)
                case 4:
                    step = machine.failed(GlideError(.connectionFailed, "refused"), at: node, now: now)
                case 5:
                    lostInFlight = true
                    step = machine.failed(GlideError(.connectionClosed, "lost"), at: node, now: now)
                case 6:
                    lostInFlight = true
                    step = machine.failed(GlideError(.clientClosed, "retired"), at: node, now: now)
                default:
                    step =
                        input.byte() & 1 == 0
                        ? machine.noNodeServesSlot(now: now) : machine.failed(GlideError(.timeout, "late"), at: node, now: now)
                }
            case .wait(let until):
                precondition(until >= now && until < deadline, "a pause that goes back in time, or passes the deadline")
                now = until
                step = input.byte() == 255 ? machine.waitCancelled() : machine.waitEnded()
            }
            precondition(machine.redirections <= Machine.maximumRedirections, "redirections beyond the bound")
            events += 1
            precondition(events <= 1_000, "the request never ended")
        }
    }
}
