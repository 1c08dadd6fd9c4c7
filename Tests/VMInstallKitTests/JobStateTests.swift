import Testing

@testable import VMInstallKit

@Suite struct JobStateTests {
    @Test func statesAreTheManualsNumbersAndNames() {
        let names = JobState.allCases.map { "\($0.rawValue) \($0.name)" }
        #expect(
            names == [
                "0 SETTINGS", "1 PREP_INSTALL", "2 INSTALL", "3 POST_INSTALL", "4 RUNTIME_CONF",
                "5 RUNTIME", "6 FINISHED", "7 FAILED", "8 CANCELED",
            ])
        #expect(JobState.allCases.filter(\.isTerminal) == [.finished, .failed, .canceled])
    }

    @Test func progressionOnlyGoesForward() {
        for from in JobState.allCases {
            for to in JobState.allCases {
                let expected: Bool
                if from.isTerminal {
                    expected = false
                } else if to == .failed || to == .canceled {
                    expected = true
                } else {
                    expected = to.rawValue > from.rawValue
                }
                #expect(from.canMove(to: to) == expected, "\(from) -> \(to)")
            }
        }
    }

    @Test func requestTableIsTheManuals() {
        for state in JobState.allCases {
            #expect(JobRequest.status.isAllowed(in: state))
            #expect(JobRequest.cancel.isAllowed(in: state) == (state.rawValue <= 5))
            #expect(JobRequest.delete.isAllowed(in: state) == [6, 7, 8].contains(state.rawValue))
            #expect(JobRequest.detach.isAllowed(in: state) == (state == .finished))
        }
    }

    @Test func refusalNamesBothStates() {
        let message = JobRequest.delete.refusal(job: JobID(3)!, state: .install).message
        #expect(message.contains("2 (INSTALL)"))
        #expect(message.contains("FINISHED, FAILED or CANCELED"))
    }
}
