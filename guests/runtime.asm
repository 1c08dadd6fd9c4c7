; runtime.asm - the "installed system" used by vm-install tests.
;
; A 512-byte MBR boot sector.  The installer guest (installer.asm) writes it to
; LBA 0 of the first hard disk, so booting that disk later proves the install
; really reached the disk image.  It:
;   * writes "vm-install runtime guest" into VGA text memory (so a VNC
;     screenshot shows something recognisable),
;   * then prints "VM-INSTALL RUNTIME OK\r\n" on COM1 (tests grep the serial
;     log; once it is there, so is the banner on the screen),
;   * then idles with sti/hlt, so a running test VM costs (almost) no host CPU.
;
; Build: nasm -f bin -o runtime.bin runtime.asm

bits 16
org 0x7C00

COM1    equ 0x3F8
LSR     equ COM1 + 5            ; line status register; bit 5 = THR empty

start:
        cli
        xor     ax, ax          ; BIOSes disagree on DS/ES/SS at entry:
        mov     ds, ax          ; use flat segment 0 everywhere so the
        mov     es, ax          ; org 0x7C00 offsets are right
        mov     ss, ax
        mov     sp, 0x7C00      ; stack grows down below our code
        jmp     0:.cs_ok        ; some BIOSes enter at 07C0:0000
.cs_ok:
        cld

        ; Minimal UART setup.  QEMU's 16550 works without it, but real or
        ; other emulated UARTs might not: 8N1, 115200 baud, no interrupts.
        mov     dx, COM1 + 1
        xor     al, al
        out     dx, al          ; IER = 0: we poll, never want serial IRQs
        mov     dx, COM1 + 3
        mov     al, 0x80
        out     dx, al          ; LCR.DLAB = 1 to reach the divisor latch
        mov     dx, COM1
        mov     al, 1
        out     dx, al          ; divisor low = 1 -> 115200 baud
        inc     dx
        xor     al, al
        out     dx, al          ; divisor high = 0
        mov     dx, COM1 + 3
        mov     al, 0x03
        out     dx, al          ; LCR = 8N1, DLAB off again

        ; Clear the 80x25 text screen (the BIOS left its boot messages
        ; there), then write our banner on the first line.  Harmless when
        ; there is no VGA device: the writes just go nowhere.  The screen
        ; comes before the serial line, so once a test sees the line in the
        ; serial log, the banner is on the screen too.
        mov     ax, 0xB800
        mov     es, ax
        xor     di, di
        mov     ax, 0x0720      ; space, light grey on black
        mov     cx, 80 * 25
        rep     stosw
        xor     di, di
        mov     si, vga_msg
        mov     ah, 0x07        ; attribute: light grey on black
.vga_next:
        lodsb
        test    al, al
        jz      .serial
        stosw
        jmp     .vga_next

.serial:
        mov     si, serial_msg
.serial_next:
        lodsb
        test    al, al
        jz      idle
        mov     ah, al          ; keep the byte while DX/AL poll the LSR
        mov     dx, LSR
.serial_wait:
        in      al, dx
        test    al, 0x20        ; wait until the transmit register is free,
        jz      .serial_wait    ; otherwise bytes can be dropped
        mov     dx, COM1
        mov     al, ah
        out     dx, al
        jmp     .serial_next

idle:
        sti                     ; hlt with interrupts on: the vCPU sleeps
        hlt                     ; until the next timer tick instead of
        jmp     idle            ; spinning a host core at 100 %

serial_msg: db "VM-INSTALL RUNTIME OK", 13, 10, 0
vga_msg:    db "vm-install runtime guest", 0

; Stay clear of the partition table area (446..509) so the sector still looks
; like a sane MBR to tools that inspect the disk; the table itself stays empty.
%if ($ - $$) > 446
%error "runtime boot code does not fit in 446 bytes"
%endif
        times 510 - ($ - $$) db 0
        db      0x55, 0xAA      ; BIOS boot signature
