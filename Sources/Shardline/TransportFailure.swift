#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import AsyncHTTPClient
import NIOCore
import NIOPosix
import ShardlineCore

/// Reads an AsyncHTTPClient error as the failure kinds the core's `RetryPolicy` and
/// `OutlierDetector` decide on. nil for errors that say nothing about the shard (the caller
/// cancelled, a malformed request), which are passed on untouched and never retried.
enum TransportFailure {
    static func kind(of error: any Error) -> RetryState.Failure? {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .socksHandshakeTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout:
                return .connectFailed
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return .responseTimeout
            case .remoteConnectionClosed:
                return .connectionLost
            default:
                return nil
            }
        }
        if error is NIOConnectionError || error is SocketAddressError { return .connectFailed }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return .connectFailed
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed: return .connectionLost
            default: return nil
            }
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT: return .connectFailed
            default: return .connectionLost
            }
        }
        return nil
    }
}
