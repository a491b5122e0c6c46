import Foundation
import ShardlineCore

/// What the webhook decided for one AdmissionReview, for its log line and metrics.
public enum AdmissionOutcome: String, Sendable, CaseIterable {
    /// A patch that adds the sidecar.
    case injected
    /// Allowed unchanged: not opted in, opted out, already injected, not a CREATE.
    case skipped
    /// Opted in, but the pod cannot take the sidecar; allowed unchanged with the reason as a warning.
    case refused
    /// Something went wrong inside the webhook; allowed unchanged so pod creation never waits on it.
    case error
}

/// The answer to one `/mutate` request: the HTTP status and JSON body, plus what happened.
public struct AdmissionAnswer: Sendable {
    public var status: Int
    public var body: JSONValue
    public var outcome: AdmissionOutcome?
    public var uid: String?
    public var dryRun: Bool
    /// Why: the refusal, the warnings, or the internal error (for the log).
    public var detail: String?
    public var object: String?
}

/// AdmissionReview (`admission.k8s.io/v1`) in, AdmissionReview out, with no I/O: the webhook server
/// only carries bytes to and from this. The mutation is `ObjectInjector`'s, the same as
/// `shardline inject`'s; the answer carries it as a base64 RFC 6902 JSONPatch.
///
/// Pod creation must never wait on the injector: only a body that is not an AdmissionReview gets an
/// error status (400); every other problem is `allowed: true` without a patch.
public struct AdmissionReviewer: Sendable {
    public static let apiVersion = "admission.k8s.io/v1"

    public var objects: ObjectInjector

    public init(objects: ObjectInjector) {
        self.objects = objects
    }

    /// - Parameter namespaceOptedIn: the request came through the webhook entry whose namespace
    ///   selector matches `shardline.io/injection: enabled`.
    public func review(body: [UInt8], namespaceOptedIn: Bool) -> AdmissionAnswer {
        let review: JSONValue
        do {
            review = try JSONParser.parse(body)
        } catch {
            return Self.badRequest("the body is not JSON: \(error)")
        }
        guard review.objectPairs != nil else { return Self.badRequest("the body must be an AdmissionReview object") }
        guard review["kind"]?.stringValue == "AdmissionReview" else {
            return Self.badRequest("kind must be 'AdmissionReview', not \(review["kind"].map { $0.serialized() } ?? "missing")")
        }
        guard review["apiVersion"]?.stringValue == Self.apiVersion else {
            return Self.badRequest("apiVersion must be '\(Self.apiVersion)' (admissionReviewVersions: [v1]), not \(review["apiVersion"].map { $0.serialized() } ?? "missing")")
        }
        guard let request = review["request"], request.objectPairs != nil else {
            return Self.badRequest("request is missing or not an object")
        }
        guard let uid = request["uid"]?.stringValue, !uid.isEmpty else {
            return Self.badRequest("request.uid is missing or not a string")
        }
        let dryRun = request["dryRun"]?.boolValue ?? false
        func answer(_ outcome: AdmissionOutcome, patch: [JSONPatch.Operation] = [], warnings: [String] = [], detail: String? = nil, object: String? = nil) -> AdmissionAnswer {
            var response: [(String, JSONValue)] = [("uid", .string(uid)), ("allowed", .bool(true))]
            if !patch.isEmpty {
                let bytes = Array(JSONPatch.document(patch).serialized().utf8)
                response.append(("patchType", .string("JSONPatch")))
                response.append(("patch", .string(Data(bytes).base64EncodedString())))
            }
            if !warnings.isEmpty { response.append(("warnings", .array(warnings.map { .string(Self.warningText($0)) }))) }
            let body = JSONValue.object([
                ("apiVersion", .string(Self.apiVersion)), ("kind", .string("AdmissionReview")), ("response", .object(response)),
            ])
            return AdmissionAnswer(status: 200, body: body, outcome: outcome, uid: uid, dryRun: dryRun, detail: detail, object: object)
        }

        let operation = request["operation"]?.stringValue ?? "CREATE"
        guard operation == "CREATE" else { return answer(.skipped, detail: "operation \(operation) is not CREATE") }
        guard var object = request["object"], object.objectPairs != nil else {
            return answer(.error, detail: "request.object is missing or not an object")
        }
        if object["kind"] == nil, let kind = request.value(at: ["kind", "kind"])?.stringValue { object["kind"] = .string(kind) }
        let kind = object["kind"]?.stringValue ?? "?"
        let namespace = request["namespace"]?.stringValue ?? object.value(at: ["metadata", "namespace"])?.stringValue
        let name = request["name"]?.stringValue ?? object.value(at: ["metadata", "name"])?.stringValue
            ?? object.value(at: ["metadata", "generateName"])?.stringValue.map { $0 + "*" } ?? "(unnamed)"
        let subject = "\(kind) " + (namespace.map { "\($0)/" } ?? "") + name

        let injected: (object: JSONValue, templates: [TemplateInjection])
        do throws(InjectionError) {
            injected = try objects.inject(object, optedInByDefault: namespaceOptedIn)
        } catch {
            return answer(.error, detail: error.message, object: subject)
        }
        let refusals = injected.templates.filter { $0.result.outcome == .refused }.flatMap(\.result.messages)
        let warnings = injected.templates.filter { $0.result.outcome != .refused }.flatMap(\.result.messages)
        guard injected.templates.contains(where: \.result.changed) else {
            if !refusals.isEmpty {
                return answer(.refused, warnings: refusals + warnings, detail: refusals.joined(separator: "; "), object: subject)
            }
            let reasons = Set(injected.templates.map(\.result.outcome.rawValue)).sorted().joined(separator: ",")
            return answer(.skipped, warnings: warnings, detail: reasons, object: subject)
        }
        let patch = JSONPatch.diff(from: object, to: injected.object)
        return answer(.injected, patch: patch, warnings: refusals + warnings, detail: (refusals + warnings).isEmpty ? nil : (refusals + warnings).joined(separator: "; "), object: subject)
    }

    /// The API server shows warnings to `kubectl` users and may truncate those over 256
    /// characters; the log line keeps the whole reason.
    static func warningText(_ message: String) -> String {
        let text = "shardline: " + message
        return text.count <= 256 ? text : String(text.prefix(253)) + "..."
    }

    static func badRequest(_ message: String) -> AdmissionAnswer {
        AdmissionAnswer(
            status: 400,
            body: .object([("error", .string("bad AdmissionReview")), ("message", .string(message))]),
            outcome: nil, uid: nil, dryRun: false, detail: message, object: nil
        )
    }
}
