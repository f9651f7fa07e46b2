/* One chain snapshot page's response bytes -> the raw columns scanner/polygon/decode.py checks.
 *
 * A JSON reader specialised for /v3/snapshot/options/{underlying}: it reads the fields the engine
 * uses straight into columns and skips every other value after checking it is valid JSON. It only
 * reads what it can read exactly as the row-by-row reader (parse.page_columns on orjson's dicts)
 * would: on anything unusual (a value of another type than the vendor documents, a known key given
 * twice, an escape in a string we read or in a key, a byte beyond ASCII inside a string, an integer
 * beyond 64 bits, a magnitude near a double's limits, nesting deeper than MAX_DEPTH, invalid JSON) it
 * returns None and decode.py reads the page the slower, exact way. So this file never decides an
 * odd case; it only has to be right on the pages it accepts.
 *
 * scan_page(buffer) -> None | (rows, floats, ints, expiry_texts, next_url_span)
 *   floats: bytearray of N_FLOATS float64 columns of `rows` values each (NaN: absent or null)
 *   ints:   bytearray of N_INTS int64 columns (stamps 0 when absent; expiry -1 when absent, else an
 *           index into expiry_texts; kind -1 absent, 0 put, 1 call; details 0 when absent, null or {})
 *   expiry_texts: the distinct expiration_date strings, in order of first appearance
 *   next_url_span: (start, end) of next_url's JSON value in the buffer, or None when absent
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The float columns, then the int columns; decode.py names them in this order. */
enum { F_STRIKE, F_SHARES, F_PRICE, F_BID, F_ASK, F_IV, F_DELTA, F_OI, F_VOLUME, N_FLOATS };
enum { I_PRICE_NS, I_QUOTE_NS, I_EXPIRY, I_KIND, I_DETAILS, N_INTS };

#define MAX_DEPTH 64
#define IS_DIGIT(c) ((unsigned char)((c) - '0') < 10)
#define MAX_EXPIRIES 1024

/* OK: go on. BAIL: not a page this reader vouches for (decode.py reads it another way). NOMEM: a
 * Python exception is set. */
enum { OK = 0, BAIL = 1, NOMEM = 2 };

typedef struct {
    double f[N_FLOATS];
    int64_t i[N_INTS];
} Row;

typedef struct {
    const char *p;
    const char *end;
    const char *start;
    Row *rows;
    Py_ssize_t count, capacity;
    const char *texts[MAX_EXPIRIES];
    Py_ssize_t lengths[MAX_EXPIRIES];
    int64_t expiries;
    int64_t last_expiry; /* rows come grouped by expiry: the last one found is tried first */
} Reader;

#define TRY(call)                  \
    do {                           \
        int status_ = (call);      \
        if (status_ != OK) return status_; \
    } while (0)

static inline void skip_space(Reader *r) {
    const char *p = r->p, *end = r->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    r->p = p;
}

/* The next byte after white space; 0 at the end (never a valid byte there). */
static inline char peek(Reader *r) {
    skip_space(r);
    return r->p < r->end ? *r->p : 0;
}

static inline int expect(Reader *r, char c) {
    if (peek(r) != c) return BAIL;
    r->p++;
    return OK;
}

/* The bytes that end a plain run inside a string. */
static unsigned char SPECIAL[256];

static void init_special(void) {
    for (int c = 0; c < 256; c++) SPECIAL[c] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
}

/* The high bit of each byte of `word` (read little-endian) that ends a plain run, exact for the first
 * one (the borrows of the tests below only flag bytes after a flagged one). */
static inline uint64_t special_bytes(uint64_t word) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = word ^ (ones * '"'), backslash = word ^ (ones * '\\');
    uint64_t zero_quote = (quote - ones) & ~quote, zero_backslash = (backslash - ones) & ~backslash;
    uint64_t control = (word - ones * 0x20) & ~word;
    return (zero_quote | zero_backslash | control | word) & highs;
}

