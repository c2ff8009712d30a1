/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bg_decide.h - the bind decision, written once.
 *
 * These functions are the only place where bindguard decides anything about an address. They
 * are compiled twice from this one file: by clang into the BPF programs (bpf/bindguard.bpf.c)
 * and by gcc into the agent and the cmocka unit tests (tests/unit/test_decide.c). They take plain
 * values, never a hook's ctx, and touch no maps, so both worlds can drive them.
 *
 * Addresses are handled as four 32-bit words in network byte order, exactly as the kernel hands
 * them to cgroup/bind6 in user_ip6[]; an IPv4 address is one such word (user_ip4).
 */
#ifndef BG_DECIDE_H
#define BG_DECIDE_H

#include "bindguard.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Host <-> network order for one constant word, without libc or bpf_endian.h. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BG_BE32(x) __builtin_bswap32(x)
#else
#define BG_BE32(x) (x)
#endif

#define BG_V4_LOOPBACK_BE BG_BE32(0x7f000001u) /* 127.0.0.1 */
#define BG_V4MAPPED_BE BG_BE32(0x0000ffffu) /* word 2 of ::ffff:a.b.c.d */

/*
 * bg_class_v4() - class of an IPv4 address (network order).
 * loopback: 127.0.0.0/8. wildcard: 0.0.0.0. Anything else is specific, including non-local
 * addresses bound with IP_FREEBIND or IP_TRANSPARENT.
 */
static __always_inline __u8 bg_class_v4(__u32 addr_be)
{
	__u32 host = BG_BE32(addr_be);

	if (host == 0)
		return BG_CLASS_WILDCARD;
	if ((host >> 24) == 127)
		return BG_CLASS_LOOPBACK;
	return BG_CLASS_SPECIFIC;
}

/* Is this IPv6 address (network-order words) an IPv4-mapped ::ffff:a.b.c.d? */
static __always_inline int bg_is_v4mapped(__u32 w0, __u32 w1, __u32 w2)
{
	return w0 == 0 && w1 == 0 && w2 == BG_V4MAPPED_BE;
}

/*
 * bg_class_v6() - class of an IPv6 address given as four network-order words.
 * IPv4-mapped addresses reach only the IPv6 hooks, so they are decoded here and judged as the
 * IPv4 address they carry: [::ffff:0.0.0.0]:3306 is the same wildcard as 0.0.0.0:3306.
 * "::" is a wildcard whether or not IPV6_V6ONLY is set: without it, it also accepts IPv4, and
 * with it, it still exposes the port on every IPv6 address.
 */
static __always_inline __u8 bg_class_v6(__u32 w0, __u32 w1, __u32 w2, __u32 w3)
{
	if (bg_is_v4mapped(w0, w1, w2))
		return bg_class_v4(w3);
	if (w0 == 0 && w1 == 0 && w2 == 0) {
		if (w3 == 0)
			return BG_CLASS_WILDCARD;
		if (w3 == BG_BE32(1u))
			return BG_CLASS_LOOPBACK;
	}
	return BG_CLASS_SPECIFIC;
}

/*
 * bg_rule_is_set() - does this rule-table slot hold a rule?
 * An all-zero slot holds none; an out-of-range exposure is treated as "none" by bg_violates(),
 * never as "public".
 */
static __always_inline int bg_rule_is_set(const struct bg_rule *r)
{
	return r && r->expose != BG_EXPOSE_UNSET;
}

/*
 * bg_needs_cidr() - must the caller look the address up in the rule's CIDR set before calling
 * bg_decide()? Only a specific address under a CIDR rule can be rescued by a CIDR; a wildcard
 * exposes every address, so no CIDR list can cover it.
 */
static __always_inline int bg_needs_cidr(const struct bg_rule *r, __u8 class)
{
	return r->expose == BG_EXPOSE_CIDR && class == BG_CLASS_SPECIFIC && r->cidr_set != 0;
}

