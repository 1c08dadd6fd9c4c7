; kernel.asm - a tiny multiboot "kernel" for vm-install's --kernel/--initrd/--extra-args tests.
;
; QEMU's -kernel loads it (a flat binary with the multiboot a.out-kludge header), passes the
; command line and any -initrd files as multiboot modules. It prints, on COM1:
;   "VM-INSTALL KERNEL <command line>"
;   "VM-INSTALL MODULES <n>"          (the number of initrd modules)
; and then powers off through ACPI, as an installer would at its end.

bits 32
org 0x100000

MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00010000            ; bit 16: the address fields below are valid

header:
        dd MB_MAGIC
        dd MB_FLAGS
        dd -(MB_MAGIC + MB_FLAGS)
        dd header                  ; header_addr
        dd 0x100000                ; load_addr
        dd 0                       ; load_end_addr: the whole file
        dd 0                       ; bss_end_addr: no bss
        dd start                   ; entry_addr

start:
        mov     esp, 0x90000
        mov     edi, ebx           ; the multiboot information structure
        mov     esi, msg_kernel
        call    puts
        test    dword [edi], 4     ; flags bit 2: cmdline present
        jz      .no_cmdline
        mov     esi, [edi + 16]
        call    puts
.no_cmdline:
        mov     esi, msg_newline
        call    puts
        mov     esi, msg_modules
        call    puts
        xor     eax, eax
        test    dword [edi], 8     ; flags bit 3: modules present
        jz      .count
        mov     eax, [edi + 20]
.count:
        add     al, '0'
        call    putc
        mov     esi, msg_newline
        call    puts
        ; ACPI S5 on QEMU's i440fx/PIIX4 (see installer.asm).
        mov     dx, 0x604
        mov     ax, 0x2000
        out     dx, ax
.idle:
        hlt
        jmp     .idle

; putc: AL to COM1, waiting for the transmitter.
putc:
        push    eax
        mov     dx, 0x3FD
.wait:
        in      al, dx
        test    al, 0x20
        jz      .wait
        pop     eax
        mov     dx, 0x3F8
        out     dx, al
        ret

; puts: the NUL-terminated string at ESI to COM1.
puts:
        lodsb
        test    al, al
        jz      .done
        call    putc
        jmp     puts
.done:
        ret

msg_kernel:  db "VM-INSTALL KERNEL ", 0
msg_modules: db "VM-INSTALL MODULES ", 0
msg_newline: db 13, 10, 0
