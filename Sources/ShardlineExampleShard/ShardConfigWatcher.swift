import Foundation
import Logging
import ServiceLifecycle
import ShardlineCore
import ShardlineShard
import ShardlineShardHummingbird

/// Re-reads the shard's config file when its content changes (a mounted ConfigMap is swapped
/// atomically, so a whole new file appears) and replaces the ownership check. An invalid new
/// config is logged and refused; the old one keeps serving, so a typo never makes a shard refuse
/// or accept the wrong keys.
public struct ShardConfigWatcher: Service {
    let path: String
    let ordinal: Int
    let service: String?
    let interval: Duration
    let ownership: CurrentShardOwnership
    let logger: Logger
    let testHooks: ShardTestHooks?
    private let initialContent: String?

    public init(path: String, ordinal: Int, service: String?, interval: Duration, ownership: CurrentShardOwnership, logger: Logger, testHooks: ShardTestHooks? = nil) {
        self.path = path
        self.ordinal = ordinal
        self.service = service
        self.interval = interval
        self.ownership = ownership
        self.logger = logger
        self.testHooks = testHooks
        self.initialContent = try? String(contentsOfFile: path, encoding: .utf8)
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastContent = initialContent
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                guard let content = try? String(contentsOfFile: path, encoding: .utf8), content != lastContent else { continue }
                lastContent = content
                reload(content)
            }
        }
    }

    /// Applies one new config text; returns whether it was accepted.
    @discardableResult
    func reload(_ content: String) -> Bool {
        do {
            let config = try ConfigLoader.load(yaml: content, source: path)
            let next = try ShardOwnership(config: config, ordinal: ordinal, service: service)
            let before = ownership.current.fingerprint
            ownership.replace(with: next)
            testHooks?.configApplied()
            logger.info("config reloaded", metadata: ["topology": "\(next.fingerprint)", "previousTopology": "\(before)"])
            return true
        } catch let error as ConfigError {
            logger.error("config refused; the previous one keeps serving", metadata: ["error": "\(error)"])
        } catch {
            logger.error("config refused; the previous one keeps serving", metadata: ["error": "\(error)"])
        }
        return false
    }
}
