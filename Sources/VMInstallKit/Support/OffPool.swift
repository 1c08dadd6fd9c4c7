import Glibc

/// Blocking work (a `poll` that may last seconds, a `waitpid`, a loop that never yields) run
/// on a thread of its own and awaited. Swift's tasks share one pool of threads, as many as the
/// machine has cores: a task that blocks holds a thread from every other task until it
/// returns, and on two cores two such tasks stop every other task of the process, including
/// those they wait for.
public enum OffPool {
    /// Runs `body` on a new thread and returns what it returned or threw.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let work = Unmanaged.passRetained(Work { continuation.resume(with: Result { try body() }) })
            var thread = pthread_t()
            let started = pthread_create(
                &thread, nil,
                { context in
                    Unmanaged<Work>.fromOpaque(context!).takeRetainedValue().body()
                    return nil
                }, work.toOpaque())
            if started == 0 {
                pthread_detach(thread)
            } else {
                work.release()
                continuation.resume(throwing: VMInstallError(.internal, "cannot start a thread"))
            }
        }
    }

    private final class Work {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
}