static int hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string at r->p (the opening quote): its content's span. `plain` tells whether it held no escape;
 * a caller that reads the text refuses escapes. Escapes of surrogates are refused (readers differ on
 * lone ones), as are control characters (invalid JSON) and bytes beyond ASCII (UTF-8 validity is
 * left to the exact reader). */
static int read_string(Reader *r, const char **text, Py_ssize_t *length, int *plain) {
    const char *p = r->p, *end = r->end;
    if (p >= end || *p != '"') return BAIL;
    const char *s = ++p;
    *plain = 1;
    for (;;) {
        /* The plain run first: bytes that are neither a quote, a backslash, a control character nor
         * beyond ASCII (one table look-up a byte). */
        while (end - p >= 8) {
            uint64_t word;
            memcpy(&word, p, 8);
            uint64_t found = special_bytes(word);
            if (found) {
                p += __builtin_ctzll(found) / 8;
                break;
            }
            p += 8;
        }
        while (p < end && !SPECIAL[(unsigned char)*p]) p++;
        if (p >= end) return BAIL;
        unsigned char c = (unsigned char)*p;
        if (c == '"') break;
        if (c != '\\') return BAIL;
        *plain = 0;
        if (p + 1 >= end) return BAIL;
        char e = p[1];
        if (e == 'u') {
            if (end - p < 6) return BAIL;
            for (int k = 2; k < 6; k++)
                if (!hex_digit(p[k])) return BAIL;
            if ((p[2] == 'd' || p[2] == 'D') && strchr("89abcdefABCDEF", p[3]) != NULL) return BAIL;
            p += 6;
            continue;
        }
        if (e == 0 || !strchr("\"\\/bfnrt", e)) return BAIL;
        p += 2;
    }
    *text = s;
    *length = p - s;
    r->p = p + 1;
    return OK;
}

/* Whether the 8 bytes at p are all digits, and their value: SWAR, a few multiplications for 8 digits
 * instead of a dependent multiply-add per digit (stamps have 19). */
