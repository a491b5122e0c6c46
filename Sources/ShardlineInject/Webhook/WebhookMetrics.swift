import Metrics

/// The webhook's metric names: part of its contract with dashboards and alerts.
public enum WebhookMetrics {
    /// `outcome`: injected, skipped, refused, error (an internal failure answered allowed without
    /// a patch); `dry_run`: true or false.
    public static let admissions = "shardline_webhook_admissions_total"
    /// Bodies that were not an AdmissionReview (answered 400).
    public static let badRequests = "shardline_webhook_bad_requests_total"
    public static let duration = "shardline_webhook_admission_duration_seconds"
    /// `result`: success or failure.
    public static let certificateReloads = "shardline_webhook_certificate_reloads_total"

    static func admission(_ outcome: AdmissionOutcome, dryRun: Bool) -> Counter {
        Counter(label: admissions, dimensions: [("outcome", outcome.rawValue), ("dry_run", dryRun ? "true" : "false")])
    }
}
