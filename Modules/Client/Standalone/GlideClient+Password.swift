extension GlideClient {
    /// Replaces the password this client authenticates with, without dropping the connection.
    ///
    /// Reconnections use `password` from now on (with the configured user name), or no
    /// credentials when it is `nil`. The server's own password is not changed: rotate it there
    /// first (`CONFIG SET requirepass`, `ACL SETUSER`), then here.
    ///
    /// With `immediateAuth`, the open connection authenticates with it now (`AUTH`), so a
    /// rejection shows at once: it throws `.authenticationFailed` and the previous password stays
    /// in use. Any other failure (a timeout, a lost connection) is thrown too, and the new
    /// password is kept. Requests in flight are not disturbed.
    public func updateConnectionPassword(_ password: String?, immediateAuth: Bool = false) async throws(GlideError) {
        try PasswordRotation.validate(password, immediateAuth: immediateAuth)
        let username = configuration.credentials?.username
        let previous = connection.credentials
        connection.passwordChanged(password, username: username)
        guard immediateAuth, let password else { return }
        do {
            try await connection.authenticate(username: username, password: password,
                                              deadline: Deadline.now() + configuration.requestTimeout)
        } catch {
            if error.code == .authenticationFailed { connection.passwordChanged(previous?.password, username: username) }
            throw error
        }
    }
}
