/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * readfile.h - read a small file whole, without blocking on a FIFO or a device.
 */
#ifndef BG_READFILE_H
#define BG_READFILE_H

#include <stddef.h>

/*
 * Read path (opened O_NONBLOCK, so a FIFO gives nothing rather than hang) up to max bytes.
 * Returns a malloc'ed buffer of *len bytes (not NUL-terminated), or NULL when it cannot be
 * opened (errno set) or memory ran out.
 */
char *bg_read_file(const char *path, size_t max, size_t *len);

#endif /* BG_READFILE_H */
