/* SPDX-License-Identifier: ISC */
/* fuzz_proto - the policy-delegation request decoder (proto_parse) and
 * the reply encoder (proto_format_reply) on arbitrary bytes. A failed
 * parse must say why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policyd/proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_req *req;
	char err[256], out[PROTO_ACTION_MAX + 64], *copy;
	int n;

	if (size > 2 * PROTO_REQ_MAX)
		return 0;
	copy = malloc(size + 1);
	memcpy(copy, data, size);
	err[0] = '\0';
	req = proto_parse(copy, size, err, sizeof(err));
	if (req == NULL && err[0] == '\0')
		abort();
	proto_req_free(req);
	copy[size] = '\0';
	n = proto_format_reply(copy, out, sizeof(out));
	if (n >= 0 && ((size_t)n >= sizeof(out) || memchr(copy, '\n',
	    strlen(copy)) != NULL))
		abort();
	free(copy);
	return 0;
}
