extension NodeConnection {
    /// Sends `AUTH [user] password` on the open connection (connecting first if it is down) and
    /// throws the server's refusal as `.authenticationFailed`, without the password.
    public func authenticate(username: String?, password: String, deadline: Deadline) async throws(GlideError) {
        let result = await send(deadline: deadline) { buffer in
            if let username {
                buffer.writeRESPCommand("AUTH" as StaticString, username, password)
            } else {
                buffer.writeRESPCommand("AUTH" as StaticString, password)
            }
        }
        switch result {
        case .failure(let error):
            throw error
        case .success(let reply) where reply.token.type.isError:
            let message = reply.token.stringBytes?.string ?? "refused"
            throw GlideError(
                .authenticationFailed, "the server rejected the new password: \(message)",
                serverCode: reply.token.errorCode, address: address)
        case .success:
            return
        }
    }
}

/// What `updateConnectionPassword` checks before changing anything.
package enum PasswordRotation {
    package static func validate(_ password: String?, immediateAuth: Bool) throws(GlideError) {
        if password == nil && immediateAuth {
            throw GlideError(.configuration, "immediateAuth needs a password to authenticate with")
        }
        if password?.isEmpty == true {
            throw GlideError(.configuration, "the new password is empty: pass nil to connect without one")
        }
    }
}
