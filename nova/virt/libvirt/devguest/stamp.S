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
 *   4 GiB up. Page number g counts 4 KiB pages from there; the guest
 *   looks at CHUNKS 2 MiB chunks (32 GiB), so g stays 32-bit.
 * - PAE paging reaches above 4 GiB one GiB at a time: PDPT[2] is a
 *   sliding window (DATA_VA) remapped to the GiB holding the page at
 *   hand; PDPT[1] keeps the control page's GiB mapped (CTRL_VA).
 * - Each 2 MiB chunk is probed; present chunks are marked in a bitmap,
 *   one bit per chunk (bit c of byte c / 8). Probing ends a GiB past the
 *   last present chunk, so it never wanders far into the PCI window. The
 *   first page of the first present chunk is the control page, every
 *   other page of a present chunk is a data page.
 * - Pass p = 1, 2, ... writes every data page g in ascending order:
 *   dword 0 magic, 1 g, 2 p, dword k >= 3 ((p * GOLDEN) ^ (g << 10) ^ k)
 *   modulo 2^32. After each page the control page gets cursor = g. So
 *   at any instant pages up to the cursor hold pass p and later ones
 *   pass p - 1 (zeros for pass 0).
 * - The host writes STOP into the control page; the guest finishes its
 *   page, writes HALT and waits, reading only, until the request is
 *   cleared; then it writes RUN! and goes on with the next page.
 * - Pace: a kernel command line ending in "=N" (pages_per_second=N)
 *   makes the guest write at most N pages a second, timed with the TSC
 *   (calibrated against the PIT at boot); without it the guest pauses
 *   DELAY loops after each page (its own pace).
 */

        .set MB_MAGIC,     0x1BADB002
        .set STACK_TOP,    0x90000
        .set PDPT,         0x200000
        .set PD_LOW,       0x201000        /* guest physical 0..1 GiB */
        .set PD_CTRL,      0x202000        /* the control page's GiB */
        .set PD_DATA,      0x203000        /* the sliding GiB */
        .set BITMAP,       0x204000        /* one bit per chunk */
        .set CUR_GIB,      0x205000        /* GiB PD_DATA maps, -1: none */
        .set CTRL_VA,      0x40000000
        .set DATA_VA,      0x80000000
        .set BASE_GIB,     4               /* the NVDIMMs start here */
        .set CHUNKS,       16384           /* 2 MiB chunks: 32 GiB */
        .set GAP_CHUNKS,   512             /* absent run that ends probing */
        .set PAGES,        CHUNKS * 512
        .set PROBE,        0x50524F42
        .set PAGE_MAGIC,   0x534D5056      /* 'VPMS' */
        .set CTRL_MAGIC,   0x434D5056      /* 'VPMC' */
        .set RUNNING,      0x214E5552      /* 'RUN!' */
        .set HALTED,       0x544C4148      /* 'HALT' */
        .set STOP,         0x504F5453      /* 'STOP' */
        .set GOLDEN,       0x9E3779B1
        .set DELAY,        8000            /* pause loops after each page */
        .set MB_BOOTED,    0x2BADB002      /* eax from a multiboot loader */
        .set RATE,         0x205004        /* pages/s asked for, 0: none */
        .set TSC_PER_PAGE, 0x205008        /* TSC ticks between pages */
        .set NEXT_LO,      0x20500C        /* TSC of the next page */
        .set NEXT_HI,      0x205010
        .set TSC_HZ,       0x205014        /* calibrated TSC ticks a second */
        .set CATCH_UP,     0x205018        /* ticks behind it makes up for */
        .set PIT_50MS,     59659           /* 1193182 Hz PIT, 50 ms */

        /* control page, byte offsets */
        .set C_MAGIC,      0
        .set C_PASS,       4
        .set C_CURSOR,     8
        .set C_WRITTEN,    12
        .set C_STATUS,     16
        .set C_REQUEST,    20
        .set C_FIRST,      24
        .set C_CHUNKS,     28
        .set C_TSC_HZ,     32              /* for the host: the calibration */
        .set C_PACE,       36              /* pages/s asked for, 0: none */
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
        xorl %ecx, %ecx                 /* pages/s: none asked */
        cmpl $MB_BOOTED, %eax           /* ebx: the multiboot info */
        jne 1f
        call parse_rate                 /* before the info may be cleared */