/*
 * bg_violates() - does binding an address of @class break exposure @expose?
 * @cidr_hit: the address is in the rule's CIDR set (only looked at for BG_EXPOSE_CIDR).
 * Fail-closed: an exposure value this code does not know is treated as "none", because a
 * corrupted or newer rule must never widen access.
 */
static __always_inline int bg_violates(__u8 expose, __u8 class, int cidr_hit)
{
	switch (expose) {
	case BG_EXPOSE_PUBLIC:
		return 0;
	case BG_EXPOSE_LOOPBACK:
		return class != BG_CLASS_LOOPBACK;
	case BG_EXPOSE_CIDR:
		return class != BG_CLASS_LOOPBACK && !(class == BG_CLASS_SPECIFIC && cidr_hit);
	default:
		return 1;
	}
}

/*
 * bg_decide() - the verdict for one bind.
 * @r:        the rule that applies (the port's own, else the unlisted default), or NULL.
 * @class:    BG_CLASS_* of the address asked for.
 * @cidr_hit: result of the CIDR lookup when bg_needs_cidr() said one was needed, else 0.
 *
 * Returns BG_VERDICT_*. No rule (NULL or an empty slot): allow, because bindguard only ever
 * narrows what the kernel would do without it. Audit mode turns every deny and confine into an
 * alert and changes nothing else. Confine can only help a wildcard bind (it is rewritten to
 * loopback); a specific non-loopback address cannot be confined, and a port whose exposure is
 * "none" must not be bound even on loopback, so both are denied. An unknown action is denied
 * (fail-closed, as in bg_violates()).
 */
static __always_inline __u8 bg_decide(const struct bg_rule *r, __u8 class, int cidr_hit)
{
	__u8 strict;

	if (!bg_rule_is_set(r))
		return BG_VERDICT_ALLOW;
	if (!bg_violates(r->expose, class, cidr_hit))
		return BG_VERDICT_ALLOW;

	switch (r->action) {
	case BG_ACTION_ALERT:
		return BG_VERDICT_ALERT;
	case BG_ACTION_CONFINE:
		if (class == BG_CLASS_WILDCARD && r->expose != BG_EXPOSE_NONE)
			strict = BG_VERDICT_CONFINE;
		else
			strict = BG_VERDICT_DENY;
		break;
	default:
		strict = BG_VERDICT_DENY;
		break;
	}
	return r->mode == BG_MODE_AUDIT ? BG_VERDICT_ALERT : strict;
}

/*
 * bg_decide_listener() - the verdict for a socket already past bind(): one entering LISTEN, or one
 * found by reconcile. Nothing can be rewritten any more, so a confine becomes a deny; whether a
 * deny is carried out (closing the socket) is the agent's choice (--close-existing).
 */
static __always_inline __u8 bg_decide_listener(const struct bg_rule *r, __u8 class, int cidr_hit)
{
	__u8 v = bg_decide(r, class, cidr_hit);

	return v == BG_VERDICT_CONFINE ? BG_VERDICT_DENY : v;
}

/*
 * bg_decide_accept() - the verdict for an established passive connection to a port ruled by r.
 * A connection whose local address breaks the rule means a listener escaped the bind hook; so
 * does a non-loopback peer on a loopback-only port. Either is an alert, never a deny: the
 * connection exists already and a tracepoint cannot refuse it.
 */
static __always_inline __u8 bg_decide_accept(const struct bg_rule *r, __u8 local_class,
					     int local_cidr_hit, __u8 peer_class)
{
	if (!bg_rule_is_set(r))
		return BG_VERDICT_ALLOW;
	if (bg_violates(r->expose, local_class, local_cidr_hit))
		return BG_VERDICT_ALERT;
	if (r->expose == BG_EXPOSE_LOOPBACK && peer_class != BG_CLASS_LOOPBACK)
		return BG_VERDICT_ALERT;
	return BG_VERDICT_ALLOW;
}

