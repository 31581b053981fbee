// versioncheck: confirms the live version after a deploy. See `versioncheck --help`.
import Foundation
import VersionCheck

let status = await VersionCheckCommand.main(Array(CommandLine.arguments.dropFirst()),
                                            environment: ProcessInfo.processInfo.environment)
exit(status)
