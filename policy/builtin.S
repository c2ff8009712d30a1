/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The built-in policy: policy/iredmail.yaml, embedded byte for byte and NUL-terminated, so the
 * binary needs no file at run time and `bindguard check policy/iredmail.yaml` checks exactly what
 * runs by default.
 */
	.section .rodata
	.global bg_builtin_policy
	.type bg_builtin_policy, @object
bg_builtin_policy:
	.incbin "policy/iredmail.yaml"
bg_builtin_policy_end:
	.byte 0
	.size bg_builtin_policy, . - bg_builtin_policy

	.balign 8
	.global bg_builtin_policy_len
	.type bg_builtin_policy_len, @object
bg_builtin_policy_len:
	.quad bg_builtin_policy_end - bg_builtin_policy
	.size bg_builtin_policy_len, 8

	.section .note.GNU-stack, "", @progbits
