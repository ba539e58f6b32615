/* _align_speedups.c: the hot path of captionset.align's evidence layer, compiled.
 *
 * align.py keeps the definition of everything here in pure Python (CAPTIONSET_PURE_PYTHON=1 runs it);
 * tests/test_align_speedups.py checks that both give the same Caption records, bit for bit:
 *
 * - lower(text): text.lower(), sooner when the only cased characters are ASCII (else str.lower itself);
 * - body_layout(...): the fields of _Body.of (paragraphs, sections, captions, the lower-cased body);
 * - caption_query(...): align.query of a caption text (SENTENCE_END and CAPTION_WORD as re matches them);
 * - look_up(...): _Body.look_up: every caption stem's hits in the lower-cased body (words that start with
 *   one of its search keys and have the stem), its term frequency by paragraph, IDF and BM25 parts, found
 *   in one pass over the body's words;
 * - query_evidence(...): align.query_evidence: the BM25 match, bonus, first and unique parts of one
 *   caption, with _Body.adjacent for its two-word phrases;
 * - token_counts(texts), window_pieces(...): the token counts and slices of align.context_window;
 * - learned_related(...): align.learned_related, the learned ranker of one gallery (gallery_evidence,
 *   learned_scores and rank_learned), or None where Python would raise or compare a NaN (align.py then runs
 *   its own code). log1p and exp are the C library's, which math.log1p and math.exp call.
 *
 * Floating-point operations are those of align.py in the same order (hatch_build.py compiles with
 * -ffp-contract=off, so no fused multiply-add changes a bit). Stems, search keys and caption words come
 * from the callables passed in: align.py passes the compiled, memoised stem(word), search_keys(...) and
 * caption_token(...) of this module, which give the strings of align.stem, align._search_keys and
 * align._caption_token (the definitions; IRREGULAR and SUFFIX_RULES are copied below, and
 * tests/test_align_speedups.py compares the two on every shared word, every code point and random words).
 * Strings of any kind (1, 2 or 4 bytes per character) are read as such; everything runs with the
 * GIL held, and the module state (character tables, interned names) is written only when it loads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Buckets of the search keys by their first character (a power of two). */
#define KEY_BUCKETS 256
/* Bits of the table of the keys' first two characters, which most words of the body miss. */
#define PAIR_BITS 16

/* ---------------------------------------------------------------------------------------------------
 * Character classes (str.isalnum, str.isspace of one character)
 */

/* What the 16-bit characters are, filled when the module loads (the Unicode database's look-ups cost
 * tens of nanoseconds a character, and news text is full of curly quotes and dashes). */
#define BMP_SIZE 0x10000
#define CHAR_ALNUM 1 /* str.isalnum */
#define CHAR_CASED 2 /* str.lower may change it: a lower case of its own, upper or title case */
#define CHAR_SPACE 4 /* str.isspace */
static unsigned char bmp_class[BMP_SIZE];

static int char_class(Py_UCS4 c)
{
    return (Py_UNICODE_ISALNUM(c) ? CHAR_ALNUM : 0)
           | ((Py_UNICODE_TOLOWER(c) != c || Py_UNICODE_ISUPPER(c) || Py_UNICODE_ISTITLE(c)) ? CHAR_CASED : 0)
           | (Py_UNICODE_ISSPACE(c) ? CHAR_SPACE : 0);
}

/* Characters read at a time where a text is mostly ASCII (lower, count_tokens). */
#define SCAN_BLOCK 16

static inline int is_alnum(Py_UCS4 c)
{
    return c < BMP_SIZE ? bmp_class[c] & CHAR_ALNUM : Py_UNICODE_ISALNUM(c);
}

static inline int is_space(Py_UCS4 c)
{
    return c < BMP_SIZE ? bmp_class[c] & CHAR_SPACE : Py_UNICODE_ISSPACE(c);
}

static inline int is_cased(Py_UCS4 c)
{
    return c < BMP_SIZE ? bmp_class[c] & CHAR_CASED : char_class(c) & CHAR_CASED;
}

/* The character at i, or a newline (no word character) outside the text. */
static inline Py_UCS4 char_at(int kind, const void *data, Py_ssize_t n, Py_ssize_t i)
{
    return (i >= 0 && i < n) ? PyUnicode_READ(kind, data, i) : '\n';
}

/* ---------------------------------------------------------------------------------------------------
 * lower, token_counts
 */

/* lower(text) -> str: text.lower(). Only ASCII letters change unless a non-ASCII character has a lower
 * case of its own (then str.lower does it all: full case mappings, the final sigma). */
static PyObject *lower(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "lower() takes a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    if (PyUnicode_IS_ASCII(text)) {
        return PyObject_CallMethod(text, "lower", NULL);
    }
    PyObject *out = PyUnicode_New(n, PyUnicode_MAX_CHAR_VALUE(text));
    if (out == NULL) {
        return NULL;
    }
    void *target = PyUnicode_DATA(out);
    int cased = 0; /* a character beyond ASCII with a case of its own: str.lower does it all */
    /* First whether a character beyond ASCII has a case (16 at a time: a block of ASCII alone is passed
     * over by the OR of its characters), then every ASCII capital lower-cased, without a branch; the
     * blocks have a fixed length so that the compiler can use vector instructions. */
#define LOWER_CHARS(TYPE)                                                                                      \
    do {                                                                                                       \
        const TYPE *restrict from = (const TYPE *)data;                                                        \
        TYPE *restrict to = (TYPE *)target;                                                                    \
        Py_ssize_t full = n - n % SCAN_BLOCK, i = 0;                                                           \
        for (; i < full && !cased; i += SCAN_BLOCK) {                                                          \
            TYPE any = 0;                                                                                      \
            for (int j = 0; j < SCAN_BLOCK; j++) {                                                             \
                any |= from[i + j];                                                                            \
            }                                                                                                  \
            for (int j = 0; any >= 128 && j < SCAN_BLOCK; j++) {                                               \
                if (from[i + j] >= 128 && is_cased(from[i + j])) {                                             \
                    cased = 1;                                                                                 \
                    break;                                                                                     \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
        for (; i < n && !cased; i++) {                                                                         \
            cased = from[i] >= 128 && is_cased(from[i]);                                                       \
        }                                                                                                      \
        for (i = 0; !cased && i < full; i += SCAN_BLOCK) {                                                     \
            for (int j = 0; j < SCAN_BLOCK; j++) {                                                             \
                TYPE c = from[i + j];                                                                          \
                to[i + j] = (TYPE)(c + ((TYPE)(c - 'A') <= 'Z' - 'A' ? 'a' - 'A' : 0));                        \
            }                                                                                                  \
        }                                                                                                      \
        for (; !cased && i < n; i++) {                                                                         \
            TYPE c = from[i];                                                                                  \
            to[i] = (TYPE)(c + ((TYPE)(c - 'A') <= 'Z' - 'A' ? 'a' - 'A' : 0));                                \
        }                                                                                                      \
    } while (0)
    if (kind == PyUnicode_1BYTE_KIND) {
        LOWER_CHARS(Py_UCS1);
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        LOWER_CHARS(Py_UCS2);
    }
    else {
        LOWER_CHARS(Py_UCS4);
    }
#undef LOWER_CHARS
    if (cased) {
        Py_DECREF(out);
        return PyObject_CallMethod(text, "lower", NULL);
    }
    return out;
}

/* Whitespace tokens of one text: str.split()'s count. */
static Py_ssize_t count_tokens(PyObject *text)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), count = 0;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    /* A token starts at every character that is no space, first or after a space. 16 characters at a time:
     * a block of ASCII alone (the OR of its characters and the one before tells) is read without the table,
     * its spaces being those of str.isspace below 128 (\t \n \v \f \r, \x1c to \x1f and ' '), in a loop of
     * fixed length that the compiler can make vector instructions of. */
#define ASCII_SPACE(TYPE, c) (((c) == ' ') | ((TYPE)((c) - '\t') <= '\r' - '\t') | ((TYPE)((c) - 0x1c) <= 0x1f - 0x1c))
#define COUNT_TOKENS(TYPE)                                                                                     \
    do {                                                                                                       \
        const TYPE *restrict chars = (const TYPE *)data;                                                       \
        Py_ssize_t i = 1;                                                                                      \
        count = n > 0 && !is_space(chars[0]);                                                                  \
        for (; i + SCAN_BLOCK <= n; i += SCAN_BLOCK) {                                                         \
            TYPE any = chars[i - 1];                                                                           \
            for (int j = 0; j < SCAN_BLOCK; j++) {                                                             \
                any |= chars[i + j];                                                                           \
            }                                                                                                  \
            if (any < 128) {                                                                                   \
                unsigned starts = 0;                                                                           \
                for (int j = 0; j < SCAN_BLOCK; j++) {                                                         \
                    TYPE c = chars[i + j], before = chars[i + j - 1];                                          \
                    starts += (unsigned)((ASCII_SPACE(TYPE, c) ^ 1) & ASCII_SPACE(TYPE, before));                \
                }                                                                                              \
                count += starts;                                                                               \
                continue;                                                                                      \
            }                                                                                                  \
            for (int j = 0; j < SCAN_BLOCK; j++) {                                                             \
                count += !is_space(chars[i + j]) && is_space(chars[i + j - 1]);                                \
            }                                                                                                  \
        }                                                                                                      \
        for (; i < n; i++) {                                                                                   \
            count += !is_space(chars[i]) && is_space(chars[i - 1]);                                            \
        }                                                                                                      \
    } while (0)
    if (kind == PyUnicode_1BYTE_KIND) {
        COUNT_TOKENS(Py_UCS1);
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        COUNT_TOKENS(Py_UCS2);
    }
    else {
        COUNT_TOKENS(Py_UCS4);
    }
#undef ASCII_SPACE
#undef COUNT_TOKENS
    return count;
}

/* token_counts(texts) -> list[int]: len(text.split()) of every text. */
static PyObject *token_counts(PyObject *module, PyObject *texts)
{
    if (!PyList_Check(texts)) {
        PyErr_SetString(PyExc_TypeError, "token_counts() takes a list of str");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(texts);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "token_counts() takes a list of str");
            Py_DECREF(out);
            return NULL;
        }
        PyObject *count = PyLong_FromSsize_t(count_tokens(text));
        if (count == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, count);
    }
    return out;
}

/* ---------------------------------------------------------------------------------------------------
 * Small helpers: int lists as C arrays, growable hit lists
 */

/* The items of a list of ints as a PyMem array (NULL with an exception set on failure; n may be 0). */
static Py_ssize_t *ssize_array(PyObject *list, Py_ssize_t *count)
{
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "expected a list of int");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(list);
    Py_ssize_t *out = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(Py_ssize_t));
    if (out == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        out[i] = PyLong_AsSsize_t(PyList_GET_ITEM(list, i));
        if (out[i] == -1 && PyErr_Occurred()) {
            PyMem_Free(out);
            return NULL;
        }
    }
    *count = n;
    return out;
}

/* The first i in [low, n) with values[i] >= x (bisect_left), values sorted. */
static Py_ssize_t bisect_left(const Py_ssize_t *values, Py_ssize_t n, Py_ssize_t low, Py_ssize_t x)
{
    Py_ssize_t high = n;
    while (low < high) {
        Py_ssize_t mid = low + (high - low) / 2;
        if (values[mid] < x) {
            low = mid + 1;
        }
        else {
            high = mid;
        }
    }
    return low;
}

/* The first i with values[i] > x (bisect_right), values sorted. */
static Py_ssize_t bisect_right(const Py_ssize_t *values, Py_ssize_t n, Py_ssize_t x)
{
    Py_ssize_t low = 0, high = n;
    while (low < high) {
        Py_ssize_t mid = low + (high - low) / 2;
        if (x < values[mid]) {
            high = mid;
        }
        else {
            low = mid + 1;
        }
    }
    return low;
}

typedef struct {
    Py_ssize_t start, end;
} Span;

typedef struct {
    Span *items;
    Py_ssize_t count, capacity;
    int needs_sort; /* hits of a key found apart from the word scan (not in text order with the rest) */
} Hits;

static int hits_add(Hits *hits, Py_ssize_t start, Py_ssize_t end)
{
    if (hits->count == hits->capacity) {
        Py_ssize_t capacity = hits->capacity ? 2 * hits->capacity : 8;
        Span *items = PyMem_Realloc(hits->items, (size_t)capacity * sizeof(Span));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        hits->items = items;
        hits->capacity = capacity;
    }
    hits->items[hits->count].start = start;
    hits->items[hits->count].end = end;
    hits->count++;
    return 0;
}

static int span_order(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return x->end < y->end ? -1 : (x->end > y->end);
}

/* ---------------------------------------------------------------------------------------------------
 * look_up
 */

typedef struct {
    PyObject *key; /* borrowed from the keys tuples */
    int kind;
    const void *data;
    Py_ssize_t len;
    Py_ssize_t term;  /* its term's position in `new` */
    int whole;        /* a word that is just the key is a hit: key == term or stem(key) == term */
    int exact;        /* key == term */
    Py_ssize_t next;  /* the next plain key in its bucket, or -1 */
} Key;

