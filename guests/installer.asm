; installer.asm - the fake "OS installer" used by vm-install tests.
;
; An El Torito no-emulation boot image of exactly 1024 bytes; the ISO's boot
; catalog says boot-load-size 2, so the BIOS loads both 512-byte sectors to
; 0000:7C00 and jumps to the first one:
;   sector 1 (0x7C00): this code
;   sector 2 (0x7E00): the runtime boot sector (runtime.bin, via incbin)
;
; Behaviour, as seen on COM1:
;   "VM-INSTALL INSTALLER START"   as soon as it runs
;   "VM-INSTALL INSTALLER GO"      with WAIT_KEY, once a key is pressed
;   ... waits INSTALL_DELAY_TICKS BIOS ticks (18.2/s) to simulate work ...
;   writes sector 2 to LBA 0 of BIOS drive 0x80 (the first hard disk)
;   "VM-INSTALL INSTALLER DONE"    then ACPI power-off (QEMU exits)
;   "VM-INSTALL INSTALLER WRITE FAILED" instead if INT 13h fails; then idles
; With NEVER_FINISH defined it idles forever right after START, so tests can
; exercise cancelling an install that never completes. With WAIT_KEY it waits
; after START for a key press on the PS/2 keyboard (BIOS INT 16h), so a test
; holds the job in INSTALL for exactly as long as it needs and then releases it
; with a real key event (QMP send-key, virsh send-key).
;
; Defines (nasm -D):
;   RUNTIME_BIN          path of the assembled runtime sector, as a string:
;                        -DRUNTIME_BIN='"out/runtime.bin"'  (default "runtime.bin")
;   INSTALL_DELAY_TICKS  ticks to wait before writing          (default 0)
;   NEVER_FINISH         never write the disk, never power off
;   WAIT_KEY             wait for a key press after START, then print GO
;   REBOOT_AT_END        reset the machine (keyboard controller pulse) instead
;                        of powering off, as installers do before first boot

%ifndef RUNTIME_BIN
%define RUNTIME_BIN "runtime.bin"
%endif
%ifndef INSTALL_DELAY_TICKS
%define INSTALL_DELAY_TICKS 0
%endif

bits 16
org 0x7C00

COM1      equ 0x3F8
LSR       equ COM1 + 5          ; line status register; bit 5 = THR empty
HD0       equ 0x80              ; BIOS number of the first hard disk
PAYLOAD   equ 0x7E00            ; where the BIOS put sector 2 (runtime.bin)
BIOS_TICKS equ 0x046C           ; dword tick counter in the BIOS data area

start:
        cli
        xor     ax, ax          ; flat segment 0 everywhere: org 0x7C00
        mov     ds, ax          ; offsets and the 0x046C BDA access are
        mov     es, ax          ; then all valid with no segment games
        mov     ss, ax
        mov     sp, 0x7C00      ; stack below the image
        jmp     0:.cs_ok        ; El Torito may enter at 07C0:0000
.cs_ok:
        cld
        sti                     ; the tick counter needs IRQ0

        call    serial_init
%ifdef WAIT_KEY
        ; Only a key pressed after START releases the install: empty the BIOS
        ; keyboard buffer first.
.flush:
        mov     ah, 0x01        ; INT 16h AH=01h: is a key waiting? (ZF=1: no)
        int     0x16
        jz      .flushed
        xor     ah, ah          ; AH=00h: take it
        int     0x16
        jmp     .flush
.flushed:
%endif
        mov     si, msg_start
        call    serial_puts

%ifdef NEVER_FINISH
        jmp     idle            ; an install that never completes
%else

%ifdef WAIT_KEY
        ; INT 16h AH=00h sleeps (SeaBIOS halts between interrupts) until the
        ; keyboard's IRQ 1 brings a key press.
        xor     ah, ah
        int     0x16
        mov     si, msg_go
        call    serial_puts
%endif

%if INSTALL_DELAY_TICKS > 0
        ; Simulated install work.  Only the low word of the counter is used;
        ; the unsigned subtraction handles its wrap-around (delays < 65536).
        mov     bx, [BIOS_TICKS]
.wait:
        hlt                     ; sleep until the next interrupt (IRQ0)
        mov     ax, [BIOS_TICKS]
        sub     ax, bx
        cmp     ax, INSTALL_DELAY_TICKS
        jb      .wait
