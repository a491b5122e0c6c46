import ShardlineTestSupport
import Testing

/// The Python-peer check the vector and simulated-cluster tests skip (or, in CI, fail) on: it
/// must tell a module that is there from one that is not, or those tests would run without
/// their peer or never run at all.
struct PythonModulesTests {
    @Test(.enabled(if: SimulatedCluster.findExecutable("python3") != nil))
    func standardModulesAreImportable() {
        #expect(PythonModules.importable(["sys"]))
        #expect(PythonModules.importable(["json", "os"]))
    }

    @Test(.enabled(if: SimulatedCluster.findExecutable("python3") != nil))
    func aMissingModuleIsNotImportable() {
        #expect(!PythonModules.importable(["shardline_no_such_module"]))
        #expect(!PythonModules.importable(["sys", "shardline_no_such_module"]))
    }
}