/* Does the stem of hay[start:end] (commas taken out when `no_commas`) equal term? -1 on error. */
static int stem_is(PyObject *stem, PyObject *hay, Py_ssize_t start, Py_ssize_t end, PyObject *term,
                   int no_commas)
{
    PyObject *word = PyUnicode_Substring(hay, start, end);
    if (word == NULL) {
        return -1;
    }
    if (no_commas) {
        PyObject *comma = PyUnicode_FromOrdinal(',');
        PyObject *empty = comma ? PyUnicode_New(0, 0) : NULL;
        PyObject *replaced = empty ? PyUnicode_Replace(word, comma, empty, -1) : NULL;
        Py_XDECREF(comma);
        Py_XDECREF(empty);
        Py_DECREF(word);
        if (replaced == NULL) {
            return -1;
        }
        word = replaced;
    }
    PyObject *stemmed = PyObject_CallOneArg(stem, word);
    Py_DECREF(word);
    if (stemmed == NULL) {
        return -1;
    }
    int same = PyObject_RichCompareBool(stemmed, term, Py_EQ);
    Py_DECREF(stemmed);
    return same;
}

/* Does the key occur in hay at i? */
static inline int key_at(const Key *key, int kind, const void *data, Py_ssize_t n, Py_ssize_t i)
{
    if (i + key->len > n) {
        return 0;
    }
    for (Py_ssize_t j = 0; j < key->len; j++) {
        if (PyUnicode_READ(kind, data, i + j) != PyUnicode_READ(key->kind, key->data, j)) {
            return 0;
        }
    }
    return 1;
}

/* _Body._find for one key that is not a plain word ("150,000"): str.find from the start, a hit where a
 * word starts and the whole word has the stem, the next find from the end of what was seen. */
static int find_other(const Key *key, PyObject *hay, PyObject *term, PyObject *stem, Hits *hits)
{
    int kind = PyUnicode_KIND(hay);
    const void *data = PyUnicode_DATA(hay);
    Py_ssize_t n = PyUnicode_GET_LENGTH(hay);
    if (key->len == 0) {
        return 0; /* never a search key (the Python loop would not end) */
    }
    Py_ssize_t i = PyUnicode_Find(hay, key->key, 0, n, 1); /* str.find */
    while (i >= 0) {
        Py_ssize_t end = i + key->len;
        /* hay[i - 1] in Python: at i == 0 that is the last character. */
        Py_UCS4 before = i > 0 ? PyUnicode_READ(kind, data, i - 1) : char_at(kind, data, n, n - 1);
        if (!is_alnum(before)) {
            if (is_alnum(char_at(kind, data, n, end))) {
                while (end < n && is_alnum(PyUnicode_READ(kind, data, end))) {
                    end++;
                }
                int same = stem_is(stem, hay, i, end, term, 0);
                if (same < 0 || (same && hits_add(hits, i, end) < 0)) {
                    return -1;
                }
            }
            else {
                int same = key->exact ? 1 : stem_is(stem, hay, i, end, term, 1);
                if (same < 0 || (same && hits_add(hits, i, end) < 0)) {
                    return -1;
                }
            }
        }
        i = end < n ? PyUnicode_Find(hay, key->key, end, n, 1) : -1;
    }
    if (i == -2) {
        return -1;
    }
    hits->needs_sort = 1;
    return 0;
}

/* (a, b) of two new references (stolen, also on failure). */
static PyObject *steal_pair(PyObject *a, PyObject *b)
{
    PyObject *pair = (a != NULL && b != NULL) ? PyTuple_New(2) : NULL;
    if (pair == NULL) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        return NULL;
    }
    PyTuple_SET_ITEM(pair, 0, a);
    PyTuple_SET_ITEM(pair, 1, b);
    return pair;
}

/* The _Term tuple of one stem from its hits (in text order): (IDF, [(ordinal, BM25 part)], [(start,
 * end)], {ordinal: term frequency}), as _Body._store makes it. */
static PyObject *make_term(const Hits *hits, const Py_ssize_t *ends, Py_ssize_t paragraphs,
                           const double *norms, double k1, Py_ssize_t *tf, Py_ssize_t *seen)
{
    PyObject *spans = NULL, *found = NULL, *parts = NULL, *idf = NULL;
    Py_ssize_t distinct = 0, ordinal = 0;
    spans = PyList_New(hits->count);
    if (spans == NULL) {
        goto error;
    }
    for (Py_ssize_t h = 0; h < hits->count; h++) {
        Py_ssize_t start = hits->items[h].start;
        if (ends[ordinal] < start) {
            ordinal = bisect_left(ends, paragraphs, ordinal + 1, start);
        }
        if (ordinal >= paragraphs) {
            PyErr_SetString(PyExc_ValueError, "a hit past the last paragraph");
            goto error;
        }
        if (tf[ordinal] == 0) {
            seen[distinct++] = ordinal;
        }
        tf[ordinal]++;
        PyObject *span = steal_pair(PyLong_FromSsize_t(start), PyLong_FromSsize_t(hits->items[h].end));
        if (span == NULL) {
            goto error;
        }
        PyList_SET_ITEM(spans, h, span);
    }
    found = PyDict_New();
    parts = PyList_New(distinct);
    if (found == NULL || parts == NULL) {
        goto error;
    }
    for (Py_ssize_t d = 0; d < distinct; d++) {
        Py_ssize_t o = seen[d];
        double count = (double)tf[o];
        PyObject *key = PyLong_FromSsize_t(o);
        PyObject *value = key ? PyLong_FromSsize_t(tf[o]) : NULL;
        int failed = value == NULL || PyDict_SetItem(found, key, value) < 0;
        Py_XDECREF(value);
        if (failed) {
            Py_XDECREF(key);
            goto error;
        }
        PyObject *part = steal_pair(key, PyFloat_FromDouble(count * k1 / (count + norms[o])));
        if (part == NULL) {
            goto error;
        }
        PyList_SET_ITEM(parts, d, part);
    }
    idf = PyFloat_FromDouble(
        log(1.0 + ((double)(paragraphs - distinct) + 0.5) / ((double)distinct + 0.5)));
    if (idf == NULL) {
        goto error;
    }
    for (Py_ssize_t d = 0; d < distinct; d++) {
        tf[seen[d]] = 0;
    }
    PyObject *term = PyTuple_New(4);
    if (term == NULL) {
        goto error;
    }
    PyTuple_SET_ITEM(term, 0, idf);
    PyTuple_SET_ITEM(term, 1, parts);
    PyTuple_SET_ITEM(term, 2, spans);
    PyTuple_SET_ITEM(term, 3, found);
    return term;
error:
    for (Py_ssize_t d = 0; d < distinct; d++) {
        tf[seen[d]] = 0;
    }
    Py_XDECREF(spans);
    Py_XDECREF(found);
    Py_XDECREF(parts);
    Py_XDECREF(idf);
    return NULL;
}

static void free_hits(Hits *hits, Py_ssize_t count)
{
    if (hits == NULL) {
        return;
    }
    for (Py_ssize_t t = 0; t < count; t++) {
        PyMem_Free(hits[t].items);
    }
    PyMem_Free(hits);
}

/* The norms list as doubles (its length must be `count`). */
static double *double_array(PyObject *list, Py_ssize_t count)
{
    if (!PyList_Check(list) || PyList_GET_SIZE(list) != count) {
        PyErr_SetString(PyExc_ValueError, "norms must be a list with one float per paragraph");
        return NULL;
    }
    double *out = PyMem_Malloc((size_t)(count > 0 ? count : 1) * sizeof(double));
    if (out == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        out[i] = PyFloat_AsDouble(PyList_GET_ITEM(list, i));
        if (out[i] == -1.0 && PyErr_Occurred()) {
            PyMem_Free(out);
            return NULL;
        }
    }
    return out;
}

/* Is the key made of word characters only (then its hits are words that start with it)? */
static int plain_key(const Key *key)
{
    if (key->len == 0) {
        return 0;
    }
    for (Py_ssize_t j = 0; j < key->len; j++) {
        if (!is_alnum(PyUnicode_READ(key->kind, key->data, j))) {
            return 0;
        }
    }
    return 1;
}

static inline unsigned pair_hash(Py_UCS4 first, Py_UCS4 second)
{
    return ((first * 0x9E3779B1u) ^ second) * 0x85EBCA6Bu >> (32 - PAIR_BITS);
}

/* The hits of the plain keys (the bucket from `j` on) at the word hay[start:end]: a key the word starts
 * with is a hit when the word is just the key and `whole`, or when the longer word has the stem. */
static int match_word(Key *keys, Py_ssize_t j, PyObject *new, PyObject *hay, int kind, const void *data,
                      Py_ssize_t n, Py_ssize_t start, Py_ssize_t end, PyObject *stem, Hits *hits)
{
    for (; j >= 0; j = keys[j].next) {
        Key *key = &keys[j];
        if (key->len > end - start || !key_at(key, kind, data, n, start)) {
            continue;
        }
        PyObject *term = PyList_GET_ITEM(new, key->term);
        int same;
        if (end - start > key->len) {
            same = stem_is(stem, hay, start, end, term, 0);
        }
        else {
            if (key->whole < 0) {
                key->whole = key->exact ? 1 : stem_is(stem, key->key, 0, key->len, term, 0);
            }
            same = key->whole;
        }
        if (same < 0 || (same && hits_add(&hits[key->term], start, end) < 0)) {
            return -1;
        }
    }
    return 0;
}

/* The terms of the groups (iterables of str) not in `terms`, each once, in order; and their search keys
 * (search_keys(term), tuples of str). -1 on error. */
static int new_terms(PyObject *groups, PyObject *terms, PyObject *search_keys, PyObject **new, PyObject **keys)
{
    *new = PyList_New(0);
    *keys = PyList_New(0);
    PyObject *seen = PySet_New(NULL);
    PyObject *outer = PyObject_GetIter(groups);
    if (*new == NULL || *keys == NULL || seen == NULL || outer == NULL) {
        goto error;
    }
    PyObject *group;
    while ((group = PyIter_Next(outer)) != NULL) {
        PyObject *inner = PyObject_GetIter(group);
        Py_DECREF(group);
        if (inner == NULL) {
            goto error;
        }
        PyObject *term;
        while ((term = PyIter_Next(inner)) != NULL) {
            int skip = PyDict_Contains(terms, term);
            if (skip == 0) {
                skip = PySet_Contains(seen, term);
            }
            PyObject *term_keys = NULL;
            if (skip == 0) {
                term_keys = PyObject_CallOneArg(search_keys, term);
            }
            int failed = skip < 0 || (skip == 0 && (term_keys == NULL || PySet_Add(seen, term) < 0
                                                    || PyList_Append(*new, term) < 0
                                                    || PyList_Append(*keys, term_keys) < 0));
            Py_XDECREF(term_keys);
            Py_DECREF(term);
            if (failed) {
                Py_DECREF(inner);
                goto error;
            }
        }
        Py_DECREF(inner);
        if (PyErr_Occurred()) {
            goto error;
        }
    }
    if (PyErr_Occurred()) {
        goto error;
    }
    Py_DECREF(outer);
    Py_DECREF(seen);
    return 0;
error:
    Py_XDECREF(outer);
    Py_XDECREF(seen);
    Py_CLEAR(*new);
    Py_CLEAR(*keys);
    return -1;
}

/* look_up(hay, ends, norms, terms, groups, search_keys, stem, k1) -> None: store in the dict `terms` the
 * _Term of every stem of the groups (iterables of str) not in it yet, as _Body.look_up does: one pass
 * over the words of the hay finds the plain search keys, str.find-like scans the others. */
