import Testing

@testable import GlideClient
@testable import GlideConnection

/// The pub/sub ledger alone: plans from desired and actual subscriptions, no connection involved.
@Suite(.timeLimit(.minutes(2))) struct SubscriptionLedgerTests {
    typealias Ledger = SubscriptionLedger<String>
    typealias Step = Ledger.Step

    /// Exact and pattern on node "a"; a sharded channel on the node named by its first letter
    /// ("x…" on "x"), grouped by that letter.
    func place(_ kind: PubSubKind, _ channel: String) -> String? {
        kind == .sharded ? String(channel.prefix(1)) : "a"
    }

    func group(_ kind: PubSubKind, _ channel: String) -> Int {
        kind == .sharded ? Int(channel.unicodeScalars.first!.value) : 0
    }

    func plan(_ ledger: Ledger, place: ((PubSubKind, String) -> String?)? = nil) -> [Step] {
        ledger.plan(place: place ?? self.place, group: group)
    }

    @Test func wantedChannelsAreSubscribedWhereTheyBelongOneCommandPerSlot() {
        var ledger = Ledger()
        ledger.want(["news", "alerts"], kind: .exact)
        ledger.want(["p*"], kind: .pattern)
        ledger.want(["x1", "x2", "y1"], kind: .sharded)
        #expect(
            plan(ledger) == [
                Step(target: "a", kind: .exact, subscribing: true, channels: ["alerts", "news"]),
                Step(target: "a", kind: .pattern, subscribing: true, channels: ["p*"]),
                Step(target: "x", kind: .sharded, subscribing: true, channels: ["x1", "x2"]),
                Step(target: "y", kind: .sharded, subscribing: true, channels: ["y1"]),
            ])
        for step in plan(ledger) { ledger.confirmed(step) }
        #expect(plan(ledger).isEmpty)
        #expect(ledger.allActual == [.exact: ["news", "alerts"], .pattern: ["p*"], .sharded: ["x1", "x2", "y1"]])
        #expect(ledger.counts(on: "a") == (2, 1, 0) && ledger.counts(on: "x") == (0, 0, 2))
    }

    @Test func aMovedSubscriptionIsMadeOnTheNewNodeBeforeItIsUndoneOnTheOld() {
        var ledger = Ledger()
        ledger.want(["x1"], kind: .sharded)
        for step in plan(ledger) { ledger.confirmed(step) }
        // The slot of x1 now belongs to "z".
        let moved = plan(ledger) { kind, channel in channel == "x1" ? "z" : self.place(kind, channel) }
        #expect(
            moved == [
                Step(target: "z", kind: .sharded, subscribing: true, channels: ["x1"]),
                Step(target: "x", kind: .sharded, subscribing: false, channels: ["x1"]),
            ])
    }

    @Test func aSubscriptionWithNowhereToGoStaysWhereItIs() {
        var ledger = Ledger()
        ledger.want(["x1"], kind: .sharded)
        #expect(plan(ledger) { _, _ in nil }.isEmpty)
        for step in plan(ledger) { ledger.confirmed(step) }
        #expect(plan(ledger) { _, _ in nil }.isEmpty)
        #expect(ledger.allActual[.sharded] == ["x1"])
    }

    @Test func aLostConnectionIsSubscribedAgainAndOnlyItsChannels() {
        var ledger = Ledger()
        ledger.want(["news"], kind: .exact)
        ledger.want(["x1", "y1"], kind: .sharded)
        for step in plan(ledger) { ledger.confirmed(step) }
        ledger.lost("x")
        #expect(plan(ledger) == [Step(target: "x", kind: .sharded, subscribing: true, channels: ["x1"])])
        ledger.serverUnsubscribed("y1", kind: .sharded, target: "y")
        #expect(plan(ledger).map(\.target) == ["x", "y"])
    }

    @Test func aRefusalDropsTheChannelAndKeepsWhyUntilASubscriptionSucceeds() {
        var ledger = Ledger()
        ledger.want(["secret", "news"], kind: .exact)
        let step = plan(ledger)[0]
        ledger.refused(step, reason: "NOPERM")
        #expect(ledger.desired[.exact]?.isEmpty == true)
        #expect(ledger.refused == ["secret": "NOPERM", "news": "NOPERM"])
        #expect(plan(ledger).isEmpty)
        ledger.want(["news"], kind: .exact)
        ledger.confirmed(plan(ledger)[0])
        #expect(ledger.refused == ["secret": "NOPERM"])
    }

    @Test func unsubscribingEverythingOfAKindLeavesTheOthers() {
        var ledger = Ledger()
        ledger.want(["news", "alerts"], kind: .exact)
        ledger.want(["p*"], kind: .pattern)
        for step in plan(ledger) { ledger.confirmed(step) }
        ledger.drop([], kind: .exact)
        let steps = plan(ledger)
        #expect(steps == [Step(target: "a", kind: .exact, subscribing: false, channels: ["alerts", "news"])])
        ledger.confirmed(steps[0])
        #expect(ledger.allActual == [.pattern: ["p*"]])
        #expect(ledger.wantsAny)
        ledger.drop(["p*"], kind: .pattern)
        #expect(!ledger.wantsAny)
    }
}
