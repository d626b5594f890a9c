/// What a connection sends right after the socket opens.
public struct HandshakeConfiguration: Sendable {
    /// The protocol to speak: RESP3 sends `HELLO 3`.
    public var protocolVersion: ProtocolVersion
    /// Who to authenticate as; `nil`: no authentication.
    public var credentials: ServerCredentials?
    /// The name `CLIENT SETNAME` gives the connection.
    public var clientName: String?
    /// The database to `SELECT` (0: none sent).
    public var databaseID: Int
    /// Cluster connections that serve reads from replicas send `READONLY`.
    public var sendsReadOnly = false
    /// A client with a client-side cache sends `CLIENT TRACKING ON`, so the server tells the
    /// connection when a key it read changes.
    public var tracking = false
    /// With `tracking`: `nil` (the default) has the server track the keys the connection reads;
    /// a list sends `BCAST` with a `PREFIX` for each, so the server invalidates every key under
    /// them (every key, for an empty list).
    public var trackingPrefixes: [String]?
    /// A standalone client's connections send `CLIENT CAPA redirect` and `READONLY`: a replica
    /// then answers a write with `-REDIRECT` naming its primary (Valkey 8 and later), and still
    /// serves reads. Best effort: older servers refuse both, and that is ignored.
    public var redirects = false
    /// The library name `CLIENT SETINFO` reports.
    public var libraryName = "glide-swift"
    /// The library version `CLIENT SETINFO` reports.
    public var libraryVersion = GlideVersion.current

    /// What to send: `HELLO` (or `AUTH` on RESP2) with `credentials` and `clientName`, `SELECT
    /// databaseID` when not 0, `READONLY` when `sendsReadOnly`, `CLIENT TRACKING ON` when `tracking`,
    /// `CLIENT CAPA redirect` and `READONLY` when `redirects`.
    public init(
        protocolVersion: ProtocolVersion = .resp3, credentials: ServerCredentials? = nil, clientName: String? = nil,
        databaseID: Int = 0, sendsReadOnly: Bool = false, tracking: Bool = false, redirects: Bool = false
    ) {
        self.protocolVersion = protocolVersion
        self.credentials = credentials
        self.clientName = clientName
        self.databaseID = databaseID
        self.sendsReadOnly = sendsReadOnly
        self.tracking = tracking
        self.redirects = redirects
    }
}

/// The version this library reports to servers through `CLIENT SETINFO`.
public enum GlideVersion {
    /// The library version.
    public static let current = "0.1.0"
}

/// What a connection learned from its handshake.
public struct ConnectionInfo: Hashable, Sendable {
    /// The protocol spoken.
    public var protocolVersion: ProtocolVersion
    /// The server's id of this connection (`CLIENT UNBLOCK` needs it), when known.
    public var clientID: Int?
    /// The server's role as `HELLO` reported it (`master` or `replica`), when known.
    public var role: String?
    /// The server's `availability-zone`, when `HELLO` reported one (Valkey 8.1 and later).
    public var availabilityZone: String?

    /// What a handshake learned; see each property.
    public init(protocolVersion: ProtocolVersion, clientID: Int? = nil, role: String? = nil, availabilityZone: String? = nil) {
        self.protocolVersion = protocolVersion
        self.clientID = clientID
        self.role = role
        self.availabilityZone = availabilityZone
    }
}