static PyObject *look_up(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "look_up() takes 8 arguments");
        return NULL;
    }
    PyObject *hay = args[0], *ends_list = args[1], *norms_list = args[2], *terms = args[3];
    PyObject *stem = args[6];
    if (!PyUnicode_Check(hay) || !PyDict_Check(terms) || !PyCallable_Check(args[5]) || !PyCallable_Check(stem)) {
        PyErr_SetString(PyExc_TypeError,
                        "look_up(hay: str, ends: list, norms: list, terms: dict, groups, search_keys, stem, "
                        "k1: float)");
        return NULL;
    }
    double k1 = PyFloat_AsDouble(args[7]);
    if (k1 == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *new, *keys_list;
    if (new_terms(args[4], terms, args[5], &new, &keys_list) < 0) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t paragraphs = 0, n_terms = PyList_GET_SIZE(new), n_keys = 0;
    Py_ssize_t *ends = NULL, *tf = NULL, *seen = NULL;
    double *norms = NULL;
    Key *keys = NULL;
    Hits *hits = NULL;
    Py_ssize_t head[KEY_BUCKETS];
    if (n_terms == 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    ends = ssize_array(ends_list, &paragraphs);
    if (ends == NULL) {
        goto done;
    }
    norms = double_array(norms_list, paragraphs);
    if (norms == NULL) {
        goto done;
    }
    for (Py_ssize_t t = 0; t < n_terms; t++) {
        PyObject *term = PyList_GET_ITEM(new, t), *term_keys = PyList_GET_ITEM(keys_list, t);
        if (!PyUnicode_Check(term) || !PyTuple_Check(term_keys)) {
            PyErr_SetString(PyExc_TypeError, "look_up(): terms are str, keys tuples of str");
            goto done;
        }
        n_keys += PyTuple_GET_SIZE(term_keys);
    }
    keys = PyMem_Malloc((size_t)(n_keys > 0 ? n_keys : 1) * sizeof(Key));
    hits = PyMem_Calloc((size_t)(n_terms > 0 ? n_terms : 1), sizeof(Hits));
    tf = PyMem_Calloc((size_t)(paragraphs > 0 ? paragraphs : 1), sizeof(Py_ssize_t));
    seen = PyMem_Malloc((size_t)(paragraphs > 0 ? paragraphs : 1) * sizeof(Py_ssize_t));
    if (keys == NULL || hits == NULL || tf == NULL || seen == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t b = 0; b < KEY_BUCKETS; b++) {
        head[b] = -1;
    }
    Py_ssize_t k = 0;
    for (Py_ssize_t t = 0; t < n_terms; t++) {
        PyObject *term = PyList_GET_ITEM(new, t), *term_keys = PyList_GET_ITEM(keys_list, t);
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(term_keys); j++, k++) {
            PyObject *text = PyTuple_GET_ITEM(term_keys, j);
            if (!PyUnicode_Check(text)) {
                PyErr_SetString(PyExc_TypeError, "look_up(): keys are str");
                goto done;
            }
            Key *key = &keys[k];
            key->key = text;
            key->kind = PyUnicode_KIND(text);
            key->data = PyUnicode_DATA(text);
            key->len = PyUnicode_GET_LENGTH(text);
            key->term = t;
            key->exact = PyUnicode_Compare(text, term) == 0;
            if (PyErr_Occurred()) {
                goto done;
            }
            key->whole = -1; /* stem(key) == term, asked when first needed */
            key->next = -2;  /* not in a bucket */
            if (plain_key(key)) {
                /* Buckets are filled from the back, so each chain lists its keys in key order. */
                key->next = -1;
            }
        }
    }
    for (Py_ssize_t j = n_keys - 1; j >= 0; j--) {
        if (keys[j].next == -1) {
            Py_ssize_t b = PyUnicode_READ(keys[j].kind, keys[j].data, 0) & (KEY_BUCKETS - 1);
            keys[j].next = head[b];
            head[b] = j;
        }
    }
    unsigned char pairs[(1 << PAIR_BITS) / 8], singles[KEY_BUCKETS / 8];
    memset(pairs, 0, sizeof(pairs));
    memset(singles, 0, sizeof(singles));
    for (Py_ssize_t j = 0; j < n_keys; j++) {
        if (keys[j].next != -2) {
            Py_UCS4 c0 = PyUnicode_READ(keys[j].kind, keys[j].data, 0);
            if (keys[j].len == 1) {
                singles[(c0 & (KEY_BUCKETS - 1)) >> 3] |= (unsigned char)(1 << (c0 & 7));
            }
            else {
                unsigned h = pair_hash(c0, PyUnicode_READ(keys[j].kind, keys[j].data, 1));
                pairs[h >> 3] |= (unsigned char)(1 << (h & 7));
            }
        }
    }
    int kind = PyUnicode_KIND(hay);
    const void *data = PyUnicode_DATA(hay);
    Py_ssize_t n = PyUnicode_GET_LENGTH(hay);
    /* Every word of the hay (a run of word characters) whose first characters a plain key may have. */
#define SCAN_WORDS(TYPE)                                                                                       \
    do {                                                                                                       \
        const TYPE *h = (const TYPE *)data;                                                                    \
        Py_ssize_t i = 0;                                                                                      \
        while (i < n) {                                                                                        \
            Py_UCS4 c = h[i];                                                                                  \
            if (!is_alnum(c)) {                                                                                \
                i++;                                                                                           \
                continue;                                                                                      \
            }                                                                                                  \
            Py_ssize_t start = i++;                                                                            \
            while (i < n && is_alnum(h[i])) {                                                                  \
                i++;                                                                                           \
            }                                                                                                  \
            unsigned p = pair_hash(c, start + 1 < i ? h[start + 1] : 0);                                       \
            if (((pairs[p >> 3] >> (p & 7)) & 1)                                                               \
                || ((singles[(c & (KEY_BUCKETS - 1)) >> 3] >> (c & 7)) & 1)) {                                  \
                if (match_word(keys, head[c & (KEY_BUCKETS - 1)], new, hay, kind, data, n, start, i, stem,    \
                               hits)                                                                           \
                    < 0) {                                                                                     \
                    goto done;                                                                                 \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
    } while (0)
    if (kind == PyUnicode_1BYTE_KIND) {
        SCAN_WORDS(Py_UCS1);
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        SCAN_WORDS(Py_UCS2);
    }
    else {
        SCAN_WORDS(Py_UCS4);
    }
#undef SCAN_WORDS
    for (Py_ssize_t j = 0; j < n_keys; j++) {
        if (keys[j].next == -2
            && find_other(&keys[j], hay, PyList_GET_ITEM(new, keys[j].term), stem, &hits[keys[j].term]) < 0) {
            goto done;
        }
    }
    for (Py_ssize_t t = 0; t < n_terms; t++) {
        if (hits[t].needs_sort && hits[t].count > 1) {
            qsort(hits[t].items, (size_t)hits[t].count, sizeof(Span), span_order);
        }
        PyObject *stored = make_term(&hits[t], ends, paragraphs, norms, k1, tf, seen);
        if (stored == NULL) {
            goto done;
        }
        int failed = PyDict_SetItem(terms, PyList_GET_ITEM(new, t), stored) < 0;
        Py_DECREF(stored);
        if (failed) {
            goto done;
        }
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(ends);
    PyMem_Free(norms);
    PyMem_Free(keys);
    PyMem_Free(tf);
    PyMem_Free(seen);
    free_hits(hits, n_terms);
    Py_DECREF(new);
    Py_DECREF(keys_list);
    return result;
}

/* ---------------------------------------------------------------------------------------------------
 * query_evidence
 */

/* Per paragraph ordinal: a value where one was set, and the ordinals in the order they were first set
 * (the insertion order of the Python dict it becomes). */
typedef struct {
    double *values;
    char *has;
    Py_ssize_t *order;
    Py_ssize_t count;
} Sparse;

/* dict[o] = dict.get(o, 0.0) + x, as Python adds it. */
static inline void sparse_add(Sparse *s, Py_ssize_t o, double x)
{
    if (!s->has[o]) {
        s->has[o] = 1;
        s->order[s->count++] = o;
        s->values[o] = 0.0 + x;
    }
    else {
        s->values[o] = s->values[o] + x;
    }
}

/* The dict {o: value} in insertion order, of the values >= least (all when least is -inf). */
static PyObject *sparse_dict(const Sparse *s, double least)
{
    PyObject *out = PyDict_New();
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < s->count; i++) {
        Py_ssize_t o = s->order[i];
        if (!(s->values[o] >= least)) {
            continue;
        }
        PyObject *key = PyLong_FromSsize_t(o);
        PyObject *value = key ? PyFloat_FromDouble(s->values[o]) : NULL;
        int failed = value == NULL || PyDict_SetItem(out, key, value) < 0;
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (failed) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

/* terms[term] (a _Term tuple), or term_of(term) when not looked up yet: a new reference. */
static PyObject *stored_term(PyObject *terms, PyObject *term_of, PyObject *term)
{
    PyObject *stored = PyDict_GetItemWithError(terms, term);
    if (stored != NULL) {
        Py_INCREF(stored);
    }
    else if (PyErr_Occurred()) {
        return NULL;
    }
    else {
        stored = PyObject_CallOneArg(term_of, term);
        if (stored == NULL) {
            return NULL;
        }
    }
    if (!PyTuple_Check(stored) || PyTuple_GET_SIZE(stored) != 4 || !PyList_Check(PyTuple_GET_ITEM(stored, 1))
        || !PyList_Check(PyTuple_GET_ITEM(stored, 2)) || !PyDict_Check(PyTuple_GET_ITEM(stored, 3))) {
        Py_DECREF(stored);
        PyErr_SetString(PyExc_TypeError, "a stored term is (idf, parts, hits, counts)");
        return NULL;
    }
    return stored;
}

/* terms[term] of a term already looked up (KeyError otherwise): borrowed. */
static PyObject *known_term(PyObject *terms, PyObject *term)
{
    PyObject *stored = PyDict_GetItemWithError(terms, term);
    if (stored == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetObject(PyExc_KeyError, term);
        }
        return NULL;
    }
    if (!PyTuple_Check(stored) || PyTuple_GET_SIZE(stored) != 4 || !PyList_Check(PyTuple_GET_ITEM(stored, 2))
        || !PyDict_Check(PyTuple_GET_ITEM(stored, 3))) {
        PyErr_SetString(PyExc_TypeError, "a stored term is (idf, parts, hits, counts)");
        return NULL;
    }
    return stored;
}

/* (start, end) of a hit tuple; -1 on error. */
static int read_span(PyObject *span, Py_ssize_t *start, Py_ssize_t *end)
{
    if (!PyTuple_Check(span) || PyTuple_GET_SIZE(span) != 2) {
        PyErr_SetString(PyExc_TypeError, "a hit is (start, end)");
        return -1;
    }
    *start = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 0));
    if (*start == -1 && PyErr_Occurred()) {
        return -1;
    }
    *end = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 1));
    if (*end == -1 && PyErr_Occurred()) {
        return -1;
    }
    return 0;
}

