import Foundation

/// Whether the machine's `python3` has the modules a test's Python peer needs (the spec's
/// reference implementation, the simulated cluster's scripts). Tests ask before running such a
/// peer, to skip locally or fail under `SHARDLINE_REQUIRE_PEERS=1` when it is missing.
public enum PythonModules {
    /// `python3 -c "import A, B"` exits 0; false when python3 is missing or an import fails.
    public static func importable(_ modules: [String]) -> Bool {
        let process = Process()
        // env finds python3 on PATH, as the scripts' own `#!/usr/bin/env python3` lines do.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import " + modules.joined(separator: ", ")]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus == 0
        } catch {
            return false
        }
    }
}
