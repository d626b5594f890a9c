public import GlideTransport

extension TLSStream {
    /// Runs the TLS handshake over the connected `inner` on `loop`, and returns the stream once
    /// the session is established.
    ///
    /// Gives up at `deadline` (the caller's connect deadline: the handshake counts against it)
    /// with `.connectTimedOut`; a failed handshake throws one of the TLS kinds. Either way the
    /// inner stream is closed: nothing is ever sent in plain text.
    public static func connect(
        over inner: Inner, context: TLSContext, host: String, deadline: Deadline, on loop: some EventLoop
    ) async throws(TransportError) -> TLSStream {
        let stream: TLSStream
        do throws(TransportError) {
            stream = try TLSStream(over: inner, context: context, host: host)
        } catch {
            inner.close()
            throw error
        }
        let expired = TransportError(.connectTimedOut, detail: "the TLS handshake did not finish within the connect timeout")
        let failure = await ReadinessWaiter.wait(for: stream, on: loop, until: deadline, expired: expired) {
            switch stream.handshakeStep() {
            case .complete: return .finished(nil)
            case .failed(let error): return .finished(error)
            case .incomplete(let wantsWritable): return .waiting(forWritable: wantsWritable)
            }
        }
        if let failure {
            stream.close()
            throw failure
        }
        return stream
    }
}
