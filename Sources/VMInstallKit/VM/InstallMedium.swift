/// What the install phase boots: an ISO as the CD-ROM, a kernel (and initrd, and command
/// line) given directly, or both (the kernel boots, the ISO is there as a CD-ROM).
public struct InstallMedium: Sendable, Equatable {
    public var iso: String?
    public var kernel: String?
    public var initrd: String?
    public var kernelArguments: String?
    /// A second CD-ROM for the install only (the --autoinstall or --unattended image).
    public var extraCDROM: String?

    public init(iso: String? = nil, kernel: String? = nil, initrd: String? = nil, kernelArguments: String? = nil) {
        self.iso = iso
        self.kernel = kernel
        self.initrd = initrd
        self.kernelArguments = kernelArguments
    }

    /// For the log.
    public var description: String {
        [
            kernel.map { "kernel \($0)" }, initrd.map { "initrd \($0)" }, kernelArguments.map { "arguments '\($0)'" },
            iso,
            extraCDROM.map { "CD-ROM \($0)" },
        ]
        .compactMap { $0 }.joined(separator: ", ")
    }
}
