/* Near-duplicate signatures of article bodies, compiled (captionset._build_speedups).
 *
 * The same computation as captionset/splits.py's pure-Python/numpy path, bit for bit (tests compare the
 * two on random and real bodies): split a lower-cased body into words exactly as the regular expression
 * \w+ does on a str (a word character is Py_UNICODE_ISALNUM or '_', what the re module tests), join the
 * words with single spaces as UTF-8 (what the body hash digests), hash each word with two CRC-32s (zlib's
 * polynomial; the second seeded like zlib.crc32(data, SEED)), combine SHINGLE_WORDS consecutive word
 * hashes into a shingle hash, and take the minimum of (a * x + b) & mask over every shingle for each
 * permutation (a, b). All arithmetic is unsigned 64-bit, wrapping, as numpy's uint64 is.
 *
 * Python does the lower-casing (str.lower's full case mapping is not in the public C API) and the
 * BLAKE2 digest of the joined words (hashlib); this file does the per-word loops, which are most of the
 * cost in Python. Signatures are written as little-endian bytes on every machine.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* C99's restrict, under the name MSVC's C compiler knows too. */
#if defined(_MSC_VER)
#define RESTRICT __restrict
#else
#define RESTRICT restrict
#endif

/* The seed of the second CRC-32 of a word (the high half of its 64-bit hash). */
#define HIGH_CRC_SEED 0x9E3779B9u
/* Word hashes are collected in an array that starts this long and doubles. */
#define INITIAL_WORDS 1024

static uint32_t crc_table[256];

static void init_crc_table(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) {
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[n] = c;
    }
}

/* (zlib.crc32(data), zlib.crc32(data, HIGH_CRC_SEED)) in one pass: two independent chains, which the
 * processor runs side by side. */
static inline uint64_t word_hash(const unsigned char *data, Py_ssize_t size)
{
    uint32_t low = 0xFFFFFFFFu, high = HIGH_CRC_SEED ^ 0xFFFFFFFFu;
    for (Py_ssize_t i = 0; i < size; i++) {
        low = crc_table[(low ^ data[i]) & 0xFFu] ^ (low >> 8);
        high = crc_table[(high ^ data[i]) & 0xFFu] ^ (high >> 8);
    }
    return (uint64_t)(low ^ 0xFFFFFFFFu) | ((uint64_t)(high ^ 0xFFFFFFFFu) << 32);
}

/* Is ch a character of \w on a str pattern (the re module's definition)? */
static inline int is_word_char(Py_UCS4 ch)
{
    if (ch < 128) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || ch == '_';
    }
    return Py_UNICODE_ISALNUM(ch);
}

/* Write ch as UTF-8 at out; returns the bytes written. Words never hold surrogates (they are not
 * alphanumeric), so every code point here has a UTF-8 form. */
