import Foundation

/// Prometheus text exposition (format 0.0.4) of `<name>_build_info` and `process_start_time_seconds`.
enum BuildInfoMetrics {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func render(_ info: ServiceInfo) -> String {
        let metric = metricName(info.name) + "_build_info"
        let labels = [("version", info.version), ("revision", info.revision), ("branch", info.branch)]
            .map { "\($0.0)=\"\(escapeLabelValue($0.1 ?? ""))\"" }
            .joined(separator: ",")
        return """
        # HELP \(metric) Build information of \(escapeHelp(info.name)): constant 1, labelled by version, revision and branch.
        # TYPE \(metric) gauge
        \(metric){\(labels)} 1
        # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
        # TYPE process_start_time_seconds gauge
        process_start_time_seconds \(String(format: "%.3f", info.startTime.timeIntervalSince1970))

        """
    }

    /// A valid Prometheus metric name prefix: `[a-zA-Z_:][a-zA-Z0-9_:]*`; other characters become `_`.
    static func metricName(_ name: String) -> String {
        var result = ""
        for scalar in name.unicodeScalars {
            let valid = scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "_" || scalar == ":")
            result.unicodeScalars.append(valid ? scalar : "_")
        }
        if result.isEmpty || result.first!.isNumber { result = "_" + result }
        return result
    }

    static func escapeLabelValue(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    private static func escapeHelp(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}
