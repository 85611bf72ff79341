/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	keys 3
 * SUMMARY
 *	DKIM key records: --keys file, DNS, shared cache
 * SYNOPSIS
 *	#include "verifier/keys.h"
 *
 *	struct keys *keys_new(const struct keys_opts *o, char *err,
 *		size_t errlen);
 *	const struct keys_entry *keys_get(struct keys *k,
 *		const char *selector, const char *domain);
 *	const struct keys_entry *keys_txt(struct keys *k, const char *name);
 *	unsigned long keys_id(const struct keys *k);
 *	void keys_free(struct keys *k);
 * DESCRIPTION
 *	One cache per run, shared by every verifying thread. Each name is
 *	looked up once: the first thread to ask makes the entry (pending)
 *	and resolves it outside the lock; any other thread asking for the
 *	same name meanwhile waits for that answer instead of asking again.
 *	Every record is kept as published (keys_txt: DMARC policies and
 *	any other TXT name) and, for a name with a "_domainkey" label,
 *	parsed into a key (dkim_key_parse) once, when the entry is filled. Entries live until keys_free(), so a caller may
 *	keep the pointers keys_get() returns while keys_id() is the same
 *	(each verifying thread keeps a small memo of them, with its OpenSSL
 *	contexts, and takes no lock for a key it has seen).
 *
 *	The --keys file is read first: zone-file lines "NAME [TTL] [IN] TXT
 *	"str" "str"...", with ( ) continuation over lines, ; comments,
 *	unquoted words, $ORIGIN (names without a final dot and @ are relative
 *	to it) and $TTL (ignored); the strings of one record are joined.
 *	Without $ORIGIN a name is taken as written, with or without its dot. A name in the
 *	file is answered from it (source "file"), never from DNS. Without
 *	--offline, other names go to DNS (dns_query_sync; each thread takes
 *	a resolver context of its own from a small pool, as a context is
 *	not to be used by two threads at once); with it they are
 *	KEYS_OFFLINE.
 *
 *	DNS NXDOMAIN, NODATA and names DNS refuses are KEYS_NOTFOUND;
 *	SERVFAIL, any other rcode and timeouts are KEYS_TEMPFAIL.
 * DIAGNOSTICS
 *	keys_new() fails with "FILE:LINE: reason" for an unreadable file or
 *	a line that is not a TXT record.
 * LIMITS
 *	KEYS_FILE_MAX bytes of file, KEYS_RR_MAX records per name,
 *	DNS_TXT_MAX bytes per record, KEYS_DNS_MAX resolver contexts.
 *--*/
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/dns.h"
#include "shared/mem.h"
#include "verifier/keys.h"

struct kent {
	struct kent *next;
	char	*name;
	int	done;
	struct keys_entry e;
};

struct keys {
	unsigned long id;
	struct keys_opts o;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct kent *b[KEYS_BUCKETS];
	struct dns *idle[KEYS_DNS_MAX];
	int	nidle, ndns;
	int	dns_failed;
	char	dns_err[100];
};

static unsigned
hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) *
		    16777619u;
	return h % KEYS_BUCKETS;
}

static struct kent *
find(struct keys *k, const char *name)
{
	struct kent *e;

	for (e = k->b[hash(name)]; e; e = e->next)
		if (strcasecmp(e->name, name) == 0)
			return e;
	return NULL;
}

static struct kent *
add(struct keys *k, const char *name)
{
	struct kent *e = xcalloc(1, sizeof(*e));
	unsigned h = hash(name);

	e->name = xstrdup(name);
	e->next = k->b[h];
	k->b[h] = e;
	return e;
}

/* A DKIM key's name: a "_domainkey" label. */
static int
is_key_name(const char *name)
{
	const char *p;

	for (p = name; (p = strcasestr(p, "_domainkey")) != NULL; p++)
		if ((p == name || p[-1] == '.') && (p[10] == '.' ||
		    p[10] == '\0'))
			return 1;
	return 0;
}

/* One record into an entry: kept, and parsed when it is a key. Returns
 * 0 when there was no room for it (KEYS_RR_MAX). */
