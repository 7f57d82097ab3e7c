import Foundation
import MirrorbotApp

extension Configuration {
    /// Prints the configuration's warnings on standard error, one line each, prefixed with the command.
    /// - Parameter command: e.g. `mirrorbot id`.
    func printWarnings(_ command: String) {
        for warning in warnings { FileHandle.standardError.write(Data("\(command): warning: \(warning)\n".utf8)) }
    }
}