/* Are the words of hay[start:end] all stop words (WORD.findall of it, each in stopwords)? -1 on error. */
static int only_stopwords(PyObject *hay, Py_ssize_t start, Py_ssize_t end, PyObject *stopwords)
{
    int kind = PyUnicode_KIND(hay);
    const void *data = PyUnicode_DATA(hay);
    for (Py_ssize_t i = start; i < end;) {
        if (!is_alnum(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        Py_ssize_t stop = i + 1;
        while (stop < end && is_alnum(PyUnicode_READ(kind, data, stop))) {
            stop++;
        }
        PyObject *word = PyUnicode_Substring(hay, i, stop);
        if (word == NULL) {
            return -1;
        }
        int known = PySet_Contains(stopwords, word);
        Py_DECREF(word);
        if (known <= 0) {
            return known;
        }
        i = stop;
    }
    return 1;
}

/* _Body.adjacent: add `weight` to the bonus of every paragraph where a word of `one` is followed by one
 * of `two` with only stop words between (each paragraph once, in the order found). */
static int add_adjacent(PyObject *first_hits, PyObject *second_hits, PyObject *hay, const Py_ssize_t *starts,
                        Py_ssize_t paragraphs, PyObject *stopwords, Py_ssize_t gap, double weight, Sparse *bonus,
                        char *marked, Py_ssize_t *marked_list)
{
    int status = -1;
    Py_ssize_t n_second = PyList_GET_SIZE(second_hits), n_found = 0;
    Py_ssize_t *begins = PyMem_Malloc((size_t)(n_second > 0 ? n_second : 1) * sizeof(Py_ssize_t));
    if (begins == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n_second; i++) {
        Py_ssize_t end;
        if (read_span(PyList_GET_ITEM(second_hits, i), &begins[i], &end) < 0) {
            goto done;
        }
    }
    int kind = PyUnicode_KIND(hay);
    const void *data = PyUnicode_DATA(hay);
    Py_ssize_t size = PyUnicode_GET_LENGTH(hay);
    for (Py_ssize_t h = 0; h < PyList_GET_SIZE(first_hits); h++) {
        Py_ssize_t start, end;
        if (read_span(PyList_GET_ITEM(first_hits, h), &start, &end) < 0) {
            goto done;
        }
        Py_ssize_t next = bisect_left(begins, n_second, 0, end);
        if (next >= n_second || begins[next] - end > gap) {
            continue;
        }
        Py_ssize_t stop = begins[next] < size ? begins[next] : size;
        int newline = 0;
        for (Py_ssize_t i = end < 0 ? 0 : end; i < stop; i++) {
            if (PyUnicode_READ(kind, data, i) == '\n') {
                newline = 1;
                break;
            }
        }
        if (newline) {
            continue;
        }
        int only = only_stopwords(hay, end < 0 ? 0 : end, stop, stopwords);
        if (only < 0) {
            goto done;
        }
        if (!only) {
            continue;
        }
        Py_ssize_t ordinal = bisect_right(starts, paragraphs, end) - 1;
        if (ordinal < 0 || ordinal >= paragraphs) {
            PyErr_SetString(PyExc_ValueError, "a phrase outside the paragraphs");
            goto done;
        }
        if (!marked[ordinal]) {
            marked[ordinal] = 1;
            marked_list[n_found++] = ordinal;
        }
    }
    for (Py_ssize_t i = 0; i < n_found; i++) {
        sparse_add(bonus, marked_list[i], weight);
    }
    status = 0;
done:
    for (Py_ssize_t i = 0; i < n_found; i++) {
        marked[marked_list[i]] = 0;
    }
    PyMem_Free(begins);
    return status;
}

/* Do two dicts share a key? -1 on error. */
static int dicts_meet(PyObject *a, PyObject *b)
{
    if (PyDict_GET_SIZE(a) > PyDict_GET_SIZE(b)) {
        PyObject *swap = a;
        a = b;
        b = swap;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(a, &pos, &key, &value)) {
        int found = PyDict_Contains(b, key);
        if (found != 0) {
            return found;
        }
    }
    return 0;
}

/* A float argument (an int too, as Python multiplies by it). */
static int float_arg(PyObject *value, double *out)
{
    *out = PyFloat_AsDouble(value);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

/* Multiply by a float argument as Python would (a float, or an int Python converts first). */
#define EVIDENCE_ARGS 13

/* query_evidence(terms, term_of, shares, entities, phrases, entity_bonus, phrase_bonus, min_match,
 * paragraphs, hay, starts, stopwords, phrase_gap) -> (total, lexical, bonus, first, unique): the Parts of
 * align.query_evidence for one caption's query (shares: its terms' weights; entities: a set, or None when
 * there is no entity bonus; phrases: a list of (stem, stem)). */
static PyObject *query_evidence(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != EVIDENCE_ARGS) {
        PyErr_SetString(PyExc_TypeError, "query_evidence() takes 13 arguments");
        return NULL;
    }
    PyObject *terms = args[0], *term_of = args[1], *shares = args[2], *entities = args[3];
    PyObject *phrases = args[4], *hay = args[9], *starts_list = args[10], *stopwords = args[11];
    double entity_bonus, phrase_bonus, min_match;
    if (!PyDict_Check(terms) || !PyCallable_Check(term_of) || !PyDict_Check(shares)
        || (entities != Py_None && !PyAnySet_Check(entities)) || !PyList_Check(phrases) || !PyUnicode_Check(hay)
        || !PyAnySet_Check(stopwords)) {
        PyErr_SetString(PyExc_TypeError, "query_evidence(): wrong argument types");
        return NULL;
    }
    if (float_arg(args[5], &entity_bonus) < 0 || float_arg(args[6], &phrase_bonus) < 0
        || float_arg(args[7], &min_match) < 0) {
        return NULL;
    }
    Py_ssize_t paragraphs = PyLong_AsSsize_t(args[8]);
    if (paragraphs == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t gap = PyLong_AsSsize_t(args[12]);
    if (gap == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (paragraphs < 0) {
        PyErr_SetString(PyExc_ValueError, "query_evidence(): paragraphs < 0");
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t room = paragraphs > 0 ? paragraphs : 1, n_starts = 0;
    Py_ssize_t *starts = NULL;
    /* lexical, bonus, first, unique */
    Sparse parts[4];
    double *values = PyMem_Malloc((size_t)(4 * room) * sizeof(double));
    char *has = PyMem_Calloc((size_t)(5 * room), 1);
    Py_ssize_t *order = PyMem_Malloc((size_t)(5 * room) * sizeof(Py_ssize_t));
    if (values == NULL || has == NULL || order == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (int d = 0; d < 4; d++) {
        parts[d].values = values + d * room;
        parts[d].has = has + d * room;
        parts[d].order = order + d * room;
        parts[d].count = 0;
    }
    Sparse *lexical = &parts[0], *bonus = &parts[1], *first = &parts[2], *unique = &parts[3];
    double total = 0.0;
    int with_entities = entity_bonus != 0.0 && entities != Py_None;
    Py_ssize_t pos = 0;
    PyObject *term, *share_object;
    while (PyDict_Next(shares, &pos, &term, &share_object)) {
        double share;
        if (float_arg(share_object, &share) < 0) {
            goto done;
        }
        PyObject *stored = stored_term(terms, term_of, term);
        if (stored == NULL) {
            goto done;
        }
        double idf = PyFloat_AsDouble(PyTuple_GET_ITEM(stored, 0));
        if (idf == -1.0 && PyErr_Occurred()) {
            Py_DECREF(stored);
            goto done;
        }
        idf = idf * share;
        total += idf;
        PyObject *term_parts = PyTuple_GET_ITEM(stored, 1);
        Py_ssize_t count = PyList_GET_SIZE(term_parts);
        if (count == 0) {
            Py_DECREF(stored);
            continue;
        }
        int entity = with_entities ? PySet_Contains(entities, term) : 0;
        if (entity < 0) {
            Py_DECREF(stored);
            goto done;
        }
        double extra = entity_bonus * idf;
        Py_ssize_t opening = -1;
        for (Py_ssize_t p = 0; p < count; p++) {
            PyObject *pair = PyList_GET_ITEM(term_parts, p);
            if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
                PyErr_SetString(PyExc_TypeError, "a BM25 part is (ordinal, value)");
                Py_DECREF(stored);
                goto done;
            }
            Py_ssize_t o = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 0));
            double part = PyFloat_AsDouble(PyTuple_GET_ITEM(pair, 1));
            if (PyErr_Occurred()) {
                Py_DECREF(stored);
                goto done;
            }
            if (o < 0 || o >= paragraphs) {
                PyErr_SetString(PyExc_ValueError, "a BM25 part outside the paragraphs");
                Py_DECREF(stored);
                goto done;
            }
            if (p == 0) {
                opening = o; /* hits are in text order: the first part is the first paragraph */
            }
            sparse_add(lexical, o, idf * part);
            if (entity) {
                sparse_add(bonus, o, extra);
            }
        }
        sparse_add(first, opening, idf);
        if (count == 1) {
            sparse_add(unique, opening, idf);
        }
        Py_DECREF(stored);
    }
    if (total <= 0) {
        result = Py_BuildValue("(dNNNN)", 0.0, PyDict_New(), PyDict_New(), PyDict_New(), PyDict_New());
        goto done;
    }
    Py_ssize_t n_phrases = PyList_GET_SIZE(phrases);
    if (phrase_bonus != 0.0 && n_phrases > 0) {
        starts = ssize_array(starts_list, &n_starts);
        if (starts == NULL) {
            goto done;
        }
        if (n_starts != paragraphs) {
            PyErr_SetString(PyExc_ValueError, "query_evidence(): one start per paragraph");
            goto done;
        }
        char *marked = has + 4 * room;
        Py_ssize_t *marked_list = order + 4 * room;
        for (Py_ssize_t p = 0; p < n_phrases; p++) {
            PyObject *phrase = PyList_GET_ITEM(phrases, p);
            if (!PyTuple_Check(phrase) || PyTuple_GET_SIZE(phrase) != 2) {
                PyErr_SetString(PyExc_TypeError, "a phrase is (stem, stem)");
                goto done;
            }
            int repeated = 0; /* dict.fromkeys(phrases): each phrase once, where first given */
            for (Py_ssize_t q = 0; q < p && !repeated; q++) {
                repeated = PyObject_RichCompareBool(phrase, PyList_GET_ITEM(phrases, q), Py_EQ);
                if (repeated < 0) {
                    goto done;
                }
            }
            if (repeated) {
                continue;
            }
            PyObject *one = PyTuple_GET_ITEM(phrase, 0), *two = PyTuple_GET_ITEM(phrase, 1);
            PyObject *first_term = known_term(terms, one);
            PyObject *second_term = first_term ? known_term(terms, two) : NULL;
            if (second_term == NULL) {
                goto done;
            }
            int meet = dicts_meet(PyTuple_GET_ITEM(first_term, 3), PyTuple_GET_ITEM(second_term, 3));
            if (meet < 0) {
                goto done;
            }
            if (!meet) {
                continue;
            }
            PyObject *share_one = PyDict_GetItemWithError(shares, one);
            PyObject *share_two = share_one ? PyDict_GetItemWithError(shares, two) : NULL;
            if (share_two == NULL) {
                if (!PyErr_Occurred()) {
                    PyErr_SetObject(PyExc_KeyError, share_one ? two : one);
                }
                goto done;
            }
            double idf_one, idf_two, weight_one, weight_two;
            if (float_arg(PyTuple_GET_ITEM(first_term, 0), &idf_one) < 0
                || float_arg(PyTuple_GET_ITEM(second_term, 0), &idf_two) < 0
                || float_arg(share_one, &weight_one) < 0 || float_arg(share_two, &weight_two) < 0) {
                goto done;
            }
            double weight = phrase_bonus * (idf_one * weight_one + idf_two * weight_two) / 2;
            if (add_adjacent(PyTuple_GET_ITEM(first_term, 2), PyTuple_GET_ITEM(second_term, 2), hay, starts,
                             paragraphs, stopwords, gap, weight, bonus, marked, marked_list)
                < 0) {
                goto done;
            }
        }
    }
    double least = min_match * total;
    PyObject *lexical_dict = sparse_dict(lexical, least);
    PyObject *bonus_dict = lexical_dict ? sparse_dict(bonus, -INFINITY) : NULL;
    PyObject *first_dict = bonus_dict ? sparse_dict(first, -INFINITY) : NULL;
    PyObject *unique_dict = first_dict ? sparse_dict(unique, -INFINITY) : NULL;
    if (unique_dict == NULL) {
        Py_XDECREF(lexical_dict);
        Py_XDECREF(bonus_dict);
        Py_XDECREF(first_dict);
        goto done;
    }
    result = Py_BuildValue("(dNNNN)", total, lexical_dict, bonus_dict, first_dict, unique_dict);
done:
    PyMem_Free(values);
    PyMem_Free(has);
    PyMem_Free(order);
    PyMem_Free(starts);
    return result;
}

/* ---------------------------------------------------------------------------------------------------
 * body_layout
 */

static PyObject *str_label, *str_index, *str_text, *str_body, *str_subheading, *str_newline;
/* "__round__" and 6: round(probability, 6) of rank_learned. */
static PyObject *str_round, *int_six;
static PyObject *str_comma, *str_empty; /* "," and "", for caption_token and search_keys */

/* A list of n ints from a C array. */
static PyObject *int_list(const Py_ssize_t *values, Py_ssize_t n)
{
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = PyLong_FromSsize_t(values[i]);
        if (value == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, value);
    }
    return out;
}

/* Append (a, b) or (object, a, b) to a list. */
static int append_pair(PyObject *list, PyObject *object, Py_ssize_t a, Py_ssize_t b)
{
    PyObject *item = object ? Py_BuildValue("(Onn)", object, a, b) : Py_BuildValue("(nn)", a, b);
    if (item == NULL) {
        return -1;
    }
    int status = PyList_Append(list, item);
    Py_DECREF(item);
    return status;
}

static int append_ssize(PyObject *list, Py_ssize_t value)
{
    PyObject *item = PyLong_FromSsize_t(value);
    if (item == NULL) {
        return -1;
    }
    int status = PyList_Append(list, item);
    Py_DECREF(item);
    return status;
}

/* body_layout(blocks, caption_labels, k1, b) -> (indices, texts, hay, starts, ends, norms, sections,
 * captions, headings): the fields of align._Body.of. */
static PyObject *body_layout(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyList_Check(args[0]) || !PyAnySet_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "body_layout(blocks: list, caption_labels: frozenset, k1, b)");
        return NULL;
    }
    PyObject *blocks = args[0], *caption_labels = args[1];
    double k1, b;
    if (float_arg(args[2], &k1) < 0 || float_arg(args[3], &b) < 0) {
        return NULL;
    }
    PyObject *result = NULL, *hay = NULL, *joined = NULL, *pieces = NULL;
    PyObject *indices = PyList_New(0), *texts = PyList_New(0), *sections = PyList_New(0);
    PyObject *captions = PyList_New(0), *headings = PyList_New(0);
    PyObject *starts = NULL, *ends = NULL, *norms = NULL;
    Py_ssize_t *sizes = NULL, *offsets = NULL;
    if (indices == NULL || texts == NULL || sections == NULL || captions == NULL || headings == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(blocks); i++) {
        PyObject *block = PyList_GET_ITEM(blocks, i);
        PyObject *label = PyObject_GetAttr(block, str_label);
        if (label == NULL) {
            goto done;
        }
        int kind = 0; /* 1 body, 2 subheading, 3 caption */
        if (PyUnicode_Check(label) && PyUnicode_Compare(label, str_body) == 0) {
            kind = 1;
        }
        else if (PyUnicode_Check(label) && PyUnicode_Compare(label, str_subheading) == 0) {
            kind = 2;
        }
        else {
            int caption = PySet_Contains(caption_labels, label);
            kind = caption > 0 ? 3 : caption;
        }
        Py_DECREF(label);
        if (kind < 0 || PyErr_Occurred()) {
            goto done;
        }
        Py_ssize_t n_texts = PyList_GET_SIZE(texts), n_headings = PyList_GET_SIZE(headings);
        if (kind == 1) {
            PyObject *index = PyObject_GetAttr(block, str_index);
            PyObject *text = index ? PyObject_GetAttr(block, str_text) : NULL;
            int failed = text == NULL || !PyUnicode_Check(text) || PyList_Append(indices, index) < 0
                         || PyList_Append(texts, text) < 0 || append_ssize(sections, n_headings) < 0;
            if (text != NULL && !PyUnicode_Check(text)) {
                PyErr_SetString(PyExc_TypeError, "a body block's text is a str");
            }
            Py_XDECREF(index);
            Py_XDECREF(text);
            if (failed) {
                goto done;
            }
        }
        else if (kind == 2) {
            PyObject *index = PyObject_GetAttr(block, str_index);
            PyObject *heading = index ? Py_BuildValue("(On)", index, n_texts) : NULL;
            int failed = heading == NULL || PyList_Append(headings, heading) < 0;
            Py_XDECREF(index);
            Py_XDECREF(heading);
            if (failed) {
                goto done;
            }
        }
        else if (kind == 3 && append_pair(captions, block, n_texts, n_headings) < 0) {
            goto done;
        }
    }
    Py_ssize_t count = PyList_GET_SIZE(texts), total = 0;
    sizes = PyMem_Malloc((size_t)(count > 0 ? count : 1) * sizeof(Py_ssize_t));
    offsets = PyMem_Malloc((size_t)(count > 0 ? count : 1) * sizeof(Py_ssize_t));
    norms = PyList_New(count);
    if (sizes == NULL || offsets == NULL || norms == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_NoMemory();
        }
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        sizes[i] = PyUnicode_GET_LENGTH(PyList_GET_ITEM(texts, i));
        total += sizes[i];
    }
    /* avg = (sum(sizes) / len(sizes) if sizes else 1.0) or 1.0 */
    double avg = count ? (double)total / (double)count : 1.0;
    if (avg == 0.0) {
        avg = 1.0;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *norm = PyFloat_FromDouble(k1 * ((1 - b) + b * (double)sizes[i] / avg));
        if (norm == NULL) {
            goto done;
        }
        PyList_SET_ITEM(norms, i, norm);
    }
    /* hay = lower("\n".join(["", *texts, ""])) */
    pieces = PyList_New(count + 2);
    if (pieces == NULL) {
        goto done;
    }
    PyObject *empty = PyUnicode_New(0, 0);
    if (empty == NULL) {
        goto done;
    }
    PyList_SET_ITEM(pieces, 0, empty);
    PyList_SET_ITEM(pieces, count + 1, Py_NewRef(empty));
    for (Py_ssize_t i = 0; i < count; i++) {
        PyList_SET_ITEM(pieces, i + 1, Py_NewRef(PyList_GET_ITEM(texts, i)));
    }
    joined = PyUnicode_Join(str_newline, pieces);
    hay = joined ? lower(module, joined) : NULL;
    if (hay == NULL) {
        goto done;
    }
    if (PyUnicode_GET_LENGTH(hay) != total + count + 1) {
        /* Lower-casing changed some lengths ("İ" becomes "i" and a combining dot): offsets come from the
         * lower-cased paragraphs themselves. */
        for (Py_ssize_t i = 0; i < count; i++) {
            PyObject *lowered = lower(module, PyList_GET_ITEM(texts, i));
            if (lowered == NULL) {
                goto done;
            }
            sizes[i] = PyUnicode_GET_LENGTH(lowered);
            Py_DECREF(lowered);
        }
    }
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        at += 1 + sizes[i]; /* a newline before every paragraph */
        offsets[i] = at;
    }
    ends = int_list(offsets, count);
    for (Py_ssize_t i = 0; i < count; i++) {
        offsets[i] -= sizes[i];
    }
    starts = ends ? int_list(offsets, count) : NULL;
    if (starts == NULL) {
        goto done;
    }
    result = PyTuple_Pack(9, indices, texts, hay, starts, ends, norms, sections, captions, headings);