/// The connection handshake, as a pure state machine: the commands to send, and what each reply
/// means. It never touches a socket.
///
/// Every command is pipelined in one write, so connecting costs one round trip:
/// `HELLO 3 [AUTH user pass] [SETNAME name]`, `SELECT db` when not 0, `READONLY` for cluster
/// connections that serve replica reads, `CLIENT TRACKING ON` for a client-side cache,
/// `CLIENT CAPA redirect` and `READONLY` for a standalone client's connections (errors ignored),
/// then `CLIENT SETINFO` for the
/// library name and version (errors ignored: older servers lack it). On RESP2, or when the server
/// does not know `HELLO`, the same is done with `AUTH` and `CLIENT SETNAME`, and `CLIENT ID` asks
/// for the connection's id, which `HELLO` gives on RESP3.
package struct HandshakeStateMachine {
    package enum Step: Equatable {
        case hello
        case auth
        case setName
        case select
        case readOnly
        case tracking
        case redirectCapability
        case replicaReads
        case setLibraryName
        case setLibraryVersion
        case clientID
    }

    package enum Action: Equatable {
        /// More replies are due.
        case awaitReplies
        /// Send these commands, and expect their replies next.
        case send(Bytes)
        /// The connection is ready.
        case ready(ConnectionInfo)
        /// The connection can't be used.
        case failed(GlideErrorSummary)
    }

    package let configuration: HandshakeConfiguration
    package private(set) var steps: [Step] = []
    private var replied = 0
    private var negotiated: ProtocolVersion
    private var info = ConnectionInfo(protocolVersion: .resp3)
    /// Set when HELLO was refused as unknown: the RESP2 handshake follows once the replies of the
    /// pipelined commands sent with it have drained.
    private var fallingBack = false

    package init(configuration: HandshakeConfiguration) {
        self.configuration = configuration
        self.negotiated = configuration.protocolVersion
    }

    /// The commands to send first.
    package mutating func start() -> Bytes {
        commands(useHello: configuration.protocolVersion == .resp3)
    }

    private mutating func commands(useHello: Bool) -> Bytes {
        var buffer = RESPCommandBuffer(capacity: 256)
        steps.removeAll()
        replied = 0
        if useHello {
            let auth: [String] = configuration.credentials.map { ["AUTH", $0.username ?? "default", $0.password] } ?? []
            let name: [String] = configuration.clientName.map { ["SETNAME", $0] } ?? []
            buffer.writeRESPCommand("HELLO" as StaticString, "3" as StaticString, auth, name)
            steps.append(.hello)
        } else {
            if let credentials = configuration.credentials {
                buffer.writeRESPCommand("AUTH" as StaticString, credentials.username, credentials.password)
                steps.append(.auth)
            }
            if let name = configuration.clientName {
                buffer.writeRESPCommand("CLIENT" as StaticString, "SETNAME" as StaticString, name)
                steps.append(.setName)
            }
        }
        if configuration.databaseID != 0 {
            buffer.writeRESPCommand("SELECT" as StaticString, configuration.databaseID)
            steps.append(.select)
        }
        if configuration.sendsReadOnly {
            buffer.writeRESPCommand("READONLY" as StaticString)
            steps.append(.readOnly)
        }
        if configuration.tracking {
            var arguments = ["CLIENT", "TRACKING", "ON"]
            if let prefixes = configuration.trackingPrefixes {
                arguments.append("BCAST")
                for prefix in prefixes { arguments += ["PREFIX", prefix] }
            }
            buffer.writeRESPArrayHeader(count: arguments.count)
            for argument in arguments { buffer.writeRESPBulkString(argument) }
            steps.append(.tracking)
        }
        if configuration.redirects {
            buffer.writeRESPCommand("CLIENT" as StaticString, "CAPA" as StaticString, "redirect" as StaticString)
            steps.append(.redirectCapability)
            // With the capability, a replica redirects reads too unless told READONLY.
            buffer.writeRESPCommand("READONLY" as StaticString)
            steps.append(.replicaReads)
        }
        buffer.writeRESPCommand(
            "CLIENT" as StaticString, "SETINFO" as StaticString, "LIB-NAME" as StaticString,
            configuration.libraryName)
        steps.append(.setLibraryName)
        buffer.writeRESPCommand(
            "CLIENT" as StaticString, "SETINFO" as StaticString, "LIB-VER" as StaticString,
            configuration.libraryVersion)
        steps.append(.setLibraryVersion)
        if !useHello {
            buffer.writeRESPCommand("CLIENT" as StaticString, "ID" as StaticString)
            steps.append(.clientID)
        }
        return buffer.bytes
    }

    /// Interprets the next reply.
    package mutating func receive(_ token: RESPToken) -> Action {
        guard replied < steps.count else {
            return .failed(GlideErrorSummary(.protocolError, "unexpected reply during the connection handshake"))
        }
        let step = steps[replied]
        replied += 1
        let isError = token.type.isError
        let message = token.stringBytes?.string ?? ""

        switch step {
        case .hello where isError:
            if Self.isAuthenticationFailure(token) {
                return .failed(Self.authenticationFailure(message))
            }
            if (message.contains("unknown command") || token.errorCode == "NOPROTO") && configuration.tracking {
                return .failed(
                    GlideErrorSummary(.configuration, "the server doesn't speak RESP3, which the client-side cache needs: \(message)"))
            }
            if message.contains("unknown command") || token.errorCode == "NOPROTO" {
                // An old server: finish the drain, then redo the handshake without HELLO.
                fallingBack = true
                negotiated = .resp2
            } else {
                return .failed(GlideErrorSummary(.connectionFailed, "HELLO was refused: \(message)"))
            }
        case .auth where isError:
            return .failed(Self.authenticationFailure(message))
        case .setName where isError:
            return .failed(GlideErrorSummary(.configuration, "client name rejected: \(message)"))
        case .select where isError && !fallingBack:
            if Self.isAuthenticationFailure(token) { return .failed(Self.authenticationFailure(message)) }
            return .failed(GlideErrorSummary(.configuration, "database \(configuration.databaseID) can't be selected: \(message)"))
        case .readOnly where isError && !fallingBack:
            if Self.isAuthenticationFailure(token) { return .failed(Self.authenticationFailure(message)) }
            return .failed(GlideErrorSummary(.configuration, "READONLY was refused (is this a cluster node?): \(message)"))
        case .tracking where isError && !fallingBack:
            if Self.isAuthenticationFailure(token) { return .failed(Self.authenticationFailure(message)) }
            return .failed(
                GlideErrorSummary(.configuration, "CLIENT TRACKING was refused, so the client-side cache can't be kept: \(message)"))
        case .hello:
            info = Self.helloInfo(token)
        case .clientID where !fallingBack:
            info.clientID = token.integerValue
        default:
            // CLIENT SETINFO, CLIENT CAPA and a standalone READONLY are best effort; replies
            // drained during a fallback are moot.
            break
        }

        guard replied == steps.count else { return .awaitReplies }
        if fallingBack {
            fallingBack = false
            return .send(commands(useHello: false))
        }
        info.protocolVersion = negotiated
        return .ready(info)
    }

    /// The connection id, role and zone of a `HELLO` reply (a map, or a flat array on RESP2).
    package static func helloInfo(_ token: RESPToken) -> ConnectionInfo {
        var info = ConnectionInfo(protocolVersion: .resp3)
        guard let elements = token.elements.map(Array.init) else { return info }
        var index = 0
        while index + 1 < elements.count {
            switch elements[index].stringBytes?.string {
            case "id": info.clientID = elements[index + 1].integerValue
            case "role": info.role = elements[index + 1].stringBytes?.string
            case "availability_zone":
                if let zone = elements[index + 1].stringBytes?.string, !zone.isEmpty { info.availabilityZone = zone }
            default: break
            }
            index += 2
        }
        return info
    }

    package static func isAuthenticationFailure(_ token: RESPToken) -> Bool {
        let code = token.errorCode
        if code == "WRONGPASS" || code == "NOAUTH" { return true }
        let message = token.stringBytes?.string ?? ""
        return message.contains("invalid password") || message.contains("invalid username-password")
            || message.contains("without any password configured")
    }

    package static func authenticationFailure(_ message: String) -> GlideErrorSummary {
        // The server's message never contains the password; nothing here adds it.
        GlideErrorSummary(.authenticationFailed, "the server rejected the credentials: \(message)")
    }
}

