/* _speedups.c: the per-block features of captionset.classify.features, compiled.
 *
 * raw_values_python computes the raw per-block values with numpy and patterns run over an article's
 * blocks joined together; block_values() computes the same values block by block in C (word splitting
 * as str.split does it, str.istitle / str.isupper, look-ups in the word sets, character counts, the
 * "-ed" / "-ing" endings, near-copies) and leaves to Python only the fields that need the signal
 * patterns, telling it which blocks each of them has to look at. assemble() then builds the feature
 * matrix from the raw values as assemble_features_python does, without numpy's per-call overhead.
 *
 * Nothing of features.py is copied here by hand: setup() receives the word sets, character sets, phrase
 * lists and column layouts from Python, and refuses a layout it does not know (features.py then keeps to
 * its pure-Python path). Every value must equal the Python path's bit for bit; tests/test_speedups.py
 * checks that on the corpus and on generated text.
 *
 * tree_model(), tree_scores(), tree_logits() and tree_blend() score the gradient-boosted trees of
 * captionset.classify.trees: the same additions in the same order as its numpy definition, and for a stage
 * of bagged models the softmax and mean that numpy computes, around numpy's own exp (tests/test_trees.py
 * checks the bits). On a CPU with AVX-512 shallow trees are scored eight rows at a time with bit vectors
 * (complete_block_simd, each row's sums unchanged); tree_simd() switches that off for the tests.
 *
 * The feature functions run with the GIL held, so the module state below needs no locking. tree_scores()
 * and tree_logits() let the GIL go while they walk the trees: they touch no module state, only their
 * models (which nothing changes once built) and the buffers they hold.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
/* The trees can be scored with AVX-512 (complete_block_simd), chosen at run time by the CPU. */
#define TREE_SIMD 1
#define TREE_SIMD_TARGET __attribute__((target("avx512f,avx512vl,avx512cd")))
#else
#define TREE_SIMD 0
#endif

/* ---------------------------------------------------------------------------------------------------
 * Owned UCS4 strings and small helpers
 */

typedef struct {
    Py_UCS4 *chars; /* PyMem-allocated, or NULL when len == 0 */
    Py_ssize_t len;
} UText;

/* A substring to look for, with what the search skips by (see find_count). */
typedef struct {
    UText text;
    uint64_t mask;   /* bit (c & 63) for each character c of the needle */
    Py_ssize_t skip; /* shift after a mismatch on a matching last character */
    int paired;      /* found by contains_any's pair pass */
} Needle;

/* Needles looked for together (contains_any): those of two or more characters whose first two are ASCII
 * are found in one pass that checks each position's pair of characters against a bitmap first; any
 * other needle is looked for on its own. */
typedef struct {
    Needle *items;
    Py_ssize_t count;
    uint8_t pairs[128 * 128 / 8]; /* bit c0 * 128 + c1: a paired needle starts with c0 c1 */
    Py_ssize_t first[128];        /* the first paired needle starting with each character, or -1 */
    Py_ssize_t *next;             /* per needle: the next paired needle with its first character, or -1 */
    int has_unpaired;
} NeedleList;

static void utext_free(UText *t)
{
    PyMem_Free(t->chars);
    t->chars = NULL;
    t->len = 0;
}

static void needle_list_free(NeedleList *list)
{
    for (Py_ssize_t i = 0; i < list->count; i++) {
        utext_free(&list->items[i].text);
    }
    PyMem_Free(list->items);
    PyMem_Free(list->next);
    memset(list, 0, sizeof(*list));
}

/* Copies a str into t (0 on success, -1 with an exception set). */
static int utext_from(PyObject *obj, UText *t, const char *what)
{
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s: expected str, got %.100s", what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    t->len = PyUnicode_GET_LENGTH(obj);
    t->chars = PyUnicode_AsUCS4Copy(obj); /* NUL-terminated copy, never NULL for a valid str */
    return t->chars == NULL ? -1 : 0;
}

static void needle_prepare(Needle *needle, const Py_UCS4 *chars, Py_ssize_t m)
{
    needle->mask = 0;
    needle->skip = m > 0 ? m - 1 : 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        needle->mask |= (uint64_t)1 << (chars[i] & 63);
        if (i < m - 1 && chars[i] == chars[m - 1]) {
            needle->skip = m - 2 - i;
        }
    }
}

/* Copies an iterable of str (tuple, list, frozenset) into list. */
static int needle_list_from(PyObject *obj, NeedleList *list, const char *what)
{
    PyObject *seq = PySequence_Fast(obj, what);
    if (seq == NULL) {
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    list->items = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Needle));
    if (list->items == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    list->count = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        Needle *needle = &list->items[i];
        if (utext_from(PySequence_Fast_GET_ITEM(seq, i), &needle->text, what) < 0) {
            Py_DECREF(seq);
            return -1; /* the caller frees what was copied so far */
        }
        needle_prepare(needle, needle->text.chars, needle->text.len);
    }
    Py_DECREF(seq);
    list->next = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Py_ssize_t));
    if (list->next == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (int c = 0; c < 128; c++) {
        list->first[c] = -1;
    }
    for (Py_ssize_t i = n - 1; i >= 0; i--) { /* chains in list order */
        Needle *needle = &list->items[i];
        const Py_UCS4 *chars = needle->text.chars;
        needle->paired = needle->text.len >= 2 && chars[0] < 128 && chars[1] < 128;
        list->next[i] = -1;
        if (!needle->paired) {
            list->has_unpaired = 1;
            continue;
        }
        unsigned pair = (unsigned)chars[0] * 128u + (unsigned)chars[1];
        list->pairs[pair >> 3] |= (uint8_t)(1u << (pair & 7));
        list->next[i] = list->first[chars[0]];
        list->first[chars[0]] = i;
    }
    return 0;
}

static int in_chars(const UText *set, Py_UCS4 c)
{
    for (Py_ssize_t i = 0; i < set->len; i++) {
        if (set->chars[i] == c) {
            return 1;
        }
    }
    return 0;
}

/* Non-overlapping occurrences of needle (m characters, prepared by needle_prepare) in s[0:n], left to
 * right as str.count finds them, up to limit. The search is CPython's fastsearch in outline: compare the
 * window's last character first, and skip a whole window past a character the needle does not hold. */
static Py_ssize_t find_count(const Py_UCS4 *s, Py_ssize_t n, const Py_UCS4 *p, Py_ssize_t m,
                             const Needle *prep, Py_ssize_t limit)
{
    if (m == 0) {
        return limit > 0 ? 1 : 0; /* "" is in every string (only membership asks for it) */
    }
    if (m > n || limit <= 0) {
        return 0;
    }
    const Py_ssize_t mlast = m - 1, w = n - m;
    const Py_UCS4 last = p[mlast];
    Py_ssize_t found = 0;
    for (Py_ssize_t i = 0; i <= w; i++) {
        if (s[i + mlast] == last) {
            Py_ssize_t j = 0;
            while (j < mlast && s[i + j] == p[j]) {
                j++;
            }
            if (j == mlast) {
                if (++found >= limit) {
                    break;
                }
                i += mlast; /* no overlap: the next window starts after this match */
                continue;
            }
            if (i + m < n && !(prep->mask & ((uint64_t)1 << (s[i + m] & 63)))) {
                i += m;
            }
            else {
                i += prep->skip;
            }
        }
        else if (i + m < n && !(prep->mask & ((uint64_t)1 << (s[i + m] & 63)))) {
            i += m;
        }
    }
    return found;
}

static int contains(const Py_UCS4 *s, Py_ssize_t n, const Needle *needle)
{
    return find_count(s, n, needle->text.chars, needle->text.len, needle, 1) > 0;
}

/* Does s[0:n] hold any of the list's needles that its pair pass does not look for? */
static int contains_unpaired(const Py_UCS4 *s, Py_ssize_t n, const NeedleList *list)
{
    if (list->has_unpaired) {
        for (Py_ssize_t k = 0; k < list->count; k++) {
            if (!list->items[k].paired && contains(s, n, &list->items[k])) {
                return 1;
            }
        }
    }
    return 0;
}

/* Does a paired needle of the list start at s[i] (whose pair of ASCII characters, c0 c1, is `pair`)? */
static inline int paired_at(const Py_UCS4 *s, Py_ssize_t n, Py_ssize_t i, unsigned pair,
                            const NeedleList *list)
{
    if (!(list->pairs[pair >> 3] & (1u << (pair & 7)))) {
        return 0;
    }
    const Py_UCS4 c0 = s[i], c1 = s[i + 1];
    for (Py_ssize_t k = list->first[c0]; k >= 0; k = list->next[k]) {
        const UText *t = &list->items[k].text;
        if (t->chars[1] == c1 && t->len <= n - i &&
            memcmp(s + i, t->chars, (size_t)t->len * sizeof(Py_UCS4)) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Does s[0:n] hold any of the needles? */
static int contains_any(const Py_UCS4 *s, Py_ssize_t n, const NeedleList *list)
{
    if (contains_unpaired(s, n, list)) {
        return 1;
    }
    for (Py_ssize_t i = 0; i + 1 < n; i++) {
        Py_UCS4 c0 = s[i], c1 = s[i + 1];
        if (c0 >= 128 || c1 >= 128) {
            continue;
        }
        if (paired_at(s, n, i, (unsigned)c0 * 128u + (unsigned)c1, list)) {
            return 1;
        }
    }
    return 0;
}

/* contains_any of two lists, a and b, over one text in one pass over its pairs of characters: a pair that
 * no needle of either starts with (both: the union of their pair bitmaps) is passed over once. *found_a
 * and *found_b are set; *found_a may come in set (then list a is not looked for). */
static void contains_any_of_two(const Py_UCS4 *s, Py_ssize_t n, const NeedleList *a, const NeedleList *b,
                                const uint8_t *both, int *found_a, int *found_b)
{
    int fa = *found_a || contains_unpaired(s, n, a), fb = contains_unpaired(s, n, b);
    for (Py_ssize_t i = 0; i + 1 < n && !(fa && fb); i++) {
        Py_UCS4 c0 = s[i], c1 = s[i + 1];
        if (c0 >= 128 || c1 >= 128) {
            continue;
        }
        const unsigned pair = (unsigned)c0 * 128u + (unsigned)c1;
        if (!(both[pair >> 3] & (1u << (pair & 7)))) {
            continue;
        }
        fa = fa || paired_at(s, n, i, pair, a);
        fb = fb || paired_at(s, n, i, pair, b);
    }
    *found_a = fa;
    *found_b = fb;
}

static int contains_char(const Py_UCS4 *s, Py_ssize_t n, Py_UCS4 c)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] == c) {
            return 1;
        }
    }
    return 0;
}

/* Grows *buf (of *cap items of size item) to hold at least need items. */
static int reserve(void **buf, Py_ssize_t *cap, Py_ssize_t need, size_t item)
{
    if (need <= *cap) {
        return 0;
    }
    Py_ssize_t size = *cap > 0 ? *cap : 16;
    while (size < need) {
        if (size > PY_SSIZE_T_MAX / 2) {
            size = need;
            break;
        }
        size *= 2;
    }
    if ((size_t)size > (size_t)PY_SSIZE_T_MAX / item) {
        PyErr_NoMemory();
        return -1;
    }
    void *grown = PyMem_Realloc(*buf, (size_t)size * item);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *buf = grown;
    *cap = size;
    return 0;
}

static uint64_t hash_chars(const Py_UCS4 *s, Py_ssize_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (uint64_t)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The next word of s[0:n] at or after *pos, as str.split() (no arguments) splits: runs of characters
 * that are not Py_UNICODE_ISSPACE. Returns 0 when there is none. */
static int next_word(const Py_UCS4 *s, Py_ssize_t n, Py_ssize_t *pos, Py_ssize_t *start, Py_ssize_t *end)
{
    Py_ssize_t i = *pos;
    while (i < n && Py_UNICODE_ISSPACE(s[i])) {
        i++;
    }
    if (i >= n) {
        *pos = n;
        return 0;
    }
    *start = i;
    while (i < n && !Py_UNICODE_ISSPACE(s[i])) {
        i++;
    }
    *end = i;
    *pos = i;
    return 1;
}

/* Character classes of the Unicode database, with the ASCII answers inline (the same: A-Z are the only
 * upper-case ASCII letters, a-z the only lower-case ones, and no ASCII character is title-case). */
static int upper_or_title(Py_UCS4 c)
{
    return c < 128 ? (c >= 'A' && c <= 'Z') : (Py_UNICODE_ISUPPER(c) || Py_UNICODE_ISTITLE(c));
}

static int lower_case(Py_UCS4 c)
{
    return c < 128 ? (c >= 'a' && c <= 'z') : Py_UNICODE_ISLOWER(c) != 0;
}

static int lower_or_title(Py_UCS4 c)
{
    return c < 128 ? (c >= 'a' && c <= 'z') : (Py_UNICODE_ISLOWER(c) || Py_UNICODE_ISTITLE(c));
}

static int upper_case(Py_UCS4 c)
{
    return c < 128 ? (c >= 'A' && c <= 'Z') : Py_UNICODE_ISUPPER(c) != 0;
}

/* str.istitle() of s[0:n], as CPython's unicode_istitle computes it. */
static int is_title(const Py_UCS4 *s, Py_ssize_t n)
{
    if (n == 1) {
        return upper_or_title(s[0]);
    }
    int cased = 0, previous_is_cased = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = s[i];
        if (upper_or_title(c)) {
            if (previous_is_cased) {
                return 0;
            }
            previous_is_cased = 1;
            cased = 1;
        }
        else if (lower_case(c)) {
            if (!previous_is_cased) {
                return 0;
            }
            previous_is_cased = 1;
            cased = 1;
        }
        else {
            previous_is_cased = 0;
        }
    }
    return cased;
}

/* str.isupper() of s[0:n], as CPython's unicode_isupper computes it. */
static int is_upper(const Py_UCS4 *s, Py_ssize_t n)
{
    if (n == 1) {
        return upper_case(s[0]);
    }
    int cased = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = s[i];
        if (lower_or_title(c)) {
            return 0;
        }
        if (!cased && upper_case(c)) {
            cased = 1;
        }
    }
    return cased;
}

