import Foundation

/// A file of one entry per line, as `plan --keys` and `route --paths-file` take it: LF or CRLF,
/// empty lines skipped, `-` for standard input (a list too long for the command line comes from
/// a file or a pipe).
enum LinesFile {
    /// - Parameters:
    ///   - option: the flag that named the file, for the error (`--keys`).
    ///   - entry: what one line holds (`key`), for the error.
    static func read(_ path: String, option: String, entry: String) throws -> [String] {
        let text: String
        if path == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CLIError("cannot read \(entry)s file '\(path)' (\(option): one \(entry) per line)")
            }
            text = contents
        }
        return text.split(whereSeparator: \.isNewline).map(String.init)
    }
}
