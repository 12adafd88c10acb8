// The demo package's source at one point of its history: a tiny
// text-statistics tool in C ("demo"), rendered from a few switches that the
// history generator flips commit by commit.

export interface DemoState {
  version: string;
  /** --words: count words on stdin. */
  words: boolean;
  /** --histogram: letter histogram on stdin. */
  histogram: boolean;
  /** The planted performance regression: the checksum table is rebuilt on every call. */
  slowChecksum: boolean;
  /** The planted functional bug: the median of an even count takes the upper middle. */
  medianBug: boolean;
  /** The planted build break (a missing semicolon). */
  brokenBuild: boolean;
  /** Lines of the readme, grown by ordinary commits. */
  notes: string[];
}

export function renderC(s: DemoState): string {
  const tableInit = `static void init_table(uint32_t *t) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
}`;
  const checksum = s.slowChecksum
    ? `/* The table lives with the function now: simpler, no global state. */
static uint32_t checksum(const unsigned char *p, size_t n) {
  uint32_t table[256];
  init_table(table);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}`
    : `static uint32_t crc_table[256];
static int crc_ready;

static uint32_t checksum(const unsigned char *p, size_t n) {
  if (!crc_ready) {
    init_table(crc_table);
    crc_ready = 1;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}`;
  const median = s.medianBug
    ? `  if (n % 2 == 0) return v[n / 2];  /* even count: the middle element */`
    : `  if (n % 2 == 0) return (v[n / 2 - 1] + v[n / 2]) / 2.0;`;
  const words = s.words
    ? `
static long count_words(FILE *in) {
  long words = 0;
  int c, inword = 0;
  while ((c = fgetc(in)) != EOF) {
    if (isspace(c)) inword = 0;
    else if (!inword) { inword = 1; words++; }
  }
  return words;
}
`
    : '';
  const histogram = s.histogram
    ? `
static void histogram(FILE *in) {
  long counts[26] = {0};
  int c;
  while ((c = fgetc(in)) != EOF) if (isalpha(c)) counts[tolower(c) - 'a']++;
  for (int i = 0; i < 26; i++) if (counts[i]) printf("%c: %ld\\n", 'a' + i, counts[i]);
}
`
    : '';
  return `/* demo ${s.version}: a tiny text-statistics tool, the stacklab demo package. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef DEMO_BUFFER
#define DEMO_BUFFER 256
#endif

${tableInit}

${checksum}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
${median}
  return v[n / 2]${s.brokenBuild ? '' : ';'}
}
${words}${histogram}
static int selftest(void) {
  int failures = 0;
  const char *text = "The quick brown fox jumps over the lazy dog";
  uint32_t crc = checksum((const unsigned char *)text, strlen(text));
  if (crc != 0x414FA339u) { printf("FAIL checksum: %08x\\n", crc); failures++; }
  double odd[] = {5, 1, 3};
  if (median(odd, 3) != 3) { printf("FAIL median of 3\\n"); failures++; }
  double even[] = {4, 1, 3, 2};
  if (median(even, 4) != 2.5) { printf("FAIL median of 4: %g\\n", median(even, 4)); failures++; }
  printf("selftest: %s\\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU-bound work: checksums over pseudo-random blocks. */
static int bench(long iterations) {
  static unsigned char block[DEMO_BUFFER];
  uint32_t seed = 2463534242u, acc = 0;
  double start = now();
  for (long i = 0; i < iterations; i++) {
    for (size_t j = 0; j < sizeof block; j += 4) {
      seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5;
      memcpy(block + j, &seed, 4);
    }
    acc ^= checksum(block, sizeof block);
  }
  double elapsed = now() - start;
  printf("iterations: %ld\\n", iterations);
  printf("elapsed_ms: %.3f\\n", elapsed * 1000);
  printf("ops_per_sec: %.0f\\n", iterations / elapsed);
  printf("digest: %08x\\n", acc);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--selftest") == 0) return selftest();
  if (argc > 2 && strcmp(argv[1], "--bench") == 0) return bench(atol(argv[2]));
  if (argc > 1 && strcmp(argv[1], "--version") == 0) { printf("demo ${s.version}\\n"); return 0; }
${s.words ? '  if (argc > 1 && strcmp(argv[1], "--words") == 0) { printf("words: %ld\\n", count_words(stdin)); return 0; }\n' : ''}${s.histogram ? '  if (argc > 1 && strcmp(argv[1], "--histogram") == 0) { histogram(stdin); return 0; }\n' : ''}  fprintf(stderr, "usage: demo --selftest | --bench N | --version${s.words ? ' | --words' : ''}${s.histogram ? ' | --histogram' : ''}\\n");
  return 2;
}
`;
}

export const MAKEFILE = `# demo: build options come from .config (KEY=value lines, as a kernel's).
-include .config
CFLAGS ?= -O$(or $(CONFIG_OPT_LEVEL),1)
ifeq ($(CONFIG_BIG_BUFFER),y)
CFLAGS += -DDEMO_BUFFER=4096
endif

demo: demo.c
\t$(CC) $(CFLAGS) -o $@ demo.c

clean:
\trm -f demo
`;

export function renderReadme(s: DemoState): string {
  return [`demo ${s.version}`, '', 'A tiny text-statistics tool: the stacklab demo package.', '', ...s.notes, ''].join('\n');
}
