/* SPDX-License-Identifier: ISC */
#ifndef SHARED_HDR_H
#define SHARED_HDR_H
/* hdr - RFC 5322 header block: fields with their raw bytes, unfolding,
 * RFC 2047 display decoding, dates of real mail normalised to UTC. */
#include <stddef.h>
#include <stdint.h>

#define HDR_FIELD_MAX	65536	/* bytes of one unfolded field value */
#define HDR_FIELDS_MAX	4096	/* fields kept per message; more: truncated */
#define HDR_NAME_MAX	128	/* bytes of a field name */
#define HDR_DATE_MAX	256	/* bytes of a date string considered */

/* hdr.flags: what was wrong with the header block. */
#define HDR_F_TRUNCATED	(1 << 0)	/* more than HDR_FIELDS_MAX fields */
#define HDR_F_NO_SEP	(1 << 1)	/* no empty line before the body / EOF */
#define HDR_F_BADLINE	(1 << 2)	/* a line that is not a field ended the header */
#define HDR_F_NUL	(1 << 3)	/* NUL bytes in the header */
#define HDR_F_8BIT	(1 << 4)	/* bytes >= 0x80 in the header */
#define HDR_F_BADUTF8	(1 << 5)	/* ... that are not valid UTF-8 */
#define HDR_F_LONGLINE	(1 << 6)	/* a line over 998 bytes (RFC 5322 2.1.1) */
#define HDR_F_BARECR	(1 << 7)	/* a CR not followed by LF */
#define HDR_F_FROMLINE	(1 << 8)	/* an mbox "From " line was skipped */

struct hdr_field {
	const char *name;	/* points into the message; not terminated */
	size_t	namelen;
	const char *raw;	/* the whole field, folded, with its line break */
	size_t	rawlen;
	const char *val;	/* after the colon, folded, without the last break */
	size_t	vallen;
	size_t	offset;		/* of raw in the message */
};

struct hdr {
	struct hdr_field *f;	/* owned; reused across hdr_parse() calls */
	int	nf;
	int	cap;
	size_t	header_len;	/* bytes of the header incl. the empty line */
	size_t	body_off;	/* offset of the body (== len if none) */
	int	flags;		/* HDR_F_* */
	size_t	longest_line;
};

/* Split msg into fields (lazily: values are unfolded on demand). Always
 * succeeds; problems are in h->flags. Pointers refer into msg. */
void	hdr_parse(struct hdr *h, const char *msg, size_t len);
void	hdr_free(struct hdr *h);	/* frees h->f; h itself is the caller's */

/* Case-insensitive name match. */
int	hdr_is(const struct hdr_field *, const char *name);
/* Index of the next field named name at or after index from, or -1. */
int	hdr_find(const struct hdr *, const char *name, int from);

/* Unfold a value: line breaks before white space removed, NUL and bare CR
 * become spaces, leading and trailing white space dropped. Writes at most
 * outlen-1 bytes and a NUL; returns the full length it wanted (so a result
 * >= outlen means truncated). */
size_t	hdr_unfold(const char *val, size_t len, char *out, size_t outlen);

/* RFC 2047 encoded-words decoded for display: UTF-8, US-ASCII and
 * ISO-8859-1/-15 and windows-1252 (as Latin-1) become UTF-8; other charsets
 * keep their bytes. Returns the length written (out is NUL-terminated). */
size_t	hdr_decode_2047(const char *in, char *out, size_t outlen);
/* The value 0..63 of a base64 character (RFC 4648 alphabet), -1 if it is
 * not one; the table is for loops over long values. */
extern const signed char hdr_b64digit[256];
int	hdr_b64val(int c);

/* Dates as they occur in mail: RFC 5322 and its obsolete forms (two-digit
 * years, zone names, missing weekday), asctime and date(1), ISO 8601,
 * SendGrid's Go format, fractional seconds. Returns 0 with seconds since
 * the epoch (UTC) in *t, or -1 with a reason in err. */
int	hdr_date_parse(const char *s, size_t len, int64_t *t, char *err,
	    size_t errlen);
/* "2024-05-01T10:00:00Z" into buf (>= 21 bytes); returns buf. */
char	*hdr_date_format(int64_t t, char *buf, size_t len);

/* The first <addr> in s (or the first word when there are no angle
 * brackets), without the brackets, into out. Returns 0, -1 if none. */
int	hdr_addr(const char *s, char *out, size_t outlen);

/* 1 if the bytes are valid UTF-8 (no overlongs, no surrogates). */
int	hdr_utf8_valid(const char *s, size_t len);

/* n bytes of peer text (a record, a header value) as printable ASCII in
 * buf: '?' for every other byte, cut with "..." to fit; returns buf. */
const char *hdr_shown(const char *s, size_t n, char *buf, size_t buflen);

#endif