done:
    Py_XDECREF(indices);
    Py_XDECREF(texts);
    Py_XDECREF(sections);
    Py_XDECREF(captions);
    Py_XDECREF(headings);
    Py_XDECREF(starts);
    Py_XDECREF(ends);
    Py_XDECREF(norms);
    Py_XDECREF(pieces);
    Py_XDECREF(joined);
    Py_XDECREF(hay);
    PyMem_Free(sizes);
    PyMem_Free(offsets);
    return result;
}

/* ---------------------------------------------------------------------------------------------------
 * window_pieces
 */

/* " ".join(text.split()[:left]) */
static PyObject *first_tokens(PyObject *text, Py_ssize_t left)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), tokens = 0, size = 0, i = 0;
    /* First the length and the widest character of the result (no token is made and joined: the string
     * is the one join would make, of the narrowest kind), then the tokens copied into it. */
    Py_UCS4 widest = ' ';
    while (i < n && tokens < left) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (is_space(c)) {
            i++;
            continue;
        }
        size += tokens++ > 0; /* the space before it */
        while (i < n && !is_space(c = PyUnicode_READ(kind, data, i))) {
            widest = c > widest ? c : widest;
            size++;
            i++;
        }
    }
    PyObject *out = PyUnicode_New(size, widest);
    if (out == NULL) {
        return NULL;
    }
    /* Written character by character: PyUnicode_CopyCharacters refuses to copy an ASCII slice of a Latin-1
     * string into an ASCII one when a non-ASCII character comes before the slice (CPython 3.11 checks the
     * source from its start, not from the slice). */
    int out_kind = PyUnicode_KIND(out);
    void *out_data = PyUnicode_DATA(out);
    Py_ssize_t at = 0;
    for (Py_ssize_t copied = 0, start = 0; copied < tokens;) {
        if (is_space(PyUnicode_READ(kind, data, start))) {
            start++;
            continue;
        }
        if (copied++ > 0) {
            PyUnicode_WRITE(out_kind, out_data, at++, ' ');
        }
        Py_UCS4 c;
        while (start < n && !is_space(c = PyUnicode_READ(kind, data, start))) {
            PyUnicode_WRITE(out_kind, out_data, at++, c);
            start++;
        }
    }
    return out;
}

/* Append joined[start:end] (Python slicing, both >= 0) to pieces. */
static int append_slice(PyObject *pieces, PyObject *joined, Py_ssize_t start, Py_ssize_t end)
{
    if (start < 0 || end < 0) {
        PyErr_SetString(PyExc_ValueError, "window_pieces(): a negative offset");
        return -1;
    }
    PyObject *piece = PyUnicode_Substring(joined, start, end);
    if (piece == NULL) {
        return -1;
    }
    int status = PyList_Append(pieces, piece);
    Py_DECREF(piece);
    return status;
}

/* window_pieces(texts, lengths, joined, starts, gap, left) -> list[str]: what align.context_window adds
 * after the title when the body does not fit the budget: the lead, then paragraphs alternating before
 * and after the caption, the one that overflows cut, as slices of the joined body. */
static PyObject *window_pieces(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyList_Check(args[0]) || !PyUnicode_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "window_pieces(texts: list, lengths: list, joined: str, starts: list, "
                                         "gap: int, left: int)");
        return NULL;
    }
    PyObject *texts = args[0], *joined = args[2];
    Py_ssize_t count = PyList_GET_SIZE(texts), n_lengths = 0, n_starts = 0;
    Py_ssize_t gap = PyLong_AsSsize_t(args[4]);
    if (gap == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t left = PyLong_AsSsize_t(args[5]);
    if (left == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *result = NULL, *pieces = NULL, *cut_text = NULL;
    Py_ssize_t *lengths = ssize_array(args[1], &n_lengths);
    Py_ssize_t *starts = lengths ? ssize_array(args[3], &n_starts) : NULL;
    if (starts == NULL) {
        goto done;
    }
    if (count == 0 || n_lengths != count || n_starts != count + 1 || gap < 0 || gap > count) {
        PyErr_SetString(PyExc_ValueError, "window_pieces(): one length per text, one start more, 0 <= gap <= texts");
        goto done;
    }
    Py_ssize_t cut = -1; /* the paragraph that overflows the budget (the last one taken), cut to fit */
    if (lengths[0] > left) {
        cut = 0;
        cut_text = first_tokens(PyList_GET_ITEM(texts, 0), left);
        if (cut_text == NULL) {
            goto done;
        }
        left = 0;
    }
    else {
        left -= lengths[0];
    }
    Py_ssize_t before = gap - 1, after = gap, low = gap, high = gap;
    int turn_before = 1;
    while (left > 0 && (before >= 0 || after < count)) {
        Py_ssize_t ordinal;
        if ((turn_before && before >= 0) || after >= count) {
            ordinal = low = before;
            before -= 1;
        }
        else {
            ordinal = after;
            high = after = after + 1;
        }
        turn_before = !turn_before;
        if (ordinal == 0) {
            continue; /* the lead is in already */
        }
        if (lengths[ordinal] > left) {
            cut = ordinal;
            Py_XDECREF(cut_text);
            cut_text = first_tokens(PyList_GET_ITEM(texts, ordinal), left);
            if (cut_text == NULL) {
                goto done;
            }
            left = 0;
        }
        else {
            left -= lengths[ordinal];
        }
    }
    Py_ssize_t runs[2][2], n_runs;
    if (low >= high) {
        runs[0][0] = 0, runs[0][1] = 1, n_runs = 1;
    }
    else if (low <= 1) {
        runs[0][0] = 0, runs[0][1] = high, n_runs = 1;
    }
    else {
        runs[0][0] = 0, runs[0][1] = 1, runs[1][0] = low, runs[1][1] = high, n_runs = 2;
    }
    pieces = PyList_New(0);
    if (pieces == NULL) {
        goto done;
    }
    for (Py_ssize_t r = 0; r < n_runs; r++) {
        Py_ssize_t first = runs[r][0], last = runs[r][1];
        if (first <= cut && cut < last) {
            if (first < cut && append_slice(pieces, joined, starts[first], starts[cut] - 2) < 0) {
                goto done;
            }
            if (PyList_Append(pieces, cut_text) < 0) {
                goto done;
            }
            if (cut + 1 < last && append_slice(pieces, joined, starts[cut + 1], starts[last] - 2) < 0) {
                goto done;
            }
        }
        else if (append_slice(pieces, joined, starts[first], starts[last] - 2) < 0) {
            goto done;
        }
    }
    result = Py_NewRef(pieces);
done:
    Py_XDECREF(pieces);
    Py_XDECREF(cut_text);
    PyMem_Free(lengths);
    PyMem_Free(starts);
    return result;
}

/* ---------------------------------------------------------------------------------------------------
 * caption_query
 */

static inline int is_decimal(Py_UCS4 c)
{
    return c < 128 ? (c >= '0' && c <= '9') : Py_UNICODE_ISDECIMAL(c);
}

/* Where SENTENCE_END ([.!?]["'’”)]?\s+(?=[A-Z])) first matches in text ends, or the text's length. */
static Py_ssize_t first_sentence_end(int kind, const void *data, Py_ssize_t n)
{
    for (Py_ssize_t p = 0; p < n; p++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, p);
        if (c != '.' && c != '!' && c != '?') {
            continue;
        }
        Py_ssize_t q = p + 1;
        if (q < n) {
            Py_UCS4 d = PyUnicode_READ(kind, data, q);
            if (d == '"' || d == '\'' || d == 0x2019 || d == 0x201D || d == ')') {
                q++; /* without the quote, \s+ would have to start on it */
            }
        }
        Py_ssize_t r = q;
        while (r < n && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, r))) {
            r++;
        }
        if (r > q && r < n) {
            Py_UCS4 e = PyUnicode_READ(kind, data, r);
            if (e >= 'A' && e <= 'Z') {
                return r;
            }
        }
    }
    return n;
}

/* The end of CAPTION_WORD's match (\d{1,3}(?:,\d{3})+(?!\d)|[^\W_]+) at p in text[:stop], or -1. The
 * first branch backtracks as re does: the most leading digits first, then the most groups. */
static Py_ssize_t caption_word_end(int kind, const void *data, Py_ssize_t stop, Py_ssize_t p)
{
    for (Py_ssize_t digits = 3; digits >= 1; digits--) {
        Py_ssize_t q = p;
        while (q < p + digits && q < stop && is_decimal(PyUnicode_READ(kind, data, q))) {
            q++;
        }
        if (q != p + digits) {
            continue;
        }
        Py_ssize_t groups = 0, r = q;
        /* (?:,\d{3})+ greedy: group g ends at q + 4 g; backtracked from the last one */
        while (r + 4 <= stop && PyUnicode_READ(kind, data, r) == ','
               && is_decimal(PyUnicode_READ(kind, data, r + 1)) && is_decimal(PyUnicode_READ(kind, data, r + 2))
               && is_decimal(PyUnicode_READ(kind, data, r + 3))) {
            r += 4;
            groups++;
        }
        for (Py_ssize_t g = groups; g >= 1; g--) {
            Py_ssize_t end = q + 4 * g;
            if (end >= stop || !is_decimal(PyUnicode_READ(kind, data, end))) {
                return end;
            }
        }
    }
    if (!is_alnum(PyUnicode_READ(kind, data, p))) {
        return -1;
    }
    Py_ssize_t end = p + 1;
    while (end < stop && is_alnum(PyUnicode_READ(kind, data, end))) {
        end++;
    }
    return end;
}

/* The terms of text[start:stop] (one piece of the caption), as align.query's loop finds them. */
static int query_piece(PyObject *text, Py_ssize_t start, Py_ssize_t stop, double weight, double common_weight,
                       PyObject *caption_token, PyObject *terms, PyObject *entities, PyObject *phrases)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *previous = NULL; /* borrowed from terms' keys or the token tuple held in `held` */
    PyObject *held = NULL;     /* the known tuple `previous` comes from */
    int previous_word = 0, bridged = 0;
    Py_ssize_t position = 0;
    int status = -1;
    for (Py_ssize_t p = start; p < stop;) {
        Py_ssize_t end = caption_word_end(kind, data, stop, p);
        if (end < 0) {
            p++;
            continue;
        }
        PyObject *token = PyUnicode_Substring(text, p, end);
        if (token == NULL) {
            goto done;
        }
        p = end;
        PyObject *known = PyObject_CallOneArg(caption_token, token);
        Py_DECREF(token);
        if (known == NULL) {
            goto done;
        }
        position++;
        if (known == Py_None) {
            Py_DECREF(known);
            bridged = 1;
            continue;
        }
        if (!PyTuple_Check(known) || PyTuple_GET_SIZE(known) != 4) {
            Py_DECREF(known);
            PyErr_SetString(PyExc_TypeError, "_caption_token gives (stem, common, digit, upper) or None");
            goto done;
        }
        PyObject *term = PyTuple_GET_ITEM(known, 0);
        int common = PyObject_IsTrue(PyTuple_GET_ITEM(known, 1));
        int digit = PyObject_IsTrue(PyTuple_GET_ITEM(known, 2));
        int upper = PyObject_IsTrue(PyTuple_GET_ITEM(known, 3));
        if (common < 0 || digit < 0 || upper < 0) {
            Py_DECREF(known);
            goto done;
        }
        double share = common ? weight * common_weight : weight;
        PyObject *had = PyDict_GetItemWithError(terms, term);
        if (had == NULL && PyErr_Occurred()) {
            Py_DECREF(known);
            goto done;
        }
        double before = 0.0;
        if (had != NULL && (before = PyFloat_AsDouble(had)) == -1.0 && PyErr_Occurred()) {
            Py_DECREF(known);
            goto done;
        }
        if (before < share) {
            PyObject *value = PyFloat_FromDouble(share);
            int failed = value == NULL || PyDict_SetItem(terms, term, value) < 0;
            Py_XDECREF(value);
            if (failed) {
                Py_DECREF(known);
                goto done;
            }
        }
        /* The caption's first word is capitalised by position, not because it is a name. */
        if ((digit || (upper && (position > 1 || weight != 1.0))) && PySet_Add(entities, term) < 0) {
            Py_DECREF(known);
            goto done;
        }
        if (upper || digit) {
            if (previous != NULL && (!bridged || (previous_word && upper))) {
                int same = PyObject_RichCompareBool(previous, term, Py_EQ);
                if (same < 0) {
                    Py_DECREF(known);
                    goto done;
                }
                if (!same) {
                    PyObject *phrase = PyTuple_Pack(2, previous, term);
                    int failed = phrase == NULL || PyList_Append(phrases, phrase) < 0;
                    Py_XDECREF(phrase);
                    if (failed) {
                        Py_DECREF(known);
                        goto done;
                    }
                }
            }
            Py_XDECREF(held);
            held = known; /* keeps `previous` alive */
            previous = term;
            previous_word = !digit;
        }
        else {
            Py_DECREF(known);
            Py_CLEAR(held);
            previous = NULL;
        }
        bridged = 0;
    }
    status = 0;
