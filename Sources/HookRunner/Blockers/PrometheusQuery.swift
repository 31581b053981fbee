import DeployVerifyKit
import Foundation

/// A `prometheus` check: an instant query whose value must meet the check's conditions
/// (`value < 0.01`): the metric gate of a canary analysis. Values may contain `${NAME}`.
package struct PrometheusSpec: Sendable {
    /// Prometheus's base URL (`http://prometheus:9090`, with any path prefix).
    package var url: String
    /// PromQL, evaluated now (`GET /api/v1/query`).
    package var query: String
    package var headers: [(name: String, value: String)] = []
    /// An empty result passes instead of failing (`"ifEmpty": "pass"`).
    package var emptyPasses = false
}

/// One series of an instant query's answer (or its scalar or string).
package struct PrometheusSeries: Sendable, Equatable {
    package var labels: [(name: String, value: String)]
    /// As Prometheus wrote it: `0.012`, `NaN`, `+Inf`.
    package var value: String

    package static func == (lhs: PrometheusSeries, rhs: PrometheusSeries) -> Bool {
        lhs.value == rhs.value && lhs.labels.map(\.name) == rhs.labels.map(\.name) && lhs.labels.map(\.value) == rhs.labels.map(\.value)
    }

    /// `http_errors{instance="a:9100", job="checkout"}` as Prometheus shows a series; `{}` without labels.
    package var labelText: String {
        let name = labels.first { $0.name == "__name__" }?.value ?? ""
        let rest = labels.filter { $0.name != "__name__" }.sorted { $0.name < $1.name }
        return name + "{" + rest.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ", ") + "}"
    }
}

/// Reads the Prometheus HTTP API's answer to an instant query.
package enum PrometheusAnswer {
    package struct Problem: Error, CustomStringConvertible, Sendable {
        package let description: String
    }

    /// The series of a vector, or the one value of a scalar or string; a range vector, an error
    /// answer or anything else is a problem naming what Prometheus said.
    package static func series(_ body: [UInt8], status: Int) throws(Problem) -> [PrometheusSeries] {
        guard case .object(let answer)? = try? JSONParser().parse(body) else {
            let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw Problem(description: "Prometheus answered HTTP \(status) without JSON" + (text.isEmpty ? "" : ": \(text)"))
        }
        guard answer["status"]?.stringValue == "success" else {
            let type = answer["errorType"]?.stringValue.map { "\($0): " } ?? ""
            throw Problem(description: "Prometheus refused the query (HTTP \(status)): \(type)\(answer["error"]?.stringValue ?? "no error message")")
        }
        guard let data = answer["data"], let type = data["resultType"]?.stringValue, let result = data["result"] else {
            throw Problem(description: "Prometheus's answer has no data.resultType and data.result")
        }
        func sample(_ pair: JSONValue?) throws(Problem) -> String {
            guard let items = pair?.arrayValue, items.count == 2, let value = items[1].stringValue else {
                throw Problem(description: "a sample is not [time, \"value\"]: \(pair?.serialized.prefix(80) ?? "missing")")
            }
            return value
        }
        switch type {
        case "vector":
            guard let list = result.arrayValue else { throw Problem(description: "data.result of a vector is not an array") }
            var series: [PrometheusSeries] = []
            for item in list {
                let labels = item["metric"]?.objectValue?.members.compactMap { member in
                    member.value.stringValue.map { (name: member.key, value: $0) }
                } ?? []
                series.append(PrometheusSeries(labels: labels, value: try sample(item["value"])))
            }
            return series
        case "scalar", "string":
            return [PrometheusSeries(labels: [], value: try sample(result))]
        case "matrix":
            throw Problem(description: "the query returns a range vector; an instant query needs an instant vector or a scalar "
                + "(wrap the range in a function such as rate(…[5m]) or avg_over_time(…[5m]))")
        default:
            throw Problem(description: "unknown resultType '\(type)'")
        }
    }
}

extension PhaseRunner {
    /// Runs the query and judges every series: each must meet every condition.
    func judge(prometheus base: String, query: String, headers: [(name: String, value: String)], emptyPasses: Bool,
               conditions: [Condition], timeout: Duration) async -> AttemptResult {
        var options = prober.options
        options.headers = [("Accept", "application/json")] + headers
        options.timeout = timeout
        options.connectTimeout = min(options.connectTimeout, timeout)
        options.maxBodyBytes = 16 << 20
        let result = await prober.probe(joinURL(base, "/api/v1/query") + "?query=" + queryEncoded(query), options: options)
        guard let status = result.status else {
            let failure = result.failure ?? .cancelled
            return AttemptResult(passed: false, reason: "no answer from Prometheus: \(failure.className): \(failure.message)", conditions: [])
        }
        let series: [PrometheusSeries]
        do {
            series = try PrometheusAnswer.series(result.body, status: status)
        } catch {
            return AttemptResult(passed: false, reason: error.description, conditions: [])
        }
        let expand: (String) throws -> String = { template in try scope.expand(template) }
        guard !series.isEmpty else {
            if emptyPasses {
                return AttemptResult(passed: true, reason: nil, conditions: conditions.map { condition in
                    ConditionResult(condition: condition.text, passed: true, actual: "(no series)",
                                    message: "\(condition.text): the query returned no series (ifEmpty: pass)")
                })
            }
            return AttemptResult(passed: false, reason: "the query returned no series, so there is nothing to judge "
                + conditions.map(\.text).joined(separator: ", ") + " on (is the metric scraped, are the labels right? "
                + "\"ifEmpty\": \"pass\" accepts no data)", conditions: [])
        }
        var results: [ConditionResult] = []
        for condition in conditions {
            let verdicts = series.map { item in
                var observation = Observation()
                observation.value = item.value
                observation.time = result.timings.total
                return (item, condition.evaluate(observation, expand: expand))
            }
            let failing = verdicts.filter { !$0.1.passed }
            if series.count == 1 {
                var single = verdicts[0].1
                if !single.passed, !series[0].labels.isEmpty { single.message += " for \(series[0].labelText)" }
                results.append(single)
            } else if failing.isEmpty {
                let values = series.map(\.value).joined(separator: ", ")
                results.append(ConditionResult(condition: condition.text, passed: true, actual: values,
                                               message: "\(condition.text): all \(series.count) series (\(values.prefix(200)))"))
            } else {
                let expanded = (try? expand(condition.text)) ?? condition.text
                let list = failing.prefix(10).map { "\($0.1.actual) for \($0.0.labelText)" }.joined(separator: "; ")
                    + (failing.count > 10 ? "; and \(failing.count - 10) more" : "")
                results.append(ConditionResult(condition: condition.text, passed: false,
                                               actual: failing.map(\.1.actual).joined(separator: ", "),
                                               message: "expected \(expanded) for every series, \(failing.count) of \(series.count) not: \(list)"))
            }
        }
        let failed = results.first { !$0.passed }
        return AttemptResult(passed: failed == nil, reason: failed?.message, conditions: results)
    }
}