1:      pushl %ecx

        /* page tables: PDPT and three page directories of 2 MiB pages;
           the bitmap and CUR_GIB are cleared with them */
        movl $PDPT, %edi
        xorl %eax, %eax
        movl $(6 * 1024), %ecx
        rep stosl
        movl $(PD_LOW + 1), PDPT
        movl $(PD_CTRL + 1), PDPT + 8
        movl $(PD_DATA + 1), PDPT + 16
        movl $PD_LOW, %edi
        xorl %eax, %eax                 /* identity: code, stack, tables */
        call fill_directory
        movl $-1, CUR_GIB
        popl %ecx
        movl %ecx, RATE
        call calibrate
        movl %cr4, %eax
        orl $0x20, %eax                 /* PAE */
        movl %eax, %cr4
        movl $PDPT, %eax
        movl %eax, %cr3
        movl %cr0, %eax
        orl $0x80000000, %eax           /* paging */
        movl %eax, %cr0
        jmp probe

parse_rate:                             /* ecx = N of "...=N" in the
                                           multiboot command line */
        xorl %ecx, %ecx
        testl $4, (%ebx)                /* flags: a command line given */
        jz 9f
        movl 16(%ebx), %esi
1:      movb (%esi), %al
        testb %al, %al
        jz 9f
        incl %esi
        cmpb $'=', %al
        jne 1b
2:      movzbl (%esi), %eax
        subl $'0', %eax
        cmpl $9, %eax
        ja 9f
        imull $10, %ecx, %ecx
        addl %eax, %ecx
        incl %esi
        jmp 2b
9:      ret

calibrate:                              /* TSC_PER_PAGE for RATE: TSC
                                           ticks in 50 ms of PIT ch. 2 */
        cmpl $0, RATE
        je 9f
        inb $0x61, %al
        andb $0xFD, %al                 /* speaker off */
        orb $0x01, %al                  /* gate of channel 2 high */
        outb %al, $0x61
        movb $0xB0, %al                 /* channel 2, lo/hi, mode 0 */
        outb %al, $0x43
        movb $(PIT_50MS & 0xFF), %al
        outb %al, $0x42
        movb $(PIT_50MS >> 8), %al
        outb %al, $0x42
        rdtsc
        movl %eax, %esi
        movl %edx, %edi
1:      inb $0x61, %al
        testb $0x20, %al                /* OUT2 rises when it counted down */
        jz 1b
        rdtsc
        subl %esi, %eax                 /* eax = ticks in 50 ms */
        leal (%eax,%eax), %ecx
        movl %ecx, CATCH_UP             /* 100 ms */
        movl $20, %ecx
        mull %ecx                       /* edx:eax = ticks a second */
        movl %eax, TSC_HZ
        movl $-1, %ecx
        cmpl RATE, %edx
        jae 2f                          /* the quotient would overflow */
        divl RATE
        movl %eax, %ecx
2:      testl %ecx, %ecx
        jnz 3f
        incl %ecx                       /* faster than the TSC: flat out */
3:      movl %ecx, TSC_PER_PAGE
9:      ret

pace:                                   /* wait for NEXT, then NEXT +=
                                           a page's share of a second */
        pushl %eax
        pushl %ebx
        pushl %ecx
        pushl %edx
1:      rdtsc                           /* edx:eax = now */
        movl NEXT_LO, %ebx
        movl NEXT_HI, %ecx
        subl %eax, %ebx
        sbbl %edx, %ecx                 /* ecx:ebx = NEXT - now */
        jb 2f                           /* now is past NEXT */
        testl %ecx, %ecx
        jnz 3f                          /* far ahead: the TSC went back */
        cmpl TSC_PER_PAGE, %ebx
        ja 3f
        jmp 1b                          /* no pause: QEMU's TCG would
                                           yield the vCPU on it, for ms */
2:      notl %ecx                       /* ecx:ebx = now - NEXT */
        notl %ebx
        addl $1, %ebx
        adcl $0, %ecx
        jnz 3f
        cmpl CATCH_UP, %ebx
        ja 3f                           /* a long stop: no burst after */
        movl TSC_PER_PAGE, %eax         /* keep the schedule: short
                                           stalls do not lower the rate */
        addl %eax, NEXT_LO
        adcl $0, NEXT_HI
        jmp 4f