done:
    Py_XDECREF(held);
    return status;
}

/* caption_query(text, caption_token, background_weight, common_weight) -> (terms, entities, phrases):
 * align.query's terms of a caption text (its label prefix aside). */
static PyObject *caption_query(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyUnicode_Check(args[0]) || !PyCallable_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "caption_query(text: str, caption_token, background_weight: float, common_weight: float)");
        return NULL;
    }
    PyObject *text = args[0], *caption_token = args[1];
    double background, common;
    if (float_arg(args[2], &background) < 0 || float_arg(args[3], &common) < 0) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_ssize_t cut = first_sentence_end(PyUnicode_KIND(text), PyUnicode_DATA(text), n);
    PyObject *terms = PyDict_New();
    PyObject *entities = terms ? PySet_New(NULL) : NULL;
    PyObject *phrases = entities ? PyList_New(0) : NULL;
    if (phrases == NULL || query_piece(text, 0, cut, 1.0, common, caption_token, terms, entities, phrases) < 0
        || query_piece(text, cut, n, background, common, caption_token, terms, entities, phrases) < 0) {
        Py_XDECREF(terms);
        Py_XDECREF(entities);
        Py_XDECREF(phrases);
        return NULL;
    }
    return Py_BuildValue("(NNN)", terms, entities, phrases);
}

/* ---------------------------------------------------------------------------------------------------
 * learned_related: align.gallery_evidence, learned_scores and rank_learned of one gallery
 */

#define LEARNED_ARGS 13
#define LEARNED_WEIGHTS 14

/* The weights of align.learned_scores, in FEATURE_NAMES order. */
enum {
    W_MATCH, W_BONUS, W_EVIDENCE, W_RELATIVE, W_GALLERY, W_BEFORE, W_AFTER, W_IS_AFTER, W_ADJACENT, W_SECTION,
    W_LEAD, W_LEAD_CAPTION, W_FIRST, W_UNIQUE
};

/* A candidate paragraph of one caption: its learned score, distance to the caption and ordinal. */
typedef struct {
    double score;
    Py_ssize_t distance;
    Py_ssize_t ordinal;
} Candidate;

/* rank_learned's order: the tuples (-score, distance, ordinal) ascending (no score is NaN here). */
static int candidate_order(const void *a, const void *b)
{
    const Candidate *x = a, *y = b;
    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    if (x->distance != y->distance) {
        return x->distance < y->distance ? -1 : 1;
    }
    return (x->ordinal > y->ordinal) - (x->ordinal < y->ordinal);
}

/* Per paragraph ordinal, the values of one dict {ordinal: float} (has[o]: whether o is a key). */
typedef struct {
    double *values;
    char *has;
} Dense;

/* The outcome of reading or scoring: done, a Python error, or a case for the Python definition (a value
 * where Python would raise or compare NaN: align.py then runs its own code, which decides). */
#define DONE 0
#define FAILED -1
#define DEFER -2

/* An ordinal key of a Parts dict and its float value; DEFER for an ordinal outside the body. */
static int ordinal_item(PyObject *key, PyObject *value, Py_ssize_t paragraphs, Py_ssize_t *o, double *x)
{
    if (!PyLong_Check(key) || !PyFloat_Check(value)) {
        return DEFER;
    }
    *o = PyLong_AsSsize_t(key);
    if (*o == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return DEFER;
    }
    if (*o < 0 || *o >= paragraphs) {
        return DEFER;
    }
    *x = PyFloat_AS_DOUBLE(value);
    return DONE;
}

/* Fill a Dense from a dict (its earlier keys cleared first, through the dict that set them). */
static int dense_load(Dense *d, PyObject *dict, Py_ssize_t paragraphs)
{
    Py_ssize_t pos = 0, o;
    PyObject *key, *value;
    double x;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        int status = ordinal_item(key, value, paragraphs, &o, &x);
        if (status != DONE) {
            return status;
        }
        d->has[o] = 1;
        d->values[o] = x;
    }
    return DONE;
}

/* Undo dense_load (keys outside the body were never set). */
static void dense_clear(Dense *d, PyObject *dict, Py_ssize_t paragraphs)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        Py_ssize_t o = PyLong_Check(key) ? PyLong_AsSsize_t(key) : -1;
        if (o == -1 && PyErr_Occurred()) {
            PyErr_Clear();
        }
        if (o >= 0 && o < paragraphs) {
            d->has[o] = 0;
        }
    }
}

/* The parts of one caption (a Parts tuple: total, lexical, bonus, first, unique). */
typedef struct {
    double total;
    PyObject *lexical, *bonus, *first, *unique; /* borrowed */
} MemberParts;

static int member_parts(PyObject *item, MemberParts *m)
{
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 5 || !PyFloat_Check(PyTuple_GET_ITEM(item, 0))) {
        return DEFER;
    }
    m->total = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(item, 0));
    m->lexical = PyTuple_GET_ITEM(item, 1);
    m->bonus = PyTuple_GET_ITEM(item, 2);
    m->first = PyTuple_GET_ITEM(item, 3);
    m->unique = PyTuple_GET_ITEM(item, 4);
    if (!PyDict_CheckExact(m->lexical) || !PyDict_CheckExact(m->bonus) || !PyDict_CheckExact(m->first)
        || !PyDict_CheckExact(m->unique)) {
        return DEFER;
    }
    return DONE;
}

/* The evidence of every paragraph the caption matches (lexical + bonus, in the lexical dict's order, as
 * gallery_evidence adds it: plus 0.0 where no bonus) and the largest (max() keeps the first of equals). */
static int member_evidence(const MemberParts *m, const Dense *bonus, Py_ssize_t paragraphs, double *evidence,
                           Py_ssize_t *ordinals, double *top)
{
    Py_ssize_t pos = 0, i = 0, o;
    PyObject *key, *value;
    double x;
    while (PyDict_Next(m->lexical, &pos, &key, &value)) {
        int status = ordinal_item(key, value, paragraphs, &o, &x);
        if (status != DONE) {
            return status;
        }
        double e = x + (bonus->has[o] ? bonus->values[o] : 0.0);
        if (isnan(e)) {
            return DEFER;
        }
        if (i == 0 || e > *top) {
            *top = e;
        }
        ordinals[i] = o;
        evidence[i++] = e;
    }
    return *top == 0.0 ? DEFER : DONE; /* Python divides by it: ZeroDivisionError */
}

/* A Related(block_index, round(probability, 6), text) of the body paragraph o. */
static PyObject *make_related(PyObject *related_type, PyObject *indices, PyObject *texts, Py_ssize_t o,
                              double probability)
{
    PyObject *unrounded = PyFloat_FromDouble(probability);
    if (unrounded == NULL) {
        return NULL;
    }
    PyObject *rounded = PyObject_CallMethodOneArg(unrounded, str_round, int_six);
    Py_DECREF(unrounded);
    if (rounded == NULL) {
        return NULL;
    }
    PyObject *args[3] = {PyList_GET_ITEM(indices, o), rounded, PyList_GET_ITEM(texts, o)};
    PyObject *related = PyObject_Vectorcall(related_type, args, 3, NULL);
    Py_DECREF(rounded);
    return related;
}

/* Working memory of one call, per paragraph of the body. */
typedef struct {
    Dense bonus, first, unique, relative;
    double *sums, *evidence;
    char *summed;
    Py_ssize_t *summed_order, *ordinals;
    Candidate *candidates;
} Scratch;

/* One block of memory for all of it. */
static int scratch_alloc(Scratch *s, Py_ssize_t n)
{
    size_t count = (size_t)(n > 0 ? n : 1);
    double *doubles = PyMem_Calloc(count * 6 + 1, sizeof(double));
    char *flags = PyMem_Calloc(count * 5 + 1, 1);
    Py_ssize_t *sizes = PyMem_Calloc(count * 2 + 1, sizeof(Py_ssize_t));
    Candidate *candidates = PyMem_Calloc(count * 2 + 1, sizeof(Candidate));
    if (doubles == NULL || flags == NULL || sizes == NULL || candidates == NULL) {
        PyMem_Free(doubles);
        PyMem_Free(flags);
        PyMem_Free(sizes);
        PyMem_Free(candidates);
        PyErr_NoMemory();
        return FAILED;
    }
    s->bonus = (Dense){doubles, flags};
    s->first = (Dense){doubles + count, flags + count};
    s->unique = (Dense){doubles + 2 * count, flags + 2 * count};
    s->relative = (Dense){doubles + 3 * count, flags + 3 * count};
    s->sums = doubles + 4 * count;
    s->evidence = doubles + 5 * count;
    s->summed = flags + 4 * count;
    s->summed_order = sizes;
    s->ordinals = sizes + count;
    s->candidates = candidates;
    return DONE;
}

static void scratch_release(Scratch *s)
{
    PyMem_Free(s->bonus.values);
    PyMem_Free(s->bonus.has);
    PyMem_Free(s->summed_order);
    PyMem_Free(s->candidates);
}

/* The section number of body paragraph o (body.sections[o]); DEFER unless a small int. */
static int section_of(PyObject *sections, Py_ssize_t o, Py_ssize_t *out)
{
    PyObject *item = PyList_GET_ITEM(sections, o);
    if (!PyLong_Check(item)) {
        return DEFER;
    }
    *out = PyLong_AsSsize_t(item);
    if (*out == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return DEFER;
    }
    return DONE;
}

/* learned_scores + rank_learned of one member of the gallery, its gallery evidence being the sums (of the
 * relative evidence of the members with evidence, ``others`` + 1 of them) without its own part. */
