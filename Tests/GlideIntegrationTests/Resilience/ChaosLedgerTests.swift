import Testing

/// The chaos runs' check of lost writes, against a made-up store: what it must accept (the last
/// acknowledged write of each key, or the one write in flight) and what it must call lost.
@Suite struct ChaosLedgerTests {
    /// A store holding what task 0's writes 1...`written` left, each key its last write.
    static func store(written: Int) -> [String: String] {
        var store: [String: String] = [:]
        for n in stride(from: 1, through: written, by: 1) { store[ChaosLedger.key("p", task: 0, n)] = "0:\(n)" }
        return store
    }

    static func lost(_ store: [String: String], acknowledged: Int) async throws -> [String] {
        let ledger = ChaosLedger(tasks: 1)
        ledger.acknowledged.withLock { $0[0] = acknowledged }
        return try await ledger.lostWrites(prefix: "p", batch: 64) { keys in keys.map { store[$0] } }
    }

    @Test func everyKeyHoldingItsLastAcknowledgedWriteLosesNothing() async throws {
        let acknowledged = 2 * ChaosLedger.keysPerTask + 37
        #expect(try await Self.lost(Self.store(written: acknowledged), acknowledged: acknowledged).isEmpty)
        // The write in flight when the task stopped may have been applied, unacknowledged.
        #expect(try await Self.lost(Self.store(written: acknowledged + 1), acknowledged: acknowledged).isEmpty)
        // Fewer writes than keys: the keys never written aren't asked for.
        #expect(try await Self.lost(Self.store(written: 5), acknowledged: 5).isEmpty)
    }

    @Test func aKeyBackAtAnEarlierWriteOrMissingIsALostWrite() async throws {
        let keys = ChaosLedger.keysPerTask
        let acknowledged = 2 * keys + 37
        var store = Self.store(written: acknowledged)
        // Write 2k+10 lost: its key still holds write k+10, from the lap before.
        store[ChaosLedger.key("p", task: 0, 2 * keys + 10)] = "0:\(keys + 10)"
        store[ChaosLedger.key("p", task: 0, 2 * keys + 20)] = nil
        let lost = try await Self.lost(store, acknowledged: acknowledged)
        #expect(lost == ["0:\(2 * keys + 10) -> 0:\(keys + 10)", "0:\(2 * keys + 20) -> nil"])
        // A value past the one write in flight is not one the task wrote.
        store = Self.store(written: acknowledged)
        store[ChaosLedger.key("p", task: 0, acknowledged + 2)] = "0:\(acknowledged + 2)"
        #expect(try await Self.lost(store, acknowledged: acknowledged) == ["0:\(acknowledged + 2 - keys) -> 0:\(acknowledged + 2)"])
    }
}
