/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * strbuf_seam.h - strbuf's allocation seam (a weak symbol in agent/strbuf.c), replaced so that a
 * growth can be made to fail anywhere, including in the middle of a line, which is the case the
 * encoder's rollback exists for. This is the only mock of the unit tests. Included by exactly
 * one file of a test program (it defines the seam).
 *
 * realloc_fail_after: -1 never fail; n >= 0 let n more calls through, then fail every call until
 * set back. realloc_calls counts every call.
 */
#ifndef BG_STRBUF_SEAM_H
#define BG_STRBUF_SEAM_H

#include <errno.h>
#include <stdlib.h>

#include "strbuf.h"

static int realloc_fail_after = -1;
static int realloc_calls;

void *bg_strbuf_realloc(void *ptr, size_t size)
{
	realloc_calls++;
	if (realloc_fail_after == 0) {
		errno = ENOMEM;
		return NULL;
	}
	if (realloc_fail_after > 0)
		realloc_fail_after--;
	return realloc(ptr, size);
}

#endif /* BG_STRBUF_SEAM_H */
