/*
 * Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at
 *
 *      http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
 * License for the specific language governing permissions and limitations
 * under the License.
 *
 * vpmem stamp guest: a multiboot kernel (QEMU loads it from <os><kernel>)
 * that keeps stamping every page of its NVDIMMs, so a host can check after
 * a live migration that no guest write was lost or torn.
 *
 * Layout and protocol (nova/virt/libvirt/devguest/__init__.py reads it):
 * - QEMU places the NVDIMMs of a small 'pc' guest from guest physical
 *   4 GiB up. PAE paging maps that GiB at virtual WINDOW.
 * - Each 2 MiB chunk of the window is probed; present chunks are marked
 *   in a bitmap. The first page of the first present chunk is the control
 *   page, every other page of a present chunk is a data page.
 * - Pass p = 1, 2, ... writes every data page g (page number within the
 *   window) in ascending order: dword 0 magic, 1 g, 2 p, dword k >= 3
 *   (p * GOLDEN) ^ (g << 10) ^ k. After each page the control page gets
 *   cursor = g. So at any instant pages up to the cursor hold pass p and
 *   later ones pass p - 1 (zeros for pass 0).
 * - The host writes STOP into the control page; the guest finishes its
 *   page, writes HALT and waits, reading only, until the request is
 *   cleared; then it writes RUN! and goes on with the next page.
 */

        .set MB_MAGIC,     0x1BADB002
        .set STACK_TOP,    0x90000
        .set PDPT,         0x200000
        .set PD_LOW,       0x201000
        .set PD_WINDOW,    0x202000
        .set BITMAP,       0x203000
        .set WINDOW,       0x40000000      /* VA of guest physical 4 GiB */
        .set CHUNKS,       512             /* 2 MiB chunks in the window */
        .set PAGES,        CHUNKS * 512
        .set PROBE,        0x50524F42
        .set PAGE_MAGIC,   0x534D5056      /* 'VPMS' */
        .set CTRL_MAGIC,   0x434D5056      /* 'VPMC' */
        .set RUNNING,      0x214E5552      /* 'RUN!' */
        .set HALTED,       0x544C4148      /* 'HALT' */
        .set STOP,         0x504F5453      /* 'STOP' */
        .set GOLDEN,       0x9E3779B1
        .set DELAY,        8000            /* pause loops after each page */

        /* control page, byte offsets */
        .set C_MAGIC,      0
        .set C_PASS,       4
        .set C_CURSOR,     8
        .set C_WRITTEN,    12
        .set C_STATUS,     16
        .set C_REQUEST,    20
        .set C_FIRST,      24
        .set C_CHUNKS,     28
        .set C_BITMAP,     64

        .section .multiboot, "a"
        .align 4
        .long MB_MAGIC
        .long 0
        .long -MB_MAGIC

        .text
        .code32
        .globl _start
_start:
        cli
        movl $STACK_TOP, %esp

        /* page tables: PDPT and two page directories of 2 MiB pages */
        movl $PDPT, %edi
        xorl %eax, %eax
        movl $(3 * 1024), %ecx
        rep stosl
        movl $(PD_LOW + 1), PDPT
        movl $(PD_WINDOW + 1), PDPT + 8
        movl $PD_LOW, %edi
        movl $0x83, %eax                /* present, writable, 2 MiB */
        xorl %edx, %edx                 /* high dword: below 4 GiB */
        call fill_directory
        movl $PD_WINDOW, %edi
        movl $0x83, %eax
        movl $1, %edx                   /* 4 GiB and up */
        call fill_directory
        movl %cr4, %eax
        orl $0x20, %eax                 /* PAE */
        movl %eax, %cr4
        movl $PDPT, %eax
        movl %eax, %cr3
        movl %cr0, %eax
        orl $0x80000000, %eax           /* paging */
        movl %eax, %cr0
        jmp probe

fill_directory:                         /* 512 entries from eax:edx */
        movl $512, %ecx
1:      movl %eax, (%edi)
        movl %edx, 4(%edi)
        addl $0x200000, %eax
        addl $8, %edi
        loop 1b
        ret

probe:  /* bitmap[c] = 1 when chunk c answers like memory */
        xorl %ecx, %ecx
        movl $WINDOW, %edi
        movl $-1, %esi                  /* first present chunk */
2:      movl (%edi), %eax
        movl $PROBE, (%edi)
        cmpl $PROBE, (%edi)
        movl %eax, (%edi)
        sete BITMAP(%ecx)
        jne 3f
        cmpl $-1, %esi
        jne 3f
        movl %ecx, %esi
3:      addl $0x200000, %edi
        incl %ecx
        cmpl $CHUNKS, %ecx
        jb 2b
        cmpl $-1, %esi
        je halt                         /* no NVDIMM: nothing to stamp */

        /* control page: first page of the first present chunk */
        shll $9, %esi                   /* chunk -> page number */
        movl %esi, %edx
        shll $12, %edx
        addl $WINDOW, %edx              /* edx = control page, for good */
        movl %esi, C_FIRST(%edx)
        xorl %eax, %eax
        xorl %ecx, %ecx
4:      movzbl BITMAP(%ecx), %ebx
        addl %ebx, %eax
        incl %ecx
        cmpl $CHUNKS, %ecx
        jb 4b
        movl %eax, C_CHUNKS(%edx)
        movl $BITMAP, %esi
        leal C_BITMAP(%edx), %edi
        movl $CHUNKS, %ecx
        rep movsb
        movl $RUNNING, C_STATUS(%edx)
        movl $CTRL_MAGIC, C_MAGIC(%edx)
        xorl %ebp, %ebp                 /* ebp = pass */

next_pass:
        incl %ebp
        movl C_FIRST(%edx), %esi        /* esi = page number g */
        movl %esi, C_CURSOR(%edx)
        movl %ebp, C_PASS(%edx)
        incl %esi                       /* the control page is not data */

page:   cmpl $PAGES, %esi
        jae next_pass
        movl %esi, %eax
        shrl $9, %eax
        cmpb $0, BITMAP(%eax)
        jne stamp
        incl %eax                       /* absent chunk: skip it */
        shll $9, %eax
        movl %eax, %esi
        jmp page

stamp:  movl %esi, %edi
        shll $12, %edi
        addl $WINDOW, %edi
        imull $GOLDEN, %ebp, %ebx
        movl %esi, %eax
        shll $10, %eax
        xorl %eax, %ebx                 /* ebx = fill key of (pass, g) */
        movl $3, %ecx
5:      movl %ebx, %eax
        xorl %ecx, %eax
        movl %eax, (%edi,%ecx,4)
        incl %ecx
        cmpl $1024, %ecx
        jb 5b
        movl %esi, 4(%edi)
        movl %ebp, 8(%edi)
        movl $PAGE_MAGIC, (%edi)
        movl %esi, C_CURSOR(%edx)
        incl C_WRITTEN(%edx)

        cmpl $STOP, C_REQUEST(%edx)
        je stopped
        movl $DELAY, %ecx
6:      pause
        loop 6b
        incl %esi
        jmp page

stopped:                                /* until the host withdraws STOP */
        movl $HALTED, C_STATUS(%edx)
7:      pause
        cmpl $STOP, C_REQUEST(%edx)
        je 7b
        movl $RUNNING, C_STATUS(%edx)
        incl %esi
        jmp page
halt:   cli
        hlt
        jmp halt