static int rank_member(const MemberParts *m, Scratch *s, Py_ssize_t summed_count, Py_ssize_t others,
                       const double *w, Py_ssize_t gap, Py_ssize_t section, PyObject *sections, double scale_p,
                       double offset, double least, Py_ssize_t top_k, double score_half, PyObject *indices,
                       PyObject *texts, PyObject *related_type, PyObject **out)
{
    Py_ssize_t paragraphs = PyList_GET_SIZE(sections);
    *out = NULL;
    if (PyDict_GET_SIZE(m->lexical) == 0) {
        *out = PyList_New(0);
        return *out ? DONE : FAILED;
    }
    int status = dense_load(&s->bonus, m->bonus, paragraphs);
    if (status == DONE) {
        status = dense_load(&s->first, m->first, paragraphs);
    }
    if (status == DONE) {
        status = dense_load(&s->unique, m->unique, paragraphs);
    }
    Py_ssize_t count = 0; /* candidates */
    double top = 0.0;
    Py_ssize_t matched = PyDict_GET_SIZE(m->lexical);
    if (status == DONE) {
        status = member_evidence(m, &s->bonus, paragraphs, s->evidence, s->ordinals, &top);
    }
    if (status == DONE && others > 0) { /* relative evidence, as gallery_evidence has it */
        for (Py_ssize_t i = 0; i < matched; i++) {
            s->relative.has[s->ordinals[i]] = 1;
            s->relative.values[s->ordinals[i]] = s->evidence[i] / top;
        }
    }
    double total = m->total;
    if (status == DONE && (total == 0.0 || score_half == 0.0)) {
        status = DEFER; /* Python divides by them */
    }
    if (status == DONE) {
        int has_bonus = PyDict_GET_SIZE(m->bonus) > 0;
        /* learned_scores: evidence is lexical itself when there is no bonus (no + 0.0). */
        Py_ssize_t pos = 0, o;
        PyObject *key, *value;
        double lexical_value, own_top = 0.0;
        Py_ssize_t i = 0;
        while (PyDict_Next(m->lexical, &pos, &key, &value)) {
            (void)ordinal_item(key, value, paragraphs, &o, &lexical_value); /* read once already */
            double e = has_bonus ? lexical_value + (s->bonus.has[o] ? s->bonus.values[o] : 0.0) : lexical_value;
            if (i++ == 0 || e > own_top) {
                own_top = e;
            }
        }
        if (isnan(own_top) || own_top == 0.0) {
            status = DEFER;
        }
        double scale = w[W_EVIDENCE] / score_half + w[W_RELATIVE] / own_top;
        double w_match = w[W_MATCH] / total, w_bonus = w[W_BONUS] / total, w_first = w[W_FIRST] / total;
        double w_unique = w[W_UNIQUE] / total;
        pos = 0;
        while (status == DONE && PyDict_Next(m->lexical, &pos, &key, &value)) {
            (void)ordinal_item(key, value, paragraphs, &o, &lexical_value);
            double e = has_bonus ? lexical_value + (s->bonus.has[o] ? s->bonus.values[o] : 0.0) : lexical_value;
            Py_ssize_t distance, own_section;
            double score;
            if (o < gap) {
                distance = gap - 1 - o;
                score = scale * e + w[W_BEFORE] * log1p((double)distance);
            }
            else {
                distance = o - gap;
                score = scale * e + w[W_AFTER] * log1p((double)distance) + w[W_IS_AFTER];
            }
            if (distance == 0) {
                score += w[W_ADJACENT];
            }
            status = section_of(sections, o, &own_section);
            if (status != DONE) {
                break;
            }
            if (own_section == section) {
                score += w[W_SECTION];
            }
            if (others > 0 && s->summed[o]) {
                double mean = (s->sums[o] - (s->relative.has[o] ? s->relative.values[o] : 0.0)) / (double)others;
                if (mean > 0) {
                    score += w[W_GALLERY] * mean;
                }
            }
            score += w_match * lexical_value;
            if (s->bonus.has[o]) {
                score += w_bonus * s->bonus.values[o];
            }
            if (s->first.has[o]) {
                score += w_first * s->first.values[o];
            }
            if (s->unique.has[o]) {
                score += w_unique * s->unique.values[o];
            }
            s->candidates[count++] = (Candidate){score, distance, o};
        }
        /* The gallery's candidates the caption does not match itself. */
        for (Py_ssize_t j = 0; status == DONE && others > 0 && j < summed_count; j++) {
            o = s->summed_order[j];
            if (s->relative.has[o]) {
                continue; /* in lexical */
            }
            double mean = (s->sums[o] - 0.0) / (double)others;
            if (!(mean > 0)) {
                continue;
            }
            Py_ssize_t distance, own_section;
            double score;
            if (o < gap) {
                distance = gap - 1 - o;
                score = w[W_BEFORE] * log1p((double)distance);
            }
            else {
                distance = o - gap;
                score = w[W_AFTER] * log1p((double)distance) + w[W_IS_AFTER];
            }
            if (distance == 0) {
                score += w[W_ADJACENT];
            }
            status = section_of(sections, o, &own_section);
            if (status != DONE) {
                break;
            }
            if (own_section == section) {
                score += w[W_SECTION];
            }
            score += w[W_GALLERY] * mean;
            if (s->first.has[o]) {
                score += w_first * s->first.values[o];
            }
            if (s->unique.has[o]) {
                score += w_unique * s->unique.values[o];
            }
            s->candidates[count++] = (Candidate){score, distance, o};
        }
    }
    if (status == DONE) {
        for (Py_ssize_t i = 0; i < count; i++) {
            if (s->candidates[i].ordinal == 0) {
                s->candidates[i].score += w[W_LEAD] + (gap == 0 ? w[W_LEAD_CAPTION] : 0.0);
            }
            if (isnan(s->candidates[i].score)) {
                status = DEFER; /* Python's sort and max() with NaN: left to Python */
            }
        }
    }
    /* rank_learned: those reaching least, best first, the first top_k (a slice: top_k < 0 drops some). */
    Py_ssize_t kept = 0;
    if (status == DONE) {
        for (Py_ssize_t i = 0; i < count; i++) {
            if (s->candidates[i].score >= least) {
                s->candidates[kept++] = s->candidates[i];
            }
        }
        qsort(s->candidates, (size_t)kept, sizeof(Candidate), candidate_order);
        Py_ssize_t take = top_k >= 0 ? (top_k < kept ? top_k : kept) : (kept + top_k > 0 ? kept + top_k : 0);
        /* exp overflowing to inf gives a probability of 0, as _probability does in Python. */
        if (status == DONE) {
            *out = PyList_New(take);
            if (*out == NULL) {
                status = FAILED;
            }
            for (Py_ssize_t i = 0; status == DONE && i < take; i++) {
                Py_ssize_t o = s->candidates[i].ordinal;
                double probability = 1.0 / (1.0 + exp(scale_p * -s->candidates[i].score - offset));
                PyObject *related = make_related(related_type, indices, texts, o, probability);
                if (related == NULL) {
                    status = FAILED;
                    break;
                }
                PyList_SET_ITEM(*out, i, related);
            }
            if (status != DONE) {
                Py_CLEAR(*out);
            }
        }
    }
    /* Leave the scratch clear for the next member. */
    dense_clear(&s->bonus, m->bonus, paragraphs);
    dense_clear(&s->first, m->first, paragraphs);
    dense_clear(&s->unique, m->unique, paragraphs);
    dense_clear(&s->relative, m->lexical, paragraphs);
    return status;
}

/* A float argument that is a float (an int would be converted where Python may keep it exact). */
static int exact_float(PyObject *value, double *out)
{
    if (!PyFloat_Check(value)) {
        return DEFER;
    }
    *out = PyFloat_AS_DOUBLE(value);
    return DONE;
}

/* learned_related(parts, members, sections, indices, texts, gap, weights, scale, offset, least, top_k,
 * score_half, related_type) -> list[list[Related]] | None: for every member (block, gap, section) of one
 * gallery with its Parts, rank_learned(learned_scores(...)) with the gallery_evidence of the gallery, as
 * align.py computes them (weights, scale, offset: load_model(); least: _least_learned_score(min_score)).
 * None where Python would raise or meet a NaN (a zero total, score_half or best evidence, an exp out of
 * range): align.py then runs its definition. */
static PyObject *learned_related(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != LEARNED_ARGS) {
        PyErr_SetString(PyExc_TypeError, "learned_related() takes 13 arguments");
        return NULL;
    }
    PyObject *parts = args[0], *members = args[1], *sections = args[2], *indices = args[3], *texts = args[4];
    PyObject *weights = args[6], *related_type = args[12];
    if (!PyList_Check(parts) || !PyList_Check(members) || !PyList_Check(sections) || !PyList_Check(indices)
        || !PyList_Check(texts) || !PyTuple_Check(weights) || !PyCallable_Check(related_type)) {
        PyErr_SetString(PyExc_TypeError, "learned_related(): wrong argument types");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(parts), paragraphs = PyList_GET_SIZE(sections);
    if (PyList_GET_SIZE(members) != count || PyList_GET_SIZE(indices) != paragraphs
        || PyList_GET_SIZE(texts) != paragraphs || PyTuple_GET_SIZE(weights) != LEARNED_WEIGHTS) {
        PyErr_SetString(PyExc_ValueError, "learned_related(): lists of different lengths");
        return NULL;
    }
    double w[LEARNED_WEIGHTS], scale, offset, least, score_half;
    int status = DONE;
    for (Py_ssize_t i = 0; status == DONE && i < LEARNED_WEIGHTS; i++) {
        status = exact_float(PyTuple_GET_ITEM(weights, i), &w[i]);
    }
    if (status == DONE) {
        status = exact_float(args[7], &scale);
    }
    if (status == DONE) {
        status = exact_float(args[8], &offset);
    }
    if (status == DONE) {
        status = exact_float(args[9], &least);
    }
    if (status == DONE) {
        status = exact_float(args[11], &score_half);
    }
    Py_ssize_t gap = -1, top_k = 0;
    if (status == DONE && PyLong_Check(args[5]) && PyLong_Check(args[10])) {
        gap = PyLong_AsSsize_t(args[5]);
        top_k = gap == -1 && PyErr_Occurred() ? -1 : PyLong_AsSsize_t(args[10]);
        if (PyErr_Occurred()) {
            PyErr_Clear();
            status = DEFER;
        }
    }
    else {
        status = DEFER;
    }
    if (status == DEFER) {
        Py_RETURN_NONE;
    }
    MemberParts *m = PyMem_Calloc((size_t)(count > 0 ? count : 1), sizeof(MemberParts));
    if (m == NULL) {
        return PyErr_NoMemory();
    }
    Scratch s;
    if (scratch_alloc(&s, paragraphs) != DONE) {
        PyMem_Free(m);
        return NULL;
    }
    Py_ssize_t with_evidence = 0;
    for (Py_ssize_t j = 0; status == DONE && j < count; j++) {
        status = member_parts(PyList_GET_ITEM(parts, j), &m[j]);
        if (status == DONE && PyDict_GET_SIZE(m[j].lexical) > 0) {
            with_evidence++;
        }
    }
    /* gallery_evidence: sums of the relative evidence of the members with evidence, in member order. */
    Py_ssize_t others = count >= 2 && with_evidence >= 2 ? with_evidence - 1 : 0, summed = 0;
    for (Py_ssize_t j = 0; status == DONE && others > 0 && j < count; j++) {
        Py_ssize_t matched = PyDict_GET_SIZE(m[j].lexical);
        if (matched == 0) {
            continue;
        }
        double top = 0.0;
        status = dense_load(&s.bonus, m[j].bonus, paragraphs);
        if (status == DONE) {
            status = member_evidence(&m[j], &s.bonus, paragraphs, s.evidence, s.ordinals, &top);
        }
        dense_clear(&s.bonus, m[j].bonus, paragraphs);
        for (Py_ssize_t i = 0; status == DONE && i < matched; i++) {
            Py_ssize_t o = s.ordinals[i];
            double v = s.evidence[i] / top;
            if (!s.summed[o]) {
                s.summed[o] = 1;
                s.summed_order[summed++] = o;
                s.sums[o] = 0.0 + v;
            }
            else {
                s.sums[o] = s.sums[o] + v;
            }
        }
    }
    PyObject *result = status == DONE ? PyList_New(count) : NULL;
    if (status == DONE && result == NULL) {
        status = FAILED;
    }
    for (Py_ssize_t j = 0; status == DONE && j < count; j++) {
        PyObject *member = PyList_GET_ITEM(members, j), *related;
        Py_ssize_t section = -1;
        if (!PyTuple_Check(member) || PyTuple_GET_SIZE(member) != 3 || !PyLong_Check(PyTuple_GET_ITEM(member, 2))) {
            status = DEFER;
            break;
        }
        section = PyLong_AsSsize_t(PyTuple_GET_ITEM(member, 2));
        if (section == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            status = DEFER;
            break;
        }
        status = rank_member(&m[j], &s, summed, others, w, gap, section, sections, scale, offset, least, top_k,
                             score_half, indices, texts, related_type, &related);
        if (status == DONE) {
            PyList_SET_ITEM(result, j, related);
        }
    }
    scratch_release(&s);
    PyMem_Free(m);
    if (status == DONE) {
        return result;
    }
    Py_XDECREF(result);
    if (status == DEFER) {
        Py_RETURN_NONE;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------------
 * stem: align.stem (the definition), the same string for every str
 */

/* align.IRREGULAR */
static const char *const irregular[][2] = {
    {"men", "man"},       {"women", "woman"}, {"children", "child"}, {"people", "person"},
    {"feet", "foot"},     {"news", "news"},   {"french", "france"},  {"dutch", "netherlands"},
};

#define IRREGULAR_COUNT ((int)(sizeof(irregular) / sizeof(irregular[0])))
/* strlen of every irregular form, filled in when the module is made. */
static Py_ssize_t irregular_lengths[IRREGULAR_COUNT];

/* align.SUFFIX_RULES: suffix, replacement, least stem length left behind; first match wins. */
typedef struct {
    const char *suffix;
    const char *replacement;
    Py_ssize_t least;
} SuffixRule;

static const SuffixRule suffix_rules[] = {
    {"ments", "", 4}, {"ment", "", 4},   {"nesses", "", 3}, {"ness", "", 3},    {"ingly", "", 3},
    {"ings", "", 3},  {"ing", "", 3},    {"edly", "", 3},   {"ied", "y", 2},    {"ies", "y", 2},
    {"ians", "", 3},  {"ian", "", 3},    {"icans", "ic", 3}, {"ican", "ic", 3}, {"eans", "e", 3},
    {"ean", "e", 3},  {"anis", "an", 4}, {"ani", "an", 4},  {"ese", "", 4},     {"ish", "", 4},
    {"ers", "", 5},   {"er", "", 5},     {"ed", "", 3},     {"ly", "", 4},      {"ey", "", 4},
    {"es", "", 3},    {"s", "", 3},      {"e", "", 4},      {"ia", "", 2},      {"a", "", 3},
    {"i", "", 4},
};

#define SUFFIX_RULE_COUNT ((int)(sizeof(suffix_rules) / sizeof(suffix_rules[0])))
/* strlen of every suffix, and by the last character of a word the rules whose suffix ends with it, in
 * order and closed by -1: filled in when the module is made. */
static Py_ssize_t suffix_lengths[SUFFIX_RULE_COUNT];
static signed char rules_by_last[128][SUFFIX_RULE_COUNT + 1];

static void prepare_suffix_rules(void)
{
    for (int c = 0; c < 128; c++) {
        int count = 0;
        for (int r = 0; r < SUFFIX_RULE_COUNT; r++) {
            size_t k = strlen(suffix_rules[r].suffix);
            if ((unsigned char)suffix_rules[r].suffix[k - 1] == c) {
                rules_by_last[c][count++] = (signed char)r;
            }
        }
        rules_by_last[c][count] = -1;
    }
    for (int r = 0; r < SUFFIX_RULE_COUNT; r++) {
        suffix_lengths[r] = (Py_ssize_t)strlen(suffix_rules[r].suffix);
    }
    for (int i = 0; i < IRREGULAR_COUNT; i++) {
        irregular_lengths[i] = (Py_ssize_t)strlen(irregular[i][0]);
    }
}
#define STEM_STACK 64

/* Does w[0:n] end with the ASCII text s of k characters? */
static inline int ends_with(const Py_UCS4 *w, Py_ssize_t n, const char *s, Py_ssize_t k)
{
    if (k > n) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        if (w[n - k + i] != (Py_UCS4)(unsigned char)s[i]) {
            return 0;
        }
    }
    return 1;
}

static inline int is_vowel(Py_UCS4 c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

static inline int is_doubled(Py_UCS4 c)
{
    return c == 'b' || c == 'd' || c == 'f' || c == 'g' || c == 'k' || c == 'm' || c == 'n' || c == 'p'
           || c == 'r' || c == 't';
}

/* The stem of w[0:*n] in place (w holds the word's code points, all alphabetic): *n becomes the stem's
 * length; returns whether a replacement was written (else the stem is a prefix of the word). */
static int stem_chars(Py_UCS4 *w, Py_ssize_t *n)
{
    Py_ssize_t len = *n;
    int replaced = 0;
    /* The first vowel: a base (a prefix of the word) holds one when it is longer than this. Stripping
     * and replacing only change characters after it, or leave no base that reaches it. */
    Py_ssize_t vowel = 0;
    while (vowel < len && !is_vowel(w[vowel])) {
        vowel++;
    }
    for (int pass = 0; pass < 3; pass++) {
        if (w[len - 1] >= 128) {
            break; /* every suffix is ASCII */
        }
        const signed char *rules = rules_by_last[w[len - 1]];
        int r = -1;
        for (; *rules >= 0; rules++) {
            r = *rules;
            const SuffixRule *rule = &suffix_rules[r];
            Py_ssize_t k = suffix_lengths[r];
            if (!ends_with(w, len, rule->suffix, k)) {
                continue;
            }
            Py_ssize_t base = len - k;
            if (base < rule->least || vowel >= base) {
                continue;
            }
            if (k <= 2 && rule->suffix[k - 1] == 's' && (k == 1 || rule->suffix[0] == 'e')) { /* "s", "es" */
                Py_UCS4 before = w[len - 2]; /* len > base >= 3 */
                if (before == 's' || before == 'u' || before == 'i' || before == 'a') {
                    continue; /* NOT_PLURAL: "ss", "us", "is", "as" */
                }
                if (k == 2) {
                    Py_UCS4 last = w[base - 1];
                    if (!(last == 's' || last == 'x' || last == 'z'
                          || ((last == 'h') && (w[base - 2] == 'c' || w[base - 2] == 's')))) {
                        continue; /* "houses", "states": only the "s" goes, then the "e" */
                    }
                }
            }
            len = base;
            for (const char *c = rule->replacement; *c; c++) {
                w[len++] = (Py_UCS4)(unsigned char)*c;
                replaced = 1;
            }
            if (len >= 2 && w[len - 1] == w[len - 2] && is_doubled(w[len - 1])) {
                len--;
            }
            break;
        }
        if (*rules < 0) {
            break; /* no rule matched */
        }
    }
    *n = len;
    return replaced;
}

/* stem(word) -> str: align.stem, the same string for every str. */
static PyObject *stem_word(PyObject *Py_UNUSED(module), PyObject *word)
{
    if (!PyUnicode_Check(word)) {
        PyErr_SetString(PyExc_TypeError, "stem(word: str)");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(word);
    int kind = PyUnicode_KIND(word);
    const void *data = PyUnicode_DATA(word);
    if (n == 0) {
        return Py_NewRef(word);
    }
    if (PyUnicode_IS_ASCII(word)) { /* the irregular forms are ASCII */
        const char *chars = (const char *)data;
        for (int i = 0; i < IRREGULAR_COUNT; i++) {
            if (irregular_lengths[i] == n && memcmp(chars, irregular[i][0], (size_t)n) == 0) {
                return PyUnicode_FromString(irregular[i][1]);
            }
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if ((unsigned char)((chars[i] | 0x20) - 'a') >= 26) {
                return Py_NewRef(word);
            }
        }
    } else {
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!Py_UNICODE_ISALPHA(PyUnicode_READ(kind, data, i))) {
                return Py_NewRef(word);
            }
        }
    }
    Py_UCS4 stack[STEM_STACK];
    Py_UCS4 *w = n <= STEM_STACK ? stack : PyMem_New(Py_UCS4, n);
    if (w == NULL) {
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        w[i] = PyUnicode_READ(kind, data, i);
    }
    Py_ssize_t len = n;
    PyObject *result;
    if (stem_chars(w, &len)) {
        result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, w, len);
    } else {
        result = len == n ? Py_NewRef(word) : PyUnicode_Substring(word, 0, len);
    }
    if (w != stack) {
        PyMem_Free(w);
    }
    return result;
}

