/// What a client (the sidecar or the SDK) does when a shard answers `421 Misdirected Request`
/// (SPEC.md 11.5): the shard says the key is not its own under its config, names the owner
/// (`x-shardline-owner`) and its placement's fingerprint (`x-shardline-topology`).
///
/// A 421 guarantees the shard did not process the request, so even a non-idempotent request may
/// be sent again, once, provided the client still has its body. The client re-reads its config
/// only when the shard's fingerprint differs from its own (otherwise re-reading cannot help: both
/// sides agree on the placement, so the request reached the wrong pod), retries only when the
/// re-read config changed and sends the request elsewhere, and never follows a second 421: at most
/// two attempts, never a loop.
public struct MisdirectedPolicy: Sendable, Equatable {
    public init() {}

    /// The state of one request sent with `fingerprint` to shard `shard`. `bodyReplayable`: the
    /// client can send the request body again (it has none, or kept all of it).
    public func start(fingerprint: TopologyFingerprint, shard: Int, bodyReplayable: Bool) -> MisdirectedState {
        MisdirectedState(fingerprint: fingerprint, shard: shard, bodyReplayable: bodyReplayable)
    }
}

/// The parts of a 421 that matter: both nil when the response did not come from a Shardline shard
/// (any server may answer 421, for example to a coalesced HTTP/2 connection).
public struct MisdirectedResponse: Sendable, Equatable {
    public let owner: Int?
    public let fingerprint: TopologyFingerprint?

    public init(owner: Int?, fingerprint: TopologyFingerprint?) {
        self.owner = owner
        self.fingerprint = fingerprint
    }

    /// From the raw header values; a malformed value counts as absent.
    public init(ownerHeader: String?, topologyHeader: String?) {
        self.owner = ownerHeader.flatMap { Int($0.trimmingSpaces()) }.flatMap { $0 >= 0 ? $0 : nil }
        self.fingerprint = topologyHeader.flatMap(TopologyFingerprint.init(headerValue:))
    }
}

/// One request's progress through the 421 policy. Feed it the 421 and, when asked, the re-read
/// config's fingerprint and new decision; it answers what to do next.
public struct MisdirectedState: Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        /// Re-read the config now, then call `configReread`.
        case rereadConfig
        /// Send the request again (once), to `shard` of the re-read config.
        case retry(shard: Int)
        /// Return the 421 to the caller with this reason.
        case surface(SurfaceReason)
    }

    /// Why a 421 goes back to the caller. `message` is fit for an error body or log line.
    public enum SurfaceReason: String, Sendable, Equatable {
        /// The 421 has no valid `x-shardline-owner` / `x-shardline-topology`: not from a shard.
        case notFromShard = "not_from_shard"
        /// The shard's fingerprint equals the client's: the same placement, yet another owner, so
        /// the request reached a pod other than the one its address names (stale DNS, a bug).
        case samePlacement = "same_placement"
        /// The re-read config has the same fingerprint as before: the shard's config is newer or
        /// older than the client's, and only the rollout finishing can fix it.
        case configUnchanged = "config_unchanged"
        /// The re-read config sends the request to the shard that just refused it.
        case sameShardAgain = "same_shard_again"
        /// The request was already retried once after a 421.
        case alreadyRetried = "already_retried"
        /// The body was streamed and not kept, so the request cannot be sent again.
        case bodyNotReplayable = "body_not_replayable"
        /// `configReread` came without a preceding `rereadConfig` (a caller bug, reported, not trapped).
        case unexpectedCall = "unexpected_call"

        public var message: String {
            switch self {
            case .notFromShard: return "the upstream answered 421 without Shardline's owner and topology headers"
            case .samePlacement: return "the shard refused the key although it has the same topology as this client; the request reached the wrong pod"
            case .configUnchanged: return "the shard has a different topology, and this client's config has not changed; the configs disagree until the rollout finishes"
            case .sameShardAgain: return "the re-read config routes the request to the shard that refused it"
            case .alreadyRetried: return "the shard refused the request again after one retry with the re-read config"
            case .bodyNotReplayable: return "the shard refused the request and its body was not kept, so it cannot be retried"
            case .unexpectedCall: return "the 421 policy was driven out of order"
            }
        }
    }

    enum Phase: Sendable, Equatable {
        case firstAttempt
        case awaitingConfig
        case retried
        case finished
    }

    public private(set) var fingerprint: TopologyFingerprint
    public private(set) var shard: Int
    public let bodyReplayable: Bool
    var phase: Phase = .firstAttempt

    init(fingerprint: TopologyFingerprint, shard: Int, bodyReplayable: Bool) {
        self.fingerprint = fingerprint
        self.shard = shard
        self.bodyReplayable = bodyReplayable
    }

    /// The current attempt got a 421.
    public mutating func received(_ response: MisdirectedResponse) -> Decision {
        switch phase {
        case .firstAttempt:
            break
        case .retried:
            return finish(.alreadyRetried)
        case .awaitingConfig, .finished:
            return finish(.unexpectedCall)
        }
        guard let shardFingerprint = response.fingerprint, response.owner != nil else { return finish(.notFromShard) }
        guard shardFingerprint != fingerprint else { return finish(.samePlacement) }
        guard bodyReplayable else { return finish(.bodyNotReplayable) }
        phase = .awaitingConfig
        return .rereadConfig
    }

    /// The config was re-read: its fingerprint for the service, and the shard it now routes the
    /// request to.
    public mutating func configReread(fingerprint newFingerprint: TopologyFingerprint, shard newShard: Int) -> Decision {
        guard phase == .awaitingConfig else { return finish(.unexpectedCall) }
        guard newFingerprint != fingerprint else { return finish(.configUnchanged) }
        guard newShard != shard else { return finish(.sameShardAgain) }
        fingerprint = newFingerprint
        shard = newShard
        phase = .retried
        return .retry(shard: newShard)
    }

    private mutating func finish(_ reason: SurfaceReason) -> Decision {
        phase = .finished
        return .surface(reason)
    }
}
