import CGlideSystem
import Glibc

/// Starts a detached thread named `name` that runs `body`.
///
/// Used for the event loop's own thread and for blocking host-name resolution, which must not
/// occupy a thread of Swift's cooperative pool.
func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    final class Box: Sendable {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
    let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
    var thread = pthread_t()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    let result = pthread_create(
        &thread, &attributes,
        { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            // Linux limits thread names to 15 bytes.
            CGlideSystem_setThreadName(String(box.name.prefix(15)))
            box.body()
            return nil
        }, box)
    pthread_attr_destroy(&attributes)
    precondition(result == 0, "pthread_create failed: \(Errno(rawValue: result))")
}