/* caption_token(stopwords, common_words, token) -> tuple | None: align._caption_token, the same result
 * for every str (a caption word's stem, whether it is common, whether it opens with a digit, a capital). */
static PyObject *caption_token(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyAnySet_Check(args[0]) || !PyAnySet_Check(args[1]) || !PyUnicode_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "caption_token(stopwords: frozenset, common_words: frozenset, token: str)");
        return NULL;
    }
    PyObject *token = args[2];
    Py_ssize_t n = PyUnicode_GET_LENGTH(token);
    PyObject *word;
    Py_ssize_t comma = -1;
    if (PyUnicode_IS_ASCII(token)) { /* token.lower() without its commas, at once */
        const Py_UCS1 *chars = PyUnicode_1BYTE_DATA(token);
        Py_ssize_t size = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            size += chars[i] != ',';
        }
        word = PyUnicode_New(size, 127);
        if (word == NULL) {
            return NULL;
        }
        Py_UCS1 *out = PyUnicode_1BYTE_DATA(word);
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS1 c = chars[i];
            if (c != ',') {
                *out++ = c >= 'A' && c <= 'Z' ? (Py_UCS1)(c + ('a' - 'A')) : c;
            }
        }
        n = size;
    } else {
        word = lower(module, token);
        if (word == NULL) {
            return NULL;
        }
        n = PyUnicode_GET_LENGTH(word);
        comma = PyUnicode_FindChar(word, ',', 0, n, 1);
    }
    if (comma == -2) {
        Py_DECREF(word);
        return NULL;
    }
    if (comma >= 0) {
        PyObject *replaced = PyUnicode_Replace(word, str_comma, str_empty, -1);
        Py_DECREF(word);
        if (replaced == NULL) {
            return NULL;
        }
        word = replaced;
        n = PyUnicode_GET_LENGTH(word);
    }
    int stop = n < 2 ? 1 : PySet_Contains(args[0], word);
    if (stop != 0) {
        Py_DECREF(word);
        if (stop < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    int common = PySet_Contains(args[1], word);
    if (common < 0) {
        Py_DECREF(word);
        return NULL;
    }
    Py_UCS4 first = PyUnicode_READ_CHAR(token, 0);
    PyObject *stemmed = stem_word(module, word);
    Py_DECREF(word);
    if (stemmed == NULL) {
        return NULL;
    }
    PyObject *result = PyTuple_Pack(4, stemmed, common ? Py_True : Py_False,
                                    Py_UNICODE_ISDIGIT(first) ? Py_True : Py_False,
                                    Py_UNICODE_ISUPPER(first) ? Py_True : Py_False);
    Py_DECREF(stemmed);
    return result;
}

/* search_keys(irregular_forms, term) -> tuple[str, ...]: align._search_keys, the same keys for every str
 * (the stem without a final "y" when longer than three, its irregular forms, a long number with commas). */
static PyObject *search_keys(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "search_keys(irregular_forms: dict, term: str)");
        return NULL;
    }
    PyObject *term = args[1];
    Py_ssize_t n = PyUnicode_GET_LENGTH(term);
    int kind = PyUnicode_KIND(term);
    const void *data = PyUnicode_DATA(term);
    PyObject *forms = PyDict_GetItemWithError(args[0], term); /* borrowed */
    if (forms == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (forms != NULL && !PyTuple_Check(forms)) {
        PyErr_SetString(PyExc_TypeError, "irregular forms are a tuple");
        return NULL;
    }
    Py_ssize_t count = forms == NULL ? 0 : PyTuple_GET_SIZE(forms);
    int decimal = n > 3;
    for (Py_ssize_t i = 0; i < n && decimal; i++) {
        decimal = Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, i));
    }
    PyObject *result = PyTuple_New(1 + count + decimal);
    if (result == NULL) {
        return NULL;
    }
    PyObject *first = n > 3 && PyUnicode_READ(kind, data, n - 1) == 'y' ? PyUnicode_Substring(term, 0, n - 1)
                                                                         : Py_NewRef(term);
    if (first == NULL) {
        Py_DECREF(result);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, first);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyTuple_SET_ITEM(result, 1 + i, Py_NewRef(PyTuple_GET_ITEM(forms, i)));
    }
    if (decimal) {
        PyObject *number = PyLong_FromUnicodeObject(term, 10);
        PyObject *written = number == NULL ? NULL : PyObject_Format(number, str_comma);
        Py_XDECREF(number);
        if (written == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyTuple_SET_ITEM(result, 1 + count, written);
    }
    return result;
}

/* ---------------------------------------------------------------------------------------------------
 * The module
 */

static PyMethodDef methods[] = {
    {"stem", stem_word, METH_O, "stem(word) -> str\n\nalign.stem: the same string for every str."},
    {"caption_token", (PyCFunction)(void (*)(void))caption_token, METH_FASTCALL,
     "caption_token(stopwords, common_words, token) -> tuple | None\n\nalign._caption_token of a token."},
    {"search_keys", (PyCFunction)(void (*)(void))search_keys, METH_FASTCALL,
     "search_keys(irregular_forms, term) -> tuple[str, ...]\n\nalign._search_keys of a term."},
    {"lower", lower, METH_O, "lower(text) -> str\n\ntext.lower(), sooner when only ASCII letters have a case."},
    {"token_counts", token_counts, METH_O, "token_counts(texts) -> list[int]\n\nlen(text.split()) of each."},
    {"look_up", (PyCFunction)(void (*)(void))look_up, METH_FASTCALL,
     "look_up(hay, ends, norms, terms, new, keys, stem, k1) -> None\n\n_Body.look_up of align.py."},
    {"query_evidence", (PyCFunction)(void (*)(void))query_evidence, METH_FASTCALL,
     "query_evidence(terms, term_of, shares, entities, phrases, entity_bonus, phrase_bonus, min_match, "
     "paragraphs, hay, starts, stopwords, phrase_gap) -> Parts\n\nalign.query_evidence of one query."},
    {"caption_query", (PyCFunction)(void (*)(void))caption_query, METH_FASTCALL,
     "caption_query(text, caption_token, background_weight, common_weight) -> (terms, entities, phrases)\n\n"
     "align.query of a caption text, without its label prefix."},
    {"body_layout", (PyCFunction)(void (*)(void))body_layout, METH_FASTCALL,
     "body_layout(blocks, caption_labels, k1, b) -> tuple\n\nThe fields of align._Body.of."},
    {"window_pieces", (PyCFunction)(void (*)(void))window_pieces, METH_FASTCALL,
     "window_pieces(texts, lengths, joined, starts, gap, left) -> list[str]\n\n"
     "The pieces of align.context_window after the title, for a body over the budget."},
    {"learned_related", (PyCFunction)(void (*)(void))learned_related, METH_FASTCALL,
     "learned_related(parts, members, sections, indices, texts, gap, weights, scale, offset, least, top_k, "
     "score_half, related_type) -> list[list[Related]] | None\n\n"
     "align.rank_learned(learned_scores(...)) of every member of a gallery, with its gallery_evidence."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef align_speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "captionset._align_speedups",
    .m_doc = "Compiled evidence layer of captionset.align (the same results as its pure-Python path).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__align_speedups(void)
{
    for (Py_UCS4 c = 0; c < BMP_SIZE; c++) {
        bmp_class[c] = (unsigned char)char_class(c);
    }
    prepare_suffix_rules();
    str_label = PyUnicode_InternFromString("label");
    str_index = PyUnicode_InternFromString("index");
    str_text = PyUnicode_InternFromString("text");
    str_body = PyUnicode_InternFromString("body");
    str_subheading = PyUnicode_InternFromString("subheading");
    str_newline = PyUnicode_InternFromString("\n");
    str_round = PyUnicode_InternFromString("__round__");
    int_six = PyLong_FromLong(6);
    str_comma = PyUnicode_InternFromString(",");
    str_empty = PyUnicode_New(0, 0);
    if (str_comma == NULL || str_empty == NULL) {
        return NULL;
    }
    if (str_label == NULL || str_index == NULL || str_text == NULL || str_body == NULL || str_subheading == NULL
        || str_newline == NULL || str_round == NULL || int_six == NULL) {
        return NULL;
    }
    return PyModule_Create(&align_speedups_module);
}