static int
keep_record(struct kent *e, const char *txt, size_t len)
{
	int i = e->e.ntxt;

	if (i >= KEYS_RR_MAX)
		return 0;
	e->e.txt[i] = xmalloc(len + 1);
	memcpy(e->e.txt[i], txt, len);
	e->e.txt[i][len] = '\0';
	e->e.txtlen[i] = len;
	e->e.ntxt++;
	if (is_key_name(e->name))
		dkim_key_parse(txt, len, &e->e.key[e->e.nkeys++]);
	return 1;
}

/* The record just kept was longer than DNS_TXT_MAX: a key that cannot be
 * read whole is a key-syntax error, not the key its first bytes say. */
static void
cut_record(struct kent *e)
{
	struct dkim_key *k;

	if (!is_key_name(e->name) || e->e.nkeys == 0)
		return;
	k = &e->e.key[e->e.nkeys - 1];
	dkim_key_clear(k);
	memset(k, 0, sizeof(*k));
	k->err = AUTH_REASON_KEY_SYNTAX;
	snprintf(k->why, sizeof(k->why), "key record longer than %d bytes",
	    DNS_TXT_MAX);
}

/* One record into an entry (file loading: done at once). */
static void
add_record(struct kent *e, const char *txt, size_t len,
    enum auth_key_source src)
{
	e->done = 1;
	e->e.status = KEYS_FOUND;
	e->e.source = src;
	keep_record(e, txt, len);
}

