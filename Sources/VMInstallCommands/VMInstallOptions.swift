import ArgumentParser
import VMInstallKit

// vm-install's options, grouped by purpose as --help shows them.

struct VMOptions: ParsableArguments {
    @Option(help: ArgumentHelp("VM name: 1-64 letters, digits, '.', '_' or '-'.", valueName: "name"))
    var name: String?

    @Option(
        help: ArgumentHelp(
            "The OS, for its defaults (memory, vCPUs, disk size and bus, NIC model, machine, firmware): an osinfo-db id (fedora37, win10, …) or a family; 'detect' requires the media to be recognised; 'list' shows them. Default: recognise the ISO or tree, else generic.",
            valueName: "id|family|detect|list"))
    var osType: String?

    @Flag(help: "With --os-type list: JSON.")
    var json = false

    @Option(help: ArgumentHelp("Memory in MiB (default: the OS's, else 1024).", valueName: "mib"))
    var memory: Int?

    @Option(help: ArgumentHelp("Number of virtual CPUs (default: the OS's, else 1).", valueName: "n"))
    var vcpus: Int?

    @Option(help: "Machine type: pc (i440FX) or q35 (default: the OS's, else pc).")
    var machine: MachineType?

    @Option(help: "Firmware: bios (SeaBIOS) or uefi (OVMF; Debian's ovmf package). Default: the OS's, else bios.")
    var firmware: Firmware?

    @Option(help: "Accelerator: auto (KVM when /dev/kvm is usable), kvm or tcg.")
    var accel: AccelChoice = .auto

    @Option(
        help: ArgumentHelp(
            "Install into libvirt at this URI (qemu:///system, qemu+ssh://HOST/system, …); repeated: on one of these hosts, placed by memory; default $LIBVIRT_DEFAULT_URI, else QEMU itself.",
            valueName: "uri"))
    var connect: [String] = []

    @Option(
        help: ArgumentHelp(
            "Install on one of the libvirt hosts of this group of the hosts file, placed by memory.",
            valueName: "name"))
    var hostGroup: String?

    @Option(
        help: ArgumentHelp(
            "The hosts file (groups, and each host's memory budget and install slots); default $VM_INSTALL_HOSTS_FILE, else /etc/vm-install/hosts (root) or ~/.config/vm-install/hosts.",
            valueName: "file"))
    var hostsFile: String?
}

struct InstallOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "An ISO image or CD/DVD device, or an install tree (as distributions lay them out): a directory or an http, https or ftp URL.",
            valueName: "iso|device|tree|url"))
    var source: String?

    @Option(help: ArgumentHelp("Boot this kernel for the install (with or without --source).", valueName: "file"))
    var kernel: String?

    @Option(help: ArgumentHelp("The initrd for --kernel.", valueName: "file"))
    var initrd: String?

    @Option(
        help: ArgumentHelp("Kernel command line for --kernel, or added to an install tree's.", valueName: "arguments"))
    var extraArgs: String?

    @Flag(
        name: .customLong("import"),
        help: "The first disk already holds an installed system: boot it, with no install phase (no --source).")
    var importDisk = false

    @Option(
        help: ArgumentHelp(
            "An AutoYaST, kickstart, preseed or Subiquity autoinstall file for an unattended install; an install tree's installer gets it in its initrd.",
            valueName: "file"))
    var autoinstall: String?

    @Flag(
        help:
            "Install unattended with the OS's install script from osinfo-db (kickstart, preseed, AutoYaST, Windows unattend): --unattended [profile=jeos|desktop][,admin-password-file=FILE][,user-login=NAME][,user-password-file=FILE][,product-key=KEY]. Passwords only from files (their first line)."
    )
    var unattended = false

    /// The OPTIONS of --unattended (see `expandOptionalValues`).
    @Option(parsing: .unconditional, help: .hidden)
    var unattendedOptions: String?

    @Option(
        help: ArgumentHelp(
            "Type this into the install VM's console once it runs, in Packer's boot_command syntax: text, <enter>, <tab>, <esc>, <bs>, <f1>…<f12>, <up>, <leftShiftOn>…<leftShiftOff>, <wait>, <wait5>, <wait2s>; {{http}} is the answer server as the guest reaches it, {{syslogIP}} and {{syslogPort}} the installer's syslog. Media then boot their own loader.",
            valueName: "text"))
    var bootKeys: String?

    @Option(
        help: ArgumentHelp(
            "Seconds from the VM running to the first boot key (default 10, or 0 with --boot-wait-for).",
            valueName: "seconds"))
    var bootWait: Double?

    @Option(
        help: ArgumentHelp(
            "Start typing once the serial console shows this text (after --boot-wait).", valueName: "text"))
    var bootWaitFor: String?

    @Option(help: ArgumentHelp("Milliseconds from one boot key to the next (default 100).", valueName: "ms"))
    var bootKeyInterval: Double = 100

    @Option(
        help: ArgumentHelp(
            "Serve this directory to the install VM over HTTP (GET and HEAD, files under it only), at {{http}}.",
            valueName: "dir"))
    var serve: String?

    @Option(
        help: ArgumentHelp(
            "A NoCloud seed (ISO labelled cidata) attached as a CD-ROM; with --import it turns a cloud image into a configured VM.",
            valueName: "user-data=FILE[,meta-data=FILE][,network-config=FILE]"))
    var cloudInit: String?
}

