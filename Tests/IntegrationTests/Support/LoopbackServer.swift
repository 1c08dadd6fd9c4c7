import Glibc
import Testing
import VMInstallKit

/// A helper server (python3) on 127.0.0.1 at a port the kernel picks, so tests running at
/// the same time never collide: the script binds port 0 and writes the port it got to a
/// file, which the test waits for. Stopped with SIGKILL: it inherits the test thread's
/// signal mask, which may block SIGTERM.
struct LoopbackServer {
    let pid: pid_t
    let port: Int

    enum Kind {
        case http(directory: String)
        case https(directory: String, cert: String, key: String)
        case ftp(directory: String)
    }

    static func script(_ kind: Kind, portFile: String) -> String {
        let serve: String
        switch kind {
        case .http(let directory):
            serve = """
                import functools, http.server
                handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=\(String(reflecting: directory)))
                server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
                port = server.server_address[1]
                """
        case .https(let directory, let cert, let key):
            serve = """
                import functools, http.server, ssl
                handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=\(String(reflecting: directory)))
                server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(\(String(reflecting: cert)), \(String(reflecting: key)))
                server.socket = context.wrap_socket(server.socket, server_side=True)
                port = server.server_address[1]
                """
        case .ftp(let directory):
            // Anonymous and read-only, as `python3 -m pyftpdlib` serves.
            serve = """
                from pyftpdlib.authorizers import DummyAuthorizer
                from pyftpdlib.handlers import FTPHandler
                from pyftpdlib.servers import FTPServer
                import logging
                logging.disable(logging.CRITICAL)
                authorizer = DummyAuthorizer()
                authorizer.add_anonymous(\(String(reflecting: directory)))
                FTPHandler.authorizer = authorizer
                server = FTPServer(("127.0.0.1", 0), FTPHandler)
                port = server.address[1]
                """
        }
        return serve + """

            import os
            with open(\(String(reflecting: portFile + ".tmp")), "w") as f:
                f.write(str(port))
            os.rename(\(String(reflecting: portFile + ".tmp")), \(String(reflecting: portFile)))
            server.serve_forever()
            """
    }

    static func start(_ kind: Kind, in fx: Fixture) async throws -> LoopbackServer {
        let portFile = "\(fx.root)/server-\(UInt32.random(in: 0...UInt32.max)).port"
        // Debian's python3, which has python3-pyftpdlib.
        let pid = try spawnQuietly(["/usr/bin/python3", "-c", script(kind, portFile: portFile)])
        let deadline = Deadline.after(seconds: Fixture.patience)
        while !FileIO.exists(portFile) {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid || deadline.hasPassed {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw VMInstallError(.internal, "the loopback \(kind) server did not start")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let port = Int(try FileIO.readString(portFile)) ?? 0
        return LoopbackServer(pid: pid, port: port)
    }

    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    /// Runs `body` with a server that is stopped afterwards, whatever happens.
    static func with(_ kind: Kind, in fx: Fixture, _ body: (_ port: Int) async throws -> Void) async throws {
        let server = try await start(kind, in: fx)
        do { try await body(server.port) } catch {
            server.stop()
            throw error
        }
        server.stop()
    }
}
