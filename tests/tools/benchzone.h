/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	benchzone 3h
 * SUMMARY
 *	the synthetic DNS zone shared by benchdns and policyload
 * SYNOPSIS
 *	#include "tests/tools/benchzone.h"
 * DESCRIPTION
 *	The benchmark zone is computed from names, not stored: benchdns(1)
 *	answers from these rules and policyload(1) generates requests that
 *	use them, so any number of distinct names costs no memory.
 *
 *	Sender domain dN.bench.test, kind K = N % BENCHZONE_KINDS:
 *	0 ip4 of its own /24, -all            5 ip4 and ip6, ~all (softfail)
 *	1 "a mx -all"                         6 no TXT (NODATA; has A and MX)
 *	2 include: a shared provider pM       7 NXDOMAIN
 *	3 provider + own include chain i->j   8 "mx include:pM -all"
 *	4 redirect= a shared provider pM      9 own include chain i->j->k
 *	Providers pM.prov.bench.test (M = N % BENCHZONE_PROVIDERS) list their
 *	ip4 net and include qM.prov.bench.test.
 *
 *	Client 44.A.B.C: the reverse name's class (hash % 10) is 0..6 good
 *	(PTR hA-B-C.rdns.bench.test whose A is 44.A.B.C, with TXT
 *	"v=spf1 a -all" for the HELO check), 7 bad (PTR to
 *	hA-B-C.bad.bench.test whose A is 192.0.2.C), 8 PTR to a name that
 *	does not exist, 9 no PTR at all.
 * LIMITS
 *	Sender domain numbers below 2^24.  IPv4 clients only, in
 *	BENCHZONE_NET/8.
 *--*/
#ifndef BENCHZONE_H
#define BENCHZONE_H

#include <stdint.h>

#define BENCHZONE_SUFFIX	"bench.test"
/*
 * Clients live in 44.0.0.0/8: public address space, so no server under
 * test treats them as private, NATed or reserved (10/8 would be).  The
 * "44." in benchdns.c's records and reverse zone must match.
 */
#define BENCHZONE_NET		44
#define BENCHZONE_KINDS		10
#define BENCHZONE_PROVIDERS	20

/* FNV-1a, 32 bits: the drop decision and the reverse-name class. */
static inline uint32_t
benchzone_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

/* The /24 a domain's own records authorize: 44.A.B.0/24. */
static inline void
benchzone_domain_net(uint32_t n, unsigned *a, unsigned *b)
{
	*a = 1 + n % 200;
	*b = (n / 200) % 256;
}

/* The /24 a provider authorizes: 44.(201 + M).0.0/16. */
static inline unsigned
benchzone_provider_net(uint32_t m)
{
	return 201 + m % BENCHZONE_PROVIDERS;
}

/* Class of the client 44.a.b.c's reverse DNS: 0..9 (see above). */
static inline unsigned
benchzone_ptr_class(unsigned a, unsigned b, unsigned c)
{
	uint32_t x = (a << 16) | (b << 8) | c;

	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return x % 10;
}

#endif
