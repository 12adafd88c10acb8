// Headless Chromium for the dashboard's browser tests (Debian's chromium
// through playwright-core's executablePath), the rule for when it is
// missing (a visible skip; under CI a failure), and the small C app the
// browser tests' labs build at each commit.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

export const CHROMIUM = process.env.STACKLAB_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** True when Chromium is there; else skips the test with a message saying what (and fails it under CI). */
export function haveChromium(t: TestContext, what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) assert.fail(`Chromium is required under CI but ${CHROMIUM} is missing (apt-get install chromium)`);
  process.stderr.write(`\n*** ${CHROMIUM} not found: ${what} SKIPPED (apt-get install chromium) ***\n\n`);
  t.skip(`${CHROMIUM} not found`);
  return false;
}

/** The app at commit i: prints its version. */
export const appC = (i: number): string => `#include <stdio.h>
int main(void) { printf("version: ${i}\\n"); return 0; }
`;

/** The app's recipe. */
export const APP_RECIPE = `pkgname=app
pkgver=1
build() {
  cd "$srcdir/$pkgname"
  cc -o app app.c
}
package() {
  install -Dm755 "$srcdir/$pkgname/app" "$pkgdir/bin/app"
}
`;