3:      addl TSC_PER_PAGE, %eax         /* start again from now */
        adcl $0, %edx
        movl %eax, NEXT_LO
        movl %edx, NEXT_HI
4:      popl %edx
        popl %ecx
        popl %ebx
        popl %eax
        ret

fill_directory:                         /* edi: directory; eax: the
                                           physical GiB it maps */
        pushl %eax
        pushl %ebx
        pushl %ecx
        pushl %edx
        pushl %edi
        movl %eax, %edx
        shrl $2, %edx                   /* high dword of the address */
        movl %eax, %ebx
        andl $3, %ebx
        shll $30, %ebx
        orl $0x83, %ebx                 /* present, writable, 2 MiB */
        movl $512, %ecx
1:      movl %ebx, (%edi)
        movl %edx, 4(%edi)
        addl $0x200000, %ebx
        addl $8, %edi
        loop 1b
        popl %edi
        popl %edx
        popl %ecx
        popl %ebx
        popl %eax
        ret

map_data:                               /* eax: GiB of the NVDIMM space
                                           DATA_VA must show */
        cmpl CUR_GIB, %eax
        je 1f
        movl %eax, CUR_GIB
        pushl %eax
        pushl %edi
        addl $BASE_GIB, %eax
        movl $PD_DATA, %edi
        call fill_directory
        movl %cr3, %eax                 /* drop the old GiB's TLB entries */
        movl %eax, %cr3
        popl %edi
        popl %eax
1:      ret

probe:  /* bit c of the bitmap = 1 when chunk c answers like memory */
        xorl %ecx, %ecx                 /* ecx = chunk */
        xorl %ebx, %ebx                 /* ebx = present chunks */
        movl $-1, %esi                  /* esi = first present chunk */
        xorl %ebp, %ebp                 /* ebp = absent run after one */
2:      movl %ecx, %eax
        shrl $9, %eax
        call map_data
        movl %ecx, %edi
        andl $511, %edi
        shll $21, %edi
        addl $DATA_VA, %edi
        movl (%edi), %eax
        movl $PROBE, (%edi)
        cmpl $PROBE, (%edi)
        movl %eax, (%edi)
        jne 3f
        btsl %ecx, BITMAP
        incl %ebx
        xorl %ebp, %ebp
        cmpl $-1, %esi
        jne 4f
        movl %ecx, %esi
        jmp 4f
3:      cmpl $-1, %esi
        je 4f
        incl %ebp
        cmpl $GAP_CHUNKS, %ebp
        jae 5f
4:      incl %ecx
        cmpl $CHUNKS, %ecx
        jb 2b
5:      cmpl $-1, %esi
        je halt                         /* no NVDIMM: nothing to stamp */

        /* control page: first page of the first present chunk, in the
           GiB PDPT[1] keeps mapped */
        movl %esi, %eax
        shrl $9, %eax
        addl $BASE_GIB, %eax
        movl $PD_CTRL, %edi
        call fill_directory
        movl %cr3, %eax
        movl %eax, %cr3
        shll $9, %esi                   /* chunk -> page number */
        movl %esi, %edx
        andl $0x3FFFF, %edx             /* page within its GiB */
        shll $12, %edx
        addl $CTRL_VA, %edx             /* edx = control page, for good */
        movl %esi, C_FIRST(%edx)
        movl %ebx, C_CHUNKS(%edx)
        movl TSC_HZ, %eax
        movl %eax, C_TSC_HZ(%edx)
        movl RATE, %eax
        movl %eax, C_PACE(%edx)
        movl $BITMAP, %esi
        leal C_BITMAP(%edx), %edi
        movl $(CHUNKS / 8), %ecx
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
        btl %eax, BITMAP
        jc stamp
        incl %eax                       /* absent chunk: skip it */
        shll $9, %eax
        movl %eax, %esi
        jmp page

stamp:  movl %esi, %eax
        shrl $18, %eax                  /* the page's GiB */
        call map_data
        movl %esi, %edi
        andl $0x3FFFF, %edi
        shll $12, %edi
        addl $DATA_VA, %edi
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
        cmpl $0, TSC_PER_PAGE
        je 8f
        call pace
        jmp 9f
8:      movl $DELAY, %ecx
6:      pause
        loop 6b
9:      incl %esi
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
