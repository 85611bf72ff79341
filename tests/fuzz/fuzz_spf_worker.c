/* SPDX-License-Identifier: ISC */
/* fuzz_spf_worker - random SPF records through the whole worker path:
 * the parent's validator/rewriter (spf.c), then libspf2 compiling and
 * evaluating the result inside spfworker's proxy DNS layer
 * (spfworker_eval_local), with a zone made from the fuzz input: every TXT
 * lookup gets the input record (split at '\n' into successive records),
 * A/AAAA/MX/PTR lookups get fixed answers chosen by the input's first byte.
 * With bit 8 of that byte, the first record goes with the EVAL instead, as
 * the pool sends it (rewritten; an input whose first record the pool would
 * settle itself is not evaluated), and lookups get the records after it.
 * FUZZ-SOURCES: shared/spf.c shared/spfworker.c
 * FUZZ-LIBS: -lspf2 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "shared/spf.h"
#include "shared/spfworker.h"

struct zone {
	const char *data;
	size_t	size, pos;
	unsigned char mode;
	int	queries;
};

static void
status(struct spfw_msg *a, enum spfw_status st)
{
	spfw_begin(a, SPFW_ANSWER);
	spfw_put_u32(a, st);
	spfw_put_u16(a, 0);
}

static int
ask(void *arg, const struct spfw_msg *q, struct spfw_msg *a)
{
	struct zone *z = arg;
	struct spfw_rd rd;
	char	name[SPFW_NAME_MAX + 1], out[SPF_REWRITE_MAX], why[128];
	uint16_t type;

	if (spfw_rd_begin(&rd, q->b, q->len) != SPFW_LOOKUP)
		abort();
	type = spfw_get_u16(&rd);
	if (spfw_get_str(&rd, name, sizeof(name)) < 0 || spfw_rd_end(&rd) < 0)
		abort();
	if (++z->queries > 40) {
		status(a, SPFW_ST_NORECOVERY);
		return spfw_finish(a);
	}
	/* As the pool does (spfpool.c, R9): a name that is malformed or
	 * longer than a domain name gets NXDOMAIN without a lookup.
	 * Without this, a record whose include: target repeats %{d} three
	 * times grows its name threefold per level, and libspf2 (which
	 * never truncates an expansion) allocates gigabytes. */
	if (!spf_name_ok(name) || strlen(name) > SPF_DOMAIN_MAX) {
		status(a, SPFW_ST_NXDOMAIN);
		return spfw_finish(a);
	}
	switch (type) {
	case 16: {
		const char *rec = z->data + z->pos;
		const char *nl = memchr(rec, '\n', z->size - z->pos);
		size_t	n = nl ? (size_t)(nl - rec) : z->size - z->pos;

		z->pos = nl ? (size_t)(nl - z->data) + 1 : 0;
		if (!spf_record_is_v1(rec, n) || spf_record_rewrite(rec, n,
		    AF_INET, out, sizeof(out), why, sizeof(why)) < 0) {
			status(a, SPFW_ST_NORECOVERY);
			break;
		}
		spfw_begin(a, SPFW_ANSWER);
		spfw_put_u32(a, SPFW_ST_OK);
		spfw_put_u16(a, 1);
		spfw_put_str(a, out, strlen(out));
		break;
	}
	case 1:
		if (z->mode & 1) {
			static const unsigned char ip[4] = { 192, 0, 2, 1 };

			spfw_begin(a, SPFW_ANSWER);
			spfw_put_u32(a, SPFW_ST_OK);
			spfw_put_u16(a, 1);
			spfw_put_str(a, ip, 4);
		} else
			status(a, SPFW_ST_NXDOMAIN);
		break;
	case 15:
	case 12:
		if (z->mode & 2) {
			spfw_begin(a, SPFW_ANSWER);
			spfw_put_u32(a, SPFW_ST_OK);
			spfw_put_u16(a, 1);
			spfw_put_str(a, "host.fuzz.example", 17);
		} else
			status(a, z->mode & 4 ? SPFW_ST_TRYAGAIN :
			    SPFW_ST_NODATA);
		break;
	default:
		status(a, SPFW_ST_NODATA);
		break;
	}
	return spfw_finish(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spfw_msg eval, res;
	static const unsigned char addr[16] = { 192, 0, 2, 1 };
	struct zone z;

	if (size < 1 || size > 8192)
		return 0;
	z.mode = data[0];
	z.data = (const char *)data + 1;
	z.size = size - 1;
	z.pos = 0;
	z.queries = 0;
	spfw_begin(&eval, SPFW_EVAL);
	spfw_put_u8(&eval, 4);
	spfw_put_bytes(&eval, addr, 16);
	spfw_put_str(&eval, "mail.fuzz.example", 17);
	spfw_put_str(&eval, "user@fuzz.example", 17);
	if (z.mode & 8) {
		char	out[SPF_REWRITE_MAX], why[128];
		const char *nl = memchr(z.data, '\n', z.size);
		size_t	n = nl ? (size_t)(nl - z.data) : z.size;

		if (!spf_record_is_v1(z.data, n) || spf_record_rewrite(z.data,
		    n, AF_INET, out, sizeof(out), why, sizeof(why)) < 0)
			return 0;
		z.pos = nl ? n + 1 : 0;
		spfw_put_str(&eval, out, strlen(out));
	}
	if (spfw_finish(&eval) < 0)
		abort();
	if (spfworker_eval_local(&eval, "receiver.example", ask, &z, &res) < 0)
		abort();
	return 0;
}
