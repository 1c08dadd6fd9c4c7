import CShims
import Glibc

/// Starts the background job runner: `vm-install --run-job ID` in a session of its own,
/// stdin from /dev/null, stdout and stderr into the job's log, and the runner lock on
/// descriptor 3. swift-subprocess always waits for its children; this one must outlive us.
public enum RunnerLauncher {
    public static let lockDescriptor: Int32 = 3

    public static func launch(executable: String, arguments: [String], logPath: String, runnerLock: FileLock)
        throws(VMInstallError) -> pid_t
    {
        let logFD = open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard logFD >= 0 else {
            throw VMInstallError(
                .stateDirectory, "cannot open the job log \(logPath): \(String(cString: strerror(errno)))")
        }
        defer { close(logFD) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, logFD, 1)
        posix_spawn_file_actions_adddup2(&actions, logFD, 2)
        posix_spawn_file_actions_adddup2(&actions, runnerLock.descriptor.rawValue, lockDescriptor)
        // Nothing else of the caller's (a pipe a script waits on, say) may live on in the runner.
        guard vmi_spawn_actions_detached(&actions) == 0 else {
            throw VMInstallError(.internal, "cannot prepare the job runner's descriptors")
        }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        guard vmi_spawnattr_detached(&attr, 1) == 0 else {
            throw VMInstallError(.internal, "cannot prepare the job runner's process attributes")
        }

        let argv = [executable] + arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attr, &cArgs, environ)
        guard rc == 0 else {
            throw VMInstallError(
                .internal, "cannot start the job runner \(executable): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// True when descriptor 3 is the given runner lock file, as `launch` hands it over.
    public static func holdsRunnerLock(_ path: String) -> Bool {
        var fdStat = stat()
        var pathStat = stat()
        return fstat(lockDescriptor, &fdStat) == 0 && stat(path, &pathStat) == 0
            && fdStat.st_dev == pathStat.st_dev && fdStat.st_ino == pathStat.st_ino
    }

    /// This executable's own path, so the runner is the same build as its caller.
    public static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0 ? string(fromCBuffer: buffer) : CommandLine.arguments[0]
    }
}