%endif

        ; Prefer EDD (LBA) writes: CHS geometry is a BIOS guess for virtio
        ; disks, while LBA 0 is unambiguous.
        mov     ah, 0x41        ; EDD installation check
        mov     bx, 0x55AA
        mov     dl, HD0
        int     0x13
        jc      .chs
        cmp     bx, 0xAA55
        jne     .chs
        test    cx, 1           ; bit 0: fixed-disk access (AH=42h/43h) works
        jz      .chs

        mov     ah, 0x43        ; extended write, AL=0: no verify
        xor     al, al
        mov     dl, HD0
        mov     si, dap
        int     0x13
        jnc     .written
        ; fall through: try plain CHS before giving up

.chs:
        xor     ax, ax
        mov     es, ax          ; ES:BX = buffer (the BIOS may have touched ES)
        mov     bx, PAYLOAD
        mov     ax, 0x0301      ; AH=03h write, AL=1 sector
        mov     cx, 0x0001      ; cylinder 0, sector 1
        xor     dh, dh          ; head 0
        mov     dl, HD0
        int     0x13
        jc      .failed

.written:
        mov     si, msg_done
        call    serial_puts

%ifdef REBOOT_AT_END
        ; Pulse the CPU reset line through the 8042 keyboard controller.
        mov     al, 0xFE
        out     0x64, al
        jmp     idle
%endif
        ; ACPI S5 on QEMU's i440fx/PIIX4: SeaBIOS puts the PM I/O base at
        ; 0x600, PM1a_CNT is at +4; SLP_EN (bit 13) with SLP_TYP 0 = soft off.
        ; With -no-reboot or not, QEMU then exits.
        mov     dx, 0x604
        mov     ax, 0x2000
        out     dx, ax
        jmp     idle            ; some other machine type: just idle

.failed:
        mov     si, msg_failed
        call    serial_puts
%endif ; NEVER_FINISH

idle:
        sti                     ; hlt with interrupts enabled: the vCPU
        hlt                     ; sleeps instead of spinning a host core
        jmp     idle

; Initialise COM1 for 115200 8N1 with interrupts off (we only poll).  QEMU
; does not need it, but it makes the guest independent of BIOS setup.
serial_init:
        mov     dx, COM1 + 1
        xor     al, al
        out     dx, al          ; IER = 0
        mov     dx, COM1 + 3
        mov     al, 0x80
        out     dx, al          ; DLAB = 1
        mov     dx, COM1
        mov     al, 1
        out     dx, al          ; divisor 1 -> 115200 baud
        inc     dx
        xor     al, al
        out     dx, al
        mov     dx, COM1 + 3
        mov     al, 0x03
        out     dx, al          ; 8N1, DLAB = 0
        ret

; Print the NUL-terminated string at DS:SI, waiting for THR empty before each
; byte so nothing is dropped.
serial_puts:
        lodsb
        test    al, al
        jz      .done
        mov     ah, al
        mov     dx, LSR
.wait:
        in      al, dx
        test    al, 0x20
        jz      .wait
        mov     dx, COM1
        mov     al, ah
        out     dx, al
        jmp     serial_puts
.done:
        ret

; INT 13h AH=43h disk address packet: 1 sector from 0000:7E00 to LBA 0.
dap:
        db      0x10            ; packet size
        db      0
        dw      1               ; sector count
        dw      PAYLOAD, 0      ; buffer offset, segment
        dq      0               ; starting LBA

msg_start:  db "VM-INSTALL INSTALLER START", 13, 10, 0
msg_done:   db "VM-INSTALL INSTALLER DONE", 13, 10, 0
%ifdef WAIT_KEY
msg_go:     db "VM-INSTALL INSTALLER GO", 13, 10, 0
%endif
msg_failed: db "VM-INSTALL INSTALLER WRITE FAILED", 13, 10, 0

%if ($ - $$) > 512
%error "installer code does not fit in its 512-byte sector"
%endif
        times 512 - ($ - $$) db 0

; Sector 2: the system being "installed".
payload:
        incbin  RUNTIME_BIN
%if ($ - payload) != 512
%error "RUNTIME_BIN must be exactly one 512-byte sector"
%endif