static inline int eight_digits(const char *p) {
    uint64_t word;
    memcpy(&word, p, 8);
    return ((word & 0xF0F0F0F0F0F0F0F0ULL) | (((word + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
           0x3333333333333333ULL;
}

static inline uint64_t eight_digits_value(const char *p) {
    uint64_t word;
    memcpy(&word, p, 8);
    word = ((word & 0x0F0F0F0F0F0F0F0FULL) * 2561) >> 8;            /* pairs of digits */
    word = ((word & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;        /* groups of four */
    return ((word & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32; /* all eight */
}

/* The run of digits at p: mantissa * 10^k + their value (wrapping beyond 19 digits, which callers
 * catch by the count). */
static inline const char *digit_run(const char *p, const char *end, uint64_t *mantissa) {
    uint64_t m = *mantissa;
    while (end - p >= 8 && eight_digits(p)) {
        m = m * 100000000ULL + eight_digits_value(p);
        p += 8;
    }
    for (; p < end && IS_DIGIT(*p); p++) m = m * 10 + (uint64_t)(*p - '0');
    *mantissa = m;
    return p;
}

static const double POWERS[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A JSON number: whether it is written as an integer, and its value as an int64 (integers) and as
 * the nearest double (when `convert`: a skipped number is only checked). Refused: integers beyond
 * int64 (orjson makes floats of some), exponents of four digits or more, and magnitudes from 1e308
 * up or below 1e-308 (readers differ on overflow and underflow). */
static int read_number(Reader *r, int *is_int, int64_t *whole, double *value, int convert) {
    const char *s = r->p, *p = r->p, *end = r->end;
    int negative = 0;
    if (p < end && *p == '-') {
        negative = 1;
        p++;
    }
    if (p >= end || !IS_DIGIT(*p)) return BAIL;
    /* The mantissa takes every digit but leading zeros (it is exact up to 19 of them); `scale` the
     * power of ten of its last digit, `lead` that of the first digit, plus one. */
    uint64_t mantissa = 0;
    int digits = 0, scale = 0, lead = 0;
    if (*p == '0') {
        p++;
        if (p < end && IS_DIGIT(*p)) return BAIL; /* a leading zero */
    } else {
        const char *first = p;
        p = digit_run(p, end, &mantissa);
        digits = lead = (int)(p - first);
    }
    *is_int = 1;
    if (p < end && *p == '.') {
        *is_int = 0;
        const char *first = ++p;
        if (!digits) {
            for (; p < end && *p == '0'; p++) lead--;
        }
        const char *significant = p;
        p = digit_run(p, end, &mantissa);
        if (p == first) return BAIL;
        digits += (int)(p - significant);
        scale -= (int)(p - first);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *is_int = 0;
        p++;
        int exponent_negative = 0;
        if (p < end && (*p == '+' || *p == '-')) exponent_negative = *p++ == '-';
        int exponent = 0, exponent_digits = 0;
        for (; p < end && IS_DIGIT(*p); p++) {
            exponent = exponent * 10 + (*p - '0');
            exponent_digits++;
        }
        if (exponent_digits == 0 || exponent_digits > 3) return BAIL;
        scale += exponent_negative ? -exponent : exponent;
        lead += exponent_negative ? -exponent : exponent;
    }
    int dropped = digits > 19; /* the mantissa wrapped: only the conversion of the text is exact */
    r->p = p;
    if (digits && (lead > 308 || lead < -307)) return BAIL; /* beyond 1e308, or near underflow */
    if (*is_int) {
        if (dropped || mantissa > (uint64_t)INT64_MAX) return BAIL;
        if (!convert) return OK;
        *whole = negative ? -(int64_t)mantissa : (int64_t)mantissa;
        *value = (double)*whole; /* round to nearest, as Python's float(int) */
        return OK;
    }
    *whole = 0;
    if (!convert) return OK;
    if (!dropped && mantissa <= (1ULL << 53) && scale >= -22 && scale <= 22) {
        /* Both the mantissa and the power of ten are exact doubles: one correctly rounded operation. */
        double m = (double)mantissa;
        *value = scale >= 0 ? m * POWERS[scale] : m / POWERS[-scale];
        if (negative) *value = -*value;
        return OK;
    }
    /* Otherwise Python's own correctly rounded conversion of the text. */
    char buffer[128];
    Py_ssize_t length = p - s;
    if (length >= (Py_ssize_t)sizeof buffer) return BAIL;
    memcpy(buffer, s, (size_t)length);
    buffer[length] = 0;
    char *stop = NULL;
    *value = PyOS_string_to_double(buffer, &stop, NULL);
    if (*value == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return BAIL;
    }
    if (stop != buffer + length || !isfinite(*value)) return BAIL;
    return OK;
}

static int read_literal(Reader *r, const char *word, Py_ssize_t length) {
    if (r->end - r->p < length || memcmp(r->p, word, (size_t)length) != 0) return BAIL;
    r->p += length;
    return OK;
}

/* Any JSON value, checked and skipped. */
static int skip_value(Reader *r, int depth) {
    const char *text;
    Py_ssize_t length;
    int plain, is_int;
    int64_t whole;
    double value;
    if (depth > MAX_DEPTH) return BAIL;
    switch (peek(r)) {
    case '"':
        return read_string(r, &text, &length, &plain);
    case '{':
        r->p++;
        if (peek(r) == '}') {
            r->p++;
            return OK;
        }
        for (;;) {
            skip_space(r);
            TRY(read_string(r, &text, &length, &plain));
            TRY(expect(r, ':'));
            TRY(skip_value(r, depth + 1));
            char c = peek(r);
            r->p++;
            if (c == '}') return OK;
            if (c != ',') return BAIL;
        }
    case '[':
        r->p++;
        if (peek(r) == ']') {
            r->p++;
            return OK;
        }
        for (;;) {
            TRY(skip_value(r, depth + 1));
            char c = peek(r);
            r->p++;
            if (c == ']') return OK;
            if (c != ',') return BAIL;
        }
    case 't':
        return read_literal(r, "true", 4);
    case 'f':
        return read_literal(r, "false", 5);
    case 'n':
        return read_literal(r, "null", 4);
    default:
        return read_number(r, &is_int, &whole, &value, 0);
    }
}

/* null (leaves the default) or a number. */
static int read_float(Reader *r, double *out) {
    int is_int;
    int64_t whole;
    if (peek(r) == 'n') return read_literal(r, "null", 4);
    return read_number(r, &is_int, &whole, out, 1);
}

/* null (leaves the default) or a number: a stamp. The row reader takes only integers as stamps and
 * reads any other value as none, which the default (0) stands for. */
static int read_stamp(Reader *r, int64_t *out) {
    int is_int;
    int64_t whole;
    double value;
    if (peek(r) == 'n') return read_literal(r, "null", 4);
    TRY(read_number(r, &is_int, &whole, &value, 1));
    if (is_int) *out = whole;
    return OK;
}

/* The members of an object at r->p, one key at a time: `member` reads or skips each value; `seen`
 * catches a known key given twice. Reports whether the object had any member. */
typedef int (*Member)(Reader *r, Row *row, const char *key, Py_ssize_t length, unsigned *seen, int depth);

static int read_object(Reader *r, Row *row, Member member, int depth, int *any) {
    const char *key;
    Py_ssize_t length;
    int plain;
    unsigned seen = 0;
    *any = 0;
    if (depth > MAX_DEPTH) return BAIL;
    TRY(expect(r, '{'));
    if (peek(r) == '}') {
        r->p++;
        return OK;
    }
    *any = 1;
    for (;;) {
        skip_space(r);
        TRY(read_string(r, &key, &length, &plain));
        if (!plain) return BAIL; /* an escaped key may spell a known one */
        TRY(expect(r, ':'));
        TRY(member(r, row, key, length, &seen, depth));
        char c = peek(r);
        r->p++;
        if (c == '}') return OK;
        if (c != ',') return BAIL;
    }
}

#define KEY_IS(name) (length == (Py_ssize_t)(sizeof(name) - 1) && memcmp(key, name, sizeof(name) - 1) == 0)
/* Marks a known key as seen (bit `bit`), refusing it the second time. */
#define ONCE(bit)                              \
    do {                                       \
        if (*seen & (1u << (bit))) return BAIL; \
        *seen |= 1u << (bit);                  \
    } while (0)

static int expiry_index(Reader *r, const char *text, Py_ssize_t length, int64_t *index) {
    int64_t k = r->last_expiry;
    if (k >= 0 && r->lengths[k] == length && memcmp(r->texts[k], text, (size_t)length) == 0) {
        *index = k;
        return OK;
    }
    for (k = 0; k < r->expiries; k++) {
        if (r->lengths[k] == length && memcmp(r->texts[k], text, (size_t)length) == 0) break;
    }
    if (k == r->expiries) {
        if (k == MAX_EXPIRIES) return BAIL;
        r->texts[k] = text;
        r->lengths[k] = length;
        r->expiries++;
    }
    *index = r->last_expiry = k;
    return OK;
}

static int details_member(Reader *r, Row *row, const char *key, Py_ssize_t length, unsigned *seen, int depth) {
    const char *text;
    Py_ssize_t size;
    int plain;
    if (KEY_IS("contract_type")) {
        ONCE(0);
        if (peek(r) == 'n') return read_literal(r, "null", 4);
        TRY(read_string(r, &text, &size, &plain));
        if (size == 4 && memcmp(text, "call", 4) == 0) row->i[I_KIND] = 1;
        else if (size == 3 && memcmp(text, "put", 3) == 0) row->i[I_KIND] = 0;
        else return BAIL; /* the row reader's bad_type */
        return OK;
    }
    if (KEY_IS("expiration_date")) {
        ONCE(1);
        if (peek(r) == 'n') return read_literal(r, "null", 4);
        TRY(read_string(r, &text, &size, &plain));
        if (!plain) return BAIL;
        return expiry_index(r, text, size, &row->i[I_EXPIRY]);
    }
    if (KEY_IS("strike_price")) {
        ONCE(2);
        return read_float(r, &row->f[F_STRIKE]);
    }
    if (KEY_IS("shares_per_contract")) {
        ONCE(3);
        return read_float(r, &row->f[F_SHARES]);
    }
    return skip_value(r, depth + 1);
}

static int quote_member(Reader *r, Row *row, const char *key, Py_ssize_t length, unsigned *seen, int depth) {
    if (KEY_IS("bid")) {
        ONCE(0);
        return read_float(r, &row->f[F_BID]);
    }
    if (KEY_IS("ask")) {
        ONCE(1);
        return read_float(r, &row->f[F_ASK]);
    }
    if (KEY_IS("last_updated")) {
        ONCE(2);
        return read_stamp(r, &row->i[I_QUOTE_NS]);
    }
    return skip_value(r, depth + 1);
}

static int underlying_member(Reader *r, Row *row, const char *key, Py_ssize_t length, unsigned *seen, int depth) {
    if (KEY_IS("price")) {
        ONCE(0);
        return read_float(r, &row->f[F_PRICE]);
    }
    if (KEY_IS("last_updated")) {
        ONCE(1);
        return read_stamp(r, &row->i[I_PRICE_NS]);
    }
    return skip_value(r, depth + 1);
}

static int greeks_member(Reader *r, Row *row, const char *key, Py_ssize_t length, unsigned *seen, int depth) {
    if (KEY_IS("delta")) {
        ONCE(0);
        return read_float(r, &row->f[F_DELTA]);
    }
    return skip_value(r, depth + 1);
}

static int day_member(Reader *r, Row *row, const char *key, Py_ssize_t length, unsigned *seen, int depth) {
    if (KEY_IS("volume")) {
        ONCE(0);
        return read_float(r, &row->f[F_VOLUME]);
    }
    return skip_value(r, depth + 1);
}

/* null or an object read by `member`: the vendor's nested objects. */
static int read_part(Reader *r, Row *row, Member member, int depth, int *any) {
    *any = 0;
    if (peek(r) == 'n') return read_literal(r, "null", 4);
    if (peek(r) != '{') return BAIL; /* a list, a string, a number: the row reader's own cases */
    return read_object(r, row, member, depth + 1, any);
}

static int row_member(Reader *r, Row *row, const char *key, Py_ssize_t length, unsigned *seen, int depth) {
    int any;
    if (KEY_IS("details")) {
        ONCE(0);
        TRY(read_part(r, row, details_member, depth, &any));
        row->i[I_DETAILS] = any; /* an empty {} is no details to the row reader */
        return OK;
    }
    if (KEY_IS("last_quote")) {
        ONCE(1);
        return read_part(r, row, quote_member, depth, &any);
    }
    if (KEY_IS("underlying_asset")) {
        ONCE(2);
        return read_part(r, row, underlying_member, depth, &any);
    }
    if (KEY_IS("greeks")) {
        ONCE(3);
        return read_part(r, row, greeks_member, depth, &any);
    }
    if (KEY_IS("day")) {
        ONCE(4);
        return read_part(r, row, day_member, depth, &any);
    }
    if (KEY_IS("implied_volatility")) {
        ONCE(5);
        return read_float(r, &row->f[F_IV]);
    }
    if (KEY_IS("open_interest")) {
        ONCE(6);
        return read_float(r, &row->f[F_OI]);
    }
    return skip_value(r, depth + 1);
}

static int add_row(Reader *r) {
    if (r->count == r->capacity) {
        Py_ssize_t capacity = r->capacity ? 2 * r->capacity : 256;
        Row *rows = PyMem_Realloc(r->rows, (size_t)capacity * sizeof(Row));
        if (rows == NULL) {
            PyErr_NoMemory();
            return NOMEM;
        }
        r->rows = rows;
        r->capacity = capacity;
    }
    Row *row = &r->rows[r->count++];
    for (int k = 0; k < N_FLOATS; k++) row->f[k] = NAN;
    memset(row->i, 0, sizeof row->i);
    row->i[I_EXPIRY] = -1;
    row->i[I_KIND] = -1;
    return OK;
}

static int read_results(Reader *r) {
    if (peek(r) == 'n') return read_literal(r, "null", 4);
    TRY(expect(r, '['));
    if (peek(r) == ']') {
        r->p++;
        return OK;
    }
    for (;;) {
        int any;
        TRY(add_row(r));
        if (peek(r) != '{') return BAIL; /* a row that is not an object: the row reader's "malformed" */
        TRY(read_object(r, &r->rows[r->count - 1], row_member, 2, &any));
        char c = peek(r);
        r->p++;
        if (c == ']') return OK;
        if (c != ',') return BAIL;
    }
}

static int read_page(Reader *r, Py_ssize_t span[2]) {
    const char *key;
    Py_ssize_t length;
    int plain, results_seen = 0;
    TRY(expect(r, '{'));
    if (peek(r) != '}') {
        for (;;) {
            skip_space(r);
            TRY(read_string(r, &key, &length, &plain));
            if (!plain) return BAIL;
            TRY(expect(r, ':'));
            if (KEY_IS("results")) {
                if (results_seen++) return BAIL;
                TRY(read_results(r));
            } else if (KEY_IS("next_url")) {
                if (span[0] >= 0) return BAIL;
                skip_space(r);
                span[0] = r->p - r->start;
                TRY(skip_value(r, 1));
                span[1] = r->p - r->start;
            } else {
                TRY(skip_value(r, 1));
            }
            char c = peek(r);
            r->p++;
            if (c == '}') break;
            if (c != ',') return BAIL;
        }
    } else {
        r->p++;
    }
    skip_space(r);
    return r->p == r->end ? OK : BAIL;
}

/* The rows' columns, one after another, from the row records. */
static PyObject *columns(Reader *r, int floats) {
    int width = floats ? N_FLOATS : N_INTS;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)width * r->count * 8);
    if (out == NULL) return NULL;
    char *data = PyByteArray_AS_STRING(out);
    for (int k = 0; k < width; k++) {
        if (floats) {
            double *column = (double *)data + (Py_ssize_t)k * r->count;
            for (Py_ssize_t n = 0; n < r->count; n++) column[n] = r->rows[n].f[k];
        } else {
            int64_t *column = (int64_t *)data + (Py_ssize_t)k * r->count;
            for (Py_ssize_t n = 0; n < r->count; n++) column[n] = r->rows[n].i[k];
        }
    }
    return out;
}

static PyObject *scan_page(PyObject *module, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    Reader *r = PyMem_Calloc(1, sizeof(Reader));
    if (r == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    r->start = r->p = view.buf;
    r->end = r->p + view.len;
    r->last_expiry = -1;
    Py_ssize_t span[2] = {-1, -1};
    PyObject *result = NULL;
    int status = read_page(r, span);
    if (status == BAIL) {
        result = Py_NewRef(Py_None);
    } else if (status == OK) {
        PyObject *floats = columns(r, 1), *ints = columns(r, 0), *texts = PyList_New(r->expiries);
        PyObject *where = span[0] >= 0 ? Py_BuildValue("(nn)", span[0], span[1]) : Py_NewRef(Py_None);
        int failed = floats == NULL || ints == NULL || texts == NULL || where == NULL;
        for (int64_t k = 0; !failed && k < r->expiries; k++) {
            PyObject *text = PyUnicode_DecodeASCII(r->texts[k], r->lengths[k], NULL);
            if (text == NULL) failed = 1;
            else PyList_SET_ITEM(texts, k, text);
        }
        if (!failed) result = Py_BuildValue("(nOOOO)", r->count, floats, ints, texts, where);
        Py_XDECREF(floats);
        Py_XDECREF(ints);
        Py_XDECREF(texts);
        Py_XDECREF(where);
    }
    PyMem_Free(r->rows);
    PyMem_Free(r);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"scan_page", scan_page, METH_O, "A snapshot page's bytes -> its raw columns, or None (read it the exact way)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastscan", NULL, 0, methods};

PyMODINIT_FUNC PyInit__fastscan(void) {
    init_special();
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "N_FLOATS", N_FLOATS) < 0 || PyModule_AddIntConstant(m, "N_INTS", N_INTS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