/* bg_should_emit() - does this verdict produce an event? Allowed binds only with log-allowed. */
static __always_inline int bg_should_emit(const struct bg_rule *r, __u8 verdict)
{
	if (verdict != BG_VERDICT_ALLOW)
		return 1;
	return r && (r->flags & BG_RULE_F_LOG_ALLOWED);
}

/*
 * struct bg_note - what bind4/6 judged, left for post_bind4/6 of the same bind (one per CPU in
 * the BPF programs; never seen by user space, so not part of the ABI in bindguard.h).
 *
 * @cookie:   socket cookie of the socket bound: unique for as long as the host runs, never
 *            reused, unlike the socket's address (a freed socket's memory is handed to the next).
 * @addr:     network order, IPv4 as v4-mapped. The address after any rewrite of ours (confine).
 * @port:     host order. The port asked for.
 * @any_port: the caller asked for port 0 (the kernel picks the port; judged at post_bind).
 * @denied:   bind4/6 refused the bind.
 * @bank:     the policy bank (struct bg_ctl) bind4/6 judged with.
 */
struct bg_note {
	__u64 cookie;
	__u32 addr[4];
	__u16 port;
	__u8 any_port;
	__u8 denied;
	__u32 bank;
	__u32 pad;
};

/* What post_bind makes of a note (bg_note_check()). */
#define BG_NOTE_JUDGED 1 /* bind4/6 judged exactly this and let it through: nothing left to do */
#define BG_NOTE_EPHEMERAL 2 /* port 0 asked for: judge the port picked, by its own rule only */
#define BG_NOTE_REJUDGE 3 /* anything else: judge the final address and port in full */

/*
 * bg_note_check() - may post_bind rely on bind4/6's judgement of this bind?
 * @n:      the note of this CPU, or NULL.
 * @cookie: the socket's cookie; @addr, @port: the final address and port; @bank: the policy bank
 *          in force now.
 *
 * Only when the note is this socket's (cookie), for this very address and port, was not a deny
 * (a deny reaching post_bind was overridden by a later program: it is denied again) and was
 * judged with the policy in force now. A task that migrated to another CPU between the two hooks
 * finds another bind's note; a program after ours that rewrote the address or the port makes it
 * differ: either way the full judgement runs, as if there were no note (fail-closed). The only
 * note that can be stale yet match is the same socket's, from an earlier bind() of it that failed
 * after bind4/6 (EADDRINUSE): the same socket, address and port under the same policy bank, so
 * the same verdict.
 */
static __always_inline int bg_note_check(const struct bg_note *n, __u64 cookie, const __u32 addr[4],
					 __u16 port, __u32 bank)
{
	if (!n || n->cookie != cookie || !cookie || n->addr[0] != addr[0] ||
	    n->addr[1] != addr[1] || n->addr[2] != addr[2] || n->addr[3] != addr[3])
		return BG_NOTE_REJUDGE;
	if (n->any_port)
		return BG_NOTE_EPHEMERAL;
	if (n->port != port || n->denied || n->bank != bank)
		return BG_NOTE_REJUDGE;
	return BG_NOTE_JUDGED;
}

/*
 * bg_confine_v6() - the loopback address a confined IPv6-socket wildcard is rewritten to, as four
 * network-order words. A v4-mapped ::ffff:0.0.0.0 stays IPv4 (::ffff:127.0.0.1); "::" becomes
 * "::1", which also means a dual-stack listener loses its IPv4 side (documented caveat).
 */
static __always_inline void bg_confine_v6(__u32 w0, __u32 w1, __u32 w2, __u32 out[4])
{
	out[0] = 0;
	out[1] = 0;
	if (bg_is_v4mapped(w0, w1, w2)) {
		out[2] = BG_V4MAPPED_BE;
		out[3] = BG_V4_LOOPBACK_BE;
	} else {
		out[2] = 0;
		out[3] = BG_BE32(1u);
	}
}

#endif /* BG_DECIDE_H */
