import Foundation

/// Whether the machine's `python3` has the modules a test's Python peer needs (the spec's
/// reference implementation, the simulated cluster's scripts). Tests ask before running such a
/// peer, to skip locally or fail under `SHARDLINE_REQUIRE_PEERS=1` when it is missing.
public enum PythonModules {
    /// `python3 -c "import A, B"` exits 0; false when python3 is missing or an import fails.
    public static func importable(_ modules: [String]) -> Bool {
        // env finds python3 on PATH, as the scripts' own `#!/usr/bin/env python3` lines do.
        QuietProcess.succeeds("/usr/bin/env", ["python3", "-c", "import " + modules.joined(separator: ", ")])
    }
}

/// A probe a test runs before it needs a tool: the tool's output is not wanted, only whether it worked.
public enum QuietProcess {
    /// Runs `executable` with `arguments`, output discarded; true when it ran and exited 0.
    public static func succeeds(_ executable: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
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
