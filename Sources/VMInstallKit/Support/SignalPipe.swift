import CShims
import Glibc

/// Signals as bytes on a pipe: a handler writes each signal's number, so a poll(2) loop can
/// wait for signals and files together, whichever thread the signal lands on. (signalfd
/// would need the signals blocked in every thread, and library threads do not all block them.)
/// One per process: the handler has one pipe.
public final class SignalPipe: @unchecked Sendable {
    public let fd: Int32

    public init(_ signals: [Int32]) throws(VMInstallError) {
        fd = vmi_signal_pipe(signals, Int32(signals.count))
        guard fd >= 0 else {
            throw VMInstallError(.internal, "cannot set up signal handling: \(String(cString: strerror(errno)))")
        }
    }

    /// The signals that arrived since the last call, without waiting.
    public func take() -> [Int32] {
        var bytes = [UInt8](repeating: 0, count: 64)
        var signals: [Int32] = []
        while true {
            let n = read(fd, &bytes, bytes.count)
            guard n > 0 else { return signals }
            signals += bytes[0..<n].map { Int32($0) }
        }
    }
}
