import GlideConnection

extension GlideClusterClient {
    /// Replaces the password this client authenticates with on every node, without dropping
    /// connections.
    ///
    /// Every connection, and every node found later, uses `password` from now on (with the
    /// configured user name), or no credentials when it is `nil`. The server's own password is
    /// not changed: rotate it on the nodes first, then here. A connection that had stopped
    /// reconnecting because a node refused the old password tries again at once.
    ///
    /// With `immediateAuth`, every node's connection authenticates with it now (`AUTH`), at the
    /// same time. If any node rejects it, this throws `.authenticationFailed` and reconnections
    /// go back to the previous password (connections that accepted the new one stay
    /// authenticated). Any other failure is thrown too, and the new password is kept.
    public func updateConnectionPassword(_ password: String?, immediateAuth: Bool = false) async throws(GlideError) {
        // Under the nodes' lock nothing is created while the list is taken; a node adopted after it
        // takes the new password from the core.
        try await core.rotatePassword(password, immediateAuth: immediateAuth, on: nodes.allNodes().map(\.1))
    }
}
