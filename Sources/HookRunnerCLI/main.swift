// hookrunner: runs a deployment's pre-traffic and post-traffic checks. See `hookrunner --help`.
import Foundation
import HookRunner

let status = await HookRunnerCommand.main(Array(CommandLine.arguments.dropFirst()),
                                          environment: ProcessInfo.processInfo.environment)
exit(status)
