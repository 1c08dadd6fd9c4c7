/// Tells a stalled install: one whose VM shows no activity (disk writes, screen, serial
/// output, as its driver samples them) for the stall timeout. Sampled from the runner's
/// one-second wait loop, every tenth of the timeout but at least every 5 s and at most
/// once a second.
struct StallWatch {
    /// Seconds without activity that make a stall; 0: never.
    let limit: Double
    /// The VM runs under KVM, which hangs some guests silently under nested virtualization.
    let underKVM: Bool
    /// The installer's last log line, quoted in the report when it sent one.
    var installerLine: () -> String? = { nil }
    private let interval: UInt64
    private var last: VMActivity?
    private var quietSince: UInt64
    private var nextSample: UInt64

    init(limit: Double, underKVM: Bool) {
        self.limit = limit
        self.underKVM = underKVM
        interval = UInt64(min(max(limit / 10, 1), 5) * 1e9)
        quietSince = Deadline.now()
        nextSample = quietSince
    }

    /// Samples the VM when a sample is due; throws once it has been quiet for the limit.
    /// Quiet time counts from the sample that last saw a change, so it is never overstated.
    mutating func check(_ session: any VMSession) throws(VMInstallError) {
        guard limit > 0, Deadline.now() >= nextSample else { return }
        guard let sample = session.activity() else { return }
        let now = Deadline.now()
        nextSample = now + interval
        if sample != last {
            last = sample
            quietSince = now
            return
        }
        let quiet = Int(Double(now - quietSince) / 1e9)
        guard Double(quiet) >= limit else { return }
        var message =
            "the install stalled: no disk writes, screen changes or serial output for \(quiet) seconds (--stall-timeout \(limit < 1e15 && limit == limit.rounded() ? String(Int64(limit)) : String(limit)))"
        if let line = installerLine() {
            message += "; the installer's last log line: \(line.count > 200 ? line.prefix(200) + "…" : line)"
        }
        if underKVM {
            message += "; under KVM, nested virtualization can hang guests silently: retry with --accel tcg"
        }
        throw VMInstallError(.installStalled, message)
    }
}
