import Testing
import ShardlineCore

@Suite("A traffic listener off loopback")
struct RemoteListenerTests {
    static let service = "services: [{name: a, hosts: [a], pattern: '^/(x)', endpoints: ['h:1']}]"

    @Test("is refused at validation, naming sidecar.listen and why", arguments: ["0.0.0.0:15001", "10.1.2.3:15001", "'[::]:15001'"])
    func refused(listen: String) {
        do {
            _ = try ConfigLoader.load(yaml: "\(Self.service)\nsidecar:\n  listen: \(listen)\n")
            Issue.record("\(listen) was accepted")
        } catch {
            let issue = error.issues.first { $0.field == "sidecar.listen" }
            #expect(issue?.message.contains("not a loopback address") == true, "\(error.issues)")
            #expect(issue?.message.contains("allowRemoteClients") == true)
        }
    }

    @Test("is accepted with allowRemoteClients: true, and loopback always", arguments: [
        "listen: 0.0.0.0:15001\n  allowRemoteClients: true", "listen: 127.0.0.1:15001", "listen: 127.0.0.2:15001",
        "listen: localhost:15001", "listen: '[::1]:15001'",
    ])
    func accepted(lines: String) throws {
        let config = try ConfigLoader.load(yaml: "\(Self.service)\nsidecar:\n  \(lines)\n")
        #expect(config.sidecar.remoteClientsProblem == nil)
    }

    @Test("allowRemoteClients must be a boolean")
    func notBoolean() {
        do {
            _ = try ConfigLoader.load(yaml: "\(Self.service)\nsidecar:\n  allowRemoteClients: maybe\n")
            Issue.record("accepted")
        } catch {
            #expect(error.issues.contains { $0.field == "sidecar.allowRemoteClients" })
        }
    }
}
