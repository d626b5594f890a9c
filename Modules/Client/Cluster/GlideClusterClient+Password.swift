extension GlideClusterClient {
    /// Replaces the password this client authenticates with on every node, without dropping
    /// connections.
    ///
    /// Every connection, and every node found later, uses `password` from now on (with the
    /// configured user name), or no credentials when it is `nil`. The server's own password is
    /// not changed: rotate it on the nodes first, then here.
    ///
    /// With `immediateAuth`, every node's connection authenticates with it now (`AUTH`), at the
    /// same time. If any node rejects it, this throws `.authenticationFailed` and reconnections
    /// go back to the previous password (connections that accepted the new one stay
    /// authenticated). Any other failure is thrown too, and the new password is kept.
    public func updateConnectionPassword(_ password: String?, immediateAuth: Bool = false) async throws(GlideError) {
        try PasswordRotation.validate(password, immediateAuth: immediateAuth)
        let previous = nodes.passwordChanged(password)
        guard immediateAuth, let password else { return }
        let deadline = Deadline.now() + configuration.requestTimeout
        let failures = await withTaskGroup(of: GlideError?.self) { group in
            for (_, connection) in nodes.allNodes() {
                group.addTask {
                    await Self.authenticate(connection, username: self.configuration.credentials?.username, password: password,
                                            deadline: deadline)
                }
            }
            var failures: [GlideError] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        guard let failure = failures.first(where: { $0.code == .authenticationFailed }) ?? failures.first else { return }
        if failure.code == .authenticationFailed { _ = nodes.passwordChanged(previous?.password) }
        throw failure
    }

    /// One node's `AUTH`, with its failure as a value (a child task with a typed `catch` of its
    /// own lost results under -O; see `fanOut`).
    private static func authenticate(_ connection: ClusterNodes.Connection, username: String?, password: String,
                                     deadline: Deadline) async -> GlideError? {
        do throws(GlideError) {
            try await connection.authenticate(username: username, password: password, deadline: deadline)
            return nil
        } catch {
            return error
        }
    }
}