struct StorageOptions: ParsableArguments {
    @Option(
        name: .customLong("disk"),
        help: ArgumentHelp(
            "A disk; repeat for more, the first one boots. A missing PATH is created (size= or backing= needed; K, M, G, T or GiB).",
            valueName:
                "path[,size=SIZE][,format=raw|qcow2][,bus=virtio|sata|scsi|ide][,device=disk|cdrom][,readonly][,backing=FILE]"
        ))
    var disks: [String] = []

    @Option(
        name: .customLong("nic"),
        help: ArgumentHelp(
            "A network card; repeat for more. Default: one on QEMU's user-mode network. 'none' for no network.",
            valueName: "user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]|bridge=BR|tap=IFNAME[,model=M][,mac=MAC]"))
    var nics: [String] = []
}

struct ConsoleOptions: ParsableArguments {
    @Flag(help: "Give the VM a VNC console: --vnc on 127.0.0.1 at the first free display, or --vnc=ADDRESS[:DISPLAY].")
    var vnc = false

    /// The ADDRESS[:DISPLAY] of --vnc=VALUE (see `expandOptionalValues`).
    @Option(parsing: .unconditional, help: .hidden)
    var vncListen: String?

    @Flag(
        help:
            "Protect the VNC console with a password: --vnc-password=PW (at most 8 characters), or a generated one. Implies --vnc."
    )
    var vncPassword = false

    /// The PW of --vnc-password=PW.
    @Option(parsing: .unconditional, help: .hidden)
    var vncPasswordValue: String?

    @Option(help: "Console: vnc (as --vnc) or none (the serial console only, in the VM's serial.log).")
    var graphics: GraphicsChoice?
}

struct JobOptions: ParsableArguments {
    @Flag(help: "Run the job in the background: print its id and return.")
    var background = false

    @Option(
        help: ArgumentHelp(
            "State directory (default: $VM_INSTALL_STATE_DIR, /var/lib/vm-install for root, else ~/.local/state/vm-install).",
            valueName: "dir"))
    var stateDir: String?

    @Option(help: ArgumentHelp("Fail the install after this many seconds.", valueName: "seconds"))
    var installTimeout: Double = 3600

    @Option(
        help: ArgumentHelp(
            "Fail the install when its VM writes nothing to its disks and its screen and serial console stay unchanged this long; 0: never.",
            valueName: "seconds"))
    var stallTimeout: Double = 900

    @Option(
        help: ArgumentHelp(
            "How long the installed VM must stay running before the job is FINISHED.", valueName: "seconds"))
    var settle: Double = 3

    @Option(
        help: ArgumentHelp(
            "Memory the state directory's VMs may use together; jobs wait in SETTINGS until theirs fits (default $VM_INSTALL_MEMORY_BUDGET, else the host's memory less a reserve).",
            valueName: "mib"))
    var memoryBudget: Int?

    @Option(
        help: ArgumentHelp(
            "At most this many of the state directory's jobs installing at once; the rest wait in SETTINGS.",
            valueName: "n"))
    var maxInstalls: Int?

    /// The background runner's entry: `vm-install --run-job ID` with the runner lock on fd 3.
    @Option(help: .hidden)
    var runJob: String?
}
