extension CommandMetadata {
    /// The indices of the keys among `arguments` (the command name first), found with the key
    /// specifications, in argument order and without duplicates.
    ///
    /// Commands whose keys can't be found from the arguments (an `unknown` spec) contribute none,
    /// except the two the server resolves with its own procedure, which are resolved the same way
    /// here: `SORT ... STORE destination` names a key, and `MIGRATE`'s empty key placeholder
    /// before `KEYS` does not.
    public func keyIndices(in arguments: [Bytes]) -> [Int] {
        var indices = Set<Int>()
        for spec in keySpecs {
            indices.formUnion(spec.keyIndices(in: arguments))
        }
        switch name {
        case "SORT":
            if let store = Self.storeDestinationIndex(in: arguments) { indices.insert(store) }
        case "MIGRATE":
            if arguments.count > 3, arguments[3].isEmpty, indices.count > 1 { indices.remove(3) }
        default:
            break
        }
        return indices.sorted()
    }

    /// The index of `SORT`'s `STORE` destination: the argument after the last `STORE` keyword,
    /// skipping the values of `BY`, `GET` and `LIMIT` (a pattern may itself read "STORE").
    private static func storeDestinationIndex(in arguments: [Bytes]) -> Int? {
        var found: Int?
        var index = 2
        while index < arguments.count {
            switch arguments[index].string.uppercased() {
            case "BY", "GET": index += 2
            case "LIMIT": index += 3
            case "STORE":
                if index + 1 < arguments.count { found = index + 1 }
                index += 2
            default: index += 1
            }
        }
        return found
    }

    /// The keys among `arguments`, in argument order.
    public func keys(in arguments: [Bytes]) -> [Bytes] {
        keyIndices(in: arguments).map { arguments[$0] }
    }
}

extension KeySpec {
    /// The key indices this spec finds in `arguments` (the command name at index 0).
    public func keyIndices(in arguments: [Bytes]) -> [Int] {
        let count = arguments.count
        let start: Int
        switch beginSearch {
        case .unknown:
            return []
        case .index(let index):
            start = index
        case .keyword(let keyword, let startFrom):
            let upper = keyword.uppercased()
            func matches(_ index: Int) -> Bool { arguments[index].string.uppercased() == upper }
            var found: Int?
            if startFrom >= 0 {
                var index = startFrom
                while index < count {
                    if matches(index) {
                        found = index
                        break
                    }
                    index += 1
                }
            } else {
                var index = count + startFrom
                while index > 0 {
                    if matches(index) {
                        found = index
                        break
                    }
                    index -= 1
                }
            }
            guard let found else { return [] }
            start = found + 1
        }
        guard start < count else { return [] }

        switch findKeys {
        case .unknown:
            return []
        case .range(let lastKey, let keyStep, let limit):
            let step = max(keyStep, 1)
            let last: Int
            if lastKey >= 0 {
                last = min(start + lastKey, count - 1)
            } else if limit > 0 {
                // A fraction of what remains, such as the keys half of XREAD's STREAMS k1 k2 id1 id2.
                last = start + (count - start) / limit + lastKey
            } else {
                last = count + lastKey
            }
            guard last >= start else { return [] }
            return Array(stride(from: start, through: last, by: step))
        case .keynum(let keyNumIndex, let firstKey, let keyStep):
            let numberIndex = start + keyNumIndex
            guard numberIndex < count, let number = Int(arguments[numberIndex].string), number > 0 else { return [] }
            // `number` keys from `first`, one every `keyStep` arguments (MSETEX 2 k1 v1 k2 v2).
            let first = start + firstKey
            let step = max(keyStep, 1)
            let last = min(first + (number - 1) * step, count - 1)
            guard last >= first else { return [] }
            return Array(stride(from: first, through: last, by: step))
        }
    }
}