/* A word or a quoted string of a zone line; returns its end or NULL. */
static const char *
token(const char *p, const char *e, char *out, size_t outlen, size_t *olen,
    int *quoted)
{
	size_t o = 0;

	*quoted = 0;
	if (p < e && *p == '"') {
		*quoted = 1;
		for (p++; p < e && *p != '"'; p++) {
			char c = *p;

			if (c == '\\' && p + 1 < e) {
				p++;
				if (p + 2 < e && isdigit((unsigned char)p[0]) &&
				    isdigit((unsigned char)p[1]) &&
				    isdigit((unsigned char)p[2])) {
					c = (char)((p[0] - '0') * 100 +
					    (p[1] - '0') * 10 + (p[2] - '0'));
					p += 2;
				} else
					c = *p;
			}
			if (o + 1 >= outlen)
				return NULL;
			out[o++] = c;
		}
		if (p == e)
			return NULL;
		p++;
	} else {
		while (p < e && !isspace((unsigned char)*p) && *p != '"' &&
		    *p != '(' && *p != ')' && *p != ';') {
			if (o + 1 >= outlen)
				return NULL;
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	*olen = o;
	return p;
}

int
keys_load_text(struct keys *k, const char *text, size_t len, char *err,
    size_t errlen)
{
	const char *p = text, *e = text + len;
	char tok[DNS_TXT_MAX + 1];
	char name[DNS_NAME_MAX + 2], *rec = xmalloc(DNS_TXT_MAX + 1);
	char origin[DNS_NAME_MAX + 2] = "";
	size_t reclen, tl;
	int line = 1, startline, paren, q, state;

	while (p < e) {
		/* one record, which may span lines inside ( ) */
		startline = line;
		paren = 0;
		state = 0;		/* 0 name, 1 ttl/class/type, 2 strings */
		reclen = 0;
		name[0] = '\0';
		for (;;) {
			while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
				p++;
			if (p < e && *p == ';') {
				while (p < e && *p != '\n')
					p++;
			}
			if (p == e)
				break;
			if (*p == '\n') {
				line++;
				p++;
				if (paren)
					continue;
				break;
			}
			if (*p == '(') {
				paren++;
				p++;
				continue;
			}
			if (*p == ')') {
				paren--;
				p++;
				continue;
			}
			p = token(p, e, tok, sizeof(tok), &tl, &q);
			if (p == NULL) {
				snprintf(err, errlen, "%d: unterminated or "
				    "over-long string", line);
				free(rec);
				return -1;
			}
			if (state == 0 && !q && tok[0] == '$') {
				if (strcasecmp(tok, "$ORIGIN") == 0)
					state = 10;
				else if (strcasecmp(tok, "$TTL") == 0)
					state = 11;
				else {
					snprintf(err, errlen, "%d: unknown "
					    "directive %.30s", line, tok);
					free(rec);
					return -1;
				}
			} else if (state == 10) {
				if (tl == 0 || tl > DNS_NAME_MAX + 1) {
					snprintf(err, errlen, "%d: bad $ORIGIN",
					    line);
					free(rec);
					return -1;
				}
				memcpy(origin, tok, tl + 1);
				if (tl > 1 && origin[tl - 1] == '.')
					origin[tl - 1] = '\0';
				state = 12;
			} else if (state >= 11) {
				state = 12;	/* $TTL's value, or extra words */
			} else if (state == 0) {
				if (!q && strcmp(tok, "@") == 0 && origin[0]) {
					snprintf(tok, sizeof(tok), "%s.", origin);
					tl = strlen(tok);
				} else if (origin[0] && tl > 0 &&
				    tok[tl - 1] != '.') {
					/* relative to $ORIGIN */
					if (tl + 1 + strlen(origin) >
					    DNS_NAME_MAX) {
						snprintf(err, errlen, "%d: name "
						    "too long", line);
						free(rec);
						return -1;
					}
					tok[tl] = '.';
					memcpy(tok + tl + 1, origin,
					    strlen(origin) + 1);
					tl = strlen(tok);
				}
				if (tl == 0 || tl > DNS_NAME_MAX + 1) {
					snprintf(err, errlen, "%d: bad name",
					    line);
					free(rec);
					return -1;
				}
				memcpy(name, tok, tl + 1);
				if (tl > 1 && name[tl - 1] == '.')
					name[tl - 1] = '\0';
				state = 1;
			} else if (state == 1) {
				if (!q && strcasecmp(tok, "TXT") == 0)
					state = 2;
				else if (!q && (strcasecmp(tok, "IN") == 0 ||
				    strspn(tok, "0123456789") == tl))
					continue;
				else {
					snprintf(err, errlen, "%d: not a TXT "
					    "record (%.30s)", line, tok);
					free(rec);
					return -1;
				}
			} else {
				if (reclen + tl > DNS_TXT_MAX) {
					snprintf(err, errlen, "%d: record "
					    "over %d bytes", line, DNS_TXT_MAX);
					free(rec);
					return -1;
				}
				memcpy(rec + reclen, tok, tl);
				reclen += tl;
			}
		}
		if (state == 0 || state == 11 || state == 12)
			continue;	/* empty line or a directive */
		if (state == 10 || state == 1 || paren) {
			snprintf(err, errlen, "%d: incomplete record",
			    startline);
			free(rec);
			return -1;
		}
		{
			struct kent *ke = find(k, name);

			if (ke == NULL)
				ke = add(k, name);
			rec[reclen] = '\0';
			add_record(ke, rec, reclen, AUTH_KEY_FILE);
		}
	}
	free(rec);
	return 0;
}

struct keys *
keys_new(const struct keys_opts *o, char *err, size_t errlen)
{
	static atomic_ulong ids;
	struct keys *k = xcalloc(1, sizeof(*k));
	FILE *fp;
	char *buf, lerr[200];
	size_t n;

	k->id = atomic_fetch_add(&ids, 1) + 1;
	k->o = *o;
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	if (o->file == NULL)
		return k;
	if ((fp = fopen(o->file, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", o->file, strerror(errno));
		keys_free(k);
		return NULL;
	}
	buf = xmalloc(KEYS_FILE_MAX + 1);
	n = fread(buf, 1, KEYS_FILE_MAX + 1, fp);
	if (ferror(fp) || n > KEYS_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", o->file, ferror(fp) ?
		    strerror(errno) : "file too large");
		fclose(fp);
		free(buf);
		keys_free(k);
		return NULL;
	}
	fclose(fp);
	if (keys_load_text(k, buf, n, lerr, sizeof(lerr)) != 0) {
		snprintf(err, errlen, "%s:%s", o->file, lerr);
		free(buf);
		keys_free(k);
		return NULL;
	}
	free(buf);
	return k;
}

static struct dns *
dns_take(struct keys *k)
{
	struct dns *d = NULL;
	struct dns_opts dopts;
	int i;

	pthread_mutex_lock(&k->mu);
	if (k->nidle > 0)
		d = k->idle[--k->nidle];
	else if (!k->dns_failed && k->ndns < KEYS_DNS_MAX) {
		k->ndns++;
		pthread_mutex_unlock(&k->mu);
		memset(&dopts, 0, sizeof(dopts));
		for (i = 0; i < k->o.nforward; i++)
			dopts.forward[i] = k->o.forward[i];
		dopts.nforward = k->o.nforward;
		dopts.query_timeout = k->o.timeout;
		d = dns_new(NULL, &dopts, k->dns_err, sizeof(k->dns_err));
		pthread_mutex_lock(&k->mu);
		if (d == NULL) {
			k->dns_failed = 1;
			k->ndns--;
		}
	}
	pthread_mutex_unlock(&k->mu);
	return d;
}

static void
dns_give(struct keys *k, struct dns *d)
{
	pthread_mutex_lock(&k->mu);
	k->idle[k->nidle++] = d;
	pthread_mutex_unlock(&k->mu);
}

static void
resolve(struct keys *k, struct kent *ke)
{
	struct keys_entry *e = &ke->e;
	struct dns *d;
	struct dns_answer *a;
	int i;

	e->source = AUTH_KEY_DNS;
	if ((d = dns_take(k)) == NULL) {
		e->status = KEYS_TEMPFAIL;
		snprintf(e->why, sizeof(e->why), "no resolver: %s",
		    k->dns_failed ? k->dns_err : "too many threads");
		return;
	}
	a = dns_query_sync(d, ke->name, DNS_T_TXT);
	dns_give(k, d);
	switch (a->status) {
	case DNS_OK:
		e->status = KEYS_FOUND;
		for (i = 0; i < a->nrr; i++) {
			if (keep_record(ke, (const char *)a->rr[i].data,
			    a->rr[i].len) && a->rr[i].cut)
				cut_record(ke);
		}
		break;
	case DNS_NODATA:
		e->status = KEYS_NOTFOUND;
		snprintf(e->why, sizeof(e->why), "no TXT record");
		break;
	case DNS_NXDOMAIN:
		e->status = KEYS_NOTFOUND;
		snprintf(e->why, sizeof(e->why), "NXDOMAIN");
		break;
	case DNS_PERMFAIL:
		e->status = KEYS_NOTFOUND;
		snprintf(e->why, sizeof(e->why), "not a valid DNS name");
		break;
	case DNS_TEMPFAIL:
		e->status = KEYS_TEMPFAIL;
		snprintf(e->why, sizeof(e->why), "%s", a->why[0] ? a->why :
		    "SERVFAIL or timeout");
		break;
	}
	dns_answer_free(a);
}

const struct keys_entry *
keys_get(struct keys *k, const char *selector, const char *domain)
{
	char name[DNS_NAME_MAX * 2 + 16];

	snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain);
	return keys_txt(k, name);
}

const struct keys_entry *
keys_txt(struct keys *k, const char *name)
{
	struct kent *e;

	pthread_mutex_lock(&k->mu);
	if ((e = find(k, name)) != NULL) {
		while (!e->done)
			pthread_cond_wait(&k->cv, &k->mu);
		pthread_mutex_unlock(&k->mu);
		return &e->e;
	}
	e = add(k, name);
	pthread_mutex_unlock(&k->mu);
	if (k->o.offline) {
		e->e.status = KEYS_OFFLINE;
		e->e.source = AUTH_KEY_NONE;
		snprintf(e->e.why, sizeof(e->e.why), "offline");
	} else
		resolve(k, e);
	pthread_mutex_lock(&k->mu);
	e->done = 1;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
	return &e->e;
}

unsigned long
keys_id(const struct keys *k)
{
	return k->id;
}

void
keys_free(struct keys *k)
{
	struct kent *e, *n;
	int i, j;

	if (k == NULL)
		return;
	for (i = 0; i < KEYS_BUCKETS; i++)
		for (e = k->b[i]; e; e = n) {
			n = e->next;
			for (j = 0; j < e->e.nkeys; j++)
				dkim_key_clear(&e->e.key[j]);
			for (j = 0; j < e->e.ntxt; j++)
				free(e->e.txt[j]);
			free(e->name);
			free(e);
		}
	for (i = 0; i < k->nidle; i++)
		dns_free(k->idle[i]);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	free(k);
}
