/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * log.h - the agent's one logging sink (stderr). libbpf's output is routed here too, at debug
 * level, so a normal run prints only bindguard's own one-line messages; -v shows libbpf's, which
 * includes the verifier log when a program is rejected.
 */
#ifndef BG_LOG_H
#define BG_LOG_H

#include <stddef.h>

#define BG_LOG_ERROR 0
#define BG_LOG_WARN 1
#define BG_LOG_INFO 2
#define BG_LOG_DEBUG 3

void bg_log_set_level(int level);
int bg_log_level(void);
void bg_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * For the daemon: when stderr is a pipe, a FIFO or a socket (journald's stream under systemd),
 * write to it without ever waiting: a line its reader has no room for is dropped rather than
 * stall the agent (the records themselves go to the outputs, which count what they lose). A
 * terminal or a file stays as it is. 1 if stderr is now non-blocking, 0 if left as it was,
 * -errno.
 */
int bg_log_nonblock(void);
/* Route libbpf's print callback into bg_log(). */
void bg_log_setup_libbpf(void);
/*
 * While buf is set, libbpf's messages (the verifier log of a failed load among them) are
 * collected into buf, NUL-terminated and truncated to len, instead of being printed; -vv still
 * prints them. bg_log_capture(NULL, 0) stops collecting. Used by the feature probes, which
 * report the kernel's own reason for a refusal.
 */
void bg_log_capture(char *buf, size_t len);

#define bg_err(...) bg_log(BG_LOG_ERROR, __VA_ARGS__)
#define bg_warn(...) bg_log(BG_LOG_WARN, __VA_ARGS__)
#define bg_info(...) bg_log(BG_LOG_INFO, __VA_ARGS__)
#define bg_dbg(...) bg_log(BG_LOG_DEBUG, __VA_ARGS__)

#endif /* BG_LOG_H */
