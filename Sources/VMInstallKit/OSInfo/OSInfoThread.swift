import Glibc

/// The one thread every libosinfo call is made on: libosinfo's objects are not made for
/// threads, and Swift's tasks move between threads at every `await`. Work is handed over as
/// closures, run in order, and their results (plain Swift values, never libosinfo's
/// objects) handed back.
final class OSInfoThread: @unchecked Sendable {
    static let shared = OSInfoThread()

    // Allocated, not stored properties: pthread objects need an address that stays put.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [() -> Void] = []

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<OSInfoThread>.fromOpaque(context!).takeUnretainedValue().serve()
            }, Unmanaged.passUnretained(self).toOpaque())
        precondition(started == 0, "cannot start the libosinfo thread")
        pthread_detach(thread)
    }

    private func serve() -> UnsafeMutableRawPointer? {
        while true {
            pthread_mutex_lock(mutex)
            while queue.isEmpty { pthread_cond_wait(wake, mutex) }
            let work = queue.removeFirst()
            pthread_mutex_unlock(mutex)
            work()
        }
    }

    /// Runs `body` on the libosinfo thread and returns what it returned or threw.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(VMInstallError) -> T) async throws(VMInstallError) -> T
    {
        let result: Result<T, VMInstallError> = await withCheckedContinuation { continuation in
            pthread_mutex_lock(mutex)
            queue.append { continuation.resume(returning: Result { () throws(VMInstallError) -> T in try body() }) }
            pthread_cond_signal(wake)
            pthread_mutex_unlock(mutex)
        }
        return try result.get()
    }
}
