import Testing

@testable import VMInstallKit

@Suite struct JobIDTests {
    @Test(arguments: ["1", "7", "42", "9999999999999999999"])
    func acceptsCanonicalIDs(_ text: String) {
        #expect(JobID(parsing: text)?.description == text)
    }

    @Test(arguments: ["", "0", "-1", "+7", "07", " 7", "7 ", "../x", "1/2", "abc", "1e3", "18446744073709551616", "٣"])
    func refusesEverythingElse(_ text: String) {
        #expect(JobID(parsing: text) == nil)
    }
}