/// An error without its address: pure state machines don't know where they run.
public struct GlideErrorSummary: Equatable, Sendable {
    /// The error code.
    public let code: GlideError.Code
    /// What happened.
    public let message: String
    /// The transport failure behind it, when there was one.
    public let transportError: TransportError?
    /// For a request that timed out after it was sent, how fast the node has been answering.
    public let nodeLatency: NodeLatency?

    package init(
        _ code: GlideError.Code, _ message: String, transportError: TransportError? = nil, nodeLatency: NodeLatency? = nil
    ) {
        self.code = code
        self.message = message
        self.transportError = transportError
        self.nodeLatency = nodeLatency
    }

    /// A stream failure: a TLS kind (an alert from the server, say) is `.tls`, anything else `code`.
    package init(streamFailure error: TransportError, _ code: GlideError.Code, _ message: String) {
        self.init(error.kind.isTLS ? .tls : code, message, transportError: error)
    }

    /// The error, naming the node at `address`.
    public func error(at address: String?) -> GlideError {
        GlideError(code, message, address: address, transportError: transportError, nodeLatency: nodeLatency)
    }

    /// Whether trying again soon can't help: the server refused the credentials or the settings,
    /// or TLS verification failed. Transient failures (refused, unreachable, timed out, reset) are
    /// not definitive.
    public var isDefinitive: Bool {
        code == .authenticationFailed || code == .configuration || code == .tls || code == .permissionDenied
    }
}