static inline Py_ssize_t put_utf8(unsigned char *out, Py_UCS4 ch)
{
    if (ch < 0x80) {
        out[0] = (unsigned char)ch;
        return 1;
    }
    if (ch < 0x800) {
        out[0] = (unsigned char)(0xC0 | (ch >> 6));
        out[1] = (unsigned char)(0x80 | (ch & 0x3F));
        return 2;
    }
    if (ch < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (ch >> 12));
        out[1] = (unsigned char)(0x80 | ((ch >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (ch & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (ch >> 18));
    out[1] = (unsigned char)(0x80 | ((ch >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((ch >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (ch & 0x3F));
    return 4;
}

static uint64_t read_le64(const unsigned char *p)
{
    uint64_t value = 0;
    for (int k = 7; k >= 0; k--) {
        value = (value << 8) | p[k];
    }
    return value;
}

static void write_le64(unsigned char *p, uint64_t value)
{
    for (int k = 0; k < 8; k++) {
        p[k] = (unsigned char)(value >> (8 * k));
    }
}

/* Shingle hashes, in place: hashes[i] becomes the masked polynomial of hashes[i .. i + shingle_words - 1]
 * (in order, so each reads only hashes not yet replaced); returns how many there are. */
static Py_ssize_t shingle_hashes(uint64_t *hashes, Py_ssize_t words, Py_ssize_t shingle_words, uint64_t base,
                                 uint64_t mask)
{
    Py_ssize_t shingles = words - shingle_words + 1;
    for (Py_ssize_t i = 0; i < shingles; i++) {
        uint64_t x = hashes[i];
        for (Py_ssize_t k = 1; k < shingle_words; k++) {
            x = x * base + hashes[i + k];
        }
        hashes[i] = x & mask;
    }
    return shingles;
}

/* The minimum over the shingles of (a[p] * x + b[p]) & mask, for each permutation p, into lowest. Four
 * permutations at a time: their minima stay in registers while the shingles stream by, and the four
 * independent chains keep the multiplier busy. */
static void minhash_of(const uint64_t *RESTRICT shingles, Py_ssize_t count, uint64_t mask,
                       const uint64_t *RESTRICT a, const uint64_t *RESTRICT b, Py_ssize_t perms,
                       uint64_t *RESTRICT lowest)
{
    Py_ssize_t p = 0;
    for (; p + 4 <= perms; p += 4) {
        const uint64_t a0 = a[p], a1 = a[p + 1], a2 = a[p + 2], a3 = a[p + 3];
        const uint64_t b0 = b[p], b1 = b[p + 1], b2 = b[p + 2], b3 = b[p + 3];
        uint64_t m0 = UINT64_MAX, m1 = UINT64_MAX, m2 = UINT64_MAX, m3 = UINT64_MAX;
        for (Py_ssize_t i = 0; i < count; i++) {
            const uint64_t x = shingles[i];
            const uint64_t v0 = (a0 * x + b0) & mask, v1 = (a1 * x + b1) & mask;
            const uint64_t v2 = (a2 * x + b2) & mask, v3 = (a3 * x + b3) & mask;
            m0 = v0 < m0 ? v0 : m0;
            m1 = v1 < m1 ? v1 : m1;
            m2 = v2 < m2 ? v2 : m2;
            m3 = v3 < m3 ? v3 : m3;
        }
        lowest[p] = m0;
        lowest[p + 1] = m1;
        lowest[p + 2] = m2;
        lowest[p + 3] = m3;
    }
    for (; p < perms; p++) {
        const uint64_t ap = a[p], bp = b[p];
        uint64_t best = UINT64_MAX;
        for (Py_ssize_t i = 0; i < count; i++) {
            const uint64_t value = (ap * shingles[i] + bp) & mask;
            best = value < best ? value : best;
        }
        lowest[p] = best;
    }
}

/* The words of a body as they are split: joined by spaces (UTF-8) and each one's hash. */
struct words {
    unsigned char *joined;
    Py_ssize_t used;
    uint64_t *hashes;
    Py_ssize_t count;
    Py_ssize_t capacity;
};

/* Room for one more word hash; -1 (MemoryError set) when there is none. */
static int reserve_word(struct words *w)
{
    if (w->count < w->capacity) {
        return 0;
    }
    if (w->capacity > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(uint64_t)) {
        PyErr_NoMemory();
        return -1;
    }
    uint64_t *grown = PyMem_Realloc(w->hashes, sizeof(uint64_t) * (size_t)(w->capacity * 2));
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    w->hashes = grown;
    w->capacity *= 2;
    return 0;
}

/* split_words_ucs1/2/4: the \w+ words of a str of one storage kind into w; 0, or -1 with MemoryError.
 * One function per kind, so that reading a character is a plain load. */
#define DEFINE_SPLIT_WORDS(NAME, CHAR)                                                                      \
    static int NAME(const CHAR *text, Py_ssize_t length, struct words *w)                                   \
    {                                                                                                       \
        Py_ssize_t i = 0;                                                                                   \
        while (i < length) {                                                                                \
            Py_UCS4 ch = text[i];                                                                           \
            if (!is_word_char(ch)) {                                                                        \
                i++;                                                                                        \
                continue;                                                                                   \
            }                                                                                               \
            if (reserve_word(w) < 0) {                                                                      \
                return -1;                                                                                  \
            }                                                                                               \
            if (w->count > 0) {                                                                             \
                w->joined[w->used++] = ' ';                                                                 \
            }                                                                                               \
            Py_ssize_t start = w->used;                                                                     \
            do {                                                                                            \
                w->used += put_utf8(w->joined + w->used, ch);                                               \
                i++;                                                                                        \
            } while (i < length && is_word_char(ch = text[i]));                                             \
            w->hashes[w->count++] = word_hash(w->joined + start, w->used - start);                          \
        }                                                                                                   \
        return 0;                                                                                           \
    }

DEFINE_SPLIT_WORDS(split_words_ucs1, Py_UCS1)
DEFINE_SPLIT_WORDS(split_words_ucs2, Py_UCS2)
DEFINE_SPLIT_WORDS(split_words_ucs4, Py_UCS4)

PyDoc_STRVAR(body_signature_doc,
             "body_signature(text, perm_a, perm_b, shingle_words, min_words, shingle_base, mask)\n"
             "--\n\n"
             "(words joined by spaces as UTF-8 bytes, MinHash as little-endian uint64 bytes) of a lower-cased\n"
             "body, or None when it has fewer than min_words words. perm_a and perm_b hold the permutations'\n"
             "constants as little-endian uint64 bytes.");

static PyObject *body_signature(PyObject *module, PyObject *args)
{
    PyObject *text;
    Py_buffer perm_a, perm_b;
    Py_ssize_t shingle_words, min_words;
    unsigned long long shingle_base, mask;
    if (!PyArg_ParseTuple(args, "Uy*y*nnKK:body_signature", &text, &perm_a, &perm_b, &shingle_words,
                          &min_words, &shingle_base, &mask)) {
        return NULL;
    }
    PyObject *result = NULL;
    unsigned char *joined = NULL;
    uint64_t *hashes = NULL, *a = NULL, *b = NULL, *lowest = NULL;
    if (perm_a.len != perm_b.len || perm_a.len % 8 != 0 || perm_a.len == 0) {
        PyErr_SetString(PyExc_ValueError, "perm_a and perm_b must hold the same number (> 0) of uint64");
        goto done;
    }
    if (shingle_words < 1 || min_words < shingle_words) {
        PyErr_SetString(PyExc_ValueError, "need 1 <= shingle_words <= min_words");
        goto done;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        goto done;
    }
#endif
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    /* Bytes per character at most in UTF-8, for this string's storage kind. */
    Py_ssize_t widest = PyUnicode_IS_ASCII(text)           ? 1
                        : kind == PyUnicode_1BYTE_KIND     ? 2
                        : kind == PyUnicode_2BYTE_KIND     ? 3
                                                           : 4;
    if (length > (PY_SSIZE_T_MAX - 1) / widest) {
        PyErr_NoMemory();
        goto done;
    }
    joined = PyMem_Malloc((size_t)(length * widest + 1));
    hashes = PyMem_Malloc(sizeof(uint64_t) * INITIAL_WORDS);
    struct words w = {.joined = joined, .used = 0, .hashes = hashes, .count = 0, .capacity = INITIAL_WORDS};
    if (joined == NULL || hashes == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int split = kind == PyUnicode_1BYTE_KIND   ? split_words_ucs1(data, length, &w)
                : kind == PyUnicode_2BYTE_KIND ? split_words_ucs2(data, length, &w)
                                               : split_words_ucs4(data, length, &w);
    hashes = w.hashes; /* moved if it grew */
    if (split < 0) {
        goto done;
    }
    Py_ssize_t used = w.used, words = w.count;
    if (words < min_words) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    Py_ssize_t perms = perm_a.len / 8;
    a = PyMem_Malloc(sizeof(uint64_t) * (size_t)perms);
    b = PyMem_Malloc(sizeof(uint64_t) * (size_t)perms);
    lowest = PyMem_Malloc(sizeof(uint64_t) * (size_t)perms);
    if (a == NULL || b == NULL || lowest == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t p = 0; p < perms; p++) {
        a[p] = read_le64((const unsigned char *)perm_a.buf + 8 * p);
        b[p] = read_le64((const unsigned char *)perm_b.buf + 8 * p);
    }
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t shingles = shingle_hashes(hashes, words, shingle_words, (uint64_t)shingle_base, (uint64_t)mask);
    minhash_of(hashes, shingles, (uint64_t)mask, a, b, perms, lowest);
    Py_END_ALLOW_THREADS
    PyObject *normal = PyBytes_FromStringAndSize((const char *)joined, used);
    if (normal == NULL) {
        goto done;
    }
    PyObject *signature = PyBytes_FromStringAndSize(NULL, perms * 8);
    if (signature == NULL) {
        Py_DECREF(normal);
        goto done;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(signature);
    for (Py_ssize_t p = 0; p < perms; p++) {
        write_le64(out + 8 * p, lowest[p]);
    }
    result = PyTuple_Pack(2, normal, signature);
    Py_DECREF(normal);
    Py_DECREF(signature);
done:
    PyMem_Free(joined);
    PyMem_Free(hashes);
    PyMem_Free(a);
    PyMem_Free(b);
    PyMem_Free(lowest);
    PyBuffer_Release(&perm_a);
    PyBuffer_Release(&perm_b);
    return result;
}

static PyMethodDef methods[] = {
    {"body_signature", body_signature, METH_VARARGS, body_signature_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_build_speedups",
    "Compiled near-duplicate signatures of article bodies (see captionset/splits.py).",
    -1,
    methods,
};

PyMODINIT_FUNC PyInit__build_speedups(void)
{
    init_crc_table();
    return PyModule_Create(&module_def);
}