/* A token character of signals.WORD ("[a-z0-9]+"). */
static int is_token_char(Py_UCS4 c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* The optional closing quote or bracket of SENTENCE_BREAK and TAIL_PHRASE: ["'’”)]. Neither it nor
 * whitespace is a break character or a capital, so these patterns need no backtracking. */
static int is_break_closer(Py_UCS4 c)
{
    return c == '"' || c == '\'' || c == 0x2019 || c == 0x201D || c == ')';
}

/* A necessary condition of TAIL_PHRASE matching s[0:n]: after a sentence break before a capital come at
 * most seven words ("(?P<credit>[A-Z]...(?:\s+...){0,6})\s*$"), i.e. at most six runs of whitespace
 * before the trailing whitespace. Breaks cannot overlap (no break character is a closer or whitespace),
 * so the scan below sees every one; the last leaves the fewest words, so it alone is checked. */
static int tail_phrase_possible(const Py_UCS4 *s, Py_ssize_t n)
{
    Py_ssize_t capital = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = s[i];
        if (c != '.' && c != '!' && c != '?') {
            continue;
        }
        Py_ssize_t j = i + 1;
        if (j < n && is_break_closer(s[j])) {
            j++;
        }
        Py_ssize_t k = j;
        while (k < n && Py_UNICODE_ISSPACE(s[k])) {
            k++;
        }
        if (k > j && k < n && s[k] >= 'A' && s[k] <= 'Z') {
            capital = k;
            i = k;
        }
    }
    if (capital < 0) {
        return 0;
    }
    Py_ssize_t end = n;
    while (end > capital && Py_UNICODE_ISSPACE(s[end - 1])) {
        end--;
    }
    int runs = 0;
    for (Py_ssize_t i = capital; i < end; i++) {
        if (Py_UNICODE_ISSPACE(s[i]) && !Py_UNICODE_ISSPACE(s[i - 1])) {
            if (++runs > 6) {
                return 0;
            }
        }
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------------------
 * Word sets: one hash table of words, each with the sets ("roles") it belongs to
 */

enum {
    ROLE_FURNITURE,
    ROLE_FURNITURE_START,
    ROLE_PICTURED,
    ROLE_VIDEO,
    ROLE_REPORTING,
    ROLE_PERSONAL,
    ROLE_PAST,
    ROLE_PRESENT,
    ROLE_DATE,
    ROLE_ARTICLE,
    ROLE_CREDIT_TRIGGER,
    ROLE_DETERMINER,
    ROLE_COUNT
};
/* Keys of setup()'s "word_sets" dict, in role order. */
static const char *const ROLE_NAMES[ROLE_COUNT] = {
    "furniture", "furniture_start", "pictured", "video", "reporting", "personal",
    "past", "present", "date", "article", "credit_trigger", "determiner",
};
#define HAS(roles, role) (((roles) >> (role)) & 1u)

typedef struct {
    UText word;
    uint64_t hash;
    unsigned roles; /* bit r: the word is in set r */
    uint64_t seen;  /* the last block pass (generation) whose head held the word */
} WordEntry;

typedef struct {
    WordEntry *entries;
    Py_ssize_t count, cap;
    Py_ssize_t *slots; /* open addressing; -1 is empty */
    size_t mask;
    Py_ssize_t max_len; /* longer words are in no set */
    uint64_t starts[32]; /* per length (< 32): bit (c & 63) for the first character c of a word */
} WordTable;

static void word_table_free(WordTable *table)
{
    for (Py_ssize_t i = 0; i < table->count; i++) {
        utext_free(&table->entries[i].word);
    }
    PyMem_Free(table->entries);
    PyMem_Free(table->slots);
    memset(table, 0, sizeof(*table));
}

static WordEntry *word_lookup(const WordTable *table, const Py_UCS4 *s, Py_ssize_t n)
{
    if (n > table->max_len || table->slots == NULL) {
        return NULL;
    }
    if (n > 0 && n < 32 && !((table->starts[n] >> (s[0] & 63)) & 1)) {
        return NULL; /* no word of this length starts so */
    }
    uint64_t h = hash_chars(s, n);
    for (size_t at = (size_t)h & table->mask;; at = (at + 1) & table->mask) {
        Py_ssize_t k = table->slots[at];
        if (k < 0) {
            return NULL;
        }
        WordEntry *e = &table->entries[k];
        if (e->hash == h && e->word.len == n &&
            memcmp(e->word.chars, s, (size_t)n * sizeof(Py_UCS4)) == 0) {
            return e;
        }
    }
}

/* Adds role to every word of words (an iterable of str). The table's slots are built afterwards. */
static int word_table_add(WordTable *table, PyObject *words, int role)
{
    PyObject *seq = PySequence_Fast(words, "word sets must be iterables of str");
    if (seq == NULL) {
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        UText word = {NULL, 0};
        if (utext_from(PySequence_Fast_GET_ITEM(seq, i), &word, "word set item") < 0) {
            Py_DECREF(seq);
            return -1;
        }
        uint64_t h = hash_chars(word.chars, word.len);
        Py_ssize_t k;
        for (k = 0; k < table->count; k++) {
            WordEntry *e = &table->entries[k];
            if (e->hash == h && e->word.len == word.len &&
                memcmp(e->word.chars, word.chars, (size_t)word.len * sizeof(Py_UCS4)) == 0) {
                break;
            }
        }
        if (k < table->count) {
            table->entries[k].roles |= 1u << role;
            utext_free(&word);
            continue;
        }
        if (reserve((void **)&table->entries, &table->cap, table->count + 1, sizeof(WordEntry)) < 0) {
            utext_free(&word);
            Py_DECREF(seq);
            return -1;
        }
        WordEntry *e = &table->entries[table->count++];
        e->word = word;
        e->hash = h;
        e->roles = 1u << role;
        e->seen = 0;
        if (word.len > table->max_len) {
            table->max_len = word.len;
        }
    }
    Py_DECREF(seq);
    return 0;
}

static int word_table_index(WordTable *table)
{
    size_t size = 16;
    while (size < (size_t)table->count * 4) {
        size *= 2;
    }
    table->slots = PyMem_Malloc(size * sizeof(Py_ssize_t));
    if (table->slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < size; i++) {
        table->slots[i] = -1;
    }
    table->mask = size - 1;
    for (Py_ssize_t k = 0; k < table->count; k++) {
        const UText *word = &table->entries[k].word;
        if (word->len > 0 && word->len < 32) {
            table->starts[word->len] |= (uint64_t)1 << (word->chars[0] & 63);
        }
        size_t at = (size_t)table->entries[k].hash & table->mask;
        while (table->slots[at] >= 0) {
            at = (at + 1) & table->mask;
        }
        table->slots[at] = k;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Layout: the raw fields this module fills, the derived block features and the context features
 */

enum {
    R_N,
    R_CLOSES,
    R_ENDS_QUOTE,
    R_ENDS_COLON,
    R_ENDS_PAREN,
    R_ENDS_DIGIT,
    R_SENTENCES,
    R_MULTI_LINE,
    R_STARTS_LOWER,
    R_STARTS_DIGIT,
    R_STARTS_QUOTE,
    R_STARTS_BULLET,
    R_STARTS_BY,
    R_PICTURED,
    R_POSITION_CUE,
    R_VIDEO_CUE,
    R_QUOTES,
    R_REPORTING,
    R_PERSONAL,
    R_PAST,
    R_PRESENT,
    R_TITLE_CASE,
    R_ALL_CAPS,
    R_DIGITS,
    R_DATE_WORDS,
    R_URL,
    R_FURNITURE,
    R_STARTS_DETERMINER,
    R_ARTICLE_WORDS,
    R_COMMAS,
    R_ING_WORDS,
    R_NEAR_COPY,
    R_NEAR_COPIED,
    R_ENDS_QUESTION,
    R_CREDIT_KIND, /* filled by Python (credit patterns), read by assemble() */
    R_COUNT
};
static const char *const RAW_NAMES[R_COUNT] = {
    "n", "closes", "ends_quote", "ends_colon", "ends_paren", "ends_digit", "sentences", "multi_line",
    "starts_lower", "starts_digit", "starts_quote", "starts_bullet", "starts_by", "pictured",
    "position_cue", "video_cue", "quotes", "reporting", "personal", "past", "present", "title_case",
    "all_caps", "digits", "date_words", "url", "furniture", "starts_determiner", "article_words",
    "commas", "ing_words", "near_copy", "near_copied", "ends_question", "credit_kind",
};
/* Raw fields that Python fills after block_values(), from the blocks it names for each (in the order of
 * block_values()'s result). credit_kind and credit_only come from the "credit" blocks. */
static const char *const PYTHON_FIELDS[] = {
    "label_prefix", "credit_kind", "credit_only", "tail_phrase", "date_stamp", "boilerplate", "byline",
    "photo_phrase", NULL,
};

enum {
    D_LOG_WORDS, /* filled by the caller (np.log1p), read here */
    D_WORDS_LE3,
    D_WORDS_LE8,
    D_WORDS_9_25,
    D_WORDS_26_60,
    D_WORDS_GT60,
    D_ENDS_OPEN,
    D_SENTENCES,
    D_QUOTES,
    D_PAST,
    D_PRESENT,
    D_COMMAS,
    D_ING_WORDS,
    D_ARTICLE_WORDS,
    D_OPEN_LE8,
    D_OPEN_9_25,
    D_OPEN_26_60,
    D_OPEN_PRESENT,
    D_OPEN_NO_VERBS,
    D_CLOSED_LE8,
    D_OPEN_TITLE_CASE,
    D_OPEN_LOWER_PROSE,
    D_SHORT_QUESTION,
    D_COUNT
};
static const char *const DERIVED_NAMES[D_COUNT] = {
    "log_words", "words_le3", "words_le8", "words_9_25", "words_26_60", "words_gt60",
    "ends_open", "sentences", "quotes", "past", "present", "commas", "ing_words",
    "article_words", "open_le8", "open_9_25", "open_26_60", "open_present", "open_no_verbs",
    "closed_le8", "open_title_case", "open_lower_prose", "short_question",
};

enum {
    X_REL_POSITION,
    X_IS_SECOND,
    X_IS_THIRD,
    X_NEAR_END,
    X_IS_LAST,
    X_ARTICLE_OPEN_SHARE,
    X_ARTICLE_CREDIT_SHARE,
    X_SAME_CREDIT_STYLE,
    X_OPEN_X_OPEN_SHARE,
    X_REL_LENGTH,
    X_NEIGHBOUR_SAME_ENDING,
    X_NEXT_IS_END,
    X_RUN_OPEN,
    X_OPEN_PROSE_X_STORY_CLOSES,
    X_OPEN_PROSE_GROUP,
    X_COUNT
};
static const char *const CONTEXT_NAMES[X_COUNT] = {
    "rel_position", "is_second", "is_third", "near_end", "is_last", "article_open_share",
    "article_credit_share", "same_credit_style", "open_x_open_share", "rel_length",
    "neighbour_same_ending", "next_is_end", "run_open", "open_prose_x_story_closes", "open_prose_group",
};

typedef struct {
    Py_ssize_t *items;
    Py_ssize_t count;
} Columns;

typedef struct {
    int ready;
    WordTable words;
    UText open_quotes, close_quotes, bullets, sentence_end, closers;
    NeedleList position_cues, furniture_phrases, photo_gates, url_needles;
    uint8_t url_photo_pairs[128 * 128 / 8]; /* the pairs either url_needles or photo_gates starts with */
    Py_ssize_t head, tail, tail_tokens, head_words, near_copy_max_words;
    /* raw matrix */
    Py_ssize_t raw_width;
    Py_ssize_t raw[R_COUNT];
    /* feature matrix */
    Py_ssize_t n_features;
    Py_ssize_t closes_out, open_prose_out;
    Py_ssize_t derived[D_COUNT];
    Py_ssize_t context[X_COUNT];
    Columns copied_out, copied_raw, credit_out, neighbour_src, neighbour_prev, neighbour_next;
    double log_26;
    /* ending styles (owned references) */
    PyObject *closed, *open, *open_long;
    PyObject *lower_name;
    uint64_t generation;
} State;

static State S; /* zero until setup() succeeds */

static void columns_free(Columns *c)
{
    PyMem_Free(c->items);
    c->items = NULL;
    c->count = 0;
}

static void state_free(State *st)
{
    word_table_free(&st->words);
    utext_free(&st->open_quotes);
    utext_free(&st->close_quotes);
    utext_free(&st->bullets);
    utext_free(&st->sentence_end);
    utext_free(&st->closers);
    needle_list_free(&st->position_cues);
    needle_list_free(&st->furniture_phrases);
    needle_list_free(&st->photo_gates);
    needle_list_free(&st->url_needles);
    columns_free(&st->copied_out);
    columns_free(&st->copied_raw);
    columns_free(&st->credit_out);
    columns_free(&st->neighbour_src);
    columns_free(&st->neighbour_prev);
    columns_free(&st->neighbour_next);
    Py_CLEAR(st->closed);
    Py_CLEAR(st->open);
    Py_CLEAR(st->open_long);
    Py_CLEAR(st->lower_name);
    memset(st, 0, sizeof(*st));
}

/* config[key], a borrowed reference, or NULL with a KeyError set. */
static PyObject *config_item(PyObject *config, const char *key)
{
    PyObject *value = PyDict_GetItemString(config, key);
    if (value == NULL && !PyErr_Occurred()) {
        PyErr_Format(PyExc_KeyError, "setup config has no %s", key);
    }
    return value;
}

static int config_size(PyObject *config, const char *key, Py_ssize_t *out)
{
    PyObject *value = config_item(config, key);
    if (value == NULL) {
        return -1;
    }
    *out = PyNumber_AsSsize_t(value, PyExc_OverflowError);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static int config_text(PyObject *config, const char *key, UText *out)
{
    PyObject *value = config_item(config, key);
    return value == NULL ? -1 : utext_from(value, out, key);
}

static int config_needles(PyObject *config, const char *key, NeedleList *out)
{
    PyObject *value = config_item(config, key);
    return value == NULL ? -1 : needle_list_from(value, out, key);
}

/* A sequence of column numbers, each in [0, limit). */
static int config_columns(PyObject *config, const char *key, Py_ssize_t limit, Columns *out)
{
    PyObject *value = config_item(config, key);
    if (value == NULL) {
        return -1;
    }
    PyObject *seq = PySequence_Fast(value, key);
    if (seq == NULL) {
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    out->items = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Py_ssize_t));
    if (out->items == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    out->count = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t c = PyNumber_AsSsize_t(PySequence_Fast_GET_ITEM(seq, i), PyExc_OverflowError);
        if (c == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
        if (c < 0 || c >= limit) {
            PyErr_Format(PyExc_ValueError, "%s: column %zd out of range", key, c);
            Py_DECREF(seq);
            return -1;
        }
        out->items[i] = c;
    }
    Py_DECREF(seq);
    return 0;
}

/* columns[name] (a dict of name -> column), in [0, limit). */
static int column_of(PyObject *columns, const char *name, Py_ssize_t limit, Py_ssize_t *out)
{
    PyObject *value = PyDict_GetItemString(columns, name);
    if (value == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_ValueError, "the compiled features need a column named %s", name);
        }
        return -1;
    }
    *out = PyNumber_AsSsize_t(value, PyExc_OverflowError);
    if (*out == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (*out < 0 || *out >= limit) {
        PyErr_Format(PyExc_ValueError, "column %s out of range", name);
        return -1;
    }
    return 0;
}

/* Is name one of names (a NULL-terminated list, or the first count entries)? */
static int name_in(PyObject *name, const char *const *names, Py_ssize_t count)
{
    const char *s = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
    if (s == NULL) {
        PyErr_Clear();
        return 0;
    }
    for (Py_ssize_t i = 0; count < 0 ? names[i] != NULL : i < count; i++) {
        if (strcmp(s, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Every name of the collection must be one this module knows, and (when exact) every name it knows
 * must be there: a feature added on the Python side only must not be left at zero here. */
static int check_names(PyObject *config, const char *key, const char *const *known, Py_ssize_t count,
                       const char *const *also)
{
    PyObject *value = config_item(config, key);
    if (value == NULL) {
        return -1;
    }
    PyObject *seq = PySequence_Fast(value, key);
    if (seq == NULL) {
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PySequence_Fast_GET_ITEM(seq, i);
        if (!name_in(name, known, count) && (also == NULL || !name_in(name, also, -1))) {
            PyErr_Format(PyExc_ValueError, "%s: the compiled features do not know %R", key, name);
            Py_DECREF(seq);
            return -1;
        }
    }
    Py_DECREF(seq);
    return 0;
}

/* Marks columns [items] of a feature row as filled; each must be filled once. */
static int cover(char *covered, const Py_ssize_t *items, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        if (covered[items[i]]++) {
            PyErr_Format(PyExc_ValueError, "feature column %zd is filled twice", items[i]);
            return -1;
        }
    }
    return 0;
}

static int setup_state(State *st, PyObject *config)
{
    if (!PyDict_Check(config)) {
        PyErr_SetString(PyExc_TypeError, "setup() takes a dict");
        return -1;
    }
    /* Word sets. */
    PyObject *sets = config_item(config, "word_sets");
    if (sets == NULL) {
        return -1;
    }
    if (!PyDict_Check(sets) || PyDict_Size(sets) != ROLE_COUNT) {
        PyErr_SetString(PyExc_ValueError, "word_sets: expected a dict of the known word sets");
        return -1;
    }
    for (int role = 0; role < ROLE_COUNT; role++) {
        PyObject *words = config_item(sets, ROLE_NAMES[role]);
        if (words == NULL || word_table_add(&st->words, words, role) < 0) {
            return -1;
        }
    }
    if (word_table_index(&st->words) < 0) {
        return -1;
    }
    /* Characters, phrases and sizes. */
    if (config_text(config, "open_quotes", &st->open_quotes) < 0 ||
        config_text(config, "close_quotes", &st->close_quotes) < 0 ||
        config_text(config, "bullets", &st->bullets) < 0 ||
        config_text(config, "sentence_end", &st->sentence_end) < 0 ||
        config_text(config, "closers", &st->closers) < 0 ||
        config_needles(config, "position_cues", &st->position_cues) < 0 ||
        config_needles(config, "furniture_phrases", &st->furniture_phrases) < 0 ||
        config_needles(config, "photo_gates", &st->photo_gates) < 0 ||
        config_needles(config, "url_needles", &st->url_needles) < 0 ||
        config_size(config, "head", &st->head) < 0 || config_size(config, "tail", &st->tail) < 0 ||
        config_size(config, "tail_tokens", &st->tail_tokens) < 0 ||
        config_size(config, "head_words", &st->head_words) < 0 ||
        config_size(config, "near_copy_max_words", &st->near_copy_max_words) < 0) {
        return -1;
    }
    for (size_t i = 0; i < sizeof st->url_photo_pairs; i++) {
        st->url_photo_pairs[i] = st->url_needles.pairs[i] | st->photo_gates.pairs[i];
    }
    if (st->head < 0 || st->tail < 0 || st->tail_tokens < 0 || st->head_words < 0) {
        PyErr_SetString(PyExc_ValueError, "sizes must not be negative");
        return -1;
    }
    /* Raw matrix: every field is this module's or Python's, and this module's are all there. */
    PyObject *raw_columns = config_item(config, "raw_columns");
    if (raw_columns == NULL) {
        return -1;
    }
    if (!PyDict_Check(raw_columns)) {
        PyErr_SetString(PyExc_TypeError, "raw_columns: expected a dict");
        return -1;
    }
    st->raw_width = PyDict_Size(raw_columns);
    for (int r = 0; r < R_COUNT; r++) {
        if (column_of(raw_columns, RAW_NAMES[r], st->raw_width, &st->raw[r]) < 0) {
            return -1;
        }
    }
    if (check_names(config, "raw_fields", RAW_NAMES, R_COUNT, PYTHON_FIELDS) < 0 ||
        check_names(config, "python_fields", PYTHON_FIELDS, -1, NULL) < 0) {
        return -1;
    }
    /* Feature matrix. */
    PyObject *feature_columns = config_item(config, "feature_columns");
    if (feature_columns == NULL) {
        return -1;
    }
    if (!PyDict_Check(feature_columns)) {
        PyErr_SetString(PyExc_TypeError, "feature_columns: expected a dict");
        return -1;
    }
    st->n_features = PyDict_Size(feature_columns);
    Py_ssize_t nf = st->n_features;
    if (check_names(config, "derived", DERIVED_NAMES, D_COUNT, NULL) < 0 ||
        check_names(config, "context_features", CONTEXT_NAMES, X_COUNT, NULL) < 0) {
        return -1;
    }
    for (int d = 0; d < D_COUNT; d++) {
        if (column_of(feature_columns, DERIVED_NAMES[d], nf, &st->derived[d]) < 0) {
            return -1;
        }
    }
    for (int x = 0; x < X_COUNT; x++) {
        if (column_of(feature_columns, CONTEXT_NAMES[x], nf, &st->context[x]) < 0) {
            return -1;
        }
    }
    if (column_of(feature_columns, "closes", nf, &st->closes_out) < 0 ||
        column_of(feature_columns, "open_lower_prose", nf, &st->open_prose_out) < 0 ||
        config_columns(config, "copied_out", nf, &st->copied_out) < 0 ||
        config_columns(config, "copied_raw", st->raw_width, &st->copied_raw) < 0 ||
        config_columns(config, "credit_out", nf, &st->credit_out) < 0 ||
        config_columns(config, "neighbour_src", nf, &st->neighbour_src) < 0 ||
        config_columns(config, "neighbour_prev", nf, &st->neighbour_prev) < 0 ||
        config_columns(config, "neighbour_next", nf, &st->neighbour_next) < 0) {
        return -1;
    }
    if (st->copied_out.count != st->copied_raw.count ||
        st->neighbour_src.count != st->neighbour_prev.count ||
        st->neighbour_src.count != st->neighbour_next.count) {
        PyErr_SetString(PyExc_ValueError, "column lists of different lengths");
        return -1;
    }
    PyObject *log_26 = config_item(config, "log_26");
    if (log_26 == NULL) {
        return -1;
    }
    st->log_26 = PyFloat_AsDouble(log_26);
    if (st->log_26 == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    /* Every column of a feature row is filled exactly once. */
    char *covered = PyMem_Calloc(nf ? (size_t)nf : 1, 1);
    if (covered == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int bad = cover(covered, st->derived, D_COUNT) < 0 || cover(covered, st->context, X_COUNT) < 0 ||
              cover(covered, st->copied_out.items, st->copied_out.count) < 0 ||
              cover(covered, st->credit_out.items, st->credit_out.count) < 0 ||
              cover(covered, st->neighbour_prev.items, st->neighbour_prev.count) < 0 ||
              cover(covered, st->neighbour_next.items, st->neighbour_next.count) < 0;
    for (Py_ssize_t c = 0; !bad && c < nf; c++) {
        if (!covered[c]) {
            PyErr_Format(PyExc_ValueError, "feature column %zd is not computed by the compiled features", c);
            bad = 1;
        }
    }
    PyMem_Free(covered);
    if (bad) {
        return -1;
    }
    /* Ending styles: the strings the Python path uses, so that endings compare alike. */
    PyObject *styles = config_item(config, "endings");
    if (styles == NULL) {
        return -1;
    }
    if (!PyTuple_Check(styles) || PyTuple_GET_SIZE(styles) != 3) {
        PyErr_SetString(PyExc_ValueError, "endings: expected (closed, open, open_long)");
        return -1;
    }
    st->closed = Py_NewRef(PyTuple_GET_ITEM(styles, 0));
    st->open = Py_NewRef(PyTuple_GET_ITEM(styles, 1));
    st->open_long = Py_NewRef(PyTuple_GET_ITEM(styles, 2));
    st->lower_name = PyUnicode_InternFromString("lower");
    if (st->lower_name == NULL) {
        return -1;
    }
    st->ready = 1;
    return 0;
}

static PyObject *setup(PyObject *module, PyObject *config)
{
    State fresh;
    memset(&fresh, 0, sizeof(fresh));
    if (setup_state(&fresh, config) < 0) {
        state_free(&fresh);
        return NULL;
    }
    fresh.generation = S.generation;
    state_free(&S);
    S = fresh;
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------------------------------
 * block_values: the raw values of every block
 */

typedef struct {
    Py_ssize_t start; /* offset in Pass.low */
    Py_ssize_t len;
    Py_ssize_t block;
    uint64_t hash;
    Py_ssize_t kind; /* distinct-word number (near_copies) */
} Word;

/* Characters per word of English prose (with its space), for sizing block_values' word buffer. */
#define CHARS_PER_WORD 6

/* Buffers of one block_values call. */
typedef struct {
    Py_UCS4 *text; /* the current block's text */
    Py_ssize_t text_cap;
    Py_UCS4 *part; /* the lowered head or tail of the current block, when it has to be lowered apart */
    Py_ssize_t part_cap;
    Py_UCS4 *low; /* every block's lowered text, one after the other */
    Py_ssize_t low_len, low_cap;
    Py_ssize_t *low_start, *low_size; /* per block */
    Word *words;                      /* the words of the lowered texts */
    Py_ssize_t n_words, words_cap;
    Py_ssize_t *word_first, *word_count; /* per block */
} Pass;

static void pass_free(Pass *p)
{
    PyMem_Free(p->text);
    PyMem_Free(p->part);
    PyMem_Free(p->low);
    PyMem_Free(p->low_start);
    PyMem_Free(p->low_size);
    PyMem_Free(p->words);
    PyMem_Free(p->word_first);
    PyMem_Free(p->word_count);
}

/* str.lower() is character by character, each character taking its simple lower-case mapping
 * (Py_UNICODE_TOLOWER), but for two: İ (U+0130) lowers to two characters, "i" and U+0307, and Σ (U+03A3)
 * to σ or ς by its neighbours. lower_chars lowers n characters of src into dst (room for 2n), and returns
 * how many it wrote, or -1 at a Σ (which str.lower itself then handles). tests/test_speedups.py checks the
 * mapping against str.lower for every code point. */
#define DOTTED_CAPITAL_I 0x130
#define CAPITAL_SIGMA 0x3A3

static Py_ssize_t lower_chars(const Py_UCS4 *src, Py_ssize_t n, Py_UCS4 *dst)
{
    Py_UCS4 *out = dst;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = src[i];
        if (c < 128) {
            *out++ = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        }
        else if (c == DOTTED_CAPITAL_I) {
            *out++ = 'i';
            *out++ = 0x307;
        }
        else if (c == CAPITAL_SIGMA) {
            return -1;
        }
        else {
            *out++ = Py_UNICODE_TOLOWER(c);
        }
    }
    return out - dst;
}

/* Appends str.lower() of s[start:end] (whose characters t holds) to the buffer *buf at *len, growing it. */
static int append_lower(PyObject *s, const Py_UCS4 *t, Py_ssize_t start, Py_ssize_t end, Py_UCS4 **buf,
                        Py_ssize_t *len, Py_ssize_t *cap)
{
    Py_ssize_t n = end - start;
    if (n > (PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(Py_UCS4) - *len) / 2) {
        PyErr_NoMemory();
        return -1;
    }
    if (reserve((void **)buf, cap, *len + (PyUnicode_IS_ASCII(s) ? n : 2 * n), sizeof(Py_UCS4)) < 0) {
        return -1;
    }
    Py_ssize_t written = lower_chars(t + start, n, *buf + *len);
    if (written >= 0) {
        *len += written;
        return 0;
    }
    PyObject *part = (start == 0 && end == PyUnicode_GET_LENGTH(s)) ? Py_NewRef(s)
                                                                     : PyUnicode_Substring(s, start, end);
    if (part == NULL) {
        return -1;
    }
    PyObject *lowered = PyObject_CallMethodNoArgs(part, S.lower_name);
    Py_DECREF(part);
    if (lowered == NULL) {
        return -1;
    }
    if (!PyUnicode_Check(lowered)) {
        Py_DECREF(lowered);
        PyErr_SetString(PyExc_TypeError, "str.lower() did not return a str");
        return -1;
    }
    Py_ssize_t m = PyUnicode_GET_LENGTH(lowered);
    if (reserve((void **)buf, cap, *len + m + 1, sizeof(Py_UCS4)) < 0 ||
        PyUnicode_AsUCS4(lowered, *buf + *len, m + 1, 0) == NULL) {
        Py_DECREF(lowered);
        return -1;
    }
    Py_DECREF(lowered);
    *len += m;
    return 0;
}

/* Records a word of the lowered texts: len characters at start in p->low, in block b. */
static inline int add_word(Pass *p, Py_ssize_t b, Py_ssize_t start, Py_ssize_t len)
{
    if (p->n_words >= p->words_cap &&
        reserve((void **)&p->words, &p->words_cap, p->n_words + 1, sizeof(Word)) < 0) {
        return -1;
    }
    Word *w = &p->words[p->n_words++];
    w->start = start;
    w->len = len;
    w->block = b;
    w->hash = hash_chars(p->low + start, len);
    w->kind = -1;
    return 0;
}

/* Block numbers for each raw field that Python computes with the signal patterns. */
enum { G_LABEL, G_CREDIT, G_TAIL, G_DATE, G_BOILERPLATE, G_BYLINE, G_PHOTO, G_COUNT };

static int gate(PyObject **gates, int which, Py_ssize_t block)
{
    PyObject *number = PyLong_FromSsize_t(block);
    if (number == NULL) {
        return -1;
    }
    int failed = PyList_Append(gates[which], number);
    Py_DECREF(number);
    return failed;
}

/* What block_pass counts in a block's head, per ASCII character (one look-up instead of a comparison per
 * count): a double quote, a space (before a single quote it opens a quotation), a comma, an at sign, a
 * digit. */
enum { HF_QUOTE = 1, HF_SPACE = 2, HF_COMMA = 4, HF_AT = 8, HF_DIGIT = 16 };
static const uint8_t HEAD_FLAGS[128] = {
    ['"'] = HF_QUOTE, [' '] = HF_SPACE, [','] = HF_COMMA, ['@'] = HF_AT,
    ['0'] = HF_DIGIT, ['1'] = HF_DIGIT, ['2'] = HF_DIGIT, ['3'] = HF_DIGIT, ['4'] = HF_DIGIT,
    ['5'] = HF_DIGIT, ['6'] = HF_DIGIT, ['7'] = HF_DIGIT, ['8'] = HF_DIGIT, ['9'] = HF_DIGIT,
};

/* The raw values of block b (text s) into row, its ending style into endings, its words into p. */
static int block_pass(Pass *p, Py_ssize_t b, PyObject *s, double *row, PyObject *endings, PyObject **gates)
{
    const State *st = &S;
    const Py_ssize_t *col = st->raw;
    Py_ssize_t L = PyUnicode_GET_LENGTH(s);
    int ascii = PyUnicode_IS_ASCII(s);

    if (reserve((void **)&p->text, &p->text_cap, L + 1, sizeof(Py_UCS4)) < 0 ||
        PyUnicode_AsUCS4(s, p->text, L + 1, 0) == NULL) {
        return -1;
    }
    const Py_UCS4 *t = p->text;

    /* The lowered text, kept for near-copies. */
    p->low_start[b] = p->low_len;
    if (append_lower(s, t, 0, L, &p->low, &p->low_len, &p->low_cap) < 0) {
        return -1;
    }
    p->low_size[b] = p->low_len - p->low_start[b];

    /* Words of the text (str.split()): how many, title case and capitals among the first head_words,
     * and whether the first is a determiner. Lowering ASCII text moves no whitespace, so there the
     * words of the lowered text (for near-copies) are found in the same pass. */
    Py_ssize_t n_words = 0, title = 0, upper = 0;
    int determiner = 0, multi_line = 0, digit_dash = 0, sentences = 0;
    Py_ssize_t pos = 0, ws, we, previous_start = -1, previous_end = -1;
    const Py_ssize_t low_start = p->low_start[b];
    const Py_ssize_t sentence_chars = L < 1000 ? L : 1000;
    p->word_first[b] = p->n_words;
    for (Py_ssize_t i = 0; i < L;) {
        /* The same pass finds line breaks, the digit just before a slash or a dash that a date stamp
         * (DATE_STAMP) needs, and the sentence breaks. */
        if (Py_UNICODE_ISSPACE(t[i])) {
            multi_line |= t[i] == '\n';
            i++;
            continue;
        }
        ws = i;
        while (i < L && !Py_UNICODE_ISSPACE(t[i])) {
            Py_UCS4 c = t[i];
            if ((c == '/' || c == '-') && i > ws && !digit_dash) {
                Py_UCS4 d = t[i - 1];
                digit_dash = (d >= '0' && d <= '9') || (d > 127 && Py_UNICODE_ISDECIMAL(d));
            }
            i++;
        }
        we = i;
        /* SENTENCE_BREAK ("[.!?][\"'’”)]?\s+[A-Z\"'‘“]" in the first 1,000 characters) matches where a word
         * ends in .!? (or in one of them and a closer) and the next word, one run of whitespace later, opens
         * with a capital or a quote: one match per run of whitespace, so counting the runs counts them. */
        if (previous_end > 0 && ws < sentence_chars && sentences < 6) {
            Py_UCS4 x = t[ws], end = t[previous_end - 1];
            int punct = end == '.' || end == '!' || end == '?';
            if (!punct && previous_end - previous_start >= 2 && is_break_closer(end)) {
                Py_UCS4 before = t[previous_end - 2];
                punct = before == '.' || before == '!' || before == '?';
            }
            sentences += punct && ((x >= 'A' && x <= 'Z') || x == '"' || x == '\'' || x == 0x2018 || x == 0x201C);
        }
        previous_start = ws;
        previous_end = we;
        if (ascii && add_word(p, b, low_start + ws, we - ws) < 0) {
            return -1;
        }
        if (n_words < st->head_words) {
            title += is_title(t + ws, we - ws);
            upper += is_upper(t + ws, we - ws);
        }
        if (n_words == 0) {
            WordEntry *e = word_lookup(&st->words, t + ws, we - ws);
            determiner = e != NULL && HAS(e->roles, ROLE_DETERMINER);
        }
        n_words++;
    }
    Py_ssize_t n = n_words ? n_words : 1;
    Py_ssize_t head_count = n_words < st->head_words ? n_words : st->head_words;
    Py_ssize_t hn = head_count ? head_count : 1;
    int is_short = n <= 25;

    /* Words of the lowered text (near-copies), when it is not ASCII. */
    if (!ascii) {
        Py_ssize_t low_end = low_start + p->low_size[b];
        pos = low_start;
        while (next_word(p->low, low_end, &pos, &ws, &we)) {
            if (add_word(p, b, ws, we - ws) < 0) {
                return -1;
            }
        }
    }
    p->word_count[b] = p->n_words - p->word_first[b];

    /* Ends and starts: text.rstrip(closers), the first and last characters. */
    Py_ssize_t k = L;
    while (k > 0 && in_chars(&st->closers, t[k - 1])) {
        k--;
    }
    int closes = k > 0 && in_chars(&st->sentence_end, t[k - 1]);
    int ends_question = k > 0 && t[k - 1] == '?';
    Py_UCS4 first = t[0], last = t[L - 1];

    /* Characters of the head. */
    Py_ssize_t H = L < st->head ? L : st->head;
    Py_ssize_t quotes = 0, commas = 0;
    int at_sign = 0, copyright = 0, has_digit = 0;
    for (Py_ssize_t i = 0; i < H; i++) {
        const Py_UCS4 c = t[i];
        if (c < 128) {
            const unsigned f = HEAD_FLAGS[c];
            if (f == 0) {
                continue; /* most characters: a letter */
            }
            quotes += (f & HF_QUOTE) != 0;
            quotes += (f & HF_SPACE) && i + 1 < H && (t[i + 1] == '\'' || t[i + 1] == 0x2018);
            commas += (f & HF_COMMA) != 0;
            at_sign |= (f & HF_AT) != 0;
            has_digit |= (f & HF_DIGIT) != 0;
        }
        else {
            quotes += c == 0x201C;
            copyright |= c == 0xA9;
            has_digit |= Py_UNICODE_ISDECIMAL(c) != 0;
        }
    }

    /* The lowered head: head.lower(). For ASCII text, and text no longer than the head, it is the start
     * of the lowered text; otherwise the head is lowered on its own (lowering is not always per
     * character: a final sigma depends on what follows). */
    const Py_UCS4 *low;
    Py_ssize_t LH;
    if (ascii || L <= st->head) {
        low = p->low + p->low_start[b];
        LH = ascii ? H : p->low_size[b];
    }
    else {
        Py_ssize_t part_len = 0;
        if (append_lower(s, t, 0, H, &p->part, &part_len, &p->part_cap) < 0) {
            return -1;
        }
        low = p->part; /* valid until p->part is used again, for the tail below */
        LH = part_len;
    }

    /* Tokens of the lowered head (signals.WORD) against the word sets: sets held, distinct past and
     * present words, and articles counted with repeats. "-ed" and "-ing" before a space, comma or full
     * stop (low.count("ed ") + ...) end a token, so they are counted at token ends. */
    unsigned roles = 0;
    Py_ssize_t past = 0, present = 0, articles = 0, ed = 0, ing = 0;
    uint64_t generation = ++S.generation;
    for (Py_ssize_t i = 0; i < LH;) {
        if (!is_token_char(low[i])) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        while (i < LH && is_token_char(low[i])) {
            i++;
        }
        if (i < LH && (low[i] == ' ' || low[i] == ',' || low[i] == '.')) {
            Py_ssize_t len = i - start;
            ed += len >= 2 && low[i - 2] == 'e' && low[i - 1] == 'd';
            ing += len >= 3 && low[i - 3] == 'i' && low[i - 2] == 'n' && low[i - 1] == 'g';
        }
        WordEntry *e = word_lookup(&st->words, low + start, i - start);
        if (e == NULL) {
            continue;
        }
        roles |= e->roles;
        articles += HAS(e->roles, ROLE_ARTICLE);
        if (e->seen != generation) {
            e->seen = generation;
            past += HAS(e->roles, ROLE_PAST);
            present += HAS(e->roles, ROLE_PRESENT);
        }
    }
    int url = at_sign, photo_gate;
    contains_any_of_two(low, LH, &st->url_needles, &st->photo_gates, st->url_photo_pairs, &url, &photo_gate);
    int position_cue = contains_char(low, LH, '(') && contains_any(low, LH, &st->position_cues);
    int furniture = HAS(roles, ROLE_FURNITURE) ||
                    (n <= 40 && (copyright || (HAS(roles, ROLE_FURNITURE_START) &&
                                               contains_any(low, LH, &st->furniture_phrases))));

    /* Gates of the credit patterns: a bracket at the end, a slash in the tail, or a credit word among
     * the tokens of the lowered last tail_tokens characters. */
    Py_ssize_t T = L < st->tail ? L : st->tail;
    const Py_UCS4 *tail = t + (L - T);
    int credit_gate = last == ')' || last == ']' || contains_char(tail, T, '/');
    if (!credit_gate) {
        Py_ssize_t TT = L < st->tail_tokens ? L : st->tail_tokens;
        const Py_UCS4 *tail_low;
        Py_ssize_t tail_len;
        if (ascii || TT == L) {
            tail_low = p->low + p->low_start[b] + (ascii ? L - TT : 0);
            tail_len = ascii ? TT : p->low_size[b];
        }
        else {
            tail_len = 0;
            if (append_lower(s, t, L - TT, L, &p->part, &tail_len, &p->part_cap) < 0) {
                return -1;
            }
            tail_low = p->part;
        }
        for (Py_ssize_t i = 0; i < tail_len && !credit_gate;) {
            if (!is_token_char(tail_low[i])) {
                i++;
                continue;
            }
            Py_ssize_t start = i;
            while (i < tail_len && is_token_char(tail_low[i])) {
                i++;
            }
            WordEntry *e = word_lookup(&st->words, tail_low + start, i - start);
            credit_gate = e != NULL && HAS(e->roles, ROLE_CREDIT_TRIGGER);
        }
    }

    row[col[R_N]] = (double)n;
    row[col[R_CLOSES]] = closes;
    row[col[R_ENDS_QUOTE]] = in_chars(&st->close_quotes, last);
    row[col[R_ENDS_COLON]] = last == ':';
    row[col[R_ENDS_PAREN]] = last == ')' || last == ']';
    row[col[R_ENDS_DIGIT]] = Py_UNICODE_ISDIGIT(last) != 0;
    row[col[R_SENTENCES]] = sentences;
    row[col[R_MULTI_LINE]] = multi_line;
    row[col[R_STARTS_LOWER]] = Py_UNICODE_ISLOWER(first) != 0;
    row[col[R_STARTS_DIGIT]] = Py_UNICODE_ISDIGIT(first) != 0;
    row[col[R_STARTS_QUOTE]] = in_chars(&st->open_quotes, first);
    row[col[R_STARTS_BULLET]] = in_chars(&st->bullets, first);
    row[col[R_STARTS_BY]] = L >= 3 && t[0] == 'B' && t[1] == 'y' && t[2] == ' ';
    row[col[R_PICTURED]] = HAS(roles, ROLE_PICTURED);
    row[col[R_POSITION_CUE]] = position_cue;
    row[col[R_VIDEO_CUE]] = HAS(roles, ROLE_VIDEO);
    row[col[R_QUOTES]] = (double)(quotes < 4 ? quotes : 4);
    row[col[R_REPORTING]] = HAS(roles, ROLE_REPORTING);
    row[col[R_PERSONAL]] = HAS(roles, ROLE_PERSONAL);
    row[col[R_PAST]] = (double)(past + ed);
    row[col[R_PRESENT]] = (double)present;
    row[col[R_TITLE_CASE]] = (double)title / (double)hn;
    row[col[R_ALL_CAPS]] = (double)upper / (double)hn;
    row[col[R_DIGITS]] = has_digit;
    row[col[R_DATE_WORDS]] = HAS(roles, ROLE_DATE);
    row[col[R_URL]] = url;
    row[col[R_FURNITURE]] = furniture;
    row[col[R_STARTS_DETERMINER]] = determiner;
    row[col[R_ARTICLE_WORDS]] = (double)articles / (double)hn;
    row[col[R_COMMAS]] = (double)(commas < 4 ? commas : 4);
    row[col[R_ING_WORDS]] = (double)(ing < 3 ? ing : 3);
    row[col[R_ENDS_QUESTION]] = ends_question;

    PyObject *ending = closes ? st->closed : n >= 9 ? st->open_long : st->open;
    PyList_SET_ITEM(endings, b, Py_NewRef(ending));

    /* Blocks for the patterns (each gate is a necessary condition of its pattern matching). */
    /* LABEL_PREFIX opens with [A-Z0-9] and has its colon in the first 45 characters. */
    int label_gate = ((first >= 'A' && first <= 'Z') || (first >= '0' && first <= '9')) &&
                     contains_char(t, L < 45 ? L : 45, ':');
    int tail_gate = !closes && tail_phrase_possible(tail, T);
    int byline_gate = is_short && ((L >= 2 && t[0] == 'B' && t[1] == 'y') || Py_UNICODE_ISDIGIT(first) ||
                                   Py_UNICODE_ISSPACE(first));
    if ((label_gate && gate(gates, G_LABEL, b) < 0) || (credit_gate && gate(gates, G_CREDIT, b) < 0) ||
        (tail_gate && gate(gates, G_TAIL, b) < 0) ||
        (is_short && digit_dash && gate(gates, G_DATE, b) < 0) ||
        (L <= 40 && gate(gates, G_BOILERPLATE, b) < 0) || (byline_gate && gate(gates, G_BYLINE, b) < 0) ||
        (photo_gate && gate(gates, G_PHOTO, b) < 0)) {
        return -1;
    }
    return 0;
}

typedef struct {
    Py_ssize_t count; /* occurrences in the article */
    Py_ssize_t first; /* a word with this text */
    Py_ssize_t holders_start, holders_count, last_block;
    int key;
} Kind;

typedef struct {
    Py_ssize_t block, word, key;
} Probe;

/* Near-copies, as _near_copies_fast finds them: three five-word probes (start, middle, end) of each
 * block of 6 to near_copy_max_words words are looked for in the lowered texts of the blocks that hold
 * the probe's rarest middle word; a probe whose middle words are not all repeated cannot occur twice. */
static int near_copies(Pass *p, Py_ssize_t count, double *raw, Py_ssize_t width)
{
    const Py_ssize_t max_words = S.near_copy_max_words;
    Py_ssize_t eligible = 0;
    for (Py_ssize_t b = 0; b < count; b++) {
        eligible += p->word_count[b] >= 6 && p->word_count[b] <= max_words;
    }
    if (eligible == 0) {
        return 0;
    }
    int status = -1;
    Py_ssize_t W = p->n_words;
    size_t size = 16;
    while (size < (size_t)W * 2) {
        size *= 2;
    }
    Py_ssize_t *slots = PyMem_Malloc(size * sizeof(Py_ssize_t));
    /* Room for a kind per word, each set up when it is first seen (most are repeats: zeroing all of it
     * cost more than the counting). */
    Kind *kinds = PyMem_Malloc((size_t)(W ? W : 1) * sizeof(Kind));
    Probe *probes = PyMem_Malloc((size_t)eligible * 3 * sizeof(Probe));
    Py_ssize_t *holders = NULL, *hits = NULL;
    Py_UCS4 *needle = NULL;
    Py_ssize_t needle_cap = 0;
    if (slots == NULL || kinds == NULL || probes == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* Distinct words and their counts. */
    size_t mask = size - 1;
    for (size_t i = 0; i < size; i++) {
        slots[i] = -1;
    }
    Py_ssize_t n_kinds = 0;
    for (Py_ssize_t w = 0; w < W; w++) {
        Word *word = &p->words[w];
        const Py_UCS4 *chars = p->low + word->start;
        size_t at = (size_t)word->hash & mask;
        for (;; at = (at + 1) & mask) {
            Py_ssize_t k = slots[at];
            if (k < 0) {
                slots[at] = n_kinds;
                kinds[n_kinds] = (Kind){.first = w, .last_block = -1};
                word->kind = n_kinds++;
                break;
            }
            Word *other = &p->words[kinds[k].first];
            if (other->hash == word->hash && other->len == word->len &&
                memcmp(p->low + other->start, chars, (size_t)word->len * sizeof(Py_UCS4)) == 0) {
                word->kind = k;
                break;
            }
        }
        kinds[word->kind].count++;
    }
    /* Probes whose middle words all occur more than once, each with its rarest (first of equals). */
    Py_ssize_t n_probes = 0;
    for (Py_ssize_t b = 0; b < count; b++) {
        Py_ssize_t words = p->word_count[b];
        if (words < 6 || words > max_words) {
            continue;
        }
        Py_ssize_t offsets[3] = {0, (words - 5) / 2, words - 5};
        for (int o = 0; o < 3; o++) {
            Py_ssize_t w = p->word_first[b] + offsets[o];
            Py_ssize_t a = p->words[w + 1].kind, m = p->words[w + 2].kind, c = p->words[w + 3].kind;
            Py_ssize_t ca = kinds[a].count, cm = kinds[m].count, cc = kinds[c].count;
            if (ca > 1 && cm > 1 && cc > 1) {
                Py_ssize_t key = (ca <= cm && ca <= cc) ? a : (cm <= cc ? m : c);
                kinds[key].key = 1;
                probes[n_probes].block = b;
                probes[n_probes].word = w;
                probes[n_probes].key = key;
                n_probes++;
            }
        }
    }
    if (n_probes == 0) {
        status = 0;
        goto done;
    }
    /* The blocks holding each key word, in order (counted, then filled). */
    Py_ssize_t n_holders = 0;
    for (Py_ssize_t w = 0; w < W; w++) {
        Kind *kind = &kinds[p->words[w].kind];
        if (kind->key && kind->last_block != p->words[w].block) {
            kind->last_block = p->words[w].block;
            kind->holders_count++;
            n_holders++;
        }
    }
    holders = PyMem_Malloc((size_t)(n_holders ? n_holders : 1) * sizeof(Py_ssize_t));
    hits = PyMem_Calloc((size_t)count, sizeof(Py_ssize_t));
    if (holders == NULL || hits == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t next = 0;
    for (Py_ssize_t k = 0; k < n_kinds; k++) {
        if (kinds[k].key) {
            kinds[k].holders_start = next;
            next += kinds[k].holders_count;
            kinds[k].holders_count = 0;
            kinds[k].last_block = -1;
        }
    }
    for (Py_ssize_t w = 0; w < W; w++) {
        Kind *kind = &kinds[p->words[w].kind];
        if (kind->key && kind->last_block != p->words[w].block) {
            kind->last_block = p->words[w].block;
            holders[kind->holders_start + kind->holders_count++] = p->words[w].block;
        }
    }
    /* Each probe: its five words joined by single spaces, counted in the holders until found twice. */
    for (Py_ssize_t i = 0; i < n_probes; i++) {
        const Probe *probe = &probes[i];
        Py_ssize_t length = 4;
        for (int j = 0; j < 5; j++) {
            length += p->words[probe->word + j].len;
        }
        if (reserve((void **)&needle, &needle_cap, length, sizeof(Py_UCS4)) < 0) {
            goto done;
        }
        Py_ssize_t at = 0;
        for (int j = 0; j < 5; j++) {
            const Word *word = &p->words[probe->word + j];
            if (j) {
                needle[at++] = ' ';
            }
            memcpy(needle + at, p->low + word->start, (size_t)word->len * sizeof(Py_UCS4));
            at += word->len;
        }
        Needle prep;
        needle_prepare(&prep, needle, length);
        const Kind *key = &kinds[probe->key];
        Py_ssize_t total = 0;
        for (Py_ssize_t h = 0; h < key->holders_count; h++) {
            Py_ssize_t block = holders[key->holders_start + h];
            total += find_count(p->low + p->low_start[block], p->low_size[block], needle, length, &prep,
                                2 - total);
            if (total > 1) {
                hits[probe->block]++;
                break;
            }
        }
    }
    for (Py_ssize_t b = 0; b < count; b++) {
        if (hits[b]) {
            raw[b * width + S.raw[R_NEAR_COPY]] = (double)hits[b] / 3.0;
            raw[b * width + S.raw[R_NEAR_COPIED]] = hits[b] == 3 ? 1.0 : 0.0;
        }
    }
    status = 0;
done:
    PyMem_Free(slots);
    PyMem_Free(kinds);
    PyMem_Free(probes);
    PyMem_Free(holders);
    PyMem_Free(hits);
    PyMem_Free(needle);
    return status;
}

/* A C-contiguous 2-d float64 buffer of shape (rows, cols). */
static int matrix_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t rows, Py_ssize_t cols, int writable,
                         const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        return -1;
    }
    const char *format = view->format ? view->format : "B";
    int is_double = strcmp(format, "d") == 0 || strcmp(format, "=d") == 0 || strcmp(format, "@d") == 0;
#if PY_LITTLE_ENDIAN
    is_double |= strcmp(format, "<d") == 0;
#else
    is_double |= strcmp(format, ">d") == 0;
#endif
    if (!is_double || view->itemsize != (Py_ssize_t)sizeof(double) || view->ndim != 2 ||
        view->shape[0] != rows || view->shape[1] != cols) {
        PyErr_Format(PyExc_ValueError, "%s: expected a C-contiguous float64 array of shape (%zd, %zd)", what,
                     rows, cols);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *not_ready(void)
{
    PyErr_SetString(PyExc_RuntimeError, "captionset.classify._speedups.setup() was not called");
    return NULL;
}

/* block_values(texts, raw) -> (endings, label, credit, tail, date, boilerplate, byline, photo) | None
 *
 * Fills this module's columns of raw (zeros, blocks x raw fields) and returns each block's ending style
 * and, for each pattern field, the blocks that Python has to look at. None (raw untouched): a block is
 * empty or not an exact str, which the Python path handles (and reports) itself. */
static PyObject *block_values(PyObject *module, PyObject *args)
{
    PyObject *texts_obj, *raw_obj;
    if (!PyArg_ParseTuple(args, "OO:block_values", &texts_obj, &raw_obj)) {
        return NULL;
    }
    if (!S.ready) {
        return not_ready();
    }
    /* A tuple of our own: its items stay alive and in place whatever runs meanwhile (a finalizer called by
     * the garbage collector could change the caller's list). */
    PyObject *texts = PySequence_Tuple(texts_obj);
    if (texts == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(texts);
    for (Py_ssize_t b = 0; b < count; b++) {
        PyObject *s = PySequence_Fast_GET_ITEM(texts, b);
        if (!PyUnicode_CheckExact(s) || PyUnicode_GET_LENGTH(s) == 0) {
            Py_DECREF(texts);
            Py_RETURN_NONE;
        }
    }
    Py_buffer view;
    if (matrix_buffer(raw_obj, &view, count, S.raw_width, 1, "raw") < 0) {
        Py_DECREF(texts);
        return NULL;
    }
    PyObject *result = NULL, *endings = NULL, *gates[G_COUNT] = {NULL};
    Pass p;
    memset(&p, 0, sizeof(p));
    size_t per_block = (size_t)(count ? count : 1);
    p.low_start = PyMem_Malloc(per_block * sizeof(Py_ssize_t));
    p.low_size = PyMem_Malloc(per_block * sizeof(Py_ssize_t));
    p.word_first = PyMem_Malloc(per_block * sizeof(Py_ssize_t));
    p.word_count = PyMem_Malloc(per_block * sizeof(Py_ssize_t));
    if (p.low_start == NULL || p.low_size == NULL || p.word_first == NULL || p.word_count == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    endings = PyList_New(count);
    if (endings == NULL) {
        goto done;
    }
    for (int g = 0; g < G_COUNT; g++) {
        if ((gates[g] = PyList_New(0)) == NULL) {
            goto done;
        }
    }
    /* The buffers at their likely sizes from the start (each would otherwise grow by doubling, copying
     * what it holds each time): the longest block, all the lowered text (room for lowering to two
     * characters, as append_lower asks), a word every few characters. */
    Py_ssize_t total = 0, longest = 0;
    for (Py_ssize_t b = 0; b < count; b++) {
        const Py_ssize_t L = PyUnicode_GET_LENGTH(PySequence_Fast_GET_ITEM(texts, b));
        total += L;
        longest = L > longest ? L : longest;
    }
    if (reserve((void **)&p.text, &p.text_cap, longest + 1, sizeof(Py_UCS4)) < 0 ||
        reserve((void **)&p.low, &p.low_cap, 2 * total + 1, sizeof(Py_UCS4)) < 0 ||
        reserve((void **)&p.words, &p.words_cap, total / CHARS_PER_WORD + 1, sizeof(Word)) < 0) {
        goto done;
    }
    double *raw = view.buf;
    for (Py_ssize_t b = 0; b < count; b++) {
        PyObject *s = PySequence_Fast_GET_ITEM(texts, b);
        if (block_pass(&p, b, s, raw + b * S.raw_width, endings, gates) < 0) {
            goto done;
        }
    }
    if (near_copies(&p, count, raw, S.raw_width) < 0) {
        goto done;
    }
    result = PyTuple_New(1 + G_COUNT);
    if (result == NULL) {
        goto done;
    }
    PyTuple_SET_ITEM(result, 0, endings);
    endings = NULL;
    for (int g = 0; g < G_COUNT; g++) {
        PyTuple_SET_ITEM(result, 1 + g, gates[g]);
        gates[g] = NULL;
    }
done:
    /* An unfilled slot of endings is NULL, which list deallocation allows. */
    Py_XDECREF(endings);
    for (int g = 0; g < G_COUNT; g++) {
        Py_XDECREF(gates[g]);
    }
    pass_free(&p);
    PyBuffer_Release(&view);
    Py_DECREF(texts);
    return result;
}

/* ---------------------------------------------------------------------------------------------------
 * assemble: the feature matrix from the raw values
 */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Is the ending style one of the three plain ones ("closed", "open", "open_long")? -1 on error. */
static int plain_ending(PyObject *ending)
{
    PyObject *plain[3] = {S.closed, S.open, S.open_long};
    for (int i = 0; i < 3; i++) {
        int same = ending == plain[i] ? 1 : PyObject_RichCompareBool(plain[i], ending, Py_EQ);
        if (same != 0) {
            return same;
        }
    }
    return 0;
}

/* Base block features of one row, as derive_block_features computes them (log_words is filled). */
static void derive_row(const double *x, double *o)
{
    const State *st = &S;
    const Py_ssize_t *r = st->raw, *d = st->derived;
    for (Py_ssize_t i = 0; i < st->copied_out.count; i++) {
        o[st->copied_out.items[i]] = x[st->copied_raw.items[i]];
    }
    double kind = x[r[R_CREDIT_KIND]];
    for (Py_ssize_t i = 0; i < st->credit_out.count; i++) {
        o[st->credit_out.items[i]] = kind == (double)(i + 1);
    }
    double n = x[r[R_N]], closes = x[r[R_CLOSES]], is_open = 1.0 - closes;
    double title = x[r[R_TITLE_CASE]], present = x[r[R_PRESENT]], past = x[r[R_PAST]];
    double article_words = x[r[R_ARTICLE_WORDS]];
    int mid = n >= 9 && n <= 25, long_mid = n >= 26 && n <= 60;
    double ends_open = is_open * (1.0 - x[r[R_ENDS_COLON]]) * (1.0 - x[r[R_ENDS_PAREN]]) *
                       (1.0 - x[r[R_ENDS_QUOTE]]);
    double open_prose = ends_open * (double)(n >= 9) * (double)(title < 0.4) *
                        (double)(article_words > 0) * (1.0 - x[r[R_STARTS_BULLET]]) *
                        (double)(x[r[R_ALL_CAPS]] < 0.3) * (1.0 - x[r[R_FURNITURE]]) *
                        (1.0 - x[r[R_URL]]);
    o[d[D_WORDS_LE3]] = n <= 3;
    o[d[D_WORDS_LE8]] = n <= 8;
    o[d[D_WORDS_9_25]] = mid;
    o[d[D_WORDS_26_60]] = long_mid;
    o[d[D_WORDS_GT60]] = n > 60;
    o[d[D_ENDS_OPEN]] = ends_open;
    o[d[D_SENTENCES]] = x[r[R_SENTENCES]] / 3.0;
    o[d[D_QUOTES]] = x[r[R_QUOTES]] / 4.0;
    o[d[D_PAST]] = (past < 4.0 ? past : 4.0) / 4.0;
    o[d[D_PRESENT]] = (present < 4.0 ? present : 4.0) / 4.0;
    o[d[D_COMMAS]] = x[r[R_COMMAS]] / 4.0;
    o[d[D_ING_WORDS]] = x[r[R_ING_WORDS]] / 3.0;
    o[d[D_ARTICLE_WORDS]] = (article_words < 0.25 ? article_words : 0.25) * 4.0;
    o[d[D_OPEN_LE8]] = is_open * (double)(n <= 8);
    o[d[D_OPEN_9_25]] = is_open * (double)mid;
    o[d[D_OPEN_26_60]] = is_open * (double)long_mid;
    o[d[D_OPEN_PRESENT]] = is_open * (double)(present > 0);
    o[d[D_OPEN_NO_VERBS]] = is_open * (double)(past == 0 && present == 0);
    o[d[D_CLOSED_LE8]] = closes * (double)(n <= 8);
    o[d[D_OPEN_TITLE_CASE]] = is_open * title;
    o[d[D_OPEN_LOWER_PROSE]] = open_prose;
    o[d[D_SHORT_QUESTION]] = x[r[R_ENDS_QUESTION]] > 0 && n <= 14;
}

/* assemble(raw, endings, out): the feature matrix of one article (at least one block) into out
 * (zeros, blocks x features, with the log_words column filled), as assemble_features_python. */
static PyObject *assemble(PyObject *module, PyObject *args)
{
    PyObject *raw_obj, *endings_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OOO:assemble", &raw_obj, &endings_obj, &out_obj)) {
        return NULL;
    }
    if (!S.ready) {
        return not_ready();
    }
    const State *st = &S;
    /* A tuple of our own: comparing endings may run Python code (an __eq__), which must not change them. */
    PyObject *endings = PySequence_Tuple(endings_obj);
    if (endings == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(endings);
    if (count == 0) {
        Py_DECREF(endings);
        PyErr_SetString(PyExc_ValueError, "assemble() needs at least one block");
        return NULL;
    }
    Py_buffer raw_view, out_view;
    if (matrix_buffer(raw_obj, &raw_view, count, st->raw_width, 0, "raw") < 0) {
        Py_DECREF(endings);
        return NULL;
    }
    if (matrix_buffer(out_obj, &out_view, count, st->n_features, 1, "out") < 0) {
        PyBuffer_Release(&raw_view);
        Py_DECREF(endings);
        return NULL;
    }
    PyObject *result = NULL, *counts = NULL;
    double *lengths = PyMem_Malloc((size_t)count * sizeof(double));
    Py_ssize_t *runs = PyMem_Malloc((size_t)count * sizeof(Py_ssize_t));
    if (lengths == NULL || runs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const double *raw = raw_view.buf;
    double *out = out_view.buf;
    const Py_ssize_t NF = st->n_features;
    const Py_ssize_t log_col = st->derived[D_LOG_WORDS], closes_col = st->closes_out;
    const Py_ssize_t prose_col = st->open_prose_out;
    for (Py_ssize_t i = 0; i < count; i++) {
        derive_row(raw + i * st->raw_width, out + i * NF);
    }
    /* Article statistics (over the blocks after the first, the title's place). */
    Py_ssize_t inner = count - 1 > 1 ? count - 1 : 1;
    double open_sum = 0.0, credit_sum = 0.0, prose_group = 0.0;
    Py_ssize_t n_lengths = 0, long_rows = 0, long_closed = 0;
    for (Py_ssize_t i = 1; i < count; i++) {
        const double *o = out + i * NF;
        double closes = o[closes_col], log_words = o[log_col], open_prose = o[prose_col];
        open_sum += 1.0 - closes;
        double has_credit = 0.0;
        for (Py_ssize_t c = 0; c < st->credit_out.count; c++) {
            double v = o[st->credit_out.items[c]];
            has_credit = c == 0 || v > has_credit ? v : has_credit;
        }
        credit_sum += has_credit;
        if (closes != 0.0 && log_words > 2.3) {
            lengths[n_lengths++] = log_words;
        }
        /* Long paragraphs (26+ words) that are not open prose: do the story's paragraphs close? */
        if (log_words > st->log_26 && open_prose == 0.0) {
            long_rows++;
            long_closed += closes != 0.0;
        }
        prose_group += open_prose;
    }
    double open_share = open_sum / (double)inner;
    double credit_share = credit_sum / (double)inner;
    double typical = 3.0;
    if (n_lengths) {
        qsort(lengths, (size_t)n_lengths, sizeof(double), compare_doubles);
        Py_ssize_t mid = n_lengths / 2;
        typical = n_lengths % 2 ? lengths[mid] : (lengths[mid - 1] + lengths[mid]) / 2.0;
    }
    double story_closes = long_rows >= 3 ? (double)long_closed / (double)long_rows : 0.0;
    double group = prose_group < 8.0 ? prose_group : 8.0;
    /* How many blocks after the first share each credit ending style. */
    counts = PyDict_New();
    if (counts == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 1; i < count; i++) {
        PyObject *ending = PySequence_Fast_GET_ITEM(endings, i);
        int plain = plain_ending(ending);
        if (plain < 0) {
            goto done;
        }
        if (plain) {
            continue;
        }
        PyObject *seen = PyDict_GetItemWithError(counts, ending);
        if (seen == NULL && PyErr_Occurred()) {
            goto done;
        }
        Py_ssize_t k = seen ? PyLong_AsSsize_t(seen) + 1 : 1;
        PyObject *number = PyLong_FromSsize_t(k);
        if (number == NULL) {
            goto done;
        }
        int failed = PyDict_SetItem(counts, ending, number);
        Py_DECREF(number);
        if (failed < 0) {
            goto done;
        }
    }
    /* Runs of open blocks: each block's run length, carried back over the run. */
    for (Py_ssize_t i = 0; i < count; i++) {
        int is_open = out[i * NF + closes_col] == 0.0;
        runs[i] = is_open ? (i ? runs[i - 1] : 0) + 1 : 0;
    }
    for (Py_ssize_t i = count - 2; i >= 0; i--) {
        if (out[i * NF + closes_col] == 0.0 && runs[i + 1] > runs[i]) {
            runs[i] = runs[i + 1];
        }
    }
    const Py_ssize_t *x = st->context;
    for (Py_ssize_t i = 0; i < count; i++) {
        double *o = out + i * NF;
        /* Neighbours: the previous and the next block's features (zeros at the ends). */
        for (Py_ssize_t c = 0; c < st->neighbour_src.count; c++) {
            Py_ssize_t src = st->neighbour_src.items[c];
            o[st->neighbour_prev.items[c]] = i > 0 ? out[(i - 1) * NF + src] : 0.0;
            o[st->neighbour_next.items[c]] = i + 1 < count ? out[(i + 1) * NF + src] : 0.0;
        }
        PyObject *ending = PySequence_Fast_GET_ITEM(endings, i);
        double shared = 0.0;
        int plain = plain_ending(ending);
        if (plain < 0) {
            goto done;
        }
        if (!plain) {
            PyObject *seen = PyDict_GetItemWithError(counts, ending);
            if (seen == NULL && PyErr_Occurred()) {
                goto done;
            }
            Py_ssize_t k = (seen ? PyLong_AsSsize_t(seen) : 1) - 1;
            if (k == -2 && PyErr_Occurred()) {
                goto done;
            }
            shared = (double)(k < 6 ? k : 6) / 6.0;
        }
        int same = 0;
        if (i > 0) {
            same = PyObject_RichCompareBool(PySequence_Fast_GET_ITEM(endings, i - 1), ending, Py_EQ);
        }
        if (same == 0 && i + 1 < count) {
            same = PyObject_RichCompareBool(ending, PySequence_Fast_GET_ITEM(endings, i + 1), Py_EQ);
        }
        if (same < 0) {
            goto done;
        }
        double closes = o[closes_col], open_prose = o[prose_col];
        o[x[X_REL_POSITION]] = (double)i / (double)inner;
        o[x[X_IS_SECOND]] = i == 1;
        o[x[X_IS_THIRD]] = i == 2;
        o[x[X_NEAR_END]] = i >= count - 3;
        o[x[X_IS_LAST]] = i == count - 1;
        o[x[X_ARTICLE_OPEN_SHARE]] = open_share;
        o[x[X_ARTICLE_CREDIT_SHARE]] = credit_share;
        o[x[X_SAME_CREDIT_STYLE]] = shared;
        o[x[X_OPEN_X_OPEN_SHARE]] = (1.0 - closes) * open_share;
        o[x[X_REL_LENGTH]] = o[log_col] - typical;
        o[x[X_NEIGHBOUR_SAME_ENDING]] = same;
        o[x[X_NEXT_IS_END]] = i + 2 >= count;
        o[x[X_RUN_OPEN]] = (double)(runs[i] < 6 ? runs[i] : 6) / 6.0;
        o[x[X_OPEN_PROSE_X_STORY_CLOSES]] = open_prose * story_closes;
        o[x[X_OPEN_PROSE_GROUP]] = open_prose * story_closes * group / 8.0;
    }
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(counts);
    PyMem_Free(lengths);
    PyMem_Free(runs);
    PyBuffer_Release(&out_view);
    PyBuffer_Release(&raw_view);
    Py_DECREF(endings);
    return result;
}

/* lower(text) -> str | None: text lowered as block_values lowers it without str.lower, or None when it
 * holds a Σ (for the tests, which compare it with str.lower on every code point). */
static PyObject *lower(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "lower() takes a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > PY_SSIZE_T_MAX / (3 * (Py_ssize_t)sizeof(Py_UCS4)) - 1) {
        return PyErr_NoMemory();
    }
    Py_UCS4 *buf = PyMem_Malloc((size_t)(3 * n + 1) * sizeof(Py_UCS4));
    if (buf == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *result = NULL;
    if (PyUnicode_AsUCS4(text, buf, n + 1, 1) != NULL) {
        Py_ssize_t written = lower_chars(buf, n, buf + n);
        result = written < 0 ? Py_NewRef(Py_None)
                             : PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf + n, written);
    }
    PyMem_Free(buf);
    return result;
}

/* ---------------------------------------------------------------------------------------------------
 * Gradient-boosted trees (captionset.classify.trees)
 *
 * tree_model() checks a stage's node table once and copies it into a TreeModel of its own (so nothing can
 * change it afterwards, and scoring needs no checks nor the GIL), and lays trees of at most
 * COMPLETE_MAX_DEPTH levels out complete as well (a walk then computes its next node instead of loading
 * it); tree_scores() walks every row down every tree. TreeEnsemble.raw_scores_python is the definition: a
 * row goes left where x[row, feature] <= threshold (NaN compares false, so it goes right), and the score
 * of class k is baseline[k] plus the leaf values of class k's trees added one by one in tree order, the
 * additions numpy's cumsum makes. tree_logits() and tree_blend() then give a bagged stage's probabilities.
 */

#define TREE_MODEL_NAME "captionset.classify._speedups.TreeModel"

/* One node of the packed table. A leaf keeps its value in threshold and points at itself both ways, so a
 * walk of a tree's full height from its root ends on the leaf whichever way it went. Its feature 0 is
 * read only in a tree that has an inner node, hence only when x has at least one column. */
typedef struct {
    double threshold; /* inner node: the split; leaf: the value */
    int32_t feature;  /* inner node: the column tested; leaf: 0 */
    int32_t child[2]; /* [0] where x <= threshold, [1] otherwise (NaN included) */
} TreeNode;

typedef struct {
    TreeNode *nodes;
    int32_t *roots;   /* per tree */
    int32_t *heights; /* per tree: the steps from its root down to its deepest leaf */
    int32_t *classes; /* per tree: its column of the scores */
    double *baseline; /* per class */
    Py_ssize_t n_nodes, n_trees, n_classes;
    Py_ssize_t n_features; /* columns x needs: the largest feature index + 1 (0 when all are leaves) */
    Py_ssize_t steps;      /* the heights summed: node steps per row */
    /* The complete layout (when every tree is at most COMPLETE_MAX_DEPTH deep, else depth is -1): each
     * tree padded to the tallest one's height, its inner nodes breadth first (node i's children are
     * 2i + 1 and 2i + 2), so a walk computes where it goes instead of loading it. */
    int32_t depth;
    int32_t *cfeature;   /* per tree, 2**depth - 1 inner nodes: the column tested, times COMPLETE_ROWS */
    double *cthreshold;  /* per tree, 2**depth - 1 inner nodes: the split */
    double *cleaf;       /* per tree, 2**depth leaves: the value */
    /* The complete layout holds the trees class by class (in tree order within a class, the order of each
     * class's sum): class k's trees are [class_start[k], class_start[k + 1]). */
    Py_ssize_t *class_start;
    /* The bit-vector layout (when depth <= SIMD_MAX_DEPTH, else NULL), for complete_block_simd: the tree
     * at place t of the complete layout has the inner nodes qnodes[qstart[t]:qstart[t + 1]] (those of the
     * trained tree, none of the padding). */
    struct QNode *qnodes;
    Py_ssize_t *qstart;
    uint32_t qall; /* the bits of all 2**depth leaves */
} TreeModel;

/* An inner node for complete_block_simd. Leaf l of the complete layout (left to right) is bit 31 - l of a
 * 32-bit word; a row that goes right at this node (NaN included) cannot end in its left subtree, whose
 * leaves `keep` clears. Once every node has cleared what it rules out, the highest bit left is the leaf the
 * walk ends on (QuickScorer's observation: each leaf left of it was ruled out where its path parted from
 * the walk's). A padding node leads to copies of one value either way, so it is left out. */
typedef struct QNode {
    double threshold;
    int32_t offset; /* the column tested, times COMPLETE_ROWS */
    uint32_t keep;  /* every bit but those of the left subtree's leaves */
} QNode;

static void tree_model_free(TreeModel *m)
{
    if (m == NULL) {
        return;
    }
    PyMem_RawFree(m->nodes);
    PyMem_RawFree(m->roots);
    PyMem_RawFree(m->heights);
    PyMem_RawFree(m->classes);
    PyMem_RawFree(m->baseline);
    PyMem_RawFree(m->cfeature);
    PyMem_RawFree(m->cthreshold);
    PyMem_RawFree(m->cleaf);
    PyMem_RawFree(m->class_start);
    PyMem_RawFree(m->qnodes);
    PyMem_RawFree(m->qstart);
    PyMem_RawFree(m);
}

static void tree_model_capsule_free(PyObject *capsule)
{
    tree_model_free(PyCapsule_GetPointer(capsule, TREE_MODEL_NAME));
}

/* Is format (a buffer's struct-module format) one native item of the given kind: 'i' a signed 64-bit
 * integer, 'd' a float64? The item size is checked apart. */
static int native_format(const char *format, char kind)
{
    if (format == NULL) {
        return 0; /* unsigned bytes */
    }
#if PY_LITTLE_ENDIAN
    if (*format == '@' || *format == '=' || *format == '<') {
#else
    if (*format == '@' || *format == '=' || *format == '>') {
#endif
        format++;
    }
    if (format[0] == '\0' || format[1] != '\0') {
        return 0;
    }
    return kind == 'd' ? format[0] == 'd' : format[0] == 'q' || format[0] == 'l';
}

/* Gets a C-contiguous buffer of ndim dimensions of kind 'i' (int64) or 'd' (float64) from obj; on
 * failure releases it and sets ValueError (or the buffer protocol's TypeError). */
static int typed_buffer(PyObject *obj, Py_buffer *view, int ndim, char kind, int writable, const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        return -1;
    }
    if (!native_format(view->format, kind) || view->itemsize != 8 || view->ndim != ndim) {
        PyErr_Format(PyExc_ValueError, "%s: expected a C-contiguous %s array of %d dimension%s", what,
                     kind == 'd' ? "float64" : "int64", ndim, ndim == 1 ? "" : "s");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Buffer views of tree_model's arguments, in its order. */
enum { T_FEATURE, T_THRESHOLD, T_LEFT, T_RIGHT, T_VALUE, T_ROOTS, T_TREE_CLASS, T_BASELINE, T_COUNT };
static const char *const TREE_ARG_NAMES[T_COUNT] = {
    "feature", "threshold", "left", "right", "value", "roots", "tree_class", "baseline",
};

/* Trees at most this deep are also laid out complete (2**depth leaves each), for score_complete. */
#define COMPLETE_MAX_DEPTH 8
/* Rows walked together over the complete layout (score_complete): their chains of loads overlap. */
#define COMPLETE_ROWS 8
/* The bit-vector layout (QNode) has a bit per leaf in 32 bits: trees of at most 5 levels. */
#define SIMD_MAX_DEPTH 5
#define SIMD_WORD_BITS 32
/* The alignment of score_complete's block of rows: a cache line, one AVX-512 load per column. */
#define SIMD_ALIGN 64

/* Puts packed node `node` at slot `slot` of the tree at place t of the complete layout (slots below
 * 2**depth - 1 are inner nodes, the rest leaves). A leaf above the bottom level becomes inner nodes that
 * test column 0 and lead to copies of its value on both sides, so the walk arrives at its value whichever
 * way it goes. */
static void complete_place(TreeModel *m, Py_ssize_t t, int32_t node, Py_ssize_t slot)
{
    const Py_ssize_t inner = ((Py_ssize_t)1 << m->depth) - 1;
    const TreeNode *n = &m->nodes[node];
    const int leaf = n->child[0] == node;
    if (slot >= inner) {
        m->cleaf[t * (inner + 1) + slot - inner] = n->threshold; /* a leaf: the height allows no more */
        return;
    }
    m->cfeature[t * inner + slot] = leaf ? 0 : n->feature * COMPLETE_ROWS; /* its place in a block */
    m->cthreshold[t * inner + slot] = leaf ? 0.0 : n->threshold;
    if (m->qnodes != NULL && !leaf) {
        /* The slot is node slot - first of its level: its subtree holds the span leaves from `from` on,
         * its left subtree the first half of them. */
        int level = 0;
        while (((Py_ssize_t)2 << level) - 1 <= slot) {
            level++;
        }
        const Py_ssize_t first = ((Py_ssize_t)1 << level) - 1, span = (Py_ssize_t)1 << (m->depth - level);
        const Py_ssize_t from = (slot - first) * span, half = span / 2;
        const uint32_t left = (uint32_t)((((uint64_t)1 << half) - 1) << (SIMD_WORD_BITS - from - half));
        QNode *q = &m->qnodes[m->qstart[t + 1]++];
        q->threshold = n->threshold;
        q->offset = n->feature * COMPLETE_ROWS;
        q->keep = ~left;
    }
    complete_place(m, t, leaf ? node : n->child[0], 2 * slot + 1);
    complete_place(m, t, leaf ? node : n->child[1], 2 * slot + 2);
}

/* Builds m's complete layout for trees of at most `depth` steps; 0, or -1 with MemoryError set. */
static int complete_layout(TreeModel *m, int32_t depth)
{
    const Py_ssize_t inner = ((Py_ssize_t)1 << depth) - 1, trees = m->n_trees ? m->n_trees : 1;
    const Py_ssize_t K = m->n_classes;
    m->cfeature = PyMem_RawMalloc((size_t)(trees * inner + 1) * sizeof(int32_t));
    m->cthreshold = PyMem_RawMalloc((size_t)(trees * inner + 1) * sizeof(double));
    m->cleaf = PyMem_RawMalloc((size_t)(trees * (inner + 1)) * sizeof(double));
    m->class_start = PyMem_RawCalloc((size_t)K + 1, sizeof(Py_ssize_t));
    Py_ssize_t *next = PyMem_RawMalloc((size_t)K * sizeof(Py_ssize_t)); /* per class: its next place */
    if (!m->cfeature || !m->cthreshold || !m->cleaf || !m->class_start || !next) {
        PyMem_RawFree(next);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t t = 0; t < m->n_trees; t++) {
        m->class_start[m->classes[t] + 1]++;
    }
    for (Py_ssize_t k = 0; k < K; k++) {
        m->class_start[k + 1] += m->class_start[k];
        next[k] = m->class_start[k];
    }
    m->depth = depth;
    if (depth <= SIMD_MAX_DEPTH) {
        m->qnodes = PyMem_RawMalloc((size_t)(trees * inner + 1) * sizeof(QNode));
        m->qstart = PyMem_RawCalloc((size_t)trees + 1, sizeof(Py_ssize_t));
        if (!m->qnodes || !m->qstart) {
            PyMem_RawFree(next);
            PyErr_NoMemory();
            return -1;
        }
        const Py_ssize_t leaves = (Py_ssize_t)1 << depth;
        m->qall = (uint32_t)((((uint64_t)1 << leaves) - 1) << (SIMD_WORD_BITS - leaves));
    }
    /* Place by place (each tree's qnodes after the previous place's), so trees go by place, not number. */
    int32_t *at = PyMem_RawMalloc((size_t)trees * sizeof(int32_t)); /* the tree at each place */
    if (at == NULL) {
        PyMem_RawFree(next);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t t = 0; t < m->n_trees; t++) {
        at[next[m->classes[t]]++] = (int32_t)t;
    }
    for (Py_ssize_t place = 0; place < m->n_trees; place++) {
        if (m->qstart != NULL) {
            m->qstart[place + 1] = m->qstart[place];
        }
        complete_place(m, place, m->roots[at[place]], 0);
    }
    PyMem_RawFree(at);
    PyMem_RawFree(next);
    return 0;
}

/* Checks the node table and packs it into m (allocated, zeroed); 0, or -1 with ValueError set. */
static int tree_model_fill(TreeModel *m, Py_buffer *v)
{
    const Py_ssize_t n = v[T_FEATURE].shape[0], trees = v[T_ROOTS].shape[0];
    const Py_ssize_t classes = v[T_BASELINE].shape[0];
    for (int a = T_THRESHOLD; a <= T_VALUE; a++) {
        if (v[a].shape[0] != n) {
            PyErr_Format(PyExc_ValueError, "%s has %zd nodes, feature has %zd", TREE_ARG_NAMES[a],
                         v[a].shape[0], n);
            return -1;
        }
    }
    if (v[T_TREE_CLASS].shape[0] != trees) {
        PyErr_Format(PyExc_ValueError, "tree_class has %zd trees, roots has %zd", v[T_TREE_CLASS].shape[0],
                     trees);
        return -1;
    }
    if (n == 0 || n > INT32_MAX || classes == 0 || trees > INT32_MAX) {
        PyErr_Format(PyExc_ValueError,
                     "a tree model needs 1 to %d nodes and at least one class (got %zd nodes, %zd classes)",
                     (int)INT32_MAX, n, classes);
        return -1;
    }
    const int64_t *feature = v[T_FEATURE].buf, *left = v[T_LEFT].buf, *right = v[T_RIGHT].buf;
    const int64_t *roots = v[T_ROOTS].buf, *tree_class = v[T_TREE_CLASS].buf;
    const double *threshold = v[T_THRESHOLD].buf, *value = v[T_VALUE].buf, *baseline = v[T_BASELINE].buf;

    m->n_nodes = n;
    m->n_trees = trees;
    m->n_classes = classes;
    m->nodes = PyMem_RawMalloc((size_t)n * sizeof(TreeNode));
    m->roots = PyMem_RawMalloc((size_t)(trees ? trees : 1) * sizeof(int32_t));
    m->heights = PyMem_RawMalloc((size_t)(trees ? trees : 1) * sizeof(int32_t));
    m->classes = PyMem_RawMalloc((size_t)(trees ? trees : 1) * sizeof(int32_t));
    m->baseline = PyMem_RawMalloc((size_t)classes * sizeof(double));
    int32_t *height = PyMem_RawMalloc((size_t)n * sizeof(int32_t)); /* per node, to its deepest leaf */
    if (!m->nodes || !m->roots || !m->heights || !m->classes || !m->baseline || !height) {
        PyMem_RawFree(height);
        PyErr_NoMemory();
        return -1;
    }
    /* Children come after their parent (sklearn numbers its nodes depth first), so no walk can loop and
     * one pass from the last node back computes every node's height from its children's. */
    int64_t max_feature = -1;
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        TreeNode *node = &m->nodes[i];
        const int64_t f = feature[i];
        if (f == -1) {
            node->threshold = value[i];
            node->feature = 0;
            node->child[0] = node->child[1] = (int32_t)i;
            height[i] = 0;
            continue;
        }
        if (f < 0 || f >= INT32_MAX) {
            PyErr_Format(PyExc_ValueError,
                         "feature[%zd] = %lld: expected -1 (a leaf) or a column index (0 to %d)", i,
                         (long long)f, (int)INT32_MAX - 1);
            PyMem_RawFree(height);
            return -1;
        }
        const int64_t children[2] = {left[i], right[i]};
        for (int side = 0; side < 2; side++) {
            if (children[side] <= i || children[side] >= n) {
                PyErr_Format(PyExc_ValueError,
                             "%s[%zd] = %lld: an inner node's children must come after it (%zd to %zd)",
                             side ? "right" : "left", i, (long long)children[side], i + 1, n - 1);
                PyMem_RawFree(height);
                return -1;
            }
        }
        node->threshold = threshold[i];
        node->feature = (int32_t)f;
        node->child[0] = (int32_t)children[0];
        node->child[1] = (int32_t)children[1];
        const int32_t deeper = height[children[0]] > height[children[1]] ? height[children[0]]
                                                                          : height[children[1]];
        height[i] = deeper + 1; /* at most n - 1: a path visits each node once */
        max_feature = f > max_feature ? f : max_feature;
    }
    m->n_features = (Py_ssize_t)(max_feature + 1);
    m->steps = 0;
    for (Py_ssize_t t = 0; t < trees; t++) {
        if (roots[t] < 0 || roots[t] >= n) {
            PyErr_Format(PyExc_ValueError, "roots[%zd] = %lld: not a node (0 to %zd)", t, (long long)roots[t],
                         n - 1);
            PyMem_RawFree(height);
            return -1;
        }
        if (tree_class[t] < 0 || tree_class[t] >= classes) {
            PyErr_Format(PyExc_ValueError, "tree_class[%zd] = %lld: not a class (0 to %zd)", t,
                         (long long)tree_class[t], classes - 1);
            PyMem_RawFree(height);
            return -1;
        }
        m->roots[t] = (int32_t)roots[t];
        m->classes[t] = (int32_t)tree_class[t];
        m->heights[t] = height[roots[t]];
        m->steps += height[roots[t]]; /* at most trees * n < 2**62 */
    }
    memcpy(m->baseline, baseline, (size_t)classes * sizeof(double));
    int32_t tallest = 0;
    for (Py_ssize_t t = 0; t < trees; t++) {
        tallest = m->heights[t] > tallest ? m->heights[t] : tallest;
    }
    PyMem_RawFree(height);
    m->depth = -1;
    if (tallest <= COMPLETE_MAX_DEPTH && m->n_features <= INT32_MAX / COMPLETE_ROWS) {
        return complete_layout(m, tallest);
    }
    return 0;
}

/* tree_model(feature, threshold, left, right, value, roots, tree_class, baseline) -> model
 *
 * The node table of one stage (1-D C-contiguous arrays: int64 feature, left, right, roots and tree_class;
 * float64 threshold, value and baseline), checked and copied into an opaque model for tree_scores. */
static PyObject *tree_model(PyObject *module, PyObject *args)
{
    PyObject *objs[T_COUNT];
    if (!PyArg_ParseTuple(args, "OOOOOOOO:tree_model", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &objs[5], &objs[6], &objs[7])) {
        return NULL;
    }
    Py_buffer views[T_COUNT];
    int got = 0;
    PyObject *result = NULL;
    TreeModel *m = NULL;
    for (; got < T_COUNT; got++) {
        const char kind = got == T_THRESHOLD || got == T_VALUE || got == T_BASELINE ? 'd' : 'i';
        if (typed_buffer(objs[got], &views[got], 1, kind, 0, TREE_ARG_NAMES[got]) < 0) {
            goto done;
        }
    }
    m = PyMem_RawCalloc(1, sizeof(TreeModel));
    if (m == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (tree_model_fill(m, views) < 0) {
        goto done;
    }
    result = PyCapsule_New(m, TREE_MODEL_NAME, tree_model_capsule_free);
    if (result != NULL) {
        m = NULL; /* the capsule owns it */
    }
done:
    tree_model_free(m);
    for (int a = 0; a < got; a++) {
        PyBuffer_Release(&views[a]);
    }
    return result;
}

/* One step down from node index i (a Py_ssize_t) for the row xr. The children are loaded before the
 * comparison decides between them and chosen by a mask, not a branch: a row's way down is as good as
 * random to a branch predictor. NaN compares false, so it goes right. */
#define TREE_STEP(i, xr)                                                                                  \
    do {                                                                                                  \
        const TreeNode *node_ = &nodes[i];                                                               \
        const Py_ssize_t left_ = node_->child[0], right_ = node_->child[1];                              \
        const Py_ssize_t right_mask_ = -(Py_ssize_t) !((xr)[node_->feature] <= node_->threshold);       \
        i = left_ ^ ((left_ ^ right_) & right_mask_);                                                     \
    } while (0)

/* out[r, k] = baseline[k] + the leaf values of class k's trees for row r, added in tree order. Trees in
 * the outer loop, so one tree's nodes stay in cache over all rows; the walks of eight rows (then four,
 * then one) are interleaved, so that their chains of dependent loads overlap. Every walk takes its tree's
 * full height (a leaf points at itself), so the rows of a block step together. */
static void score_nodes(const TreeModel *m, const double *x, Py_ssize_t rows, Py_ssize_t cols, double *out)
{
    const Py_ssize_t K = m->n_classes;
    const TreeNode *nodes = m->nodes;
    for (Py_ssize_t r = 0; r < rows; r++) {
        memcpy(out + r * K, m->baseline, (size_t)K * sizeof(double));
    }
    for (Py_ssize_t t = 0; t < m->n_trees; t++) {
        const Py_ssize_t root = m->roots[t];
        const int32_t height = m->heights[t];
        double *o = out + m->classes[t];
        Py_ssize_t r = 0;
        for (; r + 8 <= rows; r += 8) {
            const double *x0 = x + r * cols;
            Py_ssize_t i0 = root, i1 = root, i2 = root, i3 = root, i4 = root, i5 = root, i6 = root, i7 = root;
            for (int32_t s = 0; s < height; s++) {
                TREE_STEP(i0, x0);
                TREE_STEP(i1, x0 + cols);
                TREE_STEP(i2, x0 + 2 * cols);
                TREE_STEP(i3, x0 + 3 * cols);
                TREE_STEP(i4, x0 + 4 * cols);
                TREE_STEP(i5, x0 + 5 * cols);
                TREE_STEP(i6, x0 + 6 * cols);
                TREE_STEP(i7, x0 + 7 * cols);
            }
            double *orow = o + r * K;
            orow[0] += nodes[i0].threshold;
            orow[K] += nodes[i1].threshold;
            orow[2 * K] += nodes[i2].threshold;
            orow[3 * K] += nodes[i3].threshold;
            orow[4 * K] += nodes[i4].threshold;
            orow[5 * K] += nodes[i5].threshold;
            orow[6 * K] += nodes[i6].threshold;
            orow[7 * K] += nodes[i7].threshold;
        }
        for (; r + 4 <= rows; r += 4) {
            const double *x0 = x + r * cols;
            Py_ssize_t i0 = root, i1 = root, i2 = root, i3 = root;
            for (int32_t s = 0; s < height; s++) {
                TREE_STEP(i0, x0);
                TREE_STEP(i1, x0 + cols);
                TREE_STEP(i2, x0 + 2 * cols);
                TREE_STEP(i3, x0 + 3 * cols);
            }
            double *orow = o + r * K;
            orow[0] += nodes[i0].threshold;
            orow[K] += nodes[i1].threshold;
            orow[2 * K] += nodes[i2].threshold;
            orow[3 * K] += nodes[i3].threshold;
        }
        for (; r < rows; r++) {
            const double *xr = x + r * cols;
            Py_ssize_t i = root;
            for (int32_t s = 0; s < height; s++) {
                TREE_STEP(i, xr);
            }
            o[r * K] += nodes[i].threshold;
        }
    }
}

/* The depth the shipped models have (the training script's max_depth): its steps are unrolled. */
#define COMPLETE_USUAL_DEPTH 4

/* One step of lane `lane` (a constant) from slot i (a Py_ssize_t) down the complete layout: to 2i + 1
 * where x <= threshold, else (NaN included) to 2i + 2, computed from the comparison rather than branched
 * on. The block xb holds a block of rows column by column (xb[column * COMPLETE_ROWS + lane]) and
 * feature[] holds column * COMPLETE_ROWS, so every lane addresses its value from the same two registers. */
#define LANE_STEP(i, lane) (i = 2 * (i) + 1 + !((xb + (lane))[feature[i]] <= threshold[i]))
/* One step of every lane of a block of `lanes` (4 or COMPLETE_ROWS, a constant). */
#define BLOCK_STEP()                                                                                      \
    do {                                                                                                  \
        LANE_STEP(i0, 0);                                                                                 \
        LANE_STEP(i1, 1);                                                                                 \
        LANE_STEP(i2, 2);                                                                                 \
        LANE_STEP(i3, 3);                                                                                 \
        if (lanes == COMPLETE_ROWS) {                                                                     \
            LANE_STEP(i4, 4);                                                                             \
            LANE_STEP(i5, 5);                                                                             \
            LANE_STEP(i6, 6);                                                                             \
            LANE_STEP(i7, 7);                                                                             \
        }                                                                                                 \
    } while (0)

/* Adds every tree's leaf value to the scores sc (rows of K, holding the baseline) of the first `lanes`
 * rows of the block xb: class by class, each class's trees in tree order with the sums in registers.
 * Inlined with lanes a constant (COMPLETE_ROWS, or 4 for a short last block). */
static inline __attribute__((always_inline)) void complete_block(const TreeModel *m, const double *xb,
                                                                double *sc, const int lanes)
{
    const Py_ssize_t K = m->n_classes, inner = ((Py_ssize_t)1 << m->depth) - 1;
    const int32_t depth = m->depth;
    for (Py_ssize_t k = 0; k < K; k++) {
        double a0 = sc[k], a1 = sc[K + k], a2 = sc[2 * K + k], a3 = sc[3 * K + k];
        double a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0;
        if (lanes == COMPLETE_ROWS) {
            a4 = sc[4 * K + k], a5 = sc[5 * K + k], a6 = sc[6 * K + k], a7 = sc[7 * K + k];
        }
        for (Py_ssize_t t = m->class_start[k]; t < m->class_start[k + 1]; t++) {
            const int32_t *feature = m->cfeature + t * inner;
            const double *threshold = m->cthreshold + t * inner;
            const double *leaf = m->cleaf + t * (inner + 1);
            Py_ssize_t i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0, i6 = 0, i7 = 0;
            if (depth == COMPLETE_USUAL_DEPTH) {
                BLOCK_STEP();
                BLOCK_STEP();
                BLOCK_STEP();
                BLOCK_STEP();
            }
            else {
                for (int32_t s = 0; s < depth; s++) {
                    BLOCK_STEP();
                }
            }
            a0 += leaf[i0 - inner];
            a1 += leaf[i1 - inner];
            a2 += leaf[i2 - inner];
            a3 += leaf[i3 - inner];
            if (lanes == COMPLETE_ROWS) {
                a4 += leaf[i4 - inner];
                a5 += leaf[i5 - inner];
                a6 += leaf[i6 - inner];
                a7 += leaf[i7 - inner];
            }
        }
        sc[k] = a0, sc[K + k] = a1, sc[2 * K + k] = a2, sc[3 * K + k] = a3;
        if (lanes == COMPLETE_ROWS) {
            sc[4 * K + k] = a4, sc[5 * K + k] = a5, sc[6 * K + k] = a6, sc[7 * K + k] = a7;
        }
    }
}

/* A last block of at most this many rows is walked four lanes wide (fewer padding rows walked). */
#define COMPLETE_SHORT_ROWS 4

/* Is complete_block_simd to be used (when the CPU has it)? tree_simd() switches it, for the tests. */
static int tree_simd_wanted = 1;

#if TREE_SIMD
/* complete_block for all COMPLETE_ROWS rows of the block xb (64-byte aligned) at once, over the bit-vector
 * layout (QNode): each node is one comparison of eight rows' values and one masked AND, with no chain of
 * loads from node to node; then every row's leaf is loaded by one gather. Each row's sums are the same
 * additions in the same order as complete_block's (one lane each). */
TREE_SIMD_TARGET static void complete_block_simd(const TreeModel *m, const double *xb, double *sc)
{
    const Py_ssize_t K = m->n_classes, leaves = (Py_ssize_t)1 << m->depth;
    const __m256i all = _mm256_set1_epi32((int)m->qall);
    double lanes[COMPLETE_ROWS];
    for (Py_ssize_t k = 0; k < K; k++) {
        for (int lane = 0; lane < COMPLETE_ROWS; lane++) {
            lanes[lane] = sc[lane * K + k];
        }
        __m512d sum = _mm512_loadu_pd(lanes);
        for (Py_ssize_t t = m->class_start[k]; t < m->class_start[k + 1]; t++) {
            __m256i alive = all;
            const QNode *q = m->qnodes + m->qstart[t], *end = m->qnodes + m->qstart[t + 1];
            for (; q < end; q++) {
                const __m512d v = _mm512_load_pd(xb + q->offset);
                const __mmask8 right = _mm512_cmp_pd_mask(v, _mm512_set1_pd(q->threshold), _CMP_NLE_UQ);
                alive = _mm256_mask_and_epi32(alive, right, alive, _mm256_set1_epi32((int)q->keep));
            }
            const __m256i leaf = _mm256_lzcnt_epi32(alive);
            sum = _mm512_add_pd(sum, _mm512_i32gather_pd(leaf, m->cleaf + t * leaves, sizeof(double)));
        }
        _mm512_storeu_pd(lanes, sum);
        for (int lane = 0; lane < COMPLETE_ROWS; lane++) {
            sc[lane * K + k] = lanes[lane];
        }
    }
}

/* Does this CPU (and its operating system) run complete_block_simd? Asked once. */
static int tree_simd_supported(void)
{
    static int supported = -1;
    if (supported < 0) {
        __builtin_cpu_init();
        supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                    __builtin_cpu_supports("avx512cd");
    }
    return supported;
}
#else
static int tree_simd_supported(void)
{
    return 0;
}
#endif

/* tree_simd(enabled) -> bool
 *
 * Switches the AVX-512 tree scoring on or off (the tests compare both with the definition) and returns
 * whether it is now used: on and supported by the CPU. */
static PyObject *tree_simd(PyObject *module, PyObject *arg)
{
    const int enabled = PyObject_IsTrue(arg);
    if (enabled < 0) {
        return NULL;
    }
    tree_simd_wanted = enabled;
    return PyBool_FromLong(enabled && tree_simd_supported());
}

/* The raw scores of the rows of x (rows x cols) by each of n models (all laid out complete, all of K
 * classes) into outs[b] (rows x K). Row blocks in the outer loop: each block is copied column by column
 * once for all models, then every model's trees stream past it. A last block of fewer rows is padded
 * with copies of its last row (whose scores are dropped): walked one by one, a row's chain of loads would
 * stand alone. Returns -1, having written nothing, when it cannot allocate its scratch space. */
static int score_complete(const TreeModel *const *models, Py_ssize_t n, const double *x, Py_ssize_t rows,
                          Py_ssize_t cols, double *const *outs)
{
    const Py_ssize_t K = models[0]->n_classes;
    /* xb at a multiple of SIMD_ALIGN (each column's COMPLETE_ROWS values one aligned load) */
    void *xb_memory = PyMem_RawMalloc((size_t)(COMPLETE_ROWS * cols + 1) * sizeof(double) + SIMD_ALIGN);
    double *sc = PyMem_RawMalloc((size_t)(COMPLETE_ROWS * K) * sizeof(double));
    if (xb_memory == NULL || sc == NULL) {
        PyMem_RawFree(xb_memory);
        PyMem_RawFree(sc);
        return -1;
    }
    double *xb = (double *)(((uintptr_t)xb_memory + SIMD_ALIGN - 1) & ~(uintptr_t)(SIMD_ALIGN - 1));
    const int simd = tree_simd_wanted && tree_simd_supported();
    (void)simd; /* without TREE_SIMD, never read */
    for (Py_ssize_t r = 0; r < rows; r += COMPLETE_ROWS) {
        const Py_ssize_t lanes = rows - r < COMPLETE_ROWS ? rows - r : COMPLETE_ROWS;
        for (Py_ssize_t lane = 0; lane < COMPLETE_ROWS; lane++) {
            const double *row = x + (r + (lane < lanes ? lane : lanes - 1)) * cols;
            for (Py_ssize_t c = 0; c < cols; c++) {
                xb[c * COMPLETE_ROWS + lane] = row[c];
            }
        }
        for (Py_ssize_t b = 0; b < n; b++) {
            for (Py_ssize_t lane = 0; lane < COMPLETE_ROWS; lane++) {
                memcpy(sc + lane * K, models[b]->baseline, (size_t)K * sizeof(double));
            }
#if TREE_SIMD
            if (simd && models[b]->qnodes != NULL) {
                complete_block_simd(models[b], xb, sc);
            }
            else
#endif
            if (lanes <= COMPLETE_SHORT_ROWS) {
                complete_block(models[b], xb, sc, COMPLETE_SHORT_ROWS);
            }
            else {
                complete_block(models[b], xb, sc, COMPLETE_ROWS);
            }
            memcpy(outs[b] + r * K, sc, (size_t)(lanes * K) * sizeof(double));
        }
    }
    PyMem_RawFree(xb_memory);
    PyMem_RawFree(sc);
    return 0;
}

/* out = the raw scores of the rows of x: over the complete layout when the model has one (and scratch
 * space can be had), else over the node table; the same sums either way. */
static void score_trees(const TreeModel *m, const double *x, Py_ssize_t rows, Py_ssize_t cols, double *out)
{
    if (m->depth < 0 || rows == 0 || score_complete(&m, 1, x, rows, cols, &out) < 0) {
        score_nodes(m, x, rows, cols, out);
    }
}

/* Below this many node steps scoring takes a few microseconds: less than handing the GIL over can. */
#define TREE_GIL_STEPS 16384

/* tree_scores(model, x, out) -> None
 *
 * The raw scores of every row of x (rows x features, C-contiguous float64, at least the columns the
 * trees test) into out (rows x classes, C-contiguous float64, not overlapping x). */
static PyObject *tree_scores(PyObject *module, PyObject *args)
{
    PyObject *model_obj, *x_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OOO:tree_scores", &model_obj, &x_obj, &out_obj)) {
        return NULL;
    }
    if (!PyCapsule_IsValid(model_obj, TREE_MODEL_NAME)) {
        PyErr_SetString(PyExc_TypeError, "tree_scores: model must come from tree_model()");
        return NULL;
    }
    const TreeModel *m = PyCapsule_GetPointer(model_obj, TREE_MODEL_NAME);
    if (m == NULL) {
        return NULL;
    }
    Py_buffer xv, ov;
    if (typed_buffer(x_obj, &xv, 2, 'd', 0, "x") < 0) {
        return NULL;
    }
    if (typed_buffer(out_obj, &ov, 2, 'd', 1, "out") < 0) {
        PyBuffer_Release(&xv);
        return NULL;
    }
    PyObject *result = NULL;
    const Py_ssize_t rows = xv.shape[0], cols = xv.shape[1];
    const uintptr_t xb = (uintptr_t)xv.buf, ob = (uintptr_t)ov.buf; /* as integers: the buffers may be apart */
    if (cols < m->n_features) {
        PyErr_Format(PyExc_ValueError, "x has %zd columns, the trees test column %zd", cols, m->n_features - 1);
    }
    else if (ov.shape[0] != rows || ov.shape[1] != m->n_classes) {
        PyErr_Format(PyExc_ValueError, "out: expected shape (%zd, %zd), got (%zd, %zd)", rows, m->n_classes,
                     ov.shape[0], ov.shape[1]);
    }
    else if (xv.len > 0 && ov.len > 0 && xb < ob + (uintptr_t)ov.len && ob < xb + (uintptr_t)xv.len) {
        PyErr_SetString(PyExc_ValueError, "out must not overlap x");
    }
    else {
        if (m->steps > 0 && rows > TREE_GIL_STEPS / m->steps) {
            Py_BEGIN_ALLOW_THREADS
            score_trees(m, xv.buf, rows, cols, ov.buf);
            Py_END_ALLOW_THREADS
        }
        else {
            score_trees(m, xv.buf, rows, cols, ov.buf);
        }
        result = Py_NewRef(Py_None);
    }
    PyBuffer_Release(&ov);
    PyBuffer_Release(&xv);
    return result;
}

/* The largest ensemble count one tree_logits call takes (a bagged stage has a few). */
#define BLEND_MAX_MODELS 64
/* numpy sums a row of fewer than this many classes left to right (a larger row pairwise, in an order of
 * its own): tree_blend adds them as numpy does only below it. */
#define BLEND_MAX_CLASSES 8

/* The models of tree_logits' tuple (borrowed pointers into their capsules) and the columns x needs;
 * their count, or -1 with an exception set. */
static Py_ssize_t blend_models(PyObject *models, const TreeModel **out, Py_ssize_t *n_features)
{
    if (!PyTuple_Check(models) || PyTuple_GET_SIZE(models) == 0 ||
        PyTuple_GET_SIZE(models) > BLEND_MAX_MODELS) {
        PyErr_Format(PyExc_TypeError, "tree_logits: models must be a tuple of 1 to %d models",
                     BLEND_MAX_MODELS);
        return -1;
    }
    const Py_ssize_t n = PyTuple_GET_SIZE(models);
    *n_features = 0;
    for (Py_ssize_t b = 0; b < n; b++) {
        PyObject *capsule = PyTuple_GET_ITEM(models, b);
        if (!PyCapsule_IsValid(capsule, TREE_MODEL_NAME)) {
            PyErr_SetString(PyExc_TypeError, "tree_logits: every model must come from tree_model()");
            return -1;
        }
        out[b] = PyCapsule_GetPointer(capsule, TREE_MODEL_NAME);
        if (out[b]->n_classes != out[0]->n_classes) {
            PyErr_Format(PyExc_ValueError, "tree_logits: model %zd has %zd classes, model 0 has %zd", b,
                         out[b]->n_classes, out[0]->n_classes);
            return -1;
        }
        *n_features = out[b]->n_features > *n_features ? out[b]->n_features : *n_features;
    }
    return n;
}

/* Each row of scores (rows x K) less its largest value, as numpy's scores - scores.max(axis=1) when every
 * score is finite; returns 0 (the rows half done) at the first score that is not, for which numpy's NaN
 * (whose sign depends on its loops) is not reproduced here. */
static int less_row_max(double *scores, Py_ssize_t rows, Py_ssize_t K)
{
    for (Py_ssize_t r = 0; r < rows; r++) {
        double *row = scores + r * K;
        double top = row[0];
        for (Py_ssize_t k = 0; k < K; k++) {
            if (!isfinite(row[k])) {
                return 0;
            }
            top = row[k] > top ? row[k] : top;
        }
        for (Py_ssize_t k = 0; k < K; k++) {
            row[k] -= top;
        }
    }
    return 1;
}

/* tree_logits(models, x, z) -> bool
 *
 * For each model b of the tuple, the raw scores of the rows of x less each row's largest score, into
 * z[b] (z: models x rows x classes, C-contiguous float64, not overlapping x): the exponent of the
 * softmax, whose exp numpy takes (so that its bits are numpy's), before tree_blend. False when a score is
 * not finite (z is then of no use: the caller takes numpy's softmax, whose NaN it is). */
static PyObject *tree_logits(PyObject *module, PyObject *args)
{
    PyObject *models_obj, *x_obj, *z_obj;
    if (!PyArg_ParseTuple(args, "OOO:tree_logits", &models_obj, &x_obj, &z_obj)) {
        return NULL;
    }
    const TreeModel *models[BLEND_MAX_MODELS];
    Py_ssize_t n_features;
    const Py_ssize_t n = blend_models(models_obj, models, &n_features);
    if (n < 0) {
        return NULL;
    }
    Py_buffer xv, zv;
    if (typed_buffer(x_obj, &xv, 2, 'd', 0, "x") < 0) {
        return NULL;
    }
    if (typed_buffer(z_obj, &zv, 3, 'd', 1, "z") < 0) {
        PyBuffer_Release(&xv);
        return NULL;
    }
    PyObject *result = NULL;
    const Py_ssize_t rows = xv.shape[0], cols = xv.shape[1], K = models[0]->n_classes;
    const uintptr_t xb = (uintptr_t)xv.buf, zb = (uintptr_t)zv.buf;
    if (cols < n_features) {
        PyErr_Format(PyExc_ValueError, "x has %zd columns, the trees test column %zd", cols, n_features - 1);
    }
    else if (zv.shape[0] != n || zv.shape[1] != rows || zv.shape[2] != K) {
        PyErr_Format(PyExc_ValueError, "z: expected shape (%zd, %zd, %zd), got (%zd, %zd, %zd)", n, rows, K,
                     zv.shape[0], zv.shape[1], zv.shape[2]);
    }
    else if (xv.len > 0 && zv.len > 0 && xb < zb + (uintptr_t)zv.len && zb < xb + (uintptr_t)xv.len) {
        PyErr_SetString(PyExc_ValueError, "z must not overlap x");
    }
    else {
        Py_ssize_t steps = 0;
        for (Py_ssize_t b = 0; b < n; b++) {
            steps += models[b]->steps;
        }
        const int release = steps > 0 && rows > TREE_GIL_STEPS / steps;
        PyThreadState *saved = release ? PyEval_SaveThread() : NULL;
        double *outs[BLEND_MAX_MODELS];
        int complete = rows > 0;
        for (Py_ssize_t b = 0; b < n; b++) {
            outs[b] = (double *)zv.buf + b * rows * K;
            complete = complete && models[b]->depth >= 0;
        }
        /* All models over one copy of each row block when they can; else each on its own. */
        if (!complete || score_complete(models, n, xv.buf, rows, cols, outs) < 0) {
            for (Py_ssize_t b = 0; b < n; b++) {
                score_trees(models[b], xv.buf, rows, cols, outs[b]);
            }
        }
        int finite = 1;
        for (Py_ssize_t b = 0; b < n && finite; b++) {
            finite = less_row_max(outs[b], rows, K);
        }
        if (release) {
            PyEval_RestoreThread(saved);
        }
        result = PyBool_FromLong(finite);
    }
    PyBuffer_Release(&zv);
    PyBuffer_Release(&xv);
    return result;
}

/* tree_blend(e, out) -> None
 *
 * The mean of the models' softmax probabilities from e = exp(z) of tree_logits (models x rows x classes,
 * fewer than BLEND_MAX_CLASSES classes) into out (rows x classes): each row of e[b] divided by its sum
 * (added left to right, as numpy does for so few classes), the models' probabilities added one by one
 * onto 0.0 and divided by their count, the operations of sum(softmax(...) for ...) / count in numpy. */
static PyObject *tree_blend(PyObject *module, PyObject *args)
{
    PyObject *e_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OO:tree_blend", &e_obj, &out_obj)) {
        return NULL;
    }
    Py_buffer ev, ov;
    if (typed_buffer(e_obj, &ev, 3, 'd', 0, "e") < 0) {
        return NULL;
    }
    if (typed_buffer(out_obj, &ov, 2, 'd', 1, "out") < 0) {
        PyBuffer_Release(&ev);
        return NULL;
    }
    PyObject *result = NULL;
    const Py_ssize_t n = ev.shape[0], rows = ev.shape[1], K = ev.shape[2];
    const uintptr_t eb = (uintptr_t)ev.buf, ob = (uintptr_t)ov.buf;
    if (n == 0 || K == 0 || K >= BLEND_MAX_CLASSES) {
        PyErr_Format(PyExc_ValueError, "e: expected at least one model and 1 to %d classes, got shape "
                     "(%zd, %zd, %zd)", BLEND_MAX_CLASSES - 1, n, rows, K);
    }
    else if (ov.shape[0] != rows || ov.shape[1] != K) {
        PyErr_Format(PyExc_ValueError, "out: expected shape (%zd, %zd), got (%zd, %zd)", rows, K, ov.shape[0],
                     ov.shape[1]);
    }
    else if (ev.len > 0 && ov.len > 0 && eb < ob + (uintptr_t)ov.len && ob < eb + (uintptr_t)ev.len) {
        PyErr_SetString(PyExc_ValueError, "out must not overlap e");
    }
    else {
        const double *e = ev.buf;
        double *out = ov.buf;
        const double count = (double)n;
        for (Py_ssize_t r = 0; r < rows; r++) {
            double mean[BLEND_MAX_CLASSES];
            for (Py_ssize_t k = 0; k < K; k++) {
                mean[k] = 0.0;
            }
            for (Py_ssize_t b = 0; b < n; b++) {
                const double *row = e + (b * rows + r) * K;
                double total = row[0];
                for (Py_ssize_t k = 1; k < K; k++) {
                    total += row[k];
                }
                for (Py_ssize_t k = 0; k < K; k++) {
                    mean[k] += row[k] / total;
                }
            }
            for (Py_ssize_t k = 0; k < K; k++) {
                out[r * K + k] = mean[k] / count;
            }
        }
        result = Py_NewRef(Py_None);
    }
    PyBuffer_Release(&ov);
    PyBuffer_Release(&ev);
    return result;
}

/* ---------------------------------------------------------------------------------------------------
 * Module
 */

static PyMethodDef methods[] = {
    {"setup", setup, METH_O,
     "setup(config: dict) -> None\n\nWord sets, characters, phrases and column layouts from features.py."},
    {"block_values", block_values, METH_VARARGS,
     "block_values(texts, raw) -> tuple | None\n\nFill the compiled raw columns; return the ending styles "
     "and the blocks each pattern field must look at."},
    {"lower", lower, METH_O, "lower(text) -> str | None\n\nThe extension's str.lower (None at a capital sigma)."},
    {"assemble", assemble, METH_VARARGS,
     "assemble(raw, endings, out) -> None\n\nThe feature matrix from the raw values (log_words filled)."},
    {"tree_model", tree_model, METH_VARARGS,
     "tree_model(feature, threshold, left, right, value, roots, tree_class, baseline) -> model\n\n"
     "A stage's tree node table, checked and copied for tree_scores."},
    {"tree_scores", tree_scores, METH_VARARGS,
     "tree_scores(model, x, out) -> None\n\nThe trees' raw scores of the rows of x into out (rows x classes)."},
    {"tree_logits", tree_logits, METH_VARARGS,
     "tree_logits(models, x, z) -> bool\n\nEach model's raw scores of the rows of x, less each row's "
     "largest, into z[model] (models x rows x classes); False when a score is not finite."},
    {"tree_simd", tree_simd, METH_O,
     "tree_simd(enabled) -> bool\n\nSwitch the AVX-512 tree scoring on or off; whether it is now used."},
    {"tree_blend", tree_blend, METH_VARARGS,
     "tree_blend(e, out) -> None\n\nThe mean over models of e's rows (e = exp(z) of tree_logits) divided "
     "by their sums, into out (rows x classes)."},
    {NULL, NULL, 0, NULL},
};

static void module_free(void *module)
{
    state_free(&S);
}

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "captionset.classify._speedups",
    .m_doc = "Compiled per-block features of captionset.classify.features (see features.py) and tree "
             "scores of captionset.classify.trees.",
    .m_size = -1,
    .m_methods = methods,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    (void)tree_simd_supported(); /* asked here, with the GIL: the tree functions read it without */
    return PyModule_Create(&speedups_module);
}
