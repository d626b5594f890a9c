import GlideConnection

extension GlideClient {
    /// Replaces the password this client authenticates with, without dropping connections.
    ///
    /// Reconnections use `password` from now on (with the configured user name), or no
    /// credentials when it is `nil`. The server's own password is not changed: rotate it there
    /// first (`CONFIG SET requirepass`, `ACL SETUSER`), then here. A connection that had stopped
    /// reconnecting because the server refused the old password tries again at once.
    ///
    /// With `immediateAuth`, every open connection authenticates with it now (`AUTH`), so a
    /// rejection shows at once: it throws `.authenticationFailed` and the previous password stays
    /// in use. Any other failure (a timeout, a lost connection) is thrown too, and the new
    /// password is kept. Requests in flight are not disturbed.
    public func updateConnectionPassword(_ password: String?, immediateAuth: Bool = false) async throws(GlideError) {
        try await core.rotatePassword(password, immediateAuth: immediateAuth, on: routing.all)
    }
}
